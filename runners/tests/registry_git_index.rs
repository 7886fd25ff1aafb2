//! A git index (`--registry http://…/index.git`, no `sparse+`): credlab reads config.json and
//! the index files with the `git` CLI, as Cargo does, and never hands git a token. The index
//! here is a real repository served over git's dumb HTTP protocol by a static file server on
//! 127.0.0.1 (what cargo-http-registry does), which records every request.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use credlab_runners::registry_run::{Client, ConnectError, Target, connect};
use credlab_suite::keys::SecretKey;

const TIMEOUT: Duration = Duration::from_secs(20);

/// What the file server saw: the path and whether it carried `Authorization`.
type Seen = Arc<Mutex<Vec<(String, bool)>>>;

/// Serves `root` read-only over HTTP on 127.0.0.1 (404 for what is not a file under it).
fn serve_files(root: PathBuf) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = serve_one(stream, &root, &log);
        }
    });
    (format!("http://127.0.0.1:{port}"), seen)
}

fn serve_one(stream: TcpStream, root: &Path, log: &Seen) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut authorized = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        authorized |= header.to_ascii_lowercase().starts_with("authorization:");
    }
    let path = target.split('?').next().unwrap_or("/").to_string();
    log.lock()
        .expect("not poisoned")
        .push((path.clone(), authorized));
    let file = path
        .strip_prefix("/git/")
        .filter(|p| !p.split('/').any(|part| part == ".."))
        .map(|p| root.join(p));
    let (status, body) = match file.and_then(|f| std::fs::read(f).ok()) {
        Some(body) => (200, body),
        None => (404, Vec::new()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=credlab",
            "-c",
            "user.email=credlab@invalid",
        ])
        .args(args)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// A git index with `files`, committed and published for the dumb protocol.
fn index_repo(dir: &Path, files: &[(&str, &str)]) {
    git(dir, &["init", "-q"]);
    for (path, text) in files {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "index"]);
    git(dir, &["update-server-info"]);
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

#[test]
fn config_and_index_files_are_read_with_git_and_no_token() {
    let repo = tempfile::tempdir().expect("temp dir");
    let api = "http://127.0.0.1:9";
    index_repo(
        repo.path(),
        &[
            (
                "config.json",
                &format!(r#"{{"dl": "{api}/api/v1/crates", "api": "{api}"}}"#),
            ),
            ("se/rd/serde", r#"{"name":"serde","vers":"1.0.0"}"#),
        ],
    );
    let (base, seen) = serve_files(repo.path().join(".git"));
    let index = format!("{base}/git");

    let session = connect(target(index.clone())).expect("connects to a git index");
    assert!(session.client.git_index());
    assert!(!session.auth_required);
    assert_eq!(session.client.api.as_deref(), Some(api));
    assert_eq!(session.facts["auth-required"], "false");

    let client = Client::new(&index, TIMEOUT, false);
    let found = client
        .index_file("serde", Some("a token git must not carry"))
        .expect("read");
    assert_eq!(found.status, 200);
    assert_eq!(found.body, br#"{"name":"serde","vers":"1.0.0"}"#);
    let missing = client.index_file("tokio", None).expect("read");
    assert_eq!(missing.status, 404, "a file the tree lacks reads as 404");

    let seen = seen.lock().expect("not poisoned").clone();
    assert!(
        seen.iter().any(|(path, _)| path == "/git/info/refs"),
        "git's dumb protocol was spoken: {seen:?}"
    );
    assert!(
        seen.iter().all(|(_, authorized)| !authorized),
        "git carried an Authorization header: {seen:?}"
    );
}

#[test]
fn a_git_index_that_cannot_be_fetched_is_unreachable_not_a_crash() {
    let empty = tempfile::tempdir().expect("temp dir");
    let (base, _) = serve_files(empty.path().to_path_buf());
    match connect(target(format!("{base}/git"))) {
        Err(ConnectError::Unreachable(message)) => {
            assert!(message.contains("git could not fetch"), "{message}")
        }
        Err(other) => panic!("the wrong error: {other}"),
        Ok(_) => panic!("connected to nothing"),
    }
}

#[test]
fn a_git_index_off_loopback_is_refused_before_git_runs() {
    match connect(target("http://192.0.2.1:9/git".into())) {
        Err(ConnectError::UserUrl(message)) => {
            assert!(message.contains("--allow-remote"), "{message}")
        }
        Err(other) => panic!("the wrong error: {other}"),
        Ok(_) => panic!("connected off loopback"),
    }
    // The client alone refuses too (a name is resolved by credlab and pinned for git).
    let client = Client::new("http://192.0.2.1:9/git", TIMEOUT, false);
    let refused = client.index_file("serde", None).expect_err("refused");
    assert!(refused.to_string().contains("--allow-remote"), "{refused}");
}
