//! Real Cargo against a loopback registry: every asymmetric token `cargo:paseto` sends must
//! verify for the request it came with, and must be refused once any single bound field of
//! that request changes.
//!
//! The scenario drives the `cargo` on PATH (`RUSTC_BOOTSTRAP=1`, `-Z asymmetric-token`,
//! registry provider `cargo:paseto`, a freshly generated k3 key with a subject) through
//! publish, yank, unyank, owner list/add/remove and a consumer's generate-lockfile + fetch,
//! against the stub in `support/registry.rs`, which records each request's raw
//! `Authorization` header and the operation the *server* derives from the request. Then:
//! - every operation must have been seen with a token (read: config.json, index file and
//!   download; publish; yank; unyank; owners GET/PUT/DELETE);
//! - every (token, request) pair verifies with every compiled-in backend;
//! - for each distinct token, one changed field (url, operation, name, vers, cksum, key,
//!   subject) gives exactly the expected `RejectionKind`;
//! - re-signing the decoded claims and footer with credlab reproduces the token byte for byte.
//!
//! Run: `cargo test --workspace --test real_cargo -- --nocapture` (prints the exchange log,
//! the low-S/high-S counts and the mutation matrix).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use credlab_suite::keys::SecretKey;
use credlab_suite::paseto::{self, SignatureForm, SignatureS};
use credlab_suite::token::{self, Claims, Footer, Operation};
use credlab_suite::verify::{KeyStore, Request, Verifier};
use credlab_suite::{Backend, RejectionKind};
use time::OffsetDateTime;

use support::cargo::{Cargo, Output};
use support::registry::{Captured, Registry, sha256_hex};

const SUBJECT: &str = "credlab-real-cargo";
const OTHER_SUBJECT: &str = "credlab-someone-else";
const VERS: &str = "0.1.0";
const NEW_OWNER: &str = "someone";

/// A captured request and the cargo command that caused it.
struct Exchange {
    step: &'static str,
    captured: Captured,
}

/// Runs one cargo command and files the requests it made under `step`.
async fn step(
    cargo: &mut Cargo,
    registry: &Registry,
    log: &mut Vec<Exchange>,
    step: &'static str,
    cwd: &Path,
    args: &[&str],
) -> Output {
    let before = registry.captured().len();
    let output = cargo.run(cwd, args).await;
    let after = registry.captured();
    log.extend(
        after[before..]
            .iter()
            .cloned()
            .map(|captured| Exchange { step, captured }),
    );
    println!(
        "[{step}] cargo {} ({:.2?}, {} requests)",
        args.join(" "),
        output.elapsed,
        after.len() - before
    );
    output
}

/// `head… --registry credlab -Z asymmetric-token tail…`
fn registry_command<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    let mut all = head.to_vec();
    all.extend(["--registry", "credlab", "-Z", "asymmetric-token"]);
    all.extend(tail);
    all
}

fn write(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("mkdir");
    std::fs::write(path, contents).expect("write file");
}

fn unique_crate_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("credlab-rc-{:x}-{nanos:x}", std::process::id())
}

fn describe(operation: &Option<Operation>) -> String {
    match operation {
        None => "?".into(),
        Some(Operation::Read) => "read".into(),
        Some(Operation::Publish { name, vers, cksum }) => {
            format!(
                "publish {name} {vers} cksum {}…",
                &cksum[..12.min(cksum.len())]
            )
        }
        Some(Operation::Yank { name, vers }) => format!("yank {name} {vers}"),
        Some(Operation::Unyank { name, vers }) => format!("unyank {name} {vers}"),
        Some(Operation::Owners { name }) => format!("owners {name}"),
    }
}

fn s_form(signature: SignatureS) -> &'static str {
    match signature {
        SignatureS::LowS => "low-S",
        SignatureS::HighS => "high-S",
    }
}

/// The request with a different operation (the mutation the token does not carry).
fn other_operation(operation: &Operation, crate_name: &str) -> Operation {
    match operation.clone() {
        Operation::Read => Operation::Yank {
            name: crate_name.into(),
            vers: VERS.into(),
        },
        Operation::Publish { name, vers, .. } => Operation::Yank { name, vers },
        Operation::Yank { name, vers } => Operation::Unyank { name, vers },
        Operation::Unyank { name, vers } => Operation::Yank { name, vers },
        Operation::Owners { name } => Operation::Yank {
            name,
            vers: VERS.into(),
        },
    }
}

