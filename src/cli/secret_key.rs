//! Where a `k3.secret` comes from: `--secret-key-file` (recommended), `CREDLAB_SECRET_KEY`
//! (read once at start and wiped, see `crate::secrets`), or `--secret-key` (visible to every
//! user in the process list, so it earns a warning). Every key loaded is registered, so no
//! output of the run can show it.

use std::path::PathBuf;

use clap::Args;
use credlab_suite::keys::SecretKey;
use credlab_suite::redact::SecretKind;

use crate::exit::Failure;

#[derive(Debug, Clone, Default, Args)]
pub struct SecretKeyArgs {
    /// The k3.secret, read from FILE (the safest way: not in the process list, not in the
    /// environment a same-user process may read).
    #[arg(long, value_name = "FILE", conflicts_with = "secret_key")]
    pub secret_key_file: Option<PathBuf>,
    /// The k3.secret on the command line. Every user can read a command line; prefer
    /// --secret-key-file or the CREDLAB_SECRET_KEY environment variable.
    #[arg(long, value_name = "KEY")]
    pub secret_key: Option<String>,
    /// CREDLAB_SECRET_KEY, as `main` took it out of the environment.
    #[arg(skip)]
    pub from_env: Option<String>,
}

impl SecretKeyArgs {
    /// The key, if one was given; registered as a secret of the run.
    pub fn load(&self) -> Result<Option<SecretKey>, Failure> {
        let (text, source) = match (&self.secret_key, &self.secret_key_file, &self.from_env) {
            (Some(text), _, _) => {
                crate::out::errln!(
                    "warning: --secret-key puts the key in the process list; prefer \
                     --secret-key-file or CREDLAB_SECRET_KEY"
                );
                (text.clone(), "--secret-key".to_string())
            }
            (None, Some(path), _) => (
                std::fs::read_to_string(path).map_err(|e| {
                    Failure::usage(format!("--secret-key-file {}: {e}", path.display()))
                })?,
                format!("--secret-key-file {}", path.display()),
            ),
            (None, None, Some(text)) => (text.clone(), crate::secrets::ENV.to_string()),
            (None, None, None) => return Ok(None),
        };
        // Registered before parsing, so even an error that quoted it could not show it.
        crate::secrets::register().add(SecretKind::LoginKey, "secret-key", text.trim());
        let key = SecretKey::from_paserk(text.trim())
            .map_err(|e| Failure::usage(format!("{source}: {e}")))?;
        crate::secrets::register().add_key(SecretKind::LoginKey, "secret-key", &key);
        Ok(Some(key))
    }
}
