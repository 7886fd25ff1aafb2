//! The one fuzz campaign both black-box fuzzers run ([`super::provider`], [`super::registry`]).
//!
//! Within the bounds, for every input: draw it from its own stream
//! ([`Rng::for_iteration`]), try it, count it when its signature was reported already, confirm
//! a hang with twice the deadline, shrink it while the same kind reproduces (and confirm a
//! shrunk hang again), write its vector and record the finding. A target only says how its
//! inputs are made, tried, shrunk and kept ([`Target`]).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::found::WriteError;
use super::rng::Rng;
use super::{Finding, FindingKind, FuzzOptions, FuzzReport, shrink};

/// What one try of an input showed, when it is a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub kind: FindingKind,
    pub detail: String,
    /// The kind plus what exactly happened (`crash-exit-101`, `hang-response`,
    /// `server-error-500`), for telling findings apart with `keep_going`.
    pub signature: String,
}

/// The deadline an input is tried with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// [`FuzzOptions::timeout`].
    Usual,
    /// Twice that: a hang is reported only if it lasts this long too, so that a slow start is
    /// not taken for one.
    Doubled,
}

/// The regression vector of a finding.
#[derive(Debug)]
pub struct FoundVector {
    /// `found::provider::<kind>-<hash8>` or `found::registry::<kind>-<hash8>`.
    pub case_id: String,
    /// The file written, or why not; `None` when no directory was given.
    pub written: Option<Result<PathBuf, WriteError>>,
}

/// What the campaign needs of a fuzz target.
pub trait Target {
    /// What an input holds besides the bytes that are shrunk, fixed while they are (the
    /// registry's endpoint; nothing for a provider).
    type Setting;
    /// Why an input could not be tried: a note, not a finding.
    type Error: std::fmt::Display;
    /// What one input is called in progress lines and notes.
    const INPUT: &'static str;
    /// And several of them.
    const INPUTS: &'static str;

    /// Input `iteration`, drawn from `rng` alone (so a seed gives the same inputs every run).
    fn input(&self, rng: &mut Rng, iteration: u64) -> (Self::Setting, Vec<u8>);

    /// Tries one input: what it showed, if it is a finding.
    fn try_input(
        &self,
        setting: &Self::Setting,
        input: &[u8],
        deadline: Deadline,
    ) -> Result<Option<Observed>, Self::Error>;

    /// Whether no later input can be tried either (the target cannot be started at all).
    fn is_fatal(&self, error: &Self::Error) -> bool;

    /// How many bytes at the end of `input` shrinking leaves alone.
    fn kept_suffix(&self, input: &[u8]) -> usize;

    /// A shrink candidate as it is tried and kept (a registry token must stay a header value).
    fn as_sent(&self, candidate: &[u8]) -> Vec<u8>;

    /// The regression vector of a finding, written into `dir` when there is one.
    fn vector(
        &self,
        kind: FindingKind,
        setting: &Self::Setting,
        minimized: &[u8],
        dir: Option<&Path>,
    ) -> FoundVector;
}

/// One run of fuzzing: the bounds, progress every 50 inputs, the report, and which finding
/// signatures were reported already.
pub struct Campaign<'a> {
    opts: &'a FuzzOptions,
    started: Instant,
    max_iterations: Option<u64>,
    max_duration: Option<Duration>,
    /// What one input is called in progress lines ("inputs", "tokens").
    noun: &'static str,
    progress: &'a dyn Fn(&str),
    signatures: HashSet<String>,
    report: FuzzReport,
}

impl<'a> Campaign<'a> {
    /// A campaign whose clock starts now (the setup of a target counts toward
    /// [`FuzzOptions::duration`]).
    pub fn new(opts: &'a FuzzOptions, noun: &'static str, progress: &'a dyn Fn(&str)) -> Self {
        let (max_iterations, max_duration) = opts.bounds();
        Self {
            opts,
            started: Instant::now(),
            max_iterations,
            max_duration,
            noun,
            progress,
            signatures: HashSet::new(),
            report: FuzzReport {
                iterations: 0,
                findings: Vec::new(),
                elapsed: Duration::ZERO,
                duplicates: 0,
                notes: Vec::new(),
            },
        }
    }

