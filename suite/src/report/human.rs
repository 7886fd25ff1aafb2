//! The human reporter: one progress line per case as it finishes, then every case that did
//! not pass with what was sent, expected and received, then the summary (cargo-nextest style).

use std::fmt::Write;

use super::{CaseReport, Report, Verdict};
use crate::cases::Level;
use crate::text::for_terminal as safe;

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// `    PASS [  12ms] provider::get::read`
pub fn progress_line(case: &CaseReport) -> String {
    let level = match case.level {
        Level::Must => "",
        Level::Should => " (should)",
        Level::Info => " (info)",
    };
    format!(
        "{:>14} [{:>6}] {}{level}",
        case.verdict.name().to_uppercase(),
        duration(case.duration_ms),
        case.id
    )
}

fn detail(out: &mut String, case: &CaseReport) {
    let _ = writeln!(
        out,
        "--- {} {} ({})",
        case.verdict.name().to_uppercase(),
        case.id,
        case.level.as_str()
    );
    match &case.verdict {
        Verdict::Fail { expected, found }
        | Verdict::Xfail {
            expected, found, ..
        } => {
            let _ = writeln!(out, "    expected: {}", safe(expected));
            let _ = writeln!(out, "    found:    {}", safe(found));
        }
        Verdict::Xpass { reason } => {
            let _ = writeln!(
                out,
                "    listed as an expected failure ({}), but it passed: update the expectations file",
                safe(reason)
            );
        }
        Verdict::Hang { phase, after_ms } => {
            let _ = writeln!(
                out,
                "    no answer at the {} phase after {}",
                safe(phase),
                duration(*after_ms)
            );
        }
        Verdict::Error { message } => {
            let _ = writeln!(out, "    credlab could not run the case: {}", safe(message));
        }
        _ => {}
    }
    if let Verdict::Xfail { reason, .. } = &case.verdict {
        let _ = writeln!(out, "    expected failure: {}", safe(reason));
    }
    for e in &case.evidence {
        let _ = writeln!(out, "    {}:", safe(&e.step));
        for (label, value) in e.labelled() {
            let _ = writeln!(out, "      {label:<9}{}", safe(value));
        }
    }
}

/// Everything after the progress lines.
pub fn render_human(report: &Report) -> String {
    let mut out = String::new();
    for case in &report.cases {
        if matches!(
            case.verdict,
            Verdict::Fail { .. }
                | Verdict::Xpass { .. }
                | Verdict::Hang { .. }
                | Verdict::Error { .. }
        ) {
            detail(&mut out, case);
        }
    }
    for case in &report.cases {
        if let Verdict::Xfail { reason, .. } = &case.verdict {
            let _ = writeln!(
                out,
                "--- XFAIL {} (expected failure: {})",
                case.id,
                safe(reason)
            );
        }
    }
    let s = &report.summary;
    let counts: Vec<String> = s
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {}", k.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "\n{} cases against {} {}: {}",
        s.total,
        safe(&report.target.kind),
        safe(&report.target.name),
        counts.join(", ")
    );
    let _ = writeln!(
        out,
        "{} of {} scored case(s) ran{}",
        s.scored_ran,
        s.scored_total,
        if s.strict {
            " (strict: must and should)"
        } else {
            " (must-level)"
        }
    );
    for stale in &s.stale_expectations {
        let _ = writeln!(out, "stale expectation (matches no case): {}", safe(stale));
    }
    let verdict = if s.conformant {
        "CONFORMANT".to_string()
    } else if s.scored_failures > 0 {
        format!(
            "NOT CONFORMANT: {} scored failure(s){}",
            s.scored_failures,
            if s.strict {
                " (strict: should-level counts)"
            } else {
                ""
            }
        )
    } else if s.scored_ran == 0 && s.stale_expectations.is_empty() {
        "NOTHING TESTED: no scored case ran (all filtered out or skipped)".to_string()
    } else {
        "NOT CONFORMANT: see xpass, stale expectations or errors above".to_string()
    };
    let _ = writeln!(out, "{verdict}");
    out
}
