//! The process transport against the hostile faux provider (`credlab_targets::faux`): every
//! mode must give a precise transcript, within its deadlines, leaving nothing behind.
//!
//! This test binary is the faux provider too: started with `CREDLAB_FAUX` set, `main` serves
//! that mode and exits before any test runs (a test binary cannot see another package's
//! binaries, and this keeps the transport's tests beside the transport).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use credlab_runners::process::{
    DEFAULT_CAPTURE_LIMIT, DEFAULT_LINE_LIMIT, DRAIN_GRACE, ProviderCommand, Sandbox, SpawnError,
};
use credlab_targets::faux;
use libtest_mimic::{Arguments, Trial};

use credlab_suite::provider::{
    CloseStdin, Exchange, ExitObservation, LeftoverPlace, LineRead, Phase, Timeouts, Transcript,
};

const HELLO: &[u8] = br#"{"v":[1]}"#;
const ANSWER: &[u8] =
    br#"{"Ok":{"kind":"get","token":"t","cache":"session","operation_independent":true}}"#;
const REQUEST: &str = r#"{"v":1,"registry":{"index-url":"https://example.com/index/","name":"alt"},"kind":"get","operation":"read"}"#;
/// What the faux provider's flood modes write.
const FLOOD: u64 = 50_000_000;
/// What its `garbage` mode writes.
const GARBAGE: usize = 3000;
/// Slack for process start-up and a loaded machine, on top of a deadline.
const MARGIN: Duration = Duration::from_millis(1500);
const SHORT: Duration = Duration::from_millis(500);
/// For exchanges that must finish on their own: far above what they need.
const LONG: Duration = Duration::from_secs(10);

/// A test function as a trial named after it; its panic is the failure.
macro_rules! trial {
    ($name:ident) => {
        Trial::test(stringify!($name), || {
            $name();
            Ok(())
        })
    };
}

fn main() {
    if std::env::var_os(faux::MODE_ENV).is_some() {
        faux::run();
        let _ = std::io::Write::flush(&mut std::io::stdout());
        std::process::exit(0);
    }
    let trials = [
        trial!(good_provider_completes_cargos_exchange),
        trial!(argv_env_cwd_and_session_are_isolated),
        trial!(relative_program_paths_resolve_against_the_harness_cwd),
        trial!(run_uses_a_fresh_sandbox_and_run_in_reuses_one),
        trial!(spawn_errors_are_precise),
        trial!(no_hello_is_killed_at_the_hello_deadline),
        trial!(hang_after_hello_is_killed_at_the_response_deadline),
        trial!(sixteen_mib_request_to_a_provider_that_never_reads_does_not_block),
        trial!(sixteen_mib_request_reaches_a_provider_that_reads),
        trial!(no_exit_after_eof_is_killed_at_the_exit_deadline),
        trial!(flood_before_the_response_is_too_long_and_drained),
        trial!(flood_after_the_response_is_counted_not_stored),
        trial!(floods_keep_the_harness_memory_bounded),
        trial!(flood_on_stderr_is_counted_not_stored),
        trial!(garbage_without_newline_times_out_as_bytes),
        trial!(garbage_past_the_line_limit_is_too_long),
        trial!(crash_is_a_signal),
        trial!(exit_1_after_answering),
        trial!(orphan_holding_stdout_is_killed_reaped_and_counted),
        trial!(escapee_from_the_session_holding_stdout_is_killed_reaped_and_counted),
        trial!(descendant_in_another_process_group_is_killed_reaped_and_counted),
        trial!(double_forked_setsid_daemon_on_dev_null_is_killed_reaped_and_counted),
        trial!(parallel_daemons_are_each_killed_and_counted_on_their_own_exchange),
        trial!(a_new_session_the_host_program_starts_during_an_exchange_is_left_alone),
        trial!(response_without_newline_deadlocks_cargos_exchange),
        trial!(response_without_newline_then_eof_when_stdin_closes_early),
        trial!(close_after_hello_sends_no_request),
        trial!(never_closing_stdin_leaves_only_the_exit_deadline),
        trial!(without_a_response_read_stdout_after_the_hello_is_trailing),
        trial!(parallel_hangs_take_one_timeout_not_eight),
        trial!(provider_command_is_shareable_across_threads),
    ];
    libtest_mimic::run(&Arguments::from_args(), trials.into()).exit();
}