    pub fn progress(&self, line: &str) {
        (self.progress)(line)
    }

    pub fn note(&mut self, note: String) {
        self.report.notes.push(note);
    }

    /// Fuzzes `target` until a bound is reached (or the first finding, without
    /// [`FuzzOptions::keep_going`]), and reports.
    pub fn run<T: Target>(mut self, target: &T) -> FuzzReport {
        while let Some(iteration) = self.next_iteration() {
            let mut rng = Rng::for_iteration(self.opts.seed, iteration);
            let (setting, input) = target.input(&mut rng, iteration);
            let first = match target.try_input(&setting, &input, Deadline::Usual) {
                Ok(Some(first)) => first,
                Ok(None) => continue,
                Err(e) => {
                    self.note(format!("input {iteration}: {e}"));
                    if target.is_fatal(&e) {
                        break;
                    }
                    continue;
                }
            };
            if self.is_duplicate(&first.signature) {
                continue;
            }
            if first.kind == FindingKind::Hang && !hang_confirmed(target, &setting, &input) {
                self.note(format!(
                    "input {iteration}: hung once, but not again with twice the deadline (not reported)"
                ));
                continue;
            }
            self.progress(&format!(
                "found {} at input {iteration} ({}); shrinking a {}-byte {}",
                first.kind,
                first.detail,
                input.len(),
                T::INPUT
            ));
            let signature = first.signature.clone();
            let finding = self.shrink_and_write(target, iteration, &setting, input, first);
            if !self.record(signature, finding) {
                break;
            }
        }
        self.finish()
    }

    /// The number of the next input, or `None` once a bound is reached.
    fn next_iteration(&mut self) -> Option<u64> {
        let i = self.report.iterations;
        if self.max_iterations.is_some_and(|m| i >= m)
            || self
                .max_duration
                .is_some_and(|d| self.started.elapsed() >= d)
        {
            return None;
        }
        self.report.iterations += 1;
        if self.report.iterations.is_multiple_of(50) {
            self.progress(&format!(
                "  {} {}, {} findings, {:.1} s",
                self.report.iterations,
                self.noun,
                self.report.findings.len(),
                self.started.elapsed().as_secs_f64()
            ));
        }
        Some(i)
    }

    /// Whether a finding with `signature` was reported already (then it is counted).
    fn is_duplicate(&mut self, signature: &str) -> bool {
        let seen = self.signatures.contains(signature);
        if seen {
            self.report.duplicates += 1;
        }
        seen
    }

    /// Shrinks `input` while it gives `first`'s kind, then writes the vector of the smallest.
    fn shrink_and_write<T: Target>(
        &mut self,
        target: &T,
        iteration: u64,
        setting: &T::Setting,
        input: Vec<u8>,
        first: Observed,
    ) -> Finding {
        let kind = first.kind;
        // Every try of a hanging input costs a whole deadline.
        let budget = if kind == FindingKind::Hang {
            self.opts.shrink_budget / 4
        } else {
            self.opts.shrink_budget
        };
        // What each reproducing candidate showed, so the finding describes the minimized one.
        let mut seen: BTreeMap<Vec<u8>, Observed> = BTreeMap::new();
        let keep = target.kept_suffix(&input);
        let shrunk = shrink::shrink(&input, keep, budget, &mut |candidate| {
            let candidate = target.as_sent(candidate);
            match target.try_input(setting, &candidate, Deadline::Usual) {
                Ok(Some(o)) if o.kind == kind => {
                    seen.insert(candidate, o);
                    true
                }
                _ => false,
            }
        });
        let mut minimized = target.as_sent(&shrunk.input);
        let mut detail = seen.remove(&minimized).unwrap_or(first.clone()).detail;
        if kind == FindingKind::Hang
            && minimized != input
            && !hang_confirmed(target, setting, &minimized)
        {
            self.note(format!(
                "input {iteration}: the shrunk {} did not hang again with twice the deadline; kept the original",
                T::INPUT
            ));
            minimized = input.clone();
            detail = first.detail;
        }
        let found = target.vector(kind, setting, &minimized, self.opts.found_dir.as_deref());
        let vector = match found.written {
            None => None,
            Some(Ok(path)) => Some(path),
            Some(Err(e)) => {
                self.note(e.to_string());
                None
            }
        };
        Finding {
            kind,
            case_id: found.case_id,
            input,
            minimized,
            detail,
            vector,
            iteration,
            shrink_attempts: shrunk.attempts,
        }
    }

