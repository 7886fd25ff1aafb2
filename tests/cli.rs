//! The command line as users and CI scripts meet it: outputs, exit codes (0 valid/conformant,
//! 1 invalid/non-conformant, 2 usage, 65 bad data, 78 unreachable target) and secret hygiene.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn credlab() -> Command {
    let mut cmd = Command::cargo_bin("credlab").expect("the credlab binary is built");
    cmd.env_remove("CREDLAB_SECRET_KEY");
    cmd
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("JSON output")
}

fn keypair() -> (String, String, String) {
    let out = credlab()
        .args(["key", "generate"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    (s("secret"), s("public"), s("pid"))
}

#[test]
fn key_generate_prints_a_consistent_pair() {
    let (secret, public, pid) = keypair();
    assert!(
        secret.starts_with("k3.secret.")
            && public.starts_with("k3.public.")
            && pid.starts_with("k3.pid.")
    );
    let key = credlab_suite::keys::SecretKey::from_paserk(&secret).unwrap();
    assert_eq!(key.public_key().to_paserk(), public);
    assert_eq!(key.public_key().id().as_str(), pid);
}

#[test]
fn sign_then_verify_then_refuse() {
    let (secret, public, _) = keypair();
    let url = "sparse+http://127.0.0.1:1/index/";
    let fields = [
        "--operation",
        "publish",
        "--name",
        "foo",
        "--vers",
        "1.0.0",
        "--cksum",
        "ab",
    ];
    let out = credlab()
        .args(["token", "sign", "--url", url, "--sub", "me"])
        .args(fields)
        .env("CREDLAB_SECRET_KEY", &secret)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let token = String::from_utf8(out).unwrap().trim().to_string();
    assert!(token.starts_with("v3.public."));
    let ok = credlab()
        .args([
            "token",
            "verify",
            "-",
            "--public-key",
            &public,
            "--url",
            url,
            "--subject",
            "me",
        ])
        .args(fields)
        .write_stdin(format!("{token}\n"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let ok = json(&ok);
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["claims"]["mutation"], "publish");
    let refused = credlab()
        .args([
            "token",
            "verify",
            &token,
            "--public-key",
            &public,
            "--url",
            url,
            "--subject",
            "me",
        ])
        .args(["--operation", "yank", "--name", "foo", "--vers", "1.0.0"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let refused = json(&refused);
    assert_eq!(refused["valid"], false);
    assert_eq!(refused["rejection"], "mutation-mismatch");
    assert!(refused["message"].as_str().unwrap().contains("yank"));
    let decoded = json(
        &credlab()
            .args(["token", "decode", &token])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone(),
    );
    assert_eq!(decoded["claims"]["name"], "foo");
    assert_eq!(decoded["verified"], false);
}

#[test]
fn token_usage_errors_exit_2_without_echoing_secrets() {
    credlab()
        .args([
            "token",
            "sign",
            "--url",
            "u",
            "--operation",
            "yank",
            "--name",
            "foo",
        ])
        .env("CREDLAB_SECRET_KEY", "k3.secretNOTAKEYMATERIALxyz")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("NOTAKEYMATERIAL").not());
    credlab()
        .args([
            "token",
            "verify",
            "v3.public.x",
            "--public-key",
            "k4.public.AAAA",
            "--url",
            "u",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("k3.public"));
    credlab()
        .args(["token", "decode", "v3.public.AAAA"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("malformed"));
    credlab().args(["--no-such-flag"]).assert().code(2);
}

#[test]
fn vectors_check_passes_and_fails_with_65() {
    credlab()
        .args(["vectors", "check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .assert()
        .success()
        .stdout(predicate::str::contains("ok:"));
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    for sub in ["schema", "tokens"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(src.join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    let valid = dir.path().join("tokens/valid.json");
    let text = std::fs::read_to_string(&valid).unwrap().replacen(
        "\"result\": \"valid\"",
        "\"result\": \"invalid\"",
        1,
    );
    std::fs::write(&valid, text).unwrap();
    credlab()
        .args(["vectors", "check", "--dir"])
        .arg(dir.path())
        .assert()
        .code(65)
        .stderr(predicate::str::contains("valid.json"));
    std::fs::write(dir.path().join("tokens/expired.json"), "{ not json").unwrap();
    credlab()
        .args(["vectors", "check", "--dir"])
        .arg(dir.path())
        .assert()
        .code(65)
        .stderr(predicate::str::contains("not JSON"));
}

#[test]
fn list_and_explain() {
    credlab()
        .args(["--list", "--only", "token::valid::*"])
        .assert()
        .success()
        .stdout(predicate::str::contains("token::valid::publish"))
        .stdout(predicate::str::contains("provider::").not());
    credlab()
        .args(["--explain", "token::mis-bound::cksum-other-crate"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "derived from token::valid::publish",
        ))
        .stdout(predicate::str::contains("cksum-mismatch"));
    credlab()
        .args(["--explain", "provider::get::read"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"kind\": \"get\"").or(predicate::str::contains("get")));
    credlab()
        .args(["--explain", "no::such::case"])
        .assert()
        .code(2);
}

#[test]
fn unreachable_provider_exits_78() {
    credlab()
        .args(["--provider", "/nonexistent/provider"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("not found"));
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    credlab().args(["--provider"]).arg(&plain).assert().code(78);
}

#[test]
fn registry_safety() {
    let (secret, _, _) = keypair();
    credlab()
        .args(["--registry", "sparse+https://registry.example/index/"])
        .env("CREDLAB_SECRET_KEY", &secret)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-remote"));
    credlab()
        .args([
            "--registry",
            "sparse+https://index.crates.io/",
            "--allow-remote",
        ])
        .env("CREDLAB_SECRET_KEY", &secret)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("crates.io"));
    credlab()
        .args(["--registry", "sparse+http://127.0.0.1:9/index/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--secret-key"));
    credlab()
        .args([
            "--registry",
            "sparse+http://127.0.0.1:9/index/",
            "--timeout",
            "2",
        ])
        .env("CREDLAB_SECRET_KEY", &secret)
        .assert()
        .code(78);
}

#[test]
fn reports_formats_and_expectations() {
    let mutant = [
        "--provider",
        "builtin:mutant:cache-unknown",
        "--only",
        "provider::cache::*",
        "--only",
        "provider::get::read",
    ];
    credlab().args(mutant).assert().code(1).stdout(
        predicate::str::contains("FAIL")
            .and(predicate::str::contains("provider::cache::known-value")),
    );
    credlab()
        .args(mutant)
        .args(["--format", "junit"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("<?xml").and(predicate::str::contains("<failure")));
    credlab()
        .args(mutant)
        .args(["--format", "markdown"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "| `provider::cache::known-value` | must | fail |",
        ));
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    credlab()
        .args(mutant)
        .args(["--format", "json", "--report"])
        .arg(&report)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NOT CONFORMANT"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["format"], "credlab-report/1");
    assert_eq!(v["summary"]["conformant"], false);
    let validator = jsonschema::validator_for(&credlab_suite::report::schema()).unwrap();
    assert!(validator.is_valid(&v), "the report matches its schema");
    // Listed as known: xfail, exit 0.
    let expect = dir.path().join("expect.toml");
    std::fs::write(
        &expect,
        "[[expected-failure]]\nid = \"provider::cache::known-value\"\nreason = \"tracked\"\n",
    )
    .unwrap();
    credlab()
        .args(mutant)
        .arg("--expect")
        .arg(&expect)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("XFAIL"));
    // A stale entry fails the run.
    std::fs::write(&expect, "[[expected-failure]]\nid = \"provider::cache::known-value\"\nreason = \"tracked\"\n[[expected-failure]]\nid = \"provider::gone::*\"\nreason = \"old\"\n").unwrap();
    credlab()
        .args(mutant)
        .arg("--expect")
        .arg(&expect)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("stale expectation"));
    // A listed case that passes (xpass) fails the run.
    std::fs::write(
        &expect,
        "[[expected-failure]]\nid = \"provider::get::read\"\nreason = \"was broken\"\n",
    )
    .unwrap();
    credlab()
        .args([
            "--provider",
            "builtin:token-store",
            "--only",
            "provider::get::read",
        ])
        .arg("--expect")
        .arg(&expect)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("XPASS"));
    std::fs::write(&expect, "not toml [").unwrap();
    credlab()
        .args(mutant)
        .arg("--expect")
        .arg(&expect)
        .assert()
        .code(65);
}

#[test]
fn the_login_secret_is_never_printed() {
    let (secret, _, _) = keypair();
    let out = credlab()
        .args([
            "--provider",
            "builtin:mutant:token-with-cr",
            "--only",
            "provider::login::*",
            "--format",
            "json",
        ])
        .env("CREDLAB_SECRET_KEY", &secret)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("<redacted secret-key>"),
        "the evidence shows the login token redacted"
    );
    assert!(
        !text.contains(&secret[10..]),
        "the secret must never appear"
    );
}
