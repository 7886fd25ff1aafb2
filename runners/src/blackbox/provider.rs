//! Fuzzing a credential provider: each input is one Cargo-style exchange in a fresh sandbox
//! (hello, the input written as the request, one response line read, stdin closed, exit),
//! with the short per-phase deadline of [`FuzzOptions::timeout`].
//!
//! Stdin is closed the way the input allows: after the response (as Cargo does) when the
//! input ends with `\n`; right after the input when it does not (a provider reading a line
//! would otherwise wait forever for its end, which is not a bug: Cargo always sends one).
//!
//! What counts as a finding, in this order:
//! - [`FindingKind::Hang`]: credlab had to kill the provider at a deadline (no hello, request
//!   not read, no response line, no exit after stdin closed). Confirmed once with twice the
//!   deadline before it is reported, so a slow start is not a hang.
//! - [`FindingKind::Crash`]: killed by a signal, or exit status ≠ 0.
//! - [`FindingKind::Garbage`]: a hello Cargo refuses; a response line `cargo-credential`'s types
//!   cannot parse; stdout after the response that is not further answers (a provider may
//!   answer each request line, so at most one more answer per further line of input, each a
//!   complete line Cargo parses).
//! - [`FindingKind::OkOnGarbage`]: an `Ok` answer to a first line that neither
//!   `cargo-credential`'s request types nor their owned mirrors (which also take JSON escapes)
//!   parse with `v` = 1.
//!
//! An `Err` answer, or exiting without an answer, is fine for any input.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use cargo_credential::CredentialHello;
use credlab_suite::cases::provider::{Answer, Send};
use credlab_suite::cases::template::{Placeholder, Template};
use credlab_suite::judge::provider::{parse_response, show};
use credlab_suite::provider::{Exchange, ExitObservation, LineRead, Timeouts, Transcript};

pub use super::campaign::Observed;
use super::campaign::{Campaign, Deadline, FoundVector, Target};
use super::request::first_line;
pub use super::request::{close_for, request_parses};
use super::rng::Rng;
use super::{FindingKind, FuzzOptions, FuzzReport, found, mutate};
use crate::process::{ProviderCommand, SpawnError};
use crate::provider_run::Profile;

/// The request lines the provider vectors send, rendered with `profile`, without duplicates,
/// in the vectors' order (the fuzzer's seeds).
pub fn seeds(profile: &Profile) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut lines = Vec::new();
    for file in credlab_suite::vectors::embedded::provider_files() {
        for case in file.cases {
            for step in case.input.setup.iter().chain(&case.input.steps) {
                if let Send::Line { line, .. } = &step.send
                    && !Template::parse(line)
                        .placeholders()
                        .any(|p| p == Placeholder::HugeHeader)
                {
                    let rendered = profile.render(line);
                    if seen.insert(rendered.clone()) {
                        lines.push(rendered);
                    }
                }
            }
        }
    }
    lines
}

/// A login key derived from `seed` (SHA-384 of a label and the seed), so a run that is not
/// given a key renders the same seeds, hence sends the same inputs, every time. Test material
/// only: it is as public as the seed.
pub fn login_key_for_seed(seed: u64) -> credlab_suite::keys::SecretKey {
    use sha2::Digest;
    (0u32..)
        .find_map(|counter| {
            let mut hasher = sha2::Sha384::new();
            hasher.update(b"credlab fuzz login key");
            hasher.update(seed.to_le_bytes());
            hasher.update(counter.to_le_bytes());
            credlab_suite::keys::SecretKey::from_bytes(&hasher.finalize()).ok()
        })
        .expect("some counter gives a scalar in range")
}

/// The exchange one input runs as.
pub fn exchange(input: &[u8], timeout: Duration) -> Exchange {
    Exchange {
        request: Some(input.to_vec()),
        read_response: true,
        close_stdin: close_for(input),
        timeouts: Timeouts::uniform(timeout),
    }
}

