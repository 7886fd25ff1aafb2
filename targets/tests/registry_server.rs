//! The reference registry (`credlab serve`) over real HTTP on 127.0.0.1: every endpoint,
//! status codes for every kind of refusal, single-use mutation tokens (also across a
//! restart), no trace of refused requests, garbage never answered 5xx, and each seeded bug
//! changing exactly the behaviour it names.

mod support;

use std::time::Duration as StdDuration;

use credlab_suite::b64;
use credlab_suite::keys::{PublicKey, SecretKey};
use credlab_suite::paseto::{self, SignatureForm};
use credlab_suite::token::{self, Claims, Footer, Operation};
use credlab_targets::registry::server::{self, Bug, Config, Running, publish};
use serde_json::{Value, json};
use support::dot_crate::dot_crate;
use time::{Duration, OffsetDateTime};

/// A key and the subject its tokens claim.
struct Signer {
    key: SecretKey,
    sub: Option<String>,
}

impl Signer {
    fn new(sub: Option<&str>) -> Self {
        Self {
            key: SecretKey::generate(),
            sub: sub.map(str::to_string),
        }
    }

    /// What Cargo would send for `op` to the registry at `index`, issued `at`.
    fn token_at(&self, index: &str, op: &Operation, at: OffsetDateTime) -> String {
        token::sign_as_cargo(&self.key, index, op, at, self.sub.as_deref())
    }

    /// Cargo's token for `op`, issued now, with its claims edited by `edit`, signed low-S.
    fn edited(&self, index: &str, op: &Operation, edit: impl FnOnce(&mut Claims)) -> String {
        let mut claims = Claims::for_operation(op, OffsetDateTime::now_utc(), self.sub.as_deref());
        edit(&mut claims);
        let footer = Footer::new(index, self.key.public_key().id());
        token::sign(&self.key, &claims, &footer, SignatureForm::LowS)
    }

    /// The same signed content with a low-S and with a high-S signature (both valid).
    fn both_s(&self, index: &str, op: &Operation) -> (String, String) {
        let claims = Claims::for_operation(op, OffsetDateTime::now_utc(), self.sub.as_deref());
        let footer = Footer::new(index, self.key.public_key().id());
        (
            token::sign(&self.key, &claims, &footer, SignatureForm::LowS),
            token::sign(&self.key, &claims, &footer, SignatureForm::HighS),
        )
    }

    /// The login the registry records for this key.
    fn login(&self) -> String {
        self.sub
            .clone()
            .unwrap_or_else(|| self.key.public_key().id().to_string())
    }
}

/// alice and bob (with subjects) and carol (without) are enrolled; mallory is not.
struct Keys {
    alice: Signer,
    bob: Signer,
    carol: Signer,
    mallory: Signer,
}

impl Keys {
    fn new() -> Self {
        Self {
            alice: Signer::new(Some("alice")),
            bob: Signer::new(Some("bob")),
            carol: Signer::new(None),
            mallory: Signer::new(Some("mallory")),
        }
    }

    fn enrolled(&self) -> Vec<(PublicKey, Option<String>)> {
        [&self.alice, &self.bob, &self.carol]
            .iter()
            .map(|s| (s.key.public_key().clone(), s.sub.clone()))
            .collect()
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    www_authenticate: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The first error's detail.
    fn detail(&self) -> String {
        self.json()["errors"][0]["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("no error detail: {}", self.text()))
            .to_string()
    }

    #[track_caller]
    fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "{}", self.text());
        self
    }
}

struct Reg {
    running: Running,
    agent: ureq::Agent,
    /// The footer `url` of the tokens [`Reg::now`] makes (the index URL unless a test
    /// changes it).
    index: String,
    /// The signature form of the tokens [`Reg::now`] makes (Cargo's unless a test changes it).
    form: SignatureForm,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(StdDuration::from_secs(30)))
        .build()
        .into()
}

fn start(keys: &Keys, tweak: impl FnOnce(&mut Config)) -> Reg {
    let mut config = Config {
        keys: keys.enrolled(),
        ..Config::default()
    };
    tweak(&mut config);
    let running = server::start(config).expect("start the registry");
    Reg {
        index: running.index_url(),
        running,
        agent: agent(),
        form: SignatureForm::AsCargo,
    }
}

// Publishes carry a real `.crate` (the registry checks it): `tag` is what its `src/lib.rs`
// says, so two tags for one version are two `.crate`s with two checksums.

fn publish_body(name: &str, vers: &str, tag: &[u8]) -> Vec<u8> {
    let metadata = json!({
        "name": name, "vers": vers, "deps": [], "features": {}, "authors": [],
        "description": format!("the {name} crate"), "license": "MIT", "links": null,
    });
    publish::encode(&metadata, &dot_crate(name, vers, tag))
}

fn publish_op(name: &str, vers: &str, tag: &[u8]) -> Operation {
    Operation::Publish {
        name: name.into(),
        vers: vers.into(),
        cksum: publish::sha256_hex(&dot_crate(name, vers, tag)),
    }
}

/// `op` (a publish) claiming `name` `vers` instead, with the same checksum.
fn renamed(op: &Operation, name: &str, vers: &str) -> Operation {
    let Operation::Publish { cksum, .. } = op else {
        panic!("not a publish: {op:?}");
    };
    Operation::Publish {
        name: name.into(),
        vers: vers.into(),
        cksum: cksum.clone(),
    }
}

fn yank_op(name: &str, vers: &str) -> Operation {
    Operation::Yank {
        name: name.into(),
        vers: vers.into(),
    }
}

fn unyank_op(name: &str, vers: &str) -> Operation {
    Operation::Unyank {
        name: name.into(),
        vers: vers.into(),
    }
}

fn owners_op(name: &str) -> Operation {
    Operation::Owners { name: name.into() }
}

/// `token` with one bit of its signature flipped.
fn bad_signature(token: &str) -> String {
    let decoded = paseto::decode(token).expect("a valid token decodes");
    let mut body = decoded.payload().to_vec();
    let mut signature = decoded.signature().to_vec();
    signature[95] ^= 1;
    body.extend_from_slice(&signature);
    paseto::assemble(&body, decoded.footer().expect("cargo tokens have a footer"))
}

/// The status of `GET /index/config.json` with `authorization` as raw header bytes.
fn raw_status(reg: &Reg, authorization: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(reg.running.addr()).expect("connect");
    stream
        .set_read_timeout(Some(StdDuration::from_secs(30)))
        .expect("timeout");
    let mut request = b"GET /index/config.json HTTP/1.1\r\nHost: x\r\nAuthorization: ".to_vec();
    request.extend_from_slice(authorization);
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    stream.write_all(&request).expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("receive");
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"))
}

impl Reg {
    fn now(&self, signer: &Signer, op: &Operation) -> String {
        match self.form {
            SignatureForm::AsCargo => signer.token_at(&self.index, op, OffsetDateTime::now_utc()),
            form => {
                let claims =
                    Claims::for_operation(op, OffsetDateTime::now_utc(), signer.sub.as_deref());
                let footer = Footer::new(&self.index, signer.key.public_key().id());
                token::sign(&signer.key, &claims, &footer, form)
            }
        }
    }

    fn call(&self, method: &str, path: &str, auth: Option<&str>, body: Option<Vec<u8>>) -> Answer {
        let url = format!("{}{path}", self.running.api_url());
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        if let Some(auth) = auth {
            // From bytes: obs-text (non-ASCII) values must reach the server too.
            let value = ureq::http::HeaderValue::from_bytes(auth.as_bytes())
                .unwrap_or_else(|e| panic!("{auth:?} cannot be a header value: {e}"));
            request = request.header("Authorization", value);
        }
        let result = match body {
            Some(body) => self.agent.run(request.body(body).expect("a request")),
            None => self.agent.run(request.body(()).expect("a request")),
        };
        let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let www_authenticate = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        Answer {
            status: response.status().as_u16(),
            www_authenticate,
            body: response.body_mut().read_to_vec().expect("read the body"),
        }
    }

