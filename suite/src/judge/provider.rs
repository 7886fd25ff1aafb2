//! Judging provider exchanges exactly as Cargo reads them: the hello and the response are
//! parsed with `cargo-credential`'s own types (Cargo's `process.rs` does the same), so credlab
//! accepts and rejects what Cargo accepts and rejects. Properties Cargo does not check but a
//! conforming provider must have are separate, named [`Check`]s.

use std::time::Duration;

use cargo_credential::{CacheControl, CredentialHello, CredentialResponse};
use serde_json::Value;
use time::OffsetDateTime;

use super::Outcome;
use crate::cases::provider::{Answer, Check, ExitRule, Feature, ProviderCase, ProviderExpect};
use crate::provider::{ExitObservation, LineRead, Phase, Transcript};
use crate::token::Operation;
use crate::verify::{KeyStore, Request, Verifier};

/// One step as it ran: the bytes sent and what came back.
#[derive(Debug, Clone)]
pub struct StepRecord {
    pub sent: Vec<u8>,
    pub transcript: Transcript,
    /// When the response arrived (the "now" for token freshness).
    pub at: OffsetDateTime,
}

/// What the judge needs beyond the transcripts.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The token the case's setup gave to `login`, decoded from its JSON.
    pub login_token: Option<String>,
    /// Keys PASETO tokens must verify under (the run's login key, `--public-key`), each with
    /// the subject on file.
    pub keys: KeyStore,
    /// No subject was given: accept whatever `sub` a token carries (users set
    /// `registry.secret-key-subject`, and a provider must not fail for it).
    pub any_subject: bool,
    /// The token the user says the provider holds for the case's registry (`--stored-token`):
    /// every token a `get` answers (but a PASETO one) must be exactly it.
    pub stored_token: Option<String>,
    /// The run's secret register (the login key, every token the provider returned).
    pub secrets: crate::redact::Secrets,
    /// Secrets seen out of place in the run's other exchanges (for the run-wide checks).
    pub elsewhere: Vec<super::secrets::LeakAt>,
    /// Processes the run's other exchanges left behind.
    pub leftovers_elsewhere: Vec<super::leftovers::LeftoverAt>,
}

/// A response line, parsed with Cargo's types.
#[derive(Debug, Clone)]
pub struct Response {
    pub answer: Answer,
    pub token: Option<String>,
    pub cache: Option<CacheControl>,
    pub operation_independent: Option<bool>,
    /// The message of an `Err` `other`.
    pub message: Option<String>,
}

/// Why Cargo cannot use a response line.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("stream did not contain valid UTF-8 (Cargo: failed to read response)")]
    NotUtf8,
    #[error("Cargo cannot parse it: {0}")]
    Unparsable(#[source] serde_json::Error),
    #[error("an Ok of a kind Cargo does not know (Cargo: unexpected response)")]
    UnknownOk,
    #[error("an Err kind Cargo does not know (Cargo: unknown error kind; try updating Cargo?)")]
    UnknownErr,
}

/// Parses a response line as Cargo does (`serde_json::from_str` of the line read).
pub fn parse_response(line: &[u8]) -> Result<Response, ResponseError> {
    let text = std::str::from_utf8(line).map_err(|_| ResponseError::NotUtf8)?;
    let parsed: Result<CredentialResponse, cargo_credential::Error> =
        serde_json::from_str(text).map_err(ResponseError::Unparsable)?;
    let mut response = Response {
        answer: Answer::NoAnswer,
        token: None,
        cache: None,
        operation_independent: None,
        message: None,
    };
    response.answer = match parsed {
        Ok(CredentialResponse::Get {
            token,
            cache,
            operation_independent,
        }) => {
            response.token = Some(token.expose());
            response.cache = Some(cache);
            response.operation_independent = Some(operation_independent);
            Answer::OkGet
        }
        Ok(CredentialResponse::Login) => Answer::OkLogin,
        Ok(CredentialResponse::Logout) => Answer::OkLogout,
        Ok(_) => return Err(ResponseError::UnknownOk),
        Err(cargo_credential::Error::UrlNotSupported) => Answer::ErrUrlNotSupported,
        Err(cargo_credential::Error::NotFound) => Answer::ErrNotFound,
        Err(cargo_credential::Error::OperationNotSupported) => Answer::ErrOperationNotSupported,
        Err(cargo_credential::Error::Other(e)) => {
            response.message = Some(e.to_string());
            Answer::ErrOther
        }
        Err(_) => return Err(ResponseError::UnknownErr),
    };
    Ok(response)
}

