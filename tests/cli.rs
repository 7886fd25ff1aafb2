//! The command line as users and CI scripts meet it: outputs, exit codes (0 valid/conformant,
//! 1 invalid/non-conformant, 2 usage, 65 bad data, 78 unreachable target) and secret hygiene.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn credlab() -> Command {
    let mut cmd = Command::cargo_bin("credlab").expect("the credlab binary is built");
    cmd.env_remove("CREDLAB_SECRET_KEY");
    cmd.env_remove("CREDLAB_REGISTRY_TOKEN");
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

/// A found vector that sends what a committed case already sends is refused, naming that case.
#[test]
fn vectors_check_refuses_a_found_vector_a_committed_case_covers() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    for sub in ["schema", "tokens", "provider", "found"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(src.join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    credlab()
        .args(["vectors", "check", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    // What `credlab fuzz` writes for a provider that hangs on a blank line.
    let blank = r#"{"format":"credlab-vectors/1","group":"found::provider","description":"found","cases":[{"id":"found::provider::hang-01ba4719","description":"found","spec":["fuzz"],"level":"must","flags":["Fuzzed"],"input":{"steps":[{"send":{"kind":"bytes","base64":"Cg"}}]},"expect":{"answers":["err-other","no-answer"]}}]}"#;
    std::fs::write(dir.path().join("found/provider-hang-01ba4719.json"), blank).unwrap();
    credlab()
        .args(["vectors", "check", "--dir"])
        .arg(dir.path())
        .assert()
        .code(65)
        .stderr(predicate::str::contains(
            "provider-hang-01ba4719.json: found::provider::hang-01ba4719: sends the same input as the committed case provider::malformed::blank-line",
        ));
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
    // A Cargo-shaped token: acceptable offline (the high-s knob), must-accept over HTTP.
    credlab()
        .args(["--explain", "token::valid::yank-high-s"])
        .assert()
        .success()
        .stdout(predicate::str::contains("(should)"))
        .stdout(predicate::str::contains("\"policy\":\"high-s\""))
        .stdout(predicate::str::contains(
            "over HTTP (credlab --registry): must, expect {\"result\":\"valid\"}",
        ));
    credlab()
        .args(["--explain", "token::malformed::payload-deep-nesting"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"policy\":\"json-depth\""))
        .stdout(predicate::str::contains("never a 5xx"))
        .stdout(predicate::str::contains("over HTTP (credlab --registry)").not());
    credlab()
        .args(["--explain", "provider::get::read"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"kind\": \"get\"").or(predicate::str::contains("get")));
    // Cargo's own provider fails the same-name isolation cases: should-level, and said so.
    for id in [
        "provider::isolation::get-same-name-other-url",
        "provider::isolation::logout-same-name-other-url",
    ] {
        credlab()
            .args(["--explain", id])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("{id}  (should)")))
            .stdout(predicate::str::contains(
                "Cargo's own `cargo:token` keys tokens by registry name",
            ))
            .stdout(predicate::str::contains(".cargo/config.toml"))
            .stdout(predicate::str::contains("docs/observed.md §3"));
    }
    // A registry case says how strictly its refusal is judged (its group's text).
    credlab()
        .args(["--explain", "registry::plain::garbage-token-on-yank"])
        .assert()
        .success()
        .stdout(predicate::str::contains("(must)"))
        .stdout(predicate::str::contains("registry::plain: What a registry"))
        .stdout(predicate::str::contains("passes non-strictly"))
        .stdout(predicate::str::contains("the case is skipped"));
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

/// A tiny registry on 127.0.0.1 whose config.json (anonymous or not) is `config`; every other
/// path is 404. It serves until the test process ends.
fn config_only_registry(config: serde_json::Value) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if header.trim().is_empty() => break,
                    Ok(_) => {}
                }
            }
            let (status, body) = if line.split_whitespace().nth(1) == Some("/index/config.json") {
                ("200 OK", config.to_string())
            } else {
                ("404 Not Found", String::new())
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("sparse+http://127.0.0.1:{port}/index/")
}

