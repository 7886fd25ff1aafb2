//! `credlab --provider PATH`: the provider cases against one credential provider.

use std::collections::BTreeMap;

use credlab_runners::engine::run_target;
use credlab_runners::process::{ProviderCommand, SpawnError};
use credlab_runners::provider_run::{self, Profile, ProviderTarget};
use credlab_suite::cases::provider::ProviderFile;
use credlab_suite::keys::{PublicKey, SecretKey};
use credlab_suite::provider::Timeouts;
use credlab_suite::redact::SecretKind;
use credlab_suite::report::{Report, Target};

use super::{Context, RunArgs};
use crate::exit::Failure;

/// Parses `--provider`: a bad `builtin:NAME` is a usage error.
pub fn parse_target(text: &str) -> Result<ProviderTarget, Failure> {
    ProviderTarget::parse(text).map_err(|e| Failure::usage(e.to_string()))
}

/// The command for a target with the `--provider-env KEY=VALUE` pairs set.
pub fn command(
    target: &ProviderTarget,
    provider_env: &[String],
) -> Result<ProviderCommand, Failure> {
    let mut command = target
        .command()
        .map_err(|e| Failure::target(e.to_string()))?;
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

pub fn run(context: &Context, target: &str, found: &[ProviderFile]) -> Result<Report, Failure> {
    let args = context.args;
    let mut profile = profile(args)?;
    let parsed = parse_target(target)?;
    let command = parsed.configure(&mut profile, command(&parsed, &args.provider_env)?);
    context.out.note(&format!("credlab: provider {target}"));
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
    let cases = provider_run::cases(context.filter, found);
    let jobs = provider_run::jobs(&command, &profile, &features, &cases);
    let target = Target {
        kind: "provider".into(),
        name: target.into(),
        facts,
    };
    let schedule = super::schedule(args, context.out);
    Ok(run_target(target, jobs, &context.settings(schedule)))
}
