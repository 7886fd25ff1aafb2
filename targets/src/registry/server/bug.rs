//! Seeded bugs: each makes the reference registry skip exactly one check or misbehave in
//! exactly one way, so a registry runner can prove that each of its cases can fail.
//!
//! See [`Bug`] for how "skip a check" is modelled. R-numbers are RFC 3231's rules as
//! numbered in `docs/rfc3231-rules.md`.

use credlab_suite::RejectionKind;

/// A seeded bug. `None` in [`super::Config::bug`] is the conformant reference registry.
///
/// # How "skip a check" is modelled
///
/// The registry always calls [`credlab_suite::registry::admit`]. When `admit` refuses a token
/// with the [`RejectionKind`] a `Skip…` bug names, the refusal is not final:
///
/// - where the check can be neutralised, `admit` runs again with it neutralised, so every
///   *other* check still applies (a token with two faults is still refused for the second):
///   `SkipUrlCheck` re-runs with the footer's own `url` as the index URL; `SkipExpiry` and
///   `SkipFutureCheck` re-run under a policy whose window (or skew) is a century;
///   `SkipMutationCheck`, `SkipNameCheck`, `SkipVersCheck`, `SkipCksumCheck` re-run with the
///   request's operation kind / `name` / `vers` / `cksum` replaced by the token's (unverified)
///   claim (a claim that cannot name an operation, e.g. `mutation: "delete"`, is accepted
///   outright). The registry still *acts* on the request as it arrived (and checks
///   "version exists" for the request's own crate and version); `IgnoreChallengeClaim` re-runs
///   with the token's own `challenge` claim as the issued challenge;
/// - where it cannot (`SkipSignature`: the verifier always checks signatures;
///   `AcceptUnknownKey`: there is no key to check against; `UnscopedClaims`, `IgnoreV`: the
///   claims are the request's business, not the verifier's), the refusal is turned into an
///   acceptance outright, and the acting key is the footer's (unverified) `kip` (for
///   `UnknownKipAsOnlyKey`, the registry's only key). Those tokens are not recorded by the
///   replay guard.
///
/// The other bugs are behaviours rather than skipped checks; each is described on its variant.
/// The `…ServerError` bugs model a registry that panics (`unwrap`) on input it did not
/// expect: they answer 500 with Cargo's error JSON, before `admit` runs (so nothing is
/// recorded). Without a bug, the registry never answers 5xx to any token.
///
/// # Tolerated variants
///
/// Four modes are not bugs at all but choices a conformant registry may make
/// ([`Bug::is_tolerated`]): a JSON depth limit of 8 or of 128 instead of credlab's 32
/// (`JsonDepth8`, `JsonDepth128`), ignoring a `challenge` claim when no challenge was
/// issued (`IgnoreChallengeClaim`), and refusing tokens with 400 instead of 401/403
/// (`RejectWith400`: the web API says *should* 403, and Cargo's client shows every non-2xx
/// the same; a should-level deviation, failed only under `--strict`). They are controls for
/// the verdict calibration: the suite must not fail them on any must-level case
/// (`tests/registry_suite.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// Accepts a footer `url` that is not the registry's index URL (RFC 3231 R3).
    SkipUrlCheck,
    /// Accepts an `iat` older than the freshness window (R4).
    SkipExpiry,
    /// Accepts an `iat` further in the future than the allowed skew (R4).
    SkipFutureCheck,
    /// Accepts a `mutation` claim that does not match the request (R7, R10).
    SkipMutationCheck,
    /// Accepts a `name` claim that is not the request's crate (R8).
    SkipNameCheck,
    /// Accepts a `vers` claim that is not the request's version (R8).
    SkipVersCheck,
    /// Accepts a `cksum` claim that is not the SHA-256 of the uploaded `.crate` (R9).
    SkipCksumCheck,
    /// Accepts a signature that does not verify (R2).
    SkipSignature,
    /// Accepts a `kip` that names no enrolled key (R2, "fail closed").
    AcceptUnknownKey,
    /// When the footer's `kip` names no enrolled key and the registry has only one, acts for
    /// that key's holder without checking the signature (a registry with one key that does
    /// not look at `kip`) (R2, "fail closed").
    UnknownKipAsOnlyKey,
    /// Does not scope a token to the request: a missing `name` or `vers`, a claim the
    /// request does not use (`cksum` on a yank, `name` on a read) and another `mutation` all
    /// pass (R7, R8, R10).
    UnscopedClaims,
    /// Ignores the `v` claim: any value passes (R1: if `v` is set, it is 1).
    IgnoreV,
    /// Keeps no single-use record: a publish/yank/unyank token can be replayed (R15).
    NoReplayGuard,
    /// Keys the single-use record on the token *string*, so the same token with its
    /// signature's `s` flipped to `n − s` (also valid) replays.
    ReplayGuardByTokenString,
    /// Lets a fresh publish token overwrite an existing version (R9: not already published).
    AllowRepublish,
    /// Answers 500 instead of 401 to tokens that do not even parse (garbage, bad base64,
    /// bad footer, oversized).
    ServerErrorOnGarbage,
    /// `auth-required: true`, yet serves `config.json`, index files, downloads and search to
    /// requests *without* an `Authorization` header (a token that is present is still checked).
    ReadsWithoutAuth,
    /// Answers 400 instead of 401/403 when a token is present but refused or not allowed
    /// (a missing token still gets 401, so Cargo's handshake works).
    RejectWith400,
    /// Stores the published version even when the publish is refused (the answer is still
    /// the refusal): a rejected request leaves a trace.
    TraceOnRejectedPublish,
    /// Answers 401 without the `www-authenticate: Cargo login_url=…` header.
    NoWwwAuthenticate,
    /// Compares the footer `url` with its index URL *without* the `sparse+` prefix Cargo puts
    /// in every footer: every real Cargo token is refused (url-mismatch), and a token whose
    /// url lacks the prefix is accepted.
    UrlWithoutSparsePrefix,
    /// Applies the single-use replay guard to read and owners tokens too, refusing the reuse
    /// Cargo makes of its read token (one per command) and of its owners token (one per
    /// `cargo owner`, sent on list, add and remove).
    SingleUseEverything,
    /// Refuses (401, payload-invalid) a token whose payload or footer bytes are not exactly
    /// Cargo's compact serialization of the claims/footer they contain (other key order,
    /// spaces, JSON escapes): it compares bytes instead of parsing JSON.
    CargoBytesOnly,
    /// Deserializes footer and payload into Cargo's structs with `deny_unknown_fields` and
    /// unwraps: an unknown footer field (`kid`) or claim (`custom`, `exp`), a missing or
    /// mistyped field, in a token whose signature verifies (footer: any token) → 500.
    StrictSerdeServerError,
    /// An ECDSA layer that chokes on high-S: a high-S signature that verifies (as real Cargo
    /// tokens are about half the time) → 500.
    HighSServerError,
    /// Parses `iat` with the one fixed format Cargo writes (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`)
    /// and unwraps: in a token whose signature verifies, any other `iat` (an offset, `t`/`z`,
    /// a space, a number, none) → 500.
    IatFormatServerError,
    /// Refuses (401, unsupported-v) any token that carries a `v` claim, even the valid `v: 1`.
    V1Rejected,
    /// Carries out a yank or unyank that has *no* `Authorization` header at all, as the
    /// crate's first owner (a header that is present is checked as usual).
    MutationsWithoutAuth,
    /// Publish is an upsert and keeps no single-use record of publish tokens: a publish token
    /// replays, and a republish overwrites the version (yank/unyank stay single-use).
    PublishOverwrites,
    /// Refuses (401, high-s-signature) every high-S signature, as a verifier that follows the
    /// paseto test-vectors' low-S preference does: about half of real Cargo's tokens.
    RejectHighS,
    /// Answers an unauthenticated `config.json` with 403 (and Cargo's error JSON) instead of
    /// 401: Cargo retries with a token only after a 401, so it can never use the registry.
    /// Everything else, `config.json` with a token included, is as usual.
    Config403WithoutToken,
    /// Tolerated: parses payload and footer JSON to a depth of 8 (credlab: 32), refusing
    /// deeper tokens with 401 as nesting-too-deep.
    JsonDepth8,
    /// Tolerated: parses payload and footer JSON to a depth of 128 (serde_json's limit, as
    /// Cargo's test registry and pasetors do), accepting the 40-deep tokens credlab refuses.
    JsonDepth128,
    /// Answers 500 to a token whose JSON nests past its depth limit (its parser's depth error
    /// is unwrapped) instead of refusing it.
    NestingServerError,
    /// Tolerated: issues no challenges and ignores a `challenge` claim (accepts a token that
    /// answers a challenge never issued), as Cargo's test registry does. RFC 3231's challenge
    /// rules bind only registries that issue challenges; refusing the claim is a should.
    IgnoreChallengeClaim,
    /// Plain tokens: admits a presented token that an issued token starts with (a
    /// `starts_with` where `==` was meant): a truncated token, even an empty one, acts as that
    /// token's user.
    PlainPrefixMatch,
    /// Plain tokens: compares them ignoring ASCII case.
    PlainCaseInsensitive,
    /// Plain tokens: strips a `Bearer ` scheme before comparing (accepts a string it never
    /// issued; Cargo sends the token verbatim).
    PlainStripsBearer,
    /// Plain tokens: admits any presented token as the first issued user (a check that only
    /// looks for the header).
    PlainAnyToken,
    /// Plain tokens: answers 500 to a token longer than 4 KiB (a fixed buffer that
    /// overflows into an error) instead of refusing it.
    PlainOversizedServerError,
    /// Any authenticated user acts as the crate's owner: yanks, publishes new versions and
    /// changes owners of crates that are not theirs.
    NoOwnerCheck,
    /// Tokens are honoured for publish only: yank, unyank and owners answer 403 even to the
    /// crate's owner (as a registry whose tokens lack those scopes by default).
    PublishOnlyTokens,
    /// config.json names a `dl` on another origin than the index (`localhost` for
    /// `127.0.0.1`): Cargo sends the token there with every download.
    DlOtherOrigin,
    /// Tokens are honoured on the web API and `config.json` only: index files and downloads
    /// refuse any token with 401 (a registry whose index sits behind another authenticator).
    ApiOnlyTokens,
    /// Plain tokens: wants `Authorization: Bearer <token>` and refuses the token as Cargo
    /// sends it (nora-registry's scheme): Cargo users must store `Bearer …` as their token.
    PlainRequiresBearer,
}

