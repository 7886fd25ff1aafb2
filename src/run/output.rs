//! Where the report goes: --format on stdout, or into --report FILE with the human report on
//! stdout. Progress lines go to stdout in human mode, to stderr otherwise.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use credlab_runners::engine::{Event, Reporter};
use credlab_suite::report::{self, CaseReport, Report};

use super::Format;
use crate::exit::Failure;

/// Refuses a `--report` path the report could not be written to, before the run starts
/// (not after minutes of cases).
pub fn check_writable(path: &std::path::Path) -> Result<(), Failure> {
    if path.is_dir() {
        return Err(Failure::usage(format!(
            "--report {}: is a directory",
            path.display()
        )));
    }
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map(drop)
        .map_err(|e| Failure::usage(format!("--report {}: {e}", path.display())))
}

/// What every reporter renders: the report with the run's secrets replaced.
fn redacted(report: &Report) -> Report {
    report.redacted(crate::secrets::register())
}

pub struct Output {
    format: Format,
    file: Option<PathBuf>,
    lock: Mutex<()>,
}

impl Output {
    pub fn new(format: Format, file: Option<PathBuf>) -> Self {
        Self {
            format,
            file,
            lock: Mutex::new(()),
        }
    }

    fn human_on_stdout(&self) -> bool {
        self.format == Format::Human || self.file.is_some()
    }

    /// A line shown while the run goes on (secrets replaced, target text neutralised).
    pub fn note(&self, line: &str) {
        let line = crate::secrets::shown(line);
        let _guard = self.lock.lock();
        if self.human_on_stdout() {
            crate::out::outln!("{line}");
        } else {
            crate::out::errln!("{line}");
        }
    }

    /// Called from worker threads as each case finishes.
    fn progress(&self, case: &CaseReport) {
        self.note(&report::progress_line(case));
    }

    /// Prints the human part of one target's report.
    fn target_done(&self, report: &Report) {
        if self.human_on_stdout() {
            crate::out::out!("{}", report::render_human(&redacted(report)));
            let _ = std::io::stdout().flush();
        }
    }

    fn render(&self, reports: &[Report]) -> String {
        let reports: Vec<Report> = reports.iter().map(redacted).collect();
        let reports = reports.as_slice();
        match self.format {
            Format::Human => reports.iter().map(report::render_human).collect(),
            Format::Json if reports.len() == 1 => reports[0].to_json(),
            Format::Json => {
                let mut text = credlab_suite::text::json_safe(
                    &serde_json::to_string_pretty(reports).expect("reports serialize"),
                );
                text.push('\n');
                text
            }
            Format::Junit => reports
                .iter()
                .map(report::render_junit)
                .collect::<Vec<_>>()
                .join("\n"),
            Format::Markdown => reports
                .iter()
                .map(report::render_markdown)
                .collect::<Vec<_>>()
                .join("\n"),
            Format::Html => report::render_html(reports),
        }
    }

    /// Writes the machine-readable report once every target ran.
    pub fn finish(&self, reports: &[Report]) -> Result<(), Failure> {
        match &self.file {
            Some(path) => std::fs::write(path, self.render(reports))
                .map_err(|e| Failure::usage(format!("--report {}: {e}", path.display()))),
            None if self.format != Format::Human => {
                crate::out::out!("{}", self.render(reports));
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// The CLI's reporter: what credlab learned about the target when it starts, a line per case
/// as it finishes, the human report when the target is done. The machine formats are written
/// once, by [`Output::finish`], after every target.
impl Reporter for Output {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::TargetStarted { target, .. } => {
                for (key, value) in &target.facts {
                    self.note(&format!("  {key}: {value}"));
                }
            }
            Event::CaseStarted { .. } => {}
            Event::CaseFinished { case } => self.progress(case),
            Event::TargetFinished { report } => self.target_done(report),
        }
    }
}
