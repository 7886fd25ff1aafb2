//! Fuzz harnesses: one `pub fn <target>(data: &[u8])` per cargo-fuzz target in `fuzz/`.
//!
//! They live in the normal build so that `cargo test` replays every committed corpus file and
//! crash artifact on stable, without libFuzzer (`runners/tests/fuzz_corpus.rs`). Each harness
//! panics only when an invariant is violated; libFuzzer turns that panic into a crash.
//!
//! | target | input | asserts |
//! |--------|-------|---------|
//! | [`token_verify`] | any bytes, as a token string | no panic in `paseto::decode` / `Verifier::verify`; decode and verify agree on structural errors; anything that verifies is the canonical encoding of its parts, its raw signature verifies under the key its footer names on every backend, and it is bound to the request, fresh, for the registry's URL; stricter policies never accept what looser ones refuse; a verified mutation token is single-use |
//! | [`differential_verify`] | a token (input starting with `v`), or an [`arbitrary`] mutation plan over valid tokens (re-signing included) | every backend in [`Backend::available`] gives the same verdict (equal `Verified`, or the same rejection kind), also for the raw ECDSA primitive; the `token_verify` invariants; only the base's content or what a registered key re-signed can verify (nothing the stranger signed); a token freshly signed by a registered key never fails as `bad-signature` |
//! | [`provider_answer`] | a provider's stdout: hello line, response line, trailing bytes | `judge::provider::parse_response`, `judge` and `judge_setup` never panic over every transcript shape; a `Pass` implies the lines really parse as Cargo would and the answer was allowed; failures always say what was expected and found; reports stay bounded and redacted tokens stay redacted |
//! | [`vector_file`] | a vector file's bytes | serde parsing of `TokenFile`/`ProviderFile`, `vectors::check::check`, and token-case evaluation never panic; a file the Rust types accept is accepted by the generated JSON Schema; both backends judge every case alike |

use std::collections::HashSet;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::backend::Backend;
use crate::cases::provider::{Answer, Check, ExitRule, ProviderExpect, ProviderFile};
use crate::cases::token::TokenFile;
use crate::judge::Outcome;
use crate::judge::provider::{self as provider_judge, Context, StepRecord};
use crate::keys::SecretKey;
use crate::paseto::{self, SignatureForm, SignatureS};
use crate::provider::{ExitObservation, LineRead, Phase, Transcript};
use crate::registry::{self, ContentKey, ReplayGuard};
use crate::rejection::{Rejection, RejectionKind};
use crate::token::Operation;
use crate::vectors::fixture::{CARGO_SECOND_SECRET, RFC_SECRET, UNREGISTERED_SECRET};
use crate::vectors::{Fixture, check, embedded};
use crate::verify::{
    HighS, IatSyntax, KeyStore, Policy, Request, SignedContent, Tolerance, Verified, Verifier,
};

/// The fixed world every token harness verifies in: the offline vector fixture.
pub struct World {
    pub index_url: String,
    pub clock: OffsetDateTime,
    /// The two registered keys (the RFC key with subject `sub`, Cargo's second key without)
    /// and a stranger no registry knows.
    pub signer: SecretKey,
    pub second: SecretKey,
    pub stranger: SecretKey,
    pub keys: KeyStore,
    /// Policies from strict to lenient: each accepts at least what the one before accepts.
    pub policies: [Policy; 3],
    /// The fixture crate's operations (read, publish, yank, unyank, owners).
    pub operations: Vec<Operation>,
    /// Every vector token whose signature verifies under a registered key (one per signed
    /// content), in vector order: the bases of structure-aware mutations.
    pub valid_tokens: Vec<String>,
}

/// The fuzzing world, built once per process.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build_world)
}

fn build_world() -> World {
    let fixture = Fixture::offline();
    let key = |paserk: &str| SecretKey::from_paserk(paserk).expect("fixture keys load");
    let signer = key(RFC_SECRET);
    let second = key(CARGO_SECOND_SECRET);
    let stranger = key(UNREGISTERED_SECRET);
    let mut keys = KeyStore::new();
    keys.insert(signer.public_key().clone(), fixture.signer_subject.clone());
    keys.insert(second.public_key().clone(), None);
    let strict = Policy {
        high_s: HighS::Reject,
        unknown_claims: Tolerance::Reject,
        ..Policy::default()
    };
    let lenient = Policy {
        iat_syntax: IatSyntax::Lenient,
        subject_without_record: Tolerance::Accept,
        ..Policy::default()
    };
    let krate = &fixture.krate;
    let operations = vec![
        Operation::Read,
        Operation::Publish {
            name: krate.name.clone(),
            vers: krate.vers.clone(),
            cksum: krate.cksum.clone(),
        },
        Operation::Yank {
            name: krate.name.clone(),
            vers: krate.vers.clone(),
        },
        Operation::Unyank {
            name: krate.name.clone(),
            vers: krate.vers.clone(),
        },
        Operation::Owners {
            name: krate.name.clone(),
        },
    ];
    let mut seen = HashSet::new();
    let mut valid_tokens = Vec::new();
    let registered = [signer.public_key(), second.public_key()];
    for file in embedded::token_files() {
        for case in &file.cases {
            let tokens = std::iter::once(&case.input.token).chain(&case.input.accepted_before);
            for token in tokens {
                let Ok(decoded) = paseto::decode(token) else {
                    continue;
                };
                let signed = registered.iter().any(|key| {
                    paseto::verify_signature(Backend::default(), key, token, &decoded, b"").is_ok()
                });
                if signed && seen.insert(content_key(decoded)) {
                    valid_tokens.push(token.clone());
                }
            }
        }
    }
    World {
        index_url: fixture.index_url.clone(),
        clock: fixture.clock,
        signer,
        second,
        stranger,
        keys,
        policies: [strict, Policy::default(), lenient],
        operations,
        valid_tokens,
    }
}

