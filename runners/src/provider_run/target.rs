//! What `--provider` names, and the command that starts it: a program, or the running
//! executable as one of credlab's built-in providers. Shared by the conformance run and the
//! fuzzer, so both start a target the same way.

use std::path::PathBuf;

use crate::process::ProviderCommand;
use credlab_targets::builtin::{BUILTIN_ENV, Builtin};
use credlab_targets::reference::ONLY_URL_ENV;

use super::Profile;

/// A provider target, parsed once from `PATH` or `builtin:NAME`.
#[derive(Debug, Clone)]
pub enum ProviderTarget {
    Program(PathBuf),
    Builtin(Builtin),
}

/// Why a target cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// `builtin:NAME` names no built-in provider (the message lists them).
    #[error("{0}")]
    UnknownBuiltin(String),
    /// A built-in needs the running executable, and its path is unknown.
    #[error("cannot locate the credlab executable: {0}")]
    NoExecutable(std::io::Error),
}

impl ProviderTarget {
    pub fn parse(text: &str) -> Result<Self, TargetError> {
        match text.strip_prefix("builtin:") {
            Some(name) => name
                .parse()
                .map(ProviderTarget::Builtin)
                .map_err(TargetError::UnknownBuiltin),
            None => Ok(ProviderTarget::Program(PathBuf::from(text))),
        }
    }

    /// The command that starts the target: the program, or this executable with
    /// [`BUILTIN_ENV`] naming the built-in (the executable must serve it, as `credlab` does).
    pub fn command(&self) -> Result<ProviderCommand, TargetError> {
        Ok(match self {
            ProviderTarget::Builtin(builtin) => {
                let exe = std::env::current_exe().map_err(TargetError::NoExecutable)?;
                ProviderCommand::new(exe).env(BUILTIN_ENV, builtin.name())
            }
            ProviderTarget::Program(path) => ProviderCommand::new(path),
        })
    }

    /// Configures a built-in token store (and the mutants built on it) to serve only the
    /// profile's index URL and its per-case children, so the url-not-supported case applies.
    /// Through the environment, not a config argument: a case that sends `"args":[]` must
    /// not change what the built-in serves. Other targets, and profiles that already name an
    /// unsupported URL or carry arguments, are left as they are.
    pub fn configure(&self, profile: &mut Profile, command: ProviderCommand) -> ProviderCommand {
        let token_store = matches!(self, ProviderTarget::Builtin(b) if b.is_token_store());
        if !token_store || profile.unsupported_url.is_some() || !profile.args.is_empty() {
            return command;
        }
        profile.unsupported_url = Some("sparse+https://elsewhere.credlab.test/index/".into());
        command.env(ONLY_URL_ENV, &profile.index_url)
    }
}