    /// Records a shrunk finding under `signature`; whether to go on fuzzing.
    fn record(&mut self, signature: String, finding: Finding) -> bool {
        self.progress(&format!(
            "  {} -> {} bytes in {} attempts: {}{}",
            finding.input.len(),
            finding.minimized.len(),
            finding.shrink_attempts,
            finding.case_id,
            finding
                .vector
                .as_ref()
                .map(|p| format!(" (wrote {})", p.display()))
                .unwrap_or_default()
        ));
        self.signatures.insert(signature);
        self.report.findings.push(finding);
        self.opts.keep_going
    }

    /// The report, as it stands (all there is for a target with nothing to fuzz).
    pub fn finish(mut self) -> FuzzReport {
        self.report.elapsed = self.started.elapsed();
        self.report
    }
}

/// Whether `input` still hangs with twice the deadline.
fn hang_confirmed<T: Target>(target: &T, setting: &T::Setting, input: &[u8]) -> bool {
    matches!(
        target.try_input(setting, input, Deadline::Doubled),
        Ok(Some(o)) if o.kind == FindingKind::Hang
    )
}

#[cfg(test)]
mod tests {
    use super::super::DEFAULT_SHRINK_BUDGET;
    use super::*;

    /// A target in memory, so the loop itself is tested without processes or sockets: an
    /// input with `#` crashes it; one with `~` hangs it; one with `!` hangs it too (with a
    /// signature of its own), but not for twice the deadline (a slow start); one that starts
    /// with `E` cannot be sent.
    struct Toy {
        /// `E` inputs stop the campaign.
        errors_are_fatal: bool,
        /// Writing a vector fails (with a directory given).
        write_fails: bool,
    }

    impl Toy {
        fn new() -> Self {
            Toy {
                errors_are_fatal: false,
                write_fails: false,
            }
        }
    }

    impl Target for Toy {
        type Setting = ();
        type Error = String;
        const INPUT: &'static str = "input";
        const INPUTS: &'static str = "inputs";

        fn input(&self, rng: &mut Rng, _: u64) -> ((), Vec<u8>) {
            let len = rng.between(8, 40);
            let bytes = (0..len).map(|_| *rng.pick(b"abcdefgh#~!E\n")).collect();
            ((), bytes)
        }

        fn try_input(
            &self,
            _: &(),
            input: &[u8],
            deadline: Deadline,
        ) -> Result<Option<Observed>, String> {
            let observed = |kind, signature: &str| {
                Ok(Some(Observed {
                    kind,
                    detail: format!("{signature} on {} bytes", input.len()),
                    signature: signature.into(),
                }))
            };
            if input.starts_with(b"E") {
                Err("cannot send".into())
            } else if input.contains(&b'#') {
                observed(FindingKind::Crash, "crash")
            } else if input.contains(&b'~') {
                observed(FindingKind::Hang, "hang")
            } else if input.contains(&b'!') && deadline == Deadline::Usual {
                observed(FindingKind::Hang, "hang-slowly")
            } else {
                Ok(None)
            }
        }

