//! Findings as regression vectors, in the case schema of `vectors/`.
//!
//! The id is `found::provider::<kind>-<hash8>` or `found::registry::<kind>-<hash8>`, where
//! `hash8` is the first 8 hex digits of the SHA-256 of the minimized input as the vector holds
//! it (the provider input with the login secret replaced, the registry token as sent). The file
//! is `<dir>/provider-<kind>-<hash8>.json` or `<dir>/registry-<kind>-<hash8>.json`, one case per
//! file, written with [`to_committed_json`]; nothing in it depends on the run (seed, time,
//! iteration, what exactly the target did) except a registry case's clock, request and key,
//! which are the session's. So the same finding always has the same id and path, and a provider
//! finding the same bytes, whichever target it was found on.
//!
//! - A provider case sends the exact bytes (`Send::Bytes`), closes stdin as the fuzzer did
//!   (after the response when the input ends with `\n`, else right after the input), and
//!   expects what the malformed cases expect: an `Err` answer or none
//!   ([`Answer::REFUSALS`]), exit status 0, nothing else on stdout. When the first line is a
//!   request `cargo-credential` parses, the `Ok` answers are allowed too.
//! - A registry case holds the token, the request, the session's public key (never its secret),
//!   the clock, and `invalid` with the kind the reference verifier reports (`valid` when it
//!   accepts: a registry that fails on a valid token).

use std::path::{Path, PathBuf};

use credlab_suite::cases::flags::Flag;
use credlab_suite::cases::provider::{
    Answer, ExitRule, ProviderCase, ProviderExpect, ProviderFile, ProviderInput, Send, Step,
};
use credlab_suite::cases::token::{
    RegisteredKey, RegistryInput, TokenCase, TokenExpect, TokenFile, TokenInput,
};
use credlab_suite::cases::{Case, FORMAT, Level};
use credlab_suite::keys::SecretKey;
use credlab_suite::paseto::{self, SignatureForm};
use credlab_suite::redact::{SecretKind, Secrets};
use credlab_suite::token::Operation;
use credlab_suite::vectors::check::{committed_case_sending, lone_input};
use credlab_suite::vectors::fixture::{RFC_SECRET, sha256_hex};
use credlab_suite::vectors::to_committed_json;

use super::FindingKind;
use super::request::{close_for, first_line, request_parses};
use crate::provider_run::Profile;

pub use credlab_suite::vectors::found::{PROVIDER_GROUP, REGISTRY_GROUP, load_found};

fn hash8(bytes: &[u8]) -> String {
    sha256_hex(bytes)[..8].to_string()
}

/// `found::provider::<kind>-<hash8>`.
pub fn provider_case_id(kind: FindingKind, input: &[u8]) -> String {
    format!("{PROVIDER_GROUP}::{}-{}", kind.as_str(), hash8(input))
}

/// `found::registry::<kind>-<hash8>`.
pub fn registry_case_id(kind: FindingKind, token: &str) -> String {
    format!(
        "{REGISTRY_GROUP}::{}-{}",
        kind.as_str(),
        hash8(token.as_bytes())
    )
}

/// How a provider input is kept in a vector: no secret of the run may be in it.
///
/// Every occurrence of the login token, whole or a fragment of at least
/// [`credlab_suite::redact::FRAGMENT`] characters (a fuzzer truncates and splices it), becomes
/// a placeholder: `${login_token}`, or `${login_token[FROM..TO]}` for the characters FROM..TO
/// of it, so the vector replays with whatever key the next run logs in with. Input that is
/// not UTF-8, or that has a `${` of its own, cannot hold a placeholder (`bytes` are sent as
/// they are): there each occurrence becomes the same characters of the RFC 3231 example key,
/// which is public. Input with no secret in it is kept as the exact bytes.
pub fn vector_input(profile: &Profile, input: &[u8]) -> Send {
    let login = profile.login_key.expose_paserk();
    let only_login = credlab_suite::redact::Secrets::new();
    only_login.add(SecretKind::LoginKey, "login-token", &login);
    let found = only_login.find(input);
    // Text with no `${` of its own can carry placeholders; anything else is kept as bytes.
    match std::str::from_utf8(input) {
        Ok(text) if !found.is_empty() && !text.contains("${") => {
            let mut out = String::with_capacity(text.len());
            let mut at = 0;
            for f in &found {
                out.push_str(&text[at..f.range.start]);
                if f.secret == (0..login.len()) {
                    out.push_str("${login_token}");
                } else {
                    out.push_str(&format!(
                        "${{login_token[{}..{}]}}",
                        f.secret.start, f.secret.end
                    ));
                }
                at = f.range.end;
            }
            out.push_str(&text[at..]);
            // Any other secret of the run (another form of a key, a returned token).
            Send::Text {
                text: profile.secrets.scrub(&out).into_owned(),
            }
        }
        _ => {
            let mut out = input.to_vec();
            for f in &found {
                let public = &RFC_SECRET.as_bytes()[f.secret.clone()];
                out[f.range.clone()].copy_from_slice(public);
            }
            Send::Bytes {
                base64: credlab_suite::b64::encode(&profile.secrets.scrub_bytes(&out)),
            }
        }
    }
}

