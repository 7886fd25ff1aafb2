//! The matrix's fakes and fixtures (`matrix/fixtures/`), tested on their own by
//! `matrix/fixtures/test_fakes.py`, run here so that `cargo test` (and CI) runs them too: the
//! stand-in `op` and `bw`, the privatecrates OIDC/registry fakes, the gpg/pass store and the
//! D-Bus keyring session, and the manifest's placeholders against each fixture's `setup`.
//!
//! Nothing may be skipped but the comparison with the real Bitwarden CLI (it needs `BW_REAL`,
//! an npm install): a fixture test skipped for a missing tool would be a test that cannot
//! fail, so a missing tool fails here with its name. `.ci/run` installs them.

use std::path::Path;
use std::process::Command;

/// The one skip allowed: the `bw` stand-in against the real CLI.
const ALLOWED_SKIP: &str = "BW_REAL";

#[test]
fn the_fakes_and_fixtures_pass_their_own_tests() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("matrix/fixtures/test_fakes.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg("-v")
        .env_remove("BW_REAL")
        .output()
        .expect("python3 runs (the fixtures need Python 3.11 or later)");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "matrix/fixtures/test_fakes.py failed:\n{log}"
    );
    let skipped: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("... skipped"))
        .filter(|l| !l.contains(ALLOWED_SKIP))
        .collect();
    assert!(
        skipped.is_empty(),
        "fixture tests skipped (install the tools they name):\n{}",
        skipped.join("\n")
    );
    let ran = log
        .lines()
        .find_map(|l| l.strip_prefix("Ran "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    assert!(ran >= 20, "only {ran} fixture tests ran:\n{log}");
}
