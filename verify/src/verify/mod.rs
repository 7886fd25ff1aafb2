//! The reference verifier: what a registry must check before it honours a Cargo token.
//!
//! Order (every failure refuses the token; R-numbers are RFC 3231's rules as numbered in
//! `docs/rfc3231-rules.md`):
//! 1. size, header `v3.public.`, segments, strict base64url (PASETO);
//! 2. footer: a JSON object with string `url` and `kip` (nothing in it trusted yet);
//! 3. key lookup by `kip`, failing closed (RFC 3231, R2);
//! 4. signature over `PAE([pk, "v3.public.", m, f, ""])`, r/s in range, high-S per policy;
//! 5. footer `url` equals the registry's index URL, byte for byte (R3);
//! 6. payload: a JSON object with unique keys and typed claims; `v` absent or 1 (R5);
//! 7. `iat` fresh: not older than the window, not beyond the skew (R4);
//! 8. `sub` against the subject on file (R13), `challenge` against the one issued (R6);
//! 9. binding to the request: `mutation` (R7, R10), `name`, `vers` (R8), `cksum` (R9),
//!    missing (R11) and misplaced claims.

mod claims;
mod keystore;
mod policy;

use serde::Serialize;
use time::OffsetDateTime;

pub use keystore::{KeyRecord, KeyStore};

pub use policy::{HighS, IatSyntax, KeyIdField, Policy, Tolerance};

use crate::backend::Backend;
use crate::json;
use crate::paseto::{self, SignatureS};
use crate::rejection::{Rejection, RejectionKind};
use crate::token::{Claims, Footer, Operation};

/// The request a token arrived with: what the registry is being asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The registry's index URL exactly as its users configure it, e.g.
    /// `sparse+https://reg.example/index/` (Cargo puts this string in the footer).
    pub index_url: String,
    pub operation: Operation,
    /// The challenge the registry issued for this request, if it issues challenges
    /// (Cargo does not implement them yet: rust-lang/cargo#11521).
    pub challenge: Option<String>,
}

impl Request {
    pub fn new(index_url: impl Into<String>, operation: Operation) -> Self {
        Self {
            index_url: index_url.into(),
            operation,
            challenge: None,
        }
    }
}

/// A token that passed every check, and what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub claims: Claims,
    pub footer: Footer,
    /// Which of the two valid signatures it carried.
    pub signature: SignatureS,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// The signed payload and footer bytes (what a replay guard must key on: the signature
    /// is malleable, `s` and `n - s` both verify).
    #[serde(skip)]
    pub signed: SignedContent,
}

/// The bytes a signature covers besides the key and header: payload and footer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignedContent {
    pub payload: Vec<u8>,
    pub footer: Vec<u8>,
}

/// Verifies Cargo tokens against registered keys under a policy.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: KeyStore,
    policy: Policy,
    backend: Backend,
}

impl Verifier {
    /// A verifier with the default policy and the fastest backend compiled in.
    pub fn new(keys: KeyStore) -> Self {
        Self {
            keys,
            policy: Policy::default(),
            backend: Backend::default(),
        }
    }

    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    pub fn keys_mut(&mut self) -> &mut KeyStore {
        &mut self.keys
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Verifies `token` for `request` at time `now`.
    pub fn verify(
        &self,
        token: &str,
        request: &Request,
        now: OffsetDateTime,
    ) -> Result<Verified, Rejection> {
        if token.len() > self.policy.max_token_len {
            return Err(Rejection::new(
                RejectionKind::TooLarge,
                format!(
                    "the token is {} bytes; the limit is {}",
                    token.len(),
                    self.policy.max_token_len
                ),
            ));
        }
        let decoded = paseto::decode(token)?;
        let footer = self.parse_footer(decoded.footer())?;
        let record = self.keys.get(&footer.kip).ok_or_else(|| {
            Rejection::new(
                RejectionKind::UnknownKey,
                format!(
                    "no registered key has id {:?} (the footer's `kip`)",
                    footer.kip
                ),
            )
        })?;
        let signature = paseto::verify_signature(self.backend, &record.key, token, &decoded, b"")?;
        if signature == SignatureS::HighS && self.policy.high_s == HighS::Reject {
            return Err(Rejection::new(
                RejectionKind::HighSSignature,
                "the signature is valid but high-S, and the policy accepts only low-S",
            ));
        }
        if footer.url != request.index_url {
            return Err(Rejection::new(
                RejectionKind::UrlMismatch,
                format!(
                    "expected the registry's index URL {:?}, found {:?}",
                    request.index_url, footer.url
                ),
            ));
        }
        let claims = claims::parse(decoded.payload(), &self.policy)?;
        let issued_at = claims::check_freshness(&claims, now, &self.policy)?;
        claims::check_subject(&claims, record.subject.as_deref(), &self.policy)?;
        claims::check_challenge(&claims, request.challenge.as_deref())?;
        claims::check_binding(&claims, &request.operation, &self.policy)?;
        let (payload, footer_bytes) = decoded.into_parts();
        Ok(Verified {
            claims,
            footer,
            signature,
            issued_at,
            signed: SignedContent {
                payload,
                footer: footer_bytes.unwrap_or_default(),
            },
        })
    }

    /// Step 7 alone: whether `claims` (of a token that passed every other check under this
    /// verifier) are still fresh at `now`. The one check of [`Verifier::verify`] that depends
    /// on the time, so a verdict cache re-runs exactly this on every hit ([`crate::cache`]).
    pub(crate) fn check_freshness(
        &self,
        claims: &Claims,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, Rejection> {
        claims::check_freshness(claims, now, &self.policy)
    }

    fn parse_footer(&self, bytes: Option<&[u8]>) -> Result<Footer, Rejection> {
        let bytes = bytes.ok_or_else(|| {
            Rejection::new(
                RejectionKind::FooterMissing,
                "expected a footer {\"url\":…,\"kip\":…}, found none",
            )
        })?;
        let mut map = json::parse_object(bytes, self.policy.max_json_depth)
            .map_err(|e| claims::json_rejection("footer", e, RejectionKind::FooterInvalid))?;
        let invalid = |message: String| Rejection::new(RejectionKind::FooterInvalid, message);
        let url = match map.remove("url") {
            Some(serde_json::Value::String(url)) => url,
            Some(other) => {
                return Err(invalid(format!(
                    "footer `url` must be a string, found {}",
                    json::type_name(&other)
                )));
            }
            None => return Err(invalid("the footer has no `url`".into())),
        };
        let kip = match (
            map.remove("kip"),
            map.remove("kid"),
            self.policy.key_id_field,
        ) {
            (Some(serde_json::Value::String(kip)), kid, field) => {
                if field == KeyIdField::KipOrKid
                    && kid.is_some_and(|kid| kid.as_str() != Some(kip.as_str()))
                {
                    return Err(invalid(
                        "the footer's `kip` and `kid` name different keys".into(),
                    ));
                }
                kip
            }
            (Some(other), _, _) => {
                return Err(invalid(format!(
                    "footer `kip` must be a string, found {}",
                    json::type_name(&other)
                )));
            }
            (None, Some(serde_json::Value::String(kid)), KeyIdField::KipOrKid) => kid,
            (None, Some(_), KeyIdField::Kip) => {
                return Err(invalid(
                    "the footer has no `kip`, only the RFC's `kid`; Cargo sends `kip`".into(),
                ));
            }
            (None, _, _) => return Err(invalid("the footer has no `kip`".into())),
        };
        Ok(Footer { url, kip })
    }
}
