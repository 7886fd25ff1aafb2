//! The `poll(2)` loop that drives one provider process through an [`Exchange`].

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use credlab_suite::provider::{
    CloseStdin, Exchange, ExitObservation, LEFTOVER_DETAIL_LIMIT, LeftoverProcess, LineRead, Phase,
    Transcript,
};

use super::capture::{BoundedCapture, StdoutReader};
use super::leftovers::{self, Ticket};
use super::sys::{self, ExitWatch, Found};
use super::{CARGO_PLUGIN_ARG, DRAIN_GRACE, ProviderCommand, Sandbox, SpawnError};

/// Bytes moved per read or write call (a Linux pipe holds 64 KiB by default).
const CHUNK: usize = 64 * 1024;

/// Keeps large freed buffers out of the heap, once per process.
///
/// `pre_exec` (for `setsid`) makes std spawn with `fork`, whose cost grows with the parent's
/// resident heap. glibc raises its mmap threshold to the size of any mmapped block that is
/// freed, so after one 16 MiB request (the `huge-header` case) every later large buffer stays
/// in the heap and each spawn slows down (measured: a trivial exchange 2.1 ms with a 5 MB heap,
/// 3.0 ms with 38 MB). A fixed threshold turns that adjustment off: blocks of 256 KiB and
/// more are mmapped and go back to the system when freed.
fn keep_large_buffers_out_of_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes glibc malloc's tuning; it is thread-safe.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        });
    }
}

pub(super) fn run(
    cmd: &ProviderCommand,
    sandbox: &Sandbox,
    exchange: &Exchange,
) -> Result<Transcript, SpawnError> {
    keep_large_buffers_out_of_heap();
    // `exec` happens after `chdir` into the sandbox: a relative path must not be resolved there.
    let program = if cmd.program.components().count() > 1 {
        std::path::absolute(&cmd.program)
            .map_err(|e| SpawnError::io(format!("resolving {}", cmd.program.display()), e))?
    } else {
        cmd.program.clone()
    };

    let mut command = Command::new(&program);
    command
        .arg(CARGO_PLUGIN_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .current_dir(sandbox.cwd())
        .env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.envs(sandbox.env());
    command.envs(cmd.env.iter().map(|(k, v)| (k, v)));
    // SAFETY: only async-signal-safe system calls, touching no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            // A new session: no controlling terminal, and its own process group.
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            // Only stdin/stdout/stderr cross `exec`, whatever the harness inherited itself
            // (a jobserver, a test runner's descriptors). Close-on-exec rather than closed:
            // std reports `exec` failures through one of them. Best effort (Linux ≥ 5.11).
            #[cfg(target_os = "linux")]
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            Ok(())
        });
    }

    // Makes this process a child subreaper (once), and keeps clean-ups from running while
    // the provider is spawned but not yet registered.
    let gate = leftovers::spawn_gate();
    let start = Instant::now();
    let child = command.spawn().map_err(|e| cmd.spawn_error(e))?;
    let ticket = gate.register(child.id(), sandbox.root());
    let mut driver = Driver::new(child, ticket, exchange, cmd, start)
        .map_err(|e| SpawnError::io("setting up the provider's pipes", e))?;
    driver
        .drive()
        .map_err(|e| SpawnError::io("driving the credential provider", e))?;
    Ok(driver.into_transcript())
}

/// One running exchange. Dropping it (on an error or a panic) kills the process group, reaps
/// the child and cleans up its leftovers, so no provider outlives its exchange.
struct Driver<'a> {
    child: Child,
    pgid: libc::pid_t,
    /// The exchange's registration for leftover tracking (Linux, credlab a child subreaper);
    /// `None`: only the process group, the session and the pipes are covered.
    ticket: Option<Ticket>,
    start: Instant,
    exchange: &'a Exchange,

    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    /// Inodes of the three pipes, to find escaped holders.
    pipe_inodes: Vec<u64>,
    watch: Option<ExitWatch>,
    status: Option<ExitStatus>,

    out: StdoutReader,
    err: BoundedCapture,
    /// Request bytes still to write (a suffix of `exchange.request`).
    pending: Option<&'a [u8]>,
    written: u64,
    write_error: Option<String>,

    /// The phase whose deadline made the harness kill the group.
    killed_in: Option<Phase>,
    /// Processes left running after the provider (all counted, the first few described).
    leftover: u32,
    leftover_processes: Vec<LeftoverProcess>,
    buf: Box<[u8]>,
}

