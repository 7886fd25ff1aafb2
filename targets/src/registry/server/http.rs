//! Routes and answers. Everything here is synchronous and runs on the async worker that
//! read the request (see [`handle`] for why not on the blocking pool).
//!
//! Status codes: 401 (+ `www-authenticate: Cargo login_url="…"`) for a missing or refused
//! token, 403 for a valid token whose key may not act (not an owner), 409 for a version that
//! exists, 400 for a malformed or unpublishable body (`validate`), 404 for unknown crates,
//! versions and endpoints. Errors are `{"errors":[{"detail":"…"}]}`; a refused token's detail
//! is `"<rejection kind>: <message>"`.
//! 500 only for a failing database, or a seeded `…ServerError` bug.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use credlab_suite::Rejection;
use credlab_suite::token::Operation;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::auth::{Actor, Auth, Denied};
use super::bug::{Bug, is_garbage};
use super::index_path;
use super::plain::{PlainDenied, PlainTokens};
use super::publish;
use super::store::{Store, StoreError};
use super::validate;

/// Everything a request handler needs.
pub struct App {
    /// `http://HOST:PORT` (no trailing slash): `config.json`'s `api`.
    pub base: String,
    pub auth_required: bool,
    pub login_url: String,
    pub bug: Option<Bug>,
    pub log: bool,
    pub auth: Auth,
    /// Plain-token mode: the issued tokens, checked instead of `auth`.
    pub plain: Option<PlainTokens>,
    pub store: Mutex<Store>,
}

/// What the handler extracted from the HTTP request.
pub struct Incoming {
    pub method: Method,
    pub uri: Uri,
    pub authorization: Option<HeaderValue>,
    pub body: Bytes,
}

pub async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let incoming = Incoming {
        method,
        uri,
        authorization: headers.get(header::AUTHORIZATION).cloned(),
        body,
    };
    // Answered on the async worker itself: the work is CPU-bound (a ~0.2 ms verify) plus
    // short SQLite calls on a local file, and workers = cores, so a hop to the blocking pool
    // only adds thread hand-offs (measured: 1.15× → 1.48× the single-core verify rate under
    // 4 loopback clients on 2 cores; `block_in_place`: 1.31×). Request bodies are read
    // before this point, so a slow client never holds a worker.
    app.respond(&incoming)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, detail: impl Into<String>) -> Response {
    json_response(status, &json!({ "errors": [{ "detail": detail.into() }] }))
}

fn ok() -> Response {
    json_response(StatusCode::OK, &json!({ "ok": true }))
}

/// Why a request was not served, before it is turned into a status code.
enum Refusal {
    /// No `Authorization` header where one is needed.
    Missing,
    /// The token was refused.
    Token(Rejection),
    /// A state change was refused or failed.
    Store(StoreError),
    /// A seeded `…ServerError` bug crashed on the token.
    Crash(String),
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        Refusal::Store(error)
    }
}

impl App {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn respond(&self, incoming: &Incoming) -> Response {
        let (response, note) = match self.route(incoming) {
            Ok(response) => (response, None),
            Err(refusal) => {
                let note = match &refusal {
                    Refusal::Missing => "no token".to_string(),
                    Refusal::Token(rejection) => rejection.kind.to_string(),
                    Refusal::Store(error) => error.to_string(),
                    Refusal::Crash(_) => "crash".to_string(),
                };
                (self.refuse(refusal), Some(note))
            }
        };
        if self.log {
            // The path and the verdict only: never the Authorization header.
            eprintln!(
                "{} {} -> {}{}",
                incoming.method,
                incoming.uri.path(),
                response.status().as_u16(),
                note.map(|n| format!(" ({n})")).unwrap_or_default()
            );
        }
        response
    }