/// Shows bytes for a report: text when UTF-8, escaped, shortened.
pub fn show(bytes: &[u8]) -> String {
    const LIMIT: usize = 300;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)]);
    let mut shown = format!("{text:?}");
    if bytes.len() > LIMIT {
        shown.push_str(&format!(" … ({} bytes in all)", bytes.len()));
    }
    shown
}

fn hang(phase: &str, after: Duration) -> Outcome {
    Outcome::Hang {
        phase: phase.into(),
        after,
    }
}

/// The hello, judged as Cargo reads it.
fn judge_hello(t: &Transcript) -> Result<(), Outcome> {
    let expected = "a hello line Cargo parses, listing version 1 (e.g. {\"v\":[1]})";
    match &t.hello {
        LineRead::Line { bytes } => {
            let hello: CredentialHello = std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| serde_json::from_str(s).ok())
                .ok_or_else(|| Outcome::fail(expected, show(bytes)))?;
            if !hello.v.contains(&1) {
                return Err(Outcome::fail(
                    expected,
                    format!("versions {:?} (Cargo refuses them)", hello.v),
                ));
            }
            Ok(())
        }
        LineRead::TimedOut { bytes } if bytes.is_empty() => Err(hang("hello", t.hello_after)),
        LineRead::TimedOut { bytes } => Err(Outcome::fail(
            expected,
            format!("{} and no newline before the timeout", show(bytes)),
        )),
        LineRead::Eof { bytes } => Err(Outcome::fail(
            expected,
            format!(
                "stdout closed after {} ({})",
                show(bytes),
                exit_text(&t.exit)
            ),
        )),
        LineRead::TooLong { prefix, limit } => Err(Outcome::fail(
            expected,
            format!("a line over {limit} bytes starting {}", show(prefix)),
        )),
        LineRead::NotRead => Err(Outcome::Error {
            message: "the harness did not read the hello".into(),
        }),
    }
}

fn exit_text(exit: &ExitObservation) -> String {
    match exit {
        ExitObservation::Exited { code } => format!("exit status {code}"),
        ExitObservation::Signaled { signal } => format!("killed by signal {signal}"),
        ExitObservation::Killed { phase } => format!("still running at the {phase:?} deadline"),
    }
}

/// The response of a step that reads one: its parse, or why there is none.
fn judge_response(t: &Transcript) -> Result<Option<Response>, Outcome> {
    match &t.response {
        LineRead::Line { bytes } => parse_response(bytes).map(Some).map_err(|e| {
            Outcome::fail(
                "a response line Cargo parses",
                format!("{}: {e}", show(bytes)),
            )
        }),
        // Cargo's read_line returns the partial line at end of stream and parses it.
        LineRead::Eof { bytes } if !bytes.is_empty() => {
            parse_response(bytes).map(Some).map_err(|e| {
                Outcome::fail(
                    "a response line Cargo parses",
                    format!("{} then end of stream: {e}", show(bytes)),
                )
            })
        }
        LineRead::Eof { .. } => Ok(None),
        LineRead::TimedOut { bytes } if bytes.is_empty() => Err(hang("response", t.response_after)),
        LineRead::TimedOut { bytes } => Err(Outcome::fail(
            "a response ending in a newline",
            format!(
                "{} with no newline before the timeout (Cargo waits forever)",
                show(bytes)
            ),
        )),
        LineRead::TooLong { prefix, limit } => Err(Outcome::fail(
            "a response line",
            format!("a line over {limit} bytes starting {}", show(prefix)),
        )),
        LineRead::NotRead => Err(Outcome::Error {
            message: "the harness did not read the response".into(),
        }),
    }
}

