//! The targets credlab drives: things with a known answer, for the runners to run and the
//! judges to score.
//!
//! - [`reference`]: conformant reference credential providers (token store, PASETO signer),
//!   the built-in default targets.
//! - [`mutants`]: seeded-bug providers, each a reference provider with one deliberate defect;
//!   every scored provider case is shown to fail on at least one of them.
//! - [`hostile`]: providers that attack the runner (secret echoes, floods, escapes).
//! - [`builtin`]: every built-in provider as one enum, and the entry point that serves it when
//!   a binary is started as `--cargo-plugin` under [`builtin::BUILTIN_ENV`].
//! - [`faux`]: a deliberately misbehaving provider for the process transport's own tests.
//! - [`registry::server`]: the reference sparse registry (`credlab serve`), with seeded bugs.
//!
//! Targets never judge and never drive: `credlab_suite` judges, `credlab_runners` drives.

pub mod builtin;
pub mod faux;
pub mod hostile;
pub mod mutants;
pub mod reference;
pub mod registry;
