//! The matrix rendered: targets × case groups, as Markdown (`MATRIX.md`) and as one
//! self-contained HTML page in the spirit of Bowtie's and x509-limbo's (a colour-coded grid;
//! a drill-down per failure with what was sent and received; versions and dates).
//!
//! A case's group is its id without the last segment (`provider::get::basic` →
//! `provider::get`). A cell counts the target's cases in that group: passed (pass,
//! pass-nonstrict, xfail), failed (fail, hang, error, xpass) and skipped (skip,
//! unimplemented).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::{TargetKind, TargetResult};
use crate::report::CaseReport;
use crate::report::html::{anchor, case_details, class, detail, page};
use crate::text::{for_html as esc, for_markdown, for_terminal};

/// One cell: a target's cases in one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    /// The first case that did not pass, to link to.
    pub first_failure: Option<String>,
}

impl Cell {
    /// The colour: any failure is a failure; passes with skips are mixed.
    pub fn class(&self) -> &'static str {
        match (self.pass, self.fail, self.skip) {
            (0, 0, 0) => "none",
            (_, 1.., _) => "fail",
            (0, 0, _) => "skip",
            (_, 0, 0) => "pass",
            _ => "mixed",
        }
    }
}

/// The group of a case id.
pub fn group(id: &str) -> &str {
    id.rsplit_once("::").map_or(id, |(group, _)| group)
}

/// The cases of a result, across its reports.
fn cases(result: &TargetResult) -> impl Iterator<Item = &CaseReport> {
    result.reports.iter().flat_map(|r| &r.cases)
}

/// Every group of every result, sorted.
pub fn groups(results: &[TargetResult]) -> Vec<String> {
    let set: BTreeSet<&str> = results
        .iter()
        .flat_map(cases)
        .map(|c| group(c.id.as_str()))
        .collect();
    set.into_iter().map(str::to_string).collect()
}

/// A result's cells by group.
pub fn cells(result: &TargetResult) -> BTreeMap<String, Cell> {
    let mut cells: BTreeMap<String, Cell> = BTreeMap::new();
    for case in cases(result) {
        let cell = cells
            .entry(group(case.id.as_str()).to_string())
            .or_default();
        match class(case.verdict.kind()) {
            "pass" => cell.pass += 1,
            "skip" => cell.skip += 1,
            _ => {
                cell.fail += 1;
                if cell.first_failure.is_none() {
                    cell.first_failure = Some(case.id.as_str().to_string());
                }
            }
        }
    }
    cells
}

/// What a row says about its target, as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowVerdict {
    /// No verdict: the install, the fixture or credlab failed, or the run was killed.
    CouldNotRun(String),
    /// credlab ran but wrote no report.
    NoReport,
    /// This many scored failures.
    NotConformant(usize),
    /// Every scored case was skipped: the run tested nothing.
    NothingScoredRan,
    Conformant,
}

impl RowVerdict {
    pub fn of(result: &TargetResult) -> Self {
        if let Some(error) = &result.error {
            return Self::CouldNotRun(error.clone());
        }
        if result.reports.is_empty() {
            return Self::NoReport;
        }
        let failures: usize = result
            .reports
            .iter()
            .map(|r| r.summary.scored_failures)
            .sum();
        let ran: usize = result.reports.iter().map(|r| r.summary.scored_ran).sum();
        if failures > 0 {
            Self::NotConformant(failures)
        } else if ran == 0 {
            Self::NothingScoredRan
        } else {
            Self::Conformant
        }
    }

    /// The colour class of the verdict cell.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Conformant => "pass",
            Self::NotConformant(_) => "fail",
            Self::CouldNotRun(_) | Self::NoReport | Self::NothingScoredRan => "skip",
        }
    }
}

impl std::fmt::Display for RowVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CouldNotRun(error) => write!(f, "could not run: {error}"),
            Self::NoReport => f.write_str("no report"),
            Self::NotConformant(n) => write!(f, "not conformant ({n} scored failures)"),
            Self::NothingScoredRan => f.write_str("nothing scored ran"),
            Self::Conformant => f.write_str("conformant"),
        }
    }
}

/// The row's verdict, in words.
pub fn verdict(result: &TargetResult) -> String {
    let row = RowVerdict::of(result).to_string();
    if open_registry(result) {
        format!("{row}; it does not require authentication (config.json has no auth-required)")
    } else {
        row
    }
}

/// A registry whose config.json did not ask for tokens on reads (credlab's `auth-required`
/// fact): worth saying beside the verdict, since its read cases were all skipped for it.
fn open_registry(result: &TargetResult) -> bool {
    result.kind == TargetKind::Registry
        && result.reports.iter().any(|r| {
            r.target
                .facts
                .get("auth-required")
                .is_some_and(|v| v == "false")
        })
}

fn counts(cell: &Cell) -> String {
    format!("{}✓ {}✗ {}–", cell.pass, cell.fail, cell.skip)
}

