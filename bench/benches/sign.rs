//! Token signing per operation, against a raw p384 `sign_prehash` of a fixed digest.
//!
//! Group `sign` (one token per iteration):
//! - `raw_p384_sign_prehash`: RFC 6979 ECDSA P-384 over a fixed SHA-384 digest (the baseline:
//!   nonce derivation, `k·G`, inversion; no hashing of the message).
//! - `cargo_<operation>`: `token::sign_as_cargo` for read, publish, yank, unyank, owners:
//!   claims (incl. RFC 3339 `iat`) and footer JSON, PAE, SHA-384, the same signature, base64.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::ThreadTime;
use credlab_bench::{IAT, INDEX_URL, SECRET_PASERK, operations};
use credlab_suite::keys::SecretKey;
use credlab_suite::token;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use p384::ecdsa::signature::hazmat::PrehashSigner;
use p384::ecdsa::{Signature, SigningKey};
use sha2::Digest;

fn sign(c: &mut Criterion<ThreadTime>) {
    let key = SecretKey::from_paserk(SECRET_PASERK).expect("parses");
    let scalar = credlab_suite::b64::decode(&SECRET_PASERK["k3.secret.".len()..]).expect("b64");
    let raw = SigningKey::from_slice(&scalar).expect("valid scalar");
    let digest = sha2::Sha384::digest(b"credlab sign baseline");

    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("raw_p384_sign_prehash", |b| {
        b.iter(|| -> Signature { raw.sign_prehash(black_box(&digest)).expect("signs") })
    });
    for (name, operation) in operations() {
        g.bench_function(format!("cargo_{name}"), |b| {
            b.iter(|| token::sign_as_cargo(&key, INDEX_URL, black_box(&operation), IAT, None))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = sign
}
criterion_main!(benches);