impl<'a> Driver<'a> {
    fn new(
        mut child: Child,
        ticket: Option<Ticket>,
        exchange: &'a Exchange,
        cmd: &ProviderCommand,
        start: Instant,
    ) -> io::Result<Self> {
        let pgid = child.id() as libc::pid_t;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        // From here on, `Drop` cleans up whatever fails.
        let mut driver = Self {
            child,
            pgid,
            ticket,
            start,
            exchange,
            pipe_inodes: Vec::new(),
            stdin,
            stdout,
            stderr,
            watch: None,
            status: None,
            out: StdoutReader::new(exchange.read_response, cmd.line_limit, cmd.capture_limit),
            err: BoundedCapture::new(cmd.capture_limit),
            pending: None,
            written: 0,
            write_error: None,
            killed_in: None,
            leftover: 0,
            leftover_processes: Vec::new(),
            buf: vec![0; CHUNK].into_boxed_slice(),
        };
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (&driver.stdin, &driver.stdout, &driver.stderr)
        else {
            return Err(io::Error::other("a standard stream was not piped"));
        };
        sys::set_nonblocking(stdin)?;
        sys::set_nonblocking(stdout)?;
        sys::set_nonblocking(stderr)?;
        driver.pipe_inodes = [sys::inode(stdin), sys::inode(stdout), sys::inode(stderr)]
            .into_iter()
            .flatten()
            .collect();
        driver.watch = Some(ExitWatch::new(pgid)?);
        Ok(driver)
    }

    fn drive(&mut self) -> io::Result<()> {
        let timeouts = self.exchange.timeouts;

        // 1. Hello.
        if !self.pump_until(self.start + timeouts.hello, |d| d.out.hello().is_some())? {
            return self.kill(Phase::Hello);
        }
        let (hello, hello_at) = self.out.hello().expect("hello decided");
        let hello_at = *hello_at;
        if !matches!(hello, LineRead::Line { .. }) {
            // EOF or too long: Cargo would give up here. Close stdin and watch the exit.
            if self.exchange.close_stdin != CloseStdin::Never {
                self.stdin = None;
            }
            return self.await_exit();
        }

        // 2. Request and response, concurrently, under the response deadline.
        match (self.exchange.close_stdin, &self.exchange.request) {
            (CloseStdin::AfterHello, _) => self.stdin = None,
            (_, Some(request)) => self.pending = Some(request),
            (_, None) => {}
        }
        self.after_write();
        let done = |d: &Self| {
            d.pending.is_none() && (!d.exchange.read_response || d.out.response().is_some())
        };
        if !self.pump_until(hello_at + timeouts.response, done)? {
            let phase = if self.pending.is_some() {
                Phase::Request
            } else {
                Phase::Response
            };
            return self.kill(phase);
        }
        if self.exchange.close_stdin == CloseStdin::AfterResponse {
            self.stdin = None;
        }

        // 3. Exit.
        self.await_exit()
    }

    /// Waits for the exit (bounded by the exit timeout from now), then cleans up.
    fn await_exit(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + self.exchange.timeouts.exit;
        if !self.pump_until(deadline, |d| d.status.is_some())? {
            return self.kill(Phase::Exit);
        }
        self.drain()
    }

    /// A deadline passed in `phase`: kill the whole group, reap, clean up, drain.
    fn kill(&mut self, phase: Phase) -> io::Result<()> {
        self.out.time_out(Instant::now());
        self.pending = None;
        // A leader that had exited by itself just before the deadline keeps its real status,
        // and what it left counts as after an exit.
        if self.status.is_none() {
            self.killed_in = Some(phase);
            sys::signal_group(self.pgid, libc::SIGKILL);
        }
        self.drain()
    }