        fn is_fatal(&self, _: &String) -> bool {
            self.errors_are_fatal
        }

        fn kept_suffix(&self, input: &[u8]) -> usize {
            usize::from(input.ends_with(b"\n"))
        }

        fn as_sent(&self, candidate: &[u8]) -> Vec<u8> {
            candidate.to_vec()
        }

        fn vector(
            &self,
            kind: FindingKind,
            _: &(),
            minimized: &[u8],
            dir: Option<&Path>,
        ) -> FoundVector {
            let case_id = format!("found::toy::{kind}-{}", hex::encode(minimized));
            let written = dir.map(|dir| {
                if self.write_fails {
                    Err(WriteError::Inexpressible {
                        id: case_id.clone(),
                        why: "the toy says so".into(),
                    })
                } else {
                    Ok(dir.join(format!("{kind}.json")))
                }
            });
            FoundVector { case_id, written }
        }
    }

    fn options(seed: u64, keep_going: bool) -> FuzzOptions {
        FuzzOptions {
            seed,
            iterations: Some(200),
            keep_going,
            found_dir: Some(PathBuf::from("/found")),
            ..FuzzOptions::default()
        }
    }

    fn fuzz(target: &Toy, opts: &FuzzOptions) -> FuzzReport {
        Campaign::new(opts, Toy::INPUTS, &|_| {}).run(target)
    }

    /// Everything a finding says, compared whole.
    type Shown = (FindingKind, String, Vec<u8>, Vec<u8>, String, u64, usize);

    fn shown(report: &FuzzReport) -> Vec<Shown> {
        report
            .findings
            .iter()
            .map(|f| {
                (
                    f.kind,
                    f.case_id.clone(),
                    f.input.clone(),
                    f.minimized.clone(),
                    f.detail.clone(),
                    f.iteration,
                    f.shrink_attempts,
                )
            })
            .collect()
    }

    /// `input` without its final `\n`, sorted.
    fn body_sorted(input: &[u8]) -> Vec<u8> {
        let mut body = input.strip_suffix(b"\n").unwrap_or(input).to_vec();
        body.sort_unstable();
        body
    }

