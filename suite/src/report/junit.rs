//! JUnit XML (through `quick-junit`, what cargo-nextest uses), one test suite per case group.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::{Report, Verdict};

pub fn render_junit(report: &Report) -> String {
    let mut junit = quick_junit::Report::new(format!("credlab {}", report.target.name));
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    for case in &report.cases {
        let status = match &case.verdict {
            Verdict::Pass | Verdict::PassNonStrict { .. } => TestCaseStatus::success(),
            Verdict::Fail { expected, found } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("expected {expected}; found {found}"))
                    .set_type(format!("{}-level failure", case.level.as_str()));
                s
            }
            Verdict::Xpass { reason } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!(
                    "listed as an expected failure ({reason}) but passed"
                ))
                .set_type("xpass");
                s
            }
            Verdict::Hang { phase, after_ms } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("no answer at {phase} after {after_ms} ms"))
                    .set_type("hang");
                s
            }
            Verdict::Error { message } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(message.clone());
                s
            }
            Verdict::Xfail { reason, .. } => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("expected failure: {reason}"));
                s
            }
            Verdict::Skip { reason } => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(reason.clone());
                s
            }
            Verdict::Unimplemented { note } => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("unimplemented: {note}"));
                s
            }
        };
        let mut test = TestCase::new(case.id.as_str(), status);
        test.set_classname(case.id.group())
            .set_time(Duration::from_millis(case.duration_ms));
        if !case.evidence.is_empty() {
            test.set_system_out(serde_json::to_string_pretty(&case.evidence).expect("serializes"));
        }
        suites
            .entry(case.id.group())
            .or_insert_with(|| TestSuite::new(case.id.group()))
            .add_test_case(test);
    }
    junit.add_test_suites(suites.into_values());
    crate::text::xml_safe(&junit.to_string().expect("JUnit XML serializes"))
}