fn judge_exit(t: &Transcript, rule: ExitRule) -> Result<(), Outcome> {
    if rule == ExitRule::Any {
        return Ok(());
    }
    match &t.exit {
        ExitObservation::Exited { code: 0 } => Ok(()),
        ExitObservation::Killed { phase: Phase::Exit } => Err(hang("exit", t.elapsed)),
        ExitObservation::Killed { phase } => {
            Err(hang(&format!("{phase:?}").to_lowercase(), t.elapsed))
        }
        other => Err(Outcome::fail(
            "exit status 0 once stdin is closed (Cargo discards the answer otherwise)",
            exit_text(other),
        )),
    }
}

/// The request a step's line describes, for binding checks.
fn request_of(sent: &[u8]) -> Option<Request> {
    let value: Value = serde_json::from_slice(sent).ok()?;
    let url = value
        .get("registry")?
        .get("index-url")?
        .as_str()?
        .to_string();
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
    // A request always names its operation ("read" included), unlike a token's `mutation`.
    let kind = value.get("operation")?.as_str()?;
    let operation = Operation::from_fields(Some(kind), field)?;
    Some(Request::new(url, operation))
}

fn check(
    check: Check,
    record: &StepRecord,
    response: &Response,
    ctx: &Context,
) -> Result<(), Outcome> {
    let token = response.token.as_deref();
    match check {
        Check::HelloExact
        | Check::ResponseNewline
        | Check::TokensDiffer
        | Check::LoginTokenNotLogged
        | Check::ReturnedTokensNotLogged
        | Check::SecretsOnlyInTokenField
        | Check::NoSecretFragments
        | Check::NoProcessesLeft => Ok(()),
        Check::TokenIsLoginToken => {
            let expected = ctx.login_token.as_deref().unwrap_or_default();
            if token == Some(expected) {
                Ok(())
            } else {
                // Both are credentials: shown by fingerprint only.
                Err(Outcome::fail(
                    format!(
                        "the token given to login ({})",
                        crate::redact::token(expected)
                    ),
                    format!(
                        "another token ({})",
                        crate::redact::token(token.unwrap_or_default())
                    ),
                ))
            }
        }
        Check::TokenHeaderSafe => {
            let t = token.unwrap_or_default();
            let safe = !t.is_empty() && crate::token::is_header_value(t);
            if safe {
                Ok(())
            } else {
                let bad: Vec<String> = t
                    .bytes()
                    .filter(|b| !crate::token::is_header_byte(*b))
                    .map(|b| format!("0x{b:02x}"))
                    .collect();
                Err(Outcome::fail(
                    "a non-empty token of visible ASCII",
                    format!(
                        "{} bytes, with [{}] ({})",
                        t.len(),
                        bad.join(" "),
                        crate::redact::token(t)
                    ),
                ))
            }
        }
        Check::CacheKnown => match &response.cache {
            Some(CacheControl::Never | CacheControl::Session | CacheControl::Expires { .. }) => {
                Ok(())
            }
            _ => Err(Outcome::fail(
                "cache never, session or expires",
                "a cache value Cargo does not know (treated as never)",
            )),
        },
        Check::ExpirationAhead => match &response.cache {
            Some(CacheControl::Expires { expiration })
                if *expiration <= record.at + time::Duration::minutes(1) =>
            {
                Err(Outcome::fail(
                    "an expiration more than a minute ahead",
                    format!(
                        "expiration {expiration}, {} s from now",
                        (*expiration - record.at).whole_seconds()
                    ),
                ))
            }
            _ => Ok(()),
        },
        Check::TokenVerifies => {
            let t = token.unwrap_or_default();
            if !t.starts_with("v3.public.") {
                return Err(Outcome::fail(
                    "a PASETO v3.public token",
                    show(t.as_bytes()),
                ));
            }
            let Some(request) = request_of(&record.sent) else {
                return Err(Outcome::Error {
                    message: "the step's request does not name an operation".into(),
                });
            };
            let keys = if ctx.any_subject {
                with_subject(&ctx.keys, token_subject(t).as_deref())
            } else {
                ctx.keys.clone()
            };
            Verifier::new(keys)
                .verify(t, &request, record.at)
                .map(|_| ())
                .map_err(|r| {
                    Outcome::fail(
                        format!(
                            "a token that verifies for {} at {:?}",
                            request.operation.kind().as_str(),
                            request.index_url
                        ),
                        format!("rejected: {r}"),
                    )
                })
        }
        Check::TokenIsThisRegistrys => {
            if token.is_some_and(|t| t.starts_with("v3.public.")) {
                self::check(Check::TokenVerifies, record, response, ctx)
            } else {
                self::check(Check::TokenIsLoginToken, record, response, ctx)
            }
        }
        Check::MutationNotCached => {
            let mutation =
                request_of(&record.sent).is_some_and(|r| r.operation.mutation().is_some());
            let never = matches!(response.cache, Some(CacheControl::Never));
            if !mutation || (never && response.operation_independent == Some(false)) {
                Ok(())
            } else {
                Err(Outcome::fail(
                    "cache never and operation_independent false for a mutation token",
                    format!(
                        "cache {:?}, operation_independent {:?}",
                        response.cache, response.operation_independent
                    ),
                ))
            }
        }
    }
}

