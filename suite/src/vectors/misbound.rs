//! `token::mis-bound`: a validly signed token that does not fit the request or the registry.

use serde_json::{Value, json};

use super::build::{Draft, Group, acceptable, invalid, valid};
use super::cite::*;
use super::fixture::Fixture;
use super::valid::{operations, publish, yank};
use crate::cases::Level::{self, Must, Should};
use crate::cases::flags::Flag;
use crate::cases::token::PolicyKnob;
use crate::rejection::RejectionKind::{
    self, BadSignature, ChallengeMismatch, CksumMismatch, FooterInvalid, MissingClaim,
    MutationMismatch, NameMismatch, PayloadInvalid, SubjectMismatch, UnexpectedChallenge,
    UnexpectedClaim, UnknownKey, UnsupportedV, UrlMismatch, VersMismatch,
};
use crate::token::Operation;

pub fn build(fx: &Fixture) -> Group {
    let mut g = Group::new(
        "token::mis-bound",
        "Validly signed tokens bound to something else: another URL spelling, key, mutation, crate, version or checksum, or with claims missing, misplaced or malformed.",
    );
    urls(fx, &mut g);
    keys(fx, &mut g);
    mutations(fx, &mut g);
    crate_fields(fx, &mut g);
    claims(fx, &mut g);
    g
}

fn urls(fx: &Fixture, g: &mut Group) {
    let base = &fx.index_url;
    let (scheme_rest, host_path) = base
        .split_once("://")
        .expect("the fixture URL has a scheme");
    let plain = base.strip_prefix("sparse+").unwrap_or(base).to_string();
    let flipped_scheme = if scheme_rest.ends_with("https") {
        base.replacen("https://", "http://", 1)
    } else {
        base.replacen("http://", "https://", 1)
    };
    let (host, path) = host_path.split_once('/').unwrap_or((host_path, ""));
    let with_host = |h: &str| format!("{scheme_rest}://{h}/{path}");
    type UrlCase<'a> = (
        &'a str,
        RejectionKind,
        Option<PolicyKnob>,
        Level,
        String,
        &'a str,
    );
    let cases: Vec<UrlCase> = vec![
        (
            "url-without-sparse-prefix",
            UrlMismatch,
            None,
            Should,
            plain,
            "the index URL without the `sparse+` prefix Cargo puts in the footer",
        ),
        (
            "url-without-trailing-slash",
            UrlMismatch,
            None,
            Should,
            base.trim_end_matches('/').to_string(),
            "the index URL without its trailing slash",
        ),
        (
            "url-scheme-flipped",
            UrlMismatch,
            None,
            Must,
            flipped_scheme,
            "http and https swapped",
        ),
        (
            "url-host-case",
            UrlMismatch,
            Some(PolicyKnob::UrlNormalization),
            Should,
            with_host(&host.to_uppercase()),
            "the host in upper case (Cargo keeps the case of sparse+https URLs as configured)",
        ),
        (
            "url-explicit-default-port",
            UrlMismatch,
            Some(PolicyKnob::UrlNormalization),
            Should,
            with_host(&format!("{host}:443")),
            "the default port written out (Cargo keeps it for sparse+https URLs)",
        ),
        (
            "url-other-port",
            UrlMismatch,
            None,
            Must,
            with_host(&format!("{host}:8443")),
            "another port on the same host",
        ),
        (
            "url-other-path",
            UrlMismatch,
            None,
            Must,
            format!("{scheme_rest}://{host}/index2/"),
            "another path on the same host",
        ),
        (
            "url-homoglyph-host",
            UrlMismatch,
            None,
            Must,
            with_host(&homoglyph(host)),
            "the host with a Cyrillic `е` for `e` (RFC 3231 names homoglyph attacks)",
        ),
        (
            "url-punycode-host",
            UrlMismatch,
            None,
            Must,
            with_host(&format!("xn--{host}")),
            "a punycode look-alike host",
        ),
        (
            "url-userinfo",
            UrlMismatch,
            None,
            Must,
            with_host(&format!("attacker@{host}")),
            "userinfo in front of the host",
        ),
        (
            "url-query",
            UrlMismatch,
            None,
            Must,
            format!("{base}?registry=other"),
            "a query string appended",
        ),
        (
            "url-empty",
            UrlMismatch,
            None,
            Must,
            String::new(),
            "an empty url",
        ),
    ];
    for (slug, kind, knob, level, url, description) in cases {
        if url == *base {
            // The spelling change does nothing to this URL (an IP address has no case).
            continue;
        }
        let expect = match knob {
            Some(knob) => acceptable(kind, knob),
            None => invalid(kind),
        };
        g.case(slug, level, &format!("footer url: {description}"))
            .from("token::valid::publish", &format!("footer url := {url:?}"))
            .spec(&[RFC_URL, CARGO_INDEX_URL])
            .flags(&[Flag::MisBound, Flag::Url])
            .token(
                Draft::new(fx, publish(fx)).with(|d| d.footer.url = url),
                expect,
            );
    }
}

