//! Seeded-bug providers: each is a conformant reference provider with exactly one bug, and
//! names the case ids that must catch it. A test runs the whole suite against every mutant and
//! asserts that each listed case fails (so no case is a check that cannot fail), and that the
//! reference providers pass everything.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read, Write};

use cargo_credential::{
    Action, CacheControl, Credential, CredentialResponse, Error, Operation, RegistryInfo, Secret,
};
use credlab_suite::keys::SecretKey;
use credlab_suite::paseto::SignatureForm;
use credlab_suite::token::{self, Claims, Footer, Operation as TokenOperation, iat};
use time::OffsetDateTime;

use crate::reference::paseto::{KeyEntry, token_operation};
use crate::reference::store::{JsonStore, xdg_dir};
use crate::reference::{PasetoProvider, TokenStore, request};

/// The conformant provider a mutant starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    TokenStore,
    Paseto,
}

/// One seeded bug.
#[derive(Debug, Clone, Copy)]
pub struct Mutant {
    pub name: &'static str,
    pub base: Base,
    /// The bug, in words.
    pub bug: &'static str,
    /// Case ids that must fail (fail or hang) against this mutant.
    pub caught_by: &'static [&'static str],
}

const fn m(
    name: &'static str,
    base: Base,
    bug: &'static str,
    caught_by: &'static [&'static str],
) -> Mutant {
    Mutant {
        name,
        base,
        bug,
        caught_by,
    }
}

use Base::{Paseto as P, TokenStore as T};

