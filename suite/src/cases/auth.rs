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
    /// The registry issued plain (opaque) tokens: credlab was given one (`--token-file`).
    PlainToken,
    /// credlab holds a second user's token, without rights on the probe crate
    /// (`--other-token-file`).
    SecondUser,
}

/// A token credlab makes from the one the registry issued, which the registry must refuse:
/// what a typo, a copy-paste accident or a guess would send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Forgery {
    /// An empty `Authorization` value.
    Empty,
    /// A token-shaped string the registry never issued.
    Garbage,
    /// The token with the case of every letter swapped (for a token with a letter).
    WrongCase,
    /// The token without its last character.
    Truncated,
    /// `Bearer ` and the token: a scheme Cargo never sends (it sends the token verbatim).
    BearerPrefixed,
    /// The token padded to 8 KiB.
    Oversized,
}

/// The size of [`Forgery::Oversized`]: far past any token, within every HTTP server's
/// default header limit (8 KiB or more per header line is the usual floor).
pub const OVERSIZED_TOKEN: usize = 8 * 1024;

impl Forgery {
    /// The forged token, or `None` when the issued token cannot be forged so (no letter to
    /// swap the case of, a single character to truncate).
    pub fn apply(self, token: &str) -> Option<String> {
        match self {
            Forgery::Empty => Some(String::new()),
            Forgery::Garbage => Some("credlab-garbage-0f1e2d3c4b5a69788796a5b4c3d2e1f0".into()),
            Forgery::WrongCase => token.bytes().any(|b| b.is_ascii_alphabetic()).then(|| {
                token
                    .chars()
                    .map(|c| {
                        if c.is_ascii_lowercase() {
                            c.to_ascii_uppercase()
                        } else {
                            c.to_ascii_lowercase()
                        }
                    })
                    .collect()
            }),
            Forgery::Truncated => (token.len() > 1).then(|| token[..token.len() - 1].to_string()),
            Forgery::BearerPrefixed => Some(format!("Bearer {token}")),
            Forgery::Oversized => {
                let pad = OVERSIZED_TOKEN.saturating_sub(token.len()).max(1);
                Some(format!("{token}{}", "A".repeat(pad)))
            }
        }
    }
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
    /// A yank of the probe crate with a forged token; the index file before and after.
    YankWithForgedToken(Forgery),
    /// The probe crate's index file with a forged token.
    IndexFileWithForgedToken(Forgery),
    /// A yank of the probe crate with credlab's own token (after unyanking it, so there is
    /// something to do); the index file before and after.
    YankWithOwnToken,
    /// An unyank of the probe crate with credlab's own token (after yanking it, so there is
    /// something to undo); the index file before and after.
    UnyankWithOwnToken,
    /// The probe crate's owner list with credlab's own token.
    OwnersWithOwnToken,
    /// A yank of the probe crate with the second user's token; the index file before and
    /// after.
    YankWithSecondUsersToken,
    /// A new version of the probe crate published with the second user's token; the index
    /// file before and after.
    PublishWithSecondUsersToken,
    /// Where config.json sends Cargo's requests (`api`, `dl`) compared with the index's
    /// origin (scheme, host and port): Cargo sends the token to each (rust-lang/cargo#6545).
    EndpointOrigins,
}

/// What the registry's answer must be. Every stated property must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    /// The state the request changes (index file, owner list) shows the change.
    #[serde(default, skip_serializing_if = "is_false")]
    pub changed: bool,
    /// The body is Cargo's owner list, `{"users":[{"login":…},…]}`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub owners_json: bool,
    /// `api` and `dl` are on the index's origin.
    #[serde(default, skip_serializing_if = "is_false")]
    pub same_origin: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgeries_differ_from_the_token_or_do_not_apply() {
        let token = "cio_AbC-123";
        for forgery in [
            Forgery::Empty,
            Forgery::Garbage,
            Forgery::WrongCase,
            Forgery::Truncated,
            Forgery::BearerPrefixed,
            Forgery::Oversized,
        ] {
            let forged = forgery
                .apply(token)
                .expect("applies to a token with letters");
            assert_ne!(forged, token, "{forgery:?}");
        }
        assert_eq!(Forgery::WrongCase.apply(token).unwrap(), "CIO_aBc-123");
        assert_eq!(Forgery::Truncated.apply(token).unwrap(), "cio_AbC-12");
        assert_eq!(
            Forgery::Oversized.apply(token).unwrap().len(),
            OVERSIZED_TOKEN
        );
        assert_eq!(Forgery::WrongCase.apply("0123-4567"), None);
        assert_eq!(Forgery::Truncated.apply("x"), None);
    }
}
