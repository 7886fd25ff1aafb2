//! Verdicts and the run report: what every reporter (human, JSON, JUnit, Markdown) renders,
//! and the exit code a CI gate acts on.

pub mod exit;
pub mod expect;
pub mod html;
mod human;
mod junit;
mod markdown;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use expect::{Expectation, Expectations};
pub use html::render_html;
pub use human::{progress_line, render_human};
pub use junit::render_junit;
pub use markdown::render_markdown;

use crate::cases::{CaseId, Level};
use crate::judge::Outcome;

/// The version of the report format.
pub const FORMAT: &str = "credlab-report/1";

/// A case's final verdict: its outcome, seen through the expectations file. Each variant
/// carries exactly what explains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "verdict", content = "detail", rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    /// The other conforming answer of an `acceptable` case.
    PassNonStrict {
        note: String,
    },
    Fail {
        expected: String,
        found: String,
    },
    /// A failure the expectations file lists.
    Xfail {
        reason: String,
        expected: String,
        found: String,
    },
    /// A listed failure that passed: the expectations file is out of date.
    Xpass {
        reason: String,
    },
    Skip {
        reason: String,
    },
    /// The target answered that it does not implement the operation.
    Unimplemented {
        note: String,
    },
    /// No answer before the deadline.
    Hang {
        phase: String,
        after_ms: u64,
    },
    /// credlab could not run the case.
    Error {
        message: String,
    },
}

/// Which verdict, without what explains it: what the summary counts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    Error,
    Fail,
    Hang,
    Pass,
    PassNonstrict,
    Skip,
    Unimplemented,
    Xfail,
    Xpass,
}

impl VerdictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Pass => "pass",
            VerdictKind::PassNonstrict => "pass-nonstrict",
            VerdictKind::Fail => "fail",
            VerdictKind::Xfail => "xfail",
            VerdictKind::Xpass => "xpass",
            VerdictKind::Skip => "skip",
            VerdictKind::Unimplemented => "unimplemented",
            VerdictKind::Hang => "hang",
            VerdictKind::Error => "error",
        }
    }
}

impl Verdict {
    pub fn kind(&self) -> VerdictKind {
        match self {
            Verdict::Pass => VerdictKind::Pass,
            Verdict::PassNonStrict { .. } => VerdictKind::PassNonstrict,
            Verdict::Fail { .. } => VerdictKind::Fail,
            Verdict::Xfail { .. } => VerdictKind::Xfail,
            Verdict::Xpass { .. } => VerdictKind::Xpass,
            Verdict::Skip { .. } => VerdictKind::Skip,
            Verdict::Unimplemented { .. } => VerdictKind::Unimplemented,
            Verdict::Hang { .. } => VerdictKind::Hang,
            Verdict::Error { .. } => VerdictKind::Error,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The target misbehaved (before expectations are applied).
    pub fn is_failure(&self) -> bool {
        matches!(self, Verdict::Fail { .. } | Verdict::Hang { .. })
    }
}

impl From<Outcome> for Verdict {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Pass => Verdict::Pass,
            Outcome::PassNonStrict { note } => Verdict::PassNonStrict { note },
            Outcome::Fail { expected, found } => Verdict::Fail { expected, found },
            Outcome::Skip { reason } => Verdict::Skip { reason },
            Outcome::Unimplemented { note } => Verdict::Unimplemented { note },
            Outcome::Hang { phase, after } => Verdict::Hang {
                phase,
                after_ms: after.as_millis().try_into().unwrap_or(u64::MAX),
            },
            Outcome::Error { message } => Verdict::Error { message },
        }
    }
}

/// What was exchanged in one step, shown (shortened, secrets redacted) for failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
}

impl Evidence {
    /// Each part of the step that was recorded, with its label, in the order reports show
    /// them.
    pub fn labelled(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("sent", &self.sent),
            ("received", &self.received),
            ("stderr", &self.stderr),
            ("exit", &self.exit),
        ]
        .into_iter()
        .filter_map(|(label, text)| Some((label, text.as_deref()?)))
    }
}

/// One case in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseReport {
    pub id: CaseId,
    pub level: Level,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub duration_ms: u64,
    /// What was sent and received, for cases that did not pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// The target that was judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// `provider`, `registry` or `verifier`.
    pub kind: String,
    /// What the user named (a path, a URL, `builtin:…`).
    pub name: String,
    /// What the harness found out or was told (features, keys, URLs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
}

/// Counts by verdict, and the verdict on the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub total: usize,
    pub counts: BTreeMap<VerdictKind, usize>,
    /// Must-level failures and hangs (and should-level ones under `--strict`).
    pub scored_failures: usize,
    /// Scored cases in the run (must-level, and should-level under `--strict`)…
    #[serde(default)]
    pub scored_total: usize,
    /// …and how many of them ran (were not skipped, and credlab could run them). A gate
    /// whose cases all skipped tested nothing.
    #[serde(default)]
    pub scored_ran: usize,
    /// Expectation entries that matched no case.
    pub stale_expectations: Vec<String>,
    pub conformant: bool,
    pub strict: bool,
}

