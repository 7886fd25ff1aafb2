//! A deliberately misbehaving credential provider, for testing the process transport (in the
//! spirit of Bowtie's "fauxmplementations"). The behaviour is chosen by `CREDLAB_FAUX`:
//!
//! | mode | behaviour |
//! | --- | --- |
//! | `good` (default) | hello `{"v":[1]}`, reads one line, answers a get, exits 0 at stdin EOF (at once if the request is EOF) |
//! | `no-hello` | blocks forever without writing anything |
//! | `hang-after-hello` | hello, then blocks forever |
//! | `no-exit-after-eof` | answers, reads stdin to EOF, then blocks forever |
//! | `flood-stdout` | hello, reads the request, writes 50 MB (no newline) to stdout, then answers; exits 0 at EOF |
//! | `flood-after-response` | answers, then writes 50 MB to stdout; exits 0 at EOF |
//! | `flood-stderr` | hello, writes 50 MB to stderr, then reads, answers; exits 0 at EOF |
//! | `garbage` | writes 3000 random-looking bytes (invalid UTF-8, no newline), exits 0 at EOF |
//! | `crash` | hello, then aborts (SIGABRT, no core dump) |
//! | `exit-1` | answers, then exits 1 at once |
//! | `orphan` | answers, starts a child that sleeps for an hour holding stdout, prints `{"orphan_pid":N}` on stderr, exits 0 |
//! | `escape` | as `orphan`, but the child starts its own session (`setsid`); prints `{"escaped_pid":N}` |
//! | `leave-group` | as `orphan`, but the child moves to its own process group (`setpgid`, same session) and holds no pipe (stdio on `/dev/null`); prints `{"regrouped_pid":N}` |
//! | `double-fork-setsid` | answers, then double-forks a daemon (no `exec`) that calls `setsid`, prints `{"daemon_pid":N}` on stderr, redirects stdin/stdout/stderr to `/dev/null` and sleeps for an hour; exits 0 once the daemon has detached |
//! | `no-newline` | answers without the `\n`, exits 0 at EOF |
//! | `echo-argv` | prints argv, cwd, HOME, the environment, pid/pgid/sid, whether `/dev/tty` opens and the open descriptors (Linux), as one JSON line on stderr; then as `good` |
//! | `never-read-stdin` | hello, then never reads stdin, never answers |
//!
//! "Forever" is `std::thread::park` in a loop: no timer is involved, only a kill ends it.

use std::io::{self, BufRead, Write};

const HELLO: &[u8] = b"{\"v\":[1]}\n";
const ANSWER: &[u8] =
    b"{\"Ok\":{\"kind\":\"get\",\"token\":\"t\",\"cache\":\"session\",\"operation_independent\":true}}";
/// Bytes written by the flood modes.
const FLOOD: usize = 50_000_000;
/// Bytes written by `garbage`.
const GARBAGE: usize = 3000;

/// The environment variable that picks the mode.
pub const MODE_ENV: &str = "CREDLAB_FAUX";

