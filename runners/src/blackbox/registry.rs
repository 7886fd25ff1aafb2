//! Fuzzing a registry over HTTP: tokens signed for the live session (the operator's key, the
//! registry's index URL and clock), mutated, and sent with the real request Cargo makes for
//! their operation ([`Client::request`]).
//!
//! Operations: publish (a fresh `0.0.0-fuzz.N` version of the session's probe crate), yank and
//! unyank (the probe crate's first version), owners, and reads (only when the registry is
//! auth-required: otherwise reads ignore the token). Before fuzzing, each endpoint is asked
//! once without a token; an endpoint that answers 2xx to that is open, and its 2xx answers
//! are never counted as accepting garbage.
//!
//! Token mutations, one or two per input:
//! - **text**: the header (`v3.local.`, `v4.public.`, `V3.public.`, no dot, …), the segments
//!   (drop or repeat the footer, an extra or empty segment, swapped segments), base64
//!   characters (`+`, `/`, `=`, `!`, case flips), lengths (cut 1 to 3 characters, so the
//!   length is impossible; cut the signature), dots (inserted, removed, doubled), padding,
//!   whitespace inside the token, a bit flip in the signature, a huge token (past the 8 KiB
//!   limit), the empty token;
//! - **re-signed** with the session's key, so only the changed part is wrong: `iat` a day old
//!   or ahead or not RFC 3339, another `mutation`/`name`/`vers`/`cksum`, a missing claim, a
//!   `sub` the key does not have, `v` 2, another footer `url`, a stranger's `kip`, no footer,
//!   a payload that is not a JSON object, duplicate or deeply nested keys.
//!
//! Tokens are made header-safe (control and non-ASCII bytes become `~`) and trimmed of
//! spaces and tabs at the ends (HTTP strips them), so the registry sees exactly the token the
//! reference verifier judges and the vector holds.
//!
//! Findings: [`FindingKind::ServerError`] (5xx), [`FindingKind::Hang`] (no answer within
//! [`FuzzOptions::timeout`], confirmed with twice that), [`FindingKind::Dropped`] (the
//! connection closed or failed without an HTTP answer), [`FindingKind::AcceptedGarbage`] (2xx
//! from a token-checking endpoint for a token that the reference verifier, with the session's
//! key, URL, clock, freshness window and skew, refuses).

use std::path::Path;
use std::time::Duration;

use credlab_suite::backend::Backend;
use credlab_suite::cases::token::{RegistryInput, TokenExpect, TokenInput};
use credlab_suite::judge::token::evaluate;
use credlab_suite::keys::SecretKey;
use credlab_suite::paseto::{self, SignatureForm};
use credlab_suite::rejection::Rejection;
use credlab_suite::token::{Claims, Footer, Operation, iat};
use credlab_suite::vectors::fixture::{CrateSource, registered};
use credlab_suite::verify::Policy;
use time::OffsetDateTime;

use super::campaign::{Campaign, Deadline, FoundVector, Observed, Target};
use super::found::{self, RegistryContext};
use super::rng::Rng;
use super::{FindingKind, FuzzOptions, FuzzReport};
use crate::registry_run::crates::LiveCrates;
use crate::registry_run::{Answer, Client, SendError, Session};
use credlab_suite::redact::SecretKind;
use credlab_suite::token::is_header_value;

/// Everything an input needs from the session.
struct World<'a> {
    session: &'a Session,
    client: Client,
    /// The same endpoints with twice the deadline, to confirm hangs.
    patient: Client,
    crates: LiveCrates,
    /// Seconds the registry's clock is ahead of ours.
    skew: i64,
    /// The endpoints fuzzed.
    endpoints: Vec<Endpoint>,
    policy: Policy,
}

impl World<'_> {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.skew)
    }

    fn key(&self) -> &SecretKey {
        &self.session.fixture.signer
    }

    fn subject(&self) -> Option<&str> {
        self.session.fixture.signer_subject.as_deref()
    }

    fn index_url(&self) -> &str {
        &self.session.fixture.index_url
    }

    /// The reference verifier's verdict on `token` for `op`, now.
    fn reference(
        &self,
        token: &str,
        op: &Operation,
        clock: OffsetDateTime,
        policy: &Policy,
    ) -> Result<(), Rejection> {
        self.reference_with(self.key(), token, op, clock, policy)
    }

    /// The same, with `key` enrolled instead of the session's.
    fn reference_with(
        &self,
        key: &SecretKey,
        token: &str,
        op: &Operation,
        clock: OffsetDateTime,
        policy: &Policy,
    ) -> Result<(), Rejection> {
        let input = TokenInput {
            registry: RegistryInput {
                index_url: self.index_url().to_string(),
                keys: vec![registered(key, self.subject().map(str::to_string))],
                published: Vec::new(),
            },
            signer: None,
            request: op.clone(),
            issued_challenge: None,
            accepted_before: Vec::new(),
            token: token.to_string(),
        };
        evaluate(&input, clock, policy, Backend::default()).map(|_| ())
    }
}

