//! Providers that cannot log in (a `.netrc` reader, a CI job token, a cloud CLI): the user
//! says what the provider holds (`--stored-token INDEX_URL=TOKEN`, `--provider-home DIR`), and
//! the get cases require exactly that token instead of being skipped.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const URL: &str = "sparse+https://ro.credlab.test/index/";
const TOKEN: &str = "cio-read-only-token-0123456789";

fn home_with(token: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".credlab-tokens"),
        format!("{URL} {token}\n"),
    )
    .unwrap();
    dir
}

fn run(home: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    run_as("builtin:read-only", home, extra)
}

fn run_as(provider: &str, home: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let out = Command::cargo_bin("credlab")
        .unwrap()
        .env_remove("CREDLAB_SECRET_KEY")
        .args(["--provider", provider, "--format", "json"])
        .arg("--provider-home")
        .arg(home)
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        text,
    )
}

fn verdict<'a>(report: &'a Value, id: &str) -> &'a str {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["verdict"].as_str())
        .unwrap_or("not run")
}

#[test]
fn a_read_only_provider_is_judged_on_the_token_it_holds() {
    let home = home_with(TOKEN);
    let stored = format!("{URL}={TOKEN}");
    let (code, report, text) = run(home.path(), &["--stored-token", &stored]);
    assert_eq!(code, Some(0), "{text}");
    for op in ["read", "publish", "yank", "unyank", "owners"] {
        assert_eq!(verdict(&report, &format!("provider::get::{op}")), "pass");
    }
    // It cannot log in, and says so as Cargo expects.
    assert_eq!(
        verdict(&report, "provider::login::with-token"),
        "unimplemented"
    );
    assert_eq!(verdict(&report, "provider::login::token-is-stored"), "pass");
    assert_eq!(report["target"]["facts"]["index-url"], URL);
    assert!(!text.contains(TOKEN), "the stored token is a secret");
}

#[test]
fn a_read_only_provider_serving_another_token_fails() {
    let home = home_with("not-the-token-the-user-named");
    let stored = format!("{URL}={TOKEN}");
    let (code, report, text) = run(home.path(), &["--stored-token", &stored]);
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(verdict(&report, "provider::get::read"), "fail");
    assert!(text.contains("the token the provider holds"), "{text}");
    assert!(
        !text.contains("not-the-token"),
        "what it served is a secret too"
    );
}

#[test]
fn the_token_can_come_from_a_file_and_without_it_gets_are_skipped() {
    let home = home_with(TOKEN);
    let file = home.path().join("token.txt");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let stored = format!("{URL}=@{}", file.display());
    let (code, report, _) = run(home.path(), &["--stored-token", &stored]);
    assert_eq!(code, Some(0));
    assert_eq!(verdict(&report, "provider::get::read"), "pass");
    // Without --stored-token the provider cannot be given a credential: the get cases are
    // skipped, saying how to fix that.
    let (_, report, text) = run(home.path(), &["--index-url", URL]);
    assert_eq!(verdict(&report, "provider::get::read"), "skip", "{text}");
    assert!(text.contains("--stored-token"));
}

const NOTHING_STORED: [&str; 2] = [
    "provider::errors::not-found",
    "provider::errors::logout-nothing-stored",
];

/// The user's registry always holds the token, but the isolation cases' other registry holds
/// nothing: the "nothing stored" cases run there instead of being skipped.
#[test]
fn the_nothing_stored_cases_run_at_the_registry_the_user_did_not_name() {
    let home = home_with(TOKEN);
    let stored = format!("{URL}={TOKEN}");
    let only = [
        "--only",
        "provider::errors::*",
        "--only",
        "provider::get::read",
    ];
    let (code, report, text) = run(
        home.path(),
        &[&["--stored-token", &stored][..], &only].concat(),
    );
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        verdict(&report, "provider::errors::not-found"),
        "pass",
        "{text}"
    );
    // It cannot log out, and says so as Cargo expects.
    assert_eq!(
        verdict(&report, "provider::errors::logout-nothing-stored"),
        "unimplemented",
        "{text}"
    );
    assert_eq!(verdict(&report, "provider::get::read"), "pass", "{text}");
    let facts = &report["target"]["facts"];
    assert_eq!(facts["index-url"], URL);
    assert!(
        facts["empty-registry"]
            .as_str()
            .is_some_and(|f| f.starts_with("sparse+https://other.credlab.test/index/")),
        "{facts}"
    );
}

/// Read-only providers that get "nothing stored" wrong fail there: `Err` other for a registry
/// they hold nothing for (Cargo stops instead of moving on), `Ok` to a logout of nothing.
#[test]
fn read_only_providers_that_get_nothing_stored_wrong_fail() {
    let home = home_with(TOKEN);
    let stored = format!("{URL}={TOKEN}");
    for (bug, id, found) in [
        ("missing-is-other", NOTHING_STORED[0], "err-other"),
        ("logout-ok", NOTHING_STORED[1], "ok-logout"),
    ] {
        let (code, report, text) = run_as(
            &format!("builtin:read-only:{bug}"),
            home.path(),
            &[
                "--stored-token",
                &stored,
                "--only",
                "provider::errors::*",
                "--only",
                "provider::get::read",
            ],
        );
        assert_eq!(verdict(&report, id), "fail", "{bug}: {text}");
        let case = report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert!(
            case["detail"]["found"].as_str().unwrap().starts_with(found),
            "{case}"
        );
        // The other registry is what was asked.
        assert!(
            case.to_string().contains("other.credlab.test"),
            "{bug}: {case}"
        );
        // Should-level: conformant unless --strict.
        assert_eq!(code, Some(0), "{bug}: {text}");
    }
}

/// When a stored token names the other registry too, no registry is empty: the cases are
/// skipped, saying why.
#[test]
fn with_every_registry_stored_the_nothing_stored_cases_are_skipped() {
    let home = home_with(TOKEN);
    let stored = format!("{URL}={TOKEN}");
    let other = "sparse+https://other.credlab.test/index/=another-token-0123456789";
    let (_, report, text) = run(
        home.path(),
        &[
            "--stored-token",
            &stored,
            "--stored-token",
            other,
            "--only",
            "provider::errors::*",
        ],
    );
    for id in NOTHING_STORED {
        assert_eq!(verdict(&report, id), "skip", "{id}: {text}");
    }
    assert!(text.contains("neither is ever empty"), "{text}");
}