/// The bytes of a vector's input as they are hashed for its id (placeholders unexpanded).
pub fn vector_bytes(send: &Send) -> Vec<u8> {
    send.bytes().unwrap_or_default()
}

fn provider_description(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Crash => "crashed (a signal, or an exit status other than 0)",
        FindingKind::Hang => "hung (credlab killed it at a deadline)",
        FindingKind::Garbage => "wrote output Cargo cannot parse",
        FindingKind::OkOnGarbage => "answered Ok to a request it cannot have parsed",
        _ => "misbehaved",
    }
}

/// The case for a provider finding whose input is `send` (see [`vector_input`]).
pub fn provider_case(kind: FindingKind, send: Send) -> ProviderCase {
    let bytes = vector_bytes(&send);
    let input = bytes.as_slice();
    let mut answers = Answer::REFUSALS.to_vec();
    let parses = request_parses(first_line(input)).is_ok();
    if parses {
        answers.extend([Answer::OkGet, Answer::OkLogin, Answer::OkLogout]);
    }
    Case {
        id: provider_case_id(kind, input)
            .parse()
            .expect("found ids are well-formed"),
        aliases: Vec::new(),
        description: format!(
            "Found by `credlab fuzz`: on this input ({} bytes) a provider {}. A conforming \
             provider answers {}, exits 0 once stdin closes and writes nothing else.",
            input.len(),
            provider_description(kind),
            if parses {
                "anything Cargo parses, or nothing"
            } else {
                "with an Err, or not at all"
            }
        ),
        spec: vec![
            "cargo credential/cargo-credential/src/lib.rs:232-276 (one request per line; a line that cannot be parsed is answered with Err and ends the loop, exit 0)".into(),
            "cargo src/util/credential/process.rs:56-73 (Cargo parses one response line and needs exit status 0)".into(),
        ],
        level: Level::Must,
        flags: vec![Flag::Fuzzed],
        base: None,
        mutation: None,
        clock: None,
        input: ProviderInput {
            requires: Vec::new(),
            setup: Vec::new(),
            steps: vec![Step {
                close_stdin: close_for(input),
                send,
                read_response: true,
            }],
        },
        expect: ProviderExpect {
            answers,
            step_answers: Vec::new(),
            unimplemented: Vec::new(),
            checks: Vec::new(),
            exit: ExitRule::Zero,
        },
    }
}

/// Why a provider input cannot be a provider case, if it cannot: the judge allows one answer
/// per step, so an input whose first line a provider acts on must be that one line.
pub fn provider_inexpressible(input: &[u8]) -> Option<String> {
    let first = first_line(input);
    (first.len() < input.len() && request_parses(first).is_ok()).then(|| {
        "its first line is a request a provider answers and more lines follow, which a \
         provider may answer too (a provider case allows one answer per step)"
            .to_string()
    })
}

/// Why a found vector was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The input cannot be a provider case ([`provider_inexpressible`]).
    #[error("{id}: not written as a vector: {why}")]
    Inexpressible { id: String, why: String },
    /// A committed case, or a found vector already in the folder, sends the same input: one
    /// input is judged once (`credlab vectors check` refuses a copy).
    #[error("{id}: not written as a vector: {by} already sends this input")]
    Covered { id: String, by: String },
    #[error("creating {}: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn write(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp"));
    match std::fs::write(&temp, contents).and_then(|()| std::fs::rename(&temp, &path)) {
        Ok(()) => Ok(path),
        Err(source) => Err(WriteError::Write { path, source }),
    }
}

