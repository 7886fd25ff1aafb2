//! `credlab vectors check`: every vector file against the JSON Schema, then the rules a
//! schema cannot state (unique ids, bases that exist and are valid, keys that match their
//! ids, a mutation for every derived case, no Cargo-shaped token expected invalid).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use pasetors::keys::AsymmetricPublicKey;
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version3::V3;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::found;
use crate::b64;
use crate::cases::auth::AuthFile;
use crate::cases::flags::Flag;
use crate::cases::provider::{ProviderCase, ProviderFile};
use crate::cases::token::{CARGO_SHAPED, TokenExpect, TokenFile};
use crate::cases::{CaseId, FORMAT, VectorFile};
use crate::keys::{PUBLIC_PREFIX, PublicKey, SecretKey};
use crate::rejection::RejectionKind;

/// Every kind of vector file, for the one JSON Schema that covers them all.
#[derive(Debug, Clone, JsonSchema, serde::Deserialize)]
#[serde(untagged)]
pub enum AnyVectorFile {
    Token(TokenFile),
    Provider(ProviderFile),
    Auth(AuthFile),
}

/// The JSON Schema of vector files, generated from the Rust types.
pub fn schema() -> Value {
    serde_json::to_value(schemars::schema_for!(AnyVectorFile)).expect("schemas serialize")
}

/// One thing wrong with the vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.case {
            Some(case) => write!(f, "{}: {case}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

pub(crate) fn problem(file: &str, case: Option<&CaseId>, message: impl Into<String>) -> Problem {
    Problem {
        file: file.to_string(),
        case: case.map(|c| c.to_string()),
        message: message.into(),
    }
}

/// Reads and parses one file of any kind, reporting JSON, flag and schema errors. A file in a
/// `found` directory is a found vector, loaded by [`found::load_file`] (its rules too).
pub fn load_any(
    path: &Path,
    schema: &jsonschema::Validator,
) -> Result<AnyVectorFile, Vec<Problem>> {
    let in_found = path
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|d| d == "found");
    if in_found {
        found::load_file(path, schema)
            .map(AnyVectorFile::from)
            .map_err(|p| vec![p])
    } else {
        load_as(path, schema)
    }
}

