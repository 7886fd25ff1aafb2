//! `token::malformed`: tokens that are not well-formed v3.public Cargo tokens, signatures that
//! cannot be valid, and registered keys that are not P-384 points.

use serde_json::json;

use super::build::{CaseBuilder, Draft, Group, acceptable, invalid};
use super::cite::*;
use super::fixture::{Fixture, registered};
use super::valid::{publish, yank};
use crate::b64;
use crate::cases::Level::{self, Must, Should};
use crate::cases::flags::Flag;
use crate::cases::token::{PolicyKnob, TokenExpect};
use crate::paseto::SIGNATURE_LEN;
use crate::rejection::RejectionKind::{
    BadBase64, BadSignature, DuplicateKey, FooterInvalid, FooterMissing, InvalidPublicKey,
    Malformed, MissingClaim, NestingTooDeep, PayloadInvalid, TooLarge, UnsupportedPurpose,
    UnsupportedVersion,
};
use crate::token::Operation;

const BASE: &str = "token::valid::yank";

/// What the deep-nesting cases hold every verifier to, whatever its depth limit.
const DEPTH_RULE: &str = "The limit is the verifier's choice (PASETO asks for one, not for a number): either answer conforms; what must hold is no crash and, over HTTP, a 2xx or any 4xx, never a 5xx (payload-nesting-10000, at should level, asks for a refusal by size at any depth)";

/// The token's `.`-separated segments.
fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_string).collect()
}

/// Decodes the body segment, edits the bytes, and re-encodes it.
fn map_body(token: String, edit: impl Fn(&mut Vec<u8>)) -> String {
    let mut parts = segments(&token);
    let mut body = b64::decode(&parts[2]).expect("generated tokens decode");
    edit(&mut body);
    parts[2] = b64::encode(&body);
    parts.join(".")
}

/// Replaces `r` and/or `s` (each 48 bytes, big-endian) in the signature.
fn set_signature(token: String, r: Option<[u8; 48]>, s: Option<[u8; 48]>) -> String {
    map_body(token, |body| {
        let at = body.len() - SIGNATURE_LEN;
        if let Some(r) = r {
            body[at..at + 48].copy_from_slice(&r);
        }
        if let Some(s) = s {
            body[at + 48..].copy_from_slice(&s);
        }
    })
}

/// The P-384 group order n, big-endian.
const N: [u8; 48] = hex_48(
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
);

const fn hex_48(s: &str) -> [u8; 48] {
    let b = s.as_bytes();
    let mut out = [0u8; 48];
    let mut i = 0;
    while i < 48 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not lowercase hex"),
    }
}

/// Sets the unused low bits of a segment's last character, making the encoding
/// non-canonical. The segment's length must leave unused bits (length % 4 is 2 or 3).
fn non_canonical(segment: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = segment.as_bytes()[segment.len() - 1];
    let value = ALPHABET.iter().position(|&c| c == last).expect("base64url");
    format!(
        "{}{}",
        &segment[..segment.len() - 1],
        ALPHABET[value | 1] as char
    )
}

/// Pads JSON with trailing spaces until `len + extra` leaves a partial base64 block.
fn pad_to_partial_block(mut json: Vec<u8>, extra: usize) -> Vec<u8> {
    while (json.len() + extra) % 3 != 1 {
        json.push(b' ');
    }
    json
}

pub fn build(fx: &Fixture) -> Group {
    let mut g = Group::new(
        "token::malformed",
        "Not a well-formed v3.public Cargo token: wrong header, segments, base64, signature bytes, payload or footer JSON, or an invalid registered key.",
    );
    headers(fx, &mut g);
    structure(fx, &mut g);
    encoding(fx, &mut g);
    signatures(fx, &mut g);
    json_parts(fx, &mut g);
    registered_keys(fx, &mut g);
    g
}

