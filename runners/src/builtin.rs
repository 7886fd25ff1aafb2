//! Built-in providers, run by the `credlab` binary itself when it is started as
//! `credlab --cargo-plugin` with `CREDLAB_BUILTIN_PROVIDER=NAME`: the two reference providers,
//! the seeded-bug mutants and the hostile providers that attack credlab itself. One binary means `credlab` with no arguments can judge its own
//! reference targets anywhere it is installed.

use crate::mutants;
use crate::reference::{PasetoProvider, TokenStore, protocol};

/// Every built-in provider name.
pub fn names() -> Vec<String> {
    let mut names = vec![
        "token-store".to_string(),
        "paseto".to_string(),
        "trivial".to_string(),
        "shared:token-store".to_string(),
        "shared:one-slot".to_string(),
        "read-only".to_string(),
    ];
    names.extend(
        mutants::MUTANTS
            .iter()
            .map(|m| format!("mutant:{}", m.name)),
    );
    names.extend(crate::hostile::NAMES.iter().map(|n| n.to_string()));
    names
}

pub fn exists(name: &str) -> bool {
    names().iter().any(|n| n == name)
}

/// Serves the protocol as `name` on stdin/stdout; returns the exit code.
pub fn run(name: &str) -> i32 {
    match name {
        "token-store" => {
            protocol::run(&TokenStore::from_env());
            0
        }
        "paseto" => {
            protocol::run(&PasetoProvider::from_env());
            0
        }
        "trivial" => trivial(),
        "read-only" => {
            protocol::run(&ReadOnly);
            0
        }
        "shared:token-store" | "shared:one-slot" => {
            let Some(store) = shared_store().map(TokenStore::at) else {
                return 2;
            };
            if name == "shared:one-slot" {
                protocol::run(&OneSlot(store));
            } else {
                protocol::run(&store);
            }
            0
        }
        other => {
            if let Some(code) = other.strip_prefix("hostile:").and_then(crate::hostile::run) {
                return code;
            }
            match other.strip_prefix("mutant:").and_then(mutants::find) {
                Some(mutant) => mutants::run(mutant),
                None => {
                    eprintln!("credlab: no built-in provider {name:?}");
                    2
                }
            }
        }
    }
}

/// The environment variable naming the file of the `shared:` providers.
pub const SHARED_STORE_ENV: &str = "CREDLAB_SHARED_STORE";

/// The `shared:` providers keep their credentials in one file outside HOME, named by
/// `CREDLAB_SHARED_STORE` (given with `--provider-env`), like a keyring, `pass` or a vault:
/// state every case of a run shares, which credlab's verdicts must not depend on.
fn shared_store() -> Option<std::path::PathBuf> {
    let path = std::env::var_os(SHARED_STORE_ENV).map(std::path::PathBuf::from);
    if path.is_none() {
        eprintln!("credlab: the shared: providers need {SHARED_STORE_ENV}=FILE (--provider-env)");
    }
    path
}

/// One credential for every registry (a provider that ignores the index URL): conformant in
/// every way but isolation.
struct OneSlot(TokenStore);

impl cargo_credential::Credential for OneSlot {
    fn perform(
        &self,
        registry: &cargo_credential::RegistryInfo<'_>,
        action: &cargo_credential::Action<'_>,
        _args: &[&str],
    ) -> Result<cargo_credential::CredentialResponse, cargo_credential::Error> {
        let slot = cargo_credential::RegistryInfo {
            index_url: "the-one-slot",
            ..registry.clone()
        };
        self.0.perform(&slot, action, &[])
    }
}

/// A provider that cannot log in, like `cargo-credential-netrc`: it serves the tokens listed
/// in `~/.credlab-tokens` (lines `INDEX_URL TOKEN`), answers not-found for any other registry,
/// and operation-not-supported to login and logout. Judged with `--stored-token` and
/// `--provider-home`.
struct ReadOnly;

impl cargo_credential::Credential for ReadOnly {
    fn perform(
        &self,
        registry: &cargo_credential::RegistryInfo<'_>,
        action: &cargo_credential::Action<'_>,
        _args: &[&str],
    ) -> Result<cargo_credential::CredentialResponse, cargo_credential::Error> {
        use cargo_credential::{Action, CacheControl, CredentialResponse, Error, Operation};
        match action {
            Action::Get(
                Operation::Read
                | Operation::Publish { .. }
                | Operation::Yank { .. }
                | Operation::Unyank { .. }
                | Operation::Owners { .. },
            ) => {
                let home = std::env::var_os("HOME")
                    .ok_or_else(|| Error::from("HOME is not set".to_string()))?;
                let list =
                    std::fs::read_to_string(std::path::Path::new(&home).join(".credlab-tokens"))
                        .unwrap_or_default();
                let token = list
                    .lines()
                    .filter_map(|l| l.split_once(' '))
                    .find(|(url, _)| *url == registry.index_url)
                    .map(|(_, token)| token.trim().to_string())
                    .ok_or(Error::NotFound)?;
                Ok(CredentialResponse::Get {
                    token: token.into(),
                    cache: CacheControl::Session,
                    operation_independent: true,
                })
            }
            _ => Err(Error::OperationNotSupported),
        }
    }
}

/// The cheapest provider there is: hello, one fixed answer per line, exit at EOF. The bench's
/// floor for what one exchange costs (process start included).
fn trivial() -> i32 {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(b"{\"v\":[1]}\n").and_then(|()| out.flush());
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        let answer = b"{\"Ok\":{\"kind\":\"get\",\"token\":\"t\",\"cache\":\"session\",\"operation_independent\":true}}\n";
        if out.write_all(answer).and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    0
}
