//! What the verifier tolerates. Every default is cited; change them with care, since a looser
//! policy is a weaker registry and a stricter one refuses tokens real Cargo sends.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::token::iat::IatSyntax;

/// The verifier's policy. `Policy::default()` is the reference behaviour credlab judges by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Policy {
    /// How old `iat` may be. RFC 3231 ("How the Registry Server will validate"): "We recommend
    /// a 15 minute limit, but a shorter time can be used". Cargo reuses one read token for a
    /// whole command, so a much shorter window breaks long builds. Boundary inclusive.
    #[serde(with = "seconds")]
    pub max_age: Duration,
    /// How far in the future `iat` may be. The RFC is silent and Cargo's test registry does
    /// not check at all (a hole: a token dated a year ahead would live a year); one minute
    /// absorbs ordinary clock skew. Boundary inclusive.
    #[serde(with = "seconds")]
    pub max_future_skew: Duration,
    /// High-S signatures: Cargo (pasetors 0.7) emits them about half the time and the PASETO
    /// spec has no low-S rule, so they are accepted. The paseto test-vectors repository prefers
    /// low-S; `Reject` models a registry that follows it (and refuses ~50 % of real tokens).
    pub high_s: HighS,
    /// `iat` syntax. PASETO requires uppercase `T` and `Z`; Cargo always writes them.
    pub iat_syntax: IatSyntax,
    /// Claims Cargo never sends (`custom`, `exp`, …). RFC 3231 lets providers add claims "as
    /// long as they are nested in `custom`", so they are accepted by default.
    pub unknown_claims: Tolerance,
    /// `name`/`vers`/`cksum` on a request that does not bind them (a read token with `name`,
    /// an owners token with `vers`, a yank token with `cksum`). Cargo never sends them; Cargo's
    /// test registry rejects the first two. Rejected: a token built for one operation shape
    /// must not be accepted for another.
    pub misplaced_binding_claims: Tolerance,
    /// A `sub` claim when the key has no subject on file. RFC 3231: "`sub` … for a public key
    /// it has on file"; Cargo's test registry compares the two `Option`s exactly.
    pub subject_without_record: Tolerance,
    /// Which footer field names the key. Cargo sends `kip`; the RFC text and PASERK say `kid`.
    pub key_id_field: KeyIdField,
    /// Tokens longer than this are refused before decoding (PASETO: validate before decoding).
    /// Real Cargo tokens are ~400–700 bytes.
    pub max_token_len: usize,
    /// Deepest JSON nesting in payload and footer. Cargo's are flat (depth 1).
    pub max_json_depth: usize,
}

/// Accept or reject something the rules leave to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tolerance {
    Accept,
    Reject,
}

/// What to do with a high-S signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HighS {
    Accept,
    Reject,
}

/// Which footer field carries the key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyIdField {
    /// `kip` only, as Cargo sends (`paseto.rs` `Footer { url, kip }`).
    Kip,
    /// `kip`, or the RFC's `kid` when `kip` is absent; both present and different is refused.
    KipOrKid,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(15 * 60),
            max_future_skew: Duration::from_secs(60),
            high_s: HighS::Accept,
            iat_syntax: IatSyntax::Strict,
            unknown_claims: Tolerance::Accept,
            misplaced_binding_claims: Tolerance::Reject,
            subject_without_record: Tolerance::Reject,
            key_id_field: KeyIdField::Kip,
            max_token_len: 8 * 1024,
            max_json_depth: 32,
        }
    }
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}
