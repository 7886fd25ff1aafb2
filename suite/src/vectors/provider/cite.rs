//! Citations for provider cases: rust-lang/cargo at af373f76 (2026-08-22), RFC 3231, and
//! what credlab observed (`docs/observed.md`).

pub const PROTO_LINES: &str = "cargo doc/book/src/reference/credential-provider-protocol.md:5-14 (messages are single lines of JSON; \"Actual messages must not contain newlines\")";
pub const PROTO_HELLO: &str =
    "cargo src/util/credential/process.rs:37-54 (read one hello line; it must list version 1)";
pub const PROTO_REQUEST: &str = "cargo src/util/credential/process.rs:56-73 (one request line, one response line parsed as Result<CredentialResponse, Error>)";
pub const PROTO_EXIT: &str = "cargo src/util/credential/process.rs:76-86 (stdin closed after the response; a non-zero exit discards it; the wait has no timeout)";
pub const PROTO_ARGV: &str = "cargo src/util/credential/process.rs:93-114 (argv is exactly [path, \"--cargo-plugin\"], one process per request)";
pub const LIB_HELLO: &str = "cargo credential/cargo-credential/src/lib.rs:58-63,245-249 (CredentialHello { v: Vec<u32> }, the library sends {\"v\":[1]})";
pub const LIB_REQUEST: &str = "cargo credential/cargo-credential/src/lib.rs:78-178 (CredentialRequest, RegistryInfo, Action, Operation; kebab-case; unknown kinds and operations are Unknown)";
pub const LIB_RESPONSE: &str = "cargo credential/cargo-credential/src/lib.rs:180-212 (CredentialResponse::Get { token, cache, operation_independent }; CacheControl)";
pub const LIB_ERRORS: &str = "cargo credential/cargo-credential/src/error.rs:5-42 (url-not-supported, not-found, operation-not-supported, other with message and caused-by)";
pub const LIB_LOOP: &str = "cargo credential/cargo-credential/src/lib.rs:232-276 (hello, one request per line, EOF ends the loop with exit 0; v != 1 is refused)";
pub const AUTH_KIND: &str =
    "cargo src/util/auth/mod.rs:643-652,690-694,707-711 (the Ok kind must match the request kind)";
pub const AUTH_FALLBACK: &str = "cargo src/util/auth/mod.rs:517-573 (url-not-supported and not-found fall through to the next provider; anything else is fatal)";
pub const AUTH_CACHE: &str = "cargo src/util/auth/mod.rs:600-670 (cache: session and expires are kept, never and unknown are not; operation_independent: false is re-asked for mutations)";
pub const PROTO_CACHE: &str = "cargo doc/book/src/reference/credential-provider-protocol.md:136-138 (operation_independent should be true unless tokens are scoped to operations)";
pub const PROTO_ERRORS: &str = "cargo doc/book/src/reference/credential-provider-protocol.md:160-211 (when to answer each error kind)";
pub const PROTO_LOGIN: &str = "cargo doc/book/src/reference/credential-provider-protocol.md:63-64 (login: the provider should use the token provided)";
pub const LIB_STDIO: &str = "cargo credential/cargo-credential/src/stdio.rs:1-17 (interactive input comes from the terminal, never the protocol pipe)";
pub const HEADERS: &str = "cargo src/sources/registry/http_remote.rs:570-580 (registry.headers carries the 401 response headers)";
pub const ISSUE_13615: &str = "rust-lang/cargo#13615 (cargo-credential cannot parse JSON escapes in borrowed strings; Cargo itself escapes `\"` and `\\`)";
pub const TOKEN_HEADER: &str = "cargo doc/book/src/reference/credential-provider-protocol.md:134 (the token is sent as the Authorization header value)";
pub const PASETO_PROVIDER: &str = "cargo src/util/credential/paseto.rs:108-170 (the token for exactly this operation and index URL; read: session, mutations: never, operation_independent false)";
pub const RFC_3231: &str = "RFC 3231, How the Registry Server will validate (url, key, mutation, name, vers, cksum, iat window)";
pub const DIGEST_OBSERVED: &str = "docs/observed.md §1 (how cargo-credential 0.4.11 answers malformed requests, observed with cargo 1.95.0)";
pub const RFC_3231_MOTIVATION: &str = "RFC 3231, Motivation (plaintext tokens \"can be compromised by (accidentally or by an exploited vulnerability) logging the tokens\"; asymmetric tokens exist so that what is logged is short-lived and bound to one request)";
pub const PROTO_STDERR: &str = "cargo src/util/credential/process.rs:93-114 (stdout and stdin are piped; stderr is not redirected, so a provider's stderr goes straight to the user's terminal and CI log)";
pub const AUTH_ERRORS_SHOWN: &str = "cargo src/util/auth/mod.rs:517-573 (an Err other than url-not-supported or not-found is fatal: Cargo prints its message and caused-by chain to the user)";
pub const AUTH_KEYED: &str = "cargo src/util/auth/mod.rs:517-573 (Cargo asks a provider for the registry it is about to contact, by index URL and name, and sends the token it gets to that registry)";
pub const TOKEN_BY_NAME: &str = "cargo src/util/credential/token.rs:23-92 (cargo:token, Cargo's built-in provider: get, login and logout all act on `registries.<name>.token`, the name looked up from the index URL in the merged config, src/util/auth/mod.rs:197-292; a project config that re-points the name re-points the token)";
pub const TOKEN_BY_NAME_OBSERVED: &str = "docs/observed.md §3 (cargo 1.95.0's cargo:token sent a name's stored token to the server a project config re-pointed the name at, and logged it out there)";