/// Every mutant. Token-store mutants are run with `CREDLAB_ONLY_URL` so the url-not-supported
/// case applies (see `builtin_profile` in the CLI and the mutant test).
pub const MUTANTS: &[Mutant] = &[
    // handshake
    m(
        "hello-v2",
        T,
        "the hello lists only version 2",
        &["provider::handshake::hello"],
    ),
    m(
        "banner-before-hello",
        T,
        "prints a banner line before the hello",
        &["provider::handshake::hello"],
    ),
    m(
        "no-hello",
        T,
        "never sends a hello",
        &["provider::handshake::hello"],
    ),
    m(
        "exit-1-on-early-eof",
        T,
        "exits 1 when stdin closes before any request",
        &["provider::handshake::eof-after-hello"],
    ),
    m(
        "hello-extra-version",
        T,
        "the hello lists versions 1 and 2 (Cargo accepts it)",
        &["provider::handshake::hello-exact"],
    ),
    // get
    m(
        "get-answers-login",
        T,
        "answers get with `Ok` login",
        &[
            "provider::get::read",
            "provider::get::publish",
            "provider::get::yank",
            "provider::get::unyank",
            "provider::get::owners",
        ],
    ),
    m(
        "mutations-not-found",
        T,
        "answers not-found for every mutation",
        &[
            "provider::get::publish",
            "provider::get::yank",
            "provider::get::unyank",
            "provider::get::owners",
        ],
    ),
    m(
        "headers-rejected",
        T,
        "fails on `registry.headers`",
        &["provider::get::read-with-headers"],
    ),
    m(
        "name-required",
        T,
        "fails when `registry.name` is absent",
        &["provider::get::read-without-registry-name"],
    ),
    m(
        "unknown-operation-other",
        T,
        "answers Err other for an operation it does not know",
        &["provider::get::unknown-operation"],
    ),
    m(
        "token-with-cr",
        T,
        "returns the token with a trailing carriage return",
        &[
            "provider::get::token-is-header-value",
            "provider::login::token-is-stored",
        ],
    ),
    // errors
    m(
        "unsupported-url-not-found",
        T,
        "answers not-found for a URL it does not serve",
        &["provider::errors::url-not-supported"],
    ),
    m(
        "missing-is-other",
        T,
        "answers Err other when nothing is stored",
        &[
            "provider::errors::not-found",
            "provider::login::get-after-logout",
        ],
    ),
    m(
        "logout-ok-when-empty",
        T,
        "answers Ok to a logout with nothing stored",
        &["provider::errors::logout-nothing-stored"],
    ),
    // login / logout
    m(
        "login-answers-logout",
        T,
        "answers login with `Ok` logout",
        &[
            "provider::login::with-token",
            "provider::login::with-token-and-login-url",
        ],
    ),
    m(
        "login-reads-stdin",
        T,
        "reads the token from stdin when none is given (Cargo deadlocks)",
        &["provider::login::without-token"],
    ),
    m(
        "token-not-stored",
        T,
        "stores something other than the token given",
        &["provider::login::token-is-stored"],
    ),
    m(
        "borrowed-strings",
        T,
        "parses requests with cargo-credential 0.4.11's borrowed types (JSON escapes fail, rust-lang/cargo#13615)",
        &[
            "provider::login::escaped-token",
            "provider::framing::escaped-slashes",
        ],
    ),
    m(
        "logout-answers-login",
        T,
        "answers logout with `Ok` login",
        &["provider::login::logout-after-login"],
    ),
    m(
        "logout-keeps-token",
        T,
        "answers logout Ok but keeps the token",
        &["provider::login::get-after-logout"],
    ),
    m(
        "panic-on-unknown-argument",
        T,
        "panics on an argument it does not know",
        &["provider::login::logout-unknown-argument"],
    ),
    // cache
    m(
        "cache-unknown",
        T,
        "answers a cache value Cargo does not know",
        &["provider::cache::known-value"],
    ),
    m(
        "expires-now",
        T,
        "answers `expires` at the current second",
        &["provider::cache::expiration-ahead"],
    ),
    // framing
    m(
        "no-newline",
        T,
        "writes the response without a newline and waits for EOF",
        &["provider::framing::response-newline"],
    ),
    m(
        "no-exit-after-eof",
        T,
        "never exits after stdin closes",
        &["provider::framing::exit-after-eof"],
    ),
    m(
        "exit-1-after-error",
        T,
        "exits 1 after an Err answer",
        &["provider::framing::exit-zero-after-error"],
    ),
    m(
        "stdout-noise",
        T,
        "prints `done` on stdout after each response",
        &["provider::framing::stdout-only-protocol"],
    ),
    m(
        "key-order-sensitive",
        T,
        "expects the request to start with `{\"v\":`",
        &["provider::framing::keys-reordered"],
    ),
    m(
        "deny-unknown-fields",
        T,
        "refuses fields it does not know",
        &["provider::framing::unknown-fields"],
    ),
    m(
        "empty-args-rejected",
        T,
        "refuses `\"args\":[]`",
        &["provider::framing::empty-args"],
    ),
    m(
        "ascii-only",
        T,
        "refuses non-ASCII requests",
        &["provider::framing::non-ascii-url"],
    ),
    m(
        "crlf-rejected",
        T,
        "refuses a request ending in `\\r\\n`",
        &["provider::framing::crlf"],
    ),
    m(
        "needs-newline",
        T,
        "exits silently on a request without a newline",
        &["provider::framing::no-newline-then-eof"],
    ),
    // malformed
    m(
        "ok-on-garbage",
        T,
        "answers Ok get to input it cannot parse, and ignores `v`",
        &[
            "provider::malformed::not-json",
            "provider::malformed::protocol-version-2",
            "provider::malformed::missing-registry",
            "provider::malformed::missing-kind",
            "provider::malformed::missing-v",
            "provider::malformed::missing-operation",
            "provider::malformed::publish-without-cksum",
            "provider::malformed::v-as-string",
            "provider::malformed::args-not-strings",
            "provider::malformed::registry-not-object",
            "provider::malformed::blank-line",
            "provider::malformed::pretty-printed",
            "provider::malformed::json-array",
            "provider::malformed::truncated-then-eof",
            "provider::malformed::invalid-utf8",
        ],
    ),
    m(
        "garbage-on-garbage",
        T,
        "prints a plain-text error on stdout for input it cannot parse",
        &[
            "provider::malformed::not-json",
            "provider::malformed::blank-line",
        ],
    ),
    m(
        "hang-on-garbage",
        T,
        "waits forever on input it cannot parse",
        &[
            "provider::malformed::not-json",
            "provider::malformed::json-array",
        ],
    ),
    m(
        "crash-on-garbage",
        T,
        "panics (exit 101, no answer) on input it cannot parse",
        &[
            "provider::malformed::not-json",
            "provider::malformed::missing-kind",
        ],
    ),
    m(
        "unknown-kind-other",
        T,
        "answers Err other to a kind it does not know",
        &[
            "provider::malformed::unknown-kind",
            "provider::malformed::uppercase-kind",
        ],
    ),
    // robustness
    m(
        "line-buffer-64k",
        T,
        "reads at most 64 KiB of a request line",
        &["provider::robustness::huge-header"],
    ),
    m(
        "gives-up-at-early-eof",
        T,
        "exits without answering when stdin closes right after the request",
        &["provider::robustness::stdin-closed-after-request"],
    ),
    // token binding (PASETO)
    m(
        "paseto-url-without-sparse",
        P,
        "drops the `sparse+` prefix from the footer url",
        &[
            "provider::token::read-binding",
            "provider::token::publish-binding",
            "provider::token::url-verbatim",
        ],
    ),
    m(
        "paseto-url-normalized",
        P,
        "lower-cases the footer url",
        &["provider::token::url-verbatim"],
    ),
    m(
        "paseto-wrong-name",
        P,
        "binds the token to another crate name",
        &[
            "provider::token::publish-binding",
            "provider::token::yank-binding",
            "provider::token::unyank-binding",
            "provider::token::owners-binding",
        ],
    ),
    m(
        "paseto-wrong-vers",
        P,
        "binds the token to another version",
        &[
            "provider::token::publish-binding",
            "provider::token::yank-binding",
            "provider::token::unyank-binding",
        ],
    ),
    m(
        "paseto-no-cksum",
        P,
        "leaves `cksum` out of publish tokens",
        &["provider::token::publish-binding"],
    ),
    m(
        "paseto-read-has-mutation",
        P,
        "puts `mutation` in read tokens",
        &["provider::token::read-binding"],
    ),
    m(
        "paseto-yank-for-unyank",
        P,
        "signs unyank tokens with mutation `yank`",
        &["provider::token::unyank-binding"],
    ),
    m(
        "paseto-stale-iat",
        P,
        "dates tokens an hour back",
        &[
            "provider::token::read-binding",
            "provider::token::owners-binding",
        ],
    ),
    m(
        "paseto-wrong-kip",
        P,
        "names another key in `kip`",
        &[
            "provider::token::read-binding",
            "provider::token::yank-binding",
        ],
    ),
    m(
        "paseto-foreign-signature",
        P,
        "signs with another key under the login key's kip",
        &[
            "provider::token::read-binding",
            "provider::token::publish-binding",
        ],
    ),
    m(
        "paseto-cached-mutation",
        P,
        "lets Cargo cache mutation tokens (`cache: session`)",
        &[
            "provider::token::publish-not-cacheable",
            "provider::token::yank-not-cacheable",
            "provider::token::owners-not-cacheable",
        ],
    ),
    m(
        "paseto-operation-independent",
        P,
        "marks mutation tokens `operation_independent`",
        &[
            "provider::token::publish-not-cacheable",
            "provider::token::owners-not-cacheable",
        ],
    ),
    m(
        "paseto-reused-token",
        P,
        "hands out the same publish token twice",
        &["provider::token::fresh-per-mutation"],
    ),
    // isolation
    m(
        "keyed-by-name",
        T,
        "keys credentials by registry name alone and serves any index URL",
        &[
            "provider::isolation::get-same-name-other-url",
            "provider::isolation::logout-same-name-other-url",
            "provider::errors::url-not-supported",
        ],
    ),
    m(
        "one-slot",
        T,
        "keeps one credential for every registry and serves any index URL",
        &[
            "provider::isolation::get-other-registry",
            "provider::isolation::get-same-name-other-url",
            "provider::isolation::logout-other-registry",
            "provider::isolation::logout-same-name-other-url",
            "provider::errors::url-not-supported",
        ],
    ),
    m(
        "logout-clears-all",
        T,
        "a logout, for whatever registry, removes every stored credential",
        &[
            "provider::isolation::logout-other-registry",
            "provider::isolation::logout-same-name-other-url",
        ],
    ),
    m(
        "ignores-version",
        T,
        "serves a request with any numeric `v` as version 1",
        &["provider::malformed::protocol-version-2"],
    ),
    // lifecycle
    m(
        "daemonizes",
        T,
        "leaves a double-forked daemon (own session, stdio on /dev/null) running after every request",
        &["provider::robustness::no-processes-left"],
    ),
    // secrets
    m(
        "logs-login-token",
        T,
        "writes the token it is given at login on stderr",
        &["provider::secrets::login-token-not-logged"],
    ),
    m(
        "logs-returned-token",
        P,
        "writes every token it returns on stderr",
        &["provider::secrets::returned-token-not-logged"],
    ),
    m(
        "echoes-bad-request",
        T,
        "quotes a request it cannot parse in its Err message (a login's token with it)",
        &["provider::secrets::only-in-token-field"],
    ),
    m(
        "logs-token-prefix",
        T,
        "writes the first 30 characters of the login token on stderr (a \"preview\")",
        &["provider::secrets::no-fragments"],
    ),
];