    fn get(&self, path: &str, auth: Option<&str>) -> Answer {
        self.call("GET", path, auth, None)
    }

    /// A read with a fresh read token from `signer`.
    fn read(&self, signer: &Signer, path: &str) -> Answer {
        self.get(path, Some(&self.now(signer, &Operation::Read)))
    }

    fn publish_with(&self, token: &str, name: &str, vers: &str, tag: &[u8]) -> Answer {
        self.call(
            "PUT",
            "/api/v1/crates/new",
            Some(token),
            Some(publish_body(name, vers, tag)),
        )
    }

    fn publish(&self, signer: &Signer, name: &str, vers: &str, tag: &[u8]) -> Answer {
        let token = self.now(signer, &publish_op(name, vers, tag));
        self.publish_with(&token, name, vers, tag)
    }

    fn yank_with(&self, token: &str, name: &str, vers: &str, yank: bool) -> Answer {
        if yank {
            self.call(
                "DELETE",
                &format!("/api/v1/crates/{name}/{vers}/yank"),
                Some(token),
                None,
            )
        } else {
            self.call(
                "PUT",
                &format!("/api/v1/crates/{name}/{vers}/unyank"),
                Some(token),
                Some(Vec::new()),
            )
        }
    }

    fn yank(&self, signer: &Signer, name: &str, vers: &str, yank: bool) -> Answer {
        let op = if yank {
            yank_op(name, vers)
        } else {
            unyank_op(name, vers)
        };
        self.yank_with(&self.now(signer, &op), name, vers, yank)
    }

    fn owners_with(&self, token: &str, method: &str, name: &str, users: &[&str]) -> Answer {
        let body = (method != "GET").then(|| json!({ "users": users }).to_string().into_bytes());
        self.call(
            method,
            &format!("/api/v1/crates/{name}/owners"),
            Some(token),
            body,
        )
    }

    fn owners(&self, signer: &Signer, method: &str, name: &str, users: &[&str]) -> Answer {
        self.owners_with(&self.now(signer, &owners_op(name)), method, name, users)
    }

    fn owner_logins(&self, signer: &Signer, name: &str) -> Vec<String> {
        let list = self.owners(signer, "GET", name, &[]).expect(200).json();
        list["users"]
            .as_array()
            .expect("a users array")
            .iter()
            .map(|u| u["login"].as_str().expect("a login").to_string())
            .collect()
    }

    /// The index lines of `name` (empty when the index file is 404).
    fn index_lines(&self, signer: &Signer, name: &str) -> Vec<Value> {
        let answer = self.read(signer, &format!("/index/{}", server::index_path(name)));
        match answer.status {
            404 => Vec::new(),
            200 => answer
                .text()
                .lines()
                .map(|l| serde_json::from_str(l).expect("an index line is JSON"))
                .collect(),
            other => panic!("index file of {name}: {other} {}", answer.text()),
        }
    }

    fn yanked(&self, signer: &Signer, name: &str, vers: &str) -> Option<bool> {
        self.index_lines(signer, name)
            .iter()
            .find(|l| l["vers"] == vers)
            .map(|l| l["yanked"].as_bool().expect("yanked is a bool"))
    }

    fn download(&self, signer: &Signer, name: &str, vers: &str) -> Answer {
        self.read(signer, &format!("/dl/{name}/{vers}/download"))
    }
}

#[test]
fn config_json_demands_a_token_with_a_cargo_challenge() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    let base = reg.running.api_url();
    assert_eq!(reg.index, format!("sparse+{base}/index/"));

    let probe = reg.get("/index/config.json", None).expect(401);
    assert_eq!(
        probe.www_authenticate.as_deref(),
        Some(format!("Cargo login_url=\"{base}/me\"").as_str())
    );
    assert!(
        probe.detail().starts_with("unauthorized"),
        "{}",
        probe.text()
    );

    let config = reg
        .read(&keys.alice, "/index/config.json")
        .expect(200)
        .json();
    assert_eq!(
        config,
        json!({"dl": format!("{base}/dl/{{crate}}/{{version}}/download"), "api": base, "auth-required": true})
    );
    // carol has no subject on file; her tokens carry none.
    reg.read(&keys.carol, "/index/config.json").expect(200);

    // A refused token: 401, the challenge, and "<kind>: <message>".
    let refused = reg.read(&keys.mallory, "/index/config.json").expect(401);
    assert!(refused.www_authenticate.is_some());
    assert!(
        refused.detail().starts_with("unknown-key: "),
        "{}",
        refused.text()
    );
    let yank = reg.now(&keys.alice, &yank_op("foo", "0.1.0"));
    let refused = reg.get("/index/config.json", Some(&yank)).expect(401);
    assert!(
        refused.detail().starts_with("mutation-mismatch: "),
        "{}",
        refused.text()
    );
    assert!(
        reg.get("/me", None)
            .expect(200)
            .text()
            .contains("k3.public")
    );

    let custom = start(&keys, |c| {
        c.login_url = Some("https://login.example/me".into())
    });
    let probe = custom.get("/index/config.json", None).expect(401);
    assert_eq!(
        probe.www_authenticate.as_deref(),
        Some("Cargo login_url=\"https://login.example/me\"")
    );

    let open = start(&keys, |c| c.auth_required = false);
    let config = open.get("/index/config.json", None).expect(200).json();
    assert_eq!(config["auth-required"], false);
    // Reads need nothing; the API still does.
    open.publish(&keys.alice, "openly", "1.0.0", b"o")
        .expect(200);
    assert_eq!(
        open.get(&format!("/index/{}", server::index_path("openly")), None)
            .expect(200)
            .text()
            .lines()
            .count(),
        1
    );
    open.get("/dl/openly/1.0.0/download", None).expect(200);
    open.get("/api/v1/crates?q=open", None).expect(200);
    open.get("/api/v1/crates/openly/owners", None).expect(401);
}

