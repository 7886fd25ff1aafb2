//! Markdown for `$GITHUB_STEP_SUMMARY` and pull-request comments.

use std::fmt::Write;

use super::{Report, Verdict};
use crate::text::for_markdown as cell;

pub fn render_markdown(report: &Report) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let badge = if s.conformant {
        "✅ conformant"
    } else {
        "❌ not conformant"
    };
    let _ = writeln!(
        out,
        "## credlab {}: {} {} — {badge}\n",
        report.credlab,
        cell(&report.target.kind),
        cell(&report.target.name)
    );
    let _ = writeln!(out, "| verdict | cases |\n|---|---|");
    for (verdict, n) in &s.counts {
        let _ = writeln!(out, "| {} | {n} |", verdict.as_str());
    }
    let notable: Vec<_> = report
        .cases
        .iter()
        .filter(|c| {
            !matches!(
                c.verdict,
                Verdict::Pass | Verdict::PassNonStrict { .. } | Verdict::Skip { .. }
            )
        })
        .collect();
    if !notable.is_empty() {
        let _ = writeln!(
            out,
            "\n| case | level | verdict | detail |\n|---|---|---|---|"
        );
        for case in notable {
            let detail = match &case.verdict {
                Verdict::Fail { expected, found }
                | Verdict::Xfail {
                    expected, found, ..
                } => format!("expected {expected}; found {found}"),
                Verdict::Xpass { reason } => format!("passes, but listed: {reason}"),
                Verdict::Hang { phase, after_ms } => {
                    format!("no answer at {phase} after {after_ms} ms")
                }
                Verdict::Error { message } => message.clone(),
                Verdict::Unimplemented { note } => note.clone(),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                case.id,
                case.level.as_str(),
                case.verdict.name(),
                cell(&detail)
            );
        }
    }
    for stale in &s.stale_expectations {
        let _ = writeln!(
            out,
            "\n- stale expectation (matches no case): {}",
            cell(stale)
        );
    }
    out
}
