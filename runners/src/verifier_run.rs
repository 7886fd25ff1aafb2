//! The token vectors against credlab's own reference verifier (`builtin:reference-verifier`):
//! the built-in self-check that every committed vector means what it says. `cargo test` runs
//! the same judge on each case (`suite/tests/token_vectors.rs`), with both backends and both
//! settings of each policy knob.

use std::time::Instant;

use credlab_suite::Backend;
use credlab_suite::cases::token::{TokenCase, TokenFile};
use credlab_suite::judge::token::judge_reference;
use credlab_suite::report::Target;
use credlab_suite::vectors::embedded;
use credlab_suite::verify::Policy;

use crate::engine::{CaseRun, Filter, Job};

/// The name the reference verifier is reported under.
pub const NAME: &str = "builtin:reference-verifier";

/// The committed token cases and the found ones, as `filter` keeps them.
pub fn cases(filter: &Filter, found: &[TokenFile]) -> Vec<TokenCase> {
    filter.select(
        embedded::token_files()
            .into_iter()
            .chain(found.iter().cloned()),
    )
}

/// Each case judged against the reference verifier under `policy` on `backend`.
pub fn jobs<'a>(cases: &'a [TokenCase], policy: &'a Policy, backend: Backend) -> Vec<Job<'a>> {
    cases
        .iter()
        .map(|case| {
            Job::new(case.id.clone(), case.level, move || {
                let started = Instant::now();
                CaseRun::since(started, judge_reference(case, policy, backend), Vec::new())
            })
        })
        .collect()
}

/// The report's target.
pub fn target() -> Target {
    Target {
        kind: "verifier".into(),
        name: NAME.into(),
        facts: Default::default(),
    }
}
