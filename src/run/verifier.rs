//! The token vectors against credlab's own reference verifier: the built-in self-check that
//! every committed vector means what it says (`cargo test` runs the same cases one by one).

use std::time::Instant;

use credlab_suite::Backend;
use credlab_suite::cases::token::TokenFile;
use credlab_suite::judge::Outcome;
use credlab_suite::judge::token::{clock, evaluate, judge};
use credlab_suite::report::{CaseReport, Expectations, Report, Target};
use credlab_suite::vectors::embedded;
use credlab_suite::verify::Policy;

use super::Filter;
use super::output::Output;

pub fn run(
    filter: &Filter,
    expectations: &Expectations,
    strict: bool,
    out: &Output,
    found: &[TokenFile],
) -> Report {
    out.note("credlab: token vectors against builtin:reference-verifier");
    let policy = Policy::default();
    let mut cases = Vec::new();
    for file in embedded::token_files()
        .into_iter()
        .chain(found.iter().cloned())
    {
        for case in file
            .cases
            .into_iter()
            .filter(|c| filter.keeps(c.id.as_str()))
        {
            let started = Instant::now();
            let outcome = match case.clock.as_deref().map(clock) {
                Some(Ok(now)) => {
                    let answer = evaluate(&case.input, now, &policy, Backend::default())
                        .map(|_| ())
                        .map_err(|r| r.kind);
                    judge(&case.expect, answer)
                }
                _ => Outcome::Error {
                    message: "the case has no valid clock".into(),
                },
            };
            let report = CaseReport {
                id: case.id,
                level: case.level,
                verdict: outcome.into(),
                duration_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
                evidence: Vec::new(),
            };
            out.progress(&report);
            cases.push(report);
        }
    }
    let target = Target {
        kind: "verifier".into(),
        name: "builtin:reference-verifier".into(),
        facts: Default::default(),
    };
    let report = Report::new(target, cases, expectations, strict);
    out.target_done(&report);
    report
}