/// The `sub` claim of a token, if it decodes and has one (before any verification: only to
/// know which subject to hold it to).
pub fn token_subject(token: &str) -> Option<String> {
    let decoded = crate::paseto::decode(token).ok()?;
    let claims: Value = serde_json::from_slice(decoded.payload()).ok()?;
    claims.get("sub")?.as_str().map(str::to_string)
}

/// The same keys, each with `subject` on file.
fn with_subject(keys: &KeyStore, subject: Option<&str>) -> KeyStore {
    let mut out = KeyStore::new();
    for record in keys.iter() {
        out.insert(record.key.clone(), subject.map(str::to_string));
    }
    out
}

/// Whether a get answer is a token made for this one mutation rather than a stored one: the
/// request is a publish, yank, unyank or owners, and the answer scopes the token to it
/// (`cache` never, `operation_independent` false), so Cargo uses it once and asks again. Such a
/// token is judged like a PASETO one, not against `--stored-token`: what a provider holds
/// (a CI job's identity) is not what it answers (e.g. cargo-credential-privatecrates 0.2.10
/// answers a publish in GitHub Actions with an OIDC token bound to the crate, version and
/// checksum, src/actions.rs:23-31). A read is always held to the stored token.
fn minted_for_the_request(record: &StepRecord, response: &Response) -> bool {
    matches!(response.cache, Some(CacheControl::Never))
        && response.operation_independent == Some(false)
        && request_of(&record.sent).is_some_and(|r| r.operation.mutation().is_some())
}

