//! Runs registry cases over HTTP: the token vectors rebuilt with the registry's own key, URL
//! and clock (a live [`Fixture`]), each sent to the endpoint its request names, plus the
//! authentication cases of the sparse-index protocol. Cases run one after the other: they act
//! on one probe crate whose state (published, yanked, owners) they share.

mod client;
pub mod crates;
pub mod safety;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credlab_suite::cases::Level;
use credlab_suite::cases::token::{TokenCase, TokenExpect};
use credlab_suite::judge::Outcome;
use credlab_suite::judge::registry::{HttpAnswer, Trace, has_error_json, judge};
use credlab_suite::keys::SecretKey;
use credlab_suite::paseto;
use credlab_suite::redact::{SecretKind, Secrets};
use credlab_suite::rejection::RejectionKind;
use credlab_suite::report::Evidence;
use credlab_suite::token::{self, Operation};
use credlab_suite::vectors::Fixture;
use credlab_suite::vectors::fixture::{CrateFixture, CrateSource, registered};
use serde_json::Value;
use time::OffsetDateTime;

pub use client::{Answer, Client, SendError, header_safe, index_path};
use crates::LiveCrates;

/// The registry to judge and how it is configured.
#[derive(Debug, Clone)]
pub struct Target {
    /// The index URL exactly as Cargo users configure it (`sparse+http://…/index/`).
    pub index_url: String,
    /// The key the operator enrolled for credlab.
    pub key: SecretKey,
    /// The subject on file for that key, if any.
    pub subject: Option<String>,
    /// The registry's freshness window and future skew.
    pub max_age: Duration,
    pub max_skew: Duration,
    pub allow_remote: bool,
    /// Per-request deadline.
    pub timeout: Duration,
    /// The run's secret register: the key and every token credlab signs with it are added
    /// before they are sent, so no report can show them (even echoed by the registry).
    pub secrets: Secrets,
}

/// Why the run could not start. Whose fault it is decides the exit code: the user's URL is a
/// usage error (2), anything the target did is the target's (78).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The index URL the user gave is one credlab will not contact (not loopback without
    /// `--allow-remote`, crates.io, a malformed URL).
    #[error("{0}")]
    UserUrl(String),
    /// The target handed credlab a URL it will not contact: config.json's `api` or `dl`, or a
    /// redirect (or the index URL's name resolved off loopback). Nothing was sent there.
    #[error("{0}")]
    TargetUrl(String),
    /// The target did not answer, or did not answer as a registry.
    #[error("the registry could not be reached: {0}")]
    Unreachable(String),
}

/// A connected registry: its endpoints, what it said about itself, and the live fixture.
pub struct Session {
    /// (See [`Target::secrets`].)
    pub client: Client,
    pub fixture: Fixture,
    crates: Arc<LiveCrates>,
    pub auth_required: bool,
    pub facts: BTreeMap<String, String>,
    target: Target,
    /// The answer to an unauthenticated `config.json`.
    anonymous_config: Answer,
    /// The answer to `config.json` with credlab's read token (the anonymous one when the
    /// registry did not ask for a token).
    authenticated_config: Answer,
}

/// A fresh token for credlab's own requests (connecting, setup, state checks): Cargo's claims,
/// low-S, so that only the cases decide which signature form a registry sees.
fn signed(target: &Target, operation: &Operation) -> String {
    let claims = token::Claims::for_operation(
        operation,
        OffsetDateTime::now_utc(),
        target.subject.as_deref(),
    );
    let footer = token::Footer::new(target.index_url.clone(), target.key.public_key().id());
    let signed = token::sign(
        &target.key,
        &claims,
        &footer,
        credlab_suite::paseto::SignatureForm::LowS,
    );
    target.secrets.add_token(SecretKind::SignedToken, &signed);
    signed
}

/// A failed `config.json` request: a refusal to follow where the target led (a redirect) is
/// the target's URL; anything else means it did not answer.
fn config_failed(e: SendError) -> ConnectError {
    match e {
        SendError::Refused(m) => ConnectError::TargetUrl(m),
        other => ConnectError::Unreachable(other.to_string()),
    }
}

