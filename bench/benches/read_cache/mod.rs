//! The read-token cache (`credlab_verify::cache`) in the reference registry: the same workload
//! on two registries that differ only in `read_cache` (default capacity against 0), through
//! the registry's own authentication step (`Running::authenticate`: `Auth::authorize`, what
//! every request runs before it is served), in interleaved rounds timed in thread CPU time.
//!
//! - reads: what one real `cargo generate-lockfile` with 50 registry dependencies sends
//!   (targets/tests/read_cache_cargo.rs: 51 authenticated requests, one read token); each
//!   "command" signs a fresh read token (outside the timing, as Cargo does) and presents it
//!   `CARGO_READS` times, so the cached registry pays one miss and 50 hits per command;
//! - mutations: fresh publish tokens, one use each (the cache must change nothing: mutation
//!   tokens are never cached and still meet the replay guard).
//!
//! Goal: reads ≥ 20× the uncached requests/s; mutations ≈ 1.0×.

use std::time::Duration;

use credlab_suite::keys::SecretKey;
use credlab_suite::token::{self, Operation};
use credlab_targets::registry::server::{Config, Running, start};
use time::OffsetDateTime;

use crate::common::thread_cpu_time;

/// Authenticated requests of one `cargo generate-lockfile` with 50 dependencies (cargo 1.95).
pub const CARGO_READS: usize = 51;
/// Cargo commands per round and registry.
const COMMANDS: usize = 4;
/// Publish tokens per round and registry.
const PUBLISHES: usize = 20;
const ROUNDS: usize = 31;

fn registry(key: &SecretKey, read_cache: Option<usize>) -> Running {
    let mut config = Config {
        keys: vec![(key.public_key().clone(), None)],
        ..Config::default()
    };
    if let Some(capacity) = read_cache {
        config.read_cache = capacity;
    }
    start(config).expect("the reference registry starts")
}

/// Thread CPU time of `COMMANDS` commands of `CARGO_READS` reads each (signing excluded).
fn reads(registry: &Running, key: &SecretKey) -> Duration {
    let url = registry.index_url();
    let mut spent = Duration::ZERO;
    for _ in 0..COMMANDS {
        let token =
            token::sign_as_cargo(key, &url, &Operation::Read, OffsetDateTime::now_utc(), None);
        let started = thread_cpu_time();
        for _ in 0..CARGO_READS {
            registry
                .authenticate(&token, &Operation::Read, OffsetDateTime::now_utc())
                .expect("a fresh read token is admitted");
        }
        spent += thread_cpu_time() - started;
    }
    spent
}

/// Thread CPU time of `PUBLISHES` first uses of fresh publish tokens (signing excluded), and
/// a check (untimed) that a second use is still refused as a replay.
fn publishes(registry: &Running, key: &SecretKey, round: usize) -> Duration {
    let url = registry.index_url();
    let signed: Vec<(String, Operation)> = (0..PUBLISHES)
        .map(|i| {
            let op = Operation::Publish {
                name: format!("bench-{round}-{i}"),
                vers: "1.0.0".into(),
                cksum: "ab".repeat(32),
            };
            let token = token::sign_as_cargo(key, &url, &op, OffsetDateTime::now_utc(), None);
            (token, op)
        })
        .collect();
    let started = thread_cpu_time();
    for (token, op) in &signed {
        registry
            .authenticate(token, op, OffsetDateTime::now_utc())
            .expect("a fresh publish token is admitted");
    }
    let spent = thread_cpu_time() - started;
    let (token, op) = &signed[0];
    let replay = registry
        .authenticate(token, op, OffsetDateTime::now_utc())
        .expect_err("a publish token is single-use");
    assert!(replay.starts_with("replayed"), "{replay}");
    spent
}

/// The interleaved rounds; returns the JSON for `credlab-registry-cache.json`.
pub fn measure(key: &SecretKey) -> serde_json::Value {
    let cached = registry(key, None);
    let uncached = registry(key, Some(0));
    let mut read_rounds = Vec::new();
    let mut publish_rounds = Vec::new();
    for round in 0..ROUNDS {
        // Alternate which goes first, so a load change within a round hits both alike.
        let (c, u) = if round % 2 == 0 {
            let c = reads(&cached, key);
            (c, reads(&uncached, key))
        } else {
            let u = reads(&uncached, key);
            (reads(&cached, key), u)
        };
        read_rounds.push((c, u));
        let (c, u) = if round % 2 == 0 {
            let c = publishes(&cached, key, round);
            (c, publishes(&uncached, key, round))
        } else {
            let u = publishes(&uncached, key, round);
            (publishes(&cached, key, round), u)
        };
        publish_rounds.push((c, u));
    }
    let counts = (cached.auth_counts(), uncached.auth_counts());
    assert_eq!(
        counts.0.cache_hits,
        (ROUNDS * COMMANDS * (CARGO_READS - 1)) as u64,
        "every read after a command's first is a hit: {counts:?}"
    );
    assert_eq!(counts.1.cache_hits, 0);
    let summary = |rounds: &[(Duration, Duration)], requests: usize| {
        // Requests/s with the cache ÷ without = uncached time ÷ cached time.
        let ratios: Vec<f64> = rounds
            .iter()
            .map(|(c, u)| u.as_secs_f64() / c.as_secs_f64())
            .collect();
        let per_request = |pick: fn(&(Duration, Duration)) -> Duration| {
            credlab_bench::median(
                rounds
                    .iter()
                    .map(|r| pick(r).as_secs_f64() * 1e6 / requests as f64)
                    .collect(),
            )
        };
        serde_json::json!({
            "ratio": credlab_bench::median(ratios.clone()),
            "p25": credlab_bench::quantile(ratios.clone(), 0.25),
            "p75": credlab_bench::quantile(ratios, 0.75),
            "cached_us_per_request": per_request(|r| r.0),
            "uncached_us_per_request": per_request(|r| r.1),
        })
    };
    serde_json::json!({
        "rounds": ROUNDS,
        "reads_per_command": CARGO_READS,
        "commands_per_round": COMMANDS,
        "publishes_per_round": PUBLISHES,
        "reads": summary(&read_rounds, COMMANDS * CARGO_READS),
        "publishes": summary(&publish_rounds, PUBLISHES),
        "goal_reads_ratio": 20.0,
        "goal_publishes_ratio": [0.9, 1.1],
        "full_verifies_cached": counts.0.full_verifies,
        "full_verifies_uncached": counts.1.full_verifies,
    })
}