/// Writes a provider finding as `<dir>/provider-<kind>-<hash8>.json`.
pub fn write_provider(dir: &Path, kind: FindingKind, send: Send) -> Result<PathBuf, WriteError> {
    let input = vector_bytes(&send);
    if let Some(why) = provider_inexpressible(&input) {
        return Err(WriteError::Inexpressible {
            id: provider_case_id(kind, &input),
            why,
        });
    }
    let id = provider_case_id(kind, &input);
    if let Some(by) = committed_case_sending(&input) {
        return Err(WriteError::Covered {
            id,
            by: by.to_string(),
        });
    }
    if let Some(by) = found_case_sending(dir, &input, &id) {
        return Err(WriteError::Covered { id, by });
    }
    let case = provider_case(kind, send);
    let name = format!(
        "provider-{}.json",
        case.id.as_str().rsplit("::").next().unwrap_or_default()
    );
    let file = ProviderFile {
        format: FORMAT.into(),
        group: PROVIDER_GROUP.into(),
        description: "A provider input found by `credlab fuzz`, kept as a regression case.".into(),
        cases: vec![case],
    };
    write(dir, &name, &to_committed_json(&file))
}

/// A found vector already in `dir` (another kind of finding, so another file) that sends
/// `input`; one whose file does not load is no cover.
fn found_case_sending(dir: &Path, input: &[u8], id: &str) -> Option<String> {
    let (providers, _) = load_found(dir).ok()?;
    providers
        .into_iter()
        .flat_map(|file| file.cases)
        .find(|case| case.id.as_str() != id && lone_input(case).as_deref() == Some(input))
        .map(|case| case.id.to_string())
}

/// What a registry finding's case holds besides the kind and the token.
#[derive(Debug, Clone)]
pub struct RegistryContext {
    pub index_url: String,
    pub key: RegisteredKey,
    pub request: Operation,
    /// RFC 3339, whole seconds.
    pub clock: String,
    /// What the reference verifier says about the token at that clock.
    pub expect: TokenExpect,
}

/// The token a registry finding's vector holds: nothing in it may be a secret of the run.
///
/// A token that carries (a fragment of) the signature of a token credlab signed with the
/// registry's key is moved to the RFC 3231 example key, which is public: its payload and
/// footer are kept (the footer's `kip` becomes the example key's), and it is signed again;
/// a signature that was not valid keeps its damage (the XOR of it and the valid signature is
/// applied to the example key's signature). A token too broken to decode has its secret
/// characters overwritten with `A`. Returns the token and the key the vector enrols.
pub fn transplant(token: &str, secrets: &Secrets, signer: &SecretKey) -> (String, SecretKey) {
    let public = SecretKey::from_paserk(RFC_SECRET).expect("the RFC 3231 key parses");
    if secrets.find(token.as_bytes()).is_empty() {
        return (token.to_string(), signer.clone());
    }
    let resigned = paseto::decode(token).ok().map(|decoded| {
        let payload = decoded.payload().to_vec();
        let signature = decoded.signature().to_vec();
        let footer = decoded.footer().map(<[u8]>::to_vec).unwrap_or_default();
        let valid = |key: &SecretKey, footer: &[u8], form| {
            let token = paseto::sign(key, &payload, footer, b"", form);
            paseto::decode(&token)
                .expect("credlab's own tokens decode")
                .signature()
                .to_vec()
        };
        let moved_footer = String::from_utf8_lossy(&footer)
            .replace(
                signer.public_key().id().as_str(),
                public.public_key().id().as_str(),
            )
            .into_bytes();
        let forms = [SignatureForm::LowS, SignatureForm::HighS];
        let new_signature = forms
            .iter()
            .find(|form| valid(signer, &footer, **form) == signature)
            .map(|form| valid(&public, &moved_footer, *form))
            .unwrap_or_else(|| {
                let damage = valid(signer, &footer, SignatureForm::LowS);
                valid(&public, &moved_footer, SignatureForm::LowS)
                    .iter()
                    .zip(signature.iter().zip(&damage))
                    .map(|(p, (s, d))| p ^ s ^ d)
                    .collect()
            });
        let mut body = payload;
        body.extend_from_slice(&new_signature);
        paseto::assemble(
            &body,
            if decoded.footer().is_some() {
                &moved_footer
            } else {
                b""
            },
        )
    });
    match resigned {
        Some(token) if secrets.find(token.as_bytes()).is_empty() => (token, public),
        _ => {
            let mut bytes = token.as_bytes().to_vec();
            for f in secrets.find(token.as_bytes()) {
                bytes[f.range].fill(b'A');
            }
            (String::from_utf8_lossy(&bytes).into_owned(), signer.clone())
        }
    }
}