fn keys(fx: &Fixture, g: &mut Group) {
    let base = "token::valid::yank";
    g.case("unknown-key", Must, "signed by a key the registry never enrolled, named by its own kip: key lookup must fail closed")
        .from(base, "signer := an unregistered key")
        .spec(&[RFC_KEY])
        .flags(&[Flag::MisBound, Flag::Key])
        .token(Draft::new(fx, yank(fx)).signed_by(&fx.stranger), invalid(UnknownKey));
    g.case("unknown-key-read", Must, "a read token from a key the registry never enrolled (on a read, no ownership check can hide a missing key check)")
        .from("token::valid::read", "signer := an unregistered key")
        .spec(&[RFC_KEY])
        .flags(&[Flag::MisBound, Flag::Key])
        .token(Draft::new(fx, Operation::Read).signed_by(&fx.stranger), invalid(UnknownKey));
    g.case(
        "registered-kip-signed-by-stranger",
        Must,
        "kip names the registered key, but an unregistered key made the signature",
    )
    .from(base, "signer := an unregistered key; kip unchanged")
    .spec(&[RFC_KEY, PASETO_SIGN])
    .flags(&[Flag::MisBound, Flag::Key, Flag::Forgery])
    .token(
        Draft::new(fx, yank(fx)).with(|d| d.signer = &fx.stranger),
        invalid(BadSignature),
    );
    if let Some(second) = &fx.second {
        g.case(
            "kip-of-other-registered-key",
            Must,
            "kip names one registered key, the signature is by another registered key",
        )
        .from(base, "kip := pid of the second registered key")
        .spec(&[RFC_KEY])
        .flags(&[Flag::MisBound, Flag::Key])
        .token(
            Draft::new(fx, yank(fx)).with(|d| d.footer.kip = second.public_key().id().to_string()),
            invalid(BadSignature),
        );
    }
    let pid = fx.signer.public_key().id().to_string();
    let sid_like = pid.replacen("k3.pid.", "k3.sid.", 1);
    let k4 = pid.replacen("k3.pid.", "k4.pid.", 1);
    let short = pid[..pid.len() - 4].to_string();
    let public = fx.signer.public_key().to_paserk().to_string();
    for (slug, kip, description) in [
        (
            "kip-truncated",
            short,
            "the registered kip with its last 4 characters cut",
        ),
        (
            "kip-k4-pid",
            k4,
            "the registered id relabelled `k4.pid.` (PASERK forbids cross-version use)",
        ),
        (
            "kip-sid",
            sid_like,
            "the registered id relabelled `k3.sid.` (a secret-key id type)",
        ),
        (
            "kip-is-public-key",
            public,
            "the k3.public key itself instead of its id (PASETO: never trust a key in the footer)",
        ),
    ] {
        g.case(slug, Must, &format!("footer kip: {description}"))
            .from(base, &format!("kip := {kip:?}"))
            .spec(&[RFC_KEY, PASERK_ID])
            .flags(&[Flag::MisBound, Flag::Key])
            .token(
                Draft::new(fx, yank(fx)).with(|d| d.footer.kip = kip),
                invalid(UnknownKey),
            );
    }
    let footer_cases: [(&str, &str, Value, crate::cases::Level); 5] = [
        (
            "kip-number",
            "kip is a number",
            json!({"url": fx.index_url, "kip": 42}),
            Must,
        ),
        (
            "kip-missing",
            "the footer has no kip",
            json!({"url": fx.index_url}),
            Must,
        ),
        (
            "url-missing",
            "the footer has no url",
            json!({"kip": pid}),
            Must,
        ),
        (
            "url-number",
            "the footer url is a number",
            json!({"url": 1, "kip": pid}),
            Must,
        ),
        (
            "url-null",
            "the footer url is null",
            json!({"url": null, "kip": pid}),
            Must,
        ),
    ];
    for (slug, description, footer, level) in footer_cases {
        g.case(slug, level, description)
            .from(base, &format!("footer := {footer}"))
            .spec(&[RFC_KEY, RFC_URL, CARGO_FOOTER])
            .flags(&[Flag::MisBound, Flag::Footer])
            .token(
                Draft::new(fx, yank(fx)).edit_footer(|f| {
                    *f = footer.as_object().expect("an object").clone();
                }),
                invalid(FooterInvalid),
            );
    }
    g.case("kid-instead-of-kip", Should, "the footer names the key with the RFC's `kid` instead of Cargo's `kip` (Cargo never sends this)")
        .from(base, "footer key kip renamed kid")
        .spec(&[RFC_KEY, CARGO_FOOTER])
        .flags(&[Flag::MisBound, Flag::Footer, Flag::Interop])
        .token(
            Draft::new(fx, yank(fx)).edit_footer(|f| {
                let kip = f.remove("kip").expect("kip present");
                f.insert("kid".into(), kip);
            }),
            acceptable(FooterInvalid, PolicyKnob::KeyIdField),
        );
    g.case("kip-and-conflicting-kid", Should, "the footer carries kip (the signer) and a kid naming another key; a registry that reads kid must not pick a key from it")
        .from(base, "footer += kid of an unregistered key")
        .spec(&[RFC_KEY, CARGO_FOOTER])
        .flags(&[Flag::MisBound, Flag::Footer])
        .token(
            Draft::new(fx, yank(fx)).edit_footer(|f| {
                f.insert("kid".into(), json!(fx.stranger.public_key().id().to_string()));
            }),
            acceptable(FooterInvalid, PolicyKnob::KeyIdField),
        );
}

