//! Real Cargo as the oracle for the `registry::auth` verdicts on a registry's first answer:
//! what `cargo` 1.95 (the one on PATH) does when an auth-required registry answers an
//! anonymous `config.json` with
//! - a 401 whose challenge is not Cargo's (`WWW-Authenticate: Basic realm=…`, as kellnr and
//!   nora answer): Cargo still retries with the token, so the registry works; only the
//!   `login_url` Cargo would show and pass to providers is lost. Hence
//!   `registry::auth::www-authenticate` is should-level and `config-401-without-token` passes;
//! - a 403: Cargo never sends the token and the command fails. Hence
//!   `config-401-without-token` is must-level.
//!
//! It also shows what `cargo:token-from-stdout` (the AWS CodeArtifact pattern) sends: the
//! command's stdout as a plain token, the matrix row's reason for not being judged.
//!
//! The registry is a wiremock stub on 127.0.0.1 that serves `config.json` and one index file
//! to the right token; Cargo runs in a private CARGO_HOME with the token in the environment
//! (`cargo:token`), bounded in time.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use credlab_runners::bounded::run_bounded;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "cio-oracle-token-0123456789";
const DEADLINE: Duration = Duration::from_secs(120);

/// How the stub answers a `config.json` that carries no token.
enum Anonymous {
    /// 401 with this `WWW-Authenticate`.
    Challenge(&'static str),
    /// 403 with Cargo's error JSON.
    Forbidden,
}

/// A stub registry: the right token gets `config.json` and `foo`'s index file; an anonymous
/// `config.json` gets `anonymous`; anything else 401.
async fn stub(anonymous: Anonymous) -> MockServer {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "dl": format!("{base}/dl"),
            "api": base,
            "auth-required": true,
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/index/3/f/foo"))
        .and(header("authorization", TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            "{{\"name\":\"foo\",\"vers\":\"1.0.0\",\"deps\":[],\"cksum\":\"{}\",\"features\":{{}},\"yanked\":false}}\n",
            "0".repeat(64)
        )))
        .with_priority(1)
        .mount(&server)
        .await;
    let anonymous = match anonymous {
        Anonymous::Challenge(challenge) => ResponseTemplate::new(401)
            .insert_header("www-authenticate", challenge)
            .set_body_string("unauthorized"),
        Anonymous::Forbidden => ResponseTemplate::new(403)
            .set_body_json(serde_json::json!({"errors": [{"detail": "forbidden"}]})),
    };
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .respond_with(anonymous)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("unauthorized"))
        .with_priority(3)
        .mount(&server)
        .await;
    server
}

/// How Cargo gets the registry's token.
#[derive(Clone, Copy)]
enum Credential {
    /// `cargo:token`, the token in `CARGO_REGISTRIES_STUB_TOKEN`.
    Token,
    /// `cargo:token-from-stdout` running a stand-in `aws codeartifact get-authorization-token
    /// … --output text` (the AWS CodeArtifact pattern) that prints the token.
    TokenFromStdout,
}

