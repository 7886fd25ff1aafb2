//! What the reference registry publishes: only what crates.io would accept and Cargo can read
//! back from the index. Every refusal is a 400 with Cargo's error shape
//! (`{"errors":[{"detail":…}]}`) and changes nothing: no index line, no stored `.crate`, no
//! owner. When each rule runs, and so what becomes of the publish token:
//!
//! - The metadata's rules (`publish::parse`: names, versions, dependencies, features,
//!   `rust_version`, the JSON and index-line sizes) run before the token is looked at, as the
//!   framing checks always did: the token is checked against what the metadata says, and a
//!   refused body leaves a single-use token unused.
//! - Version uniqueness is part of admitting the token (409 `version-exists`, token unused, as
//!   for any existing version).
//! - The `.crate`'s rules (`Publish::check_crate`) run once the token is admitted: a request
//!   whose token does not bind it is refused as such (401) whatever it carries, and no
//!   unauthenticated request makes the registry inflate up to [`MAX_UNPACK_SIZE`]. Like the
//!   other refusals after admission (403 for a non-owner, the name conflict below), they leave
//!   the token used up: it was a valid single-use token, spent on this request. Cargo signs a
//!   fresh token for every request, so a corrected publish is unaffected.
//! - Name uniqueness needs the store: it is decided in the publish transaction, after
//!   admission, as before (before it, an anonymous request would learn which crates exist on
//!   an auth-required registry).
//!
//! Sources: crates.io is rust-lang/crates.io at `57fa0006` (2026-08-21); Cargo is
//! rust-lang/cargo at `af373f76` (2026-08-22), its book under `doc/book/src/reference/`.
//!
//! | rule | checked by | source |
//! |------|------------|--------|
//! | crate name: 1–64 characters, an ASCII letter, then ASCII letters, digits, `-`, `_` | [`crate_name`] | crates.io `crates/crates_io_validation/src/lib.rs:3,93` (`MAX_NAME_LENGTH`, `validate_crate_name`), `src/controllers/krate/publish.rs:120`; Cargo book `registry-index.md` "Name restrictions" |
//! | no Windows device name (`con`, `prn`, `aux`, `nul`, `com0`–`com9`, `lpt0`–`lpt9`, any case) | [`crate_name`] | Cargo `src/util/restricted_names.rs:24` (`is_windows_reserved`); crates.io `migrations/20170430202433_reserve_windows_crate_names/up.sql`, `migrations/2021-02-10-141019_reserve_com0_lpt0/up.sql` (`com0`, `lpt0`) |
//! | one crate per name, case and `-`/`_` folded: `Foo-Bar` is refused once `foo_bar` exists | the store (`store::canonical`) | crates.io `src/controllers/krate/publish.rs:495` ("crate was previously named"), `migrations/20150319224700_dumped_migration_93/up.sql` (`canon_crate_name`); Cargo book `registry-index.md` "Name restrictions" |
//! | version: SemVer 2.0 as the `semver` crate parses it (three numbers, no leading zeros, each fits a u64) | [`version`] | Cargo `crates/cargo-util-schemas/src/index.rs:14` (`IndexPackage::vers: semver::Version`: a line whose `vers` does not parse is unreadable); crates.io `src/controllers/krate/publish.rs:122` |
//! | version at most 150 characters | [`version`] | crates.io `crates/crates_io_validation/src/lib.rs:13` (`MAX_VERSION_LENGTH`), `src/controllers/krate/publish.rs:135` |
//! | a version once, build metadata ignored: `1.0.7+extra` is refused (409, as any existing version) once `1.0.7` exists | admission and the store ([`without_build_metadata`]) | Cargo book `registry-index.md` "Version uniqueness" |
//! | metadata JSON at most 1 MiB | [`metadata_len`] | crates.io `src/controllers/krate/publish.rs:117` (`MAX_JSON_LENGTH`) |
//! | dependency `name`: a crate name; `explicit_name_in_toml`: a dependency name (may start with `_`) | [`dependency_package`], [`dependency_name`] | crates.io `src/controllers/krate/publish.rs:964` (`validate_dependency`), `crates/crates_io_validation/src/lib.rs:144` (`validate_dependency_name`) |
//! | dependency `version_req` parses as a `semver::VersionReq` | [`version_req`] | Cargo `src/sources/registry/index/mod.rs:816` (`Dependency::parse` of the index's `req`); crates.io `src/controllers/krate/publish.rs:980` |
//! | dependency `version_req` at most 256 bytes | [`version_req`] | credlab's bound (none upstream): see [`MAX_REQ_LEN`] |
//! | dependency `kind` is `normal`, `dev`, `build` or absent; `target`, `registry` strings or absent; `optional`, `default_features` booleans or absent; `features` strings | [`dependency_kind`], `publish::index_dep` | Cargo `crates/cargo-util-schemas/src/index.rs` (`RegistryDependency`'s field types); Cargo book `registry-index.md` "JSON schema" (`kind`); crates.io `crates/crates_io_api_types/src/krate_publish.rs` (`kind: Option<DependencyKind>`) |
//! | feature names: an XID start, `_` or digit, then XID continue, `-`, `+`, `.` (so no `dep:`, no `/`) | [`feature_name`] | Cargo `crates/cargo-util-schemas/src/restricted_names.rs:187` (`validate_feature_name`); crates.io `crates/crates_io_validation/src/lib.rs:181`, `src/controllers/krate/publish.rs:409` |
//! | feature values (also a dependency's `features`): `feat`, `dep:dep`, `dep/feat`, `dep?/feat`, each part valid | [`feature_value`] | Cargo `src/workspace/summary.rs:392` (`FeatureValue::new`: the split); crates.io `crates/crates_io_validation/src/lib.rs:201` (`validate_feature`: the parts), `src/controllers/krate/publish.rs:428,968` |
//! | `rust_version`: a bare version (`1`, `1.70`, `1.70.0`), as Cargo reads it from the index | [`rust_version`] | Cargo `crates/cargo-util-schemas/src/index.rs:48` (`rust_version: Option<RustVersion>`), `crates/cargo-util-schemas/src/core/partial_version.rs:82`, `crates/cargo-util-schemas/src/manifest/rust_version.rs:73`; crates.io `src/controllers/krate/publish.rs:869` |
//! | the `.crate` is gzip | `Publish::check_crate` | crates.io `crates/crates_io_tarball/src/lib.rs:82`; Cargo `src/sources/registry/mod.rs:961` (`GzDecoder`) |
//! | it unpacks to at most 512 MiB, inflated as a stream with a cap, never whole into memory | `Publish::check_crate` | crates.io `src/config/publish_limits.rs:29`, `crates/crates_io_tarball/src/lib.rs:86`; Cargo `src/sources/registry/mod.rs:911` (`max_unpack_size`): see [`MAX_UNPACK_SIZE`] |
//! | a tar whose every entry is under `NAME-VERS/`, without `..`, UTF-8, a regular file or directory | `Publish::check_crate` | crates.io `crates/crates_io_tarball/src/lib.rs:122-148` |
//! | exactly one manifest at the top, named `Cargo.toml` (or the deprecated `cargo.toml`) | `Publish::check_crate` | crates.io `crates/crates_io_tarball/src/lib.rs:160,174-192` |
//! | the manifest parses as TOML, has `[package]` with `name` and a literal `version` (not inherited) | `Publish::check_crate` | crates.io `crates/crates_io_tarball/src/manifest.rs:3,35` (`validate_manifest`, `validate_package`) |
//! | the manifest's name and version are the metadata's, exactly | `Publish::check_crate` | crates.io `src/controllers/krate/publish.rs:282,291` |
//! | the manifest is at most 4 MiB (it is read into memory) | `Publish::check_crate` | credlab's bound: see [`MAX_MANIFEST_SIZE`] |
//! | the version's index line is at most 256 KiB | [`index_line_len`] | credlab's bound: see [`MAX_INDEX_LINE`] |
//!
//! Not checked (crates.io policies an alternative registry need not share): wildcard `*`
//! requirements, dependencies on other registries, crates.io's reserved crate names (`std`,
//! `core`, …), required `description`/`license`, counts of features and dependencies,
//! keywords, categories, URLs; nor whether a `target` parses as a `cfg()` expression.

