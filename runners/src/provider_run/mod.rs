//! Runs provider cases against one provider: fills the case templates from the target's
//! profile, probes what the provider can do, runs each case's setup, steps and cleanup (one
//! process each, in a sandbox of its own, under a registry identity of its own) on `jobs`
//! threads, and hands the transcripts to the judge.
//!
//! Verdicts must not depend on order or `--jobs`: every case logs in for itself and logs out
//! after itself, and when the identity is shared (pinned by the user, or a provider that
//! keeps one credential for every registry) the cases that change state never overlap.

mod probe;
mod profile;
mod target;

pub use probe::{Features, probe};
pub use profile::{OTHER_INDEX_URL, Profile, RunLog, RunObservations};
pub use target::{ProviderTarget, TargetError};

use std::sync::{Arc, OnceLock, PoisonError};
use std::time::Instant;

use credlab_suite::cases::provider::{Feature, ProviderCase, ProviderFile, Send, Step};
use credlab_suite::judge::Outcome;
use credlab_suite::judge::leftovers;
use credlab_suite::judge::provider::{
    Context, StepRecord, at_an_unnamed_registry, inapplicable, judge, judge_setup,
};
use credlab_suite::judge::secrets::{self, LeakAt};
use credlab_suite::provider::{CloseStdin, Exchange, ExitObservation, LineRead, Transcript};
use credlab_suite::report::Evidence;
use credlab_suite::vectors::embedded;
use serde_json::Value;
use time::OffsetDateTime;

use crate::engine::{Filter, Job};
use crate::process::{ProviderCommand, Sandbox, SpawnError};

/// The exchange of one step, writing `bytes` (the step's rendered request).
fn exchange(profile: &Profile, step: &Step, bytes: Vec<u8>) -> Exchange {
    Exchange {
        request: (!matches!(step.send, Send::Nothing)).then_some(bytes),
        read_response: step.read_response,
        close_stdin: step.close_stdin,
        timeouts: profile.timeouts,
    }
}

/// Runs one step in `sandbox`: the bytes it sent (built once, then moved through the
/// exchange and back) and what came back. Every exchange goes through here, so this is where
/// a returned token is registered as a secret and where out-of-place secrets are logged
/// (`place` names the exchange for the report).
fn run_step(
    command: &ProviderCommand,
    sandbox: &Sandbox,
    profile: &Profile,
    step: &Step,
    place: &dyn Fn() -> String,
) -> Result<(Vec<u8>, Transcript), SpawnError> {
    let mut exchange = exchange(profile, step, profile.bytes(step));
    let transcript = command.run_in(sandbox, &exchange)?;
    profile.register_answer(&transcript);
    let leaks = secrets::leaks(&transcript, &profile.secrets);
    let leftovers = leftovers::leftovers(&transcript, place);
    if !leaks.is_empty() || leftovers.is_some() {
        let mut log = profile.log.lock().unwrap_or_else(PoisonError::into_inner);
        let at = leftovers.as_ref().map_or_else(place, |l| l.place.clone());
        log.leaks.extend(leaks.into_iter().map(|leak| LeakAt {
            place: at.clone(),
            leak,
        }));
        log.leftovers.extend(leftovers);
    }
    Ok((exchange.request.take().unwrap_or_default(), transcript))
}

pub use crate::engine::CaseRun;

fn exit_text(exit: &ExitObservation) -> String {
    match exit {
        ExitObservation::Exited { code } => format!("status {code}"),
        ExitObservation::Signaled { signal } => format!("signal {signal}"),
        ExitObservation::Killed { phase } => format!("killed by credlab at the {phase} deadline"),
    }
}