/// Checks the URL, reads `config.json` (unauthenticated first, then with a read token, as
/// Cargo does), checks the `api` and `dl` it names, and builds the live fixture around a fresh
/// probe crate.
///
/// An anonymous `config.json` answered 403 instead of 401 is judged, not fatal: Cargo would
/// never send a token to that registry (it retries only after a 401), which
/// `registry::auth::config-401-without-token` reports, and credlab goes on with its read token
/// as if the answer had been 401, so every other case still runs. Only a target that does not
/// answer, or does not answer as a registry, stops the run.
pub fn connect(target: Target) -> Result<Session, ConnectError> {
    target
        .secrets
        .add_key(SecretKind::LoginKey, "secret-key", &target.key);
    safety::check(&target.index_url, target.allow_remote)
        .map_err(|e| ConnectError::UserUrl(e.to_string()))?;
    let mut client = Client::new(&target.index_url, target.timeout, target.allow_remote);
    let anonymous_config = client.config(None).map_err(config_failed)?;
    let asked_for_token = matches!(anonymous_config.status, 401 | 403);
    let config = if asked_for_token {
        client
            .config(Some(&signed(&target, &Operation::Read)))
            .map_err(config_failed)?
    } else {
        anonymous_config.clone()
    };
    // A registry that asks for a token and then refuses credlab's valid read token is judged,
    // not abandoned: the read cases still run (they need only the index URL); the API cases
    // are skipped for want of config.json's `api`.
    let token_refused = asked_for_token && matches!(config.status, 401 | 403);
    if config.status != 200 && !token_refused {
        return Err(ConnectError::Unreachable(format!(
            "config.json answered {} {}",
            config.status,
            String::from_utf8_lossy(&config.body)
        )));
    }
    let auth_required = if token_refused {
        true
    } else {
        client
            .learn(&config.body)
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?
    };
    // The probe crate is named here, before any request past config.json, so that its download
    // URL (`dl` with the markers filled in) is checked along with `api`.
    let crates = Arc::new(LiveCrates::default());
    let probe = probe_name();
    let probe_cksum = crates.cksum(&probe, PROBE_VERS);
    check_endpoints(&client, &probe, &probe_cksum, target.allow_remote)?;
    let now = OffsetDateTime::now_utc();
    let clock = config
        .date
        .as_deref()
        .and_then(|d| {
            time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc2822).ok()
        })
        .unwrap_or(now);
    let skew = (clock - now).whole_seconds();
    let fixture = Fixture {
        clock: if skew.abs() > 2 { clock } else { now },
        index_url: target.index_url.clone(),
        other_index_url: "sparse+https://other-registry.credlab.test/index/".into(),
        signer: target.key.clone(),
        signer_subject: target.subject.clone(),
        second: None,
        stranger: SecretKey::generate(),
        krate: CrateFixture {
            name: probe.clone(),
            vers: PROBE_VERS.into(),
            cksum: probe_cksum,
        },
        other_cksum: crates.cksum(&probe, "0.0.0-other"),
        max_age: time::Duration::try_from(target.max_age).unwrap_or(time::Duration::minutes(15)),
        max_skew: time::Duration::try_from(target.max_skew).unwrap_or(time::Duration::minutes(1)),
        crates: crates.clone(),
        distinct_iat: Some(Arc::default()),
    };
    let mut facts = BTreeMap::new();
    facts.insert("index-url".into(), target.index_url.clone());
    facts.insert(
        "api".into(),
        client.api.clone().unwrap_or_else(|| "(none)".into()),
    );
    facts.insert("auth-required".into(), auth_required.to_string());
    if anonymous_config.status == 403 {
        facts.insert(
            "config.json (anonymous)".into(),
            "403, not 401: Cargo retries with a token only after a 401; credlab went on with \
             its read token"
                .into(),
        );
    }
    if token_refused {
        facts.insert(
            "config.json".into(),
            format!("refused credlab's valid read token ({})", config.status),
        );
    }
    facts.insert("clock-skew-seconds".into(), skew.to_string());
    facts.insert("probe-crate".into(), probe);
    facts.insert("key".into(), target.key.public_key().to_string());
    facts.insert("kip".into(), target.key.public_key().id().to_string());
    Ok(Session {
        client,
        fixture,
        crates,
        auth_required,
        facts,
        target,
        anonymous_config,
        authenticated_config: config,
    })
}

