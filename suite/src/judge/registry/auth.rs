//! An authentication case (`registry::auth`): whether it applies to the registry, and its
//! verdict from what the runner recorded of its exchange.

use super::{HttpAnswer, has_error_json, other_refusal_status, show};
use crate::cases::auth::{AuthCase, AuthExpect, Exchange, Requirement};
use crate::judge::Outcome;

/// What the registry said about itself when credlab connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offers {
    /// `config.json` says `auth-required` (or asked for a token).
    pub auth_required: bool,
    /// `config.json` named an `api`.
    pub api: bool,
    /// The index is a git one: Cargo reads it (config.json, index files) with git, which
    /// carries no Cargo token, so no case about reading it with or without one applies.
    pub git_index: bool,
    /// credlab holds a token of someone without rights on its probe crate: always (another
    /// crate's token) with an enrolled key; with plain tokens, a second user's
    /// (`--other-token-file`).
    pub second_user: bool,
    /// The registry issued plain tokens (`--token-file`), not an enrolled key.
    pub plain_token: bool,
}

/// Whether `exchange` reads the index itself (not `dl` or `api`), as Cargo would.
fn reads_index(exchange: Exchange) -> bool {
    matches!(
        exchange,
        Exchange::ConfigWithReadToken
            | Exchange::ConfigWithoutToken
            | Exchange::IndexFileWithoutToken
            | Exchange::IndexFileWithForgedToken(_)
    )
}

/// Why index-read cases do not apply to a git index.
pub const GIT_INDEX_READ: &str =
    "a git index: Cargo reads it with git, which carries no Cargo token";

/// Why the endpoints' origins are not compared with a git index's: Cargo sends its token to
/// `api` (and `dl`) only, never to the git host (crates.io's own index is on github.com).
pub const GIT_INDEX_ORIGIN: &str = "a git index: Cargo sends no token to the index's host, so \
     `api` and `dl` on another origin send it nowhere new";

/// Why `case` does not apply to a registry offering `offers`, if it does not. The `api` comes
/// first: without it credlab never saw the registry's answer to its read token.
pub fn inapplicable(case: &AuthCase, offers: Offers) -> Option<String> {
    let requires = |r| case.input.requires.contains(&r);
    if offers.git_index && reads_index(case.input.exchange) {
        return Some(GIT_INDEX_READ.into());
    }
    if offers.git_index && case.input.exchange == Exchange::EndpointOrigins {
        return Some(GIT_INDEX_ORIGIN.into());
    }
    if case.input.exchange == Exchange::AddOwnerWithOtherCratesToken && !offers.second_user {
        return Some(
            "needs a second user's token, without rights on the probe crate \
             (--other-token-file)"
                .into(),
        );
    }
    if requires(Requirement::PlainToken) && !offers.plain_token {
        return Some(
            "a plain-token case: the registry verifies an enrolled key (run with --token-file \
             for a registry that issues plain tokens)"
                .into(),
        );
    }
    if requires(Requirement::SecondUser) && !offers.second_user {
        return Some(
            "needs a second user's token, without rights on the probe crate \
             (--other-token-file)"
                .into(),
        );
    }
    if requires(Requirement::Api) && !offers.api {
        return Some(
            "config.json gave no `api` (the registry refused credlab's read token)".into(),
        );
    }
    if requires(Requirement::AuthRequired) && !offers.auth_required {
        return Some("the registry is not auth-required".into());
    }
    None
}

/// State a request could change, read before and after it (rendered for a reader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// What was read: "the index file", "the owner list".
    pub what: String,
    pub before: String,
    pub after: String,
}

/// What a reader of the probe crate saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSeen {
    /// The index file lists the probe version.
    pub listed: bool,
    /// The versions the index file listed (for the report).
    pub listing: String,
    /// The download's body is the `.crate` credlab published.
    pub served_published: bool,
}

