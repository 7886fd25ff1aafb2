//! The reference registry under concurrent loopback load: authenticated requests per second
//! against the verifier's single-core verify rate, both measured in this run.
//!
//! Goal (issue "Registry runner and reference registry"): requests/s ≥ 0.8 × cores × the
//! single-core verify rate, i.e. the server adds little beyond verification and uses every
//! core. Each request is `GET config.json` with a read token (auth-required); the registry
//! runs with its read-token cache off (`read_cache: 0`), so it verifies a token per request;
//! clients reuse connections. The same load against a registry with the cache is shown beside
//! it. The figures go to `target/criterion/credlab-registry.json` for `bench/report.py`.
//!
//! Then the read-token cache's own workload (`read_cache`): `credlab-registry-cache.json`.

#[allow(dead_code, reason = "only thread_cpu_time is used here")]
mod common;
mod read_cache;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use credlab_suite::keys::SecretKey;
use credlab_suite::token::{self, Operation};
use credlab_suite::verify::{KeyStore, Request, Verifier};
use credlab_targets::registry::server::{Config, start};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use time::OffsetDateTime;

const LOAD: Duration = Duration::from_secs(5);

/// Verifies per second from `threads` threads sharing one verifier set up as the registry's.
fn verify_rate(key: &SecretKey, url: &str, token: &str, threads: usize) -> f64 {
    let mut keys = KeyStore::new();
    keys.insert(key.public_key().clone(), None);
    let verifier = Verifier::new(keys);
    let request = Request::new(url, Operation::Read);
    let started = Instant::now();
    let done = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while started.elapsed() < Duration::from_secs(2) {
                    for _ in 0..50 {
                        verifier
                            .verify(token, &request, OffsetDateTime::now_utc())
                            .expect("the bench token verifies");
                    }
                    done.fetch_add(50, Ordering::Relaxed);
                }
            });
        }
    });
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Requests per second from `clients` threads, each with its own keep-alive connection.
fn load(config_url: &str, token: &str, clients: usize) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            let (stop, done) = (stop.clone(), done.clone());
            scope.spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                while !stop.load(Ordering::Relaxed) {
                    let mut response = agent
                        .get(config_url)
                        .header("authorization", token)
                        .call()
                        .expect("the registry answers");
                    assert_eq!(response.status(), 200, "an authenticated read succeeds");
                    let _ = response.body_mut().read_to_vec();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while started.elapsed() < LOAD {
            std::thread::park_timeout(LOAD - started.elapsed());
        }
        stop.store(true, Ordering::Relaxed);
    });
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn bench(c: &mut Criterion) {
    let key = SecretKey::generate();
    let running = start(Config {
        keys: vec![(key.public_key().clone(), None)],
        read_cache: 0,
        ..Config::default()
    })
    .expect("the reference registry starts");
    let url = running.index_url();
    let config_url = format!("{}config.json", url.trim_start_matches("sparse+"));
    // The same registry with its read-token cache (a token for it: the URL differs).
    let cached = start(Config {
        keys: vec![(key.public_key().clone(), None)],
        ..Config::default()
    })
    .expect("the reference registry starts");
    let cached_url = cached.index_url();
    let cached_config_url = format!("{}config.json", cached_url.trim_start_matches("sparse+"));
    let cached_token = token::sign_as_cargo(
        &key,
        &cached_url,
        &Operation::Read,
        OffsetDateTime::now_utc(),
        None,
    );
    // A read token stays valid for the whole window: the same one serves every request.
    let token = token::sign_as_cargo(
        &key,
        &url,
        &Operation::Read,
        OffsetDateTime::now_utc(),
        None,
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut group = c.benchmark_group("registry");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    group.bench_function("authenticated_read_1_client", |b| {
        b.iter(|| {
            let mut r = agent
                .get(&config_url)
                .header("authorization", &token)
                .call()
                .expect("answers");
            assert_eq!(r.status(), 200);
            let _ = r.body_mut().read_to_vec();
        })
    });
    group.bench_function("authenticated_read_1_client_read_cache", |b| {
        b.iter(|| {
            let mut r = agent
                .get(&cached_config_url)
                .header("authorization", &cached_token)
                .call()
                .expect("answers");
            assert_eq!(r.status(), 200);
            let _ = r.body_mut().read_to_vec();
        })
    });
    group.finish();

    // The ratio, from back-to-back measurements in this run (median of 3 each).
    let median = credlab_bench::median;
    // Rounds of (one-core verify, all-core verify, load, load on the cached registry), so
    // noise moves all four alike.
    let clients = 2 * cores;
    let rounds: Vec<[f64; 4]> = (0..3)
        .map(|_| {
            [
                verify_rate(&key, &url, &token, 1),
                verify_rate(&key, &url, &token, cores),
                load(&config_url, &token, clients),
                load(&cached_config_url, &cached_token, clients),
            ]
        })
        .collect();
    let column = |i: usize| median(rounds.iter().map(|r| r[i]).collect());
    let (verify, verify_all_cores, rps) = (column(0), column(1), column(2));
    let ratio = median(rounds.iter().map(|r| r[2] / r[0]).collect());
    let report = serde_json::json!({
        "cores": cores,
        "clients": clients,
        "verify_per_s_one_core": verify,
        "verify_per_s_all_cores": verify_all_cores,
        // The machine's own ceiling: pure verification on every core, no HTTP, no clients.
        "ratio_to_all_core_verify": median(rounds.iter().map(|r| r[2] / r[1]).collect()),
        "authenticated_requests_per_s": rps,
        "ratio": ratio,
        "ratio_per_core": ratio / cores as f64,
        "goal_ratio": 0.8 * cores as f64,
        "note": "clients run on the same machine and take CPU from the server",
        "rounds": rounds.len(),
        // The same load with the read-token cache (one token, every request after the first
        // a hit): what HTTP, the clients and the kernel leave once verification is gone.
        "read_cache_requests_per_s": column(3),
        "read_cache_http_ratio": median(rounds.iter().map(|r| r[3] / r[2]).collect()),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("serializes")
    );
    credlab_bench::write_json_lines("credlab-registry.json", &[report.to_string()])
        .expect("write credlab-registry.json");
    running.shutdown();
    cached.shutdown();

    let report = read_cache::measure(&key);
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("serializes")
    );
    credlab_bench::write_json_lines("credlab-registry-cache.json", &[report.to_string()])
        .expect("write credlab-registry-cache.json");
}

criterion_group!(benches, bench);
criterion_main!(benches);
