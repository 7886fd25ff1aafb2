//! The registry suite judged by its own targets, over real HTTP on 127.0.0.1:
//!
//! - the reference registry (`credlab serve`) passes every case that applies to it;
//! - every seeded-bug registry is caught by exactly the case ids it names (each fails);
//! - every scored case the reference runs is named by some bug, so no scored registry case is
//!   a check that cannot fail.
//!
//! One test per registry, named after it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use credlab_runners::registry::server::{Bug, Config, start};
use credlab_runners::registry_run::{self, AUTH_CASES, Target};
use credlab_suite::cases::Level;
use credlab_suite::judge::Outcome;
use credlab_suite::keys::SecretKey;
use credlab_suite::vectors;
use libtest_mimic::{Arguments, Failed, Trial};

/// Every case's outcome against a reference registry with `bug`.
fn run(bug: Option<Bug>) -> Result<BTreeMap<String, (Level, Outcome)>, Failed> {
    let key = SecretKey::generate();
    let running = start(Config {
        keys: vec![(key.public_key().clone(), None)],
        bug,
        ..Config::default()
    })
    .map_err(|e| format!("starting the registry: {e}"))?;
    let session = registry_run::connect(Target {
        index_url: running.index_url(),
        key,
        subject: None,
        max_age: Duration::from_secs(900),
        max_skew: Duration::from_secs(60),
        allow_remote: false,
        timeout: Duration::from_secs(10),
    })
    .map_err(|e| format!("connecting: {e}"))?;
    let _ = registry_run::publish_probe(&session);
    let mut outcomes = BTreeMap::new();
    for case in AUTH_CASES {
        outcomes.insert(case.id.to_string(), (case.level, registry_run::run_auth_case(&session, case).outcome));
    }
    for file in vectors::token_files(&session.fixture) {
        for case in &file.cases {
            outcomes.insert(case.id.to_string(), (case.level, registry_run::run_token_case(&session, case).outcome));
        }
    }
    running.shutdown();
    Ok(outcomes)
}

fn failed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Fail { .. } | Outcome::Hang { .. })
}

/// The case ids each seeded bug must be caught by.
fn caught_by(bug: Bug) -> &'static [&'static str] {
    CAUGHT_BY.iter().find(|(b, _)| *b == bug.name()).map_or(&[], |(_, ids)| ids)
}

include!("registry_bugs.rs");

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![Trial::test("reference::registry", || {
        let outcomes = run(None)?;
        let problems: Vec<String> = outcomes
            .iter()
            .filter(|(_, (_, o))| !matches!(o, Outcome::Pass | Outcome::PassNonStrict { .. } | Outcome::Skip { .. }))
            .map(|(id, (_, o))| format!("{id}: {o:?}"))
            .collect();
        if problems.is_empty() { Ok(()) } else { Err(format!("{problems:#?}").into()) }
    })];
    trials.push(Trial::test("bugs::cover-every-scored-case", || {
        let named: BTreeSet<&str> = CAUGHT_BY.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
        let uncovered: Vec<String> = run(None)?
            .into_iter()
            .filter(|(id, (level, o))| *level != Level::Info && !matches!(o, Outcome::Skip { .. }) && !named.contains(id.as_str()))
            .map(|(id, _)| id)
            .collect();
        if uncovered.is_empty() { Ok(()) } else { Err(format!("scored cases no bug is caught by: {uncovered:#?}").into()) }
    }));
    for &bug in Bug::ALL {
        trials.push(Trial::test(format!("bug::{}", bug.name()), move || {
            let ids = caught_by(bug);
            if ids.is_empty() {
                return Err(format!("bug {} names no case that catches it", bug.name()).into());
            }
            let outcomes = run(Some(bug))?;
            let missed: Vec<String> = ids
                .iter()
                .filter(|id| !outcomes.get(**id).is_some_and(|(_, o)| failed(o)))
                .map(|id| format!("{id}: {:?}", outcomes.get(*id).map(|(_, o)| o)))
                .collect();
            if missed.is_empty() { Ok(()) } else { Err(format!("{} ({}) was not caught by: {missed:#?}", bug.name(), bug.describe()).into()).map_err(|e: String| e.into()) }
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