/// What a step may answer, as a failure says it: the conforming answers, and those the judge
/// takes as "not implemented" (reported as unimplemented, not failed), when there are any.
fn expected_answers(allowed: &[Answer], unimplemented: &[Answer]) -> String {
    let names = |answers: &[Answer]| {
        answers
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unimplemented: Vec<Answer> = unimplemented
        .iter()
        .copied()
        .filter(|a| !allowed.contains(a))
        .collect();
    if unimplemented.is_empty() {
        format!("one of {}", names(allowed))
    } else {
        format!(
            "one of {}, or {} (not implemented: reported as unimplemented)",
            names(allowed),
            names(&unimplemented)
        )
    }
}

/// Judges one step; returns its response (if any) for cross-step checks.
fn judge_step(
    expect: &ProviderExpect,
    allowed: &[Answer],
    read_response: bool,
    record: &StepRecord,
    ctx: &Context,
) -> Result<(Option<Response>, bool), Outcome> {
    let t = &record.transcript;
    judge_hello(t)?;
    if expect.checks.contains(&Check::HelloExact)
        && let LineRead::Line { bytes } = &t.hello
        && bytes != br#"{"v":[1]}"#
    {
        return Err(Outcome::fail(r#"{"v":[1]}"#, show(bytes)));
    }
    let mut unimplemented = false;
    let response = if read_response {
        let response = judge_response(t)?;
        let answer = response.as_ref().map_or(Answer::NoAnswer, |r| r.answer);
        if expect.unimplemented.contains(&answer) {
            unimplemented = true;
        } else if !allowed.contains(&answer) {
            let detail = response
                .as_ref()
                .and_then(|r| r.message.clone())
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            return Err(Outcome::fail(
                expected_answers(allowed, &expect.unimplemented),
                format!("{}{detail}", answer.as_str()),
            ));
        }
        if expect.checks.contains(&Check::ResponseNewline)
            && !matches!(t.response, LineRead::Line { .. })
        {
            return Err(Outcome::fail(
                "a response ending in a newline",
                "a response ended by end of stream",
            ));
        }
        response
    } else {
        None
    };
    judge_exit(t, expect.exit)?;
    if !t.trailing_stdout.is_empty() {
        return Err(Outcome::fail(
            "nothing on stdout after the response",
            format!(
                "{} more bytes: {}",
                t.trailing_stdout.total,
                show(&t.trailing_stdout.bytes)
            ),
        ));
    }
    if let (Some(r), false) = (&response, unimplemented)
        && r.answer == Answer::OkGet
    {
        if let (Some(stored), Some(token)) = (&ctx.stored_token, &r.token)
            && !token.starts_with("v3.public.")
            && !minted_for_the_request(record, r)
            && token != stored
        {
            return Err(Outcome::fail(
                format!(
                    "the token the provider holds ({}, --stored-token)",
                    crate::redact::token(stored)
                ),
                format!("another token ({})", crate::redact::token(token)),
            ));
        }
        for &c in &expect.checks {
            check(c, record, r, ctx)?;
        }
    }
    Ok((response, unimplemented))
}

/// Judges the steps of a case.
pub fn judge(
    expect: &ProviderExpect,
    read_response: &[bool],
    records: &[StepRecord],
    ctx: &Context,
) -> Outcome {
    // Secrets first: a leak is the point of these checks, whatever else the steps did.
    let secret_checks: Vec<Check> = expect
        .checks
        .iter()
        .copied()
        .filter(|c| super::secrets::is_run_wide(*c))
        .collect();
    if !secret_checks.is_empty() {
        let own: Vec<_> = records
            .iter()
            .map(|r| super::secrets::leaks(&r.transcript, &ctx.secrets))
            .collect();
        for &check in &secret_checks {
            let judged = if check == Check::NoProcessesLeft {
                let transcripts: Vec<_> = records.iter().map(|r| &r.transcript).collect();
                super::leftovers::judge_check(&transcripts, &ctx.leftovers_elsewhere)
            } else {
                super::secrets::judge_check(check, &own, &ctx.elsewhere)
            };
            if let Err(outcome) = judged {
                return outcome;
            }
        }
        // A case of only run-wide checks judges nothing else: the other groups judge the
        // protocol, and a provider must not fail a secrets case for a framing bug.
        if secret_checks.len() == expect.checks.len() {
            return Outcome::Pass;
        }
    }
    let mut tokens = Vec::new();
    let mut unimplemented = None;
    for (i, record) in records.iter().enumerate() {
        let allowed = expect.step_answers.get(i).unwrap_or(&expect.answers);
        let reads = read_response.get(i).copied().unwrap_or(true);
        match judge_step(expect, allowed, reads, record, ctx) {
            Ok((response, was_unimplemented)) => {
                if was_unimplemented {
                    // Later steps build on this one (a get after a login): nothing more to judge.
                    unimplemented = Some(i);
                    break;
                }
                tokens.extend(response.and_then(|r| r.token));
            }
            Err(outcome) if records.len() > 1 => return prefix_step(outcome, i),
            Err(outcome) => return outcome,
        }
    }
    if let Some(step) = unimplemented {
        return Outcome::Unimplemented {
            note: format!("step {} answered operation-not-supported", step + 1),
        };
    }
    if expect.checks.contains(&Check::TokensDiffer) {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = tokens.iter().find(|t| !seen.insert(*t)) {
            return Outcome::fail(
                "a different token for every mutation",
                format!("the same token twice: {}", crate::redact::token(dup)),
            );
        }
    }
    Outcome::Pass
}

fn prefix_step(outcome: Outcome, step: usize) -> Outcome {
    match outcome {
        Outcome::Fail { expected, found } => Outcome::Fail {
            expected: format!("step {}: {expected}", step + 1),
            found,
        },
        other => other,
    }
}

/// Why a setup step did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The hello, the response or the exit is not what Cargo needs.
    #[error("expected {expected}, found {found}")]
    Fail { expected: String, found: String },
    /// A phase timed out.
    #[error("hung at {phase}")]
    Hang { phase: String },
    /// Any other outcome of judging the step.
    #[error("{0}")]
    Other(Outcome),
    /// An answer other than `Ok`.
    #[error("answered {}{}", answer.as_str(), message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Answered {
        answer: Answer,
        message: Option<String>,
    },
    #[error("exited without answering")]
    NoAnswer,
}

impl From<Outcome> for SetupError {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Fail { expected, found } => SetupError::Fail { expected, found },
            Outcome::Hang { phase, .. } => SetupError::Hang { phase },
            other => SetupError::Other(other),
        }
    }
}

