//! The provider side of Cargo's credential protocol, driving a [`Credential`].
//!
//! It behaves like `cargo_credential::main` (lib.rs:232-276) with two fixes:
//! - requests are parsed into owned mirror types ([`super::request`]), so JSON escapes work
//!   (`"https:\/\/…"`, `"a\"b"`; the reference library fails them, rust-lang/cargo#13615),
//!   and then lent to the [`Credential`] as `cargo-credential`'s own borrowed types;
//! - stdin and stdout are never re-attached to the terminal: a provider must not prompt.
//!
//! Framing: hello `{"v":[1]}\n`; then, one line at a time, read a request (never past its
//! `\n`), answer with one serialized `Result<CredentialResponse, Error>` line, flush. EOF
//! ends the loop. A line that cannot be read or parsed, or has `v` ≠ 1, is answered with
//! `{"Err":{"kind":"other",…}}` and ends the loop, like the reference library: later lines
//! are never read. The caller always exits 0.

use std::io::{self, BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use cargo_credential::{
    Credential, CredentialHello, CredentialRequest, CredentialResponse, Error, PROTOCOL_VERSION_1,
};
use serde::Serialize;

use super::request::{self, BoxError};

/// Serves `credential` on this process's stdin/stdout. Diagnostics go to stderr.
pub fn run(credential: &(impl Credential + ?Sized)) {
    let mut input = io::stdin().lock();
    let mut output = io::stdout().lock();
    if let Err(e) = serve(credential, &mut input, &mut output) {
        eprintln!("credential provider: cannot write to stdout: {e}");
    }
}

/// The protocol loop over any line source and sink. Returns an error only when `output`
/// fails (nothing more can be said then).
pub fn serve(
    credential: &(impl Credential + ?Sized),
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> io::Result<()> {
    let hello = CredentialHello {
        v: vec![PROTOCOL_VERSION_1],
    };
    write_line(output, &hello)?;
    loop {
        let request = match read_line(input).and_then(|line| line.map(request::parse).transpose()) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(e) => {
                let fatal: Result<CredentialResponse, Error> = Err(Error::Other(e));
                return write_line(output, &fatal);
            }
        };
        let response = perform(credential, &request.as_borrowed());
        write_line(output, &response)?;
    }
}

/// One request line including its `\n` (none at EOF), as `BufRead::read_line` gives it.
fn read_line(input: &mut impl BufRead) -> Result<Option<String>, BoxError> {
    let mut bytes = Vec::new();
    if input.read_until(b'\n', &mut bytes)? == 0 {
        return Ok(None);
    }
    String::from_utf8(bytes).map(Some).map_err(|_| {
        // The exact error `read_line` gives, so the answer matches the reference library.
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
        .into()
    })
}

fn perform(
    credential: &(impl Credential + ?Sized),
    request: &CredentialRequest<'_>,
) -> Result<CredentialResponse, Error> {
    let call = || credential.perform(&request.registry, &request.action, &request.args);
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::from(format!(
            "the credential provider panicked: {what}"
        )))
    })
}

fn write_line(output: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    output.write_all(&line)?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cargo_credential::{Action, Operation, RegistryInfo, Secret};

    struct Echo;
    impl Credential for Echo {
        fn perform(
            &self,
            registry: &RegistryInfo<'_>,
            action: &Action<'_>,
            _args: &[&str],
        ) -> Result<CredentialResponse, Error> {
            match action {
                Action::Get(Operation::Read) => Ok(CredentialResponse::Get {
                    token: Secret::from(registry.index_url.to_string()),
                    cache: cargo_credential::CacheControl::Session,
                    operation_independent: true,
                }),
                Action::Logout => panic!("boom"),
                _ => Err(Error::OperationNotSupported),
            }
        }
    }

    fn transcript(input: &[u8]) -> String {
        let mut output = Vec::new();
        serve(&Echo, &mut &input[..], &mut output).unwrap();
        String::from_utf8(output).unwrap()
    }

    #[test]
    fn loop_answers_line_by_line_and_stops_at_the_first_bad_line() {
        let get =
            r#"{"v":1,"registry":{"index-url":"https:\/\/r\/"},"kind":"get","operation":"read"}"#;
        let input = format!(
            "{get}\n{{\"v\":1,\"registry\":{{\"index-url\":\"u\"}},\"kind\":\"nope\"}}\nhello world\n{get}\n"
        );
        assert_eq!(
            transcript(input.as_bytes()),
            concat!(
                "{\"v\":[1]}\n",
                "{\"Ok\":{\"kind\":\"get\",\"token\":\"https://r/\",\"cache\":\"session\",\"operation_independent\":true}}\n",
                "{\"Err\":{\"kind\":\"operation-not-supported\"}}\n",
                "{\"Err\":{\"kind\":\"other\",\"message\":\"expected value at line 1 column 1\",\"caused-by\":[]}}\n",
            )
        );
        assert_eq!(transcript(b""), "{\"v\":[1]}\n");
        // No trailing newline: the partial line is still a request.
        assert!(transcript(get.as_bytes()).contains("\"token\":\"https://r/\""));
        assert_eq!(
            transcript(b"{\"v\":1,\"registry\":{\"index-url\":\"\xff\"},\"kind\":\"logout\"}\n"),
            "{\"v\":[1]}\n{\"Err\":{\"kind\":\"other\",\"message\":\"stream did not contain valid UTF-8\",\"caused-by\":[]}}\n"
        );
    }

    #[test]
    fn a_panicking_provider_still_answers() {
        let out = transcript(b"{\"v\":1,\"registry\":{\"index-url\":\"u\"},\"kind\":\"logout\"}\n");
        assert!(
            out.ends_with("{\"Err\":{\"kind\":\"other\",\"message\":\"the credential provider panicked: boom\",\"caused-by\":[]}}\n"),
            "{out}"
        );
    }
}
