//! Provider cases: what to send a credential provider, one process per step (as Cargo runs
//! it), and what its answers must be.
//!
//! Requests are stored as the exact line sent, with `${…}` placeholders where they depend on
//! the target (`Line` and `Text` sends only). [`Placeholder`](super::template::Placeholder)
//! lists them, with what each is filled with; [`super::template`] reads and fills them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Case, VectorFile};
use crate::provider::CloseStdin;

pub type ProviderCase = Case<ProviderInput, ProviderExpect>;
pub type ProviderFile = VectorFile<ProviderInput, ProviderExpect>;

/// What the runner does with the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    /// Capabilities the case needs; without them it is skipped, saying which is missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Feature>,
    /// Steps that prepare the provider's state (e.g. a login). Each must answer `Ok`; if one
    /// does not, the case is skipped with the answer as the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<Step>,
    /// The steps under test, in order, sharing the setup's HOME and working directory.
    pub steps: Vec<Step>,
}

/// One provider process: hello, then `send`, then (per `close_stdin`) EOF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub send: Send,
    /// When stdin is closed; Cargo closes it after the response.
    #[serde(default = "after_response", skip_serializing_if = "is_after_response")]
    pub close_stdin: CloseStdin,
    /// Whether a response line is expected.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub read_response: bool,
}

fn after_response() -> CloseStdin {
    CloseStdin::AfterResponse
}
fn is_after_response(c: &CloseStdin) -> bool {
    *c == CloseStdin::AfterResponse
}
fn yes() -> bool {
    true
}
fn is_yes(b: &bool) -> bool {
    *b
}

/// What is written to the provider's stdin after its hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", from = "SendRepr")]
pub enum Send {
    /// One request line; the runner appends `terminator` (default `\n`).
    Line {
        line: String,
        #[serde(default = "newline", skip_serializing_if = "is_newline")]
        terminator: String,
    },
    /// Exact text (malformed input), nothing appended.
    Text { text: String },
    /// Exact bytes, base64 (for input that is not UTF-8).
    Bytes { base64: String },
    /// Nothing at all.
    Nothing,
}

// How a `Send` is read and described in the schema: `nothing` as an empty struct variant,
// so extra fields are refused (serde ignores `deny_unknown_fields` on unit variants of
// internally tagged enums).
/// What is written to the provider's stdin after its hello.
#[derive(Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(rename = "Send")]
enum SendRepr {
    /// One request line; the runner appends `terminator` (default `\n`).
    Line {
        line: String,
        #[serde(default = "newline")]
        terminator: String,
    },
    /// Exact text (malformed input), nothing appended.
    Text { text: String },
    /// Exact bytes, base64 (for input that is not UTF-8).
    Bytes { base64: String },
    /// Nothing at all.
    Nothing {},
}

impl From<SendRepr> for Send {
    fn from(repr: SendRepr) -> Self {
        match repr {
            SendRepr::Line { line, terminator } => Send::Line { line, terminator },
            SendRepr::Text { text } => Send::Text { text },
            SendRepr::Bytes { base64 } => Send::Bytes { base64 },
            SendRepr::Nothing {} => Send::Nothing,
        }
    }
}

impl Send {
    /// The bytes written, as the case holds them (placeholders unexpanded, the terminator
    /// appended); `None` for base64 that does not decode.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        Some(match self {
            Send::Line { line, terminator } => format!("{line}{terminator}").into_bytes(),
            Send::Text { text } => text.as_bytes().to_vec(),
            Send::Bytes { base64 } => crate::b64::decode(base64).ok()?,
            Send::Nothing => Vec::new(),
        })
    }
}

impl JsonSchema for Send {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        SendRepr::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        SendRepr::json_schema(generator)
    }
}

fn newline() -> String {
    "\n".into()
}
fn is_newline(s: &String) -> bool {
    s == "\n"
}

/// A capability a case depends on, detected by a probe before the run or given by flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// A credential is in place for the case's registry: `login` stores one (a probe login
    /// answered `Ok`), or the user said what the provider holds (`--stored-token`).
    Login,
    /// `get` returns the token given to `login` (a token store).
    StoresTokens,
    /// `get` returns PASETO v3.public tokens (an asymmetric-token provider).
    GeneratesPaseto,
    /// The profile names an index URL the provider does not serve (`--unsupported-url`).
    UnsupportedUrl,
    /// The case's registry can have nothing stored: not so when the user said the provider
    /// holds a token for it (`--stored-token`); the case then runs at the isolation cases'
    /// other registry, unless a stored token names that one too.
    EmptyRegistry,
    /// The provider is run with no config arguments (no `--provider-arg`), so a request with
    /// `"args":[]` means the same to it as one without.
    NoConfigArgs,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Login => "login",
            Feature::StoresTokens => "stores-tokens",
            Feature::GeneratesPaseto => "generates-paseto",
            Feature::UnsupportedUrl => "unsupported-url",
            Feature::EmptyRegistry => "empty-registry",
            Feature::NoConfigArgs => "no-config-args",
        }
    }
}

