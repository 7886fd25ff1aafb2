//! Requests with owned strings, so that JSON escapes parse.
//!
//! `cargo_credential`'s request types borrow every string from the input line, so a string
//! with an escape (`"https:\/\/…"`, `"a\"b"`, `"\u00e9"`) fails with "expected a borrowed
//! string" (rust-lang/cargo#13615). These mirrors have the same names, fields and serde
//! attributes, hence the same parse errors for every other input; [`CredentialRequest::as_borrowed`]
//! then lends them to a [`cargo_credential::Credential`] as the library's own types.

use std::error::Error as StdError;

use cargo_credential as cc;
use cargo_credential::{PROTOCOL_VERSION_1, Secret};
use serde::Deserialize;

pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Parses one request line (with its `\n`) and checks its version, as
/// `cargo_credential`'s `deserialize_request` does.
pub fn parse(line: String) -> Result<CredentialRequest, BoxError> {
    let request: CredentialRequest = serde_json::from_str(&line)?;
    if request.v != PROTOCOL_VERSION_1 {
        return Err(format!("unsupported protocol version {}", request.v).into());
    }
    Ok(request)
}

/// Mirrors [`cc::CredentialRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CredentialRequest {
    pub v: u32,
    pub registry: RegistryInfo,
    #[serde(flatten)]
    pub action: Action,
    #[serde(default)]
    pub args: Vec<String>,
}

/// Mirrors [`cc::RegistryInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegistryInfo {
    pub index_url: String,
    pub name: Option<String>,
    #[serde(default)]
    pub headers: Vec<String>,
}

/// Mirrors [`cc::Action`]: an unknown `kind` is [`Action::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    Get(Operation),
    Login(LoginOptions),
    Logout,
    #[serde(other)]
    Unknown,
}

/// Mirrors [`cc::LoginOptions`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LoginOptions {
    pub token: Option<String>,
    pub login_url: Option<String>,
}

/// Mirrors [`cc::Operation`]: an unknown `operation` is [`Operation::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "operation", rename_all = "kebab-case")]
pub enum Operation {
    Read,
    Publish {
        name: String,
        vers: String,
        cksum: String,
    },
    Yank {
        name: String,
        vers: String,
    },
    Unyank {
        name: String,
        vers: String,
    },
    Owners {
        name: String,
    },
    #[serde(other)]
    Unknown,
}

impl CredentialRequest {
    /// The request as `cargo-credential`'s borrowed types.
    pub fn as_borrowed(&self) -> cc::CredentialRequest<'_> {
        cc::CredentialRequest {
            v: self.v,
            registry: cc::RegistryInfo {
                index_url: &self.registry.index_url,
                name: self.registry.name.as_deref(),
                headers: self.registry.headers.clone(),
            },
            action: self.action.as_borrowed(),
            args: self.args.iter().map(String::as_str).collect(),
        }
    }
}

impl Action {
    fn as_borrowed(&self) -> cc::Action<'_> {
        match self {
            Self::Get(operation) => cc::Action::Get(operation.as_borrowed()),
            Self::Login(options) => cc::Action::Login(cc::LoginOptions {
                token: options.token.as_deref().map(Secret::from),
                login_url: options.login_url.as_deref(),
            }),
            Self::Logout => cc::Action::Logout,
            Self::Unknown => cc::Action::Unknown,
        }
    }
}

impl Operation {
    fn as_borrowed(&self) -> cc::Operation<'_> {
        match self {
            Self::Read => cc::Operation::Read,
            Self::Publish { name, vers, cksum } => cc::Operation::Publish { name, vers, cksum },
            Self::Yank { name, vers } => cc::Operation::Yank { name, vers },
            Self::Unyank { name, vers } => cc::Operation::Unyank { name, vers },
            Self::Owners { name } => cc::Operation::Owners { name },
            Self::Unknown => cc::Operation::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `cargo_credential::main` makes of a line: the parsed request or the error text.
    fn reference(line: &str) -> Result<cc::CredentialRequest<'_>, String> {
        let request: cc::CredentialRequest<'_> =
            serde_json::from_str(line).map_err(|e| e.to_string())?;
        if request.v != PROTOCOL_VERSION_1 {
            return Err(format!("unsupported protocol version {}", request.v));
        }
        Ok(request)
    }

