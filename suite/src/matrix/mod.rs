//! The conformance matrix: which public providers and registries credlab judges, how each is
//! installed and set up ([`Manifest`], `matrix/targets.toml`), and what one run of one target
//! gave ([`TargetResult`], `matrix/results/NAME.json`). Rendering is in [`render`]; installing
//! and running is `credlab_runners::matrix`'s job.

pub mod render;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::report::Report;

/// The version of the manifest format.
pub const MANIFEST_FORMAT: &str = "credlab-matrix/1";
/// The version of the result format.
pub const RESULT_FORMAT: &str = "credlab-matrix-result/1";

/// `matrix/targets.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    #[serde(rename = "target")]
    pub targets: Vec<TargetEntry>,
}

/// What kind of thing a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Provider,
    Registry,
}

/// One row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEntry {
    /// The row's id: lowercase ASCII letters, digits and `-`.
    pub name: String,
    pub kind: TargetKind,
    /// What the row shows: the product and its pinned version.
    pub title: String,
    /// Where it comes from (its package page or repository).
    pub upstream: String,
    /// One line on what it is.
    pub about: String,
    pub install: Install,
    /// A folder under `matrix/fixtures/` with the fakes and the `setup` script.
    #[serde(default)]
    pub fixture: Option<String>,
    /// The credlab arguments, with `{bin}`, `{cache}`, `{work}`, `{fixture}`, `{credlab}` (this credlab) and the keys
    /// the fixture's `setup` printed as placeholders.
    pub args: Vec<String>,
    /// A command prefix that runs credlab (a session bus, a fake server), same placeholders.
    #[serde(default)]
    pub wrap: Vec<String>,
    /// How long the whole credlab run may take.
    pub timeout_secs: u64,
    /// Why credlab cannot judge this target (yet), for a target that is not something credlab
    /// can start or reach: the row shows this reason instead of a verdict, and nothing is
    /// installed or run for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
}

/// How a target is installed; pinned, and cached between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// `cargo install --locked --root CACHE/NAME CRATE@VERSION`.
    #[serde(default)]
    pub cargo: Option<CargoPackage>,
    /// `pip install PACKAGE==VERSION` into a venv at `CACHE/NAME/venv`.
    #[serde(default)]
    pub pip: Option<PipPackage>,
    /// Part of credlab (or of Cargo itself): nothing to install.
    #[serde(default)]
    pub builtin: bool,
    /// System (Debian) packages it needs to build or run.
    #[serde(default)]
    pub apt: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CargoPackage {
    #[serde(rename = "crate")]
    pub krate: String,
    pub version: String,
    /// For a crate that is only a library (cargo-credential-libsecret is linked into Cargo as
    /// `cargo:libsecret`; `cargo install` has no binary to install): a wrapper crate under
    /// `matrix/fixtures/`, with its own Cargo.lock pinning `crate = version`, that runs it as a
    /// provider; installed with `cargo install --locked --path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `false` for a crate whose published Cargo.lock cannot build here (nora-registry 1.4.3
    /// pins crates this toolchain is too old for): `cargo install` without `--locked`, which
    /// resolves afresh (and so is pinned only by the crate's own version).
    #[serde(default = "locked_by_default", skip_serializing_if = "is_locked")]
    pub locked: bool,
    /// `PACKAGE@VERSION` pins applied to the crate's own Cargo.lock before a `--locked`
    /// install (kellnr 6.13.0's lock names webpki-roots 1.0.11, which the index no longer
    /// serves): the installer fetches the crate's source from the registry, checks it against
    /// the index's checksum, runs `cargo update -p PACKAGE --precise VERSION` on it, and
    /// installs that with `cargo install --locked --path`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precise: Vec<String>,
}

fn locked_by_default() -> bool {
    true
}

fn is_locked(locked: &bool) -> bool {
    *locked
}