/// The version of the probe crate credlab publishes first.
const PROBE_VERS: &str = "0.1.0";

/// A fresh probe crate name, unique to this run.
fn probe_name() -> String {
    let nonce = SecretKey::generate();
    format!(
        "credlab-probe-{}",
        &credlab_suite::vectors::fixture::sha256_hex(nonce.public_key().id().as_str().as_bytes())
            [..10]
    )
}

/// Refuses a config.json whose `api` or `dl` (for the probe crate) names a host credlab may not
/// contact. It runs before any request goes to either, so a registry cannot point credlab's
/// tokens at another host; the client would refuse each request too, but refusing here says
/// which field is at fault instead of failing every case. `api` first: it is the field that
/// carries the mutations.
fn check_endpoints(
    client: &Client,
    probe: &str,
    cksum: &str,
    allow_remote: bool,
) -> Result<(), ConnectError> {
    let download = client
        .dl
        .as_deref()
        .map(|dl| client::dl_url(dl, probe, PROBE_VERS, cksum));
    for (field, url) in [("api", client.api.clone()), ("dl", download)] {
        let Some(url) = url else { continue };
        safety::check(&url, allow_remote).map_err(|reason| {
            ConnectError::TargetUrl(format!(
                "config.json's `{field}` names {url:?}, which credlab will not contact: {reason}"
            ))
        })?;
    }
    Ok(())
}

impl Session {
    /// The run's secret register.
    pub fn secrets(&self) -> &Secrets {
        &self.target.secrets
    }
}

/// The login credlab adds and removes as an owner of its probe crate.
pub const OWNER_PROBE: &str = "credlab-owner-probe";

/// A case's result.
#[derive(Debug, Clone)]
pub struct CaseRun {
    pub outcome: Outcome,
    pub evidence: Vec<Evidence>,
    pub duration: Duration,
}

/// The registry's view of a crate: version → yanked.
fn index_state(session: &Session, name: &str) -> Result<BTreeMap<String, bool>, SendError> {
    let token = signed(&session.target, &Operation::Read);
    let answer = session
        .client
        .index_file(name, session.auth_required.then_some(token.as_str()))?;
    if answer.status != 200 {
        return Ok(BTreeMap::new());
    }
    Ok(String::from_utf8_lossy(&answer.body)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            Some((
                v.get("vers")?.as_str()?.to_string(),
                v.get("yanked")?.as_bool().unwrap_or(false),
            ))
        })
        .collect())
}

/// Why a token case cannot be run against a live registry, if it cannot.
fn inapplicable(session: &Session, case: &TokenCase) -> Option<String> {
    let input = &case.input;
    let live_keys = vec![registered(
        &session.target.key,
        session.target.subject.clone(),
    )];
    if input.registry.keys != live_keys {
        return Some(if input.registry.keys.len() > 1 {
            "needs a second enrolled key (offline only)".into()
        } else {
            "needs a registered key other than credlab's (offline only)".into()
        });
    }
    if input.registry.index_url != session.target.index_url {
        return Some("made for another index URL (offline only)".into());
    }
    if input.issued_challenge.is_some() {
        return Some(
            "needs a registry that issues challenges (Cargo cannot answer them yet)".into(),
        );
    }
    if case.has_flag(credlab_suite::cases::Flag::Boundary) {
        return Some("a timing boundary finer than an HTTP round trip (offline only)".into());
    }
    if input.request == Operation::Read && !session.auth_required {
        return Some(
            "reads are not authenticated on this registry (auth-required is false)".into(),
        );
    }
    if input.request != Operation::Read && session.client.api.is_none() {
        return Some(
            "config.json gave no `api` (the registry refused credlab's read token)".into(),
        );
    }
    if !header_safe(&input.token) {
        return Some("the token cannot travel in an HTTP header (control characters)".into());
    }
    None
}

