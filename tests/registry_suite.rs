//! The registry suite judged by its own targets, over real HTTP on 127.0.0.1:
//!
//! - the reference registry (`credlab serve`) passes every case that applies to it;
//! - every seeded-bug registry is caught by exactly the case ids it names (each fails);
//! - every scored case the reference runs is named by some bug, so no scored registry case is
//!   a check that cannot fail;
//! - the tolerated variants (conformant choices: a JSON depth limit of 8 or 128, ignoring a
//!   challenge claim when none was issued) fail no must-level case;
//! - over HTTP, Cargo-shaped tokens are must-accept (a registry refusing high-S fails).
//!
//! One test per registry, named after it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use credlab_runners::engine::{Filter, Schedule, Silent, execute};
use credlab_runners::registry_run::{self, PlainCredential, Target};
use credlab_suite::cases::Level;
use credlab_suite::cases::token::{PolicyKnob, TokenExpect};
use credlab_suite::judge::Outcome;
use credlab_suite::keys::SecretKey;
use credlab_suite::vectors;
use credlab_targets::registry::server::plain::PlainToken;
use credlab_targets::registry::server::{Bug, Config, start};
use libtest_mimic::{Arguments, Failed, Trial};

/// How the registry authenticates: an enrolled key (cargo:paseto) or tokens it issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Keyed,
    Plain,
}

/// The plain-token registry's users: credlab's (alice) and a second one (bob).
const ALICE_TOKEN: &str = "cio-credlab-alice-0123456789abcdef";
const BOB_TOKEN: &str = "cio-credlab-bob-fedcba9876543210";

/// Every case's outcome against a reference registry with `bug`, with an enrolled key.
fn run(
    bug: Option<Bug>,
    auth_required: bool,
) -> Result<BTreeMap<String, (Level, Outcome)>, Failed> {
    run_mode(Mode::Keyed, bug, auth_required)
}

/// Every case's outcome against a reference registry with `bug`, in `mode`.
fn run_mode(
    mode: Mode,
    bug: Option<Bug>,
    auth_required: bool,
) -> Result<BTreeMap<String, (Level, Outcome)>, Failed> {
    let key = SecretKey::generate();
    let (keys, plain_tokens, plain) = match mode {
        Mode::Keyed => (vec![(key.public_key().clone(), None)], Vec::new(), None),
        Mode::Plain => (
            Vec::new(),
            vec![
                PlainToken::new("alice", ALICE_TOKEN).map_err(|e| e.to_string())?,
                PlainToken::new("bob", BOB_TOKEN).map_err(|e| e.to_string())?,
            ],
            Some(PlainCredential {
                token: ALICE_TOKEN.into(),
                other: Some(BOB_TOKEN.into()),
            }),
        ),
    };
    let running = start(Config {
        keys,
        plain_tokens,
        bug,
        auth_required,
        ..Config::default()
    })
    .map_err(|e| format!("starting the registry: {e}"))?;
    let session = registry_run::connect(Target {
        index_url: running.index_url(),
        key,
        plain,
        subject: None,
        max_age: Duration::from_secs(900),
        max_skew: Duration::from_secs(60),
        allow_remote: false,
        timeout: Duration::from_secs(10),
        secrets: Default::default(),
    })
    .map_err(|e| format!("connecting: {e}"))?;
    let _ = registry_run::publish_probe(&session);
    // The same cases, jobs and schedule `credlab --registry` runs.
    let cases = registry_run::cases(&session, &Filter::all());
    let jobs = registry_run::jobs(&session, &cases);
    let outcomes = execute(jobs, Schedule::sequential(), &Silent)
        .into_iter()
        .map(|f| (f.id.to_string(), (f.level, f.run.outcome)))
        .collect();
    running.shutdown();
    Ok(outcomes)
}

fn failed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Fail { .. } | Outcome::Hang { .. })
}

