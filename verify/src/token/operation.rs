//! What a token authorises, and which claims that puts in it.
//!
//! Mapping from Cargo `src/util/credential/paseto.rs` (the `Operation` match) and
//! `credential/cargo-credential/src/lib.rs` (`Operation`):
//!
//! | operation | `mutation` | `name` | `vers` | `cksum` |
//! |-----------|------------|--------|--------|---------|
//! | read      | —          | —      | —      | —       |
//! | publish   | `publish`  | yes    | yes    | yes     |
//! | yank      | `yank`     | yes    | yes    | —       |
//! | unyank    | `unyank`   | yes    | yes    | —       |
//! | owners    | `owners`   | yes    | —      | —       |
//!
//! `owners` is a mutation even for the read-only owner list: Cargo builds one owners token per
//! `cargo owner` command and sends it on GET, PUT and DELETE alike.

use serde::{Deserialize, Serialize};

/// The request a token is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "kebab-case", from = "OperationRepr")]
pub enum Operation {
    /// Index, config.json, downloads and search on `auth-required` registries.
    Read,
    Publish {
        name: String,
        vers: String,
        /// Lowercase hex SHA-256 of the `.crate` bytes in the publish body.
        cksum: String,
    },
    Yank {
        name: String,
        vers: String,
    },
    Unyank {
        name: String,
        vers: String,
    },
    /// Owner list, add and remove.
    Owners {
        name: String,
    },
}

// How an `Operation` is read and described in the JSON Schema: `read` as an empty struct
// variant, because serde ignores `deny_unknown_fields` on unit variants of internally tagged
// enums (`{"operation":"read","name":"x"}` would parse and silently drop `name`; found by the
// `vector_file` fuzz target).
/// The request a token is bound to.
#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "operation", rename_all = "kebab-case", deny_unknown_fields)]
#[cfg_attr(feature = "schema", schemars(rename = "Operation"))]
enum OperationRepr {
    /// Index, config.json, downloads and search on `auth-required` registries.
    Read {},
    Publish {
        name: String,
        vers: String,
        /// Lowercase hex SHA-256 of the `.crate` bytes in the publish body.
        cksum: String,
    },
    Yank {
        name: String,
        vers: String,
    },
    Unyank {
        name: String,
        vers: String,
    },
    /// Owner list, add and remove.
    Owners {
        name: String,
    },
}

impl From<OperationRepr> for Operation {
    fn from(repr: OperationRepr) -> Self {
        match repr {
            OperationRepr::Read {} => Operation::Read,
            OperationRepr::Publish { name, vers, cksum } => {
                Operation::Publish { name, vers, cksum }
            }
            OperationRepr::Yank { name, vers } => Operation::Yank { name, vers },
            OperationRepr::Unyank { name, vers } => Operation::Unyank { name, vers },
            OperationRepr::Owners { name } => Operation::Owners { name },
        }
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Operation {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        OperationRepr::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        OperationRepr::json_schema(generator)
    }
}

/// The value of the `mutation` claim.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Mutation {
    Publish,
    Yank,
    Unyank,
    Owners,
}

impl Mutation {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Operation names as the CLI and the vectors spell them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum OperationKind {
    Read,
    Publish,
    Yank,
    Unyank,
    Owners,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn all() -> impl Iterator<Item = Self> {
        <Self as strum::IntoEnumIterator>::iter()
    }
}

/// Why fields cannot make an [`Operation`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    #[error("`{operation}` needs `--{field}`")]
    Missing {
        operation: &'static str,
        field: &'static str,
    },
    #[error("`{operation}` does not take `--{field}`")]
    Unexpected {
        operation: &'static str,
        field: &'static str,
    },
}

impl Operation {
    /// The operation named `kind` (`read`, `publish`, `yank`, `unyank`, `owners`: a Cargo
    /// request's `operation`, or a token's `mutation` with `None` for a read), taking the
    /// fields it needs from `field` and ignoring any others. `None` for an unknown kind or a
    /// missing field. Where extra fields must be refused, use [`Operation::from_parts`].
    pub fn from_fields(kind: Option<&str>, field: impl Fn(&str) -> Option<String>) -> Option<Self> {
        Some(match kind {
            None | Some("read") => Operation::Read,
            Some("publish") => Operation::Publish {
                name: field("name")?,
                vers: field("vers")?,
                cksum: field("cksum")?,
            },
            Some("yank") => Operation::Yank {
                name: field("name")?,
                vers: field("vers")?,
            },
            Some("unyank") => Operation::Unyank {
                name: field("name")?,
                vers: field("vers")?,
            },
            Some("owners") => Operation::Owners {
                name: field("name")?,
            },
            Some(_) => return None,
        })
    }

