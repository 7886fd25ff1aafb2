//! The registry authentication cases, compiled to `vectors/registry/auth.json`: the sparse
//! index's own rules for tokens (when a registry must ask for one, and what a refusal looks
//! like), judged by `suite::judge::registry::auth`.
//!
//! Cargo documents are at rust-lang/cargo af373f76 (2026-08-22).

use crate::cases::auth::{
    AuthCase, AuthExpect, AuthFile, AuthInput, Exchange, Forgery, Requirement,
};
use crate::cases::{Case, FORMAT, Level};

const RFC_3139_AUTH_REQUIRED: &str = "RFC 3139, Reference-level explanation: `auth-required: true` in config.json makes Cargo send a token with every request to the registry, index and downloads included";
const INDEX_SPARSE_AUTH: &str = "cargo doc/book/src/reference/registry-index.md, Sparse authentication (\"If the server responds with an HTTP 401, then Cargo will assume that the registry requires authentication and re-attempt the request for config.json with the authentication token included\")";
const INDEX_CHALLENGE: &str = "cargo doc/book/src/reference/registry-index.md, Sparse authentication (\"the server may include a www-authenticate header with a Cargo login_url=\\\"<URL>\\\" challenge\")";
const HTTP_REMOTE_CHALLENGE: &str = "cargo src/sources/registry/http_remote.rs:583-600 (the `Cargo` scheme, case-insensitive, and its `login_url` parameter; 401 headers are passed to providers)";
const INDEX_CONFIG: &str = "cargo doc/book/src/reference/registry-index.md, config.json (`auth-required`: \"requires all operations to be authenticated including API requests, crate downloads and sparse index updates\")";
const WEB_API_ERRORS: &str = "cargo doc/book/src/reference/registry-web-api.md, Web API (errors are {\"errors\":[{\"detail\":…}]}, which Cargo shows the user; \"The server should respond with a 403 response code if the token is not valid\")";
const WEB_API_PUBLISH: &str = "cargo doc/book/src/reference/registry-web-api.md, Publish (the body: the JSON metadata and the .crate, each after a 32-bit little-endian length)";
const WEB_API_OWNERS: &str = "cargo doc/book/src/reference/registry-web-api.md, Owners: Add (`PUT /api/v1/crates/{crate_name}/owners`, authorization required)";
const WEB_API_TOKEN: &str = "cargo doc/book/src/reference/registry-web-api.md, Web API (\"The header value is the API token. The server should respond with a 403 response code if the token is not valid.\")";
const WEB_API_YANK: &str = "cargo doc/book/src/reference/registry-web-api.md, Yank and Unyank (`DELETE /api/v1/crates/{crate_name}/{version}/yank`, `PUT …/unyank`, authorization required; the index entry's `yanked` changes)";
const WEB_API_OWNERS_LIST: &str = "cargo doc/book/src/reference/registry-web-api.md, Owners: List (`GET /api/v1/crates/{crate_name}/owners` answers {\"users\":[{\"id\",\"login\",\"name\"}]})";
const CARGO_TOKEN_VERBATIM: &str = "cargo at 0.96.0 (Rust 1.95): src/cargo/sources/registry/http_remote.rs:670 and src/cargo/core/package.rs:747 send `Authorization: {token}` with the token `auth_token` (src/cargo/util/auth/mod.rs:612) returned, as configured, no scheme added";
const CARGO_6545: &str = "rust-lang/cargo#6545: Cargo sends the registry's token to whatever host config.json's `dl` and `api` name (and, with auth-required, to every download)";
const RFC_3231_NAME: &str = "RFC 3231, How the Registry Server will validate: \"That the package, and version match the request.\"";

