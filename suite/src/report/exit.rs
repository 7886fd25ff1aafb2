//! Every exit code credlab uses, and the policy that picks one: one place, because scripts and
//! CI gates depend on these, and failure must never be conflated with error.

use super::{Report, VerdictKind};

/// Conformant (every scored case in scope ran and none failed) / a token is valid.
pub const OK: u8 = 0;
/// Non-conformant (a scored failure, an xpass, a stale expectation) / a token is invalid.
pub const FAILED: u8 = 1;
/// Usage error: bad flags or arguments, or a URL the user gave that credlab will not contact.
pub const USAGE: u8 = 2;
/// No scored case ran: every case was filtered out or skipped, so nothing was tested
/// (cargo-nextest exits 4 for the same; `--no-tests warn|pass` turns it into 0).
pub const NO_TESTS: u8 = 4;
/// Bad data: a vector or expectations file that does not parse (sysexits EX_DATAERR).
pub const DATA: u8 = 65;
/// credlab itself could not run some case, and nothing failed (sysexits EX_SOFTWARE).
pub const SOFTWARE: u8 = 70;
/// The target could not be started or reached at all (sysexits EX_CONFIG).
pub const TARGET: u8 = 78;

/// What a run in which no scored case ran exits with (`--no-tests`, as cargo-nextest has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoTests {
    /// Exit [`NO_TESTS`].
    #[default]
    Fail,
    /// Warn, then exit as if conformant.
    Warn,
    /// Exit as if conformant.
    Pass,
}

/// The exit code of one report.
pub fn of_report(report: &Report) -> u8 {
    let summary = &report.summary;
    if summary.scored_failures > 0
        || summary.count(VerdictKind::Xpass) > 0
        || !summary.stale_expectations.is_empty()
    {
        FAILED
    } else if summary.count(VerdictKind::Error) > 0 {
        SOFTWARE
    } else if summary.scored_ran == 0 {
        NO_TESTS
    } else {
        OK
    }
}

/// The exit code of several reports: non-conformance first, then credlab's own errors, then
/// "nothing was tested", then conformant.
pub fn combined(reports: &[Report]) -> u8 {
    let codes: Vec<u8> = reports.iter().map(of_report).collect();
    [FAILED, SOFTWARE, NO_TESTS]
        .into_iter()
        .find(|c| codes.contains(c))
        .unwrap_or(OK)
}

/// How a run ends: its exit code, and a warning to print first, if any.
pub fn of_run(reports: &[Report], no_tests: NoTests) -> (u8, Option<&'static str>) {
    let code = combined(reports);
    if code != NO_TESTS {
        return (code, None);
    }
    match no_tests {
        NoTests::Fail => (code, None),
        NoTests::Warn => (OK, Some("warning: no scored case ran (--no-tests warn)")),
        NoTests::Pass => (OK, None),
    }
}
