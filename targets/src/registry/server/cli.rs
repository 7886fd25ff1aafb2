//! The command line of `credlab serve` / `credlab-registry`.
//!
//! ```text
//! credlab-registry [--addr ADDR] [--data DIR] [--no-auth-required]
//!                  [--public-key k3.public.…[=SUBJECT]]… [--plain-token-file LOGIN=FILE]…
//!                  [--max-age SECS]
//!                  [--max-future-skew SECS] [--bug NAME] [--login-url URL]
//!                  [--header-timeout SECS] [--body-timeout SECS] [--max-connections N]
//!                  [--max-publish-body BYTES] [--max-body BYTES]
//!                  [--read-cache N]
//! ```
//! Once listening it prints exactly one line on stdout, `index: sparse+http://…/index/`
//! (the readiness signal), logs one line per request on stderr, and serves until killed.

use std::ffi::OsString;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use credlab_suite::keys::PublicKey;

use super::{Bug, Config, start};

pub const USAGE: &str = "\
usage: credlab serve [OPTIONS]

A sparse registry that verifies Cargo asymmetric tokens (cargo:paseto), or plain tokens it
issued (--plain-token-file), state in SQLite.

options:
  --addr ADDR                 listen address (default 127.0.0.1:0, a free port)
  --data DIR                  keep state in DIR/registry.sqlite3 (default: a temp dir)
  --no-auth-required          reads (index, downloads, search) need no token
  --public-key KEY[=SUBJECT]  enrol a k3.public key, optionally with its subject (repeat)
  --plain-token-file LOGIN=FILE
                              plain-token mode: admit the token in FILE (one line) as LOGIN,
                              as the opaque tokens of most registries; no asymmetric tokens
                              (repeat: a second user; the token is never printed)
  --max-age SECS              token freshness window (default 900)
  --max-future-skew SECS      allowed clock skew for iat in the future (default 60)
  --bug NAME                  seed a bug (negative control); --bug list shows them
  --login-url URL             login_url of the www-authenticate challenge
  --read-cache N              verified read tokens kept, each checked once per token and
                              re-checked for freshness per request (default 4096; 0: off)
  -h, --help                  this text

limits (a slow or greedy client cannot hold the registry):
  --header-timeout SECS       close a connection whose request headers are not complete
                              SECS after it began waiting for them, new or kept alive
                              (so also the idle keep-alive timeout; default 10)
  --body-timeout SECS         answer 408 to a request not read and answered within SECS
                              of its headers (default 30)
  --max-connections N         connections served at once; more get 503 and are closed
                              (default 1024, or the open-file limit less 64 if lower)
  --max-publish-body BYTES    largest publish body, else 413 (default 33554432, 32 MiB)
  --max-body BYTES            largest body of any other request, else 413 (default 65536)

Prints `index: sparse+http://HOST:PORT/index/` on stdout once listening.";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Serve(Box<Config>),
    Help,
    ListBugs,
}