/// `MATRIX.md`.
pub fn markdown(results: &[TargetResult]) -> String {
    let groups = groups(results);
    let mut out = String::from(
        "# The credlab conformance matrix\n\n\
         Each cell counts a target's cases in one group: passed ✓, failed ✗ (fail, hang, \
         error), skipped – (the target does not offer what the case needs). A failed cell \
         links to its first failure's evidence below. Regenerate with `credlab matrix run && \
         credlab matrix render`.\n\n| target | verdict |",
    );
    for g in &groups {
        let _ = write!(out, " `{g}` |");
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(groups.len()));
    out.push('\n');
    for result in results {
        let cells = cells(result);
        let _ = write!(
            out,
            "| [{}](#{}) | {} |",
            for_markdown(&result.title),
            result.name,
            for_markdown(&verdict(result))
        );
        for g in &groups {
            match cells.get(g) {
                None => out.push_str(" |"),
                Some(cell) => match &cell.first_failure {
                    Some(case) => {
                        let _ = write!(
                            out,
                            " [{}](#{}) |",
                            counts(cell),
                            anchor(&result.name, case)
                        );
                    }
                    None => {
                        let _ = write!(out, " {} |", counts(cell));
                    }
                },
            }
        }
        out.push('\n');
    }
    for result in results {
        let _ = writeln!(
            out,
            "\n<a id=\"{}\"></a>\n## {}\n\n{} — <{}>\n\nRun {} in {:.1} s; credlab exit code {}.\n",
            result.name,
            for_markdown(&result.title),
            for_markdown(&result.about),
            result.upstream,
            for_markdown(&result.started),
            result.duration_ms as f64 / 1000.0,
            result
                .exit_code
                .map_or("none (killed or not run)".to_string(), |c| c.to_string()),
        );
        let _ = writeln!(out, "Verdict: {}.", for_markdown(&verdict(result)));
        for case in cases(result).filter(|c| class(c.verdict.kind()) == "fail") {
            let _ = writeln!(
                out,
                "\n<a id=\"{}\"></a>\n### `{}` — {} ({})\n\n{}\n",
                anchor(&result.name, case.id.as_str()),
                case.id,
                case.verdict.kind().as_str(),
                case.level.as_str(),
                for_markdown(&detail(&case.verdict)),
            );
            if !case.evidence.is_empty() {
                out.push_str("```text\n");
                for evidence in &case.evidence {
                    let _ = writeln!(out, "# {}", for_terminal(&evidence.step));
                    for (label, text) in evidence.labelled() {
                        let _ = writeln!(out, "{label}: {}", for_terminal(text));
                    }
                }
                out.push_str("```\n");
            }
        }
    }
    out
}

/// The HTML page.
pub fn html(results: &[TargetResult]) -> String {
    let groups = groups(results);
    let mut body = String::from(
        "<h1>The credlab conformance matrix</h1>\n<p class=\"meta\">Each cell: passed ✓, \
         failed ✗ (fail, hang, error), skipped –. Click a failed cell for what was sent and \
         received.</p>\n<div class=\"grid\">\n<table id=\"matrix\">\n<tr><th>target</th><th>verdict</th>",
    );
    for g in &groups {
        // A group's name may break after each `::`, so a column is as wide as its counts.
        let name: Vec<String> = g.split("::").map(esc).collect();
        let _ = write!(body, "<th><code>{}</code></th>", name.join("::<wbr/>"));
    }
    body.push_str("</tr>\n");
    for result in results {
        let cells = cells(result);
        let _ = write!(
            body,
            "<tr data-target=\"{}\"><th><a href=\"#t-{}\">{}</a></th><td class=\"{}\">{}</td>",
            esc(&result.name),
            esc(&result.name),
            esc(&result.title),
            RowVerdict::of(result).class(),
            esc(&verdict(result)),
        );
        for g in &groups {
            let cell = cells.get(g).cloned().unwrap_or_default();
            let shown = match &cell.first_failure {
                Some(case) => format!(
                    "<a href=\"#{}\">{}</a>",
                    anchor(&result.name, case),
                    esc(&counts(&cell))
                ),
                None if cell.class() == "none" => String::new(),
                None => esc(&counts(&cell)),
            };
            let _ = write!(
                body,
                "<td class=\"n {}\" data-group=\"{}\" data-pass=\"{}\" data-fail=\"{}\" data-skip=\"{}\">{shown}</td>",
                cell.class(),
                esc(g),
                cell.pass,
                cell.fail,
                cell.skip,
            );
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</table>\n</div>\n");
    for result in results {
        let _ = writeln!(
            body,
            "<section id=\"t-{}\">\n<h2>{}</h2>\n<p>{} — <a href=\"{}\">{}</a></p>\n\
             <p class=\"meta\">run {} · {:.1} s · credlab exit code {} · {}</p>",
            esc(&result.name),
            esc(&result.title),
            esc(&result.about),
            esc(&result.upstream),
            esc(&result.upstream),
            esc(&result.started),
            result.duration_ms as f64 / 1000.0,
            result
                .exit_code
                .map_or("none".to_string(), |c| c.to_string()),
            result
                .reports
                .first()
                .map_or(String::new(), |r| format!("credlab {}", esc(&r.credlab))),
        );
        let _ = writeln!(
            body,
            "<p class=\"{}\">{}</p>",
            RowVerdict::of(result).class(),
            esc(&verdict(result))
        );
        for case in cases(result).filter(|c| class(c.verdict.kind()) == "fail") {
            case_details(&mut body, &result.name, case);
        }
        body.push_str("</section>\n");
    }
    page("The credlab conformance matrix", &body)
}