use semver::{Op, Version, VersionReq};

/// Why a publish was refused: the `detail` of the 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid(message.into())
}

/// Longest crate, dependency and feature-part name (crates.io's `MAX_NAME_LENGTH`).
pub const MAX_NAME_LEN: usize = 64;

/// Longest version string (crates.io's `MAX_VERSION_LENGTH`).
pub const MAX_VERSION_LEN: usize = 150;

/// Longest publish-metadata JSON (crates.io's `MAX_JSON_LENGTH`).
pub const MAX_METADATA_LEN: usize = 1024 * 1024;

/// Longest dependency requirement. No upstream source bounds it; real requirements are a few
/// comparators (`>=0.12.0, <0.14.0` is 17 characters), and every index line repeats each one,
/// so a requirement of 10,000 characters only inflates the index. 256 leaves ample room.
pub const MAX_REQ_LEN: usize = 256;

/// Most bytes a `.crate` may unpack to: crates.io's default (`publish_limits.rs`) and the floor
/// of what Cargo itself unpacks (`max_unpack_size`, 512 MiB or 20× the download). At this size
/// the reference registry refuses by size exactly what crates.io refuses, and everything it
/// accepts Cargo can unpack. The bytes are inflated as a stream and dropped as they are
/// counted, so the limit bounds time (about a second of inflate per bomb), not memory.
pub const MAX_UNPACK_SIZE: u64 = 512 * 1024 * 1024;