struct Spec {
    id: String,
    level: Level,
    description: String,
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
        changed: false,
        owners_json: false,
        same_origin: false,
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
            id: "registry::auth::read-token-accepted".into(),
            level: Level::Must,
            description: "config.json with a fresh, valid read token (Cargo's own) is served: 200".into(),
            spec: &[INDEX_SPARSE_AUTH, RFC_3139_AUTH_REQUIRED],
            requires: &[],
            exchange: Exchange::ConfigWithReadToken,
            expect: answer(&[200]),
        },
        Spec {
            id: "registry::auth::config-401-without-token".into(),
            level: Level::Must,
            description: "auth-required: an unauthenticated config.json gets 401, the only answer that makes Cargo retry with a token (after a 403 real cargo 1.95 fails without ever sending one, tests/cargo_oracle.rs; credlab reports it here and goes on with its read token)".into(),
            spec: &[INDEX_SPARSE_AUTH],
            requires: &[AuthRequired],
            exchange: Exchange::ConfigWithoutToken,
            expect: answer(&[401]),
        },
        Spec {
            id: "registry::auth::www-authenticate".into(),
            level: Level::Should,
            description: "that 401 carries `www-authenticate: Cargo login_url=…` so `cargo login` can point users to it and providers get it; real cargo 1.95 retries with the token after any 401, a `Basic` or `Bearer` challenge included (tests/cargo_oracle.rs), so another scheme loses only that".into(),
            spec: &[INDEX_CHALLENGE, HTTP_REMOTE_CHALLENGE],
            requires: &[AuthRequired],
            exchange: Exchange::ConfigWithoutToken,
            expect: AuthExpect {
                cargo_challenge: true,
                ..answer(&[])
            },
        },
        Spec {
            id: "registry::auth::index-needs-token".into(),
            level: Level::Must,
            description: "auth-required: an index file without a token is refused with 401".into(),
            spec: &[INDEX_CONFIG, INDEX_SPARSE_AUTH],
            requires: &[AuthRequired],
            exchange: Exchange::IndexFileWithoutToken,
            expect: answer(&[401]),
        },
        Spec {
            id: "registry::auth::download-needs-token".into(),
            level: Level::Must,
            description: "auth-required: a download without a token is refused".into(),
            spec: &[INDEX_CONFIG],
            requires: &[AuthRequired, Api],
            exchange: Exchange::DownloadWithoutToken,
            expect: answer(&[401, 403]),
        },
        Spec {
            id: "registry::auth::mutation-needs-token".into(),
            level: Level::Must,
            description: "a yank without any Authorization is refused with 401/403 and Cargo's error JSON, and changes nothing".into(),
            spec: &[WEB_API_ERRORS],
            requires: &[Api],
            exchange: Exchange::YankWithoutToken,
            expect: refusal(),
        },
        Spec {
            id: "registry::auth::probe-publish".into(),
            level: Level::Must,
            description: "the probe crate publishes with a valid token: the index lists it and the download serves it".into(),
            spec: &[WEB_API_PUBLISH, INDEX_CONFIG],
            requires: &[Api],
            exchange: Exchange::ProbeCrate,
            expect: AuthExpect {
                serves_probe: true,
                ..answer(&[200])
            },
        },
        Spec {
            id: "registry::auth::yank-applied".into(),
            level: Level::Must,
            description: "the owner's token yanks the probe crate: 200, and the index shows it yanked".into(),
            spec: &[WEB_API_YANK, WEB_API_TOKEN],
            requires: &[Api],
            exchange: Exchange::YankWithOwnToken,
            expect: AuthExpect {
                changed: true,
                ..answer(&[200])
            },
        },
        Spec {
            id: "registry::auth::unyank-applied".into(),
            level: Level::Must,
            description: "the owner's token unyanks the (yanked) probe crate: 200, and the index shows it unyanked".into(),
            spec: &[WEB_API_YANK, WEB_API_TOKEN],
            requires: &[Api],
            exchange: Exchange::UnyankWithOwnToken,
            expect: AuthExpect {
                changed: true,
                ..answer(&[200])
            },
        },
        Spec {
            id: "registry::auth::owners-listed".into(),
            level: Level::Must,
            description: "the owner's token lists the probe crate's owners: 200 with Cargo's owner list".into(),
            spec: &[WEB_API_OWNERS_LIST, WEB_API_TOKEN],
            requires: &[Api],
            exchange: Exchange::OwnersWithOwnToken,
            expect: AuthExpect {
                owners_json: true,
                ..answer(&[200])
            },
        },
        Spec {
            id: "registry::auth::refused-owner-change".into(),
            level: Level::Must,
            description: "an owners token for another crate, sent to add an owner, is refused with 401/403 and the owner list does not change".into(),
            spec: &[WEB_API_OWNERS, RFC_3231_NAME, WEB_API_ERRORS],
            requires: &[Api],
            exchange: Exchange::AddOwnerWithOtherCratesToken,
            expect: refusal(),
        },
    ]
}

