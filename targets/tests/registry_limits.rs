//! `credlab serve` under slow and greedy clients, on real loopback sockets: slowloris
//! connections (idle, half-sent headers, half-sent bodies) are closed within their timeout
//! while ordinary clients keep being answered; connections past the limit are refused at once
//! (a 503), not queued; bodies past their endpoint's limit get 413; and under a low open-file
//! limit the default connection limit keeps the registry answering.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use credlab_targets::registry::server::{Config, Limits, Running, start};

/// The timeouts the slow-client tests configure.
const TIMEOUT: Duration = Duration::from_secs(1);
/// How long after its timeout a slow connection may still be open: timer granularity and a
/// loaded 2-core machine.
const CLOSE_MARGIN: Duration = Duration::from_secs(3);
/// The stated bound for an ordinary request while slow clients hold connections.
const ORDINARY_BOUND: Duration = Duration::from_secs(2);
/// Slow connections of each kind.
const SLOW: usize = 50;

fn registry(limits: Limits) -> Running {
    start(Config {
        auth_required: false,
        limits,
        ..Config::default()
    })
    .expect("the registry starts")
}

fn short_limits() -> Limits {
    Limits {
        header_timeout: TIMEOUT,
        body_timeout: TIMEOUT,
        ..Limits::default()
    }
}

/// Sends `bytes` on a fresh connection and leaves it open.
fn slow(addr: SocketAddr, bytes: &[u8]) -> (TcpStream, Instant) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(bytes).expect("write");
    (stream, Instant::now())
}

/// One ordinary request on a fresh connection: the status line and the time it took.
fn ordinary(addr: SocketAddr, path: &str) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(ORDINARY_BOUND * 4))
        .expect("read timeout");
    // A refused connection may already be closed for writing: its answer is still there.
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text.lines().next().unwrap_or("").to_string();
    (status, started.elapsed())
}

/// Reads until the server closes `stream`; `Ok` with what it sent if it closed before
/// `deadline`, `Err` with the time it was still open otherwise.
fn closed_by(stream: &mut TcpStream, deadline: Instant) -> Result<Vec<u8>, Duration> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(left);
        }
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(got),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(deadline.elapsed());
            }
            Err(e) => panic!("reading a slow connection: {e}"),
        }
    }
}

#[test]
fn slowloris_connections_close_within_their_timeout_while_ordinary_clients_are_answered() {
    let running = registry(short_limits());
    let addr = running.addr();
    let header = format!("GET /index/config.json HTTP/1.1\r\nHost: {addr}\r\n");
    let body = format!(
        "PUT /api/v1/crates/new HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n0123456789"
    );
    let mut connections = Vec::new();
    for _ in 0..SLOW {
        connections.push(("nothing sent", slow(addr, b"")));
        connections.push(("half-sent headers", slow(addr, header.as_bytes())));
        connections.push(("half-sent body", slow(addr, body.as_bytes())));
    }

    // Ordinary clients, while every slow connection is open.
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let (status, took) = ordinary(addr, "/index/config.json");
        assert!(status.contains(" 200 "), "{status:?}");
        assert!(took <= ORDINARY_BOUND, "an ordinary request took {took:?}");
        slowest = slowest.max(took);
    }

    let mut open_for: std::collections::BTreeMap<&str, Duration> = Default::default();
    for (kind, (stream, opened)) in &mut connections {
        let deadline = *opened + TIMEOUT + CLOSE_MARGIN;
        if let Err(late) = closed_by(stream, deadline) {
            panic!(
                "a connection with {kind} was still open {:?} after it opened (timeout {TIMEOUT:?})",
                deadline + late - *opened
            );
        }
        let longest = open_for.entry(kind).or_default();
        *longest = (*longest).max(opened.elapsed());
    }
    // The figures, for `--nocapture`: the slowest ordinary answer, and per kind how long
    // the last slow connection was open (an upper bound: it was read after the others).
    println!(
        "slowloris: {} slow connections; slowest ordinary answer {slowest:?}; open at most {open_for:?}",
        connections.len()
    );
}