fn content_key(decoded: paseto::Decoded) -> ContentKey {
    let (payload, footer) = decoded.into_parts();
    ContentKey::of(&SignedContent {
        payload,
        footer: footer.unwrap_or_default(),
    })
}

impl World {
    /// The request a token is presented with: the fixture operation its `mutation` claim
    /// names (read when it names none), so that valid tokens of every kind can verify.
    pub fn request_for(&self, token: &str) -> Request {
        let mutation = paseto::decode(token).ok().and_then(|d| {
            let claims: Map<String, Value> = serde_json::from_slice(d.payload()).ok()?;
            claims.get("mutation")?.as_str().map(str::to_string)
        });
        let operation = self
            .operations
            .iter()
            .find(|op| op.mutation().map(|m| m.as_str()) == mutation.as_deref())
            .unwrap_or(&self.operations[0]);
        Request::new(self.index_url.clone(), operation.clone())
    }

    fn verifier(&self, policy: &Policy, backend: Backend) -> Verifier {
        Verifier::new(self.keys.clone())
            .with_policy(policy.clone())
            .with_backend(backend)
    }
}

type Verdict = Result<Verified, Rejection>;

fn kind(verdict: &Verdict) -> Result<(), RejectionKind> {
    verdict.as_ref().map(|_| ()).map_err(|r| r.kind)
}

/// The invariants of one verdict, whatever produced the token. `signed`, when the harness
/// built the token, is the only content that may verify (what a registered key signed in this
/// run, or the untouched base token's).
fn assert_sane(
    w: &World,
    verifier: &Verifier,
    token: &str,
    request: &Request,
    verdict: &Verdict,
    signed: Option<&SignedContent>,
) {
    let policy = verifier.policy();
    let decoded = paseto::decode(token);
    if token.len() > policy.max_token_len {
        assert_eq!(kind(verdict), Err(RejectionKind::TooLarge), "{token:?}");
        return;
    }
    if let Err(e) = &decoded {
        assert_eq!(
            kind(verdict),
            Err(e.kind),
            "decode and verify disagree on {token:?}"
        );
    }
    if let Err(rejection) = verdict {
        assert!(
            !rejection.message.is_empty(),
            "a rejection without a message"
        );
        return;
    }
    let Ok(v) = verdict else { unreachable!() };
    let decoded = decoded.expect("a verified token decodes");
    let signature = decoded.signature().to_vec();
    let form = paseto::signature_s(&signature).expect("a verified signature is in range");
    let (payload, footer) = decoded.into_parts();
    assert_eq!(v.signed.payload, payload, "{token:?}");
    assert_eq!(
        v.signed.footer,
        footer.clone().unwrap_or_default(),
        "{token:?}"
    );
    if let Some(signed) = signed {
        assert_eq!(
            &v.signed, signed,
            "a token whose content no registered key signed verified: {token:?}"
        );
    }
    // No malleable encoding slips through: a verified token is the one canonical encoding
    // of its parts.
    let mut body = payload.clone();
    body.extend_from_slice(&signature);
    assert_eq!(
        paseto::assemble(&body, footer.as_deref().unwrap_or_default()),
        token,
        "a non-canonical token verified"
    );
    assert_eq!(v.footer.url, request.index_url, "{token:?}");
    let record = w
        .keys
        .get(&v.footer.kip)
        .expect("a verified token names a registered key");
    // The raw primitive agrees, on every backend: the signature is over
    // PAE([pk, "v3.public.", m, f, ""]) with the key the footer names.
    let m2 = paseto::pae(&[
        record.key.compressed(),
        paseto::HEADER.as_bytes(),
        &payload,
        footer.as_deref().unwrap_or_default(),
        b"",
    ]);
    for backend in Backend::available() {
        assert!(
            backend.verify_message(&record.key, &m2, &signature),
            "{backend} refuses the raw signature of a verified token: {token:?}"
        );
    }
    match (&record.subject, &v.claims.sub) {
        (Some(on_file), found) => assert_eq!(Some(on_file), found.as_ref(), "{token:?}"),
        (None, Some(_)) => assert_eq!(policy.subject_without_record, Tolerance::Accept),
        (None, None) => {}
    }
    assert_eq!(v.signature, form);
    if policy.high_s == HighS::Reject {
        assert_eq!(v.signature, SignatureS::LowS, "{token:?}");
    }
    let op = &request.operation;
    assert_eq!(
        v.claims.mutation.as_deref(),
        op.mutation().map(|m| m.as_str())
    );
    for (expected, found) in [
        (op.name(), v.claims.name.as_deref()),
        (op.vers(), v.claims.vers.as_deref()),
        (op.cksum(), v.claims.cksum.as_deref()),
    ] {
        if expected.is_some() {
            assert_eq!(expected, found, "{token:?}");
        }
    }
    let age = w.clock - v.issued_at;
    assert!(age <= policy.max_age && -age <= policy.max_future_skew);
    assert_eq!(request.challenge, v.claims.challenge);
    // The registry rules on top: the token is admitted once, and only reads and owners
    // tokens a second time.
    let mut guard = ReplayGuard::new();
    let first = registry::admit(verifier, &mut guard, token, request, w.clock, |_, _| false);
    assert_eq!(first.as_ref().ok(), Some(v), "admit disagrees with verify");
    let again = registry::admit(verifier, &mut guard, token, request, w.clock, |_, _| false);
    if ReplayGuard::is_single_use(op) {
        assert_eq!(kind(&again), Err(RejectionKind::Replayed), "{token:?}");
    } else {
        assert_eq!(again.as_ref().ok(), Some(v), "{token:?}");
    }
}

