//! Real, stable Cargo (no `-Z`, no `RUSTC_BOOTSTRAP`) with `credlab-paseto-provider` as a
//! registry's `credential-provider`: `cargo login` stores a key, `cargo owner --list` sends an
//! asymmetric token, and the reference verifier accepts it as an `owners` request.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use credlab_suite::keys::SecretKey;
use credlab_suite::token::Operation;
use credlab_suite::verify::{KeyStore, Request, Verifier};
use serde_json::json;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

const PROVIDER: &str = env!("CARGO_BIN_EXE_credlab-paseto-provider");
/// The Cargo that builds this test: plain stable.
const CARGO: &str = env!("CARGO");
const CARGO_DEADLINE: Duration = Duration::from_secs(120);
const SUBJECT: &str = "credlab-user";

/// One request the stub registry saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
}

struct Registry {
    base: String,
    seen: Mutex<Vec<Seen>>,
}

/// A sparse registry stub: `config.json` and the owners endpoint; everything else 404.
async fn registry(State(registry): State<Arc<Registry>>, uri: Uri, headers: HeaderMap) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let path = uri.path().to_string();
    registry.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        authorization,
    });
    let base = &registry.base;
    match path.as_str() {
        "/index/config.json" => {
            Json(json!({"dl": format!("{base}/dl"), "api": base})).into_response()
        }
        p if p.starts_with("/api/v1/crates/") && p.ends_with("/owners") => {
            Json(json!({"users": []})).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn start_registry() -> (Arc<Registry>, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(Registry {
        base: format!("http://{addr}"),
        seen: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .fallback(registry)
        .with_state(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (state, addr)
}

/// Runs Cargo in the sandbox with only the environment it needs, feeding `stdin`.
async fn cargo(sandbox: &Path, index_url: &str, args: &[&str], stdin: &str) -> Output {
    assert!(
        !PROVIDER.contains(char::is_whitespace),
        "Cargo splits the provider string on spaces"
    );
    let mut child = tokio::process::Command::new(CARGO)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sandbox.join("home"))
        .env("CARGO_HOME", sandbox.join("cargo-home"))
        .env("XDG_CONFIG_HOME", sandbox.join("config"))
        .env("XDG_DATA_HOME", sandbox.join("data"))
        .env("CARGO_REGISTRIES_CREDLAB_INDEX", index_url)
        .env("CARGO_REGISTRIES_CREDLAB_CREDENTIAL_PROVIDER", PROVIDER)
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_NET_RETRY", "0")
        .env("CARGO_HTTP_TIMEOUT", "30")
        .current_dir(sandbox.join("work"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn cargo");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = tokio::time::timeout(CARGO_DEADLINE, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("cargo {args:?} did not finish within {CARGO_DEADLINE:?}"))
        .unwrap();
    eprintln!(
        "$ cargo {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "cargo {args:?} failed: {output:?}");
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stable_cargo_sends_a_verifiable_owners_token() {
    let (registry, addr) = start_registry().await;
    let index_url = format!("sparse+http://{addr}/index/");
    let sandbox = tempfile::tempdir().unwrap();
    for dir in ["home", "cargo-home", "work"] {
        std::fs::create_dir_all(sandbox.path().join(dir)).unwrap();
    }

    let key = SecretKey::generate();
    let login_args = [
        "login",
        "--registry",
        "credlab",
        "--",
        "--key-subject=credlab-user",
    ];
    let secret_line = format!("{}\n", key.expose_paserk());
    let login = cargo(sandbox.path(), &index_url, &login_args, &secret_line).await;
    let public = key.public_key().to_paserk();
    let stderr = String::from_utf8_lossy(&login.stderr);
    assert!(
        stderr.lines().any(|line| line == public),
        "public key not printed: {stderr}"
    );
    assert!(
        !stderr.contains(&key.expose_paserk()[10..]),
        "the secret key was printed"
    );

    let owner_args = [
        "owner",
        "--list",
        "somecrate",
        "--registry",
        "credlab",
        "-v",
    ];
    cargo(sandbox.path(), &index_url, &owner_args, "").await;

    let seen = registry.seen.lock().unwrap().clone();
    eprintln!("registry saw: {seen:#?}");
    let owners: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.path == "/api/v1/crates/somecrate/owners")
        .collect();
    assert_eq!(owners.len(), 1, "{seen:#?}");
    let token = owners[0]
        .authorization
        .as_deref()
        .expect("an Authorization header");

    let mut keys = KeyStore::new();
    keys.insert(key.public_key().clone(), Some(SUBJECT.to_string()));
    let verifier = Verifier::new(keys);
    let request = Request::new(
        &index_url,
        Operation::Owners {
            name: "somecrate".into(),
        },
    );
    let verified = verifier
        .verify(token, &request, OffsetDateTime::now_utc())
        .unwrap_or_else(|e| panic!("the verifier refused Cargo's token {token}: {e:?}"));
    assert_eq!(verified.claims.mutation.as_deref(), Some("owners"));
    assert_eq!(verified.claims.sub.as_deref(), Some(SUBJECT));
    assert_eq!(verified.footer.url, index_url);
}