/// A forged token on a yank, and on an index read (`auth-required`), must be refused.
fn forged(forgery: Forgery, name: &'static str, what: &'static str, level: Level) -> [Spec; 2] {
    let yank = format!("registry::plain::{name}-token-on-yank");
    let read = format!("registry::plain::{name}-token-on-index");
    let yank_description = format!(
        "a yank of the probe crate with {what} is refused with 401/403 and Cargo's error JSON, and changes nothing"
    );
    let read_description =
        format!("auth-required: the probe crate's index file with {what} is refused with 401/403");
    // An 8 KiB header may be refused by the HTTP layer before the registry sees it (413, 431,
    // a bare 400): any 4xx but 404 is a refusal there, never a 5xx.
    let oversized = forgery == Forgery::Oversized;
    [
        Spec {
            id: yank,
            level,
            description: yank_description,
            spec: &[WEB_API_TOKEN, WEB_API_ERRORS, CARGO_TOKEN_VERBATIM],
            requires: &[Requirement::PlainToken, Requirement::Api],
            exchange: Exchange::YankWithForgedToken(forgery),
            expect: if oversized {
                AuthExpect {
                    unchanged: true,
                    ..answer(&[400, 401, 403, 413, 431])
                }
            } else {
                refusal()
            },
        },
        Spec {
            id: read,
            level,
            description: read_description,
            spec: &[WEB_API_TOKEN, INDEX_CONFIG],
            requires: &[Requirement::PlainToken, Requirement::AuthRequired],
            exchange: Exchange::IndexFileWithForgedToken(forgery),
            expect: if oversized {
                answer(&[400, 401, 403, 413, 431])
            } else {
                answer(&[401, 403])
            },
        },
    ]
}

