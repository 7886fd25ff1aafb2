//! credlab keeps the secrets it guards, whatever a target does to make it leak them, and a
//! target cannot drive the terminal or page credlab reports to.
//!
//! - A provider that echoes every secret it sees in every field it controls
//!   (`builtin:hostile:echo-secrets`) and a registry that echoes the token it got in every
//!   answer: no report in any format, no progress or error line, no found vector holds a
//!   secret or a fragment of 16 or more of its characters.
//! - A provider and a registry that write terminal escapes, carriage returns, bidi overrides
//!   and HTML: no human or Markdown report line carries a control, bidi or invisible
//!   formatting character.
//! - What a provider can see: only the documented environment, and not credlab's secret key
//!   (neither in its own environment nor in credlab's `/proc/<pid>/environ`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use credlab_suite::text::is_unsafe;
use credlab_targets::hostile::echo_token;

fn credlab() -> Command {
    let mut cmd = Command::cargo_bin("credlab").expect("the credlab binary is built");
    cmd.env_remove("CREDLAB_SECRET_KEY");
    cmd
}

/// A fresh k3.secret, written to a file in `dir` (the way users are told to pass it).
fn secret_key(dir: &Path) -> (String, PathBuf) {
    let out = credlab().args(["key", "generate"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    let path = dir.join("secret-key");
    std::fs::write(&path, &secret).unwrap();
    (secret, path)
}

/// The secret parts whose fragments must never show: the key's 64 base64 characters, and
/// the tokens the hostile provider returns.
fn planted(secret: &str) -> Vec<String> {
    let mut all = vec![secret["k3.secret.".len()..].to_string()];
    all.extend((0..64).map(echo_token));
    all
}

/// Every place in `text` that holds 16 or more characters of a planted secret.
fn leaks(text: &str, planted: &[String]) -> Vec<String> {
    let mut found = BTreeSet::new();
    for secret in planted {
        for start in 0..=secret.len() - 16 {
            let window = &secret[start..start + 16];
            if text.contains(window) {
                found.insert(format!("{window}… (of {}…)", &secret[..6]));
            }
        }
    }
    found.into_iter().collect()
}

fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The text of every file in `dir`, with the inputs that vectors hold as base64 decoded (a
/// secret in `"base64"` is still a secret).
fn read_dir_text(dir: &Path) -> String {
    fn decoded(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if let (true, Some(b64)) = (k == "base64", v.as_str()) {
                        let bytes = credlab_suite::b64::decode(b64).unwrap_or_default();
                        out.push_str(&String::from_utf8_lossy(&bytes));
                    }
                    decoded(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| decoded(v, out)),
            _ => {}
        }
    }
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_file() {
            let raw = std::fs::read_to_string(entry.path()).unwrap();
            if let Ok(value) = serde_json::from_str(&raw) {
                decoded(&value, &mut text);
            }
            text.push_str(&raw);
        }
    }
    text
}

#[test]
fn an_echoing_provider_leaks_nothing_through_any_report() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, key_file) = secret_key(dir.path());
    let planted = planted(&secret);
    let mut seen = String::new();
    for format in ["human", "json", "junit", "markdown"] {
        let report = dir.path().join(format!("report.{format}"));
        let out = credlab()
            .args([
                "--provider",
                "builtin:hostile:echo-secrets",
                "--timeout",
                "5",
            ])
            .arg("--secret-key-file")
            .arg(&key_file)
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
        seen.push_str(&all_output(&out));
        // The same run with the report in a file, stdout then showing the human report.
        let out = credlab()
            .args([
                "--provider",
                "builtin:hostile:echo-secrets",
                "--timeout",
                "5",
            ])
            .env("CREDLAB_SECRET_KEY", &secret)
            .args(["--format", format, "--report"])
            .arg(&report)
            .output()
            .unwrap();
        seen.push_str(&all_output(&out));
        seen.push_str(&std::fs::read_to_string(&report).unwrap());
    }
    // The provider did echo: the secrets cases caught it, and the report says where.
    for id in [
        "provider::secrets::login-token-not-logged",
        "provider::secrets::returned-token-not-logged",
        "provider::secrets::only-in-token-field",
        "provider::secrets::no-fragments",
    ] {
        assert!(seen.contains(id), "{id} missing from the reports");
    }
    assert!(
        seen.contains("<redacted secret-key>"),
        "redactions are shown"
    );
    assert!(seen.contains("<redacted part of secret-key>"));
    assert!(seen.contains("<redacted token #"));
    let found = leaks(&seen, &planted);
    assert!(found.is_empty(), "secrets reached the output: {found:#?}");
}

