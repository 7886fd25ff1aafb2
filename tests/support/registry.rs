//! A loopback sparse registry for driving real Cargo: `auth-required` index, publish, yank,
//! unyank, owners and downloads, recording every request with its raw `Authorization` header.
//!
//! The stub never verifies tokens. For each request it records the operation *as the server
//! sees it* (from the method, the path and the publish body, never from the token's claims),
//! so the test can judge afterwards whether each token is bound to the request it came with.
//!
//! Layout (`{base}` = `http://127.0.0.1:PORT`):
//! - `GET {base}/index/config.json`: 401 + `www-authenticate: Cargo login_url=…` without an
//!   `Authorization` header (so Cargo sends its read token), else
//!   `{"dl": "{base}/dl/{crate}/{version}/download", "api": "{base}", "auth-required": true}`;
//! - `GET {base}/index/{prefix}/{name}` (`1/`, `2/`, `3/{c}/`, `{ab}/{cd}/`): published versions;
//! - `GET {base}/dl/{name}/{vers}/download`: the stored `.crate` bytes;
//! - `PUT {base}/api/v1/crates/new`, `DELETE …/{name}/{vers}/yank`, `PUT …/{name}/{vers}/unyank`,
//!   `GET|PUT|DELETE …/{name}/owners`.
//!
//! Every known endpoint answers 401 when `Authorization` is missing (the registry is
//! `auth-required`); anything else is 404.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use credlab_suite::index::index_path;
use credlab_suite::token::Operation;
pub use credlab_suite::vectors::fixture::sha256_hex;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The `login_url` the stub advertises on 401 (Cargo only shows it to the user).
pub const LOGIN_URL: &str = "http://127.0.0.1/credlab-login";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: Method,
    /// Path and query, as received.
    pub path: String,
    /// The raw `Authorization` value (Cargo sends the token with no scheme).
    pub authorization: Option<String>,
    /// What the request asks for, derived from the request alone; `None` for unknown endpoints.
    pub operation: Option<Operation>,
    /// What the stub answered.
    pub status: StatusCode,
}

struct Version {
    vers: String,
    cksum: String,
    yanked: bool,
    features: Value,
    links: Value,
    crate_bytes: Vec<u8>,
}

impl Version {
    fn index_line(&self, name: &str) -> String {
        json!({
            "name": name,
            "vers": self.vers,
            "deps": [],
            "cksum": self.cksum,
            "features": self.features,
            "yanked": self.yanked,
            "links": self.links,
        })
        .to_string()
    }
}

#[derive(Default)]
struct Crate {
    versions: Vec<Version>,
    owners: Vec<String>,
}

#[derive(Default)]
struct Inner {
    crates: BTreeMap<String, Crate>,
    captured: Vec<Captured>,
}

struct Shared {
    base: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking handler must not hide what was captured before it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running stub. Dropping it stops the server.
pub struct Registry {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Registry {
    /// Binds 127.0.0.1:0 and starts serving; the registry is ready once this returns (the
    /// socket is bound and listening, so connections queue until the server accepts them).
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        let shared = Arc::new(Shared {
            base: format!("http://{addr}"),
            inner: Mutex::default(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("registry stub crashed");
        });
        Self { addr, shared, task }
    }

    /// The index URL Cargo is configured with (and puts in every token's footer).
    pub fn index_url(&self) -> String {
        format!("sparse+http://{}/index/", self.addr)
    }

    /// Everything received so far, in arrival order.
    pub fn captured(&self) -> Vec<Captured> {
        self.shared.lock().captured.clone()
    }

    /// The `.crate` bytes stored for `name` `vers`, if it was published.
    pub fn crate_bytes(&self, name: &str, vers: &str) -> Option<Vec<u8>> {
        let inner = self.shared.lock();
        let krate = inner.crates.get(name)?;
        let version = krate.versions.iter().find(|v| v.vers == vers)?;
        Some(version.crate_bytes.clone())
    }

    /// Whether `name` `vers` is currently yanked (`None`: not published).
    pub fn is_yanked(&self, name: &str, vers: &str) -> Option<bool> {
        let inner = self.shared.lock();
        let krate = inner.crates.get(name)?;
        Some(krate.versions.iter().find(|v| v.vers == vers)?.yanked)
    }