    /// Reaps the provider (if not yet), kills and reaps what it left behind, then reads
    /// stdout/stderr to EOF, bounded by the grace period; then looks for other holders of the
    /// pipes.
    fn drain(&mut self) -> io::Result<()> {
        self.stdin = None;
        self.pending = None;
        if !self.pump_until(Instant::now() + DRAIN_GRACE, |d| d.status.is_some())? {
            // Killed but not yet gone (uninterruptible sleep): SIGKILL always ends it.
            sys::signal_group(self.pgid, libc::SIGKILL);
            self.status = Some(self.child.wait()?);
            self.watch = None;
        }
        self.clean_up_leftovers();

        let finished = |d: &Self| d.stdout.is_none() && d.stderr.is_none();
        if self.pump_until(Instant::now() + DRAIN_GRACE, finished)? {
            return Ok(());
        }
        // Something outside the provider's tree still holds a pipe (a descriptor passed over
        // a socket; or, without a subreaper, a descendant that left the session).
        let holders = sys::kill_pipe_holders(&self.pipe_inodes, self.pgid);
        self.reap_own_children(&holders);
        self.note_leftovers(holders);
        self.pump_until(Instant::now() + DRAIN_GRACE, finished)?;
        // Give up on pipes still held open (an unkillable holder); closing our read ends
        // makes its next write fail with EPIPE.
        self.final_sweep();
        self.stdout = None;
        self.stderr = None;
        Ok(())
    }

    /// Kills and reaps every process left over from the exchange, once the provider has been
    /// reaped, and records those that were still running (members of the provider's group
    /// killed with it at a deadline do not count).
    fn clean_up_leftovers(&mut self) {
        let group_killed = self.killed_in.is_some();
        if let Some(ticket) = &mut self.ticket {
            let found = ticket.clean_up(group_killed);
            self.note_leftovers(found);
            return;
        }
        // No subreaper: the provider's group (if it exited by itself), and the rest of its
        // session (Linux).
        if !group_killed {
            match sys::live_group_members(self.pgid) {
                Some(members) if members.is_empty() => {}
                Some(members) => {
                    sys::signal_group(self.pgid, libc::SIGKILL);
                    self.note_leftovers(members);
                }
                None => {
                    sys::signal_group(self.pgid, libc::SIGKILL);
                    self.leftover = self.leftover.saturating_add(1); // at least one, unlisted
                }
            }
        }
        let others = sys::kill_session_outside_group(self.pgid);
        self.note_leftovers(others);
    }

