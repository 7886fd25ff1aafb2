//! A PASETO provider whose user set `registry.secret-key-subject` puts `sub` in every token.
//! Without `--subject`, credlab accepts any `sub` (and shows it); with `--subject S`, `sub`
//! must be S.

use assert_cmd::Command;
use serde_json::Value;

fn run(extra: &[&str]) -> (Option<i32>, Value) {
    let out = Command::cargo_bin("credlab")
        .unwrap()
        .env_remove("CREDLAB_SECRET_KEY")
        .args(["--provider", "builtin:paseto", "--format", "json"])
        // The reference PASETO provider takes the key's subject as a config argument.
        .arg("--provider-arg=--key-subject=acme-ci")
        .args(["--only", "provider::token::*"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
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

#[test]
fn any_subject_is_accepted_and_shown_without_subject() {
    let (code, report) = run(&[]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["target"]["facts"]["subject"], "`sub` \"acme-ci\"");
    assert!(verdicts(&report).iter().all(|(_, v)| v == "pass"));
}

#[test]
fn with_subject_sub_must_match() {
    let (code, _) = run(&["--subject", "acme-ci"]);
    assert_eq!(code, Some(0));
    let (code, report) = run(&["--subject", "someone-else"]);
    assert_eq!(code, Some(1));
    let failed: Vec<(String, String)> = verdicts(&report)
        .into_iter()
        .filter(|(_, v)| v == "fail")
        .collect();
    assert!(
        failed
            .iter()
            .any(|(id, _)| id == "provider::token::read-binding"),
        "{failed:?}"
    );
    let text = report.to_string();
    assert!(text.contains("subject-mismatch"), "{text}");
}
