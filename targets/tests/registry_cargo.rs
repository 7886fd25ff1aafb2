//! Real Cargo end to end against the reference registry (`credlab serve`, started in-process,
//! `auth-required`): publish, yank, yank --undo, owner --list/--add/--remove, and a consumer's
//! generate-lockfile + fetch that downloads the published crate.
//!
//! (a) `cargo:paseto` behind `-Z asymmetric-token` (`RUSTC_BOOTSTRAP=1`), the key and subject
//!     in `CARGO_REGISTRIES_CREDLAB_SECRET_KEY{,_SUBJECT}`;
//! (b) plain stable Cargo (no `-Z`, no `RUSTC_BOOTSTRAP`) with `credlab-paseto-provider` as
//!     the registry's `credential-provider`, the key stored by `cargo login` from stdin.
//!
//! Each Cargo runs in a temp HOME/CARGO_HOME/CARGO_TARGET_DIR with a cleared environment
//! (no inherited `CARGO_*`) and a deadline (killed, and the test fails with its stderr).

mod support;

use std::path::{Path, PathBuf};

use credlab_suite::keys::SecretKey;
use credlab_suite::token::{self, Operation};
use credlab_targets::registry::server::{self, Config, Running, publish};
use serde_json::Value;
use support::{Sandbox, write};
use time::OffsetDateTime;

const PROVIDER: &str = env!("CARGO_BIN_EXE_credlab-paseto-provider");
const SUBJECT: &str = "credlab-cargo-user";
const CRATE: &str = "credlab-probe";
const VERS: &str = "0.1.0";
const NEW_OWNER: &str = "someone-else";

/// Reads the registry as a client would, with a read token of `key`.
struct Client<'a> {
    registry: &'a Running,
    key: &'a SecretKey,
    agent: ureq::Agent,
}

impl<'a> Client<'a> {
    fn new(registry: &'a Running, key: &'a SecretKey) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            registry,
            key,
            agent,
        }
    }

    fn get(&self, path: &str, op: &Operation) -> (u16, Vec<u8>) {
        let token = token::sign_as_cargo(
            self.key,
            &self.registry.index_url(),
            op,
            OffsetDateTime::now_utc(),
            Some(SUBJECT),
        );
        let mut response = self
            .agent
            .get(format!("{}{path}", self.registry.api_url()))
            .header("Authorization", &token)
            .call()
            .expect("a response");
        let body = response.body_mut().read_to_vec().expect("a body");
        (response.status().as_u16(), body)
    }

    fn index_line(&self) -> Value {
        let (status, body) = self.get(
            &format!("/index/{}", server::index_path(CRATE)),
            &Operation::Read,
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let text = String::from_utf8(body).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        serde_json::from_str(lines[0]).expect("JSON")
    }

    fn owners(&self) -> Vec<String> {
        let op = Operation::Owners { name: CRATE.into() };
        let (status, body) = self.get(&format!("/api/v1/crates/{CRATE}/owners"), &op);
        assert_eq!(status, 200);
        let list: Value = serde_json::from_slice(&body).expect("JSON");
        list["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["login"].as_str().expect("login").to_string())
            .collect()
    }
}

/// The whole flow; `z` holds the extra flags each registry command needs (`-Z …` or none).
fn publish_yank_owners_fetch(sandbox: &Sandbox, registry: &Running, key: &SecretKey, z: &[&str]) {
    let client = Client::new(registry, key);
    let elsewhere = sandbox.path("work");
    let cmd = |head: &[&str], tail: &[&str]| -> Vec<String> {
        let mut all: Vec<&str> = head.to_vec();
        all.extend(["--registry", "credlab"]);
        all.extend(z);
        all.extend(tail);
        all.into_iter().map(str::to_string).collect()
    };
    let run = |cwd: &Path, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sandbox.cargo(cwd, &args, "")
    };

    let version = sandbox.cargo(&elsewhere, &["--version"], "");
    eprintln!(
        "driving {} against {}",
        version.stdout.trim(),
        registry.index_url()
    );

    // 1. publish
    let package = sandbox.path("package");
    write(
        &package.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{CRATE}\"\nversion = \"{VERS}\"\nedition = \"2021\"\n\
             description = \"credlab registry probe\"\nlicense = \"MIT\"\n\n\
             [features]\ndefault = [\"extra\"]\nextra = []\n\n[workspace]\n"
        ),
    );
    write(&package.join("src/lib.rs"), "//! credlab registry probe\n");
    run(
        &package,
        cmd(&["publish", "--no-verify", "--allow-dirty"], &[]),
    );
    // The bytes that went up: cargo 1.95 keeps the .crate somewhere under target/package.
    let crate_file = format!("{CRATE}-{VERS}.crate");
    let packaged = find_file(&sandbox.path("target").join("package"), &crate_file)
        .map(|path| std::fs::read(path).expect("read the .crate"))
        .expect("cargo publish leaves the .crate under target/package");
    let (status, downloaded) =
        client.get(&format!("/dl/{CRATE}/{VERS}/download"), &Operation::Read);
    assert_eq!((status, &downloaded), (200, &packaged));
    let line = client.index_line();
    assert_eq!(line["name"], CRATE);
    assert_eq!(line["vers"], VERS);
    assert_eq!(line["cksum"], publish::sha256_hex(&packaged));
    assert_eq!(line["yanked"], false);
    assert_eq!(line["features"]["extra"], serde_json::json!([]));
    assert_eq!(client.owners(), [SUBJECT]);

    // 2. yank, unyank
    run(&elsewhere, cmd(&["yank", "--version", VERS], &[CRATE]));
    assert_eq!(client.index_line()["yanked"], true);
    run(
        &elsewhere,
        cmd(&["yank", "--undo", "--version", VERS], &[CRATE]),
    );
    assert_eq!(client.index_line()["yanked"], false);

    // 3. owners, one command each
    let listed = run(&elsewhere, cmd(&["owner", "--list"], &[CRATE]));
    assert!(listed.stdout.contains(SUBJECT), "{}", listed.stdout);
    run(&elsewhere, cmd(&["owner", "--add", NEW_OWNER], &[CRATE]));
    assert_eq!(client.owners(), [SUBJECT, NEW_OWNER]);
    run(&elsewhere, cmd(&["owner", "--remove", NEW_OWNER], &[CRATE]));
    assert_eq!(client.owners(), [SUBJECT]);

    // 4. a consumer resolves and downloads it
    let consumer = sandbox.path("consumer");
    write(
        &consumer.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"credlab-consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\n{CRATE} = {{ version = \"={VERS}\", registry = \"credlab\" }}\n\n\
             [workspace]\n"
        ),
    );
    write(&consumer.join("src/lib.rs"), "");
    let mut generate = vec!["generate-lockfile".to_string()];
    generate.extend(z.iter().map(|s| s.to_string()));
    run(&consumer, generate);
    let lock = std::fs::read_to_string(consumer.join("Cargo.lock")).expect("Cargo.lock");
    assert!(
        lock.contains(&format!(
            "checksum = \"{}\"",
            publish::sha256_hex(&packaged)
        )),
        "{lock}"
    );
    let mut fetch = vec!["fetch".to_string()];
    fetch.extend(z.iter().map(|s| s.to_string()));
    run(&consumer, fetch);
    let cached = find_file(
        &sandbox.path("cargo-home"),
        &format!("{CRATE}-{VERS}.crate"),
    )
    .expect("cargo fetch put the .crate in CARGO_HOME");
    assert_eq!(std::fs::read(cached).expect("read"), packaged);

    // Each mutation token was recorded once (publish, yank, unyank).
    assert_eq!(registry.replay_records(), 3);
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