/// The faux provider's program: this test binary.
fn faux_exe() -> &'static str {
    static EXE: OnceLock<String> = OnceLock::new();
    EXE.get_or_init(|| {
        std::env::current_exe()
            .expect("current_exe")
            .into_os_string()
            .into_string()
            .expect("a UTF-8 path")
    })
}

fn faux(mode: &str) -> ProviderCommand {
    ProviderCommand::new(faux_exe()).env(faux::MODE_ENV, mode)
}

fn cargo_exchange(each: Duration) -> Exchange {
    let mut exchange = Exchange::cargo(REQUEST);
    exchange.timeouts = Timeouts::uniform(each);
    exchange
}

fn run(mode: &str, exchange: &Exchange) -> Transcript {
    faux(mode).run(exchange).expect("the faux provider starts")
}

fn line(bytes: &[u8]) -> LineRead {
    LineRead::Line {
        bytes: bytes.to_vec(),
    }
}

fn request_len() -> u64 {
    REQUEST.len() as u64 + 1
}

/// The common shape of an exchange the provider completed by itself.
fn assert_clean(t: &Transcript) {
    assert_eq!(t.argv, ["--cargo-plugin"]);
    assert_eq!(t.hello, line(HELLO));
    assert_eq!(t.response, line(ANSWER), "{t:#?}");
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
    assert_eq!(t.leftover, 0, "{:?}", t.leftover_processes);
    assert!(t.leftover_processes.is_empty());
    assert!(t.hello_after <= t.elapsed);
    assert!(t.response_after <= t.elapsed);
}

/// Whether `pid` is dead *and reaped* (no `/proc/<pid>` at all, not even a zombie) before a
/// deadline. The harness reaps every leftover before `run` returns, so this holds at once;
/// the deadline only bounds the polling.
fn reaped_soon(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::yield_now();
    }
}

