//! Running a token case over HTTP: publish what the case needs, spend the token's earlier uses,
//! send the case's token, and read the state a refusal must not have changed. The runner only
//! records; `suite::judge::registry::token` decides.

use std::time::Instant;

use credlab_suite::cases::token::TokenCase;
use credlab_suite::judge::Outcome;
use credlab_suite::judge::registry::Trace;
use credlab_suite::judge::registry::token::{
    LiveRegistry, TokenExchange, inapplicable, judge_token,
};
use credlab_suite::paseto;
use credlab_suite::redact::SecretKind;
use credlab_suite::token::Operation;
use credlab_suite::vectors::fixture::registered;
use serde_json::Value;

use credlab_suite::report::Evidence;

use super::{
    CaseRun, OWNER_PROBE, Session, evidence, http_answer, index_state, signed, transport_outcome,
};

/// The request a token was made for, from its claims (for replays of earlier tokens).
fn request_of(token: &str) -> Option<Operation> {
    let decoded = paseto::decode(token).ok()?;
    let claims: Value = serde_json::from_slice(decoded.payload()).ok()?;
    Operation::from_fields(claims.get("mutation").and_then(Value::as_str), |k| {
        claims.get(k).and_then(Value::as_str).map(str::to_string)
    })
}

/// Runs one token case.
pub fn run_token_case(session: &Session, case: &TokenCase) -> CaseRun {
    let started = Instant::now();
    let finish = |outcome, evidence| CaseRun::since(started, outcome, evidence);
    let keys = [registered(
        &session.target.key,
        session.target.subject.clone(),
    )];
    let live = LiveRegistry {
        index_url: &session.target.index_url,
        keys: &keys,
        auth_required: session.auth_required,
        api: session.client.api.is_some(),
        git_index: session.client.git_index(),
    };
    if let Some(reason) = inapplicable(case, &live) {
        return finish(Outcome::Skip { reason }, Vec::new());
    }
    // Every token of the case was signed with the registry's key: secrets from now on.
    let input = &case.input;
    for token in input.accepted_before.iter().chain([&input.token]) {
        session
            .target
            .secrets
            .add_token(SecretKind::SignedToken, token);
    }
    let mut evidence_list = Vec::new();
    let exchange = match exchange(session, case, &mut evidence_list) {
        Ok(exchange) => exchange,
        Err(e) => return finish(e, evidence_list),
    };
    let outcome = judge_token(case, &exchange);
    if outcome.is_pass() {
        evidence_list.clear();
    }
    finish(outcome, evidence_list)
}

/// Sends the case's requests, recording each in `evidence_list`, and says how far it got. An
/// `Err` is the outcome of a request that got no answer (or an earlier token that names no
/// request), which no judge can weigh.
fn exchange(
    session: &Session,
    case: &TokenCase,
    evidence_list: &mut Vec<Evidence>,
) -> Result<TokenExchange, Outcome> {
    let input = &case.input;
    for version in &input.registry.published {
        let op = match session.fixture.publish_version(&version.vers) {
            Operation::Publish { cksum, .. } => Operation::Publish {
                name: version.name.clone(),
                vers: version.vers.clone(),
                cksum,
            },
            other => other,
        };
        let answer = session
            .client
            .request(&op, Some(&signed(&session.target, &op)), &session.crates)
            .map_err(transport_outcome)?;
        if !(200..300).contains(&answer.status) {
            evidence_list.push(evidence(
                "setup: publish the version the case needs",
                &op,
                None,
                &answer,
            ));
            return Ok(TokenExchange::SetupRefused {
                status: answer.status,
            });
        }
    }
    for (i, earlier) in input.accepted_before.iter().enumerate() {
        let Some(op) = request_of(earlier) else {
            return Err(Outcome::Error {
                message: "an earlier token names no request".into(),
            });
        };
        // One owners token serves a whole `cargo owner` command: add, then remove, then list.
        let answer = match (&op, i) {
            (Operation::Owners { name }, 0 | 1) => {
                session
                    .client
                    .change_owners(name, i == 0, &[OWNER_PROBE], Some(earlier))
            }
            _ => session.client.request(&op, Some(earlier), &session.crates),
        }
        .map_err(transport_outcome)?;
        evidence_list.push(evidence(
            &format!("earlier use {}", i + 1),
            &op,
            Some(earlier),
            &answer,
        ));
        if !(200..300).contains(&answer.status) {
            return Ok(TokenExchange::EarlierRefused {
                number: i + 1,
                answer: http_answer(&answer),
            });
        }
    }
    let watched = match &input.request {
        Operation::Publish { name, vers, .. }
        | Operation::Yank { name, vers }
        | Operation::Unyank { name, vers } => Some((name.clone(), vers.clone())),
        _ => None,
    };
    let before = match &watched {
        Some((name, _)) => Some(index_state(session, name).map_err(transport_outcome)?),
        None => None,
    };
    let answer = session
        .client
        .request(&input.request, Some(&input.token), &session.crates)
        .map_err(transport_outcome)?;
    evidence_list.push(evidence(
        "the case",
        &input.request,
        Some(&input.token),
        &answer,
    ));
    let trace = match (&watched, &before) {
        (Some((name, vers)), Some(before)) if !(200..300).contains(&answer.status) => {
            let after = index_state(session, name).map_err(transport_outcome)?;
            if after.get(vers) == before.get(vers) {
                Trace::None
            } else {
                Trace::Left(format!(
                    "{name} {vers} went from {:?} to {:?} (None: absent; Some(yanked))",
                    before.get(vers),
                    after.get(vers)
                ))
            }
        }
        _ => Trace::NotChecked,
    };
    Ok(TokenExchange::Sent {
        answer: http_answer(&answer),
        trace,
    })
}
