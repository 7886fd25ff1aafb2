//! The reference registry refuses what crates.io refuses and Cargo cannot read, over real HTTP
//! on 127.0.0.1: one test per rule of `registry::server::validate` (its doc table names each
//! rule's source). Every refusal is a 400 with Cargo's error shape and changes nothing: no
//! index line, no stored `.crate`, no owner. The metadata's rules run before the token is
//! looked at (the token stays unused, and a request without one gets the same 400); the
//! `.crate`'s run once the token is admitted (the token is used up, and a request without one
//! gets 401).

mod support;

use std::time::Duration as StdDuration;

use credlab_suite::keys::{PublicKey, SecretKey};
use credlab_suite::token::{self, Operation};
use credlab_targets::registry::server::{self, Config, Running, publish};
use serde_json::{Value, json};
use support::dot_crate::{Entry, dot_crate, gzip, gzip_zeros, gzipped_tar, manifest, tar};
use time::OffsetDateTime;

/// An enrolled key and the login the registry records for it.
struct Signer {
    key: SecretKey,
    sub: &'static str,
}

struct Reg {
    running: Running,
    agent: ureq::Agent,
    alice: Signer,
    bob: Signer,
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Cargo's error shape, `{"errors":[{"detail":…}]}`: the detail.
    fn detail(&self) -> String {
        let json: Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()));
        json["errors"][0]["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("not Cargo's error shape: {}", self.text()))
            .to_string()
    }
}

/// What a refusal must leave alone, for one crate name.
#[derive(Debug, PartialEq)]
struct Trace {
    index: (u16, String),
    owners: (u16, String),
}

/// When a rule is checked.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// From the metadata, before the token is looked at.
    BeforeToken,
    /// From the `.crate`, once the token is admitted.
    AfterAdmission,
}

fn start() -> Reg {
    let alice = Signer {
        key: SecretKey::generate(),
        sub: "alice",
    };
    let bob = Signer {
        key: SecretKey::generate(),
        sub: "bob",
    };
    let keys: Vec<(PublicKey, Option<String>)> = [&alice, &bob]
        .iter()
        .map(|s| (s.key.public_key().clone(), Some(s.sub.to_string())))
        .collect();
    let running = server::start(Config {
        keys,
        ..Config::default()
    })
    .expect("start the registry");
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(StdDuration::from_secs(60)))
        .build()
        .into();
    Reg {
        running,
        agent,
        alice,
        bob,
    }
}