pub fn find(name: &str) -> Option<&'static Mutant> {
    MUTANTS.iter().find(|m| m.name == name)
}

/// What to do after reading one line.
enum Reply {
    /// Write this line (a `\n` is added).
    Line(String),
    /// Write these bytes as they are.
    Raw(Vec<u8>),
    /// Never answer.
    Hang,
}

fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

fn answer(result: Result<CredentialResponse, Error>) -> Reply {
    Reply::Line(serde_json::to_string(&result).expect("answers serialize"))
}

fn other(message: &str) -> Reply {
    answer(Err(Error::from(message.to_string())))
}

/// Serves the protocol with the mutant's bug; returns the exit code.
pub fn run(mutant: &Mutant) -> i32 {
    let name = mutant.name;
    let mut input = io::stdin().lock();
    let mut out = io::stdout().lock();
    let hello: &[u8] = match name {
        "no-hello" => park_forever(),
        "hello-v2" => b"{\"v\":[2]}\n",
        "banner-before-hello" => b"credential provider ready\n{\"v\":[1]}\n",
        "hello-extra-version" => b"{\"v\":[1,2]}\n",
        _ => b"{\"v\":[1]}\n",
    };
    if out.write_all(hello).and_then(|()| out.flush()).is_err() {
        return 0;
    }
    let mut handled = 0;
    let mut last_was_error = false;
    loop {
        let mut line = Vec::new();
        if input.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
            return match name {
                "no-exit-after-eof" => park_forever(),
                "exit-1-on-early-eof" if handled == 0 => 1,
                "exit-1-after-error" if last_was_error => 1,
                _ => 0,
            };
        }
        handled += 1;
        if name == "line-buffer-64k" {
            line.truncate(64 * 1024);
        }
        if name == "needs-newline" && !line.ends_with(b"\n") {
            return 0;
        }
        if name == "gives-up-at-early-eof" && stdin_closed_within(200) {
            return 0;
        }
        if name == "daemonizes" {
            leave_a_daemon();
        }
        let reply = respond(mutant, &line, &mut input);
        let (bytes, fatal) = match reply {
            Reply::Line(text) => {
                last_was_error = text.starts_with("{\"Err\"");
                let fatal = text.contains("\"kind\":\"other\"") && is_parse_failure(mutant, &line);
                let mut bytes = text.into_bytes();
                if name != "no-newline" {
                    bytes.push(b'\n');
                }
                (bytes, fatal)
            }
            Reply::Raw(bytes) => (bytes, true),
            Reply::Hang => park_forever(),
        };
        if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
            return 0;
        }
        match name {
            "stdout-noise" => {
                let _ = out.write_all(b"done\n").and_then(|()| out.flush());
            }
            "no-newline" => {
                // Wait for EOF, as a provider that read until EOF would.
                let _ = io::copy(&mut input, &mut io::sink());
                return 0;
            }
            _ => {}
        }
        if fatal {
            return if name == "exit-1-after-error" { 1 } else { 0 };
        }
    }
}

