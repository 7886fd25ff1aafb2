//! `credlab serve`: a real sparse registry that verifies Cargo's asymmetric tokens (RFC 3231,
//! `cargo:paseto`) with credlab's verifier and keeps its state in SQLite.
//!
//! Layout (`{base}` = `http://127.0.0.1:PORT`; index URL `sparse+{base}/index/`):
//!
//! | request | token | answer |
//! |---------|-------|--------|
//! | `GET /index/config.json` | read, if auth-required | `{"dl","api","auth-required"}` |
//! | `GET /index/{1,2,3/c,ab/cd}/{name}` | read, if auth-required | one JSON line per version |
//! | `GET /dl/{name}/{vers}/download` | read, if auth-required | the `.crate` |
//! | `GET /api/v1/crates?q=&per_page=` | read, if auth-required | `{"crates":[…],"meta":{"total"}}` |
//! | `PUT /api/v1/crates/new` | publish (name, vers from the metadata; cksum = SHA-256 of the `.crate`) | `{"warnings":{…}}` |
//! | `DELETE /api/v1/crates/{name}/{vers}/yank` | yank | `{"ok":true}` |
//! | `PUT /api/v1/crates/{name}/{vers}/unyank` | unyank | `{"ok":true}` |
//! | `GET\|PUT\|DELETE /api/v1/crates/{name}/owners` | owners | list `{"users":[…]}`; add/remove `{"ok":true,"msg"}` |
//!
//! Every token goes through [`credlab_suite::registry::admit`] with an
//! [`Operation`](credlab_suite::token::Operation) built from the HTTP request alone. Refused:
//! 401 + `www-authenticate: Cargo login_url="…"` (missing or invalid token, replay), 403 (a
//! valid token whose key does not own the crate), 409 (version exists), 400 (a malformed body,
//! or one the registry will not publish: the rules, their sources and when each runs are in
//! [`validate`]).
//! Ownership: the key that first publishes a crate owns it, under its subject if it has one,
//! else its `kip`; only owners may publish new versions, yank, unyank and change owners.
//!
//! Path segments are used as sent (Cargo does not percent-encode them).
//!
//! Concurrency: requests are answered on the async workers (one per core; see
//! `http::handle` for why not a blocking pool); the SQLite connection sits behind one mutex
//! that is never held while a token is verified. Read and owners tokens are verified fully in
//! parallel; publish/yank/unyank tokens are admitted under the replay-guard lock (check and
//! record must be atomic), which is separate from the database lock. The guard's records are
//! persisted (`replay` table) and reloaded on start, and pruned once older than the window.
//!
//! Seeded bugs for negative controls: [`Bug`].

mod auth;
mod bug;
pub mod cli;
mod http;
mod limits;
mod listen;
pub mod plain;
pub mod publish;
mod store;
mod tarball;
pub mod validate;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::routing::any;
use credlab_suite::keys::PublicKey;
use credlab_suite::token::Operation;
use credlab_suite::verify::{KeyStore, Policy};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tower_http::timeout::TimeoutLayer;

pub use auth::AuthCounts;
pub use bug::Bug;
pub use cli::serve_main;
pub use credlab_suite::index::index_path;
pub use limits::Limits;

/// The database file inside the data directory.
pub const DB_FILE: &str = "registry.sqlite3";

/// How to run the registry.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The directory holding `registry.sqlite3` (created if missing). `None`: a temporary
    /// directory, removed when the server is shut down.
    pub data: Option<PathBuf>,
    /// `auth-required` in `config.json`: reads need a token too.
    pub auth_required: bool,
    /// The enrolled public keys, each with its subject (the `sub` its tokens must carry).
    pub keys: Vec<(PublicKey, Option<String>)>,
    /// Plain-token mode: the opaque tokens the registry issued, each acting for its login.
    /// When any is given the registry admits only these (no asymmetric tokens).
    pub plain_tokens: Vec<plain::PlainToken>,
    pub policy: Policy,
    /// A seeded bug (`None`: the conformant reference registry).
    pub bug: Option<Bug>,
    /// `login_url` of the `www-authenticate` challenge (default `{base}/me`).
    pub login_url: Option<String>,
    /// Log one line per request to stderr (method, path, status, refusal kind; never tokens).
    pub log: bool,
    /// Timeouts, the connection limit and body limits.
    pub limits: Limits,
    /// How many verified read tokens to keep, so a token Cargo reuses for a whole command is
    /// verified once (`credlab_verify::cache`; 0: verify every request).
    pub read_cache: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            data: None,
            auth_required: true,
            keys: Vec::new(),
            plain_tokens: Vec::new(),
            policy: Policy::default(),
            bug: None,
            login_url: None,
            log: false,
            limits: Limits::default(),
            read_cache: credlab_suite::cache::DEFAULT_CAPACITY,
        }
    }
}

