//! Hostile built-in providers: targets that attack credlab itself, for its own tests and for
//! anyone who wants to see what credlab does with a target that tries to leak through it or
//! drive the terminal it reports to.
//!
//! - `hostile:echo-secrets` repeats every secret it has seen (the login token it was given,
//!   every token it returned) in every field it controls: the hello, stderr, `Err` messages
//!   and causes, extra fields of an `Ok` answer, stdout after the response; whole and in
//!   fragments. It crashes on unparsable input that holds most of a `k3.secret`, so the
//!   fuzzer records findings whose minimised input is mostly the key. Its returned tokens are [`echo_token`]`(n)` for the n-th
//!   get in a HOME, so a test can recompute them.
//! - `hostile:escapes` puts terminal escapes, carriage returns, bidi overrides and HTML in
//!   every message it writes.
//!
//! Both keep their state in `$HOME/.credlab-hostile.json` (so what a setup stored reaches the
//! case's steps, as with any provider).

use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Value, json};
use sha2::Digest;

/// The text `hostile:escapes` writes: OSC title change, clear screen, a carriage return that
/// overwrites the line, a right-to-left override, HTML, a Markdown table break, and a newline
/// followed by a line that looks like a verdict.
pub const ESCAPES: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\rPASS\u{202e}txt.exe<b>bold</b>|cell|\n    PASS [ 0ms] provider::forged \u{85}\u{9b}31m";

/// The token `hostile:echo-secrets` returns for the `counter`-th get in one HOME.
pub fn echo_token(counter: u64) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"credlab hostile token");
    hasher.update(counter.to_le_bytes());
    Base64UrlUnpadded::encode_string(&hasher.finalize())
}

/// Which hostile provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    EchoSecrets,
    Escapes,
}

impl Hostile {
    pub const ALL: [Hostile; 2] = [Hostile::EchoSecrets, Hostile::Escapes];

    /// Its name, after `hostile:`.
    pub fn name(self) -> &'static str {
        match self {
            Hostile::EchoSecrets => "echo-secrets",
            Hostile::Escapes => "escapes",
        }
    }

    /// Serves the protocol; returns the exit code.
    pub fn run(self) -> i32 {
        match self {
            Hostile::EchoSecrets => serve(&EchoSecrets),
            Hostile::Escapes => serve(&Escapes),
        }
    }
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct State {
    secrets: Vec<String>,
    returned: u64,
}

fn state_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".credlab-hostile.json"))
}

fn load() -> State {
    state_path()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save(state: &State) {
    if let Some(path) = state_path() {
        let _ = std::fs::write(path, serde_json::to_vec(state).unwrap_or_default());
    }
}

/// What a hostile provider does with each part of an exchange.
trait Behaviour {
    fn hello(&self, state: &State) -> Value;
    /// Stderr written before the answer.
    fn stderr(&self, state: &State, line: &str) -> String;
    fn answer(&self, state: &mut State, request: Result<Value, String>, line: &str) -> Value;
    fn after(&self, state: &State) -> String;
}

fn serve(hostile: &dyn Behaviour) -> i32 {
    let mut state = load();
    let mut out = io::stdout().lock();
    let hello = format!("{}\n", hostile.hello(&state));
    if out
        .write_all(hello.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return 0;
    }
    let mut input = io::stdin().lock();
    let mut line = String::new();
    if input.read_line(&mut line).unwrap_or(0) == 0 {
        return 0;
    }
    let request: Result<Value, String> = serde_json::from_str(&line).map_err(|e| e.to_string());
    if let Ok(request) = &request
        && let Some(token) = request.get("token").and_then(Value::as_str)
        && !state.secrets.iter().any(|s| s == token)
    {
        state.secrets.push(token.to_string());
    }
    eprint!("{}", hostile.stderr(&state, &line));
    let answer = hostile.answer(&mut state, request, &line);
    save(&state);
    let text = format!("{answer}\n{}", hostile.after(&state));
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    // Exit at end of input, as Cargo expects.
    let _ = io::copy(&mut input, &mut io::sink());
    0
}

/// Every way of showing a secret: whole, its first 40 characters, 20 from the middle.
fn shapes(secret: &str) -> String {
    let len = secret.len();
    let head = secret.get(..40.min(len)).unwrap_or_default();
    let middle = secret
        .get(len / 3..(len / 3 + 20).min(len))
        .unwrap_or_default();
    format!("{secret} / {head}… / …{middle}…")
}

/// `k3.secret.` followed by at least 40 base64url characters: what makes the shrinker keep a
/// long piece of the key in the input it minimises.
fn holds_key_shape(line: &str) -> bool {
    line.match_indices("k3.secret.").any(|(at, prefix)| {
        line[at + prefix.len()..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .count()
            >= 40
    })
}

struct EchoSecrets;

impl Behaviour for EchoSecrets {
    fn hello(&self, state: &State) -> Value {
        json!({"v": [1], "seen": state.secrets})
    }

    fn stderr(&self, state: &State, line: &str) -> String {
        let mut text = format!("request: {line}");
        for s in &state.secrets {
            text.push_str(&format!("secret: {}\n", shapes(s)));
        }
        text
    }

    fn answer(&self, state: &mut State, request: Result<Value, String>, line: &str) -> Value {
        let all: Vec<String> = state.secrets.iter().map(|s| shapes(s)).collect();
        let request = match request {
            Ok(r) => r,
            Err(e) if holds_key_shape(line) => panic!("cannot parse {line}: {e}"),
            Err(e) => {
                return json!({"Err": {"kind": "other", "message": format!("cannot parse {line}: {e}"), "caused-by": all}});
            }
        };
        match request.get("kind").and_then(Value::as_str) {
            Some("login") => json!({"Ok": {"kind": "login"}}),
            Some("get") if !state.secrets.is_empty() => {
                let token = echo_token(state.returned);
                state.returned += 1;
                state.secrets.push(token.clone());
                json!({"Ok": {"kind": "get", "token": token, "cache": "never",
                    "operation_independent": false, "debug": all}})
            }
            _ => json!({"Err": {"kind": "other",
                "message": format!("nothing for {line}: {}", all.join(" ")),
                "caused-by": all}}),
        }
    }

    fn after(&self, state: &State) -> String {
        state
            .secrets
            .iter()
            .map(|s| format!("trailing {}\n", shapes(s)))
            .collect()
    }
}

struct Escapes;

impl Behaviour for Escapes {
    fn hello(&self, _: &State) -> Value {
        json!({"v": [1], "banner": ESCAPES})
    }

    fn stderr(&self, _: &State, _: &str) -> String {
        format!("{ESCAPES}\n")
    }

    fn answer(&self, _: &mut State, _: Result<Value, String>, _: &str) -> Value {
        json!({"Err": {"kind": "other", "message": ESCAPES, "caused-by": [ESCAPES]}})
    }

    fn after(&self, _: &State) -> String {
        format!("{ESCAPES}\n")
    }
}