/// Largest `Cargo.toml` read (it is the one entry held in memory and parsed). Upstream only the
/// unpack limit bounds it; a normalized manifest with a thousand features and hundreds of
/// dependencies is a few hundred KiB, so 4 MiB refuses no real crate.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// Longest index line of one version (the JSON object, without its newline). Neither Cargo nor
/// crates.io states one; credlab bounds it because every index fetch of the crate serves every
/// line. 256 KiB holds, for instance, 500 dependencies of 200 bytes each and 1,500 features of
/// 100 bytes each, more than a normalized manifest under crates.io's default limits (500
/// dependencies, 300 features) usually yields, while a crafted line of megabytes is refused.
pub const MAX_INDEX_LINE: usize = 256 * 1024;

/// `name` if it is shorter than a line, else its head and its length: details echo what
/// was refused without echoing megabytes.
pub fn shown(name: &str) -> String {
    const MAX: usize = 80;
    if name.len() <= MAX {
        return name.to_string();
    }
    let mut end = MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &name[..end], name.len())
}

/// The checks crates.io's `validate_crate_name` and `validate_dependency_name` share: not
/// empty, at most 64 characters, `first` for the first character, then ASCII letters, digits,
/// `-` and `_`.
fn ascii_name(what: &str, name: &str, first: fn(char) -> bool, rule: &str) -> Result<(), Invalid> {
    if name.is_empty() {
        return Err(invalid(format!("the {what} name is empty")));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "the {what} name `{}` is too long (at most {MAX_NAME_LEN} characters)",
            shown(name)
        )));
    }
    let mut chars = name.chars();
    if let Some(c) = chars.next().filter(|c| !first(*c)) {
        return Err(invalid(format!(
            "invalid character `{c}` in {what} name `{}`: the first character must be {rule}",
            shown(name)
        )));
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(invalid(format!(
            "invalid character `{c}` in {what} name `{}`: only ASCII letters, digits, `-` and \
             `_` are allowed",
            shown(name)
        )));
    }
    Ok(())
}