fn observed(kind: FindingKind, signature: &str, detail: String) -> Option<Observed> {
    Some(Observed {
        kind,
        detail,
        signature: signature.to_string(),
    })
}

/// How many lines a provider reading line by line finds in `input`.
fn lines_in(input: &[u8]) -> usize {
    let complete = input.iter().filter(|b| **b == b'\n').count();
    complete + usize::from(!input.is_empty() && !input.ends_with(b"\n"))
}

/// Judges one exchange of `input` (see the module documentation).
pub fn classify(input: &[u8], t: &Transcript) -> Option<Observed> {
    match &t.exit {
        ExitObservation::Killed { phase } => {
            let what = match phase {
                credlab_suite::provider::Phase::Hello => "no hello line",
                credlab_suite::provider::Phase::Request => "the request was not read",
                credlab_suite::provider::Phase::Response => "no response line",
                credlab_suite::provider::Phase::Exit => "no exit after stdin was closed",
            };
            let name = phase.as_str();
            return observed(
                FindingKind::Hang,
                &format!("hang-{name}"),
                format!("still running at the {name} deadline: {what}"),
            );
        }
        ExitObservation::Signaled { signal } => {
            return observed(
                FindingKind::Crash,
                &format!("crash-signal-{signal}"),
                format!("killed by signal {signal}"),
            );
        }
        ExitObservation::Exited { code } if *code != 0 => {
            return observed(
                FindingKind::Crash,
                &format!("crash-exit-{code}"),
                format!("exit status {code}"),
            );
        }
        ExitObservation::Exited { .. } => {}
    }
    match &t.hello {
        LineRead::Line { bytes } => {
            let hello = std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| serde_json::from_str::<CredentialHello>(s).ok());
            if !hello.is_some_and(|h| h.v.contains(&1)) {
                return observed(
                    FindingKind::Garbage,
                    "garbage-hello",
                    format!("a hello Cargo refuses: {}", show(bytes)),
                );
            }
        }
        LineRead::Eof { bytes } => {
            return observed(
                FindingKind::Garbage,
                "garbage-no-hello",
                format!("stdout closed before a hello line ({})", show(bytes)),
            );
        }
        LineRead::TooLong { limit, .. } => {
            return observed(
                FindingKind::Garbage,
                "garbage-hello",
                format!("a hello line over {limit} bytes"),
            );
        }
        LineRead::TimedOut { .. } => {
            return observed(FindingKind::Hang, "hang-hello", "no hello line".into());
        }
        LineRead::NotRead => return None,
    }
    let response = match &t.response {
        LineRead::Line { bytes } => Some(bytes),
        LineRead::Eof { bytes } if !bytes.is_empty() => Some(bytes),
        LineRead::Eof { .. } | LineRead::NotRead => None,
        LineRead::TooLong { limit, .. } => {
            return observed(
                FindingKind::Garbage,
                "garbage-response",
                format!("a response line over {limit} bytes"),
            );
        }
        LineRead::TimedOut { .. } => {
            return observed(
                FindingKind::Hang,
                "hang-response",
                "no complete response line".into(),
            );
        }
    };
    let answer = match response.map(|bytes| (bytes, parse_response(bytes))) {
        Some((bytes, Err(e))) => {
            return observed(
                FindingKind::Garbage,
                "garbage-response",
                format!("a response Cargo cannot parse: {}: {e}", show(bytes)),
            );
        }
        Some((_, Ok(r))) => Some(r.answer),
        None => None,
    };
    let trailing = &t.trailing_stdout;
    if !trailing.is_empty() {
        let more_allowed = lines_in(input).saturating_sub(1);
        let text = &trailing.bytes;
        let problem = if answer.is_none() || trailing.truncated() {
            Some(format!("{} bytes after the response", trailing.total))
        } else if !text.ends_with(b"\n") {
            Some(format!(
                "bytes after the response without a newline: {}",
                show(text)
            ))
        } else {
            let lines: Vec<&[u8]> = text[..text.len() - 1].split(|b| *b == b'\n').collect();
            if lines.len() > more_allowed {
                Some(format!(
                    "{} more lines after the response, for {more_allowed} more request lines: {}",
                    lines.len(),
                    show(text)
                ))
            } else {
                lines.iter().find_map(|line| {
                    parse_response(line).err().map(|e| {
                        format!(
                            "a line after the response Cargo cannot parse: {}: {e}",
                            show(line)
                        )
                    })
                })
            }
        };
        if let Some(detail) = problem {
            return observed(FindingKind::Garbage, "garbage-trailing", detail);
        }
    }
    if let Some(answer @ (Answer::OkGet | Answer::OkLogin | Answer::OkLogout)) = answer
        && let Err(why) = request_parses(first_line(input))
    {
        return observed(
            FindingKind::OkOnGarbage,
            "ok-on-garbage",
            format!(
                "answered {} to a request cargo-credential cannot parse ({why})",
                answer.as_str()
            ),
        );
    }
    None
}

