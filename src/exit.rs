//! Exit codes (design §5): the codes and the policy live in `credlab_suite::report::exit`; this
//! module adds the CLI's way of ending with one.

use std::process::ExitCode;

pub use credlab_suite::report::exit::{DATA, FAILED, OK, TARGET, USAGE};

/// An error that ends the command with a specific exit code and a one-line message.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }

    pub fn data(message: impl Into<String>) -> Self {
        Self {
            code: DATA,
            message: message.into(),
        }
    }

    pub fn target(message: impl Into<String>) -> Self {
        Self {
            code: TARGET,
            message: message.into(),
        }
    }
}

pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}