#[test]
fn fuzzing_an_echoing_provider_writes_no_secret_into_found_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, key_file) = secret_key(dir.path());
    let found_dir = dir.path().join("found");
    for format in ["human", "json"] {
        let out = credlab()
            .args(["fuzz", "--provider", "builtin:hostile:echo-secrets"])
            .arg("--secret-key-file")
            .arg(&key_file)
            .args(["--iterations", "300", "--keep-going", "--timeout", "2"])
            .args(["--format", format, "--found"])
            .arg(&found_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
        let found = leaks(&all_output(&out), &planted(&secret));
        assert!(found.is_empty(), "fuzz output leaked: {found:#?}");
    }
    let vectors = read_dir_text(&found_dir);
    assert!(
        vectors.contains("${login_token"),
        "a crash on secret-shaped input is recorded with a placeholder:\n{vectors}"
    );
    let found = leaks(&vectors, &planted(&secret));
    assert!(found.is_empty(), "found vectors leaked: {found:#?}");
    // The vectors load (schema and found-vector rules) and replay with the next run's key
    // against the reference token store, which handles them.
    let out = credlab()
        .args([
            "--provider",
            "builtin:token-store",
            "--only",
            "found::provider::*",
        ])
        .args(["--format", "json", "--found"])
        .arg(&found_dir)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert!(!cases.is_empty(), "{}", all_output(&out));
    assert!(
        cases.iter().all(|c| c["verdict"] == "pass"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// No line a human reads carries a character that acts on a terminal or a page.
fn assert_neutral(text: &str, what: &str) {
    for (i, line) in text.lines().enumerate() {
        let bad: Vec<String> = line
            .chars()
            .filter(|c| is_unsafe(*c))
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        assert!(bad.is_empty(), "{what} line {}: {bad:?} in {line:?}", i + 1);
    }
}

#[test]
fn terminal_escapes_from_a_provider_are_neutralised() {
    for format in ["human", "markdown", "json", "junit"] {
        let out = credlab()
            .args(["--provider", "builtin:hostile:escapes", "--timeout", "5"])
            .args(["--format", format])
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("pwned"), "the message is shown ({format})");
        assert_neutral(&stdout, format);
        assert_neutral(&String::from_utf8_lossy(&out.stderr), "stderr");
        if format == "markdown" {
            assert!(!stdout.contains("<b>"), "HTML is escaped in Markdown");
            assert!(stdout.contains("\\<b\\>"));
        }
    }
}

/// A shell-script provider that records what it can see, then answers not-found.
fn spy_provider(dir: &Path, out: &Path) -> PathBuf {
    let script = dir.join("spy-provider");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             {{ echo '--- env'; env; echo '--- parent environ'; tr '\\000' '\\n' < /proc/$PPID/environ; \
             echo '--- parent mem'; head -c 100000000 /proc/$PPID/mem | wc -c; }} >> {} 2>&1\n\
             printf '{{\"v\":[1]}}\\n'\n\
             read line\n\
             printf '{{\"Err\":{{\"kind\":\"not-found\"}}}}\\n'\n\
             cat > /dev/null\n",
            out.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_provider_sees_only_its_documented_environment_and_not_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, _) = secret_key(dir.path());
    let seen = dir.path().join("seen.txt");
    let script = spy_provider(dir.path(), &seen);
    credlab()
        .arg("--provider")
        .arg(&script)
        .args([
            "--only",
            "provider::get::read",
            "--provider-env",
            "GIVEN=yes",
        ])
        .env("CREDLAB_SECRET_KEY", &secret)
        .env("CALLER_CANARY", "caller-value")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&seen).unwrap();
    let env_section = text
        .split("--- env\n")
        .nth(1)
        .and_then(|s| s.split("--- parent environ").next())
        .unwrap();
    let names: BTreeSet<&str> = env_section
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    let allowed = |n: &str| {
        matches!(
            n,
            "PATH" | "HOME" | "TMPDIR" | "GIVEN" | "PWD" | "SHLVL" | "_"
        ) || n.starts_with("XDG_")
    };
    let unexpected: Vec<&&str> = names.iter().filter(|n| !allowed(n)).collect();
    assert!(unexpected.is_empty(), "the provider saw {unexpected:?}");
    assert!(names.contains("GIVEN") && names.contains("HOME"));
    assert!(!env_section.contains("caller-value"));
    assert!(!env_section.contains("CREDLAB_SECRET_KEY"), "{env_section}");
    // credlab's own environment, as /proc shows it to a process allowed to read it (the
    // tests may run as root): the key was wiped in place before any provider started.
    assert!(text.contains("--- parent environ"));
    assert!(
        leaks(&text, &planted(&secret)).is_empty(),
        "the key is readable in credlab's environment: {text}"
    );
}

