//! Judging a registry over HTTP. The runner records what it sent and what came back (an
//! [`HttpAnswer`], the state before and after, which earlier uses were refused); these judges
//! decide every verdict from that record.
//!
//! - A token case ([`token`]): accepted (2xx) or refused (401/403 with Cargo's error JSON),
//!   never a server error, and a refused request leaves no trace. The expectation judged is the
//!   case's over HTTP ([`Case::over_http`]): a Cargo-shaped token is must-accept there,
//!   whatever the offline knob says.
//! - An authentication case ([`auth`]): the sparse-index protocol's own checks.
//!
//! [`Case::over_http`]: crate::cases::Case::over_http

pub mod auth;
pub mod token;

use serde_json::Value;

use super::Outcome;
use crate::cases::token::TokenExpect;
use crate::rejection::RejectionKind;

/// What the registry answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: body.into(),
        }
    }
}

/// What a refused request did to the registry's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace {
    /// The state the request would change is as it was.
    None,
    /// It changed (the words say how).
    Left(String),
    /// Nothing to compare (reads, owner lists).
    NotChecked,
}

/// Whether the body is Cargo's error format, `{"errors":[{"detail":"…"}]}`
/// (registry-web-api.md: Cargo shows the detail to the user).
pub fn has_error_json(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).ok().is_some_and(|v| {
        v.get("errors")
            .and_then(Value::as_array)
            .is_some_and(|errors| {
                !errors.is_empty()
                    && errors
                        .iter()
                        .all(|e| e.get("detail").is_some_and(Value::is_string))
            })
    })
}

/// A skip when `answer` says the endpoint itself is missing: 405 Method Not Allowed or 501
/// Not Implemented (RFC 9110 §15.5.6, §15.6.2). The registry does not offer the operation
/// (cargo-http-registry has no yank or owners), so a case about the token for it has nothing
/// to judge; the user sees the reason instead of a failure per token. 404 is not among them:
/// registries answer it to hide a crate from a token that may not see it.
pub fn not_implemented(answer: &HttpAnswer) -> Option<Outcome> {
    matches!(answer.status, 405 | 501).then(|| Outcome::Skip {
        reason: format!(
            "the registry does not implement the endpoint (HTTP {})",
            answer.status
        ),
    })
}

pub(crate) fn show(answer: &HttpAnswer) -> String {
    let body = String::from_utf8_lossy(&answer.body[..answer.body.len().min(200)]).into_owned();
    format!("HTTP {} {body:?}", answer.status)
}

/// The note of a refusal whose status is right and whose body is not Cargo's error JSON: the
/// registry web API says errors *should* be `{"errors":[{"detail":…}]}` (Cargo shows the
/// detail; without it Cargo shows the raw body), so the case's requirement, a refusal, holds
/// and the missing format is a non-strict pass, not a failure at the case's level.
pub const NOT_ERROR_JSON: &str =
    "refused, but the body is not Cargo's {\"errors\":[{\"detail\":…}]} (should)";

/// The note of a token refused with another 4xx than 401/403: the registry web API says a
/// registry *should* answer 403 to a token that is not valid, and Cargo's client shows every
/// non-2xx answer of the web API the same way (crates-io 0.41.0, src/lib.rs:436-463: the
/// detail of the error JSON, or the raw body), so the case's requirement, a refusal, holds.
pub(crate) fn other_refusal_status(status: u16) -> String {
    format!(
        "refused with HTTP {status}, not 401/403 (should: registry-web-api.md asks for 403 to a \
         token that is not valid)"
    )
}

