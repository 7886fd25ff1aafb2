//! Loopback only, everywhere: a registry on 127.0.0.1 cannot point credlab's requests (and
//! tokens) at another host through config.json's `dl` or `api`, a URL that parsers read
//! differently, or a redirect. Each test keeps a listener where a leaked request would land and
//! checks, after the calls returned, that nothing connected to it.
//!
//! The servers are plain `std::net` listeners, bound before their ports are handed out; the
//! "nothing connected" checks are non-blocking accepts: a TCP connect completes in the kernel's
//! backlog without an `accept`, so once the client's call has returned, a connection it made is
//! already there to be accepted.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use credlab_runners::registry_run::safety;
use credlab_runners::registry_run::{Client, ConnectError, SendError, Target, connect};
use credlab_suite::keys::SecretKey;

const TIMEOUT: Duration = Duration::from_secs(5);
const TOKEN: &str = "v3.public.credlab-loopback-test-token";

/// One request as a fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    /// Header names lowercased.
    headers: BTreeMap<String, String>,
}

/// What a fake server answers: status, extra headers, body.
type Reply = (u16, Vec<(String, String)>, Vec<u8>);

/// A fake HTTP server on 127.0.0.1 that records every request and answers with `route`.
struct Fake {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn start(route: impl Fn(&Seen) -> Reply + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        // Detached: the accept loop lives as long as the test binary, which is fine for a test.
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                // A client that hangs up mid-request is no concern of these tests.
                let _ = serve_one(stream, &route, &log);
            }
        });
        Self { port, seen }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

fn serve_one(
    stream: TcpStream,
    route: &impl Fn(&Seen) -> Reply,
    log: &Mutex<Vec<Seen>>,
) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let request = Seen {
        method,
        path,
        headers,
    };
    let (status, extra, body) = route(&request);
    log.lock().expect("not poisoned").push(request);
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = stream;
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)
}

fn ok(body: impl Into<Vec<u8>>) -> Reply {
    (200, Vec::new(), body.into())
}

fn redirect(location: &str) -> Reply {
    (302, vec![("location".into(), location.into())], Vec::new())
}

/// A listener where a leaked request would land: on every interface, so that a connection to
/// this machine's non-loopback address would succeed. Non-blocking, for [`Watch::connections`].
struct Watch {
    listener: TcpListener,
    /// This machine's non-loopback address, or an unroutable stand-in when it has none.
    ip: IpAddr,
    /// Whether a connection to `ip` was seen to reach the listener (the test can then show
    /// that no leak reached it, not only that credlab refused).
    reachable: bool,
}

