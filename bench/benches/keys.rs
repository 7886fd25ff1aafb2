//! PASERK parsing, against a plain base64url decode of the same string.
//!
//! Group `keys` (one parse per iteration):
//! - `b64_public` / `b64_secret` / `b64_pid`: `credlab_suite::b64::decode` of the data part of
//!   the `k3.public.` / `k3.secret.` / `k3.pid.` string: the baselines.
//! - `public_from_paserk`: `PublicKey::from_paserk`: base64, p384 point decompression and
//!   validation, the pasetors key, the PASERK string, the pid, and the AWS-LC parse.
//! - `secret_from_paserk`: `SecretKey::from_paserk`: base64, scalar check, `d·G` for the public
//!   key, then everything `public_from_paserk` does.
//! - `keyid_parse`: `KeyId::parse` (prefix, base64 of 33 bytes, copy).
//! - `pid`: the `k3.pid` computation (pasetors `Id::from`: SHA-384 over `k3.pid.` + the
//!   `k3.public` string, base64, formatting).
//! - `part_p384_decompress`, `part_aws_lc_parse`: the two point decompressions inside
//!   `public_from_paserk`, alone.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::ThreadTime;
use credlab_bench::SECRET_PASERK;
use credlab_suite::b64;
use credlab_suite::keys::{KeyId, PublicKey, SecretKey};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pasetors::keys::AsymmetricPublicKey;
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version3::V3;

fn keys(c: &mut Criterion<ThreadTime>) {
    let secret = SecretKey::from_paserk(SECRET_PASERK).expect("parses");
    let public = secret.public_key().clone();
    let public_text = public.to_paserk().to_string();
    let pid_text = public.id().as_str().to_string();
    let public_data = public_text.strip_prefix("k3.public.").expect("prefix");
    let secret_data = SECRET_PASERK.strip_prefix("k3.secret.").expect("prefix");
    let pid_data = pid_text.strip_prefix("k3.pid.").expect("prefix");
    let pasetors_public = AsymmetricPublicKey::<V3>::from(public.compressed()).expect("valid");

    let mut g = c.benchmark_group("keys");
    g.throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("b64_public", |b| {
        b.iter(|| b64::decode(black_box(public_data)).expect("base64"))
    });
    g.bench_function("public_from_paserk", |b| {
        b.iter(|| PublicKey::from_paserk(black_box(&public_text)).expect("valid"))
    });
    g.bench_function("b64_secret", |b| {
        b.iter(|| b64::decode(black_box(secret_data)).expect("base64"))
    });
    g.bench_function("secret_from_paserk", |b| {
        b.iter(|| SecretKey::from_paserk(black_box(SECRET_PASERK)).expect("valid"))
    });
    g.bench_function("b64_pid", |b| {
        b.iter(|| b64::decode(black_box(pid_data)).expect("base64"))
    });
    g.bench_function("keyid_parse", |b| {
        b.iter(|| KeyId::parse(black_box(&pid_text)).expect("valid"))
    });
    g.bench_function("pid", |b| {
        b.iter(|| {
            let mut id = String::new();
            Id::from(black_box(&pasetors_public))
                .fmt(&mut id)
                .expect("formats");
            id
        })
    });
    g.bench_function("part_p384_decompress", |b| {
        b.iter(|| p384::PublicKey::from_sec1_bytes(black_box(public.compressed())).expect("valid"))
    });
    g.bench_function("part_aws_lc_parse", |b| {
        b.iter(|| {
            aws_lc_rs::signature::ParsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
                black_box(public.compressed()),
            )
            .expect("valid")
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = keys
}
criterion_main!(benches);