/// Double-forks a daemon in a session of its own, stdio on /dev/null, that sleeps for an
/// hour: the classic way a helper outlives the process Cargo waits for.
fn leave_a_daemon() {
    // SAFETY: this provider process is single-threaded; between fork and _exit the children
    // call only async-signal-safe functions (setsid, fork, open, dup2, pause, _exit).
    unsafe {
        match libc::fork() {
            0 => {
                libc::setsid();
                if libc::fork() == 0 {
                    let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                    for fd in 0..3 {
                        libc::dup2(null, fd);
                    }
                    libc::alarm(3600);
                    loop {
                        libc::pause();
                    }
                }
                libc::_exit(0);
            }
            child if child > 0 => {
                libc::waitpid(child, std::ptr::null_mut(), 0);
            }
            _ => {}
        }
    }
}

/// Whether this line is one the reference loop would refuse to parse (it then stops).
fn is_parse_failure(mutant: &Mutant, line: &[u8]) -> bool {
    let Ok(text) = String::from_utf8(line.to_vec()) else {
        return true;
    };
    match mutant.name {
        "borrowed-strings" => {
            serde_json::from_str::<cargo_credential::CredentialRequest<'_>>(&text).is_err()
        }
        _ => request::parse(text).is_err(),
    }
}

/// Whether stdin reaches EOF within `ms` milliseconds (the provider peeks, the bug is what it
/// does then).
fn stdin_closed_within(ms: i32) -> bool {
    let mut fd = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for stdin.
    let ready = unsafe { libc::poll(&mut fd, 1, ms) };
    if ready <= 0 {
        return false;
    }
    let mut byte = [0u8; 1];
    // SAFETY: reading one byte from stdin into a valid buffer.
    unsafe { libc::read(0, byte.as_mut_ptr().cast(), 1) == 0 }
}

