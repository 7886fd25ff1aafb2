//! Found vectors (`vectors/found/`, written by `credlab fuzz`): the one loader, used by
//! `credlab vectors check` and by the runners that replay them (`--found`).
//!
//! A found vector is `provider-*.json` (a provider file in the group [`PROVIDER_GROUP`]) or
//! `registry-*.json` (a token file in the group [`REGISTRY_GROUP`]); beyond the schema, its
//! format must be [`FORMAT`], its group the one its name says, every id in that group, and
//! every token case must have a clock.

use std::path::{Path, PathBuf};

use super::check::{AnyVectorFile, Problem, load_as, problem};
use crate::cases::FORMAT;
use crate::cases::provider::ProviderFile;
use crate::cases::token::TokenFile;

pub const PROVIDER_GROUP: &str = "found::provider";
pub const REGISTRY_GROUP: &str = "found::registry";

/// A found vector: a provider file or a token file (never an authentication file).
#[derive(Debug, Clone)]
pub enum FoundFile {
    Provider(ProviderFile),
    Token(TokenFile),
}

impl From<FoundFile> for AnyVectorFile {
    fn from(file: FoundFile) -> Self {
        match file {
            FoundFile::Provider(f) => AnyVectorFile::Provider(f),
            FoundFile::Token(f) => AnyVectorFile::Token(f),
        }
    }
}

/// Reads one found vector: the schema (`schema`), then the found-vector rules. Reports the
/// first problem of the file, naming the file.
pub fn load_file(path: &Path, schema: &jsonschema::Validator) -> Result<FoundFile, Problem> {
    let name = path.display().to_string();
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let fail = |message: String| problem(&name, None, message);
    let file = if stem.starts_with("provider-") {
        FoundFile::Provider(load_as::<ProviderFile>(path, schema).map_err(first)?)
    } else if stem.starts_with("registry-") {
        FoundFile::Token(load_as::<TokenFile>(path, schema).map_err(first)?)
    } else {
        return Err(fail(
            "a found vector is named provider-*.json or registry-*.json".into(),
        ));
    };
    let (format, group, expected_group, ids) = match &file {
        FoundFile::Provider(f) => (
            &f.format,
            &f.group,
            PROVIDER_GROUP,
            f.cases.iter().map(|c| &c.id).collect::<Vec<_>>(),
        ),
        FoundFile::Token(f) => (
            &f.format,
            &f.group,
            REGISTRY_GROUP,
            f.cases.iter().map(|c| &c.id).collect(),
        ),
    };
    if format != FORMAT {
        return Err(fail(format!("format is {format:?}, expected {FORMAT:?}")));
    }
    if group != expected_group {
        return Err(fail(format!(
            "group is {group:?}, expected {expected_group:?}"
        )));
    }
    if let FoundFile::Token(f) = &file {
        for case in &f.cases {
            let id = Some(&case.id);
            match case.clock.as_deref().map(crate::judge::token::clock) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(problem(&name, id, format!("clock: {e}"))),
                None => return Err(problem(&name, id, "a token case needs a clock")),
            }
        }
    }
    for id in ids {
        if !id.as_str().starts_with(&format!("{expected_group}::")) {
            return Err(fail(format!(
                "case {id} is not in the group {expected_group}"
            )));
        }
    }
    Ok(file)
}

fn first(mut problems: Vec<Problem>) -> Problem {
    problems.remove(0)
}

/// Loads every found vector in `dir` (`provider-*.json` and `registry-*.json`), sorted by
/// file name, checked against the generated vector schema and the found-vector rules; the
/// error has one line per bad file. A missing directory holds no vectors.
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
    let validator = jsonschema::validator_for(&super::check::schema())
        .map_err(|e| format!("the vector schema does not compile: {e}"))?;
    let mut providers = Vec::new();
    let mut tokens = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match load_file(&path, &validator) {
            Ok(FoundFile::Provider(f)) => providers.push(f),
            Ok(FoundFile::Token(f)) => tokens.push(f),
            Err(p) => problems.push(p.to_string()),
        }
    }
    if problems.is_empty() {
        Ok((providers, tokens))
    } else {
        Err(problems.join("\n"))
    }
}
