//! A token case over HTTP: whether it applies to a live registry, and its verdict from what the
//! runner recorded (the setup, the earlier uses of a replayed token, the case's own answer and
//! the trace a refused request left).

use super::{HttpAnswer, Trace, judge};
use crate::cases::Flag;
use crate::cases::token::{RegisteredKey, TokenCase, TokenExpect};
use crate::judge::Outcome;
use crate::rejection::RejectionKind;
use crate::token::{Operation, is_header_value};

/// What a live registry offers, as far as token cases care.
#[derive(Debug, Clone, Copy)]
pub struct LiveRegistry<'a> {
    /// The index URL credlab was given.
    pub index_url: &'a str,
    /// The keys enrolled for credlab (one: credlab's own).
    pub keys: &'a [RegisteredKey],
    /// `config.json` says `auth-required` (reads carry tokens).
    pub auth_required: bool,
    /// `config.json` named an `api` (mutations can be sent).
    pub api: bool,
    /// The index is a git one: Cargo sends no read token to it (git carries none).
    pub git_index: bool,
}

/// Why `case` cannot run against `live`, if it cannot. Offline-only cases (other keys, other
/// URLs, timing finer than a round trip) and cases the registry gives no way to send are
/// skipped with the reason, never judged.
pub fn inapplicable(case: &TokenCase, live: &LiveRegistry) -> Option<String> {
    let input = &case.input;
    if input.registry.keys.as_slice() != live.keys {
        return Some(if input.registry.keys.len() > 1 {
            "needs a second enrolled key (offline only)".into()
        } else {
            "needs a registered key other than credlab's (offline only)".into()
        });
    }
    if input.registry.index_url != live.index_url {
        return Some("made for another index URL (offline only)".into());
    }
    if input.issued_challenge.is_some() {
        return Some(
            "needs a registry that issues challenges (Cargo cannot answer them yet)".into(),
        );
    }
    if case.has_flag(Flag::Boundary) {
        return Some("a timing boundary finer than an HTTP round trip (offline only)".into());
    }
    if input.request == Operation::Read && live.git_index {
        return Some(super::auth::GIT_INDEX_READ.into());
    }
    if input.request == Operation::Read && !live.auth_required {
        return Some(
            "reads are not authenticated on this registry (auth-required is false)".into(),
        );
    }
    if input.request != Operation::Read && !live.api {
        return Some(
            "config.json gave no `api` (the registry refused credlab's read token)".into(),
        );
    }
    if !is_header_value(&input.token) {
        return Some("the token cannot travel in an HTTP header (control characters)".into());
    }
    None
}

/// What the runner saw of one token case, up to the point it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenExchange {
    /// A version the case needs (`registry.published`) could not be published.
    SetupRefused { status: u16 },
    /// An earlier use of the token (`accepted_before`, numbered from 1) was refused, so the
    /// case's own request was never sent.
    EarlierRefused { number: usize, answer: HttpAnswer },
    /// The case's token was sent: the answer, and what a refusal left behind.
    Sent { answer: HttpAnswer, trace: Trace },
}