fn respond(mutant: &Mutant, line: &[u8], input: &mut impl Read) -> Reply {
    let name = mutant.name;
    let Ok(text) = String::from_utf8(line.to_vec()) else {
        return garbage(name, "stream did not contain valid UTF-8");
    };
    let raw: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    let field = |path: &[&str]| {
        let mut v = raw.as_ref()?;
        for p in path {
            v = v.get(p)?;
        }
        Some(v.clone())
    };
    match name {
        "key-order-sensitive" if !text.starts_with("{\"v\":") => {
            return other("unexpected request layout");
        }
        "deny-unknown-fields" => {
            const TOP: [&str; 10] = [
                "v",
                "registry",
                "kind",
                "operation",
                "name",
                "vers",
                "cksum",
                "token",
                "login-url",
                "args",
            ];
            const REGISTRY: [&str; 3] = ["index-url", "name", "headers"];
            let unknown = |v: Option<serde_json::Value>, known: &[&str]| {
                v.and_then(|v| v.as_object().cloned())
                    .is_some_and(|o| o.keys().any(|k| !known.contains(&k.as_str())))
            };
            if unknown(raw.clone(), &TOP) || unknown(field(&["registry"]), &REGISTRY) {
                return other("unknown field in request");
            }
        }
        "empty-args-rejected"
            if field(&["args"]).is_some_and(|a| a.as_array().is_some_and(Vec::is_empty)) =>
        {
            return other("empty args");
        }
        "ascii-only" if !text.is_ascii() => return other("non-ASCII request"),
        "crlf-rejected" if text.ends_with("\r\n") => return other("carriage return in request"),
        "name-required" if raw.is_some() && field(&["registry", "name"]).is_none() => {
            return other("registry name required");
        }
        "headers-rejected" if field(&["registry", "headers"]).is_some() => {
            return other("unexpected headers");
        }
        "panic-on-unknown-argument"
            if field(&["args"]).is_some_and(|a| a.to_string().contains("--definitely-unknown")) =>
        {
            panic!("unknown argument --definitely-unknown")
        }
        "echoes-bad-request" if request::parse(text.clone()).is_err() => {
            return other(&format!("cannot parse request: {}", text.trim_end()));
        }
        _ => {}
    }
    if name == "ignores-version"
        && let Some(mut value) = raw.clone()
        && value.get("v").is_some_and(serde_json::Value::is_u64)
    {
        value["v"] = 1.into();
        let text = value.to_string();
        return match request::parse(text) {
            Ok(request) => {
                let borrowed = request.as_borrowed();
                answer(perform(
                    mutant,
                    &borrowed.registry,
                    &borrowed.action,
                    &borrowed.args,
                ))
            }
            Err(e) => garbage(name, &e.to_string()),
        };
    }
    if name == "borrowed-strings" {
        let request = match serde_json::from_str::<cargo_credential::CredentialRequest<'_>>(&text) {
            Ok(r) => r,
            Err(e) => return garbage(name, &e.to_string()),
        };
        return answer(perform(
            mutant,
            &request.registry,
            &request.action,
            &request.args,
        ));
    }
    let request = match request::parse(text) {
        Ok(r) => r,
        Err(e) => return garbage(name, &e.to_string()),
    };
    if name == "login-reads-stdin"
        && matches!(&request.action, request::Action::Login(o) if o.token.is_none())
    {
        let _ = io::copy(input, &mut io::sink());
    }
    let borrowed = request.as_borrowed();
    answer(perform(
        mutant,
        &borrowed.registry,
        &borrowed.action,
        &borrowed.args,
    ))
}