/// Judges a setup step: it must complete as Cargo would and answer `Ok`.
pub fn judge_setup(record: &StepRecord) -> Result<(), SetupError> {
    let t = &record.transcript;
    judge_hello(t)?;
    match judge_response(t)? {
        Some(r) if matches!(r.answer, Answer::OkGet | Answer::OkLogin | Answer::OkLogout) => {}
        Some(r) => {
            return Err(SetupError::Answered {
                answer: r.answer,
                message: r.message,
            });
        }
        None => return Err(SetupError::NoAnswer),
    }
    Ok(judge_exit(t, ExitRule::Zero)?)
}

/// The expectation of a case run at a registry the user did not name (the isolation cases'
/// other one, when `--stored-token` leaves no empty registry of the user's): wherever
/// not-found conforms, url-not-supported does too, since the provider need not serve that URL
/// (Cargo moves on to the next provider after either).
pub fn at_an_unnamed_registry(expect: &ProviderExpect) -> ProviderExpect {
    let widen = |answers: &[Answer]| {
        let mut answers = answers.to_vec();
        if answers.contains(&Answer::ErrNotFound) && !answers.contains(&Answer::ErrUrlNotSupported)
        {
            answers.push(Answer::ErrUrlNotSupported);
        }
        answers
    };
    ProviderExpect {
        answers: widen(&expect.answers),
        step_answers: expect.step_answers.iter().map(|a| widen(a)).collect(),
        ..expect.clone()
    }
}

/// Why `case` does not apply to a provider, given which features it has (`has`), if it does
/// not: the first feature it needs and lacks, and how a user could supply it.
pub fn inapplicable(case: &ProviderCase, has: impl Fn(Feature) -> bool) -> Option<String> {
    let missing = case.input.requires.iter().find(|f| !has(**f))?;
    let how = match missing {
        Feature::UnsupportedUrl => "give one with --unsupported-url",
        Feature::Login => {
            "the provider did not accept credlab's login (name what it holds with --stored-token)"
        }
        Feature::StoresTokens => "only for providers that store the login token",
        Feature::NoConfigArgs => {
            "the provider is given config arguments (--provider-arg), which `\"args\":[]` would drop"
        }
        Feature::EmptyRegistry => {
            "the provider holds a token (--stored-token) for the registry and for the other \
             registry of the isolation cases, so neither is ever empty"
        }
        Feature::GeneratesPaseto => "only for providers that answer PASETO tokens",
    };
    Some(format!("needs `{}` ({how})", missing.as_str()))
}

