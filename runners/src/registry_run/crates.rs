//! Real `.crate` files for live publishes: a gzipped tar of `NAME-VERS/Cargo.toml` and
//! `NAME-VERS/src/lib.rs`, deterministic (fixed mtime and modes), kept by checksum so the
//! transport can send the bytes a token's `cksum` was computed from.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use credlab_suite::vectors::fixture::{CrateSource, sha256_hex};
use flate2::Compression;
use flate2::write::GzEncoder;

/// Builds the `.crate` for `name` `vers`.
pub fn crate_file(name: &str, vers: &str) -> Vec<u8> {
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"{vers}\"\nedition = \"2021\"\n\
         description = \"credlab conformance probe; safe to delete\"\nlicense = \"MIT\"\n"
    );
    let files: [(&str, &[u8]); 2] = [
        ("Cargo.toml", manifest.as_bytes()),
        ("src/lib.rs", b"//! A credlab probe crate.\n"),
    ];
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("{name}-{vers}/{path}"), data)
            .expect("writing to memory cannot fail");
    }
    let mut gz = builder.into_inner().expect("writing to memory cannot fail");
    gz.flush().expect("writing to memory cannot fail");
    gz.finish().expect("writing to memory cannot fail")
}

/// The publish metadata JSON Cargo sends before the `.crate` (registry-web-api.md).
pub fn metadata(name: &str, vers: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name, "vers": vers, "deps": [], "features": {}, "authors": ["credlab"],
        "description": "credlab conformance probe; safe to delete", "documentation": null,
        "homepage": null, "readme": null, "readme_file": null, "keywords": [],
        "categories": [], "license": "MIT", "license_file": null, "repository": null,
        "badges": {}, "links": null, "rust_version": null
    })
}

/// The publish body: u32 LE JSON length, JSON, u32 LE crate length, crate
/// (crates/crates-io/lib.rs:282-302).
pub fn publish_body(name: &str, vers: &str, crate_bytes: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(&metadata(name, vers)).expect("metadata serializes");
    let mut body = Vec::with_capacity(8 + json.len() + crate_bytes.len());
    body.extend_from_slice(&(json.len() as u32).to_le_bytes());
    body.extend_from_slice(&json);
    body.extend_from_slice(&(crate_bytes.len() as u32).to_le_bytes());
    body.extend_from_slice(crate_bytes);
    body
}

/// The live [`CrateSource`]: builds crates on demand and hands out fresh versions.
#[derive(Debug, Default)]
pub struct LiveCrates {
    next: AtomicU32,
    by_cksum: Mutex<HashMap<String, Vec<u8>>>,
}

impl LiveCrates {
    /// The bytes whose checksum is `cksum`, if this source made them.
    pub fn bytes(&self, cksum: &str) -> Option<Vec<u8>> {
        self.by_cksum
            .lock()
            .expect("not poisoned")
            .get(cksum)
            .cloned()
    }
}

impl CrateSource for LiveCrates {
    fn cksum(&self, name: &str, vers: &str) -> String {
        let bytes = crate_file(name, vers);
        let cksum = sha256_hex(&bytes);
        self.by_cksum
            .lock()
            .expect("not poisoned")
            .insert(cksum.clone(), bytes);
        cksum
    }

    fn fresh_version(&self) -> Option<String> {
        Some(format!(
            "0.0.{}",
            self.next.fetch_add(1, Ordering::Relaxed) + 1
        ))
    }
}