/// The one leftover of `t`: its pid, checked against the pid the provider reported under `key`.
fn only_leftover(t: &Transcript, key: &str, place: LeftoverPlace) -> u32 {
    let pid = stderr_json(t)[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {:?}", t.stderr)) as u32;
    assert_eq!(t.leftover, 1, "{:?}", t.leftover_processes);
    assert_eq!(t.leftover_processes.len(), 1);
    let leftover = &t.leftover_processes[0];
    assert_eq!(leftover.pid, pid);
    assert_eq!(leftover.place, place);
    // The leftover is a faux provider: this binary, under the kernel's name for it.
    let own = std::fs::read_to_string("/proc/self/comm").expect("/proc/self/comm");
    assert_eq!(leftover.comm, own.trim_end());
    pid
}

fn stderr_json(t: &Transcript) -> serde_json::Value {
    serde_json::from_slice(&t.stderr.bytes)
        .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {:?}", t.stderr))
}

fn good_provider_completes_cargos_exchange() {
    let t = run("good", &cargo_exchange(LONG));
    assert_clean(&t);
    assert_eq!(t.written, request_len());
    assert_eq!(t.write_error, None);
    assert!(t.trailing_stdout.is_empty());
    assert!(t.stderr.is_empty());
    assert!(t.elapsed < LONG);
    // The transcript is data: it survives a JSON round trip.
    let json = serde_json::to_string(&t).unwrap();
    let back: Transcript = serde_json::from_str(&json).unwrap();
    assert_eq!(back.hello, t.hello);
    assert_eq!(back.exit, t.exit);
}

fn argv_env_cwd_and_session_are_isolated() {
    let sandbox = Sandbox::new().unwrap();
    let t = faux("echo-argv")
        .run_in(&sandbox, &cargo_exchange(LONG))
        .unwrap();
    assert_clean(&t);
    let info = stderr_json(&t);

    let argv: Vec<&str> = info["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(argv, [faux_exe(), "--cargo-plugin"]);
    assert_eq!(t.argv, ["--cargo-plugin"]);

    assert_eq!(Path::new(info["cwd"].as_str().unwrap()), sandbox.cwd());
    assert_eq!(Path::new(info["home"].as_str().unwrap()), sandbox.home());
    assert!(sandbox.home().starts_with(sandbox.root()));

    // The environment is cleared: only PATH, the sandbox's variables and the extra one.
    let env = info["env"].as_object().unwrap();
    let keys: BTreeSet<&str> = env.keys().map(String::as_str).collect();
    let mut expected: BTreeSet<&str> = [
        "HOME",
        "TMPDIR",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_STATE_HOME",
        "CREDLAB_FAUX",
    ]
    .into();
    if std::env::var_os("PATH").is_some() {
        expected.insert("PATH");
        assert_eq!(
            env["PATH"].as_str().unwrap(),
            std::env::var("PATH").unwrap()
        );
    }
    assert_eq!(keys, expected);
    assert_eq!(info["env_count"].as_u64().unwrap(), expected.len() as u64);
    assert_eq!(Path::new(env["TMPDIR"].as_str().unwrap()), sandbox.tmp());
    for xdg in [
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_STATE_HOME",
    ] {
        let dir = Path::new(env[xdg].as_str().unwrap());
        assert!(dir.starts_with(sandbox.home()), "{xdg}={dir:?}");
        assert!(dir.is_dir(), "{xdg} exists");
    }

    // A new session: its own process group, no controlling terminal.
    let pid = info["pid"].as_i64().unwrap();
    assert_eq!(info["pgid"].as_i64().unwrap(), pid);
    assert_eq!(info["sid"].as_i64().unwrap(), pid);
    assert_eq!(info["tty"], serde_json::Value::Bool(false));

    // Only stdin, stdout and stderr are inherited.
    let mut fds: Vec<u64> = info["fds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|fd| fd.as_u64().unwrap())
        .collect();
    fds.sort();
    assert_eq!(fds, [0, 1, 2]);
}

fn relative_program_paths_resolve_against_the_harness_cwd() {
    // The child runs in the sandbox's cwd; the program path must not be resolved there.
    let cwd = std::env::current_dir().unwrap();
    let relative = pathdiff(Path::new(faux_exe()), &cwd);
    let t = ProviderCommand::new(&relative)
        .env("CREDLAB_FAUX", "good")
        .run(&cargo_exchange(LONG))
        .unwrap_or_else(|e| panic!("{}: {e}", relative.display()));
    assert_clean(&t);
}

/// `target` relative to `base` (both absolute), with `..` as needed.
fn pathdiff(target: &Path, base: &Path) -> std::path::PathBuf {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    if out.components().count() == 1 {
        out = Path::new(".").join(out);
    }
    out
}

fn run_uses_a_fresh_sandbox_and_run_in_reuses_one() {
    let home_of = |t: &Transcript| stderr_json(t)["home"].as_str().unwrap().to_owned();
    let echo = faux("echo-argv");
    let a = home_of(&echo.run(&cargo_exchange(LONG)).unwrap());
    let b = home_of(&echo.run(&cargo_exchange(LONG)).unwrap());
    assert_ne!(a, b);
    assert!(!Path::new(&a).exists(), "the sandbox of run() is removed");
    assert!(!Path::new(&b).exists());

    let sandbox = Sandbox::new().unwrap();
    let c = home_of(&echo.run_in(&sandbox, &cargo_exchange(LONG)).unwrap());
    let d = home_of(&echo.run_in(&sandbox, &cargo_exchange(LONG)).unwrap());
    assert_eq!(c, d);
    assert_eq!(Path::new(&c), sandbox.home());

    // Dropping removes it, even with a directory its owner cannot write.
    let root = sandbox.root().to_owned();
    let locked = sandbox.home().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("f"), b"x").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    }
    drop(sandbox);
    assert!(!root.exists());
}

fn spawn_errors_are_precise() {
    let dir = tempfile::tempdir().unwrap();
    let exchange = cargo_exchange(SHORT);

    let missing = dir.path().join("no-such-provider");
    match ProviderCommand::new(&missing).run(&exchange) {
        Err(SpawnError::NotFound(p)) => assert_eq!(p, missing),
        other => panic!("expected NotFound, got {other:?}"),
    }

    let plain = dir.path().join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\necho hi\n").unwrap();
    let err = ProviderCommand::new(&plain).run(&exchange).unwrap_err();
    assert!(
        matches!(&err, SpawnError::NotExecutable(p) if *p == plain),
        "{err:?}"
    );
    assert!(err.to_string().contains("not-executable"), "{err}");

    match ProviderCommand::new(dir.path()).run(&exchange) {
        Err(SpawnError::NotExecutable(_)) => {}
        other => panic!("a directory is not executable: {other:?}"),
    }

    match ProviderCommand::new("credlab-no-such-provider-on-path").run(&exchange) {
        Err(SpawnError::NotFound(_)) => {}
        other => panic!("expected NotFound for a bare name, got {other:?}"),
    }
}

fn no_hello_is_killed_at_the_hello_deadline() {
    let mut exchange = cargo_exchange(LONG);
    exchange.timeouts.hello = SHORT;
    let t = run("no-hello", &exchange);
    assert_eq!(t.hello, LineRead::TimedOut { bytes: vec![] });
    assert_eq!(t.response, LineRead::NotRead);
    assert_eq!(
        t.exit,
        ExitObservation::Killed {
            phase: Phase::Hello
        }
    );
    assert_eq!(t.written, 0);
    assert!(t.hello_after >= SHORT, "{:?}", t.hello_after);
    assert!(
        t.elapsed >= SHORT && t.elapsed < SHORT + MARGIN,
        "{:?}",
        t.elapsed
    );
    assert_eq!(t.leftover, 0);
}

fn hang_after_hello_is_killed_at_the_response_deadline() {
    let t = run("hang-after-hello", &cargo_exchange(SHORT));
    assert_eq!(t.hello, line(HELLO));
    assert_eq!(t.response, LineRead::TimedOut { bytes: vec![] });
    assert_eq!(
        t.exit,
        ExitObservation::Killed {
            phase: Phase::Response
        }
    );
    // The request fit in the pipe even though nobody reads it.
    assert_eq!(t.written, request_len());
    assert_eq!(t.write_error, None);
    assert!(t.response_after >= SHORT);
    assert!(t.elapsed < 2 * SHORT + MARGIN, "{:?}", t.elapsed);
}

fn sixteen_mib_request_to_a_provider_that_never_reads_does_not_block() {
    let mut request = vec![b'a'; 16 << 20];
    request.push(b'\n');
    let exchange = Exchange {
        request: Some(request),
        read_response: true,
        close_stdin: CloseStdin::AfterResponse,
        timeouts: Timeouts::uniform(Duration::from_secs(1)),
    };
    let t = run("never-read-stdin", &exchange);
    assert_eq!(t.hello, line(HELLO));
    assert_eq!(t.response, LineRead::TimedOut { bytes: vec![] });
    assert_eq!(
        t.exit,
        ExitObservation::Killed {
            phase: Phase::Request
        }
    );
    assert!(t.written > 0 && t.written < 16 << 20, "{}", t.written);
    assert!(
        t.elapsed < t.hello_after + Duration::from_secs(1) + MARGIN,
        "{:?}",
        t.elapsed
    );
}

fn sixteen_mib_request_reaches_a_provider_that_reads() {
    let mut request = vec![b'a'; 16 << 20];
    request.push(b'\n');
    let exchange = Exchange {
        request: Some(request),
        ..cargo_exchange(LONG)
    };
    let t = run("good", &exchange);
    assert_clean(&t);
    assert_eq!(t.written, (16 << 20) + 1);
    assert_eq!(t.write_error, None);
}

fn no_exit_after_eof_is_killed_at_the_exit_deadline() {
    let mut exchange = cargo_exchange(LONG);
    exchange.timeouts.exit = SHORT;
    let t = run("no-exit-after-eof", &exchange);
    assert_eq!(t.response, line(ANSWER));
    assert_eq!(t.exit, ExitObservation::Killed { phase: Phase::Exit });
    // The exit deadline counts from the response, not from the spawn.
    let exit_wait = t.elapsed - t.hello_after - t.response_after;
    assert!(
        exit_wait >= SHORT && exit_wait < SHORT + MARGIN,
        "{exit_wait:?}"
    );
}

fn flood_before_the_response_is_too_long_and_drained() {
    let t = run("flood-stdout", &cargo_exchange(LONG));
    assert_eq!(t.hello, line(HELLO));
    let LineRead::TooLong { prefix, limit } = &t.response else {
        panic!("expected TooLong, got {:?}", t.response);
    };
    assert_eq!(*limit, DEFAULT_LINE_LIMIT);
    assert_eq!(prefix.len(), DEFAULT_LINE_LIMIT);
    assert!(prefix.iter().all(|&b| b == b'x'));
    // Every byte is accounted for: line prefix + trailing = flood + answer line.
    assert_eq!(
        t.trailing_stdout.total,
        FLOOD - DEFAULT_LINE_LIMIT as u64 + ANSWER.len() as u64 + 1
    );
    assert_eq!(t.trailing_stdout.bytes.len(), DEFAULT_CAPTURE_LIMIT);
    assert!(t.trailing_stdout.truncated());
    // The harness closed stdin after the (failed) response; the provider exited at EOF.
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
}

fn flood_after_the_response_is_counted_not_stored() {
    let t = faux("flood-after-response")
        .capture_limit(1000)
        .run(&cargo_exchange(LONG))
        .unwrap();
    assert_clean(&t);
    assert_eq!(t.trailing_stdout.total, FLOOD);
    assert_eq!(t.trailing_stdout.bytes, vec![b'y'; 1000]);
}

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 150 MB of floods through one exchange after another raise the harness's peak memory by a
/// few MiB at most (line limit + captures + buffers), not by the flood size. Measured in a
/// child process running only this test, so that other tests' allocations do not count.
fn floods_keep_the_harness_memory_bounded() {
    const PROBE: &str = "CREDLAB_TEST_MEMORY_PROBE";
    if std::env::var_os(PROBE).is_some() {
        let before = peak_rss_kib();
        for mode in ["flood-stdout", "flood-after-response", "flood-stderr"] {
            let t = run(mode, &cargo_exchange(LONG));
            let drained = t.trailing_stdout.total + t.stderr.total;
            assert!(
                drained > FLOOD - 2 * DEFAULT_LINE_LIMIT as u64,
                "{mode}: {drained}"
            );
        }
        println!("peak-rss-kib {before} {}", peak_rss_kib());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "floods_keep_the_harness_memory_bounded",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // libtest prints `test <name> ... ` on the same line, before the probe's own output.
    let numbers: Vec<u64> = stdout
        .split_once("peak-rss-kib ")
        .unwrap_or_else(|| panic!("no probe output in {stdout}"))
        .1
        .split_whitespace()
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    let grown = numbers[1].saturating_sub(numbers[0]);
    println!("peak RSS {} KiB -> {} KiB", numbers[0], numbers[1]);
    assert!(grown < 8 * 1024, "peak RSS grew by {grown} KiB");
}

fn flood_on_stderr_is_counted_not_stored() {
    let t = faux("flood-stderr")
        .capture_limit(4096)
        .run(&cargo_exchange(LONG))
        .unwrap();
    assert_clean(&t);
    assert_eq!(t.stderr.total, FLOOD);
    assert_eq!(t.stderr.bytes, vec![b'e'; 4096]);
    assert!(t.trailing_stdout.is_empty());
}

fn garbage_without_newline_times_out_as_bytes() {
    let mut exchange = cargo_exchange(LONG);
    exchange.timeouts.hello = SHORT;
    let t = run("garbage", &exchange);
    let LineRead::TimedOut { bytes } = &t.hello else {
        panic!("expected TimedOut, got {:?}", t.hello);
    };
    assert_eq!(bytes.len(), GARBAGE);
    assert!(!bytes.contains(&b'\n'));
    assert!(std::str::from_utf8(bytes).is_err());
    assert_eq!(
        t.exit,
        ExitObservation::Killed {
            phase: Phase::Hello
        }
    );
    assert_eq!(t.written, 0);
}

fn garbage_past_the_line_limit_is_too_long() {
    let t = faux("garbage")
        .line_limit(1000)
        .run(&cargo_exchange(LONG))
        .unwrap();
    let LineRead::TooLong { prefix, limit } = &t.hello else {
        panic!("expected TooLong, got {:?}", t.hello);
    };
    assert_eq!((prefix.len(), *limit), (1000, 1000));
    assert!(prefix.starts_with(b"\xff\xfe"));
    assert_eq!(t.trailing_stdout.total, (GARBAGE - 1000) as u64);
    assert_eq!(t.response, LineRead::NotRead);
    assert_eq!(t.written, 0, "no request after a failed hello");
    // stdin was closed after the failed hello; the provider exits at EOF.
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
}

fn crash_is_a_signal() {
    let t = run("crash", &cargo_exchange(LONG));
    assert_eq!(t.hello, line(HELLO));
    assert_eq!(t.response, LineRead::Eof { bytes: vec![] });
    assert_eq!(
        t.exit,
        ExitObservation::Signaled {
            signal: libc::SIGABRT
        }
    );
}

fn exit_1_after_answering() {
    let t = run("exit-1", &cargo_exchange(LONG));
    assert_eq!(t.response, line(ANSWER));
    assert_eq!(t.exit, ExitObservation::Exited { code: 1 });
    assert_eq!(t.leftover, 0);
}

fn orphan_holding_stdout_is_killed_reaped_and_counted() {
    let t = run("orphan", &cargo_exchange(LONG));
    assert_eq!(t.response, line(ANSWER));
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
    let pid = only_leftover(&t, "orphan_pid", LeftoverPlace::ProcessGroup);
    assert!(reaped_soon(pid), "orphan {pid} still there");
    assert!(t.elapsed < LONG, "{:?}", t.elapsed);
}

fn escapee_from_the_session_holding_stdout_is_killed_reaped_and_counted() {
    let t = run("escape", &cargo_exchange(LONG));
    assert_eq!(t.response, line(ANSWER));
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
    let pid = only_leftover(&t, "escaped_pid", LeftoverPlace::OtherSession);
    assert!(reaped_soon(pid), "escapee {pid} still there");
    // Found as a re-parented child, not through the pipe it holds: no grace period was spent.
    assert!(t.elapsed < DRAIN_GRACE, "{:?}", t.elapsed);
}

fn descendant_in_another_process_group_is_killed_reaped_and_counted() {
    let t = run("leave-group", &cargo_exchange(LONG));
    assert_eq!(t.response, line(ANSWER));
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
    let pid = only_leftover(&t, "regrouped_pid", LeftoverPlace::Session);
    assert!(reaped_soon(pid), "{pid} still there");
    assert!(t.elapsed < DRAIN_GRACE, "{:?}", t.elapsed);
}

fn double_forked_setsid_daemon_on_dev_null_is_killed_reaped_and_counted() {
    let t = run("double-fork-setsid", &cargo_exchange(LONG));
    assert_eq!(t.response, line(ANSWER));
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
    let pid = only_leftover(&t, "daemon_pid", LeftoverPlace::OtherSession);
    // Dead and reaped: not even a zombie left (the daemon leads its own session, so nothing
    // else of it can remain).
    assert!(reaped_soon(pid), "daemon {pid} still there");
    assert!(t.elapsed < DRAIN_GRACE, "{:?}", t.elapsed);
}

fn parallel_daemons_are_each_killed_and_counted_on_their_own_exchange() {
    const DAEMONS: usize = 8;
    let barrier = std::sync::Barrier::new(2 * DAEMONS);
    let transcripts: Vec<(bool, Transcript)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2 * DAEMONS)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || {
                    // Daemon-leaving and clean exchanges interleaved, all started at once.
                    let daemon = i % 2 == 0;
                    let mode = if daemon { "double-fork-setsid" } else { "good" };
                    barrier.wait();
                    (daemon, run(mode, &cargo_exchange(LONG)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut daemons = BTreeSet::new();
    for (i, (daemon, t)) in transcripts.iter().enumerate() {
        assert_eq!(t.response, line(ANSWER), "exchange {i}");
        assert_eq!(t.exit, ExitObservation::Exited { code: 0 }, "exchange {i}");
        if *daemon {
            // Its own daemon, exactly once, and no other exchange's.
            let pid = only_leftover(t, "daemon_pid", LeftoverPlace::OtherSession);
            assert!(daemons.insert(pid), "daemon {pid} counted twice");
        } else {
            assert_clean(t);
        }
    }
    assert_eq!(daemons.len(), DAEMONS);
    for pid in daemons {
        assert!(reaped_soon(pid), "daemon {pid} still there");
    }
}

/// credlab's children listed by the kernel (each thread's `children` file).
fn own_children() -> Vec<u32> {
    let mut pids = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            pids.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    pids
}

fn a_new_session_the_host_program_starts_during_an_exchange_is_left_alone() {
    use std::os::unix::process::CommandExt;

    // The exchange's provider carries a marker, to know when it runs.
    let marker = format!("CREDLAB_TEST_MARK={}", std::process::id() as u64 * 1000 + 7);
    let (key, value) = marker.split_once('=').unwrap();
    let command = faux("hang-after-hello").env(key, value);
    let exchange = cargo_exchange(Duration::from_secs(1));
    std::thread::scope(|s| {
        let running = s.spawn(|| {
            let t = command.run(&exchange).unwrap();
            (t, Instant::now())
        });
        // Wait (bounded) until the provider is running, so that what this test starts next
        // starts within the exchange's lifetime.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = own_children().into_iter().any(|pid| {
                std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                    env.split(|&b| b == 0)
                        .any(|entry| entry == marker.as_bytes())
                })
            });
            if found {
                break;
            }
            assert!(Instant::now() < deadline, "the provider never showed up");
            std::thread::yield_now();
        }
        // A child of the host program in a session of its own (as a provider's daemon would
        // be), with the host's environment.
        let mut own = std::process::Command::new(faux_exe());
        own.env("CREDLAB_FAUX", "orphan-child");
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            own.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut own = own.spawn().unwrap();
        let spawned = Instant::now();

        let (t, ended) = running.join().unwrap();
        assert!(
            spawned < ended,
            "the child started after the exchange ended"
        );
        assert_eq!(
            t.exit,
            ExitObservation::Killed {
                phase: Phase::Response
            }
        );
        assert_eq!(t.leftover, 0, "{:?}", t.leftover_processes);
        // Still running, and its status is still its owner's to collect.
        assert_eq!(own.try_wait().unwrap(), None, "the host's child was killed");
        own.kill().unwrap();
        let status = own.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    });
}