/// What a token is sent to: an operation, and whether its endpoint checks tokens (one that
/// answers 2xx without a token does not, so its 2xx is no sign of accepted garbage).
#[derive(Debug, Clone)]
struct Endpoint {
    operation: Operation,
    checks_tokens: bool,
}

/// Why a token could not be sent (the session's configuration, not the registry's doing).
#[derive(Debug)]
struct NotSent(String);

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not sent: {}", self.0)
    }
}

/// The token as the registry receives it: header-safe, without spaces or tabs at the ends.
pub fn sanitize(token: &[u8]) -> String {
    let safe: String = token
        .iter()
        .map(|&b| {
            if credlab_suite::token::is_header_byte(b) {
                b as char
            } else {
                '~'
            }
        })
        .collect();
    debug_assert!(is_header_value(&safe));
    safe.trim_matches([' ', '\t']).to_string()
}

fn classify(
    world: &World<'_>,
    op: &Operation,
    checks_tokens: bool,
    token: &str,
    result: Result<Answer, SendError>,
) -> Result<Option<Observed>, String> {
    let answer = match result {
        Ok(answer) => answer,
        Err(SendError::Timeout(after)) => {
            return Ok(Some(Observed {
                kind: FindingKind::Hang,
                detail: format!("no answer within {after:?}"),
                signature: "hang".into(),
            }));
        }
        // A refused URL is the session's configuration, not something the registry did.
        Err(SendError::Refused(message)) => return Err(message),
        Err(SendError::Transport(message)) => {
            if message.starts_with("building the request") || message.starts_with("no .crate") {
                return Err(message);
            }
            return Ok(Some(Observed {
                kind: FindingKind::Dropped,
                detail: message,
                signature: "dropped".into(),
            }));
        }
    };
    if answer.status >= 500 {
        return Ok(Some(Observed {
            kind: FindingKind::ServerError,
            detail: format!("HTTP {}", answer.status),
            signature: format!("server-error-{}", answer.status),
        }));
    }
    if checks_tokens && (200..300).contains(&answer.status) {
        let now = world.now();
        if let Err(rejection) = world.reference(token, op, now, &world.policy) {
            return Ok(Some(Observed {
                kind: FindingKind::AcceptedGarbage,
                detail: format!(
                    "HTTP {} for a token the reference verifier refuses: {}",
                    answer.status, rejection.kind
                ),
                signature: format!("accepted-garbage-{}", rejection.kind),
            }));
        }
    }
    Ok(None)
}

fn send(
    world: &World<'_>,
    client: &Client,
    op: &Operation,
    token: &str,
) -> Result<Answer, SendError> {
    client.request(op, Some(token), &world.crates)
}

/// The endpoint of input `i`: one of the session's, with a fresh version for a publish.
fn endpoint(world: &World<'_>, rng: &mut Rng, i: u64) -> Endpoint {
    let Endpoint {
        operation,
        checks_tokens,
    } = world.endpoints[rng.below(world.endpoints.len())].clone();
    let operation = match operation {
        Operation::Publish { name, .. } => {
            let vers = format!("0.0.0-fuzz.{i}");
            let cksum = world.crates.cksum(&name, &vers);
            Operation::Publish { name, vers, cksum }
        }
        other => other,
    };
    Endpoint {
        operation,
        checks_tokens,
    }
}

const HEADERS: [&str; 10] = [
    "v3.local.",
    "v4.public.",
    "V3.public.",
    "v3.public",
    "v3..",
    "",
    "v2.public.",
    "v3.public.v3.public.",
    "v3.Public.",
    "v3.public..",
];
const B64_NOISE: [u8; 10] = [b'+', b'/', b'=', b'!', b'~', b'.', b'-', b'_', b'A', b'a'];

