//! The payload checks: claim types, freshness, subject, challenge and request binding.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::policy::{Policy, Tolerance};
use crate::json::{self, JsonError};
use crate::rejection::{Rejection, RejectionKind};
use crate::token::{Claims, Operation, iat};

fn reject(kind: RejectionKind, message: impl Into<String>) -> Rejection {
    Rejection::new(kind, message)
}

/// Maps a JSON failure in `part` ("payload" or "footer") to its rejection kind.
pub(super) fn json_rejection(part: &str, error: JsonError, otherwise: RejectionKind) -> Rejection {
    let kind = match error {
        JsonError::DuplicateKey { .. } => RejectionKind::DuplicateKey,
        JsonError::TooDeep { .. } => RejectionKind::NestingTooDeep,
        _ => otherwise,
    };
    reject(kind, format!("{part}: {error}"))
}

/// Takes the string claim `name` out of `map`.
fn take_string(map: &mut Map<String, Value>, name: &str) -> Result<Option<String>, Rejection> {
    match map.remove(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(reject(
            RejectionKind::PayloadInvalid,
            format!(
                "claim `{name}` must be a string, found {}",
                json::type_name(&other)
            ),
        )),
    }
}

/// Parses the payload into typed claims, refusing wrong types and (per policy) unknown claims.
pub(super) fn parse(payload: &[u8], policy: &Policy) -> Result<Claims, Rejection> {
    let mut map = json::parse_object(payload, policy.max_json_depth)
        .map_err(|e| json_rejection("payload", e, RejectionKind::PayloadInvalid))?;
    let v = match map.remove("v") {
        None => None,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Some(1),
        Some(other) => {
            return Err(reject(
                RejectionKind::UnsupportedV,
                format!("expected `v` absent or the integer 1, found {other}"),
            ));
        }
    };
    let iat = match map.remove("iat") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(reject(
                RejectionKind::InvalidIat,
                format!(
                    "expected `iat` as an RFC 3339 string, found {} ({other})",
                    json::type_name(&other)
                ),
            ));
        }
        None => {
            return Err(reject(
                RejectionKind::MissingClaim,
                "the token has no `iat`",
            ));
        }
    };
    let claims = Claims {
        iat,
        sub: take_string(&mut map, "sub")?,
        mutation: take_string(&mut map, "mutation")?,
        name: take_string(&mut map, "name")?,
        vers: take_string(&mut map, "vers")?,
        cksum: take_string(&mut map, "cksum")?,
        challenge: take_string(&mut map, "challenge")?,
        v,
        extra: map,
    };
    if policy.unknown_claims == Tolerance::Reject
        && let Some(name) = claims.extra.keys().next()
    {
        return Err(reject(
            RejectionKind::UnexpectedClaim,
            format!(
                "claim `{name}` is not one Cargo defines, and the policy refuses unknown claims"
            ),
        ));
    }
    Ok(claims)
}

/// Checks `iat` against `now` and returns it parsed.
pub(super) fn check_freshness(
    claims: &Claims,
    now: OffsetDateTime,
    policy: &Policy,
) -> Result<OffsetDateTime, Rejection> {
    let issued = iat::parse(&claims.iat, policy.iat_syntax)
        .map_err(|e| reject(RejectionKind::InvalidIat, e.to_string()))?;
    let age = now - issued;
    if age > policy.max_age {
        return Err(reject(
            RejectionKind::Expired,
            format!(
                "issued at {}, {} before now ({}); the window is {} s",
                claims.iat,
                human(age),
                iat::format(now),
                policy.max_age.as_secs()
            ),
        ));
    }
    if -age > policy.max_future_skew {
        return Err(reject(
            RejectionKind::IssuedInFuture,
            format!(
                "issued at {}, {} after now ({}); the allowed skew is {} s",
                claims.iat,
                human(-age),
                iat::format(now),
                policy.max_future_skew.as_secs()
            ),
        ));
    }
    Ok(issued)
}

fn human(d: time::Duration) -> String {
    let ns = d.subsec_nanoseconds();
    if ns == 0 {
        format!("{} s", d.whole_seconds())
    } else {
        format!("{}.{:09} s", d.whole_seconds(), ns.unsigned_abs())
            .trim_end_matches('0')
            .to_string()
    }
}

