//! Transports and targets for credlab.
//!
//! - [`process`]: runs one credential-provider process per [`Exchange`] and records a
//!   [`Transcript`], surviving hostile providers (hangs, floods, garbage, crashes, orphans).
//! - [`reference`]: conformant reference providers (token store, PASETO signer).
//!
//! Transports never decide verdicts: judging is `credlab_suite`'s job.
//!
//! [`Exchange`]: credlab_suite::provider::Exchange
//! [`Transcript`]: credlab_suite::provider::Transcript

pub mod blackbox;
pub mod builtin;
pub mod engine;
pub mod fuzzing;
pub mod hostile;
pub mod mutants;
pub mod process;
pub mod provider_run;
pub mod reference;
pub mod registry;
pub mod registry_run;
pub mod verifier_run;
