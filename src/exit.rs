//! Exit codes (design §5). Scripts depend on these; never conflate failure and error.

use std::process::ExitCode;

/// Conformant / valid.
pub const OK: u8 = 0;
/// Non-conformant (a must-level failure, an xpass or a stale expectation) / token invalid.
pub const FAILED: u8 = 1;
/// No scored case ran: every case was filtered out or skipped, so nothing was tested
/// (`--no-tests warn|pass` turns this into 0; cargo-nextest uses 4 for the same).
pub const NO_TESTS: u8 = credlab_suite::report::NO_SCORED_CASE_RAN;
/// Usage error: bad flags or arguments.
pub const USAGE: u8 = 2;
/// Bad data: a vector or expectations file that does not parse (sysexits EX_DATAERR).
pub const DATA: u8 = 65;
/// The target could not be started or reached at all (sysexits EX_CONFIG).
pub const TARGET: u8 = 78;

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