#[test]
fn a_same_user_provider_cannot_read_credlabs_memory_or_environment() {
    // Run credlab and the provider as an unprivileged user: then only the kernel's ptrace
    // rules decide, and credlab's PR_SET_DUMPABLE(0) must make /proc/<credlab>/environ and
    // mem unreadable to its own provider.
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let (secret, _) = secret_key(dir.path());
    let seen = dir.path().join("seen.txt");
    std::fs::write(&seen, "").unwrap();
    std::fs::set_permissions(&seen, std::fs::Permissions::from_mode(0o666)).unwrap();
    let script = spy_provider(dir.path(), &seen);
    let is_root = credlab_uid() == 0;
    let mut cmd = if is_root {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ]);
        c.arg(assert_cmd::cargo::cargo_bin("credlab"));
        c
    } else {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("credlab"))
    };
    let out = cmd
        .arg("--provider")
        .arg(&script)
        .args(["--only", "provider::get::read"])
        .env_remove("CREDLAB_SECRET_KEY")
        .env("CREDLAB_SECRET_KEY", &secret)
        .env("CREDLAB_SANDBOX_DIR", dir.path())
        .output()
        .expect("setpriv (util-linux) runs credlab as nobody");
    let text = std::fs::read_to_string(&seen).unwrap();
    assert!(
        text.contains("--- parent environ"),
        "the provider ran: {text}\n{}",
        all_output(&out)
    );
    let environ = text
        .split("--- parent environ\n")
        .nth(1)
        .and_then(|s| s.split("--- parent mem").next())
        .unwrap();
    assert!(
        environ.contains("Permission denied"),
        "credlab's environ was readable: {environ}"
    );
    let mem = text.split("--- parent mem\n").nth(1).unwrap();
    assert!(
        mem.contains("Permission denied") || mem.trim_start().starts_with('0'),
        "credlab's memory was readable: {mem}"
    );
}

fn credlab_uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

