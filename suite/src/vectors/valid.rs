//! `token::valid`: tokens a registry must (or, for `acceptable`, may) accept.

use serde_json::json;
use time::Duration;
use time::macros::datetime;

use super::build::{Draft, Group, acceptable, valid};
use super::cite::*;
use super::fixture::{Fixture, registered};
use crate::cases::Level::{Must, Should};
use crate::cases::flags::Flag;
use crate::cases::token::{CARGO_SHAPED, PolicyKnob};
use crate::paseto::SignatureForm;
use crate::rejection::RejectionKind;
use crate::token::Operation;

pub fn operations(fx: &Fixture) -> [(&'static str, Operation); 5] {
    let k = &fx.krate;
    [
        ("read", Operation::Read),
        ("publish", fx.new_publish()),
        (
            "yank",
            Operation::Yank {
                name: k.name.clone(),
                vers: k.vers.clone(),
            },
        ),
        (
            "unyank",
            Operation::Unyank {
                name: k.name.clone(),
                vers: k.vers.clone(),
            },
        ),
        (
            "owners",
            Operation::Owners {
                name: k.name.clone(),
            },
        ),
    ]
}

/// A publish request the registry can accept.
pub fn publish(fx: &Fixture) -> Operation {
    fx.new_publish()
}

pub fn yank(fx: &Fixture) -> Operation {
    operations(fx)[2].1.clone()
}

pub fn build(fx: &Fixture) -> Group {
    let mut g = Group::new(
        "token::valid",
        "Tokens as Cargo sends them, for every operation and URL form: a registry must accept them.",
    );
    for (slug, op) in operations(fx) {
        g.case(slug, Must, &format!("a {slug} token exactly as cargo:paseto builds it, with `sub`, for the matching {slug} request"))
            .spec(&[RFC_FORMAT, RFC_KEY, CARGO_MESSAGE, CARGO_FOOTER, CARGO_OPERATIONS])
            .flags(&[Flag::Valid, CARGO_SHAPED])
            .token(Draft::new(fx, op), valid());
    }
    if let Some(second) = &fx.second {
        for (slug, op) in operations(fx) {
            g.case(
                &format!("{slug}-without-sub"),
                Must,
                &format!(
                    "a {slug} token without `sub`, signed by a key that has no subject on file"
                ),
            )
            .spec(&[RFC_SUB, CARGO_MESSAGE])
            .flags(&[Flag::Valid, CARGO_SHAPED])
            .token(
                Draft::new(fx, op)
                    .signed_by(second)
                    .with(|d| d.claims.sub = None),
                valid(),
            );
        }
    }
    let git_url = "https://git.registry.test/index.git";
    for (slug, op) in [("read", Operation::Read), ("publish", publish(fx))] {
        g.case(&format!("git-index-{slug}"), Must, &format!("a {slug} token for a git registry: the footer url is the URL Cargo cloned the index from"))
            .spec(&[RFC_URL, CARGO_INDEX_URL])
            .flags(&[Flag::Valid, CARGO_SHAPED])
            .token(
                Draft::new(fx, op).with(|d| {
                    d.footer.url = git_url.into();
                    d.registry.index_url = git_url.into();
                }),
                valid(),
            );
    }
    let name = fx.krate.name.clone();
    for (slug, vers) in [
        ("publish-pre-release", "1.0.0-alpha.1"),
        ("publish-build-metadata", "1.0.0+build.5"),
        ("publish-pre-release-and-build", "2.0.0-rc.1+sha.5114f85"),
    ] {
        let op = fx.publish_version(vers);
        g.case(
            slug,
            Must,
            &format!("publish of version {vers}: `vers` is the version string verbatim"),
        )
        .spec(&[RFC_PACKAGE, CARGO_OPERATIONS])
        .flags(&[Flag::Valid, CARGO_SHAPED])
        .token(Draft::new(fx, op), valid());
    }
    let yank_pre = Operation::Yank {
        name: name.clone(),
        vers: "1.0.0-alpha.1".into(),
    };
    g.case("yank-pre-release", Must, "yank of a pre-release version")
        .spec(&[RFC_PACKAGE])
        .flags(&[Flag::Valid, CARGO_SHAPED])
        .token(Draft::new(fx, yank_pre), valid());
    for (slug, op) in [
        ("publish-high-s", publish(fx)),
        ("read-high-s", Operation::Read),
        ("yank-high-s", yank(fx)),
    ] {
        g.case(slug, Should, "a high-S signature, as real Cargo 1.95 sends about half its tokens (pasetors 0.7.8 does not normalise S; PASETO has no low-S rule). Offline, a verifier may demand low-S (the paseto test-vectors' preference) under the high-s knob, as a should-level choice. Over HTTP (`credlab --registry`) the token is Cargo-shaped and must be accepted: a registry that refuses high-S refuses half its real users' publishes, yanks and reads")
            .spec(&[CARGO_HIGH_S, PASETO_SIGN, CAPTURE])
            .flags(&[Flag::HighS, Flag::Interop, CARGO_SHAPED])
            .token(
                Draft::new(fx, op).with(|d| d.form = SignatureForm::HighS),
                acceptable(RejectionKind::HighSSignature, PolicyKnob::HighS),
            );
    }
    g.case(
        "iat-at-window-start",
        Must,
        "iat exactly one window (15 minutes) before now: the boundary is inclusive",
    )
    .spec(&[RFC_TIME])
    .flags(&[Flag::Valid, Flag::Boundary])
    .token(Draft::new(fx, publish(fx)).iat_at(-fx.max_age), valid());
    g.case(
        "iat-inside-window",
        Must,
        "iat one second inside the window (14 min 59 s before now)",
    )
    .spec(&[RFC_TIME])
    .flags(&[Flag::Valid, Flag::Boundary])
    .token(
        Draft::new(fx, publish(fx)).iat_at(-fx.max_age + Duration::seconds(1)),
        valid(),
    );
    g.case(
        "iat-at-skew-limit",
        Must,
        "iat at the allowed clock skew (60 s) in the future",
    )
    .spec(&[RFC_TIME])
    .flags(&[Flag::Valid, Flag::Boundary])
    .token(Draft::new(fx, publish(fx)).iat_at(fx.max_skew), valid());
    g.case("iat-now", Must, "iat equal to now")
        .spec(&[RFC_TIME])
        .flags(&[Flag::Valid, CARGO_SHAPED])
        .token(
            Draft::new(fx, Operation::Read).iat_at(Duration::ZERO),
            valid(),
        );
    g.case(
        "iat-nanoseconds",
        Must,
        "iat with 9 fractional digits, as Cargo's time crate writes it",
    )
    .spec(&[CARGO_IAT])
    .flags(&[Flag::Valid, CARGO_SHAPED])
    .token(
        Draft::new(fx, Operation::Read).iat_at(Duration::nanoseconds(-4_271_828_182)),
        valid(),
    );
    g.case(
        "iat-offset-notation",
        Must,
        "iat written `+00:00` instead of `Z` (the RFC's own examples)",
    )
    .spec(&[RFC_TIME, PASETO_DATETIME])
    .flags(&[Flag::Valid])
    .token(
        Draft::new(fx, Operation::Read).with(|d| {
            d.claims.iat = iat_with_offset(d.clock - Duration::seconds(5), 0);
        }),
        valid(),
    );
    g.case(
        "iat-non-utc-offset",
        Must,
        "iat in a non-UTC offset denoting an instant inside the window",
    )
    .spec(&[RFC_TIME])
    .flags(&[Flag::Valid])
    .token(
        Draft::new(fx, Operation::Read).with(|d| {
            d.claims.iat = iat_with_offset(d.clock - Duration::seconds(5), 2);
        }),
        valid(),
    );
    g.case("rfc-style-json", Must, "payload JSON with spaces and another key order, as in the RFC's examples: registries must parse JSON, not compare bytes")
        .spec(&[RFC_FORMAT])
        .flags(&[Flag::Valid, Flag::Interop])
        .token(
            Draft::new(fx, publish(fx)).with(|d| {
                let c = &d.claims;
                let sub = c.sub.as_deref().map(|s| format!(", \"sub\": \"{s}\"")).unwrap_or_default();
                d.payload = Some(format!(
                    "{{ \"cksum\": \"{}\", \"vers\": \"{}\", \"name\": \"{}\", \"mutation\": \"publish\"{sub}, \"iat\": \"{}\" }}",
                    c.cksum.as_deref().unwrap_or_default(),
                    c.vers.as_deref().unwrap_or_default(),
                    c.name.as_deref().unwrap_or_default(),
                    c.iat
                ).into_bytes());
            }),
            valid(),
        );
    g.case("json-escapes", Should, "claims written with JSON escapes (`f\\u006fo`) that decode to the expected values; Cargo's test registry fails this (borrowed &str)")
        .spec(&[RFC_PACKAGE, CARGO_TEST_VERIFIER])
        .flags(&[Flag::Valid, Flag::Interop])
        .token(
            Draft::new(fx, yank(fx)).with(|d| {
                let json = d.claims.to_json();
                let escaped = json.replacen(
                    &format!("\"name\":\"{}\"", d.claims.name.as_deref().unwrap_or_default()),
                    &format!("\"name\":\"{}\"", escape_all(d.claims.name.as_deref().unwrap_or_default())),
                    1,
                );
                d.payload = Some(escaped.into_bytes());
            }),
            valid(),
        );
    g.case("footer-escaped-slashes", Should, "a footer whose url escapes `/` as `\\/` (valid JSON, e.g. from PHP): the decoded URL matches")
        .spec(&[RFC_URL])
        .flags(&[Flag::Valid, Flag::Interop])
        .token(
            Draft::new(fx, Operation::Read).with(|d| {
                d.footer_raw = Some(d.footer.to_json().replace('/', "\\/").into_bytes());
            }),
            valid(),
        );
    g.case(
        "v-1",
        Must,
        "the claim `v` set to 1, the only defined token format version",
    )
    .spec(&[RFC_V, CARGO_MESSAGE])
    .flags(&[Flag::Valid])
    .token(
        Draft::new(fx, yank(fx)).with(|d| d.claims.v = Some(1)),
        valid(),
    );
    g.case(
        "custom-claim",
        Should,
        "an extra claim nested in `custom`, which RFC 3231 allows providers to add",
    )
    .spec(&[RFC_CUSTOM])
    .flags(&[Flag::Valid, Flag::UnknownClaim])
    .token(
        Draft::new(fx, publish(fx)).with(|d| {
            d.claims
                .extra
                .insert("custom".into(), json!({"totp": "123456"}));
        }),
        acceptable(RejectionKind::UnexpectedClaim, PolicyKnob::UnknownClaims),
    );
    cargo_capture(fx, &mut g);
    g
}

/// `at` written in RFC 3339 with a numeric offset of `hours` (`+00:00` rather than `Z`).
fn iat_with_offset(at: time::OffsetDateTime, hours: i8) -> String {
    let offset = time::UtcOffset::from_hms(hours, 0, 0).expect("a valid offset");
    let local = at.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:00",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        if hours < 0 { '-' } else { '+' },
        hours.unsigned_abs()
    )
}

