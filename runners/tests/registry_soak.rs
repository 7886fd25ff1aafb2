//! A soak of the reference registry (`credlab serve`): several loopback clients publish,
//! yank, unyank and read for a bounded time, the registry is restarted on the same data
//! directory, and the index is checked against what was acknowledged. Goal: every
//! acknowledged write present, no 5xx, no corrupt index file. The figures are printed as
//! one JSON line (`cargo test -p credlab-runners --test registry_soak -- --nocapture`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use credlab_runners::registry_run::crates::{crate_file, publish_body};
use credlab_suite::index::index_path;
use credlab_suite::keys::SecretKey;
use credlab_suite::token::{Operation, sign_as_cargo};
use credlab_suite::vectors::fixture::sha256_hex;
use credlab_targets::registry::server::{self, Config, Running};
use serde_json::Value;
use time::OffsetDateTime;

/// Clients at once.
const CLIENTS: usize = 4;
/// How long they run.
const SOAK: Duration = Duration::from_secs(4);

/// What the clients were told, per crate and version: `Some(yanked)` once the publish was
/// acknowledged, updated by every acknowledged yank or unyank.
type Acknowledged = BTreeMap<(String, String), bool>;

#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    /// Status → count.
    statuses: BTreeMap<u16, u64>,
    /// Requests that got no HTTP answer at all.
    unanswered: u64,
}

struct Client<'a> {
    running: &'a Running,
    key: &'a SecretKey,
    agent: ureq::Agent,
}

impl Client<'_> {
    fn token(&self, op: &Operation) -> String {
        sign_as_cargo(
            self.key,
            &self.running.index_url(),
            op,
            OffsetDateTime::now_utc(),
            None,
        )
    }

    /// One request; its status, or `None` when no answer came.
    fn call(&self, method: &str, path: &str, op: &Operation, body: Vec<u8>) -> Option<u16> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.running.api_url()))
            .header("Authorization", self.token(op))
            .body(body)
            .expect("a request");
        let mut response = self.agent.run(request).ok()?;
        let _ = response.body_mut().read_to_vec();
        Some(response.status().as_u16())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn record(tally: &Mutex<Tally>, status: Option<u16>) {
    let mut tally = tally.lock().expect("tally");
    tally.requests += 1;
    match status {
        Some(status) => *tally.statuses.entry(status).or_default() += 1,
        None => tally.unanswered += 1,
    }
}

/// One client's loop: publish a new version of its crate, yank or unyank an earlier one,
/// read its index file and `config.json`, until the deadline.
fn client(
    id: usize,
    running: &Running,
    key: &SecretKey,
    until: Instant,
    acknowledged: &Mutex<Acknowledged>,
    tally: &Mutex<Tally>,
) {
    let client = Client {
        running,
        key,
        agent: agent(),
    };
    let name = format!("soak-{id}");
    let mut published: Vec<(String, bool)> = Vec::new();
    let mut n = 0u32;
    while Instant::now() < until {
        n += 1;
        let vers = format!("0.{n}.0");
        let bytes = crate_file(&name, &vers);
        let op = Operation::Publish {
            name: name.clone(),
            vers: vers.clone(),
            cksum: sha256_hex(&bytes),
        };
        let status = client.call(
            "PUT",
            "/api/v1/crates/new",
            &op,
            publish_body(&name, &vers, &bytes),
        );
        record(tally, status);
        if status == Some(200) {
            acknowledged
                .lock()
                .expect("acknowledged")
                .insert((name.clone(), vers.clone()), false);
            published.push((vers, false));
        }
        if n.is_multiple_of(2) && !published.is_empty() {
            let i = (n as usize * 7) % published.len();
            let (vers, yanked) = published[i].clone();
            let (method, path, op) = if yanked {
                let op = Operation::Unyank {
                    name: name.clone(),
                    vers: vers.clone(),
                };
                ("PUT", format!("/api/v1/crates/{name}/{vers}/unyank"), op)
            } else {
                let op = Operation::Yank {
                    name: name.clone(),
                    vers: vers.clone(),
                };
                ("DELETE", format!("/api/v1/crates/{name}/{vers}/yank"), op)
            };
            let status = client.call(method, &path, &op, Vec::new());
            record(tally, status);
            if status == Some(200) {
                published[i].1 = !yanked;
                acknowledged
                    .lock()
                    .expect("acknowledged")
                    .insert((name.clone(), vers), !yanked);
            }
        }
        for path in [
            format!("/index/{}", index_path(&name)),
            "/index/config.json".to_string(),
        ] {
            let status = client.call("GET", &path, &Operation::Read, Vec::new());
            record(tally, status);
        }
    }
}

