//! The HTTP transport: Cargo's Web API and sparse index over `ureq`, with the token raw in
//! `Authorization` as Cargo sends it. It reports what the registry answered; it judges nothing.
//!
//! The client is also where the loopback rule is enforced, because it is the one place every
//! request passes: each URL (index, `api`, downloads, redirect targets) is parsed by
//! [`safety::Url`] and checked before a connection is opened, and the parsed `Uri` is the one
//! sent. Behind that, the agent's resolver drops non-loopback addresses, so a name that resolves
//! elsewhere is never connected to either.

use std::net::SocketAddr;
use std::time::Duration;

use credlab_suite::index::{dl_url, index_path};
use credlab_suite::token::Operation;
use serde_json::Value;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::crates::{LiveCrates, publish_body};
use super::git_index::GitIndex;
use super::safety::{self, Url};

/// Redirects a GET follows, as many as Cargo's curl handle would care to (and few enough that a
/// loop ends quickly).
pub const MAX_REDIRECTS: usize = 5;

/// The statuses whose `Location` a GET follows.
const REDIRECTS: [u16; 5] = [301, 302, 303, 307, 308];

/// What one request got back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub date: Option<String>,
    pub www_authenticate: Option<String>,
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Transport(String),
    /// The URL (or a redirect's target, or the address a name resolved to) is one credlab may
    /// not contact; nothing was sent there. The message names `--allow-remote` where it applies.
    #[error("{0}")]
    Refused(String),
}

/// Why a config.json body teaches nothing.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error("config.json is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
}

/// A registry's endpoints.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    timeout: Duration,
    /// `--allow-remote`: whether non-loopback hosts may be contacted.
    allow_remote: bool,
    /// Where the index is and how Cargo reads it.
    index: Index,
    /// `config.json`'s `api`, without a trailing slash.
    pub api: Option<String>,
    /// `config.json`'s `dl` template.
    pub dl: Option<String>,
}

/// How the index is read: a sparse index over HTTP like the rest, or a git index with git.
#[derive(Debug, Clone)]
enum Index {
    /// `http(s)://…/index/` (the sparse URL without `sparse+`).
    Sparse(String),
    Git(GitIndex),
}

/// Why the resolver refused: the name resolved only to addresses credlab may not contact.
#[derive(Debug)]
struct ResolvedElsewhere(String);

impl std::fmt::Display for ResolvedElsewhere {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResolvedElsewhere {}

/// ureq's resolver with the loopback rule applied to what it returns: the URL check decides on
/// the name, this decides on the addresses, so `localhost` mapped elsewhere (or any name, with a
/// future caller that skips the check) still cannot reach a remote host.
#[derive(Debug, Default)]
struct LoopbackResolver {
    allow_remote: bool,
    inner: DefaultResolver,
}

impl Resolver for LoopbackResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let found = self.inner.resolve(uri, config, timeout)?;
        let kept = safety::allowed_addrs(found.iter().copied(), self.allow_remote);
        if kept.is_empty() {
            let all: Vec<String> = found.iter().map(SocketAddr::to_string).collect();
            return Err(ureq::Error::Other(Box::new(ResolvedElsewhere(format!(
                "{} resolved to {} and none of it is loopback; pass {} if that is what you want",
                uri.host().unwrap_or_default(),
                all.join(", "),
                safety::ALLOW_REMOTE
            )))));
        }
        let mut addrs = self.empty();
        for addr in kept {
            addrs.push(addr);
        }
        Ok(addrs)
    }
}

/// The ureq agent: no redirects of its own (the client follows them, checking each), no
/// proxy, and the loopback resolver.
fn agent(timeout: Duration, allow_remote: bool) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .proxy(None)
        // Room for the oversized-token cases (a 128 KiB Authorization header).
        .output_buffer_size(512 * 1024)
        .build();
    let resolver = LoopbackResolver {
        allow_remote,
        ..LoopbackResolver::default()
    };
    ureq::Agent::with_parts(config, DefaultConnector::new(), resolver)
}