/// The verdict on a token case from what the runner recorded.
pub fn judge_token(case: &TokenCase, exchange: &TokenExchange) -> Outcome {
    // Over HTTP a Cargo-shaped token is must-accept whatever its offline knob (interop with
    // real Cargo decides); other cases keep their own expectation.
    let (_, expect) = case.over_http();
    let answered = match exchange {
        TokenExchange::EarlierRefused { answer, .. } | TokenExchange::Sent { answer, .. } => {
            Some(answer)
        }
        TokenExchange::SetupRefused { .. } => None,
    };
    if let Some(skip) = answered.and_then(super::not_implemented) {
        return skip;
    }
    match exchange {
        TokenExchange::SetupRefused { status } => Outcome::Skip {
            reason: format!("setup publish answered {status}"),
        },
        // When the case is about reuse being accepted, the earlier uses are the case; when it
        // is about a replay being refused, a refused first use leaves nothing to replay.
        TokenExchange::EarlierRefused { number, answer } => match expect {
            TokenExpect::Valid => Outcome::fail(
                format!("earlier use {number} accepted (2xx)"),
                format!("HTTP {}", answer.status),
            ),
            _ => Outcome::Skip {
                reason: format!(
                    "the earlier use of the token was refused ({})",
                    answer.status
                ),
            },
        },
        TokenExchange::Sent { answer, trace } => judge(
            &replay_tolerant(&expect, &case.input.request),
            answer,
            trace,
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::{Fixture, token_files};

    fn case(id: &str) -> TokenCase {
        token_files(&Fixture::offline())
            .into_iter()
            .flat_map(|f| f.cases)
            .find(|c| c.id.as_str() == id)
            .unwrap_or_else(|| panic!("no case {id}"))
    }

    const ERR: &str = r#"{"errors":[{"detail":"no"}]}"#;

    #[test]
    fn a_refused_earlier_use_fails_a_reuse_case_and_skips_a_replay_case() {
        let refused = TokenExchange::EarlierRefused {
            number: 1,
            answer: HttpAnswer::new(401, ERR),
        };
        let reuse = case("token::replayed::read-token-reused");
        assert_eq!(reuse.over_http().1, TokenExpect::Valid);
        assert_eq!(
            judge_token(&reuse, &refused),
            Outcome::fail("earlier use 1 accepted (2xx)", "HTTP 401")
        );
        let replay = case("token::replayed::publish-token-replayed");
        assert!(matches!(
            judge_token(&replay, &refused),
            Outcome::Skip { .. }
        ));
        assert!(matches!(
            judge_token(&replay, &TokenExchange::SetupRefused { status: 500 }),
            Outcome::Skip { .. }
        ));
    }

    #[test]
    fn an_endpoint_the_registry_lacks_skips_instead_of_failing_every_token() {
        let sent = |status| TokenExchange::Sent {
            answer: HttpAnswer::new(status, "HTTP method not allowed"),
            trace: Trace::None,
        };
        for id in ["token::valid::yank", "token::expired::one-hour-old"] {
            for status in [405, 501] {
                assert!(
                    matches!(judge_token(&case(id), &sent(status)), Outcome::Skip { .. }),
                    "{id} {status}"
                );
            }
        }
        // A 404 may hide a crate from a token: judged, not skipped. It refuses a bad token
        // (another 4xx than 401/403: a should), and fails a valid one, which shows a missing
        // endpoint in the same run.
        assert!(matches!(
            judge_token(&case("token::valid::yank"), &sent(404)),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            judge_token(&case("token::expired::one-hour-old"), &sent(404)),
            Outcome::PassNonStrict { .. }
        ));
    }

    #[test]
    fn a_replayed_publish_may_be_refused_as_a_republish() {
        let replay = case("token::replayed::publish-token-replayed");
        let sent = |status| TokenExchange::Sent {
            answer: HttpAnswer::new(status, ERR),
            trace: Trace::None,
        };
        assert_eq!(judge_token(&replay, &sent(409)), Outcome::Pass);
        assert_eq!(judge_token(&replay, &sent(401)), Outcome::Pass);
        assert!(matches!(
            judge_token(&replay, &sent(200)),
            Outcome::Fail { .. }
        ));
    }

    #[test]
    fn offline_only_cases_do_not_apply() {
        let fx = Fixture::offline();
        // The offline fixture enrols two keys; a live registry's case file is built with
        // exactly the keys it enrolled, which is what `keys` must equal.
        let keys = fx.registered();
        let live = LiveRegistry {
            index_url: &fx.index_url,
            keys: &keys,
            auth_required: true,
            api: true,
            git_index: false,
        };
        assert_eq!(inapplicable(&case("token::valid::publish"), &live), None);
        let git = LiveRegistry {
            git_index: true,
            ..live
        };
        assert_eq!(inapplicable(&case("token::valid::publish"), &git), None);
        assert!(inapplicable(&case("token::valid::read"), &git).is_some());
        let no_api = LiveRegistry { api: false, ..live };
        assert!(inapplicable(&case("token::valid::publish"), &no_api).is_some());
        assert_eq!(inapplicable(&case("token::valid::read"), &no_api), None);
        let open = LiveRegistry {
            auth_required: false,
            ..live
        };
        assert!(inapplicable(&case("token::valid::read"), &open).is_some());
        let other_url = LiveRegistry {
            index_url: "sparse+http://127.0.0.1:1/index/",
            ..live
        };
        assert!(inapplicable(&case("token::valid::publish"), &other_url).is_some());
        let one_key = &keys[..1];
        let single = LiveRegistry {
            keys: one_key,
            ..live
        };
        assert_eq!(
            inapplicable(&case("token::valid::publish"), &single).as_deref(),
            Some("needs a second enrolled key (offline only)")
        );
    }
}