/// Mutates the text of a token.
fn text_mutation(rng: &mut Rng, token: &str) -> String {
    let mut t = token.as_bytes().to_vec();
    let len = t.len();
    let body_start = token.find("public.").map_or(0, |p| p + "public.".len());
    let at = rng.below(len + 1);
    match rng.below(13) {
        0 => {
            let rest = token.strip_prefix(paseto::HEADER).unwrap_or(token);
            t = format!("{}{rest}", rng.pick(&HEADERS)).into_bytes();
        }
        1 => {
            // Segments: drop the footer, repeat it, add one, empty the payload, swap.
            let parts: Vec<&str> = token.split('.').collect();
            let new = match (rng.below(5), parts.as_slice()) {
                (0, [v, p, body, _footer]) => format!("{v}.{p}.{body}"),
                (1, [v, p, body, footer]) => format!("{v}.{p}.{body}.{footer}.{footer}"),
                (2, _) => format!("{token}.x"),
                (3, [v, p, _body, footer]) => format!("{v}.{p}..{footer}"),
                (_, [v, p, body, footer]) => format!("{v}.{p}.{footer}.{body}"),
                _ => format!("{token}."),
            };
            t = new.into_bytes();
        }
        2 if len > body_start => {
            let at = body_start + rng.below(len - body_start);
            t[at] = *rng.pick(&B64_NOISE);
        }
        3 if len > body_start => {
            let at = body_start + rng.below(len - body_start);
            if t[at].is_ascii_alphabetic() {
                t[at] ^= 0x20;
            } else {
                t[at] = b'Z';
            }
        }
        // Impossible lengths: cut 1 to 3 characters from a segment's end.
        4 => {
            let cut = rng.between(1, 3);
            let end = token.rfind('.').filter(|d| *d > body_start).unwrap_or(len);
            let from = end.saturating_sub(cut).max(body_start);
            t.drain(from..end);
        }
        // Cut the signature (and more) from the body.
        5 => {
            let end = token.rfind('.').filter(|d| *d > body_start).unwrap_or(len);
            let keep = rng.below(end.saturating_sub(body_start));
            t.drain((body_start + keep).min(end)..end);
        }
        6 => t.insert(at, b'.'),
        7 => {
            if let Some(dot) = token.rfind('.') {
                t.remove(dot);
            }
        }
        8 => {
            let seg_end = token.rfind('.').filter(|d| *d > body_start).unwrap_or(len);
            let pads: [&[u8]; 3] = [b"=", b"==", b"==="];
            let pad = *rng.pick(&pads);
            let at = if rng.percent(50) { seg_end } else { len };
            t.splice(at..at, pad.iter().copied());
        }
        9 => t.insert(at, *rng.pick(b" \t")),
        // A bit flip in the signature (the end of the body segment).
        10 => {
            let end = token.rfind('.').filter(|d| *d > body_start).unwrap_or(len);
            if end > body_start {
                let at = end - 1 - rng.below((end - body_start).min(128));
                let c = t[at];
                let replacement = if c == b'A' { b'B' } else { b'A' };
                t[at] = replacement;
            }
        }
        11 => {
            let size = *rng.pick(&[8 * 1024, 16 * 1024, 48 * 1024]);
            t.extend(std::iter::repeat_n(b'A', size));
        }
        12 => t.clear(),
        _ => t.insert(at, *rng.pick(&B64_NOISE)),
    }
    String::from_utf8_lossy(&t).into_owned()
}

