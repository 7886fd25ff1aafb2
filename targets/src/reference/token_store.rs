//! `credlab-token-provider`: stores the token given at `cargo login`, per index URL.
//!
//! Like `cargo-credential`'s `file-provider` example, but conformant: tokens live in
//! `$XDG_DATA_HOME/credlab-token-provider/tokens.json` (fallback `~/.local/share/…`), any
//! registry is served unless `--only-url PREFIX` args restrict it, and a login without a
//! token is refused instead of prompting on the terminal.
//!
//! | request | answer |
//! |---------|--------|
//! | `get` (read, publish, yank, unyank, owners), token stored | `Ok get`, `cache: session`, `operation_independent: true` |
//! | `get`, nothing stored | `not-found` |
//! | `login` with a token | stores it, `Ok login` |
//! | `login` without a token | `Err other` "no token given…" |
//! | `logout` | removes it, `Ok logout`; `not-found` when nothing is stored |
//! | URL outside `--only-url` (or `$CREDLAB_ONLY_URL`) | `url-not-supported` |
//! | unknown kind or operation | `operation-not-supported` |

use std::path::PathBuf;

use cargo_credential::{
    Action, CacheControl, Credential, CredentialResponse, Error, Operation, RegistryInfo, Secret,
};

use super::args;
use super::error::other;
use super::store::{JsonStore, xdg_dir};

const APP: &str = "credlab-token-provider";
const FILE: &str = "tokens.json";
const ONLY_URL: &str = "--only-url";

/// The message for a token-less login: this provider never reads the terminal.
pub const NO_TOKEN: &str = "no token given: pass the token to `cargo login` on its stdin or \
                            command line (this provider never prompts on the terminal)";

/// The token store. Its file is located per request, so a missing `$HOME` is an `Err`
/// answer rather than a crash.
#[derive(Debug, Clone, Default)]
pub struct TokenStore {
    path: Option<PathBuf>,
}

impl TokenStore {
    /// Stores tokens in `$XDG_DATA_HOME/credlab-token-provider/tokens.json`.
    pub fn from_env() -> Self {
        Self::default()
    }

    /// Stores tokens in `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Some(path.into()),
        }
    }

    fn store(&self) -> Result<JsonStore<Secret<String>>, Error> {
        let path = match &self.path {
            Some(path) => path.clone(),
            None => xdg_dir("XDG_DATA_HOME", ".local/share")?
                .join(APP)
                .join(FILE),
        };
        Ok(JsonStore::new(path))
    }
}

/// The served prefix as an environment variable (how `credlab` configures its built-in
/// token stores, so that a request's `args` cannot change what they serve).
pub const ONLY_URL_ENV: &str = "CREDLAB_ONLY_URL";

/// `--only-url PREFIX`, repeatable, and `CREDLAB_ONLY_URL`: the index URLs this provider
/// answers for (all when neither is given).
fn supports(args: &[&str], index_url: &str) -> Result<bool, Error> {
    let mut prefixes: Vec<String> = args::parse(args, &[ONLY_URL])?
        .into_iter()
        .map(|(_, prefix)| prefix.to_string())
        .collect();
    prefixes.extend(std::env::var(ONLY_URL_ENV).ok());
    Ok(prefixes.is_empty() || prefixes.iter().any(|p| index_url.starts_with(p.as_str())))
}

impl Credential for TokenStore {
    fn perform(
        &self,
        registry: &RegistryInfo<'_>,
        action: &Action<'_>,
        args: &[&str],
    ) -> Result<CredentialResponse, Error> {
        if !supports(args, registry.index_url)? {
            return Err(Error::UrlNotSupported);
        }
        let url = registry.index_url;
        match action {
            Action::Get(
                Operation::Read
                | Operation::Publish { .. }
                | Operation::Yank { .. }
                | Operation::Unyank { .. }
                | Operation::Owners { .. },
            ) => {
                let token = self.store()?.load()?.remove(url).ok_or(Error::NotFound)?;
                Ok(CredentialResponse::Get {
                    token,
                    cache: CacheControl::Session,
                    operation_independent: true,
                })
            }
            Action::Login(options) => {
                let token = options.token.clone().ok_or_else(|| other(NO_TOKEN))?;
                self.store()?.update(|tokens| {
                    tokens.insert(url.to_string(), token.map(str::to_string));
                    Ok(())
                })?;
                Ok(CredentialResponse::Login)
            }
            Action::Logout => {
                self.store()?
                    .update(|tokens| tokens.remove(url).map(drop).ok_or(Error::NotFound))?;
                Ok(CredentialResponse::Logout)
            }
            _ => Err(Error::OperationNotSupported),
        }
    }
}
