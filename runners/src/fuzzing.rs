//! Fuzz harnesses for the runners' parsers, the registry of every fuzz target, and the seed
//! corpora generated from the vectors.
//!
//! | target | input | asserts |
//! |--------|-------|---------|
//! | [`provider_request`] | request lines, as a provider's stdin | `reference::request::parse` accepts everything `cargo-credential` accepts, identically, and refuses nothing it would take; `reference::protocol::serve` over the token store and the PASETO provider (stores on a private tmpfs path, reset per input) answers with `{"v":[1]}` then exactly one Cargo-parsable line per request up to the first bad one, never a caught panic, and exactly what a model of each provider predicts (stored tokens come back byte for byte; PASETO tokens verify for their request) |
//! | [`publish_body`] | a publish body (`u32` length, JSON, `u32` length, `.crate`), and the input as JSON framed correctly, with junk and with the real `.crate` of the name and version it names | `registry::server::publish::parse` and `Publish::check_crate` never panic; what `parse` accepts has a crates.io crate name, a SemVer version, requirements that parse, dependency kinds of the index, an index line within its bound, the `.crate`'s SHA-256 and the exact length; re-encoding it parses to the same thing; and the `.crate` `cargo package` would make for an accepted name and version passes `check_crate` |
//!
//! The token and vector targets are in `credlab_suite::fuzzing`; [`TARGETS`] lists them all.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cargo_credential as cc;
use credlab_suite::cases::provider::{Answer, Send};
use credlab_suite::judge::provider::parse_response;
use credlab_suite::keys::SecretKey;
use credlab_suite::token::Operation as TokenOperation;
use credlab_suite::verify::{KeyStore, Request, Verifier};
use serde_json::{Value, json};
use time::OffsetDateTime;

use credlab_targets::reference::request::{self, Action, CredentialRequest, Operation};
use credlab_targets::reference::{PasetoProvider, TokenStore, protocol};
use credlab_targets::registry::server::{publish, validate};

use crate::registry_run::crates::crate_file;

/// A harness: panics only when an invariant is violated.
pub type Harness = fn(&[u8]);

/// Every fuzz target by name: `fuzz/fuzz_targets/<name>.rs` calls exactly this function, and
/// the corpus replay test runs `fuzz/corpus/<name>/` and `fuzz/artifacts/<name>/` through it.
pub const TARGETS: &[(&str, Harness)] = &[
    ("token_verify", credlab_suite::fuzzing::token_verify),
    (
        "differential_verify",
        credlab_suite::fuzzing::differential_verify,
    ),
    ("provider_answer", credlab_suite::fuzzing::provider_answer),
    ("provider_request", provider_request),
    ("publish_body", publish_body),
    ("vector_file", credlab_suite::fuzzing::vector_file),
];

/// The harness for `name`.
pub fn harness(name: &str) -> Option<Harness> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, h)| *h)
}

// ---------------------------------------------------------------------------------------------
// provider_request

/// What `cargo_credential::main` makes of a line: its borrowed request, or `None`.
fn reference_parse(line: &str) -> Option<cc::CredentialRequest<'_>> {
    let request: cc::CredentialRequest<'_> = serde_json::from_str(line).ok()?;
    (request.v == cc::PROTOCOL_VERSION_1).then_some(request)
}

/// The lines `serve` reads: `read_until(b'\n')` chunks, the last one possibly unterminated.
fn chunks(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|b| *b == b'\n').collect()
}

/// A private directory for the providers' files: tmpfs when there is one, so the atomic
/// writes (fsync) cost nothing.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join("credlab-fuzz");
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}

/// A file in [`scratch`] private to this process and thread (the replay test runs inputs in
/// parallel); the harness removes it after each input.
fn scratch_file(name: &str) -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    scratch().join(format!("{}-{thread}-{name}", std::process::id()))
}

