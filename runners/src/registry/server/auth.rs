//! From an `Authorization` header to an acting key: [`admit`] (verify, single use, no
//! republish), the persisted replay guard, and the seeded bugs' deviations.
//!
//! Locking: reads and owners tokens are not single-use, so they are admitted against a
//! throw-away guard with no lock held: their verification (the expensive part) runs fully in
//! parallel. Publish, yank and unyank tokens are admitted under the replay-guard lock (a
//! check-then-record must be atomic), never under the database lock, which `version_exists`
//! and the persisting of the record take only briefly.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use credlab_suite::paseto;
use credlab_suite::registry::{ContentKey, ReplayGuard, admit, remember_until};
use credlab_suite::token::Operation;
use credlab_suite::verify::{KeyStore, Policy, Request, SignedContent, Verified, Verifier};
use credlab_suite::{Rejection, RejectionKind};
use serde_json::Value;
use time::OffsetDateTime;

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
    since_prune: usize,
}

/// What a token was accepted with.
struct Accepted {
    actor: Actor,
    /// `None` when a seeded bug accepted a token the verifier refused.
    verified: Option<Verified>,
}

pub struct Auth {
    index_url: String,
    verifier: Verifier,
    /// `SkipExpiry`/`SkipFutureCheck`: the same verifier with that window opened wide.
    lenient: Option<Verifier>,
    bug: Option<Bug>,
    state: Mutex<GuardState>,
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
    pub fn new(
        index_url: String,
        keys: KeyStore,
        policy: Policy,
        bug: Option<Bug>,
        store: &Store,
        now: OffsetDateTime,
    ) -> Result<Self, super::store::StoreError> {
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
        Ok(Self {
            index_url,
            verifier,
            lenient,
            bug,
            state: Mutex::new(GuardState {
                guard,
                token_strings: HashSet::new(),
                since_prune: 0,
            }),
        })
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
    ) -> Result<Actor, Rejection> {
        let exists = |name: &str, vers: &str| {
            self.bug != Some(Bug::AllowRepublish)
                && store
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .version_exists(name, vers)
                    // A failing database must not let a republish through; the insert,
                    // in a transaction, would refuse it anyway.
                    .unwrap_or(true)
        };
        let single_use = ReplayGuard::is_single_use(operation);
        if !single_use || self.bug == Some(Bug::NoReplayGuard) {
            let mut scratch = ReplayGuard::new();
            return self
                .admit(&mut scratch, token, operation, now, &exists)
                .map(|a| a.actor);
        }
        let mut state = self.lock();
        if self.bug == Some(Bug::ReplayGuardByTokenString) {
            if state.token_strings.contains(token) {
                return Err(Rejection::new(
                    RejectionKind::Replayed,
                    "this token string was already accepted",
                ));
            }
            let accepted = self.admit(&mut ReplayGuard::new(), token, operation, now, &exists)?;
            state.token_strings.insert(token.to_string());
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

    /// [`admit`], then the seeded bug's deviation if the refusal is the check it skips.
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
            admit(verifier, guard, token, &request, now, |_, _| {
                exists(name, vers)
            })
            .map(|v| Accepted {
                actor: self.actor(&v.footer.kip),
                verified: Some(v),
            })
        };
        let request = Request::new(&self.index_url, operation.clone());
        let rejection = match run(&self.verifier, guard, request) {
            Ok(accepted) => return Ok(accepted),
            Err(rejection) => rejection,
        };
        let Some(bug) = self.bug.filter(|b| b.skipped() == Some(rejection.kind)) else {
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
                let request = Request::new(&self.index_url, operation.clone());
                run(lenient, guard, request)
            }
            Bug::SkipMutationCheck
            | Bug::SkipNameCheck
            | Bug::SkipVersCheck
            | Bug::SkipCksumCheck => match as_claimed(bug, operation, &token_says) {
                Some(claimed) => run(
                    &self.verifier,
                    guard,
                    Request::new(&self.index_url, claimed),
                ),
                None => self.accept_unverified(&token_says, rejection),
            },
            _ => self.accept_unverified(&token_says, rejection),
        }
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
            let name = field(operation.name(), "name");
            let vers = field(operation.vers(), "vers");
            let cksum = field(operation.cksum(), "cksum");
            return Some(match token_says.claims.get("mutation") {
                None => Operation::Read,
                Some(Value::String(m)) => match m.as_str() {
                    "publish" => Operation::Publish { name, vers, cksum },
                    "yank" => Operation::Yank { name, vers },
                    "unyank" => Operation::Unyank { name, vers },
                    "owners" => Operation::Owners { name },
                    _ => return None,
                },
                Some(_) => return None,
            });
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
