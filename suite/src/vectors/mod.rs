//! The token vector generator: cases as code, compiled to JSON (x509-limbo's approach).
//!
//! Each group module builds its cases from a [`Fixture`]. The offline fixture is fixed, so
//! `credlab vectors generate` is deterministic and the committed files must equal its output.
//! The registry runner builds the same cases from a live fixture (the operator's key, the
//! registry's URL and clock), so a case id means the same thing offline and over HTTP.

mod build;
pub mod check;
mod cite;
pub mod embedded;
mod expired;
pub mod fixture;
pub mod found;
mod malformed;
mod misbound;
pub mod provider;
pub mod registry;
mod replayed;
mod valid;

pub use fixture::Fixture;

use crate::cases::token::TokenFile;

/// Every token vector file, in a stable order.
pub fn token_files(fixture: &Fixture) -> Vec<TokenFile> {
    [
        valid::build(fixture),
        expired::build(fixture),
        replayed::build(fixture),
        misbound::build(fixture),
        malformed::build(fixture),
    ]
    .into_iter()
    .map(build::Group::into_file)
    .collect()
}

/// The file name of a group: `token::mis-bound` is `tokens/mis-bound.json`.
pub fn token_file_name(group: &str) -> String {
    format!("{}.json", group.rsplit("::").next().unwrap_or(group))
}

/// Pretty JSON with a final newline: the committed form of every generated file.
pub fn to_committed_json(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("vectors serialize");
    text.push('\n');
    text
}

/// Every generated file as (path relative to the vectors directory, contents).
pub fn render(fixture: &Fixture) -> Vec<(std::path::PathBuf, String)> {
    let mut files: Vec<(std::path::PathBuf, String)> = token_files(fixture)
        .iter()
        .map(|f| {
            (
                std::path::Path::new("tokens").join(token_file_name(&f.group)),
                to_committed_json(f),
            )
        })
        .collect();
    files.extend(provider::provider_files().iter().map(|f| {
        (
            std::path::Path::new("provider").join(token_file_name(&f.group)),
            to_committed_json(f),
        )
    }));
    files.extend(registry::auth_files().iter().map(|f| {
        (
            std::path::Path::new("registry").join(token_file_name(&f.group)),
            to_committed_json(f),
        )
    }));
    files.push((
        std::path::Path::new("schema").join("vectors.schema.json"),
        to_committed_json(&check::schema()),
    ));
    files
}