/// A registry on 127.0.0.1 that refuses everything and echoes the token it got (whole and in
/// pieces) and terminal escapes in every answer. Records every token it received.
struct EchoRegistry {
    url: String,
    tokens: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

fn echo_registry() -> EchoRegistry {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    let tokens = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("sparse+http://{}/index/", listener.local_addr().unwrap());
    let seen = tokens.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let seen = seen.clone();
        async move {
            let escapes = credlab_targets::hostile::ESCAPES;
            let detail = match headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
            {
                Some(token) => {
                    seen.lock().unwrap().push(token.to_string());
                    let head = &token[..token.len().min(60)];
                    let tail = &token[token.len().saturating_sub(60)..];
                    format!("{escapes} refused {token} (starts {head}, ends {tail})")
                }
                None => format!("no token {escapes}"),
            };
            (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    "Cargo login_url=\"http://127.0.0.1/me\"",
                )],
                // Raw, not JSON-escaped: the escapes reach credlab as bytes.
                format!(r#"{{"errors":[{{"detail":"{detail}"}}]}}"#),
            )
                .into_response()
        }
    });
    runtime.spawn(async move { axum::serve(listener, app).await });
    EchoRegistry {
        url,
        tokens,
        _runtime: runtime,
    }
}

/// The signature characters of a v3.public token (what makes it a credential).
fn signature_part(token: &str) -> Option<String> {
    let segment = token.strip_prefix("v3.public.")?.split('.').next()?;
    segment
        .get(segment.len().checked_sub(120)?..)
        .map(str::to_string)
}

#[test]
fn an_echoing_registry_leaks_no_token_and_drives_no_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, key_file) = secret_key(dir.path());
    let registry = echo_registry();
    let mut seen = String::new();
    for format in ["human", "json", "junit", "markdown"] {
        let out = credlab()
            .args(["--registry", &registry.url, "--timeout", "5"])
            .arg("--secret-key-file")
            .arg(&key_file)
            .args(["--format", format])
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout.clone()).unwrap();
        if matches!(format, "human" | "markdown") {
            assert_neutral(&stdout, format);
        }
        assert_neutral(&String::from_utf8_lossy(&out.stderr), "stderr");
        assert!(stdout.contains("pwned"), "the registry's text is shown");
        seen.push_str(&all_output(&out));
    }
    let tokens = registry.tokens.lock().unwrap().clone();
    assert!(tokens.len() > 20, "credlab sent tokens: {}", tokens.len());
    let mut planted: Vec<String> = tokens.iter().filter_map(|t| signature_part(t)).collect();
    planted.push(secret["k3.secret.".len()..].to_string());
    let found = leaks(&seen, &planted);
    assert!(found.is_empty(), "tokens reached the output: {found:#?}");
    assert!(
        seen.contains("<redacted"),
        "the echoed tokens are shown redacted"
    );
}

#[test]
fn an_echoing_registry_leaks_no_plain_token_nor_its_forgeries() {
    let dir = tempfile::tempdir().unwrap();
    let token = "cio-Plain-Secret-7f3a9c1e5b2d4f6a8c0e2b4d6f8a1c3e";
    let other = "cio-Other-Secret-0a2c4e6b8d1f3a5c7e9b0d2f4a6c8e1b";
    let token_file = dir.path().join("token");
    let other_file = dir.path().join("other");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    std::fs::write(&other_file, other).unwrap();
    let registry = echo_registry();
    let mut seen = String::new();
    for format in ["human", "json", "markdown", "html"] {
        let out = credlab()
            .args(["--registry", &registry.url, "--timeout", "5"])
            .arg("--token-file")
            .arg(&token_file)
            .arg("--other-token-file")
            .arg(&other_file)
            .args(["--format", format])
            .output()
            .unwrap();
        seen.push_str(&all_output(&out));
    }
    let sent = registry.tokens.lock().unwrap().clone();
    assert!(sent.iter().any(|t| t == token), "credlab sent its token");
    let wrong_case: String = token
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let planted = vec![token.to_string(), other.to_string(), wrong_case];
    let found = leaks(&seen, &planted);
    assert!(found.is_empty(), "tokens reached the output: {found:#?}");
    assert!(
        seen.contains("<redacted"),
        "the echoed tokens are shown redacted"
    );
}