    fn unauthorized(&self, detail: String) -> Response {
        let mut response = error(StatusCode::UNAUTHORIZED, detail);
        if self.bug != Some(Bug::NoWwwAuthenticate) {
            let challenge = format!("Cargo login_url=\"{}\"", self.login_url);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }

    fn refuse(&self, refusal: Refusal) -> Response {
        let bad_request = self.bug == Some(Bug::RejectWith400);
        match refusal {
            Refusal::Missing => self.unauthorized(
                "unauthorized: this request needs a token in the Authorization header \
                 (the registry is auth-required)"
                    .into(),
            ),
            Refusal::Token(rejection) => {
                let detail = rejection.to_string();
                if rejection.kind == credlab_suite::RejectionKind::VersionExists {
                    error(StatusCode::CONFLICT, detail)
                } else if self.bug == Some(Bug::ServerErrorOnGarbage) && is_garbage(rejection.kind)
                    || self.bug == Some(Bug::NestingServerError)
                        && rejection.kind == credlab_suite::RejectionKind::NestingTooDeep
                {
                    error(StatusCode::INTERNAL_SERVER_ERROR, detail)
                } else if bad_request {
                    error(StatusCode::BAD_REQUEST, detail)
                } else {
                    self.unauthorized(detail)
                }
            }
            Refusal::Store(StoreError::NotOwner(message)) if bad_request => {
                error(StatusCode::BAD_REQUEST, format!("forbidden: {message}"))
            }
            Refusal::Store(StoreError::NotOwner(message)) => {
                error(StatusCode::FORBIDDEN, format!("forbidden: {message}"))
            }
            Refusal::Store(StoreError::NotFound(message)) => error(StatusCode::NOT_FOUND, message),
            Refusal::Store(StoreError::Conflict(message)) => {
                error(StatusCode::CONFLICT, format!("version-exists: {message}"))
            }
            Refusal::Store(StoreError::BadRequest(message)) => {
                error(StatusCode::BAD_REQUEST, message)
            }
            Refusal::Store(db @ StoreError::Db(_)) => {
                error(StatusCode::INTERNAL_SERVER_ERROR, db.to_string())
            }
            Refusal::Crash(message) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal server error: the request handler panicked: {message}"),
            ),
        }
    }

    /// Admits the request's token for `operation` (`None`: no token, and none needed).
    fn authenticate(
        &self,
        incoming: &Incoming,
        operation: &Operation,
    ) -> Result<Option<Actor>, Refusal> {
        let is_read = *operation == Operation::Read;
        if is_read && !self.auth_required {
            return Ok(None);
        }
        let Some(value) = &incoming.authorization else {
            if is_read && self.bug == Some(Bug::ReadsWithoutAuth) {
                return Ok(None);
            }
            if self.bug == Some(Bug::MutationsWithoutAuth)
                && let Operation::Yank { name, .. } | Operation::Unyank { name, .. } = operation
            {
                return self.first_owner(name).map(Some);
            }
            return Err(Refusal::Missing);
        };
        let index_or_download = !incoming.uri.path().ends_with("/config.json")
            && !incoming.uri.path().starts_with("/api/");
        if is_read && index_or_download && self.bug == Some(Bug::ApiOnlyTokens) {
            return Err(Refusal::Token(Rejection::new(
                credlab_suite::RejectionKind::UnknownKey,
                "tokens are for the web API",
            )));
        }
        let Ok(token) = value.to_str() else {
            return Err(Refusal::Token(Rejection::new(
                credlab_suite::RejectionKind::Malformed,
                "the Authorization header is not visible ASCII",
            )));
        };
        if let Some(plain) = &self.plain {
            return match plain.admit(token, self.bug) {
                Ok(actor) => Ok(Some(actor)),
                Err(PlainDenied::Refused(rejection)) => Err(Refusal::Token(rejection)),
                Err(PlainDenied::Crashed(message)) => Err(Refusal::Crash(message)),
            };
        }
        let now = OffsetDateTime::now_utc();
        match self.auth.authorize(&self.store, token, operation, now) {
            Ok(actor) => Ok(Some(actor)),
            Err(Denied::Refused(rejection)) => Err(Refusal::Token(rejection)),
            Err(Denied::Crashed(message)) => Err(Refusal::Crash(message)),
        }
    }

    /// `MutationsWithoutAuth`: whoever owns the crate first acts for a request with no token.
    fn first_owner(&self, name: &str) -> Result<Actor, Refusal> {
        let owners = self.store().owners(name)?.unwrap_or_default();
        let owner = owners.into_iter().next().ok_or_else(|| {
            Refusal::Store(StoreError::NotFound(format!(
                "crate `{name}` does not exist"
            )))
        })?;
        Ok(Actor {
            kip: String::new(),
            login: owner.login,
        })
    }

