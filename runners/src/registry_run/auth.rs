//! Running an authentication case (`vectors/registry/auth.json`): perform its [`Exchange`]
//! with the registry and record what came back; `suite::judge::registry::auth` decides.

use std::collections::BTreeMap;
use std::time::Instant;

use credlab_suite::cases::auth::{AuthCase, Exchange, Forgery};
use credlab_suite::judge::Outcome;
use credlab_suite::judge::registry::HttpAnswer;
use credlab_suite::judge::registry::auth::{
    Exchanged, Origins, ProbeSeen, StateChange, inapplicable, judge_auth,
};
use credlab_suite::redact::SecretKind;
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
        origins: None,
        control: None,
    }
}

/// `request` with the index file read before and after it.
fn with_index_state(
    session: &Session,
    name: &str,
    request: impl FnOnce() -> Result<Answer, SendError>,
) -> Result<Exchanged, SendError> {
    let before = index_state(session, name)?;
    let answer = request()?;
    let after = index_state(session, name)?;
    Ok(Exchanged {
        state: Some(StateChange {
            what: "the index file".into(),
            before: listing(&before),
            after: listing(&after),
        }),
        ..answered(&answer)
    })
}

/// The forged token, registered as a secret of the run first: most forgeries are the real
/// token changed a little, and a registry may echo what it was sent.
fn forge(session: &Session, forgery: Forgery) -> Result<String, SendError> {
    let plain = session
        .target
        .plain
        .as_ref()
        .ok_or_else(|| SendError::Transport("a plain-token case needs --token-file".into()))?;
    let forged = forgery.apply(&plain.token).ok_or_else(|| {
        SendError::Transport(format!(
            "the registry's token cannot be forged as {forgery:?} (no letter, or one character)"
        ))
    })?;
    if forged.len() > 1 {
        session
            .secrets()
            .add_token(SecretKind::StoredToken, &forged);
    }
    Ok(forged)
}

/// The origin (`scheme://host:port`) of `url`, as a browser would compare it.
fn origin(url: &str) -> String {
    let bare = url.strip_prefix("sparse+").unwrap_or(url);
    match bare.parse::<ureq::http::Uri>() {
        Ok(uri) => {
            let scheme = uri.scheme_str().unwrap_or("?").to_ascii_lowercase();
            let port = uri
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            format!(
                "{scheme}://{}:{port}",
                uri.host().unwrap_or("").to_ascii_lowercase()
            )
        }
        Err(_) => format!("(unparsable: {bare})"),
    }
}

fn listing(state: &BTreeMap<String, bool>) -> String {
    format!("{state:?} (version: yanked)")
}

/// `operation` sent with the owner's own genuine token, as Cargo would send it.
fn as_owner(session: &Session, operation: &Operation) -> Result<Answer, SendError> {
    let token = signed(&session.target, operation);
    session
        .client
        .request(operation, Some(&token), &session.crates)
}

/// The control of a refused yank: the owner's own yank of the probe version, made after the
/// refused one and undone at once (so the next case finds the version as it was).
fn owners_yank(session: &Session) -> Result<HttpAnswer, SendError> {
    let fx = &session.fixture;
    let (name, vers) = (fx.krate.name.clone(), fx.krate.vers.clone());
    let answer = as_owner(
        session,
        &Operation::Yank {
            name: name.clone(),
            vers: vers.clone(),
        },
    )?;
    if (200..300).contains(&answer.status) {
        as_owner(session, &Operation::Unyank { name, vers })?;
    }
    Ok(http_answer(&answer))
}

/// The second user's token (`--other-token-file`).
fn second_user(session: &Session) -> Result<String, SendError> {
    session
        .target
        .plain
        .as_ref()
        .and_then(|p| p.other.clone())
        .ok_or_else(|| SendError::Transport("no second user's token (--other-token-file)".into()))
}

