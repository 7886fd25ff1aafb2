//! Shared fixtures for the credlab benches.
//!
//! Every bench measures against a baseline taken in the same run (the machine is small and
//! shared, so only ratios mean anything). The fixtures here build the realistic input, a Cargo
//! publish token exactly as `cargo publish` sends it, and the baselines credlab is compared
//! with:
//!
//! - [`RawAwsLc`]: the backend limit, AWS-LC `ParsedPublicKey::verify_sig` over a precomputed
//!   PAE message (SHA-384 of the message included, nothing else);
//! - [`PasetorsRegistry`]: what a registry writes with pasetors alone, modelled on Cargo's own
//!   test registry (`cargo-test-support`, `check_authorization`);
//! - [`pasetors_signature_only`]: just pasetors' `UntrustedToken` parse and
//!   `version3::PublicToken::verify`.
//!
//! The unit tests check that every path accepts the fixture token and refuses a tampered one,
//! so no bench measures a fast failure by accident.

use std::collections::HashMap;
use std::path::PathBuf;

use credlab_suite::Backend;
use credlab_suite::keys::{PublicKey, SecretKey};
use credlab_suite::paseto;
use credlab_suite::token::{self, Operation};
use credlab_suite::verify::{KeyStore, Request, Verifier};
use pasetors::keys::AsymmetricPublicKey;
use pasetors::token::UntrustedToken;
use pasetors::version3::{PublicToken, V3};
use serde::Deserialize;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The RFC 3231 key Cargo's own tests use (`Token::rfc_key()`).
pub const SECRET_PASERK: &str =
    "k3.secret.fNYVuMvBgOlljt9TDohnaYLblghqaHoQquVZwgR6X12cBFHZLFsaU3q7X3k1Zn36";

/// A sparse index URL as users configure it (Cargo puts it verbatim in the footer `url`).
pub const INDEX_URL: &str = "sparse+https://registry.example.com/api/v1/crates/index/";

/// `iat` with nanoseconds, as Cargo's `OffsetDateTime::now_utc()` gives it.
pub const IAT: OffsetDateTime = datetime!(2026-11-25 22:51:20.786387288 UTC);

/// The verifier's clock: 30 s after `iat`, well inside the 15-minute window.
pub const NOW: OffsetDateTime = datetime!(2026-11-25 22:51:50.786387288 UTC);

/// A publish of a realistic crate (name, version, SHA-256 of the `.crate`).
pub fn publish() -> Operation {
    Operation::Publish {
        name: "serde_json".into(),
        vers: "1.0.154".into(),
        cksum: "de332f9f442127453c1325347a1c83c024a814eadc737e9a8ad273b94938bcff".into(),
    }
}

/// The five operations Cargo signs tokens for, with bench-friendly names.
pub fn operations() -> Vec<(&'static str, Operation)> {
    vec![
        ("read", Operation::Read),
        ("publish", publish()),
        (
            "yank",
            Operation::Yank {
                name: "serde_json".into(),
                vers: "1.0.154".into(),
            },
        ),
        (
            "unyank",
            Operation::Unyank {
                name: "serde_json".into(),
                vers: "1.0.154".into(),
            },
        ),
        (
            "owners",
            Operation::Owners {
                name: "serde_json".into(),
            },
        ),
    ]
}

/// One signed token and everything the benches derive from it.
pub struct Fixture {
    pub secret: SecretKey,
    pub public: PublicKey,
    /// The token as Cargo sends it (`v3.public.<payload+sig>.<footer>`).
    pub token: String,
    pub request: Request,
    pub now: OffsetDateTime,
    /// `PAE([pk, "v3.public.", m, f, ""])`: the message the signature covers.
    pub pae: Vec<u8>,
    /// The 96-byte `r || s`.
    pub signature: Vec<u8>,
    /// The decoded footer (`{"url":…,"kip":…}`) and payload (the claims JSON).
    pub footer: Vec<u8>,
    pub payload: Vec<u8>,
}

impl Fixture {
    /// The publish token every verify bench uses.
    pub fn publish() -> Self {
        Self::for_operation(publish())
    }

    pub fn for_operation(operation: Operation) -> Self {
        let secret = SecretKey::from_paserk(SECRET_PASERK).expect("the RFC key parses");
        let public = secret.public_key().clone();
        let token = token::sign_as_cargo(&secret, INDEX_URL, &operation, IAT, None);
        let decoded = paseto::decode(&token).expect("a freshly signed token decodes");
        let footer = decoded
            .footer()
            .expect("Cargo always sends a footer")
            .to_vec();
        let payload = decoded.payload().to_vec();
        let pae = paseto::pae(&[
            public.compressed(),
            paseto::HEADER.as_bytes(),
            &payload,
            &footer,
            b"",
        ]);
        Self {
            secret,
            public,
            token,
            request: Request::new(INDEX_URL, operation),
            now: NOW,
            pae,
            signature: decoded.signature().to_vec(),
            footer,
            payload,
        }
    }