fn with_name(operation: &Operation, new: &str) -> Option<Operation> {
    let name = new.to_string();
    Some(match operation.clone() {
        Operation::Read => return None,
        Operation::Publish { vers, cksum, .. } => Operation::Publish { name, vers, cksum },
        Operation::Yank { vers, .. } => Operation::Yank { name, vers },
        Operation::Unyank { vers, .. } => Operation::Unyank { name, vers },
        Operation::Owners { .. } => Operation::Owners { name },
    })
}

fn with_vers(operation: &Operation, new: &str) -> Option<Operation> {
    let vers = new.to_string();
    Some(match operation.clone() {
        Operation::Publish { name, cksum, .. } => Operation::Publish { name, vers, cksum },
        Operation::Yank { name, .. } => Operation::Yank { name, vers },
        Operation::Unyank { name, .. } => Operation::Unyank { name, vers },
        Operation::Read | Operation::Owners { .. } => return None,
    })
}

fn with_cksum(operation: &Operation, new: &str) -> Option<Operation> {
    match operation.clone() {
        Operation::Publish { name, vers, .. } => Some(Operation::Publish {
            name,
            vers,
            cksum: new.to_string(),
        }),
        _ => None,
    }
}

/// One distinct token and the requests it came with.
struct TokenUse {
    id: usize,
    /// Indexes into the exchange log.
    exchanges: Vec<usize>,
    signature: Option<SignatureS>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_cargo_tokens_verify_and_bind_to_their_requests() {
    let started = Instant::now();
    let registry = Registry::start().await;
    let index_url = registry.index_url();
    let scratch = tempfile::Builder::new()
        .prefix("credlab-real-cargo-")
        .tempdir()
        .expect("temp dir");
    let root = scratch.path();
    let key = SecretKey::generate();
    let crate_name = unique_crate_name();

    let mut cargo = Cargo::new(
        root,
        &[
            ("CARGO_REGISTRIES_CREDLAB_INDEX", index_url.clone()),
            (
                "CARGO_REGISTRIES_CREDLAB_CREDENTIAL_PROVIDER",
                "cargo:paseto".to_string(),
            ),
            ("CARGO_REGISTRIES_CREDLAB_SECRET_KEY", key.expose_paserk()),
            (
                "CARGO_REGISTRIES_CREDLAB_SECRET_KEY_SUBJECT",
                SUBJECT.to_string(),
            ),
        ],
    );
    let mut log: Vec<Exchange> = Vec::new();
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");

    let version = cargo.run(&elsewhere, &["--version"]).await;
    println!("driving {} against {index_url}", version.stdout.trim());
    println!("crate {crate_name}, key {}", key.public_key().id());

    // 1. publish
    let package = root.join("package");
    write(
        &package.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{crate_name}\"\nversion = \"{VERS}\"\nedition = \"2021\"\n\
             description = \"credlab real-cargo probe\"\nlicense = \"MIT\"\n\n[workspace]\n"
        ),
    );
    write(
        &package.join("src/lib.rs"),
        "//! credlab real-cargo probe\n",
    );
    let name = crate_name.as_str();
    step(
        &mut cargo,
        &registry,
        &mut log,
        "publish",
        &package,
        &registry_command(&["publish", "--no-verify", "--allow-dirty"], &[]),
    )
    .await;
    let published = registry
        .crate_bytes(name, VERS)
        .expect("cargo publish reported success, and the stub stored no .crate");

    // 2. yank and unyank
    step(
        &mut cargo,
        &registry,
        &mut log,
        "yank",
        &elsewhere,
        &registry_command(&["yank", "--version", VERS], &[name]),
    )
    .await;
    assert_eq!(
        registry.is_yanked(name, VERS),
        Some(true),
        "after cargo yank"
    );
    step(
        &mut cargo,
        &registry,
        &mut log,
        "unyank",
        &elsewhere,
        &registry_command(&["yank", "--undo", "--version", VERS], &[name]),
    )
    .await;
    assert_eq!(
        registry.is_yanked(name, VERS),
        Some(false),
        "after cargo yank --undo"
    );