/// A token re-signed with the session key after one structural change.
fn resigned_mutation(world: &World<'_>, rng: &mut Rng, op: &Operation) -> String {
    let now = world.now();
    let key = world.key();
    let mut claims = Claims::for_operation(op, now, world.subject());
    let mut footer = Footer::new(world.index_url(), key.public_key().id());
    let mut payload: Option<String> = None;
    let mut footer_text: Option<String> = None;
    match rng.below(16) {
        0 => claims.iat = iat::format(now - time::Duration::days(1)),
        1 => claims.iat = iat::format(now + time::Duration::days(1)),
        2 => {
            claims.iat = (*rng.pick(&[
                "2026-01-01 00:00:00Z",
                "2026-01-01t00:00:00z",
                "yesterday",
                "",
                "9999-99-99T99:99:99Z",
            ]))
            .to_string()
        }
        3 => {
            claims.mutation =
                Some((*rng.pick(&["publish", "yank", "unyank", "owners", "nope", ""])).to_string())
        }
        4 => claims.mutation = None,
        5 => claims.name = Some("credlab-fuzz-other".into()),
        6 => claims.vers = Some("9.9.9".into()),
        7 => claims.cksum = Some("0".repeat(64)),
        8 => claims.sub = Some("credlab-fuzz-subject".into()),
        9 => claims.v = Some(2),
        10 => {
            footer.url = match rng.below(4) {
                0 => "sparse+https://other-registry.credlab.test/index/".into(),
                1 => String::new(),
                2 => world.index_url().trim_end_matches('/').to_string(),
                _ => world.index_url().to_ascii_uppercase(),
            };
        }
        11 => {
            footer.kip = SecretKey::from_bytes(&[7u8; 48])
                .map(|k| k.public_key().id().to_string())
                .unwrap_or_default()
        }
        12 => footer_text = Some(String::new()),
        13 => payload = Some((*rng.pick(&["[]", "null", "\"x\"", "{", "{\"iat\":1}"])).to_string()),
        14 => {
            let json = claims.to_json();
            let iat_member = format!("\"iat\":\"{}\",", iat::format(now));
            payload = Some(json.replacen('{', &format!("{{{iat_member}"), 1));
        }
        _ => {
            let depth = *rng.pick(&[33usize, 64, 200]);
            let json = claims.to_json();
            let nested = format!(
                "\"custom\":{}1{},",
                "{\"a\":".repeat(depth),
                "}".repeat(depth)
            );
            payload = Some(json.replacen('{', &format!("{{{nested}"), 1));
        }
    }
    let payload = payload.unwrap_or_else(|| claims.to_json());
    let footer = footer_text.unwrap_or_else(|| footer.to_json());
    paseto::sign(
        key,
        payload.as_bytes(),
        footer.as_bytes(),
        b"",
        SignatureForm::AsCargo,
    )
}

/// The token of one input.
fn token(world: &World<'_>, rng: &mut Rng, op: &Operation) -> String {
    let token = if rng.percent(30) {
        resigned_mutation(world, rng, op)
    } else {
        let base = credlab_suite::token::sign_as_cargo(
            world.key(),
            world.index_url(),
            op,
            world.now(),
            world.subject(),
        );
        let mut t = text_mutation(rng, &base);
        if rng.percent(25) {
            t = text_mutation(rng, &t);
        }
        t
    };
    let token = sanitize(token.as_bytes());
    // Signed with the registry's key (or cut from such a token): a secret from now on.
    world
        .session
        .secrets()
        .add_token(SecretKind::SignedToken, &token);
    token
}

/// Fuzzes one registry session. `progress` gets one line per notable event.
pub fn fuzz_registry(session: &Session, opts: &FuzzOptions, progress: &dyn Fn(&str)) -> FuzzReport {
    let mut campaign = Campaign::new(opts, World::INPUTS, progress);
    let client_with = |timeout| {
        let mut client = Client::new(
            &session.fixture.index_url,
            timeout,
            session.client.allow_remote(),
        );
        client.api = session.client.api.clone();
        client.dl = session.client.dl.clone();
        client
    };
    let skew = session
        .facts
        .get("clock-skew-seconds")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| s.abs() > 2)
        .unwrap_or(0);
    let mut world = World {
        session,
        client: client_with(opts.timeout),
        patient: client_with(opts.timeout * 2),
        crates: LiveCrates::default(),
        skew,
        endpoints: Vec::new(),
        policy: Policy {
            max_age: session
                .fixture
                .max_age
                .try_into()
                .unwrap_or(Duration::from_secs(900)),
            max_future_skew: session
                .fixture
                .max_skew
                .try_into()
                .unwrap_or(Duration::from_secs(60)),
            ..Policy::default()
        },
    };
    if let Err(e) = crate::registry_run::publish_probe(session) {
        campaign.note(format!("the probe crate: {e}"));
    }
    let krate = &session.fixture.krate;
    let mut candidates = Vec::new();
    if session.auth_required {
        candidates.push(Operation::Read);
    }
    if session.client.api.is_some() {
        candidates.extend([
            Operation::Publish {
                name: krate.name.clone(),
                vers: String::new(),
                cksum: String::new(),
            },
            Operation::Yank {
                name: krate.name.clone(),
                vers: krate.vers.clone(),
            },
            Operation::Unyank {
                name: krate.name.clone(),
                vers: krate.vers.clone(),
            },
            Operation::Owners {
                name: krate.name.clone(),
            },
        ]);
    }
    for op in candidates {
        let probe = match &op {
            Operation::Publish { name, .. } => {
                let vers = "0.0.0-fuzz.anonymous".to_string();
                let cksum = world.crates.cksum(name, &vers);
                Operation::Publish {
                    name: name.clone(),
                    vers,
                    cksum,
                }
            }
            other => other.clone(),
        };
        let open = matches!(world.client.request(&probe, None, &world.crates), Ok(a) if (200..300).contains(&a.status));
        if open {
            campaign.note(format!(
                "{} answers 2xx without a token: its answers are not checked for accepted garbage",
                op.kind().as_str()
            ));
        }
        world.endpoints.push(Endpoint {
            operation: op,
            checks_tokens: !open,
        });
    }
    campaign.progress(&format!(
        "fuzzing {} endpoints of {}",
        world.endpoints.len(),
        session.fixture.index_url
    ));
    if world.endpoints.is_empty() {
        campaign.note(
            "nothing to fuzz: reads are not authenticated and config.json names no api".into(),
        );
        return campaign.finish();
    }
    campaign.run(&world)
}

