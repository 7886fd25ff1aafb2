//! Cargo's asymmetric token (`cargo:paseto`, RFC 3231) as Cargo really builds it.
//!
//! Payload and footer are the serde structs of Cargo `src/util/credential/paseto.rs`
//! (`Message`, `Footer`), serialized with `serde_json::to_string`: compact JSON, keys in
//! declaration order, absent claims omitted (never `null`). The footer key is `kip` (the RFC
//! text says `kid`; Cargo has always sent `kip`), and its `url` is the index URL verbatim,
//! `sparse+` prefix and trailing slash included.

pub mod iat;
mod operation;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use operation::{Mutation, Operation, OperationError, OperationKind};

use crate::keys::{KeyId, SecretKey};
use crate::paseto::{self, SignatureForm};

/// The claims, in Cargo's order. `extra` holds claims Cargo never sends (after the rest).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Claims {
    pub iat: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vers: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// "This field is not yet used": Cargo never sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Claims {
    /// The claims Cargo puts in a token for `operation`, issued `at`, with an optional subject.
    pub fn for_operation(operation: &Operation, at: OffsetDateTime, sub: Option<&str>) -> Self {
        Self {
            iat: iat::format(at),
            sub: sub.map(str::to_string),
            mutation: operation.mutation().map(|m| m.as_str().to_string()),
            name: operation.name().map(str::to_string),
            vers: operation.vers().map(str::to_string),
            cksum: operation.cksum().map(str::to_string),
            challenge: None,
            v: None,
            extra: Map::new(),
        }
    }

    /// Compact JSON, byte-identical to Cargo's for the claims Cargo sends.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("claims serialize")
    }
}

/// The footer: which registry the token is for and which key signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footer {
    pub url: String,
    pub kip: String,
}

impl Footer {
    pub fn new(url: impl Into<String>, kip: &KeyId) -> Self {
        Self {
            url: url.into(),
            kip: kip.as_str().to_string(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("footer serializes")
    }
}

/// Signs `claims` and `footer` into a `v3.public.` token, deterministically.
pub fn sign(key: &SecretKey, claims: &Claims, footer: &Footer, form: SignatureForm) -> String {
    paseto::sign(
        key,
        claims.to_json().as_bytes(),
        footer.to_json().as_bytes(),
        b"",
        form,
    )
}

/// The token Cargo's `cargo:paseto` sends for `operation` to the registry at `index_url`.
pub fn sign_as_cargo(
    key: &SecretKey,
    index_url: &str,
    operation: &Operation,
    at: OffsetDateTime,
    sub: Option<&str>,
) -> String {
    let claims = Claims::for_operation(operation, at, sub);
    let footer = Footer::new(index_url, key.public_key().id());
    sign(key, &claims, &footer, SignatureForm::AsCargo)
}

/// Whether a byte may appear in an HTTP header value as Cargo sends tokens: visible ASCII or
/// a tab (Cargo's `check_token`, crates/crates-io/lib.rs at af373f76).
pub fn is_header_byte(b: u8) -> bool {
    b == b'\t' || (0x20..0x7f).contains(&b)
}

/// Whether a whole string can be sent as an `Authorization` value.
pub fn is_header_value(text: &str) -> bool {
    text.bytes().all(is_header_byte)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const RFC_SECRET: &str =
        "k3.secret.fNYVuMvBgOlljt9TDohnaYLblghqaHoQquVZwgR6X12cBFHZLFsaU3q7X3k1Zn36";

    /// Tokens captured from cargo 1.95.0 (docs/observed.md §2): signing
    /// the same claims reproduces them byte for byte, high-S included.
    #[test]
    fn reproduces_real_cargo_tokens() {
        let key = SecretKey::from_paserk(RFC_SECRET).unwrap();
        let url = "sparse+http://127.0.0.1:38471/index/";
        let read = sign_as_cargo(
            &key,
            url,
            &Operation::Read,
            datetime!(2026-11-25 22:51:20.728732629 UTC),
            Some("sub"),
        );
        assert_eq!(
            read,
            "v3.public.eyJpYXQiOiIyMDI2LTExLTI1VDIyOjUxOjIwLjcyODczMjYyOVoiLCJzdWIiOiJzdWIifZs3VgTE0oinD0RJ1fGrU3RsBBs-7Hk8CXDxkH3EmRhZA6Nx1hldP5YsiG8W5109ZBPZ02N5k_eB3lM7yAwnHIpcLiGBZsiSHFQJOhx0dAIuRZ81L5nLIBofpERoK6J6qQ.eyJ1cmwiOiJzcGFyc2UraHR0cDovLzEyNy4wLjAuMTozODQ3MS9pbmRleC8iLCJraXAiOiJrMy5waWQuUUIzV05CUC01ai0wWFFWMk1PdXZ1T2NMbEo4dXotcG1xdEladXMxeDNZVHUifQ"
        );
        let publish = Operation::Publish {
            name: "foo".into(),
            vers: "0.1.0".into(),
            cksum: "de332f9f442127453c1325347a1c83c024a814eadc737e9a8ad273b94938bcff".into(),
        };
        let token = sign_as_cargo(
            &key,
            url,
            &publish,
            datetime!(2026-11-25 22:51:20.786387288 UTC),
            Some("sub"),
        );
        assert_eq!(
            token,
            "v3.public.eyJpYXQiOiIyMDI2LTExLTI1VDIyOjUxOjIwLjc4NjM4NzI4OFoiLCJzdWIiOiJzdWIiLCJtdXRhdGlvbiI6InB1Ymxpc2giLCJuYW1lIjoiZm9vIiwidmVycyI6IjAuMS4wIiwiY2tzdW0iOiJkZTMzMmY5ZjQ0MjEyNzQ1M2MxMzI1MzQ3YTFjODNjMDI0YTgxNGVhZGM3MzdlOWE4YWQyNzNiOTQ5MzhiY2ZmIn26JfTvqQ6rAFgiPaw4jx-ZER2hY6AlJ3zOCxuUfkDoC5lF8M9GdjhdU8JEQqNPqL56gfNlwI8Oe1SOPjTmqX0qvpMvKbjSYR2Ch_nY2mG7mpsPKvwcoavUYFT82n4SlGA.eyJ1cmwiOiJzcGFyc2UraHR0cDovLzEyNy4wLjAuMTozODQ3MS9pbmRleC8iLCJraXAiOiJrMy5waWQuUUIzV05CUC01ai0wWFFWMk1PdXZ1T2NMbEo4dXotcG1xdEladXMxeDNZVHUifQ"
        );
    }

    #[test]
    fn claims_serialize_in_cargo_order_without_nulls() {
        let owners = Operation::Owners { name: "foo".into() };
        let claims = Claims::for_operation(&owners, datetime!(2026-01-01 00:00:00 UTC), None);
        assert_eq!(
            claims.to_json(),
            r#"{"iat":"2026-01-01T00:00:00Z","mutation":"owners","name":"foo"}"#
        );
        let mut all = claims.clone();
        all.sub = Some("s".into());
        all.vers = Some("1".into());
        all.cksum = Some("c".into());
        all.challenge = Some("ch".into());
        all.v = Some(1);
        assert_eq!(
            all.to_json(),
            r#"{"iat":"2026-01-01T00:00:00Z","sub":"s","mutation":"owners","name":"foo","vers":"1","cksum":"c","challenge":"ch","v":1}"#
        );
    }
}