/// Each seeded-bug registry (with auth-required on or off) and the case ids that must catch
/// it: every one must fail or hang against that registry. Generated from real runs of
/// `credlab --registry` against `credlab serve --bug NAME`, each run twice for stability.
const CAUGHT_BY: &[(&str, bool, &[&str])] = &[
    (
        "publish-only-tokens",
        true,
        &[
            "registry::auth::owners-listed",
            "registry::auth::unyank-applied",
            "registry::auth::yank-applied",
        ],
    ),
    (
        "skip-url-check",
        true,
        &[
            "token::mis-bound::url-empty",
            "token::mis-bound::url-homoglyph-host",
            "token::mis-bound::url-other-path",
            "token::mis-bound::url-other-port",
            "token::mis-bound::url-punycode-host",
            "token::mis-bound::url-query",
            "token::mis-bound::url-scheme-flipped",
            "token::mis-bound::url-userinfo",
            "token::mis-bound::url-without-sparse-prefix",
            "token::mis-bound::url-without-trailing-slash",
            "token::replayed::crates-io-git-url",
            "token::replayed::crates-io-sparse-url",
            "token::replayed::cross-registry",
            "token::replayed::cross-registry-read",
        ],
    ),
    (
        "skip-expiry",
        true,
        &[
            "token::expired::epoch",
            "token::expired::one-day-old",
            "token::expired::one-hour-old",
            "token::expired::one-year-old",
            "token::expired::read-token-after-window",
        ],
    ),
    (
        "skip-future-check",
        true,
        &[
            "token::expired::one-year-ahead",
            "token::expired::ten-minutes-ahead",
        ],
    ),
    (
        "skip-mutation-check",
        true,
        &[
            "token::mis-bound::mutation-capitalized",
            "token::mis-bound::mutation-empty",
            "token::mis-bound::mutation-unknown",
            "token::mis-bound::owners-token-for-read",
            "token::mis-bound::publish-token-for-read",
            "token::mis-bound::read-token-for-owners",
            "token::mis-bound::read-token-for-publish",
            "token::mis-bound::read-token-for-yank",
            "token::replayed::owners-token-for-yank",
            "token::replayed::unyank-token-for-yank",
            "token::replayed::yank-token-for-owners",
            "token::replayed::yank-token-for-unyank",
        ],
    ),
    (
        "skip-name-check",
        true,
        &[
            "registry::auth::refused-owner-change",
            "token::mis-bound::name-case",
            "token::mis-bound::name-dash-for-underscore",
            "token::mis-bound::name-other-crate",
        ],
    ),
    (
        "skip-vers-check",
        true,
        &[
            "token::mis-bound::vers-leading-v",
            "token::mis-bound::vers-other",
            "token::mis-bound::vers-with-build-metadata",
        ],
    ),
    (
        "skip-cksum-check",
        true,
        &[
            "token::mis-bound::cksum-other-crate",
            "token::mis-bound::cksum-truncated",
            "token::mis-bound::cksum-uppercase",
        ],
    ),
    (
        "skip-signature",
        true,
        &[
            "token::malformed::footer-swapped",
            "token::malformed::implicit-assertion",
            "token::malformed::payload-bit-flipped",
            "token::malformed::signature-bit-flipped",
            "token::malformed::signature-extended",
            "token::malformed::signature-r-n",
            "token::malformed::signature-r-n-minus-1",
            "token::malformed::signature-r-s-zero",
            "token::malformed::signature-r-zero",
            "token::malformed::signature-s-all-ones",
            "token::malformed::signature-s-n",
            "token::malformed::signature-s-zero",
            "token::malformed::signature-truncated",
            "token::mis-bound::registered-kip-signed-by-stranger",
        ],
    ),
    (
        "accept-unknown-key",
        true,
        &["token::mis-bound::unknown-key-read"],
    ),
    (
        "unknown-kip-as-only-key",
        true,
        &[
            "token::mis-bound::kip-is-public-key",
            "token::mis-bound::kip-k4-pid",
            "token::mis-bound::kip-sid",
            "token::mis-bound::kip-truncated",
            "token::mis-bound::unknown-key",
            "token::mis-bound::unknown-key-read",
        ],
    ),
    (
        "unscoped-claims",
        true,
        &[
            "token::expired::iat-missing",
            "token::malformed::payload-empty-object",
            "token::mis-bound::cksum-missing",
            "token::mis-bound::cksum-on-read",
            "token::mis-bound::cksum-on-yank",
            "token::mis-bound::mutation-capitalized",
            "token::mis-bound::mutation-empty",
            "token::mis-bound::mutation-unknown",
            "token::mis-bound::name-missing",
            "token::mis-bound::name-on-read",
            "token::mis-bound::owners-token-for-read",
            "token::mis-bound::publish-token-for-read",
            "token::mis-bound::read-token-for-owners",
            "token::mis-bound::read-token-for-publish",
            "token::mis-bound::read-token-for-yank",
            "token::mis-bound::vers-missing",
            "token::mis-bound::vers-on-owners",
            "token::replayed::owners-token-for-yank",
            "token::replayed::publish-token-for-yank",
            "token::replayed::unyank-token-for-yank",
            "token::replayed::yank-token-for-owners",
            "token::replayed::yank-token-for-unyank",
        ],
    ),
    (
        "ignore-v",
        true,
        &[
            "token::mis-bound::v-0",
            "token::mis-bound::v-2",
            "token::mis-bound::v-float",
            "token::mis-bound::v-negative",
            "token::mis-bound::v-null",
            "token::mis-bound::v-string",
        ],
    ),
    (
        "no-replay-guard",
        true,
        &[
            "token::replayed::unyank-replayed-after-yank",
            "token::replayed::unyank-token-replayed",
            "token::replayed::yank-token-replayed",
            "token::replayed::yank-token-replayed-high-s-flipped",
        ],
    ),
    (
        "replay-guard-by-token-string",
        true,
        &["token::replayed::yank-token-replayed-high-s-flipped"],
    ),
    (
        "allow-republish",
        true,
        &["token::replayed::republish-existing-version"],
    ),
    (
        "server-error-on-garbage",
        true,
        &[
            "token::malformed::bearer-scheme",
            "token::malformed::empty-payload-segment",
            "token::malformed::empty-token",
            "token::malformed::five-segments",
            "token::malformed::footer-deep-nesting",
            "token::malformed::footer-duplicate-kip",
            "token::malformed::footer-duplicate-url",
            "token::malformed::footer-empty-object",
            "token::malformed::footer-invalid-utf8",
            "token::malformed::footer-json-array",
            "token::malformed::footer-non-canonical-bits",
            "token::malformed::footer-not-json",
            "token::malformed::footer-padding",
            "token::malformed::header-only",
            "token::malformed::header-purpose-suffix",
            "token::malformed::header-uppercase-purpose",
            "token::malformed::header-uppercase-version",
            "token::malformed::header-v1-public",
            "token::malformed::header-v2-public",
            "token::malformed::header-v3-local",
            "token::malformed::header-v4-public",
            "token::malformed::huge-token",
            "token::malformed::inner-space",
            "token::malformed::no-footer-segment",
            "token::malformed::not-a-token",
            "token::malformed::payload-bom",
            "token::malformed::payload-deep-nesting",
            "token::malformed::payload-duplicate-escaped-key",
            "token::malformed::payload-duplicate-iat",
            "token::malformed::payload-duplicate-mutation",
            "token::malformed::payload-invalid-utf8",
            "token::malformed::payload-json-array",
            "token::malformed::payload-json-string",
            "token::malformed::payload-nesting-10000",
            "token::malformed::payload-non-canonical-bits",
            "token::malformed::payload-not-json",
            "token::malformed::payload-padding",
            "token::malformed::payload-trailing-garbage",
            "token::malformed::percent-escape",
            "token::malformed::short-body",
            "token::malformed::signature-only-body",
            "token::malformed::standard-alphabet",
            "token::malformed::trailing-dot",
            "token::mis-bound::kid-instead-of-kip",
            "token::mis-bound::kip-missing",
            "token::mis-bound::kip-number",
            "token::mis-bound::mutation-null",
            "token::mis-bound::name-number",
            "token::mis-bound::url-missing",
            "token::mis-bound::url-null",
            "token::mis-bound::url-number",
        ],
    ),
    (
        "reads-without-auth",
        true,
        &[
            "registry::auth::config-401-without-token",
            "registry::auth::download-needs-token",
            "registry::auth::index-needs-token",
            "registry::auth::www-authenticate",
        ],
    ),
    (
        "trace-on-rejected-publish",
        true,
        &[
            "token::expired::epoch",
            "token::expired::iat-date-only",
            "token::expired::iat-empty",
            "token::expired::iat-hour-25",
            "token::expired::iat-lowercase-t",
            "token::expired::iat-lowercase-z",
            "token::expired::iat-missing",
            "token::expired::iat-month-13",
            "token::expired::iat-no-offset",
            "token::expired::iat-null",
            "token::expired::iat-object",
            "token::expired::iat-second-60",
            "token::expired::iat-space-separator",
            "token::expired::iat-unix-seconds",
            "token::expired::iat-words",
            "token::expired::one-day-old",
            "token::expired::one-hour-old",
            "token::expired::one-year-ahead",
            "token::expired::one-year-old",
            "token::expired::ten-minutes-ahead",
            "token::mis-bound::cksum-missing",
            "token::mis-bound::cksum-other-crate",
            "token::mis-bound::cksum-truncated",
            "token::mis-bound::cksum-uppercase",
            "token::mis-bound::read-token-for-publish",
            "token::mis-bound::url-empty",
            "token::mis-bound::url-explicit-default-port",
            "token::mis-bound::url-homoglyph-host",
            "token::mis-bound::url-other-path",
            "token::mis-bound::url-other-port",
            "token::mis-bound::url-punycode-host",
            "token::mis-bound::url-query",
            "token::mis-bound::url-scheme-flipped",
            "token::mis-bound::url-userinfo",
            "token::mis-bound::url-without-sparse-prefix",
            "token::mis-bound::url-without-trailing-slash",
            "token::replayed::cross-registry",
            "token::replayed::publish-for-other-crate",
            "token::replayed::publish-for-other-version",
        ],
    ),
    (
        "no-www-authenticate",
        true,
        &["registry::auth::www-authenticate"],
    ),
    (
        "url-without-sparse-prefix",
        true,
        &[
            "registry::auth::read-token-accepted",
            "token::replayed::read-token-reused",
            "token::valid::footer-escaped-slashes",
            "token::valid::iat-nanoseconds",
            "token::valid::iat-non-utc-offset",
            "token::valid::iat-now",
            "token::valid::iat-offset-notation",
            "token::valid::read",
        ],
    ),
    (
        "single-use-everything",
        true,
        &[
            "token::replayed::owners-token-reused",
            "token::replayed::read-token-reused",
        ],
    ),
    (
        "cargo-bytes-only",
        true,
        &[
            "token::valid::footer-escaped-slashes",
            "token::valid::json-escapes",
            "token::valid::rfc-style-json",
        ],
    ),
    (
        "strict-serde-server-error",
        true,
        &[
            "token::expired::iat-missing",
            "token::expired::iat-null",
            "token::expired::iat-object",
            "token::expired::iat-unix-seconds",
            "token::malformed::footer-deep-nesting",
            "token::malformed::footer-duplicate-kip",
            "token::malformed::footer-duplicate-url",
            "token::malformed::footer-empty-object",
            "token::malformed::footer-invalid-utf8",
            "token::malformed::footer-not-json",
            "token::malformed::no-footer-segment",
            "token::malformed::payload-bom",
            "token::malformed::payload-deep-nesting",
            "token::malformed::payload-duplicate-escaped-key",
            "token::malformed::payload-duplicate-iat",
            "token::malformed::payload-duplicate-mutation",
            "token::malformed::payload-empty-object",
            "token::malformed::payload-invalid-utf8",
            "token::malformed::payload-json-array",
            "token::malformed::payload-json-string",
            "token::malformed::payload-not-json",
            "token::malformed::payload-trailing-garbage",
            "token::mis-bound::kid-instead-of-kip",
            "token::mis-bound::kip-and-conflicting-kid",
            "token::mis-bound::kip-missing",
            "token::mis-bound::kip-number",
            "token::mis-bound::name-number",
            "token::mis-bound::unknown-claim-expired-exp",
            "token::mis-bound::url-missing",
            "token::mis-bound::url-null",
            "token::mis-bound::url-number",
            "token::mis-bound::v-float",
            "token::mis-bound::v-negative",
            "token::mis-bound::v-string",
            "token::valid::custom-claim",
        ],
    ),
    (
        "high-s-server-error",
        true,
        &[
            "token::replayed::yank-token-replayed-high-s-flipped",
            "token::valid::publish-high-s",
            "token::valid::read-high-s",
            "token::valid::yank-high-s",
        ],
    ),
    (
        "iat-format-server-error",
        true,
        &[
            "token::expired::iat-date-only",
            "token::expired::iat-empty",
            "token::expired::iat-hour-25",
            "token::expired::iat-lowercase-t",
            "token::expired::iat-lowercase-z",
            "token::expired::iat-missing",
            "token::expired::iat-month-13",
            "token::expired::iat-no-offset",
            "token::expired::iat-null",
            "token::expired::iat-object",
            "token::expired::iat-second-60",
            "token::expired::iat-space-separator",
            "token::expired::iat-unix-seconds",
            "token::expired::iat-words",
            "token::malformed::payload-empty-object",
            "token::valid::iat-non-utc-offset",
            "token::valid::iat-offset-notation",
        ],
    ),
    ("v1-rejected", true, &["token::valid::v-1"]),
    (
        "mutations-without-auth",
        true,
        &["registry::auth::mutation-needs-token"],
    ),
    (
        "publish-overwrites",
        true,
        &[
            "token::replayed::publish-token-replayed",
            "token::replayed::republish-existing-version",
        ],
    ),
    (
        "reject-high-s",
        true,
        &[
            "token::valid::publish-high-s",
            "token::valid::read-high-s",
            "token::valid::yank-high-s",
        ],
    ),
    (
        "config-403-without-token",
        true,
        &["registry::auth::config-401-without-token"],
    ),
    (
        "nesting-server-error",
        true,
        &[
            "token::malformed::footer-deep-nesting",
            "token::malformed::payload-deep-nesting",
        ],
    ),
    // Tolerated (no must-level case may fail): caught at should level only.
    (
        "ignore-challenge-claim",
        true,
        &["token::mis-bound::challenge-not-issued"],
    ),
    (
        "url-without-sparse-prefix",
        false,
        &[
            "registry::auth::probe-publish",
            "token::mis-bound::url-without-sparse-prefix",
            "token::replayed::owners-token-reused",
            "token::valid::json-escapes",
            "token::valid::owners",
            "token::valid::publish",
            "token::valid::publish-build-metadata",
            "token::valid::publish-pre-release",
            "token::valid::publish-pre-release-and-build",
            "token::valid::rfc-style-json",
            "token::valid::unyank",
            "token::valid::v-1",
            "token::valid::yank",
            "token::valid::yank-pre-release",
        ],
    ),
];

