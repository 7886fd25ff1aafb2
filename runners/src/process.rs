//! The process transport: runs one credential-provider process per [`Exchange`], exactly as
//! Cargo does (`src/util/credential/process.rs`), and records what happened as a
//! [`Transcript`]. Unlike Cargo, every wait is bounded, so a hostile provider (one that hangs,
//! floods its pipes, writes garbage, crashes or leaves children or daemons behind) cannot hang
//! or exhaust the harness.
//!
//! # How a provider is started
//!
//! * argv is exactly `[program, "--cargo-plugin"]`; stdin and stdout are pipes; stderr is a third
//!   pipe, captured separately (Cargo lets it through to the terminal; the harness keeps it).
//! * The child runs in a new session (`setsid` before `exec`): it has no controlling terminal
//!   (so a provider that prompts on `/dev/tty` falls back as it would under CI) and it leads its
//!   own process group, which lets the harness kill it *and its descendants* at once.
//! * The environment is cleared. `PATH` is kept (if the harness has one); `HOME`, the
//!   `XDG_{CONFIG,DATA,CACHE,STATE}_HOME` directories and `TMPDIR` point into a [`Sandbox`];
//!   then the extra variables of [`ProviderCommand::env`] are added (they may override those).
//!   The working directory is the sandbox's `cwd/`.
//!
//! # The exchange
//!
//! 1. **Hello** — read one line (bytes up to the first `\n`), bounded by `timeouts.hello`
//!    counted from the spawn.
//! 2. **Request / response** — once the hello is a complete line, write `exchange.request`
//!    (never blocking: stdin is non-blocking and written as the pipe accepts bytes) and, if
//!    `read_response`, read one more line. Both together are bounded by `timeouts.response`,
//!    counted from the hello's arrival. stdin is closed per [`CloseStdin`]: `AfterRequest` once
//!    every byte is written, `AfterResponse` once the response has arrived *and* the request
//!    is written (Cargo writes the whole request before it reads the response), `AfterHello`
//!    right after the hello (the request is then not written), `Never` never.
//!    When the hello is not a complete line (EOF, too long) no request is written, the response
//!    is [`LineRead::NotRead`], and stdin is closed (unless `Never`) before the exit phase.
//! 3. **Exit** — wait for the process to exit, bounded by `timeouts.exit` counted from the end
//!    of the previous phase (stdin closed or the response received).
//!
//! Throughout, stdout after the last line read goes to `trailing_stdout` and stderr to `stderr`:
//! both are drained continuously and stored up to the capture limit, with the total counted. A
//! line longer than the line limit is [`LineRead::TooLong`]; its bytes past the limit, and any
//! later stdout, count as trailing stdout (so `prefix + trailing` accounts for every byte).
//! After a deadline, the line being read becomes [`LineRead::TimedOut`] with its partial bytes.
//!
//! # Durations
//!
//! `hello_after` runs from just before the spawn to the end of the hello read (line, EOF, too
//! long or deadline); `response_after` from the hello's arrival to the end of the response read
//! (zero when it was not read); `elapsed` from just before the spawn until the process was
//! reaped and its pipes drained. All are measured with [`Instant`](std::time::Instant).
//!
//! # Killing, and what a provider leaves behind
//!
//! At a deadline the harness sends `SIGKILL` to the whole process group and records
//! [`ExitObservation::Killed`] with the phase (`Request` when the request was still being
//! written at the response deadline, i.e. the provider did not read it); a provider that exits
//! by itself between the deadline and the kill gets its real status.
//!
//! Once the provider is reaped (exited or killed), the harness kills (SIGKILL) and reaps every
//! process left over from the exchange, and records those still running in `leftover` (a
//! count) and `leftover_processes` (pid, command name and where it was: the provider's group,
//! another group of its session, or another session; the first
//! [`LEFTOVER_DETAIL_LIMIT`] of them). Members of the provider's group killed with it at a
//! deadline do not count; zombies (already dead) are reaped without counting.
//!
//! On Linux the process is a *child subreaper* (`PR_SET_CHILD_SUBREAPER`, set once, before the
//! first provider is spawned), so every descendant of a provider whose parent dies is
//! re-parented to it, whatever it did to hide (double `fork`, `setsid`, `setpgid`, stdio on
//! `/dev/null`): the leftovers are the harness's children that are not in its own session and
//! not a running provider, and their descendants. Which exchange each belongs to when several
//! run at once (by the provider's session and group, the process's start time and the sandbox
//! paths in its environment), and the limits of that rule, are documented in `leftovers.rs`.
//! Only `waitpid` on each leftover's own pid is used, never `waitpid(-1)`, which would take
//! other exchanges' providers' statuses. A clean-up with nothing to find reads one small file
//! per thread of the harness (`/proc/self/task/*/children`), no `/proc` scan.
//!
//! Without the subreaper (outside Linux, or without `/proc`), the harness kills the provider's
//! group if a member outlived the provider, and (Linux) every process of the provider's
//! session outside that group; a descendant that calls `setsid` and holds none of the pipes is
//! then not tracked, and outside Linux a living group counts as one leftover, unlisted.
//!
//! It then drains stdout/stderr to EOF, which comes as soon as the last holder of the write ends
//! is gone. If a process outside the provider's tree still holds one of the pipes (a descriptor
//! passed over a socket; without the subreaper, a descendant that left the session), EOF does
//! not come: after a grace period ([`DRAIN_GRACE`]) the harness (Linux) finds every process
//! holding one of the pipes through `/proc/*/fd` (except its own process, and its own children
//! still running its own executable, i.e. other exchanges between `fork` and `exec`), kills
//! them and counts them as leftovers. If the pipes still do not close, it gives up on them
//! after a second grace period and closes its ends.
//!
//! Only stdin, stdout and stderr cross `exec`: every other descriptor the harness has (a
//! jobserver, a test runner's) is marked close-on-exec in the child first (Linux ≥ 5.11,
//! `close_range`).
//!
//! # Implementation
//!
//! One thread per exchange, no helper threads: the harness's pipe ends are non-blocking and a
//! single `poll(2)` loop multiplexes stdout, stderr, stdin (while request bytes remain) and the
//! child's exit (a Linux `pidfd`; elsewhere, or when `pidfd_open` is unavailable, a small thread
//! blocked in `waitid(WNOWAIT)` signals a pipe, without reaping). Every wait is `poll` with a
//! timeout computed from an `Instant` deadline; there are no sleeps. Each exchange owns its
//! file descriptors (all close-on-exec), so [`ProviderCommand::run`] can be called from many
//! threads at once.
//!
//! The calling process must not die of `SIGPIPE` when a provider closes its stdin early: Rust
//! programs ignore `SIGPIPE` by default, so the write error (`EPIPE`) is recorded in
//! `write_error` instead.
//!
//! [`Exchange`]: credlab_suite::provider::Exchange
//! [`Transcript`]: credlab_suite::provider::Transcript
//! [`CloseStdin`]: credlab_suite::provider::CloseStdin
//! [`LineRead::NotRead`]: credlab_suite::provider::LineRead::NotRead
//! [`LineRead::TooLong`]: credlab_suite::provider::LineRead::TooLong
//! [`LineRead::TimedOut`]: credlab_suite::provider::LineRead::TimedOut
//! [`ExitObservation::Killed`]: credlab_suite::provider::ExitObservation::Killed
//! [`LEFTOVER_DETAIL_LIMIT`]: credlab_suite::provider::LEFTOVER_DETAIL_LIMIT

