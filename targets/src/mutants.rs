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
    pub kind: Kind,
    pub base: Base,
    /// The bug, in words.
    pub bug: &'static str,
    /// Case ids that must fail (fail or hang) against this mutant.
    pub caught_by: &'static [&'static str],
}

const fn m(
    kind: Kind,
    base: Base,
    bug: &'static str,
    caught_by: &'static [&'static str],
) -> Mutant {
    Mutant {
        kind,
        base,
        bug,
        caught_by,
    }
}

use Base::{Paseto as P, TokenStore as T};

/// Which bug a mutant has: one variant per seeded bug, so code that acts on a bug names it
/// (a typo is a compile error, not a mutant that silently behaves like the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    HelloV2,
    BannerBeforeHello,
    NoHello,
    Exit1OnEarlyEof,
    HelloExtraVersion,
    GetAnswersLogin,
    MutationsNotFound,
    HeadersRejected,
    NameRequired,
    UnknownOperationOther,
    TokenWithCr,
    UnsupportedUrlNotFound,
    MissingIsOther,
    LogoutOkWhenEmpty,
    LoginAnswersLogout,
    LoginReadsStdin,
    TokenNotStored,
    BorrowedStrings,
    LogoutAnswersLogin,
    LogoutKeepsToken,
    PanicOnUnknownArgument,
    CacheUnknown,
    ExpiresNow,
    NoNewline,
    NoExitAfterEof,
    Exit1AfterError,
    StdoutNoise,
    KeyOrderSensitive,
    DenyUnknownFields,
    EmptyArgsRejected,
    AsciiOnly,
    CrlfRejected,
    NeedsNewline,
    OkOnGarbage,
    GarbageOnGarbage,
    HangOnGarbage,
    CrashOnGarbage,
    UnknownKindOther,
    LineBuffer64k,
    GivesUpAtEarlyEof,
    PasetoUrlWithoutSparse,
    PasetoUrlNormalized,
    PasetoWrongName,
    PasetoWrongVers,
    PasetoNoCksum,
    PasetoReadHasMutation,
    PasetoYankForUnyank,
    PasetoStaleIat,
    PasetoWrongKip,
    PasetoForeignSignature,
    PasetoCachedMutation,
    PasetoOperationIndependent,
    PasetoReusedToken,
    KeyedByName,
    OneSlot,
    LogoutClearsAll,
    IgnoresVersion,
    Daemonizes,
    LogsLoginToken,
    LogsReturnedToken,
    EchoesBadRequest,
    LogsTokenPrefix,
}

