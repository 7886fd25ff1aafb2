//! The reference providers as real processes, driven the way Cargo drives them: argv
//! `--cargo-plugin`, read the hello, write one request line, read one response line, close
//! stdin, expect exit 0. Each sandbox has its own HOME and XDG dirs, so state persists across
//! the processes of one test and nowhere else.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use cargo_credential::{CacheControl, CredentialResponse, Error};
use credlab_suite::keys::SecretKey;
use credlab_suite::token::Operation;
use credlab_suite::verify::{KeyStore, Request, Verifier};
use tempfile::TempDir;
use time::OffsetDateTime;

const TOKEN: &str = env!("CARGO_BIN_EXE_credlab-token-provider");
const PASETO: &str = env!("CARGO_BIN_EXE_credlab-paseto-provider");
/// A provider that has not answered by then is hung (Cargo would wait forever).
const DEADLINE: Duration = Duration::from_secs(30);

const HELLO: &[u8] = b"{\"v\":[1]}\n";
const NOT_FOUND: &str = r#"{"Err":{"kind":"not-found"}}"#;
const NOT_SUPPORTED: &str = r#"{"Err":{"kind":"operation-not-supported"}}"#;
const URL_NOT_SUPPORTED: &str = r#"{"Err":{"kind":"url-not-supported"}}"#;
const LOGIN_OK: &str = r#"{"Ok":{"kind":"login"}}"#;
const LOGOUT_OK: &str = r#"{"Ok":{"kind":"logout"}}"#;

/// What one provider process did.
#[derive(Debug)]
struct Outcome {
    hello: Vec<u8>,
    /// The response line, without its `\n`.
    response: String,
    /// Stdout after the response line (must be empty).
    rest: Vec<u8>,
    stderr: String,
    status: ExitStatus,
}

impl Outcome {
    /// The answer as Cargo parses it.
    fn parsed(&self) -> Result<CredentialResponse, Error> {
        serde_json::from_str(&self.response)
            .unwrap_or_else(|e| panic!("unparsable response {:?}: {e}", self.response))
    }

    fn other_message(&self) -> String {
        match self.parsed() {
            Err(Error::Other(e)) => e.to_string(),
            other => panic!("expected Err other, got {other:?} ({})", self.response),
        }
    }

    /// The token of an `Ok get` answer, with its cache and `operation_independent`.
    fn token(&self) -> (String, CacheControl, bool) {
        match self.parsed() {
            Ok(CredentialResponse::Get {
                token,
                cache,
                operation_independent,
            }) => (token.expose(), cache, operation_independent),
            other => panic!("expected Ok get, got {other:?} ({})", self.response),
        }
    }
}

/// A HOME with XDG dirs, shared by the provider processes of one test.
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn data_home(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn config_home(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Runs `bin`, sends `input` (one or more raw lines) once the hello has arrived, reads
    /// one response line, then closes stdin and collects the rest.
    fn send(&self, bin: &str, input: &[u8]) -> Outcome {
        let home = self.dir.path().join("home");
        let work = self.dir.path().join("work");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        let mut child = Command::new(bin)
            .arg("--cargo-plugin")
            .env_clear()
            .env("HOME", &home)
            .env("XDG_DATA_HOME", self.data_home())
            .env("XDG_CONFIG_HOME", self.config_home())
            .current_dir(&work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).unwrap();
            text
        });
        let (child, done) = watchdog(child);

        let mut hello = Vec::new();
        stdout.read_until(b'\n', &mut hello).unwrap();
        let mut response = Vec::new();
        if !input.is_empty() {
            stdin.write_all(input).unwrap();
            stdin.flush().unwrap();
            stdout.read_until(b'\n', &mut response).unwrap();
        }
        drop(stdin);
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        let status = child.lock().unwrap().wait().unwrap();
        let _ = done.send(());
        if !input.is_empty() {
            assert_eq!(
                response.pop(),
                Some(b'\n'),
                "the response line must end with a newline: {:?}",
                String::from_utf8_lossy(&response)
            );
        }
        Outcome {
            hello,
            response: String::from_utf8(response).expect("the response is UTF-8"),
            rest,
            stderr: stderr.join().unwrap(),
            status,
        }
    }

    /// `send` of one request line, asserting the protocol frame around the answer.
    fn request(&self, bin: &str, line: &str) -> Outcome {
        let outcome = self.send(bin, format!("{line}\n").as_bytes());
        assert_eq!(outcome.hello, HELLO, "hello of {bin}");
        assert!(
            outcome.status.success(),
            "{bin} exited with {}",
            outcome.status
        );
        assert!(
            outcome.rest.is_empty(),
            "stdout after the response: {:?}",
            String::from_utf8_lossy(&outcome.rest)
        );
        outcome
    }
}

