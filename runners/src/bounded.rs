//! Running a helper program (an installer, a fixture, `git`) to completion within a deadline:
//! the program and everything it started run in their own process group, which is killed
//! whole at the deadline and again once the program has exited, so nothing it left behind
//! outlives the call.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `command` in its own process group; `Ok(None)` if it was killed (with its whole group)
/// at `timeout`.
pub fn run_bounded(mut command: Command, timeout: Duration) -> io::Result<Option<ExitStatus>> {
    let mut child = command.process_group(0).spawn()?;
    let pid = child.id();
    let (sent, got) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = sent.send(());
        status
    });
    let finished = got.recv_timeout(timeout).is_ok();
    if !finished {
        kill_group(pid);
    }
    let status = waiter
        .join()
        .map_err(|_| io::Error::other("the waiting thread panicked"))??;
    // Whatever the program left behind in its group (a server a wrap script started) goes.
    kill_group(pid);
    Ok(finished.then_some(status))
}

/// Kills the process group `pid` leads (a child started with `process_group(0)`).
pub fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory effects; a group that is gone gives ESRCH.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_run_past_its_timeout_is_killed_with_its_group() {
        let mut command = Command::new("sh");
        // The shell starts a grandchild that would outlive it; both go.
        command.args(["-c", "sleep 600 & wait"]);
        let started = Instant::now();
        let status = run_bounded(command, Duration::from_millis(300)).expect("runs");
        assert!(status.is_none());
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