/// Why the command line is refused.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("argument {0:?} is not UTF-8")]
    NotUtf8(OsString),
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("{flag} {value:?}: not UTF-8")]
    ValueNotUtf8 { flag: String, value: OsString },
    #[error("{flag}: expected whole seconds, found {text:?}")]
    Seconds { flag: String, text: String },
    #[error("{flag}: expected a whole number greater than 0, found {text:?}")]
    Count { flag: String, text: String },
    #[error("--addr {text:?}: {source}")]
    Addr {
        text: String,
        source: std::net::AddrParseError,
    },
    #[error("--public-key: {0}")]
    PublicKey(#[source] credlab_suite::keys::KeyError),
    #[error("--bug {0:?}: unknown; `--bug list` shows the seeded bugs")]
    UnknownBug(String),
    #[error("--plain-token-file: expected LOGIN=FILE, found {0:?}")]
    PlainTokenSpec(String),
    #[error("--plain-token-file {path}: {source}")]
    PlainTokenFile {
        path: String,
        source: std::io::Error,
    },
    #[error("--plain-token-file: {0}")]
    PlainToken(#[from] super::plain::PlainTokenError),
    #[error("--plain-token-file and --public-key: a registry's tokens are plain or asymmetric")]
    PlainAndKeys,
    #[error("--read-cache: expected a number of tokens, found {0:?}")]
    ReadCache(String),
    #[error("unexpected argument {0:?}")]
    Unexpected(String),
}

/// Parses the arguments after the command name.
pub fn parse<I, S>(args: I) -> Result<Command, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let mut config = Config {
        log: true,
        ..Config::default()
    };
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let arg = arg.into_string().map_err(ArgsError::NotUtf8)?;
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| -> Result<String, ArgsError> {
            if let Some(value) = inline.clone() {
                return Ok(value);
            }
            args.next()
                .ok_or_else(|| ArgsError::MissingValue(flag.to_string()))?
                .into_string()
                .map_err(|value| ArgsError::ValueNotUtf8 {
                    flag: flag.to_string(),
                    value,
                })
        };
        let seconds = |flag: &str, text: String| -> Result<Duration, ArgsError> {
            match text.parse::<u64>() {
                Ok(secs) => Ok(Duration::from_secs(secs)),
                Err(_) => Err(ArgsError::Seconds {
                    flag: flag.to_string(),
                    text,
                }),
            }
        };
        let count = |flag: &str, text: String| -> Result<usize, ArgsError> {
            match text.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ArgsError::Count {
                    flag: flag.to_string(),
                    text,
                }),
            }
        };
        let limits = &mut config.limits;
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--header-timeout" => {
                limits.header_timeout = positive(seconds(&flag, value(&flag)?)?, &flag)?;
            }
            "--body-timeout" => {
                limits.body_timeout = positive(seconds(&flag, value(&flag)?)?, &flag)?;
            }
            "--max-connections" => limits.max_connections = count(&flag, value(&flag)?)?,
            "--max-publish-body" => limits.max_publish_body = count(&flag, value(&flag)?)?,
            "--max-body" => limits.max_body = count(&flag, value(&flag)?)?,
            "--addr" => {
                let text = value("--addr")?;
                config.addr = match text.parse::<SocketAddr>() {
                    Ok(addr) => addr,
                    Err(source) => return Err(ArgsError::Addr { text, source }),
                };
            }
            "--data" => config.data = Some(value("--data")?.into()),
            "--no-auth-required" if inline.is_none() => config.auth_required = false,
            "--public-key" => {
                let text = value("--public-key")?;
                let (key, subject) = match text.split_once('=') {
                    Some((key, subject)) => (key, Some(subject.to_string())),
                    None => (text.as_str(), None),
                };
                let key = PublicKey::from_paserk(key).map_err(ArgsError::PublicKey)?;
                config.keys.push((key, subject));
            }
            "--plain-token-file" => {
                let spec = value("--plain-token-file")?;
                let (login, path) = spec
                    .split_once('=')
                    .ok_or_else(|| ArgsError::PlainTokenSpec(spec.clone()))?;
                let text =
                    std::fs::read_to_string(path).map_err(|source| ArgsError::PlainTokenFile {
                        path: path.to_string(),
                        source,
                    })?;
                // One line: the newline an editor or `echo` adds is not part of the token.
                let token = text.strip_suffix('\n').unwrap_or(&text);
                let token = token.strip_suffix('\r').unwrap_or(token);
                config
                    .plain_tokens
                    .push(super::plain::PlainToken::new(login, token)?);
            }
            "--max-age" => config.policy.max_age = seconds("--max-age", value("--max-age")?)?,
            "--max-future-skew" => {
                config.policy.max_future_skew =
                    seconds("--max-future-skew", value("--max-future-skew")?)?;
            }
            "--bug" => {
                let name = value("--bug")?;
                if name == "list" {
                    return Ok(Command::ListBugs);
                }
                match Bug::from_name(&name) {
                    Some(bug) => config.bug = Some(bug),
                    None => return Err(ArgsError::UnknownBug(name)),
                }
            }
            "--login-url" => config.login_url = Some(value("--login-url")?),
            "--read-cache" => {
                let text = value("--read-cache")?;
                config.read_cache = text.parse().map_err(|_| ArgsError::ReadCache(text))?;
            }
            other => return Err(ArgsError::Unexpected(other.to_string())),
        }
    }
    if !config.plain_tokens.is_empty() && !config.keys.is_empty() {
        return Err(ArgsError::PlainAndKeys);
    }
    Ok(Command::Serve(Box::new(config)))
}

/// A timeout of 0 s would close every connection at once.
fn positive(duration: Duration, flag: &str) -> Result<Duration, ArgsError> {
    if duration.is_zero() {
        return Err(ArgsError::Count {
            flag: flag.to_string(),
            text: "0".into(),
        });
    }
    Ok(duration)
}

/// `credlab serve ARGS…`: parse, start, announce the index URL, serve until killed.
pub fn serve_main<I, S>(args: I) -> u8
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let config = match parse(args) {
        Ok(Command::Serve(config)) => *config,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return 0;
        }
        Ok(Command::ListBugs) => {
            for bug in Bug::ALL {
                println!("{:<30} {}", bug.name(), bug.describe());
            }
            return 0;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return 2;
        }
    };
    if config.keys.is_empty() && config.plain_tokens.is_empty() {
        eprintln!("warning: no --public-key enrolled; every token will be refused");
    }
    if let Some(bug) = config.bug {
        eprintln!("warning: seeded bug `{bug}`: {}", bug.describe());
    }
    let running = match start(config) {
        Ok(running) => running,
        Err(e) => {
            eprintln!("error: could not start the registry: {e}");
            return 1;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "index: {}", running.index_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return 1;
    }
    drop(stdout);
    eprintln!(
        "credlab registry: data in {}; api {}",
        running.data_dir().display(),
        running.api_url()
    );
    running.wait();
    0
}
