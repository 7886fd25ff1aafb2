//! How many full verifies real Cargo's reads cost the reference registry, with the read-token
//! cache and without. 50 crates are published over HTTP (publish tokens signed as Cargo signs
//! them); a project depending on all 50 runs `cargo generate-lockfile` (cargo 1.95,
//! `-Z asymmetric-token`, `cargo:paseto`, `auth-required`) against two registries that differ
//! only in `read_cache`. The numbers are printed (`--nocapture`) and recorded in
//! bench/README.md ("Read-token cache").

mod support;

use credlab_suite::keys::SecretKey;
use credlab_suite::token::{self, Operation};
use credlab_targets::registry::server::{self, AuthCounts, Config, Running, publish};
use serde_json::json;
use support::{Sandbox, write};
use time::OffsetDateTime;

const SUBJECT: &str = "credlab-cargo-user";
const CRATES: usize = 50;
const VERS: &str = "0.1.0";

fn name(i: usize) -> String {
    format!("credlab-dep-{i:02}")
}

/// Publishes `CRATES` crates over HTTP, each with its own publish token.
fn publish_all(registry: &Running, key: &SecretKey) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for i in 0..CRATES {
        let name = name(i);
        // Never downloaded (generate-lockfile reads the index only): any bytes will do.
        let crate_bytes = support::dot_crate::dot_crate(&name, VERS, b"");
        let op = Operation::Publish {
            name: name.clone(),
            vers: VERS.into(),
            cksum: publish::sha256_hex(&crate_bytes),
        };
        let token = token::sign_as_cargo(
            key,
            &registry.index_url(),
            &op,
            OffsetDateTime::now_utc(),
            Some(SUBJECT),
        );
        let metadata = json!({
            "name": name, "vers": VERS, "deps": [], "features": {}, "authors": [],
            "description": "a dependency", "license": "MIT", "links": null,
        });
        let mut response = agent
            .put(format!("{}/api/v1/crates/new", registry.api_url()))
            .header("Authorization", &token)
            .send(publish::encode(&metadata, &crate_bytes))
            .expect("the registry answers");
        let body = response.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(response.status(), 200, "publish {name}: {body}");
    }
}

/// The counts `generate-lockfile` added on a registry with `read_cache` entries.
fn generate_lockfile(read_cache: usize) -> AuthCounts {
    let key = SecretKey::generate();
    let registry = server::start(Config {
        keys: vec![(key.public_key().clone(), Some(SUBJECT.to_string()))],
        read_cache,
        ..Config::default()
    })
    .expect("start the registry");
    publish_all(&registry, &key);
    let sandbox = Sandbox::cargo_paseto(registry.index_url(), &key, SUBJECT);
    let consumer = sandbox.path("consumer");
    let deps: String = (0..CRATES)
        .map(|i| {
            format!(
                "{} = {{ version = \"={VERS}\", registry = \"credlab\" }}\n",
                name(i)
            )
        })
        .collect();
    write(
        &consumer.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"credlab-consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\n{deps}\n[workspace]\n"
        ),
    );
    write(&consumer.join("src/lib.rs"), "");
    let before = registry.auth_counts();
    sandbox.cargo(
        &consumer,
        &["generate-lockfile", "-Z", "asymmetric-token"],
        "",
    );
    let after = registry.auth_counts();
    let lock = std::fs::read_to_string(consumer.join("Cargo.lock")).expect("Cargo.lock");
    for i in 0..CRATES {
        assert!(lock.contains(&format!("name = \"{}\"", name(i))), "{lock}");
    }
    AuthCounts {
        token_requests: after.token_requests - before.token_requests,
        full_verifies: after.full_verifies - before.full_verifies,
        cache_hits: after.cache_hits - before.cache_hits,
        cached_tokens: after.cached_tokens - before.cached_tokens,
    }
}

#[test]
fn real_cargo_reads_cost_one_full_verify_per_read_token() {
    let cached = generate_lockfile(server::Config::default().read_cache);
    let uncached = generate_lockfile(0);
    eprintln!("generate-lockfile, {CRATES} dependencies: with the cache {cached:?}");
    eprintln!("generate-lockfile, {CRATES} dependencies: without the cache {uncached:?}");

    // config.json and one index file per dependency, each with the token (Cargo's first
    // config.json request has none: it only learns from the 401 that a token is needed).
    assert!(cached.token_requests > CRATES as u64, "{cached:?}");
    assert_eq!(
        uncached.token_requests, cached.token_requests,
        "the same requests"
    );
    // cargo 1.95 signs one read token for the whole command and reuses it on every request
    // (docs/observed.md §2), so the cache holds one token and verified it once.
    assert_eq!(cached.cached_tokens, 1, "distinct read tokens: {cached:?}");
    assert_eq!(cached.full_verifies, 1, "{cached:?}");
    assert_eq!(cached.cache_hits, cached.token_requests - 1, "{cached:?}");
    // Without it, every request pays a full verify.
    assert_eq!(
        uncached.full_verifies, uncached.token_requests,
        "{uncached:?}"
    );
    assert_eq!(uncached.cache_hits, 0);
}