    const U: &str = r#""registry":{"index-url":"sparse+https://reg/index/","name":"alt"}"#;

    #[test]
    fn same_requests_as_the_reference_library() {
        let lines = [
            format!(r#"{{"v":1,{U},"kind":"get","operation":"read"}}"#),
            format!(
                r#"{{"v":1,{U},"kind":"get","operation":"publish","name":"foo","vers":"0.1.0","cksum":"ab"}}"#
            ),
            format!(r#"{{"v":1,{U},"kind":"get","operation":"yank","name":"foo","vers":"0.1.0"}}"#),
            format!(
                r#"{{"v":1,{U},"kind":"get","operation":"unyank","name":"foo","vers":"0.1.0"}}"#
            ),
            format!(
                r#"{{"v":1,{U},"kind":"get","operation":"owners","name":"foo","args":["a b","--c"]}}"#
            ),
            format!(r#"{{"v":1,{U},"kind":"get","operation":"frobnicate","x":1}}"#),
            format!(
                r#"{{"v":1,{U},"kind":"login","token":"s3krit","login-url":"https://x/me"}}"#
            ),
            format!(r#"{{"v":1,{U},"kind":"login"}}"#),
            format!(r#"{{"v":1,{U},"kind":"logout"}}"#),
            format!(r#"{{"v":1,{U},"kind":"refresh"}}"#),
            format!(r#"{{"v":1,{U},"kind":"GET","operation":"read"}}"#),
            r#"{"v":1,"registry":{"index-url":"u"},"kind":7}"#.to_string(),
            r#"{"kind":"get","x-future":{"a":1},"operation":"read","registry":{"index-url":"https://exämple.com/","extra":true,"headers":["WWW-Authenticate: Cargo login_url=\"http://x/me\""]},"v":1,"args":[]}"#.to_string(),
            format!("{{\"v\":1,{U},\"kind\":\"get\",\"operation\":\"read\"}}\r\n"),
        ];
        for line in &lines {
            let ours = parse(line.clone()).unwrap();
            assert_eq!(Ok(ours.as_borrowed()), reference(line), "{line}");
        }
    }

    #[test]
    fn same_errors_as_the_reference_library() {
        let lines = [
            "hello world\n".to_string(),
            "\n".to_string(),
            format!(r#"{{"v":2,{U},"kind":"get","operation":"read"}}"#),
            r#"{"v":1,"kind":"get","operation":"read"}"#.to_string(),
            format!(r#"{{"v":1,{U},"operation":"read"}}"#),
            format!(r#"{{{U},"kind":"get","operation":"read"}}"#),
            format!(r#"{{"v":1,{U},"kind":"get"}}"#),
            format!(r#"{{"v":1,{U},"kind":"get","operation":"publish","name":"foo","vers":"1"}}"#),
            format!(r#"{{"v":"1",{U},"kind":"get","operation":"read"}}"#),
            format!(r#"{{"v":1,{U},"kind":"get","operation":"read","args":[1]}}"#),
            r#"{"v":1,"registry":"x","kind":"logout"}"#.to_string(),
            format!(r#"{{"v":1,"v":1,{U},"kind":"logout"}}"#),
            "{\"v\":1,\n".to_string(),
            format!(r#"{{"v":1,{U},"kind":"login","token":"trunc"#),
        ];
        for line in &lines {
            let ours = parse(line.clone()).map(|_| ()).map_err(|e| e.to_string());
            // Owned strings expect "a string" where the reference expects "a borrowed string".
            let theirs = reference(line)
                .map(|_| ())
                .map_err(|e| e.replace("a borrowed string", "a string"));
            assert!(ours.is_err(), "{line}");
            assert_eq!(ours, theirs, "{line}");
        }
    }

    #[test]
    fn escapes_work_where_the_reference_library_fails() {
        let line = r#"{"v":1,"registry":{"index-url":"https:\/\/reg\/"},"kind":"login","token":"a\"b\\c \u00e9"}"#;
        assert!(reference(line).unwrap_err().contains("borrowed string"));
        let ours = parse(line.to_string()).unwrap();
        let request = ours.as_borrowed();
        assert_eq!(request.registry.index_url, "https://reg/");
        let cc::Action::Login(options) = request.action else {
            panic!("not a login: {request:?}")
        };
        assert_eq!(options.token.map(Secret::expose), Some("a\"b\\c é"));
    }
}
