//! Verify throughput on one realistic Cargo publish token (claims as Cargo sends them, footer
//! `{url, kip}`, fixed `iat`, a fixed `now` 30 s later).
//!
//! Group `verify` (one verify per iteration, reported as verifies/s):
//! - `a_raw_aws_lc`: AWS-LC `ParsedPublicKey::verify_sig` (`ECDSA_P384_SHA384_FIXED`) over the
//!   precomputed PAE message and the 96-byte signature: SHA-384 + ECDSA only. The limit.
//! - `b_credlab_aws_lc`: `Verifier::verify` with the default AWS-LC backend and the key cache
//!   (`KeyStore`): size check, decode, footer JSON, key lookup, r/s range + high-S check, PAE,
//!   signature, url, claims JSON, `iat`, subject, challenge, binding.
//! - `c_credlab_aws_lc_uncached`: `PublicKey::from_paserk` (base64, p384 decompression and
//!   validation, pid, AWS-LC parse) + a one-key `KeyStore` + the same full verify.
//! - `d_pasetors_registry`: the pasetors-only registry of `credlab_bench::PasetorsRegistry`
//!   (Cargo's test registry: `UntrustedToken`, serde_json footer → `kip`, key lookup,
//!   `PublicToken::verify`, url, serde_json claims, `iat` window, binding).
//! - `d0_pasetors_signature_only`: `UntrustedToken::try_from` + `PublicToken::verify`.
//! - `e_credlab_pasetors`: `Verifier::verify` with the pasetors backend.
//!
//! Group `verify_parts` splits credlab's overhead over the raw verify (b − a) into its steps.
//!
//! All of these measure thread CPU time (`common::ThreadTime`), not wall time.
//!
//! `paired` (after the criterion groups): the goal ratios again, measured drift-proof. Criterion
//! runs one benchmark after the other, so a change in the machine's load between `a` and `b`
//! lands in their ratio. Here a, b, d and e run interleaved in short batches (~5 ms each,
//! order rotated every round) for a few hundred rounds; each round gives one ratio per pair
//! and the median over rounds is reported (with the 25th–75th percentiles), as JSON lines in
//! `<target>/criterion/credlab-paired.json`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::ThreadTime;
use credlab_bench::{
    Fixture, PasetorsRegistry, RawAwsLc, pasetors_key, pasetors_signature_only, quantile,
    verify_uncached,
};
use credlab_suite::Backend;
use credlab_suite::json;
use credlab_suite::paseto;
use credlab_suite::token::iat::{self, IatSyntax};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::Digest;

fn verify(c: &mut Criterion<ThreadTime>) {
    let f = Fixture::publish();
    let raw = RawAwsLc::new(&f.public);
    let aws = f.verifier(Backend::AwsLc);
    let pasetors = f.verifier(Backend::Pasetors);
    let registry = PasetorsRegistry::new(&f.public, credlab_bench::INDEX_URL);
    let pasetors_public = pasetors_key(&f.public);
    let paserk = f.public.to_paserk().to_string();

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1))
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("a_raw_aws_lc", |b| {
        b.iter(|| assert!(raw.verify(black_box(&f.pae), black_box(&f.signature))))
    });
    g.bench_function("b_credlab_aws_lc", |b| {
        b.iter(|| {
            aws.verify(black_box(&f.token), &f.request, f.now)
                .expect("valid")
        })
    });
    g.bench_function("c_credlab_aws_lc_uncached", |b| {
        b.iter(|| {
            assert!(verify_uncached(
                black_box(&paserk),
                black_box(&f.token),
                &f.request,
                f.now
            ))
        })
    });
    g.bench_function("d_pasetors_registry", |b| {
        b.iter(|| {
            registry
                .verify(black_box(&f.token), &f.request.operation, f.now)
                .expect("valid")
        })
    });
    g.bench_function("d0_pasetors_signature_only", |b| {
        b.iter(|| {
            assert!(pasetors_signature_only(
                &pasetors_public,
                black_box(&f.token)
            ))
        })
    });
    g.bench_function("e_credlab_pasetors", |b| {
        b.iter(|| {
            pasetors
                .verify(black_box(&f.token), &f.request, f.now)
                .expect("valid")
        })
    });
    g.finish();
}