impl Summary {
    /// How many cases got this verdict.
    pub fn count(&self, kind: VerdictKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Always [`FORMAT`].
    pub format: String,
    /// The credlab version that ran.
    pub credlab: String,
    pub target: Target,
    pub cases: Vec<CaseReport>,
    pub summary: Summary,
}

/// The JSON Schema of reports.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).expect("schemas serialize")
}

/// Whether a case of this level is scored (counts toward the gate).
fn counts_toward_gate(level: Level, strict: bool) -> bool {
    level == Level::Must || (strict && level == Level::Should)
}

/// Whether a verdict counts against conformance at this level.
fn scored(verdict: &Verdict, level: Level, strict: bool) -> bool {
    verdict.is_failure() && (level == Level::Must || (strict && level == Level::Should))
}

impl Report {
    /// Builds a report, applying the expectations file to the outcomes.
    pub fn new(
        target: Target,
        mut cases: Vec<CaseReport>,
        expectations: &Expectations,
        strict: bool,
    ) -> Self {
        let stale = expectations.apply(&mut cases);
        let mut summary = Summary {
            total: cases.len(),
            strict,
            stale_expectations: stale,
            ..Summary::default()
        };
        for case in &cases {
            *summary.counts.entry(case.verdict.kind()).or_default() += 1;
            if scored(&case.verdict, case.level, strict) {
                summary.scored_failures += 1;
            }
            if counts_toward_gate(case.level, strict) {
                summary.scored_total += 1;
                if !matches!(case.verdict, Verdict::Skip { .. } | Verdict::Error { .. }) {
                    summary.scored_ran += 1;
                }
            }
        }
        let xpass = summary.count(VerdictKind::Xpass);
        let errors = summary.count(VerdictKind::Error);
        summary.conformant = summary.scored_failures == 0
            && xpass == 0
            && summary.stale_expectations.is_empty()
            && errors == 0
            && summary.scored_ran > 0;
        Self {
            format: FORMAT.into(),
            credlab: env!("CARGO_PKG_VERSION").into(),
            target,
            cases,
            summary,
        }
    }

    /// This report's exit code ([`exit::of_report`]).
    pub fn exit_code(&self) -> u8 {
        exit::of_report(self)
    }

    /// The report with every secret in `secrets` replaced, in every text field (see
    /// [`crate::redact`]); what every reporter renders.
    pub fn redacted(&self, secrets: &crate::redact::Secrets) -> Self {
        let mut report = self.clone();
        if !secrets.is_empty() {
            report.map_text(&mut |text| {
                if let std::borrow::Cow::Owned(clean) = secrets.scrub(text) {
                    *text = clean;
                }
            });
        }
        report
    }

    /// Applies `f` to every free-text field (everything but ids, levels and counts).
    fn map_text(&mut self, f: &mut dyn FnMut(&mut String)) {
        f(&mut self.target.name);
        let facts = std::mem::take(&mut self.target.facts);
        for (mut key, mut value) in facts {
            f(&mut key);
            f(&mut value);
            self.target.facts.insert(key, value);
        }
        for case in &mut self.cases {
            match &mut case.verdict {
                Verdict::Pass => {}
                Verdict::PassNonStrict { note } | Verdict::Unimplemented { note } => f(note),
                Verdict::Fail { expected, found } => {
                    f(expected);
                    f(found);
                }
                Verdict::Xfail {
                    reason,
                    expected,
                    found,
                } => {
                    f(reason);
                    f(expected);
                    f(found);
                }
                Verdict::Xpass { reason } | Verdict::Skip { reason } => f(reason),
                Verdict::Hang { phase, .. } => f(phase),
                Verdict::Error { message } => f(message),
            }
            for e in &mut case.evidence {
                f(&mut e.step);
                for text in [&mut e.sent, &mut e.received, &mut e.stderr, &mut e.exit]
                    .into_iter()
                    .flatten()
                {
                    f(text);
                }
            }
        }
        self.summary.stale_expectations.iter_mut().for_each(f);
    }

    pub fn to_json(&self) -> String {
        let mut text =
            crate::text::json_safe(&serde_json::to_string_pretty(self).expect("reports serialize"));
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, level: Level, verdict: Verdict) -> CaseReport {
        CaseReport {
            id: id.parse().unwrap(),
            level,
            verdict,
            duration_ms: 1,
            evidence: Vec::new(),
        }
    }

    fn fail() -> Verdict {
        Verdict::Fail {
            expected: "a".into(),
            found: "b".into(),
        }
    }