fn start_registry(key: &SecretKey) -> Running {
    server::start(Config {
        keys: vec![(key.public_key().clone(), Some(SUBJECT.to_string()))],
        log: true,
        ..Config::default()
    })
    .expect("start the registry")
}

#[test]
fn nightly_cargo_paseto_publishes_yanks_owns_and_fetches() {
    let key = SecretKey::generate();
    let registry = start_registry(&key);
    let sandbox = Sandbox::cargo_paseto(registry.index_url(), &key, SUBJECT);
    publish_yank_owners_fetch(&sandbox, &registry, &key, &["-Z", "asymmetric-token"]);
}

#[test]
fn stable_cargo_with_the_paseto_provider_publishes_yanks_owns_and_fetches() {
    assert!(
        !PROVIDER.contains(char::is_whitespace),
        "Cargo splits the provider string on spaces"
    );
    let key = SecretKey::generate();
    let registry = start_registry(&key);
    let sandbox = Sandbox::new(&[
        ("CARGO_REGISTRIES_CREDLAB_INDEX", registry.index_url()),
        (
            "CARGO_REGISTRIES_CREDLAB_CREDENTIAL_PROVIDER",
            PROVIDER.into(),
        ),
    ]);
    let login = sandbox.cargo(
        &sandbox.path("work"),
        &[
            "login",
            "--registry",
            "credlab",
            "--",
            &format!("--key-subject={SUBJECT}"),
        ],
        &format!("{}\n", key.expose_paserk()),
    );
    assert!(
        login
            .stderr
            .lines()
            .any(|line| line == key.public_key().to_paserk()),
        "the provider prints the public key: {}",
        login.stderr
    );
    assert!(!login.stderr.contains(&key.expose_paserk()[10..]));
    publish_yank_owners_fetch(&sandbox, &registry, &key, &[]);
}
