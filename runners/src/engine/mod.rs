//! The runner core that provider, registry and verifier runs share: a target's cases become
//! [`Job`]s (an id, a level, scheduling hints and a closure that runs the case through its
//! transport and judge), [`execute`] runs them as a [`Schedule`] says while emitting
//! [`Event`]s, and [`run_target`] turns the results into the target's [`Report`].
//!
//! What differs between kinds of target lives in the kind's own module, as a function that
//! builds jobs (`provider_run::jobs`, `registry_run::jobs`, `verifier_run::jobs`); selection,
//! ordering, threads, events and the report are here, once. The CLI and the tests use the same
//! functions, so a test exercises exactly what a user runs.

mod events;
mod select;

pub use events::{Event, Recorder, Reporter, Silent};
pub use select::{Filter, FilterError, Order, Schedule};

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use credlab_suite::cases::{CaseId, Level};
use credlab_suite::judge::Outcome;
use credlab_suite::report::{CaseReport, Evidence, Expectations, Report, Target};

/// A case's result: the judge's outcome, what was exchanged (for cases that did not pass),
/// and how long it took.
#[derive(Debug, Clone)]
pub struct CaseRun {
    pub outcome: Outcome,
    pub evidence: Vec<Evidence>,
    pub duration: Duration,
}

impl CaseRun {
    /// A result timed from `started`.
    pub fn since(started: Instant, outcome: Outcome, evidence: Vec<Evidence>) -> Self {
        Self {
            outcome,
            evidence,
            duration: started.elapsed(),
        }
    }
}

/// The closure that runs one case.
pub type RunCase<'a> = Box<dyn Fn() -> CaseRun + Send + Sync + 'a>;

/// One case, ready to run.
pub struct Job<'a> {
    pub id: CaseId,
    /// The level the case is scored at on this target.
    pub level: Level,
    /// How much work the case is, compared in order (bigger first under
    /// [`Order::LongestFirst`]).
    pub cost: (usize, usize),
    /// Runs after every other job has finished: the case judges the whole run.
    pub last: bool,
    /// Never overlaps another exclusive job (cases that change state a target shares).
    pub exclusive: bool,
    pub run: RunCase<'a>,
}

impl<'a> Job<'a> {
    pub fn new(id: CaseId, level: Level, run: impl Fn() -> CaseRun + Send + Sync + 'a) -> Self {
        Self {
            id,
            level,
            cost: (0, 0),
            last: false,
            exclusive: false,
            run: Box::new(run),
        }
    }
}

/// A job that ran.
#[derive(Debug, Clone)]
pub struct Finished {
    pub id: CaseId,
    pub level: Level,
    pub run: CaseRun,
}

impl Finished {
    /// The case's line in the report, before expectations.
    pub fn report(&self) -> CaseReport {
        CaseReport {
            id: self.id.clone(),
            level: self.level,
            verdict: self.run.outcome.clone().into(),
            duration_ms: self.run.duration.as_millis().try_into().unwrap_or(u64::MAX),
            evidence: self.run.evidence.clone(),
        }
    }
}

/// Runs `jobs` as `schedule` says: the jobs not marked `last` first, on `schedule.jobs`
/// threads in `schedule.order`, exclusive ones taking turns; then the `last` ones the same
/// way. Each job emits `CaseStarted` and `CaseFinished`. Results come back in job order,
/// whatever order they ran in.
pub fn execute(jobs: Vec<Job<'_>>, schedule: Schedule, reporter: &dyn Reporter) -> Vec<Finished> {
    let (mut last, mut first): (Vec<usize>, Vec<usize>) =
        (0..jobs.len()).partition(|&i| jobs[i].last);
    for order in [&mut first, &mut last] {
        match schedule.order {
            Order::Declared => {}
            Order::LongestFirst => order.sort_by_cached_key(|&i| std::cmp::Reverse(jobs[i].cost)),
            Order::Shuffled(seed) => select::shuffle(order, seed),
        }
    }
    let turn = Mutex::new(());
    let results: Mutex<Vec<Option<CaseRun>>> = Mutex::new(vec![None; jobs.len()]);
    let pool = |order: &[usize]| {
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..schedule.jobs.clamp(1, order.len().max(1)) {
                scope.spawn(|| {
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let job = &jobs[i];
                        reporter.event(Event::CaseStarted { id: &job.id });
                        let turn = job
                            .exclusive
                            .then(|| turn.lock().unwrap_or_else(PoisonError::into_inner));
                        let started = Instant::now();
                        let run = std::panic::catch_unwind(AssertUnwindSafe(|| (job.run)()))
                            .unwrap_or_else(|panic| panicked(started, panic.as_ref()));
                        drop(turn);
                        let finished = Finished {
                            id: job.id.clone(),
                            level: job.level,
                            run,
                        };
                        reporter.event(Event::CaseFinished {
                            case: &finished.report(),
                        });
                        results.lock().unwrap_or_else(PoisonError::into_inner)[i] =
                            Some(finished.run);
                    }
                });
            }
        });
    };
    pool(&first);
    pool(&last);
    let runs = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    jobs.into_iter()
        .zip(runs)
        .map(|(job, run)| Finished {
            id: job.id,
            level: job.level,
            // Every job stores a result (a panic is caught as an error); should one be missing,
            // say so rather than lose the case.
            run: run.unwrap_or_else(|| CaseRun {
                outcome: Outcome::Error {
                    message: "the case left no result".into(),
                },
                evidence: Vec::new(),
                duration: Duration::ZERO,
            }),
        })
        .collect()
}

