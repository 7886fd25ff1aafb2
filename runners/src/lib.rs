//! The drivers of credlab: they run targets and record what happened.
//!
//! - [`process`]: runs one credential-provider process per [`Exchange`] and records a
//!   [`Transcript`], surviving hostile providers (hangs, floods, garbage, crashes, orphans).
//! - [`provider_run`] and [`registry_run`]: provider cases over stdio, registry cases over
//!   HTTP (the registry client enforces the loopback rule).
//! - [`verifier_run`]: the token vectors through credlab's own verifier.
//! - [`engine`]: the one runner core all three share (selection, schedule, events).
//! - [`matrix`]: installs and runs every target of the conformance matrix (a child credlab
//!   per target, bounded in time).
//! - [`blackbox`]: black-box fuzz campaigns against a provider process or a registry URL.
//! - [`fuzzing`]: the cargo-fuzz harnesses of the targets' parsers, the list of every fuzz
//!   target, and the seed corpora made from the vectors (rendered as the provider runner would).
//!
//! The things runners drive (reference and seeded-bug providers, the reference registry) are
//! in `credlab_targets`. Runners never decide verdicts: judging is `credlab_suite`'s job.
//!
//! [`Exchange`]: credlab_suite::provider::Exchange
//! [`Transcript`]: credlab_suite::provider::Transcript

pub mod blackbox;
pub mod bounded;
pub mod engine;
pub mod fuzzing;
pub mod matrix;
pub mod process;
pub mod provider_run;
pub mod registry_run;
pub mod verifier_run;