impl CargoPackage {
    /// What is installed, in words: the cache's marker, so a changed recipe reinstalls.
    pub fn describe(&self) -> String {
        let mut text = format!("cargo {}@{}", self.krate, self.version);
        if let Some(path) = &self.path {
            text += &format!(" via {path}");
        }
        if !self.locked {
            text += " (unlocked)";
        }
        if !self.precise.is_empty() {
            text += &format!(" with {}", self.precise.join(", "));
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipPackage {
    pub package: String,
    pub version: String,
}

/// Why a manifest is refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("not TOML the manifest format knows: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("format {0:?}; this credlab reads {MANIFEST_FORMAT:?}")]
    Format(String),
    #[error("target {0:?}: a name is lowercase ASCII letters, digits and '-'")]
    Name(String),
    #[error("target {0:?} appears twice")]
    Duplicate(String),
    #[error("target {0:?}: install needs exactly one of cargo, pip or builtin = true")]
    Install(String),
    #[error("target {0:?}: timeout_secs must be more than 0")]
    Timeout(String),
    #[error(
        "target {0:?}: an install path is a folder under matrix/fixtures/, relative, without '..'"
    )]
    Path(String),
    #[error(
        "target {0:?}: precise pins are PACKAGE@VERSION, for a locked install of a registry crate (no path)"
    )]
    Precise(String),
    #[error("target {name:?}: {what} {value:?} is not a pinned version (digits and dots)")]
    Unpinned {
        name: String,
        what: &'static str,
        value: String,
    },
}

impl Manifest {
    /// Parses and checks a manifest.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(text)?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(ManifestError::Format(manifest.format));
        }
        let mut seen = BTreeSet::new();
        for target in &manifest.targets {
            let name = &target.name;
            let well_formed = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !well_formed {
                return Err(ManifestError::Name(name.clone()));
            }
            if !seen.insert(name.clone()) {
                return Err(ManifestError::Duplicate(name.clone()));
            }
            let install = &target.install;
            let ways = [
                install.cargo.is_some(),
                install.pip.is_some(),
                install.builtin,
            ];
            if ways.iter().filter(|&&w| w).count() != 1 {
                return Err(ManifestError::Install(name.clone()));
            }
            if target.timeout_secs == 0 {
                return Err(ManifestError::Timeout(name.clone()));
            }
            let pinned = |what: &'static str, value: &str| {
                let ok = !value.is_empty()
                    && value.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    && !value.starts_with('.')
                    && !value.ends_with('.');
                if ok {
                    Ok(())
                } else {
                    Err(ManifestError::Unpinned {
                        name: name.clone(),
                        what,
                        value: value.to_string(),
                    })
                }
            };
            if let Some(cargo) = &install.cargo {
                pinned("crate version", &cargo.version)?;
                if let Some(path) = &cargo.path {
                    let inside = !path.is_empty()
                        && std::path::Path::new(path)
                            .components()
                            .all(|c| matches!(c, std::path::Component::Normal(_)));
                    if !inside {
                        return Err(ManifestError::Path(name.clone()));
                    }
                }
                if !cargo.precise.is_empty() {
                    if !cargo.locked || cargo.path.is_some() {
                        return Err(ManifestError::Precise(name.clone()));
                    }
                    for pin in &cargo.precise {
                        let (package, version) = pin
                            .split_once('@')
                            .ok_or_else(|| ManifestError::Precise(name.clone()))?;
                        let package_ok = !package.is_empty()
                            && package
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                        if !package_ok {
                            return Err(ManifestError::Precise(name.clone()));
                        }
                        pinned("precise version", version)?;
                    }
                }
            }
            if let Some(pip) = &install.pip {
                pinned("package version", &pip.version)?;
            }
        }
        Ok(manifest)
    }
}

