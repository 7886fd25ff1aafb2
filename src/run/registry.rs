//! `credlab --registry URL`: the registry cases over HTTP against one registry.

use std::time::Duration;

use credlab_runners::registry_run::{self, CaseRun, ConnectError, Session, Target};
use credlab_suite::cases::CaseId;
use credlab_suite::cases::Level;
use credlab_suite::keys::SecretKey;
use credlab_suite::report::{CaseReport, Expectations, Report, Target as ReportTarget};
use credlab_suite::vectors::{self, embedded};

use super::output::Output;
use super::{Filter, RunArgs};
use crate::exit::Failure;

fn case_report(id: CaseId, level: Level, run: CaseRun) -> CaseReport {
    CaseReport {
        id,
        level,
        verdict: run.outcome.into(),
        duration_ms: run.duration.as_millis().try_into().unwrap_or(u64::MAX),
        evidence: run.evidence,
    }
}

/// Runs every registry case on a connected session.
pub fn run_session(
    session: &Session,
    name: &str,
    filter: &Filter,
    expectations: &Expectations,
    strict: bool,
    out: &Output,
) -> Report {
    for (k, v) in &session.facts {
        out.note(&format!("  {k}: {v}"));
    }
    if let Err(e) = registry_run::publish_probe(session) {
        out.note(&format!("  warning: {e}"));
    }
    let mut cases = Vec::new();
    for file in embedded::auth_files() {
        for case in file.cases.iter().filter(|c| filter.keeps(c.id.as_str())) {
            let report = case_report(
                case.id.clone(),
                case.level,
                registry_run::run_auth_case(session, case),
            );
            out.progress(&report);
            cases.push(report);
        }
    }
    for file in vectors::token_files(&session.fixture) {
        for case in file.cases.iter().filter(|c| filter.keeps(c.id.as_str())) {
            // The level over HTTP: a Cargo-shaped token is must-accept there.
            let report = case_report(
                case.id.clone(),
                case.over_http().0,
                registry_run::run_token_case(session, case),
            );
            out.progress(&report);
            cases.push(report);
        }
    }
    let target = ReportTarget {
        kind: "registry".into(),
        name: name.into(),
        facts: session.facts.clone(),
    };
    let report = Report::new(target, cases, expectations, strict);
    out.target_done(&report);
    report
}

pub fn target(args: &RunArgs, url: &str, key: SecretKey) -> Target {
    Target {
        index_url: url.to_string(),
        key,
        subject: args.subject.clone(),
        max_age: Duration::from_secs(args.max_age),
        max_skew: Duration::from_secs(args.max_future_skew),
        allow_remote: args.allow_remote,
        timeout: args.timeout.unwrap_or(Duration::from_secs(10)),
        secrets: crate::secrets::register().clone(),
    }
}

pub fn connect(target: Target) -> Result<Session, Failure> {
    registry_run::connect(target).map_err(connect_failure)
}

/// The exit code of a failed connection: 2 when the URL the user gave is refused, 78 when
/// the target is at fault (a refused URL it handed credlab: config.json's `api`/`dl`, a
/// redirect; or no answer, or not a registry's answer).
pub fn connect_failure(error: ConnectError) -> Failure {
    match error {
        ConnectError::UserUrl(m) => Failure::usage(m),
        ConnectError::TargetUrl(m) => Failure::target(m),
        ConnectError::Unreachable(m) => {
            Failure::target(format!("the registry could not be reached: {m}"))
        }
    }
}

pub fn run(
    args: &RunArgs,
    url: &str,
    filter: &Filter,
    expectations: &Expectations,
    out: &Output,
) -> Result<Report, Failure> {
    let Some(key) = args.secret_key.load()? else {
        return Err(Failure::usage(
            "--registry needs --secret-key-file (or CREDLAB_SECRET_KEY): the k3.secret whose \
             k3.public the registry has enrolled for credlab; `credlab key generate` makes a pair",
        ));
    };
    out.note(&format!("credlab: registry {url}"));
    let session = connect(target(args, url, key))?;
    Ok(run_session(
        &session,
        url,
        filter,
        expectations,
        args.strict,
        out,
    ))
}

/// The registry cases against an in-process reference registry (`credlab serve`), on a
/// loopback port, with a fresh key enrolled.
pub fn run_builtin(
    args: &RunArgs,
    filter: &Filter,
    expectations: &Expectations,
    out: &Output,
) -> Result<Report, Failure> {
    use credlab_runners::registry::server::{Config, start};
    let key = SecretKey::generate();
    let config = Config {
        keys: vec![(key.public_key().clone(), args.subject.clone())],
        ..Config::default()
    };
    let running = start(config)
        .map_err(|e| Failure::target(format!("starting the reference registry: {e}")))?;
    let url = running.index_url();
    out.note(&format!(
        "credlab: registry builtin:reference-registry at {url}"
    ));
    let session = connect(target(args, &url, key))?;
    let report = run_session(
        &session,
        "builtin:reference-registry",
        filter,
        expectations,
        args.strict,
        out,
    );
    running.shutdown();
    Ok(report)
}
