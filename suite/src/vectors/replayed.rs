//! `token::replayed`: valid tokens presented again, elsewhere or for something else.

use time::Duration;

use super::build::{Draft, Group, invalid, valid};
use super::cite::*;
use super::fixture::Fixture;
use super::valid::{publish, yank};
use crate::cases::Level::{Must, Should};
use crate::cases::flags::Flag;
use crate::cases::token::CrateVersion;
use crate::paseto::SignatureForm;
use crate::rejection::RejectionKind::{
    MutationMismatch, NameMismatch, Replayed, UrlMismatch, VersMismatch, VersionExists,
};
use crate::token::Operation;

pub fn build(fx: &Fixture) -> Group {
    let mut g = Group::new(
        "token::replayed",
        "A token captured from one request and sent with another: to another registry, for another version, crate or mutation, or again. Read and owners tokens must stay reusable inside the window, because Cargo reuses them.",
    );
    let k = &fx.krate;
    g.case(
        "cross-registry",
        Must,
        "a publish token made for another registry, replayed to this one",
    )
    .from(
        "token::valid::publish",
        "footer url := another registry's index URL",
    )
    .spec(&[RFC_URL])
    .flags(&[Flag::Replay, Flag::CrossRegistry])
    .token(
        Draft::new(fx, publish(fx)).with(|d| d.footer.url = fx.other_index_url.clone()),
        invalid(UrlMismatch),
    );
    g.case(
        "cross-registry-read",
        Must,
        "a read token made for another registry, replayed to this one",
    )
    .from(
        "token::valid::read",
        "footer url := another registry's index URL",
    )
    .spec(&[RFC_URL])
    .flags(&[Flag::Replay, Flag::CrossRegistry])
    .token(
        Draft::new(fx, Operation::Read).with(|d| d.footer.url = fx.other_index_url.clone()),
        invalid(UrlMismatch),
    );
    // Cargo's own test registries also take crates.io's git index URL (they stand in for
    // crates.io by source replacement); a real registry must not: a token a user made for
    // crates.io is not a token for it.
    g.case(
        "crates-io-git-url",
        Must,
        "a yank token bound to crates.io's git index URL, sent to this registry",
    )
    .from(
        "token::valid::yank",
        "footer url := https://github.com/rust-lang/crates.io-index",
    )
    .spec(&[RFC_URL])
    .flags(&[Flag::Replay, Flag::CrossRegistry])
    .token(
        Draft::new(fx, yank(fx)).with(|d| {
            d.footer.url = "https://github.com/rust-lang/crates.io-index".into();
        }),
        invalid(UrlMismatch),
    );
    g.case(
        "crates-io-sparse-url",
        Must,
        "a read token bound to crates.io's sparse index URL, sent to this registry",
    )
    .from(
        "token::valid::read",
        "footer url := sparse+https://index.crates.io/",
    )
    .spec(&[RFC_URL])
    .flags(&[Flag::Replay, Flag::CrossRegistry])
    .token(
        Draft::new(fx, Operation::Read).with(|d| {
            d.footer.url = "sparse+https://index.crates.io/".into();
        }),
        invalid(UrlMismatch),
    );
    let next_version = fx.publish_version("0.1.1");
    g.case(
        "publish-for-other-version",
        Must,
        "a publish token for 0.1.0 re-used to publish 0.1.1",
    )
    .from(
        "token::valid::publish",
        "request := publish 0.1.1 (its own .crate)",
    )
    .spec(&[RFC_PACKAGE, RFC_PUBLISH])
    .flags(&[Flag::Replay])
    .token(
        Draft::new(fx, publish(fx)).with(|d| d.request = next_version),
        invalid(VersMismatch),
    );
    let other_crate = Operation::Publish {
        name: fx.other_name(),
        vers: k.vers.clone(),
        cksum: k.cksum.clone(),
    };
    g.case(
        "publish-for-other-crate",
        Must,
        "a publish token for crate foo re-used to publish crate bar",
    )
    .from("token::valid::publish", "request := publish bar")
    .spec(&[RFC_PACKAGE])
    .flags(&[Flag::Replay])
    .token(
        Draft::new(fx, publish(fx)).with(|d| d.request = other_crate),
        invalid(NameMismatch),
    );
    let unyank = Operation::Unyank {
        name: k.name.clone(),
        vers: k.vers.clone(),
    };
    let owners = Operation::Owners {
        name: k.name.clone(),
    };
    let cross_mutation: [(&str, &str, Operation, Operation); 5] = [
        (
            "yank-token-for-unyank",
            "token::valid::yank",
            yank(fx),
            unyank.clone(),
        ),
        (
            "unyank-token-for-yank",
            "token::valid::unyank",
            unyank.clone(),
            yank(fx),
        ),
        (
            "publish-token-for-yank",
            "token::valid::publish",
            publish(fx),
            yank(fx),
        ),
        (
            "yank-token-for-owners",
            "token::valid::yank",
            yank(fx),
            owners.clone(),
        ),
        (
            "owners-token-for-yank",
            "token::valid::owners",
            owners.clone(),
            yank(fx),
        ),
    ];
    for (slug, base, token_op, request) in cross_mutation {
        let description = format!(
            "a {} token re-used for a {} request",
            token_op.kind().as_str(),
            request.kind().as_str()
        );
        g.case(slug, Must, &description)
            .from(base, &format!("request := {}", request.kind().as_str()))
            .spec(&[RFC_MUTATION])
            .flags(&[Flag::Replay, Flag::CrossMutation])
            .token(
                Draft::new(fx, token_op).with(|d| d.request = request),
                invalid(MutationMismatch),
            );
    }
    g.case(
        "republish-existing-version",
        Must,
        "a valid publish token for a version the registry already has: the publish must be refused",
    )
    .from(
        "token::valid::publish",
        "registry state := foo 0.1.0 already published",
    )
    .spec(&[RFC_PUBLISH])
    .flags(&[Flag::Replay, Flag::Republish])
    .token(
        Draft::new(fx, publish(fx)).with(|d| {
            if let Operation::Publish { name, vers, .. } = &d.request {
                d.registry.published = vec![CrateVersion {
                    name: name.clone(),
                    vers: vers.clone(),
                }];
            }
        }),
        invalid(VersionExists),
    );
    for (slug, base, op) in [
        (
            "publish-token-replayed",
            "token::valid::publish",
            publish(fx),
        ),
        ("yank-token-replayed", "token::valid::yank", yank(fx)),
        (
            "unyank-token-replayed",
            "token::valid::unyank",
            unyank.clone(),
        ),
    ] {
        let kind = op.kind().as_str();
        g.case(slug, Should, &format!("the same {kind} token sent twice inside the window: Cargo makes a fresh token per {kind}, so a second use is a replay (RFC 3231's unyank-after-yank attack)"))
            .from(base, "registry state := this token already accepted")
            .spec(&[RFC_CHALLENGES])
            .flags(&[Flag::Replay, Flag::SingleUse])
            .token(
                Draft::new(fx, op).with(|d| d.accepted_before = vec![d.token()]),
                invalid(Replayed),
            );
    }
    g.case("yank-token-replayed-high-s-flipped", Should, "an accepted yank token replayed with its signature's s replaced by n - s: still a valid signature, still the same token; a replay cache keyed on the token string misses it")
        .from("token::valid::yank", "registry state := the low-S form accepted; signature := high-S form")
        .spec(&[RFC_CHALLENGES, ECDSA_MALLEABILITY])
        .flags(&[Flag::Replay, Flag::SingleUse, Flag::Malleability, Flag::HighS])
        .token(
            Draft::new(fx, yank(fx)).with(|d| {
                d.accepted_before = vec![d.token()];
                d.form = SignatureForm::HighS;
            }),
            invalid(Replayed),
        );
    g.case(
        "unyank-replayed-after-yank",
        Should,
        "RFC 3231's own replay scenario: an unyank token is replayed after a later yank",
    )
    .from(
        "token::valid::unyank",
        "registry state := this unyank token accepted, then a yank",
    )
    .spec(&[RFC_CHALLENGES])
    .flags(&[Flag::Replay, Flag::SingleUse])
    .token(
        Draft::new(fx, unyank.clone()).with(|d| {
            let yank_token = Draft::new(fx, yank(fx))
                .iat_at(Duration::seconds(-2))
                .token();
            d.accepted_before = vec![d.token(), yank_token];
        }),
        invalid(Replayed),
    );
    g.case("read-token-reused", Must, "a read token used again 14 minutes after it was issued: Cargo caches one read token for a whole command, so reuse inside the window must be accepted")
        .from("token::valid::read", "registry state := this read token accepted before; iat := now - 14 min")
        .spec(&[RFC_READ_REUSE, CARGO_READ_CACHE])
        .flags(&[Flag::Replay, Flag::Interop])
        .token(
            Draft::new(fx, Operation::Read)
                .iat_at(-fx.max_age + Duration::minutes(1))
                .with(|d| d.accepted_before = vec![d.token(), d.token()]),
            valid(),
        );
    g.case("owners-token-reused", Must, "one owners token used for list, add and remove: `cargo owner` builds one token per command and sends it on every request, so reuse must be accepted")
        .from("token::valid::owners", "registry state := this owners token accepted twice (list, add)")
        .spec(&[CARGO_OWNERS])
        .flags(&[Flag::Replay, Flag::Interop])
        .token(
            Draft::new(fx, owners).with(|d| d.accepted_before = vec![d.token(), d.token()]),
            valid(),
        );
    g
}
