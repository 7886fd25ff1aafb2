//! Registry authentication cases: the sparse-index protocol's own checks (RFC 3139
//! `auth-required`, Cargo's registry web API), as opposed to the token vectors a registry is
//! also judged on.
//!
//! A case names one [`Exchange`] the runner performs with the registry and the answer it must
//! get. The runner only records what happened ([`crate::judge::registry::Exchanged`]);
//! `suite::judge::registry::judge_auth` decides the verdict.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Case, VectorFile};

pub type AuthCase = Case<AuthInput, AuthExpect>;
pub type AuthFile = VectorFile<AuthInput, AuthExpect>;

/// What the runner does with the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthInput {
    /// What the registry must offer for the case to apply; without it the case is skipped,
    /// saying which is missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Requirement>,
    pub exchange: Exchange,
}

/// A property of the registry a case needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    /// `config.json` says `"auth-required": true` (or asked for a token).
    AuthRequired,
    /// `config.json` named an `api` (the registry served it to credlab's read token).
    Api,
}

/// The requests of a case. Every one acts on credlab's probe crate, which the runner
/// publishes once when it connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Exchange {
    /// `config.json` with a fresh read token signed as Cargo signs it (sent when connecting).
    ConfigWithReadToken,
    /// `config.json` with no `Authorization` (sent first when connecting, as Cargo does).
    ConfigWithoutToken,
    /// The probe crate's index file with no `Authorization`.
    IndexFileWithoutToken,
    /// The probe crate's download with no `Authorization`.
    DownloadWithoutToken,
    /// A yank of the probe crate with no `Authorization`; the index file before and after.
    YankWithoutToken,
    /// An owner added to the probe crate with an owners token for another crate; the owner
    /// list before and after.
    AddOwnerWithOtherCratesToken,
    /// The probe crate as a reader sees it: its index file and its download.
    ProbeCrate,
}

/// What the registry's answer must be. Every stated property must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthExpect {
    /// The statuses allowed; empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u16>,
    /// The body is Cargo's error JSON, `{"errors":[{"detail":…}]}`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub error_json: bool,
    /// A `www-authenticate: Cargo login_url="…"` header.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cargo_challenge: bool,
    /// The state the request would change (index file, owner list) is as it was.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unchanged: bool,
    /// The index lists the probe crate and the download serves the bytes published.
    #[serde(default, skip_serializing_if = "is_false")]
    pub serves_probe: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}