impl Watch {
    fn start() -> Self {
        let listener = TcpListener::bind("0.0.0.0:0").expect("bind 0.0.0.0:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("local addr").port();
        let ip = off_loopback_ip().unwrap_or(IpAddr::V4(Ipv4Addr::new(10, 255, 255, 1)));
        // A control connection proves the address leads here; it is accepted and dropped.
        let reachable = off_loopback_ip().is_some()
            && TcpStream::connect_timeout(&SocketAddr::new(ip, port), TIMEOUT).is_ok();
        let mut watch = Self {
            listener,
            ip,
            reachable,
        };
        if watch.reachable {
            watch.reachable = watch.poll_accept(Duration::from_secs(2)) == 1;
        }
        if !watch.reachable {
            eprintln!("note: no reachable non-loopback address; checking the refusal only");
        }
        watch
    }

    /// `http://{this machine's other address}:{port}`.
    fn base(&self) -> String {
        let port = self.listener.local_addr().expect("local addr").port();
        format!("http://{}", SocketAddr::new(self.ip, port))
    }

    /// Connections waiting to be accepted now (the client's calls have all returned).
    fn connections(&mut self) -> usize {
        self.poll_accept(Duration::ZERO)
    }

    /// Accepts what is queued, waiting up to `within` for a first connection (a short bounded
    /// poll, for the control connection only).
    fn poll_accept(&mut self, within: Duration) -> usize {
        let deadline = std::time::Instant::now() + within;
        let mut count = 0;
        loop {
            match self.listener.accept() {
                Ok(_) => count += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if count > 0 || std::time::Instant::now() >= deadline {
                        return count;
                    }
                    thread::yield_now();
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }
}

/// This machine's address on its default route: a UDP "connect" picks the source address
/// without sending a packet.
fn off_loopback_ip() -> Option<IpAddr> {
    ["10.255.255.255:1", "198.51.100.1:9", "192.0.2.255:9"]
        .iter()
        .find_map(|probe| {
            let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
            socket.connect(probe).ok()?;
            let ip = socket.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        })
}

fn target(index_url: String) -> Target {
    Target {
        index_url,
        key: SecretKey::generate(),
        plain: None,
        subject: None,
        max_age: Duration::from_secs(900),
        max_skew: Duration::from_secs(60),
        allow_remote: false,
        timeout: TIMEOUT,
        secrets: Default::default(),
    }
}

/// A registry whose config.json names `dl` and `api` as given.
fn registry(dl: String, api: String) -> Fake {
    Fake::start(move |r| match r.path.as_str() {
        "/index/config.json" => {
            ok(serde_json::json!({"dl": dl, "api": api, "auth-required": true}).to_string())
        }
        _ => (404, Vec::new(), Vec::new()),
    })
}

/// The message of a refused URL the target handed credlab (config.json's `api`/`dl`).
fn refusal(result: Result<credlab_runners::registry_run::Session, ConnectError>) -> String {
    match result {
        Err(ConnectError::TargetUrl(m)) => m,
        Err(other) => panic!("expected a refusal of the target's URL, got {other:?}"),
        Ok(_) => panic!("expected a refusal, connect succeeded"),
    }
}

/// The message of a refused URL the user gave (`--registry`).
fn user_refusal(result: Result<credlab_runners::registry_run::Session, ConnectError>) -> String {
    match result {
        Err(ConnectError::UserUrl(m)) => m,
        Err(other) => panic!("expected a refusal of the user's URL, got {other:?}"),
        Ok(_) => panic!("expected a refusal, connect succeeded"),
    }
}

fn refused(result: Result<credlab_runners::registry_run::Answer, SendError>) -> String {
    match result {
        Err(SendError::Refused(m)) => m,
        other => panic!("expected SendError::Refused, got {other:?}"),
    }
}

/// Only config.json was asked for: nothing went on to `api` or `dl`.
fn only_config_json(fake: &Fake) {
    let paths: Vec<String> = fake.seen().into_iter().map(|s| s.path).collect();
    assert!(
        !paths.is_empty() && paths.iter().all(|p| p == "/index/config.json"),
        "{paths:?}"
    );
}

#[test]
fn a_dl_off_loopback_is_refused_before_anything_is_sent_there() {
    let mut watch = Watch::start();
    let dl = format!("{}/{{crate}}/{{version}}/download", watch.base());
    let api = Fake::start(|_| ok(""));
    let reg = registry(dl.clone(), api.base());
    let index = format!("sparse+{}/index/", reg.base());
    let m = refusal(connect(target(index.clone())));
    assert!(m.contains("`dl`"), "{m}");
    assert!(m.contains(&watch.ip.to_string()), "{m}");
    assert!(m.contains("--allow-remote"), "{m}");
    only_config_json(&reg);

    // The client alone refuses too, token or not.
    let mut client = Client::new(&index, TIMEOUT, false);
    client.dl = Some(dl);
    for token in [None, Some(TOKEN)] {
        let m = refused(client.download("credlab-probe", "0.1.0", "00", token));
        assert!(m.contains("--allow-remote"), "{m}");
    }
    assert_eq!(
        watch.connections(),
        0,
        "credlab connected to {}",
        watch.base()
    );
    assert!(api.seen().is_empty());
}

#[test]
fn an_api_off_loopback_is_refused_before_anything_is_sent_there() {
    let mut watch = Watch::start();
    let downloads = Fake::start(|_| ok(""));
    let reg = registry(format!("{}/dl", downloads.base()), watch.base());
    let index = format!("sparse+{}/index/", reg.base());
    let m = refusal(connect(target(index.clone())));
    assert!(m.contains("`api`"), "{m}");
    assert!(m.contains(&watch.ip.to_string()), "{m}");
    assert!(m.contains("--allow-remote"), "{m}");
    only_config_json(&reg);

    let mut client = Client::new(&index, TIMEOUT, false);
    client.api = Some(watch.base());
    let owners = credlab_suite::token::Operation::Owners {
        name: "credlab-probe".into(),
    };
    let crates = credlab_runners::registry_run::crates::LiveCrates::default();
    let m = refused(client.request(&owners, Some(TOKEN), &crates));
    assert!(m.contains("--allow-remote"), "{m}");
    let m = refused(client.change_owners("credlab-probe", true, &["x"], Some(TOKEN)));
    assert!(m.contains("--allow-remote"), "{m}");
    assert_eq!(
        watch.connections(),
        0,
        "credlab connected to {}",
        watch.base()
    );
    assert!(downloads.seen().is_empty());
}

#[test]
fn the_backslash_at_url_is_refused_by_the_check_and_the_client() {
    let local = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    local.set_nonblocking(true).expect("non-blocking");
    let port = local.local_addr().expect("local addr").port();
    let url = format!(r"http://10.0.0.1\@127.0.0.1:{port}");
    for allow_remote in [false, true] {
        let m = safety::check(&format!("sparse+{url}/index/"), allow_remote)
            .expect_err("refused")
            .to_string();
        assert!(m.contains("backslash"), "{m}");

        let m = user_refusal(connect(Target {
            allow_remote,
            ..target(format!("sparse+{url}/index/"))
        }));
        assert!(m.contains("backslash"), "{m}");

        let mut client = Client::new(&format!("sparse+{url}/index/"), TIMEOUT, allow_remote);
        assert!(refused(client.config(Some(TOKEN))).contains("backslash"));
        assert!(refused(client.index_file("serde", Some(TOKEN))).contains("backslash"));
        client.dl = Some(format!("{url}/dl"));
        assert!(refused(client.download("a", "1.0.0", "00", Some(TOKEN))).contains("backslash"));
    }
    // Neither 127.0.0.1:port (what the old check saw) nor anything else was contacted.
    match local.accept() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("something connected to 127.0.0.1:{port}: {other:?}"),
    }
}

#[test]
fn redirects_are_checked_and_authorization_stays_with_the_origin() {
    let mut watch = Watch::start();
    let other = Fake::start(|_| ok("other"));
    let elsewhere = format!("{}/stolen", watch.base());
    let cross = format!("{}/final", other.base());
    let origin = Fake::start(move |r| match r.path.as_str() {
        "/dl/away/1.0.0/download" => redirect(&elsewhere),
        "/dl/same/1.0.0/download" => redirect("/final"),
        "/dl/cross/1.0.0/download" => redirect(&cross),
        "/dl/loop/1.0.0/download" => redirect("/dl/loop/1.0.0/download"),
        "/final" => ok("same"),
        _ => (404, Vec::new(), Vec::new()),
    });
    let mut client = Client::new(&format!("sparse+{}/index/", origin.base()), TIMEOUT, false);
    client.dl = Some(format!("{}/dl", origin.base()));

    let m = refused(client.download("away", "1.0.0", "00", Some(TOKEN)));
    assert!(
        m.contains("redirect") && m.contains("--allow-remote"),
        "{m}"
    );
    assert_eq!(
        watch.connections(),
        0,
        "followed a redirect to {}",
        watch.base()
    );

    let same = client
        .download("same", "1.0.0", "00", Some(TOKEN))
        .expect("followed");
    assert_eq!(
        (same.status, same.body.as_slice()),
        (200, b"same".as_slice())
    );
    let fin = origin
        .seen()
        .into_iter()
        .find(|s| s.path == "/final")
        .expect("the same-origin redirect was followed");
    assert_eq!(fin.method, "GET");
    assert_eq!(
        fin.headers.get("authorization").map(String::as_str),
        Some(TOKEN)
    );

    let crossed = client
        .download("cross", "1.0.0", "00", Some(TOKEN))
        .expect("followed");
    assert_eq!(
        (crossed.status, crossed.body.as_slice()),
        (200, b"other".as_slice())
    );
    let seen = other.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/final");
    assert!(
        !seen[0].headers.contains_key("authorization"),
        "the token crossed to another origin: {seen:?}"
    );
    assert!(seen[0].headers.contains_key("cargo-protocol"));

    let before = origin.seen().len();
    match client.download("loop", "1.0.0", "00", Some(TOKEN)) {
        Err(SendError::Transport(m)) => assert!(m.contains("redirects"), "{m}"),
        other => panic!("expected too many redirects, got {other:?}"),
    }
    // The first request and five redirects.
    assert_eq!(origin.seen().len() - before, 6);
    assert_eq!(watch.connections(), 0);
}

#[test]
fn the_leak_check_would_see_a_leak() {
    // The control for the tests above: with --allow-remote, the same `dl` is contacted, and
    // the watch listener sees it (when this machine has a reachable non-loopback address).
    let mut watch = Watch::start();
    if !watch.reachable {
        return;
    }
    let short = Duration::from_millis(300);
    let mut client = Client::new("sparse+http://127.0.0.1:9/index/", short, true);
    client.dl = Some(format!("{}/dl", watch.base()));
    // Nobody answers on the watch listener: the request times out after connecting.
    assert!(matches!(
        client.download("a", "1.0.0", "00", None),
        Err(SendError::Timeout(_))
    ));
    assert_eq!(watch.connections(), 1);
}

#[test]
fn a_config_redirect_off_loopback_is_the_targets_url_and_is_not_followed() {
    let mut watch = Watch::start();
    let elsewhere = format!("{}/index/config.json", watch.base());
    let reg = Fake::start(move |r| match r.path.as_str() {
        "/index/config.json" => redirect(&elsewhere),
        _ => (404, Vec::new(), Vec::new()),
    });
    let m = refusal(connect(target(format!("sparse+{}/index/", reg.base()))));
    assert!(
        m.contains("redirect") && m.contains("--allow-remote"),
        "{m}"
    );
    only_config_json(&reg);
    assert_eq!(
        watch.connections(),
        0,
        "followed a redirect to {}",
        watch.base()
    );
}