/// What the runner recorded of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchanged {
    /// The answer the case is about (for the probe crate: its download).
    pub answer: HttpAnswer,
    /// The answer's `www-authenticate` header.
    pub www_authenticate: Option<String>,
    /// For exchanges that would change state: that state before and after.
    pub state: Option<StateChange>,
    /// For the probe crate: what a reader saw.
    pub probe: Option<ProbeSeen>,
    /// For the endpoint origins: each endpoint config.json names and its origin.
    pub origins: Option<Origins>,
    /// For a refusal: the owner's own, genuine request to the same endpoint (for an owner
    /// change, the owner's read of the owner list), made after it. A refusal shows something
    /// only when that request is accepted: a registry that refuses the genuine token too, or
    /// has no such endpoint (404 to the owner as well), refuses everything.
    pub control: Option<HttpAnswer>,
}

/// Where config.json sends Cargo's requests, as origins (`scheme://host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins {
    /// The index's.
    pub index: String,
    /// `(field, origin)` for `api` and `dl`.
    pub endpoints: Vec<(String, String)>,
}

/// The status and body the case allows, as a reader would say it.
fn expected_answer(expect: &AuthExpect) -> String {
    let statuses: Vec<String> = expect.status.iter().map(u16::to_string).collect();
    let mut text = if statuses.is_empty() {
        "any status".to_string()
    } else {
        statuses.join(" or ")
    };
    if expect.error_json {
        text.push_str(" with {\"errors\":[{\"detail\":…}]}");
    }
    text
}

/// Whether `expect` is a refusal of a token (401 and 403 among its statuses, as for an
/// oversized one that the HTTP layer may refuse first): a case about what a registry does
/// with a token it must not honour.
fn is_token_refusal(expect: &AuthExpect) -> bool {
    expect.status.contains(&401) && expect.status.contains(&403)
}

/// Why a refusal shows nothing, if it does not: the owner's own request to the same endpoint
/// was refused as well.
fn control_skip(seen: &Exchanged) -> Option<Outcome> {
    let control = seen.control.as_ref()?;
    // Only a refusal can be explained away so: an accepted bad token fails whatever the
    // genuine one got.
    if (200..300).contains(&control.status) || !(400..500).contains(&seen.answer.status) {
        return None;
    }
    let reason = if control.status == 404 && seen.answer.status == 404 {
        "the registry does not offer the endpoint: the owner's own request got HTTP 404 too"
            .to_string()
    } else {
        format!(
            "the owner's own token was refused on the same endpoint too (HTTP {}): refusing \
             this request shows nothing",
            control.status
        )
    };
    Some(Outcome::Skip { reason })
}

/// Whether a `www-authenticate` value is Cargo's challenge (RFC 3139: `Cargo login_url="…"`).
fn is_cargo_challenge(value: &str) -> bool {
    value.to_ascii_lowercase().starts_with("cargo") && value.contains("login_url")
}