    // 3. owners, one command each (spec §1.6: combined owner commands misbehave)
    let listed = step(
        &mut cargo,
        &registry,
        &mut log,
        "owner --list",
        &elsewhere,
        &registry_command(&["owner", "--list"], &[name]),
    )
    .await;
    assert!(
        listed.stdout.contains("credlab"),
        "cargo owner --list printed no owner:\n{}",
        listed.stdout
    );
    step(
        &mut cargo,
        &registry,
        &mut log,
        "owner --add",
        &elsewhere,
        &registry_command(&["owner", "--add", NEW_OWNER], &[name]),
    )
    .await;
    assert!(
        registry.owners(name).iter().any(|o| o == NEW_OWNER),
        "after cargo owner --add"
    );
    step(
        &mut cargo,
        &registry,
        &mut log,
        "owner --remove",
        &elsewhere,
        &registry_command(&["owner", "--remove", NEW_OWNER], &[name]),
    )
    .await;
    assert!(
        !registry.owners(name).iter().any(|o| o == NEW_OWNER),
        "after cargo owner --remove"
    );

    // 4. a consumer resolves against the index and downloads the .crate
    let consumer = root.join("consumer");
    write(
        &consumer.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"credlab-consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\n\"{crate_name}\" = {{ version = \"={VERS}\", registry = \"credlab\" }}\n\n\
             [workspace]\n"
        ),
    );
    write(&consumer.join("src/lib.rs"), "");
    step(
        &mut cargo,
        &registry,
        &mut log,
        "generate-lockfile",
        &consumer,
        &["generate-lockfile", "-Z", "asymmetric-token"],
    )
    .await;
    let lock = std::fs::read_to_string(consumer.join("Cargo.lock")).expect("Cargo.lock");
    assert!(
        lock.contains(&format!("name = \"{crate_name}\""))
            && lock.contains(&sha256_hex(&published)),
        "the lockfile does not pin {crate_name} with the published checksum:\n{lock}"
    );
    step(
        &mut cargo,
        &registry,
        &mut log,
        "fetch",
        &consumer,
        &["fetch", "-Z", "asymmetric-token"],
    )
    .await;
    let cargo_elapsed = started.elapsed();

    // ---- judge ----
    let mut failures: Vec<String> = Vec::new();
    let now = OffsetDateTime::now_utc();
    let store = |key: &SecretKey, subject: &str| {
        let mut keys = KeyStore::new();
        keys.insert(key.public_key().clone(), Some(subject.to_string()));
        keys
    };
    let verifier = Verifier::new(store(&key, SUBJECT));
    let other_key = SecretKey::generate();
    let wrong_key = Verifier::new(store(&other_key, SUBJECT));
    let wrong_subject = Verifier::new(store(&key, OTHER_SUBJECT));

    // Distinct tokens in order of first use, and each (token, request) verified.
    let mut tokens: BTreeMap<String, TokenUse> = BTreeMap::new();
    for (i, exchange) in log.iter().enumerate() {
        let c = &exchange.captured;
        let Some(token) = &c.authorization else {
            let probe = c.method == "GET"
                && c.path == "/index/config.json"
                && c.status == axum::http::StatusCode::UNAUTHORIZED;
            if !probe {
                failures.push(format!(
                    "[{}] {} {} was sent without Authorization (only the unauthenticated \
                     config.json probe may be)",
                    exchange.step, c.method, c.path
                ));
            }
            continue;
        };
        let next_id = tokens.len() + 1;
        let entry = tokens.entry(token.clone()).or_insert_with(|| TokenUse {
            id: next_id,
            exchanges: Vec::new(),
            signature: None,
        });
        entry.exchanges.push(i);
        let Some(operation) = &c.operation else {
            failures.push(format!(
                "[{}] {} {}: a request the stub does not know (answered {})",
                exchange.step, c.method, c.path, c.status
            ));
            continue;
        };
        let request = Request::new(index_url.clone(), operation.clone());
        for backend in Backend::available() {
            match verifier
                .clone()
                .with_backend(*backend)
                .verify(token, &request, now)
            {
                Ok(verified) => entry.signature = Some(verified.signature),
                Err(rejection) => failures.push(format!(
                    "[{}] T{} on {} {} ({}) refused by {}: {rejection}",
                    exchange.step,
                    entry.id,
                    c.method,
                    c.path,
                    describe(&c.operation),
                    <&str>::from(*backend),
                )),
            }
        }
    }

    // Exchange log.
    let token_id = |token: &Option<String>| {
        token
            .as_ref()
            .map_or("-".to_string(), |t| format!("T{}", tokens[t].id))
    };
    println!(
        "\n{:<18} {:<6} {:<58} {:<6} {:<5} operation (server's view)",
        "step", "method", "path", "status", "token"
    );
    for exchange in &log {
        let c = &exchange.captured;
        println!(
            "{:<18} {:<6} {:<58} {:<6} {:<5} {}",
            exchange.step,
            c.method.as_str(),
            c.path,
            c.status.as_u16(),
            token_id(&c.authorization),
            describe(&c.operation)
        );
    }

    // Every operation was seen with a token.
    type Wanted = (&'static str, fn(&Captured) -> bool);
    let wanted: [Wanted; 9] = [
        ("read (GET /index/config.json)", |c| {
            c.operation == Some(Operation::Read) && c.path == "/index/config.json"
        }),
        ("read (GET index file)", |c| {
            c.operation == Some(Operation::Read)
                && c.path.starts_with("/index/")
                && c.path != "/index/config.json"
        }),
        ("read (GET download)", |c| {
            c.operation == Some(Operation::Read) && c.path.starts_with("/dl/")
        }),
        ("publish (PUT /api/v1/crates/new)", |c| {
            matches!(c.operation, Some(Operation::Publish { .. }))
        }),
        ("yank (DELETE …/yank)", |c| {
            matches!(c.operation, Some(Operation::Yank { .. }))
        }),
        ("unyank (PUT …/unyank)", |c| {
            matches!(c.operation, Some(Operation::Unyank { .. }))
        }),
        ("owners list (GET …/owners)", |c| {
            matches!(c.operation, Some(Operation::Owners { .. })) && c.method == "GET"
        }),
        ("owners add (PUT …/owners)", |c| {
            matches!(c.operation, Some(Operation::Owners { .. })) && c.method == "PUT"
        }),
        ("owners remove (DELETE …/owners)", |c| {
            matches!(c.operation, Some(Operation::Owners { .. })) && c.method == "DELETE"
        }),
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(_, matches)| {
            !log.iter()
                .any(|e| e.captured.authorization.is_some() && matches(&e.captured))
        })
        .map(|(what, _)| *what)
        .collect();
    if !missing.is_empty() {
        failures.push(format!("no token was captured for: {}", missing.join(", ")));
    }

    // Tokens: signature form, and credlab re-signs them byte for byte.
    let mut by_id: Vec<(&String, &TokenUse)> = tokens.iter().collect();
    by_id.sort_by_key(|(_, t)| t.id);
    println!("\ntoken  S       uses  {:<44} claims", "first request");
    let (mut low, mut high) = (0, 0);
    for (token, info) in &by_id {
        match info.signature {
            Some(SignatureS::LowS) => low += 1,
            Some(SignatureS::HighS) => high += 1,
            None => {}
        }
        let first = &log[info.exchanges[0]];
        let decoded = paseto::decode(token);
        let claims_json = decoded
            .as_ref()
            .map(|d| String::from_utf8_lossy(d.payload()).into_owned())
            .unwrap_or_else(|e| format!("<undecodable: {e}>"));
        println!(
            "T{:<4} {:<7} {:<5} {:<44} {claims_json}",
            info.id,
            info.signature.map_or("?", s_form),
            info.exchanges.len(),
            format!(
                "[{}] {} {}",
                first.step, first.captured.method, first.captured.path
            )
            .chars()
            .take(44)
            .collect::<String>(),
        );
        let resigned = decoded.map_err(|e| e.to_string()).and_then(|d| {
            let claims: Claims =
                serde_json::from_slice(d.payload()).map_err(|e| format!("claims: {e}"))?;
            let footer: Footer = serde_json::from_slice(d.footer().unwrap_or_default())
                .map_err(|e| format!("footer: {e}"))?;
            Ok(token::sign(&key, &claims, &footer, SignatureForm::AsCargo))
        });
        match resigned {
            Ok(again) if again == **token => {}
            Ok(again) => failures.push(format!(
                "T{}: credlab re-signed the same claims/footer differently:\n  cargo   {token}\n  credlab {again}",
                info.id
            )),
            Err(e) => failures.push(format!("T{}: could not re-sign: {e}", info.id)),
        }
    }
    println!(
        "\n{} requests, {} with a token, {} distinct tokens: {low} low-S, {high} high-S \
         (cargo 1.95 / pasetors 0.7 does not normalise S)",
        log.len(),
        log.iter()
            .filter(|e| e.captured.authorization.is_some())
            .count(),
        tokens.len()
    );

    // Mutation matrix: change exactly one bound field, expect exactly one kind.
    let fields = [
        "url -sparse+",
        "url -slash",
        "operation",
        "name",
        "vers",
        "cksum",
        "key",
        "subject",
    ];
    println!("\nmutation matrix (expected kind, ✓ = refused with it, - = not a bound field)");
    println!(
        "{:<6} {:<8} {}",
        "token",
        "op",
        fields.map(|f| format!("{f:<20}")).concat()
    );
    for (token, info) in &by_id {
        let Some(operation) = info
            .exchanges
            .iter()
            .find_map(|&i| log[i].captured.operation.clone())
        else {
            continue;
        };
        let url = |u: &str| Request::new(u, operation.clone());
        let op = |o: Option<Operation>| o.map(|o| Request::new(index_url.clone(), o));
        let same = Request::new(index_url.clone(), operation.clone());
        let cases: [(Option<Request>, &Verifier, RejectionKind); 8] = [
            (
                index_url.strip_prefix("sparse+").map(url),
                &verifier,
                RejectionKind::UrlMismatch,
            ),
            (
                index_url.strip_suffix('/').map(url),
                &verifier,
                RejectionKind::UrlMismatch,
            ),
            (
                op(Some(other_operation(&operation, name))),
                &verifier,
                RejectionKind::MutationMismatch,
            ),
            (
                op(with_name(&operation, &format!("{name}-other"))),
                &verifier,
                RejectionKind::NameMismatch,
            ),
            (
                op(with_vers(&operation, "0.1.1")),
                &verifier,
                RejectionKind::VersMismatch,
            ),
            (
                op(with_cksum(&operation, &sha256_hex(b"another .crate"))),
                &verifier,
                RejectionKind::CksumMismatch,
            ),
            (Some(same.clone()), &wrong_key, RejectionKind::UnknownKey),
            (Some(same), &wrong_subject, RejectionKind::SubjectMismatch),
        ];
        let mut row = String::new();
        for (field, (request, judge, expected)) in fields.iter().zip(cases) {
            let Some(request) = request else {
                row.push_str(&format!("{:<20}", "-"));
                continue;
            };
            let cell = match judge.verify(token, &request, now) {
                Err(rejection) if rejection.kind == expected => format!("✓ {expected}"),
                Err(rejection) => {
                    failures.push(format!(
                        "T{} ({}), field `{field}`: expected {expected}, refused with {} ({})",
                        info.id,
                        describe(&Some(operation.clone())),
                        rejection.kind,
                        rejection.message
                    ));
                    format!("✗ {}", rejection.kind)
                }
                Ok(_) => {
                    failures.push(format!(
                        "T{} ({}), field `{field}`: expected {expected}, and the token was accepted \
                         for {:?} at {}",
                        info.id,
                        describe(&Some(operation.clone())),
                        request.operation,
                        request.index_url
                    ));
                    "✗ accepted".to_string()
                }
            };
            row.push_str(&format!("{cell:<20}"));
        }
        println!("T{:<5} {:<8} {row}", info.id, operation.kind().as_str());
    }

    println!(
        "\ncargo commands took {cargo_elapsed:.2?}; the whole test {:.2?}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n- {}",
        failures.len(),
        failures.join("\n- ")
    );
}
