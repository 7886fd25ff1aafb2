//! Reading a git index (`index = "http://…/index.git"`, no `sparse+`): Cargo fetches such an
//! index with git (libgit2, gitoxide, or the `git` CLI under `net.git-fetch-with-cli`), which
//! carries no Cargo token, and reads `config.json` and the crates' files from the fetched
//! tree. credlab does the same with the `git` CLI, so a git-index registry (cargo-http-registry,
//! Gitea's, Artifactory's) is judged on its HTTP API and downloads like any other.
//!
//! Each read is a fresh bare clone into a temporary folder, so it sees what the registry has
//! committed by then (a publish or yank shows up in the next read) without credlab keeping a
//! repository in sync. Git runs bounded in time, with no configuration but what is given here:
//! no credential helpers or prompts, no redirects, no proxy, only http(s), and the index's host
//! pinned to an address the loopback rule allows (git resolves names itself, so credlab
//! resolves first and hands git the address).

use std::net::ToSocketAddrs;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::client::{Answer, SendError};
use super::safety::{self, Url};
use crate::bounded::run_bounded;

/// The most of a file credlab reads from the index (a crate's index file grows by a line per
/// version; config.json is a few lines).
const MAX_FILE: u64 = 4 * 1024 * 1024;

/// A git index and how to reach it.
#[derive(Debug, Clone)]
pub struct GitIndex {
    /// The URL as configured (`http://127.0.0.1:P/git`).
    url: String,
    timeout: Duration,
    allow_remote: bool,
}

impl GitIndex {
    pub fn new(url: &str, timeout: Duration, allow_remote: bool) -> Self {
        Self {
            url: url.to_string(),
            timeout,
            allow_remote,
        }
    }

    /// The file at `path` in the index's default branch, as an answer: 200 with its bytes, or
    /// 404 when the tree has no such file (what a sparse registry answers for it).
    pub fn read(&self, path: &str) -> Result<Answer, SendError> {
        let pin = self.pin()?;
        let dir = tempfile::Builder::new()
            .prefix("credlab-git-index-")
            .tempdir()
            .map_err(|e| SendError::Transport(format!("a folder for the git index: {e}")))?;
        let repo = dir.path().join("index.git");
        let log = dir.path().join("git.log");
        let mut clone = self.git(&log)?;
        clone
            .args(["-c", &format!("http.curloptResolve={pin}")])
            .args(["clone", "--quiet", "--bare", "--", &self.url])
            .arg(&repo);
        let cloned = self.run(clone)?;
        if !cloned {
            return Err(SendError::Transport(format!(
                "git could not fetch the index {}: {}",
                self.url,
                tail(&log)
            )));
        }
        let out = dir.path().join("file");
        let mut show = self.git(&out)?;
        show.arg("--git-dir")
            .arg(&repo)
            .args(["cat-file", "blob", &format!("HEAD:{path}")]);
        if !self.run(show)? {
            // `cat-file` fails only for a missing path here: the clone just succeeded.
            return Ok(answer(404, Vec::new()));
        }
        let bytes = read_capped(&out)?;
        Ok(answer(200, bytes))
    }

    /// `host:port:address` for curl's resolve list: the first address of the index's host the
    /// loopback rule allows.
    fn pin(&self) -> Result<String, SendError> {
        let url = Url::parse(&self.url).map_err(|e| SendError::Refused(e.to_string()))?;
        let found: Vec<_> = (url.host(), url.port())
            .to_socket_addrs()
            .map_err(|e| SendError::Transport(format!("{}: {e}", url.host())))?
            .collect();
        let kept = safety::allowed_addrs(found.iter().copied(), self.allow_remote);
        let addr = kept.first().ok_or_else(|| {
            SendError::Refused(format!(
                "{} resolved to no loopback address; pass {} if that is what you want",
                url.host(),
                safety::ALLOW_REMOTE
            ))
        })?;
        let host = if url.host().contains(':') {
            format!("[{}]", url.host())
        } else {
            url.host().to_string()
        };
        let ip = match addr.ip() {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            std::net::IpAddr::V4(v4) => v4.to_string(),
        };
        Ok(format!("{host}:{}:{ip}", url.port()))
    }

    /// `git` with nothing of the user's configuration and none of the ways git could carry a
    /// secret or go elsewhere; its output goes to `out`, its errors to the log beside it.
    fn git(&self, out: &std::path::Path) -> Result<Command, SendError> {
        let file = |p: &std::path::Path| {
            std::fs::File::create(p)
                .map_err(|e| SendError::Transport(format!("{}: {e}", p.display())))
        };
        let mut git = Command::new("git");
        git.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "/bin/false")
            .env("LC_ALL", "C")
            .args([
                "-c",
                "credential.helper=",
                "-c",
                "http.followRedirects=false",
                "-c",
                "http.proxy=",
                "-c",
                "protocol.allow=never",
                "-c",
                "protocol.http.allow=always",
                "-c",
                "protocol.https.allow=always",
            ])
            .stdin(Stdio::null())
            .stdout(file(out)?)
            .stderr(file(&out.with_extension("err"))?);
        Ok(git)
    }

    /// Runs `git`; whether it succeeded. A run past the deadline is a timeout.
    fn run(&self, command: Command) -> Result<bool, SendError> {
        match run_bounded(command, self.timeout) {
            Ok(Some(status)) => Ok(status.success()),
            Ok(None) => Err(SendError::Timeout(self.timeout)),
            Err(e) => Err(SendError::Transport(format!("running git: {e}"))),
        }
    }
}

fn answer(status: u16, body: Vec<u8>) -> Answer {
    Answer {
        status,
        body,
        date: None,
        www_authenticate: None,
    }
}

fn read_capped(path: &std::path::Path) -> Result<Vec<u8>, SendError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE).read_to_end(&mut bytes))
        .map_err(|e| SendError::Transport(format!("{}: {e}", path.display())))?;
    Ok(bytes)
}

/// The last line git wrote to its error log (what a reader needs to know why), bounded.
fn tail(log: &std::path::Path) -> String {
    let text = std::fs::read(log.with_extension("err")).unwrap_or_default();
    let text = String::from_utf8_lossy(&text[..text.len().min(4096)]).into_owned();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .to_string()
}