/// Starts a case derived from the base yank token.
fn case<'g>(
    g: &'g mut Group,
    slug: &str,
    level: Level,
    description: &str,
    mutation: &str,
) -> CaseBuilder<'g> {
    g.case(slug, level, description).from(BASE, mutation)
}

fn headers(fx: &Fixture, g: &mut Group) {
    for (slug, header, kind) in [
        ("header-v4-public", "v4.public.", UnsupportedVersion),
        ("header-v2-public", "v2.public.", UnsupportedVersion),
        ("header-v1-public", "v1.public.", UnsupportedVersion),
        ("header-uppercase-version", "V3.public.", UnsupportedVersion),
        ("header-v3-local", "v3.local.", UnsupportedPurpose),
        ("header-uppercase-purpose", "v3.PUBLIC.", UnsupportedPurpose),
        ("header-purpose-suffix", "v3.publicX.", UnsupportedPurpose),
    ] {
        case(
            g,
            slug,
            Must,
            &format!("the header is `{header}` (PASETO headers are exact and case-sensitive)"),
            &format!("header := {header:?}"),
        )
        .spec(&[RFC_FORMAT, PASETO_SIGN])
        .flags(&[Flag::Malformed, Flag::Header])
        .token(
            Draft::new(fx, yank(fx)).edit_token(move |t| t.replacen("v3.public.", header, 1)),
            invalid(kind),
        );
    }
}

fn structure(fx: &Fixture, g: &mut Group) {
    let draft = || Draft::new(fx, yank(fx));
    case(
        g,
        "not-a-token",
        Must,
        "a string with no `.` at all",
        "token := \"garbage\"",
    )
    .spec(&[RFC_FORMAT])
    .flags(&[Flag::Malformed])
    .token(draft().edit_token(|_| "garbage".into()), invalid(Malformed));
    case(
        g,
        "empty-token",
        Must,
        "an empty Authorization value",
        "token := \"\"",
    )
    .spec(&[RFC_FORMAT])
    .flags(&[Flag::Malformed])
    .token(draft().edit_token(|_| String::new()), invalid(Malformed));
    case(
        g,
        "header-only",
        Must,
        "only the header `v3.public.`",
        "token := \"v3.public.\"",
    )
    .spec(&[RFC_FORMAT])
    .flags(&[Flag::Malformed])
    .token(
        draft().edit_token(|_| "v3.public.".into()),
        invalid(Malformed),
    );
    case(
        g,
        "no-footer-segment",
        Must,
        "the footer segment removed: no url, no kip (Cargo always sends a footer)",
        "drop the 4th segment",
    )
    .spec(&[RFC_KEY, RFC_URL, CARGO_FOOTER])
    .flags(&[Flag::Malformed, Flag::Footer])
    .token(
        draft().with(|d| d.footer_raw = Some(Vec::new())),
        invalid(FooterMissing),
    );
    case(
        g,
        "trailing-dot",
        Must,
        "a trailing `.` with an empty footer segment",
        "append \".\" after dropping the footer",
    )
    .spec(&[PASETO_SIGN])
    .flags(&[Flag::Malformed])
    .token(
        draft()
            .with(|d| d.footer_raw = Some(Vec::new()))
            .edit_token(|t| format!("{t}.")),
        invalid(Malformed),
    );
    case(
        g,
        "five-segments",
        Must,
        "a fifth segment after the footer",
        "append \".AAAA\"",
    )
    .spec(&[PASETO_SIGN])
    .flags(&[Flag::Malformed])
    .token(
        draft().edit_token(|t| format!("{t}.AAAA")),
        invalid(Malformed),
    );
    case(
        g,
        "empty-payload-segment",
        Must,
        "the payload segment is empty",
        "segment 3 := \"\"",
    )
    .spec(&[PASETO_SIGN])
    .flags(&[Flag::Malformed])
    .token(
        draft().edit_token(|t| {
            let mut p = segments(&t);
            p[2].clear();
            p.join(".")
        }),
        invalid(Malformed),
    );
    case(g, "bearer-scheme", Should, "`Bearer ` in front of the token: Cargo sends the token raw, with no scheme (crates.io-style servers strip it; the reference refuses it)", "prefix \"Bearer \"")
        .spec(&[RFC_FORMAT])
        .flags(&[Flag::Malformed, Flag::Interop])
        .token(draft().edit_token(|t| format!("Bearer {t}")), invalid(Malformed));
    case(
        g,
        "signature-only-body",
        Must,
        "the body is just a 96-byte signature: an empty payload",
        "body := signature",
    )
    .spec(&[PASETO_SIGN])
    .flags(&[Flag::Malformed])
    .token(
        draft().edit_token(|t| {
            map_body(t, |b| {
                b.drain(..b.len() - SIGNATURE_LEN);
            })
        }),
        invalid(Malformed),
    );
    case(
        g,
        "short-body",
        Must,
        "the body is 50 bytes, shorter than a signature",
        "body := first 50 bytes",
    )
    .spec(&[PASETO_SIGN])
    .flags(&[Flag::Malformed])
    .token(
        draft().edit_token(|t| map_body(t, |b| b.truncate(50))),
        invalid(Malformed),
    );
}