    #[test]
    fn exit_codes() {
        let target = Target {
            kind: "provider".into(),
            name: "x".into(),
            facts: BTreeMap::new(),
        };
        let none = Expectations::default();
        let ok = Report::new(
            target.clone(),
            vec![case("p::a::b", Level::Must, Verdict::Pass)],
            &none,
            false,
        );
        assert_eq!(ok.exit_code(), 0);
        let should = Report::new(
            target.clone(),
            vec![
                case("p::a::b", Level::Should, fail()),
                case("p::a::c", Level::Must, Verdict::Pass),
            ],
            &none,
            false,
        );
        assert_eq!(should.exit_code(), 0);
        // Only a should-level case ran: no scored case did.
        let only_should = Report::new(
            target.clone(),
            vec![case("p::a::b", Level::Should, fail())],
            &none,
            false,
        );
        assert_eq!(only_should.exit_code(), exit::NO_TESTS);
        let all_skipped = Report::new(
            target.clone(),
            vec![case(
                "p::a::b",
                Level::Must,
                Verdict::Skip { reason: "x".into() },
            )],
            &none,
            false,
        );
        assert_eq!(all_skipped.exit_code(), exit::NO_TESTS);
        assert_eq!(all_skipped.summary.scored_total, 1);
        assert_eq!(all_skipped.summary.scored_ran, 0);
        assert!(!all_skipped.summary.conformant);
        assert_eq!(
            exit::combined(&[ok.clone(), all_skipped.clone()]),
            exit::NO_TESTS
        );
        let both = [ok.clone(), all_skipped.clone()];
        assert_eq!(exit::of_run(&both, exit::NoTests::Fail), (4, None));
        assert!(matches!(
            exit::of_run(&both, exit::NoTests::Warn),
            (0, Some(_))
        ));
        assert_eq!(exit::of_run(&both, exit::NoTests::Pass), (0, None));
        let strict = Report::new(
            target.clone(),
            vec![case("p::a::b", Level::Should, fail())],
            &none,
            true,
        );
        assert_eq!(strict.exit_code(), 1);
        let must = Report::new(
            target.clone(),
            vec![case("p::a::b", Level::Must, fail())],
            &none,
            false,
        );
        assert_eq!(must.exit_code(), 1);
        let error = Report::new(
            target,
            vec![case(
                "p::a::b",
                Level::Must,
                Verdict::Error {
                    message: "x".into(),
                },
            )],
            &none,
            false,
        );
        assert_eq!(error.exit_code(), 70);
    }

    use proptest::prelude::*;

    /// A report whose every free-text field is `text` (as a hostile target could make it).
    fn hostile_report(text: &str) -> Report {
        let t = || text.to_string();
        let verdicts = vec![
            Verdict::Fail {
                expected: t(),
                found: t(),
            },
            Verdict::Xfail {
                reason: t(),
                expected: t(),
                found: t(),
            },
            Verdict::Xpass { reason: t() },
            Verdict::Skip { reason: t() },
            Verdict::Unimplemented { note: t() },
            Verdict::Hang {
                phase: t(),
                after_ms: 1,
            },
            Verdict::Error { message: t() },
            Verdict::PassNonStrict { note: t() },
        ];
        let cases = verdicts
            .into_iter()
            .enumerate()
            .map(|(i, verdict)| CaseReport {
                id: format!("p::a::c{i}").parse().unwrap(),
                level: Level::Must,
                verdict,
                duration_ms: 1,
                evidence: vec![Evidence {
                    step: t(),
                    sent: Some(t()),
                    received: Some(t()),
                    stderr: Some(t()),
                    exit: Some(t()),
                }],
            })
            .collect();
        let mut report = Report::new(
            Target {
                kind: "provider".into(),
                name: t(),
                facts: [(t(), t())].into(),
            },
            cases,
            &Expectations::default(),
            false,
        );
        report.summary.stale_expectations.push(t());
        report
    }

    proptest! {
        /// Whatever a target sends, no line of any report carries a C0/C1 control character,
        /// a bidi override or an invisible formatting character.
        #[test]
        fn no_report_line_carries_target_controls(text in any::<String>()) {
            let report = hostile_report(&text);
            for (format, rendered) in [
                ("human", render_human(&report)),
                ("markdown", render_markdown(&report)),
                ("json", report.to_json()),
                ("junit", render_junit(&report)),
            ] {
                for line in rendered.lines() {
                    prop_assert!(
                        !line.chars().any(crate::text::is_unsafe),
                        "{format}: {line:?}"
                    );
                }
            }
        }

        /// Every free-text field is redacted: a secret in each of them is gone from the JSON.
        #[test]
        fn every_field_is_redacted(prefix in "[ -~]{0,8}") {
            let secret = "k3.secret.fNYVuMvBgOlljt9TDohnaYLblghqaHoQquVZwgR6X12cBFHZLFsaU3q7X3k1Zn36";
            let secrets = crate::redact::Secrets::new();
            secrets.add(crate::redact::SecretKind::LoginKey, "k", secret);
            let report = hostile_report(&format!("{prefix}{secret}")).redacted(&secrets);
            prop_assert!(!report.to_json().contains(&secret[10..26]));
        }
    }

    #[test]
    fn json_shape() {
        let json = serde_json::to_value(case("p::a::b", Level::Must, fail())).unwrap();
        assert_eq!(json["verdict"], "fail");
        assert_eq!(json["detail"]["expected"], "a");
        let pass = serde_json::to_value(case("p::a::b", Level::Must, Verdict::Pass)).unwrap();
        assert_eq!(pass["verdict"], "pass");
        assert!(pass.get("detail").is_none());
    }
}