fn evidence(profile: &Profile, label: String, sent: &[u8], t: &Transcript) -> Evidence {
    let line = |l: &LineRead| match l {
        LineRead::Line { bytes } => Some(profile.redacted(bytes)),
        LineRead::Eof { bytes } => {
            Some(format!("{} (then end of stream)", profile.redacted(bytes)))
        }
        LineRead::TimedOut { bytes } => Some(format!(
            "{} (then nothing until the deadline)",
            profile.redacted(bytes)
        )),
        LineRead::TooLong { prefix, limit } => Some(format!(
            "{} … (a line over {limit} bytes)",
            profile.redacted(prefix)
        )),
        LineRead::NotRead => None,
    };
    let mut received = [line(&t.hello), line(&t.response)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
    if !t.trailing_stdout.is_empty() {
        received.push_str(&format!(
            " / then {} more stdout bytes",
            t.trailing_stdout.total
        ));
    }
    Evidence {
        step: label,
        sent: (!sent.is_empty()).then(|| profile.redacted(sent)),
        received: Some(received),
        stderr: (!t.stderr.is_empty()).then(|| profile.redacted(&t.stderr.bytes)),
        exit: Some(exit_text(&t.exit)),
    }
}

/// The token the case's last login (in the setup or the steps) sends, decoded.
fn login_token(profile: &Profile, steps: &[&Step]) -> Option<String> {
    steps.iter().rev().find_map(|step| {
        let request = rendered_request(profile, step)?;
        (request.get("kind")?.as_str()? == "login")
            .then(|| request.get("token")?.as_str().map(str::to_string))?
    })
}

/// A step's request as JSON, when it is one (placeholder values are escaped JSON strings and
/// `args` is an array, so only a template that spells `"login"`/`"logout"` can render to one,
/// and the 16 MiB request is neither rendered nor parsed again).
fn rendered_request(profile: &Profile, step: &Step) -> Option<Value> {
    let Send::Line { line, .. } = &step.send else {
        return None;
    };
    if !line.contains("\"login\"") && !line.contains("\"logout\"") {
        return None;
    }
    serde_json::from_str(&profile.render(line)).ok()
}

fn kind_of(profile: &Profile, step: &Step) -> Option<String> {
    rendered_request(profile, step)?
        .get("kind")?
        .as_str()
        .map(str::to_string)
}

/// Whether a case reads or changes what the provider stores (a get, login or logout
/// anywhere in it): with a shared identity, such a case's answer depends on every other such
/// case running at the same time, so they take turns.
fn touches_state(case: &ProviderCase) -> bool {
    case.input.setup.iter().chain(&case.input.steps).any(|s| {
        matches!(&s.send, Send::Line { line, .. } | Send::Text { text: line }
            if ["\"get\"", "\"login\"", "\"logout\""].iter().any(|k| line.contains(k)))
    })
}

/// A sandbox for one case (or the probe), with the user's HOME fixture in it.
fn new_sandbox(profile: &Profile) -> std::io::Result<Sandbox> {
    let sandbox = Sandbox::new()?;
    if let Some(fixture) = &profile.home_fixture {
        sandbox.seed_home(fixture)?;
    }
    Ok(sandbox)
}

/// Logs out of every registry the case logged in to, so no later case (and no other run)
/// sees its credential. Answers are not judged. A provider holding user-given tokens is left
/// alone: its store is the user's fixture.
fn clean_up(command: &ProviderCommand, sandbox: &Sandbox, profile: &Profile, sent: &[&Step]) {
    if !profile.stored.is_empty() {
        return;
    }
    let mut done: Vec<Value> = Vec::new();
    for step in sent {
        let Some(request) = rendered_request(profile, step) else {
            continue;
        };
        if request.get("kind").and_then(Value::as_str) != Some("login") {
            continue;
        }
        let Some(registry) = request.get("registry").cloned() else {
            continue;
        };
        if done.contains(&registry) {
            continue;
        }
        let mut logout = serde_json::json!({"v": 1, "registry": registry, "kind": "logout"});
        if let Some(args) = request.get("args") {
            logout["args"] = args.clone();
        }
        let step = Step {
            send: Send::Line {
                line: logout.to_string().replace("${", "$\\u007b"),
                terminator: "\n".into(),
            },
            close_stdin: CloseStdin::AfterResponse,
            read_response: true,
        };
        let _ = run_step(command, sandbox, profile, &step, &|| {
            "a cleanup logout".into()
        });
        done.push(registry);
    }
}

/// Runs one case alone.
pub fn run_case(
    command: &ProviderCommand,
    profile: &Profile,
    features: &Features,
    case: &ProviderCase,
) -> CaseRun {
    run_case_with(
        command,
        profile,
        features,
        case,
        &RunObservations::default(),
    )
}

/// Whether a case judges the whole run (so it runs after every other case).
fn is_run_wide(case: &ProviderCase) -> bool {
    case.expect.checks.iter().any(|c| secrets::is_run_wide(*c))
}

fn run_case_with(
    command: &ProviderCommand,
    base: &Profile,
    features: &Features,
    case: &ProviderCase,
    elsewhere: &RunObservations,
) -> CaseRun {
    let started = Instant::now();
    let finish = |outcome, evidence| CaseRun {
        outcome,
        evidence,
        duration: started.elapsed(),
    };
    // A case that needs an empty registry, in a run whose registry holds the user's token,
    // runs at the other registry (which none does), where url-not-supported is fine too.
    let elsewhere_empty = features.empty_elsewhere
        && !features.has(Feature::EmptyRegistry)
        && case.input.requires.contains(&Feature::EmptyRegistry);
    let available = |f| features.has(f) || (f == Feature::EmptyRegistry && elsewhere_empty);
    if let Some(reason) = inapplicable(case, available) {
        return finish(Outcome::Skip { reason }, Vec::new());
    }
    let (profile, expect) = if elsewhere_empty {
        (
            base.for_case(&case.id).at_other_registry(),
            std::borrow::Cow::Owned(at_an_unnamed_registry(&case.expect)),
        )
    } else {
        (
            base.for_case(&case.id),
            std::borrow::Cow::Borrowed(&case.expect),
        )
    };
    let sandbox = match new_sandbox(&profile) {
        Ok(s) => s,
        Err(e) => {
            return finish(
                Outcome::Error {
                    message: format!("creating a sandbox: {e}"),
                },
                Vec::new(),
            );
        }
    };
    let mut sent: Vec<&Step> = Vec::new();
    for (i, step) in case.input.setup.iter().enumerate() {
        // A credential the provider already holds is not logged in again.
        if profile.holds_credential() && kind_of(&profile, step).as_deref() == Some("login") {
            continue;
        }
        let place = || format!("the setup of {} (step {})", case.id, i + 1);
        let record = match run_step(command, &sandbox, &profile, step, &place) {
            Ok((sent_bytes, transcript)) => StepRecord {
                sent: sent_bytes,
                transcript,
                at: OffsetDateTime::now_utc(),
            },
            Err(e) => {
                return finish(
                    Outcome::Error {
                        message: e.to_string(),
                    },
                    Vec::new(),
                );
            }
        };
        sent.push(step);
        if let Err(reason) = judge_setup(&record) {
            let shown = evidence(
                &profile,
                format!("setup {}", i + 1),
                &record.sent,
                &record.transcript,
            );
            clean_up(command, &sandbox, &profile, &sent);
            return finish(
                Outcome::Skip {
                    reason: format!("setup step {} did not succeed: {reason}", i + 1),
                },
                vec![shown],
            );
        }
    }
    let mut records = Vec::new();
    for (i, step) in case.input.steps.iter().enumerate() {
        let place = || format!("{} step {}", case.id, i + 1);
        match run_step(command, &sandbox, &profile, step, &place) {
            Ok((sent_bytes, transcript)) => records.push(StepRecord {
                sent: sent_bytes,
                transcript,
                at: OffsetDateTime::now_utc(),
            }),
            Err(e) => {
                clean_up(command, &sandbox, &profile, &sent);
                return finish(
                    Outcome::Error {
                        message: e.to_string(),
                    },
                    Vec::new(),
                );
            }
        }
        sent.push(step);
    }
    clean_up(command, &sandbox, &profile, &sent);
    let context = Context {
        // The token the case stored, or the one the user says the provider holds.
        login_token: login_token(&profile, &sent)
            .or_else(|| profile.holds_credential().then(|| profile.login_token())),
        keys: profile.keys(),
        any_subject: profile.subject.is_none(),
        stored_token: profile.stored.get(&profile.index_url).cloned(),
        secrets: profile.secrets.clone(),
        elsewhere: elsewhere.leaks.clone(),
        leftovers_elsewhere: elsewhere.leftovers.clone(),
    };
    let reads: Vec<bool> = case.input.steps.iter().map(|s| s.read_response).collect();
    let outcome = judge(&expect, &reads, &records, &context);
    // Evidence is for explaining failures; building it for passes would only cost time.
    let shown = if outcome.is_pass() {
        Vec::new()
    } else {
        records
            .iter()
            .enumerate()
            .map(|(i, r)| evidence(&profile, format!("step {}", i + 1), &r.sent, &r.transcript))
            .collect()
    };
    finish(outcome, shown)
}

/// The committed provider cases and the found ones, as `filter` keeps them, in file order.
pub fn cases(filter: &Filter, found: &[ProviderFile]) -> Vec<ProviderCase> {
    filter.select(
        embedded::provider_files()
            .into_iter()
            .chain(found.iter().cloned()),
    )
}

/// The provider's cases as jobs for the runner core ([`crate::engine`]). Cases that judge the
/// whole run (the `provider::secrets` checks) are `last`, seeing what every other exchange
/// showed. When the identity is shared (pinned, or a provider that keeps one credential for
/// all registries), cases that read or change stored state are `exclusive`: they take turns.
/// The cost that orders the longest first is the bytes a case sends, then its processes.
pub fn jobs<'a>(
    command: &'a ProviderCommand,
    profile: &'a Profile,
    features: &'a Features,
    cases: &'a [ProviderCase],
) -> Vec<Job<'a>> {
    let take_turns = profile.pinned || features.shared_store;
    // What the rest of the run showed, read once when the first run-wide case starts: the
    // core starts `last` jobs only after every other job has finished.
    let elsewhere: Arc<OnceLock<RunObservations>> = Arc::default();
    cases
        .iter()
        .map(|case| {
            let steps = case.input.setup.iter().chain(&case.input.steps);
            let bytes: usize = steps.clone().map(|s| profile.render_len(s)).sum();
            let last = is_run_wide(case);
            let elsewhere = elsewhere.clone();
            let mut job = Job::new(case.id.clone(), case.level, move || {
                let nothing = RunObservations::default();
                let seen = if last {
                    elsewhere.get_or_init(|| {
                        profile
                            .log
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .clone()
                    })
                } else {
                    &nothing
                };
                run_case_with(command, profile, features, case, seen)
            });
            job.cost = (bytes, steps.count());
            job.last = last;
            job.exclusive = take_turns && touches_state(case);
            job
        })
        .collect()
}
