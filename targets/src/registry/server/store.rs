//! The registry's state in SQLite (`DIR/registry.sqlite3`): crates, versions with their
//! `.crate` bytes, owners, and the replay guard's single-use records.
//!
//! One connection behind a mutex (see [`super::http`]); every multi-step change is one
//! transaction, so a refused or failed request changes nothing. WAL mode: a committed
//! publish survives a crash of the process.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::Value;

use super::publish::{IndexLine, Publish};
use super::validate::without_build_metadata;

/// `versions.vers` without its build metadata (SQL for [`without_build_metadata`]): one
/// version to Cargo, so the index holds it once (registry-index.md "Version uniqueness").
const BARE_VERS: &str = "CASE WHEN instr(versions.vers, '+') > 0 \
     THEN substr(versions.vers, 1, instr(versions.vers, '+') - 1) \
     ELSE versions.vers END";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS crates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    lower       TEXT NOT NULL UNIQUE,
    canon       TEXT NOT NULL UNIQUE,
    description TEXT
);
CREATE TABLE IF NOT EXISTS versions (
    id           INTEGER PRIMARY KEY,
    crate_id     INTEGER NOT NULL REFERENCES crates(id),
    vers         TEXT NOT NULL,
    cksum        TEXT NOT NULL,
    yanked       INTEGER NOT NULL DEFAULT 0,
    deps         TEXT NOT NULL,
    features     TEXT NOT NULL,
    features2    TEXT NOT NULL,
    links        TEXT,
    rust_version TEXT,
    crate_bytes  BLOB NOT NULL,
    UNIQUE (crate_id, vers)
);
CREATE TABLE IF NOT EXISTS users (
    id    INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS owners (
    crate_id INTEGER NOT NULL REFERENCES crates(id),
    user_id  INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (crate_id, user_id)
);
CREATE TABLE IF NOT EXISTS replay (
    id        INTEGER PRIMARY KEY,
    payload   BLOB NOT NULL,
    footer    BLOB NOT NULL,
    issued_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS replay_issued_at ON replay (issued_at);
";

/// Why a state change was refused (after the token was accepted).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotOwner(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Names that crates.io treats as the same crate: case and `-`/`_` do not distinguish.
pub fn canonical(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// One owner as the owners endpoint lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub id: i64,
    pub login: String,
}

/// One search hit.
#[derive(Debug, Clone)]
pub struct Hit {
    pub name: String,
    pub max_version: String,
    pub description: Option<String>,
}

/// A single-use record: the signed content of an accepted mutation token.
#[derive(Debug, Clone)]
pub struct ReplayRecord {
    pub payload: Vec<u8>,
    pub footer: Vec<u8>,
    /// Unix nanoseconds.
    pub issued_at: i64,
}

pub struct Store {
    conn: Connection,
}

fn crate_id(tx: &Connection, name: &str) -> rusqlite::Result<Option<(i64, String)>> {
    tx.query_row(
        "SELECT id, name FROM crates WHERE canon = ?1",
        [canonical(name)],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
}

fn is_owner(tx: &Connection, crate_id: i64, login: &str) -> rusqlite::Result<bool> {
    tx.query_row(
        "SELECT 1 FROM owners JOIN users ON users.id = owners.user_id
         WHERE owners.crate_id = ?1 AND users.login = ?2",
        params![crate_id, login],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
}

fn user_id(tx: &Transaction<'_>, login: &str) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO users (login) VALUES (?1) ON CONFLICT (login) DO NOTHING",
        [login],
    )?;
    tx.query_row("SELECT id FROM users WHERE login = ?1", [login], |row| {
        row.get(0)
    })
}

/// Finds the crate and checks that `actor` owns it.
fn owned_crate(tx: &Connection, name: &str, actor: &str) -> Result<(i64, String)> {
    let (id, stored) = crate_id(tx, name)?
        .ok_or_else(|| StoreError::NotFound(format!("crate `{name}` does not exist")))?;
    if !is_owner(tx, id, actor)? {
        return Err(StoreError::NotOwner(format!(
            "`{actor}` is not an owner of crate `{stored}`"
        )));
    }
    Ok((id, stored))
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Whether `name` (any spelling crates.io treats as the same) has version `vers`, build
    /// metadata ignored.
    pub fn version_exists(&self, name: &str, vers: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT 1 FROM versions JOIN crates ON crates.id = versions.crate_id
                 WHERE crates.canon = ?1 AND {BARE_VERS} = ?2"
            ))?
            .query_row(
                params![canonical(name), without_build_metadata(vers)],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Stores a version. `actor`: the publishing login, who must own an existing crate and
    /// becomes the owner of a new one (`None`: no ownership check, no owner). `replace`
    /// overwrites an existing version instead of refusing it.
    pub fn publish(&mut self, publish: &Publish, actor: Option<&str>, replace: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        let id = match crate_id(&tx, &publish.name)? {
            Some((id, stored)) => {
                if stored != publish.name {
                    return Err(StoreError::BadRequest(format!(
                        "crate `{}` conflicts with the existing crate `{stored}`",
                        publish.name
                    )));
                }
                if let Some(actor) = actor
                    && !is_owner(&tx, id, actor)?
                {
                    return Err(StoreError::NotOwner(format!(
                        "`{actor}` is not an owner of crate `{stored}`"
                    )));
                }
                tx.execute(
                    "UPDATE crates SET description = COALESCE(?2, description) WHERE id = ?1",
                    params![id, publish.description],
                )?;
                id
            }
            None => {
                tx.execute(
                    "INSERT INTO crates (name, lower, canon, description) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        publish.name,
                        publish.name.to_ascii_lowercase(),
                        canonical(&publish.name),
                        publish.description
                    ],
                )?;
                let id = tx.last_insert_rowid();
                if let Some(actor) = actor {
                    let user = user_id(&tx, actor)?;
                    tx.execute(
                        "INSERT INTO owners (crate_id, user_id) VALUES (?1, ?2)",
                        params![id, user],
                    )?;
                }
                id
            }
        };
        let exists: Option<String> = tx
            .query_row(
                &format!("SELECT vers FROM versions WHERE crate_id = ?1 AND {BARE_VERS} = ?2"),
                params![id, without_build_metadata(&publish.vers)],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(existing) = exists
            && !replace
        {
            return Err(StoreError::Conflict(format!(
                "{}@{} is already published{}",
                publish.name,
                publish.vers,
                if existing == publish.vers {
                    String::new()
                } else {
                    format!(" (as {existing}: versions differing only in build metadata are one)")
                }
            )));
        }
        tx.execute(
            "INSERT INTO versions
                (crate_id, vers, cksum, yanked, deps, features, features2, links, rust_version, crate_bytes)
             VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (crate_id, vers) DO UPDATE SET
                cksum = excluded.cksum, yanked = 0, deps = excluded.deps,
                features = excluded.features, features2 = excluded.features2,
                links = excluded.links, rust_version = excluded.rust_version,
                crate_bytes = excluded.crate_bytes",
            params![
                id,
                publish.vers,
                publish.cksum,
                json(&publish.deps),
                json(&publish.features),
                json(&publish.features2),
                publish.links,
                publish.rust_version,
                publish.crate_bytes
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Yanks or unyanks a version; only an owner may.
    pub fn set_yanked(&mut self, name: &str, vers: &str, yanked: bool, actor: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        let (id, stored) = owned_crate(&tx, name, actor)?;
        let changed = tx.execute(
            "UPDATE versions SET yanked = ?3 WHERE crate_id = ?1 AND vers = ?2",
            params![id, vers, yanked],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "crate `{stored}` has no version {vers}"
            )));
        }
        tx.commit()?;
        Ok(())
    }

    /// The owners of a crate (`None`: no such crate).
    pub fn owners(&self, name: &str) -> Result<Option<Vec<Owner>>> {
        let Some((id, _)) = crate_id(&self.conn, name)? else {
            return Ok(None);
        };
        let mut statement = self.conn.prepare_cached(
            "SELECT users.id, users.login FROM owners JOIN users ON users.id = owners.user_id
             WHERE owners.crate_id = ?1 ORDER BY users.id",
        )?;
        let owners = statement
            .query_map([id], |row| {
                Ok(Owner {
                    id: row.get(0)?,
                    login: row.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(owners))
    }

    /// Adds (`add`) or removes owners; only an owner may, and the last owner stays.
    pub fn change_owners(
        &mut self,
        name: &str,
        logins: &[String],
        add: bool,
        actor: &str,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let (id, stored) = owned_crate(&tx, name, actor)?;
        for login in logins {
            if add {
                let user = user_id(&tx, login)?;
                tx.execute(
                    "INSERT INTO owners (crate_id, user_id) VALUES (?1, ?2)
                     ON CONFLICT DO NOTHING",
                    params![id, user],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM owners WHERE crate_id = ?1
                     AND user_id = (SELECT id FROM users WHERE login = ?2)",
                    params![id, login],
                )?;
            }
        }
        let left: i64 = tx.query_row(
            "SELECT COUNT(*) FROM owners WHERE crate_id = ?1",
            [id],
            |row| row.get(0),
        )?;
        if left == 0 {
            return Err(StoreError::BadRequest(format!(
                "cannot remove every owner of crate `{stored}`"
            )));
        }
        tx.commit()?;
        Ok(())
    }

    /// The sparse index file for the crate whose lowercase name is `lower`.
    pub fn index_file(&self, lower: &str) -> Result<Option<String>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT crates.name, vers, cksum, yanked, deps, features, features2, links, rust_version
             FROM versions JOIN crates ON crates.id = versions.crate_id
             WHERE crates.lower = ?1 ORDER BY versions.id",
        )?;
        let mut rows = statement.query([lower])?;
        let mut out = String::new();
        while let Some(row) = rows.next()? {
            let parse = |i: usize| -> rusqlite::Result<Value> {
                let text: String = row.get(i)?;
                Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
            };
            let (name, vers, cksum): (String, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            let (deps, features, features2) = (parse(4)?, parse(5)?, parse(6)?);
            let links: Option<String> = row.get(7)?;
            let rust_version: Option<String> = row.get(8)?;
            let line = IndexLine {
                name: &name,
                vers: &vers,
                deps: &deps,
                cksum: &cksum,
                features: &features,
                yanked: row.get(3)?,
                links: links.as_deref(),
                v: 2,
                features2: &features2,
                rust_version: rust_version.as_deref(),
            };
            out.push_str(&serde_json::to_string(&line).expect("an index line serializes"));
            out.push('\n');
        }
        Ok((!out.is_empty()).then_some(out))
    }

    /// The `.crate` bytes of a version.
    pub fn download(&self, name: &str, vers: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT crate_bytes FROM versions JOIN crates ON crates.id = versions.crate_id
                 WHERE crates.canon = ?1 AND versions.vers = ?2",
            )?
            .query_row(params![canonical(name), vers], |row| row.get(0))
            .optional()?)
    }

    /// Crates whose name contains `query` (case-insensitive), at most `limit`, and the total.
    pub fn search(&self, query: &str, limit: usize) -> Result<(Vec<Hit>, usize)> {
        let needle = canonical(query);
        let mut statement = self.conn.prepare_cached(
            "SELECT crates.name, crates.description,
                    (SELECT vers FROM versions WHERE crate_id = crates.id
                     ORDER BY yanked, id DESC LIMIT 1)
             FROM crates WHERE instr(crates.canon, ?1) > 0 ORDER BY crates.name",
        )?;
        let all: Vec<Hit> = statement
            .query_map([needle], |row| {
                Ok(Hit {
                    name: row.get(0)?,
                    description: row.get(1)?,
                    max_version: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let total = all.len();
        Ok((all.into_iter().take(limit).collect(), total))
    }

    /// Single-use records issued at or after `since` (unix nanoseconds).
    pub fn replay_records(&self, since: i64) -> Result<Vec<ReplayRecord>> {
        let mut statement = self
            .conn
            .prepare("SELECT payload, footer, issued_at FROM replay WHERE issued_at >= ?1")?;
        let records = statement
            .query_map([since], |row| {
                Ok(ReplayRecord {
                    payload: row.get(0)?,
                    footer: row.get(1)?,
                    issued_at: row.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(records)
    }

    /// Persists a single-use record and forgets those issued before `prune_before`.
    pub fn record_replay(&mut self, record: &ReplayRecord, prune_before: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM replay WHERE issued_at < ?1", [prune_before])?;
        tx.execute(
            "INSERT INTO replay (payload, footer, issued_at) VALUES (?1, ?2, ?3)",
            params![record.payload, record.footer, record.issued_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// How many single-use records are on disk.
    pub fn replay_len(&self) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM replay", [], |row| row.get(0))?;
        Ok(n as usize)
    }
}

/// JSON text for a TEXT column.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("JSON values serialize")
}
