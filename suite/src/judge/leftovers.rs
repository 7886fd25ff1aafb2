//! Processes a provider leaves running after its exchange: Cargo waits for the provider to
//! exit and nothing more, so a daemon it double-forked keeps running in the user's session
//! (or the CI job) with whatever it holds. credlab kills and reaps them (the runner is a
//! child subreaper); this is where they are judged.

use super::Outcome;
use crate::provider::Transcript;

/// Processes an exchange left behind, and the exchange (`provider::get::read step 1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftoverAt {
    pub place: String,
    pub count: u32,
    /// Their pids and command names (command names are target text).
    pub processes: Vec<String>,
}

/// The leftovers of one exchange, if any.
pub fn leftovers(t: &Transcript, place: impl FnOnce() -> String) -> Option<LeftoverAt> {
    (t.leftover > 0).then(|| LeftoverAt {
        place: place(),
        count: t.leftover,
        processes: t
            .leftover_processes
            .iter()
            .map(|p| format!("{} ({:?}, {:?})", p.pid, p.comm, p.place))
            .collect(),
    })
}

/// Judges the run-wide "no process left" check: the case's own steps, then the rest of the
/// run.
pub fn judge_check(own: &[&Transcript], elsewhere: &[LeftoverAt]) -> Result<(), Outcome> {
    let own = own
        .iter()
        .enumerate()
        .filter_map(|(i, t)| leftovers(t, || format!("step {}", i + 1)));
    let all: Vec<LeftoverAt> = own.chain(elsewhere.iter().cloned()).collect();
    let Some(first) = all.first() else {
        return Ok(());
    };
    let total: u32 = all.iter().map(|l| l.count).sum();
    let mut found = format!(
        "{} left {} process(es) running after stdin closed: {}",
        first.place,
        first.count,
        first.processes.join(", ")
    );
    if all.len() > 1 {
        found.push_str(&format!(
            "; {total} in all, over {} exchanges of the run",
            all.len()
        ));
    }
    Err(Outcome::fail(
        "no process left running once the provider exited (Cargo waits for the provider only)",
        found,
    ))
}
