//! The registry authentication cases, compiled to `vectors/registry/auth.json`: the sparse
//! index's own rules for tokens (when a registry must ask for one, and what a refusal looks
//! like), judged by `suite::judge::registry::auth`.
//!
//! Cargo documents are at rust-lang/cargo af373f76 (2026-08-22).

use crate::cases::auth::{AuthCase, AuthExpect, AuthFile, AuthInput, Exchange, Requirement};
use crate::cases::{Case, FORMAT, Level};

const RFC_3139_AUTH_REQUIRED: &str = "RFC 3139, Reference-level explanation: `auth-required: true` in config.json makes Cargo send a token with every request to the registry, index and downloads included";
const INDEX_SPARSE_AUTH: &str = "cargo doc/book/src/reference/registry-index.md, Sparse authentication (\"If the server responds with an HTTP 401, then Cargo will assume that the registry requires authentication and re-attempt the request for config.json with the authentication token included\")";
const INDEX_CHALLENGE: &str = "cargo doc/book/src/reference/registry-index.md, Sparse authentication (\"the server may include a www-authenticate header with a Cargo login_url=\\\"<URL>\\\" challenge\")";
const HTTP_REMOTE_CHALLENGE: &str = "cargo src/sources/registry/http_remote.rs:583-600 (the `Cargo` scheme, case-insensitive, and its `login_url` parameter; 401 headers are passed to providers)";
const INDEX_CONFIG: &str = "cargo doc/book/src/reference/registry-index.md, config.json (`auth-required`: \"requires all operations to be authenticated including API requests, crate downloads and sparse index updates\")";
const WEB_API_ERRORS: &str = "cargo doc/book/src/reference/registry-web-api.md, Web API (errors are {\"errors\":[{\"detail\":…}]}, which Cargo shows the user; \"The server should respond with a 403 response code if the token is not valid\")";
const WEB_API_PUBLISH: &str = "cargo doc/book/src/reference/registry-web-api.md, Publish (the body: the JSON metadata and the .crate, each after a 32-bit little-endian length)";
const WEB_API_OWNERS: &str = "cargo doc/book/src/reference/registry-web-api.md, Owners: Add (`PUT /api/v1/crates/{crate_name}/owners`, authorization required)";
const RFC_3231_NAME: &str = "RFC 3231, How the Registry Server will validate: \"That the package, and version match the request.\"";

struct Spec {
    id: &'static str,
    level: Level,
    description: &'static str,
    spec: &'static [&'static str],
    requires: &'static [Requirement],
    exchange: Exchange,
    expect: AuthExpect,
}

fn answer(status: &[u16]) -> AuthExpect {
    AuthExpect {
        status: status.to_vec(),
        error_json: false,
        cargo_challenge: false,
        unchanged: false,
        serves_probe: false,
    }
}

/// A refusal in Cargo's error format that changes nothing.
fn refusal() -> AuthExpect {
    AuthExpect {
        error_json: true,
        unchanged: true,
        ..answer(&[401, 403])
    }
}

fn specs() -> Vec<Spec> {
    use Requirement::{Api, AuthRequired};
    vec![
        Spec {
            id: "registry::auth::read-token-accepted",
            level: Level::Must,
            description: "config.json with a fresh, valid read token (Cargo's own) is served: 200",
            spec: &[INDEX_SPARSE_AUTH, RFC_3139_AUTH_REQUIRED],
            requires: &[],
            exchange: Exchange::ConfigWithReadToken,
            expect: answer(&[200]),
        },
        Spec {
            id: "registry::auth::config-401-without-token",
            level: Level::Must,
            description: "auth-required: an unauthenticated config.json gets 401, the only answer that makes Cargo retry with a token (after a 403 Cargo gives up; credlab reports it here and goes on with its read token)",
            spec: &[INDEX_SPARSE_AUTH],
            requires: &[AuthRequired],
            exchange: Exchange::ConfigWithoutToken,
            expect: answer(&[401]),
        },
        Spec {
            id: "registry::auth::www-authenticate",
            level: Level::Should,
            description: "that 401 carries `www-authenticate: Cargo login_url=…` so `cargo login` can point users to it",
            spec: &[INDEX_CHALLENGE, HTTP_REMOTE_CHALLENGE],
            requires: &[AuthRequired],
            exchange: Exchange::ConfigWithoutToken,
            expect: AuthExpect {
                cargo_challenge: true,
                ..answer(&[])
            },
        },
        Spec {
            id: "registry::auth::index-needs-token",
            level: Level::Must,
            description: "auth-required: an index file without a token is refused with 401",
            spec: &[INDEX_CONFIG, INDEX_SPARSE_AUTH],
            requires: &[AuthRequired],
            exchange: Exchange::IndexFileWithoutToken,
            expect: answer(&[401]),
        },
        Spec {
            id: "registry::auth::download-needs-token",
            level: Level::Must,
            description: "auth-required: a download without a token is refused",
            spec: &[INDEX_CONFIG],
            requires: &[AuthRequired, Api],
            exchange: Exchange::DownloadWithoutToken,
            expect: answer(&[401, 403]),
        },
        Spec {
            id: "registry::auth::mutation-needs-token",
            level: Level::Must,
            description: "a yank without any Authorization is refused with 401/403 and Cargo's error JSON, and changes nothing",
            spec: &[WEB_API_ERRORS],
            requires: &[Api],
            exchange: Exchange::YankWithoutToken,
            expect: refusal(),
        },
        Spec {
            id: "registry::auth::probe-publish",
            level: Level::Must,
            description: "the probe crate publishes with a valid token: the index lists it and the download serves it",
            spec: &[WEB_API_PUBLISH, INDEX_CONFIG],
            requires: &[Api],
            exchange: Exchange::ProbeCrate,
            expect: AuthExpect {
                serves_probe: true,
                ..answer(&[200])
            },
        },
        Spec {
            id: "registry::auth::refused-owner-change",
            level: Level::Must,
            description: "an owners token for another crate, sent to add an owner, is refused with 401/403 and the owner list does not change",
            spec: &[WEB_API_OWNERS, RFC_3231_NAME, WEB_API_ERRORS],
            requires: &[Api],
            exchange: Exchange::AddOwnerWithOtherCratesToken,
            expect: refusal(),
        },
    ]
}

/// The authentication case file.
pub fn auth_file() -> AuthFile {
    let cases = specs()
        .into_iter()
        .map(|s| AuthCase {
            id: s.id.parse().expect("auth case ids are well-formed"),
            aliases: Vec::new(),
            description: s.description.into(),
            spec: s.spec.iter().map(|c| c.to_string()).collect(),
            level: s.level,
            flags: Vec::new(),
            base: None,
            mutation: None,
            clock: None,
            input: AuthInput {
                requires: s.requires.to_vec(),
                exchange: s.exchange,
            },
            expect: s.expect,
        })
        .collect::<Vec<Case<_, _>>>();
    AuthFile {
        format: FORMAT.into(),
        group: "registry::auth".into(),
        description: "What a registry must do with tokens outside the token itself: ask for \
                      one when auth-required (with 401, the answer that makes Cargo retry), \
                      refuse requests without one in Cargo's error format, change nothing it \
                      refused, and serve what it accepted. Run by `credlab --registry`; every \
                      case acts on credlab's probe crate."
            .into(),
        cases,
    }
}
