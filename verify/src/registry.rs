//! Registry rules beyond a single token: mutation tokens are single-use, and a version is
//! published once. The reference registry and the token-vector judge share these, so a
//! vector means the same thing offline and over HTTP.

use std::collections::HashMap;
use std::time::Duration;

use sha2::Digest;
use time::OffsetDateTime;

use crate::cache::ReadCache;
use crate::paseto::pae;
use crate::rejection::{Rejection, RejectionKind};
use crate::token::{Operation, OperationKind};
use crate::verify::{Request, SignedContent, Verified, Verifier};

/// The identity of a token for replay purposes: SHA-256 over `PAE([payload, footer])`.
///
/// Not the token string: ECDSA signatures are malleable (`s` and `n - s` both verify), so a
/// cache keyed on the string lets an attacker replay a token by flipping its `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentKey([u8; 32]);

impl ContentKey {
    pub fn of(content: &SignedContent) -> Self {
        Self(sha2::Sha256::digest(pae(&[&content.payload, &content.footer])).into())
    }
}

/// Remembers accepted publish, yank and unyank tokens until they expire.
///
/// Cargo builds a fresh token for every publish, yank and unyank command, so refusing a second
/// use costs real users nothing. Read tokens (cached for a whole Cargo session) and owners
/// tokens (one per `cargo owner` command, sent on GET, PUT and DELETE) must stay reusable
/// inside the freshness window (RFC 3231, "A read token can be used for multiple requests"; docs/observed.md §2).
#[derive(Debug, Clone, Default)]
pub struct ReplayGuard {
    until: HashMap<ContentKey, OffsetDateTime>,
}

impl ReplayGuard {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `operation` may use a token only once.
    pub fn is_single_use(operation: &Operation) -> bool {
        matches!(
            operation.kind(),
            OperationKind::Publish | OperationKind::Yank | OperationKind::Unyank
        )
    }

    /// Refuses a single-use token seen before.
    pub fn check(&self, key: ContentKey, operation: &Operation) -> Result<(), Rejection> {
        if Self::is_single_use(operation) && self.until.contains_key(&key) {
            return Err(Rejection::new(
                RejectionKind::Replayed,
                format!(
                    "this {} token was already accepted (same signed payload and footer); \
                     Cargo sends a fresh token for every {}",
                    operation.kind().as_str(),
                    operation.kind().as_str()
                ),
            ));
        }
        Ok(())
    }

    /// Remembers an accepted token until `until` (after which it is expired anyway).
    pub fn record(&mut self, key: ContentKey, until: OffsetDateTime) {
        self.until.insert(key, until);
    }

    /// Forgets tokens that can no longer verify, bounding memory to one freshness window.
    pub fn prune(&mut self, now: OffsetDateTime) {
        self.until.retain(|_, until| *until >= now);
    }

    pub fn len(&self) -> usize {
        self.until.len()
    }

    pub fn is_empty(&self) -> bool {
        self.until.is_empty()
    }
}

/// How long a token accepted at `issued_at` stays worth remembering.
pub fn remember_until(issued_at: OffsetDateTime, max_age: Duration) -> OffsetDateTime {
    // Saturating: an iat at the end of the time crate's range must not overflow (it is
    // remembered "forever", which is what such a token deserves).
    time::Duration::try_from(max_age)
        .ok()
        .and_then(|age| issued_at.checked_add(age))
        .unwrap_or(time::PrimitiveDateTime::MAX.assume_utc())
}

/// Verifies a token and applies the registry rules, in this order: the token itself (see
/// [`Verifier::verify`]), single use, then no republishing. On success the token is recorded.
pub fn admit(
    verifier: &Verifier,
    guard: &mut ReplayGuard,
    token: &str,
    request: &Request,
    now: OffsetDateTime,
    version_exists: impl FnOnce(&str, &str) -> bool,
) -> Result<Verified, Rejection> {
    let verified = verifier.verify(token, request, now)?;
    apply_rules(verified, verifier, guard, request, version_exists)
}

/// [`admit`] with read tokens verified through `cache` ([`ReadCache::verify`]: the same
/// verdict, the signature checked once per token). Every other operation is verified in full
/// and passes the replay guard exactly as in [`admit`]: mutation tokens stay single-use.
pub fn admit_cached(
    cache: &ReadCache,
    verifier: &Verifier,
    guard: &mut ReplayGuard,
    token: &str,
    request: &Request,
    now: OffsetDateTime,
    version_exists: impl FnOnce(&str, &str) -> bool,
) -> Result<Verified, Rejection> {
    let verified = cache.verify(verifier, token, request, now)?;
    apply_rules(verified, verifier, guard, request, version_exists)
}

/// The registry rules on a verified token: single use, then no republishing.
fn apply_rules(
    verified: Verified,
    verifier: &Verifier,
    guard: &mut ReplayGuard,
    request: &Request,
    version_exists: impl FnOnce(&str, &str) -> bool,
) -> Result<Verified, Rejection> {
    let key = ContentKey::of(&verified.signed);
    guard.check(key, &request.operation)?;
    if let Operation::Publish { name, vers, .. } = &request.operation
        && version_exists(name, vers)
    {
        return Err(Rejection::new(
            RejectionKind::VersionExists,
            format!("{name}@{vers} is already published"),
        ));
    }
    guard.record(
        key,
        remember_until(verified.issued_at, verifier.policy().max_age),
    );
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression (fuzz target `vector_file`, artifact crash-e3dd6532…): a vector clocked at
    // 9999-12-31 made the expiry of its replay records overflow.
    #[test]
    fn remember_until_saturates_at_the_end_of_time() {
        let end = time::PrimitiveDateTime::MAX.assume_utc();
        assert_eq!(remember_until(end, Duration::from_secs(900)), end);
        assert_eq!(remember_until(end, Duration::MAX), end);
        let iat = time::macros::datetime!(2026-01-01 0:00 UTC);
        assert_eq!(
            remember_until(iat, Duration::from_secs(900)),
            time::macros::datetime!(2026-01-01 0:15 UTC)
        );
    }
}