impl Kind {
    /// The mutant's name (`builtin:mutant:NAME`).
    pub const fn name(self) -> &'static str {
        match self {
            Kind::HelloV2 => "hello-v2",
            Kind::BannerBeforeHello => "banner-before-hello",
            Kind::NoHello => "no-hello",
            Kind::Exit1OnEarlyEof => "exit-1-on-early-eof",
            Kind::HelloExtraVersion => "hello-extra-version",
            Kind::GetAnswersLogin => "get-answers-login",
            Kind::MutationsNotFound => "mutations-not-found",
            Kind::HeadersRejected => "headers-rejected",
            Kind::NameRequired => "name-required",
            Kind::UnknownOperationOther => "unknown-operation-other",
            Kind::TokenWithCr => "token-with-cr",
            Kind::UnsupportedUrlNotFound => "unsupported-url-not-found",
            Kind::MissingIsOther => "missing-is-other",
            Kind::LogoutOkWhenEmpty => "logout-ok-when-empty",
            Kind::LoginAnswersLogout => "login-answers-logout",
            Kind::LoginReadsStdin => "login-reads-stdin",
            Kind::TokenNotStored => "token-not-stored",
            Kind::BorrowedStrings => "borrowed-strings",
            Kind::LogoutAnswersLogin => "logout-answers-login",
            Kind::LogoutKeepsToken => "logout-keeps-token",
            Kind::PanicOnUnknownArgument => "panic-on-unknown-argument",
            Kind::CacheUnknown => "cache-unknown",
            Kind::ExpiresNow => "expires-now",
            Kind::NoNewline => "no-newline",
            Kind::NoExitAfterEof => "no-exit-after-eof",
            Kind::Exit1AfterError => "exit-1-after-error",
            Kind::StdoutNoise => "stdout-noise",
            Kind::KeyOrderSensitive => "key-order-sensitive",
            Kind::DenyUnknownFields => "deny-unknown-fields",
            Kind::EmptyArgsRejected => "empty-args-rejected",
            Kind::AsciiOnly => "ascii-only",
            Kind::CrlfRejected => "crlf-rejected",
            Kind::NeedsNewline => "needs-newline",
            Kind::OkOnGarbage => "ok-on-garbage",
            Kind::GarbageOnGarbage => "garbage-on-garbage",
            Kind::HangOnGarbage => "hang-on-garbage",
            Kind::CrashOnGarbage => "crash-on-garbage",
            Kind::UnknownKindOther => "unknown-kind-other",
            Kind::LineBuffer64k => "line-buffer-64k",
            Kind::GivesUpAtEarlyEof => "gives-up-at-early-eof",
            Kind::PasetoUrlWithoutSparse => "paseto-url-without-sparse",
            Kind::PasetoUrlNormalized => "paseto-url-normalized",
            Kind::PasetoWrongName => "paseto-wrong-name",
            Kind::PasetoWrongVers => "paseto-wrong-vers",
            Kind::PasetoNoCksum => "paseto-no-cksum",
            Kind::PasetoReadHasMutation => "paseto-read-has-mutation",
            Kind::PasetoYankForUnyank => "paseto-yank-for-unyank",
            Kind::PasetoStaleIat => "paseto-stale-iat",
            Kind::PasetoWrongKip => "paseto-wrong-kip",
            Kind::PasetoForeignSignature => "paseto-foreign-signature",
            Kind::PasetoCachedMutation => "paseto-cached-mutation",
            Kind::PasetoOperationIndependent => "paseto-operation-independent",
            Kind::PasetoReusedToken => "paseto-reused-token",
            Kind::KeyedByName => "keyed-by-name",
            Kind::OneSlot => "one-slot",
            Kind::LogoutClearsAll => "logout-clears-all",
            Kind::IgnoresVersion => "ignores-version",
            Kind::Daemonizes => "daemonizes",
            Kind::LogsLoginToken => "logs-login-token",
            Kind::LogsReturnedToken => "logs-returned-token",
            Kind::EchoesBadRequest => "echoes-bad-request",
            Kind::LogsTokenPrefix => "logs-token-prefix",
        }
    }
}

impl Mutant {
    pub const fn name(&self) -> &'static str {
        self.kind.name()
    }
}