impl Target for World<'_> {
    type Setting = Endpoint;
    type Error = NotSent;
    const INPUT: &'static str = "token";
    const INPUTS: &'static str = "tokens";

    fn input(&self, rng: &mut Rng, iteration: u64) -> (Endpoint, Vec<u8>) {
        let endpoint = endpoint(self, rng, iteration);
        let token = token(self, rng, &endpoint.operation);
        (endpoint, token.into_bytes())
    }

    fn try_input(
        &self,
        endpoint: &Endpoint,
        input: &[u8],
        deadline: Deadline,
    ) -> Result<Option<Observed>, NotSent> {
        // Every input tried is a sanitized token (made as one, shrunk through `as_sent`):
        // ASCII, so this is the token as it was made.
        let token = String::from_utf8_lossy(input);
        let client = match deadline {
            Deadline::Usual => &self.client,
            Deadline::Doubled => &self.patient,
        };
        let op = &endpoint.operation;
        let result = send(self, client, op, &token);
        classify(self, op, endpoint.checks_tokens, &token, result).map_err(NotSent)
    }

    /// A token that could not be sent says nothing of the next one (another operation,
    /// another body).
    fn is_fatal(&self, _: &NotSent) -> bool {
        false
    }

    /// A token is shrunk whole: no part of it is structure the request needs.
    fn kept_suffix(&self, _: &[u8]) -> usize {
        0
    }

    fn as_sent(&self, candidate: &[u8]) -> Vec<u8> {
        sanitize(candidate).into_bytes()
    }

    fn vector(
        &self,
        kind: FindingKind,
        endpoint: &Endpoint,
        minimized: &[u8],
        dir: Option<&Path>,
    ) -> FoundVector {
        let minimized = String::from_utf8_lossy(minimized);
        let clock = self
            .now()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| self.now());
        let op = &endpoint.operation;
        // The vector must not hold a token signed with the registry's key: it is moved to the
        // public RFC 3231 key, and judged under that key.
        let (kept, key) = found::transplant(&minimized, self.session.secrets(), self.key());
        let expect = match self.reference_with(&key, &kept, op, clock, &Policy::default()) {
            Ok(()) => TokenExpect::Valid,
            Err(r) => TokenExpect::Invalid { rejection: r.kind },
        };
        let context = RegistryContext {
            index_url: self.index_url().to_string(),
            key: registered(&key, self.subject().map(str::to_string)),
            request: op.clone(),
            clock: iat::format(clock),
            expect,
        };
        FoundVector {
            case_id: found::registry_case_id(kind, &kept),
            written: dir.map(|dir| found::write_registry(dir, kind, &kept, &context)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn sanitize_makes_header_values() {
        assert_eq!(sanitize(b" \tv3.a b\x01\xff\t "), "v3.a b~~");
        assert!(is_header_value(&sanitize(&[0u8, 10, 13, 200, 65])));
    }

    #[test]
    fn text_mutations_are_deterministic_and_varied() {
        let key = SecretKey::from_bytes(&[3u8; 48]).unwrap();
        let base = credlab_suite::token::sign_as_cargo(
            &key,
            "sparse+http://127.0.0.1:1/index/",
            &Operation::Read,
            OffsetDateTime::UNIX_EPOCH + time::Duration::days(20000),
            None,
        );
        let all: Vec<String> = (0..200)
            .map(|i| text_mutation(&mut Rng::for_iteration(9, i), &base))
            .collect();
        let again: Vec<String> = (0..200)
            .map(|i| text_mutation(&mut Rng::for_iteration(9, i), &base))
            .collect();
        assert_eq!(all, again);
        let distinct: HashSet<&String> = all.iter().collect();
        assert!(distinct.len() > 100, "{}", distinct.len());
        assert!(all.iter().all(|t| t != &base || t.is_empty()));
    }
}