impl Bug {
    /// Every seeded bug.
    pub const ALL: [Bug; 45] = [
        Bug::SkipUrlCheck,
        Bug::SkipExpiry,
        Bug::SkipFutureCheck,
        Bug::SkipMutationCheck,
        Bug::SkipNameCheck,
        Bug::SkipVersCheck,
        Bug::SkipCksumCheck,
        Bug::SkipSignature,
        Bug::AcceptUnknownKey,
        Bug::UnknownKipAsOnlyKey,
        Bug::UnscopedClaims,
        Bug::IgnoreV,
        Bug::NoReplayGuard,
        Bug::ReplayGuardByTokenString,
        Bug::AllowRepublish,
        Bug::ServerErrorOnGarbage,
        Bug::ReadsWithoutAuth,
        Bug::RejectWith400,
        Bug::TraceOnRejectedPublish,
        Bug::NoWwwAuthenticate,
        Bug::UrlWithoutSparsePrefix,
        Bug::SingleUseEverything,
        Bug::CargoBytesOnly,
        Bug::StrictSerdeServerError,
        Bug::HighSServerError,
        Bug::IatFormatServerError,
        Bug::V1Rejected,
        Bug::MutationsWithoutAuth,
        Bug::PublishOverwrites,
        Bug::RejectHighS,
        Bug::Config403WithoutToken,
        Bug::JsonDepth8,
        Bug::JsonDepth128,
        Bug::NestingServerError,
        Bug::IgnoreChallengeClaim,
        Bug::PlainPrefixMatch,
        Bug::PlainCaseInsensitive,
        Bug::PlainStripsBearer,
        Bug::PlainAnyToken,
        Bug::PlainOversizedServerError,
        Bug::NoOwnerCheck,
        Bug::PublishOnlyTokens,
        Bug::DlOtherOrigin,
        Bug::ApiOnlyTokens,
        Bug::PlainRequiresBearer,
    ];

