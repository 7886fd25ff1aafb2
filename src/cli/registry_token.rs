//! Where a plain-token registry's tokens come from (`--registry` in plain-token mode):
//! `--token-file` (recommended), `CREDLAB_REGISTRY_TOKEN` (read once at start and wiped, see
//! `crate::secrets`), or `--token` (visible to every user in the process list, so it earns a
//! warning), and `--other-token-file` for a second user. Every token loaded is registered
//! before it is checked, so no output of the run can show it, whatever the registry echoes.

use std::path::{Path, PathBuf};

use clap::Args;
use credlab_runners::registry_run::PlainCredential;
use credlab_suite::redact::SecretKind;

use crate::exit::Failure;

#[derive(Debug, Clone, Default, Args)]
pub struct RegistryTokenArgs {
    /// Plain-token mode (--registry): the token the registry issued for credlab's user, read
    /// from FILE (one line), or from the CREDLAB_REGISTRY_TOKEN environment variable. The
    /// user may publish, yank and own credlab's probe crates. Replaces --secret-key.
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// The plain token on the command line. Every user can read a command line; prefer
    /// --token-file or CREDLAB_REGISTRY_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Plain-token mode: a second user's token (FILE, one line), without rights on credlab's
    /// probe crate; the cases about another user's token need it.
    #[arg(long, value_name = "FILE")]
    pub other_token_file: Option<PathBuf>,
    /// CREDLAB_REGISTRY_TOKEN, as `main` took it out of the environment.
    #[arg(skip)]
    pub from_env: Option<String>,
}

impl RegistryTokenArgs {
    /// The plain credential, if a token was given; every token registered as a secret.
    pub fn load(&self) -> Result<Option<PlainCredential>, Failure> {
        let (text, source) = match (&self.token, &self.token_file, &self.from_env) {
            (Some(text), _, _) => {
                crate::out::errln!(
                    "warning: --token puts the token in the process list; prefer --token-file \
                     or CREDLAB_REGISTRY_TOKEN"
                );
                (text.clone(), "--token".to_string())
            }
            (None, Some(path), _) => (read(path, "--token-file")?, "--token-file".into()),
            (None, None, Some(text)) => {
                (text.clone(), crate::secrets::REGISTRY_TOKEN_ENV.to_string())
            }
            (None, None, None) => {
                if self.other_token_file.is_some() {
                    return Err(Failure::usage(
                        "--other-token-file needs --token-file (or CREDLAB_REGISTRY_TOKEN): \
                         credlab's own user's token",
                    ));
                }
                return Ok(None);
            }
        };
        let token = one_line(&text, &source)?;
        let other = match &self.other_token_file {
            Some(path) => Some(one_line(
                &read(path, "--other-token-file")?,
                "--other-token-file",
            )?),
            None => None,
        };
        if other.as_deref() == Some(token.as_str()) {
            return Err(Failure::usage(
                "--other-token-file holds the same token as credlab's own user: it must be a \
                 second user's",
            ));
        }
        Ok(Some(PlainCredential { token, other }))
    }
}

fn read(path: &Path, flag: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("{flag} {}: {e}", path.display())))
}

/// The token in `text`: one line (a final newline is dropped), which Cargo could send as a
/// header value. Registered as a secret before anything is said about it.
fn one_line(text: &str, source: &str) -> Result<String, Failure> {
    let token = text.strip_suffix('\n').unwrap_or(text);
    let token = token.strip_suffix('\r').unwrap_or(token);
    crate::secrets::register().add(SecretKind::StoredToken, "registry-token", token);
    if token.is_empty() {
        return Err(Failure::usage(format!("{source}: the token is empty")));
    }
    if token.trim() != token || !token.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Failure::usage(format!(
            "{source}: the token is not one line of visible ASCII without spaces at either \
             end (Cargo sends it as an HTTP header value)"
        )));
    }
    Ok(token.to_string())
}