    /// The current owner logins of `name`.
    pub fn owners(&self, name: &str) -> Vec<String> {
        let inner = self.shared.lock();
        inner
            .crates
            .get(name)
            .map(|c| c.owners.clone())
            .unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string());
    let mut inner = shared.lock();
    let (operation, response) = route(
        &mut inner,
        &shared.base,
        &method,
        uri.path(),
        authorization.is_some(),
        &body,
    );
    inner.captured.push(Captured {
        method,
        path,
        authorization,
        operation,
        status: response.status(),
    });
    response
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, detail: impl Into<String>) -> Response {
    json_response(status, json!({ "errors": [{ "detail": detail.into() }] }))
}

fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "this registry requires authentication",
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&format!("Cargo login_url=\"{LOGIN_URL}\""))
            .expect("a valid header value"),
    );
    response
}

/// Decides what the request is (independently of any token) and answers it.
fn route(
    inner: &mut Inner,
    base: &str,
    method: &Method,
    path: &str,
    authenticated: bool,
    body: &[u8],
) -> (Option<Operation>, Response) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let operation = match (method.as_str(), segments.as_slice()) {
        ("GET", ["index", ..] | ["dl", _, _, "download"]) => Some(Operation::Read),
        ("PUT", ["api", "v1", "crates", "new"]) => match parse_publish(body) {
            Ok(publish) => Some(Operation::Publish {
                name: publish.name.clone(),
                vers: publish.vers.clone(),
                cksum: sha256_hex(&publish.crate_bytes),
            }),
            Err(message) => return (None, error(StatusCode::BAD_REQUEST, message)),
        },
        ("DELETE", ["api", "v1", "crates", name, vers, "yank"]) => Some(Operation::Yank {
            name: name.to_string(),
            vers: vers.to_string(),
        }),
        ("PUT", ["api", "v1", "crates", name, vers, "unyank"]) => Some(Operation::Unyank {
            name: name.to_string(),
            vers: vers.to_string(),
        }),
        ("GET" | "PUT" | "DELETE", ["api", "v1", "crates", name, "owners"]) => {
            Some(Operation::Owners {
                name: name.to_string(),
            })
        }
        _ => None,
    };
    let Some(operation) = operation else {
        return (
            None,
            error(
                StatusCode::NOT_FOUND,
                format!("no such endpoint: {method} {path}"),
            ),
        );
    };
    if !authenticated {
        return (Some(operation), unauthorized());
    }
    let response = match (&operation, segments.as_slice()) {
        (Operation::Read, ["index", "config.json"]) => json_response(
            StatusCode::OK,
            json!({
                "dl": format!("{base}/dl/{{crate}}/{{version}}/download"),
                "api": base,
                "auth-required": true,
            }),
        ),
        (Operation::Read, ["index", rest @ ..]) => serve_index_file(inner, &rest.join("/")),
        (Operation::Read, ["dl", name, vers, _]) => {
            match inner
                .crates
                .get(*name)
                .and_then(|c| c.versions.iter().find(|v| v.vers == *vers))
            {
                Some(version) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/gzip")],
                    version.crate_bytes.clone(),
                )
                    .into_response(),
                None => error(StatusCode::NOT_FOUND, format!("{name} {vers} not found")),
            }
        }
        (Operation::Publish { .. }, _) => {
            let publish = parse_publish(body).expect("parsed above");
            store(inner, publish)
        }
        (Operation::Yank { name, vers }, _) => set_yanked(inner, name, vers, true),
        (Operation::Unyank { name, vers }, _) => set_yanked(inner, name, vers, false),
        (Operation::Owners { name }, _) => owners(inner, method, name, body),
        _ => unreachable!("every operation above has an answer"),
    };
    (Some(operation), response)
}