/// What the mutant does with input it cannot parse.
fn garbage(name: &str, message: &str) -> Reply {
    match name {
        "ok-on-garbage" => answer(Ok(CredentialResponse::Get {
            token: Secret::from("garbage-in".to_string()),
            cache: CacheControl::Never,
            operation_independent: true,
        })),
        "garbage-on-garbage" => Reply::Raw(format!("error: {message}\n").into_bytes()),
        "hang-on-garbage" => Reply::Hang,
        "crash-on-garbage" => panic!("cannot parse the request: {message}"),
        _ => other(message),
    }
}

fn perform(
    mutant: &Mutant,
    registry: &RegistryInfo<'_>,
    action: &Action<'_>,
    args: &[&str],
) -> Result<CredentialResponse, Error> {
    let name = mutant.name;
    if let Action::Login(options) = action
        && let Some(token) = &options.token
    {
        let token = token.as_deref().expose();
        match name {
            "logs-login-token" => eprintln!("credential provider: storing token {token}"),
            "logs-token-prefix" => eprintln!(
                "credential provider: storing token {}…",
                token.get(..30).unwrap_or(token)
            ),
            _ => {}
        }
    }
    // Isolation bugs: the credential's key is not the registry's index URL.
    let rekeyed;
    let (registry, args) = match name {
        // Under the served prefix, so the base store does not refuse the made-up key.
        "keyed-by-name" => {
            rekeyed = format!(
                "{}name:{}",
                std::env::var(crate::reference::ONLY_URL_ENV).unwrap_or_default(),
                registry.name.unwrap_or(registry.index_url)
            );
            (
                &RegistryInfo {
                    index_url: &rekeyed,
                    ..registry.clone()
                },
                &[][..],
            )
        }
        "one-slot" => {
            rekeyed = format!(
                "{}the-one-slot",
                std::env::var(crate::reference::ONLY_URL_ENV).unwrap_or_default()
            );
            (
                &RegistryInfo {
                    index_url: &rekeyed,
                    ..registry.clone()
                },
                &[][..],
            )
        }
        "logout-clears-all" if matches!(action, Action::Logout) => {
            if let Ok(dir) = xdg_dir("XDG_DATA_HOME", ".local/share") {
                let _ =
                    std::fs::remove_file(dir.join("credlab-token-provider").join("tokens.json"));
            }
            (registry, args)
        }
        _ => (registry, args),
    };
    match (name, action) {
        ("ok-on-garbage", _) => {}
        ("unknown-kind-other", Action::Unknown) => {
            return Err(Error::from("unknown kind".to_string()));
        }
        ("unknown-operation-other", Action::Get(Operation::Unknown)) => {
            return Err(Error::from("unknown operation".to_string()));
        }
        ("get-answers-login", Action::Get(_)) => return Ok(CredentialResponse::Login),
        ("mutations-not-found", Action::Get(op)) if !matches!(op, Operation::Read) => {
            return Err(Error::NotFound);
        }
        ("login-answers-logout", Action::Login(_)) => return Ok(CredentialResponse::Logout),
        ("logout-answers-login", Action::Logout) => return Ok(CredentialResponse::Login),
        ("logout-keeps-token", Action::Logout) => return Ok(CredentialResponse::Logout),
        ("token-not-stored", Action::Login(options)) => {
            let mut replaced = options.clone();
            replaced.token = Some(Secret::from("not-the-token-given"));
            return base_perform(mutant.base, registry, &Action::Login(replaced), args);
        }
        (_, Action::Get(operation)) if mutant.base == Base::Paseto => {
            return paseto_get(name, registry.index_url, operation);
        }
        _ => {}
    }
    let result = base_perform(mutant.base, registry, action, args);
    match (name, result) {
        ("unsupported-url-not-found", Err(Error::UrlNotSupported)) => Err(Error::NotFound),
        ("missing-is-other", Err(Error::NotFound)) if matches!(action, Action::Get(_)) => {
            Err(Error::from("no token stored".to_string()))
        }
        ("logout-ok-when-empty", Err(Error::NotFound)) if matches!(action, Action::Logout) => {
            Ok(CredentialResponse::Logout)
        }
        (
            "token-with-cr",
            Ok(CredentialResponse::Get {
                token,
                cache,
                operation_independent,
            }),
        ) => Ok(CredentialResponse::Get {
            token: token.map(|t| format!("{t}\r")),
            cache,
            operation_independent,
        }),
        (
            "cache-unknown",
            Ok(CredentialResponse::Get {
                token,
                operation_independent,
                ..
            }),
        ) => Ok(CredentialResponse::Get {
            token,
            cache: CacheControl::Unknown,
            operation_independent,
        }),
        (
            "expires-now",
            Ok(CredentialResponse::Get {
                token,
                operation_independent,
                ..
            }),
        ) => Ok(CredentialResponse::Get {
            token,
            cache: CacheControl::Expires {
                expiration: OffsetDateTime::now_utc(),
            },
            operation_independent,
        }),
        (_, result) => result,
    }
}