    /// Reaps the processes among `found` that are this process's own children (re-parented
    /// to it as a subreaper), so that they do not stay zombies.
    fn reap_own_children(&self, found: &[Found]) {
        #[cfg(target_os = "linux")]
        {
            let me = std::process::id() as libc::pid_t;
            let deadline = Instant::now() + leftovers::REAP_WAIT;
            for f in found.iter().filter(|f| f.ppid == me) {
                sys::reap(f.pid, deadline);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = found;
    }

    fn note_leftovers(&mut self, found: Vec<Found>) {
        for f in found {
            self.leftover = self.leftover.saturating_add(1);
            if self.leftover_processes.len() < LEFTOVER_DETAIL_LIMIT {
                self.leftover_processes.push(LeftoverProcess {
                    pid: f.pid as u32,
                    comm: f.comm,
                    place: f.place,
                });
            }
        }
    }

    /// Reads whatever is already buffered in the pipes, without waiting (at most a bounded
    /// number of chunks, in case a holder keeps writing).
    fn final_sweep(&mut self) {
        for _ in 0..1024 {
            // `|`, not `||`: read both streams each round.
            if !(self.read_stdout() | self.read_stderr()) {
                break;
            }
        }
    }

    /// Runs the I/O loop until `done` holds (→ `true`) or `deadline` passes (→ `false`).
    fn pump_until(&mut self, deadline: Instant, done: impl Fn(&Self) -> bool) -> io::Result<bool> {
        #[derive(Clone, Copy)]
        enum Source {
            Stdout,
            Stderr,
            Stdin,
            Exit,
        }
        loop {
            if done(self) {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let mut fds = Vec::with_capacity(4);
            let mut sources = Vec::with_capacity(4);
            let mut add = |fd: i32, events: libc::c_short, source: Source| {
                fds.push(libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                });
                sources.push(source);
            };
            if let Some(stdout) = &self.stdout {
                add(stdout.as_raw_fd(), libc::POLLIN, Source::Stdout);
            }
            if let Some(stderr) = &self.stderr {
                add(stderr.as_raw_fd(), libc::POLLIN, Source::Stderr);
            }
            if let (Some(stdin), Some(_)) = (&self.stdin, self.pending) {
                add(stdin.as_raw_fd(), libc::POLLOUT, Source::Stdin);
            }
            if let Some(watch) = &self.watch {
                add(watch.fd(), libc::POLLIN, Source::Exit);
            }
            sys::poll(&mut fds, deadline - now)?;
            for (fd, source) in fds.iter().zip(sources) {
                if fd.revents == 0 {
                    continue;
                }
                match source {
                    Source::Stdout => {
                        self.read_stdout();
                    }
                    Source::Stderr => {
                        self.read_stderr();
                    }
                    Source::Stdin => self.write_stdin(),
                    Source::Exit => {
                        if let Some(status) = self.child.try_wait()? {
                            self.status = Some(status);
                            self.watch = None;
                        }
                    }
                }
            }
        }
    }

    /// One read from stdout; `true` if it made progress (bytes or EOF).
    fn read_stdout(&mut self) -> bool {
        let Some(stdout) = &mut self.stdout else {
            return false;
        };
        match read_chunk(stdout, &mut self.buf) {
            Some(0) => {
                self.out.end(Instant::now());
                self.stdout = None;
                true
            }
            Some(n) => {
                self.out.feed(&self.buf[..n], Instant::now());
                true
            }
            None => false,
        }
    }

    fn read_stderr(&mut self) -> bool {
        let Some(stderr) = &mut self.stderr else {
            return false;
        };
        match read_chunk(stderr, &mut self.buf) {
            Some(0) => {
                self.stderr = None;
                true
            }
            Some(n) => {
                self.err.push(&self.buf[..n]);
                true
            }
            None => false,
        }
    }

    fn write_stdin(&mut self) {
        let (Some(stdin), Some(rest)) = (&mut self.stdin, self.pending) else {
            return;
        };
        match stdin.write(&rest[..rest.len().min(CHUNK)]) {
            Ok(n) => {
                self.written += n as u64;
                self.pending = Some(&rest[n..]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                self.write_error = Some(e.to_string());
                self.pending = None;
                self.stdin = None;
            }
        }
        self.after_write();
    }

    /// Marks a finished request as written, and closes stdin if the policy says so.
    fn after_write(&mut self) {
        if self.pending.is_some_and(|rest| rest.is_empty()) {
            self.pending = None;
        }
        if self.pending.is_none() && self.exchange.close_stdin == CloseStdin::AfterRequest {
            self.stdin = None;
        }
    }

    fn into_transcript(mut self) -> Transcript {
        let status = self
            .status
            .expect("the child is reaped before the transcript");
        let exit = match (self.killed_in, status.signal()) {
            (Some(phase), Some(libc::SIGKILL)) => ExitObservation::Killed { phase },
            (_, Some(signal)) => ExitObservation::Signaled { signal },
            (_, None) => ExitObservation::Exited {
                code: status.code().unwrap_or(-1),
            },
        };
        let hello_after = self
            .out
            .hello()
            .map_or(Duration::ZERO, |(_, at)| *at - self.start);
        let response_after = match (self.out.hello(), self.out.response()) {
            (Some((_, hello_at)), Some((_, at))) => at.saturating_duration_since(*hello_at),
            _ => Duration::ZERO,
        };
        let elapsed = self.start.elapsed();
        let out = std::mem::replace(&mut self.out, StdoutReader::new(false, 0, 0));
        let err = std::mem::replace(&mut self.err, BoundedCapture::new(0));
        let (hello, response, trailing_stdout) = out.into_parts();
        Transcript {
            argv: vec![CARGO_PLUGIN_ARG.to_owned()],
            hello,
            written: self.written,
            write_error: self.write_error.take(),
            response,
            trailing_stdout,
            stderr: err.into_capture(),
            exit,
            leftover: self.leftover,
            leftover_processes: std::mem::take(&mut self.leftover_processes),
            hello_after,
            response_after,
            elapsed,
        }
    }
}

impl Drop for Driver<'_> {
    fn drop(&mut self) {
        if self.status.is_none() {
            sys::signal_group(self.pgid, libc::SIGKILL);
            let _ = self.child.wait();
        }
        if let Some(ticket) = &mut self.ticket
            && !ticket.cleaned()
        {
            ticket.clean_up(true);
        }
    }
}

/// One non-blocking read: `Some(0)` at EOF, `Some(n)` for bytes, `None` when nothing is ready.
/// A read error other than "would block" ends the stream like EOF.
fn read_chunk(stream: &mut impl Read, buf: &mut [u8]) -> Option<usize> {
    match stream.read(buf) {
        Ok(n) => Some(n),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            None
        }
        Err(_) => Some(0),
    }
}