/// Whether the answer refuses as `rejection` requires: `Ok(None)` in full, `Ok(Some(note))`
/// when it refuses but only as a should allows (another 4xx than 401/403 for a token, a body
/// that is not Cargo's error JSON).
fn refused(
    answer: &HttpAnswer,
    rejection: RejectionKind,
    trace: &Trace,
) -> Result<Option<String>, Outcome> {
    // Any 4xx refuses. A republish is refused for the registry's state, not for the token;
    // an oversized header may be refused by the HTTP layer (413, 431) before any JSON, and a
    // token nested past the registry's JSON depth limit by its JSON layer (often a bare 400).
    // For every other rejection 401/403 is what the web API asks for, a should.
    if !(400..500).contains(&answer.status) {
        let expected = match rejection {
            RejectionKind::VersionExists => {
                "a 4xx refusal of the republish, with {\"errors\":[{\"detail\":…}]}".to_string()
            }
            RejectionKind::TooLarge => "a 4xx refusal (413 or 431 are fine)".to_string(),
            RejectionKind::NestingTooDeep => {
                "a 4xx refusal (any 4xx is fine; never a 5xx)".to_string()
            }
            _ => format!(
                "a 4xx refusal, 401 or 403 with {{\"errors\":[{{\"detail\":…}}]}} (refused: \
                 {rejection})"
            ),
        };
        return Err(Outcome::fail(expected, show(answer)));
    }
    if let Trace::Left(how) = trace {
        return Err(Outcome::fail(
            "no trace of the refused request",
            how.clone(),
        ));
    }
    let any_4xx = matches!(
        rejection,
        RejectionKind::VersionExists | RejectionKind::TooLarge | RejectionKind::NestingTooDeep
    );
    let json_expected = !matches!(
        rejection,
        RejectionKind::TooLarge | RejectionKind::NestingTooDeep
    );
    let notes: Vec<String> = [
        (!any_4xx && !matches!(answer.status, 401 | 403))
            .then(|| other_refusal_status(answer.status)),
        (json_expected && !has_error_json(&answer.body)).then(|| NOT_ERROR_JSON.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok((!notes.is_empty()).then(|| notes.join("; ")))
}

/// Judges one answer against a token case's expectation.
pub fn judge(expect: &TokenExpect, answer: &HttpAnswer, trace: &Trace) -> Outcome {
    if answer.status >= 500 {
        return Outcome::fail(
            "a 2xx, or a 4xx refusal (401/403 should); never a server error",
            show(answer),
        );
    }
    let accepted = (200..300).contains(&answer.status);
    match expect {
        TokenExpect::Valid if accepted => Outcome::Pass,
        TokenExpect::Valid => Outcome::fail("accepted (2xx)", show(answer)),
        TokenExpect::Invalid { rejection } if accepted => Outcome::fail(
            format!("refused ({rejection})"),
            format!("accepted: {}", show(answer)),
        ),
        TokenExpect::Invalid { rejection } => match refused(answer, *rejection, trace) {
            Ok(None) => Outcome::Pass,
            Ok(Some(note)) => Outcome::PassNonStrict { note },
            Err(outcome) => outcome,
        },
        TokenExpect::Acceptable { .. } if accepted => Outcome::Pass,
        TokenExpect::Acceptable { rejection, policy } => match refused(answer, *rejection, trace) {
            Ok(format) => Outcome::PassNonStrict {
                note: format!(
                    "refused; acceptable under the {policy:?} policy choice{}",
                    format.map_or(String::new(), |n| format!("; {n}"))
                ),
            },
            Err(outcome) => outcome,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERR: &str = r#"{"errors":[{"detail":"expired"}]}"#;

    #[test]
    fn table() {
        let invalid = TokenExpect::Invalid {
            rejection: RejectionKind::Expired,
        };
        assert_eq!(
            judge(&invalid, &HttpAnswer::new(401, ERR), &Trace::None),
            Outcome::Pass
        );
        assert_eq!(
            judge(&invalid, &HttpAnswer::new(403, ERR), &Trace::NotChecked),
            Outcome::Pass
        );
        // Another 4xx refuses too: 403 is a should of the web API.
        assert_eq!(
            judge(&invalid, &HttpAnswer::new(400, ERR), &Trace::None),
            Outcome::PassNonStrict {
                note: other_refusal_status(400)
            }
        );
        assert_eq!(
            judge(&invalid, &HttpAnswer::new(404, "gone"), &Trace::None),
            Outcome::PassNonStrict {
                note: format!("{}; {NOT_ERROR_JSON}", other_refusal_status(404))
            }
        );
        for status in [301, 302, 100] {
            assert!(
                matches!(
                    judge(&invalid, &HttpAnswer::new(status, ERR), &Trace::None),
                    Outcome::Fail { .. }
                ),
                "{status}"
            );
        }
        // A refusal without Cargo's error JSON is a refusal: the format is a should.
        assert_eq!(
            judge(&invalid, &HttpAnswer::new(401, "no"), &Trace::None),
            Outcome::PassNonStrict {
                note: NOT_ERROR_JSON.into()
            }
        );
        assert!(matches!(
            judge(&invalid, &HttpAnswer::new(200, "{}"), &Trace::None),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            judge(&invalid, &HttpAnswer::new(500, ERR), &Trace::None),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            judge(
                &invalid,
                &HttpAnswer::new(401, ERR),
                &Trace::Left("published".into())
            ),
            Outcome::Fail { .. }
        ));
        let republish = TokenExpect::Invalid {
            rejection: RejectionKind::VersionExists,
        };
        assert_eq!(
            judge(&republish, &HttpAnswer::new(409, ERR), &Trace::None),
            Outcome::Pass
        );
        assert_eq!(
            judge(
                &TokenExpect::Valid,
                &HttpAnswer::new(200, "{}"),
                &Trace::NotChecked
            ),
            Outcome::Pass
        );
        assert!(matches!(
            judge(
                &TokenExpect::Valid,
                &HttpAnswer::new(401, ERR),
                &Trace::NotChecked
            ),
            Outcome::Fail { .. }
        ));
    }

    #[test]
    fn deep_nesting_any_4xx_never_5xx() {
        let deep = TokenExpect::Acceptable {
            rejection: RejectionKind::NestingTooDeep,
            policy: crate::cases::token::PolicyKnob::JsonDepth,
        };
        assert_eq!(
            judge(&deep, &HttpAnswer::new(200, "{}"), &Trace::None),
            Outcome::Pass
        );
        for status in [400, 401, 403, 413, 422] {
            assert!(
                matches!(
                    judge(&deep, &HttpAnswer::new(status, "bad json"), &Trace::None),
                    Outcome::PassNonStrict { .. }
                ),
                "{status}"
            );
        }
        for status in [500, 502] {
            assert!(matches!(
                judge(&deep, &HttpAnswer::new(status, ERR), &Trace::None),
                Outcome::Fail { .. }
            ));
        }
    }
}
