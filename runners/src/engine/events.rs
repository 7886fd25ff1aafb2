//! The event stream a run emits and reporters consume. The runner core knows nothing of
//! terminals, formats or files (cargo-nextest's split between its runner and its reporter):
//! it says what happened, in order, and a [`Reporter`] decides what a human or a file sees.

use std::sync::Mutex;

use credlab_suite::cases::CaseId;
use credlab_suite::report::{CaseReport, Report, Target};

/// What happened during a run.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A target is about to run `cases` cases; its facts (what credlab learned about it) are
    /// known.
    TargetStarted { target: &'a Target, cases: usize },
    /// A case started (on some worker thread).
    CaseStarted { id: &'a CaseId },
    /// A case finished, before expectation files are applied.
    CaseFinished { case: &'a CaseReport },
    /// Every case of the target ran: its report, expectations applied.
    TargetFinished { report: &'a Report },
}

/// Consumes events. Called from worker threads, so it must be `Sync`; events of one case
/// arrive in order, events of different cases interleave.
pub trait Reporter: Sync {
    fn event(&self, event: Event<'_>);
}

/// Shows nothing (tests, and runs whose reports are only returned).
#[derive(Debug, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: Event<'_>) {}
}

/// Records what it saw, as text, for tests of the event stream.
#[derive(Debug, Default)]
pub struct Recorder(pub Mutex<Vec<String>>);

impl Reporter for Recorder {
    fn event(&self, event: Event<'_>) {
        let line = match event {
            Event::TargetStarted { target, cases } => format!("start {} {cases}", target.name),
            Event::CaseStarted { id } => format!("case {id}"),
            Event::CaseFinished { case } => format!("done {}", case.id),
            Event::TargetFinished { report } => format!("finish {}", report.target.name),
        };
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }
}
