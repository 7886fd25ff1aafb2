//! `credlab fuzz` as users and CI scripts meet it: exit codes (0 nothing found, 1 findings
//! written, 2 usage, 78 unreachable target), the JSON summary, the vectors it writes, and that
//! no secret reaches the output.

use std::time::Duration;

use assert_cmd::Command;
use credlab_runners::blackbox::load_found;
use credlab_suite::keys::SecretKey;
use credlab_targets::registry::server::{self, Bug, Config};
use serde_json::Value;

fn credlab() -> Command {
    let mut cmd = Command::cargo_bin("credlab").expect("the credlab binary is built");
    cmd.env_remove("CREDLAB_SECRET_KEY");
    cmd.timeout(Duration::from_secs(120));
    cmd
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("JSON output")
}

/// `credlab fuzz --provider MUTANT --format json --found DIR`, which must exit 1 (a finding).
fn fuzz_finding(mutant: &str, found: &std::path::Path) -> Value {
    let out = credlab()
        .args(["fuzz", "--provider", mutant, "--format", "json"])
        .arg("--found")
        .arg(found)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    json(&out)
}

#[test]
fn a_crashing_provider_is_found_shrunk_and_written() {
    let dir = tempfile::tempdir().unwrap();
    let found = dir.path().join("found");
    let mutant = "builtin:mutant:panic-on-unknown-argument";
    let first = fuzz_finding(mutant, &found);
    let finding = &first["findings"][0];
    assert_eq!(finding["kind"], "crash", "{first}");
    let id = finding["id"].as_str().unwrap();
    assert!(id.starts_with("found::provider::crash-"), "{id}");
    assert!(finding["minimized_bytes"].as_u64() < finding["input_bytes"].as_u64());
    let path = finding["vector"].as_str().unwrap().to_string();
    let bytes = std::fs::read(&path).unwrap();
    // The same seed finds the same thing and rewrites the same file.
    let second = fuzz_finding(mutant, &found);
    assert_eq!(second["findings"][0]["id"], id);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let (providers, tokens) = load_found(&found).unwrap();
    assert_eq!((providers.len(), tokens.len()), (1, 0));
    assert_eq!(providers[0].cases[0].id.as_str(), id);
}

/// A finding whose shrunk input a committed case already sends is reported, not written: a
/// crash on garbage shrinks to a lone newline, `provider::malformed::blank-line`'s input.
#[test]
fn a_finding_a_committed_case_covers_is_noted_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let found = dir.path().join("found");
    let report = fuzz_finding("builtin:mutant:crash-on-garbage", &found);
    let finding = &report["findings"][0];
    assert_eq!(finding["kind"], "crash", "{report}");
    assert_eq!(finding["minimized"], "\"\\n\"", "{report}");
    assert!(finding["vector"].is_null(), "{report}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("provider::malformed::blank-line already sends this input"),
        "{notes}"
    );
    assert!(load_found(&found).unwrap().0.is_empty());
}

#[test]
fn a_reference_provider_gives_exit_0_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = credlab()
        .args([
            "fuzz",
            "--provider",
            "builtin:paseto",
            "--iterations",
            "40",
            "--seed",
            "9",
        ])
        .arg("--found")
        .arg(dir.path().join("found"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("40 inputs") && text.contains("0 finding(s)"),
        "{text}"
    );
    assert!(!dir.path().join("found").exists());
}

#[test]
fn usage_and_unreachable_targets() {
    credlab().args(["fuzz"]).assert().code(2);
    credlab()
        .args([
            "fuzz",
            "--provider",
            "builtin:paseto",
            "--registry",
            "sparse+http://127.0.0.1:1/index/",
        ])
        .assert()
        .code(2);
    credlab()
        .args(["fuzz", "--provider", "builtin:no-such-provider"])
        .assert()
        .code(2);
    credlab()
        .args(["fuzz", "--provider", "/nonexistent/provider"])
        .assert()
        .code(78);
    let secret = SecretKey::generate().expose_paserk();
    credlab()
        .args(["fuzz", "--registry", "sparse+http://127.0.0.1:1/index/"])
        .assert()
        .code(2);
    credlab()
        .args([
            "fuzz",
            "--registry",
            "sparse+https://registry.example/index/",
        ])
        .env("CREDLAB_SECRET_KEY", &secret)
        .assert()
        .code(2);
    credlab()
        .args(["fuzz", "--registry", "sparse+http://127.0.0.1:1/index/"])
        .env("CREDLAB_SECRET_KEY", &secret)
        .assert()
        .code(78);
}

#[test]
fn a_registry_that_fails_on_garbage_is_found_and_the_key_stays_secret() {
    let key = SecretKey::generate();
    let running = server::start(Config {
        keys: vec![(key.public_key().clone(), None)],
        bug: Some(Bug::ServerErrorOnGarbage),
        ..Config::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = key.expose_paserk();
    let output = credlab()
        .args([
            "fuzz",
            "--registry",
            &running.index_url(),
            "--format",
            "json",
        ])
        .arg("--found")
        .arg(dir.path())
        .env("CREDLAB_SECRET_KEY", &secret)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let report = json(&output.stdout);
    assert_eq!(report["findings"][0]["kind"], "server-error", "{report}");
    let (providers, tokens) = load_found(dir.path()).unwrap();
    assert_eq!((providers.len(), tokens.len()), (0, 1));
    for text in [&output.stdout, &output.stderr] {
        assert!(!String::from_utf8_lossy(text).contains(&secret));
    }
    let file = std::fs::read_to_string(report["findings"][0]["vector"].as_str().unwrap()).unwrap();
    assert!(!file.contains(&secret) && !file.contains("k3.secret."));
    running.shutdown();
}