/// The verdict on an authentication case: every property `expect` states must hold.
pub fn judge_auth(expect: &AuthExpect, seen: &Exchanged) -> Outcome {
    if expect.same_origin {
        let Some(origins) = &seen.origins else {
            return Outcome::Error {
                message: "the runner recorded no endpoint origins".into(),
            };
        };
        let elsewhere: Vec<String> = origins
            .endpoints
            .iter()
            .filter(|(_, origin)| *origin != origins.index)
            .map(|(field, origin)| format!("`{field}` on {origin}"))
            .collect();
        if !elsewhere.is_empty() {
            return Outcome::fail(
                format!("`api` and `dl` on the index's origin, {}", origins.index),
                elsewhere.join(", "),
            );
        }
    }
    if expect.serves_probe {
        let Some(probe) = &seen.probe else {
            return Outcome::Error {
                message: "the runner recorded no read of the probe crate".into(),
            };
        };
        if !probe.listed {
            return Outcome::fail("the index lists the probe crate", probe.listing.clone());
        }
    }
    if let Some(skip) = super::not_implemented(&seen.answer) {
        return skip;
    }
    // The owner's own yank, unyank or owner list of the crate it just published: a 404 there
    // hides nothing from anyone, the route is missing (nora-registry has none of the three,
    // and says so in its documentation), which is what 405/501 say elsewhere. Whether the
    // crate is there is `probe-publish`'s verdict, in the same run.
    if (expect.changed || expect.owners_json) && seen.answer.status == 404 {
        return Outcome::Skip {
            reason: "the registry does not offer the endpoint: the owner's own request for \
                     the probe crate it published got HTTP 404"
                .into(),
        };
    }
    let refusal = is_token_refusal(expect);
    let trace = left_trace(expect, seen);
    if refusal {
        // A trace fails whatever else was answered; then a refusal the owner's own request
        // shares shows nothing. (State that was not recorded is reported last, below.)
        if let Some(fail) = trace.clone().filter(|_| seen.state.is_some()) {
            return fail;
        }
        if let Some(skip) = control_skip(seen) {
            return skip;
        }
    }
    let mut notes = Vec::new();
    let status_ok = expect.status.is_empty() || expect.status.contains(&seen.answer.status);
    if !status_ok {
        if refusal && (400..500).contains(&seen.answer.status) {
            notes.push(other_refusal_status(seen.answer.status));
        } else {
            return Outcome::fail(expected_answer(expect), show(&seen.answer));
        }
    }
    // The status refuses; the error format is a should (see `NOT_ERROR_JSON`), judged last.
    if expect.error_json && !has_error_json(&seen.answer.body) {
        notes.push(super::NOT_ERROR_JSON.to_string());
    }
    if expect.serves_probe && !seen.probe.as_ref().is_some_and(|p| p.served_published) {
        return Outcome::fail(
            "the download serves the published .crate",
            show(&seen.answer),
        );
    }
    if expect.cargo_challenge
        && !seen
            .www_authenticate
            .as_deref()
            .is_some_and(is_cargo_challenge)
    {
        return Outcome::fail(
            "www-authenticate: Cargo login_url=\"…\"",
            format!("{:?}", seen.www_authenticate),
        );
    }
    if expect.changed {
        let Some(state) = &seen.state else {
            return Outcome::Error {
                message: "the runner recorded no state to compare".into(),
            };
        };
        if state.before == state.after {
            return Outcome::fail(
                format!("{} to show the change", state.what),
                format!("{} unchanged: {}", state.what, state.after),
            );
        }
    }
    if expect.owners_json && !is_owner_list(&seen.answer.body) {
        return Outcome::fail(
            "Cargo's owner list, {\"users\":[{\"login\":…}]}",
            show(&seen.answer),
        );
    }
    if let Some(fail) = trace {
        return fail;
    }
    if notes.is_empty() {
        Outcome::Pass
    } else {
        Outcome::PassNonStrict {
            note: notes.join("; "),
        }
    }
}

/// The failure of a request that must change nothing and did (or left nothing to compare).
fn left_trace(expect: &AuthExpect, seen: &Exchanged) -> Option<Outcome> {
    if !expect.unchanged {
        return None;
    }
    let Some(state) = &seen.state else {
        return Some(Outcome::Error {
            message: "the runner recorded no state to compare".into(),
        });
    };
    // The answer too: an accepted forgery reads "HTTP 200 …", a refusal that changed the
    // state anyway shows its refusal.
    (state.before != state.after).then(|| {
        Outcome::fail(
            format!("{} unchanged", state.what),
            format!(
                "{} became {}, after {}",
                state.before,
                state.after,
                show(&seen.answer)
            ),
        )
    })
}