fn response_without_newline_deadlocks_cargos_exchange() {
    let t = run("no-newline", &cargo_exchange(SHORT));
    assert_eq!(
        t.response,
        LineRead::TimedOut {
            bytes: ANSWER.to_vec()
        }
    );
    assert_eq!(
        t.exit,
        ExitObservation::Killed {
            phase: Phase::Response
        }
    );
}

fn response_without_newline_then_eof_when_stdin_closes_early() {
    let exchange = Exchange {
        close_stdin: CloseStdin::AfterRequest,
        ..cargo_exchange(LONG)
    };
    let t = run("no-newline", &exchange);
    assert_eq!(
        t.response,
        LineRead::Eof {
            bytes: ANSWER.to_vec()
        }
    );
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
}

fn close_after_hello_sends_no_request() {
    let exchange = Exchange {
        close_stdin: CloseStdin::AfterHello,
        ..cargo_exchange(LONG)
    };
    let t = run("good", &exchange);
    assert_eq!(t.hello, line(HELLO));
    assert_eq!(t.written, 0);
    assert_eq!(t.response, LineRead::Eof { bytes: vec![] });
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
}

fn never_closing_stdin_leaves_only_the_exit_deadline() {
    let mut exchange = Exchange {
        close_stdin: CloseStdin::Never,
        ..cargo_exchange(LONG)
    };
    exchange.timeouts.exit = SHORT;
    let t = run("good", &exchange);
    assert_eq!(t.response, line(ANSWER));
    assert_eq!(t.exit, ExitObservation::Killed { phase: Phase::Exit });
}