/// Kills the child if `DEADLINE` passes before the returned sender fires, so that a hung
/// provider fails the test instead of blocking it (reads then see EOF).
fn watchdog(child: Child) -> (Arc<Mutex<Child>>, mpsc::Sender<()>) {
    let child = Arc::new(Mutex::new(child));
    let (done, finished) = mpsc::channel::<()>();
    let watched = Arc::clone(&child);
    thread::spawn(move || {
        if finished.recv_timeout(DEADLINE) == Err(mpsc::RecvTimeoutError::Timeout) {
            let _ = watched.lock().unwrap().kill();
        }
    });
    (child, done)
}

fn get(url: &str, operation: &str) -> String {
    let fields = match operation {
        "read" => String::new(),
        "publish" => {
            format!(r#","name":"foo","vers":"0.1.0","cksum":"{CKSUM}""#)
        }
        "yank" | "unyank" => r#","name":"foo","vers":"0.1.0""#.into(),
        "owners" => r#","name":"foo""#.into(),
        other => format!(r#","name":"{other}""#),
    };
    format!(
        r#"{{"v":1,"registry":{{"index-url":"{url}","name":"alt"}},"kind":"get","operation":"{operation}"{fields}}}"#
    )
}

fn login(url: &str, token: Option<&str>, args: &[&str]) -> String {
    let token = token
        .map(|t| format!(r#""token":{},"#, serde_json::to_string(t).unwrap()))
        .unwrap_or_default();
    let args = serde_json::to_string(args).unwrap();
    format!(
        r#"{{"v":1,"registry":{{"index-url":"{url}","name":"alt"}},"kind":"login",{token}"login-url":"http://127.0.0.1:1/me","args":{args}}}"#
    )
}

fn logout(url: &str) -> String {
    format!(r#"{{"v":1,"registry":{{"index-url":"{url}","name":"alt"}},"kind":"logout"}}"#)
}

const URL: &str = "sparse+http://127.0.0.1:38517/index/";
const CKSUM: &str = "de332f9f442127453c1325347a1c83c024a814eadc737e9a8ad273b94938bcff";
const OPERATIONS: [&str; 5] = ["read", "publish", "yank", "unyank", "owners"];

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn hello_is_exact_and_eof_exits_zero() {
    let sandbox = Sandbox::new();
    for bin in [TOKEN, PASETO] {
        let outcome = sandbox.send(bin, b"");
        assert_eq!(outcome.hello, HELLO);
        assert!(outcome.rest.is_empty(), "{outcome:?}");
        assert!(outcome.status.success(), "{outcome:?}");
    }
}

#[test]
fn token_store_login_get_logout() {
    let sandbox = Sandbox::new();
    let t = |line: &str| sandbox.request(TOKEN, line).response;
    assert_eq!(t(&get(URL, "read")), NOT_FOUND);
    assert_eq!(t(&logout(URL)), NOT_FOUND);
    assert_eq!(t(&login(URL, Some("s3krit"), &[])), LOGIN_OK);
    for operation in OPERATIONS {
        assert_eq!(
            t(&get(URL, operation)),
            r#"{"Ok":{"kind":"get","token":"s3krit","cache":"session","operation_independent":true}}"#,
            "{operation}"
        );
    }
    assert_eq!(t(&get("https://other/", "read")), NOT_FOUND);
    let file = sandbox
        .data_home()
        .join("credlab-token-provider/tokens.json");
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    assert_eq!(t(&logout(URL)), LOGOUT_OK);
    assert_eq!(t(&get(URL, "read")), NOT_FOUND);
    assert_eq!(t(&logout(URL)), NOT_FOUND);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), "{}");
}

#[test]
fn token_store_handles_json_escapes() {
    let sandbox = Sandbox::new();
    let escaped_login = r#"{"v":1,"registry":{"index-url":"https:\/\/reg\/","name":"alt"},"kind":"login","token":"a\"b\\c é"}"#;
    assert_eq!(sandbox.request(TOKEN, escaped_login).response, LOGIN_OK);
    let outcome = sandbox.request(TOKEN, &get("https://reg/", "read"));
    assert_eq!(outcome.token().0, "a\"b\\c é");
    assert_eq!(
        outcome.response,
        r#"{"Ok":{"kind":"get","token":"a\"b\\c é","cache":"session","operation_independent":true}}"#
    );
    let escaped_get = r#"{"v":1,"registry":{"index-url":"https:\/\/reg\/"},"kind":"get","operation":"owners","name":"f\u006fo"}"#;
    assert_eq!(sandbox.request(TOKEN, escaped_get).token().0, "a\"b\\c é");
}

#[test]
fn token_store_login_without_token_refuses_without_blocking() {
    let sandbox = Sandbox::new();
    // Stdin stays open until the answer has been read, as with Cargo.
    let outcome = sandbox.request(TOKEN, &login(URL, None, &[]));
    assert!(
        outcome.other_message().starts_with("no token given"),
        "{outcome:?}"
    );
    assert_eq!(
        sandbox.request(TOKEN, &get(URL, "read")).response,
        NOT_FOUND
    );
}

#[test]
fn token_store_only_url_and_unknown_args() {
    let sandbox = Sandbox::new();
    let only = [
        "--only-url",
        "https://a.example/",
        "--only-url=sparse+http://127.0.0.1",
    ];
    assert_eq!(
        sandbox
            .request(TOKEN, &login(URL, Some("tok"), &only))
            .response,
        LOGIN_OK
    );
    let with_args = |line: String, args: &[&str]| {
        let line = line.strip_suffix('}').unwrap();
        format!("{line},\"args\":{}}}", serde_json::to_string(args).unwrap())
    };
    let outcome = sandbox.request(TOKEN, &with_args(get(URL, "read"), &only));
    assert_eq!(outcome.token().0, "tok");
    let outcome = sandbox.request(TOKEN, &with_args(get("https://b.example/", "read"), &only));
    assert_eq!(outcome.response, URL_NOT_SUPPORTED);
    let outcome = sandbox.request(TOKEN, &login("https://b.example/", Some("x"), &only));
    assert_eq!(outcome.response, URL_NOT_SUPPORTED);
    let outcome = sandbox.request(TOKEN, &with_args(logout(URL), &["--definitely-unknown"]));
    let message = outcome.other_message();
    assert!(
        message.starts_with("unknown argument `--definitely-unknown`"),
        "{message}"
    );
}

#[test]
fn unknown_kind_and_operation_are_not_supported() {
    let sandbox = Sandbox::new();
    assert_eq!(
        sandbox.request(TOKEN, &login(URL, Some("t"), &[])).response,
        LOGIN_OK
    );
    assert_eq!(
        sandbox.request(PASETO, &login(URL, None, &[])).response,
        LOGIN_OK
    );
    let lines = [
        format!(r#"{{"v":1,"registry":{{"index-url":"{URL}"}},"kind":"refresh"}}"#),
        format!(r#"{{"v":1,"registry":{{"index-url":"{URL}"}},"kind":"GET","operation":"read"}}"#),
        format!(
            r#"{{"v":1,"registry":{{"index-url":"{URL}"}},"kind":"get","operation":"frobnicate","x":1}}"#
        ),
    ];
    for bin in [TOKEN, PASETO] {
        for line in &lines {
            assert_eq!(
                sandbox.request(bin, line).response,
                NOT_SUPPORTED,
                "{bin} {line}"
            );
        }
    }
}

#[test]
fn malformed_input_gets_err_other_then_exit_zero() {
    let sandbox = Sandbox::new();
    for bin in [TOKEN, PASETO] {
        let v2 = get(URL, "read").replace(r#""v":1"#, r#""v":2"#);
        assert_eq!(
            sandbox.request(bin, &v2).response,
            r#"{"Err":{"kind":"other","message":"unsupported protocol version 2","caused-by":[]}}"#
        );
        // The line after a bad one is never read, as with the reference library.
        let garbage = format!("hello world\n{}\n", get(URL, "read"));
        let outcome = sandbox.send(bin, garbage.as_bytes());
        assert_eq!(
            outcome.response,
            r#"{"Err":{"kind":"other","message":"expected value at line 1 column 1","caused-by":[]}}"#
        );
        assert!(outcome.rest.is_empty(), "{outcome:?}");
        assert!(outcome.status.success());
        let mut invalid = logout(URL).into_bytes();
        invalid.splice(33..33, [0xff, 0xfe]); // inside the index URL
        invalid.push(b'\n');
        let outcome = sandbox.send(bin, &invalid);
        assert_eq!(
            outcome.response,
            r#"{"Err":{"kind":"other","message":"stream did not contain valid UTF-8","caused-by":[]}}"#
        );
        assert!(
            outcome.rest.is_empty() && outcome.status.success(),
            "{outcome:?}"
        );
    }
}

/// The public key a paseto login printed on stderr.
fn printed_public_key(outcome: &Outcome) -> String {
    let keys: Vec<&str> = outcome
        .stderr
        .lines()
        .filter(|line| line.starts_with("k3.public."))
        .collect();
    assert_eq!(keys.len(), 1, "stderr: {}", outcome.stderr);
    keys[0].to_string()
}

fn operation(name: &str) -> Operation {
    let krate = || "foo".to_string();
    let vers = || "0.1.0".to_string();
    match name {
        "read" => Operation::Read,
        "publish" => Operation::Publish {
            name: krate(),
            vers: vers(),
            cksum: CKSUM.into(),
        },
        "yank" => Operation::Yank {
            name: krate(),
            vers: vers(),
        },
        "unyank" => Operation::Unyank {
            name: krate(),
            vers: vers(),
        },
        "owners" => Operation::Owners { name: krate() },
        other => panic!("no operation {other}"),
    }
}

/// Gets a token for every operation and checks it verifies for exactly that request, under
/// `public` with `subject`, and for no other operation.
fn assert_tokens_verify(sandbox: &Sandbox, index_url: &str, public: &str, subject: Option<&str>) {
    let mut keys = KeyStore::new();
    keys.insert_paserk(public, subject.map(str::to_string))
        .unwrap();
    let verifier = Verifier::new(keys);
    for name in OPERATIONS {
        let outcome = sandbox.request(PASETO, &get(index_url, name));
        let (token, cache, operation_independent) = outcome.token();
        assert!(token.starts_with("v3.public."), "{token}");
        let expected_cache = if name == "read" {
            CacheControl::Session
        } else {
            CacheControl::Never
        };
        assert_eq!(cache, expected_cache, "{name}");
        assert!(!operation_independent, "{name}");
        let request = Request::new(index_url, operation(name));
        let verified = verifier
            .verify(&token, &request, OffsetDateTime::now_utc())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(verified.claims.sub.as_deref(), subject);
        let wrong = if name == "yank" { "unyank" } else { "yank" };
        let wrong = Request::new(index_url, operation(wrong));
        assert!(
            verifier
                .verify(&token, &wrong, OffsetDateTime::now_utc())
                .is_err(),
            "{name}"
        );
    }
}

#[test]
fn paseto_generated_key_signs_every_operation() {
    let sandbox = Sandbox::new();
    assert_eq!(
        sandbox.request(PASETO, &get(URL, "read")).response,
        NOT_FOUND
    );
    let outcome = sandbox.request(PASETO, &login(URL, None, &[]));
    assert_eq!(outcome.response, LOGIN_OK);
    let public = printed_public_key(&outcome);
    let file = sandbox
        .config_home()
        .join("credlab-paseto-provider/keys.json");
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let secret = stored[URL]["secret"].as_str().unwrap();
    assert!(secret.starts_with("k3.secret."));
    assert_eq!(
        SecretKey::from_paserk(secret)
            .unwrap()
            .public_key()
            .to_paserk(),
        public
    );
    assert!(
        !outcome.stderr.contains(&secret[10..]),
        "the secret key was printed"
    );
    assert_tokens_verify(&sandbox, URL, &public, None);

    assert_eq!(
        sandbox
            .request(PASETO, &get("sparse+http://127.0.0.1:1/other/", "read"))
            .response,
        NOT_FOUND
    );
    assert_eq!(sandbox.request(PASETO, &logout(URL)).response, LOGOUT_OK);
    assert_eq!(
        sandbox.request(PASETO, &get(URL, "read")).response,
        NOT_FOUND
    );
    assert_eq!(sandbox.request(PASETO, &logout(URL)).response, NOT_FOUND);
}

#[test]
fn paseto_login_with_a_secret_key_and_subject() {
    let sandbox = Sandbox::new();
    let key = SecretKey::generate();
    let public = key.public_key().to_paserk().to_string();
    let secret = key.expose_paserk();
    let outcome = sandbox.request(
        PASETO,
        &login(URL, Some(&secret), &["--key-subject=credlab-user"]),
    );
    assert_eq!(outcome.response, LOGIN_OK);
    assert_eq!(printed_public_key(&outcome), public);
    assert!(
        !outcome.stderr.contains(&secret[10..]),
        "the secret key was printed"
    );
    assert_tokens_verify(&sandbox, URL, &public, Some("credlab-user"));
    // A later login without --key-subject keeps the subject; escapes in index-url work.
    let escaped_url = URL.replace('/', "\\/");
    let relogin = format!(
        r#"{{"v":1,"registry":{{"index-url":"{escaped_url}"}},"kind":"login","token":"{secret}"}}"#
    );
    assert_eq!(sandbox.request(PASETO, &relogin).response, LOGIN_OK);
    assert_tokens_verify(&sandbox, URL, &public, Some("credlab-user"));
}

#[test]
fn paseto_login_refuses_a_non_paserk_token() {
    let sandbox = Sandbox::new();
    for token in [
        "s3krit",
        "k3.public.AmDwjlyf8jAV3gm5Z7Kz9xAOcsKslt_Vwp5v-emjFzBHLCtcANzTaVEghTNEMj9PkQ",
        "k3.secret.bm90LWEta2V5",
    ] {
        let outcome = sandbox.request(PASETO, &login(URL, Some(token), &[]));
        assert_eq!(
            outcome.other_message(),
            "not a validly formatted PASERK secret key"
        );
        assert!(
            !outcome.response.contains("bm90LWEta2V5"),
            "{}",
            outcome.response
        );
        assert!(!outcome.stderr.contains("k3.public."), "{}", outcome.stderr);
    }
    assert_eq!(
        sandbox.request(PASETO, &get(URL, "read")).response,
        NOT_FOUND
    );
    let outcome = sandbox.request(PASETO, &login(URL, None, &["--key-subject"]));
    assert_eq!(outcome.other_message(), "`--key-subject` needs a value");
}
