//! The HTTP transport: Cargo's Web API and sparse index over `ureq`, with the token raw in
//! `Authorization` as Cargo sends it. It reports what the registry answered; it judges nothing.

use std::time::Duration;

use credlab_suite::token::Operation;
use serde_json::Value;

use super::crates::{LiveCrates, publish_body};

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
}

/// A registry's endpoints.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    timeout: Duration,
    /// `http(s)://…/index/` (the sparse URL without `sparse+`).
    index: String,
    /// `config.json`'s `api`, without a trailing slash.
    pub api: Option<String>,
    /// `config.json`'s `dl` template.
    pub dl: Option<String>,
}

/// The sparse index path of a crate (registry-index.md "Index files": `1/a`, `2/ab`, `3/a/abc`,
/// `ab/cd/abcd…`), lowercased. The reference registry serves the same paths.
pub fn index_path(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.len() {
        1 => format!("1/{lower}"),
        2 => format!("2/{lower}"),
        3 => format!("3/{}/{lower}", &lower[..1]),
        _ => format!("{}/{}/{lower}", &lower[..2], &lower[2..4]),
    }
}

/// Whether a string can be sent as an HTTP header value at all.
pub fn header_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

impl Client {
    pub fn new(index_url: &str, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .proxy(None)
            // Room for the oversized-token cases (a 128 KiB Authorization header).
            .output_buffer_size(512 * 1024)
            .build();
        let index = index_url.strip_prefix("sparse+").unwrap_or(index_url);
        Self {
            agent: config.into(),
            timeout,
            index: if index.ends_with('/') {
                index.to_string()
            } else {
                format!("{index}/")
            },
            api: None,
            dl: None,
        }
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

    /// Sends one request; `body` is (content type, bytes).
    fn send(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, SendError> {
        let builder = ureq::http::Request::builder()
            .method(method)
            .uri(url)
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
        let mut response = self.agent.run(request).map_err(|e| match e {
            ureq::Error::Timeout(_) => SendError::Timeout(self.timeout),
            other => SendError::Transport(other.to_string()),
        })?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let date = header("date");
        let www_authenticate = header("www-authenticate");
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|e| SendError::Transport(format!("reading the answer: {e}")))?;
        Ok(Answer {
            status,
            body,
            date,
            www_authenticate,
        })
    }

    /// `GET {index}config.json`.
    pub fn config(&self, token: Option<&str>) -> Result<Answer, SendError> {
        self.send("GET", &format!("{}config.json", self.index), token, None)
    }

    /// Reads `api` and `dl` from a config.json body.
    pub fn learn(&mut self, config: &[u8]) -> Result<bool, String> {
        let value: Value =
            serde_json::from_slice(config).map_err(|e| format!("config.json is not JSON: {e}"))?;
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

    /// `GET` a crate's index file.
    pub fn index_file(&self, name: &str, token: Option<&str>) -> Result<Answer, SendError> {
        self.send(
            "GET",
            &format!("{}{}", self.index, index_path(name)),
            token,
            None,
        )
    }

    /// `GET` a download (`dl` with `{crate}`/`{version}` markers, or `dl/{crate}/{version}/download`).
    pub fn download(
        &self,
        name: &str,
        vers: &str,
        token: Option<&str>,
    ) -> Result<Answer, SendError> {
        let dl = self.dl.clone().unwrap_or_default();
        let url = if dl.contains('{') {
            dl.replace("{crate}", name).replace("{version}", vers)
        } else {
            format!("{}/{name}/{vers}/download", dl.trim_end_matches('/'))
        };
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

    #[test]
    fn sparse_paths() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("Cargo"), "ca/rg/cargo");
    }
}