impl Client {
    /// A client for the registry at `index_url`; without `allow_remote` it contacts loopback
    /// hosts only.
    pub fn new(index_url: &str, timeout: Duration, allow_remote: bool) -> Self {
        // As in Cargo (`SourceId::from_url`): `sparse+` names a sparse index, anything else
        // a git one.
        let index = match index_url.strip_prefix("sparse+") {
            Some(index) if index.ends_with('/') => Index::Sparse(index.to_string()),
            Some(index) => Index::Sparse(format!("{index}/")),
            None => Index::Git(GitIndex::new(index_url, timeout, allow_remote)),
        };
        Self {
            agent: agent(timeout, allow_remote),
            timeout,
            allow_remote,
            index,
            api: None,
            dl: None,
        }
    }

    /// Whether this client may contact non-loopback hosts (`--allow-remote`).
    pub fn allow_remote(&self) -> bool {
        self.allow_remote
    }

    /// `PUT` (add) or `DELETE` (remove) owners of a crate: `{"users":[…]}`, as `cargo owner`
    /// sends it.
    pub fn change_owners(
        &self,
        name: &str,
        add: bool,
        users: &[&str],
        token: Option<&str>,
    ) -> Result<Answer, SendError> {
        let body = serde_json::to_vec(&serde_json::json!({ "users": users })).expect("serializes");
        let url = self.api(&format!("/api/v1/crates/{name}/owners"))?;
        self.send(
            if add { "PUT" } else { "DELETE" },
            &url,
            token,
            Some(("application/json", body)),
        )
    }

