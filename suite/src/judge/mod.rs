//! Turning observations into outcomes. Judges never spawn processes or open sockets; they
//! read what a transport recorded and compare it with what a case expects.

pub mod leftovers;
pub mod provider;
pub mod registry;
pub mod secrets;
pub mod token;

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What happened when a case ran against a target, before expectation files are applied.
/// Each variant carries exactly what explains it: a failure cannot exist without what was
/// expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// The target did what the case requires.
    Pass,
    /// The target met the case's requirement in a form the case allows but does not prefer:
    /// the other conforming answer of an `acceptable` case, or a registry's refusal whose body
    /// is not Cargo's error JSON (a should of the web API, inside a must-level case).
    PassNonStrict { note: String },
    /// The target did something the case forbids.
    Fail { expected: String, found: String },
    /// The case does not apply to this target (a feature it does not have).
    Skip { reason: String },
    /// The target answered that it does not support the operation.
    Unimplemented { note: String },
    /// The target did not answer in time.
    Hang {
        phase: String,
        #[serde(with = "millis")]
        after: Duration,
    },
    /// The harness itself could not run the case.
    Error { message: String },
}

impl Outcome {
    pub fn fail(expected: impl Into<String>, found: impl Into<String>) -> Self {
        Outcome::Fail {
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// Whether the target behaved acceptably (pass or a non-strict pass).
    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass | Outcome::PassNonStrict { .. })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Pass => f.write_str("pass"),
            Outcome::PassNonStrict { note } => write!(f, "pass (non-strict: {note})"),
            Outcome::Fail { expected, found } => write!(f, "expected {expected}, found {found}"),
            Outcome::Skip { reason } => write!(f, "skipped: {reason}"),
            Outcome::Unimplemented { note } => write!(f, "unimplemented: {note}"),
            Outcome::Hang { phase, after } => {
                write!(f, "no answer at {phase} after {} ms", after.as_millis())
            }
            Outcome::Error { message } => write!(f, "error: {message}"),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