fn encoding(fx: &Fixture, g: &mut Group) {
    let draft = || Draft::new(fx, yank(fx));
    let spec = &[PASETO_B64];
    let flags = &[Flag::Malformed, Flag::Base64];
    case(
        g,
        "payload-padding",
        Must,
        "`=` padding after the body segment",
        "append \"=\" to segment 3",
    )
    .spec(spec)
    .flags(flags)
    .token(
        draft().edit_token(|t| {
            let mut p = segments(&t);
            p[2].push('=');
            p.join(".")
        }),
        invalid(BadBase64),
    );
    case(
        g,
        "footer-padding",
        Must,
        "`=` padding after the footer segment",
        "append \"==\" to segment 4",
    )
    .spec(spec)
    .flags(flags)
    .token(draft().edit_token(|t| format!("{t}==")), invalid(BadBase64));
    case(
        g,
        "standard-alphabet",
        Must,
        "the standard base64 alphabet (`+`, `/`) instead of base64url (`-`, `_`)",
        "s/-/+/g; s/_/\\//g in segment 3",
    )
    .spec(spec)
    .flags(flags)
    .token(
        draft()
            .with(|d| d.claims.name = Some(fx.krate.name.clone()))
            .edit_token(|t| {
                let mut p = segments(&t);
                p[2] = p[2].replace('-', "+").replace('_', "/");
                if !p[2].contains(['+', '/']) {
                    p[2].insert(1, '+');
                }
                p.join(".")
            }),
        invalid(BadBase64),
    );
    case(
        g,
        "inner-space",
        Must,
        "a space inside the body segment",
        "insert \" \" in segment 3",
    )
    .spec(spec)
    .flags(flags)
    .token(
        draft().edit_token(|t| {
            let mut p = segments(&t);
            p[2].insert(20, ' ');
            p.join(".")
        }),
        invalid(BadBase64),
    );
    case(
        g,
        "trailing-newline",
        Must,
        "a newline at the end of the token",
        "append \"\\n\"",
    )
    .spec(spec)
    .flags(flags)
    .token(draft().edit_token(|t| format!("{t}\n")), invalid(BadBase64));
    case(
        g,
        "percent-escape",
        Must,
        "a `%41` URL escape inside the body segment",
        "replace a character of segment 3 with \"%41\"",
    )
    .spec(spec)
    .flags(flags)
    .token(
        draft().edit_token(|t| {
            let mut p = segments(&t);
            p[2].replace_range(10..11, "%41");
            p.join(".")
        }),
        invalid(BadBase64),
    );
    case(g, "payload-non-canonical-bits", Must, "the body segment's last character has non-zero unused bits (decodes to the same bytes in lax decoders)", "set the unused bits of segment 3's last character")
        .spec(spec)
        .flags(flags)
        .token(draft()
            .with(|d| {
                d.payload = Some(pad_to_partial_block(
                    d.claims.to_json().into_bytes(),
                    SIGNATURE_LEN,
                ))
            })
            .edit_token(|t| {
                let mut p = segments(&t);
                p[2] = non_canonical(&p[2]);
                p.join(".")
            }), invalid(BadBase64));
    case(
        g,
        "footer-non-canonical-bits",
        Must,
        "the footer segment's last character has non-zero unused bits",
        "set the unused bits of segment 4's last character",
    )
    .spec(spec)
    .flags(flags)
    .token(
        draft()
            .with(|d| d.footer_raw = Some(pad_to_partial_block(d.footer.to_json().into_bytes(), 0)))
            .edit_token(|t| {
                let mut p = segments(&t);
                p[3] = non_canonical(&p[3]);
                p.join(".")
            }),
        invalid(BadBase64),
    );
}

