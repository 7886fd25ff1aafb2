//! Secrets in a provider's output: the leak RFC 3231 was written to prevent.
//!
//! RFC 3231 (Motivation) starts from plaintext tokens that "can be compromised by
//! (accidentally or by an exploited vulnerability) logging the tokens". Cargo hands a
//! provider's stderr to the user's terminal untouched (it does not redirect it,
//! cargo src/util/credential/process.rs:93-114 at af373f76), which in CI is the build log, and
//! it prints the message and causes of an `Err` answer (src/util/auth/mod.rs). So a secret a
//! provider writes anywhere but the `token` of a `get` answer ends up in a log.
//!
//! [`leaks`] reads one exchange against the run's secret register; [`judge_check`] turns the
//! leaks of a case's own steps, and those the runner saw in every other exchange of the run,
//! into an outcome for one of the `provider::secrets` checks.

use serde_json::Value;

use super::Outcome;
use crate::cases::provider::Check;
use crate::provider::{LineRead, Transcript};
use crate::redact::{Found, SecretKind, Secrets};

/// Where in an exchange a secret appeared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The provider's stderr (Cargo's terminal, the CI log).
    Stderr,
    /// The hello line.
    Hello,
    /// The response line, outside the `token` of an `Ok` get answer (an `Err` message or
    /// cause, which Cargo prints; any other field).
    Response,
    /// Stdout after the response.
    AfterResponse,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::Stderr => "stderr",
            Channel::Hello => "the hello line",
            Channel::Response => "the response outside its token field",
            Channel::AfterResponse => "stdout after the response",
        }
    }
}

/// One secret seen where it does not belong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub channel: Channel,
    pub kind: SecretKind,
    /// The secret's placeholder label (never the secret).
    pub label: String,
    pub whole: bool,
}

/// A leak and the exchange it was seen in (`provider::get::read step 1`, `probe login`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakAt {
    pub place: String,
    pub leak: Leak,
}

fn line_bytes(line: &LineRead) -> &[u8] {
    match line {
        LineRead::Line { bytes } | LineRead::Eof { bytes } | LineRead::TimedOut { bytes } => bytes,
        LineRead::TooLong { prefix, .. } => prefix,
        LineRead::NotRead => &[],
    }
}

/// The response with the token of an `Ok` get answer taken out: the one place a secret may be.
fn response_without_token(bytes: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) => {
            if let Some(token) = value.pointer_mut("/Ok/token")
                && token.is_string()
            {
                *token = Value::String(String::new());
            }
            value.to_string().into_bytes()
        }
        Err(_) => bytes.to_vec(),
    }
}

/// Every secret of `secrets` in one exchange, outside the token field.
pub fn leaks(t: &Transcript, secrets: &Secrets) -> Vec<Leak> {
    if secrets.is_empty() {
        return Vec::new();
    }
    let seen = |channel: Channel, bytes: &[u8]| -> Vec<Leak> {
        secrets
            .find(bytes)
            .into_iter()
            .map(
                |Found {
                     kind, label, whole, ..
                 }| Leak {
                    channel,
                    kind,
                    label,
                    whole,
                },
            )
            .collect()
    };
    let mut out = seen(Channel::Stderr, &t.stderr.bytes);
    out.extend(seen(Channel::Hello, line_bytes(&t.hello)));
    out.extend(seen(
        Channel::Response,
        &response_without_token(line_bytes(&t.response)),
    ));
    out.extend(seen(Channel::AfterResponse, &t.trailing_stdout.bytes));
    out
}

/// Whether `check` is about this leak.
fn concerns(check: Check, leak: &Leak) -> bool {
    match check {
        Check::LoginTokenNotLogged => {
            leak.whole
                && leak.channel == Channel::Stderr
                && matches!(leak.kind, SecretKind::LoginKey | SecretKind::StoredToken)
        }
        Check::ReturnedTokensNotLogged => {
            leak.whole && leak.channel == Channel::Stderr && leak.kind == SecretKind::ProviderToken
        }
        Check::SecretsOnlyInTokenField => leak.whole && leak.channel != Channel::Stderr,
        Check::NoSecretFragments => !leak.whole,
        _ => false,
    }
}

fn expected(check: Check) -> &'static str {
    match check {
        Check::LoginTokenNotLogged => {
            "the login token never on stderr (Cargo shows a provider's stderr in the terminal and the CI log)"
        }
        Check::ReturnedTokensNotLogged => {
            "no token the provider returned on stderr (Cargo shows a provider's stderr in the terminal and the CI log)"
        }
        Check::SecretsOnlyInTokenField => {
            "secrets only in the `token` of a get answer: not in the hello, an Err message or cause (Cargo prints them), or other stdout"
        }
        Check::NoSecretFragments => {
            "no part of a secret (16 or more of its characters) on stderr or outside the token field"
        }
        _ => "no secret where it does not belong",
    }
}