/// Windows device names: a crate named so cannot be unpacked or built on Windows.
fn windows_reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "con" | "prn" | "aux" | "nul")
        || ["com", "lpt"].iter().any(|device| {
            lower
                .strip_prefix(device)
                .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit())
        })
}

/// A crate name crates.io accepts for a new crate.
pub fn crate_name(name: &str) -> Result<(), Invalid> {
    ascii_name(
        "crate",
        name,
        |c| c.is_ascii_alphabetic(),
        "an ASCII letter",
    )?;
    if windows_reserved(name) {
        return Err(invalid(format!(
            "the crate name `{name}` is reserved: it is a Windows device name"
        )));
    }
    Ok(())
}

/// A dependency's package name (its `name` in the publish metadata): a crate name, without the
/// reserved-name rule, which is about new crates only.
pub fn dependency_package(name: &str) -> Result<(), Invalid> {
    ascii_name(
        "dependency",
        name,
        |c| c.is_ascii_alphabetic(),
        "an ASCII letter",
    )
}

/// A dependency's name in `Cargo.toml` (`explicit_name_in_toml`, and the `dep` of a feature
/// value): like a crate name, but it may start with `_`.
pub fn dependency_name(name: &str) -> Result<(), Invalid> {
    ascii_name(
        "dependency",
        name,
        |c| c.is_ascii_alphabetic() || c == '_',
        "an ASCII letter or `_`",
    )
}

/// A version Cargo can read from the index.
pub fn version(vers: &str) -> Result<Version, Invalid> {
    if vers.chars().count() > MAX_VERSION_LEN {
        return Err(invalid(format!(
            "the version `{}` is too long (at most {MAX_VERSION_LEN} characters)",
            shown(vers)
        )));
    }
    Version::parse(vers).map_err(|e| {
        invalid(format!(
            "`{}` is an invalid semver version: {e}",
            shown(vers)
        ))
    })
}

/// A dependency requirement Cargo can read from the index.
pub fn version_req(dependency: &str, req: &str) -> Result<(), Invalid> {
    if req.len() > MAX_REQ_LEN {
        return Err(invalid(format!(
            "the version requirement `{}` of dependency `{dependency}` is too long (at most \
             {MAX_REQ_LEN} bytes)",
            shown(req)
        )));
    }
    VersionReq::parse(req).map(drop).map_err(|e| {
        invalid(format!(
            "`{}` is an invalid version requirement of dependency `{dependency}`: {e}",
            shown(req)
        ))
    })
}

/// A dependency kind from the index's vocabulary (absent means `normal`).
pub fn dependency_kind(dependency: &str, kind: Option<&str>) -> Result<(), Invalid> {
    match kind {
        None | Some("normal" | "dev" | "build") => Ok(()),
        Some(other) => Err(invalid(format!(
            "dependency `{dependency}` has kind `{}`: the kind is `normal`, `dev` or `build`",
            shown(other)
        ))),
    }
}

/// A feature name: a key of `features`, or the `feat` of `dep/feat`.
pub fn feature_name(name: &str) -> Result<(), Invalid> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(invalid("a feature name is empty"));
    };
    if !(unicode_ident::is_xid_start(first) || first == '_' || first.is_ascii_digit()) {
        return Err(invalid(format!(
            "invalid character `{first}` in feature `{}`: the first character must be a \
             Unicode XID start character or a digit (most letters, `_` or `0` to `9`)",
            shown(name)
        )));
    }
    if let Some(c) =
        chars.find(|c| !(unicode_ident::is_xid_continue(*c) || matches!(c, '-' | '+' | '.')))
    {
        return Err(invalid(format!(
            "invalid character `{c}` in feature `{}`: characters must be Unicode XID \
             characters, `-`, `+` or `.`",
            shown(name)
        )));
    }
    Ok(())
}