/// The index file of `name` after the restart: each line's (vers, yanked), or why it is
/// corrupt.
fn index_file(
    running: &Running,
    key: &SecretKey,
    name: &str,
) -> Result<Vec<(String, bool)>, String> {
    let client = Client {
        running,
        key,
        agent: agent(),
    };
    let request = ureq::http::Request::builder()
        .uri(format!("{}/index/{}", running.api_url(), index_path(name)))
        .header("Authorization", client.token(&Operation::Read))
        .body(())
        .expect("a request");
    let mut response = client
        .agent
        .run(request)
        .map_err(|e| format!("GET {name}: {e}"))?;
    if response.status() != 200 {
        return Err(format!("GET {name}: {}", response.status()));
    }
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{name}: {e}"))?;
    text.lines()
        .map(|line| {
            let entry: Value =
                serde_json::from_str(line).map_err(|e| format!("{name}: {e}: {line:?}"))?;
            match (
                entry["name"].as_str(),
                entry["vers"].as_str(),
                entry["yanked"].as_bool(),
            ) {
                (Some(n), Some(vers), Some(yanked)) if n == name => Ok((vers.to_string(), yanked)),
                _ => Err(format!("{name}: not an index entry: {line:?}")),
            }
        })
        .collect()
}

#[test]
fn acknowledged_writes_survive_mixed_load_and_a_restart() {
    let key = SecretKey::generate();
    let data = tempfile::tempdir().expect("temp dir");
    let config = Config {
        keys: vec![(key.public_key().clone(), None)],
        data: Some(data.path().to_path_buf()),
        ..Config::default()
    };
    let running = server::start(config.clone()).expect("the registry starts");
    let acknowledged = Mutex::new(Acknowledged::new());
    let tally = Mutex::new(Tally::default());
    let until = Instant::now() + SOAK;
    std::thread::scope(|scope| {
        for id in 0..CLIENTS {
            let (running, key, acknowledged, tally) = (&running, &key, &acknowledged, &tally);
            scope.spawn(move || client(id, running, key, until, acknowledged, tally));
        }
    });
    let addr = running.addr();
    running.shutdown();

    // The same directory and address, so the tokens' footer URL is the same.
    let running = server::start(Config { addr, ..config }).expect("the registry restarts");
    let acknowledged = acknowledged.into_inner().expect("acknowledged");
    let tally = tally.into_inner().expect("tally");
    let mut in_index = Acknowledged::new();
    let mut corrupt = Vec::new();
    for id in 0..CLIENTS {
        let name = format!("soak-{id}");
        match index_file(&running, &key, &name) {
            Ok(lines) => {
                for (vers, yanked) in lines {
                    in_index.insert((name.clone(), vers), yanked);
                }
            }
            Err(why) => corrupt.push(why),
        }
    }
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|(version, yanked)| in_index.get(*version) != Some(yanked))
        .map(|((name, vers), _)| format!("{name} {vers}"))
        .collect();
    let server_errors: u64 = tally
        .statuses
        .iter()
        .filter(|(status, _)| **status >= 500)
        .map(|(_, n)| n)
        .sum();
    println!(
        "{}",
        serde_json::json!({
            "clients": CLIENTS,
            "seconds": SOAK.as_secs_f64(),
            "requests": tally.requests,
            "statuses": tally.statuses,
            "unanswered": tally.unanswered,
            "acknowledged_versions": acknowledged.len(),
            "versions_in_index": in_index.len(),
            "acknowledged_but_missing_or_wrong_yank": missing.len(),
            "server_errors": server_errors,
            "corrupt_index_files": corrupt.len(),
        })
    );
    assert!(
        acknowledged.len() >= CLIENTS,
        "too few publishes to mean anything"
    );
    assert!(
        missing.is_empty(),
        "acknowledged but not in the index: {missing:?}"
    );
    assert_eq!(server_errors, 0, "{:?}", tally.statuses);
    assert_eq!(tally.unanswered, 0);
    assert!(corrupt.is_empty(), "{corrupt:?}");
    // Nothing in the index that was never acknowledged (no lost acknowledgement on loopback).
    assert_eq!(in_index.len(), acknowledged.len());
}