/// How a response line parsed with Cargo's own types classifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    OkGet,
    OkLogin,
    OkLogout,
    ErrUrlNotSupported,
    ErrNotFound,
    ErrOperationNotSupported,
    ErrOther,
    /// No response line: the provider exited (stdout closed) without answering.
    NoAnswer,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::OkGet => "ok-get",
            Answer::OkLogin => "ok-login",
            Answer::OkLogout => "ok-logout",
            Answer::ErrUrlNotSupported => "err-url-not-supported",
            Answer::ErrNotFound => "err-not-found",
            Answer::ErrOperationNotSupported => "err-operation-not-supported",
            Answer::ErrOther => "err-other",
            Answer::NoAnswer => "no-answer",
        }
    }

    /// Every answer there is, and none.
    pub const ALL: [Answer; 8] = [
        Answer::OkGet,
        Answer::OkLogin,
        Answer::OkLogout,
        Answer::ErrUrlNotSupported,
        Answer::ErrNotFound,
        Answer::ErrOperationNotSupported,
        Answer::ErrOther,
        Answer::NoAnswer,
    ];

    /// Every `Err` answer and no answer: what a provider may do with input it cannot use.
    pub const REFUSALS: [Answer; 5] = [
        Answer::ErrUrlNotSupported,
        Answer::ErrNotFound,
        Answer::ErrOperationNotSupported,
        Answer::ErrOther,
        Answer::NoAnswer,
    ];
}

/// A property checked on top of the baseline (the exchange Cargo itself would complete: a
/// hello listing version 1, a response Cargo's types parse, exit status 0 after stdin closes,
/// and nothing on stdout but those two lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// The hello is byte for byte `{"v":[1]}`.
    HelloExact,
    /// The response line ends with `\n` (not just end of stream).
    ResponseNewline,
    /// A `get` returns exactly the token the setup's login stored.
    TokenIsLoginToken,
    /// The token is a non-empty string of visible ASCII (a valid HTTP header value).
    TokenHeaderSafe,
    /// `cache` is `never`, `session` or `expires` (Cargo silently treats others as never).
    CacheKnown,
    /// An `expires` answer expires more than a minute ahead (else Cargo never caches it).
    ExpirationAhead,
    /// A PASETO token verifies for exactly the step's request (key, url, operation, crate
    /// fields, fresh iat).
    TokenVerifies,
    /// A mutation token is not cacheable: `cache` `never` and `operation_independent` false.
    MutationNotCached,
    /// The steps' tokens all differ (a mutation token is never handed out twice).
    TokensDiffer,
    /// The token is the credential stored for this step's registry: the login token (a token
    /// store), or a PASETO token that verifies for the request under the login key.
    TokenIsThisRegistrys,
    /// The login token (or a key given in the environment) is never written whole on stderr,
    /// in this case's steps or in any other exchange of the run.
    LoginTokenNotLogged,
    /// No token a `get` returned is ever written whole on stderr, anywhere in the run.
    ReturnedTokensNotLogged,
    /// No secret appears on stdout except as the `token` of a `get` answer: not in the hello,
    /// an `Err` message or cause, or after the response; anywhere in the run.
    SecretsOnlyInTokenField,
    /// No fragment (16 or more characters) of a secret on stderr or outside the token field,
    /// anywhere in the run.
    NoSecretFragments,
    /// No exchange of the run leaves a process running after the provider exited.
    NoProcessesLeft,
}

/// Whether the exit status is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ExitRule {
    /// Exit status 0 within the exit timeout after stdin is closed (Cargo discards the
    /// answer otherwise, and waits forever for a provider that does not exit).
    #[default]
    Zero,
    /// Not judged (the case is about something else).
    Any,
}

fn is_default_exit(e: &ExitRule) -> bool {
    *e == ExitRule::Zero
}

/// What a conforming provider does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderExpect {
    /// The answers that conform, for every step under test (empty when no response is read).
    pub answers: Vec<Answer>,
    /// Per-step overrides of `answers`: entry `i` applies to step `i + 1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_answers: Vec<Vec<Answer>>,
    /// Answers that mean "not implemented" rather than "wrong" (reported as unimplemented).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unimplemented: Vec<Answer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    #[serde(default, skip_serializing_if = "is_default_exit")]
    pub exit: ExitRule,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::check::{AnyVectorFile, check_all};

    fn named(files: Vec<ProviderFile>) -> Vec<(String, AnyVectorFile)> {
        files
            .into_iter()
            .map(|f| (format!("{}.json", f.group), AnyVectorFile::Provider(f)))
            .collect()
    }

    #[test]
    fn every_step_of_the_catalogue_uses_known_placeholders_only() {
        let problems = check_all(&named(crate::vectors::provider::provider_files()));
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn vectors_check_names_a_step_with_an_unknown_placeholder() {
        let mut files = crate::vectors::provider::provider_files();
        let case = &mut files[1].cases[0];
        let id = case.id.to_string();
        case.input.steps[0].send = Send::Line {
            line: "{\"v\":1,\"registry\":{\"index-url\":\"${index_uri}\"}}".into(),
            terminator: "\n".into(),
        };
        // Bytes are sent as they are: a `${` in them is nobody's slip.
        files[2].cases[0].input.steps[0].send = Send::Bytes {
            base64: crate::b64::encode(b"${index_uri}"),
        };
        let problems = check_all(&named(files));
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].case.as_deref(), Some(id.as_str()));
        assert!(
            problems[0]
                .message
                .contains("`${index_uri}`, which is not a placeholder"),
            "{}",
            problems[0].message
        );
    }
}