/// Every `--NAME VALUE` / `--NAME=VALUE` pair, or `None` when the args are refused (the rule
/// of `reference::args`, restated as the model).
fn model_args<'a>(args: &'a [String], option: &str) -> Option<Vec<&'a str>> {
    let mut values = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                if name != option {
                    return None;
                }
                values.push(value);
            }
            _ if arg == option => values.push(rest.next()?.as_str()),
            _ => return None,
        }
    }
    Some(values)
}

/// One answer, classified, with what the model needs to compare.
#[derive(Debug)]
struct Reply {
    answer: Answer,
    token: Option<String>,
    cache: Option<cc::CacheControl>,
    operation_independent: Option<bool>,
    message: Option<String>,
}

/// Runs `serve` and checks the framing; returns the replies, one per request line answered.
fn serve_checked(credential: &dyn cc::Credential, data: &[u8]) -> Vec<Reply> {
    let mut output = Vec::new();
    protocol::serve(credential, &mut &data[..], &mut output).expect("writing to a Vec");
    let (hello, rest) = output.split_at(output.len().min(10));
    assert_eq!(hello, b"{\"v\":[1]}\n", "the hello");
    assert!(
        rest.is_empty() || rest.ends_with(b"\n"),
        "an unterminated answer"
    );
    let replies: Vec<Reply> = rest
        .split_inclusive(|b| *b == b'\n')
        .map(|line| {
            let line = &line[..line.len() - 1];
            let r = parse_response(line).unwrap_or_else(|e| {
                panic!(
                    "an answer Cargo cannot parse: {}: {e}",
                    String::from_utf8_lossy(line)
                )
            });
            if let Some(message) = &r.message {
                assert!(
                    !message.contains("panicked"),
                    "the provider panicked (caught and answered): {message}"
                );
            }
            Reply {
                answer: r.answer,
                token: r.token,
                cache: r.cache,
                operation_independent: r.operation_independent,
                message: r.message,
            }
        })
        .collect();
    let mut expected = 0;
    for chunk in chunks(data) {
        expected += 1;
        let parsed = std::str::from_utf8(chunk)
            .ok()
            .and_then(|line| request::parse(line.to_string()).ok());
        if parsed.is_none() {
            break;
        }
    }
    assert_eq!(replies.len(), expected, "one answer per request line");
    replies
}

fn assert_answer(reply: &Reply, expected: Answer, line: &str) {
    assert_eq!(
        reply.answer, expected,
        "the answer to {line:?} ({:?})",
        reply.message
    );
}

/// What the PASETO provider's model knows about a URL's key.
#[derive(Debug, Clone)]
struct KeyModel {
    /// `None`: generated by the provider, unknown here.
    key: Option<SecretKey>,
    subject: Option<String>,
}

fn token_operation(op: &Operation) -> Option<TokenOperation> {
    Some(match op {
        Operation::Read => TokenOperation::Read,
        Operation::Publish { name, vers, cksum } => TokenOperation::Publish {
            name: name.clone(),
            vers: vers.clone(),
            cksum: cksum.clone(),
        },
        Operation::Yank { name, vers } => TokenOperation::Yank {
            name: name.clone(),
            vers: vers.clone(),
        },
        Operation::Unyank { name, vers } => TokenOperation::Unyank {
            name: name.clone(),
            vers: vers.clone(),
        },
        Operation::Owners { name } => TokenOperation::Owners { name: name.clone() },
        Operation::Unknown => return None,
    })
}

