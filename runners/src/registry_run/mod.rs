//! Runs registry cases over HTTP: the token vectors rebuilt with the registry's own key, URL
//! and clock (a live [`Fixture`]), each sent to the endpoint its request names, plus the
//! authentication cases of the sparse-index protocol. Cases run one after the other: they act
//! on one probe crate whose state (published, yanked, owners) they share.

mod auth;
mod client;
pub mod crates;
mod git_index;
pub mod safety;
mod token_case;

pub use auth::run_auth_case;
pub use token_case::run_token_case;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use credlab_suite::cases::auth::AuthCase;
use credlab_suite::cases::token::TokenCase;
use credlab_suite::judge::Outcome;
use credlab_suite::judge::registry::HttpAnswer;
use credlab_suite::judge::registry::auth::Offers;
use credlab_suite::keys::SecretKey;
use credlab_suite::redact::{SecretKind, Secrets};
use credlab_suite::report::{Evidence, Target as ReportTarget};
use credlab_suite::token::{self, Operation};
use credlab_suite::vectors::fixture::{CrateFixture, CrateSource};
use credlab_suite::vectors::{self, Fixture, embedded};
use serde_json::Value;
use time::OffsetDateTime;

use crate::engine::{Filter, Job};
pub use client::{Answer, Client, SendError};
use crates::LiveCrates;

/// The registry to judge and how it is configured.
#[derive(Debug, Clone)]
pub struct Target {
    /// The index URL exactly as Cargo users configure it (`sparse+http://…/index/`).
    pub index_url: String,
    /// The key the operator enrolled for credlab (asymmetric mode). In plain-token mode it
    /// signs nothing that is sent: only the offline token vectors' fixture holds it.
    pub key: SecretKey,
    /// Plain-token mode: the registry's own opaque tokens, sent verbatim instead of tokens
    /// signed with `key`; the token vectors (all `cargo:paseto`) do not run.
    pub plain: Option<PlainCredential>,
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

/// The tokens a plain-token registry issued for credlab.
#[derive(Clone)]
pub struct PlainCredential {
    /// credlab's user's token: it may publish credlab's probe crate.
    pub token: String,
    /// A second user's token, without rights on the probe crate (`--other-token-file`).
    pub other: Option<String>,
}

impl std::fmt::Debug for PlainCredential {
    // Never the tokens themselves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainCredential")
            .field("token", &"<redacted>")
            .field("other", &self.other.as_ref().map(|_| "<redacted>"))
            .finish()
    }
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

/// The token for credlab's own requests (connecting, setup, state checks). Asymmetric: a
/// fresh one with Cargo's claims, low-S, so that only the cases decide which signature form a
/// registry sees. Plain: the issued token, as `cargo:token` sends it.
fn signed(target: &Target, operation: &Operation) -> String {
    if let Some(plain) = &target.plain {
        return plain.token.clone();
    }
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
    if let Some(plain) = &target.plain {
        for token in std::iter::once(&plain.token).chain(&plain.other) {
            target.secrets.add_token(SecretKind::StoredToken, token);
        }
    }
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
    match &target.plain {
        Some(plain) => {
            facts.insert("credential".into(), "plain token (redacted)".into());
            facts.insert(
                "second user".into(),
                if plain.other.is_some() {
                    "a token without rights on the probe crate (redacted)"
                } else {
                    "(none: --other-token-file not given)"
                }
                .into(),
            );
        }
        None => {
            facts.insert("key".into(), target.key.public_key().to_string());
            facts.insert("kip".into(), target.key.public_key().id().to_string());
        }
    }
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
        .map(|dl| credlab_suite::index::dl_url(dl, probe, PROBE_VERS, cksum));
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

pub use crate::engine::CaseRun;

/// The cases of a registry run: the authentication cases, then the token cases rebuilt for the
/// live registry.
pub struct RegistryCases {
    pub auth: Vec<AuthCase>,
    pub tokens: Vec<TokenCase>,
}

/// The registry cases `filter` keeps, for `session`'s live fixture.
pub fn cases(session: &Session, filter: &Filter) -> RegistryCases {
    // The plain-token cases run only with plain tokens: with a key they would all skip.
    let plain = session.target.plain.is_some();
    let auth_files: Vec<_> = embedded::auth_files()
        .into_iter()
        .filter(|f| plain || f.group != "registry::plain")
        .collect();
    RegistryCases {
        auth: filter.select(auth_files),
        // The token vectors are `cargo:paseto` tokens: a plain-token registry never sees one.
        tokens: if session.target.plain.is_some() {
            Vec::new()
        } else {
            filter.select(vectors::token_files(&session.fixture))
        },
    }
}

/// The cases as jobs for the runner core. They must run with [`Schedule::sequential`]: they act
/// on one probe crate whose state (published, yanked, owners) they share, and replay cases
/// spend tokens in order. A token case is scored at its level over HTTP (a Cargo-shaped token
/// is must-accept there).
///
/// [`Schedule::sequential`]: crate::engine::Schedule::sequential
pub fn jobs<'a>(session: &'a Session, cases: &'a RegistryCases) -> Vec<Job<'a>> {
    let auth = cases.auth.iter().map(|case| {
        Job::new(case.id.clone(), case.level, move || {
            run_auth_case(session, case)
        })
    });
    let tokens = cases.tokens.iter().map(|case| {
        Job::new(case.id.clone(), case.over_http().0, move || {
            run_token_case(session, case)
        })
    });
    auth.chain(tokens).collect()
}

/// The report's target: the registry under `name`, with what credlab learned connecting.
pub fn report_target(session: &Session, name: &str) -> ReportTarget {
    ReportTarget {
        kind: "registry".into(),
        name: name.into(),
        facts: session.facts.clone(),
    }
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

/// Why the probe crate could not be published.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("publishing the probe crate got no answer: {0}")]
    Send(#[from] SendError),
    #[error("publishing the probe crate answered {status} {body}")]
    Refused { status: u16, body: String },
}

/// Publishes the probe crate: every later case acts on it. A refusal is not fatal:
/// `registry::auth::probe-publish` judges what a reader then sees, and the cases that need the
/// crate fail or skip for themselves.
pub fn publish_probe(session: &Session) -> Result<(), ProbeError> {
    let op = session.fixture.publish_version(&session.fixture.krate.vers);
    let answer =
        session
            .client
            .request(&op, Some(&signed(&session.target, &op)), &session.crates)?;
    if (200..300).contains(&answer.status) {
        Ok(())
    } else {
        Err(ProbeError::Refused {
            status: answer.status,
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        })
    }
}

impl Session {
    /// What the registry offers the authentication cases.
    pub fn offers(&self) -> Offers {
        Offers {
            auth_required: self.auth_required,
            api: self.client.api.is_some(),
            git_index: self.client.git_index(),
            second_user: self
                .target
                .plain
                .as_ref()
                .is_none_or(|plain| plain.other.is_some()),
            plain_token: self.target.plain.is_some(),
        }
    }
}

/// What the registry's answer was, for the judge.
fn http_answer(answer: &Answer) -> HttpAnswer {
    HttpAnswer::new(answer.status, answer.body.clone())
}
