//! `credlab --provider PATH`: the provider cases against one credential provider.

use std::collections::BTreeMap;
use std::path::PathBuf;

use credlab_runners::builtin::Builtin;

use credlab_runners::process::{ProviderCommand, SpawnError};
use credlab_runners::provider_run::{self, CaseRun, Profile};
use credlab_suite::cases::provider::{ProviderCase, ProviderFile};
use credlab_suite::keys::{PublicKey, SecretKey};
use credlab_suite::provider::Timeouts;
use credlab_suite::redact::SecretKind;
use credlab_suite::report::{CaseReport, Expectations, Report, Target};
use credlab_suite::vectors::embedded;

use super::output::Output;
use super::{Filter, RunArgs};
use crate::exit::Failure;

/// The environment variable that makes `credlab --cargo-plugin` a built-in provider.
pub const BUILTIN_ENV: &str = "CREDLAB_BUILTIN_PROVIDER";

/// What `--provider` names: a program, or one of credlab's built-in providers
/// (`builtin:NAME`), parsed once.
#[derive(Debug, Clone)]
pub enum ProviderTarget {
    Program(PathBuf),
    Builtin(Builtin),
}

impl ProviderTarget {
    pub fn parse(text: &str) -> Result<Self, Failure> {
        match text.strip_prefix("builtin:") {
            Some(name) => name
                .parse()
                .map(ProviderTarget::Builtin)
                .map_err(Failure::usage),
            None => Ok(ProviderTarget::Program(PathBuf::from(text))),
        }
    }
}

/// The command for a target: the program, or credlab itself as a built-in provider, with the
/// `--provider-env KEY=VALUE` pairs set.
pub fn command(
    target: &ProviderTarget,
    provider_env: &[String],
) -> Result<ProviderCommand, Failure> {
    let mut command = match target {
        ProviderTarget::Builtin(builtin) => {
            let exe = std::env::current_exe().map_err(|e| {
                Failure::target(format!("cannot locate the credlab executable: {e}"))
            })?;
            ProviderCommand::new(exe).env(BUILTIN_ENV, builtin.name())
        }
        ProviderTarget::Program(path) => ProviderCommand::new(path),
    };
    for pair in provider_env {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            Failure::usage(format!("--provider-env {pair:?}: expected KEY=VALUE"))
        })?;
        // A key handed to the provider through its environment is a secret of the run too.
        if let Ok(secret) = SecretKey::from_paserk(value) {
            crate::secrets::register().add_key(SecretKind::LoginKey, "provider-env-key", &secret);
        }
        command = command.env(key, value);
    }
    Ok(command)
}

/// `INDEX_URL=TOKEN` or `INDEX_URL=@FILE` (the token registered as a secret before any
/// error could quote it).
fn stored_token(pair: &str) -> Result<(String, String), Failure> {
    let Some((url, value)) = pair.rsplit_once('=').filter(|(u, _)| u.contains("://")) else {
        return Err(Failure::usage(
            "--stored-token: expected INDEX_URL=TOKEN or INDEX_URL=@FILE",
        ));
    };
    let token = match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("--stored-token {url}=@{path}: {e}")))?
            .trim_end_matches(['\n', '\r'])
            .to_string(),
        None => value.to_string(),
    };
    crate::secrets::register().add(SecretKind::StoredToken, "stored-token", &token);
    if token.is_empty() {
        return Err(Failure::usage(format!(
            "--stored-token {url}: the token is empty"
        )));
    }
    Ok((url.to_string(), token))
}