fn plain_specs() -> Vec<Spec> {
    use Requirement::{Api, PlainToken, SecondUser};
    let mut specs = Vec::new();
    for (forgery, name, what, level) in [
        (
            Forgery::Empty,
            "empty",
            "an empty Authorization",
            Level::Must,
        ),
        (
            Forgery::Garbage,
            "garbage",
            "a token the registry never issued",
            Level::Must,
        ),
        (
            Forgery::WrongCase,
            "wrong-case",
            "the token with its letters' case swapped",
            Level::Must,
        ),
        (
            Forgery::Truncated,
            "truncated",
            "the token without its last character",
            Level::Must,
        ),
        (
            Forgery::Oversized,
            "oversized",
            "the token padded to 8 KiB",
            Level::Must,
        ),
        // Cargo never adds a scheme; a registry that also takes `Bearer <token>` accepts a
        // string it did not issue, which is harmless unless its parser is that loose
        // elsewhere: should, not must.
        (
            Forgery::BearerPrefixed,
            "bearer-prefixed",
            "`Bearer ` before the token (Cargo sends the token verbatim)",
            Level::Should,
        ),
    ] {
        specs.extend(forged(forgery, name, what, level));
    }
    specs.extend([
        Spec {
            id: "registry::plain::second-user-yank".into(),
            level: Level::Must,
            description: "a second user's valid token, without rights on the probe crate, cannot yank it: 401/403 with Cargo's error JSON, and the index does not change".into(),
            spec: &[WEB_API_TOKEN, WEB_API_YANK, WEB_API_ERRORS],
            requires: &[PlainToken, Api, SecondUser],
            exchange: Exchange::YankWithSecondUsersToken,
            expect: refusal(),
        },
        Spec {
            id: "registry::plain::second-user-publish".into(),
            level: Level::Must,
            description: "a second user's valid token cannot publish a new version of the probe crate: 401/403 with Cargo's error JSON, and the index does not change".into(),
            spec: &[WEB_API_TOKEN, WEB_API_PUBLISH, WEB_API_ERRORS],
            requires: &[PlainToken, Api, SecondUser],
            exchange: Exchange::PublishWithSecondUsersToken,
            expect: refusal(),
        },
        Spec {
            id: "registry::plain::endpoints-same-origin".into(),
            level: Level::Should,
            description: "config.json's `api` and `dl` are on the index's origin (scheme, host and port): Cargo sends the token to each, so another origin receives it too".into(),
            spec: &[CARGO_6545, INDEX_CONFIG],
            requires: &[PlainToken, Api],
            exchange: Exchange::EndpointOrigins,
            expect: AuthExpect {
                same_origin: true,
                ..answer(&[])
            },
        },
    ]);
    specs
}

fn file(group: &str, description: &str, specs: Vec<Spec>) -> AuthFile {
    let cases = specs
        .into_iter()
        .map(|s| AuthCase {
            id: s.id.parse().expect("auth case ids are well-formed"),
            aliases: Vec::new(),
            description: s.description,
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
        group: group.into(),
        description: description.into(),
        cases,
    }
}

/// How a refusal is judged, said in both files' descriptions: the must is that the request
/// is refused (any 4xx, never a 2xx or a 5xx) and changes nothing; the rest is a should.
macro_rules! how_strict {
    () => {
        "A refusal with another 4xx than 401/403, or whose body is not Cargo's error JSON, \
         passes non-strictly (it fails only under --strict): the web API says a token that is \
         not valid should get 403 and errors should be {\"errors\":[{\"detail\":…}]}, and \
         Cargo's client shows any non-2xx answer of the web API as an error (crates-io 0.41.0, \
         src/lib.rs:436-463). A forged token's refusal counts only if the owner's own token \
         is served on the same request: when both are refused, the case is skipped."
    };
}

/// The authentication case file (`registry::auth`): both kinds of token.
pub fn auth_file() -> AuthFile {
    file(
        "registry::auth",
        concat!(
            "What a registry must do with tokens outside the token itself: ask for one when \
         auth-required (with 401, the answer that makes Cargo retry), refuse requests without \
         one in Cargo's error format, change nothing it refused, and serve what it accepted. \
         Run by `credlab --registry`, with a key or with plain tokens; every case acts on \
         credlab's probe crate. ",
            how_strict!()
        ),
        specs(),
    )
}

/// The plain-token case file (`registry::plain`): registries that issue opaque tokens.
pub fn plain_file() -> AuthFile {
    file(
        "registry::plain",
        concat!(
            "What a registry that issues plain (opaque) tokens must do with them, as Cargo sends \
         them (`Authorization: <token>`, verbatim): refuse every token it did not issue (empty, \
         garbage, a near miss, a scheme, an oversized one) with 401/403 and never a 5xx, \
         change nothing it refused, let the owner's token read, yank, unyank and list owners, \
         refuse a second user's token on the probe crate, and keep the token on its own origin. \
         Run by `credlab --registry URL --token-file F [--other-token-file G]`. ",
            how_strict!()
        ),
        plain_specs(),
    )
}

/// Both registry case files, in run order.
pub fn auth_files() -> Vec<AuthFile> {
    vec![auth_file(), plain_file()]
}