mod capture;
#[cfg(unix)]
mod driver;
#[cfg(unix)]
mod leftovers;
mod sandbox;
#[cfg(unix)]
mod sys;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use credlab_suite::provider::{Exchange, Transcript};

pub use sandbox::Sandbox;

/// The only argument Cargo ever passes to a provider.
pub const CARGO_PLUGIN_ARG: &str = "--cargo-plugin";
/// Default bytes stored per captured stream (`trailing_stdout`, `stderr`).
pub const DEFAULT_CAPTURE_LIMIT: usize = 64 * 1024;
/// Default longest hello/response line (longer lines are [`LineRead::TooLong`]).
///
/// [`LineRead::TooLong`]: credlab_suite::provider::LineRead::TooLong
pub const DEFAULT_LINE_LIMIT: usize = 1024 * 1024;
/// How long the harness waits for a killed provider to be gone, and for the pipes to reach EOF
/// once it and its leftovers are gone, before it looks for other holders of them, and again
/// after killing those.
pub const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// The provider could not be started at all (the runner exits 78 on these).
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("credential provider not found: {}", .0.display())]
    NotFound(PathBuf),
    #[error("credential provider is not an executable file: {}", .0.display())]
    NotExecutable(PathBuf),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl SpawnError {
    fn io(context: impl Into<String>, source: io::Error) -> Self {
        SpawnError::Io {
            context: context.into(),
            source,
        }
    }
}