/// What one run of one target gave: `matrix/results/NAME.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetResult {
    /// Always [`RESULT_FORMAT`].
    pub format: String,
    pub name: String,
    pub kind: TargetKind,
    pub title: String,
    pub upstream: String,
    pub about: String,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    pub duration_ms: u64,
    /// credlab's exit code; `None` when it did not run or was killed.
    pub exit_code: Option<i32>,
    /// The reports credlab wrote (one per target it judged).
    #[serde(default)]
    pub reports: Vec<Report>,
    /// Why there is no verdict: the install, the fixture or credlab itself failed, or the
    /// run was killed at its timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TargetResult {
    /// The same target with `reports`, an exit code and no error: how a run that finished
    /// is recorded. (A run that could not start has no reports and an error.)
    pub fn for_entry(entry: &TargetEntry, started: String) -> Self {
        Self {
            format: RESULT_FORMAT.into(),
            name: entry.name.clone(),
            kind: entry.kind,
            title: entry.title.clone(),
            upstream: entry.upstream.clone(),
            about: entry.about.clone(),
            started,
            duration_ms: 0,
            exit_code: None,
            reports: Vec::new(),
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
format = "credlab-matrix/1"
[[target]]
name = "netrc"
kind = "provider"
title = "cargo-credential-netrc 0.1.0"
upstream = "https://crates.io/crates/cargo-credential-netrc"
about = "reads ~/.netrc"
install = { cargo = { crate = "cargo-credential-netrc", version = "0.1.0" } }
args = ["--provider", "{bin}/cargo-credential-netrc"]
timeout_secs = 600
"#;

    #[test]
    fn a_manifest_parses_and_is_checked() {
        let manifest = Manifest::parse(ONE).expect("parses");
        assert_eq!(manifest.targets[0].name, "netrc");
        let wrapped = Manifest::parse(&ONE.replace(
            "version = \"0.1.0\" }",
            "version = \"0.1.0\", path = \"keyring/libsecret-provider\" }",
        ))
        .expect("a wrapper path parses");
        let cargo = wrapped.targets[0].install.cargo.as_ref().expect("cargo");
        assert_eq!(cargo.path.as_deref(), Some("keyring/libsecret-provider"));
        assert!(cargo.locked, "locked unless the manifest says otherwise");
        let pinned = Manifest::parse(&ONE.replace(
            "version = \"0.1.0\" }",
            "version = \"0.1.0\", precise = [\"webpki-roots@1.0.10\"] }",
        ))
        .expect("a precise pin parses");
        assert_eq!(
            pinned.targets[0].install.cargo.as_ref().unwrap().describe(),
            "cargo cargo-credential-netrc@0.1.0 with webpki-roots@1.0.10"
        );
        let unlocked = Manifest::parse(&ONE.replace(
            "version = \"0.1.0\" }",
            "version = \"0.1.0\", locked = false }",
        ))
        .expect("an unlocked install parses");
        assert_eq!(
            unlocked.targets[0]
                .install
                .cargo
                .as_ref()
                .unwrap()
                .describe(),
            "cargo cargo-credential-netrc@0.1.0 (unlocked)"
        );
        let twice = format!("{ONE}{}", &ONE[ONE.find("[[target]]").unwrap()..]);
        assert!(matches!(
            Manifest::parse(&twice),
            Err(ManifestError::Duplicate(_))
        ));
        for (from, to, error) in [
            ("version = \"0.1.0\"", "version = \"^0.1\"", "Unpinned"),
            ("name = \"netrc\"", "name = \"Net rc\"", "Name"),
            ("timeout_secs = 600", "timeout_secs = 0", "Timeout"),
            ("credlab-matrix/1", "credlab-matrix/9", "Format"),
            (
                "install = { cargo",
                "install = { builtin = true, cargo",
                "Install",
            ),
            ("about = ", "abot = ", "Toml"),
            (
                "version = \"0.1.0\" }",
                "version = \"0.1.0\", path = \"../elsewhere\" }",
                "Path",
            ),
            (
                "version = \"0.1.0\" }",
                "version = \"0.1.0\", path = \"/abs\" }",
                "Path",
            ),
            (
                "version = \"0.1.0\" }",
                "version = \"0.1.0\", precise = [\"webpki-roots\"] }",
                "Precise",
            ),
            (
                "version = \"0.1.0\" }",
                "version = \"0.1.0\", precise = [\"webpki-roots@1.0.10\"], locked = false }",
                "Precise",
            ),
            (
                "version = \"0.1.0\" }",
                "version = \"0.1.0\", precise = [\"webpki-roots@^1\"] }",
                "Unpinned",
            ),
        ] {
            let error_text = format!("{:?}", Manifest::parse(&ONE.replace(from, to)));
            assert!(error_text.contains(error), "{from} → {to}: {error_text}");
        }
    }
}