/// The tolerated variants that no case catches, whether they refuse the named cases, and
/// those cases: each must pass against them (`pass` when accepted, `pass-nonstrict` when
/// refused: acceptable under its knob, or a should the registry misses). A JSON depth limit
/// is the registry's choice; a 400 for a refused token misses only the web API's "should
/// respond with a 403" (it fails under `--strict`).
const TOLERATED: &[(&str, bool, &[&str])] = &[
    (
        "reject-with-400",
        true,
        &[
            "token::expired::epoch",
            "token::expired::iat-missing",
            "token::mis-bound::unknown-key",
            "token::mis-bound::url-other-port",
            "token::mis-bound::v-0",
            "token::replayed::publish-token-for-yank",
            "token::replayed::yank-token-replayed",
        ],
    ),
    (
        "json-depth-8",
        true,
        &[
            "token::malformed::footer-deep-nesting",
            "token::malformed::payload-deep-nesting",
        ],
    ),
    (
        "json-depth-128",
        false,
        &[
            "token::malformed::footer-deep-nesting",
            "token::malformed::payload-deep-nesting",
        ],
    ),
];

/// The same as [`CAUGHT_BY`], for a registry in plain-token mode (`credlab --registry URL
/// --token-file F --other-token-file G` against `credlab serve --plain-token-file …`):
/// each bug and the case ids that must catch it there.
const PLAIN_CAUGHT_BY: &[(&str, bool, &[&str])] = &[
    (
        "plain-prefix-match",
        true,
        &[
            "registry::plain::empty-token-on-index",
            "registry::plain::empty-token-on-yank",
            "registry::plain::truncated-token-on-index",
            "registry::plain::truncated-token-on-yank",
        ],
    ),
    (
        "plain-case-insensitive",
        true,
        &[
            "registry::plain::wrong-case-token-on-index",
            "registry::plain::wrong-case-token-on-yank",
        ],
    ),
    (
        "plain-strips-bearer",
        true,
        &[
            "registry::plain::bearer-prefixed-token-on-index",
            "registry::plain::bearer-prefixed-token-on-yank",
        ],
    ),
    (
        "plain-any-token",
        true,
        &[
            "registry::auth::refused-owner-change",
            "registry::plain::garbage-token-on-index",
            "registry::plain::garbage-token-on-yank",
            "registry::plain::second-user-publish",
            "registry::plain::second-user-yank",
        ],
    ),
    (
        "plain-oversized-server-error",
        true,
        &[
            "registry::plain::oversized-token-on-index",
            "registry::plain::oversized-token-on-yank",
        ],
    ),
    (
        "no-owner-check",
        true,
        &[
            "registry::auth::refused-owner-change",
            "registry::plain::second-user-publish",
            "registry::plain::second-user-yank",
        ],
    ),
    (
        "publish-only-tokens",
        true,
        &[
            "registry::auth::owners-listed",
            "registry::auth::unyank-applied",
            "registry::auth::yank-applied",
        ],
    ),
    (
        "dl-other-origin",
        true,
        &["registry::plain::endpoints-same-origin"],
    ),
    ("api-only-tokens", true, &["registry::auth::probe-publish"]),
    (
        "plain-requires-bearer",
        true,
        &["registry::auth::read-token-accepted"],
    ),
    (
        "reads-without-auth",
        true,
        &[
            "registry::auth::config-401-without-token",
            "registry::auth::download-needs-token",
            "registry::auth::index-needs-token",
            "registry::auth::www-authenticate",
        ],
    ),
    (
        "no-www-authenticate",
        true,
        &["registry::auth::www-authenticate"],
    ),
    (
        "mutations-without-auth",
        true,
        &["registry::auth::mutation-needs-token"],
    ),
    (
        "config-403-without-token",
        true,
        &["registry::auth::config-401-without-token"],
    ),
];