fn mutations(fx: &Fixture, g: &mut Group) {
    let ops = operations(fx);
    for (slug, request) in [
        ("publish", &ops[1].1),
        ("yank", &ops[2].1),
        ("owners", &ops[4].1),
    ] {
        g.case(
            &format!("read-token-for-{slug}"),
            Must,
            &format!("a read token (no mutation) presented for a {slug}"),
        )
        .from("token::valid::read", &format!("request := {slug}"))
        .spec(&[RFC_MUTATION, RFC_MISSING])
        .flags(&[Flag::MisBound, Flag::Mutation])
        .token(
            Draft::new(fx, Operation::Read).with(|d| d.request = request.clone()),
            invalid(MutationMismatch),
        );
    }
    for (slug, op) in [("publish", &ops[1].1), ("owners", &ops[4].1)] {
        g.case(
            &format!("{slug}-token-for-read"),
            Must,
            &format!("a {slug} token presented for a read (index, download)"),
        )
        .from(&format!("token::valid::{slug}"), "request := read")
        .spec(&[RFC_READ])
        .flags(&[Flag::MisBound, Flag::Mutation])
        .token(
            Draft::new(fx, op.clone()).with(|d| d.request = Operation::Read),
            invalid(MutationMismatch),
        );
    }
    for (slug, value, description) in [
        (
            "mutation-capitalized",
            json!("Yank"),
            "`Yank`: mutation names are case-sensitive",
        ),
        (
            "mutation-unknown",
            json!("delete"),
            "a mutation that does not exist",
        ),
        ("mutation-empty", json!(""), "the empty string"),
        ("mutation-null", Value::Null, "null"),
    ] {
        let kind = if value.is_null() {
            PayloadInvalid
        } else {
            MutationMismatch
        };
        g.case(slug, Must, &format!("mutation claim: {description}"))
            .from("token::valid::yank", &format!("mutation := {value}"))
            .spec(&[RFC_MUTATION])
            .flags(&[Flag::MisBound, Flag::Mutation])
            .token(
                Draft::new(fx, yank(fx)).edit_json(|c| {
                    c.insert("mutation".into(), value);
                }),
                invalid(kind),
            );
    }
}