    /// The stable kebab-case name (`--bug NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Bug::SkipUrlCheck => "skip-url-check",
            Bug::SkipExpiry => "skip-expiry",
            Bug::SkipFutureCheck => "skip-future-check",
            Bug::SkipMutationCheck => "skip-mutation-check",
            Bug::SkipNameCheck => "skip-name-check",
            Bug::SkipVersCheck => "skip-vers-check",
            Bug::SkipCksumCheck => "skip-cksum-check",
            Bug::SkipSignature => "skip-signature",
            Bug::AcceptUnknownKey => "accept-unknown-key",
            Bug::UnknownKipAsOnlyKey => "unknown-kip-as-only-key",
            Bug::UnscopedClaims => "unscoped-claims",
            Bug::IgnoreV => "ignore-v",
            Bug::NoReplayGuard => "no-replay-guard",
            Bug::ReplayGuardByTokenString => "replay-guard-by-token-string",
            Bug::AllowRepublish => "allow-republish",
            Bug::ServerErrorOnGarbage => "server-error-on-garbage",
            Bug::ReadsWithoutAuth => "reads-without-auth",
            Bug::RejectWith400 => "reject-with-400",
            Bug::TraceOnRejectedPublish => "trace-on-rejected-publish",
            Bug::NoWwwAuthenticate => "no-www-authenticate",
            Bug::UrlWithoutSparsePrefix => "url-without-sparse-prefix",
            Bug::SingleUseEverything => "single-use-everything",
            Bug::CargoBytesOnly => "cargo-bytes-only",
            Bug::StrictSerdeServerError => "strict-serde-server-error",
            Bug::HighSServerError => "high-s-server-error",
            Bug::IatFormatServerError => "iat-format-server-error",
            Bug::V1Rejected => "v1-rejected",
            Bug::MutationsWithoutAuth => "mutations-without-auth",
            Bug::PublishOverwrites => "publish-overwrites",
            Bug::RejectHighS => "reject-high-s",
            Bug::Config403WithoutToken => "config-403-without-token",
            Bug::JsonDepth8 => "json-depth-8",
            Bug::JsonDepth128 => "json-depth-128",
            Bug::NestingServerError => "nesting-server-error",
            Bug::IgnoreChallengeClaim => "ignore-challenge-claim",
            Bug::PlainPrefixMatch => "plain-prefix-match",
            Bug::PlainCaseInsensitive => "plain-case-insensitive",
            Bug::PlainStripsBearer => "plain-strips-bearer",
            Bug::PlainAnyToken => "plain-any-token",
            Bug::PlainOversizedServerError => "plain-oversized-server-error",
            Bug::NoOwnerCheck => "no-owner-check",
            Bug::PublishOnlyTokens => "publish-only-tokens",
            Bug::DlOtherOrigin => "dl-other-origin",
            Bug::ApiOnlyTokens => "api-only-tokens",
            Bug::PlainRequiresBearer => "plain-requires-bearer",
        }
    }

    /// Whether this mode is a conformant registry's choice rather than a bug (see "Tolerated
    /// variants" on [`Bug`]): no must-level case may fail against it.
    pub fn is_tolerated(self) -> bool {
        matches!(
            self,
            Bug::JsonDepth8 | Bug::JsonDepth128 | Bug::IgnoreChallengeClaim | Bug::RejectWith400
        )
    }

    /// Whether the bug lives in plain-token mode only (`--plain-token-file`): with enrolled
    /// keys it changes nothing.
    pub fn is_plain_only(self) -> bool {
        matches!(
            self,
            Bug::PlainPrefixMatch
                | Bug::PlainCaseInsensitive
                | Bug::PlainStripsBearer
                | Bug::PlainAnyToken
                | Bug::PlainOversizedServerError
                | Bug::PlainRequiresBearer
        )
    }

    /// Parses a name from [`Bug::name`] (also accepts `snake_case` and the variant name).
    pub fn from_name(name: &str) -> Option<Bug> {
        let wanted: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Bug::ALL.into_iter().find(|bug| {
            bug.name()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .eq(wanted.chars())
        })
    }

    /// Whether this bug skips the verifier check that refused with `kind` (the `Skip…`,
    /// `Accept…`, `Ignore…` bugs and the other checks-skipping ones).
    pub fn skips(self, kind: RejectionKind) -> bool {
        use RejectionKind as K;
        match self {
            Bug::SkipUrlCheck => kind == K::UrlMismatch,
            Bug::SkipExpiry => kind == K::Expired,
            Bug::SkipFutureCheck => kind == K::IssuedInFuture,
            Bug::SkipMutationCheck => kind == K::MutationMismatch,
            Bug::SkipNameCheck => kind == K::NameMismatch,
            Bug::SkipVersCheck => kind == K::VersMismatch,
            Bug::SkipCksumCheck => kind == K::CksumMismatch,
            Bug::SkipSignature => kind == K::BadSignature,
            Bug::AcceptUnknownKey | Bug::UnknownKipAsOnlyKey => kind == K::UnknownKey,
            Bug::UnscopedClaims => matches!(
                kind,
                K::MissingClaim | K::UnexpectedClaim | K::MutationMismatch
            ),
            Bug::IgnoreV => kind == K::UnsupportedV,
            Bug::IgnoreChallengeClaim => kind == K::UnexpectedChallenge,
            _ => false,
        }
    }

    /// One line on what the bug changes.
    pub fn describe(self) -> &'static str {
        match self {
            Bug::SkipUrlCheck => "accepts a footer url other than the registry's index URL",
            Bug::SkipExpiry => "accepts tokens older than the freshness window",
            Bug::SkipFutureCheck => "accepts tokens issued beyond the allowed clock skew",
            Bug::SkipMutationCheck => "accepts a mutation claim that does not match the request",
            Bug::SkipNameCheck => "accepts a name claim that does not match the request",
            Bug::SkipVersCheck => "accepts a vers claim that does not match the request",
            Bug::SkipCksumCheck => "accepts a cksum claim that does not match the .crate",
            Bug::SkipSignature => "accepts signatures that do not verify",
            Bug::AcceptUnknownKey => "accepts tokens from keys that are not enrolled",
            Bug::UnknownKipAsOnlyKey => {
                "acts for its only key when the kip names no enrolled key, signature unchecked"
            }
            Bug::UnscopedClaims => {
                "accepts a missing name/vers, an unused claim and another mutation"
            }
            Bug::IgnoreV => "accepts any value of the v claim",
            Bug::NoReplayGuard => "lets publish/yank/unyank tokens be replayed",
            Bug::ReplayGuardByTokenString => {
                "keys the single-use record on the token string (an s -> n-s flip replays)"
            }
            Bug::AllowRepublish => "lets a publish overwrite an existing version",
            Bug::ServerErrorOnGarbage => "answers 500 to unparsable tokens",
            Bug::ReadsWithoutAuth => {
                "serves config.json, index, downloads and search without a token"
            }
            Bug::RejectWith400 => {
                "tolerated (a should): answers 400 instead of 401/403 to refused tokens"
            }
            Bug::TraceOnRejectedPublish => "stores the version of a refused publish",
            Bug::NoWwwAuthenticate => "omits www-authenticate on 401",
            Bug::UrlWithoutSparsePrefix => {
                "compares the footer url with the index URL minus `sparse+` (refuses Cargo's tokens)"
            }
            Bug::SingleUseEverything => "makes read and owners tokens single-use too",
            Bug::CargoBytesOnly => {
                "refuses payloads/footers that are not Cargo's exact compact JSON bytes"
            }
            Bug::StrictSerdeServerError => {
                "answers 500 to unknown or mistyped claims/footer fields (deny_unknown_fields + unwrap)"
            }
            Bug::HighSServerError => "answers 500 to a valid high-S signature",
            Bug::IatFormatServerError => {
                "answers 500 to an iat not in Cargo's exact format (offsets, t/z, spaces, numbers)"
            }
            Bug::V1Rejected => "refuses any token with a v claim, even v: 1",
            Bug::MutationsWithoutAuth => {
                "carries out a yank/unyank that has no Authorization header (as the first owner)"
            }
            Bug::PublishOverwrites => {
                "publish is an upsert with no single-use record: replays and republishes succeed"
            }
            Bug::RejectHighS => {
                "refuses high-S signatures (about half of real Cargo's tokens) with 401"
            }
            Bug::Config403WithoutToken => {
                "answers an unauthenticated config.json with 403, not 401 (Cargo never retries)"
            }
            Bug::JsonDepth8 => "tolerated: a JSON depth limit of 8, deeper tokens refused with 401",
            Bug::JsonDepth128 => {
                "tolerated: a JSON depth limit of 128 (serde_json's), 40-deep tokens accepted"
            }
            Bug::NestingServerError => "answers 500 to JSON nested past its depth limit",
            Bug::IgnoreChallengeClaim => {
                "tolerated: ignores a challenge claim when it issued no challenge"
            }
            Bug::PlainPrefixMatch => {
                "plain tokens: admits a prefix of an issued token (truncated, even empty)"
            }
            Bug::PlainCaseInsensitive => "plain tokens: compares them ignoring case",
            Bug::PlainStripsBearer => "plain tokens: strips a `Bearer ` scheme before comparing",
            Bug::PlainAnyToken => "plain tokens: admits any token as the first user",
            Bug::PlainOversizedServerError => {
                "plain tokens: answers 500 to a token longer than 4 KiB"
            }
            Bug::NoOwnerCheck => "lets any authenticated user yank, publish and own any crate",
            Bug::PublishOnlyTokens => {
                "honours tokens for publish only: yank, unyank and owners answer 403 to owners"
            }
            Bug::DlOtherOrigin => {
                "names a `dl` on another origin (localhost for 127.0.0.1), where Cargo sends tokens"
            }
            Bug::ApiOnlyTokens => "refuses every token on index files and downloads",
            Bug::PlainRequiresBearer => {
                "plain tokens: wants `Bearer <token>`, refuses the token as Cargo sends it"
            }
        }
    }
}

impl std::fmt::Display for Bug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Rejections that mean "this is not a token at all": what `ServerErrorOnGarbage` answers
/// 500 to.
pub(super) fn is_garbage(kind: RejectionKind) -> bool {
    use RejectionKind::*;
    matches!(
        kind,
        TooLarge
            | Malformed
            | UnsupportedVersion
            | UnsupportedPurpose
            | BadBase64
            | FooterMissing
            | FooterInvalid
            | DuplicateKey
            | NestingTooDeep
            | PayloadInvalid
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for bug in Bug::ALL {
            assert_eq!(Bug::from_name(bug.name()), Some(bug));
            assert_eq!(Bug::from_name(&format!("{bug:?}")), Some(bug));
            assert_eq!(Bug::from_name(&bug.name().replace('-', "_")), Some(bug));
        }
        assert_eq!(Bug::from_name("no-such-bug"), None);
        let names: std::collections::HashSet<_> = Bug::ALL.iter().map(|b| b.name()).collect();
        assert_eq!(names.len(), Bug::ALL.len());
    }
}
