//! Verdicts do not depend on case order or `--jobs` for providers whose state lives outside
//! HOME (a keyring, `pass`, a vault): the `shared:` built-in providers keep their credentials
//! in one file every case of a run shares.
//!
//! For each, the suite runs with `--jobs 1`, `--jobs 8` and three shuffled orders, and every
//! case also runs alone: all verdicts must be the same. The conformant one passes everything;
//! the one that keeps a single credential for every registry fails exactly the isolation
//! cases, and nothing else.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use assert_cmd::Command;

type Verdicts = BTreeMap<String, String>;

fn run(provider: &str, store: &Path, extra: &[&str]) -> Verdicts {
    let out = Command::cargo_bin("credlab")
        .unwrap()
        .env_remove("CREDLAB_SECRET_KEY")
        .args([
            "--provider",
            provider,
            "--format",
            "json",
            "--timeout",
            "10",
        ])
        .arg("--provider-env")
        .arg(format!("CREDLAB_SHARED_STORE={}", store.display()))
        .args(extra)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{provider} {extra:?}: no JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn same_everywhere(provider: &str) -> Verdicts {
    let dir = tempfile::tempdir().unwrap();
    let fresh = |name: &str| dir.path().join(name);
    let baseline = run(provider, &fresh("jobs-1"), &["--jobs", "1"]);
    assert!(!baseline.is_empty());
    let schedules: [(&str, &[&str]); 4] = [
        ("jobs-8", &["--jobs", "8"]),
        ("shuffle-1", &["--jobs", "4", "--shuffle", "--seed", "1"]),
        ("shuffle-2", &["--jobs", "4", "--shuffle", "--seed", "2"]),
        ("shuffle-3", &["--jobs", "2", "--shuffle", "--seed", "3"]),
    ];
    for (name, args) in schedules {
        let other = run(provider, &fresh(name), args);
        let differ: Vec<String> = baseline
            .iter()
            .filter(|(id, v)| other.get(*id) != Some(*v))
            .map(|(id, v)| format!("{id}: {v} with --jobs 1, {:?} with {args:?}", other.get(id)))
            .collect();
        assert!(differ.is_empty(), "{provider}: {differ:#?}");
    }
    // Each case alone, a few runs at a time (each with a store of its own).
    let ids: Mutex<Vec<String>> = Mutex::new(baseline.keys().cloned().collect());
    let differ: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let Some(id) = ids.lock().unwrap().pop() else {
                        return;
                    };
                    let alone = run(
                        provider,
                        &fresh(&format!("alone-{}", id.replace("::", "-"))),
                        &["--only", &id],
                    );
                    if alone.get(&id) != baseline.get(&id) {
                        differ.lock().unwrap().push(format!(
                            "{id}: {:?} in the suite, {:?} alone",
                            baseline.get(&id),
                            alone.get(&id)
                        ));
                    }
                }
            });
        }
    });
    let differ = differ.into_inner().unwrap();
    assert!(differ.is_empty(), "{provider}: {differ:#?}");
    baseline
}

fn not_passing(verdicts: &Verdicts) -> Vec<String> {
    verdicts
        .iter()
        .filter(|(_, v)| !matches!(v.as_str(), "pass" | "pass-nonstrict" | "skip"))
        .map(|(id, v)| format!("{id}: {v}"))
        .collect()
}

#[test]
fn a_conformant_shared_store_passes_in_any_order() {
    let verdicts = same_everywhere("builtin:shared:token-store");
    assert_eq!(not_passing(&verdicts), Vec::<String>::new());
}

#[test]
fn a_one_slot_store_fails_isolation_only_in_any_order() {
    let verdicts = same_everywhere("builtin:shared:one-slot");
    let failed = not_passing(&verdicts);
    assert!(!failed.is_empty());
    for f in &failed {
        assert!(
            f.starts_with("provider::isolation::") && f.ends_with(": fail"),
            "{f} (all: {failed:#?})"
        );
    }
    for id in [
        "provider::isolation::get-other-registry",
        "provider::isolation::get-same-name-other-url",
        "provider::isolation::logout-other-registry",
        "provider::isolation::logout-same-name-other-url",
    ] {
        assert_eq!(verdicts.get(id).map(String::as_str), Some("fail"), "{id}");
    }
}

/// A provider keyed by registry name, as Cargo's own `cargo:token` is (docs/observed.md §3):
/// it fails the same-name cases, which are should-level, and is conformant; the other
/// isolation cases still pass.
#[test]
fn a_provider_keyed_by_name_like_cargo_token_fails_only_should_cases() {
    let out = Command::cargo_bin("credlab")
        .unwrap()
        .env_remove("CREDLAB_SECRET_KEY")
        .args([
            "--provider",
            "builtin:mutant:keyed-by-name",
            "--format",
            "json",
            "--only",
            "provider::isolation::*",
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let case = |id: &str| {
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| (c["level"].as_str().unwrap(), c["verdict"].as_str().unwrap()))
    };
    for slug in ["get-same-name-other-url", "logout-same-name-other-url"] {
        let id = format!("provider::isolation::{slug}");
        assert_eq!(case(&id), Some(("should", "fail")), "{id}: {report}");
    }
    for slug in ["get-other-registry", "logout-other-registry"] {
        let id = format!("provider::isolation::{slug}");
        assert_eq!(case(&id), Some(("must", "pass")), "{id}: {report}");
    }
    assert_eq!(out.status.code(), Some(0), "{report}");
    // --strict counts should-level failures.
    Command::cargo_bin("credlab")
        .unwrap()
        .env_remove("CREDLAB_SECRET_KEY")
        .args([
            "--provider",
            "builtin:mutant:keyed-by-name",
            "--only",
            "provider::isolation::*",
            "--strict",
        ])
        .assert()
        .code(1);
}

/// Processes whose environment says they are the `daemonizes` mutant (or its children).
fn daemons_alive() -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| {
            std::fs::read(e.path().join("environ")).is_ok_and(|env| {
                env.windows(b"mutant:daemonizes".len())
                    .any(|w| w == b"mutant:daemonizes")
            })
        })
        .count()
}

#[test]
fn a_provider_that_daemonizes_leaves_nothing_and_is_named() {
    for format in ["json", "human", "markdown", "junit"] {
        let out = Command::cargo_bin("credlab")
            .unwrap()
            .args([
                "--provider",
                "builtin:mutant:daemonizes",
                "--format",
                format,
            ])
            .args([
                "--only",
                "provider::get::*",
                "--only",
                "provider::robustness::*",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("provider::robustness::no-processes-left")
                && stdout.contains("running after stdin closed"),
            "{format}: {stdout}"
        );
        // A should-level finding: the must-level cases still pass.
        assert_eq!(out.status.code(), Some(0), "{format}: {stdout}");
    }
    assert_eq!(daemons_alive(), 0, "every daemon was killed and reaped");
}