#[test]
fn publish_shows_in_the_index_downloads_and_search() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    let bytes = b"pretend .crate bytes".to_vec();
    let answer = reg.publish(&keys.alice, "foo", "0.1.0", &bytes).expect(200);
    assert_eq!(
        answer.json(),
        json!({"warnings": {"invalid_categories": [], "invalid_badges": [], "other": []}})
    );
    let lines = reg.index_lines(&keys.bob, "foo");
    assert_eq!(
        lines,
        vec![json!({
            "name": "foo", "vers": "0.1.0", "deps": [],
            "cksum": publish::sha256_hex(&dot_crate("foo", "0.1.0", &bytes)),
            "features": {}, "yanked": false, "links": null, "v": 2, "features2": {}
        })]
    );
    assert_eq!(
        reg.download(&keys.carol, "foo", "0.1.0").expect(200).body,
        dot_crate("foo", "0.1.0", &bytes)
    );
    reg.get("/dl/foo/0.1.0/download", None).expect(401);
    reg.get("/index/3/f/foo", None).expect(401);
    reg.download(&keys.alice, "foo", "9.9.9").expect(404);

    // Every index layout, lowercase paths, and what is not there.
    for name in ["a", "ab", "abc", "Abcd_E"] {
        reg.publish(&keys.alice, name, "1.0.0", name.as_bytes())
            .expect(200);
        let path = server::index_path(name);
        assert_eq!(path, path.to_lowercase());
        let lines = reg.read(&keys.alice, &format!("/index/{path}")).expect(200);
        assert!(
            lines.text().contains(&format!("\"name\":\"{name}\"")),
            "{}",
            lines.text()
        );
    }
    assert_eq!(server::index_path("Abcd_E"), "ab/cd/abcd_e");
    reg.read(&keys.alice, "/index/3/f/fox").expect(404);
    reg.read(&keys.alice, "/index/3/x/foo").expect(404);
    reg.read(&keys.alice, "/index/fo/o/foo").expect(404);
    // A second version appends a line; dependencies and features are kept.
    let metadata = json!({
        "name": "foo", "vers": "0.2.0", "features": {"std": [], "serde": ["dep:serde"]},
        "deps": [{"name": "serde", "version_req": "^1", "features": ["derive"], "optional": true,
                  "default_features": false, "target": null, "kind": "normal", "registry": null}],
        "rust_version": "1.70",
    });
    let op = publish_op("foo", "0.2.0", b"two");
    let token = reg.now(&keys.alice, &op);
    reg.call(
        "PUT",
        "/api/v1/crates/new",
        Some(&token),
        Some(publish::encode(
            &metadata,
            &dot_crate("foo", "0.2.0", b"two"),
        )),
    )
    .expect(200);
    let lines = reg.index_lines(&keys.alice, "foo");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["deps"][0]["req"], "^1");
    assert_eq!(lines[1]["deps"][0]["optional"], true);
    assert_eq!(lines[1]["features"], json!({"std": []}));
    assert_eq!(lines[1]["features2"], json!({"serde": ["dep:serde"]}));
    assert_eq!(lines[1]["rust_version"], "1.70");

    let found = reg
        .read(&keys.bob, "/api/v1/crates?q=fo&per_page=5")
        .expect(200)
        .json();
    assert_eq!(found["meta"]["total"], 1);
    assert_eq!(found["crates"][0]["name"], "foo");
    assert_eq!(found["crates"][0]["max_version"], "0.2.0");
    assert_eq!(found["crates"][0]["description"], "the foo crate");
    reg.get("/api/v1/crates?q=fo", None).expect(401);
}

#[test]
fn yank_and_unyank_show_in_the_index() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    reg.publish(&keys.alice, "foo", "0.1.0", b"x").expect(200);
    assert_eq!(
        reg.yank(&keys.alice, "foo", "0.1.0", true)
            .expect(200)
            .json(),
        json!({"ok": true})
    );
    assert_eq!(reg.yanked(&keys.alice, "foo", "0.1.0"), Some(true));
    // A yanked version still downloads (lockfiles pin it).
    reg.download(&keys.alice, "foo", "0.1.0").expect(200);
    assert_eq!(
        reg.yank(&keys.alice, "foo", "0.1.0", false)
            .expect(200)
            .json(),
        json!({"ok": true})
    );
    assert_eq!(reg.yanked(&keys.alice, "foo", "0.1.0"), Some(false));
    reg.yank(&keys.alice, "foo", "0.9.0", true).expect(404);
    reg.yank(&keys.alice, "nope", "0.1.0", true).expect(404);
    // Not an owner: a valid token, but 403.
    let refused = reg.yank(&keys.bob, "foo", "0.1.0", true).expect(403);
    assert!(
        refused.detail().contains("not an owner"),
        "{}",
        refused.text()
    );
    assert_eq!(reg.yanked(&keys.alice, "foo", "0.1.0"), Some(false));
}

#[test]
fn owners_list_add_and_remove() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    reg.publish(&keys.carol, "foo", "0.1.0", b"x").expect(200);
    // carol has no subject: her login is her key id.
    let carol = keys.carol.login();
    assert!(carol.starts_with("k3.pid."));
    let list = reg.owners(&keys.bob, "GET", "foo", &[]).expect(200).json();
    assert_eq!(
        list,
        json!({"users": [{"id": 1, "login": carol, "name": null}]})
    );

    // bob may not add himself; carol adds him (and a login no key has).
    reg.owners(&keys.bob, "PUT", "foo", &["bob"]).expect(403);
    let added = reg
        .owners(&keys.carol, "PUT", "foo", &["bob", "someone"])
        .expect(200)
        .json();
    assert_eq!(added["ok"], true);
    assert!(added["msg"].as_str().unwrap().contains("bob"), "{added}");
    assert_eq!(
        reg.owner_logins(&keys.alice, "foo"),
        [carol.as_str(), "bob", "someone"]
    );
    // Now bob may yank and publish.
    reg.yank(&keys.bob, "foo", "0.1.0", true).expect(200);
    reg.publish(&keys.bob, "foo", "0.2.0", b"y").expect(200);
    // One owners token serves GET, PUT and DELETE (as `cargo owner` sends it).
    let token = reg.now(&keys.bob, &owners_op("foo"));
    reg.owners_with(&token, "DELETE", "foo", &["someone"])
        .expect(200);
    reg.owners_with(&token, "PUT", "foo", &["alice"])
        .expect(200);
    reg.owners_with(&token, "GET", "foo", &[]).expect(200);
    reg.owners_with(&token, "DELETE", "foo", &["alice", "bob"])
        .expect(200);
    assert_eq!(reg.owner_logins(&keys.alice, "foo"), [carol.as_str()]);
    reg.yank(&keys.bob, "foo", "0.2.0", true).expect(403);
    // The last owner stays; bodies must be {"users":[…]}.
    reg.owners(&keys.carol, "DELETE", "foo", &[carol.as_str()])
        .expect(400);
    assert_eq!(reg.owner_logins(&keys.alice, "foo"), [carol.as_str()]);
    let token = reg.now(&keys.carol, &owners_op("foo"));
    for body in [
        &b"{}"[..],
        b"[]",
        b"nope",
        b"{\"users\":[]}",
        b"{\"users\":[1]}",
    ] {
        reg.call(
            "PUT",
            "/api/v1/crates/foo/owners",
            Some(&token),
            Some(body.to_vec()),
        )
        .expect(400);
    }
    reg.owners(&keys.alice, "GET", "nope", &[]).expect(404);
    reg.owners(&keys.alice, "PUT", "nope", &["x"]).expect(404);
}

