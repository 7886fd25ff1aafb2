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

use credlab_suite::cases::provider::{
    Answer, ExitRule, ProviderCase, ProviderExpect, ProviderFile, ProviderInput, Send, Step,
};
use credlab_suite::cases::token::{
    RegisteredKey, RegistryInput, TokenCase, TokenExpect, TokenFile, TokenInput,
};
use credlab_suite::cases::{Case, FORMAT, Level};
use credlab_suite::token::Operation;
use credlab_suite::vectors::fixture::{RFC_SECRET, sha256_hex};
use credlab_suite::vectors::to_committed_json;

use super::FindingKind;
use super::provider::{close_for, request_parses};
use crate::provider_run::Profile;

pub const PROVIDER_GROUP: &str = "found::provider";
pub const REGISTRY_GROUP: &str = "found::registry";

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

/// `input` with the profile's login secret replaced by the RFC 3231 example key (a public test
/// key), so no vector carries the key credlab logged in with.
pub fn redact_login(profile: &Profile, input: &[u8]) -> Vec<u8> {
    let secret = profile.login_key.expose_paserk();
    replace_all(input, secret.as_bytes(), RFC_SECRET.as_bytes())
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut at = 0;
    while at < haystack.len() {
        if haystack[at..].starts_with(needle) {
            out.extend_from_slice(with);
            at += needle.len();
        } else {
            out.push(haystack[at]);
            at += 1;
        }
    }
    out
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

/// The case for a provider finding.
pub fn provider_case(kind: FindingKind, input: &[u8]) -> ProviderCase {
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
        flags: vec!["Fuzzed".into()],
        base: None,
        mutation: None,
        clock: None,
        input: ProviderInput {
            requires: Vec::new(),
            setup: Vec::new(),
            steps: vec![Step {
                send: Send::Bytes {
                    base64: credlab_suite::b64::encode(input),
                },
                close_stdin: close_for(input),
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

fn first_line(input: &[u8]) -> &[u8] {
    match input.iter().position(|b| *b == b'\n') {
        Some(at) => &input[..=at],
        None => input,
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

fn write(dir: &Path, name: &str, contents: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let path = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, contents)
        .and_then(|()| std::fs::rename(&temp, &path))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}

/// Writes a provider finding as `<dir>/provider-<kind>-<hash8>.json`.
pub fn write_provider(dir: &Path, kind: FindingKind, input: &[u8]) -> Result<PathBuf, String> {
    if let Some(why) = provider_inexpressible(input) {
        return Err(format!(
            "{}: not written as a vector: {why}",
            provider_case_id(kind, input)
        ));
    }
    let case = provider_case(kind, input);
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
        flags: vec!["Fuzzed".into()],
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
) -> Result<PathBuf, String> {
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

/// Loads every found vector in `dir` (`provider-*.json` and `registry-*.json`), sorted by file
/// name, checked against the vector schema and the found-vector rules (format, group, ids).
/// A missing directory holds no vectors.
pub fn load_found(dir: &Path) -> Result<(Vec<ProviderFile>, Vec<TokenFile>), String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Vec::new(), Vec::new()));
        }
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let schema = credlab_suite::vectors::check::schema();
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| format!("the vector schema does not compile: {e}"))?;
    let mut providers = Vec::new();
    let mut tokens = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let result = (|| -> Result<(), String> {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read: {e}"))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
            if let Some(e) = validator.iter_errors(&value).next() {
                return Err(format!("schema: {e} (at {})", e.instance_path()));
            }
            let group = value
                .get("group")
                .and_then(|g| g.as_str())
                .unwrap_or_default();
            let format = value
                .get("format")
                .and_then(|g| g.as_str())
                .unwrap_or_default();
            if format != FORMAT {
                return Err(format!("format is {format:?}, expected {FORMAT:?}"));
            }
            let expected_group = if stem.starts_with("provider-") {
                PROVIDER_GROUP
            } else if stem.starts_with("registry-") {
                REGISTRY_GROUP
            } else {
                return Err("a found vector is named provider-*.json or registry-*.json".into());
            };
            if group != expected_group {
                return Err(format!("group is {group:?}, expected {expected_group:?}"));
            }
            let ids: Vec<String> = if expected_group == PROVIDER_GROUP {
                let file: ProviderFile =
                    serde_json::from_value(value).map_err(|e| e.to_string())?;
                let ids = file.cases.iter().map(|c| c.id.to_string()).collect();
                providers.push(file);
                ids
            } else {
                let file: TokenFile = serde_json::from_value(value).map_err(|e| e.to_string())?;
                for case in &file.cases {
                    match case
                        .clock
                        .as_deref()
                        .map(credlab_suite::judge::token::clock)
                    {
                        Some(Ok(_)) => {}
                        Some(Err(e)) => return Err(format!("{}: clock: {e}", case.id)),
                        None => return Err(format!("{}: a token case needs a clock", case.id)),
                    }
                }
                let ids = file.cases.iter().map(|c| c.id.to_string()).collect();
                tokens.push(file);
                ids
            };
            for id in ids {
                if !id.starts_with(&format!("{expected_group}::")) {
                    return Err(format!("case {id} is not in the group {expected_group}"));
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            problems.push(format!("{name}: {e}"));
        }
    }
    if problems.is_empty() {
        Ok((providers, tokens))
    } else {
        Err(problems.join("\n"))
    }
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
        let p1 = write_provider(dir.path(), FindingKind::Garbage, b"x\n").unwrap();
        let first = std::fs::read(&p1).unwrap();
        let p2 = write_provider(dir.path(), FindingKind::Garbage, b"x\n").unwrap();
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