/// Target `provider_request`: request lines through the parser and both reference providers.
pub fn provider_request(data: &[u8]) {
    // The owned parser against cargo-credential's own, line by line.
    for chunk in chunks(data) {
        let Ok(line) = std::str::from_utf8(chunk) else {
            continue;
        };
        let ours = request::parse(line.to_string());
        match (reference_parse(line), &ours) {
            (Some(theirs), Ok(ours)) => assert_eq!(ours.as_borrowed(), theirs, "{line:?}"),
            (Some(theirs), Err(e)) => {
                panic!("cargo-credential parses {line:?} as {theirs:?}; credlab refuses it: {e}")
            }
            (None, _) => {}
        }
    }
    let lines: Vec<(String, Option<CredentialRequest>)> = chunks(data)
        .into_iter()
        .map(|chunk| {
            let text = String::from_utf8_lossy(chunk).into_owned();
            let parsed = std::str::from_utf8(chunk)
                .ok()
                .and_then(|line| request::parse(line.to_string()).ok());
            (text, parsed)
        })
        .collect();

    // The token store, against a map.
    let path = scratch_file("tokens.json");
    let _ = std::fs::remove_file(&path);
    let replies = serve_checked(&TokenStore::at(&path), data);
    let _ = std::fs::remove_file(&path);
    let mut stored: BTreeMap<String, String> = BTreeMap::new();
    for ((line, parsed), reply) in lines.iter().zip(&replies) {
        let Some(req) = parsed else {
            assert_answer(reply, Answer::ErrOther, line);
            continue;
        };
        let url = req.registry.index_url.as_str();
        let Some(prefixes) = model_args(&req.args, "--only-url") else {
            assert_answer(reply, Answer::ErrOther, line);
            continue;
        };
        if !prefixes.is_empty() && !prefixes.iter().any(|p| url.starts_with(p)) {
            assert_answer(reply, Answer::ErrUrlNotSupported, line);
            continue;
        }
        match &req.action {
            Action::Get(Operation::Unknown) | Action::Unknown => {
                assert_answer(reply, Answer::ErrOperationNotSupported, line)
            }
            Action::Get(_) => match stored.get(url) {
                Some(token) => {
                    assert_answer(reply, Answer::OkGet, line);
                    assert_eq!(reply.token.as_ref(), Some(token), "{line:?}");
                    assert_eq!(reply.cache, Some(cc::CacheControl::Session));
                    assert_eq!(reply.operation_independent, Some(true));
                }
                None => assert_answer(reply, Answer::ErrNotFound, line),
            },
            Action::Login(options) => match &options.token {
                Some(token) => {
                    assert_answer(reply, Answer::OkLogin, line);
                    stored.insert(url.to_string(), token.clone());
                }
                None => assert_answer(reply, Answer::ErrOther, line),
            },
            Action::Logout => match stored.remove(url) {
                Some(_) => assert_answer(reply, Answer::OkLogout, line),
                None => assert_answer(reply, Answer::ErrNotFound, line),
            },
        }
    }

    // The PASETO provider, against a map of keys; its tokens must verify.
    let path = scratch_file("keys.json");
    let _ = std::fs::remove_file(&path);
    let replies = serve_checked(&PasetoProvider::at(&path), data);
    let _ = std::fs::remove_file(&path);
    let now = OffsetDateTime::now_utc();
    let mut keys: BTreeMap<String, KeyModel> = BTreeMap::new();
    for ((line, parsed), reply) in lines.iter().zip(&replies) {
        let Some(req) = parsed else {
            assert_answer(reply, Answer::ErrOther, line);
            continue;
        };
        let url = req.registry.index_url.as_str();
        let subject = match model_args(&req.args, "--key-subject").as_deref() {
            Some([]) => None,
            Some([subject]) => Some(subject.to_string()),
            _ => {
                assert_answer(reply, Answer::ErrOther, line);
                continue;
            }
        };
        match &req.action {
            Action::Get(op) => {
                let Some(op) = token_operation(op) else {
                    assert_answer(reply, Answer::ErrOperationNotSupported, line);
                    continue;
                };
                let Some(model) = keys.get(url) else {
                    assert_answer(reply, Answer::ErrNotFound, line);
                    continue;
                };
                assert_answer(reply, Answer::OkGet, line);
                let expected_cache = if op == TokenOperation::Read {
                    cc::CacheControl::Session
                } else {
                    cc::CacheControl::Never
                };
                assert_eq!(reply.cache, Some(expected_cache));
                assert_eq!(reply.operation_independent, Some(false));
                let token = reply.token.as_deref().unwrap_or_default();
                if let Some(key) = &model.key {
                    let mut store = KeyStore::new();
                    store.insert(key.public_key().clone(), model.subject.clone());
                    let verifier = Verifier::new(store);
                    if token.len() <= verifier.policy().max_token_len {
                        let request = Request::new(url, op);
                        if let Err(e) = verifier.verify(token, &request, now) {
                            panic!("the PASETO provider's token for {line:?} is refused: {e}");
                        }
                    }
                }
            }
            Action::Login(options) => {
                let key = match &options.token {
                    Some(token) => match SecretKey::from_paserk(token) {
                        Ok(key) => Some(key),
                        Err(_) => {
                            assert_answer(reply, Answer::ErrOther, line);
                            continue;
                        }
                    },
                    None => None,
                };
                assert_answer(reply, Answer::OkLogin, line);
                let old = keys.remove(url).and_then(|m| m.subject);
                keys.insert(
                    url.to_string(),
                    KeyModel {
                        key,
                        subject: subject.or(old),
                    },
                );
            }
            Action::Logout => match keys.remove(url) {
                Some(_) => assert_answer(reply, Answer::OkLogout, line),
                None => assert_answer(reply, Answer::ErrNotFound, line),
            },
            Action::Unknown => assert_answer(reply, Answer::ErrOperationNotSupported, line),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// publish_body

fn frame(json: &[u8], crate_bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(8 + json.len() + crate_bytes.len());
    body.extend_from_slice(&(json.len() as u32).to_le_bytes());
    body.extend_from_slice(json);
    body.extend_from_slice(&(crate_bytes.len() as u32).to_le_bytes());
    body.extend_from_slice(crate_bytes);
    body
}

fn check_publish(body: &[u8]) {
    let Ok(p) = publish::parse(body) else {
        return;
    };
    // Restated here rather than calling `validate`, so a loosened check is caught: names and
    // versions end up in index paths and URLs, and Cargo must read back every index line.
    let lower = p.name.to_ascii_lowercase();
    let device = matches!(lower.as_str(), "con" | "prn" | "aux" | "nul")
        || (lower.len() == 4
            && (lower.starts_with("com") || lower.starts_with("lpt"))
            && lower.as_bytes()[3].is_ascii_digit());
    let name_ok = p.name.len() <= 64
        && p.name.starts_with(|c: char| c.is_ascii_alphabetic())
        && p.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !device;
    let vers_ok = p.vers.len() <= 150 && semver::Version::parse(&p.vers).is_ok();
    assert!(name_ok, "an invalid crate name was accepted: {:?}", p.name);
    assert!(vers_ok, "an invalid version was accepted: {:?}", p.vers);
    assert_eq!(p.cksum, publish::sha256_hex(&p.crate_bytes));
    let json_len = u32::from_le_bytes(body[..4].try_into().expect("4 bytes")) as usize;
    assert_eq!(body.len(), 8 + json_len + p.crate_bytes.len());
    assert_eq!(
        &body[body.len() - p.crate_bytes.len()..],
        &p.crate_bytes[..]
    );
    // Re-encoding the metadata gives the same publish.
    let metadata: Value = serde_json::from_slice(&body[4..4 + json_len]).expect("it parsed");
    let again = publish::parse(&publish::encode(&metadata, &p.crate_bytes))
        .expect("a re-encoded publish body parses");
    assert_eq!(
        (&again.name, &again.vers, &again.cksum, &again.deps),
        (&p.name, &p.vers, &p.cksum, &p.deps)
    );
    assert_eq!(
        (&again.features, &again.features2),
        (&p.features, &p.features2)
    );
    let deps = Value::Array(p.deps.clone());
    let features = Value::Object(p.features.clone());
    let features2 = Value::Object(p.features2.clone());
    let line = publish::IndexLine {
        name: &p.name,
        vers: &p.vers,
        deps: &deps,
        cksum: &p.cksum,
        features: &features,
        yanked: false,
        links: p.links.as_deref(),
        v: 2,
        features2: &features2,
        rust_version: p.rust_version.as_deref(),
    };
    let text = serde_json::to_string(&line).expect("index lines serialize");
    assert!(!text.contains('\n'), "an index line spans lines");
    assert_eq!(
        text,
        p.index_line(false),
        "the store's line is the one bounded"
    );
    assert!(
        text.len() <= validate::MAX_INDEX_LINE,
        "{} bytes",
        text.len()
    );
    for dep in &p.deps {
        let req = dep["req"].as_str().unwrap_or_default();
        assert!(dep["name"].is_string(), "{dep}");
        assert!(
            req.len() <= validate::MAX_REQ_LEN && semver::VersionReq::parse(req).is_ok(),
            "{dep}"
        );
        assert!(
            matches!(dep["kind"].as_str(), Some("normal" | "dev" | "build")),
            "{dep}"
        );
    }
    // Whatever the bytes, the `.crate` check answers (its verdict is the body's business).
    let _ = p.check_crate();
}

/// Target `publish_body`: the input as a whole publish body, and as the JSON of one framed
/// with junk and with the real `.crate` of what it names.
pub fn publish_body(data: &[u8]) {
    check_publish(data);
    check_publish(&frame(data, b"fuzz .crate"));
    let Ok(p) = publish::parse(&frame(data, b"")) else {
        return;
    };
    let real = frame(data, &crate_file(&p.name, &p.vers));
    check_publish(&real);
    let p = publish::parse(&real).expect("the same metadata with another .crate parses");
    if let Err(e) = p.check_crate() {
        panic!("the .crate of {} {} was refused: {e}", p.name, p.vers);
    }
}

// ---------------------------------------------------------------------------------------------
// Seed corpora

/// A seed: (target, file name, bytes).
pub type Seed = (&'static str, String, Vec<u8>);

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .trim_matches('-')
        .to_string()
}

/// The seed corpora, generated from the vectors and the reference providers.
pub fn seeds() -> Vec<Seed> {
    use credlab_suite::vectors::embedded;
    let mut out: Vec<Seed> = Vec::new();
    let token_files = embedded::token_files();
    let provider_files = embedded::provider_files();

    // Tokens: every vector token (and the tokens replay cases accepted before).
    let mut seen = std::collections::HashSet::new();
    for file in &token_files {
        for case in &file.cases {
            let name = slug(case.id.as_str().trim_start_matches("token::"));
            let mut tokens = vec![(name.clone(), case.input.token.clone())];
            for (i, t) in case.input.accepted_before.iter().enumerate() {
                tokens.push((format!("{name}-before-{i}"), t.clone()));
            }
            for (name, token) in tokens {
                if token.len() > 16 * 1024 || !seen.insert(token.clone()) {
                    continue;
                }
                out.push(("token_verify", name.clone(), token.clone().into_bytes()));
                if file.group == "token::valid" || token.starts_with('v') && name.len() % 3 == 0 {
                    out.push(("differential_verify", name, token.into_bytes()));
                }
            }
        }
    }
    // Structured plans: raw Unstructured bytes (first byte not `v`): each base token untouched,
    // re-signed in every form, and a few edits.
    for base in 0u8..12 {
        for tail in [
            &[][..],
            &[1, 0, 1][..],
            &[0, 1, 1, 2][..],
            &[0, 1, 0, 1, 2, 1][..],
        ] {
            let mut bytes = vec![base, 0];
            bytes.extend_from_slice(tail);
            out.push((
                "differential_verify",
                format!("plan-{base}-{}", tail.len()),
                bytes,
            ));
        }
    }

    // Provider request lines: every case's steps, rendered with placeholder values, each after
    // the case's setup steps (one session through one provider process).
    let profile = crate::provider_run::Profile::new(
        SecretKey::from_paserk(credlab_suite::vectors::fixture::RFC_SECRET).expect("fixture key"),
    );
    let mut sessions = Vec::new();
    for file in &provider_files {
        for case in &file.cases {
            let all = case.input.setup.iter().chain(&case.input.steps);
            if all.clone().any(|s| match &s.send {
                Send::Line { line, .. } => line.contains("${huge_header}"),
                Send::Text { text } => text.contains("${huge_header}"),
                _ => false,
            }) {
                continue;
            }
            let mut session = Vec::new();
            for step in all {
                session.extend(profile.bytes(step));
            }
            if session.len() > 64 * 1024 {
                continue;
            }
            let name = slug(case.id.as_str().trim_start_matches("provider::"));
            out.push(("provider_request", name.clone(), session.clone()));
            sessions.push((name, session));
        }
    }

    // Provider answers: what the reference providers really say to those sessions, hello
    // first; and hand-made hostile answers.
    let dir = scratch_file("seeds");
    let _ = std::fs::remove_dir_all(&dir);
    for (name, session) in sessions.iter().step_by(2) {
        for (kind, credential) in [
            (
                "store",
                Box::new(TokenStore::at(dir.join("t.json"))) as Box<dyn cc::Credential>,
            ),
            ("paseto", Box::new(PasetoProvider::at(dir.join("k.json")))),
        ] {
            let mut output = Vec::new();
            protocol::serve(credential.as_ref(), &mut &session[..], &mut output)
                .expect("writing to a Vec");
            out.push(("provider_answer", format!("{kind}-{name}"), output));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let w = credlab_suite::fuzzing::world();
    let valid_publish = w
        .valid_tokens
        .iter()
        .find(|t| w.request_for(t).operation.kind().as_str() == "publish")
        .cloned()
        .unwrap_or_default();
    let hostile = [
        ("ok-get-publish", format!("{{\"v\":[1]}}\n{{\"Ok\":{{\"kind\":\"get\",\"token\":\"{valid_publish}\",\"cache\":\"never\",\"operation_independent\":false}}}}\n")),
        ("expires", "{\"v\":[1]}\n{\"Ok\":{\"kind\":\"get\",\"token\":\"t\",\"cache\":{\"expires\":1700000000},\"operation_independent\":true}}\n".into()),
        ("expires-far", "{\"v\":[1]}\n{\"Ok\":{\"kind\":\"get\",\"token\":\"t\",\"cache\":\"expires\",\"expiration\":253402300799,\"operation_independent\":true}}\n".into()),
        ("unknown-cache", "{\"v\":[1]}\n{\"Ok\":{\"kind\":\"get\",\"token\":\"t\",\"cache\":\"forever\",\"operation_independent\":true}}\n".into()),
        ("hello-v2", "{\"v\":[2]}\n{\"Ok\":{\"kind\":\"login\"}}\n".into()),
        ("banner", "ready\n{\"v\":[1]}\n".into()),
        ("no-newline", "{\"v\":[1]}\n{\"Err\":{\"kind\":\"not-found\"}}".into()),
        ("trailing", "{\"v\":[1]}\n{\"Ok\":{\"kind\":\"logout\"}}\nextra\n".into()),
        ("err-other", "{\"v\":[1]}\n{\"Err\":{\"kind\":\"other\",\"message\":\"boom\",\"caused-by\":[\"a\",\"b\"]}}\n".into()),
        ("err-unknown", "{\"v\":[1]}\n{\"Err\":{\"kind\":\"frobnicated\"}}\n".into()),
        ("ok-unknown", "{\"v\":[1]}\n{\"Ok\":{\"kind\":\"refresh\"}}\n".into()),
        ("control-token", "{\"v\":[1]}\n{\"Ok\":{\"kind\":\"get\",\"token\":\"a\\u0000b\\r\\nc\",\"cache\":\"session\",\"operation_independent\":true}}\n".into()),
        ("login-token", format!("{{\"v\":[1]}}\n{{\"Ok\":{{\"kind\":\"get\",\"token\":\"{}\",\"cache\":\"session\",\"operation_independent\":true}}}}\n", credlab_suite::vectors::fixture::RFC_SECRET)),
    ];
    for (name, text) in hostile {
        out.push((
            "provider_answer",
            format!("hostile-{name}"),
            text.into_bytes(),
        ));
    }
    out.push((
        "provider_answer",
        "hostile-not-utf8".into(),
        b"{\"v\":[1]}\n{\"Ok\":\xff}\n".to_vec(),
    ));

    // Publish bodies.
    let cksum = w.operations[1].cksum().unwrap_or_default().to_string();
    let metadata = [
        json!({"name": "foo", "vers": "0.1.0"}),
        json!({
            "name": "foo", "vers": "0.1.0",
            "deps": [{"name": "bar", "version_req": "^1", "features": ["x"], "optional": true,
                      "default_features": false, "target": "cfg(unix)", "kind": "dev",
                      "registry": "https://github.com/rust-lang/crates.io-index",
                      "explicit_name_in_toml": "baz"}],
            "features": {"a": ["bar"], "b": ["dep:bar"], "c": ["bar?/x"]},
            "authors": ["a"], "description": "d", "documentation": null, "homepage": null,
            "readme": null, "readme_file": null, "keywords": ["k"], "categories": [],
            "license": "MIT", "license_file": null, "repository": null, "badges": {},
            "links": "z", "rust_version": "1.70"
        }),
        json!({"name": "foo-bar_2", "vers": "1.0.0-alpha.1+build.5", "deps": null, "features": null}),
        json!({"name": "foo", "vers": "0.1.0", "deps": [{"name": "x", "version_req": "*"}]}),
        json!({"name": "../x", "vers": "0.1.0"}),
        json!({"name": "foo", "vers": "0.1.0/yank"}),
        json!({"name": "foo", "vers": "0.1.0", "features": {"a": [1]}}),
        json!({"name": "foo", "vers": "0.1.0", "cksum": cksum}),
        json!([1]),
    ];
    for (i, m) in metadata.iter().enumerate() {
        out.push((
            "publish_body",
            format!("body-{i}"),
            publish::encode(m, b"crate bytes"),
        ));
        out.push((
            "publish_body",
            format!("json-{i}"),
            m.to_string().into_bytes(),
        ));
    }
    out.push((
        "publish_body",
        "empty-crate".into(),
        publish::encode(&metadata[0], b""),
    ));
    // Past the metadata: a body with the `.crate` `cargo package` makes.
    out.push((
        "publish_body",
        "real-crate".into(),
        publish::encode(&metadata[1], &crate_file("foo", "0.1.0")),
    ));
    out.push(("publish_body", "truncated".into(), vec![1, 0, 0]));

    // Vector files: one case each, every few cases of every file.
    for file in &token_files {
        for (i, case) in file.cases.iter().enumerate() {
            if i % 6 != 0 {
                continue;
            }
            let mut one = file.clone();
            one.cases = vec![case.clone()];
            let text = serde_json::to_vec(&one).expect("vector files serialize");
            out.push(("vector_file", slug(case.id.as_str()), text));
        }
    }
    for file in &provider_files {
        for (i, case) in file.cases.iter().enumerate() {
            if i % 3 != 0 {
                continue;
            }
            let mut one = file.clone();
            one.cases = vec![case.clone()];
            let text = serde_json::to_vec(&one).expect("vector files serialize");
            out.push(("vector_file", slug(case.id.as_str()), text));
        }
    }
    out
}

/// Writes the seed corpora under `fuzz_dir/corpus/<target>/seed-<name>`, replacing the old
/// `seed-*` files (files with other names, found by fuzzing, are kept).
pub fn write_seeds(fuzz_dir: &Path) -> std::io::Result<usize> {
    let seeds = seeds();
    for (target, _) in TARGETS {
        let dir = fuzz_dir.join("corpus").join(target);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with("seed-") {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    for (target, name, bytes) in &seeds {
        let dir = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&dir)?;
        let mut file = std::fs::File::create(dir.join(format!("seed-{name}")))?;
        file.write_all(bytes)?;
    }
    Ok(seeds.len())
}