    fn actor(&self, incoming: &Incoming, operation: &Operation) -> Result<Actor, Refusal> {
        let actor = self
            .authenticate(incoming, operation)?
            .ok_or(Refusal::Missing)?;
        let krate = match operation {
            Operation::Publish { name, .. }
            | Operation::Yank { name, .. }
            | Operation::Unyank { name, .. }
            | Operation::Owners { name } => Some(name.as_str()),
            Operation::Read => None,
        };
        match (self.bug, krate) {
            (Some(Bug::PublishOnlyTokens), Some(_))
                if !matches!(operation, Operation::Publish { .. }) =>
            {
                Err(Refusal::Store(StoreError::NotOwner(
                    "this token may only publish".into(),
                )))
            }
            // Whoever is authenticated acts as the crate's first owner (a new crate has none).
            (Some(Bug::NoOwnerCheck), Some(name)) => match self.first_owner(name) {
                Ok(owner) => Ok(owner),
                Err(_) => Ok(actor),
            },
            _ => Ok(actor),
        }
    }

    fn route(&self, incoming: &Incoming) -> Result<Response, Refusal> {
        let path = incoming.uri.path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = &incoming.method;
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["index", "config.json"]) => {
                if self.bug == Some(Bug::Config403WithoutToken)
                    && self.auth_required
                    && incoming.authorization.is_none()
                {
                    let mut response = self.unauthorized(
                        "forbidden: this request needs a token in the Authorization header".into(),
                    );
                    *response.status_mut() = StatusCode::FORBIDDEN;
                    return Ok(response);
                }
                self.authenticate(incoming, &Operation::Read)?;
                Ok(self.config_json())
            }
            ("GET", ["index", file @ ..]) => {
                self.authenticate(incoming, &Operation::Read)?;
                self.index_file(&file.join("/"))
            }
            ("GET", ["dl", name, vers, "download"]) => {
                self.authenticate(incoming, &Operation::Read)?;
                match self.store().download(name, vers)? {
                    Some(bytes) => Ok((
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/x-tar")],
                        bytes,
                    )
                        .into_response()),
                    None => Ok(error(
                        StatusCode::NOT_FOUND,
                        format!("{name}@{vers} not found"),
                    )),
                }
            }
            ("GET", ["api", "v1", "crates"]) => {
                self.authenticate(incoming, &Operation::Read)?;
                self.search(&incoming.uri)
            }
            ("PUT", ["api", "v1", "crates", "new"]) => self.publish(incoming),
            ("DELETE", ["api", "v1", "crates", name, vers, "yank"]) => {
                self.yank(incoming, name, vers, true)
            }
            ("PUT", ["api", "v1", "crates", name, vers, "unyank"]) => {
                self.yank(incoming, name, vers, false)
            }
            ("GET" | "PUT" | "DELETE", ["api", "v1", "crates", name, "owners"]) => {
                self.owners(incoming, name)
            }
            ("GET", ["me"]) => Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                "credlab reference registry: ask its operator to enrol your k3.public key \
                 (`cargo login` prints it), then configure Cargo with the matching secret key.\n",
            )
                .into_response()),
            _ => Ok(error(
                StatusCode::NOT_FOUND,
                format!("no such endpoint: {method} {path}"),
            )),
        }
    }

    /// Where downloads are: the registry itself, or (`DlOtherOrigin`) the same server under
    /// another origin.
    fn dl_base(&self) -> String {
        if self.bug == Some(Bug::DlOtherOrigin) {
            self.base.replacen("127.0.0.1", "localhost", 1)
        } else {
            self.base.clone()
        }
    }

    fn config_json(&self) -> Response {
        json_response(
            StatusCode::OK,
            &json!({
                "dl": format!("{}/dl/{{crate}}/{{version}}/download", self.dl_base()),
                "api": self.base,
                "auth-required": self.auth_required,
            }),
        )
    }

    fn index_file(&self, file: &str) -> Result<Response, Refusal> {
        let name = file.rsplit('/').next().unwrap_or_default();
        let not_found = || error(StatusCode::NOT_FOUND, format!("no index file {file}"));
        if validate::crate_name(name).is_err() || index_path(name) != file {
            return Ok(not_found());
        }
        Ok(match self.store().index_file(name)? {
            Some(lines) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                lines,
            )
                .into_response(),
            None => not_found(),
        })
    }

    fn search(&self, uri: &Uri) -> Result<Response, Refusal> {
        #[derive(Deserialize)]
        struct Params {
            #[serde(default)]
            q: String,
            per_page: Option<String>,
        }
        let Ok(Query(params)) = Query::<Params>::try_from_uri(uri) else {
            return Ok(error(StatusCode::BAD_REQUEST, "malformed query string"));
        };
        let limit = params
            .per_page
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(10)
            .clamp(1, 100);
        let (hits, total) = self.store().search(&params.q, limit)?;
        let crates: Vec<Value> = hits
            .into_iter()
            .map(|hit| {
                json!({
                    "name": hit.name,
                    "max_version": hit.max_version,
                    "description": hit.description,
                })
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({ "crates": crates, "meta": { "total": total } }),
        ))
    }

    fn publish(&self, incoming: &Incoming) -> Result<Response, Refusal> {
        let publish = match publish::parse(&incoming.body) {
            Ok(publish) => publish,
            Err(e) => {
                return Ok(error(
                    StatusCode::BAD_REQUEST,
                    format!("bad publish body: {e}"),
                ));
            }
        };
        let operation = Operation::Publish {
            name: publish.name.clone(),
            vers: publish.vers.clone(),
            cksum: publish.cksum.clone(),
        };
        let actor = match self.actor(incoming, &operation) {
            Ok(actor) => actor,
            Err(refusal) => {
                if self.bug == Some(Bug::TraceOnRejectedPublish) {
                    let _ = self.store().publish(&publish, None, false);
                }
                return Err(refusal);
            }
        };
        // The `.crate` is inflated only for an admitted token: a request whose token does not
        // bind it is refused as such (401), and no unauthenticated request costs an inflate.
        if let Err(e) = publish.check_crate() {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                format!("bad publish body: {e}"),
            ));
        }
        let replace = matches!(self.bug, Some(Bug::AllowRepublish | Bug::PublishOverwrites));
        self.store()
            .publish(&publish, Some(&actor.login), replace)?;
        Ok(json_response(
            StatusCode::OK,
            &json!({ "warnings": { "invalid_categories": [], "invalid_badges": [], "other": [] } }),
        ))
    }

    fn yank(
        &self,
        incoming: &Incoming,
        name: &str,
        vers: &str,
        yanked: bool,
    ) -> Result<Response, Refusal> {
        let (name, vers) = (name.to_string(), vers.to_string());
        let operation = if yanked {
            Operation::Yank { name, vers }
        } else {
            Operation::Unyank { name, vers }
        };
        let actor = self.actor(incoming, &operation)?;
        let (name, vers) = (
            operation.name().unwrap_or(""),
            operation.vers().unwrap_or(""),
        );
        self.store().set_yanked(name, vers, yanked, &actor.login)?;
        Ok(ok())
    }

    fn owners(&self, incoming: &Incoming, name: &str) -> Result<Response, Refusal> {
        let operation = Operation::Owners {
            name: name.to_string(),
        };
        let actor = self.actor(incoming, &operation)?;
        if incoming.method == Method::GET {
            let Some(owners) = self.store().owners(name)? else {
                return Ok(error(
                    StatusCode::NOT_FOUND,
                    format!("crate `{name}` does not exist"),
                ));
            };
            let users: Vec<Value> = owners
                .into_iter()
                .map(|o| json!({ "id": o.id, "login": o.login, "name": null }))
                .collect();
            return Ok(json_response(StatusCode::OK, &json!({ "users": users })));
        }
        #[derive(Deserialize)]
        struct Users {
            users: Vec<String>,
        }
        let users = match serde_json::from_slice::<Users>(&incoming.body) {
            Ok(Users { users }) if !users.is_empty() => users,
            Ok(_) => return Ok(error(StatusCode::BAD_REQUEST, "`users` is empty")),
            Err(e) => {
                return Ok(error(
                    StatusCode::BAD_REQUEST,
                    format!("expected {{\"users\":[\"login\",…]}}: {e}"),
                ));
            }
        };
        if let Some(bad) = users
            .iter()
            .find(|u| u.is_empty() || u.len() > 256 || u.chars().any(char::is_control))
        {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                format!("invalid login {bad:?}"),
            ));
        }
        let add = incoming.method == Method::PUT;
        self.store()
            .change_owners(name, &users, add, &actor.login)?;
        let msg = if add {
            format!(
                "user(s) {} added as owner(s) of crate {name}",
                users.join(", ")
            )
        } else {
            format!(
                "user(s) {} removed from the owners of crate {name}",
                users.join(", ")
            )
        };
        Ok(json_response(
            StatusCode::OK,
            &json!({ "ok": true, "msg": msg }),
        ))
    }
}