/// The request a token was made for, from its claims (for replays of earlier tokens).
fn request_of(token: &str) -> Option<Operation> {
    let decoded = paseto::decode(token).ok()?;
    let claims: Value = serde_json::from_slice(decoded.payload()).ok()?;
    let field = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    Some(match field("mutation").as_deref() {
        None => Operation::Read,
        Some("publish") => Operation::Publish {
            name: field("name")?,
            vers: field("vers")?,
            cksum: field("cksum")?,
        },
        Some("yank") => Operation::Yank {
            name: field("name")?,
            vers: field("vers")?,
        },
        Some("unyank") => Operation::Unyank {
            name: field("name")?,
            vers: field("vers")?,
        },
        Some("owners") => Operation::Owners {
            name: field("name")?,
        },
        Some(_) => return None,
    })
}

fn evidence(step: &str, operation: &Operation, token: Option<&str>, answer: &Answer) -> Evidence {
    let what = match operation {
        Operation::Read => "GET config.json".to_string(),
        Operation::Publish { name, vers, .. } => format!("PUT /api/v1/crates/new ({name} {vers})"),
        Operation::Yank { name, vers } => format!("DELETE /api/v1/crates/{name}/{vers}/yank"),
        Operation::Unyank { name, vers } => format!("PUT /api/v1/crates/{name}/{vers}/unyank"),
        Operation::Owners { name } => format!("GET /api/v1/crates/{name}/owners"),
    };
    Evidence {
        step: step.into(),
        sent: Some(format!(
            "{what} with Authorization: {}",
            token.map_or("(none)".into(), credlab_suite::redact::token)
        )),
        received: Some(format!(
            "HTTP {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
        )),
        stderr: None,
        exit: None,
    }
}

fn transport_outcome(e: SendError) -> Outcome {
    match e {
        SendError::Timeout(after) => Outcome::Hang {
            phase: "http".into(),
            after,
        },
        SendError::Transport(message) | SendError::Refused(message) => Outcome::Error { message },
    }
}