/// Bytes as the token text a registry would see (`Authorization` header values are bytes;
/// invalid UTF-8 becomes U+FFFD, which no valid token contains).
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Target `token_verify`: arbitrary bytes through `paseto::decode` and `Verifier::verify`
/// under a strict, the default and a lenient policy.
pub fn token_verify(data: &[u8]) {
    let w = world();
    let token = text(data);
    let _ = paseto::decode(&token);
    let request = w.request_for(&token);
    let verdicts: Vec<(Verifier, Verdict)> = w
        .policies
        .iter()
        .map(|policy| {
            let verifier = w.verifier(policy, Backend::default());
            let verdict = verifier.verify(&token, &request, w.clock);
            (verifier, verdict)
        })
        .collect();
    for (verifier, verdict) in &verdicts {
        assert_sane(w, verifier, &token, &request, verdict, None);
    }
    for pair in verdicts.windows(2) {
        if pair[0].1.is_ok() {
            assert!(
                pair[1].1.is_ok(),
                "a looser policy refuses what a stricter one accepts: {token:?}: {:?}",
                pair[1].1
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// differential_verify

/// A part of a token that edits apply to.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Part {
    Payload,
    Footer,
    Signature,
}

/// Claim and footer names, and a few that matter to nobody.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Key {
    Iat,
    Sub,
    Mutation,
    Name,
    Vers,
    Cksum,
    Challenge,
    V,
    Custom,
    Exp,
    Url,
    Kip,
    Kid,
    Escaped,
    Other(u8),
}

impl Key {
    fn name(self) -> String {
        match self {
            Key::Iat => "iat".into(),
            Key::Sub => "sub".into(),
            Key::Mutation => "mutation".into(),
            Key::Name => "name".into(),
            Key::Vers => "vers".into(),
            Key::Cksum => "cksum".into(),
            Key::Challenge => "challenge".into(),
            Key::V => "v".into(),
            Key::Custom => "custom".into(),
            Key::Exp => "exp".into(),
            Key::Url => "url".into(),
            Key::Kip => "kip".into(),
            Key::Kid => "kid".into(),
            Key::Escaped => "mutat\u{0069}on".into(),
            Key::Other(n) => format!("x{n}"),
        }
    }
}

/// Claim values: the fixture's own strings, near misses, and every JSON type.
#[derive(Debug, Clone, Arbitrary)]
pub enum Val {
    /// One of [`STRINGS`].
    Known(u8),
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    List(Vec<u8>),
    /// An object nested this deep.
    Deep(u8),
}

/// Strings a claim or footer field is likely to be compared with.
const STRINGS: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2025-12-31T23:59:55Z",
    "2025-12-31T23:45:00Z",
    "2025-12-31T23:44:59Z",
    "2026-01-01T00:01:00Z",
    "2026-01-01T00:01:01Z",
    "2025-12-31t23:59:55z",
    "2025-12-31 23:59:55Z",
    "2026-01-01T01:00:00+01:00",
    "9999-12-31T23:59:59Z",
    "sub",
    "publish",
    "yank",
    "unyank",
    "owners",
    "read",
    "foo",
    "bar",
    "0.1.0",
    "0.1.1",
    "sparse+https://registry.test/index/",
    "sparse+https://registry.test/index",
    "sparse+https://other-registry.test/index/",
    "k3.pid.QB3WNBP-5j-0XQV2MOuvuOcLlJ8uz-pmqtIZus1x3YTu",
    "k3.pid.8unG61qYzBCGH7QzwS0qxca7U1uH3lLzn186EinyihVy",
    "",
    "1",
];

impl Val {
    fn json(&self, w: &World) -> Value {
        match self {
            Val::Known(i) => {
                let fixed = [
                    w.operations[1].cksum().unwrap_or_default().to_string(),
                    w.stranger.public_key().id().to_string(),
                ];
                let all: Vec<String> = STRINGS.iter().map(|s| s.to_string()).chain(fixed).collect();
                Value::String(all[*i as usize % all.len()].clone())
            }
            Val::Text(s) => Value::String(s.clone()),
            Val::Int(n) => Value::from(*n),
            Val::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::Bool(b) => Value::Bool(*b),
            Val::Null => Value::Null,
            Val::List(items) => Value::Array(items.iter().map(|&n| Value::from(n)).collect()),
            Val::Deep(depth) => {
                let mut v = Value::from(1);
                for _ in 0..(*depth % 48) {
                    let mut map = Map::new();
                    map.insert("a".into(), v);
                    v = Value::Object(map);
                }
                v
            }
        }
    }
}

/// A value for `r` or `s` around the edges of its range.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Scalar {
    Zero,
    One,
    OrderMinusOne,
    Order,
    Max,
}