fn without_a_response_read_stdout_after_the_hello_is_trailing() {
    let exchange = Exchange {
        read_response: false,
        close_stdin: CloseStdin::AfterRequest,
        ..cargo_exchange(LONG)
    };
    let t = run("good", &exchange);
    assert_eq!(t.hello, line(HELLO));
    assert_eq!(t.response, LineRead::NotRead);
    assert_eq!(t.response_after, Duration::ZERO);
    let mut answer = ANSWER.to_vec();
    answer.push(b'\n');
    assert_eq!(t.trailing_stdout.bytes, answer);
    assert_eq!(t.exit, ExitObservation::Exited { code: 0 });
}

fn parallel_hangs_take_one_timeout_not_eight() {
    let each = Duration::from_secs(1);
    let started = Instant::now();
    let transcripts: Vec<Transcript> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                s.spawn(move || {
                    let mode = if i % 2 == 0 {
                        "no-hello"
                    } else {
                        "hang-after-hello"
                    };
                    // no-hello dies at the hello deadline; hang-after-hello sends its hello at
                    // once and dies at the response deadline: one timeout each.
                    run(mode, &cargo_exchange(each))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = started.elapsed();
    for (i, t) in transcripts.iter().enumerate() {
        let phase = if i % 2 == 0 {
            Phase::Hello
        } else {
            Phase::Response
        };
        assert_eq!(t.exit, ExitObservation::Killed { phase }, "exchange {i}");
    }
    assert!(wall < each + MARGIN, "8 parallel hangs took {wall:?}");
}

fn provider_command_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ProviderCommand>();
    assert_send_sync::<Sandbox>();
}