    /// credlab's verifier with the key registered (parsed once) and the default policy.
    pub fn verifier(&self, backend: Backend) -> Verifier {
        let mut keys = KeyStore::new();
        keys.insert(self.public.clone(), None);
        Verifier::new(keys).with_backend(backend)
    }

    /// The token with one signature byte flipped: every path must refuse it.
    pub fn tampered(&self) -> String {
        let body_end = self.token.rfind('.').expect("a footer segment");
        let mut bytes = self.token.clone().into_bytes();
        // A character inside the signature part of the body segment (the last ~128 chars).
        let at = body_end - 10;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ASCII")
    }
}

/// The compressed public key credlab signs over, for AWS-LC (`ECDSA_P384_SHA384_FIXED`).
pub struct RawAwsLc {
    key: aws_lc_rs::signature::ParsedPublicKey,
}

impl RawAwsLc {
    pub fn new(public: &PublicKey) -> Self {
        let key = aws_lc_rs::signature::ParsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
            public.compressed(),
        )
        .expect("AWS-LC accepts the key");
        Self { key }
    }

    /// SHA-384 of `message` and the ECDSA verify: the floor under any v3.public verifier.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

/// Cargo's footer, as Cargo serializes it (`src/util/credential/paseto.rs`).
#[derive(Deserialize)]
struct CargoFooter {
    url: String,
    kip: String,
}

/// Cargo's claims (`Message` in `src/util/credential/paseto.rs`).
#[derive(Deserialize)]
#[allow(dead_code)] // read by serde; `sub` and `v` are only parsed, as the test registry does
struct CargoMessage {
    iat: String,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    mutation: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    vers: Option<String>,
    #[serde(default)]
    cksum: Option<String>,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    v: Option<u8>,
}

/// A registry that verifies Cargo tokens with pasetors alone, the way Cargo's test registry
/// (`cargo-test-support`, `check_authorization`) does:
///
/// 1. `UntrustedToken::<Public, V3>::try_from(token)` (split, header, base64 of both parts);
/// 2. `serde_json::from_slice` of the untrusted footer into `{url, kip}`;
/// 3. key lookup by `kip` in a `HashMap<String, AsymmetricPublicKey<V3>>` (keys held as
///    pasetors keys: pasetors decompresses the point inside every `verify`);
/// 4. `version3::PublicToken::verify(key, &untrusted, None, None)` (PAE, SHA-384, p384 ECDSA;
///    builds a `TrustedToken`, which copies payload and footer);
/// 5. footer `url` equals the index URL;
/// 6. `serde_json::from_str` of the payload into Cargo's typed `Message`;
/// 7. `iat` parsed as RFC 3339 and checked against a 15-minute window and 60 s skew;
/// 8. `mutation`, `name`, `vers`, `cksum` compared with the request.
///
/// Not included (credlab does them): duplicate-key refusal, the depth limit, the size limit,
/// the `v` and `challenge` rules, the high-S classification.
pub struct PasetorsRegistry {
    keys: HashMap<String, AsymmetricPublicKey<V3>>,
    index_url: String,
}

impl PasetorsRegistry {
    pub fn new(public: &PublicKey, index_url: &str) -> Self {
        let key = AsymmetricPublicKey::<V3>::from(public.compressed())
            .expect("pasetors accepts a compressed point");
        let mut keys = HashMap::new();
        keys.insert(public.id().as_str().to_string(), key);
        Self {
            keys,
            index_url: index_url.to_string(),
        }
    }

    /// `Ok(())` when the token is valid for `operation` at `now`; the error says which step.
    pub fn verify(
        &self,
        token: &str,
        operation: &Operation,
        now: OffsetDateTime,
    ) -> Result<(), &'static str> {
        let untrusted =
            UntrustedToken::<pasetors::Public, V3>::try_from(token).map_err(|_| "untrusted")?;
        let footer: CargoFooter =
            serde_json::from_slice(untrusted.untrusted_footer()).map_err(|_| "footer")?;
        let key = self.keys.get(&footer.kip).ok_or("unknown key")?;
        let trusted = PublicToken::verify(key, &untrusted, None, None).map_err(|_| "signature")?;
        if footer.url != self.index_url {
            return Err("url");
        }
        let message: CargoMessage =
            serde_json::from_str(trusted.payload()).map_err(|_| "payload")?;
        let issued =
            OffsetDateTime::parse(&message.iat, &time::format_description::well_known::Rfc3339)
                .map_err(|_| "iat")?;
        let age = now - issued;
        if age > Duration::minutes(15) || -age > Duration::seconds(60) {
            return Err("stale");
        }
        let expected_mutation = operation.mutation().map(|m| m.as_str());
        if message.mutation.as_deref() != expected_mutation
            || message.name.as_deref() != operation.name()
            || message.vers.as_deref() != operation.vers()
            || message.cksum.as_deref() != operation.cksum()
        {
            return Err("binding");
        }
        Ok(())
    }
}

