//! Citations used by the token cases. Sections of RFC 3231 are named by their headings; Cargo
//! locations are at rust-lang/cargo af373f76 (2026-08-22).

pub const RFC_FORMAT: &str =
    "RFC 3231, How the Registry Server will validate: \"The PASETO is in v3.public format.\"";
pub const RFC_KEY: &str = "RFC 3231, How the Registry Server will validate: \"The PASETO validates using the public key it looked up based on the key ID.\"";
pub const RFC_URL: &str = "RFC 3231, How the Registry Server will validate: \"The URL matches the registry base URL (to make sure a PASETO sent to one registry can't be used to authenticate to another, and to prevent typosquatting/homoglyph attacks)\"";
pub const RFC_TIME: &str = "RFC 3231, How the Registry Server will validate: \"The PASETO is still within its valid time period (to limit replay attacks). We recommend a 15 minute limit\"";
pub const RFC_V: &str = "RFC 3231, How the Registry Server will validate: \"If the claim v is set, that it has the value of 1.\"";
pub const RFC_CHALLENGE: &str = "RFC 3231, How the Registry Server will validate: \"If the server issues challenges, that the challenge has not yet been answered.\"";
pub const RFC_MUTATION: &str = "RFC 3231, How the Registry Server will validate: \"That the operation matches the mutation field\"";
pub const RFC_PACKAGE: &str = "RFC 3231, How the Registry Server will validate: \"That the package, and version match the request.\"";
pub const RFC_PUBLISH: &str = "RFC 3231, How the Registry Server will validate: \"If the mutation is publish, that the version has not already been published, and that the hash matches the request.\"";
pub const RFC_READ: &str = "RFC 3231, How the Registry Server will validate: \"If the operation is a read, that the mutation field is not set.\"";
pub const RFC_MISSING: &str = "RFC 3231: \"If a claim should be expected for the request but is missing in the PASETO then the request must be rejected.\"";
pub const RFC_SUB: &str = "RFC 3231, Setting and using the claims: sub is \"expected to be claimed with every request\" for a key with a subject on file";
pub const RFC_CKSUM: &str =
    "RFC 3231: cksum \"must be present only when mutation is equal to publish\"";
pub const RFC_CHALLENGES: &str = "RFC 3231: \"We recommend the use of challenges to prevent some replay attacks\"; an unyank replayed after a yank \"should be prevented by using single-use challenges\"";
pub const RFC_READ_REUSE: &str = "RFC 3231: \"A read token can be used for multiple requests.\"";
pub const RFC_CUSTOM: &str =
    "RFC 3231: providers may add claims \"as long as they are nested in custom\"";
pub const PASETO_SIGN: &str = "paseto-spec Version3.md, Sign and Verify (PAE([pk, h, m, f, i]), ECDSA P-384 SHA-384, 96-byte r||s)";
pub const PASETO_B64: &str = "paseto-spec Common.md, Base64 Encoding: padding \"is forbidden\"; trailing bits \"MUST be cleared, or the message is rejected\"";
pub const PASETO_JSON_KEYS: &str = "paseto-spec (payload processing): implementations \"MUST ensure uniqueness of object key names\"";
pub const PASETO_FOOTER: &str = "paseto-spec 02-Implementation-Guide: validate the footer before decoding (maximum length, depth, keys)";
pub const SERDE_JSON_DEPTH: &str = "serde_json: a recursion limit of 128 by default (Deserializer::disable_recursion_limit), the depth Cargo's test registry and pasetors' Footer parse to";
pub const PASETO_DATETIME: &str =
    "paseto-spec Common.md, registered claims: RFC 3339 date-time with uppercase \"T\" and \"Z\"";
pub const PASETO_IMPLICIT: &str =
    "paseto-spec Version3.md: the implicit assertion i is part of PAE; Cargo signs with i = \"\"";
pub const PASERK_PUBLIC: &str =
    "PASERK types/public.md: k3.public = compressed P-384 point (0x02/0x03 || X)";
pub const PASERK_ID: &str =
    "PASERK operations/ID.md: k3.pid = SHA-384(\"k3.pid.\" || k3.public)[0..33]";
pub const CARGO_MESSAGE: &str = "cargo src/util/credential/paseto.rs:22-41 (Message: iat, sub, mutation, name, vers, cksum, challenge, v; absent claims omitted)";
pub const CARGO_FOOTER: &str =
    "cargo src/util/credential/paseto.rs:42-47,138-141 (Footer { url: index_url, kip })";
pub const CARGO_OPERATIONS: &str =
    "cargo src/util/credential/paseto.rs:108-137 (operation to claims)";
pub const CARGO_INDEX_URL: &str = "cargo src/util/auth/mod.rs:512 (footer url = the registry's index URL as configured, sparse+ prefix and trailing slash included)";
pub const CARGO_IAT: &str =
    "cargo src/util/credential/paseto.rs: iat = OffsetDateTime::now_utc().format(&Rfc3339)";
pub const CARGO_HIGH_S: &str = "cargo Cargo.toml:83 pasetors 0.7.8 (no S normalisation on signing): real Cargo tokens are high-S about half the time";
pub const CARGO_READ_CACHE: &str = "cargo src/util/credential/paseto.rs:145 (read tokens are CacheControl::Session: one read token for the whole cargo command)";
pub const CARGO_OWNERS: &str = "cargo src/ops/registry/cargo_owner.rs:37 (one owners token per `cargo owner` command, sent on GET, PUT and DELETE)";
pub const CARGO_TEST_VERIFIER: &str = "cargo crates/cargo-test-support/src/registry.rs:841-960 (check_authorized, the only public verifier)";
pub const CAPTURE: &str = "credlab capture of cargo 1.95.0 (f2d3ce0bd 2026-03-21) against a loopback registry (docs/observed.md §2)";
pub const WYCHEPROOF_RANGE: &str = "Wycheproof ecdsa_secp384r1_sha384_p1363 InvalidSignature / RangeCheck (r or s = 0 or >= n; CVE-2022-21449 class)";
pub const ECDSA_MALLEABILITY: &str = "ECDSA malleability: (r, s) and (r, n - s) both verify, so replay state must key on the signed content";