/// Publishes the probe crate: every later case acts on it.
pub fn publish_probe(session: &Session) -> Result<(), String> {
    let op = session.fixture.publish_version(&session.fixture.krate.vers);
    let answer = session
        .client
        .request(&op, Some(&signed(&session.target, &op)), &session.crates)
        .map_err(|e| e.to_string())?;
    if (200..300).contains(&answer.status) {
        Ok(())
    } else {
        Err(format!(
            "publishing the probe crate answered {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ))
    }
}

/// Runs one token case.
pub fn run_token_case(session: &Session, case: &TokenCase) -> CaseRun {
    let started = Instant::now();
    let finish = |outcome, evidence| CaseRun {
        outcome,
        evidence,
        duration: started.elapsed(),
    };
    if let Some(reason) = inapplicable(session, case) {
        return finish(Outcome::Skip { reason }, Vec::new());
    }
    let input = &case.input;
    // Every token of the case was signed with the registry's key: secrets from now on.
    for token in input.accepted_before.iter().chain([&input.token]) {
        session
            .target
            .secrets
            .add_token(SecretKind::SignedToken, token);
    }
    let mut evidence_list = Vec::new();
    for version in &input.registry.published {
        let op = session.fixture.publish_version(&version.vers);
        let op = match op {
            Operation::Publish { cksum, .. } => Operation::Publish {
                name: version.name.clone(),
                vers: version.vers.clone(),
                cksum,
            },
            other => other,
        };
        match session
            .client
            .request(&op, Some(&signed(&session.target, &op)), &session.crates)
        {
            Ok(a) if (200..300).contains(&a.status) => {}
            Ok(a) => {
                evidence_list.push(evidence(
                    "setup: publish the version the case needs",
                    &op,
                    None,
                    &a,
                ));
                return finish(
                    Outcome::Skip {
                        reason: format!("setup publish answered {}", a.status),
                    },
                    evidence_list,
                );
            }
            Err(e) => return finish(transport_outcome(e), evidence_list),
        }
    }
    for (i, earlier) in input.accepted_before.iter().enumerate() {
        let Some(op) = request_of(earlier) else {
            return finish(
                Outcome::Error {
                    message: "an earlier token names no request".into(),
                },
                evidence_list,
            );
        };
        // One owners token serves a whole `cargo owner` command: add, then remove, then list.
        let sent = match (&op, i) {
            (Operation::Owners { name }, 0 | 1) => {
                session
                    .client
                    .change_owners(name, i == 0, &[OWNER_PROBE], Some(earlier))
            }
            _ => session.client.request(&op, Some(earlier), &session.crates),
        };
        match sent {
            Ok(a) if (200..300).contains(&a.status) => evidence_list.push(evidence(
                &format!("earlier use {}", i + 1),
                &op,
                Some(earlier),
                &a,
            )),
            Ok(a) => {
                evidence_list.push(evidence(
                    &format!("earlier use {}", i + 1),
                    &op,
                    Some(earlier),
                    &a,
                ));
                // When the case is about reuse being accepted, the earlier uses are the case.
                let outcome = if case.over_http().1 == TokenExpect::Valid {
                    Outcome::fail(
                        format!("earlier use {} accepted (2xx)", i + 1),
                        format!("HTTP {}", a.status),
                    )
                } else {
                    Outcome::Skip {
                        reason: format!("the earlier use of the token was refused ({})", a.status),
                    }
                };
                return finish(outcome, evidence_list);
            }
            Err(e) => return finish(transport_outcome(e), evidence_list),
        }
    }
    let watched = match &input.request {
        Operation::Publish { name, vers, .. }
        | Operation::Yank { name, vers }
        | Operation::Unyank { name, vers } => Some((name.clone(), vers.clone())),
        _ => None,
    };
    let before = match &watched {
        Some((name, _)) => match index_state(session, name) {
            Ok(s) => Some(s),
            Err(e) => return finish(transport_outcome(e), evidence_list),
        },
        None => None,
    };
    let answer = match session
        .client
        .request(&input.request, Some(&input.token), &session.crates)
    {
        Ok(a) => a,
        Err(e) => return finish(transport_outcome(e), evidence_list),
    };
    evidence_list.push(evidence(
        "the case",
        &input.request,
        Some(&input.token),
        &answer,
    ));
    let trace = match (&watched, &before) {
        (Some((name, vers)), Some(before)) if !(200..300).contains(&answer.status) => {
            match index_state(session, name) {
                Ok(after) if after.get(vers) != before.get(vers) => Trace::Left(format!(
                    "{name} {vers} went from {:?} to {:?} (None: absent; Some(yanked))",
                    before.get(vers),
                    after.get(vers)
                )),
                Ok(_) => Trace::None,
                Err(e) => return finish(transport_outcome(e), evidence_list),
            }
        }
        _ => Trace::NotChecked,
    };
    // Over HTTP a Cargo-shaped token is must-accept whatever its offline knob (interop with
    // real Cargo decides); other cases keep their own expectation.
    let (_, expect) = case.over_http();
    let expect = replay_tolerant(&expect, &input.request);
    let outcome = judge(
        &expect,
        &HttpAnswer {
            status: answer.status,
            body: answer.body.clone(),
        },
        &trace,
    );
    if outcome.is_pass() {
        evidence_list.clear();
    }
    finish(outcome, evidence_list)
}

/// A replayed publish may be refused for the version existing (409) as well as for the
/// replay: either is a refusal.
fn replay_tolerant(expect: &TokenExpect, request: &Operation) -> TokenExpect {
    match (expect, request) {
        (
            TokenExpect::Invalid {
                rejection: RejectionKind::Replayed,
            },
            Operation::Publish { .. },
        ) => TokenExpect::Invalid {
            rejection: RejectionKind::VersionExists,
        },
        _ => *expect,
    }
}

/// A protocol case of the registry itself (not a token vector).
#[derive(Debug, Clone, Copy)]
pub struct AuthCase {
    pub id: &'static str,
    pub level: Level,
    pub description: &'static str,
}

/// The authentication cases (RFC 3139 `auth-required`; cargo doc/book/src/reference/registry-index.md and registry-web-api.md at af373f76).
pub const AUTH_CASES: &[AuthCase] = &[
    AuthCase {
        id: "registry::auth::read-token-accepted",
        level: Level::Must,
        description: "config.json with a fresh, valid read token (Cargo's own) is served: 200",
    },
    AuthCase {
        id: "registry::auth::config-401-without-token",
        level: Level::Must,
        description: "auth-required: an unauthenticated config.json gets 401, the only answer that makes Cargo retry with a token (after a 403 Cargo gives up; credlab reports it here and goes on with its read token)",
    },
    AuthCase {
        id: "registry::auth::www-authenticate",
        level: Level::Should,
        description: "that 401 carries `www-authenticate: Cargo login_url=…` so `cargo login` can point users to it",
    },
    AuthCase {
        id: "registry::auth::index-needs-token",
        level: Level::Must,
        description: "auth-required: an index file without a token is refused with 401",
    },
    AuthCase {
        id: "registry::auth::download-needs-token",
        level: Level::Must,
        description: "auth-required: a download without a token is refused",
    },
    AuthCase {
        id: "registry::auth::mutation-needs-token",
        level: Level::Must,
        description: "a yank without any Authorization is refused with 401/403 and Cargo's error JSON, and changes nothing",
    },
    AuthCase {
        id: "registry::auth::probe-publish",
        level: Level::Must,
        description: "the probe crate publishes with a valid token: the index lists it and the download serves it",
    },
    AuthCase {
        id: "registry::auth::refused-owner-change",
        level: Level::Must,
        description: "an owners token for another crate, sent to add an owner, is refused with 401/403 and the owner list does not change",
    },
];

/// Runs one authentication case.
pub fn run_auth_case(session: &Session, case: &AuthCase) -> CaseRun {
    let started = Instant::now();
    let finish = |outcome, evidence| CaseRun {
        outcome,
        evidence,
        duration: started.elapsed(),
    };
    let fx = &session.fixture;
    let name = fx.krate.name.as_str();
    let vers = fx.krate.vers.as_str();
    let needs_auth = matches!(
        case.id,
        "registry::auth::config-401-without-token"
            | "registry::auth::www-authenticate"
            | "registry::auth::index-needs-token"
            | "registry::auth::download-needs-token"
    );
    let needs_api = matches!(
        case.id,
        "registry::auth::download-needs-token"
            | "registry::auth::mutation-needs-token"
            | "registry::auth::probe-publish"
            | "registry::auth::refused-owner-change"
    );
    if needs_api && session.client.api.is_none() {
        return finish(
            Outcome::Skip {
                reason: "config.json gave no `api` (the registry refused credlab's read token)"
                    .into(),
            },
            Vec::new(),
        );
    }
    if needs_auth && !session.auth_required {
        return finish(
            Outcome::Skip {
                reason: "the registry is not auth-required".into(),
            },
            Vec::new(),
        );
    }
    let refused = |a: &Answer| matches!(a.status, 401 | 403);
    let shown = |a: &Answer| {
        format!(
            "HTTP {} {}",
            a.status,
            String::from_utf8_lossy(&a.body[..a.body.len().min(200)])
        )
    };
    let result: Result<Outcome, SendError> = (|| {
        Ok(match case.id {
            "registry::auth::read-token-accepted" => {
                let a = &session.authenticated_config;
                if a.status == 200 {
                    Outcome::Pass
                } else {
                    Outcome::fail("200", shown(a))
                }
            }
            "registry::auth::config-401-without-token" => {
                let a = &session.anonymous_config;
                if a.status == 401 {
                    Outcome::Pass
                } else {
                    Outcome::fail("401", shown(a))
                }
            }
            "registry::auth::www-authenticate" => {
                match &session.anonymous_config.www_authenticate {
                    Some(v)
                        if v.to_ascii_lowercase().starts_with("cargo")
                            && v.contains("login_url") =>
                    {
                        Outcome::Pass
                    }
                    other => Outcome::fail(
                        "www-authenticate: Cargo login_url=\"…\"",
                        format!("{other:?}"),
                    ),
                }
            }
            "registry::auth::index-needs-token" => {
                let a = session.client.index_file(name, None)?;
                if a.status == 401 {
                    Outcome::Pass
                } else {
                    Outcome::fail("401", shown(&a))
                }
            }
            "registry::auth::download-needs-token" => {
                let a = session.client.download(name, vers, &fx.krate.cksum, None)?;
                if refused(&a) {
                    Outcome::Pass
                } else {
                    Outcome::fail("401 or 403", shown(&a))
                }
            }
            "registry::auth::mutation-needs-token" => {
                let op = Operation::Yank {
                    name: name.into(),
                    vers: vers.into(),
                };
                let before = index_state(session, name)?;
                let a = session.client.request(&op, None, &session.crates)?;
                let after = index_state(session, name)?;
                if !refused(&a) || !has_error_json(&a.body) {
                    Outcome::fail("401 or 403 with {\"errors\":[{\"detail\":…}]}", shown(&a))
                } else if before != after {
                    Outcome::fail(
                        "no change",
                        format!("index went from {before:?} to {after:?}"),
                    )
                } else {
                    Outcome::Pass
                }
            }
            "registry::auth::refused-owner-change" => {
                let list = |token: &str| -> Result<Vec<u8>, SendError> {
                    Ok(session
                        .client
                        .request(
                            &Operation::Owners { name: name.into() },
                            Some(token),
                            &session.crates,
                        )?
                        .body)
                };
                let own = signed(&session.target, &Operation::Owners { name: name.into() });
                let before = list(&own)?;
                let other = signed(
                    &session.target,
                    &Operation::Owners {
                        name: fx.other_name(),
                    },
                );
                let a = session
                    .client
                    .change_owners(name, true, &[OWNER_PROBE], Some(&other))?;
                let after = list(&signed(
                    &session.target,
                    &Operation::Owners { name: name.into() },
                ))?;
                if !refused(&a) || !has_error_json(&a.body) {
                    Outcome::fail("401 or 403 with {\"errors\":[{\"detail\":…}]}", shown(&a))
                } else if before != after {
                    Outcome::fail(
                        "the owner list unchanged",
                        format!(
                            "{} became {}",
                            String::from_utf8_lossy(&before),
                            String::from_utf8_lossy(&after)
                        ),
                    )
                } else {
                    Outcome::Pass
                }
            }
            "registry::auth::probe-publish" => {
                let state = index_state(session, name)?;
                let token = signed(&session.target, &Operation::Read);
                let dl = session.client.download(
                    name,
                    vers,
                    &fx.krate.cksum,
                    session.auth_required.then_some(token.as_str()),
                )?;
                let expected = session.crates.bytes(&fx.krate.cksum).unwrap_or_default();
                if !state.contains_key(vers) {
                    Outcome::fail(
                        format!("the index lists {name} {vers}"),
                        format!("{state:?}"),
                    )
                } else if dl.status != 200 || dl.body != expected {
                    Outcome::fail("the download serves the published .crate", shown(&dl))
                } else {
                    Outcome::Pass
                }
            }
            other => Outcome::Error {
                message: format!("unknown auth case {other}"),
            },
        })
    })();
    finish(result.unwrap_or_else(transport_outcome), Vec::new())
}
