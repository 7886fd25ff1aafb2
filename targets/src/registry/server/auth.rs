//! From an `Authorization` header to an acting key: [`admit_cached`] (verify, single use, no
//! republish), the persisted replay guard, and the seeded bugs' deviations.
//!
//! Locking: reads and owners tokens are not single-use, so they are admitted against a
//! throw-away guard with no lock held: their verification (the expensive part) runs fully in
//! parallel. Publish, yank and unyank tokens are admitted under the replay-guard lock (a
//! check-then-record must be atomic), never under the database lock, which `version_exists`
//! and the persisting of the record take only briefly.
//!
//! Read tokens are verified once ([`ReadCache`], `credlab_verify::cache`): Cargo sends one read
//! token on every request of a command. The cache gives the full verify's verdict for every
//! (token, request, verifier, time), so each `admit` below, the seeded bugs' re-runs under
//! another request or a lenient policy included, decides exactly as without it; the policy is
//! part of the cache key, so `SkipExpiry`'s century window never answers for the reference's.
//! Only reads are cached: publish, yank and unyank tokens still meet the replay guard every
//! time, and owners tokens are verified in full.
//!
//! The seeded bugs that look at the raw token (`CargoBytesOnly`, `V1Rejected` and the
//! `…ServerError` crashes) run in [`Auth::authorize`] before `admit`, so they never record
//! anything in the replay guard.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use credlab_suite::cache::ReadCache;
use credlab_suite::judge::token::SERDE_JSON_DEPTH;
use credlab_suite::paseto::{self, Decoded, SignatureS};
use credlab_suite::registry::{ContentKey, ReplayGuard, admit_cached, remember_until};
use credlab_suite::token::{Claims, Footer, Operation};
use credlab_suite::verify::{HighS, KeyStore, Policy, Request, SignedContent, Verified, Verifier};
use credlab_suite::{Rejection, RejectionKind};
use serde::Deserialize;
use serde_json::Value;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::bug::Bug;
use super::store::{ReplayRecord, Store};

/// A century: "no window" without overflowing date arithmetic.
const CENTURY: Duration = Duration::from_secs(100 * 366 * 24 * 3600);

/// Prune the in-memory guard after this many new records.
const PRUNE_EVERY: usize = 256;

/// The key a request was accepted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kip: String,
    /// The key's subject on file, else its `kip`: the owner name the registry uses.
    pub login: String,
}

struct GuardState {
    guard: ReplayGuard,
    /// `ReplayGuardByTokenString`: the accepted single-use token strings.
    token_strings: HashSet<String>,
    /// `SingleUseEverything`: accepted read and owners tokens, until they expire.
    reusable: HashMap<ContentKey, OffsetDateTime>,
    since_prune: usize,
}

/// Why a token was not admitted.
#[derive(Debug)]
pub enum Denied {
    /// Refused: the registry answers 401 (or what a seeded bug makes of it).
    Refused(Rejection),
    /// A seeded `…ServerError` bug "panicked" on the token: the registry answers 500.
    Crashed(String),
}

impl From<Rejection> for Denied {
    fn from(rejection: Rejection) -> Self {
        Denied::Refused(rejection)
    }
}

/// What a token was accepted with.
struct Accepted {
    actor: Actor,
    /// `None` when a seeded bug accepted a token the verifier refused.
    verified: Option<Verified>,
}

pub struct Auth {
    index_url: String,
    /// The URL footers must carry: the index URL (`UrlWithoutSparsePrefix`: minus `sparse+`).
    expected_url: String,
    verifier: Verifier,
    /// `SkipExpiry`/`SkipFutureCheck`: the same verifier with that window opened wide.
    lenient: Option<Verifier>,
    bug: Option<Bug>,
    state: Mutex<GuardState>,
    /// Verified read tokens, shared by `verifier` and `lenient` (the policy is in the key).
    cache: ReadCache,
    /// Tokens presented to [`Auth::authorize`].
    requests: AtomicU64,
}

/// What the authentication path has done since the registry started (for tests and benches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthCounts {
    /// Requests that carried a token to check.
    pub token_requests: u64,
    /// Full verifies (`Verifier::verify`: signature and every claim check) run for them
    /// (a seeded bug's second `admit` under a neutralised check can add one).
    pub full_verifies: u64,
    /// Read-token checks answered from the cache (freshness re-checked).
    pub cache_hits: u64,
    /// Distinct read tokens the cache holds now.
    pub cached_tokens: usize,
}