/// A running registry. Dropping it (or [`Running::shutdown`]) stops the server, closes the
/// database and removes a temporary data directory.
pub struct Running {
    addr: SocketAddr,
    base: String,
    data: PathBuf,
    app: Arc<http::App>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    // Dropped last: the database lives inside it.
    _temp: Option<tempfile::TempDir>,
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `sparse+http://HOST:PORT/index/`: what Cargo is configured with and what every
    /// token's footer `url` must be.
    pub fn index_url(&self) -> String {
        self.app.auth.index_url().to_string()
    }

    /// `http://HOST:PORT`: `config.json`'s `api` (the Web API is under `/api/v1/`).
    pub fn api_url(&self) -> String {
        self.base.clone()
    }

    /// The data directory (holding [`DB_FILE`]).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data
    }

    /// How many single-use (publish/yank/unyank) records the replay guard holds in memory.
    pub fn replay_records(&self) -> usize {
        self.app.auth.guard_len()
    }

    /// Tokens checked, full verifies run and read-cache hits since the start.
    pub fn auth_counts(&self) -> AuthCounts {
        self.app.auth.counts()
    }

    /// The authentication step of a request, without HTTP: admits `token` for `operation` at
    /// `now` and returns the acting login, or the refusal (a 500-crash of a seeded bug as its
    /// message). For tests and benches of the verify path the way requests take it.
    pub fn authenticate(
        &self,
        token: &str,
        operation: &Operation,
        now: OffsetDateTime,
    ) -> Result<String, String> {
        match self
            .app
            .auth
            .authorize(&self.app.store, token, operation, now)
        {
            Ok(actor) => Ok(actor.login),
            Err(auth::Denied::Refused(rejection)) => Err(rejection.to_string()),
            Err(auth::Denied::Crashed(message)) => Err(message),
        }
    }

    /// How many single-use records the database holds (pruned as new ones arrive).
    pub fn replay_records_on_disk(&self) -> usize {
        let store = self.app.store.lock().unwrap_or_else(|p| p.into_inner());
        store.replay_len().unwrap_or(0)
    }

    /// Stops accepting, lets in-flight requests finish (for up to a few seconds) and waits.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    /// Blocks until the server stops (it only stops on [`Running::shutdown`] or drop, so
    /// this serves forever: what `credlab serve` does).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Opens the database, binds the socket and starts serving on a thread of its own. Returns
/// once the socket is bound and listening (connections queue until they are served).
pub fn start(config: Config) -> io::Result<Running> {
    let (data, temp) = match &config.data {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("credlab-registry-")
                .tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let store = store::Store::open(&data.join(DB_FILE)).map_err(io::Error::other)?;

    let listener = TcpListener::bind(config.addr)?;
    listener.set_nonblocking(true)?;
    let mut addr = listener.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    let base = format!("http://{addr}");
    let index_url = format!("sparse+{base}/index/");

    let mut keys = KeyStore::new();
    for (key, subject) in &config.keys {
        keys.insert(key.clone(), subject.clone());
    }
    let now = OffsetDateTime::now_utc();
    let auth = auth::Auth::new(
        index_url,
        keys,
        config.policy.clone(),
        config.bug,
        config.read_cache,
        &store,
        now,
    )
    .map_err(io::Error::other)?;
    let app = Arc::new(http::App {
        login_url: config
            .login_url
            .clone()
            .unwrap_or_else(|| format!("{base}/me")),
        base: base.clone(),
        auth_required: config.auth_required,
        bug: config.bug,
        log: config.log,
        auth,
        plain: (!config.plain_tokens.is_empty())
            .then(|| plain::PlainTokens::new(config.plain_tokens.clone())),
        store: Mutex::new(store),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .thread_name("credlab-registry")
        .enable_all()
        .build()?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    let limits = config.limits.clone();
    let router = router(Arc::clone(&app), &limits);
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("credlab-registry".into())
        .spawn(move || {
            runtime.block_on(listen::serve(listener, router, &limits, stopped));
            runtime.shutdown_timeout(Duration::from_secs(1));
        })?;
    Ok(Running {
        addr,
        base,
        data,
        app,
        stop: Some(stop),
        thread: Some(thread),
        _temp: temp,
    })
}

/// Every request goes to [`http::handle`]; publish bodies may be larger than the rest, and
/// each request (its body read included) has [`Limits::body_timeout`] to be answered.
fn router(app: Arc<http::App>, limits: &Limits) -> Router {
    Router::new()
        .route(
            "/api/v1/crates/new",
            any(http::handle).layer(DefaultBodyLimit::max(limits.max_publish_body)),
        )
        .fallback(http::handle.layer(DefaultBodyLimit::max(limits.max_body)))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.body_timeout,
        ))
        .with_state(app)
}