/// How to start a credential provider: the program, extra environment, and capture limits.
#[derive(Debug, Clone)]
pub struct ProviderCommand {
    program: PathBuf,
    env: Vec<(OsString, OsString)>,
    capture_limit: usize,
    line_limit: usize,
}

impl ProviderCommand {
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            env: Vec::new(),
            capture_limit: DEFAULT_CAPTURE_LIMIT,
            line_limit: DEFAULT_LINE_LIMIT,
        }
    }

    /// An extra environment variable for the provider (added after the sandbox's variables,
    /// so it may override `HOME` and the like).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Bytes stored per captured stream (`trailing_stdout`, `stderr`); the rest is counted
    /// and dropped. Default [`DEFAULT_CAPTURE_LIMIT`].
    pub fn capture_limit(mut self, bytes: usize) -> Self {
        self.capture_limit = bytes;
        self
    }

    /// Longest hello/response line, excluding the `\n`. Default [`DEFAULT_LINE_LIMIT`].
    pub fn line_limit(mut self, bytes: usize) -> Self {
        self.line_limit = bytes;
        self
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Runs one exchange in a fresh temporary HOME and working directory (removed afterwards).
    pub fn run(&self, exchange: &Exchange) -> Result<Transcript, SpawnError> {
        let sandbox = Sandbox::new().map_err(|e| SpawnError::io("creating the sandbox", e))?;
        self.run_in(&sandbox, exchange)
    }

    /// Runs one exchange in the given sandbox, so state a provider stores under HOME in one
    /// exchange (a login) is seen by the next (a get).
    pub fn run_in(&self, sandbox: &Sandbox, exchange: &Exchange) -> Result<Transcript, SpawnError> {
        self.check_program()?;
        #[cfg(unix)]
        {
            driver::run(self, sandbox, exchange)
        }
        #[cfg(not(unix))]
        {
            let _ = (sandbox, exchange);
            Err(SpawnError::io(
                "the process transport",
                io::Error::new(io::ErrorKind::Unsupported, "requires a Unix platform"),
            ))
        }
    }

    /// Clear errors for the common mistakes, before `exec` gives a bare errno.
    fn check_program(&self) -> Result<(), SpawnError> {
        // A bare name is looked up on PATH by `exec`; only paths can be checked here.
        if self.program.components().count() <= 1 && !self.program.is_absolute() {
            return Ok(());
        }
        let meta = match std::fs::metadata(&self.program) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SpawnError::NotFound(self.program.clone()));
            }
            Err(e) => {
                return Err(SpawnError::io(
                    format!("inspecting {}", self.program.display()),
                    e,
                ));
            }
        };
        if !meta.is_file() {
            return Err(SpawnError::NotExecutable(self.program.clone()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o111 == 0 {
                return Err(SpawnError::NotExecutable(self.program.clone()));
            }
        }
        Ok(())
    }

    /// Maps an error from `spawn` (usually the errno of `exec`).
    #[cfg(unix)]
    fn spawn_error(&self, e: io::Error) -> SpawnError {
        match e.raw_os_error() {
            // ENOENT for an existing file means its interpreter (`#!`) is missing.
            Some(libc::ENOENT) if !self.program.exists() => {
                SpawnError::NotFound(self.program.clone())
            }
            Some(libc::EACCES) | Some(libc::ENOEXEC) | Some(libc::EISDIR) => {
                SpawnError::NotExecutable(self.program.clone())
            }
            _ => SpawnError::io(
                format!(
                    "failed to spawn credential process {}",
                    self.program.display()
                ),
                e,
            ),
        }
    }
}