/// Publish metadata as Cargo sends it, with `extra` merged in.
fn metadata(name: &str, vers: &str, extra: Value) -> Value {
    let mut metadata = json!({
        "name": name, "vers": vers, "deps": [], "features": {}, "authors": [],
        "description": "a test crate", "license": "MIT", "links": null, "rust_version": null,
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut metadata, extra) {
        base.extend(extra);
    }
    metadata
}

impl Reg {
    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> Answer {
        let url = format!("{}{path}", self.running.api_url());
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        let mut response = self
            .agent
            .run(request.body(body).expect("a request"))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        Answer {
            status: response.status().as_u16(),
            body: response.body_mut().read_to_vec().expect("read the body"),
        }
    }

    fn token(&self, signer: &Signer, op: &Operation) -> String {
        token::sign_as_cargo(
            &signer.key,
            &self.running.index_url(),
            op,
            OffsetDateTime::now_utc(),
            Some(signer.sub),
        )
    }

    fn read(&self, path: &str) -> Answer {
        let token = self.token(&self.alice, &Operation::Read);
        self.call("GET", path, Some(&token), Vec::new())
    }

    /// Publishes `metadata` with `crate_bytes` and a publish token of `signer` for exactly them.
    fn publish_as(&self, signer: &Signer, metadata: &Value, crate_bytes: &[u8]) -> Answer {
        let op = Operation::Publish {
            name: metadata["name"].as_str().unwrap_or_default().into(),
            vers: metadata["vers"].as_str().unwrap_or_default().into(),
            cksum: publish::sha256_hex(crate_bytes),
        };
        let token = self.token(signer, &op);
        let body = publish::encode(metadata, crate_bytes);
        self.call("PUT", "/api/v1/crates/new", Some(&token), body)
    }

    fn publish(&self, metadata: &Value, crate_bytes: &[u8]) -> Answer {
        self.publish_as(&self.alice, metadata, crate_bytes)
    }

    /// Publishes `name` `vers` with a real `.crate` and `extra` metadata; must be accepted.
    #[track_caller]
    fn accepted(&self, name: &str, vers: &str, extra: Value) {
        let answer = self.publish(&metadata(name, vers, extra), &dot_crate(name, vers, b""));
        assert_eq!(answer.status, 200, "{name} {vers}: {}", answer.text());
    }

    fn trace(&self, name: &str) -> Trace {
        let lower = name.to_ascii_lowercase();
        let index = self.read(&format!("/index/{}", server::index_path(&lower)));
        let owners = self.read(&format!("/api/v1/crates/{name}/owners"));
        Trace {
            index: (index.status, index.text()),
            owners: (owners.status, owners.text()),
        }
    }

    /// Publishing `metadata` with `crate_bytes` is refused at `stage` with 400 and Cargo's error
    /// shape, its detail containing `why`, and leaves no trace. The token stays unused
    /// before admission and is used up after it; the same body without a token gets 400
    /// before admission, 401 (no token) after it.
    #[track_caller]
    fn refused_at(&self, stage: Stage, metadata: &Value, crate_bytes: &[u8], why: &str) {
        let name = metadata["name"].as_str().unwrap_or("foo");
        let vers = metadata["vers"].as_str().unwrap_or("0.1.0");
        let before = self.trace(name);
        let records = self.running.replay_records();
        let op = Operation::Publish {
            name: name.into(),
            vers: vers.into(),
            cksum: publish::sha256_hex(crate_bytes),
        };
        let token = self.token(&self.alice, &op);
        let body = publish::encode(metadata, crate_bytes);
        let answer = self.call("PUT", "/api/v1/crates/new", Some(&token), body.clone());
        let shown = || {
            let json = metadata.to_string();
            format!(
                "{}… ({} .crate bytes)",
                &json[..json.len().min(200)],
                crate_bytes.len()
            )
        };
        assert_eq!(answer.status, 400, "{}: {}", shown(), answer.text());
        let detail = answer.detail();
        assert!(
            detail.contains(why),
            "{}: expected a detail with {why:?}, got {detail:?}",
            shown()
        );
        assert_eq!(
            self.trace(name),
            before,
            "{}: a refusal left a trace",
            shown()
        );
        let download = self.read(&format!("/dl/{name}/{}/download", vers.replace(' ', "%20")));
        assert_eq!(download.status, 404, "{}: the .crate was stored", shown());
        let again = self.call("PUT", "/api/v1/crates/new", Some(&token), body.clone());
        let anonymous = self.call("PUT", "/api/v1/crates/new", None, body);
        let used = self.running.replay_records() - records;
        match stage {
            Stage::BeforeToken => {
                assert_eq!(used, 0, "{}: the token was used up", shown());
                assert_eq!(again.status, 400, "{}: {}", shown(), again.text());
                assert_eq!(anonymous.status, 400, "{}: {}", shown(), anonymous.text());
            }
            Stage::AfterAdmission => {
                assert_eq!(used, 1, "{}: the token was not recorded", shown());
                assert_eq!(again.status, 401, "{}: {}", shown(), again.text());
                assert!(again.detail().starts_with("replayed"), "{}", again.text());
                assert_eq!(anonymous.status, 401, "{}: {}", shown(), anonymous.text());
            }
        }
    }

    /// Refused by a metadata rule.
    #[track_caller]
    fn refused(&self, metadata: &Value, crate_bytes: &[u8], why: &str) {
        self.refused_at(Stage::BeforeToken, metadata, crate_bytes, why);
    }

    /// Refused by a `.crate` rule.
    #[track_caller]
    fn refused_crate(&self, metadata: &Value, crate_bytes: &[u8], why: &str) {
        self.refused_at(Stage::AfterAdmission, metadata, crate_bytes, why);
    }

    /// [`Reg::refused`] for metadata `extra` on an otherwise good `foo` 0.9.0 (a version the
    /// tests never publish).
    #[track_caller]
    fn refused_metadata(&self, extra: Value, why: &str) {
        self.refused(
            &metadata("foo", "0.9.0", extra),
            &dot_crate("foo", "0.9.0", b""),
            why,
        );
    }
}

#[test]
fn windows_reserved_crate_names_are_refused() {
    let reg = start();
    for name in [
        "con", "CON", "Prn", "aux", "nul", "com1", "COM9", "lpt1", "Lpt9", "com0", "lpt0",
    ] {
        let vers = "0.1.0";
        reg.refused(
            &metadata(name, vers, json!({})),
            &dot_crate(name, vers, b""),
            "reserved",
        );
    }
    // Names that merely start like one are fine.
    for name in ["cons", "com10", "nul-terminated", "auxiliary"] {
        reg.accepted(name, "0.1.0", json!({}));
    }
}

#[test]
fn crate_names_are_ascii_start_with_a_letter_and_fit_64_characters() {
    let reg = start();
    for name in ["a", "Ab_c-9", &"x".repeat(64)] {
        reg.accepted(name, "0.1.0", json!({}));
    }
    for (name, why) in [
        ("", "name"),
        ("9lives", "name"),
        ("_foo", "name"),
        ("-foo", "name"),
        ("foo.bar", "name"),
        ("föö", "name"),
        ("../x", "name"),
        (&"x".repeat(65), "too long"),
    ] {
        reg.refused(
            &metadata(name, "0.1.0", json!({})),
            &dot_crate("foo", "0.1.0", b""),
            why,
        );
    }
}

#[test]
fn a_name_differing_only_in_case_or_separator_is_another_crate() {
    let reg = start();
    reg.accepted("foo_bar", "0.1.0", json!({}));
    let before = reg.trace("foo_bar");
    for (signer, name) in [
        (&reg.bob, "Foo-Bar"),
        (&reg.alice, "foo-bar"),
        (&reg.alice, "FOO_BAR"),
    ] {
        let records = reg.running.replay_records();
        let answer = reg.publish_as(
            signer,
            &metadata(name, "0.2.0", json!({})),
            &dot_crate(name, "0.2.0", b""),
        );
        assert_eq!(answer.status, 400, "{name}: {}", answer.text());
        assert!(answer.detail().contains("`foo_bar`"), "{}", answer.text());
        // Decided by the store, after the token was admitted (as a 403 for a non-owner is):
        // the token is used up like every admitted mutation token, and nothing else changes.
        assert_eq!(reg.running.replay_records(), records + 1);
        let after = reg.trace("foo_bar");
        assert_eq!(
            (after.index, after.owners),
            (before.index.clone(), before.owners.clone())
        );
        let download = reg.read(&format!("/dl/{name}/0.2.0/download"));
        assert_eq!(download.status, 404, "{name}: {}", download.text());
    }
    reg.accepted("foo_bar", "0.2.0", json!({}));
}

#[test]
fn versions_are_strict_semver_of_at_most_150_characters() {
    let reg = start();
    for vers in [
        "0.0.0",
        "1.2.3-alpha.1",
        "1.0.0+build.5",
        "2.0.0-rc.1+sha.5114f85",
    ] {
        reg.accepted("foo", vers, json!({}));
    }
    let long = format!("1.0.0-{}", "a".repeat(145));
    reg.accepted("foo", &long[..150], json!({}));
    for vers in [
        "01.0.0",
        "1.0",
        "1",
        "99999999999999999999999.0.0",
        "1.0.0-01",
        "1.0.0-",
        "1.0.0+",
        "v1.0.0",
        " 1.0.0",
        &long,
    ] {
        reg.refused(
            &metadata("foo", vers, json!({})),
            &dot_crate("foo", vers, b""),
            "version",
        );
    }
}

#[test]
fn versions_differing_only_in_build_metadata_are_the_same_version() {
    let reg = start();
    reg.accepted("foo", "1.0.7", json!({}));
    reg.accepted("foo", "2.0.0+a", json!({}));
    for vers in ["1.0.7+extra", "2.0.0", "2.0.0+b"] {
        let bytes = dot_crate("foo", vers, b"");
        let answer = reg.publish(&metadata("foo", vers, json!({})), &bytes);
        assert_eq!(answer.status, 409, "{vers}: {}", answer.text());
        assert!(answer.detail().contains("exists"), "{}", answer.text());
        let download = reg.read(&format!("/dl/foo/{vers}/download"));
        assert_eq!(download.status, 404, "{vers}: {}", download.text());
    }
    let index = reg.read(&format!("/index/{}", server::index_path("foo")));
    assert_eq!(index.text().lines().count(), 2, "{}", index.text());
}

/// A dependency as Cargo sends it, with `extra` merged in.
fn dep(extra: Value) -> Value {
    let mut dep = json!({
        "name": "bar", "version_req": "^1.2", "features": [], "optional": false,
        "default_features": true, "target": null, "kind": "normal", "registry": null,
        "explicit_name_in_toml": null,
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut dep, extra) {
        base.extend(extra);
    }
    dep
}

#[test]
fn dependency_names_requirements_and_kinds_are_checked() {
    let reg = start();
    reg.accepted(
        "foo",
        "0.1.0",
        json!({"deps": [
            dep(json!({})),
            dep(json!({"name": "baz-2", "version_req": ">=0.12.0, <0.14.0", "kind": "dev"})),
            dep(json!({"name": "qux", "version_req": "=1.0.0-beta.2", "kind": "build",
                       "explicit_name_in_toml": "_qux", "features": ["std", "serde/derive"]})),
            dep(json!({"version_req": "*", "kind": null, "registry": "https://github.com/rust-lang/crates.io-index"})),
        ]}),
    );
    let long_req = format!(">=1.0.0{}", ", <2.0.0".repeat(40));
    assert!(long_req.len() > 256);
    for (dep, why) in [
        (dep(json!({"name": "../x"})), "../x"),
        (dep(json!({"name": ""})), "empty"),
        (dep(json!({"name": "9x"})), "9x"),
        (dep(json!({"name": "x".repeat(65)})), "too long"),
        (dep(json!({"explicit_name_in_toml": "../y"})), "../y"),
        (dep(json!({"explicit_name_in_toml": "a b"})), "a b"),
        (
            dep(json!({"version_req": "not a requirement"})),
            "not a requirement",
        ),
        (dep(json!({"version_req": "01.0"})), "01.0"),
        (dep(json!({"version_req": ""})), "requirement"),
        (dep(json!({"version_req": long_req})), "too long"),
        (dep(json!({"kind": "runtime"})), "runtime"),
        (dep(json!({"features": ["a/b/c"]})), "a/b/c"),
        (dep(json!({"features": ["-x"]})), "-x"),
        (dep(json!({"features": ["dep:"]})), "empty"),
    ] {
        reg.refused_metadata(json!({ "deps": [dep] }), why);
    }
}

#[test]
fn feature_names_and_values_follow_cargo() {
    let reg = start();
    reg.accepted(
        "foo",
        "0.1.0",
        json!({
            "deps": [dep(json!({"optional": true}))],
            "features": {
                "default": ["std"], "std": [], "c++17": [], "128bit": [], "_x": [],
                "foo.bar": [], "ünïcode": [],
                "serde": ["dep:bar", "bar?/serde", "bar/std"],
            },
        }),
    );
    for (features, why) in [
        (json!({"": []}), "empty"),
        (json!({"dep:bar": []}), "dep:bar"),
        (json!({"a/b": []}), "a/b"),
        (json!({"-a": []}), "-a"),
        (json!({"+a": []}), "+a"),
        (json!({".a": []}), ".a"),
        (json!({"a b": []}), "a b"),
        (json!({"a?": []}), "a?"),
        (json!({"ⒶⒷⒸ": []}), "ⒶⒷⒸ"),
        (json!({"a": [""]}), "empty"),
        (json!({"a": ["b c"]}), "b c"),
        (json!({"a": ["dep:"]}), "empty"),
        (json!({"a": ["dep:../x"]}), "../x"),
        (json!({"a": ["bar/"]}), "empty"),
        (json!({"a": ["../x/y"]}), "../x"),
        (json!({"a": ["bar/x/y"]}), "x/y"),
    ] {
        reg.refused_metadata(json!({ "features": features }), why);
    }
}

#[test]
fn rust_version_is_a_bare_version_as_cargo_reads_it() {
    let reg = start();
    for (vers, rust_version) in [("0.1.0", "1.70"), ("0.2.0", "1.70.0"), ("0.3.0", "1")] {
        reg.accepted("foo", vers, json!({ "rust_version": rust_version }));
    }
    for rust_version in ["^1.70", ">=1.70", "1.70-beta", "1.70.0+x", "1.*", "abc", ""] {
        reg.refused_metadata(json!({ "rust_version": rust_version }), "rust_version");
    }
}

#[test]
fn the_crate_is_a_gzipped_tar() {
    let reg = start();
    let good = dot_crate("foo", "0.1.0", b"");
    let tar_only = tar(vec![Entry::file(
        "foo-0.1.0/Cargo.toml",
        manifest("foo", "0.1.0"),
    )]);
    let mut bad_crc = good.clone();
    let crc_at = bad_crc.len() - 8;
    bad_crc[crc_at] ^= 1;
    for (bytes, why) in [
        (Vec::new(), "empty"),
        (b"not a crate at all".to_vec(), "gzip"),
        (tar_only, "gzip"),
        (
            gzip(b"gzip, but no tar inside it, just some text that is long enough"),
            "tar",
        ),
        (good[..good.len() / 2].to_vec(), "gzip"),
        (bad_crc, "gzip"),
    ] {
        reg.refused_crate(&metadata("foo", "0.1.0", json!({})), &bytes, why);
    }
    reg.accepted("foo", "0.1.0", json!({}));
}

#[test]
fn the_crate_holds_name_version_and_a_cargo_toml_naming_them() {
    let reg = start();
    let meta = metadata("foo", "0.1.0", json!({}));
    let toml = |text: &str| Entry::file("foo-0.1.0/Cargo.toml", text.to_string());
    let lib = || Entry::file("foo-0.1.0/src/lib.rs", "");
    let cases: Vec<(Vec<Entry>, &str)> = vec![
        (vec![lib()], "Cargo.toml"),
        (
            vec![Entry::file(
                "bar-0.1.0/Cargo.toml",
                manifest("foo", "0.1.0"),
            )],
            "bar-0.1.0",
        ),
        (
            vec![Entry::file(
                "foo-0.1.1/Cargo.toml",
                manifest("foo", "0.1.0"),
            )],
            "foo-0.1.1",
        ),
        (
            vec![Entry::file("Cargo.toml", manifest("foo", "0.1.0"))],
            "foo-0.1.0/",
        ),
        (
            vec![
                toml(&manifest("foo", "0.1.0")),
                Entry::file("foo-0.1.0/../escape", "x"),
            ],
            "..",
        ),
        (
            vec![
                toml(&manifest("foo", "0.1.0")),
                Entry::file("/etc/passwd", "x"),
            ],
            "/etc/passwd",
        ),
        (
            vec![
                toml(&manifest("foo", "0.1.0")),
                Entry::symlink("foo-0.1.0/link"),
            ],
            "foo-0.1.0/link",
        ),
        (
            vec![
                toml(&manifest("foo", "0.1.0")),
                Entry::file("foo-0.1.0/CARGO.TOML", manifest("foo", "0.1.0")),
            ],
            "more than one",
        ),
        (
            vec![Entry::file(
                "foo-0.1.0/CARGO.toml",
                manifest("foo", "0.1.0"),
            )],
            "CARGO.toml",
        ),
        (vec![toml(&manifest("bar", "0.1.0"))], "`bar`"),
        (vec![toml(&manifest("Foo", "0.1.0"))], "`Foo`"),
        (vec![toml(&manifest("foo", "0.1.1"))], "0.1.1"),
        (vec![toml("[package\nname = ")], "Cargo.toml"),
        (vec![toml("[workspace]\nmembers = []\n")], "[package]"),
        (
            vec![toml(
                "[package]\nname = \"foo\"\nversion.workspace = true\n",
            )],
            "version",
        ),
        (vec![toml("[package]\nname = \"foo\"\n")], "version"),
    ];
    for (entries, why) in cases {
        reg.refused_crate(&meta, &gzipped_tar(entries), why);
    }
    // The deprecated lowercase `cargo.toml` is still a manifest (crates.io takes it too).
    let lowercase = gzipped_tar(vec![Entry::file(
        "foo-0.1.0/cargo.toml",
        manifest("foo", "0.1.0"),
    )]);
    let answer = reg.publish(&meta, &lowercase);
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[test]
fn gzip_bombs_are_refused_past_512_mib_unpacked() {
    let reg = start();
    let meta = metadata("foo", "0.1.0", json!({}));
    let big = 512 * 1024 * 1024;
    let bomb = gzipped_tar(vec![
        Entry::file("foo-0.1.0/Cargo.toml", manifest("foo", "0.1.0")),
        Entry::zeros("foo-0.1.0/big.bin", big),
    ]);
    assert!(bomb.len() < 4 * 1024 * 1024, "{} bytes", bomb.len());
    reg.refused_crate(&meta, &bomb, "512 MiB");
    // A bomb that is no tar at all: its zeros read as the tar's end, and the stream goes on.
    reg.refused_crate(&meta, &gzip_zeros(big + 1), "512 MiB");
    // A large but legitimate crate unpacks fine.
    let ok = gzipped_tar(vec![
        Entry::file("foo-0.1.0/Cargo.toml", manifest("foo", "0.1.0")),
        Entry::zeros("foo-0.1.0/data.bin", 64 * 1024 * 1024),
    ]);
    let answer = reg.publish(&meta, &ok);
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[test]
fn metadata_json_is_at_most_1_mib() {
    let reg = start();
    reg.refused_metadata(json!({ "readme": "x".repeat(1024 * 1024) }), "1 MiB");
    reg.accepted("foo", "0.1.0", json!({ "readme": "x".repeat(1000 * 1024) }));
}

#[test]
fn index_lines_are_at_most_256_kib() {
    let reg = start();
    let features = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("feature-{i:0>50}"), json!(["std", "alloc", "core"])))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    // About 80 bytes a feature: 4,000 are over the bound, 2,000 well under it.
    reg.refused_metadata(json!({ "features": features(4000) }), "index line");
    reg.accepted("foo", "0.1.0", json!({ "features": features(2000) }));
}

#[test]
fn a_token_that_does_not_bind_the_request_is_refused_before_the_crate_is_read() {
    let reg = start();
    // A publish token for foo, replayed to publish bar with foo's `.crate`: the token is what
    // is wrong (401), not the body, whose `.crate` is never inflated.
    let foo = dot_crate("foo", "0.1.0", b"");
    let op = Operation::Publish {
        name: "foo".into(),
        vers: "0.1.0".into(),
        cksum: publish::sha256_hex(&foo),
    };
    let token = reg.token(&reg.alice, &op);
    let body = publish::encode(&metadata("bar", "0.1.0", json!({})), &foo);
    let answer = reg.call("PUT", "/api/v1/crates/new", Some(&token), body);
    assert_eq!(answer.status, 401, "{}", answer.text());
    assert!(
        answer.detail().starts_with("name-mismatch"),
        "{}",
        answer.text()
    );
    assert_eq!(reg.running.replay_records(), 0);
}