/// Behaves as the mode in [`MODE_ENV`] says (`good` when unset) and returns when that mode
/// exits 0; the modes that crash, exit 1 or block never return. The `credlab-faux-provider`
/// binary is this function; a test binary can call it first thing in `main` to serve as the
/// faux provider itself (the process transport's tests do), since `orphan` and friends start
/// [`std::env::current_exe`] again with `MODE_ENV=orphan-child`.
pub fn run() {
    let mode = std::env::var(MODE_ENV).unwrap_or_else(|_| "good".to_owned());
    match mode.as_str() {
        "good" => good(),
        "no-hello" => forever(),
        "hang-after-hello" | "never-read-stdin" => {
            out(HELLO);
            forever()
        }
        "no-exit-after-eof" => {
            out(HELLO);
            if read_request().is_some() {
                answer();
            }
            wait_eof();
            forever()
        }
        "flood-stdout" => {
            out(HELLO);
            let _ = read_request();
            flood(&mut io::stdout().lock(), b'x');
            answer();
            wait_eof();
        }
        "flood-after-response" => {
            out(HELLO);
            let _ = read_request();
            answer();
            flood(&mut io::stdout().lock(), b'y');
            wait_eof();
        }
        "flood-stderr" => {
            out(HELLO);
            flood(&mut io::stderr().lock(), b'e');
            let _ = read_request();
            answer();
            wait_eof();
        }
        "garbage" => {
            out(&garbage());
            wait_eof();
        }
        "crash" => {
            out(HELLO);
            crash()
        }
        "exit-1" => {
            out(HELLO);
            let _ = read_request();
            answer();
            std::process::exit(1);
        }
        "orphan" | "escape" | "leave-group" => {
            out(HELLO);
            let _ = read_request();
            answer();
            leave_a_child(&mode);
        }
        "double-fork-setsid" => {
            out(HELLO);
            let _ = read_request();
            answer();
            double_fork_daemon()
        }
        "orphan-child" => std::thread::sleep(std::time::Duration::from_secs(3600)),
        "no-newline" => {
            out(HELLO);
            let _ = read_request();
            out(ANSWER);
            wait_eof();
        }
        "echo-argv" => {
            echo_argv();
            good();
        }
        other => {
            eprintln!("credlab-faux-provider: unknown CREDLAB_FAUX mode {other:?}");
            std::process::exit(2);
        }
    }
}

fn good() {
    out(HELLO);
    if read_request().is_some() {
        answer();
        wait_eof();
    }
}

/// Writes and flushes; a closed stdout is not this provider's problem.
fn out(bytes: &[u8]) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

fn answer() {
    let mut line = ANSWER.to_vec();
    line.push(b'\n');
    out(&line);
}

/// One request line (bytes up to and including `\n`); `None` at EOF.
fn read_request() -> Option<Vec<u8>> {
    let mut line = Vec::new();
    match io::stdin().lock().read_until(b'\n', &mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line),
    }
}

fn wait_eof() {
    let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
}

fn forever() -> ! {
    loop {
        std::thread::park();
    }
}

fn flood(stream: &mut impl Write, byte: u8) {
    let chunk = vec![byte; 1_000_000];
    for _ in 0..FLOOD / chunk.len() {
        if stream.write_all(&chunk).is_err() {
            return;
        }
    }
    let _ = stream.flush();
}

/// Deterministic noise: invalid UTF-8 up front, then xorshift bytes, never a `\n`.
fn garbage() -> Vec<u8> {
    let mut bytes = b"\xff\xfe\xc3\x28\x80".to_vec();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    while bytes.len() < GARBAGE {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let b = (state >> 24) as u8;
        bytes.push(if b == b'\n' { 0xff } else { b });
    }
    bytes
}

#[cfg(unix)]
fn crash() -> ! {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads a valid rlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
    std::process::abort()
}

#[cfg(not(unix))]
fn crash() -> ! {
    std::process::abort()
}

/// Starts `orphan-child`, reports its pid on stderr, exits 0. `orphan`: same process group,
/// inheriting stdin/stdout/stderr; `escape`: a new session, inheriting them; `leave-group`: a
/// new process group in the same session, stdio on `/dev/null`.
fn leave_a_child(mode: &str) -> ! {
    let exe = std::env::current_exe().expect("current_exe");
    let mut command = std::process::Command::new(exe);
    command.env(MODE_ENV, "orphan-child");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        match mode {
            // SAFETY: setsid is async-signal-safe.
            "escape" => unsafe {
                command.pre_exec(|| {
                    libc::setsid();
                    Ok(())
                });
            },
            "leave-group" => {
                command
                    .process_group(0)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null());
            }
            _ => {}
        }
    }
    let child = command.spawn().expect("spawn orphan-child");
    let key = match mode {
        "escape" => "escaped_pid",
        "leave-group" => "regrouped_pid",
        _ => "orphan_pid",
    };
    eprintln!("{{\"{key}\":{}}}", child.id());
    std::process::exit(0)
}