/// `cargo generate-lockfile` for a crate that depends on the stub's `foo`: whether it
/// succeeded, and its stderr.
fn generate_lockfile(root: &Path, index: &str, credential: Credential) -> (bool, String) {
    let home = root.join("cargo-home");
    let project = root.join("project");
    std::fs::create_dir_all(project.join("src")).expect("mkdir");
    std::fs::create_dir_all(&home).expect("mkdir");
    let provider = match credential {
        Credential::Token => "\"cargo:token\"".to_string(),
        Credential::TokenFromStdout => {
            let aws = root.join("aws");
            std::fs::write(
                &aws,
                format!(
                    "#!/bin/sh\n[ \"$*\" = \"codeartifact get-authorization-token --domain d \
                     --query authorizationToken --output text\" ] || exit 2\necho {TOKEN}\n"
                ),
            )
            .expect("write aws");
            std::fs::set_permissions(&aws, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .expect("chmod aws");
            format!(
                "[\"cargo:token-from-stdout\", \"{}\", \"codeartifact\", \
                 \"get-authorization-token\", \"--domain\", \"d\", \"--query\", \
                 \"authorizationToken\", \"--output\", \"text\"]",
                aws.display()
            )
        }
    };
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[registries.stub]\nindex = \"{index}\"\ncredential-provider = {provider}\n\
             [net]\nretry = 0\n"
        ),
    )
    .expect("write config");
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"oracle\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nfoo = { version = \"1\", registry = \"stub\" }\n",
    )
    .expect("write manifest");
    std::fs::write(project.join("src/lib.rs"), "").expect("write lib");
    let stderr = root.join("stderr");
    let mut cargo = Command::new("cargo");
    cargo
        .arg("generate-lockfile")
        .current_dir(&project)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", root)
        .env("CARGO_HOME", &home)
        .env("CARGO_TERM_COLOR", "never")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"));
    // rustup's proxy finds its toolchains through RUSTUP_HOME (or the real HOME's).
    if let Some(rustup) = std::env::var_os("RUSTUP_HOME").or_else(|| {
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".rustup").into_os_string())
    }) {
        cargo.env("RUSTUP_HOME", rustup);
    }
    if let Some(toolchain) = std::env::var_os("RUSTUP_TOOLCHAIN") {
        cargo.env("RUSTUP_TOOLCHAIN", toolchain);
    }
    if let Credential::Token = credential {
        cargo.env("CARGO_REGISTRIES_STUB_TOKEN", TOKEN);
    }
    let status = run_bounded(cargo, DEADLINE)
        .expect("cargo starts")
        .unwrap_or_else(|| panic!("cargo generate-lockfile did not finish in {DEADLINE:?}"));
    (
        status.success(),
        std::fs::read_to_string(stderr).unwrap_or_default(),
    )
}

fn config_requests(requests: &[Request]) -> Vec<Option<String>> {
    requests
        .iter()
        .filter(|r| r.url.path() == "/index/config.json")
        .map(|r| {
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .collect()
}

async fn run(anonymous: Anonymous, credential: Credential) -> (bool, String, Vec<Option<String>>) {
    let server = stub(anonymous).await;
    let index = format!("sparse+{}/index/", server.uri());
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().to_path_buf();
    let (ok, stderr) =
        tokio::task::spawn_blocking(move || generate_lockfile(&root, &index, credential))
            .await
            .expect("no panic");
    let requests = server.received_requests().await.unwrap_or_default();
    (ok, stderr, config_requests(&requests))
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_basic_challenge_cargo_still_retries_with_the_token() {
    let (ok, stderr, configs) = run(
        Anonymous::Challenge("Basic realm=\"stub\""),
        Credential::Token,
    )
    .await;
    assert!(ok, "cargo failed against a Basic challenge:\n{stderr}");
    assert_eq!(
        configs,
        vec![None, Some(TOKEN.to_string())],
        "anonymous first, then the token after the 401"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_403_cargo_never_sends_the_token() {
    let (ok, stderr, configs) = run(Anonymous::Forbidden, Credential::Token).await;
    assert!(!ok, "cargo succeeded after a 403:\n{stderr}");
    assert!(stderr.contains("403"), "{stderr}");
    assert!(
        configs.iter().all(Option::is_none),
        "cargo sent a token after a 403: {configs:?}"
    );
}

/// The `cargo:token-from-stdout` row of the matrix: Cargo runs the command itself and sends
/// its stdout (less the line end) as a plain token, exactly as `cargo:token` sends a stored
/// one; nothing of it reaches a credential-provider protocol credlab could drive.
#[tokio::test(flavor = "multi_thread")]
async fn token_from_stdout_sends_the_commands_stdout_as_a_plain_token() {
    let (ok, stderr, configs) = run(
        Anonymous::Challenge("Cargo login_url=\"http://127.0.0.1/me\""),
        Credential::TokenFromStdout,
    )
    .await;
    assert!(ok, "cargo failed with cargo:token-from-stdout:\n{stderr}");
    assert_eq!(configs, vec![None, Some(TOKEN.to_string())]);
}