    /// Builds an operation from loose fields, refusing missing and superfluous ones.
    pub fn from_parts(
        kind: OperationKind,
        name: Option<&str>,
        vers: Option<&str>,
        cksum: Option<&str>,
    ) -> Result<Self, OperationError> {
        let operation = kind.as_str();
        let take = |value: Option<&str>, field, wanted: bool| -> Result<String, OperationError> {
            match (value, wanted) {
                (Some(v), true) => Ok(v.to_string()),
                (None, true) => Err(OperationError::Missing { operation, field }),
                (Some(_), false) => Err(OperationError::Unexpected { operation, field }),
                (None, false) => Ok(String::new()),
            }
        };
        let (needs_name, needs_vers, needs_cksum) = match kind {
            OperationKind::Read => (false, false, false),
            OperationKind::Publish => (true, true, true),
            OperationKind::Yank | OperationKind::Unyank => (true, true, false),
            OperationKind::Owners => (true, false, false),
        };
        let name = take(name, "name", needs_name)?;
        let vers = take(vers, "vers", needs_vers)?;
        let cksum = take(cksum, "cksum", needs_cksum)?;
        Ok(match kind {
            OperationKind::Read => Operation::Read,
            OperationKind::Publish => Operation::Publish { name, vers, cksum },
            OperationKind::Yank => Operation::Yank { name, vers },
            OperationKind::Unyank => Operation::Unyank { name, vers },
            OperationKind::Owners => Operation::Owners { name },
        })
    }

    pub fn kind(&self) -> OperationKind {
        match self {
            Operation::Read => OperationKind::Read,
            Operation::Publish { .. } => OperationKind::Publish,
            Operation::Yank { .. } => OperationKind::Yank,
            Operation::Unyank { .. } => OperationKind::Unyank,
            Operation::Owners { .. } => OperationKind::Owners,
        }
    }

    /// The `mutation` claim this operation requires (`None` for reads).
    pub fn mutation(&self) -> Option<Mutation> {
        match self {
            Operation::Read => None,
            Operation::Publish { .. } => Some(Mutation::Publish),
            Operation::Yank { .. } => Some(Mutation::Yank),
            Operation::Unyank { .. } => Some(Mutation::Unyank),
            Operation::Owners { .. } => Some(Mutation::Owners),
        }
    }

    /// The `name` claim this operation requires.
    pub fn name(&self) -> Option<&str> {
        match self {
            Operation::Read => None,
            Operation::Publish { name, .. }
            | Operation::Yank { name, .. }
            | Operation::Unyank { name, .. }
            | Operation::Owners { name } => Some(name),
        }
    }

    /// The `vers` claim this operation requires.
    pub fn vers(&self) -> Option<&str> {
        match self {
            Operation::Publish { vers, .. }
            | Operation::Yank { vers, .. }
            | Operation::Unyank { vers, .. } => Some(vers),
            Operation::Read | Operation::Owners { .. } => None,
        }
    }

    /// The `cksum` claim this operation requires.
    pub fn cksum(&self) -> Option<&str> {
        match self {
            Operation::Publish { cksum, .. } => Some(cksum),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_parts_is_strict() {
        let publish = Operation::from_parts(
            OperationKind::Publish,
            Some("foo"),
            Some("0.1.0"),
            Some("ab"),
        )
        .unwrap();
        assert_eq!(publish.cksum(), Some("ab"));
        assert_eq!(
            Operation::from_parts(OperationKind::Publish, Some("foo"), Some("0.1.0"), None),
            Err(OperationError::Missing {
                operation: "publish",
                field: "cksum"
            })
        );
        assert_eq!(
            Operation::from_parts(OperationKind::Owners, Some("foo"), Some("0.1.0"), None),
            Err(OperationError::Unexpected {
                operation: "owners",
                field: "vers"
            })
        );
        assert_eq!(
            Operation::from_parts(OperationKind::Read, None, None, None),
            Ok(Operation::Read)
        );
    }

    #[test]
    fn owners_is_a_mutation_without_vers() {
        let owners = Operation::Owners { name: "foo".into() };
        assert_eq!(owners.mutation(), Some(Mutation::Owners));
        assert_eq!(owners.vers(), None);
    }
}