/// A classic daemon: fork; the child forks the daemon and exits at once (so the daemon is
/// orphaned and re-parented); the daemon calls `setsid`, reports its pid on stderr, moves its
/// stdio to `/dev/null` (holding none of the exchange's pipes) and sleeps for an hour. The
/// provider exits 0 once the daemon has detached: the daemon closes the write end of a pipe
/// the provider reads to EOF, so the pid is always on stderr before the provider exits.
#[cfg(unix)]
fn double_fork_daemon() -> ! {
    let mut ready = [0 as libc::c_int; 2];
    // SAFETY: `ready` has room for two descriptors.
    if unsafe { libc::pipe(ready.as_mut_ptr()) } != 0 {
        std::process::exit(3);
    }
    let [ready_read, ready_write] = ready;
    // SAFETY: this program has a single thread; the children only make system calls, format
    // one line and sleep.
    match unsafe { libc::fork() } {
        -1 => std::process::exit(3),
        0 => unsafe {
            libc::close(ready_read);
            match libc::fork() {
                -1 => libc::_exit(3),
                0 => daemon(ready_write),
                _ => libc::_exit(0),
            }
        },
        first => {
            // SAFETY: plain system calls on values owned here.
            unsafe {
                libc::close(ready_write);
                let mut status = 0;
                libc::waitpid(first, &mut status, 0);
                let mut byte = 0u8;
                while libc::read(ready_read, (&raw mut byte).cast(), 1) > 0 {}
            }
            std::process::exit(0)
        }
    }
}

#[cfg(unix)]
fn daemon(ready_write: libc::c_int) -> ! {
    // SAFETY: plain system calls; the descriptors are this process's own.
    unsafe {
        libc::setsid();
        let line = format!("{{\"daemon_pid\":{}}}\n", libc::getpid());
        libc::write(2, line.as_ptr().cast(), line.len());
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
        }
        libc::close(ready_write);
    }
    std::thread::sleep(std::time::Duration::from_secs(3600));
    // SAFETY: _exit takes no pointers.
    unsafe { libc::_exit(0) }
}

#[cfg(not(unix))]
fn double_fork_daemon() -> ! {
    std::process::exit(2)
}

fn echo_argv() {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| json_string(&a.to_string_lossy()))
        .collect();
    let cwd = std::env::current_dir()
        .map(|p| json_string(&p.to_string_lossy()))
        .unwrap_or_else(|_| "null".to_owned());
    let home = std::env::var_os("HOME")
        .map(|h| json_string(&h.to_string_lossy()))
        .unwrap_or_else(|| "null".to_owned());
    let env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| {
            format!(
                "{}:{}",
                json_string(&k.to_string_lossy()),
                json_string(&v.to_string_lossy())
            )
        })
        .collect();
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok();
    #[cfg(unix)]
    // SAFETY: getpgrp/getsid take no pointers.
    let (pgid, sid) = unsafe { (libc::getpgrp(), libc::getsid(0)) };
    #[cfg(not(unix))]
    let (pgid, sid) = (0, 0);
    // Open descriptors, except the one listing them.
    let fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| !(target.starts_with("/proc") && target.ends_with("fd")))
        })
        .map(|fd| fd.file_name().to_string_lossy().into_owned())
        .collect();
    let line = format!(
        "{{\"argv\":[{}],\"cwd\":{cwd},\"home\":{home},\"env_count\":{},\"env\":{{{}}},\"pid\":{},\"pgid\":{pgid},\"sid\":{sid},\"tty\":{tty},\"fds\":[{}]}}\n",
        argv.join(","),
        env.len(),
        env.join(","),
        std::process::id(),
        fds.join(","),
    );
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_all(line.as_bytes());
    let _ = stderr.flush();
}

fn json_string(s: &str) -> String {
    let mut json = String::with_capacity(s.len() + 2);
    json.push('"');
    for c in s.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            c if (c as u32) < 0x20 => json.push_str(&format!("\\u{:04x}", c as u32)),
            c => json.push(c),
        }
    }
    json.push('"');
    json
}
