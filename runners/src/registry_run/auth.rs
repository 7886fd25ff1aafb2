//! Running an authentication case (`vectors/registry/auth.json`): perform its [`Exchange`]
//! with the registry and record what came back; `suite::judge::registry::auth` decides.

use std::collections::BTreeMap;
use std::time::Instant;

use credlab_suite::cases::auth::{AuthCase, Exchange};
use credlab_suite::judge::Outcome;
use credlab_suite::judge::registry::auth::{
    Exchanged, ProbeSeen, StateChange, inapplicable, judge_auth,
};
use credlab_suite::report::Evidence;
use credlab_suite::token::Operation;

use super::{
    Answer, CaseRun, OWNER_PROBE, SendError, Session, http_answer, index_state, signed,
    transport_outcome,
};

/// Runs one authentication case.
pub fn run_auth_case(session: &Session, case: &AuthCase) -> CaseRun {
    let started = Instant::now();
    let (outcome, evidence) = match inapplicable(case, session.offers()) {
        Some(reason) => (Outcome::Skip { reason }, Vec::new()),
        None => match exchange(session, case.input.exchange) {
            Ok(seen) => {
                let outcome = judge_auth(&case.expect, &seen);
                let evidence = if outcome.is_pass() {
                    Vec::new()
                } else {
                    vec![answer_evidence(case.input.exchange, &seen)]
                };
                (outcome, evidence)
            }
            Err(e) => (transport_outcome(e), Vec::new()),
        },
    };
    CaseRun::since(started, outcome, evidence)
}

/// The answer of a failed case, for the report.
fn answer_evidence(exchange: Exchange, seen: &Exchanged) -> Evidence {
    let body = &seen.answer.body;
    Evidence {
        step: "the case".into(),
        sent: Some(format!("{exchange:?}")),
        received: Some(format!(
            "HTTP {} {}",
            seen.answer.status,
            String::from_utf8_lossy(&body[..body.len().min(300)])
        )),
        stderr: None,
        exit: None,
    }
}

/// What was seen of a single request.
fn answered(answer: &Answer) -> Exchanged {
    Exchanged {
        answer: http_answer(answer),
        www_authenticate: answer.www_authenticate.clone(),
        state: None,
        probe: None,
    }
}

fn listing(state: &BTreeMap<String, bool>) -> String {
    format!("{state:?} (version: yanked)")
}

/// Performs `exchange` on the probe crate.
fn exchange(session: &Session, exchange: Exchange) -> Result<Exchanged, SendError> {
    let fx = &session.fixture;
    let name = fx.krate.name.as_str();
    let vers = fx.krate.vers.as_str();
    let owners = |crate_name: &str| Operation::Owners {
        name: crate_name.into(),
    };
    Ok(match exchange {
        // Both config.json answers were recorded when credlab connected, as Cargo asks.
        Exchange::ConfigWithReadToken => answered(&session.authenticated_config),
        Exchange::ConfigWithoutToken => answered(&session.anonymous_config),
        Exchange::IndexFileWithoutToken => answered(&session.client.index_file(name, None)?),
        Exchange::DownloadWithoutToken => {
            answered(&session.client.download(name, vers, &fx.krate.cksum, None)?)
        }
        Exchange::YankWithoutToken => {
            let op = Operation::Yank {
                name: name.into(),
                vers: vers.into(),
            };
            let before = index_state(session, name)?;
            let answer = session.client.request(&op, None, &session.crates)?;
            let after = index_state(session, name)?;
            Exchanged {
                state: Some(StateChange {
                    what: "the index file".into(),
                    before: listing(&before),
                    after: listing(&after),
                }),
                ..answered(&answer)
            }
        }
        Exchange::AddOwnerWithOtherCratesToken => {
            let list = || -> Result<String, SendError> {
                let token = signed(&session.target, &owners(name));
                let answer =
                    session
                        .client
                        .request(&owners(name), Some(&token), &session.crates)?;
                Ok(String::from_utf8_lossy(&answer.body).into_owned())
            };
            let before = list()?;
            let other = signed(&session.target, &owners(&fx.other_name()));
            let answer = session
                .client
                .change_owners(name, true, &[OWNER_PROBE], Some(&other))?;
            let after = list()?;
            Exchanged {
                state: Some(StateChange {
                    what: "the owner list".into(),
                    before,
                    after,
                }),
                ..answered(&answer)
            }
        }
        Exchange::ProbeCrate => {
            let state = index_state(session, name)?;
            let token = signed(&session.target, &Operation::Read);
            let download = session.client.download(
                name,
                vers,
                &fx.krate.cksum,
                session.auth_required.then_some(token.as_str()),
            )?;
            let published = session.crates.bytes(&fx.krate.cksum).unwrap_or_default();
            Exchanged {
                probe: Some(ProbeSeen {
                    listed: state.contains_key(vers),
                    listing: listing(&state),
                    served_published: download.body == published,
                }),
                ..answered(&download)
            }
        }
    })
}