/// Performs `exchange` on the probe crate.
fn exchange(session: &Session, exchange: Exchange) -> Result<Exchanged, SendError> {
    let fx = &session.fixture;
    let name = fx.krate.name.as_str();
    let vers = fx.krate.vers.as_str();
    let owners = |crate_name: &str| Operation::Owners {
        name: crate_name.into(),
    };
    let yank = |name: &str, vers: &str| Operation::Yank {
        name: name.into(),
        vers: vers.into(),
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
                control: Some(owners_yank(session)?),
                ..answered(&answer)
            }
        }
        Exchange::AddOwnerWithOtherCratesToken => {
            let list = || -> Result<(HttpAnswer, String), SendError> {
                let token = signed(&session.target, &owners(name));
                let answer =
                    session
                        .client
                        .request(&owners(name), Some(&token), &session.crates)?;
                let listed = String::from_utf8_lossy(&answer.body).into_owned();
                Ok((http_answer(&answer), listed))
            };
            let (control, before) = list()?;
            // Another crate's owners token; in plain-token mode, the second user's token.
            let other = match &session.target.plain {
                Some(plain) => plain.other.clone().unwrap_or_default(),
                None => signed(&session.target, &owners(&fx.other_name())),
            };
            let answer = session
                .client
                .change_owners(name, true, &[OWNER_PROBE], Some(&other))?;
            let (_, after) = list()?;
            Exchanged {
                state: Some(StateChange {
                    what: "the owner list".into(),
                    before,
                    after,
                }),
                // The owner's own read of the list: a registry without owners answers it 404.
                control: Some(control),
                ..answered(&answer)
            }
        }
        Exchange::YankWithForgedToken(forgery) => {
            let token = forge(session, forgery)?;
            let seen = with_index_state(session, name, || {
                session
                    .client
                    .request(&yank(name, vers), Some(&token), &session.crates)
            })?;
            Exchanged {
                control: Some(owners_yank(session)?),
                ..seen
            }
        }
        Exchange::IndexFileWithForgedToken(forgery) => {
            let token = forge(session, forgery)?;
            let answer = session.client.index_file(name, Some(&token))?;
            let genuine = signed(&session.target, &Operation::Read);
            let control = session.client.index_file(name, Some(&genuine))?;
            Exchanged {
                control: Some(http_answer(&control)),
                ..answered(&answer)
            }
        }
        Exchange::YankWithOwnToken => {
            // Unyanked first (whatever earlier cases did to it), so the yank has work to do.
            as_owner(
                session,
                &Operation::Unyank {
                    name: name.into(),
                    vers: vers.into(),
                },
            )?;
            let op = yank(name, vers);
            let token = signed(&session.target, &op);
            with_index_state(session, name, || {
                session.client.request(&op, Some(&token), &session.crates)
            })?
        }
        Exchange::UnyankWithOwnToken => {
            // Yanked first (whatever the yank case left), so the unyank has work to do.
            as_owner(session, &yank(name, vers))?;
            let op = Operation::Unyank {
                name: name.into(),
                vers: vers.into(),
            };
            let token = signed(&session.target, &op);
            with_index_state(session, name, || {
                session.client.request(&op, Some(&token), &session.crates)
            })?
        }
        Exchange::OwnersWithOwnToken => {
            let token = signed(&session.target, &owners(name));
            answered(
                &session
                    .client
                    .request(&owners(name), Some(&token), &session.crates)?,
            )
        }
        Exchange::YankWithSecondUsersToken => {
            let other = second_user(session)?;
            let seen = with_index_state(session, name, || {
                session
                    .client
                    .request(&yank(name, vers), Some(&other), &session.crates)
            })?;
            Exchanged {
                control: Some(owners_yank(session)?),
                ..seen
            }
        }
        Exchange::PublishWithSecondUsersToken => {
            let other = second_user(session)?;
            let op = fx.publish_version("0.2.0-second-user");
            with_index_state(session, name, || {
                session.client.request(&op, Some(&other), &session.crates)
            })?
        }
        Exchange::EndpointOrigins => {
            let mut endpoints = Vec::new();
            if let Some(api) = &session.client.api {
                endpoints.push(("api".to_string(), origin(api)));
            }
            if let Ok(dl) = session.client.download_url(name, vers, &fx.krate.cksum) {
                endpoints.push(("dl".to_string(), origin(&dl)));
            }
            Exchanged {
                origins: Some(Origins {
                    index: origin(&session.target.index_url),
                    endpoints,
                }),
                ..answered(&session.authenticated_config)
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
