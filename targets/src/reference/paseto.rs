//! `credlab-paseto-provider`: Cargo's asymmetric tokens from an external provider, so that
//! stable Cargo sends them without `-Z asymmetric-token`.
//!
//! Mirrors `cargo:paseto` (Cargo `src/util/credential/paseto.rs`), with keys in
//! `$XDG_CONFIG_HOME/credlab-paseto-provider/keys.json` (fallback `~/.config/…`) as
//! `{index-url: {"secret": "k3.secret.…", "subject": …}}` instead of `credentials.toml`:
//!
//! | request | answer |
//! |---------|--------|
//! | `get` for an operation, key stored | `Ok get`: a `v3.public` token for exactly that operation and `index-url` (`credlab_suite::token::sign_as_cargo`), `cache: session` for read and `never` otherwise, `operation_independent: false` |
//! | `get`, no key for the URL | `not-found` |
//! | `login` with a token | the token must be a `k3.secret` PASERK, else `Err other` "not a validly formatted PASERK secret key"; stored |
//! | `login` without a token | a fresh key is generated and stored |
//! | `logout` | removes the key, `Ok logout`; `not-found` when none |
//! | unknown kind or operation | `operation-not-supported` |
//!
//! Login prints the public key (`k3.public.…`) on stderr, as Cargo does. `--key-subject SUBJ`
//! in the args sets the key's subject (`cargo login -- --key-subject=SUBJ`); a login without
//! it keeps the subject already on file. The secret key is never printed.

use std::path::PathBuf;

use cargo_credential::{
    Action, CacheControl, Credential, CredentialResponse, Error, Operation, RegistryInfo, Secret,
};
use credlab_suite::keys::SecretKey;
use credlab_suite::token::{self, Operation as TokenOperation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::args;
use super::error::{other, with_cause};
use super::store::{JsonStore, xdg_dir};

const APP: &str = "credlab-paseto-provider";
const FILE: &str = "keys.json";
const KEY_SUBJECT: &str = "--key-subject";

/// Cargo's message for a login token that is not a `k3.secret` PASERK.
pub const NOT_A_SECRET_KEY: &str = "not a validly formatted PASERK secret key";

/// A registry's key on file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyEntry {
    /// The `k3.secret.` PASERK.
    pub secret: Secret<String>,
    /// The `sub` claim put in every token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// The PASETO provider. Its file is located per request, so a missing `$HOME` is an
/// `Err` answer rather than a crash.
#[derive(Debug, Clone, Default)]
pub struct PasetoProvider {
    path: Option<PathBuf>,
}

impl PasetoProvider {
    /// Keeps keys in `$XDG_CONFIG_HOME/credlab-paseto-provider/keys.json`.
    pub fn from_env() -> Self {
        Self::default()
    }

    /// Keeps keys in `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Some(path.into()),
        }
    }

    fn store(&self) -> Result<JsonStore<KeyEntry>, Error> {
        let path = match &self.path {
            Some(path) => path.clone(),
            None => xdg_dir("XDG_CONFIG_HOME", ".config")?.join(APP).join(FILE),
        };
        Ok(JsonStore::new(path))
    }

    fn get(&self, index_url: &str, operation: &Operation<'_>) -> Result<CredentialResponse, Error> {
        let operation = token_operation(operation).ok_or(Error::OperationNotSupported)?;
        let entry = self
            .store()?
            .load()?
            .remove(index_url)
            .ok_or(Error::NotFound)?;
        let key = SecretKey::from_paserk(entry.secret.as_deref().expose())
            .map_err(|e| with_cause("failed to load private key", e))?;
        let signed = token::sign_as_cargo(
            &key,
            index_url,
            &operation,
            OffsetDateTime::now_utc(),
            entry.subject.as_deref(),
        );
        // Only read tokens may be reused (paseto.rs: "Only read operations can be cached").
        let cache = match operation {
            TokenOperation::Read => CacheControl::Session,
            _ => CacheControl::Never,
        };
        Ok(CredentialResponse::Get {
            token: Secret::from(signed),
            cache,
            operation_independent: false,
        })
    }

    fn login(
        &self,
        index_url: &str,
        token: Option<Secret<&str>>,
        subject: Option<&str>,
    ) -> Result<CredentialResponse, Error> {
        let key = match token {
            Some(token) => SecretKey::from_paserk(token.expose())
                .map_err(|e| with_cause(NOT_A_SECRET_KEY, e))?,
            None => SecretKey::generate(),
        };
        self.store()?.update(|keys| {
            let old_subject = keys.remove(index_url).and_then(|entry| entry.subject);
            let entry = KeyEntry {
                secret: Secret::from(key.expose_paserk()),
                subject: subject.map(str::to_string).or(old_subject),
            };
            keys.insert(index_url.to_string(), entry);
            Ok(())
        })?;
        eprintln!("{}", key.public_key());
        Ok(CredentialResponse::Login)
    }

    fn logout(&self, index_url: &str) -> Result<CredentialResponse, Error> {
        self.store()?
            .update(|keys| keys.remove(index_url).map(drop).ok_or(Error::NotFound))?;
        Ok(CredentialResponse::Logout)
    }
}

/// The operation a token is bound to; `None` for operations this provider does not know.
pub(crate) fn token_operation(operation: &Operation<'_>) -> Option<TokenOperation> {
    Some(match *operation {
        Operation::Read => TokenOperation::Read,
        Operation::Publish { name, vers, cksum } => TokenOperation::Publish {
            name: name.into(),
            vers: vers.into(),
            cksum: cksum.into(),
        },
        Operation::Yank { name, vers } => TokenOperation::Yank {
            name: name.into(),
            vers: vers.into(),
        },
        Operation::Unyank { name, vers } => TokenOperation::Unyank {
            name: name.into(),
            vers: vers.into(),
        },
        Operation::Owners { name } => TokenOperation::Owners { name: name.into() },
        _ => return None,
    })
}

/// The `--key-subject` arg, given at most once.
fn key_subject<'a>(args: &[&'a str]) -> Result<Option<&'a str>, Error> {
    match args::parse(args, &[KEY_SUBJECT])?.as_slice() {
        [] => Ok(None),
        [(_, subject)] => Ok(Some(subject)),
        _ => Err(other(format!("`{KEY_SUBJECT}` given more than once"))),
    }
}

impl Credential for PasetoProvider {
    fn perform(
        &self,
        registry: &RegistryInfo<'_>,
        action: &Action<'_>,
        args: &[&str],
    ) -> Result<CredentialResponse, Error> {
        let subject = key_subject(args)?;
        match action {
            Action::Get(operation) => self.get(registry.index_url, operation),
            Action::Login(options) => {
                self.login(registry.index_url, options.token.clone(), subject)
            }
            Action::Logout => self.logout(registry.index_url),
            _ => Err(Error::OperationNotSupported),
        }
    }
}