/// Whether `body` is the owner list `cargo owner --list` reads: `users`, each with a `login`
/// (registry-web-api.md, Owners: List).
fn is_owner_list(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("users").and_then(|u| u.as_array()).cloned())
        .is_some_and(|users| {
            users
                .iter()
                .all(|u| u.get("login").is_some_and(serde_json::Value::is_string))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERR: &str = r#"{"errors":[{"detail":"no token"}]}"#;

    fn seen(status: u16, body: &str) -> Exchanged {
        Exchanged {
            answer: HttpAnswer::new(status, body),
            www_authenticate: None,
            state: None,
            probe: None,
            origins: None,
            control: None,
        }
    }

    fn refusal() -> AuthExpect {
        AuthExpect {
            status: vec![401, 403],
            error_json: true,
            cargo_challenge: false,
            unchanged: true,
            serves_probe: false,
            changed: false,
            owners_json: false,
            same_origin: false,
        }
    }

    fn state(before: &str, after: &str) -> Option<StateChange> {
        Some(StateChange {
            what: "the index file".into(),
            before: before.into(),
            after: after.into(),
        })
    }

    #[test]
    fn another_4xx_refuses_non_strictly_and_a_shared_refusal_shows_nothing() {
        let unchanged = |status, control: Option<u16>| Exchanged {
            state: state("a", "a"),
            control: control.map(|c| HttpAnswer::new(c, "")),
            ..seen(status, ERR)
        };
        // A 404 or a 400 refuses: the status is the web API's should, noted.
        for status in [400, 404, 422] {
            assert_eq!(
                judge_auth(&refusal(), &unchanged(status, Some(200))),
                Outcome::PassNonStrict {
                    note: other_refusal_status(status)
                }
            );
        }
        // Both shoulds missed: both noted.
        let bare = Exchanged {
            answer: HttpAnswer::new(400, "bad request"),
            ..unchanged(400, Some(200))
        };
        assert_eq!(
            judge_auth(&refusal(), &bare),
            Outcome::PassNonStrict {
                note: format!(
                    "{}; {}",
                    other_refusal_status(400),
                    super::super::NOT_ERROR_JSON
                )
            }
        );
        // A 5xx is no refusal, whatever the control.
        assert!(matches!(
            judge_auth(&refusal(), &unchanged(500, Some(200))),
            Outcome::Fail { .. }
        ));
        // The owner's own request got 404 too: the endpoint is missing.
        assert!(matches!(
            judge_auth(&refusal(), &unchanged(404, Some(404))),
            Outcome::Skip { reason } if reason.contains("does not offer the endpoint")
        ));
        // The owner's own token was refused too: nothing to learn from this refusal.
        assert!(matches!(
            judge_auth(&refusal(), &unchanged(401, Some(401))),
            Outcome::Skip { reason } if reason.contains("HTTP 401")
        ));
        // An accepted bad token fails even when the genuine one was refused.
        assert!(matches!(
            judge_auth(&refusal(), &unchanged(200, Some(401))),
            Outcome::Fail { .. }
        ));
        // A trace fails before any control is looked at.
        let traced = Exchanged {
            state: state("{0.1.0: false}", "{0.1.0: true}"),
            ..unchanged(404, Some(404))
        };
        assert!(matches!(
            judge_auth(&refusal(), &traced),
            Outcome::Fail { .. }
        ));
        // Other expectations keep their exact statuses: config.json without a token needs 401.
        assert!(matches!(
            judge_auth(
                &AuthExpect {
                    status: vec![401],
                    ..AuthExpect::default()
                },
                &seen(403, ERR)
            ),
            Outcome::Fail { .. }
        ));
    }

    #[test]
    fn a_refusal_needs_the_status_the_error_json_and_no_change() {
        let ok = Exchanged {
            state: state("{0.1.0: false}", "{0.1.0: false}"),
            ..seen(403, ERR)
        };
        assert_eq!(judge_auth(&refusal(), &ok), Outcome::Pass);
        let changed = Exchanged {
            state: state("{0.1.0: false}", "{0.1.0: true}"),
            ..seen(401, ERR)
        };
        assert_eq!(
            judge_auth(&refusal(), &changed),
            Outcome::fail(
                "the index file unchanged",
                format!(
                    "{{0.1.0: false}} became {{0.1.0: true}}, after HTTP 401 {:?}",
                    ERR
                )
            )
        );
        let bare = Exchanged {
            state: state("a", "a"),
            ..seen(401, "no")
        };
        assert_eq!(
            judge_auth(&refusal(), &bare),
            Outcome::PassNonStrict {
                note: super::super::NOT_ERROR_JSON.into()
            }
        );
        assert!(matches!(
            judge_auth(&refusal(), &seen(200, ERR)),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            judge_auth(&refusal(), &seen(401, ERR)),
            Outcome::Error { .. }
        ));
        // A registry without the endpoint (no yank, no owners) is skipped with the reason.
        assert!(matches!(
            judge_auth(&refusal(), &seen(405, "HTTP method not allowed")),
            Outcome::Skip { .. }
        ));
    }

    #[test]
    fn the_challenge_must_be_cargos() {
        let expect = AuthExpect {
            status: Vec::new(),
            error_json: false,
            cargo_challenge: true,
            ..AuthExpect::default()
        };
        let with = |h: Option<&str>| Exchanged {
            www_authenticate: h.map(str::to_string),
            ..seen(401, "")
        };
        assert_eq!(
            judge_auth(&expect, &with(Some("Cargo login_url=\"http://x/me\""))),
            Outcome::Pass
        );
        assert!(matches!(
            judge_auth(&expect, &with(Some("Bearer"))),
            Outcome::Fail { .. }
        ));
        assert!(matches!(
            judge_auth(&expect, &with(None)),
            Outcome::Fail { .. }
        ));
    }

    #[test]
    fn the_probe_must_be_listed_and_served() {
        let expect = AuthExpect {
            status: vec![200],
            error_json: false,
            serves_probe: true,
            ..AuthExpect::default()
        };
        let probe = |listed, served| Exchanged {
            probe: Some(ProbeSeen {
                listed,
                listing: "{}".into(),
                served_published: served,
            }),
            ..seen(200, "crate")
        };
        assert_eq!(judge_auth(&expect, &probe(true, true)), Outcome::Pass);
        assert_eq!(
            judge_auth(&expect, &probe(false, true)),
            Outcome::fail("the index lists the probe crate", "{}")
        );
        assert!(matches!(
            judge_auth(&expect, &probe(true, false)),
            Outcome::Fail { .. }
        ));
    }

    #[test]
    fn a_change_must_show_and_an_owner_list_must_be_cargos() {
        let changed = AuthExpect {
            status: vec![200],
            changed: true,
            ..AuthExpect::default()
        };
        let with = |before: &str, after: &str| Exchanged {
            state: state(before, after),
            ..seen(200, "{}")
        };
        assert_eq!(
            judge_auth(&changed, &with("{0.1.0: false}", "{0.1.0: true}")),
            Outcome::Pass
        );
        assert!(matches!(
            judge_auth(&changed, &with("{0.1.0: false}", "{0.1.0: false}")),
            Outcome::Fail { .. }
        ));
        let owners = AuthExpect {
            status: vec![200],
            owners_json: true,
            ..AuthExpect::default()
        };
        assert_eq!(
            judge_auth(
                &owners,
                &seen(200, r#"{"users":[{"id":1,"login":"alice"}]}"#)
            ),
            Outcome::Pass
        );
        assert!(matches!(
            judge_auth(&owners, &seen(200, r#"{"owners":["alice"]}"#)),
            Outcome::Fail { .. }
        ));
        // A missing route (404 to the owner, like 405/501) skips; a refusal still fails.
        for expect in [&changed, &owners] {
            let missing = Exchanged {
                state: state("{0.1.0: false}", "{0.1.0: false}"),
                ..seen(404, "")
            };
            assert!(
                matches!(judge_auth(expect, &missing), Outcome::Skip { reason } if reason.contains("HTTP 404")),
                "{expect:?}"
            );
            let refused = Exchanged {
                state: state("{0.1.0: false}", "{0.1.0: false}"),
                ..seen(403, "{}")
            };
            assert!(matches!(judge_auth(expect, &refused), Outcome::Fail { .. }));
        }
    }

    #[test]
    fn endpoints_must_share_the_index_origin() {
        let expect = AuthExpect {
            same_origin: true,
            ..AuthExpect::default()
        };
        let with = |dl: &str| Exchanged {
            origins: Some(Origins {
                index: "http://127.0.0.1:8080".into(),
                endpoints: vec![
                    ("api".into(), "http://127.0.0.1:8080".into()),
                    ("dl".into(), dl.into()),
                ],
            }),
            ..seen(200, "")
        };
        assert_eq!(
            judge_auth(&expect, &with("http://127.0.0.1:8080")),
            Outcome::Pass
        );
        assert_eq!(
            judge_auth(&expect, &with("http://localhost:8080")),
            Outcome::fail(
                "`api` and `dl` on the index's origin, http://127.0.0.1:8080",
                "`dl` on http://localhost:8080"
            )
        );
        assert!(matches!(
            judge_auth(&expect, &seen(200, "")),
            Outcome::Error { .. }
        ));
    }

    #[test]
    fn plain_cases_skip_without_plain_tokens_and_second_user_cases_without_a_second_user() {
        let file = crate::vectors::registry::plain_file();
        let keyed = Offers {
            auth_required: true,
            api: true,
            git_index: false,
            second_user: true,
            plain_token: false,
        };
        for c in &file.cases {
            assert!(
                inapplicable(c, keyed).unwrap().contains("--token-file"),
                "{}",
                c.id
            );
        }
        let alone = Offers {
            plain_token: true,
            second_user: false,
            ..keyed
        };
        for c in &file.cases {
            let needs_second = c.input.requires.contains(&Requirement::SecondUser);
            assert_eq!(
                inapplicable(c, alone).is_some_and(|r| r.contains("--other-token-file")),
                needs_second,
                "{}",
                c.id
            );
        }
    }

    #[test]
    fn requirements_skip_with_the_missing_offer() {
        let file = crate::vectors::registry::auth_file();
        let case = |id: &str| {
            file.cases
                .iter()
                .find(|c| c.id.as_str() == id)
                .unwrap_or_else(|| panic!("no case {id}"))
        };
        let all = Offers {
            auth_required: true,
            api: true,
            git_index: false,
            second_user: true,
            plain_token: true,
        };
        for c in &file.cases {
            assert_eq!(inapplicable(c, all), None, "{}", c.id);
        }
        let download = case("registry::auth::download-needs-token");
        let none = Offers {
            auth_required: false,
            api: false,
            git_index: false,
            second_user: true,
            plain_token: true,
        };
        assert!(inapplicable(download, none).unwrap().contains("api"));
        let open = Offers {
            auth_required: false,
            api: true,
            git_index: false,
            second_user: true,
            plain_token: true,
        };
        assert!(
            inapplicable(download, open)
                .unwrap()
                .contains("auth-required")
        );
        assert_eq!(
            inapplicable(case("registry::auth::read-token-accepted"), none),
            None
        );
        // A git index: the cases on reading the index skip (even on an auth-required
        // registry); the download, the API and the probe crate are judged as over sparse.
        let git = Offers {
            git_index: true,
            ..all
        };
        for c in &file.cases {
            let reads_index = reads_index(c.input.exchange);
            assert_eq!(
                inapplicable(c, git).as_deref(),
                reads_index.then_some(GIT_INDEX_READ),
                "{}",
                c.id
            );
        }
        // Nor are the endpoints' origins compared with a git host's.
        let plain = crate::vectors::registry::plain_file();
        for c in &plain.cases {
            let expected = if reads_index(c.input.exchange) {
                Some(GIT_INDEX_READ)
            } else {
                (c.input.exchange == Exchange::EndpointOrigins).then_some(GIT_INDEX_ORIGIN)
            };
            assert_eq!(inapplicable(c, git).as_deref(), expected, "{}", c.id);
            assert_eq!(inapplicable(c, all), None, "{}", c.id);
        }
    }
}