fn serve_index_file(inner: &Inner, file: &str) -> Response {
    let name = file.rsplit('/').next().unwrap_or_default();
    let found = inner
        .crates
        .iter()
        .find(|(stored, _)| stored.to_lowercase() == name && index_path(stored) == file);
    match found {
        Some((stored, krate)) if !krate.versions.is_empty() => {
            let lines: String = krate
                .versions
                .iter()
                .map(|v| v.index_line(stored) + "\n")
                .collect();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                lines,
            )
                .into_response()
        }
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

struct Publish {
    name: String,
    vers: String,
    metadata: Value,
    crate_bytes: Vec<u8>,
}

/// Splits a publish body: u32 LE JSON length, JSON metadata, u32 LE `.crate` length, `.crate`.
fn parse_publish(body: &[u8]) -> Result<Publish, String> {
    fn take<'a>(rest: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], String> {
        if rest.len() < n {
            return Err(format!("publish body truncated in {what}"));
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head)
    }
    fn take_len(rest: &mut &[u8], what: &str) -> Result<usize, String> {
        let bytes = take(rest, 4, what)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")) as usize)
    }
    let mut rest = body;
    let json_len = take_len(&mut rest, "the JSON length")?;
    let metadata: Value = serde_json::from_slice(take(&mut rest, json_len, "the JSON")?)
        .map_err(|e| format!("publish metadata is not JSON: {e}"))?;
    let crate_len = take_len(&mut rest, "the .crate length")?;
    let crate_bytes = take(&mut rest, crate_len, "the .crate")?.to_vec();
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes after the .crate", rest.len()));
    }
    let field = |key: &str| {
        metadata[key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("publish metadata has no string `{key}`"))
    };
    Ok(Publish {
        name: field("name")?,
        vers: field("vers")?,
        crate_bytes,
        metadata,
    })
}

fn store(inner: &mut Inner, publish: Publish) -> Response {
    if publish.metadata["deps"]
        .as_array()
        .is_some_and(|deps| !deps.is_empty())
    {
        return error(
            StatusCode::BAD_REQUEST,
            "the credlab stub only takes crates without dependencies",
        );
    }
    let krate = inner
        .crates
        .entry(publish.name.clone())
        .or_insert_with(|| Crate {
            versions: Vec::new(),
            owners: vec!["credlab".to_string()],
        });
    if krate.versions.iter().any(|v| v.vers == publish.vers) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{} {} is already published", publish.name, publish.vers),
        );
    }
    krate.versions.push(Version {
        vers: publish.vers,
        cksum: sha256_hex(&publish.crate_bytes),
        yanked: false,
        features: publish
            .metadata
            .get("features")
            .cloned()
            .unwrap_or_else(|| json!({})),
        links: publish
            .metadata
            .get("links")
            .cloned()
            .unwrap_or(Value::Null),
        crate_bytes: publish.crate_bytes,
    });
    json_response(
        StatusCode::OK,
        json!({ "warnings": { "invalid_categories": [], "invalid_badges": [], "other": [] } }),
    )
}

fn set_yanked(inner: &mut Inner, name: &str, vers: &str, yanked: bool) -> Response {
    let version = inner
        .crates
        .get_mut(name)
        .and_then(|c| c.versions.iter_mut().find(|v| v.vers == vers));
    match version {
        Some(version) => {
            version.yanked = yanked;
            json_response(StatusCode::OK, json!({ "ok": true }))
        }
        None => error(StatusCode::NOT_FOUND, format!("{name} {vers} not found")),
    }
}

fn owners(inner: &mut Inner, method: &Method, name: &str, body: &[u8]) -> Response {
    let Some(krate) = inner.crates.get_mut(name) else {
        return error(StatusCode::NOT_FOUND, format!("crate {name} not found"));
    };
    if *method == Method::GET {
        let users: Vec<Value> = krate
            .owners
            .iter()
            .enumerate()
            .map(|(i, login)| json!({ "id": i + 1, "login": login, "name": null }))
            .collect();
        return json_response(StatusCode::OK, json!({ "users": users }));
    }
    let users: Vec<String> = match serde_json::from_slice::<Value>(body) {
        Ok(value) => value["users"]
            .as_array()
            .map(|users| {
                users
                    .iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("owners body is not JSON: {e}"),
            );
        }
    };
    let msg = if *method == Method::PUT {
        for user in &users {
            if !krate.owners.contains(user) {
                krate.owners.push(user.clone());
            }
        }
        format!("user(s) {} added as owner(s) of {name}", users.join(", "))
    } else {
        krate.owners.retain(|owner| !users.contains(owner));
        format!(
            "user(s) {} removed from the owners of {name}",
            users.join(", ")
        )
    };
    json_response(StatusCode::OK, json!({ "ok": true, "msg": msg }))
}