/// The case for a registry finding.
pub fn registry_case(kind: FindingKind, token: &str, context: &RegistryContext) -> TokenCase {
    let what = match kind {
        FindingKind::ServerError => "answered with a server error (5xx)",
        FindingKind::AcceptedGarbage => "accepted it although the reference verifier refuses it",
        FindingKind::Hang => "gave no answer in time",
        FindingKind::Dropped => "closed the connection without an HTTP answer",
        _ => "misbehaved",
    };
    let verdict = match context.expect {
        TokenExpect::Invalid { rejection } => format!("refuses it ({rejection}) with 401 or 403"),
        _ => "accepts it".to_string(),
    };
    Case {
        id: registry_case_id(kind, token)
            .parse()
            .expect("found ids are well-formed"),
        aliases: Vec::new(),
        description: format!(
            "Found by `credlab fuzz`: a registry {what}. A conforming registry {verdict}."
        ),
        spec: vec![
            "RFC 3231 (asymmetric tokens: how the registry server validates a token)".into(),
            "Cargo registry web API: refusals are 401/403 with {\"errors\":[{\"detail\":…}]}, never a server error".into(),
        ],
        level: Level::Must,
        flags: vec![Flag::Fuzzed],
        base: None,
        mutation: None,
        clock: Some(context.clock.clone()),
        input: TokenInput {
            registry: RegistryInput {
                index_url: context.index_url.clone(),
                keys: vec![context.key.clone()],
                published: Vec::new(),
            },
            signer: None,
            request: context.request.clone(),
            issued_challenge: None,
            accepted_before: Vec::new(),
            token: token.to_string(),
        },
        expect: context.expect,
    }
}