/// A remote URL the *target* hands credlab (config.json's `api`) is the target's fault: 78,
/// like an unreachable registry. A remote URL the user gives stays a usage error (2, in
/// `registry_safety`).
#[test]
fn a_remote_api_in_config_json_exits_78() {
    let (secret, _, _) = keypair();
    let index = config_only_registry(serde_json::json!({
        "dl": "http://127.0.0.1:1/dl",
        "api": "http://192.0.2.1:1",
        "auth-required": false,
    }));
    for fuzz in [false, true] {
        let mut cmd = credlab();
        if fuzz {
            cmd.args(["fuzz", "--iterations", "1"]);
        }
        cmd.args(["--registry", &index, "--timeout", "5"])
            .env("CREDLAB_SECRET_KEY", &secret)
            .assert()
            .code(78)
            .stderr(
                predicate::str::contains("`api`")
                    .and(predicate::str::contains("192.0.2.1"))
                    .and(predicate::str::contains("--allow-remote")),
            );
    }
}

/// A registry that answers the anonymous config.json with 403 (not the 401 Cargo needs) is
/// judged, not "unreachable": `registry::auth::config-401-without-token` fails, and the run
/// goes on with credlab's read token (exit 1, not 78).
#[test]
fn a_403_to_the_anonymous_config_json_fails_one_case_and_the_run_goes_on() {
    use credlab_targets::registry::server::{Bug, Config, start};
    let key = credlab_suite::keys::SecretKey::generate();
    let running = start(Config {
        keys: vec![(key.public_key().clone(), None)],
        bug: Some(Bug::Config403WithoutToken),
        ..Config::default()
    })
    .expect("start the registry");
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("credlab.key");
    std::fs::write(&key_file, key.expose_paserk()).unwrap();
    let out = credlab()
        .args(["--registry", &running.index_url(), "--secret-key-file"])
        .arg(&key_file)
        .args([
            "--only",
            "registry::auth::*",
            "--only",
            "token::valid::publish",
            "--only",
            "token::valid::yank-high-s",
            "--format",
            "json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report = json(&out);
    let verdict = |id: &str| {
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} did not run: {report}"))
            .clone()
    };
    let config = verdict("registry::auth::config-401-without-token");
    assert_eq!(config["verdict"], "fail", "{config}");
    assert!(config["detail"]["found"].as_str().unwrap().contains("403"));
    for id in [
        "registry::auth::read-token-accepted",
        "registry::auth::probe-publish",
        "token::valid::publish",
        "token::valid::yank-high-s",
    ] {
        assert_eq!(verdict(id)["verdict"], "pass", "{id}: {report}");
    }
    // Over HTTP a high-S token as Cargo sends it is must-accept.
    assert_eq!(verdict("token::valid::yank-high-s")["level"], "must");
    assert_eq!(report["summary"]["scored_failures"], 1, "{report}");
    running.shutdown();
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    // `credlab --list | head -1`: the reader goes away. Deterministically: the read end is
    // closed before credlab starts, so its first write already finds no reader (a reader that
    // left after one line could miss the race while the whole list fits in the pipe buffer).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("credlab"))
        .arg("--list")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

#[test]
fn bad_run_options_are_refused_before_the_run() {
    credlab()
        .args(["--provider", "builtin:token-store", "--jobs", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--jobs"));
    credlab()
        .args([
            "--provider",
            "builtin:token-store",
            "--found",
            "/nonexistent/found",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--found /nonexistent/found: not a directory",
        ));
    let dir = tempfile::tempdir().unwrap();
    credlab()
        .args(["--provider", "builtin:token-store", "--report"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a directory"))
        .stdout(predicate::str::contains("PASS").not());
    credlab()
        .args([
            "--provider",
            "builtin:token-store",
            "--report",
            "/proc/credlab.json",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--report /proc/credlab.json"));
    // The range the message states is the range accepted.
    for (value, ok) in [
        ("0", false),
        ("0.001", true),
        ("3600", true),
        ("3600.5", false),
    ] {
        let assert = credlab()
            .args(["--list", "--only", "nothing", "--timeout", value])
            .assert();
        if ok {
            assert.success();
        } else {
            assert.code(2).stderr(predicate::str::contains(
                "more than 0 and at most 3600 seconds",
            ));
        }
    }
}

#[test]
fn a_run_that_tested_nothing_is_not_conformant() {
    // Every case filtered out.
    credlab()
        .args(["--provider", "builtin:token-store", "--only", "nope::*"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("0 of 0 scored case(s) ran"))
        .stdout(predicate::str::contains("NOTHING TESTED"));
    // Every case skipped: the provider never answers, so no setup succeeds.
    credlab()
        .args(["--provider", "builtin:mutant:no-hello", "--timeout", "1"])
        .args(["--only", "provider::get::*"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("0 of 7 scored case(s) ran"));
    // --no-tests as cargo-nextest spells it.
    credlab()
        .args([
            "--provider",
            "builtin:token-store",
            "--only",
            "nope::*",
            "--no-tests",
            "warn",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("no scored case ran"));
    // A run that did test says how much.
    credlab()
        .args([
            "--provider",
            "builtin:token-store",
            "--only",
            "provider::get::*",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("7 of 7 scored case(s) ran"));
}

#[test]
fn plain_token_usage_errors_exit_2_without_echoing_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "cio-usage-secret-0123456789abcdef\n").unwrap();
    let (secret, _, _) = keypair();
    let key = dir.path().join("key");
    std::fs::write(&key, &secret).unwrap();
    let url = "sparse+http://127.0.0.1:9/index/";
    let check = |args: &[&std::ffi::OsStr], says: &str| {
        let out = credlab().args(args).assert().code(2).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("usage-secret"), "{stderr}");
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    // A key and a token: the registry verifies one kind.
    check(
        &[
            &os("--registry"),
            &os(url),
            &os("--token-file"),
            token.as_os_str(),
            &os("--secret-key-file"),
            key.as_os_str(),
        ],
        "not both",
    );
    // A second user without the first.
    check(
        &[
            &os("--registry"),
            &os(url),
            &os("--other-token-file"),
            token.as_os_str(),
        ],
        "--other-token-file needs --token-file",
    );
    // The same token twice is no second user.
    check(
        &[
            &os("--registry"),
            &os(url),
            &os("--token-file"),
            token.as_os_str(),
            &os("--other-token-file"),
            token.as_os_str(),
        ],
        "second user's",
    );
    // An empty or two-line token file.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    check(
        &[
            &os("--registry"),
            &os(url),
            &os("--token-file"),
            empty.as_os_str(),
        ],
        "empty",
    );
    let two = dir.path().join("two");
    std::fs::write(&two, "cio-usage-secret-0123456789abcdef\nsecond line\n").unwrap();
    check(
        &[
            &os("--registry"),
            &os(url),
            &os("--token-file"),
            two.as_os_str(),
        ],
        "one line",
    );
    // Neither: the message names both ways.
    check(&[&os("--registry"), &os(url)], "--token-file");
}

#[test]
fn a_plain_token_registry_is_judged_with_the_token_from_the_environment() {
    use credlab_targets::registry::server::plain::PlainToken;
    use credlab_targets::registry::server::{Config, start};
    let token = "cio-env-secret-0123456789abcdef";
    let other = "cio-env-other-fedcba9876543210";
    let running = start(Config {
        plain_tokens: vec![
            PlainToken::new("alice", token).unwrap(),
            PlainToken::new("bob", other).unwrap(),
        ],
        ..Config::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let other_file = dir.path().join("other");
    std::fs::write(&other_file, other).unwrap();
    let out = credlab()
        .env("CREDLAB_REGISTRY_TOKEN", token)
        .args(["--registry", &running.index_url(), "--format", "json"])
        .arg("--other-token-file")
        .arg(&other_file)
        .assert()
        .success()
        .get_output()
        .clone();
    running.shutdown();
    let report = json(&out.stdout);
    let cases = report["cases"].as_array().unwrap();
    let passed = |prefix: &str| {
        cases
            .iter()
            .filter(|c| c["id"].as_str().unwrap().starts_with(prefix) && c["verdict"] == "pass")
            .count()
    };
    assert_eq!(passed("registry::auth::"), 11, "{report:#}");
    assert_eq!(passed("registry::plain::"), 15, "{report:#}");
    assert!(
        cases
            .iter()
            .all(|c| !c["id"].as_str().unwrap().starts_with("token::"))
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains("env-secret") && !all.contains("env-other"),
        "{all}"
    );
}