fn crate_fields(fx: &Fixture, g: &mut Group) {
    let k = &fx.krate;
    let edits: Vec<(
        &str,
        &str,
        &str,
        Value,
        RejectionKind,
        crate::cases::Level,
        &str,
    )> = vec![
        (
            "name-other-crate",
            "token::valid::yank",
            "name",
            json!(fx.other_name()),
            NameMismatch,
            Must,
            "another crate's name",
        ),
        (
            "name-case",
            "token::valid::yank",
            "name",
            json!(k.name.to_uppercase()),
            NameMismatch,
            Should,
            "the name in another case (crates.io treats names case-insensitively, tokens bind the exact string)",
        ),
        (
            "name-number",
            "token::valid::yank",
            "name",
            json!(7),
            PayloadInvalid,
            Must,
            "the name as a number",
        ),
        (
            "vers-other",
            "token::valid::yank",
            "vers",
            json!("0.1.1"),
            VersMismatch,
            Must,
            "another version",
        ),
        (
            "vers-with-build-metadata",
            "token::valid::yank",
            "vers",
            json!(format!("{}+build", k.vers)),
            VersMismatch,
            Should,
            "the version with build metadata added (semver ignores it for precedence; the binding is the exact string)",
        ),
        (
            "vers-leading-v",
            "token::valid::yank",
            "vers",
            json!(format!("v{}", k.vers)),
            VersMismatch,
            Must,
            "the version prefixed with `v`",
        ),
        (
            "cksum-other-crate",
            "token::valid::publish",
            "cksum",
            json!(fx.other_cksum),
            CksumMismatch,
            Must,
            "the SHA-256 of a different .crate",
        ),
        (
            "cksum-uppercase",
            "token::valid::publish",
            "cksum",
            json!(k.cksum.to_uppercase()),
            CksumMismatch,
            Should,
            "the right SHA-256 in uppercase hex (Cargo writes lowercase)",
        ),
        (
            "cksum-truncated",
            "token::valid::publish",
            "cksum",
            json!(k.cksum[..32]),
            CksumMismatch,
            Must,
            "the first half of the right checksum",
        ),
    ];
    for (slug, base, claim, value, kind, level, description) in edits {
        let op = if base.ends_with("publish") {
            publish(fx)
        } else {
            yank(fx)
        };
        g.case(slug, level, &format!("{claim}: {description}"))
            .from(base, &format!("{claim} := {value}"))
            .spec(&[RFC_PACKAGE, RFC_PUBLISH])
            .flags(&[Flag::MisBound, Flag::Binding])
            .token(
                Draft::new(fx, op).edit_json(|c| {
                    c.insert(claim.into(), value);
                }),
                invalid(kind),
            );
    }
    // The request acts on a crate that exists, so refusing it can only be about the token.
    let dashed = if k.name.contains('-') {
        k.name.clone()
    } else {
        "my-crate".to_string()
    };
    let underscored = dashed.replace('-', "_");
    let dashed_yank = Operation::Yank {
        name: dashed.clone(),
        vers: k.vers.clone(),
    };
    g.case("name-dash-for-underscore", Should, &format!("the token says `{underscored}`, the request acts on `{dashed}` (registries may treat them as one crate; the token binds the exact name)"))
        .from("token::valid::yank", &format!("name := {underscored:?}; request name := {dashed:?}"))
        .spec(&[RFC_PACKAGE])
        .flags(&[Flag::MisBound, Flag::Binding])
        .token(
            Draft::new(fx, dashed_yank).edit_json(|c| {
                c.insert("name".into(), json!(underscored));
            }),
            invalid(NameMismatch),
        );
    for (slug, base, claim) in [
        ("name-missing", "token::valid::yank", "name"),
        ("vers-missing", "token::valid::yank", "vers"),
        ("cksum-missing", "token::valid::publish", "cksum"),
    ] {
        let op = if base.ends_with("publish") {
            publish(fx)
        } else {
            yank(fx)
        };
        g.case(
            slug,
            Must,
            &format!("a {} token without `{claim}`", op.kind().as_str()),
        )
        .from(base, &format!("remove {claim}"))
        .spec(&[RFC_MISSING])
        .flags(&[Flag::MisBound, Flag::MissingClaim])
        .token(
            Draft::new(fx, op).edit_json(|c| {
                c.remove(claim);
            }),
            invalid(MissingClaim),
        );
    }
    let ops = operations(fx);
    let misplaced: [(&str, &str, &Operation, &str, Value); 4] = [
        (
            "name-on-read",
            "token::valid::read",
            &ops[0].1,
            "name",
            json!(k.name),
        ),
        (
            "vers-on-owners",
            "token::valid::owners",
            &ops[4].1,
            "vers",
            json!(k.vers),
        ),
        (
            "cksum-on-yank",
            "token::valid::yank",
            &ops[2].1,
            "cksum",
            json!(k.cksum),
        ),
        (
            "cksum-on-read",
            "token::valid::read",
            &ops[0].1,
            "cksum",
            json!(k.cksum),
        ),
    ];
    for (slug, base, op, claim, value) in misplaced {
        g.case(slug, Should, &format!("a {} token carrying `{claim}`, which Cargo never puts there (Cargo's test registry refuses name/vers on the wrong operation)", op.kind().as_str()))
            .from(base, &format!("{claim} := {value}"))
            .spec(&[RFC_CKSUM, CARGO_OPERATIONS, CARGO_TEST_VERIFIER])
            .flags(&[Flag::MisBound, Flag::ExtraClaim])
            .token(
                Draft::new(fx, op.clone()).edit_json(|c| {
                    c.insert(claim.into(), value);
                }),
                invalid(UnexpectedClaim),
            );
    }
}