/// Writes a registry finding as `<dir>/registry-<kind>-<hash8>.json`.
pub fn write_registry(
    dir: &Path,
    kind: FindingKind,
    token: &str,
    context: &RegistryContext,
) -> Result<PathBuf, WriteError> {
    let case = registry_case(kind, token, context);
    let name = format!(
        "registry-{}.json",
        case.id.as_str().rsplit("::").next().unwrap_or_default()
    );
    let file = TokenFile {
        format: FORMAT.into(),
        group: REGISTRY_GROUP.into(),
        description:
            "A token found by `credlab fuzz` against a registry, kept as a regression case.".into(),
        cases: vec![case],
    };
    write(dir, &name, &to_committed_json(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_well_formed() {
        let a = provider_case_id(FindingKind::Hang, b"\n");
        assert_eq!(a, provider_case_id(FindingKind::Hang, b"\n"));
        assert_ne!(a, provider_case_id(FindingKind::Crash, b"\n"));
        assert!(a.parse::<credlab_suite::cases::CaseId>().is_ok(), "{a}");
        assert_eq!(
            a,
            format!("found::provider::hang-{}", &sha256_hex(b"\n")[..8])
        );
        let r = registry_case_id(FindingKind::ServerError, "v3.x");
        assert!(r.parse::<credlab_suite::cases::CaseId>().is_ok(), "{r}");
    }

    #[test]
    fn write_twice_same_file_and_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let send = || Send::Bytes {
            base64: credlab_suite::b64::encode(b"x\n"),
        };
        let p1 = write_provider(dir.path(), FindingKind::Garbage, send()).unwrap();
        let first = std::fs::read(&p1).unwrap();
        let p2 = write_provider(dir.path(), FindingKind::Garbage, send()).unwrap();
        assert_eq!(p1, p2);
        assert_eq!(first, std::fs::read(&p2).unwrap());
        let (providers, tokens) = load_found(dir.path()).unwrap();
        assert_eq!(providers.len(), 1);
        assert!(tokens.is_empty());
        assert_eq!(
            providers[0].cases[0].expect.answers,
            Answer::REFUSALS.to_vec()
        );
        std::fs::write(dir.path().join("provider-bad.json"), "{").unwrap();
        let err = load_found(dir.path()).unwrap_err();
        assert!(
            err.contains("provider-bad.json") && err.contains("not JSON"),
            "{err}"
        );
        assert_eq!(load_found(&dir.path().join("none")).unwrap().0.len(), 0);
    }

    #[test]
    fn an_input_a_case_already_sends_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        // A lone newline is what `provider::malformed::blank-line` sends.
        let blank = Send::Bytes {
            base64: credlab_suite::b64::encode(b"\n"),
        };
        let err = write_provider(dir.path(), FindingKind::Hang, blank).unwrap_err();
        assert!(
            matches!(&err, WriteError::Covered { by, .. } if by == "provider::malformed::blank-line"),
            "{err}"
        );
        assert!(
            err.to_string().contains("already sends this input"),
            "{err}"
        );
        // The same input found as two kinds of finding is one vector, the first.
        let send = || Send::Bytes {
            base64: credlab_suite::b64::encode(b"{\"v\":\n"),
        };
        let first = write_provider(dir.path(), FindingKind::Crash, send()).unwrap();
        let err = write_provider(dir.path(), FindingKind::Garbage, send()).unwrap_err();
        let first_id = provider_case_id(FindingKind::Crash, b"{\"v\":\n");
        assert!(
            matches!(&err, WriteError::Covered { by, .. } if *by == first_id),
            "{err}"
        );
        let written: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(written, vec![first]);
    }

    #[test]
    fn inputs_keep_the_login_key_as_a_placeholder() {
        let key = SecretKey::generate();
        let paserk = key.expose_paserk();
        let profile = Profile::new(key);
        // Whole, and 50 characters of it as a fuzzer truncated it.
        let text = format!("{{\"token\":\"{paserk}\",\"x\":\"{}\"}}\n", &paserk[5..55]);
        let Send::Text { text: kept } = vector_input(&profile, text.as_bytes()) else {
            panic!("UTF-8 input is kept as text")
        };
        assert_eq!(
            kept,
            "{\"token\":\"${login_token}\",\"x\":\"${login_token[5..55]}\"}\n"
        );
        // It renders back to the input with this run's key, and to a new key's in the next.
        assert_eq!(profile.render(&kept), text);
        // Bytes cannot hold a placeholder: the key becomes the public RFC 3231 key there.
        let mut bytes = b"\xff".to_vec();
        bytes.extend_from_slice(&paserk.as_bytes()[..40]);
        let Send::Bytes { base64 } = vector_input(&profile, &bytes) else {
            panic!("non-UTF-8 input is kept as bytes")
        };
        let kept = credlab_suite::b64::decode(&base64).unwrap();
        assert_eq!(&kept[1..], &RFC_SECRET.as_bytes()[..40]);
        // Input without the key is kept exactly.
        assert_eq!(
            vector_input(&profile, b"{}\n"),
            Send::Bytes {
                base64: credlab_suite::b64::encode(b"{}\n")
            }
        );
    }

    #[test]
    fn registry_tokens_move_to_the_public_key() {
        use credlab_suite::token::{Operation, sign_as_cargo};
        let user = SecretKey::generate();
        let secrets = Secrets::new();
        let now = time::OffsetDateTime::now_utc();
        let url = "sparse+http://127.0.0.1:1/index/";
        let token = sign_as_cargo(&user, url, &Operation::Read, now, None);
        secrets.add_token(SecretKind::SignedToken, &token);
        // A valid token stays valid, under the public key.
        let (moved, key) = transplant(&token, &secrets, &user);
        assert!(secrets.find(moved.as_bytes()).is_empty());
        assert_eq!(key.expose_paserk(), RFC_SECRET);
        let verify = |t: &str, k: &SecretKey| {
            let mut keys = credlab_suite::verify::KeyStore::new();
            keys.insert(k.public_key().clone(), None);
            credlab_suite::verify::Verifier::new(keys).verify(
                t,
                &credlab_suite::verify::Request::new(url, Operation::Read),
                now,
            )
        };
        assert!(verify(&token, &user).is_ok());
        assert!(verify(&moved, &key).is_ok(), "{:?}", verify(&moved, &key));
        // A flipped signature bit stays flipped: still refused as a bad signature.
        let dot = token.rfind('.').unwrap();
        let mut flipped = token.clone().into_bytes();
        flipped[dot - 3] = if flipped[dot - 3] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        let (moved, key) = transplant(&flipped, &secrets, &user);
        assert!(secrets.find(moved.as_bytes()).is_empty(), "{moved}");
        assert_eq!(
            verify(&moved, &key).unwrap_err().kind,
            verify(&flipped, &user).unwrap_err().kind
        );
        // A token with no secret in it is kept.
        assert_eq!(transplant("v3.public.x", &secrets, &user).0, "v3.public.x");
    }

    #[test]
    fn a_request_followed_by_more_lines_is_not_a_case() {
        let line = br#"{"v":1,"registry":{"index-url":"u"},"kind":"logout"}"#;
        let mut two = line.to_vec();
        two.extend_from_slice(b"\nx\n");
        assert!(provider_inexpressible(&two).is_some());
        assert!(provider_inexpressible(b"x\ny\n").is_none());
        let mut one = line.to_vec();
        one.push(b'\n');
        assert!(provider_inexpressible(&one).is_none());
    }
}