/// One change to a token's parts.
#[derive(Debug, Clone, Arbitrary)]
pub enum Edit {
    Flip {
        part: Part,
        at: u16,
        bit: u8,
    },
    Set {
        part: Part,
        at: u16,
        byte: u8,
    },
    Insert {
        part: Part,
        at: u16,
        bytes: Vec<u8>,
    },
    Remove {
        part: Part,
        at: u16,
        len: u8,
    },
    Truncate {
        part: Part,
        len: u16,
    },
    /// Sets (`Some`) or removes (`None`) a key of the payload (`footer: false`) or footer
    /// object, re-serialized compactly.
    Claim {
        footer: bool,
        key: Key,
        value: Option<Val>,
    },
    /// Appends a second occurrence of a key, textually.
    Duplicate {
        footer: bool,
        key: Key,
        value: Val,
    },
    /// Replaces the whole payload or footer with JSON text.
    Replace {
        footer: bool,
        text: String,
    },
    /// `s` becomes `n - s`: the other valid signature.
    NegateS,
    SetScalar {
        r: bool,
        to: Scalar,
    },
}

/// Who re-signs the edited payload and footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Signer {
    Registered,
    Second,
    Stranger,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Form {
    AsCargo,
    LowS,
    HighS,
}

/// How the parts become a token string again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Framing {
    Normal,
    DropFooter,
    EmptyFooterSegment,
    ExtraSegment,
    Header(u8),
    Padding,
    StandardAlphabet,
    Whitespace(u16),
}

/// A structure-aware mutation of a valid token.
#[derive(Debug, Clone, Arbitrary)]
pub struct Plan {
    pub base: u8,
    pub edits: Vec<Edit>,
    pub resign: Option<(Signer, Form)>,
    /// Edits after signing (a signature edit here is a forgery attempt).
    pub after: Vec<Edit>,
    pub framing: Framing,
    /// 0 strict, 1 default, 2 lenient.
    pub policy: u8,
}

struct Parts {
    payload: Vec<u8>,
    footer: Vec<u8>,
    signature: Vec<u8>,
}

const ORDER: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

fn scalar(to: Scalar) -> [u8; 48] {
    let mut out = [0u8; 48];
    match to {
        Scalar::Zero => {}
        Scalar::One => out[47] = 1,
        Scalar::Order => out = ORDER,
        Scalar::OrderMinusOne => {
            out = ORDER;
            out[47] -= 1;
        }
        Scalar::Max => out = [0xff; 48],
    }
    out
}

