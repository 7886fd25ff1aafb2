//! The fixed world the offline vectors are generated in, and the live one the registry
//! runner builds from a registry's own key, URL and clock.

use std::sync::Arc;

use sha2::Digest;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::cases::token::{KeyPairInput, RegisteredKey};
use crate::keys::SecretKey;

/// The RFC 3231 example key, which Cargo's own tests use (`Token::rfc_key()`).
pub const RFC_SECRET: &str =
    "k3.secret.fNYVuMvBgOlljt9TDohnaYLblghqaHoQquVZwgR6X12cBFHZLFsaU3q7X3k1Zn36";
/// Cargo's second test key (`tests/testsuite/registry_auth.rs`, the "incorrect" key).
pub const CARGO_SECOND_SECRET: &str =
    "k3.secret.9Vxr5hVlI_g_orBZN54vPz20bmB4O76wB_MVqUSuJJJqHFLwP8kdn_RY5g6J6pQG";
/// A key no fixture registry knows (generated once for credlab; public test material).
pub const UNREGISTERED_SECRET: &str =
    "k3.secret.PwxohQoWevARNDlucPER9ekx11I22WoTCtSQ5DzE-QkeF7Mkg-E2A6aIv8TSuDxN";

/// A crate version a token can be bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateFixture {
    pub name: String,
    pub vers: String,
    /// Lowercase hex SHA-256 of the `.crate` bytes.
    pub cksum: String,
}

/// Where publish requests get their `.crate`: the checksum of a crate for a name and version.
pub trait CrateSource: std::fmt::Debug + Send + Sync {
    /// The lowercase hex SHA-256 of the `.crate` for `name` `vers` (a live source also keeps
    /// the bytes, to send them).
    fn cksum(&self, name: &str, vers: &str) -> String;
    /// A version the registry does not have yet, for a publish that must succeed; `None`
    /// offline, where every case stands alone and the fixture's version is used.
    fn fresh_version(&self) -> Option<String>;
}

/// The offline source: a checksum per name and version, no bytes.
#[derive(Debug)]
pub struct SyntheticCrates;

impl CrateSource for SyntheticCrates {
    fn cksum(&self, name: &str, vers: &str) -> String {
        sha256_hex(format!("credlab fixture: the .crate of {name} {vers}").as_bytes())
    }

    fn fresh_version(&self) -> Option<String> {
        None
    }
}

/// Everything a case builder may use.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// "Now" for the case.
    pub clock: OffsetDateTime,
    /// The registry's index URL, exactly as its users configure it.
    pub index_url: String,
    /// Another registry's index URL (cross-registry replay).
    pub other_index_url: String,
    /// The registered key, and the subject on file for it.
    pub signer: SecretKey,
    pub signer_subject: Option<String>,
    /// A second registered key with no subject on file (offline only: a live registry has
    /// just the operator's key).
    pub second: Option<SecretKey>,
    /// A key the registry has never seen.
    pub stranger: SecretKey,
    /// The crate version the binding cases act on.
    pub krate: CrateFixture,
    /// The checksum of some other `.crate`.
    pub other_cksum: String,
    /// The registry's freshness window and allowed future skew (RFC 3231 suggests 15 min).
    pub max_age: Duration,
    pub max_skew: Duration,
    /// Where publishes get their crates.
    pub crates: Arc<dyn CrateSource>,
    /// Live only: a counter that makes every token's `iat` distinct (by a millisecond each),
    /// so no two cases send the same signed content to one registry, whose single-use
    /// guard would rightly refuse the second. `None` offline, where cases stand alone.
    pub distinct_iat: Option<Arc<std::sync::atomic::AtomicU32>>,
}

/// Lowercase hex SHA-256, as Cargo computes `cksum`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn key(paserk: &str) -> SecretKey {
    SecretKey::from_paserk(paserk).expect("fixture keys are valid")
}

impl Fixture {
    /// The fixed fixture of the committed vectors.
    pub fn offline() -> Self {
        Self {
            clock: datetime!(2026-01-01 00:00:00 UTC),
            index_url: "sparse+https://registry.test/index/".into(),
            other_index_url: "sparse+https://other-registry.test/index/".into(),
            signer: key(RFC_SECRET),
            signer_subject: Some("sub".into()),
            second: Some(key(CARGO_SECOND_SECRET)),
            stranger: key(UNREGISTERED_SECRET),
            krate: CrateFixture {
                name: "foo".into(),
                vers: "0.1.0".into(),
                cksum: SyntheticCrates.cksum("foo", "0.1.0"),
            },
            other_cksum: sha256_hex(b"credlab fixture: some other .crate"),
            max_age: Duration::minutes(15),
            max_skew: Duration::seconds(60),
            crates: Arc::new(SyntheticCrates),
            distinct_iat: None,
        }
    }

    /// A crate name other than the fixture's (`bar` offline; a sibling of the probe crate live,
    /// so a registry that wrongly accepts creates nothing outside credlab's names).
    pub fn other_name(&self) -> String {
        if self.krate.name == "foo" {
            "bar".into()
        } else {
            format!("{}-other", self.krate.name)
        }
    }

    /// A publish of the fixture crate at `vers`.
    pub fn publish_version(&self, vers: &str) -> crate::token::Operation {
        crate::token::Operation::Publish {
            name: self.krate.name.clone(),
            vers: vers.to_string(),
            cksum: self.crates.cksum(&self.krate.name, vers),
        }
    }

    /// A publish the registry can accept: a fresh version live, the fixture's offline.
    pub fn new_publish(&self) -> crate::token::Operation {
        let vers = self
            .crates
            .fresh_version()
            .unwrap_or_else(|| self.krate.vers.clone());
        self.publish_version(&vers)
    }

    /// The keys the registry has on file.
    pub fn registered(&self) -> Vec<RegisteredKey> {
        let mut keys = vec![registered(&self.signer, self.signer_subject.clone())];
        if let Some(second) = &self.second {
            keys.push(registered(second, None));
        }
        keys
    }
}

pub fn registered(key: &SecretKey, subject: Option<String>) -> RegisteredKey {
    RegisteredKey {
        public: key.public_key().to_paserk().to_string(),
        pid: key.public_key().id().to_string(),
        subject,
    }
}

pub fn key_pair(key: &SecretKey) -> KeyPairInput {
    KeyPairInput {
        secret: key.expose_paserk(),
        public: key.public_key().to_paserk().to_string(),
        pid: key.public_key().id().to_string(),
    }
}
