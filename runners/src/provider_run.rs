//! Runs provider cases against one provider: fills the case templates from the target's
//! profile, probes what the provider can do, runs each case's steps (one process each, in a
//! sandbox of its own) on `jobs` threads, and hands the transcripts to the judge.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use credlab_suite::cases::provider::{Answer, Feature, ProviderCase, Send, Step};
use credlab_suite::judge::Outcome;
use credlab_suite::judge::provider::{
    Context, StepRecord, judge, judge_setup, parse_response, show,
};
use credlab_suite::judge::secrets::{self, LeakAt};
use credlab_suite::keys::{PublicKey, SecretKey};
use credlab_suite::provider::{Exchange, ExitObservation, LineRead, Timeouts, Transcript};
use credlab_suite::redact::{SecretKind, Secrets};
use credlab_suite::report::Evidence;
use credlab_suite::verify::KeyStore;
use serde_json::Value;
use time::OffsetDateTime;

use crate::process::{ProviderCommand, Sandbox, SpawnError};

/// The size of `${huge_header}` (Cargo puts no limit on request lines).
const HUGE_HEADER_LEN: usize = 16 << 20;

/// What credlab sends on behalf of Cargo, configurable per target.
#[derive(Debug, Clone)]
pub struct Profile {
    /// An index URL the provider serves (`${index_url}`).
    pub index_url: String,
    /// An index URL it does not serve, if known (`${unsupported_url}`).
    pub unsupported_url: Option<String>,
    pub registry_name: String,
    /// Config arguments, sent in the JSON `args` field as Cargo does (never on argv).
    pub args: Vec<String>,
    /// The key credlab logs in with (`${login_token}` is its k3.secret): token stores keep it
    /// verbatim, PASETO providers sign with it, so either kind can be judged.
    pub login_key: SecretKey,
    /// More keys PASETO tokens may be signed with (`--public-key`).
    pub public_keys: Vec<PublicKey>,
    pub timeouts: Timeouts,
    /// The run's secret register: the login key, and every token the provider returns
    /// (registered as it arrives, before anything is shown).
    pub secrets: Secrets,
    /// Secrets seen out of place in any exchange of the run (probe, setups, cases), for the
    /// run-wide `provider::secrets` checks.
    pub leaks: LeakLog,
}

/// Every out-of-place secret the run's exchanges showed, with where.
pub type LeakLog = Arc<Mutex<Vec<LeakAt>>>;

impl Profile {
    /// A profile with a register of its own.
    pub fn new(login_key: SecretKey) -> Self {
        Self::new_in(login_key, &Secrets::new())
    }

    /// A profile whose secrets go into the run's register.
    pub fn new_in(login_key: SecretKey, secrets: &Secrets) -> Self {
        secrets.add_key(SecretKind::LoginKey, "login-token", &login_key);
        Self {
            index_url: "sparse+https://registry.credlab.test/index/".into(),
            unsupported_url: None,
            registry_name: "credlab".into(),
            args: Vec::new(),
            login_key,
            public_keys: Vec::new(),
            timeouts: Timeouts::default(),
            secrets: secrets.clone(),
            leaks: LeakLog::default(),
        }
    }

    fn login_token(&self) -> String {
        self.login_key.expose_paserk()
    }

    /// The keys a PASETO answer must verify under.
    pub fn keys(&self) -> KeyStore {
        let mut keys = KeyStore::new();
        keys.insert(self.login_key.public_key().clone(), None);
        for key in &self.public_keys {
            keys.insert(key.clone(), None);
        }
        keys
    }

