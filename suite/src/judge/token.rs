//! Judging token cases: the reference evaluation (credlab's verifier plus the registry
//! rules) and the comparison of any verifier's answer with a case's expectation.

use time::OffsetDateTime;

use super::Outcome;
use crate::backend::Backend;
use crate::cases::token::{PolicyKnob, TokenCase, TokenExpect, TokenInput};
use crate::keys::PublicKey;
use crate::paseto;
use crate::registry::{self, ContentKey, ReplayGuard};
use crate::rejection::{Rejection, RejectionKind};
use crate::token::iat;
use crate::verify::{
    HighS, IatSyntax, KeyIdField, KeyStore, Policy, Request, SignedContent, Tolerance, Verified,
    Verifier,
};

/// Evaluates a token case with credlab's reference verifier and registry rules.
pub fn evaluate(
    input: &TokenInput,
    clock: OffsetDateTime,
    policy: &Policy,
    backend: Backend,
) -> Result<Verified, Rejection> {
    let mut keys = KeyStore::new();
    for key in &input.registry.keys {
        let public = PublicKey::from_paserk(&key.public).map_err(|e| {
            Rejection::new(
                RejectionKind::InvalidPublicKey,
                format!("enrolling {}: {e}", key.public),
            )
        })?;
        keys.insert(public, key.subject.clone());
    }
    let verifier = Verifier::new(keys)
        .with_policy(policy.clone())
        .with_backend(backend);
    let mut guard = ReplayGuard::new();
    for earlier in &input.accepted_before {
        // Accepted earlier: the registry remembers what was signed, whatever the signature.
        let (payload, footer) = paseto::decode(earlier)
            .map_err(|e| Rejection::new(e.kind, format!("accepted_before: {}", e.message)))?
            .into_parts();
        let content = SignedContent {
            payload,
            footer: footer.unwrap_or_default(),
        };
        guard.record(
            ContentKey::of(&content),
            registry::remember_until(clock, policy.max_age),
        );
    }
    let request = Request {
        index_url: input.registry.index_url.clone(),
        operation: input.request.clone(),
        challenge: input.issued_challenge.clone(),
    };
    registry::admit(
        &verifier,
        &mut guard,
        &input.token,
        &request,
        clock,
        |name, vers| {
            input
                .registry
                .published
                .iter()
                .any(|v| v.name == name && v.vers == vers)
        },
    )
}

/// Parses a case clock (RFC 3339 as PASETO reads it).
pub fn clock(text: &str) -> Result<OffsetDateTime, iat::IatError> {
    iat::parse(text, IatSyntax::Strict)
}

/// Compares a verifier's answer with the expectation. `answer` is `Ok` for accepted, or the
/// rejection kind the verifier reported.
pub fn judge(expect: &TokenExpect, answer: Result<(), RejectionKind>) -> Outcome {
    match (expect, answer) {
        (TokenExpect::Valid, Ok(())) => Outcome::Pass,
        (TokenExpect::Valid, Err(kind)) => Outcome::fail("accepted", format!("rejected: {kind}")),
        (TokenExpect::Invalid { rejection }, Err(kind)) if kind == *rejection => Outcome::Pass,
        (TokenExpect::Invalid { rejection }, Err(kind)) => Outcome::fail(
            format!("rejected: {rejection}"),
            format!("rejected: {kind}"),
        ),
        (TokenExpect::Invalid { rejection }, Ok(())) => {
            Outcome::fail(format!("rejected: {rejection}"), "accepted")
        }
        (TokenExpect::Acceptable { .. }, Ok(())) => Outcome::Pass,
        (TokenExpect::Acceptable { rejection, policy }, Err(kind)) if kind == *rejection => {
            Outcome::PassNonStrict {
                note: format!("rejected ({kind}); acceptable under the {policy:?} policy choice"),
            }
        }
        (TokenExpect::Acceptable { rejection, .. }, Err(kind)) => Outcome::fail(
            format!("accepted, or rejected: {rejection}"),
            format!("rejected: {kind}"),
        ),
    }
}

/// The reference verifier's answer to `case` at the case's clock: `Ok` for accepted, else the
/// rejection kind. `Err` when the case has no clock or its clock does not parse (the case is
/// broken, not the verifier).
pub fn reference_answer(
    case: &TokenCase,
    policy: &Policy,
    backend: Backend,
) -> Result<Result<(), RejectionKind>, String> {
    let text = case.clock.as_deref().ok_or("the case has no clock")?;
    let now = clock(text).map_err(|e| format!("the case's clock {text:?}: {e}"))?;
    Ok(evaluate(&case.input, now, policy, backend)
        .map(|_| ())
        .map_err(|r| r.kind))
}

/// The verdict on `case` against the reference verifier (the built-in verifier target).
pub fn judge_reference(case: &TokenCase, policy: &Policy, backend: Backend) -> Outcome {
    match reference_answer(case, policy, backend) {
        Ok(answer) => judge(&case.expect, answer),
        Err(message) => Outcome::Error { message },
    }
}

/// serde_json's default recursion limit: the JSON depth at which Cargo's test registry
/// (`check_authorized`, serde derive) and pasetors' `Footer` stop. The other setting of the
/// [`PolicyKnob::JsonDepth`] knob.
pub const SERDE_JSON_DEPTH: usize = 128;

/// The two settings of a policy knob: (the reference default, the other choice). `None` for
/// the other choice where the reference verifier has no such setting (URL normalisation:
/// credlab compares URLs byte for byte only).
pub fn policy_variants(knob: PolicyKnob) -> (Policy, Option<Policy>) {
    let base = Policy::default();
    let other = match knob {
        PolicyKnob::HighS => Some(Policy {
            high_s: HighS::Reject,
            ..base.clone()
        }),
        PolicyKnob::IatSyntax => Some(Policy {
            iat_syntax: IatSyntax::Lenient,
            ..base.clone()
        }),
        PolicyKnob::UnknownClaims => Some(Policy {
            unknown_claims: Tolerance::Reject,
            ..base.clone()
        }),
        PolicyKnob::SubjectWithoutRecord => Some(Policy {
            subject_without_record: Tolerance::Accept,
            ..base.clone()
        }),
        PolicyKnob::KeyIdField => Some(Policy {
            key_id_field: KeyIdField::KipOrKid,
            ..base.clone()
        }),
        PolicyKnob::UrlNormalization => None,
        PolicyKnob::JsonDepth => Some(Policy {
            max_json_depth: SERDE_JSON_DEPTH,
            ..base.clone()
        }),
    };
    (base, other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judge_table() {
        use RejectionKind::{BadSignature, HighSSignature};
        let invalid = TokenExpect::Invalid {
            rejection: BadSignature,
        };
        assert_eq!(judge(&invalid, Err(BadSignature)), Outcome::Pass);
        assert!(matches!(judge(&invalid, Ok(())), Outcome::Fail { .. }));
        assert!(matches!(
            judge(&invalid, Err(HighSSignature)),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            judge(&TokenExpect::Valid, Err(BadSignature)),
            Outcome::Fail { .. }
        ));
        let acceptable = TokenExpect::Acceptable {
            rejection: HighSSignature,
            policy: PolicyKnob::HighS,
        };
        assert_eq!(judge(&acceptable, Ok(())), Outcome::Pass);
        assert!(matches!(
            judge(&acceptable, Err(HighSSignature)),
            Outcome::PassNonStrict { .. }
        ));
        assert!(matches!(
            judge(&acceptable, Err(BadSignature)),
            Outcome::Fail { .. }
        ));
    }
}
