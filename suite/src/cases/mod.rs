//! The case schema: one envelope for every vector file, whatever it tests.
//!
//! Borrowed from x509-limbo (stable namespaced ids), Wycheproof (flags, a tri-state result),
//! the JSON Schema Test Suite (spec citations) and PASETO's vectors (keys in PASERK form). A
//! negative case names the valid `base` it was derived from and the one `mutation` applied,
//! so it can only fail for its declared reason. The JSON Schema in `vectors/schema/` is
//! generated from these types (`credlab vectors generate`), so the two cannot drift.

pub mod auth;
pub mod flags;
pub mod provider;
pub mod template;
pub mod token;

pub use flags::Flag;

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the vector format. Bump on any incompatible change.
pub const FORMAT: &str = "credlab-vectors/1";

/// A stable, namespaced case id, e.g. `token::mis-bound::cksum-other-crate`. Ids are never
/// reused; a renamed case keeps its old id in `aliases`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId(String);

/// The id syntax, as the JSON Schema states it (checked in code by `CaseId::from_str`).
pub const CASE_ID_PATTERN: &str = r"^[a-z][a-z0-9-]*(::[a-z0-9][a-z0-9.-]*)+$";

impl JsonSchema for CaseId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CaseId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": CASE_ID_PATTERN,
            "description": "A stable namespaced id, e.g. `token::mis-bound::cksum-other-crate`.",
        })
    }
}

impl CaseId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace: everything before the last `::` (`token::mis-bound`).
    pub fn group(&self) -> &str {
        self.0.rsplit_once("::").map_or("", |(g, _)| g)
    }
}

impl FromStr for CaseId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split("::");
        let head = parts.next().unwrap_or_default();
        let head_ok = head.starts_with(|c: char| c.is_ascii_lowercase())
            && head
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let mut rest = 0;
        let rest_ok = parts.all(|p| {
            rest += 1;
            p.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        });
        if head_ok && rest_ok && rest > 0 {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "case id {s:?} is not namespaced kebab-case like `token::valid::publish`"
            ))
        }
    }
}

impl TryFrom<String> for CaseId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<CaseId> for String {
    fn from(id: CaseId) -> String {
        id.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How much a failure matters. `must` failures make a target non-conformant; `should`
/// failures do so only under `--strict`; `info` cases are reported, never scored.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Must,
    Should,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::Info => "info",
        }
    }
}

/// One test case. `I` is what is fed to the target, `E` what it must do with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case<I, E> {
    pub id: CaseId,
    /// Former ids of this case (kept so expectation files and reports stay valid).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<CaseId>,
    /// What the case checks and why it matters, in a sentence or two.
    pub description: String,
    /// Citations: RFC sections, Cargo source locations, PASETO/PASERK documents.
    pub spec: Vec<String>,
    pub level: Level,
    /// Attack or behaviour classes (Wycheproof-style), e.g. `MisBound`, `HighS`, each one
    /// declared with its meaning (`Flag`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<flags::Flag>,
    /// The valid case this one was derived from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<CaseId>,
    /// The single change made to `base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutation: Option<String>,
    /// The current time for the case (RFC 3339); absent: the real time of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    pub input: I,
    pub expect: E,
}

impl<I, E> Case<I, E> {
    /// Whether the case carries `flag`.
    pub fn has_flag(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

/// A file of cases of one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VectorFile<I, E> {
    /// Always [`FORMAT`].
    pub format: String,
    /// The namespace of every case in the file, e.g. `token::valid`.
    pub group: String,
    pub description: String,
    pub cases: Vec<Case<I, E>>,
}