#[test]
fn a_half_sent_body_is_answered_408() {
    let running = registry(short_limits());
    let addr = running.addr();
    let (mut stream, opened) = slow(
        addr,
        format!(
            "PUT /api/v1/crates/new HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n01"
        )
        .as_bytes(),
    );
    let got = closed_by(&mut stream, opened + TIMEOUT + CLOSE_MARGIN).expect("closed in time");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text:?}");
}

#[test]
fn connections_past_the_limit_are_refused_with_503_not_queued() {
    let running = registry(Limits {
        max_connections: 8,
        ..short_limits()
    });
    let addr = running.addr();
    let held: Vec<_> = (0..8).map(|_| slow(addr, b"")).collect();
    // The eight are accepted before the ninth arrives: one ordinary request on each would
    // prove it, but that would end them; a request on a ninth is refused at once instead.
    let (status, took) = ordinary(addr, "/index/config.json");
    assert!(status.contains(" 503 "), "{status:?}");
    assert!(took <= ORDINARY_BOUND, "the refusal took {took:?}");
    // Once the held connections time out, their slots are free again.
    for (mut stream, opened) in held {
        closed_by(&mut stream, opened + TIMEOUT + CLOSE_MARGIN).expect("closed in time");
    }
    let (status, _) = ordinary(addr, "/index/config.json");
    assert!(status.contains(" 200 "), "{status:?}");
}

/// A PUT with a body of `len` bytes, its status line.
fn put(addr: SocketAddr, path: &str, len: usize) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(
        stream,
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    // The server may answer before the body is all sent; a reset then is fine.
    let _ = stream.write_all(&vec![b'x'; len]);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn each_endpoint_has_its_body_limit() {
    let running = registry(Limits {
        max_publish_body: 1 << 20,
        max_body: 64 << 10,
        ..Limits::default()
    });
    let addr = running.addr();
    // Within the publish limit: parsed (and refused as a malformed body, 400), not 413.
    assert!(put(addr, "/api/v1/crates/new", 512 << 10).contains(" 400 "));
    assert!(put(addr, "/api/v1/crates/new", 2 << 20).contains(" 413 "));
    // Every other endpoint: the small limit.
    assert!(put(addr, "/api/v1/crates/x/owners", 100 << 10).contains(" 413 "));
    assert!(!put(addr, "/api/v1/crates/x/owners", 1 << 10).contains(" 413 "));
}

/// `credlab-registry` started with `RLIMIT_NOFILE` at `limit`, its address once it is ready.
fn registry_with_fd_limit(limit: u64, args: &[&str]) -> (Child, SocketAddr) {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_credlab-registry"));
    command
        .args(["--no-auth-required"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("spawn credlab-registry");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the readiness line");
    let url = line
        .trim()
        .strip_prefix("index: sparse+http://")
        .and_then(|rest| rest.strip_suffix("/index/"))
        .unwrap_or_else(|| panic!("readiness line {line:?}"));
    (child, url.parse().expect("an address"))
}

#[test]
fn under_a_low_open_file_limit_idle_connections_cannot_starve_the_registry() {
    let (mut child, addr) = registry_with_fd_limit(256, &["--header-timeout", "1"]);
    let idle: Vec<_> = (0..300).map(|_| slow(addr, b"")).collect();
    // Answered at once: served, or refused with 503 while the slots are taken; never left
    // waiting for a descriptor.
    let (status, took) = ordinary(addr, "/index/config.json");
    assert!(
        status.contains(" 200 ") || status.contains(" 503 "),
        "{status:?}"
    );
    assert!(took <= ORDINARY_BOUND, "the request took {took:?}");
    // After the header timeout the idle ones are gone and the registry serves again.
    for (mut stream, opened) in idle {
        let _ = closed_by(&mut stream, opened + TIMEOUT + CLOSE_MARGIN);
    }
    let (status, _) = ordinary(addr, "/index/config.json");
    assert!(status.contains(" 200 "), "{status:?}");
    let _ = child.kill();
    let _ = child.wait();
}
