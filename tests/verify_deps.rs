//! `credlab-verify` is the crate a registry depends on, so its normal dependency tree must stay
//! free of the suite's machinery (schema validation, reports, config, globbing, fuzzing) and of
//! the CLI, runners and benches (HTTP, async, SQLite). Checked with `cargo tree`, offline: the
//! workspace's dependencies are already fetched when its tests run.

use std::path::Path;
use std::process::Command;

/// Crates (and their `-`/`_` families: `toml_edit`, `tokio-macros`, `schemars_derive`, …) that
/// must not be in `credlab-verify`'s normal dependency tree.
const FORBIDDEN: &[&str] = &[
    "jsonschema",
    "quick-junit",
    "toml",
    "globset",
    "arbitrary",
    "schemars",
    "criterion",
    "clap",
    "axum",
    "tokio",
    "ureq",
    "rusqlite",
];

/// The crate names in `cargo tree -p credlab-verify -e normal --prefix none` with `features`.
fn normal_deps(features: &[&str]) -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "credlab-verify",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .args(features)
        .output()
        .expect("run `cargo tree`");
    assert!(
        output.status.success(),
        "`cargo tree {}` failed ({}):\n{}",
        features.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("cargo tree prints UTF-8");
    let mut names: Vec<String> = stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn is_forbidden(name: &str) -> Option<&'static str> {
    FORBIDDEN.iter().copied().find(|f| {
        name == *f
            || name
                .strip_prefix(f)
                .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('_'))
    })
}

fn check(features: &[&str], must_have: &[&str], must_not_have: &[&str]) {
    let names = normal_deps(features);
    // The output really is the dependency list (a parsing or cargo change would otherwise make
    // this test pass vacuously).
    for expected in ["credlab-verify", "pasetors", "p384", "serde_json", "time"]
        .iter()
        .chain(must_have)
    {
        assert!(
            names.iter().any(|n| n == expected),
            "`{expected}` missing from credlab-verify's tree ({features:?}): {names:?}"
        );
    }
    let found: Vec<String> = names
        .iter()
        .filter_map(|n| is_forbidden(n).map(|f| format!("{n} (no {f})")))
        .chain(
            names
                .iter()
                .filter(|n| must_not_have.contains(&n.as_str()))
                .cloned(),
        )
        .collect();
    assert!(
        found.is_empty(),
        "credlab-verify ({features:?}) depends on {found:?}; full tree: {names:?}"
    );
}

#[test]
fn default_features_stay_lean() {
    check(&[], &["aws-lc-rs"], &[]);
}

#[test]
fn pasetors_backend_links_no_aws_lc() {
    check(
        &["--no-default-features", "--features", "pasetors-backend"],
        &[],
        &["aws-lc-rs", "aws-lc-sys"],
    );
}