    /// Fills the `${…}` placeholders of a template, JSON-escaping the values.
    pub fn render(&self, template: &str) -> String {
        fn escaped(s: &str) -> String {
            let quoted = serde_json::to_string(s).expect("strings serialize");
            quoted[1..quoted.len() - 1].to_string()
        }
        let args_field = if self.args.is_empty() {
            String::new()
        } else {
            format!(
                ",\"args\":{}",
                serde_json::to_string(&self.args).expect("strings serialize")
            )
        };
        let text = template
            .replace(
                "${index_url_escaped_slashes}",
                &escaped(&self.index_url).replace('/', "\\/"),
            )
            .replace("${index_url}", &escaped(&self.index_url))
            .replace(
                "${unsupported_url}",
                &escaped(self.unsupported_url.as_deref().unwrap_or_default()),
            )
            .replace("${registry_name}", &escaped(&self.registry_name))
            .replace("${args_field}", &args_field);
        let text = login_token_slices(&text, &self.login_token());
        text.replace("${login_token}", &escaped(&self.login_token()))
    }

    /// `render` plus `suffix`, as bytes, with `${huge_header}` expanded in place: the 16 MiB
    /// request is built once, in one allocation (copies and page faults of it were most of
    /// the runner's own cost for that case).
    fn render_bytes(&self, template: &str, suffix: &str) -> Vec<u8> {
        let rendered = self.render(template);
        let Some((head, tail)) = rendered.split_once("${huge_header}") else {
            let mut out = rendered.into_bytes();
            out.extend_from_slice(suffix.as_bytes());
            return out;
        };
        const PREFIX: &str = "X-Huge: ";
        let mut out = Vec::with_capacity(
            head.len() + PREFIX.len() + HUGE_HEADER_LEN + tail.len() + suffix.len(),
        );
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(PREFIX.as_bytes());
        out.resize(out.len() + HUGE_HEADER_LEN, b'x');
        // Only the first placeholder is the huge one; any other stays literal.
        out.extend_from_slice(tail.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        out
    }

    /// About how many bytes a step writes (without building them: `${huge_header}` is 16 MiB).
    pub fn render_len(&self, step: &Step) -> usize {
        let text = match &step.send {
            Send::Line { line, .. } => line.as_str(),
            Send::Text { text } => text.as_str(),
            Send::Bytes { base64 } => return base64.len() * 3 / 4,
            Send::Nothing => return 0,
        };
        text.len()
            + if text.contains("${huge_header}") {
                HUGE_HEADER_LEN
            } else {
                0
            }
    }

    /// The bytes a step writes.
    pub fn bytes(&self, step: &Step) -> Vec<u8> {
        match &step.send {
            Send::Line { line, terminator } => self.render_bytes(line, terminator),
            Send::Text { text } => self.render_bytes(text, ""),
            Send::Bytes { base64 } => credlab_suite::b64::decode(base64).unwrap_or_default(),
            Send::Nothing => Vec::new(),
        }
    }

    /// Shows bytes for a report with every secret of the run replaced (the login key, and
    /// the tokens the provider returned, wherever they appear).
    pub fn redacted(&self, bytes: &[u8]) -> String {
        // Only the start is ever shown; a 16 MiB request need not be scanned whole.
        let shown = &bytes[..bytes.len().min(64 * 1024)];
        let text = String::from_utf8_lossy(shown);
        let mut out = show(self.secrets.scrub(&text).as_bytes());
        if bytes.len() > shown.len() {
            out.push_str(&format!(" [{} bytes in all]", bytes.len()));
        }
        out
    }

    /// Registers the token of a `get` answer (any `/Ok/token` string, even in an answer Cargo
    /// would not parse): from now on it is redacted wherever it appears.
    pub fn register_answer(&self, transcript: &Transcript) {
        let line = match &transcript.response {
            LineRead::Line { bytes } | LineRead::Eof { bytes } | LineRead::TimedOut { bytes } => {
                bytes
            }
            LineRead::TooLong { prefix, .. } => prefix,
            LineRead::NotRead => return,
        };
        if let Ok(answer) = serde_json::from_slice::<Value>(line)
            && let Some(token) = answer.pointer("/Ok/token").and_then(Value::as_str)
        {
            self.secrets.add_token(SecretKind::ProviderToken, token);
        }
    }
}

/// Expands `${login_token[FROM..TO]}`: characters FROM..TO of the login token (how found
/// vectors keep a fragment of the key a fuzzer produced, without the key itself). A slice
/// that does not fit the token is cut to it; a malformed placeholder stays as it is.
fn login_token_slices(text: &str, token: &str) -> String {
    const OPEN: &str = "${login_token[";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let after = &rest[at + OPEN.len()..];
        let parsed = after.split_once("]}").and_then(|(range, tail)| {
            let (from, to) = range.split_once("..")?;
            let from: usize = from.parse().ok()?;
            let to: usize = to.parse().ok()?;
            Some((
                from.min(token.len())..to.min(token.len()).max(from.min(token.len())),
                tail,
            ))
        });
        match parsed {
            Some((range, tail)) => {
                out.push_str(token.get(range).unwrap_or_default());
                rest = tail;
            }
            None => {
                out.push_str(OPEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What the probe found out about the provider.
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub set: HashSet<Feature>,
    /// How each feature was decided, for the report.
    pub facts: BTreeMap<String, String>,
}

impl Features {
    pub fn has(&self, feature: Feature) -> bool {
        self.set.contains(&feature)
    }
}

/// The exchange of one step, writing `bytes` (the step's rendered request).
fn exchange(profile: &Profile, step: &Step, bytes: Vec<u8>) -> Exchange {
    Exchange {
        request: (!matches!(step.send, Send::Nothing)).then_some(bytes),
        read_response: step.read_response,
        close_stdin: step.close_stdin,
        timeouts: profile.timeouts,
    }
}

/// Runs one step in `sandbox`: the bytes it sent (built once, then moved through the
/// exchange and back) and what came back. Every exchange goes through here, so this is where
/// a returned token is registered as a secret and where out-of-place secrets are logged
/// (`place` names the exchange for the report).
fn run_step(
    command: &ProviderCommand,
    sandbox: &Sandbox,
    profile: &Profile,
    step: &Step,
    place: &dyn Fn() -> String,
) -> Result<(Vec<u8>, Transcript), SpawnError> {
    let mut exchange = exchange(profile, step, profile.bytes(step));
    let transcript = command.run_in(sandbox, &exchange)?;
    profile.register_answer(&transcript);
    let leaks = secrets::leaks(&transcript, &profile.secrets);
    if !leaks.is_empty() {
        let place = place();
        profile
            .leaks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(leaks.into_iter().map(|leak| LeakAt {
                place: place.clone(),
                leak,
            }));
    }
    Ok((exchange.request.take().unwrap_or_default(), transcript))
}

fn login_step() -> Step {
    Step {
        send: Send::Line {
            line: "{\"v\":1,\"registry\":{\"index-url\":\"${index_url}\",\"name\":\"${registry_name}\"},\"kind\":\"login\",\"token\":\"${login_token}\"${args_field}}".into(),
            terminator: "\n".into(),
        },
        close_stdin: credlab_suite::provider::CloseStdin::AfterResponse,
        read_response: true,
    }
}

fn read_step() -> Step {
    Step {
        send: Send::Line {
            line: "{\"v\":1,\"registry\":{\"index-url\":\"${index_url}\",\"name\":\"${registry_name}\"},\"kind\":\"get\",\"operation\":\"read\"${args_field}}".into(),
            terminator: "\n".into(),
        },
        close_stdin: credlab_suite::provider::CloseStdin::AfterResponse,
        read_response: true,
    }
}

/// Logs in with the profile's key, then asks for a read token, to learn what kind of
/// provider this is. Fails only when the provider cannot be started at all.
pub fn probe(command: &ProviderCommand, profile: &Profile) -> Result<Features, SpawnError> {
    let mut features = Features::default();
    if profile.unsupported_url.is_some() {
        features.set.insert(Feature::UnsupportedUrl);
    }
    let sandbox = Sandbox::new().map_err(|source| SpawnError::Io {
        context: "creating the probe sandbox".into(),
        source,
    })?;
    let answer = |t: &Transcript| t.response.line().and_then(|l| parse_response(l).ok());
    let login = run_step(command, &sandbox, profile, &login_step(), &|| {
        "the probe's login".into()
    })?
    .1;
    match answer(&login) {
        Some(r) if r.answer == Answer::OkLogin => {
            features.set.insert(Feature::Login);
            features.facts.insert(
                "login".into(),
                "a login with credlab's key answered Ok".into(),
            );
        }
        Some(r) => {
            features.facts.insert(
                "login".into(),
                format!("a login answered {}", r.answer.as_str()),
            );
        }
        None => {
            features
                .facts
                .insert("login".into(), "a login got no parsable answer".into());
        }
    }
    if !features.has(Feature::Login) {
        return Ok(features);
    }
    let read = run_step(command, &sandbox, profile, &read_step(), &|| {
        "the probe's get".into()
    })?
    .1;
    let token = answer(&read).and_then(|r| r.token);
    // Anything but a PASETO is judged as a token store: a store that returns the wrong
    // token must fail the store cases, not skip them.
    let kind = match token.as_deref() {
        Some(t) if t.starts_with("v3.public.") => {
            features.set.insert(Feature::GeneratesPaseto);
            "a PASETO provider (get returns v3.public tokens)"
        }
        Some(t) => {
            features.set.insert(Feature::StoresTokens);
            if t == profile.login_token() {
                "a token store (get returns the login token)"
            } else {
                "a token store, by elimination (get returns a token that is not the login token)"
            }
        }
        None => "unknown: get after login gave no token",
    };
    features.facts.insert("kind".into(), kind.into());
    Ok(features)
}

/// A case's result and what was exchanged.
#[derive(Debug, Clone)]
pub struct CaseRun {
    pub outcome: Outcome,
    pub evidence: Vec<Evidence>,
    pub duration: Duration,
}

fn exit_text(exit: &ExitObservation) -> String {
    match exit {
        ExitObservation::Exited { code } => format!("status {code}"),
        ExitObservation::Signaled { signal } => format!("signal {signal}"),
        ExitObservation::Killed { phase } => format!("killed by credlab at the {phase:?} deadline"),
    }
}

fn evidence(profile: &Profile, label: String, sent: &[u8], t: &Transcript) -> Evidence {
    let line = |l: &LineRead| match l {
        LineRead::Line { bytes } => Some(profile.redacted(bytes)),
        LineRead::Eof { bytes } => {
            Some(format!("{} (then end of stream)", profile.redacted(bytes)))
        }
        LineRead::TimedOut { bytes } => Some(format!(
            "{} (then nothing until the deadline)",
            profile.redacted(bytes)
        )),
        LineRead::TooLong { prefix, limit } => Some(format!(
            "{} … (a line over {limit} bytes)",
            profile.redacted(prefix)
        )),
        LineRead::NotRead => None,
    };
    let mut received = [line(&t.hello), line(&t.response)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
    if !t.trailing_stdout.is_empty() {
        received.push_str(&format!(
            " / then {} more stdout bytes",
            t.trailing_stdout.total
        ));
    }
    Evidence {
        step: label,
        sent: (!sent.is_empty()).then(|| profile.redacted(sent)),
        received: Some(received),
        stderr: (!t.stderr.is_empty()).then(|| profile.redacted(&t.stderr.bytes)),
        exit: Some(exit_text(&t.exit)),
    }
}

/// The token the case's last login (in the setup or the steps) sends, decoded.
fn login_token(profile: &Profile, steps: &[&Step]) -> Option<String> {
    steps.iter().rev().find_map(|step| {
        let Send::Line { line, .. } = &step.send else {
            return None;
        };
        // Placeholder values are escaped JSON strings and `args` is an array, so only a
        // template that spells `"login"` can render to a login (and the 16 MiB request is
        // neither rendered nor parsed again).
        if !line.contains("\"login\"") {
            return None;
        }
        let value: Value = serde_json::from_str(&profile.render(line)).ok()?;
        (value.get("kind")?.as_str()? == "login")
            .then(|| value.get("token")?.as_str().map(str::to_string))?
    })
}

/// The state a case's setup leaves, run once per distinct setup and copied into each case's
/// sandbox (a provider's state lives in the sandbox's HOME, XDG and TMPDIR, so the copy is the
/// state the setup left), or why the setup failed.
type SetupResult = Result<Sandbox, (String, Vec<Evidence>)>;

/// Setups already run, by the bytes they send.
#[derive(Default)]
pub struct Setups {
    done: Mutex<HashMap<Vec<u8>, Arc<OnceLock<SetupResult>>>>,
}

impl Setups {
    /// The setup's result, running it if no other case did yet (concurrent callers wait).
    fn run(
        &self,
        command: &ProviderCommand,
        profile: &Profile,
        setup: &[Step],
        case: &str,
    ) -> Arc<OnceLock<SetupResult>> {
        let key: Vec<u8> = setup.iter().flat_map(|s| profile.bytes(s)).collect();
        let cell = self
            .done
            .lock()
            .expect("not poisoned")
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_init(|| run_setup(command, profile, setup, case));
        cell
    }
}

fn run_setup(
    command: &ProviderCommand,
    profile: &Profile,
    setup: &[Step],
    case: &str,
) -> SetupResult {
    let sandbox = Sandbox::new().map_err(|e| (format!("creating a sandbox: {e}"), Vec::new()))?;
    for (i, step) in setup.iter().enumerate() {
        let place = || format!("the setup of {case} (step {})", i + 1);
        let (sent, transcript) = run_step(command, &sandbox, profile, step, &place)
            .map_err(|e| (e.to_string(), Vec::new()))?;
        let record = StepRecord {
            sent,
            transcript,
            at: OffsetDateTime::now_utc(),
        };
        if let Err(reason) = judge_setup(&record) {
            let shown = evidence(
                profile,
                format!("setup {}", i + 1),
                &record.sent,
                &record.transcript,
            );
            return Err((
                format!("setup step {} did not succeed: {reason}", i + 1),
                vec![shown],
            ));
        }
    }
    Ok(sandbox)
}

/// Runs one case (with its own setup cache).
pub fn run_case(
    command: &ProviderCommand,
    profile: &Profile,
    features: &Features,
    case: &ProviderCase,
) -> CaseRun {
    run_case_with(command, profile, features, case, &Setups::default(), &[])
}

/// Whether a case judges the whole run (so it runs after every other case).
fn is_run_wide(case: &ProviderCase) -> bool {
    case.expect.checks.iter().any(|c| secrets::is_run_wide(*c))
}

fn run_case_with(
    command: &ProviderCommand,
    profile: &Profile,
    features: &Features,
    case: &ProviderCase,
    setups: &Setups,
    elsewhere: &[LeakAt],
) -> CaseRun {
    let started = Instant::now();
    let finish = |outcome, evidence| CaseRun {
        outcome,
        evidence,
        duration: started.elapsed(),
    };
    if let Some(missing) = case.input.requires.iter().find(|f| !features.has(**f)) {
        let how = match missing {
            Feature::UnsupportedUrl => "give one with --unsupported-url",
            Feature::Login => "the provider did not accept credlab's login",
            Feature::StoresTokens => "only for providers that store the login token",
            Feature::GeneratesPaseto => "only for providers that answer PASETO tokens",
        };
        return finish(
            Outcome::Skip {
                reason: format!("needs `{}` ({how})", missing.as_str()),
            },
            Vec::new(),
        );
    }
    let sandbox = if case.input.setup.is_empty() {
        Sandbox::new().map_err(|e| format!("creating a sandbox: {e}"))
    } else {
        let cell = setups.run(command, profile, &case.input.setup, case.id.as_str());
        match cell.get().expect("run() initialised it") {
            Ok(template) => {
                Sandbox::copy_of(template).map_err(|e| format!("copying the setup's state: {e}"))
            }
            Err((reason, evidence)) => {
                return finish(
                    Outcome::Skip {
                        reason: reason.clone(),
                    },
                    evidence.clone(),
                );
            }
        }
    };
    let sandbox = match sandbox {
        Ok(s) => s,
        Err(message) => return finish(Outcome::Error { message }, Vec::new()),
    };
    let mut records = Vec::new();
    for (i, step) in case.input.steps.iter().enumerate() {
        let place = || format!("{} step {}", case.id, i + 1);
        match run_step(command, &sandbox, profile, step, &place) {
            Ok((sent, transcript)) => records.push(StepRecord {
                sent,
                transcript,
                at: OffsetDateTime::now_utc(),
            }),
            Err(e) => {
                return finish(
                    Outcome::Error {
                        message: e.to_string(),
                    },
                    Vec::new(),
                );
            }
        }
    }
    let steps: Vec<&Step> = case.input.setup.iter().chain(&case.input.steps).collect();
    let context = Context {
        login_token: login_token(profile, &steps),
        keys: profile.keys(),
        secrets: profile.secrets.clone(),
        elsewhere: elsewhere.to_vec(),
    };
    let reads: Vec<bool> = case.input.steps.iter().map(|s| s.read_response).collect();
    let outcome = judge(&case.expect, &reads, &records, &context);
    // Evidence is for explaining failures; building it for passes would only cost time.
    let shown = if outcome.is_pass() {
        Vec::new()
    } else {
        records
            .iter()
            .enumerate()
            .map(|(i, r)| evidence(profile, format!("step {}", i + 1), &r.sent, &r.transcript))
            .collect()
    };
    finish(outcome, shown)
}

/// Runs `cases` on `jobs` threads, calling `done` (from the worker threads) as each finishes.
/// Results come back in case order. Each distinct setup runs once. Cases that judge the whole
/// run (the `provider::secrets` checks) run last, seeing what every other exchange showed.
pub fn run_cases(
    command: &ProviderCommand,
    profile: &Profile,
    features: &Features,
    cases: &[ProviderCase],
    jobs: usize,
    done: &(dyn Fn(&ProviderCase, &CaseRun) + Sync),
) -> Vec<CaseRun> {
    // Longest first (by the bytes the case sends, then its processes), so a slow case does
    // not start last while the other workers sit idle; results keep the case order.
    let cost = |case: &ProviderCase| {
        let steps = case.input.setup.iter().chain(&case.input.steps);
        let bytes: usize = steps.clone().map(|s| profile.render_len(s)).sum();
        (bytes, steps.count())
    };
    let (mut last, mut first): (Vec<usize>, Vec<usize>) =
        (0..cases.len()).partition(|&i| is_run_wide(&cases[i]));
    first.sort_by_cached_key(|&i| std::cmp::Reverse(cost(&cases[i])));
    last.sort_by_cached_key(|&i| std::cmp::Reverse(cost(&cases[i])));
    let setups = Setups::default();
    let results: Mutex<Vec<Option<CaseRun>>> = Mutex::new(vec![None; cases.len()]);
    let pool = |order: &[usize], elsewhere: &[LeakAt]| {
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..jobs.clamp(1, order.len().max(1)) {
                scope.spawn(|| {
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let case = &cases[i];
                        let run =
                            run_case_with(command, profile, features, case, &setups, elsewhere);
                        done(case, &run);
                        results
                            .lock()
                            .expect("no worker panics while holding the lock")[i] = Some(run);
                    }
                });
            }
        });
    };
    pool(&first, &[]);
    let elsewhere = profile
        .leaks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    pool(&last, &elsewhere);
    results
        .into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|r| r.expect("every case ran"))
        .collect()
}