fn signatures(fx: &Fixture, g: &mut Group) {
    let draft = || Draft::new(fx, yank(fx));
    let spec = &[RFC_KEY, PASETO_SIGN];
    let flags = &[Flag::Malformed, Flag::Signature];
    case(
        g,
        "signature-truncated",
        Must,
        "the last signature byte removed (the payload/signature boundary shifts)",
        "drop the body's last byte",
    )
    .spec(spec)
    .flags(flags)
    .token(
        draft().edit_token(|t| {
            map_body(t, |b| {
                b.pop();
            })
        }),
        invalid(BadSignature),
    );
    case(
        g,
        "signature-extended",
        Must,
        "one byte appended after the signature",
        "append 0x00 to the body",
    )
    .spec(spec)
    .flags(flags)
    .token(
        draft().edit_token(|t| map_body(t, |b| b.push(0))),
        invalid(BadSignature),
    );
    case(
        g,
        "signature-bit-flipped",
        Must,
        "one bit of the signature flipped",
        "flip bit 0 of the signature's last byte",
    )
    .spec(spec)
    .flags(flags)
    .token(
        draft().edit_token(|t| {
            map_body(t, |b| {
                let last = b.len() - 1;
                b[last] ^= 1;
            })
        }),
        invalid(BadSignature),
    );
    case(
        g,
        "payload-bit-flipped",
        Must,
        "one bit of the signed payload flipped (yank becomes yanl)",
        "flip bit 0 of a payload byte",
    )
    .spec(spec)
    .flags(flags)
    .token(
        draft().edit_token(|t| {
            map_body(t, |b| {
                let at = b
                    .windows(6)
                    .position(|w| w == b"\"yank\"")
                    .expect("yank claim")
                    + 4;
                b[at] ^= 1;
            })
        }),
        invalid(BadSignature),
    );
    let other_footer = segments(
        &Draft::new(fx, yank(fx))
            .with(|d| d.footer.url = fx.other_index_url.clone())
            .token(),
    )[3]
    .clone();
    case(g, "footer-swapped", Must, "the footer swapped for the footer of another token of the same key (other URL): the footer is signed", "segment 4 := another token's footer")
        .spec(spec)
        .flags(flags)
        .token(draft().edit_token(move |t| {
            let mut p = segments(&t);
            p[3] = other_footer.clone();
            p.join(".")
        }), invalid(BadSignature));
    case(
        g,
        "implicit-assertion",
        Must,
        "signed with a non-empty implicit assertion; Cargo signs and verifies with none",
        "i := \"x\"",
    )
    .spec(&[PASETO_IMPLICIT])
    .flags(flags)
    .token(
        draft().with(|d| d.implicit = b"x".to_vec()),
        invalid(BadSignature),
    );
    let zero = [0u8; 48];
    let mut n_minus_1 = N;
    n_minus_1[47] -= 1;
    for (slug, r, s, description) in [
        (
            "signature-r-s-zero",
            Some(zero),
            Some(zero),
            "r = 0 and s = 0 (CVE-2022-21449 'psychic signatures')",
        ),
        ("signature-r-zero", Some(zero), None, "r = 0"),
        ("signature-s-zero", None, Some(zero), "s = 0"),
        ("signature-r-n", Some(N), None, "r = n, the group order"),
        ("signature-s-n", None, Some(N), "s = n, the group order"),
        (
            "signature-s-all-ones",
            None,
            Some([0xff; 48]),
            "s = 2^384 - 1, above n",
        ),
        (
            "signature-r-n-minus-1",
            Some(n_minus_1),
            None,
            "r = n - 1: in range, but not this signature's r",
        ),
    ] {
        case(
            g,
            slug,
            Must,
            &format!("signature with {description}"),
            &format!("signature: {description}"),
        )
        .spec(&[RFC_KEY, WYCHEPROOF_RANGE])
        .flags(&[Flag::Malformed, Flag::Signature, Flag::RangeCheck])
        .token(
            draft().edit_token(move |t| set_signature(t, r, s)),
            invalid(BadSignature),
        );
    }
}