/// `n - s` for a 48-byte big-endian `s` (any value; wraps below zero).
fn negate(s: &[u8]) -> [u8; 48] {
    let mut out = [0u8; 48];
    let mut borrow = 0i16;
    for i in (0..48).rev() {
        let mut d = ORDER[i] as i16 - s[i] as i16 - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

fn json_edit(bytes: &mut Vec<u8>, key: &str, value: Option<Value>) {
    let mut map: Map<String, Value> = serde_json::from_slice(bytes).unwrap_or_default();
    match value {
        Some(v) => map.insert(key.to_string(), v),
        None => map.remove(key),
    };
    *bytes = serde_json::to_vec(&Value::Object(map)).expect("JSON values serialize");
}

impl Parts {
    fn get(&mut self, part: Part) -> &mut Vec<u8> {
        match part {
            Part::Payload => &mut self.payload,
            Part::Footer => &mut self.footer,
            Part::Signature => &mut self.signature,
        }
    }

    fn apply(&mut self, edit: &Edit, w: &World) {
        fn at(len: usize, at: u16) -> usize {
            if len == 0 { 0 } else { at as usize % len }
        }
        match edit {
            Edit::Flip { part, at: i, bit } => {
                let bytes = self.get(*part);
                if !bytes.is_empty() {
                    let i = at(bytes.len(), *i);
                    bytes[i] ^= 1 << (bit % 8);
                }
            }
            Edit::Set { part, at: i, byte } => {
                let bytes = self.get(*part);
                if !bytes.is_empty() {
                    let i = at(bytes.len(), *i);
                    bytes[i] = *byte;
                }
            }
            Edit::Insert {
                part,
                at: i,
                bytes: new,
            } => {
                let bytes = self.get(*part);
                let i = at(bytes.len() + 1, *i);
                bytes.splice(i..i, new.iter().copied().take(64));
            }
            Edit::Remove { part, at: i, len } => {
                let bytes = self.get(*part);
                let i = at(bytes.len(), *i);
                let end = (i + *len as usize).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Truncate { part, len } => {
                let bytes = self.get(*part);
                let len = (*len as usize).min(bytes.len());
                bytes.truncate(len);
            }
            Edit::Claim { footer, key, value } => {
                let bytes = if *footer {
                    &mut self.footer
                } else {
                    &mut self.payload
                };
                json_edit(bytes, &key.name(), value.as_ref().map(|v| v.json(w)));
            }
            Edit::Duplicate { footer, key, value } => {
                let bytes = if *footer {
                    &mut self.footer
                } else {
                    &mut self.payload
                };
                if bytes.last() == Some(&b'}') {
                    bytes.pop();
                    let pair = format!(",{}:{}}}", Value::String(key.name()), value.json(w));
                    bytes.extend_from_slice(pair.as_bytes());
                }
            }
            Edit::Replace { footer, text } => {
                let bytes = if *footer {
                    &mut self.footer
                } else {
                    &mut self.payload
                };
                *bytes = text.as_bytes().to_vec();
            }
            Edit::NegateS => {
                if self.signature.len() == paseto::SIGNATURE_LEN {
                    let s = negate(&self.signature[48..]);
                    self.signature[48..].copy_from_slice(&s);
                }
            }
            Edit::SetScalar { r, to } => {
                if self.signature.len() == paseto::SIGNATURE_LEN {
                    let range = if *r { 0..48 } else { 48..96 };
                    self.signature[range].copy_from_slice(&scalar(*to));
                }
            }
        }
    }

    fn encode(&self, framing: Framing) -> String {
        let mut body = self.payload.clone();
        body.extend_from_slice(&self.signature);
        let token = match framing {
            Framing::DropFooter => paseto::assemble(&body, b""),
            _ => paseto::assemble(&body, &self.footer),
        };
        match framing {
            Framing::Normal | Framing::DropFooter => token,
            Framing::EmptyFooterSegment => format!("{token}."),
            Framing::ExtraSegment => format!("{token}.e30"),
            Framing::Header(n) => {
                let header = ["v4.public.", "v3.local.", "V3.public.", "v3.public.."];
                let rest = &token[paseto::HEADER.len()..];
                format!("{}{rest}", header[n as usize % header.len()])
            }
            Framing::Padding => format!("{token}=="),
            Framing::StandardAlphabet => token.replace('-', "+").replace('_', "/"),
            Framing::Whitespace(at) => {
                let mut t = token;
                let i = at as usize % (t.len() + 1);
                t.insert(i, ' ');
                t
            }
        }
    }
}

/// Every backend's verdict on `token`; panics if two differ.
fn differential(
    w: &World,
    policy: &Policy,
    token: &str,
    signed: Option<&SignedContent>,
) -> Verdict {
    let request = w.request_for(token);
    let mut first: Option<(Backend, Verdict)> = None;
    for &backend in Backend::available() {
        let verifier = w.verifier(policy, backend);
        let verdict = verifier.verify(token, &request, w.clock);
        assert_sane(w, &verifier, token, &request, &verdict, signed);
        match &first {
            None => first = Some((backend, verdict)),
            Some((b0, v0)) => {
                assert_eq!(
                    kind(v0),
                    kind(&verdict),
                    "backends disagree: {b0} says {:?}, {backend} says {:?} on {token:?}",
                    v0.as_ref().map(|_| "ok").map_err(|e| e.to_string()),
                    verdict.as_ref().map(|_| "ok").map_err(|e| e.to_string()),
                );
                assert_eq!(v0.as_ref().ok(), verdict.as_ref().ok(), "{token:?}");
            }
        }
    }
    first.map(|(_, v)| v).expect("at least one backend")
}

/// Target `differential_verify`: every backend must give the same verdict. Input that starts
/// with `v` is a token; anything else is a [`Plan`] over the valid vector tokens.
pub fn differential_verify(data: &[u8]) {
    let w = world();
    if data.first() == Some(&b'v') {
        let _ = differential(w, &Policy::default(), &text(data), None);
        return;
    }
    let Ok(plan) = Plan::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    run_plan(w, &plan);
}

/// Applies a plan and checks the verdicts.
pub fn run_plan(w: &World, plan: &Plan) {
    let base = &w.valid_tokens[plan.base as usize % w.valid_tokens.len()];
    let decoded = paseto::decode(base).expect("valid tokens decode");
    let signature = decoded.signature().to_vec();
    let (payload, footer) = decoded.into_parts();
    let mut parts = Parts {
        payload,
        footer: footer.unwrap_or_default(),
        signature,
    };
    // The one content that may verify: the base's, unless re-signed.
    let mut signed = SignedContent {
        payload: parts.payload.clone(),
        footer: parts.footer.clone(),
    };
    for edit in plan.edits.iter().take(16) {
        parts.apply(edit, w);
    }
    let mut signed_by = None;
    if let Some((signer, form)) = plan.resign {
        let key = match signer {
            Signer::Registered => &w.signer,
            Signer::Second => &w.second,
            Signer::Stranger => &w.stranger,
        };
        let form = match form {
            Form::AsCargo => SignatureForm::AsCargo,
            Form::LowS => SignatureForm::LowS,
            Form::HighS => SignatureForm::HighS,
        };
        let token = paseto::sign(key, &parts.payload, &parts.footer, b"", form);
        if let Ok(d) = paseto::decode(&token) {
            parts.signature = d.signature().to_vec();
        }
        signed = if signer == Signer::Stranger {
            // Nothing may verify: no verified payload is empty.
            SignedContent::default()
        } else {
            signed_by = Some(key);
            SignedContent {
                payload: parts.payload.clone(),
                footer: parts.footer.clone(),
            }
        };
    }
    // The raw primitive: both backends agree on the PAE message and signature as they stand.
    for key in [w.signer.public_key(), w.second.public_key()] {
        let m2 = paseto::pae(&[
            key.compressed(),
            paseto::HEADER.as_bytes(),
            &parts.payload,
            &parts.footer,
            b"",
        ]);
        let answers: Vec<bool> = Backend::available()
            .iter()
            .map(|b| b.verify_message(key, &m2, &parts.signature))
            .collect();
        assert!(
            answers.windows(2).all(|p| p[0] == p[1]),
            "backends disagree on the raw signature: {answers:?}"
        );
    }
    for edit in plan.after.iter().take(8) {
        parts.apply(edit, w);
    }
    let token = parts.encode(plan.framing);
    let policy = &w.policies[plan.policy as usize % w.policies.len()];
    let verdict = differential(w, policy, &token, Some(&signed));
    // A token freshly signed by the key its footer names, and not touched since, must get
    // past the signature check.
    if let Some(key) = signed_by
        && plan.after.is_empty()
        && plan.framing == Framing::Normal
        && crate::json::parse_object(&parts.footer, policy.max_json_depth)
            .ok()
            .and_then(|f| f.get("kip").and_then(Value::as_str).map(str::to_string))
            .is_some_and(|kip| kip == key.public_key().id().as_str())
    {
        assert_ne!(
            kind(&verdict),
            Err(RejectionKind::BadSignature),
            "a freshly signed token fails its signature check: {token:?}: {verdict:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// provider_answer

/// The request line the provider-answer judge binds tokens to (a publish of the fixture crate).
pub fn fixture_publish_line(w: &World) -> String {
    let op = &w.operations[1];
    format!(
        r#"{{"v":1,"registry":{{"index-url":"{}","name":"fuzz"}},"kind":"get","operation":"publish","name":"{}","vers":"{}","cksum":"{}"}}"#,
        w.index_url,
        op.name().unwrap_or_default(),
        op.vers().unwrap_or_default(),
        op.cksum().unwrap_or_default(),
    )
}

fn line_read(bytes: &[u8], terminated: bool) -> LineRead {
    if terminated {
        LineRead::Line {
            bytes: bytes.to_vec(),
        }
    } else {
        LineRead::Eof {
            bytes: bytes.to_vec(),
        }
    }
}

fn transcript(
    hello: LineRead,
    response: LineRead,
    trailing: &[u8],
    exit: ExitObservation,
) -> Transcript {
    Transcript {
        argv: vec!["--cargo-plugin".into()],
        hello,
        written: 0,
        write_error: None,
        response,
        trailing_stdout: crate::provider::Capture {
            bytes: trailing.to_vec(),
            total: trailing.len() as u64,
        },
        stderr: Default::default(),
        exit,
        leftover: 0,
        leftover_processes: Vec::new(),
        hello_after: std::time::Duration::from_millis(1),
        response_after: std::time::Duration::from_millis(1),
        elapsed: std::time::Duration::from_millis(2),
    }
}

fn assert_outcome_explains(outcome: &Outcome) {
    match outcome {
        Outcome::Fail { expected, found } => {
            assert!(
                !expected.is_empty() && !found.is_empty(),
                "a failure that does not say what was expected and found: {outcome:?}"
            );
            assert!(
                expected.len() + found.len() < 8 * 1024,
                "an unbounded failure message: {} bytes",
                expected.len() + found.len()
            );
        }
        Outcome::Error { message } => assert!(!message.is_empty()),
        _ => {}
    }
}

/// Target `provider_answer`: a provider's stdout (`hello\nresponse\ntrailing…`) judged as
/// credlab judges a real provider, over every transcript shape.
pub fn provider_answer(data: &[u8]) {
    let w = world();
    let parts: Vec<&[u8]> = data.splitn(3, |b| *b == b'\n').collect();
    let hello = parts[0];
    let response = parts.get(1).copied();
    let trailing = parts.get(2).copied().unwrap_or_default();
    let hello_read = line_read(hello, response.is_some());
    let response_bytes = response.unwrap_or_default();
    let response_terminated = parts.len() == 3;
    let response_read = if response.is_some() {
        line_read(response_bytes, response_terminated)
    } else {
        LineRead::NotRead
    };

    // parse_response is exactly Cargo's parse: an Ok answer round-trips through Cargo's types.
    for line in [hello, response_bytes] {
        let shown = provider_judge::show(line);
        assert!(shown.len() <= 300 * 12 + 64, "show() is unbounded");
        if let Ok(parsed) = provider_judge::parse_response(line) {
            let reparsed: Result<cargo_credential::CredentialResponse, cargo_credential::Error> =
                serde_json::from_slice(line).expect("parse_response accepted it");
            assert_eq!(
                parsed.token.is_some(),
                matches!(
                    reparsed,
                    Ok(cargo_credential::CredentialResponse::Get { .. })
                )
            );
            assert_eq!(parsed.answer == Answer::OkGet, parsed.cache.is_some());
        }
    }

    let exits = [
        ExitObservation::Exited { code: 0 },
        ExitObservation::Exited { code: 1 },
        ExitObservation::Signaled { signal: 9 },
        ExitObservation::Killed { phase: Phase::Exit },
        ExitObservation::Killed {
            phase: Phase::Response,
        },
    ];
    let shapes = [
        transcript(
            hello_read.clone(),
            response_read.clone(),
            trailing,
            exits[0].clone(),
        ),
        transcript(
            hello_read.clone(),
            response_read.clone(),
            b"",
            exits[(data.len() % 4) + 1].clone(),
        ),
        transcript(
            LineRead::TimedOut {
                bytes: hello.to_vec(),
            },
            LineRead::NotRead,
            b"",
            exits[4].clone(),
        ),
        transcript(
            hello_read.clone(),
            LineRead::TimedOut {
                bytes: response_bytes.to_vec(),
            },
            trailing,
            exits[4].clone(),
        ),
        transcript(
            hello_read.clone(),
            LineRead::TooLong {
                prefix: response_bytes.to_vec(),
                limit: 1 << 20,
            },
            b"",
            exits[0].clone(),
        ),
        transcript(
            LineRead::Eof {
                bytes: data.to_vec(),
            },
            LineRead::NotRead,
            b"",
            exits[0].clone(),
        ),
    ];
    let every_check = vec![
        Check::HelloExact,
        Check::ResponseNewline,
        Check::TokenIsLoginToken,
        Check::TokenHeaderSafe,
        Check::CacheKnown,
        Check::ExpirationAhead,
        Check::TokenVerifies,
        Check::MutationNotCached,
        Check::TokensDiffer,
    ];
    let expects = [
        ProviderExpect {
            answers: vec![Answer::OkGet],
            step_answers: vec![],
            unimplemented: vec![],
            checks: every_check,
            exit: ExitRule::Zero,
        },
        ProviderExpect {
            answers: Answer::REFUSALS.to_vec(),
            step_answers: vec![vec![Answer::OkLogin, Answer::OkLogout]],
            unimplemented: vec![Answer::ErrOperationNotSupported],
            checks: vec![Check::HelloExact, Check::TokenHeaderSafe],
            exit: ExitRule::Any,
        },
        // Only the baseline: any answer, no checks, any exit. A pass here still means Cargo
        // took the hello and the response.
        ProviderExpect {
            answers: vec![
                Answer::OkGet,
                Answer::OkLogin,
                Answer::OkLogout,
                Answer::ErrUrlNotSupported,
                Answer::ErrNotFound,
                Answer::ErrOperationNotSupported,
                Answer::ErrOther,
                Answer::NoAnswer,
            ],
            step_answers: vec![],
            unimplemented: vec![],
            checks: vec![],
            exit: ExitRule::Any,
        },
    ];
    let secrets = crate::redact::Secrets::new();
    secrets.add(
        crate::redact::SecretKind::LoginKey,
        "login-token",
        RFC_SECRET,
    );
    let ctx = Context {
        login_token: Some(RFC_SECRET.to_string()),
        keys: w.keys.clone(),
        any_subject: false,
        stored_token: None,
        secrets,
        elsewhere: Vec::new(),
        leftovers_elsewhere: Vec::new(),
    };
    let publish = fixture_publish_line(w).into_bytes();
    let read = br#"{"v":1,"registry":{"index-url":"sparse+https://registry.test/index/"},"kind":"get","operation":"read"}"#;
    for (i, t) in shapes.iter().enumerate() {
        let record = |sent: &[u8]| StepRecord {
            sent: sent.to_vec(),
            transcript: t.clone(),
            at: w.clock,
        };
        let one = [record(&publish)];
        let two = [record(&publish), record(read)];
        for expect in &expects {
            // Token checks verify signatures: run them on the plain shape only.
            if i > 0 && expect.checks.contains(&Check::TokenVerifies) {
                continue;
            }
            for (records, reads) in [(&one[..], &[true][..]), (&two[..], &[true, false][..])] {
                let outcome = provider_judge::judge(expect, reads, records, &ctx);
                assert_outcome_explains(&outcome);
                if outcome == Outcome::Pass && reads[0] {
                    // A pass means Cargo would have taken this exchange.
                    let hello: cargo_credential::CredentialHello =
                        serde_json::from_slice(hello).expect("a passing hello parses");
                    assert!(hello.v.contains(&1));
                    if expect.exit == ExitRule::Zero {
                        assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
                    }
                    assert!(t.trailing_stdout.is_empty());
                    let answer = match &t.response {
                        LineRead::Line { bytes } => {
                            provider_judge::parse_response(bytes).map(|r| r.answer)
                        }
                        LineRead::Eof { bytes } if !bytes.is_empty() => {
                            provider_judge::parse_response(bytes).map(|r| r.answer)
                        }
                        LineRead::Eof { .. } => Ok(Answer::NoAnswer),
                        other => panic!("a pass with response {other:?}"),
                    }
                    .expect("a passing response parses");
                    let allowed = expect.step_answers.first().unwrap_or(&expect.answers);
                    assert!(allowed.contains(&answer), "{answer:?} passed");
                }
                if let Outcome::Fail { expected, found } = &outcome
                    && let Ok(r) = provider_judge::parse_response(response_bytes)
                    && let Some(token) = r.token.filter(|t| t.len() >= 32)
                    && (expected.contains("login") || expected.contains("visible ASCII"))
                {
                    assert!(
                        !found.contains(&token) && !expected.contains(&token),
                        "a token shown in full in a redacted failure"
                    );
                }
            }
        }
        let _ = provider_judge::judge_setup(&record(&publish));
    }
}

// ---------------------------------------------------------------------------------------------
// vector_file

fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        jsonschema::validator_for(&check::schema()).expect("the generated schema compiles")
    })
}

/// Target `vector_file`: a vector file's bytes through the schema, serde and the checks.
pub fn vector_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        assert!(serde_json::from_slice::<TokenFile>(data).is_err());
        return;
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => {
            assert!(serde_json::from_str::<TokenFile>(text).is_err());
            assert!(serde_json::from_str::<ProviderFile>(text).is_err());
            return;
        }
    };
    let schema_ok = schema().is_valid(&value);
    let token: Result<TokenFile, _> = serde_json::from_str(text);
    let provider: Result<ProviderFile, _> = serde_json::from_str(text);
    if token.is_ok() || provider.is_ok() {
        assert!(
            schema_ok,
            "the Rust types accept a vector file the JSON Schema refuses: {:?}",
            schema()
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        );
    }
    if let Ok(file) = token {
        let _ = check::check(&[("fuzz.json".to_string(), file.clone())]);
        for case in file.cases.iter().take(4) {
            let Some(Ok(clock)) = case.clock.as_deref().map(crate::judge::token::clock) else {
                continue;
            };
            let mut policies = vec![Policy::default()];
            if let crate::cases::token::TokenExpect::Acceptable { policy, .. } = case.expect {
                policies.extend(crate::judge::token::policy_variants(policy).1);
            }
            for policy in &policies {
                let verdicts: Vec<Result<(), RejectionKind>> = Backend::available()
                    .iter()
                    .map(|&b| {
                        kind(&crate::judge::token::evaluate(
                            &case.input,
                            clock,
                            policy,
                            b,
                        ))
                    })
                    .collect();
                assert!(
                    verdicts.windows(2).all(|p| p[0] == p[1]),
                    "backends disagree on case {}: {verdicts:?}",
                    case.id
                );
                let _ = crate::judge::token::judge(&case.expect, verdicts[0]);
            }
        }
    }
}