/// A mutant is its bug.
impl PartialEq for Mutant {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Eq for Mutant {}

/// Every mutant. Token-store mutants are run with `CREDLAB_ONLY_URL` so the url-not-supported
/// case applies (see `ProviderTarget::configure` and the mutant test).
pub const MUTANTS: &[Mutant] = &[
    // handshake
    m(
        Kind::HelloV2,
        T,
        "the hello lists only version 2",
        &["provider::handshake::hello"],
    ),
    m(
        Kind::BannerBeforeHello,
        T,
        "prints a banner line before the hello",
        &["provider::handshake::hello"],
    ),
    m(
        Kind::NoHello,
        T,
        "never sends a hello",
        &["provider::handshake::hello"],
    ),
    m(
        Kind::Exit1OnEarlyEof,
        T,
        "exits 1 when stdin closes before any request",
        &["provider::handshake::eof-after-hello"],
    ),
    m(
        Kind::HelloExtraVersion,
        T,
        "the hello lists versions 1 and 2 (Cargo accepts it)",
        &["provider::handshake::hello-exact"],
    ),
    // get
    m(
        Kind::GetAnswersLogin,
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
        Kind::MutationsNotFound,
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
        Kind::HeadersRejected,
        T,
        "fails on `registry.headers`",
        &["provider::get::read-with-headers"],
    ),
    m(
        Kind::NameRequired,
        T,
        "fails when `registry.name` is absent",
        &["provider::get::read-without-registry-name"],
    ),
    m(
        Kind::UnknownOperationOther,
        T,
        "answers Err other for an operation it does not know",
        &["provider::get::unknown-operation"],
    ),
    m(
        Kind::TokenWithCr,
        T,
        "returns the token with a trailing carriage return",
        &[
            "provider::get::token-is-header-value",
            "provider::login::token-is-stored",
        ],
    ),
    // errors
    m(
        Kind::UnsupportedUrlNotFound,
        T,
        "answers not-found for a URL it does not serve",
        &["provider::errors::url-not-supported"],
    ),
    m(
        Kind::MissingIsOther,
        T,
        "answers Err other when nothing is stored",
        &[
            "provider::errors::not-found",
            "provider::login::get-after-logout",
        ],
    ),
    m(
        Kind::LogoutOkWhenEmpty,
        T,
        "answers Ok to a logout with nothing stored",
        &["provider::errors::logout-nothing-stored"],
    ),
    // login / logout
    m(
        Kind::LoginAnswersLogout,
        T,
        "answers login with `Ok` logout",
        &[
            "provider::login::with-token",
            "provider::login::with-token-and-login-url",
        ],
    ),
    m(
        Kind::LoginReadsStdin,
        T,
        "reads the token from stdin when none is given (Cargo deadlocks)",
        &["provider::login::without-token"],
    ),
    m(
        Kind::TokenNotStored,
        T,
        "stores something other than the token given",
        &["provider::login::token-is-stored"],
    ),
    m(
        Kind::BorrowedStrings,
        T,
        "parses requests with cargo-credential 0.4.11's borrowed types (JSON escapes fail, rust-lang/cargo#13615)",
        &[
            "provider::login::escaped-token",
            "provider::framing::escaped-slashes",
        ],
    ),
    m(
        Kind::LogoutAnswersLogin,
        T,
        "answers logout with `Ok` login",
        &["provider::login::logout-after-login"],
    ),
    m(
        Kind::LogoutKeepsToken,
        T,
        "answers logout Ok but keeps the token",
        &["provider::login::get-after-logout"],
    ),
    m(
        Kind::PanicOnUnknownArgument,
        T,
        "panics on an argument it does not know",
        &["provider::login::logout-unknown-argument"],
    ),
    // cache
    m(
        Kind::CacheUnknown,
        T,
        "answers a cache value Cargo does not know",
        &["provider::cache::known-value"],
    ),
    m(
        Kind::ExpiresNow,
        T,
        "answers `expires` at the current second",
        &["provider::cache::expiration-ahead"],
    ),
    // framing
    m(
        Kind::NoNewline,
        T,
        "writes the response without a newline and waits for EOF",
        &["provider::framing::response-newline"],
    ),
    m(
        Kind::NoExitAfterEof,
        T,
        "never exits after stdin closes",
        &["provider::framing::exit-after-eof"],
    ),
    m(
        Kind::Exit1AfterError,
        T,
        "exits 1 after an Err answer",
        &["provider::framing::exit-zero-after-error"],
    ),
    m(
        Kind::StdoutNoise,
        T,
        "prints `done` on stdout after each response",
        &["provider::framing::stdout-only-protocol"],
    ),
    m(
        Kind::KeyOrderSensitive,
        T,
        "expects the request to start with `{\"v\":`",
        &["provider::framing::keys-reordered"],
    ),
    m(
        Kind::DenyUnknownFields,
        T,
        "refuses fields it does not know",
        &["provider::framing::unknown-fields"],
    ),
    m(
        Kind::EmptyArgsRejected,
        T,
        "refuses `\"args\":[]`",
        &["provider::framing::empty-args"],
    ),
    m(
        Kind::AsciiOnly,
        T,
        "refuses non-ASCII requests",
        &["provider::framing::non-ascii-url"],
    ),
    m(
        Kind::CrlfRejected,
        T,
        "refuses a request ending in `\\r\\n`",
        &["provider::framing::crlf"],
    ),
    m(
        Kind::NeedsNewline,
        T,
        "exits silently on a request without a newline",
        &["provider::framing::no-newline-then-eof"],
    ),
    // malformed
    m(
        Kind::OkOnGarbage,
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
        Kind::GarbageOnGarbage,
        T,
        "prints a plain-text error on stdout for input it cannot parse",
        &[
            "provider::malformed::not-json",
            "provider::malformed::blank-line",
        ],
    ),
    m(
        Kind::HangOnGarbage,
        T,
        "waits forever on input it cannot parse",
        &[
            "provider::malformed::not-json",
            "provider::malformed::json-array",
            "provider::malformed::blank-line",
        ],
    ),
    m(
        Kind::CrashOnGarbage,
        T,
        "panics (exit 101, no answer) on input it cannot parse",
        &[
            "provider::malformed::not-json",
            "provider::malformed::missing-kind",
            "provider::malformed::blank-line",
        ],
    ),
    m(
        Kind::UnknownKindOther,
        T,
        "answers Err other to a kind it does not know",
        &[
            "provider::malformed::unknown-kind",
            "provider::malformed::uppercase-kind",
        ],
    ),
    // robustness
    m(
        Kind::LineBuffer64k,
        T,
        "reads at most 64 KiB of a request line",
        &["provider::robustness::huge-header"],
    ),
    m(
        Kind::GivesUpAtEarlyEof,
        T,
        "exits without answering when stdin closes right after the request",
        &["provider::robustness::stdin-closed-after-request"],
    ),
    // token binding (PASETO)
    m(
        Kind::PasetoUrlWithoutSparse,
        P,
        "drops the `sparse+` prefix from the footer url",
        &[
            "provider::token::read-binding",
            "provider::token::publish-binding",
            "provider::token::url-verbatim",
        ],
    ),
    m(
        Kind::PasetoUrlNormalized,
        P,
        "lower-cases the footer url",
        &["provider::token::url-verbatim"],
    ),
    m(
        Kind::PasetoWrongName,
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
        Kind::PasetoWrongVers,
        P,
        "binds the token to another version",
        &[
            "provider::token::publish-binding",
            "provider::token::yank-binding",
            "provider::token::unyank-binding",
        ],
    ),
    m(
        Kind::PasetoNoCksum,
        P,
        "leaves `cksum` out of publish tokens",
        &["provider::token::publish-binding"],
    ),
    m(
        Kind::PasetoReadHasMutation,
        P,
        "puts `mutation` in read tokens",
        &["provider::token::read-binding"],
    ),
    m(
        Kind::PasetoYankForUnyank,
        P,
        "signs unyank tokens with mutation `yank`",
        &["provider::token::unyank-binding"],
    ),
    m(
        Kind::PasetoStaleIat,
        P,
        "dates tokens an hour back",
        &[
            "provider::token::read-binding",
            "provider::token::owners-binding",
        ],
    ),
    m(
        Kind::PasetoWrongKip,
        P,
        "names another key in `kip`",
        &[
            "provider::token::read-binding",
            "provider::token::yank-binding",
        ],
    ),
    m(
        Kind::PasetoForeignSignature,
        P,
        "signs with another key under the login key's kip",
        &[
            "provider::token::read-binding",
            "provider::token::publish-binding",
        ],
    ),
    m(
        Kind::PasetoCachedMutation,
        P,
        "lets Cargo cache mutation tokens (`cache: session`)",
        &[
            "provider::token::publish-not-cacheable",
            "provider::token::yank-not-cacheable",
            "provider::token::owners-not-cacheable",
        ],
    ),
    m(
        Kind::PasetoOperationIndependent,
        P,
        "marks mutation tokens `operation_independent`",
        &[
            "provider::token::publish-not-cacheable",
            "provider::token::owners-not-cacheable",
        ],
    ),
    m(
        Kind::PasetoReusedToken,
        P,
        "hands out the same publish token twice",
        &["provider::token::fresh-per-mutation"],
    ),
    // isolation
    m(
        Kind::KeyedByName,
        T,
        "keys credentials by registry name alone and serves any index URL",
        &[
            "provider::isolation::get-same-name-other-url",
            "provider::isolation::logout-same-name-other-url",
            "provider::errors::url-not-supported",
        ],
    ),
    m(
        Kind::OneSlot,
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
        Kind::LogoutClearsAll,
        T,
        "a logout, for whatever registry, removes every stored credential",
        &[
            "provider::isolation::logout-other-registry",
            "provider::isolation::logout-same-name-other-url",
        ],
    ),
    m(
        Kind::IgnoresVersion,
        T,
        "serves a request with any numeric `v` as version 1",
        &["provider::malformed::protocol-version-2"],
    ),
    // lifecycle
    m(
        Kind::Daemonizes,
        T,
        "leaves a double-forked daemon (own session, stdio on /dev/null) running after every request",
        &["provider::robustness::no-processes-left"],
    ),
    // secrets
    m(
        Kind::LogsLoginToken,
        T,
        "writes the token it is given at login on stderr",
        &["provider::secrets::login-token-not-logged"],
    ),
    m(
        Kind::LogsReturnedToken,
        P,
        "writes every token it returns on stderr",
        &["provider::secrets::returned-token-not-logged"],
    ),
    m(
        Kind::EchoesBadRequest,
        T,
        "quotes a request it cannot parse in its Err message (a login's token with it)",
        &["provider::secrets::only-in-token-field"],
    ),
    m(
        Kind::LogsTokenPrefix,
        T,
        "writes the first 30 characters of the login token on stderr (a \"preview\")",
        &["provider::secrets::no-fragments"],
    ),
];

pub fn find(name: &str) -> Option<&'static Mutant> {
    MUTANTS.iter().find(|m| m.name() == name)
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
    let name = mutant.kind;
    let mut input = io::stdin().lock();
    let mut out = io::stdout().lock();
    let hello: &[u8] = match name {
        Kind::NoHello => park_forever(),
        Kind::HelloV2 => b"{\"v\":[2]}\n",
        Kind::BannerBeforeHello => b"credential provider ready\n{\"v\":[1]}\n",
        Kind::HelloExtraVersion => b"{\"v\":[1,2]}\n",
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
                Kind::NoExitAfterEof => park_forever(),
                Kind::Exit1OnEarlyEof if handled == 0 => 1,
                Kind::Exit1AfterError if last_was_error => 1,
                _ => 0,
            };
        }
        handled += 1;
        if name == Kind::LineBuffer64k {
            line.truncate(64 * 1024);
        }
        if name == Kind::NeedsNewline && !line.ends_with(b"\n") {
            return 0;
        }
        if name == Kind::GivesUpAtEarlyEof && stdin_closed_within(200) {
            return 0;
        }
        if name == Kind::Daemonizes {
            leave_a_daemon();
        }
        let reply = respond(mutant, &line, &mut input);
        let (bytes, fatal) = match reply {
            Reply::Line(text) => {
                last_was_error = text.starts_with("{\"Err\"");
                let fatal = text.contains("\"kind\":\"other\"") && is_parse_failure(mutant, &line);
                let mut bytes = text.into_bytes();
                if name != Kind::NoNewline {
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
            Kind::StdoutNoise => {
                let _ = out.write_all(b"done\n").and_then(|()| out.flush());
            }
            Kind::NoNewline => {
                // Wait for EOF, as a provider that read until EOF would.
                let _ = io::copy(&mut input, &mut io::sink());
                return 0;
            }
            _ => {}
        }
        if fatal {
            return if name == Kind::Exit1AfterError { 1 } else { 0 };
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
    match mutant.kind {
        Kind::BorrowedStrings => {
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
    let name = mutant.kind;
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
        Kind::KeyOrderSensitive if !text.starts_with("{\"v\":") => {
            return other("unexpected request layout");
        }
        Kind::DenyUnknownFields => {
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
        Kind::EmptyArgsRejected
            if field(&["args"]).is_some_and(|a| a.as_array().is_some_and(Vec::is_empty)) =>
        {
            return other("empty args");
        }
        Kind::AsciiOnly if !text.is_ascii() => return other("non-ASCII request"),
        Kind::CrlfRejected if text.ends_with("\r\n") => return other("carriage return in request"),
        Kind::NameRequired if raw.is_some() && field(&["registry", "name"]).is_none() => {
            return other("registry name required");
        }
        Kind::HeadersRejected if field(&["registry", "headers"]).is_some() => {
            return other("unexpected headers");
        }
        Kind::PanicOnUnknownArgument
            if field(&["args"]).is_some_and(|a| a.to_string().contains("--definitely-unknown")) =>
        {
            panic!("unknown argument --definitely-unknown")
        }
        Kind::EchoesBadRequest if request::parse(text.clone()).is_err() => {
            return other(&format!("cannot parse request: {}", text.trim_end()));
        }
        _ => {}
    }
    if name == Kind::IgnoresVersion
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
    if name == Kind::BorrowedStrings {
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
    if name == Kind::LoginReadsStdin
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
fn garbage(name: Kind, message: &str) -> Reply {
    match name {
        Kind::OkOnGarbage => answer(Ok(CredentialResponse::Get {
            token: Secret::from("garbage-in".to_string()),
            cache: CacheControl::Never,
            operation_independent: true,
        })),
        Kind::GarbageOnGarbage => Reply::Raw(format!("error: {message}\n").into_bytes()),
        Kind::HangOnGarbage => Reply::Hang,
        Kind::CrashOnGarbage => panic!("cannot parse the request: {message}"),
        _ => other(message),
    }
}

fn perform(
    mutant: &Mutant,
    registry: &RegistryInfo<'_>,
    action: &Action<'_>,
    args: &[&str],
) -> Result<CredentialResponse, Error> {
    let name = mutant.kind;
    if let Action::Login(options) = action
        && let Some(token) = &options.token
    {
        let token = token.as_deref().expose();
        match name {
            Kind::LogsLoginToken => eprintln!("credential provider: storing token {token}"),
            Kind::LogsTokenPrefix => eprintln!(
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
        Kind::KeyedByName => {
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
        Kind::OneSlot => {
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
        Kind::LogoutClearsAll if matches!(action, Action::Logout) => {
            if let Ok(dir) = xdg_dir("XDG_DATA_HOME", ".local/share") {
                let _ =
                    std::fs::remove_file(dir.join("credlab-token-provider").join("tokens.json"));
            }
            (registry, args)
        }
        _ => (registry, args),
    };
    match (name, action) {
        (Kind::OkOnGarbage, _) => {}
        (Kind::UnknownKindOther, Action::Unknown) => {
            return Err(Error::from("unknown kind".to_string()));
        }
        (Kind::UnknownOperationOther, Action::Get(Operation::Unknown)) => {
            return Err(Error::from("unknown operation".to_string()));
        }
        (Kind::GetAnswersLogin, Action::Get(_)) => return Ok(CredentialResponse::Login),
        (Kind::MutationsNotFound, Action::Get(op)) if !matches!(op, Operation::Read) => {
            return Err(Error::NotFound);
        }
        (Kind::LoginAnswersLogout, Action::Login(_)) => return Ok(CredentialResponse::Logout),
        (Kind::LogoutAnswersLogin, Action::Logout) => return Ok(CredentialResponse::Login),
        (Kind::LogoutKeepsToken, Action::Logout) => return Ok(CredentialResponse::Logout),
        (Kind::TokenNotStored, Action::Login(options)) => {
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
        (Kind::UnsupportedUrlNotFound, Err(Error::UrlNotSupported)) => Err(Error::NotFound),
        (Kind::MissingIsOther, Err(Error::NotFound)) if matches!(action, Action::Get(_)) => {
            Err(Error::from("no token stored".to_string()))
        }
        (Kind::LogoutOkWhenEmpty, Err(Error::NotFound)) if matches!(action, Action::Logout) => {
            Ok(CredentialResponse::Logout)
        }
        (
            Kind::TokenWithCr,
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
            Kind::CacheUnknown,
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
            Kind::ExpiresNow,
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
    name: Kind,
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
        Kind::PasetoUrlWithoutSparse => {
            footer.url = index_url.trim_start_matches("sparse+").to_string()
        }
        Kind::PasetoUrlNormalized => footer.url = index_url.to_lowercase(),
        Kind::PasetoWrongName => claims.name = claims.name.map(|n| format!("{n}-x")),
        Kind::PasetoWrongVers => claims.vers = claims.vers.map(|_| "9.9.9".into()),
        Kind::PasetoNoCksum => claims.cksum = None,
        Kind::PasetoReadHasMutation if operation == TokenOperation::Read => {
            claims.mutation = Some("read".into())
        }
        Kind::PasetoYankForUnyank if claims.mutation.as_deref() == Some("unyank") => {
            claims.mutation = Some("yank".into())
        }
        Kind::PasetoStaleIat => claims.iat = iat::format(now - time::Duration::hours(1)),
        Kind::PasetoWrongKip => footer.kip = SecretKey::generate().public_key().id().to_string(),
        Kind::PasetoForeignSignature => signer = SecretKey::generate(),
        _ => {}
    }
    let mut signed = token::sign(&signer, &claims, &footer, SignatureForm::AsCargo);
    if name == Kind::PasetoReusedToken && operation != TokenOperation::Read {
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
    if name == Kind::LogsReturnedToken {
        eprintln!("credential provider: issued {signed}");
    }
    let read = operation == TokenOperation::Read;
    Ok(CredentialResponse::Get {
        token: Secret::from(signed),
        cache: if read || name == Kind::PasetoCachedMutation {
            CacheControl::Session
        } else {
            CacheControl::Never
        },
        operation_independent: name == Kind::PasetoOperationIndependent,
    })
}
