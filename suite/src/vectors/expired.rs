//! `token::expired`: tokens outside the freshness window, or whose `iat` is not a time.

use serde_json::{Value, json};
use time::Duration;

use super::build::{Draft, Group, acceptable, invalid};
use super::cite::*;
use super::fixture::Fixture;
use super::valid::publish;
use crate::cases::Level::{Must, Should};
use crate::cases::flags::Flag;
use crate::cases::token::PolicyKnob;
use crate::rejection::RejectionKind::{self, Expired, InvalidIat, IssuedInFuture, MissingClaim};
use crate::token::Operation;

const BASE: &str = "token::valid::publish";

pub fn build(fx: &Fixture) -> Group {
    let mut g = Group::new(
        "token::expired",
        "Tokens issued too long ago, too far in the future, or with an iat that is not an RFC 3339 time. Window: 15 minutes back, 60 s ahead, both inclusive.",
    );
    let offsets: [(&str, &str, Duration, RejectionKind); 9] = [
        (
            "just-past-window",
            "iat 15 min 1 s before now",
            -fx.max_age - Duration::seconds(1),
            Expired,
        ),
        (
            "one-nanosecond-past-window",
            "iat 15 min and 1 ns before now: the boundary is exact to the nanosecond",
            -fx.max_age - Duration::nanoseconds(1),
            Expired,
        ),
        (
            "one-hour-old",
            "iat one hour before now",
            Duration::hours(-1),
            Expired,
        ),
        (
            "one-day-old",
            "iat one day before now",
            Duration::days(-1),
            Expired,
        ),
        (
            "one-year-old",
            "iat one year before now",
            Duration::days(-365),
            Expired,
        ),
        (
            "just-past-skew",
            "iat 61 s in the future: beyond the allowed clock skew",
            fx.max_skew + Duration::seconds(1),
            IssuedInFuture,
        ),
        (
            "one-nanosecond-past-skew",
            "iat 60 s and 1 ns in the future",
            fx.max_skew + Duration::nanoseconds(1),
            IssuedInFuture,
        ),
        (
            "ten-minutes-ahead",
            "iat 10 minutes in the future (Cargo's test registry accepts it: a token dated ahead lives longer)",
            Duration::minutes(10),
            IssuedInFuture,
        ),
        (
            "one-year-ahead",
            "iat one year in the future",
            Duration::days(365),
            IssuedInFuture,
        ),
    ];
    for (slug, description, offset, kind) in offsets {
        let (class, edge) = if kind == Expired {
            (Flag::Expired, -fx.max_age)
        } else {
            (Flag::NotYetValid, fx.max_skew)
        };
        // Within two seconds of the window's edge: decided by clock skew and network latency
        // as much as by the registry, so the registry runner leaves it to the offline check.
        let near_edge = (offset - edge).abs() <= Duration::seconds(2);
        let flags: &[Flag] = if near_edge {
            &[class, Flag::Boundary]
        } else {
            &[class]
        };
        g.case(slug, Must, description)
            .from(BASE, &format!("iat := now {} s", offset.as_seconds_f64()))
            .spec(&[RFC_TIME])
            .flags(flags)
            .token(Draft::new(fx, publish(fx)).iat_at(offset), invalid(kind));
    }
    g.case("epoch", Must, "iat at the Unix epoch")
        .from(BASE, "iat := 1970-01-01T00:00:00Z")
        .spec(&[RFC_TIME])
        .flags(&[Flag::Expired])
        .token(set_iat(fx, json!("1970-01-01T00:00:00Z")), invalid(Expired));
    let unparsable: [(&str, &str, Value); 10] = [
        (
            "iat-date-only",
            "iat is a date without a time",
            json!("2026-01-01"),
        ),
        ("iat-words", "iat is not a date", json!("yesterday")),
        ("iat-empty", "iat is the empty string", json!("")),
        (
            "iat-month-13",
            "iat has month 13",
            json!("2025-13-31T23:59:55Z"),
        ),
        (
            "iat-hour-25",
            "iat has hour 25",
            json!("2025-12-31T25:59:55Z"),
        ),
        (
            "iat-second-60",
            "iat has second 60 at 12:30, where no leap second can fall",
            json!("2025-12-31T12:30:60Z"),
        ),
        (
            "iat-no-offset",
            "iat without a time zone offset",
            json!("2025-12-31T23:59:55"),
        ),
        (
            "iat-unix-seconds",
            "iat as a JSON number of Unix seconds",
            json!(fx.clock.unix_timestamp() - 5),
        ),
        ("iat-null", "iat is null", Value::Null),
        (
            "iat-object",
            "iat is an object",
            json!({"secs": fx.clock.unix_timestamp() - 5}),
        ),
    ];
    for (slug, description, value) in unparsable {
        g.case(slug, Must, description)
            .from(BASE, &format!("iat := {value}"))
            .spec(&[RFC_TIME, CARGO_IAT])
            .flags(&[Flag::InvalidIat])
            .token(set_iat(fx, value), invalid(InvalidIat));
    }
    g.case(
        "iat-missing",
        Must,
        "no iat claim at all: the window cannot be checked",
    )
    .from(BASE, "remove iat")
    .spec(&[RFC_MISSING, RFC_TIME])
    .flags(&[Flag::MissingClaim])
    .token(
        Draft::new(fx, publish(fx)).edit_json(|c| {
            c.remove("iat");
        }),
        invalid(MissingClaim),
    );
    let lenient: [(&str, &str, &str); 3] = [
        (
            "iat-lowercase-t",
            "iat with a lowercase `t` separator: PASETO requires `T`; the time crate (and Cargo's test registry) accept it",
            "2025-12-31t23:59:55Z",
        ),
        (
            "iat-lowercase-z",
            "iat with a lowercase `z`: PASETO requires `Z`",
            "2025-12-31T23:59:55z",
        ),
        (
            "iat-space-separator",
            "iat with a space between date and time (RFC 3339 §5.6 NOTE allows it for readability; PASETO does not)",
            "2025-12-31 23:59:55Z",
        ),
    ];
    for (slug, description, text) in lenient {
        g.case(slug, Should, description)
            .from(BASE, &format!("iat := {text:?}"))
            .spec(&[PASETO_DATETIME, CARGO_TEST_VERIFIER])
            .flags(&[Flag::InvalidIat, Flag::Strictness])
            .token(
                set_iat(fx, json!(text)),
                acceptable(InvalidIat, PolicyKnob::IatSyntax),
            );
    }
    g.case("read-token-after-window", Must, "a read token reused 16 minutes after it was issued (Cargo caches read tokens for a whole command): past the window")
        .from("token::valid::read", "iat := now - 16 min")
        .spec(&[RFC_TIME, CARGO_READ_CACHE])
        .flags(&[Flag::Expired, Flag::Replay])
        .token(
            Draft::new(fx, Operation::Read).iat_at(-fx.max_age - Duration::minutes(1)),
            invalid(Expired),
        );
    g
}

/// The base publish token with `iat` replaced by an arbitrary JSON value.
fn set_iat(fx: &Fixture, value: Value) -> Draft<'_> {
    Draft::new(fx, publish(fx)).edit_json(|c| {
        c.insert("iat".into(), value);
    })
}