/// The longest hello or response line read: far beyond what the inputs can provoke (a
/// provider may echo a whole input line in an error message, escaped), so that a line is
/// only "too long" when something is really wrong. Cargo itself has no limit.
pub const LINE_LIMIT: usize = 64 << 20;

/// A provider as the campaign fuzzes it: one exchange per input, from the vectors' request
/// lines.
struct FuzzedProvider<'a> {
    command: &'a ProviderCommand,
    profile: &'a Profile,
    seeds: Vec<String>,
    timeout: Duration,
}

impl Target for FuzzedProvider<'_> {
    /// Nothing but the bytes: they are the whole exchange.
    type Setting = ();
    type Error = SpawnError;
    const INPUT: &'static str = "input";
    const INPUTS: &'static str = "inputs";

    fn input(&self, rng: &mut Rng, _: u64) -> ((), Vec<u8>) {
        ((), mutate::input(rng, &self.seeds))
    }

    fn try_input(
        &self,
        _: &(),
        input: &[u8],
        deadline: Deadline,
    ) -> Result<Option<Observed>, SpawnError> {
        let timeout = match deadline {
            Deadline::Usual => self.timeout,
            Deadline::Doubled => self.timeout * 2,
        };
        let t = self.command.run(&exchange(input, timeout))?;
        Ok(classify(input, &t))
    }

    /// A provider that cannot be started at all will not start for the next input either.
    fn is_fatal(&self, error: &SpawnError) -> bool {
        matches!(
            error,
            SpawnError::NotFound(_) | SpawnError::NotExecutable(_)
        )
    }

    /// The final `\n`: it decides how stdin is closed.
    fn kept_suffix(&self, input: &[u8]) -> usize {
        usize::from(input.ends_with(b"\n"))
    }

    /// Any bytes can be written to stdin.
    fn as_sent(&self, candidate: &[u8]) -> Vec<u8> {
        candidate.to_vec()
    }

    fn vector(
        &self,
        kind: FindingKind,
        _: &(),
        minimized: &[u8],
        dir: Option<&Path>,
    ) -> FoundVector {
        let send = found::vector_input(self.profile, minimized);
        FoundVector {
            case_id: found::provider_case_id(kind, &found::vector_bytes(&send)),
            written: dir.map(|dir| found::write_provider(dir, kind, send)),
        }
    }
}

