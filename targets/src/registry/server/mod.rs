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
use credlab_suite::keys::PublicKey;
use credlab_suite::verify::{KeyStore, Policy};
use time::OffsetDateTime;
use tokio::sync::oneshot;

pub use bug::Bug;
pub use cli::serve_main;
pub use credlab_suite::index::index_path;

/// The largest request body accepted (a publish); larger ones get 413.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

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
    pub policy: Policy,
    /// A seeded bug (`None`: the conformant reference registry).
    pub bug: Option<Bug>,
    /// `login_url` of the `www-authenticate` challenge (default `{base}/me`).
    pub login_url: Option<String>,
    /// Log one line per request to stderr (method, path, status, refusal kind; never tokens).
    pub log: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            data: None,
            auth_required: true,
            keys: Vec::new(),
            policy: Policy::default(),
            bug: None,
            login_url: None,
            log: false,
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
    let router = Router::new()
        .fallback(http::handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::clone(&app));
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("credlab-registry".into())
        .spawn(move || {
            runtime.block_on(async move {
                let (drained, drain) = oneshot::channel::<()>();
                let server = tokio::spawn(async move {
                    let _ = axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            let _ = drain.await;
                        })
                        .await;
                });
                let _ = stopped.await;
                let _ = drained.send(());
                // Idle keep-alive connections close at once; give busy ones a moment.
                let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
            });
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
