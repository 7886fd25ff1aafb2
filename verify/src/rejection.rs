//! Why a token was refused: a closed set of kinds, each with a message that names what was
//! expected and what was found.
//!
//! The kinds are the vocabulary shared by the verifier, the token vectors (`expect.rejection`)
//! and the runners, so a vector can only pass when it is refused for its declared reason.

use serde::{Deserialize, Serialize};

/// What failed. The kebab-case name (`bad-signature`) is the stable, machine-readable form.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum RejectionKind {
    TooLarge,
    Malformed,
    UnsupportedVersion,
    UnsupportedPurpose,
    BadBase64,
    FooterMissing,
    FooterInvalid,
    DuplicateKey,
    NestingTooDeep,
    UnknownKey,
    BadSignature,
    HighSSignature,
    UrlMismatch,
    PayloadInvalid,
    UnsupportedV,
    MissingClaim,
    UnexpectedClaim,
    InvalidIat,
    Expired,
    IssuedInFuture,
    SubjectMismatch,
    UnexpectedChallenge,
    ChallengeMismatch,
    MutationMismatch,
    NameMismatch,
    VersMismatch,
    CksumMismatch,
    Replayed,
    VersionExists,
    InvalidPublicKey,
}

impl RejectionKind {
    /// The stable name, e.g. `bad-signature`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Every kind, in the order the verifier checks them.
    pub fn all() -> impl Iterator<Item = Self> {
        <Self as strum::IntoEnumIterator>::iter()
    }

    /// What the kind means and which rule demands the rejection.
    pub fn explain(self) -> &'static str {
        use RejectionKind::*;
        match self {
            TooLarge => {
                "the token is longer than the policy's size limit (PASETO: validate before decoding)"
            }
            Malformed => {
                "not a PASETO: wrong number of `.` segments, an empty segment, or a body too short to hold a payload and a 96-byte signature"
            }
            UnsupportedVersion => {
                "the header is not `v3` (RFC 3231: \"The PASETO is in v3.public format\")"
            }
            UnsupportedPurpose => "the header is `v3` but not `public` (e.g. `v3.local`)",
            BadBase64 => {
                "a segment is not strict unpadded base64url (PASETO Common.md: padding forbidden, trailing bits must be zero)"
            }
            FooterMissing => {
                "no footer: Cargo always sends `{\"url\",\"kip\"}` in the footer, and the registry needs it to find the key and check the URL"
            }
            FooterInvalid => "the footer is not a UTF-8 JSON object with string `url` and `kip`",
            DuplicateKey => {
                "a JSON object in the payload or footer repeats a key (PASETO: implementations MUST ensure uniqueness of key names)"
            }
            NestingTooDeep => "the payload or footer JSON nests deeper than the policy allows",
            UnknownKey => {
                "the footer's `kip` names no registered key (RFC 3231: validate with the key looked up by key id; fail closed)"
            }
            BadSignature => {
                "the signature does not verify under the registered key, or r/s is out of range"
            }
            HighSSignature => {
                "the signature is high-S and the policy demands low-S (real Cargo emits high-S about half the time)"
            }
            UrlMismatch => {
                "the footer's `url` is not the registry's index URL, byte for byte (RFC 3231: the URL matches the registry base URL)"
            }
            PayloadInvalid => {
                "the payload is not a UTF-8 JSON object, or a claim has the wrong JSON type"
            }
            UnsupportedV => {
                "the claim `v` is present and not the integer 1 (RFC 3231: if `v` is set, it has the value 1)"
            }
            MissingClaim => {
                "a claim the request needs is absent (RFC 3231: a claim that should be expected but is missing must be rejected)"
            }
            UnexpectedClaim => {
                "a claim is present that this request must not carry (e.g. `cksum` outside publish, `vers` on owners)"
            }
            InvalidIat => "`iat` is not an RFC 3339 date-time string",
            Expired => "`iat` is older than the freshness window (RFC 3231 recommends 15 minutes)",
            IssuedInFuture => "`iat` is further in the future than the allowed clock skew",
            SubjectMismatch => {
                "`sub` does not match the subject on file for the key (RFC 3231: `sub` is claimed with every request)"
            }
            UnexpectedChallenge => "a `challenge` claim was sent but the registry issued none",
            ChallengeMismatch => "the `challenge` claim is not the one the registry issued",
            MutationMismatch => {
                "`mutation` does not match the request (absent on reads; publish, yank, unyank or owners otherwise)"
            }
            NameMismatch => "`name` is not the crate the request acts on",
            VersMismatch => "`vers` is not the version the request acts on",
            CksumMismatch => "`cksum` is not the SHA-256 of the uploaded .crate",
            Replayed => {
                "this publish/yank/unyank token (its signed content, whatever the signature's S) was already accepted; Cargo makes a fresh one per mutation (RFC 3231 recommends single use: rule R15 in docs/rfc3231-rules.md)"
            }
            VersionExists => {
                "the registry already has this version; a publish must be refused (RFC 3231: that the version has not already been published)"
            }
            InvalidPublicKey => {
                "the registered public key is not a valid compressed P-384 point; it must be refused at enrolment"
            }
        }
    }
}

impl std::fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused token: the kind, and a message naming what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Rejection {
    pub kind: RejectionKind,
    pub message: String,
}

impl Rejection {
    pub fn new(kind: RejectionKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kebab_case_and_round_trip() {
        for kind in RejectionKind::all() {
            let name = kind.as_str();
            assert_eq!(name.parse::<RejectionKind>().unwrap(), kind);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            assert!(!kind.explain().is_empty());
        }
        assert_eq!(RejectionKind::HighSSignature.as_str(), "high-s-signature");
        assert_eq!(RejectionKind::UnsupportedV.as_str(), "unsupported-v");
    }
}