/// Every character as a `\uXXXX` escape.
fn escape_all(s: &str) -> String {
    s.chars().map(|c| format!("\\u{:04x}", c as u32)).collect()
}

/// Two tokens real cargo 1.95.0 sent (docs/observed.md §2). Only the
/// offline fixture signs with the RFC key those tokens were made with.
fn cargo_capture(fx: &Fixture, g: &mut Group) {
    if fx.signer.public_key() != Fixture::offline().signer.public_key() {
        return;
    }
    let url = "sparse+http://127.0.0.1:38471/index/";
    let publish = Operation::Publish {
        name: "foo".into(),
        vers: "0.1.0".into(),
        cksum: "de332f9f442127453c1325347a1c83c024a814eadc737e9a8ad273b94938bcff".into(),
    };
    let captured = [
        (
            "cargo-1.95-read",
            Operation::Read,
            datetime!(2026-11-25 22:51:20.728732629 UTC),
        ),
        (
            "cargo-1.95-publish",
            publish,
            datetime!(2026-11-25 22:51:20.786387288 UTC),
        ),
    ];
    for (slug, op, at) in captured {
        let draft = Draft::new(fx, op).with(|d| {
            d.clock = at + Duration::seconds(40);
            d.claims.iat = crate::token::iat::format(at);
            d.claims.sub = Some("sub".into());
            d.footer.url = url.into();
            d.form = SignatureForm::AsCargo;
            d.registry.index_url = url.into();
            d.registry.keys = vec![registered(&fx.signer, Some("sub".into()))];
        });
        g.case(slug, Must, "a token captured from real cargo 1.95.0 (RFC key, subject `sub`, low-S), judged 40 s after it was issued; credlab's deterministic signer reproduces it byte for byte")
            .spec(&[CAPTURE])
            .flags(&[Flag::Valid, Flag::Interop, Flag::RealCargo, CARGO_SHAPED])
            .token(draft, valid());
    }
}