fn claims(fx: &Fixture, g: &mut Group) {
    for (slug, value) in [
        ("v-2", json!(2)),
        ("v-0", json!(0)),
        ("v-string", json!("1")),
        ("v-float", json!(1.5)),
        ("v-negative", json!(-1)),
        ("v-null", Value::Null),
    ] {
        g.case(
            slug,
            Must,
            &format!("the format version claim `v` is {value}"),
        )
        .from("token::valid::yank", &format!("v := {value}"))
        .spec(&[RFC_V])
        .flags(&[Flag::MisBound, Flag::Version])
        .token(
            Draft::new(fx, yank(fx)).edit_json(|c| {
                c.insert("v".into(), value);
            }),
            invalid(UnsupportedV),
        );
    }
    if fx.signer_subject.is_some() {
        g.case(
            "sub-other",
            Must,
            "`sub` differs from the subject on file for the key",
        )
        .from("token::valid::yank", "sub := \"someone-else\"")
        .spec(&[RFC_SUB])
        .flags(&[Flag::MisBound, Flag::Subject])
        .token(
            Draft::new(fx, yank(fx)).with(|d| d.claims.sub = Some("someone-else".into())),
            invalid(SubjectMismatch),
        );
        g.case(
            "sub-missing",
            Must,
            "no `sub` although the key has a subject on file",
        )
        .from("token::valid::yank", "remove sub")
        .spec(&[RFC_SUB, RFC_MISSING])
        .flags(&[Flag::MisBound, Flag::Subject, Flag::MissingClaim])
        .token(
            Draft::new(fx, yank(fx)).with(|d| d.claims.sub = None),
            invalid(MissingClaim),
        );
        g.case("sub-number", Must, "`sub` as a number")
            .from("token::valid::yank", "sub := 7")
            .spec(&[RFC_SUB])
            .flags(&[Flag::MisBound, Flag::Subject])
            .token(
                Draft::new(fx, yank(fx)).edit_json(|c| {
                    c.insert("sub".into(), json!(7));
                }),
                invalid(PayloadInvalid),
            );
    }
    if let Some(second) = &fx.second {
        g.case("sub-without-record", Should, "a `sub` claim from a key that has no subject on file (Cargo's test registry refuses it)")
            .from("token::valid::yank-without-sub", "sub := \"x\"")
            .spec(&[RFC_SUB, CARGO_TEST_VERIFIER])
            .flags(&[Flag::MisBound, Flag::Subject])
            .token(
                Draft::new(fx, yank(fx))
                    .signed_by(second)
                    .with(|d| d.claims.sub = Some("x".into())),
                acceptable(SubjectMismatch, PolicyKnob::SubjectWithoutRecord),
            );
    }
    g.case(
        "challenge-not-issued",
        Should,
        "a `challenge` claim although the registry issued no challenge: refusing it is recommended (the claim answers nothing), not required, since RFC 3231's challenge rules bind only registries that issue challenges; one that issues none and ignores the claim, as Cargo's test registry does, breaks no rule",
    )
    .from("token::valid::yank", "challenge := \"c\"")
    .spec(&[RFC_CHALLENGE, CARGO_TEST_VERIFIER])
    .flags(&[Flag::MisBound, Flag::Challenge])
    .token(
        Draft::new(fx, yank(fx)).with(|d| d.claims.challenge = Some("c".into())),
        invalid(UnexpectedChallenge),
    );
    g.case(
        "challenge-answered",
        Must,
        "the registry issued a challenge and the token answers it",
    )
    .from(
        "token::valid::yank",
        "issued challenge := \"c1\"; challenge := \"c1\"",
    )
    .spec(&[RFC_CHALLENGE])
    .flags(&[Flag::Valid, Flag::Challenge])
    .token(
        Draft::new(fx, yank(fx)).with(|d| {
            d.issued_challenge = Some("c1".into());
            d.claims.challenge = Some("c1".into());
        }),
        valid(),
    );
    g.case(
        "challenge-wrong",
        Must,
        "the token answers another challenge than the one issued",
    )
    .from(
        "token::valid::yank",
        "issued challenge := \"c1\"; challenge := \"c2\"",
    )
    .spec(&[RFC_CHALLENGE])
    .flags(&[Flag::MisBound, Flag::Challenge])
    .token(
        Draft::new(fx, yank(fx)).with(|d| {
            d.issued_challenge = Some("c1".into());
            d.claims.challenge = Some("c2".into());
        }),
        invalid(ChallengeMismatch),
    );
    g.case(
        "challenge-unanswered",
        Must,
        "the registry issued a challenge and the token has none",
    )
    .from("token::valid::yank", "issued challenge := \"c1\"")
    .spec(&[RFC_CHALLENGE, RFC_MISSING])
    .flags(&[Flag::MisBound, Flag::Challenge, Flag::MissingClaim])
    .token(
        Draft::new(fx, yank(fx)).with(|d| d.issued_challenge = Some("c1".into())),
        invalid(MissingClaim),
    );
    g.case("unknown-claim-expired-exp", Should, "an `exp` claim already in the past: Cargo defines no exp, so a registry may ignore it (accept) or refuse unknown claims")
        .from("token::valid::publish", "exp := \"2020-01-01T00:00:00Z\"")
        .spec(&[RFC_CUSTOM])
        .flags(&[Flag::MisBound, Flag::UnknownClaim])
        .token(
            Draft::new(fx, publish(fx)).edit_json(|c| {
                c.insert("exp".into(), json!("2020-01-01T00:00:00Z"));
            }),
            acceptable(UnexpectedClaim, PolicyKnob::UnknownClaims),
        );
}

/// The host with its first character that has a well-known look-alike replaced by it
/// (Cyrillic `е` for `e`, `а` for `a`, `о` for `o`; `l` for `1`, `O` for `0`).
fn homoglyph(host: &str) -> String {
    const SWAPS: [(char, &str); 5] = [
        ('e', "\u{0435}"),
        ('a', "\u{0430}"),
        ('o', "\u{043e}"),
        ('1', "l"),
        ('0', "O"),
    ];
    for (from, to) in SWAPS {
        if host.contains(from) {
            return host.replacen(from, to, 1);
        }
    }
    format!("{host}\u{0435}")
}