#[cfg(test)]
mod applicability_tests {
    use super::*;

    #[test]
    fn a_missing_feature_is_named_with_how_to_supply_it() {
        let case = crate::vectors::provider::provider_files()
            .into_iter()
            .flat_map(|f| f.cases)
            .find(|c| c.input.requires.contains(&Feature::UnsupportedUrl))
            .expect("a case needs an unsupported URL");
        assert_eq!(inapplicable(&case, |_| true), None);
        let reason = inapplicable(&case, |f| f != Feature::UnsupportedUrl).unwrap();
        assert!(reason.contains("--unsupported-url"), "{reason}");
    }
}

#[cfg(test)]
mod stored_token_tests {
    use super::*;
    use crate::provider::{Capture, ExitObservation};

    const STORED: &str = "pcr_the-read-token-the-ci-job-exchanges-for";

    fn record(request: &str, response: &str) -> StepRecord {
        StepRecord {
            sent: format!("{request}\n").into_bytes(),
            transcript: Transcript {
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
                stderr: Capture::default(),
                exit: ExitObservation::Exited { code: 0 },
                leftover: 0,
                leftover_processes: Vec::new(),
                hello_after: Duration::ZERO,
                response_after: Duration::ZERO,
                elapsed: Duration::ZERO,
            },
            at: OffsetDateTime::now_utc(),
        }
    }

    fn get(operation: &str) -> String {
        let fields = match operation {
            "publish" => {
                r#","name":"foo","vers":"0.1.0","cksum":"4c8102db20765174ff8e97a51c6995d1a9fb38b64352331fe5c3b6988f98ef56""#
            }
            "read" => "",
            _ => r#","name":"foo","vers":"0.1.0""#,
        };
        format!(
            r#"{{"v":1,"registry":{{"index-url":"sparse+https://r.test/index/"}},"kind":"get","operation":"{operation}"{fields}}}"#
        )
    }

    fn ok(token: &str, cache: &str, independent: bool) -> String {
        format!(
            r#"{{"Ok":{{"kind":"get","token":"{token}","cache":"{cache}","operation_independent":{independent}}}}}"#
        )
    }

    fn verdict(operation: &str, answer: &str) -> Outcome {
        let expect = ProviderExpect {
            answers: vec![Answer::OkGet],
            step_answers: Vec::new(),
            unimplemented: Vec::new(),
            checks: Vec::new(),
            exit: ExitRule::default(),
        };
        let ctx = Context {
            stored_token: Some(STORED.into()),
            ..Context::default()
        };
        judge(&expect, &[true], &[record(&get(operation), answer)], &ctx)
    }

    #[test]
    fn a_stored_token_is_what_every_get_must_answer() {
        for op in ["read", "publish", "yank", "owners"] {
            assert!(verdict(op, &ok(STORED, "session", true)).is_pass(), "{op}");
            let other = verdict(op, &ok("another-token", "session", true));
            assert!(matches!(other, Outcome::Fail { .. }), "{op}: {other:?}");
        }
    }

    #[test]
    fn a_token_made_for_one_mutation_is_not_held_to_the_stored_token() {
        // A CI provider answers a publish with a token bound to it (an OIDC token), scoped
        // to that one operation: not the stored token, and not a wrong one.
        let minted = ok("eyJhbGciOi.minted-for-this-publish.sig", "never", false);
        assert!(verdict("publish", &minted).is_pass());
        assert!(verdict("yank", &minted).is_pass());
        // Only when it says so: a token Cargo would reuse must be the stored one…
        for (cache, independent) in [("never", true), ("session", false)] {
            let reused = ok("eyJhbGciOi.minted-for-this-publish.sig", cache, independent);
            assert!(
                matches!(verdict("publish", &reused), Outcome::Fail { .. }),
                "{cache} {independent}"
            );
        }
        // …and a read is always held to it, however it is cached.
        assert!(matches!(verdict("read", &minted), Outcome::Fail { .. }));
    }
}