/// Reads `path`, refuses undeclared flags, checks it against `schema`, then parses it as a
/// `T`; every error names the file, and schema errors their location.
pub(crate) fn load_as<T: serde::de::DeserializeOwned>(
    path: &Path,
    schema: &jsonschema::Validator,
) -> Result<T, Vec<Problem>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![problem(&name, None, format!("cannot read: {e}"))])?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| vec![problem(&name, None, format!("not JSON: {e}"))])?;
    let undeclared = undeclared_flags(&name, &value);
    if !undeclared.is_empty() {
        // Said plainly here, not as the schema's "not one of" over every declared flag.
        return Err(undeclared);
    }
    let errors: Vec<Problem> = schema
        .iter_errors(&value)
        .map(|e| {
            problem(
                &name,
                None,
                format!("schema: {e} (at {})", e.instance_path()),
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_json::from_str(&text).map_err(|e| vec![problem(&name, None, format!("{e}"))])
}

/// A problem for every flag of a case in `value` that is not a declared [`Flag`].
fn undeclared_flags(name: &str, value: &Value) -> Vec<Problem> {
    let cases = value.get("cases").and_then(Value::as_array);
    let mut problems = Vec::new();
    for case in cases.into_iter().flatten() {
        let flags = case.get("flags").and_then(Value::as_array);
        for flag in flags.into_iter().flatten().filter_map(Value::as_str) {
            if let Err(e) = flag.parse::<Flag>() {
                problems.push(Problem {
                    file: name.to_string(),
                    case: case.get("id").and_then(Value::as_str).map(str::to_string),
                    message: e.to_string(),
                });
            }
        }
    }
    problems
}

/// Every vector file under `dir`: `tokens/`, `provider/`, `registry/` and `found/`, sorted.
pub fn vector_paths(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for sub in ["tokens", "provider", "registry", "found"] {
        let entries = match std::fs::read_dir(dir.join(sub)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && sub != "tokens" => continue,
            Err(e) => return Err(e),
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        found.sort();
        paths.extend(found);
    }
    Ok(paths)
}

/// The rules for token, provider and registry files, and ids unique across every file.
pub fn check_all(files: &[(String, AnyVectorFile)]) -> Vec<Problem> {
    let tokens: Vec<(String, TokenFile)> = files
        .iter()
        .filter_map(|(n, f)| match f {
            AnyVectorFile::Token(t) => Some((n.clone(), t.clone())),
            AnyVectorFile::Provider(_) | AnyVectorFile::Auth(_) => None,
        })
        .collect();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (name, file) in files {
        match file {
            AnyVectorFile::Token(file) => check_envelope(name, file, &mut seen, &mut problems),
            AnyVectorFile::Provider(file) => {
                check_envelope(name, file, &mut seen, &mut problems);
                check_provider(name, file, &mut problems);
            }
            AnyVectorFile::Auth(file) => check_envelope(name, file, &mut seen, &mut problems),
        }
    }
    problems.extend(found_duplicates(files));
    problems.extend(token_rules(&tokens));
    problems
}

/// The bytes a provider case sends when it is what a found vector is, one step and no setup
/// (placeholders as written); `None` for any other case.
pub fn lone_input(case: &ProviderCase) -> Option<Vec<u8>> {
    let [step] = case.input.steps.as_slice() else {
        return None;
    };
    if !case.input.setup.is_empty() {
        return None;
    }
    step.send.bytes()
}

/// The committed provider case (no setup, one step) that already sends `input`, if any: a
/// found vector for the same bytes would judge one input twice, so `credlab fuzz` does not
/// write one (and [`found_duplicates`] refuses one written anyway).
pub fn committed_case_sending(input: &[u8]) -> Option<CaseId> {
    super::embedded::provider_files()
        .into_iter()
        .flat_map(|file| file.cases)
        .find(|case| lone_input(case).as_deref() == Some(input))
        .map(|case| case.id)
}

/// A found vector must add an input: one whose bytes a committed provider case (no setup, one
/// step) or an earlier found vector already sends is judged twice for one behaviour (the same
/// provider fails or passes both), so it is refused, naming the case that covers it. How stdin
/// is closed is not compared: the committed case decides that for its input.
fn found_duplicates(files: &[(String, AnyVectorFile)]) -> Vec<Problem> {
    let providers = || {
        files.iter().filter_map(|(name, f)| match f {
            AnyVectorFile::Provider(f) => Some((name, f)),
            AnyVectorFile::Token(_) | AnyVectorFile::Auth(_) => None,
        })
    };
    let is_found = |f: &ProviderFile| f.group == found::PROVIDER_GROUP;
    let mut committed: BTreeMap<Vec<u8>, &CaseId> = BTreeMap::new();
    for (_, file) in providers().filter(|(_, f)| !is_found(f)) {
        for case in &file.cases {
            if let Some(bytes) = lone_input(case) {
                committed.entry(bytes).or_insert(&case.id);
            }
        }
    }
    let mut found_before: BTreeMap<Vec<u8>, (&CaseId, &String)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, file) in providers().filter(|(_, f)| is_found(f)) {
        for case in &file.cases {
            let Some(bytes) = lone_input(case) else {
                continue;
            };
            let shown = crate::judge::provider::show(&bytes);
            if let Some(id) = committed.get(&bytes) {
                problems.push(problem(
                    name,
                    Some(&case.id),
                    format!(
                        "sends the same input as the committed case {id} ({shown}), which already judges it: a found vector must add an input no case sends; delete this file"
                    ),
                ));
            } else if let Some((id, other)) = found_before.get(&bytes) {
                problems.push(problem(
                    name,
                    Some(&case.id),
                    format!(
                        "sends the same input as the found vector {id} in {other} ({shown}): one input is judged once; delete one of the two files"
                    ),
                ));
            } else {
                found_before.insert(bytes, (&case.id, name));
            }
        }
    }
    problems
}

/// The rules every case file shares: the format, ids and aliases unique across all files, ids
/// inside the file's group, a description and a citation for every case.
fn check_envelope<I, E>(
    name: &str,
    file: &VectorFile<I, E>,
    seen: &mut HashSet<CaseId>,
    problems: &mut Vec<Problem>,
) {
    if file.format != FORMAT {
        problems.push(problem(
            name,
            None,
            format!("format is {:?}, expected {FORMAT:?}", file.format),
        ));
    }
    for case in &file.cases {
        let mut report = |message: String| problems.push(problem(name, Some(&case.id), message));
        for id in std::iter::once(&case.id).chain(&case.aliases) {
            if !seen.insert(id.clone()) {
                report(format!("the id {id} is used twice"));
            }
        }
        if case.id.group() != file.group {
            report(format!("the id is not in the file's group {}", file.group));
        }
        if case.description.trim().is_empty() {
            report("the description is empty".into());
        }
        if case.spec.is_empty() {
            report("no spec citation".into());
        }
    }
}

/// The rules of provider cases: steps to run, bytes that decode, and no `${…}` in a request
/// template that is not a placeholder (it would be sent as written: a slip, in a vector).
fn check_provider(name: &str, file: &ProviderFile, problems: &mut Vec<Problem>) {
    use crate::cases::provider::Send;
    use crate::cases::template::Template;
    for case in &file.cases {
        let mut report = |message: String| problems.push(problem(name, Some(&case.id), message));
        if case.input.steps.is_empty() {
            report("a provider case needs at least one step".into());
        }
        for step in case.input.setup.iter().chain(&case.input.steps) {
            let template = match &step.send {
                Send::Bytes { base64 } => {
                    if b64::decode(base64).is_err() {
                        report("a step's bytes are not base64url".into());
                    }
                    continue;
                }
                Send::Line { line: text, .. } | Send::Text { text } => Template::parse(text),
                Send::Nothing => continue,
            };
            for unknown in template.unknown_placeholders() {
                report(format!(
                    "a step's request has `{unknown}`, which is not a placeholder (see \
                     cases::template::Placeholder; a literal `${{` goes in a `bytes` send)"
                ));
            }
        }
    }
}

/// Reads and parses one token file, reporting JSON and schema errors with their location.
pub fn load(path: &Path, schema: &jsonschema::Validator) -> Result<TokenFile, Vec<Problem>> {
    load_as(path, schema)
}

/// Compiles the committed schema file.
pub fn compile_schema(path: &Path) -> Result<jsonschema::Validator, Problem> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| problem(&name, None, format!("cannot read the schema: {e}")))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| problem(&name, None, format!("the schema is not JSON: {e}")))?;
    jsonschema::validator_for(&value)
        .map_err(|e| problem(&name, None, format!("not a valid JSON Schema: {e}")))
}