/// Whether a check looks at every exchange of the run, not only the case's own steps.
pub fn is_run_wide(check: Check) -> bool {
    matches!(
        check,
        Check::LoginTokenNotLogged
            | Check::ReturnedTokensNotLogged
            | Check::SecretsOnlyInTokenField
            | Check::NoSecretFragments
            | Check::NoProcessesLeft
    )
}

fn describe(place: &str, leak: &Leak) -> String {
    format!(
        "{place} wrote {} {} ({}) on {}",
        if leak.whole { "the whole" } else { "a part of" },
        match leak.kind {
            SecretKind::LoginKey => "login token / secret key",
            SecretKind::ProviderToken => "token it returned",
            SecretKind::SignedToken => "token credlab signed",
            SecretKind::StoredToken => "stored token",
        },
        leak.label,
        leak.channel.as_str()
    )
}

/// Judges one secrets check: the case's own steps (`own`: step index and its leaks) first,
/// then the rest of the run.
pub fn judge_check(check: Check, own: &[Vec<Leak>], elsewhere: &[LeakAt]) -> Result<(), Outcome> {
    let own = own.iter().enumerate().flat_map(|(i, leaks)| {
        leaks
            .iter()
            .map(move |leak| (format!("step {}", i + 1), leak))
    });
    let rest = elsewhere.iter().map(|l| (l.place.clone(), &l.leak));
    let mut hits = own.chain(rest).filter(|(_, leak)| concerns(check, leak));
    match hits.next() {
        None => Ok(()),
        Some((place, leak)) => {
            let more = hits.count();
            let mut found = describe(&place, leak);
            if more > 0 {
                found.push_str(&format!(", and {more} more such leak(s) in the run"));
            }
            Err(Outcome::fail(expected(check), found))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Capture, ExitObservation};
    use std::time::Duration;

    fn transcript(response: &str, stderr: &str) -> Transcript {
        Transcript {
            argv: vec!["--cargo-plugin".into()],
            hello: LineRead::Line {
                bytes: br#"{"v":[1]}"#.to_vec(),
            },
            written: 0,
            write_error: None,
            response: LineRead::Line {
                bytes: response.as_bytes().to_vec(),
            },
            trailing_stdout: Capture::default(),
            stderr: Capture {
                bytes: stderr.as_bytes().to_vec(),
                total: stderr.len() as u64,
            },
            exit: ExitObservation::Exited { code: 0 },
            leftover: 0,
            leftover_processes: Vec::new(),
            hello_after: Duration::ZERO,
            response_after: Duration::ZERO,
            elapsed: Duration::ZERO,
        }
    }

    const KEY: &str = "k3.secret.fNYVuMvBgOlljt9TDohnaYLblghqaHoQquVZwgR6X12cBFHZLFsaU3q7X3k1Zn36";

    fn secrets() -> Secrets {
        let s = Secrets::new();
        s.add(SecretKind::LoginKey, "login-token", KEY);
        s
    }

    #[test]
    fn the_token_field_is_the_one_place() {
        let ok = format!(
            r#"{{"Ok":{{"kind":"get","token":"{KEY}","cache":"session","operation_independent":true}}}}"#
        );
        assert!(leaks(&transcript(&ok, ""), &secrets()).is_empty());
        let err = format!(r#"{{"Err":{{"kind":"other","message":"bad token {KEY}"}}}}"#);
        let found = leaks(&transcript(&err, ""), &secrets());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].channel, Channel::Response);
        assert!(found[0].whole);
        assert!(
            judge_check(
                Check::SecretsOnlyInTokenField,
                std::slice::from_ref(&found),
                &[]
            )
            .is_err()
        );
        assert!(judge_check(Check::LoginTokenNotLogged, &[found], &[]).is_ok());
    }

    #[test]
    fn stderr_whole_and_fragments() {
        let whole = leaks(&transcript("{}", &format!("storing {KEY}\n")), &secrets());
        let outcome = judge_check(
            Check::LoginTokenNotLogged,
            std::slice::from_ref(&whole),
            &[],
        );
        let Err(Outcome::Fail { found, .. }) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(found.contains("step 1 wrote the whole"), "{found}");
        assert!(!found.contains(&KEY[10..26]), "{found}");
        assert!(judge_check(Check::NoSecretFragments, &[whole], &[]).is_ok());
        let part = leaks(
            &transcript("{}", &format!("token {}…\n", &KEY[..30])),
            &secrets(),
        );
        assert!(judge_check(Check::LoginTokenNotLogged, std::slice::from_ref(&part), &[]).is_ok());
        assert!(judge_check(Check::NoSecretFragments, &[part], &[]).is_err());
    }

    #[test]
    fn the_rest_of_the_run_counts() {
        let elsewhere = vec![LeakAt {
            place: "provider::get::read step 1".into(),
            leak: Leak {
                channel: Channel::Stderr,
                kind: SecretKind::LoginKey,
                label: "login-token".into(),
                whole: true,
            },
        }];
        let outcome = judge_check(Check::LoginTokenNotLogged, &[Vec::new()], &elsewhere);
        let Err(Outcome::Fail { found, .. }) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(found.starts_with("provider::get::read step 1"), "{found}");
    }
}