fn json_parts(fx: &Fixture, g: &mut Group) {
    let draft = || Draft::new(fx, yank(fx));
    let payload_spec = &[RFC_FORMAT, CARGO_MESSAGE];
    let flags = &[Flag::Malformed, Flag::Json];
    for (slug, bytes, description, kind) in [
        (
            "payload-not-json",
            b"arbitrary-string-that-isn't-json".to_vec(),
            "a signed payload that is not JSON",
            PayloadInvalid,
        ),
        (
            "payload-json-array",
            b"[\"yank\"]".to_vec(),
            "a signed payload that is a JSON array",
            PayloadInvalid,
        ),
        (
            "payload-json-string",
            b"\"yank\"".to_vec(),
            "a signed payload that is a JSON string",
            PayloadInvalid,
        ),
        (
            "payload-invalid-utf8",
            b"{\"iat\":\"\xff\xfe\"}".to_vec(),
            "a signed payload that is not UTF-8",
            PayloadInvalid,
        ),
        (
            "payload-bom",
            b"\xef\xbb\xbf{}".to_vec(),
            "a UTF-8 byte-order mark before the JSON",
            PayloadInvalid,
        ),
        (
            "payload-trailing-garbage",
            b"{} x".to_vec(),
            "a JSON object followed by other text",
            PayloadInvalid,
        ),
        (
            "payload-empty-object",
            b"{}".to_vec(),
            "an empty claims object: no iat",
            MissingClaim,
        ),
    ] {
        case(
            g,
            slug,
            Must,
            description,
            &format!("payload := {:?}", String::from_utf8_lossy(&bytes)),
        )
        .spec(payload_spec)
        .flags(flags)
        .token(draft().with(|d| d.payload = Some(bytes)), invalid(kind));
    }
    let payload = |d: &Draft<'_>| d.claims.to_json();
    case(g, "payload-duplicate-mutation", Must, "`mutation` twice, yank then unyank: which one a registry reads must not be the attacker's choice", "append \"mutation\":\"unyank\"")
        .spec(&[PASETO_JSON_KEYS])
        .flags(flags)
        .token(draft().with(|d| {
            let j = payload(d);
            d.payload =
                Some(format!("{},\"mutation\":\"unyank\"}}", &j[..j.len() - 1]).into_bytes());
        }), invalid(DuplicateKey));
    case(
        g,
        "payload-duplicate-iat",
        Must,
        "`iat` twice, fresh then a year old",
        "append a second iat",
    )
    .spec(&[PASETO_JSON_KEYS])
    .flags(flags)
    .token(
        draft().with(|d| {
            let j = payload(d);
            d.payload = Some(
                format!("{},\"iat\":\"2025-01-01T00:00:00Z\"}}", &j[..j.len() - 1]).into_bytes(),
            );
        }),
        invalid(DuplicateKey),
    );
    case(
        g,
        "payload-duplicate-escaped-key",
        Must,
        "`name` and `n\\u0061me`: the same key once escapes are decoded",
        "append \"n\\u0061me\":\"bar\"",
    )
    .spec(&[PASETO_JSON_KEYS])
    .flags(flags)
    .token(
        draft().with(|d| {
            let j = payload(d);
            d.payload =
                Some(format!("{},\"n\\u0061me\":\"bar\"}}", &j[..j.len() - 1]).into_bytes());
        }),
        invalid(DuplicateKey),
    );
    case(
        g,
        "payload-deep-nesting",
        Must,
        &format!("a claim nested 40 levels deep, in a token that is otherwise valid: accepted by a verifier whose JSON depth limit is above 40 (serde_json's is 128), refused as nesting-too-deep by one whose limit is below (credlab's is 32). {DEPTH_RULE}"),
        "custom := [[[…40…]]]",
    )
    .spec(&[PASETO_FOOTER, SERDE_JSON_DEPTH, CARGO_TEST_VERIFIER])
    .flags(flags)
    .token(
        draft().edit_json(|c| {
            c.insert(
                "custom".into(),
                serde_json::from_str(&format!("{}1{}", "[".repeat(40), "]".repeat(40)))
                    .expect("json"),
            );
        }),
        acceptable(NestingTooDeep, PolicyKnob::JsonDepth),
    );
    // Should, as huge-token: the token is signed by the key's holder, and a verifier that
    // skips the unknown claim (serde_json ignoring it, as Cargo's test registry does) accepts
    // it harmlessly; the must-level no-crash rule for depth is payload-deep-nesting's.
    case(
        g,
        "payload-nesting-10000",
        Should,
        "a claim nested 10 000 levels deep, which makes the token larger than any real one",
        "custom := [[[…10 000…]]]",
    )
    .spec(&[PASETO_FOOTER])
    .flags(&[Flag::Malformed, Flag::Json, Flag::DoS])
    .token(
        draft().with(|d| {
            let j = payload(d);
            d.payload = Some(
                format!(
                    "{},\"custom\":{}1{}}}",
                    &j[..j.len() - 1],
                    "[".repeat(10_000),
                    "]".repeat(10_000)
                )
                .into_bytes(),
            );
        }),
        invalid(TooLarge),
    );
    case(g, "huge-token", Should, "a 128 KiB token (a validly signed claim holding a 128 KiB string; real tokens are under 1 KiB): refused by size before any parsing", "custom := 128 KiB string")
        .spec(&[PASETO_FOOTER])
        .flags(&[Flag::Malformed, Flag::DoS])
        .token(draft().edit_json(|c| {
            c.insert("custom".into(), json!("x".repeat(128 << 10)));
        }), invalid(TooLarge));
    let footer_spec = &[RFC_KEY, RFC_URL, CARGO_FOOTER];
    let pid = fx.signer.public_key().id().to_string();
    let deep_footer = format!(
        "a footer field nested 40 levels deep, beside the right `url` and `kip`: accepted by a verifier whose JSON depth limit is above 40 (serde_json's is 128), refused as nesting-too-deep by one whose limit is below (credlab's is 32). {DEPTH_RULE}"
    );
    for (slug, bytes, description, expect) in [
        (
            "footer-not-json",
            b"arbitrary-string-that-isn't-json".to_vec(),
            "a footer that is not JSON",
            invalid(FooterInvalid),
        ),
        (
            "footer-json-array",
            br#"["url","kip"]"#.to_vec(),
            "a footer that is a JSON array",
            invalid(FooterInvalid),
        ),
        (
            "footer-invalid-utf8",
            b"{\"url\":\"\xff\"}".to_vec(),
            "a footer that is not UTF-8",
            invalid(FooterInvalid),
        ),
        (
            "footer-empty-object",
            b"{}".to_vec(),
            "an empty footer object",
            invalid(FooterInvalid),
        ),
        (
            "footer-duplicate-url",
            format!(
                "{{\"url\":\"{}\",\"kip\":\"{pid}\",\"url\":\"{}\"}}",
                fx.index_url, fx.other_index_url
            )
            .into_bytes(),
            "`url` twice: this registry, then another",
            invalid(DuplicateKey),
        ),
        (
            "footer-duplicate-kip",
            format!(
                "{{\"url\":\"{}\",\"kip\":\"{}\",\"kip\":\"{pid}\"}}",
                fx.index_url,
                fx.stranger.public_key().id()
            )
            .into_bytes(),
            "`kip` twice: an unknown key, then the right one",
            invalid(DuplicateKey),
        ),
        (
            "footer-deep-nesting",
            format!(
                "{{\"url\":\"{}\",\"kip\":\"{pid}\",\"x\":{}1{}}}",
                fx.index_url,
                "[".repeat(40),
                "]".repeat(40)
            )
            .into_bytes(),
            deep_footer.as_str(),
            acceptable(NestingTooDeep, PolicyKnob::JsonDepth),
        ),
    ] {
        let depth_spec: &[&str] = match expect {
            TokenExpect::Acceptable { .. } => &[PASETO_FOOTER, SERDE_JSON_DEPTH],
            _ => &[],
        };
        case(
            g,
            slug,
            Must,
            description,
            &format!("footer := {:?}", String::from_utf8_lossy(&bytes)),
        )
        .spec(footer_spec)
        .spec(depth_spec)
        .flags(&[Flag::Malformed, Flag::Json, Flag::Footer])
        .token(draft().with(|d| d.footer_raw = Some(bytes)), expect);
    }
}

