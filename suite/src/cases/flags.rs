//! The declared case flags: every flag a case may carry, with what it means, in the manner
//! of Wycheproof's `notes`. A vector with a flag not declared here does not load, and
//! `credlab vectors check` names the flag and the file.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

macro_rules! flags {
    ($($(#[$attr:meta])* $name:ident => $description:literal,)*) => {
        /// An attack or behaviour class a case belongs to (Wycheproof-style). The serialized
        /// name is the variant's name, e.g. `"Boundary"`.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema,
        )]
        pub enum Flag {
            $($(#[$attr])* #[doc = $description] $name,)*
        }

        impl Flag {
            /// Every declared flag, in name order.
            pub const ALL: &[Flag] = &[$(Flag::$name,)*];

            /// The name as it is written in vectors.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Flag::$name => stringify!($name),)*
                }
            }

            /// What the flag means, in one line.
            pub fn description(self) -> &'static str {
                match self {
                    $(Flag::$name => $description,)*
                }
            }
        }
    };
}

flags! {
    Args => "A request with arguments the provider does not know.",
    Base64 => "The token's base64url encoding is not canonical (padding, stray or unused bits).",
    Binding => "The token is bound to another request than the one it is presented for.",
    Boundary => "The clock sits exactly at or just past a window's edge (finer than an HTTP round trip).",
    Cache => "The provider's `cache` and `operation_independent` answer fields.",
    CargoShaped => "The token is exactly what real Cargo sends for its request: over HTTP it must be accepted.",
    Challenge => "The registry-issued `challenge` claim.",
    CrossMutation => "A mutation token re-used for another mutation.",
    CrossRegistry => "A token made for another registry.",
    DoS => "An input much larger or deeper than any real one (resource exhaustion).",
    Encoding => "The request's bytes are encoded unusually (key order, UTF-8).",
    Errors => "The provider's error answers (`url-not-supported`, `not-found`, …).",
    Escapes => "JSON escapes in a request.",
    Expired => "The token's `iat` is older than the acceptance window.",
    ExtraClaim => "A claim Cargo never puts in this kind of token.",
    Footer => "The token's footer (`url`, `kip`, other fields).",
    Forgery => "A signature made by a key other than the one the token names.",
    ForwardCompat => "Something a later Cargo may send (an unknown operation or kind).",
    Framing => "Line framing of the provider protocol: newlines, flushing, end of input.",
    Fuzzed => "Found by `credlab fuzz` and kept as a regression case.",
    Get => "The provider's `get` request.",
    Handshake => "The provider's hello line.",
    Header => "The PASETO header (`v3.public.`).",
    HighS => "A high-S ECDSA signature (s > n/2), as real Cargo sends about half of its tokens.",
    Interop => "Interoperability with real Cargo or with other implementations.",
    InvalidIat => "An `iat` that is not a valid RFC 3339 time as PASETO requires it.",
    Isolation => "What is stored for one registry does not leak to another.",
    Json => "The JSON of the token's payload or footer.",
    Key => "The registered public key or the key id (`kip`).",
    Lifecycle => "The provider process's life: start, exit after end of input, leftover processes.",
    Login => "The provider's `login` request.",
    Logout => "The provider's `logout` request.",
    Malformed => "Input that does not parse (a token, or a provider request).",
    Malleability => "A second valid signature for the same message.",
    MisBound => "A well-formed, well-signed token whose claims do not match the request.",
    MissingClaim => "A required claim is absent.",
    Mutation => "The `mutation` claim and its companions (`name`, `vers`, `cksum`).",
    NoTty => "The provider must not read from a terminal.",
    NotYetValid => "The token's `iat` lies beyond the allowed clock skew in the future.",
    RangeCheck => "Signature values out of range (r or s zero, or not below the group order n).",
    RealCargo => "A token captured from a real Cargo release.",
    Replay => "A token sent again, or used for another request than its own.",
    Republish => "A publish of a version the registry already has.",
    Robustness => "The provider stays well-behaved under unusual but valid conditions.",
    RunWide => "Checked across every exchange of the run, not one case's.",
    Secrets => "No secret appears in the provider's output or error text.",
    Signature => "The token's signature bytes.",
    SingleUse => "A mutation token accepted once must not be accepted again.",
    Strictness => "Syntax a lenient parser accepts and PASETO does not.",
    Subject => "The `sub` claim and the subject on file for the key.",
    Token => "The tokens a provider hands out: binding, freshness, cacheability.",
    UnknownClaim => "A claim RFC 3231 does not define.",
    Url => "The index URL in the footer.",
    Valid => "A token a conforming registry accepts.",
    Version => "The claims' format version `v`.",
}

/// A flag name that is not declared in [`Flag`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "undeclared flag `{0}` (every flag is declared, with its description, in suite/src/cases/flags.rs)"
)]
pub struct UndeclaredFlag(pub String);

impl std::str::FromStr for Flag {
    type Err = UndeclaredFlag;

    fn from_str(name: &str) -> Result<Self, UndeclaredFlag> {
        Flag::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| UndeclaredFlag(name.to_string()))
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_unique_and_round_trip() {
        for pair in Flag::ALL.windows(2) {
            assert!(pair[0].as_str() < pair[1].as_str(), "{pair:?}");
        }
        for flag in Flag::ALL {
            assert_eq!(flag.as_str().parse::<Flag>(), Ok(*flag));
            let json = serde_json::to_string(flag).unwrap();
            assert_eq!(json, format!("\"{flag}\""));
            assert_eq!(serde_json::from_str::<Flag>(&json).unwrap(), *flag);
            assert!(!flag.description().is_empty());
        }
        let err = serde_json::from_str::<Flag>("\"NoSuchFlag\"").unwrap_err();
        assert!(
            err.to_string().contains("undeclared flag `NoSuchFlag`"),
            "{err}"
        );
    }
}