fn base_perform(
    base: Base,
    registry: &RegistryInfo<'_>,
    action: &Action<'_>,
    args: &[&str],
) -> Result<CredentialResponse, Error> {
    match base {
        Base::TokenStore => TokenStore::from_env().perform(registry, action, args),
        Base::Paseto => PasetoProvider::from_env().perform(registry, action, args),
    }
}

/// A PASETO `get` with the mutant's bug in the token or the cache answer.
fn paseto_get(
    name: &str,
    index_url: &str,
    operation: &Operation<'_>,
) -> Result<CredentialResponse, Error> {
    let operation = token_operation(operation).ok_or(Error::OperationNotSupported)?;
    let keys = JsonStore::<KeyEntry>::new(
        xdg_dir("XDG_CONFIG_HOME", ".config")?
            .join("credlab-paseto-provider")
            .join("keys.json"),
    );
    let entry = keys.load()?.remove(index_url).ok_or(Error::NotFound)?;
    let key = SecretKey::from_paserk(entry.secret.as_deref().expose())
        .map_err(|e| Error::from(e.to_string()))?;
    let now = OffsetDateTime::now_utc();
    let mut claims = Claims::for_operation(&operation, now, entry.subject.as_deref());
    let mut footer = Footer::new(index_url, key.public_key().id());
    let mut signer = key;
    match name {
        "paseto-url-without-sparse" => {
            footer.url = index_url.trim_start_matches("sparse+").to_string()
        }
        "paseto-url-normalized" => footer.url = index_url.to_lowercase(),
        "paseto-wrong-name" => claims.name = claims.name.map(|n| format!("{n}-x")),
        "paseto-wrong-vers" => claims.vers = claims.vers.map(|_| "9.9.9".into()),
        "paseto-no-cksum" => claims.cksum = None,
        "paseto-read-has-mutation" if operation == TokenOperation::Read => {
            claims.mutation = Some("read".into())
        }
        "paseto-yank-for-unyank" if claims.mutation.as_deref() == Some("unyank") => {
            claims.mutation = Some("yank".into())
        }
        "paseto-stale-iat" => claims.iat = iat::format(now - time::Duration::hours(1)),
        "paseto-wrong-kip" => footer.kip = SecretKey::generate().public_key().id().to_string(),
        "paseto-foreign-signature" => signer = SecretKey::generate(),
        _ => {}
    }
    let mut signed = token::sign(&signer, &claims, &footer, SignatureForm::AsCargo);
    if name == "paseto-reused-token" && operation != TokenOperation::Read {
        let remembered = JsonStore::<String>::new(
            xdg_dir("XDG_STATE_HOME", ".local/state")?
                .join("credlab-mutant")
                .join("tokens.json"),
        );
        let mut tokens: BTreeMap<String, String> = remembered.load()?;
        let slot = format!("{index_url} {}", operation.kind().as_str());
        signed = tokens.entry(slot).or_insert(signed).clone();
        remembered.save(&tokens)?;
    }
    if name == "logs-returned-token" {
        eprintln!("credential provider: issued {signed}");
    }
    let read = operation == TokenOperation::Read;
    Ok(CredentialResponse::Get {
        token: Secret::from(signed),
        cache: if read || name == "paseto-cached-mutation" {
            CacheControl::Session
        } else {
            CacheControl::Never
        },
        operation_independent: name == "paseto-operation-independent",
    })
}