#[test]
fn refused_requests_leave_no_trace() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    let bytes = b"crate".to_vec();
    let op = publish_op("foo", "0.1.0", &bytes);
    let now = OffsetDateTime::now_utc();
    let other_index = "sparse+http://127.0.0.1:1/index/";
    let refused_publishes = [
        ("no token", None),
        ("read token", Some(reg.now(&keys.alice, &Operation::Read))),
        ("unknown key", Some(reg.now(&keys.mallory, &op))),
        (
            "other registry",
            Some(keys.alice.token_at(other_index, &op, now)),
        ),
        (
            "expired",
            Some(
                keys.alice
                    .token_at(&reg.index, &op, now - Duration::hours(1)),
            ),
        ),
        (
            "wrong cksum",
            Some(reg.now(&keys.alice, &publish_op("foo", "0.1.0", b"other"))),
        ),
        (
            "wrong name",
            Some(reg.now(&keys.alice, &renamed(&op, "bar", "0.1.0"))),
        ),
        (
            "wrong vers",
            Some(reg.now(&keys.alice, &renamed(&op, "foo", "0.1.1"))),
        ),
        (
            "bad signature",
            Some(bad_signature(&reg.now(&keys.alice, &op))),
        ),
        ("garbage", Some("v3.public.garbage".to_string())),
    ];
    for (what, token) in &refused_publishes {
        let answer = reg.call(
            "PUT",
            "/api/v1/crates/new",
            token.as_deref(),
            Some(publish_body("foo", "0.1.0", &bytes)),
        );
        assert_eq!(answer.status, 401, "{what}: {}", answer.text());
        assert!(answer.www_authenticate.is_some(), "{what}");
    }
    assert!(reg.index_lines(&keys.alice, "foo").is_empty());
    reg.download(&keys.alice, "foo", "0.1.0").expect(404);
    reg.owners(&keys.alice, "GET", "foo", &[]).expect(404);
    assert_eq!(reg.running.replay_records(), 0);

    // Now it exists; refused yanks, unyanks and owner changes change nothing.
    reg.publish(&keys.alice, "foo", "0.1.0", &bytes).expect(200);
    let wrong = [
        reg.now(&keys.alice, &unyank_op("foo", "0.1.0")),
        reg.now(&keys.alice, &yank_op("foo", "0.1.1")),
        reg.now(&keys.alice, &yank_op("bar", "0.1.0")),
        reg.now(&keys.mallory, &yank_op("foo", "0.1.0")),
        bad_signature(&reg.now(&keys.alice, &yank_op("foo", "0.1.0"))),
    ];
    for token in &wrong {
        reg.yank_with(token, "foo", "0.1.0", true).expect(401);
    }
    reg.yank(&keys.bob, "foo", "0.1.0", true).expect(403);
    assert_eq!(reg.yanked(&keys.alice, "foo", "0.1.0"), Some(false));
    let wrong_owner_tokens = [
        reg.now(&keys.alice, &owners_op("bar")),
        reg.now(&keys.alice, &yank_op("foo", "0.1.0")),
        reg.now(&keys.mallory, &owners_op("foo")),
    ];
    for token in &wrong_owner_tokens {
        reg.owners_with(token, "PUT", "foo", &["eve"]).expect(401);
        reg.owners_with(token, "DELETE", "foo", &["alice"])
            .expect(401);
    }
    reg.owners(&keys.bob, "PUT", "foo", &["eve"]).expect(403);
    assert_eq!(reg.owner_logins(&keys.alice, "foo"), ["alice"]);
    // A non-owner's publish of a new version is refused (403) and not stored.
    reg.publish(&keys.bob, "foo", "0.2.0", b"bob's").expect(403);
    assert_eq!(reg.index_lines(&keys.alice, "foo").len(), 1);
    reg.download(&keys.alice, "foo", "0.2.0").expect(404);
}

#[test]
fn a_version_is_published_once() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    reg.publish(&keys.alice, "foo", "0.1.0", b"first")
        .expect(200);
    let again = reg
        .publish(&keys.alice, "foo", "0.1.0", b"second")
        .expect(409);
    assert!(
        again.detail().starts_with("version-exists: "),
        "{}",
        again.text()
    );
    reg.publish(&keys.alice, "foo", "0.1.0", b"first")
        .expect(409);
    // Names crates.io treats as the same crate are refused too.
    reg.publish(&keys.alice, "FOO", "0.1.0", b"first")
        .expect(409);
    reg.publish(&keys.alice, "Foo", "0.3.0", b"other")
        .expect(400);
    let lines = reg.index_lines(&keys.alice, "foo");
    assert_eq!(lines.len(), 1);
    let first = dot_crate("foo", "0.1.0", b"first");
    assert_eq!(lines[0]["cksum"], publish::sha256_hex(&first));
    assert_eq!(
        reg.download(&keys.alice, "foo", "0.1.0").expect(200).body,
        first
    );
}

#[test]
fn mutation_tokens_are_single_use_whatever_their_s() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    let bytes = b"bytes".to_vec();
    let (low, high) = keys
        .alice
        .both_s(&reg.index, &publish_op("foo", "0.1.0", &bytes));
    assert_ne!(low, high);
    reg.publish_with(&high, "foo", "0.1.0", &bytes).expect(200);
    for replay in [&high, &low] {
        let refused = reg.publish_with(replay, "foo", "0.1.0", &bytes).expect(401);
        assert!(
            refused.detail().starts_with("replayed: "),
            "{}",
            refused.text()
        );
    }
    for (op, yank) in [
        (yank_op("foo", "0.1.0"), true),
        (unyank_op("foo", "0.1.0"), false),
    ] {
        let (low, high) = keys.alice.both_s(&reg.index, &op);
        reg.yank_with(&low, "foo", "0.1.0", yank).expect(200);
        for replay in [&low, &high] {
            let refused = reg.yank_with(replay, "foo", "0.1.0", yank).expect(401);
            assert!(
                refused.detail().starts_with("replayed: "),
                "{}",
                refused.text()
            );
        }
    }
    assert_eq!(reg.running.replay_records(), 3);
    assert_eq!(reg.running.replay_records_on_disk(), 3);
    // Read tokens are reused for a whole Cargo session.
    let read = reg.now(&keys.bob, &Operation::Read);
    for _ in 0..3 {
        reg.get("/index/config.json", Some(&read)).expect(200);
        reg.get("/index/3/f/foo", Some(&read)).expect(200);
    }
    assert_eq!(reg.running.replay_records(), 3);
}

#[test]
fn garbage_tokens_and_bodies_get_4xx_never_5xx() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    reg.publish(&keys.alice, "foo", "0.1.0", b"x").expect(200);
    let valid = reg.now(&keys.alice, &Operation::Read);
    let garbage: Vec<String> = vec![
        String::new(),
        " ".into(),
        "Bearer abc".into(),
        format!("Bearer {valid}"),
        "v3.public.".into(),
        "v3.public..".into(),
        "v3.public.!!!!.x".into(),
        "v4.public.AAAA.AAAA".into(),
        "v3.local.AAAA.AAAA".into(),
        format!("{valid}."),
        format!("{valid}x"),
        format!("{valid}.{valid}"),
        valid.replace('.', ".."),
        format!("v3.public.{}", "A".repeat(20_000)),
        format!(
            "v3.public.{}.{}",
            b64::encode(&[0u8; 97]),
            b64::encode(b"{}")
        ),
        format!(
            "v3.public.{}.{}",
            b64::encode(&[0u8; 97]),
            b64::encode(b"[[[[[[[[")
        ),
        format!(
            "v3.public.{}.{}",
            b64::encode(&[0u8; 97]),
            b64::encode(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).as_bytes())
        ),
        "\u{1}".into(),
    ];
    let endpoints = [
        ("GET", "/index/config.json"),
        ("GET", "/index/3/f/foo"),
        ("GET", "/dl/foo/0.1.0/download"),
        ("GET", "/api/v1/crates?q=foo"),
        ("DELETE", "/api/v1/crates/foo/0.1.0/yank"),
        ("PUT", "/api/v1/crates/foo/0.1.0/unyank"),
        ("GET", "/api/v1/crates/foo/owners"),
        ("PUT", "/api/v1/crates/foo/owners"),
    ];
    for token in &garbage {
        // Control characters cannot travel in a header at all.
        if token.chars().any(char::is_control) {
            continue;
        }
        for (method, path) in endpoints {
            let answer = reg.call(
                method,
                path,
                Some(token),
                Some(b"{\"users\":[\"x\"]}".to_vec()),
            );
            assert_eq!(
                answer.status,
                401,
                "{method} {path} {:.40}: {}",
                token,
                answer.text()
            );
        }
        let answer = reg.publish_with(token, "foo", "0.2.0", b"y");
        assert_eq!(answer.status, 401, "publish {token:.40}: {}", answer.text());
    }
    // Bytes no HTTP client library sends: obs-text and a bare control character.
    for raw in [&b"v3.public.\xe9\xff"[..], b"v3.public.\x01", b"\x7f"] {
        let status = raw_status(&reg, raw);
        assert!((400..500).contains(&status), "{raw:?}: {status}");
    }

    let token = reg.now(&keys.alice, &publish_op("foo", "0.2.0", b"y"));
    let mut bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![1, 0],
        vec![255, 255, 255, 255],
        vec![4, 0, 0, 0, b'n', b'u', b'l', b'l'],
        publish::encode(&json!([]), b"y"),
        publish::encode(&json!({"name": "foo"}), b"y"),
        publish::encode(&json!({"name": "../../x", "vers": "0.2.0"}), b"y"),
        publish::encode(&json!({"name": "foo", "vers": "0.2.0/../.."}), b"y"),
        publish::encode(&json!({"name": "foo", "vers": "0.2.0", "deps": [1]}), b"y"),
        publish::encode(
            &json!({"name": "foo", "vers": "0.2.0", "features": []}),
            b"y",
        ),
    ];
    let mut truncated = publish_body("foo", "0.2.0", b"y");
    truncated.pop();
    bodies.push(truncated);
    let mut trailing = publish_body("foo", "0.2.0", b"y");
    trailing.push(0);
    bodies.push(trailing);
    let mut json_len_too_big = publish_body("foo", "0.2.0", b"y");
    json_len_too_big[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    bodies.push(json_len_too_big);
    let mut deep = vec![];
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    deep.extend_from_slice(&(nested.len() as u32).to_le_bytes());
    deep.extend_from_slice(nested.as_bytes());
    bodies.push(deep);
    for body in bodies {
        for auth in [Some(token.as_str()), None] {
            let answer = reg.call("PUT", "/api/v1/crates/new", auth, Some(body.clone()));
            assert_eq!(
                answer.status,
                400,
                "{:?}: {}",
                &body[..body.len().min(16)],
                answer.text()
            );
            assert!(
                answer.detail().starts_with("bad publish body"),
                "{}",
                answer.text()
            );
        }
    }
    assert_eq!(reg.index_lines(&keys.alice, "foo").len(), 1);
    // Unknown endpoints and methods.
    reg.read(&keys.alice, "/nope").expect(404);
    reg.call("POST", "/api/v1/crates/new", Some(&token), None)
        .expect(404);
    reg.call("PATCH", "/index/config.json", Some(&valid), None)
        .expect(404);
    reg.read(&keys.alice, "/index/").expect(404);
    reg.read(&keys.alice, "/index/3/f/../foo").expect(404);
}