    #[test]
    fn a_seed_gives_the_same_findings_every_run() {
        let opts = options(3, true);
        let first = fuzz(&Toy::new(), &opts);
        let again = fuzz(&Toy::new(), &opts);
        assert_eq!(shown(&first), shown(&again));
        assert_eq!(first.notes, again.notes);
        assert_eq!(first.duplicates, again.duplicates);
        assert_eq!(first.iterations, 200);
        // One finding per signature; the others are counted.
        let mut kinds: Vec<FindingKind> = first.findings.iter().map(|f| f.kind).collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [FindingKind::Crash, FindingKind::Hang],
            "{:?}",
            shown(&first)
        );
        assert!(first.duplicates > 0);
        for f in &first.findings {
            // Shrunk to the one byte it needs (the final `\n` kept), or kept whole when the
            // shrunk input did not hang again.
            let kept_whole = f.minimized == f.input
                && first.notes.contains(&format!(
                    "input {}: the shrunk input did not hang again with twice the deadline; kept the original",
                    f.iteration
                ));
            let needed = match f.kind {
                FindingKind::Crash => b"#",
                _ => b"~",
            };
            assert!(body_sorted(&f.minimized) == needed || kept_whole, "{f:?}");
            assert_eq!(f.minimized.ends_with(b"\n"), f.input.ends_with(b"\n"));
            assert_eq!(
                f.detail,
                format!("{} on {} bytes", f.kind, f.minimized.len())
            );
            let path = PathBuf::from(format!("/found/{}.json", f.kind));
            assert_eq!(f.vector, Some(path));
        }
        // Another seed sends other inputs.
        let other = fuzz(&Toy::new(), &options(4, true));
        assert_ne!(shown(&first), shown(&other));
    }

    #[test]
    fn the_first_finding_ends_a_run_that_does_not_keep_going() {
        let report = fuzz(&Toy::new(), &options(3, false));
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.iterations, report.findings[0].iteration + 1);
        assert_eq!(report.duplicates, 0);
    }

    #[test]
    fn a_hang_is_reported_only_if_it_lasts_twice_the_deadline() {
        let report = fuzz(&Toy::new(), &options(3, true));
        assert!(
            report
                .notes
                .iter()
                .any(|n| n
                    .ends_with("hung once, but not again with twice the deadline (not reported)")),
            "{:?}",
            report.notes
        );
        let hang = report
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::Hang)
            .expect("a lasting hang");
        assert!(hang.input.contains(&b'~'));
        // A hang is shrunk with a quarter of the budget: every try costs a deadline.
        assert!(hang.shrink_attempts <= DEFAULT_SHRINK_BUDGET / 4);
    }

    fn shrunk(input: &[u8]) -> (Finding, Vec<String>) {
        let opts = options(3, true);
        let mut campaign = Campaign::new(&opts, Toy::INPUTS, &|_| {});
        let first = Observed {
            kind: FindingKind::Hang,
            detail: "first".into(),
            signature: "hang".into(),
        };
        let finding = campaign.shrink_and_write(&Toy::new(), 7, &(), input.to_vec(), first);
        (finding, campaign.finish().notes)
    }

    #[test]
    fn a_shrunk_hang_is_kept_only_if_it_lasts_twice_the_deadline() {
        // Shrinking keeps `~`, which hangs for good.
        let (finding, notes) = shrunk(b"!~\n");
        assert_eq!(finding.minimized, b"~\n");
        assert_eq!(finding.detail, "hang on 2 bytes");
        assert!(notes.is_empty(), "{notes:?}");
        // Shrinking keeps `!`, which only starts slowly: the original is kept.
        let (finding, notes) = shrunk(b"~!\n");
        assert_eq!(finding.minimized, b"~!\n");
        assert_eq!(finding.detail, "first");
        assert_eq!(
            notes,
            [
                "input 7: the shrunk input did not hang again with twice the deadline; kept the original"
            ]
        );
    }

    #[test]
    fn inputs_that_cannot_be_sent_are_noted_and_a_fatal_one_ends_the_run() {
        let report = fuzz(&Toy::new(), &options(3, true));
        assert!(report.notes.iter().any(|n| n.ends_with(": cannot send")));
        assert_eq!(report.iterations, 200);
        let fatal = Toy {
            errors_are_fatal: true,
            ..Toy::new()
        };
        let report = fuzz(&fatal, &options(3, true));
        assert_eq!(
            report
                .notes
                .iter()
                .filter(|n| n.contains("cannot send"))
                .count(),
            1
        );
        assert!(report.iterations < 200);
    }

    #[test]
    fn a_vector_that_cannot_be_written_is_a_note() {
        let failing = Toy {
            write_fails: true,
            ..Toy::new()
        };
        let report = fuzz(&failing, &options(3, false));
        let finding = &report.findings[0];
        assert_eq!(finding.vector, None);
        assert!(
            report
                .notes
                .iter()
                .any(|n| n.contains(&finding.case_id) && n.contains("the toy says so")),
            "{:?}",
            report.notes
        );
        let unwritten = FuzzOptions {
            found_dir: None,
            ..options(3, false)
        };
        let report = fuzz(&Toy::new(), &unwritten);
        assert_eq!(report.findings[0].vector, None);
        assert!(report.notes.is_empty(), "{:?}", report.notes);
    }

    #[test]
    fn a_campaign_with_nothing_to_fuzz_reports_no_inputs() {
        let opts = options(3, true);
        let report = Campaign::new(&opts, Toy::INPUTS, &|_| {}).finish();
        assert_eq!((report.iterations, report.findings.len()), (0, 0));
    }
}
