//! Built-in providers, run by the `credlab` binary itself when it is started as
//! `credlab --cargo-plugin` with `CREDLAB_BUILTIN_PROVIDER=NAME`: the two reference providers,
//! the seeded-bug mutants and the hostile providers that attack credlab itself. One binary means `credlab` with no arguments can judge its own
//! reference targets anywhere it is installed.

use crate::mutants;
use crate::reference::{PasetoProvider, TokenStore, protocol};

/// Every built-in provider name.
pub fn names() -> Vec<String> {
    let mut names = vec![
        "token-store".to_string(),
        "paseto".to_string(),
        "trivial".to_string(),
    ];
    names.extend(
        mutants::MUTANTS
            .iter()
            .map(|m| format!("mutant:{}", m.name)),
    );
    names.extend(crate::hostile::NAMES.iter().map(|n| n.to_string()));
    names
}

pub fn exists(name: &str) -> bool {
    names().iter().any(|n| n == name)
}

/// Serves the protocol as `name` on stdin/stdout; returns the exit code.
pub fn run(name: &str) -> i32 {
    match name {
        "token-store" => {
            protocol::run(&TokenStore::from_env());
            0
        }
        "paseto" => {
            protocol::run(&PasetoProvider::from_env());
            0
        }
        "trivial" => trivial(),
        other => {
            if let Some(code) = other.strip_prefix("hostile:").and_then(crate::hostile::run) {
                return code;
            }
            match other.strip_prefix("mutant:").and_then(mutants::find) {
                Some(mutant) => mutants::run(mutant),
                None => {
                    eprintln!("credlab: no built-in provider {name:?}");
                    2
                }
            }
        }
    }
}

/// The cheapest provider there is: hello, one fixed answer per line, exit at EOF. The bench's
/// floor for what one exchange costs (process start included).
fn trivial() -> i32 {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(b"{\"v\":[1]}\n").and_then(|()| out.flush());
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        let answer = b"{\"Ok\":{\"kind\":\"get\",\"token\":\"t\",\"cache\":\"session\",\"operation_independent\":true}}\n";
        if out.write_all(answer).and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    0
}