/// Fuzzes one provider. `progress` gets one line per notable event.
pub fn fuzz_provider(
    command: &ProviderCommand,
    profile: &Profile,
    opts: &FuzzOptions,
    progress: &dyn Fn(&str),
) -> FuzzReport {
    let campaign = Campaign::new(opts, FuzzedProvider::INPUTS, progress);
    let command = command.clone().line_limit(LINE_LIMIT);
    let target = FuzzedProvider {
        command: &command,
        profile,
        seeds: seeds(profile),
        timeout: opts.timeout,
    };
    if target.seeds.is_empty() {
        return campaign.finish();
    }
    campaign.run(&target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use credlab_suite::provider::Capture;

    fn transcript(response: &[u8], trailing: &[u8], exit: ExitObservation) -> Transcript {
        Transcript {
            argv: vec!["--cargo-plugin".into()],
            hello: LineRead::Line {
                bytes: br#"{"v":[1]}"#.to_vec(),
            },
            written: 0,
            write_error: None,
            response: if response.is_empty() {
                LineRead::Eof { bytes: Vec::new() }
            } else {
                LineRead::Line {
                    bytes: response.to_vec(),
                }
            },
            trailing_stdout: Capture {
                bytes: trailing.to_vec(),
                total: trailing.len() as u64,
            },
            stderr: Capture::default(),
            exit,
            leftover: 0,
            leftover_processes: Vec::new(),
            hello_after: Duration::ZERO,
            response_after: Duration::ZERO,
            elapsed: Duration::ZERO,
        }
    }

    const GET: &[u8] =
        br#"{"v":1,"registry":{"index-url":"https:\/\/r\/"},"kind":"get","operation":"read"}"#;
    const ERR: &[u8] = br#"{"Err":{"kind":"other","message":"bad","caused-by":[]}}"#;
    const OK: &[u8] =
        br#"{"Ok":{"kind":"get","token":"t","cache":"session","operation_independent":true}}"#;

    fn kind(
        input: &[u8],
        response: &[u8],
        trailing: &[u8],
        exit: ExitObservation,
    ) -> Option<FindingKind> {
        classify(input, &transcript(response, trailing, exit)).map(|o| o.kind)
    }

    #[test]
    fn classification() {
        let ok = ExitObservation::Exited { code: 0 };
        assert_eq!(kind(b"x\n", ERR, b"", ok.clone()), None);
        assert_eq!(kind(b"x\n", b"", b"", ok.clone()), None);
        assert_eq!(
            kind(b"x\n", b"error: x", b"", ok.clone()),
            Some(FindingKind::Garbage)
        );
        assert_eq!(
            kind(b"x\n", b"", b"", ExitObservation::Exited { code: 101 }),
            Some(FindingKind::Crash)
        );
        assert_eq!(
            kind(
                b"x\n",
                b"",
                b"",
                ExitObservation::Killed {
                    phase: credlab_suite::provider::Phase::Response
                }
            ),
            Some(FindingKind::Hang)
        );
        assert_eq!(
            kind(b"x\n", OK, b"", ok.clone()),
            Some(FindingKind::OkOnGarbage)
        );
        let mut get = GET.to_vec();
        get.push(b'\n');
        assert_eq!(kind(&get, OK, b"", ok.clone()), None);
        // Two request lines may get two answers, not three, and never noise.
        let mut two = get.clone();
        two.extend_from_slice(&get);
        let mut answer = OK.to_vec();
        answer.push(b'\n');
        assert_eq!(kind(&two, OK, &answer, ok.clone()), None);
        assert_eq!(
            kind(&get, OK, &answer, ok.clone()),
            Some(FindingKind::Garbage)
        );
        assert_eq!(
            kind(&two, OK, b"done\n", ok.clone()),
            Some(FindingKind::Garbage)
        );
        assert_eq!(kind(&two, OK, OK, ok), Some(FindingKind::Garbage));
    }

    #[test]
    fn request_parsing_takes_escapes_and_refuses_other_versions() {
        assert!(request_parses(GET).is_ok());
        assert!(
            request_parses(br#"{"v":2,"registry":{"index-url":"u"},"kind":"logout"}"#).is_err()
        );
        assert!(request_parses(b"\xff").is_err());
        assert!(request_parses(b"[]").is_err());
    }
}
