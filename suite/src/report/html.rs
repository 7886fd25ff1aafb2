//! Self-contained HTML pages: one run (`--format html`) and, through [`page`], the
//! conformance matrix. No script, no external asset: the page is one file a CI run can
//! attach. Every text from a target goes through [`for_html`]. The markup is also
//! well-formed XML (void elements self-closed, every attribute quoted), so tests read it back
//! with an XML parser.

use std::fmt::Write;

use super::{CaseReport, Report, Verdict, VerdictKind};
use crate::text::for_html as esc;

/// The page's style: verdict colours, the grid, the drill-downs. The matrix grid is wider
/// than a screen: it scrolls in its own box (`.grid`), not the page, with the target names
/// kept in view (each of its cells draws its own borders, so the pinned column keeps its).
const STYLE: &str = "\
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f;background:#fff}\
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}\
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #d0d0d5;padding:.3rem .55rem;text-align:left;vertical-align:top}\
th{background:#f4f4f6}td.n{text-align:center;white-space:nowrap}\
.pass{background:#d9f2dd}.fail{background:#f8d4d4}.skip{background:#eeeeef;color:#555}.mixed{background:#fdf0c7}.none{background:#fff;color:#aaa}\
details{margin:.4rem 0;border:1px solid #d0d0d5;border-radius:4px;padding:.3rem .6rem}\
summary{cursor:pointer}pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f9;padding:.4rem;margin:.2rem 0}\
.meta{color:#555}code{font-size:.93em}\
.grid{overflow-x:auto;max-width:100%;margin:1rem 0}.grid table{margin:0}\
#matrix{border-collapse:separate;border-spacing:0}#matrix th,#matrix td{border-width:0 1px 1px 0}\
#matrix tr:first-child>*{border-top-width:1px}#matrix tr>:first-child{border-left-width:1px}\
#matrix tr>:first-child{position:sticky;left:0;z-index:1;min-width:13rem}#matrix td:nth-child(2){min-width:9rem}";

/// A whole page around `body` (already escaped markup).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n\
         <meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width\"/>\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}

/// The colour class of a verdict.
pub fn class(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::Pass | VerdictKind::PassNonstrict | VerdictKind::Xfail => "pass",
        VerdictKind::Skip | VerdictKind::Unimplemented => "skip",
        VerdictKind::Fail | VerdictKind::Hang | VerdictKind::Error | VerdictKind::Xpass => "fail",
    }
}

/// An anchor for a case of a target, unique on a page.
pub fn anchor(target: &str, case: &str) -> String {
    let mut out = String::from("c-");
    for c in target
        .chars()
        .chain(std::iter::once('-'))
        .chain(case.chars())
    {
        out.push(if c.is_ascii_alphanumeric() || c == '-' {
            c
        } else {
            '_'
        });
    }
    out
}

/// What a verdict says, in one line.
pub fn detail(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Pass => String::new(),
        Verdict::PassNonStrict { note } | Verdict::Unimplemented { note } => note.clone(),
        Verdict::Fail { expected, found }
        | Verdict::Xfail {
            expected, found, ..
        } => format!("expected {expected}; found {found}"),
        Verdict::Xpass { reason } => format!("passes, but listed: {reason}"),
        Verdict::Skip { reason } => reason.clone(),
        Verdict::Hang { phase, after_ms } => format!("no answer at {phase} after {after_ms} ms"),
        Verdict::Error { message } => message.clone(),
    }
}

/// One case's drill-down: its verdict and what was sent and received.
pub fn case_details(out: &mut String, target: &str, case: &CaseReport) {
    let kind = case.verdict.kind();
    let _ = write!(
        out,
        "<details id=\"{}\" class=\"{}\"><summary><code>{}</code> — {} ({})</summary>\n<p>{}</p>\n",
        anchor(target, case.id.as_str()),
        class(kind),
        esc(case.id.as_str()),
        kind.as_str(),
        case.level.as_str(),
        esc(&detail(&case.verdict)),
    );
    for evidence in &case.evidence {
        let _ = writeln!(out, "<p class=\"meta\">{}</p>", esc(&evidence.step));
        for (label, text) in evidence.labelled() {
            let _ = writeln!(out, "<pre>{label}: {}</pre>", esc(text));
        }
    }
    out.push_str("</details>\n");
}

/// `--format html`: one page, a section per target run.
pub fn render_html(reports: &[Report]) -> String {
    let body: String = reports.iter().map(section).collect();
    let title = match reports {
        [one] => format!("credlab: {}", one.target.name),
        _ => "credlab".to_string(),
    };
    page(&title, &body)
}

/// One run: the summary, every case coloured by verdict, and a drill-down for each case
/// that did not pass.
fn section(report: &Report) -> String {
    let s = &report.summary;
    let target = &report.target;
    let mut body = String::from("<section class=\"run\">\n");
    let verdict = if s.conformant {
        "conformant"
    } else {
        "not conformant"
    };
    let _ = writeln!(
        body,
        "<h1>credlab: {} <code>{}</code> — <span class=\"{}\">{verdict}</span></h1>",
        esc(&target.kind),
        esc(&target.name),
        if s.conformant { "pass" } else { "fail" },
    );
    let _ = writeln!(
        body,
        "<p class=\"meta\">credlab {} · {} cases · {} scored failures · {} of {} scored cases ran</p>",
        esc(&report.credlab),
        s.total,
        s.scored_failures,
        s.scored_ran,
        s.scored_total
    );
    body.push_str("<table id=\"counts\"><tr><th>verdict</th><th>cases</th></tr>\n");
    for (kind, n) in &s.counts {
        let _ = writeln!(
            body,
            "<tr class=\"{}\"><td>{}</td><td class=\"n\">{n}</td></tr>",
            class(*kind),
            kind.as_str()
        );
    }
    body.push_str("</table>\n<table id=\"cases\"><tr><th>case</th><th>level</th><th>verdict</th><th>detail</th></tr>\n");
    for case in &report.cases {
        let kind = case.verdict.kind();
        let id = esc(case.id.as_str());
        let shown = if class(kind) == "pass" {
            format!("<code>{id}</code>")
        } else {
            format!(
                "<a href=\"#{}\"><code>{id}</code></a>",
                anchor(&target.name, case.id.as_str())
            )
        };
        let _ = writeln!(
            body,
            "<tr class=\"{}\" data-case=\"{id}\" data-verdict=\"{}\"><td>{shown}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            class(kind),
            kind.as_str(),
            case.level.as_str(),
            kind.as_str(),
            esc(&detail(&case.verdict)),
        );
    }
    body.push_str("</table>\n<h2>What was exchanged</h2>\n");
    for case in report
        .cases
        .iter()
        .filter(|c| class(c.verdict.kind()) != "pass")
    {
        case_details(&mut body, &target.name, case);
    }
    body.push_str("</section>\n");
    body
}