/// The steps of credlab's verify that the raw AWS-LC verify does not do.
fn verify_parts(c: &mut Criterion<ThreadTime>) {
    let f = Fixture::publish();
    let decoded = paseto::decode(&f.token).expect("decodes");
    let iat_text = credlab_suite::token::Claims::for_operation(
        &credlab_bench::publish(),
        credlab_bench::IAT,
        None,
    )
    .iat;

    let mut g = c.benchmark_group("verify_parts");
    g.throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("decode", |b| {
        b.iter(|| paseto::decode(black_box(&f.token)).expect("decodes"))
    });
    g.bench_function("footer_json", |b| {
        b.iter(|| json::parse_object(black_box(&f.footer), 32).expect("object"))
    });
    g.bench_function("payload_json", |b| {
        b.iter(|| json::parse_object(black_box(&f.payload), 32).expect("object"))
    });
    g.bench_function("pae_build", |b| {
        b.iter(|| {
            paseto::pae(&[
                f.public.compressed(),
                paseto::HEADER.as_bytes(),
                black_box(&f.payload),
                black_box(&f.footer),
                b"",
            ])
        })
    });
    g.bench_function("sha384_of_pae", |b| {
        b.iter(|| sha2::Sha384::digest(black_box(&f.pae)))
    });
    g.bench_function("signature_s", |b| {
        b.iter(|| paseto::signature_s(black_box(&f.signature)).expect("in range"))
    });
    g.bench_function("iat_parse", |b| {
        b.iter(|| iat::parse(black_box(&iat_text), IatSyntax::Strict).expect("rfc 3339"))
    });
    g.bench_function("verify_signature_aws_lc", |b| {
        b.iter(|| {
            paseto::verify_signature(Backend::AwsLc, &f.public, &f.token, &decoded, b"")
                .expect("valid")
        })
    });
    g.finish();
}

/// The interleaved estimate of the goal ratios (see the module docs).
fn paired() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    // Criterion's own modes and filters: `--profile-time`, `--list`, or a name filter that is
    // not about this measurement skip it.
    let filtered = args
        .iter()
        .any(|a| !a.starts_with('-') && !a.contains("paired"));
    if args.iter().any(|a| a == "--profile-time" || a == "--list") || filtered {
        return;
    }
    let f = Fixture::publish();
    let raw = RawAwsLc::new(&f.public);
    let aws = f.verifier(Backend::AwsLc);
    let pasetors = f.verifier(Backend::Pasetors);
    let registry = PasetorsRegistry::new(&f.public, credlab_bench::INDEX_URL);
    let paths: [(&str, &dyn Fn()); 4] = [
        ("a_raw_aws_lc", &|| {
            assert!(raw.verify(black_box(&f.pae), black_box(&f.signature)));
        }),
        ("b_credlab_aws_lc", &|| {
            aws.verify(black_box(&f.token), &f.request, f.now)
                .expect("valid");
        }),
        ("d_pasetors_registry", &|| {
            registry
                .verify(black_box(&f.token), &f.request.operation, f.now)
                .expect("valid");
        }),
        ("e_credlab_pasetors", &|| {
            pasetors
                .verify(black_box(&f.token), &f.request, f.now)
                .expect("valid");
        }),
    ];

    // Batch sizes for ~5 ms of CPU per path per round.
    let batch: Vec<u32> = paths
        .iter()
        .map(|(_, run)| {
            let start = common::thread_cpu_time();
            for _ in 0..20 {
                run();
            }
            let per = (common::thread_cpu_time() - start) / 20;
            (Duration::from_millis(5).as_nanos() / per.as_nanos().max(1)).clamp(1, 10_000) as u32
        })
        .collect();
    let rounds = if bench { 300 } else { 3 };
    let mut per_iter = vec![Vec::with_capacity(rounds); paths.len()];
    for round in 0..rounds {
        for k in 0..paths.len() {
            let i = (round + k) % paths.len();
            let start = common::thread_cpu_time();
            for _ in 0..batch[i] {
                (paths[i].1)();
            }
            let t = (common::thread_cpu_time() - start).as_nanos() as f64;
            per_iter[i].push(t / f64::from(batch[i]));
        }
    }

    let mut lines = Vec::new();
    for (i, (name, _)) in paths.iter().enumerate() {
        lines.push(format!(
            "{{\"bench\":\"paired\",\"id\":\"verify/{name}\",\"median_ns\":{:.1},\"batch\":{},\"rounds\":{rounds}}}",
            quantile(per_iter[i].clone(), 0.5),
            batch[i]
        ));
    }
    // Speed of `what` relative to `base`: time(base) / time(what), round by round.
    for (what, base) in [(1, 0), (1, 2), (0, 2), (1, 3), (3, 2)] {
        let ratios: Vec<f64> = per_iter[base]
            .iter()
            .zip(&per_iter[what])
            .map(|(b, w)| b / w)
            .collect();
        lines.push(format!(
            "{{\"bench\":\"paired\",\"what\":\"verify/{}\",\"vs\":\"verify/{}\",\"kind\":\"speed\",\"median\":{:.4},\"p25\":{:.4},\"p75\":{:.4},\"rounds\":{rounds}}}",
            paths[what].0,
            paths[base].0,
            quantile(ratios.clone(), 0.5),
            quantile(ratios.clone(), 0.25),
            quantile(ratios, 0.75),
        ));
    }
    for l in &lines {
        println!("{l}");
    }
    if bench {
        let path = credlab_bench::write_json_lines("credlab-paired.json", &lines)
            .expect("write credlab-paired.json");
        eprintln!("wrote {}", path.display());
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = verify, verify_parts
}
criterion_main!(benches, paired);