fn registered_keys(fx: &Fixture, g: &mut Group) {
    let spec = &[RFC_KEY, PASERK_PUBLIC];
    let off_curve = b64::encode(&hex::decode("024424530ea70bace90601f8d5869e4179a6cd689b6a18fdfec50cecf17cb836d24820211ada67815b42c2c2606303f69e").expect("hex"));
    let mut uncompressed_tag = fx.signer.public_key().compressed().to_vec();
    uncompressed_tag[0] = 0x04;
    let short = &fx.signer.public_key().compressed()[..48];
    let good = fx.signer.public_key().to_paserk().to_string();
    for (slug, public, description) in [
        (
            "key-not-on-curve",
            format!("k3.public.{off_curve}"),
            "the registered key is a compressed x with no point on P-384 (Wycheproof ecpoint tcId 790)",
        ),
        (
            "key-uncompressed-tag",
            format!("k3.public.{}", b64::encode(&uncompressed_tag)),
            "the registered key is 49 bytes tagged 0x04 (pasetors' PASERK parser accepts it and fails at verify)",
        ),
        (
            "key-too-short",
            format!("k3.public.{}", b64::encode(short)),
            "the registered key is 48 bytes",
        ),
        (
            "key-wrong-version",
            good.replacen("k3.", "k4.", 1),
            "the registered key is labelled k4 (PASERK: no cross-version keys)",
        ),
    ] {
        let op = if slug == "key-too-short" {
            Operation::Read
        } else {
            publish(fx)
        };
        case(
            g,
            slug,
            Must,
            &format!("{description}: enrolment must refuse it, and no token can verify under it"),
            &format!("registered key := {public:?}"),
        )
        .spec(spec)
        .flags(&[Flag::Malformed, Flag::Key])
        .token(
            Draft::new(fx, op).with(|d| {
                let mut key = registered(&fx.signer, fx.signer_subject.clone());
                // The id a PASERK library computes from the bytes (when it can): what a
                // registry that skipped point validation would file the key under.
                key.pid = super::check::format_level_pid(&public).unwrap_or(key.pid);
                key.public = public;
                d.registry.keys = vec![key];
            }),
            invalid(InvalidPublicKey),
        );
    }
}