/// A case whose code panicked: credlab's own error (exit 70), never a verdict on the target,
/// and the other cases still run.
fn panicked(started: Instant, panic: &(dyn std::any::Any + Send)) -> CaseRun {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    CaseRun::since(
        started,
        Outcome::Error {
            message: format!("credlab panicked running the case: {message}"),
        },
        Vec::new(),
    )
}

/// What a run needs besides its jobs: where it goes and how it is scored.
pub struct RunSettings<'a> {
    pub schedule: Schedule,
    pub expectations: &'a Expectations,
    /// Count should-level failures too.
    pub strict: bool,
    pub reporter: &'a dyn Reporter,
}

/// Runs one target's jobs and builds its report (expectations applied), emitting
/// `TargetStarted` and `TargetFinished` around the cases.
pub fn run_target(target: Target, jobs: Vec<Job<'_>>, settings: &RunSettings) -> Report {
    settings.reporter.event(Event::TargetStarted {
        target: &target,
        cases: jobs.len(),
    });
    let finished = execute(jobs, settings.schedule, settings.reporter);
    let cases = finished.iter().map(Finished::report).collect();
    let report = Report::new(target, cases, settings.expectations, settings.strict);
    settings
        .reporter
        .event(Event::TargetFinished { report: &report });
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn id(text: &str) -> CaseId {
        text.parse().unwrap()
    }

    fn passing<'a>(name: &str, log: &'a Mutex<Vec<String>>) -> Job<'a> {
        let name = name.to_string();
        Job::new(id(&format!("t::{name}")), Level::Must, move || {
            log.lock().unwrap().push(name.clone());
            CaseRun::since(Instant::now(), Outcome::Pass, Vec::new())
        })
    }

    #[test]
    fn last_jobs_run_after_all_others_and_results_keep_job_order() {
        let log = Mutex::new(Vec::new());
        let mut jobs: Vec<Job> = (0..20).map(|i| passing(&format!("c{i}"), &log)).collect();
        jobs[3].last = true;
        let schedule = Schedule {
            jobs: 4,
            order: Order::Shuffled(1),
        };
        let finished = execute(jobs, schedule, &Silent);
        assert_eq!(log.lock().unwrap().last().map(String::as_str), Some("c3"));
        let ids: Vec<String> = finished.iter().map(|f| f.id.to_string()).collect();
        let expected: Vec<String> = (0..20).map(|i| format!("t::c{i}")).collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn exclusive_jobs_never_overlap() {
        let busy = AtomicBool::new(false);
        let overlapped = AtomicBool::new(false);
        let jobs: Vec<Job> = (0..16)
            .map(|i| {
                let mut job = Job::new(id(&format!("t::c{i}")), Level::Must, || {
                    if busy.swap(true, Ordering::SeqCst) {
                        overlapped.store(true, Ordering::SeqCst);
                    }
                    std::thread::yield_now();
                    busy.store(false, Ordering::SeqCst);
                    CaseRun::since(Instant::now(), Outcome::Pass, Vec::new())
                });
                job.exclusive = true;
                job
            })
            .collect();
        let schedule = Schedule {
            jobs: 8,
            order: Order::Declared,
        };
        execute(jobs, schedule, &Silent);
        assert!(!overlapped.load(Ordering::SeqCst));
    }

    #[test]
    fn longest_first_and_declared_orders() {
        let log = Mutex::new(Vec::new());
        let mut jobs: Vec<Job> = ["a", "b", "c"].iter().map(|n| passing(n, &log)).collect();
        jobs[0].cost = (1, 0);
        jobs[1].cost = (5, 0);
        jobs[2].cost = (1, 3);
        let one = |order| Schedule { jobs: 1, order };
        execute(jobs, one(Order::LongestFirst), &Silent);
        assert_eq!(*log.lock().unwrap(), ["b", "c", "a"]);
        log.lock().unwrap().clear();
        let jobs: Vec<Job> = ["a", "b", "c"].iter().map(|n| passing(n, &log)).collect();
        execute(jobs, Schedule::sequential(), &Silent);
        assert_eq!(*log.lock().unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn a_target_run_emits_its_events_in_order() {
        let log = Mutex::new(Vec::new());
        let recorder = Recorder::default();
        let target = Target {
            kind: "test".into(),
            name: "t".into(),
            facts: Default::default(),
        };
        let settings = RunSettings {
            schedule: Schedule::sequential(),
            expectations: &Expectations::default(),
            strict: false,
            reporter: &recorder,
        };
        let report = run_target(target, vec![passing("a", &log)], &settings);
        assert_eq!(report.exit_code(), 0);
        assert_eq!(
            *recorder.0.lock().unwrap(),
            ["start t 1", "case t::a", "done t::a", "finish t"]
        );
    }

    #[test]
    fn a_panicking_case_is_an_error_not_a_lost_result() {
        let log = Mutex::new(Vec::new());
        let jobs = vec![
            Job::new(id("t::boom"), Level::Must, || panic!("boom")),
            passing("after", &log),
        ];
        let finished = execute(jobs, Schedule::sequential(), &Silent);
        assert_eq!(
            finished[0].run.outcome,
            Outcome::Error {
                message: "credlab panicked running the case: boom".into()
            }
        );
        assert_eq!(finished[1].run.outcome, Outcome::Pass);
    }
}