#[test]
fn state_and_single_use_records_survive_a_restart() {
    let keys = Keys::new();
    let data = tempfile::tempdir().expect("temp dir");
    let reg = start(&keys, |c| c.data = Some(data.path().to_path_buf()));
    let addr = reg.running.addr();
    let bytes = b"persistent".to_vec();
    let publish_token = reg.now(&keys.alice, &publish_op("foo", "0.1.0", &bytes));
    reg.publish_with(&publish_token, "foo", "0.1.0", &bytes)
        .expect(200);
    let (yank_low, yank_high) = keys.alice.both_s(&reg.index, &yank_op("foo", "0.1.0"));
    reg.yank_with(&yank_low, "foo", "0.1.0", true).expect(200);
    reg.owners(&keys.alice, "PUT", "foo", &["bob"]).expect(200);
    let index = reg.index.clone();
    reg.running.shutdown();
    assert!(data.path().join(server::DB_FILE).is_file());

    // The same directory and address (so the same index URL in the footers).
    let reg = start(&keys, |c| {
        c.data = Some(data.path().to_path_buf());
        c.addr = addr;
    });
    assert_eq!(reg.index, index);
    assert_eq!(reg.running.replay_records(), 2);
    assert_eq!(reg.yanked(&keys.alice, "foo", "0.1.0"), Some(true));
    assert_eq!(
        reg.download(&keys.bob, "foo", "0.1.0").expect(200).body,
        dot_crate("foo", "0.1.0", &bytes)
    );
    assert_eq!(reg.owner_logins(&keys.alice, "foo"), ["alice", "bob"]);
    // Replays are still refused as replays (not "version exists", not accepted).
    let refused = reg
        .publish_with(&publish_token, "foo", "0.1.0", &bytes)
        .expect(401);
    assert!(
        refused.detail().starts_with("replayed: "),
        "{}",
        refused.text()
    );
    for replay in [&yank_low, &yank_high] {
        reg.yank_with(replay, "foo", "0.1.0", true).expect(401);
    }
    reg.yank(&keys.bob, "foo", "0.1.0", false).expect(200);
    assert_eq!(reg.running.replay_records_on_disk(), 3);
    reg.running.shutdown();

    // Restarted with a shorter window, records older than it are forgotten (they could
    // not verify any more) and pruned from disk on the next record.
    let reg = start(&keys, |c| {
        c.data = Some(data.path().to_path_buf());
        c.addr = addr;
        c.policy.max_age = StdDuration::from_secs(0);
    });
    assert_eq!(reg.running.replay_records(), 0);
    reg.running.shutdown();
    let reg = start(&keys, |c| {
        c.data = Some(data.path().to_path_buf());
        c.addr = addr;
    });
    let old = OffsetDateTime::now_utc() - Duration::seconds(120);
    let yank = keys
        .alice
        .token_at(&reg.index, &yank_op("foo", "0.1.0"), old);
    reg.yank_with(&yank, "foo", "0.1.0", true).expect(200);
    assert_eq!(reg.running.replay_records_on_disk(), 4);
    reg.running.shutdown();
    let reg = start(&keys, |c| {
        c.data = Some(data.path().to_path_buf());
        c.addr = addr;
        c.policy.max_age = StdDuration::from_secs(60);
    });
    assert_eq!(reg.running.replay_records(), 3);
    // One new record, and the one issued 120 s ago pruned.
    reg.yank(&keys.alice, "foo", "0.1.0", false).expect(200);
    assert_eq!(reg.running.replay_records_on_disk(), 4);
}

#[test]
fn the_temporary_data_directory_goes_away() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    let dir = reg.running.data_dir().to_path_buf();
    assert!(dir.join(server::DB_FILE).is_file());
    reg.running.shutdown();
    assert!(!dir.exists());
}

/// Each seeded bug against the reference: the same request, a different answer.
#[test]
fn every_seeded_bug_changes_what_it_names() {
    let keys = Keys::new();
    let reference = start(&keys, |_| {});
    reference
        .publish(&keys.alice, "foo", "0.1.0", b"x")
        .expect(200);
    // The plain-token bugs change nothing here: tests/registry_plain.rs checks them.
    for bug in Bug::ALL.into_iter().filter(|b| !b.is_plain_only()) {
        let mut reg = start(&keys, |c| c.bug = Some(bug));
        match bug {
            // It refuses every real Cargo token: the happy path uses the URL it expects.
            Bug::UrlWithoutSparsePrefix => reg.index = reg.index.replacen("sparse+", "", 1),
            // Cargo's signatures are high-S half the time: the happy path signs low-S.
            Bug::HighSServerError | Bug::RejectHighS => reg.form = SignatureForm::LowS,
            _ => {}
        }
        reg.publish(&keys.alice, "foo", "0.1.0", b"x").expect(200);
        // The happy path still works under every bug (but the ones that break it).
        if bug == Bug::ApiOnlyTokens {
            let (r, b) = both(&reference, &reg, |reg| {
                reg.read(&keys.alice, "/index/3/f/foo")
            });
            assert_eq!((r.status, b.status), (200, 401));
            reg.read(&keys.alice, "/index/config.json").expect(200);
            eprintln!("{bug}: ok");
            continue;
        }
        reg.read(&keys.alice, "/index/config.json").expect(200);
        if bug != Bug::PublishOnlyTokens {
            reg.yank(&keys.alice, "foo", "0.1.0", true).expect(200);
            reg.yank(&keys.alice, "foo", "0.1.0", false).expect(200);
            reg.owners(&keys.alice, "GET", "foo", &[]).expect(200);
        }
        assert_eq!(
            reg.download(&keys.alice, "foo", "0.1.0").expect(200).body,
            dot_crate("foo", "0.1.0", b"x")
        );
        check_bug(bug, &keys, &reference, &reg);
        eprintln!("{bug}: ok");
    }
}