/// The token vector files under `dir/tokens`, sorted by name.
pub fn token_paths(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join("tokens"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// A PASERK public key's id computed at the format level, so it exists even for keys that
/// are not valid points (those must then be refused at enrolment).
pub fn format_level_pid(paserk: &str) -> Option<String> {
    let data = paserk.strip_prefix(PUBLIC_PREFIX)?;
    let bytes = b64::decode(data).ok()?;
    let key = AsymmetricPublicKey::<V3>::from(&bytes).ok()?;
    let mut out = String::new();
    Id::from(&key).fmt(&mut out).ok()?;
    Some(out)
}

/// The semantic rules over a set of loaded token files: the envelope rules every file shares,
/// then the token rules.
pub fn check(files: &[(String, TokenFile)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (name, file) in files {
        check_envelope(name, file, &mut seen, &mut problems);
    }
    problems.extend(token_rules(files));
    problems
}

/// The rules of token cases: a clock that parses, a base that exists and is valid, no
/// Cargo-shaped token expected invalid, keys that match their ids, a signer that is enrolled.
fn token_rules(files: &[(String, TokenFile)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let expectations: BTreeMap<&CaseId, &TokenExpect> = files
        .iter()
        .flat_map(|(_, f)| f.cases.iter().map(|c| (&c.id, &c.expect)))
        .collect();
    for (name, file) in files {
        for case in &file.cases {
            let id = Some(&case.id);
            let mut report = |message: String| problems.push(problem(name, id, message));
            match case.clock.as_deref().map(crate::judge::token::clock) {
                Some(Ok(_)) => {}
                Some(Err(e)) => report(format!("clock: {e}")),
                None => report("a token case needs a clock".into()),
            }
            match (&case.base, &case.mutation) {
                (Some(base), Some(_)) => match expectations.get(base) {
                    None => report(format!("base {base} does not exist")),
                    Some(TokenExpect::Valid) => {}
                    Some(_) => report(format!("base {base} is not a valid case")),
                },
                (Some(_), None) => report("a derived case must say its mutation".into()),
                (None, Some(_)) => report("a mutation without a base".into()),
                (None, None) => {}
            }
            if case.is_cargo_shaped() && matches!(case.expect, TokenExpect::Invalid { .. }) {
                report(format!(
                    "flagged {CARGO_SHAPED} (real Cargo sends this token) yet expected invalid"
                ));
            }
            let refused_key = matches!(
                case.expect,
                TokenExpect::Invalid {
                    rejection: RejectionKind::InvalidPublicKey
                }
            );
            for key in &case.input.registry.keys {
                match PublicKey::from_paserk(&key.public) {
                    Ok(public) if public.id().as_str() == key.pid => {}
                    Ok(public) => report(format!(
                        "registered key {} has pid {}, not {}",
                        key.public,
                        public.id(),
                        key.pid
                    )),
                    Err(_) if refused_key => {
                        if format_level_pid(&key.public).is_some_and(|pid| pid != key.pid) {
                            report(format!(
                                "registered key {} does not have pid {}",
                                key.public, key.pid
                            ));
                        }
                    }
                    Err(e) => report(format!(
                        "registered key {} does not load ({e}), yet the case does not expect invalid-public-key",
                        key.public
                    )),
                }
            }
            if let Some(signer) = &case.input.signer {
                match SecretKey::from_paserk(&signer.secret) {
                    Ok(secret)
                        if secret.public_key().to_paserk() == signer.public
                            && secret.public_key().id().as_str() == signer.pid => {}
                    Ok(_) => {
                        report("the signer's public key or pid does not match its secret".into())
                    }
                    Err(e) => report(format!("the signer's secret does not load: {e}")),
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::{Fixture, token_file_name, token_files};

    fn generated() -> Vec<(String, TokenFile)> {
        token_files(&Fixture::offline())
            .into_iter()
            .map(|f| (token_file_name(&f.group), f))
            .collect()
    }

    #[test]
    fn generated_vectors_pass_the_semantic_rules() {
        let problems = check(&generated());
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn the_rules_can_fail() {
        let mut files = generated();
        let taken = files[0].1.cases[0].id.clone();
        let cases = &mut files[1].1.cases;
        cases[0].base = Some("token::valid::no-such-case".parse().unwrap());
        cases[1].id = taken;
        files[2].1.cases[0].input.registry.keys[0].pid = "k3.pid.wrong".into();
        files[3].1.cases[0].flags.push(CARGO_SHAPED);
        let messages: Vec<String> = check(&files).into_iter().map(|p| p.message).collect();
        assert!(
            messages.iter().any(|m| m.contains("does not exist")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("used twice")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("has pid")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("yet expected invalid")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_found_vector_repeating_an_input_is_refused_naming_the_case_that_covers_it() {
        use crate::cases::provider::Send;
        use crate::provider::CloseStdin;
        let mut files: Vec<(String, AnyVectorFile)> = crate::vectors::provider::provider_files()
            .into_iter()
            .map(|f| {
                (
                    format!("provider/{}.json", f.group),
                    AnyVectorFile::Provider(f),
                )
            })
            .collect();
        let blank = files
            .iter()
            .find_map(|(_, f)| match f {
                AnyVectorFile::Provider(f) => f
                    .cases
                    .iter()
                    .find(|c| c.id.as_str() == "provider::malformed::blank-line")
                    .cloned(),
                _ => None,
            })
            .expect("the blank-line case");
        let found_file = |slug: &str, input: &[u8]| {
            let mut case = blank.clone();
            case.id = format!("{}::{slug}", found::PROVIDER_GROUP)
                .parse()
                .unwrap();
            case.input.steps[0].send = Send::Bytes {
                base64: b64::encode(input),
            };
            // As the fuzzer writes it: stdin closed after the response.
            case.input.steps[0].close_stdin = CloseStdin::AfterResponse;
            let file = ProviderFile {
                format: FORMAT.into(),
                group: found::PROVIDER_GROUP.into(),
                description: "found".into(),
                cases: vec![case],
            };
            (
                format!("found/provider-{slug}.json"),
                AnyVectorFile::Provider(file),
            )
        };
        // Alone, a found vector with an input of its own is fine.
        files.push(found_file("crash-0000aaaa", b"x\n"));
        assert!(check_all(&files).is_empty(), "{:#?}", check_all(&files));
        files.push(found_file("hang-01ba4719", b"\n"));
        files.push(found_file("garbage-0000bbbb", b"x\n"));
        let problems = check_all(&files);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        let (blank_copy, found_copy) = (&problems[0], &problems[1]);
        assert_eq!(
            blank_copy.case.as_deref(),
            Some("found::provider::hang-01ba4719")
        );
        assert!(
            blank_copy
                .message
                .contains("same input as the committed case provider::malformed::blank-line"),
            "{blank_copy}"
        );
        assert_eq!(
            found_copy.case.as_deref(),
            Some("found::provider::garbage-0000bbbb")
        );
        assert!(
            found_copy.message.contains(
                "same input as the found vector found::provider::crash-0000aaaa in found/provider-crash-0000aaaa.json"
            ),
            "{found_copy}"
        );
    }

    #[test]
    fn an_undeclared_flag_is_a_problem_naming_the_flag_and_the_file() {
        let dir = std::env::temp_dir().join(format!("credlab-flags-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let mut file = serde_json::to_value(&generated()[0].1).unwrap();
        file["cases"][0]["flags"] = serde_json::json!(["Valid", "NoSuchFlag"]);
        let path = dir.join("tokens").join("valid.json");
        std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema()).unwrap();
        let problems = load_any(&path, &validator).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        let shown = problems[0].to_string();
        assert!(shown.starts_with(&path.display().to_string()), "{shown}");
        assert!(shown.contains("undeclared flag `NoSuchFlag`"), "{shown}");
        assert!(
            shown.contains(file["cases"][0]["id"].as_str().unwrap()),
            "{shown}"
        );
    }

    #[test]
    fn schema_accepts_generated_files_and_refuses_a_bad_one() {
        let validator = jsonschema::validator_for(&schema()).unwrap();
        for (_, file) in generated() {
            let value = serde_json::to_value(&file).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", file.group);
        }
        let mut bad = serde_json::to_value(&generated()[0].1).unwrap();
        bad["cases"][0]["expect"] =
            serde_json::json!({"result": "invalid", "rejection": "no-such-kind"});
        assert!(!validator.is_valid(&bad));
    }
}