/// A feature value: what a feature enables (`feat`, `dep:dep`, `dep/feat`, `dep?/feat`), or
/// a feature a dependency is used with. Split as Cargo splits it; each part checked as
/// crates.io checks it. The whole value is named in the error, which says which part failed.
pub fn feature_value(value: &str) -> Result<(), Invalid> {
    let checked = if let Some((dep, feature)) = value.split_once('/') {
        dependency_name(dep.strip_suffix('?').unwrap_or(dep)).and_then(|()| feature_name(feature))
    } else if let Some(dep) = value.strip_prefix("dep:") {
        dependency_name(dep)
    } else {
        feature_name(value)
    };
    checked.map_err(|Invalid(why)| invalid(format!("feature value `{}`: {why}", shown(value))))
}

/// A `rust_version` as Cargo reads it from the index (`RustVersion`): a full version, or a
/// requirement of one bare comparator (`1`, `1.70`), without pre-release or build metadata.
pub fn rust_version(value: &str) -> Result<(), Invalid> {
    let bare = match Version::parse(value) {
        Ok(version) => version.pre.is_empty() && version.build.is_empty(),
        Err(_) => VersionReq::parse(value).is_ok_and(|req| {
            !value.starts_with('^')
                && matches!(req.comparators.as_slice(),
                    [one] if one.op == Op::Caret && one.pre.is_empty())
        }),
    };
    if bare {
        Ok(())
    } else {
        Err(invalid(format!(
            "rust_version `{}` is not a bare Rust version like \"1.70\"",
            shown(value)
        )))
    }
}

/// The publish metadata's length.
pub fn metadata_len(len: usize) -> Result<(), Invalid> {
    if len > MAX_METADATA_LEN {
        return Err(invalid(format!(
            "the publish metadata is {len} bytes: at most 1 MiB ({MAX_METADATA_LEN} bytes) \
             is accepted"
        )));
    }
    Ok(())
}

/// The length of the version's index line.
pub fn index_line_len(len: usize) -> Result<(), Invalid> {
    if len > MAX_INDEX_LINE {
        return Err(invalid(format!(
            "this version's index line would be {len} bytes: at most 256 KiB \
             ({MAX_INDEX_LINE} bytes) is accepted"
        )));
    }
    Ok(())
}

/// `vers` without its build metadata: versions equal up to it are one version to Cargo.
pub fn without_build_metadata(vers: &str) -> &str {
    vers.split_once('+').map_or(vers, |(bare, _)| bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_s_own_feature_name_examples() {
        // Cargo's own examples: crates/cargo-util-schemas/src/restricted_names.rs:242 at af373f76.
        for ok in [
            "c++17",
            "128bit",
            "_foo",
            "feat-name",
            "feat_name",
            "foo.bar",
        ] {
            assert_eq!(feature_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "+foo",
            "-foo",
            ".foo",
            "dep:bar",
            "foo/bar",
            "foo:bar",
            "foo?",
            "?foo",
            "ⒶⒷⒸ",
            "a¼",
        ] {
            assert!(feature_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_names_fold_case_and_only_match_whole_names() {
        for reserved in ["con", "CON", "Nul", "com0", "COM9", "lpt5"] {
            assert!(crate_name(reserved).is_err(), "{reserved}");
        }
        for fine in ["cons", "com10", "comx", "lpt", "nul-x"] {
            assert_eq!(crate_name(fine), Ok(()), "{fine}");
        }
    }

    #[test]
    fn rust_versions_are_bare() {
        for ok in ["1", "1.70", "1.70.0"] {
            assert_eq!(rust_version(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "^1",
            "~1.70",
            "=1.70",
            "1.*",
            "1.70-beta",
            "1.70.0+x",
            "a",
        ] {
            assert!(rust_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn build_metadata_is_what_follows_the_first_plus() {
        assert_eq!(without_build_metadata("1.0.7+a+b"), "1.0.7");
        assert_eq!(without_build_metadata("1.0.7-rc.1"), "1.0.7-rc.1");
    }

    #[test]
    fn details_do_not_echo_megabytes() {
        let long = "é".repeat(100_000);
        assert!(shown(&long).len() < 120);
        assert!(version(&long).unwrap_err().0.len() < 200);
    }
}