type Outcomes = BTreeMap<String, (Level, Outcome)>;

/// Must-level cases that failed or hung: none is allowed against a tolerated variant.
fn must_failures(outcomes: &Outcomes) -> Vec<String> {
    outcomes
        .iter()
        .filter(|(_, (level, o))| *level == Level::Must && failed(o))
        .map(|(id, (_, o))| format!("{id}: {o:?}"))
        .collect()
}

/// What a bug's plain-token run must show besides the failures it is caught by.
fn also_expected_plain(bug: Bug, outcomes: &Outcomes) -> Vec<String> {
    if bug != Bug::PlainRequiresBearer {
        return Vec::new();
    }
    // The genuine token is refused as Cargo sends it, so a forged one's refusal shows nothing:
    // those cases skip (the owner's own request is their control), never pass. `Bearer
    // <token>` is the one this registry wants: that case fails instead.
    outcomes
        .iter()
        .filter(|(id, _)| id.contains("-token-on-") && !id.contains("bearer-prefixed"))
        .filter(|(_, (_, o))| !matches!(o, Outcome::Skip { .. }))
        .map(|(id, (_, o))| format!("{id} did not skip: {o:?}"))
        .collect()
}

/// What a bug's run must show besides the failures it is caught by.
fn also_expected(bug: Bug, outcomes: &Outcomes) -> Vec<String> {
    let mut problems = Vec::new();
    if bug.is_tolerated() {
        problems.extend(
            must_failures(outcomes)
                .into_iter()
                .map(|f| format!("a must-level failure against a tolerated variant: {f}")),
        );
    }
    if bug == Bug::Config403WithoutToken {
        // The 403 is reported, and the run went on with credlab's read token: the API cases
        // ran (none skipped for want of `api`) and the valid tokens were accepted.
        for id in [
            "registry::auth::read-token-accepted",
            "registry::auth::probe-publish",
            "registry::auth::mutation-needs-token",
            "registry::auth::index-needs-token",
            "token::valid::publish",
            "token::valid::yank",
            "token::valid::read",
        ] {
            if !outcomes.get(id).is_some_and(|(_, o)| o.is_pass()) {
                problems.push(format!("{id} did not pass: {:?}", outcomes.get(id)));
            }
        }
        let ran = outcomes
            .values()
            .filter(|(_, o)| !matches!(o, Outcome::Skip { .. }))
            .count();
        if ran < 150 {
            problems.push(format!("only {ran} cases ran"));
        }
        problems.extend(outcomes.iter().filter_map(|(id, (_, o))| match o {
            Outcome::Skip { reason } if reason.contains("`api`") => {
                Some(format!("{id} skipped: {reason}"))
            }
            _ => None,
        }));
    }
    problems
}

