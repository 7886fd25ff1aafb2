//! The committed vector files, compiled into the binary so an installed `credlab` runs the
//! same cases as the checkout (the test `vectors::committed-equal-generated` keeps these equal
//! to the generator's output).

use crate::cases::auth::AuthFile;
use crate::cases::provider::ProviderFile;
use crate::cases::token::TokenFile;

macro_rules! files {
    ($dir:literal: $($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../../vectors/", $dir, "/", $name, ".json")))),*]
    };
}

const PROVIDER: [(&str, &str); 11] = files!("provider": "handshake", "get", "errors", "login", "cache", "framing", "malformed", "robustness", "token", "isolation", "secrets");
const TOKENS: [(&str, &str); 5] =
    files!("tokens": "valid", "expired", "replayed", "mis-bound", "malformed");
const REGISTRY: [(&str, &str); 2] = files!("registry": "auth", "plain");

fn parse<T: serde::de::DeserializeOwned>(files: &[(&str, &str)]) -> Vec<T> {
    files
        .iter()
        .map(|(name, text)| {
            serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("embedded vectors {name}.json do not parse: {e}"))
        })
        .collect()
}

/// The provider case files, in run order.
pub fn provider_files() -> Vec<ProviderFile> {
    parse(&PROVIDER)
}

/// The token case files.
pub fn token_files() -> Vec<TokenFile> {
    parse(&TOKENS)
}

/// The registry authentication case files, in run order.
pub fn auth_files() -> Vec<AuthFile> {
    parse(&REGISTRY)
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_files_parse() {
        assert_eq!(super::provider_files().len(), 11);
        assert_eq!(super::token_files().len(), 5);
        assert_eq!(super::auth_files().len(), 2);
    }
}
