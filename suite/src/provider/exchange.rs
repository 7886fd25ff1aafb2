//! One provider process, start to finish, as Cargo runs it (`src/util/credential/process.rs`):
//! spawn `<provider> --cargo-plugin`, read one hello line, write one request line, read one
//! response line, close stdin, wait for the exit. Every wait is bounded here, because Cargo's
//! are not (a provider that never answers hangs Cargo forever).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When the harness closes the provider's stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CloseStdin {
    /// Right after the hello, before any request (EOF handling).
    AfterHello,
    /// Right after writing the request, before the response (the provider sees EOF early).
    AfterRequest,
    /// After the response line arrives, as Cargo does.
    AfterResponse,
    /// Never: only the exit timeout ends the exchange.
    Never,
}

/// Per-phase deadlines. Defaults follow the provider-protocol digest §9.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    #[serde(with = "millis")]
    pub hello: Duration,
    #[serde(with = "millis")]
    pub response: Duration,
    #[serde(with = "millis")]
    pub exit: Duration,
}

impl Timeouts {
    /// The same bound for every phase.
    pub fn uniform(each: Duration) -> Self {
        Self {
            hello: each,
            response: each,
            exit: each,
        }
    }

    /// The longest an exchange can take before the harness kills it.
    pub fn total(&self) -> Duration {
        self.hello + self.response + self.exit
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            hello: Duration::from_secs(5),
            response: Duration::from_secs(10),
            exit: Duration::from_secs(5),
        }
    }
}

/// What to do with one provider process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// Bytes written after the hello arrives (a request is one JSON line ending in `\n`;
    /// malformed-input cases write anything). `None`: write nothing.
    pub request: Option<Vec<u8>>,
    /// Whether a response line is expected and read.
    pub read_response: bool,
    pub close_stdin: CloseStdin,
    pub timeouts: Timeouts,
}

impl Exchange {
    /// Cargo's own exchange for one request line (a `\n` is appended).
    pub fn cargo(request_line: &str) -> Self {
        let mut request = request_line.as_bytes().to_vec();
        request.push(b'\n');
        Self {
            request: Some(request),
            read_response: true,
            close_stdin: CloseStdin::AfterResponse,
            timeouts: Timeouts::default(),
        }
    }
}

/// The phase an exchange was in when something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Hello,
    Request,
    Response,
    Exit,
}

impl Phase {
    /// The name in reports (as serialized): `hello`, `request`, `response`, `exit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Hello => "hello",
            Phase::Request => "request",
            Phase::Response => "response",
            Phase::Exit => "exit",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reading one `\n`-terminated line from stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum LineRead {
    /// A full line; `bytes` excludes the `\n`.
    Line { bytes: Vec<u8> },
    /// stdout ended. `bytes` is what came before the end without a `\n` (possibly nothing).
    Eof { bytes: Vec<u8> },
    /// The deadline passed; `bytes` is the partial line received so far.
    TimedOut { bytes: Vec<u8> },
    /// The line grew past the harness's limit; `prefix` is its start.
    TooLong { prefix: Vec<u8>, limit: usize },
    /// The harness did not read this line (an earlier phase failed, or none was expected).
    NotRead,
}

impl LineRead {
    /// The complete line, if one arrived.
    pub fn line(&self) -> Option<&[u8]> {
        match self {
            LineRead::Line { bytes } => Some(bytes),
            _ => None,
        }
    }
}

/// A bounded capture of a byte stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// The first bytes of the stream, at most the capture limit.
    pub bytes: Vec<u8>,
    /// How many bytes the stream carried in total (drained, not stored).
    pub total: u64,
}

impl Capture {
    pub fn truncated(&self) -> bool {
        self.total > self.bytes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "kebab-case")]
pub enum ExitObservation {
    /// It exited by itself with this status code.
    Exited { code: i32 },
    /// A signal ended it (not one the harness sent).
    Signaled { signal: i32 },
    /// It was still running at the deadline of `phase`; the harness killed its process group.
    Killed { phase: Phase },
}

/// Everything observed while running one [`Exchange`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The argv the provider was started with (after the program): always `["--cargo-plugin"]`.
    pub argv: Vec<String>,
    pub hello: LineRead,
    /// Bytes actually written to stdin, and the write error if the provider closed it early.
    pub written: u64,
    pub write_error: Option<String>,
    pub response: LineRead,
    /// Whatever stdout carried after the response line (or after the hello when no response
    /// was read) until the process exited or was killed.
    pub trailing_stdout: Capture,
    pub stderr: Capture,
    pub exit: ExitObservation,
    /// How many processes the provider left running: its descendants still alive once it had
    /// exited by itself or been killed at a deadline (members of its process group killed with
    /// it at that deadline do not count). The harness killed (SIGKILL) and reaped every one of
    /// them; see `credlab_runners::process` for how they are found.
    #[serde(default)]
    pub leftover: u32,
    /// The first of those processes (at most [`LEFTOVER_DETAIL_LIMIT`]), in the order found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftover_processes: Vec<LeftoverProcess>,
    #[serde(with = "millis")]
    pub hello_after: Duration,
    #[serde(with = "millis")]
    pub response_after: Duration,
    #[serde(with = "millis")]
    pub elapsed: Duration,
}

/// At most this many [`LeftoverProcess`]es are kept per [`Transcript`] (all are counted).
pub const LEFTOVER_DETAIL_LIMIT: usize = 16;

/// One process a provider left running after its exchange (killed and reaped by the harness).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftoverProcess {
    pub pid: u32,
    /// Its command name (`/proc/<pid>/stat`'s `comm`: at most 15 bytes, set by the process
    /// itself, so target text); empty where the platform does not tell.
    pub comm: String,
    pub place: LeftoverPlace,
}

/// Where a leftover process was, relative to the provider it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeftoverPlace {
    /// Still in the provider's process group (a plain child or grandchild).
    ProcessGroup,
    /// In another process group of the provider's session (`setpgid`).
    Session,
    /// Outside the provider's session (it, or an ancestor, called `setsid`: a daemon).
    OtherSession,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