#[cfg(test)]
mod expected_answer_tests {
    use super::*;
    use crate::provider::{Capture, ExitObservation};

    fn case(id: &str) -> ProviderCase {
        crate::vectors::provider::provider_files()
            .into_iter()
            .flat_map(|f| f.cases)
            .find(|c| c.id.as_str() == id)
            .unwrap_or_else(|| panic!("no case {id}"))
    }

    fn answered(response: &str) -> StepRecord {
        StepRecord {
            sent: b"{}\n".to_vec(),
            transcript: Transcript {
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
                stderr: Capture::default(),
                exit: ExitObservation::Exited { code: 0 },
                leftover: 0,
                leftover_processes: Vec::new(),
                hello_after: Duration::ZERO,
                response_after: Duration::ZERO,
                elapsed: Duration::ZERO,
            },
            at: OffsetDateTime::now_utc(),
        }
    }

    const CANNOT_PARSE: &str = r#"{"Err":{"kind":"other","message":"invalid type: string \"a\\\"b\", expected a borrowed string"}}"#;

    /// A login that fails on the parse: the failure lists every answer the judge accepts,
    /// operation-not-supported (unimplemented) included.
    #[test]
    fn a_failure_names_the_unimplemented_answer_the_judge_also_accepts() {
        let escaped = case("provider::login::escaped-token");
        let reads = [true, true];
        let get = || {
            answered(
                r#"{"Ok":{"kind":"get","token":"t","cache":"never","operation_independent":true}}"#,
            )
        };
        let outcome = judge(
            &escaped.expect,
            &reads,
            &[answered(CANNOT_PARSE), get()],
            &Context::default(),
        );
        let Outcome::Fail { expected, found } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            expected,
            "step 1: one of ok-login, or err-operation-not-supported (not implemented: reported as unimplemented)"
        );
        assert!(found.starts_with("err-other"), "{found}");
        // And it is accepted, as it says.
        let unimplemented = judge(
            &escaped.expect,
            &reads,
            &[
                answered(r#"{"Err":{"kind":"operation-not-supported"}}"#),
                get(),
            ],
            &Context::default(),
        );
        assert!(
            matches!(unimplemented, Outcome::Unimplemented { .. }),
            "{unimplemented:?}"
        );
        // A case with no unimplemented answer says only what conforms.
        let not_found = case("provider::errors::not-found");
        let Outcome::Fail { expected, .. } = judge(
            &not_found.expect,
            &[true],
            &[answered(CANNOT_PARSE)],
            &Context::default(),
        ) else {
            panic!("not-found accepts err-other")
        };
        assert_eq!(expected, "one of err-not-found");
    }

    /// At a registry the user did not name, url-not-supported conforms wherever not-found does.
    #[test]
    fn at_an_unnamed_registry_url_not_supported_joins_not_found() {
        let url_not_supported = || answered(r#"{"Err":{"kind":"url-not-supported"}}"#);
        for id in [
            "provider::errors::not-found",
            "provider::errors::logout-nothing-stored",
        ] {
            let expect = case(id).expect;
            let ctx = Context::default();
            let here = judge(&expect, &[true], &[url_not_supported()], &ctx);
            assert!(matches!(here, Outcome::Fail { .. }), "{id}: {here:?}");
            let elsewhere = at_an_unnamed_registry(&expect);
            assert!(
                judge(&elsewhere, &[true], &[url_not_supported()], &ctx).is_pass(),
                "{id}"
            );
            // Nothing else changes: an Ok is still wrong.
            let ok = answered(r#"{"Ok":{"kind":"logout"}}"#);
            assert!(matches!(
                judge(&elsewhere, &[true], &[ok], &ctx),
                Outcome::Fail { .. }
            ));
            assert_eq!(elsewhere.unimplemented, expect.unimplemented);
        }
    }
}