/// pasetors' signature path only: `UntrustedToken` parse and `PublicToken::verify` (PAE,
/// point decompression, SHA-384, p384 ECDSA, `TrustedToken`). No footer JSON, no claims.
pub fn pasetors_signature_only(key: &AsymmetricPublicKey<V3>, token: &str) -> bool {
    UntrustedToken::<pasetors::Public, V3>::try_from(token)
        .is_ok_and(|untrusted| PublicToken::verify(key, &untrusted, None, None).is_ok())
}

/// The pasetors key for `public` (compressed point; what `PasetorsRegistry` stores).
pub fn pasetors_key(public: &PublicKey) -> AsymmetricPublicKey<V3> {
    AsymmetricPublicKey::<V3>::from(public.compressed()).expect("pasetors accepts the key")
}

/// credlab's full verify without a key cache: the registered key is a `k3.public` string, and
/// each verify parses and validates it (p384 decompression, pid, AWS-LC parse) first.
pub fn verify_uncached(paserk: &str, token: &str, request: &Request, now: OffsetDateTime) -> bool {
    let Ok(key) = PublicKey::from_paserk(paserk) else {
        return false;
    };
    let mut keys = KeyStore::new();
    keys.insert(key, None);
    Verifier::new(keys).verify(token, request, now).is_ok()
}

/// Where criterion writes its results (and where the extra JSON of these benches goes):
/// `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else `<target>/criterion` found
/// from the running bench executable (`<target>/release/deps/<bench>-<hash>`).
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(|t| t.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The `q` quantile of `samples` (nearest rank; `q` in 0..=1). Panics on no samples.
pub fn quantile(mut samples: Vec<f64>, q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * q).round() as usize]
}

/// The median of `samples` (the upper one of an even count). Panics on no samples.
pub fn median(samples: Vec<f64>) -> f64 {
    quantile(samples, 0.5)
}

/// Writes `lines` (JSON lines) to `<criterion_dir>/<name>` and says where.
pub fn write_json_lines(name: &str, lines: &[String]) -> std::io::Result<PathBuf> {
    let dir = criterion_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n")?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_accepts_the_fixture_and_refuses_a_tampered_token() {
        let f = Fixture::publish();
        let bad = f.tampered();
        assert_ne!(bad, f.token);
        assert!(
            f.token.len() > 400,
            "a realistic publish token: {}",
            f.token.len()
        );

        let raw = RawAwsLc::new(&f.public);
        assert!(raw.verify(&f.pae, &f.signature));
        let mut flipped = f.signature.clone();
        flipped[50] ^= 1;
        assert!(!raw.verify(&f.pae, &flipped));

        for backend in Backend::available() {
            let verifier = f.verifier(*backend);
            let ok = verifier.verify(&f.token, &f.request, f.now).unwrap();
            assert_eq!(ok.claims.mutation.as_deref(), Some("publish"));
            assert!(
                verifier.verify(&bad, &f.request, f.now).is_err(),
                "{backend}"
            );
        }

        let paserk = f.public.to_paserk();
        assert!(verify_uncached(paserk, &f.token, &f.request, f.now));
        assert!(!verify_uncached(paserk, &bad, &f.request, f.now));

        let registry = PasetorsRegistry::new(&f.public, INDEX_URL);
        registry
            .verify(&f.token, &f.request.operation, f.now)
            .unwrap();
        assert_eq!(
            registry.verify(&bad, &f.request.operation, f.now),
            Err("signature")
        );
        let yank = Operation::Yank {
            name: "serde_json".into(),
            vers: "1.0.154".into(),
        };
        assert_eq!(registry.verify(&f.token, &yank, f.now), Err("binding"));
        assert_eq!(
            registry.verify(&f.token, &f.request.operation, f.now + Duration::hours(1)),
            Err("stale")
        );

        let key = pasetors_key(&f.public);
        assert!(pasetors_signature_only(&key, &f.token));
        assert!(!pasetors_signature_only(&key, &bad));
    }

    #[test]
    fn every_operation_signs_a_verifiable_token() {
        for (name, operation) in operations() {
            let f = Fixture::for_operation(operation);
            let verifier = f.verifier(Backend::default());
            assert!(
                verifier.verify(&f.token, &f.request, f.now).is_ok(),
                "{name}"
            );
        }
    }
}
