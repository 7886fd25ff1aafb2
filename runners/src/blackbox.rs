//! Black-box fuzzing of a credential provider (a process) or a registry (over HTTP):
//! `credlab fuzz --provider PATH` and `credlab fuzz --registry URL`.
//!
//! Unlike the cargo-fuzz targets in `fuzz/` (which drive credlab's own parsers in-process with
//! coverage), this fuzzer knows nothing about the target's code: it mutates what Cargo would
//! send, watches what comes back, and reports what Cargo could not live with.
//!
//! - **Inputs** are structure-aware mutations of valid traffic: for a provider, the request
//!   lines of the provider vectors rendered with the target's [`Profile`] ([`provider`]); for a
//!   registry, tokens freshly signed for the live session and then mutated as text or re-signed
//!   with a mutated payload or footer ([`registry`]).
//! - **Reproducible**: input `i` is a pure function of (`seed`, `i`, the target's profile or
//!   session): every iteration draws from its own [`rng::Rng`] stream (SplitMix64), so the same
//!   seed against the same target sends the same inputs, whatever happened before.
//! - **Bounded** by [`FuzzOptions::iterations`] and/or [`FuzzOptions::duration`] (defaults:
//!   [`DEFAULT_ITERATIONS`] iterations or [`DEFAULT_DURATION`], whichever comes first).
//! - **Shrunk** by delta debugging ([`shrink`]) while the same [`FindingKind`] reproduces.
//! - **Written** as regression vectors with stable ids ([`found`]): the kind plus the first
//!   8 hex digits of the SHA-256 of the minimized input.
//!
//! One loop drives both (the private `campaign` module); each target only says how its inputs
//! are made, tried, shrunk and kept.
//!
//! A run stops at its first finding unless [`FuzzOptions::keep_going`] is set; then it keeps
//! going, and only the first finding of each *signature* (kind plus what exactly went wrong,
//! e.g. the exit status or the deadline's phase) is shrunk and written, later ones are counted.
//! A target that hangs on most inputs would otherwise spend one timeout per iteration.

mod campaign;
pub mod found;
mod json;
mod mutate;
pub mod provider;
pub mod registry;
mod request;
pub mod rng;
pub mod shrink;

use std::path::PathBuf;
use std::time::Duration;

pub use found::load_found;
pub use provider::fuzz_provider;
pub use registry::fuzz_registry;

/// Iterations of a run that sets neither `iterations` nor `duration`.
pub const DEFAULT_ITERATIONS: u64 = 200;
/// Wall-clock bound of a run that sets neither `iterations` nor `duration`.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30);
/// Per-phase deadline of one exchange (provider) or one request (registry).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Shrink attempts per finding (a hang gets a quarter of it: each re-check costs a timeout).
pub const DEFAULT_SHRINK_BUDGET: usize = 64;

/// How to fuzz.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    pub seed: u64,
    /// Stop after this many inputs. With `duration` also set, whichever comes first; with
    /// neither set, [`DEFAULT_ITERATIONS`] and [`DEFAULT_DURATION`].
    pub iterations: Option<u64>,
    /// Stop once this much time has passed (checked between inputs; a finding in progress is
    /// still shrunk and written).
    pub duration: Option<Duration>,
    /// The deadline of every phase of an exchange (hello, response, exit) for a provider, and
    /// of every request for a registry. A hang is confirmed with twice this before it is
    /// reported.
    pub timeout: Duration,
    /// Shrink attempts per finding.
    pub shrink_budget: usize,
    /// Where found vectors are written (`None`: not written).
    pub found_dir: Option<PathBuf>,
    /// Keep fuzzing after the first finding (default: stop, like libFuzzer). Later findings
    /// with a signature already reported are counted, not shrunk or written again.
    pub keep_going: bool,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            iterations: None,
            duration: None,
            timeout: DEFAULT_TIMEOUT,
            shrink_budget: DEFAULT_SHRINK_BUDGET,
            found_dir: None,
            keep_going: false,
        }
    }
}

impl FuzzOptions {
    /// The effective bounds: (iterations, duration).
    pub fn bounds(&self) -> (Option<u64>, Option<Duration>) {
        match (self.iterations, self.duration) {
            (None, None) => (Some(DEFAULT_ITERATIONS), Some(DEFAULT_DURATION)),
            other => other,
        }
    }
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// The provider was killed by a signal, or exited with a status other than 0.
    Crash,
    /// A deadline passed: no hello, no response, or no exit after stdin closed (provider); no
    /// HTTP answer in time (registry).
    Hang,
    /// Output Cargo cannot use: a bad hello, an unparsable or multi-line response, bytes after
    /// the answers.
    Garbage,
    /// The provider answered `Ok` to a request line that `cargo-credential`'s request types
    /// cannot parse (or whose `v` is not 1): it acted on input it could not have understood.
    OkOnGarbage,
    /// The registry answered 5xx.
    ServerError,
    /// The registry answered 2xx to a token the reference verifier refuses.
    AcceptedGarbage,
    /// The registry closed the connection or gave no HTTP answer.
    Dropped,
}

impl FindingKind {
    /// The kebab-case name used in ids and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Crash => "crash",
            FindingKind::Hang => "hang",
            FindingKind::Garbage => "garbage",
            FindingKind::OkOnGarbage => "ok-on-garbage",
            FindingKind::ServerError => "server-error",
            FindingKind::AcceptedGarbage => "accepted-garbage",
            FindingKind::Dropped => "dropped",
        }
    }

    pub fn all() -> [FindingKind; 7] {
        [
            FindingKind::Crash,
            FindingKind::Hang,
            FindingKind::Garbage,
            FindingKind::OkOnGarbage,
            FindingKind::ServerError,
            FindingKind::AcceptedGarbage,
            FindingKind::Dropped,
        ]
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding, shrunk.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: FindingKind,
    /// `found::provider::<kind>-<hash8>` or `found::registry::<kind>-<hash8>`.
    pub case_id: String,
    /// The input as first found.
    pub input: Vec<u8>,
    /// The smallest input found that still gives `kind` (what the vector holds, except that a
    /// provider vector has the login secret replaced by a public test key).
    pub minimized: Vec<u8>,
    /// What went wrong, in words (for the minimized input).
    pub detail: String,
    /// The vector file written, if any.
    pub vector: Option<PathBuf>,
    /// The iteration that found it.
    pub iteration: u64,
    /// Shrink attempts spent.
    pub shrink_attempts: usize,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct FuzzReport {
    pub iterations: u64,
    pub findings: Vec<Finding>,
    pub elapsed: Duration,
    /// Later findings whose signature was already reported (with `keep_going`).
    pub duplicates: u64,
    /// Problems that are not findings (a vector that could not be written, a hang that did
    /// not reproduce with a longer deadline, an input the transport could not send).
    pub notes: Vec<String>,
}
