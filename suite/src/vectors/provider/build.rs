//! Building provider cases: request lines as Cargo serializes them, and a group builder.

use crate::cases::flags::Flag;
use crate::cases::provider::{
    Answer, Check, ExitRule, Feature, ProviderCase, ProviderExpect, ProviderFile, ProviderInput,
    Send, Step,
};
use crate::cases::{Case, CaseId, FORMAT, Level};
use crate::provider::CloseStdin;

/// The crate the `get` cases ask for (a fixed, plausible publish).
pub const CRATE: &str = "credlab-probe";
pub const VERS: &str = "0.1.0";
/// SHA-256 of `credlab provider probe .crate`, lowercase hex.
pub const CKSUM: &str = "4c8102db20765174ff8e97a51c6995d1a9fb38b64352331fe5c3b6988f98ef56";

/// `"registry":{…}` as Cargo writes it (`index-url`, then `name`, then `headers`).
pub fn registry(url: &str, name: bool, headers: Option<&str>) -> String {
    let mut out = format!("\"registry\":{{\"index-url\":\"{url}\"");
    if name {
        out.push_str(",\"name\":\"${registry_name}\"");
    }
    if let Some(headers) = headers {
        out.push_str(&format!(",\"headers\":{headers}"));
    }
    out.push('}');
    out
}

/// A `get` request line for `operation` with its fields (`,"name":…`), in Cargo's order.
pub fn get_with(registry: &str, operation: &str, fields: &str) -> String {
    format!(
        "{{\"v\":1,{registry},\"kind\":\"get\",\"operation\":\"{operation}\"{fields}${{args_field}}}}"
    )
}

/// The fields Cargo sends for an operation.
pub fn fields(operation: &str) -> String {
    match operation {
        "publish" => format!(",\"name\":\"{CRATE}\",\"vers\":\"{VERS}\",\"cksum\":\"{CKSUM}\""),
        "yank" | "unyank" => format!(",\"name\":\"{CRATE}\",\"vers\":\"{VERS}\""),
        "owners" => format!(",\"name\":\"{CRATE}\""),
        _ => String::new(),
    }
}

/// Cargo's `get` for `operation` at the profile's index URL.
pub fn get(operation: &str) -> String {
    get_with(
        &registry("${index_url}", true, None),
        operation,
        &fields(operation),
    )
}

/// Cargo's `login` line (`token` and `login-url` when given).
pub fn login(token: Option<&str>, login_url: Option<&str>) -> String {
    login_at("${index_url}", token, login_url)
}

/// Cargo's `login` line for the registry at `url`.
pub fn login_at(url: &str, token: Option<&str>, login_url: Option<&str>) -> String {
    let mut out = format!("{{\"v\":1,{},\"kind\":\"login\"", registry(url, true, None));
    if let Some(token) = token {
        out.push_str(&format!(",\"token\":\"{token}\""));
    }
    if let Some(url) = login_url {
        out.push_str(&format!(",\"login-url\":\"{url}\""));
    }
    out.push_str("${args_field}}");
    out
}

/// Cargo's `logout` line.
pub fn logout() -> String {
    format!(
        "{{\"v\":1,{},\"kind\":\"logout\"${{args_field}}}}",
        registry("${index_url}", true, None)
    )
}

/// A step sending one line, as Cargo does.
pub fn line(text: impl Into<String>) -> Step {
    Step {
        send: Send::Line {
            line: text.into(),
            terminator: "\n".into(),
        },
        close_stdin: CloseStdin::AfterResponse,
        read_response: true,
    }
}

/// A step sending exact text.
pub fn text(text: impl Into<String>) -> Step {
    Step {
        send: Send::Text { text: text.into() },
        close_stdin: CloseStdin::AfterResponse,
        read_response: true,
    }
}

/// The setup that stores the run's credential through `login`.
pub fn logged_in() -> Vec<Step> {
    vec![line(login(Some("${login_token}"), None))]
}

/// The expectation: these answers conform.
pub fn answers(answers: &[Answer]) -> ProviderExpect {
    ProviderExpect {
        answers: answers.to_vec(),
        step_answers: Vec::new(),
        unimplemented: Vec::new(),
        checks: Vec::new(),
        exit: ExitRule::Zero,
    }
}

pub trait ExpectExt {
    fn checks(self, checks: &[Check]) -> Self;
    /// Answers for step `step` (1-based) instead of the general ones.
    fn step(self, step: usize, answers: &[Answer]) -> Self;
    fn unimplemented(self, answers: &[Answer]) -> Self;
    fn any_exit(self) -> Self;
}

impl ExpectExt for ProviderExpect {
    fn checks(mut self, checks: &[Check]) -> Self {
        self.checks.extend_from_slice(checks);
        self
    }
    fn step(mut self, step: usize, answers: &[Answer]) -> Self {
        if self.step_answers.len() < step {
            self.step_answers.resize(step, self.answers.clone());
        }
        self.step_answers[step - 1] = answers.to_vec();
        self
    }
    fn unimplemented(mut self, answers: &[Answer]) -> Self {
        self.unimplemented.extend_from_slice(answers);
        self
    }
    fn any_exit(mut self) -> Self {
        self.exit = ExitRule::Any;
        self
    }
}

/// The cases of one namespace.
pub struct Group {
    namespace: &'static str,
    description: &'static str,
    cases: Vec<ProviderCase>,
}

/// A case being added: metadata first, then `.run(…)`.
pub struct CaseBuilder<'g> {
    group: &'g mut Group,
    id: CaseId,
    level: Level,
    description: String,
    spec: Vec<String>,
    flags: Vec<Flag>,
    requires: Vec<Feature>,
    setup: Vec<Step>,
}

impl Group {
    pub fn new(namespace: &'static str, description: &'static str) -> Self {
        Self {
            namespace,
            description,
            cases: Vec::new(),
        }
    }

    pub fn case(&mut self, slug: &str, level: Level, description: &str) -> CaseBuilder<'_> {
        let id = format!("{}::{slug}", self.namespace)
            .parse()
            .expect("generator ids are well-formed");
        CaseBuilder {
            group: self,
            id,
            level,
            description: description.into(),
            spec: Vec::new(),
            flags: Vec::new(),
            requires: Vec::new(),
            setup: Vec::new(),
        }
    }

    pub fn into_file(self) -> ProviderFile {
        ProviderFile {
            format: FORMAT.into(),
            group: self.namespace.into(),
            description: self.description.into(),
            cases: self.cases,
        }
    }
}

impl CaseBuilder<'_> {
    pub fn spec(mut self, spec: &[&str]) -> Self {
        self.spec.extend(spec.iter().map(|s| s.to_string()));
        self
    }

    pub fn flags(mut self, flags: &[Flag]) -> Self {
        self.flags.extend_from_slice(flags);
        self
    }

    pub fn requires(mut self, features: &[Feature]) -> Self {
        self.requires.extend_from_slice(features);
        self
    }

    pub fn setup(mut self, steps: Vec<Step>) -> Self {
        self.setup = steps;
        self
    }

    pub fn run(self, steps: Vec<Step>, expect: ProviderExpect) {
        self.group.cases.push(Case {
            id: self.id,
            aliases: Vec::new(),
            description: self.description,
            spec: self.spec,
            level: self.level,
            flags: self.flags,
            base: None,
            mutation: None,
            clock: None,
            input: ProviderInput {
                requires: self.requires,
                setup: self.setup,
                steps,
            },
            expect,
        });
    }
}