/// `(reference, buggy)` answers to one request built by `request`.
fn both(reference: &Reg, buggy: &Reg, request: impl Fn(&Reg) -> Answer) -> (Answer, Answer) {
    (request(reference), request(buggy))
}

fn check_bug(bug: Bug, keys: &Keys, reference: &Reg, reg: &Reg) {
    let now = OffsetDateTime::now_utc();
    let alice = &keys.alice;
    match bug {
        Bug::SkipUrlCheck => {
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.token_at("sparse+http://elsewhere/index/", &Operation::Read, now);
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (401, 200));
            // Only the URL check is skipped: an expired token with a wrong URL still fails.
            let token = alice.token_at(
                "sparse+http://elsewhere/index/",
                &Operation::Read,
                now - Duration::hours(1),
            );
            assert!(
                reg.get("/index/config.json", Some(&token))
                    .expect(401)
                    .detail()
                    .starts_with("expired")
            );
        }
        Bug::SkipExpiry => {
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.token_at(&reg.index, &Operation::Read, now - Duration::days(2));
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::SkipFutureCheck => {
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.token_at(&reg.index, &Operation::Read, now + Duration::days(2));
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::SkipMutationCheck => {
            let (r, b) = both(reference, reg, |reg| {
                let token = reg.now(alice, &unyank_op("foo", "0.1.0"));
                reg.yank_with(&token, "foo", "0.1.0", true)
            });
            assert_eq!((r.status, b.status), (401, 200));
            assert_eq!(reg.yanked(alice, "foo", "0.1.0"), Some(true));
        }
        Bug::SkipNameCheck => {
            let (r, b) = both(reference, reg, |reg| {
                let op = renamed(&publish_op("foo", "0.2.0", b"n"), "other", "0.2.0");
                let token = reg.now(alice, &op);
                reg.publish_with(&token, "foo", "0.2.0", b"n")
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::SkipVersCheck => {
            let (r, b) = both(reference, reg, |reg| {
                let token = reg.now(alice, &yank_op("foo", "9.9.9"));
                reg.yank_with(&token, "foo", "0.1.0", true)
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::SkipCksumCheck => {
            let (r, b) = both(reference, reg, |reg| {
                let token = reg.now(alice, &publish_op("foo", "0.3.0", b"something else"));
                reg.publish_with(&token, "foo", "0.3.0", b"c")
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::SkipSignature => {
            let (r, b) = both(reference, reg, |reg| {
                let token = bad_signature(&reg.now(alice, &yank_op("foo", "0.1.0")));
                reg.yank_with(&token, "foo", "0.1.0", true)
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::AcceptUnknownKey => {
            let (r, b) = both(reference, reg, |reg| {
                reg.read(&keys.mallory, "/index/config.json")
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::UnknownKipAsOnlyKey => {
            // With three keys enrolled it cannot tell whose the token is: it refuses.
            let (r, b) = both(reference, reg, |reg| {
                reg.read(&keys.mallory, "/index/config.json")
            });
            assert_eq!((r.status, b.status), (401, 401));
            // With one, a stranger's token (a kip it does not know) acts for its holder.
            let alone = Keys::new();
            let only_alice = |bug| {
                start(&alone, |c| {
                    c.keys.truncate(1);
                    c.bug = bug;
                })
            };
            let (r, b) = (only_alice(None), only_alice(Some(bug)));
            r.publish(&alone.alice, "foo", "0.1.0", b"x").expect(200);
            b.publish(&alone.alice, "foo", "0.1.0", b"x").expect(200);
            let (r, b) = both(&r, &b, |reg| {
                let token = reg.now(&alone.mallory, &yank_op("foo", "0.1.0"));
                reg.yank_with(&token, "foo", "0.1.0", true)
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::UnscopedClaims => {
            // A yank token without its `vers`, and a read token for a yank.
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.edited(&reg.index, &yank_op("foo", "0.1.0"), |c| c.vers = None);
                reg.yank_with(&token, "foo", "0.1.0", true)
            });
            assert_eq!((r.status, b.status), (401, 200));
            let (r, b) = both(reference, reg, |reg| {
                let token = reg.now(alice, &Operation::Read);
                reg.yank_with(&token, "foo", "0.1.0", false)
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::IgnoreV => {
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.edited(&reg.index, &Operation::Read, |c| c.v = Some(2));
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::NoReplayGuard => {
            let (r, b) = both(reference, reg, |reg| {
                let token = reg.now(alice, &yank_op("foo", "0.1.0"));
                reg.yank_with(&token, "foo", "0.1.0", true).expect(200);
                reg.yank_with(&token, "foo", "0.1.0", true)
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::ReplayGuardByTokenString => {
            let (r, b) = both(reference, reg, |reg| {
                let (low, high) = alice.both_s(&reg.index, &yank_op("foo", "0.1.0"));
                reg.yank_with(&low, "foo", "0.1.0", true).expect(200);
                reg.yank_with(&low, "foo", "0.1.0", true).expect(401);
                reg.yank_with(&high, "foo", "0.1.0", true)
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::AllowRepublish => {
            let (r, b) = both(reference, reg, |reg| {
                reg.publish(alice, "foo", "0.1.0", b"again")
            });
            assert_eq!((r.status, b.status), (409, 200));
            assert_eq!(
                reg.download(alice, "foo", "0.1.0").expect(200).body,
                dot_crate("foo", "0.1.0", b"again")
            );
        }
        Bug::ServerErrorOnGarbage => {
            let (r, b) = both(reference, reg, |reg| {
                reg.get("/index/config.json", Some("garbage"))
            });
            assert_eq!((r.status, b.status), (401, 500));
        }
        Bug::ReadsWithoutAuth => {
            let (r, b) = both(reference, reg, |reg| reg.get("/index/3/f/foo", None));
            assert_eq!((r.status, b.status), (401, 200));
            assert_eq!(
                reg.get("/index/config.json", None).expect(200).json()["auth-required"],
                true
            );
        }
        Bug::RejectWith400 => {
            let (r, b) = both(reference, reg, |reg| {
                reg.read(&keys.mallory, "/index/config.json")
            });
            assert_eq!((r.status, b.status), (401, 400));
            assert_eq!(reg.yank(&keys.bob, "foo", "0.1.0", true).status, 400);
        }
        Bug::TraceOnRejectedPublish => {
            let (r, b) = both(reference, reg, |reg| {
                let token = reg.now(&keys.mallory, &publish_op("foo", "0.4.0", b"t"));
                reg.publish_with(&token, "foo", "0.4.0", b"t").expect(401);
                reg.download(alice, "foo", "0.4.0")
            });
            assert_eq!((r.status, b.status), (404, 200));
        }
        Bug::NoWwwAuthenticate => {
            let (r, b) = both(reference, reg, |reg| {
                reg.get("/index/config.json", None).expect(401)
            });
            assert_eq!(
                (r.www_authenticate.is_some(), b.www_authenticate.is_some()),
                (true, false)
            );
        }
        Bug::UrlWithoutSparsePrefix => {
            // Cargo's token (url with `sparse+`) is refused...
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.token_at(&reg.running.index_url(), &Operation::Read, now);
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (200, 401));
            assert!(b.detail().starts_with("url-mismatch"), "{}", b.text());
            // ...and one without the prefix is accepted.
            let (r, b) = both(reference, reg, |reg| {
                let plain = reg.running.index_url().replacen("sparse+", "", 1);
                let token = alice.token_at(&plain, &Operation::Read, now);
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (401, 200));
        }
        Bug::SingleUseEverything => {
            let (r, b) = both(reference, reg, |reg| {
                let token = reg.now(alice, &Operation::Read);
                reg.get("/index/config.json", Some(&token)).expect(200);
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (200, 401));
            assert!(b.detail().starts_with("replayed"), "{}", b.text());
            let (r, b) = both(reference, reg, |reg| {
                let token = reg.now(alice, &owners_op("foo"));
                reg.owners_with(&token, "GET", "foo", &[]).expect(200);
                reg.owners_with(&token, "GET", "foo", &[])
            });
            assert_eq!((r.status, b.status), (200, 401));
        }
        Bug::CargoBytesOnly => {
            // The same claims, pretty-printed: valid JSON, not Cargo's bytes.
            let (r, b) = both(reference, reg, |reg| {
                let claims = Claims::for_operation(&Operation::Read, now, alice.sub.as_deref());
                let payload = serde_json::to_string_pretty(&claims).expect("claims serialize");
                let footer = Footer::new(&reg.index, alice.key.public_key().id()).to_json();
                let token = paseto::sign(
                    &alice.key,
                    payload.as_bytes(),
                    footer.as_bytes(),
                    b"",
                    SignatureForm::LowS,
                );
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (200, 401));
            assert!(b.detail().starts_with("payload-invalid"), "{}", b.text());
        }
        Bug::StrictSerdeServerError => {
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.edited(&reg.index, &Operation::Read, |c| {
                    c.extra.insert("custom".into(), json!({ "ci": true }));
                });
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (200, 500));
            assert!(b.detail().contains("unknown field"), "{}", b.text());
            // A refused custom-claim token (bad signature) is only refused.
            let token = bad_signature(&alice.edited(&reg.index, &Operation::Read, |c| {
                c.extra.insert("custom".into(), json!(1));
            }));
            reg.get("/index/config.json", Some(&token)).expect(401);
        }
        Bug::HighSServerError => {
            let (r, b) = both(reference, reg, |reg| {
                let (_, high) = alice.both_s(&reg.index, &Operation::Read);
                reg.get("/index/config.json", Some(&high))
            });
            assert_eq!((r.status, b.status), (200, 500));
            assert!(!b.detail().is_empty());
            // A high-S signature that does not verify is only refused.
            let (_, high) = alice.both_s(&reg.index, &Operation::Read);
            let forged = alice
                .both_s("sparse+http://elsewhere/index/", &Operation::Read)
                .1;
            let decoded = paseto::decode(&high).expect("decodes");
            let mut body = decoded.payload().to_vec();
            body.extend_from_slice(paseto::decode(&forged).expect("decodes").signature());
            let token = paseto::assemble(&body, decoded.footer().expect("a footer"));
            reg.get("/index/config.json", Some(&token)).expect(401);
        }
        Bug::IatFormatServerError => {
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.edited(&reg.index, &Operation::Read, |c| {
                    c.iat = c.iat.replace('Z', "+00:00");
                });
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (200, 500));
            assert!(b.detail().contains("iat"), "{}", b.text());
        }
        Bug::V1Rejected => {
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.edited(&reg.index, &Operation::Read, |c| c.v = Some(1));
                reg.get("/index/config.json", Some(&token))
            });
            assert_eq!((r.status, b.status), (200, 401));
            assert!(b.detail().starts_with("unsupported-v"), "{}", b.text());
        }
        Bug::MutationsWithoutAuth => {
            let (r, b) = both(reference, reg, |reg| {
                reg.call("DELETE", "/api/v1/crates/foo/0.1.0/yank", None, None)
            });
            assert_eq!((r.status, b.status), (401, 200));
            assert_eq!(reg.yanked(alice, "foo", "0.1.0"), Some(true));
            // A token that is present is checked: mallory's is refused.
            reg.yank(&keys.mallory, "foo", "0.1.0", false).expect(401);
            assert_eq!(reg.yanked(alice, "foo", "0.1.0"), Some(true));
            reg.call(
                "PUT",
                "/api/v1/crates/foo/0.1.0/unyank",
                None,
                Some(Vec::new()),
            )
            .expect(200);
            assert_eq!(reg.yanked(alice, "foo", "0.1.0"), Some(false));
        }
        Bug::PublishOverwrites => {
            let (r, b) = both(reference, reg, |reg| {
                let token = reg.now(alice, &publish_op("foo", "0.5.0", b"p"));
                reg.publish_with(&token, "foo", "0.5.0", b"p").expect(200);
                reg.publish_with(&token, "foo", "0.5.0", b"p")
            });
            assert_eq!((r.status, b.status), (401, 200));
            let (r, b) = both(reference, reg, |reg| {
                reg.publish(alice, "foo", "0.5.0", b"again")
            });
            assert_eq!((r.status, b.status), (409, 200));
            assert_eq!(
                reg.download(alice, "foo", "0.5.0").expect(200).body,
                dot_crate("foo", "0.5.0", b"again")
            );
            // Yank tokens stay single-use.
            let token = reg.now(alice, &yank_op("foo", "0.5.0"));
            reg.yank_with(&token, "foo", "0.5.0", true).expect(200);
            reg.yank_with(&token, "foo", "0.5.0", true).expect(401);
        }
        Bug::RejectHighS => {
            let (r, b) = both(reference, reg, |reg| {
                let (_, high) = alice.both_s(&reg.index, &Operation::Read);
                reg.get("/index/config.json", Some(&high))
            });
            assert_eq!((r.status, b.status), (200, 401));
            assert!(b.detail().starts_with("high-s-signature"), "{}", b.text());
            // The same content, low-S, is accepted.
            let (low, _) = alice.both_s(&reg.index, &Operation::Read);
            reg.get("/index/config.json", Some(&low)).expect(200);
        }
        Bug::Config403WithoutToken => {
            let (r, b) = both(reference, reg, |reg| reg.get("/index/config.json", None));
            assert_eq!((r.status, b.status), (401, 403));
            assert!(b.www_authenticate.is_some());
            assert!(!b.detail().is_empty());
            // Other reads without a token are still 401.
            reg.get("/index/3/f/foo", None).expect(401);
        }
        Bug::JsonDepth8 => {
            let (r, b) = both(reference, reg, |reg| {
                reg.get("/index/config.json", Some(&nested_claim(alice, reg, 10)))
            });
            assert_eq!((r.status, b.status), (200, 401));
            assert!(b.detail().starts_with("nesting-too-deep"), "{}", b.text());
        }
        Bug::JsonDepth128 => {
            let (r, b) = both(reference, reg, |reg| {
                reg.get("/index/config.json", Some(&nested_claim(alice, reg, 40)))
            });
            assert_eq!((r.status, b.status), (401, 200));
            assert!(r.detail().starts_with("nesting-too-deep"), "{}", r.text());
        }
        Bug::NestingServerError => {
            let (r, b) = both(reference, reg, |reg| {
                reg.get("/index/config.json", Some(&nested_claim(alice, reg, 40)))
            });
            assert_eq!((r.status, b.status), (401, 500));
            // Other refusals are still 401.
            reg.read(&keys.mallory, "/index/config.json").expect(401);
        }
        Bug::NoOwnerCheck => {
            // bob is enrolled but owns nothing.
            let (r, b) = both(reference, reg, |reg| {
                reg.yank(&keys.bob, "foo", "0.1.0", true)
            });
            assert_eq!((r.status, b.status), (403, 200));
        }
        Bug::PublishOnlyTokens => {
            let (r, b) = both(reference, reg, |reg| {
                reg.owners(&keys.alice, "GET", "foo", &[])
            });
            assert_eq!((r.status, b.status), (200, 403));
        }
        Bug::DlOtherOrigin => {
            let (r, b) = both(reference, reg, |reg| {
                reg.read(&keys.alice, "/index/config.json")
            });
            let dl = |a: &Answer| a.json()["dl"].as_str().unwrap_or_default().to_string();
            assert!(dl(&r).starts_with("http://127.0.0.1:"), "{}", dl(&r));
            assert!(dl(&b).starts_with("http://localhost:"), "{}", dl(&b));
        }
        Bug::PlainPrefixMatch
        | Bug::PlainCaseInsensitive
        | Bug::PlainStripsBearer
        | Bug::PlainAnyToken
        | Bug::PlainOversizedServerError
        | Bug::PlainRequiresBearer => unreachable!("plain-token bugs are not run here"),
        Bug::ApiOnlyTokens => unreachable!("checked before the happy path"),
        Bug::IgnoreChallengeClaim => {
            let (r, b) = both(reference, reg, |reg| {
                let token = alice.edited(&reg.index, &yank_op("foo", "0.1.0"), |c| {
                    c.challenge = Some("c".into());
                });
                reg.yank_with(&token, "foo", "0.1.0", true)
            });
            assert_eq!((r.status, b.status), (401, 200));
            // Only the challenge is ignored: the same token for another version is refused.
            let token = alice.edited(&reg.index, &yank_op("foo", "9.9.9"), |c| {
                c.challenge = Some("c".into());
            });
            let refused = reg.yank_with(&token, "foo", "0.1.0", true).expect(401);
            assert!(
                refused.detail().starts_with("vers-mismatch"),
                "{}",
                refused.text()
            );
        }
    }
}

/// A read token for `reg` whose `custom` claim is an array nested `depth` levels deep.
fn nested_claim(signer: &Signer, reg: &Reg, depth: usize) -> String {
    let custom: Value =
        serde_json::from_str(&format!("{}1{}", "[".repeat(depth), "]".repeat(depth)))
            .expect("nested JSON");
    signer.edited(&reg.index, &Operation::Read, |c| {
        c.extra.insert("custom".into(), custom);
    })
}

#[test]
fn bug_names_round_trip() {
    for bug in Bug::ALL {
        assert_eq!(Bug::from_name(bug.name()), Some(bug));
        assert!(!bug.describe().is_empty());
    }
    assert_eq!(Bug::ALL.len(), 45);
    let tolerated: Vec<&str> = Bug::ALL
        .iter()
        .filter(|b| b.is_tolerated())
        .map(|b| b.name())
        .collect();
    assert_eq!(
        tolerated,
        [
            "reject-with-400",
            "json-depth-8",
            "json-depth-128",
            "ignore-challenge-claim"
        ]
    );
}

/// Verification runs outside the database lock: many concurrent reads all succeed.
#[test]
fn concurrent_requests() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    reg.publish(&keys.alice, "foo", "0.1.0", b"x").expect(200);
    let url = reg.running.api_url();
    let index = reg.index.clone();
    std::thread::scope(|scope| {
        for i in 0..8 {
            let (url, index, keys) = (&url, &index, &keys);
            scope.spawn(move || {
                let agent = agent();
                let signer = [&keys.alice, &keys.bob, &keys.carol][i % 3];
                let token = signer.token_at(index, &Operation::Read, OffsetDateTime::now_utc());
                for _ in 0..25 {
                    let response = agent
                        .get(format!("{url}/index/3/f/foo"))
                        .header("Authorization", &token)
                        .call()
                        .expect("a response");
                    assert_eq!(response.status(), 200);
                }
                // Concurrent publishes of distinct versions.
                let vers = format!("1.0.{i}");
                let op = publish_op("foo", &vers, vers.as_bytes());
                let token = keys.alice.token_at(index, &op, OffsetDateTime::now_utc());
                let response = agent
                    .put(format!("{url}/api/v1/crates/new"))
                    .header("Authorization", &token)
                    .send(publish_body("foo", &vers, vers.as_bytes()))
                    .expect("a response");
                assert_eq!(response.status(), 200);
            });
        }
    });
    assert_eq!(reg.index_lines(&keys.alice, "foo").len(), 9);
}

/// `credlab-registry`: one readiness line on stdout, then it serves (and logs to stderr)
/// until killed.
#[test]
fn the_binary_announces_its_index_and_serves() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    const BIN: &str = env!("CARGO_BIN_EXE_credlab-registry");
    let keys = Keys::new();
    let data = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .args(["--data".as_ref(), data.path().as_os_str()])
        .args([
            "--public-key",
            &format!("{}=alice", keys.alice.key.public_key()),
            "--public-key",
            &keys.carol.key.public_key().to_string(),
            "--max-age",
            "600",
            "--max-future-skew",
            "30",
            "--login-url",
            "https://login.example/",
            "--read-cache",
            "16",
            "--bug",
            "no-www-authenticate",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start credlab-registry");
    let stdout = child.stdout.take().expect("stdout");
    let (send, receive) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read stdout");
        send.send(line).expect("send the line");
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).expect("read stdout");
        rest
    });
    let Ok(line) = receive.recv_timeout(StdDuration::from_secs(30)) else {
        child.kill().expect("kill");
        panic!("no readiness line within 30 s");
    };
    let index = line
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("index: "))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(index.starts_with("sparse+http://127.0.0.1:") && index.ends_with("/index/"));
    let api = index
        .trim_start_matches("sparse+")
        .trim_end_matches("/index/")
        .to_string();

    let agent = agent();
    let config = |token: Option<&str>| {
        let mut request = agent.get(format!("{api}/index/config.json"));
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        request.call().expect("a response")
    };
    let probe = config(None);
    assert_eq!(probe.status(), 401);
    assert!(
        probe.headers().get("www-authenticate").is_none(),
        "the seeded bug"
    );
    let now = OffsetDateTime::now_utc();
    for signer in [&keys.alice, &keys.carol] {
        let token = signer.token_at(&index, &Operation::Read, now);
        assert_eq!(config(Some(&token)).status(), 200);
    }
    let ahead = keys
        .alice
        .token_at(&index, &Operation::Read, now + Duration::seconds(45));
    assert_eq!(config(Some(&ahead)).status(), 401, "--max-future-skew 30");
    let bob = keys.bob.token_at(&index, &Operation::Read, now);
    assert_eq!(config(Some(&bob)).status(), 401, "bob is not enrolled");

    child.kill().expect("kill credlab-registry");
    child.wait().expect("reap");
    let rest = reader.join().expect("reader");
    assert_eq!(rest, "", "exactly one line on stdout");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert!(
        stderr.contains("GET /index/config.json -> 401 (no token)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("GET /index/config.json -> 401 (issued-in-future)"),
        "{stderr}"
    );
    assert!(stderr.contains("GET /index/config.json -> 200"), "{stderr}");
    assert!(
        !stderr.contains("v3.public."),
        "tokens are never logged: {stderr}"
    );
    assert!(data.path().join(server::DB_FILE).is_file());

    for (args, code) in [
        (&["--help"][..], 0),
        (&["--bug", "list"][..], 0),
        (&["--bug", "nope"][..], 2),
        (&["--public-key", "k3.public.nope"][..], 2),
        (&["--max-age", "soon"][..], 2),
        (&["--frobnicate"][..], 2),
    ] {
        let output = Command::new(BIN).args(args).output().expect("run");
        assert_eq!(output.status.code(), Some(code), "{args:?}: {output:?}");
    }
    let listed = Command::new(BIN)
        .args(["--bug", "list"])
        .output()
        .expect("run");
    let listed = String::from_utf8(listed.stdout).expect("UTF-8");
    for bug in Bug::ALL {
        assert!(listed.contains(bug.name()), "{listed}");
    }
}

/// `start` and `shutdown` also work from inside an async runtime (the server has its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_and_stops_inside_a_tokio_runtime() {
    let keys = Keys::new();
    let reg = start(&keys, |_| {});
    let token = reg.now(&keys.alice, &Operation::Read);
    let reg = tokio::task::spawn_blocking(move || {
        reg.get("/index/config.json", Some(&token)).expect(200);
        reg
    })
    .await
    .expect("the request");
    drop(reg);
}