/// Fails unless every case in `ids` failed (or hung) against `bug`. With `CREDLAB_SURVEY` set
/// it first prints every case the bug fails, to write its list from a real run.
fn caught_by(
    name: &str,
    bug: Bug,
    ids: &[&str],
    outcomes: &BTreeMap<String, (Level, Outcome)>,
) -> Result<(), Failed> {
    if std::env::var_os("CREDLAB_SURVEY").is_some() {
        let failed_ids: Vec<&String> = outcomes
            .iter()
            .filter(|(_, (_, o))| failed(o))
            .map(|(id, _)| id)
            .collect();
        eprintln!("SURVEY {name}: {failed_ids:#?}");
    }
    let missed: Vec<String> = ids
        .iter()
        .filter(|id| !outcomes.get(**id).is_some_and(|(_, o)| failed(o)))
        .map(|id| format!("{id}: {:?}", outcomes.get(*id).map(|(_, o)| o)))
        .collect();
    if missed.is_empty() {
        Ok(())
    } else {
        Err(format!("{name} ({}) was not caught by: {missed:#?}", bug.describe()).into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![Trial::test("reference::registry", || {
        let mut outcomes = run(None, true)?;
        outcomes.extend(
            run(None, false)?
                .into_iter()
                .map(|(id, o)| (format!("{id} (no auth-required)"), o)),
        );
        let problems: Vec<String> = outcomes
            .iter()
            .filter(|(_, (_, o))| {
                !matches!(
                    o,
                    Outcome::Pass | Outcome::PassNonStrict { .. } | Outcome::Skip { .. }
                )
            })
            .map(|(id, (_, o))| format!("{id}: {o:?}"))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{problems:#?}").into())
        }
    })];
    trials.push(Trial::test("bugs::cover-every-scored-case", || {
        let named: BTreeSet<&str> = CAUGHT_BY
            .iter()
            .flat_map(|(_, _, ids)| ids.iter().copied())
            .collect();
        let uncovered: Vec<String> = run(None, true)?
            .into_iter()
            .filter(|(id, (level, o))| {
                *level != Level::Info
                    && !matches!(o, Outcome::Skip { .. })
                    && !named.contains(id.as_str())
            })
            .map(|(id, _)| id)
            .collect();
        if uncovered.is_empty() {
            Ok(())
        } else {
            Err(format!("scored cases no bug is caught by: {uncovered:#?}").into())
        }
    }));
    trials.push(Trial::test("bugs::every-bug-is-named", || {
        let missing: Vec<&str> = Bug::ALL
            .iter()
            .map(|b| b.name())
            .filter(|name| {
                !CAUGHT_BY
                    .iter()
                    .chain(PLAIN_CAUGHT_BY)
                    .any(|(b, _, ids)| b == name && !ids.is_empty())
                    && !TOLERATED.iter().any(|(b, _, _)| b == name)
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("bugs no case is named for: {missing:?}").into())
        }
    }));
    trials.push(Trial::test("reference::registry-plain", || {
        let mut outcomes = run_mode(Mode::Plain, None, true)?;
        outcomes.extend(
            run_mode(Mode::Plain, None, false)?
                .into_iter()
                .map(|(id, o)| (format!("{id} (no auth-required)"), o)),
        );
        let problems: Vec<String> = outcomes
            .iter()
            .filter(|(id, (_, o))| {
                !matches!(o, Outcome::Pass | Outcome::Skip { .. }) || id.starts_with("token::")
            })
            .map(|(id, (_, o))| format!("{id}: {o:?}"))
            .collect();
        let plain_ran = outcomes
            .iter()
            .filter(|(id, (_, o))| id.starts_with("registry::plain::") && o.is_pass())
            .count();
        if plain_ran < 18 {
            return Err(format!("only {plain_ran} plain cases passed").into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{problems:#?}").into())
        }
    }));
    trials.push(Trial::test("bugs::cover-every-scored-plain-case", || {
        let named: BTreeSet<&str> = PLAIN_CAUGHT_BY
            .iter()
            .flat_map(|(_, _, ids)| ids.iter().copied())
            .collect();
        let uncovered: Vec<String> = run_mode(Mode::Plain, None, true)?
            .into_iter()
            .filter(|(id, (level, o))| {
                *level != Level::Info
                    && !matches!(o, Outcome::Skip { .. })
                    && !named.contains(id.as_str())
            })
            .map(|(id, _)| id)
            .collect();
        if uncovered.is_empty() {
            Ok(())
        } else {
            Err(format!("scored plain-mode cases no bug is caught by: {uncovered:#?}").into())
        }
    }));
    for &(name, auth_required, ids) in PLAIN_CAUGHT_BY {
        trials.push(Trial::test(format!("plain-bug::{name}"), move || {
            let bug = Bug::from_name(name).ok_or_else(|| format!("no bug {name:?}"))?;
            let outcomes = run_mode(Mode::Plain, Some(bug), auth_required)?;
            caught_by(name, bug, ids, &outcomes)?;
            let problems = also_expected_plain(bug, &outcomes);
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!("{name} ({}): {problems:#?}", bug.describe()).into())
            }
        }));
    }
    for &(name, auth_required, ids) in CAUGHT_BY {
        let label = if auth_required {
            name.to_string()
        } else {
            format!("{name}::no-auth-required")
        };
        trials.push(Trial::test(format!("bug::{label}"), move || {
            let bug = Bug::from_name(name).ok_or_else(|| format!("no bug {name:?}"))?;
            let outcomes = run(Some(bug), auth_required)?;
            caught_by(name, bug, ids, &outcomes)?;
            let problems = also_expected(bug, &outcomes);
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!("{name} ({}): {problems:#?}", bug.describe()).into())
            }
        }));
    }
    for &(name, refused, ids) in TOLERATED {
        trials.push(Trial::test(format!("tolerated::{name}"), move || {
            let bug = Bug::from_name(name).ok_or_else(|| format!("no bug {name:?}"))?;
            if !bug.is_tolerated() {
                return Err(format!("{name} is not a tolerated variant").into());
            }
            let outcomes = run(Some(bug), true)?;
            let mut problems = also_expected(bug, &outcomes);
            let expected = |o: &Outcome| match o {
                Outcome::PassNonStrict { .. } => refused,
                Outcome::Pass => !refused,
                _ => false,
            };
            problems.extend(
                ids.iter()
                    .filter(|id| !outcomes.get(**id).is_some_and(|(_, o)| expected(o)))
                    .map(|id| {
                        format!(
                            "{id}: {:?}, expected {}",
                            outcomes.get(*id).map(|(_, o)| o),
                            if refused { "pass-nonstrict" } else { "pass" }
                        )
                    }),
            );
            if problems.is_empty() {
                Ok(())
            } else {
                Err(format!("{name} ({}): {problems:#?}", bug.describe()).into())
            }
        }));
    }
    trials.push(Trial::test("levels::calibrated-over-http", || {
        // What RFC 3231 and real Cargo 1.95 require, case by case: (id, level over HTTP,
        // must-accept over HTTP).
        const LEVELS: &[(&str, Level, bool)] = &[
            ("token::valid::publish-high-s", Level::Must, true),
            ("token::valid::read-high-s", Level::Must, true),
            ("token::valid::yank-high-s", Level::Must, true),
            ("token::valid::iat-nanoseconds", Level::Must, true),
            ("token::valid::publish-build-metadata", Level::Must, true),
            ("token::valid::read", Level::Must, true),
            (
                "token::mis-bound::challenge-not-issued",
                Level::Should,
                false,
            ),
            ("token::malformed::payload-deep-nesting", Level::Must, false),
            ("token::malformed::footer-deep-nesting", Level::Must, false),
        ];
        let files = vectors::token_files(&vectors::Fixture::offline());
        let mut problems = Vec::new();
        for &(id, level, must_accept) in LEVELS {
            let Some(case) = files
                .iter()
                .flat_map(|f| &f.cases)
                .find(|c| c.id.as_str() == id)
            else {
                problems.push(format!("{id}: no such case"));
                continue;
            };
            let (http_level, http_expect) = case.over_http();
            if http_level != level || (http_expect == TokenExpect::Valid) != must_accept {
                problems.push(format!(
                    "{id}: over HTTP {http_level:?} {http_expect:?}, expected {level:?}{}",
                    if must_accept { " valid" } else { "" }
                ));
            }
        }
        for id in [
            "token::malformed::payload-deep-nesting",
            "token::malformed::footer-deep-nesting",
        ] {
            let case = files
                .iter()
                .flat_map(|f| &f.cases)
                .find(|c| c.id.as_str() == id);
            if !case.is_some_and(|c| {
                matches!(
                    c.expect,
                    TokenExpect::Acceptable {
                        policy: PolicyKnob::JsonDepth,
                        ..
                    }
                )
            }) {
                problems.push(format!("{id}: not acceptable under the json-depth knob"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{problems:#?}").into())
        }
    }));
    libtest_mimic::run(&args, trials).exit();
}