fn profile(args: &RunArgs) -> Result<Profile, Failure> {
    let login_key = match args.secret_key.load()? {
        Some(key) => key,
        None => SecretKey::generate(),
    };
    let mut profile = Profile::new_in(login_key, crate::secrets::register());
    if let Some(url) = &args.index_url {
        profile.index_url = url.clone();
    }
    profile.pinned = args.index_url.is_some();
    profile.unsupported_url = args.unsupported_url.clone();
    profile.registry_name = args.registry_name.clone();
    profile.subject = args.subject.clone();
    profile.home_fixture = args.provider_home.clone();
    if let Some(dir) = &args.provider_home
        && !dir.is_dir()
    {
        return Err(Failure::usage(format!(
            "--provider-home {}: not a directory",
            dir.display()
        )));
    }
    for pair in &args.stored_tokens {
        let (url, token) = stored_token(pair)?;
        profile.store(&url, &token);
    }
    profile.args = args.provider_args.clone();
    for text in &args.public_keys {
        profile.public_keys.push(
            PublicKey::from_paserk(text)
                .map_err(|e| Failure::usage(format!("--public-key: {e}")))?,
        );
    }
    if let Some(each) = args.timeout {
        profile.timeouts = Timeouts::uniform(each);
    }
    Ok(profile)
}

/// The environment variable that tells the built-in token store (and the mutants built on it)
/// which index URLs it serves (a prefix), so url-not-supported is tested. An environment
/// variable, not a config argument: a case that sends `"args":[]` must not change what the
/// built-in serves.
pub const ONLY_URL_ENV: &str = credlab_runners::reference::ONLY_URL_ENV;

/// Configures a built-in target: the token-store ones serve only the profile's index URL and
/// its per-case children, so the url-not-supported case applies. Used by the run and by
/// `credlab fuzz`.
pub fn builtin_setup(
    target: &ProviderTarget,
    profile: &mut Profile,
    command: ProviderCommand,
) -> ProviderCommand {
    let token_store = matches!(target, ProviderTarget::Builtin(b) if b.is_token_store());
    if !token_store || profile.unsupported_url.is_some() || !profile.args.is_empty() {
        return command;
    }
    profile.unsupported_url = Some("sparse+https://elsewhere.credlab.test/index/".into());
    command.env(ONLY_URL_ENV, &profile.index_url)
}

pub fn cases(filter: &Filter, found: &[ProviderFile]) -> Vec<ProviderCase> {
    embedded::provider_files()
        .into_iter()
        .chain(found.iter().cloned())
        .flat_map(|f| f.cases)
        .filter(|c| filter.keeps(c.id.as_str()))
        .collect()
}

fn case_report(case: &ProviderCase, run: &CaseRun) -> CaseReport {
    CaseReport {
        id: case.id.clone(),
        level: case.level,
        verdict: run.outcome.clone().into(),
        duration_ms: run.duration.as_millis().try_into().unwrap_or(u64::MAX),
        evidence: run.evidence.clone(),
    }
}

pub fn run(
    args: &RunArgs,
    target: &str,
    filter: &Filter,
    expectations: &Expectations,
    out: &Output,
    found: &[ProviderFile],
) -> Result<Report, Failure> {
    let mut profile = profile(args)?;
    let parsed = ProviderTarget::parse(target)?;
    let command = builtin_setup(&parsed, &mut profile, command(&parsed, &args.provider_env)?);
    out.note(&format!("credlab: provider {target}"));
    let features = provider_run::probe(&command, &profile).map_err(|e| match e {
        SpawnError::NotFound(_) | SpawnError::NotExecutable(_) => Failure::target(e.to_string()),
        other => Failure::target(format!("the provider could not be started: {other}")),
    })?;
    let mut facts: BTreeMap<String, String> = features.facts.clone();
    facts.insert("index-url".into(), profile.index_url.clone());
    if let Some(url) = &profile.unsupported_url {
        facts.insert("unsupported-url".into(), url.clone());
    }
    facts.insert(
        "login-key".into(),
        profile.login_key.public_key().to_string(),
    );
    for (k, v) in &facts {
        out.note(&format!("  {k}: {v}"));
    }
    let cases = cases(filter, found);
    let schedule = super::schedule(args, out);
    let runs = provider_run::run_cases(
        &command,
        &profile,
        &features,
        &cases,
        schedule,
        &|case, run| {
            out.progress(&case_report(case, run));
        },
    );
    let reports = cases
        .iter()
        .zip(&runs)
        .map(|(c, r)| case_report(c, r))
        .collect();
    let target = Target {
        kind: "provider".into(),
        name: target.into(),
        facts,
    };
    let report = Report::new(target, reports, expectations, args.strict);
    out.target_done(&report);
    Ok(report)
}
