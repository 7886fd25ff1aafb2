//! Token cases: a token presented to a registry with a request, judged by a verifier.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::flags::Flag;
use super::{Case, Level, VectorFile};
use crate::rejection::RejectionKind;
use crate::token::Operation;

pub type TokenCase = Case<TokenInput, TokenExpect>;
pub type TokenFile = VectorFile<TokenInput, TokenExpect>;

/// What the registry receives and knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    pub registry: RegistryInput,
    /// Who signed the token. Provenance for humans and regeneration; a verifier under test
    /// must never be given it. Fixture keys only: they are public test keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<KeyPairInput>,
    /// The request the token arrives with (`operation` plus its `name`/`vers`/`cksum`).
    pub request: Operation,
    /// The challenge the registry issued for this request, if any (Cargo sends none today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_challenge: Option<String>,
    /// Tokens this registry already accepted, oldest first (replay cases).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_before: Vec<String>,
    /// The `Authorization` header value, exactly as sent.
    pub token: String,
}

/// The registry's configuration and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryInput {
    /// The index URL the registry's users configure (what Cargo puts in the footer).
    pub index_url: String,
    /// Enrolled public keys.
    pub keys: Vec<RegisteredKey>,
    /// Versions that already exist (a publish of one of them must be refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<CrateVersion>,
}

/// An enrolled key and its subject on file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisteredKey {
    /// `k3.public.…`
    pub public: String,
    /// `k3.pid.…` of `public`.
    pub pid: String,
    /// RFC 3231 `sub` on file for this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// A fixture key pair, in PASERK form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPairInput {
    /// `k3.secret.…` (a published test key, never a real one).
    pub secret: String,
    pub public: String,
    pub pid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrateVersion {
    pub name: String,
    pub vers: String,
}

/// The expected verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case", from = "TokenExpectRepr")]
pub enum TokenExpect {
    /// The registry must accept the token for this request.
    Valid,
    /// The registry must refuse it, for exactly this reason.
    Invalid { rejection: RejectionKind },
    /// Either answer conforms: accept, or refuse for exactly `rejection`. `policy` names the
    /// registry choice that decides (Wycheproof's "acceptable", made dispatchable).
    Acceptable {
        rejection: RejectionKind,
        policy: PolicyKnob,
    },
}

// How a `TokenExpect` is read and described in the schema: `valid` as an empty struct
// variant, so extra fields are refused as for the others (serde ignores
// `deny_unknown_fields` on unit variants of internally tagged enums).
/// The expected verdict.
#[derive(Deserialize, JsonSchema)]
#[serde(tag = "result", rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(rename = "TokenExpect")]
enum TokenExpectRepr {
    /// The registry must accept the token for this request.
    Valid {},
    /// The registry must refuse it, for exactly this reason.
    Invalid { rejection: RejectionKind },
    /// Either answer conforms: accept, or refuse for exactly `rejection`. `policy` names the
    /// registry choice that decides (Wycheproof's "acceptable", made dispatchable).
    Acceptable {
        rejection: RejectionKind,
        policy: PolicyKnob,
    },
}

impl From<TokenExpectRepr> for TokenExpect {
    fn from(repr: TokenExpectRepr) -> Self {
        match repr {
            TokenExpectRepr::Valid {} => TokenExpect::Valid,
            TokenExpectRepr::Invalid { rejection } => TokenExpect::Invalid { rejection },
            TokenExpectRepr::Acceptable { rejection, policy } => {
                TokenExpect::Acceptable { rejection, policy }
            }
        }
    }
}

impl JsonSchema for TokenExpect {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        TokenExpectRepr::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        TokenExpectRepr::json_schema(generator)
    }
}

/// The registry choices an `acceptable` case depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKnob {
    /// Accept high-S signatures (Cargo emits them) or demand low-S.
    HighS,
    /// Strict RFC 3339 (`T`, `Z` uppercase) or the time crate's lenient parser.
    IatSyntax,
    /// Accept or refuse claims Cargo never sends.
    UnknownClaims,
    /// A `sub` claim for a key with no subject on file.
    SubjectWithoutRecord,
    /// `kip` only, or also the RFC's `kid`.
    KeyIdField,
    /// Compare the footer URL byte for byte, or after normalising it.
    UrlNormalization,
    /// The deepest JSON nesting parsed in payload and footer: credlab's verifier stops at 32,
    /// serde_json (Cargo's test registry, pasetors) at 128; PASETO asks for *a* limit, not a
    /// number. Cargo's own claims and footer are flat.
    JsonDepth,
}