fn nanos(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// What a token says before anything about it is trusted (for the seeded bugs only).
struct Unverified {
    footer: serde_json::Map<String, Value>,
    claims: serde_json::Map<String, Value>,
}

impl Unverified {
    fn peek(token: &str) -> Self {
        let object = |bytes: Option<&[u8]>| match bytes.map(serde_json::from_slice::<Value>) {
            Some(Ok(Value::Object(map))) => map,
            _ => serde_json::Map::new(),
        };
        match paseto::decode(token) {
            Ok(decoded) => Self {
                footer: object(decoded.footer()),
                claims: object(Some(decoded.payload())),
            },
            Err(_) => Self {
                footer: serde_json::Map::new(),
                claims: serde_json::Map::new(),
            },
        }
    }

    fn footer(&self, key: &str) -> Option<&str> {
        self.footer.get(key).and_then(Value::as_str)
    }

    fn claim(&self, key: &str) -> Option<&str> {
        self.claims.get(key).and_then(Value::as_str)
    }
}

impl Auth {
    /// `read_cache`: how many verified read tokens to keep (0: verify every request).
    pub fn new(
        index_url: String,
        keys: KeyStore,
        policy: Policy,
        bug: Option<Bug>,
        read_cache: usize,
        store: &Store,
        now: OffsetDateTime,
    ) -> Result<Self, super::store::StoreError> {
        // The bugs that are a policy of their own: the registry verifies with it throughout.
        let policy = match bug {
            Some(Bug::RejectHighS) => Policy {
                high_s: HighS::Reject,
                ..policy
            },
            Some(Bug::JsonDepth8) => Policy {
                max_json_depth: 8,
                ..policy
            },
            Some(Bug::JsonDepth128) => Policy {
                max_json_depth: SERDE_JSON_DEPTH,
                ..policy
            },
            _ => policy,
        };
        let lenient = match bug {
            Some(Bug::SkipExpiry) => Some(Policy {
                max_age: CENTURY,
                ..policy.clone()
            }),
            Some(Bug::SkipFutureCheck) => Some(Policy {
                max_future_skew: CENTURY,
                ..policy.clone()
            }),
            _ => None,
        }
        .map(|lenient| Verifier::new(keys.clone()).with_policy(lenient));
        let verifier = Verifier::new(keys).with_policy(policy);
        let mut guard = ReplayGuard::new();
        let max_age = verifier.policy().max_age;
        for record in store.replay_records(nanos(now - max_age))? {
            let Ok(issued_at) = OffsetDateTime::from_unix_timestamp_nanos(record.issued_at.into())
            else {
                continue;
            };
            let key = ContentKey::of(&SignedContent {
                payload: record.payload,
                footer: record.footer,
            });
            guard.record(key, remember_until(issued_at, max_age));
        }
        let expected_url = match bug {
            Some(Bug::UrlWithoutSparsePrefix) => index_url
                .strip_prefix("sparse+")
                .unwrap_or(&index_url)
                .to_string(),
            _ => index_url.clone(),
        };
        Ok(Self {
            index_url,
            expected_url,
            verifier,
            lenient,
            bug,
            state: Mutex::new(GuardState {
                guard,
                token_strings: HashSet::new(),
                reusable: HashMap::new(),
                since_prune: 0,
            }),
            cache: ReadCache::new(read_cache),
            requests: AtomicU64::new(0),
        })
    }

    pub fn counts(&self) -> AuthCounts {
        let stats = self.cache.stats();
        AuthCounts {
            token_requests: self.requests.load(Ordering::Relaxed),
            full_verifies: stats.full_verifies,
            cache_hits: stats.hits,
            cached_tokens: self.cache.len(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GuardState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn index_url(&self) -> &str {
        &self.index_url
    }

    /// How many single-use records the in-memory guard holds.
    pub fn guard_len(&self) -> usize {
        self.lock().guard.len()
    }

    fn actor(&self, kip: &str) -> Actor {
        let subject = self
            .verifier
            .keys()
            .get(kip)
            .and_then(|r| r.subject.clone());
        Actor {
            kip: kip.to_string(),
            login: subject.unwrap_or_else(|| kip.to_string()),
        }
    }

    /// Admits `token` for `operation`, or says why not. `store` is locked only briefly.
    pub fn authorize(
        &self,
        store: &Mutex<Store>,
        token: &str,
        operation: &Operation,
        now: OffsetDateTime,
    ) -> Result<Actor, Denied> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inspect_raw(token)?;
        let exists = |name: &str, vers: &str| {
            !matches!(self.bug, Some(Bug::AllowRepublish | Bug::PublishOverwrites))
                && store
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .version_exists(name, vers)
                    // A failing database must not let a republish through; the insert,
                    // in a transaction, would refuse it anyway.
                    .unwrap_or(true)
        };
        let single_use = match self.bug {
            Some(Bug::NoReplayGuard) => false,
            Some(Bug::SingleUseEverything) => true,
            Some(Bug::PublishOverwrites) => {
                ReplayGuard::is_single_use(operation)
                    && !matches!(operation, Operation::Publish { .. })
            }
            _ => ReplayGuard::is_single_use(operation),
        };
        if !single_use {
            let mut scratch = ReplayGuard::new();
            return Ok(self
                .admit(&mut scratch, token, operation, now, &exists)?
                .actor);
        }
        let mut state = self.lock();
        if self.bug == Some(Bug::ReplayGuardByTokenString) {
            if state.token_strings.contains(token) {
                return Err(Rejection::new(
                    RejectionKind::Replayed,
                    "this token string was already accepted",
                )
                .into());
            }
            let accepted = self.admit(&mut ReplayGuard::new(), token, operation, now, &exists)?;
            state.token_strings.insert(token.to_string());
            return Ok(accepted.actor);
        }
        if !ReplayGuard::is_single_use(operation) {
            // `SingleUseEverything`: a read or owners token, held to single use as well.
            let accepted = self.admit(&mut ReplayGuard::new(), token, operation, now, &exists)?;
            if let Some(verified) = &accepted.verified {
                let key = ContentKey::of(&verified.signed);
                if state.reusable.contains_key(&key) {
                    return Err(Rejection::new(
                        RejectionKind::Replayed,
                        format!(
                            "this {} token was already accepted",
                            operation.kind().as_str()
                        ),
                    )
                    .into());
                }
                let until = remember_until(verified.issued_at, self.verifier.policy().max_age);
                state.reusable.insert(key, until);
                if state.reusable.len().is_multiple_of(PRUNE_EVERY) {
                    state.reusable.retain(|_, until| *until >= now);
                }
            }
            return Ok(accepted.actor);
        }
        let accepted = self.admit(&mut state.guard, token, operation, now, &exists)?;
        if let Some(verified) = &accepted.verified {
            let record = ReplayRecord {
                payload: verified.signed.payload.clone(),
                footer: verified.signed.footer.clone(),
                issued_at: nanos(verified.issued_at),
            };
            let prune_before = nanos(now - self.verifier.policy().max_age);
            // Best effort: the in-memory guard already holds the record.
            let _ = store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .record_replay(&record, prune_before);
            state.since_prune += 1;
            if state.since_prune >= PRUNE_EVERY {
                state.guard.prune(now);
                state.since_prune = 0;
            }
        }
        Ok(accepted.actor)
    }

    /// [`admit_cached`], then the seeded bug's deviation if the refusal is the check it skips.
    fn admit(
        &self,
        guard: &mut ReplayGuard,
        token: &str,
        operation: &Operation,
        now: OffsetDateTime,
        exists: &dyn Fn(&str, &str) -> bool,
    ) -> Result<Accepted, Rejection> {
        // "Version exists" is always about the request's own crate and version, even when a
        // bug re-runs admit with an operation rebuilt from the token's claims.
        let (name, vers) = (
            operation.name().unwrap_or(""),
            operation.vers().unwrap_or(""),
        );
        let run = |verifier: &Verifier, guard: &mut ReplayGuard, request: Request| {
            admit_cached(
                &self.cache,
                verifier,
                guard,
                token,
                &request,
                now,
                |_, _| exists(name, vers),
            )
            .map(|v| Accepted {
                actor: self.actor(&v.footer.kip),
                verified: Some(v),
            })
        };
        let request = Request::new(&self.expected_url, operation.clone());
        let rejection = match run(&self.verifier, guard, request) {
            Ok(accepted) => return Ok(accepted),
            Err(rejection) => rejection,
        };
        let Some(bug) = self.bug.filter(|b| b.skips(rejection.kind)) else {
            return Err(rejection);
        };
        let token_says = Unverified::peek(token);
        match bug {
            Bug::SkipUrlCheck => {
                let Some(url) = token_says.footer("url") else {
                    return Err(rejection);
                };
                run(&self.verifier, guard, Request::new(url, operation.clone()))
            }
            Bug::SkipExpiry | Bug::SkipFutureCheck => {
                let lenient = self.lenient.as_ref().unwrap_or(&self.verifier);
                let request = Request::new(&self.expected_url, operation.clone());
                run(lenient, guard, request)
            }
            Bug::SkipMutationCheck
            | Bug::SkipNameCheck
            | Bug::SkipVersCheck
            | Bug::SkipCksumCheck => match as_claimed(bug, operation, &token_says) {
                Some(claimed) => run(
                    &self.verifier,
                    guard,
                    Request::new(&self.expected_url, claimed),
                ),
                None => self.accept_unverified(&token_says, rejection),
            },
            Bug::IgnoreChallengeClaim => {
                let Some(challenge) = token_says.claim("challenge") else {
                    return Err(rejection);
                };
                let mut request = Request::new(&self.expected_url, operation.clone());
                request.challenge = Some(challenge.to_string());
                run(&self.verifier, guard, request)
            }
            Bug::UnknownKipAsOnlyKey => {
                let mut keys = self.verifier.keys().iter();
                match (keys.next(), keys.next()) {
                    (Some(only), None) => Ok(Accepted {
                        actor: self.actor(only.key.id().as_str()),
                        verified: None,
                    }),
                    _ => Err(rejection),
                }
            }
            _ => self.accept_unverified(&token_says, rejection),
        }
    }

    /// The seeded bugs that judge the raw token before `admit` does: `CargoBytesOnly` and
    /// `V1Rejected` refuse, the `…ServerError` bugs crash. Tokens that do not even decode are
    /// left to `admit`.
    fn inspect_raw(&self, token: &str) -> Result<(), Denied> {
        let Some(bug) = self.bug else {
            return Ok(());
        };
        if !matches!(
            bug,
            Bug::CargoBytesOnly
                | Bug::V1Rejected
                | Bug::StrictSerdeServerError
                | Bug::HighSServerError
                | Bug::IatFormatServerError
        ) || token.len() > self.verifier.policy().max_token_len
        {
            return Ok(());
        }
        let Ok(decoded) = paseto::decode(token) else {
            return Ok(());
        };
        let verifies = || self.signature_verifies(token, &decoded);
        match bug {
            Bug::CargoBytesOnly => Ok(cargo_bytes(&decoded)?),
            Bug::V1Rejected => match serde_json::from_slice::<Value>(decoded.payload()) {
                Ok(claims) if claims.get("v").is_some() => Err(Rejection::new(
                    RejectionKind::UnsupportedV,
                    "this registry does not support a `v` claim",
                )
                .into()),
                _ => Ok(()),
            },
            Bug::StrictSerdeServerError => {
                // Cargo's test registry parses the footer first, to find the key.
                serde_json::from_slice::<CargoFooter>(decoded.footer().unwrap_or_default())
                    .map_err(|e| crashed(format!("footer: {e}")))?;
                if verifies() {
                    serde_json::from_slice::<CargoMessage>(decoded.payload())
                        .map_err(|e| crashed(format!("payload: {e}")))?;
                }
                Ok(())
            }
            Bug::HighSServerError => {
                let high_s =
                    paseto::signature_s(decoded.signature()).ok() == Some(SignatureS::HighS);
                if high_s && verifies() {
                    Err(crashed("ECDSA verification: s is not normalized (high-S)"))
                } else {
                    Ok(())
                }
            }
            Bug::IatFormatServerError => match serde_json::from_slice::<Value>(decoded.payload()) {
                Ok(Value::Object(claims)) if verifies() => {
                    cargo_iat(claims.get("iat").and_then(Value::as_str))
                        .map(drop)
                        .map_err(|e| crashed(format!("iat: {e}")))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Whether the token's signature verifies under the key its footer's `kip` names.
    fn signature_verifies(&self, token: &str, decoded: &Decoded) -> bool {
        let kip = decoded
            .footer()
            .and_then(|f| serde_json::from_slice::<Value>(f).ok())
            .and_then(|f| f.get("kip").and_then(Value::as_str).map(str::to_string));
        let Some(record) = kip.and_then(|kip| self.verifier.keys().get(&kip)) else {
            return false;
        };
        paseto::verify_signature(self.verifier.backend(), &record.key, token, decoded, b"").is_ok()
    }

    /// Accepts a token the verifier refused, acting for the footer's (unverified) `kip`.
    fn accept_unverified(
        &self,
        token_says: &Unverified,
        rejection: Rejection,
    ) -> Result<Accepted, Rejection> {
        let kip = token_says.footer("kip").ok_or(rejection)?;
        Ok(Accepted {
            actor: self.actor(kip),
            verified: None,
        })
    }
}

/// The request's operation with the field `bug` skips taken from the token's claims
/// (`None`: the claim cannot describe an operation, e.g. an unknown `mutation`).
fn as_claimed(bug: Bug, operation: &Operation, token_says: &Unverified) -> Option<Operation> {
    let mut claimed = operation.clone();
    let claim = |key| token_says.claim(key).map(str::to_string);
    match (bug, &mut claimed) {
        (Bug::SkipMutationCheck, _) => {
            // The request's fields where it has them, the token's where it does not.
            let field = |ours: Option<&str>, key| {
                ours.map(str::to_string)
                    .or_else(|| claim(key))
                    .unwrap_or_default()
            };
            let known = |key: &str| {
                Some(match key {
                    "name" => field(operation.name(), "name"),
                    "vers" => field(operation.vers(), "vers"),
                    _ => field(operation.cksum(), "cksum"),
                })
            };
            return match token_says.claims.get("mutation") {
                None => Some(Operation::Read),
                Some(Value::String(m)) if m != "read" => Operation::from_fields(Some(m), known),
                Some(_) => None,
            };
        }
        (
            Bug::SkipNameCheck,
            Operation::Publish { name, .. }
            | Operation::Yank { name, .. }
            | Operation::Unyank { name, .. }
            | Operation::Owners { name },
        ) => *name = claim("name")?,
        (
            Bug::SkipVersCheck,
            Operation::Publish { vers, .. }
            | Operation::Yank { vers, .. }
            | Operation::Unyank { vers, .. },
        ) => *vers = claim("vers")?,
        (Bug::SkipCksumCheck, Operation::Publish { cksum, .. }) => *cksum = claim("cksum")?,
        _ => return None,
    }
    Some(claimed)
}

fn crashed(what: impl std::fmt::Display) -> Denied {
    Denied::Crashed(format!(
        "called `Result::unwrap()` on an `Err` value: {what}"
    ))
}

/// `CargoBytesOnly`: the payload and the footer must be byte for byte what Cargo's
/// `serde_json::to_string` makes of the claims and footer they hold.
fn cargo_bytes(decoded: &Decoded) -> Result<(), Rejection> {
    let payload = decoded.payload();
    let payload_ok =
        serde_json::from_slice::<Claims>(payload).is_ok_and(|c| c.to_json().as_bytes() == payload);
    let footer_ok = decoded.footer().is_none_or(|footer| {
        serde_json::from_slice::<Footer>(footer).is_ok_and(|f| f.to_json().as_bytes() == footer)
    });
    let what = match (payload_ok, footer_ok) {
        (true, true) => return Ok(()),
        (false, _) => "payload",
        (true, false) => "footer",
    };
    Err(Rejection::new(
        RejectionKind::PayloadInvalid,
        format!("the {what} is not the exact bytes Cargo would send"),
    ))
}

/// `StrictSerdeServerError`: Cargo's `Message` with `deny_unknown_fields`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "only deserialized, as the buggy registry would")]
struct CargoMessage {
    iat: String,
    sub: Option<String>,
    mutation: Option<String>,
    name: Option<String>,
    vers: Option<String>,
    cksum: Option<String>,
    challenge: Option<String>,
    v: Option<u8>,
}

/// `StrictSerdeServerError`: Cargo's `Footer` with `deny_unknown_fields`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "only deserialized, as the buggy registry would")]
struct CargoFooter {
    url: String,
    kip: String,
}

/// `IatFormatServerError`: `iat` in the one format Cargo writes, `YYYY-MM-DDTHH:MM:SS[.f]Z`.
fn cargo_iat(iat: Option<&str>) -> Result<OffsetDateTime, String> {
    let iat = iat.ok_or("no string `iat`")?;
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]Z"
    );
    PrimitiveDateTime::parse(iat, format)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|e| format!("{iat:?}: {e}"))
}