    /// Sends one request; `body` is (content type, bytes). The URL is checked before anything
    /// is sent; a GET follows up to [`MAX_REDIRECTS`] redirects, each target checked the same way.
    fn send(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, SendError> {
        let first = safety::allowed(url, self.allow_remote)
            .map_err(|e| SendError::Refused(e.to_string()))?;
        if method != "GET" {
            return self.send_once(method, &first, token, body).map(|(a, _)| a);
        }
        let mut current = first.clone();
        for hop in 0..=MAX_REDIRECTS {
            // curl (Cargo's HTTP stack) sends a custom Authorization only to the first origin.
            let auth = token.filter(|_| current.same_origin(&first));
            let (answer, location) = self.send_once(method, &current, auth, None)?;
            let Some(location) = location.filter(|_| REDIRECTS.contains(&answer.status)) else {
                return Ok(answer);
            };
            if hop == MAX_REDIRECTS {
                break;
            }
            current = self.follow(&current, &location)?;
        }
        Err(SendError::Transport(format!(
            "more than {MAX_REDIRECTS} redirects from {first}"
        )))
    }

    /// The target of a redirect from `from`, checked like any other URL.
    fn follow(&self, from: &Url, location: &str) -> Result<Url, SendError> {
        from.join(location)
            .and_then(|to| safety::permit(to, self.allow_remote))
            .map_err(|reason| {
                SendError::Refused(format!(
                    "the redirect from {from} to {location:?} was not followed: {reason}"
                ))
            })
    }

    /// One request to an already checked URL: the answer and its `Location`, if any.
    fn send_once(
        &self,
        method: &str,
        url: &Url,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<(Answer, Option<String>), SendError> {
        let builder = ureq::http::Request::builder()
            .method(method)
            // The parsed Uri itself, not its text: what was checked is what is sent.
            .uri(url.uri().clone())
            .header("cargo-protocol", "version=1")
            .header("accept", "application/json");
        let builder = match token {
            Some(token) => builder.header("authorization", token),
            None => builder,
        };
        let (builder, body) = match body {
            Some((kind, bytes)) => (builder.header("content-type", kind), bytes),
            None => (builder, Vec::new()),
        };
        let request = builder
            .body(body)
            .map_err(|e| SendError::Transport(format!("building the request: {e}")))?;
        let mut response = self.agent.run(request).map_err(|e| self.failed(e))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let date = header("date");
        let www_authenticate = header("www-authenticate");
        let location = header("location");
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|e| SendError::Transport(format!("reading the answer: {e}")))?;
        let answer = Answer {
            status,
            body,
            date,
            www_authenticate,
        };
        Ok((answer, location))
    }

    /// A ureq error as a [`SendError`]: the resolver's refusal stays a refusal.
    fn failed(&self, e: ureq::Error) -> SendError {
        match e {
            ureq::Error::Timeout(_) => SendError::Timeout(self.timeout),
            ureq::Error::Other(inner) if inner.is::<ResolvedElsewhere>() => {
                SendError::Refused(inner.to_string())
            }
            other => SendError::Transport(other.to_string()),
        }
    }

    /// Whether the index is a git one (read with git, which carries no Cargo token).
    pub fn git_index(&self) -> bool {
        matches!(self.index, Index::Git(_))
    }

    /// `GET {index}config.json`; from a git index, the file in its tree (`token` unsent: git
    /// carries none).
    pub fn config(&self, token: Option<&str>) -> Result<Answer, SendError> {
        match &self.index {
            Index::Sparse(index) => self.send("GET", &format!("{index}config.json"), token, None),
            Index::Git(git) => git.read("config.json"),
        }
    }

    /// Reads `api` and `dl` from a config.json body.
    pub fn learn(&mut self, config: &[u8]) -> Result<bool, LearnError> {
        let value: Value = serde_json::from_slice(config).map_err(LearnError::NotJson)?;
        self.api = value
            .get("api")
            .and_then(Value::as_str)
            .map(|s| s.trim_end_matches('/').to_string());
        self.dl = value.get("dl").and_then(Value::as_str).map(str::to_string);
        Ok(value
            .get("auth-required")
            .and_then(Value::as_bool)
            .unwrap_or(false))
    }

    /// `GET` a crate's index file; from a git index, the file in its tree (`token` unsent).
    pub fn index_file(&self, name: &str, token: Option<&str>) -> Result<Answer, SendError> {
        match &self.index {
            Index::Sparse(index) => {
                self.send("GET", &format!("{index}{}", index_path(name)), token, None)
            }
            Index::Git(git) => git.read(&index_path(name)),
        }
    }

    /// The download URL of a crate version from `dl` (see [`dl_url`]); `cksum` fills
    /// `{sha256-checksum}`.
    pub fn download_url(&self, name: &str, vers: &str, cksum: &str) -> Result<String, SendError> {
        let dl = self
            .dl
            .as_deref()
            .ok_or_else(|| SendError::Transport("config.json names no `dl`".into()))?;
        Ok(dl_url(dl, name, vers, cksum))
    }

    /// `GET` a download; `cksum` is the version's sha256, for `{sha256-checksum}`.
    pub fn download(
        &self,
        name: &str,
        vers: &str,
        cksum: &str,
        token: Option<&str>,
    ) -> Result<Answer, SendError> {
        let url = self.download_url(name, vers, cksum)?;
        self.send("GET", &url, token, None)
    }

    fn api(&self, path: &str) -> Result<String, SendError> {
        let api = self
            .api
            .as_deref()
            .ok_or_else(|| SendError::Transport("config.json names no `api`".into()))?;
        Ok(format!("{api}{path}"))
    }

    /// The request Cargo makes for `operation`, carrying `token`.
    pub fn request(
        &self,
        operation: &Operation,
        token: Option<&str>,
        crates: &LiveCrates,
    ) -> Result<Answer, SendError> {
        match operation {
            Operation::Read => self.config(token),
            Operation::Publish { name, vers, cksum } => {
                let bytes = crates.bytes(cksum).ok_or_else(|| {
                    SendError::Transport(format!("no .crate with checksum {cksum} to send"))
                })?;
                self.send(
                    "PUT",
                    &self.api("/api/v1/crates/new")?,
                    token,
                    Some(("application/octet-stream", publish_body(name, vers, &bytes))),
                )
            }
            Operation::Yank { name, vers } => self.send(
                "DELETE",
                &self.api(&format!("/api/v1/crates/{name}/{vers}/yank"))?,
                token,
                None,
            ),
            Operation::Unyank { name, vers } => self.send(
                "PUT",
                &self.api(&format!("/api/v1/crates/{name}/{vers}/unyank"))?,
                token,
                Some(("application/json", Vec::new())),
            ),
            Operation::Owners { name } => self.send(
                "GET",
                &self.api(&format!("/api/v1/crates/{name}/owners"))?,
                token,
                None,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(allow_remote: bool) -> Client {
        Client::new(
            "sparse+http://127.0.0.1:9/index/",
            Duration::from_secs(1),
            allow_remote,
        )
    }

    #[test]
    fn the_client_refuses_before_connecting() {
        let mut c = client(false);
        c.dl = Some("http://10.0.0.1:8081/{crate}/{version}/download".into());
        c.api = Some(r"http://10.0.0.1\@127.0.0.1:9".into());
        match c.download("a", "1.0.0", "00", Some("v3.public.x")) {
            Err(SendError::Refused(m)) => {
                assert!(
                    m.contains("10.0.0.1") && m.contains("--allow-remote"),
                    "{m}"
                )
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let owners = Operation::Owners { name: "a".into() };
        match c.request(&owners, None, &LiveCrates::default()) {
            Err(SendError::Refused(m)) => assert!(m.contains("backslash"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(client(true).allow_remote() && !c.allow_remote());
    }

    #[test]
    fn the_resolver_alone_stops_a_request_the_url_check_let_through() {
        // The URL check allows remote hosts here, the agent's resolver does not: the request
        // must end as a refusal, not a connection attempt (which would time out).
        let mut c = client(true);
        c.agent = agent(Duration::from_secs(1), false);
        c.api = Some("http://10.255.255.1:9".into());
        let owners = Operation::Owners { name: "a".into() };
        match c.request(&owners, Some("v3.public.x"), &LiveCrates::default()) {
            Err(SendError::Refused(m)) => {
                assert!(
                    m.contains("10.255.255.1") && m.contains("--allow-remote"),
                    "{m}"
                )
            }
            other => panic!("expected the resolver's refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_resolver_refuses_what_is_not_loopback() {
        // An IP literal goes through the resolver too; with the URL check passed (allow_remote
        // on the check, off on the resolver), the resolver alone must stop it.
        let resolver = LoopbackResolver::default();
        let config = Config::default();
        let uri: Uri = "http://10.0.0.1:9/".parse().expect("a URI");
        match resolver.resolve(&uri, &config, NextTimeout::default()) {
            Err(ureq::Error::Other(e)) => {
                assert!(e.is::<ResolvedElsewhere>());
                assert!(e.to_string().contains("--allow-remote"), "{e}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let local: Uri = "http://127.0.0.1:9/".parse().expect("a URI");
        let addrs = resolver
            .resolve(&local, &config, NextTimeout::default())
            .expect("loopback resolves");
        assert_eq!(
            addrs.to_vec(),
            vec!["127.0.0.1:9".parse::<SocketAddr>().expect("addr")]
        );
        // `localhost` resolves through the system resolver; whatever it lists, only loopback
        // addresses are kept.
        let named: Uri = "http://localhost:9/".parse().expect("a URI");
        let addrs = resolver
            .resolve(&named, &config, NextTimeout::default())
            .expect("localhost resolves");
        assert!(!addrs.is_empty());
        assert!(
            addrs.iter().all(|a| safety::is_loopback_ip(a.ip())),
            "{addrs:?}"
        );
    }
}