/// The flag of a case whose token is exactly what real Cargo (1.95, `cargo:paseto`) sends for
/// its request: Cargo's claims in Cargo's order, its `iat` format (up to 9 fractional digits,
/// `Z`), the index URL as configured (`sparse+…/`), versions verbatim (pre-release, build
/// metadata) and either signature form (pasetors 0.7.8 does not normalise S, so about half of
/// Cargo's tokens are high-S). Offline the case keeps its own level and expectation (a
/// verifier may be tested under a stricter policy knob); over HTTP (`credlab --registry`) it
/// is must-accept, whatever its level offline: a registry that refuses it refuses real users
/// ([`Case::over_http`]). A case with this flag can never expect `invalid`
/// (`credlab vectors check`).
pub const CARGO_SHAPED: Flag = Flag::CargoShaped;

impl Case<TokenInput, TokenExpect> {
    /// Whether the case carries the [`CARGO_SHAPED`] flag.
    pub fn is_cargo_shaped(&self) -> bool {
        self.has_flag(CARGO_SHAPED)
    }

    /// The level and expectation of the case against a live registry over HTTP: a
    /// [`CARGO_SHAPED`] token is `must` / `valid` (interop with real Cargo decides); every
    /// other case keeps its own.
    pub fn over_http(&self) -> (Level, TokenExpect) {
        if self.is_cargo_shaped() {
            (Level::Must, TokenExpect::Valid)
        } else {
            (self.level, self.expect)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_shaped_tokens_are_must_accept_over_http() {
        let fx = crate::vectors::Fixture::offline();
        let files = crate::vectors::token_files(&fx);
        let case = |id: &str| {
            files
                .iter()
                .flat_map(|f| &f.cases)
                .find(|c| c.id.as_str() == id)
                .unwrap_or_else(|| panic!("no case {id}"))
                .clone()
        };
        let high_s = case("token::valid::publish-high-s");
        assert!(high_s.is_cargo_shaped());
        assert_eq!(high_s.level, Level::Should);
        assert!(matches!(
            high_s.expect,
            TokenExpect::Acceptable {
                policy: PolicyKnob::HighS,
                ..
            }
        ));
        assert_eq!(high_s.over_http(), (Level::Must, TokenExpect::Valid));
        for id in [
            "token::valid::read",
            "token::valid::iat-nanoseconds",
            "token::valid::publish-build-metadata",
            "token::valid::cargo-1.95-publish",
        ] {
            assert_eq!(
                case(id).over_http(),
                (Level::Must, TokenExpect::Valid),
                "{id}"
            );
        }
        let custom = case("token::valid::custom-claim");
        assert!(!custom.is_cargo_shaped());
        assert_eq!(custom.over_http(), (custom.level, custom.expect));
        let challenge = case("token::mis-bound::challenge-not-issued");
        assert_eq!(challenge.over_http().0, Level::Should);
        for id in [
            "token::malformed::payload-deep-nesting",
            "token::malformed::footer-deep-nesting",
        ] {
            assert_eq!(
                case(id).over_http(),
                (
                    Level::Must,
                    TokenExpect::Acceptable {
                        rejection: RejectionKind::NestingTooDeep,
                        policy: PolicyKnob::JsonDepth,
                    }
                ),
                "{id}"
            );
        }
    }

    // Regression (fuzz target `vector_file`, artifact crash-7db6e480…): serde let extra fields
    // through on the unit variant `valid`, so a typo in an expectation went unnoticed.
    #[test]
    fn extra_fields_are_refused_on_every_expectation() {
        let ok: TokenExpect = serde_json::from_str(r#"{"result":"valid"}"#).expect("valid");
        assert_eq!(ok, TokenExpect::Valid);
        for bad in [
            r#"{"result":"valid","":""}"#,
            r#"{"result":"valid","rejection":"expired"}"#,
            r#"{"result":"invalid","rejection":"expired","policy":"high-s"}"#,
        ] {
            let error = serde_json::from_str::<TokenExpect>(bad).expect_err(bad);
            assert!(
                error.to_string().contains("unknown field"),
                "{bad}: {error}"
            );
        }
    }
}