/// RFC 3231: `sub` is claimed with every request when the key has a subject on file.
pub(super) fn check_subject(
    claims: &Claims,
    on_file: Option<&str>,
    policy: &Policy,
) -> Result<(), Rejection> {
    match (on_file, claims.sub.as_deref()) {
        (Some(expected), Some(found)) if expected == found => Ok(()),
        (Some(expected), Some(found)) => Err(reject(
            RejectionKind::SubjectMismatch,
            format!("expected `sub` {expected:?} (on file for this key), found {found:?}"),
        )),
        (Some(expected), None) => Err(reject(
            RejectionKind::MissingClaim,
            format!("the key has subject {expected:?} on file, and the token has no `sub`"),
        )),
        (None, Some(found)) if policy.subject_without_record == Tolerance::Reject => Err(reject(
            RejectionKind::SubjectMismatch,
            format!("the key has no subject on file, and the token claims `sub` {found:?}"),
        )),
        (None, _) => Ok(()),
    }
}

/// RFC 3231 R6 (docs/rfc3231-rules.md): a challenge must be the one issued; none may be sent when none was issued.
pub(super) fn check_challenge(claims: &Claims, issued: Option<&str>) -> Result<(), Rejection> {
    match (issued, claims.challenge.as_deref()) {
        (None, None) => Ok(()),
        (None, Some(found)) => Err(reject(
            RejectionKind::UnexpectedChallenge,
            format!("no challenge was issued, and the token answers {found:?}"),
        )),
        (Some(expected), None) => Err(reject(
            RejectionKind::MissingClaim,
            format!("challenge {expected:?} was issued, and the token has no `challenge`"),
        )),
        (Some(expected), Some(found)) if expected == found => Ok(()),
        (Some(expected), Some(found)) => Err(reject(
            RejectionKind::ChallengeMismatch,
            format!("expected challenge {expected:?}, found {found:?}"),
        )),
    }
}

/// Binds the claims to the request: `mutation`, then `name`, `vers`, `cksum`.
pub(super) fn check_binding(
    claims: &Claims,
    operation: &Operation,
    policy: &Policy,
) -> Result<(), Rejection> {
    let op = operation.kind().as_str();
    match (operation.mutation(), claims.mutation.as_deref()) {
        (None, None) => {}
        (Some(expected), Some(found)) if expected.as_str() == found => {}
        (None, Some(found)) => {
            return Err(reject(
                RejectionKind::MutationMismatch,
                format!("a read must carry no `mutation`, found {found:?}"),
            ));
        }
        (Some(expected), found) => {
            return Err(reject(
                RejectionKind::MutationMismatch,
                format!(
                    "expected `mutation` {:?} for a {op} request, found {}",
                    expected.as_str(),
                    found.map_or("none (a read token)".to_string(), |f| format!("{f:?}"))
                ),
            ));
        }
    }
    let bound = [
        (
            "name",
            operation.name(),
            claims.name.as_deref(),
            RejectionKind::NameMismatch,
        ),
        (
            "vers",
            operation.vers(),
            claims.vers.as_deref(),
            RejectionKind::VersMismatch,
        ),
        (
            "cksum",
            operation.cksum(),
            claims.cksum.as_deref(),
            RejectionKind::CksumMismatch,
        ),
    ];
    for (claim, expected, found, mismatch) in bound {
        match (expected, found) {
            (Some(e), Some(f)) if e == f => {}
            (Some(e), Some(f)) => {
                return Err(reject(
                    mismatch,
                    format!("expected `{claim}` {e:?}, found {f:?}"),
                ));
            }
            (Some(e), None) => {
                return Err(reject(
                    RejectionKind::MissingClaim,
                    format!("a {op} request needs `{claim}` {e:?}, and the token has none"),
                ));
            }
            (None, Some(f)) if policy.misplaced_binding_claims == Tolerance::Reject => {
                return Err(reject(
                    RejectionKind::UnexpectedClaim,
                    format!("a {op} token must not carry `{claim}`, found {f:?}"),
                ));
            }
            (None, _) => {}
        }
    }
    Ok(())
}
