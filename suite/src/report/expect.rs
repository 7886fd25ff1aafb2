//! The expectations file: known failures of an imperfect target, so CI can gate on "no new
//! failures". An entry that matches no case, or a listed case that now passes, fails the run:
//! the file cannot rot silently (tlsfuzzer's XPASS, BoGo's stale-entry check).
//!
//! ```toml
//! [[expected-failure]]
//! id = "provider::login::*"          # a case id, or a glob over ids
//! reason = "login is interactive by design"
//! issue = "https://github.com/me/my-provider/issues/7"   # optional
//! ```

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use super::{CaseReport, Verdict};

/// One entry of the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub id: String,
    pub reason: String,
    #[serde(default)]
    pub issue: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    #[serde(default)]
    expected_failure: Vec<Expectation>,
}

/// Why an expectations file does not load.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    /// Not TOML, or not the file's shape (the message names the line).
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// An entry's `id` is not a valid glob.
    #[error("id {id:?} is not a valid glob: {source}")]
    Glob { id: String, source: globset::Error },
}

/// A parsed expectations file.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    entries: Vec<(Expectation, GlobMatcher)>,
}

impl Expectations {
    /// Parses the TOML text; errors name the line and say what is wrong.
    pub fn parse(text: &str) -> Result<Self, ExpectationsError> {
        let file: File = toml::from_str(text)?;
        let mut entries = Vec::new();
        for entry in file.expected_failure {
            let glob = match Glob::new(&entry.id) {
                Ok(glob) => glob.compile_matcher(),
                Err(source) => {
                    return Err(ExpectationsError::Glob {
                        id: entry.id,
                        source,
                    });
                }
            };
            entries.push((entry, glob));
        }
        Ok(Self { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Turns listed failures into xfail and listed passes into xpass; returns the ids of
    /// entries that matched no case.
    pub fn apply(&self, cases: &mut [CaseReport]) -> Vec<String> {
        let mut used = vec![false; self.entries.len()];
        for case in cases.iter_mut() {
            let Some(index) = self
                .entries
                .iter()
                .position(|(_, glob)| glob.is_match(case.id.as_str()))
            else {
                continue;
            };
            used[index] = true;
            let (entry, _) = &self.entries[index];
            let reason = match &entry.issue {
                Some(issue) => format!("{} ({issue})", entry.reason),
                None => entry.reason.clone(),
            };
            case.verdict = match std::mem::replace(&mut case.verdict, Verdict::Pass) {
                Verdict::Fail { expected, found } => Verdict::Xfail {
                    reason,
                    expected,
                    found,
                },
                Verdict::Hang { phase, after_ms } => Verdict::Xfail {
                    reason,
                    expected: "an answer".into(),
                    found: format!("no answer at {phase} after {after_ms} ms"),
                },
                Verdict::Pass | Verdict::PassNonStrict { .. } => Verdict::Xpass { reason },
                other => other,
            };
        }
        self.entries
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|((entry, _), _)| entry.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::Level;

    fn case(id: &str, verdict: Verdict) -> CaseReport {
        CaseReport {
            id: id.parse().unwrap(),
            level: Level::Must,
            verdict,
            duration_ms: 0,
            evidence: Vec::new(),
        }
    }

    #[test]
    fn xfail_xpass_and_stale() {
        let expectations = Expectations::parse(
            r#"
            [[expected-failure]]
            id = "provider::login::*"
            reason = "interactive"
            [[expected-failure]]
            id = "provider::get::read"
            reason = "fixed since"
            [[expected-failure]]
            id = "provider::gone::case"
            reason = "renamed"
            "#,
        )
        .unwrap();
        let mut cases = vec![
            case(
                "provider::login::with-token",
                Verdict::Fail {
                    expected: "a".into(),
                    found: "b".into(),
                },
            ),
            case("provider::get::read", Verdict::Pass),
            case("provider::get::publish", Verdict::Pass),
        ];
        let stale = expectations.apply(&mut cases);
        assert_eq!(cases[0].verdict.name(), "xfail");
        assert_eq!(cases[1].verdict.name(), "xpass");
        assert_eq!(cases[2].verdict.name(), "pass");
        assert_eq!(stale, vec!["provider::gone::case".to_string()]);
    }

    #[test]
    fn bad_files_say_why() {
        assert!(
            Expectations::parse("[[expected-failure]]\nid = \"x\"\n")
                .unwrap_err()
                .to_string()
                .contains("reason")
        );
        assert!(
            Expectations::parse("[[expected-failure]]\nid = \"[\"\nreason = \"r\"\n")
                .unwrap_err()
                .to_string()
                .contains("glob")
        );
        assert!(Expectations::parse("bogus = 1\n").is_err());
    }
}
