//! `credlab --registry URL`: the registry cases over HTTP against one registry.

use std::time::Duration;

use credlab_runners::engine::{Schedule, run_target};
use credlab_runners::registry_run::{self, ConnectError, Session, Target};
use credlab_suite::keys::SecretKey;
use credlab_suite::report::Report;

use super::{Context, RunArgs};
use crate::exit::Failure;

/// Runs every registry case on a connected session, one at a time in declared order (they
/// share the probe crate).
pub fn run_session(context: &Context, session: &Session, name: &str) -> Report {
    if let Err(e) = registry_run::publish_probe(session) {
        context.out.note(&format!("  warning: {e}"));
    }
    if context.args.shuffle || context.args.jobs.is_some_and(|j| j > 1) {
        context.out.note(
            "  registry cases run one at a time in declared order (they share one probe crate); \
             --shuffle and --jobs do not apply",
        );
    }
    let cases = registry_run::cases(session, context.filter);
    let jobs = registry_run::jobs(session, &cases);
    run_target(
        registry_run::report_target(session, name),
        jobs,
        &context.settings(Schedule::sequential()),
    )
}

pub fn target(args: &RunArgs, url: &str, key: SecretKey) -> Target {
    Target {
        index_url: url.to_string(),
        key,
        plain: None,
        subject: args.subject.clone(),
        max_age: Duration::from_secs(args.max_age),
        max_skew: Duration::from_secs(args.max_future_skew),
        allow_remote: args.allow_remote,
        timeout: args.timeout.unwrap_or(Duration::from_secs(10)),
        secrets: crate::secrets::register().clone(),
    }
}

pub fn connect(target: Target) -> Result<Session, Failure> {
    registry_run::connect(target).map_err(connect_failure)
}

/// The exit code of a failed connection: 2 when the URL the user gave is refused, 78 when
/// the target is at fault (a refused URL it handed credlab: config.json's `api`/`dl`, a
/// redirect; or no answer, or not a registry's answer).
pub fn connect_failure(error: ConnectError) -> Failure {
    match error {
        ConnectError::UserUrl(m) => Failure::usage(m),
        ConnectError::TargetUrl(m) => Failure::target(m),
        ConnectError::Unreachable(m) => {
            Failure::target(format!("the registry could not be reached: {m}"))
        }
    }
}

pub fn run(context: &Context, url: &str) -> Result<Report, Failure> {
    let (args, out) = (context.args, context.out);
    let plain = args.registry_token.load()?;
    let key = args.secret_key.load()?;
    let target = match (key, plain) {
        (Some(_), Some(_)) => {
            return Err(Failure::usage(
                "--registry takes a key (--secret-key-file: the registry verifies cargo:paseto \
                 tokens) or a token (--token-file: it issued plain tokens), not both",
            ));
        }
        (Some(key), None) => target(args, url, key),
        (None, Some(plain)) => Target {
            plain: Some(plain),
            // Signs nothing that is sent: only the offline fixture holds a key.
            ..target(args, url, SecretKey::generate())
        },
        (None, None) => {
            return Err(Failure::usage(
                "--registry needs --secret-key-file (or CREDLAB_SECRET_KEY): the k3.secret whose \
                 k3.public the registry has enrolled for credlab (`credlab key generate` makes a \
                 pair), or, for a registry with plain tokens, --token-file (or \
                 CREDLAB_REGISTRY_TOKEN): the token it issued for credlab's user",
            ));
        }
    };
    out.note(&format!(
        "credlab: registry {url}{}",
        if target.plain.is_some() {
            " (plain tokens)"
        } else {
            ""
        }
    ));
    let session = connect(target)?;
    Ok(run_session(context, &session, url))
}

/// The registry cases against an in-process reference registry (`credlab serve`), on a
/// loopback port, with a fresh key enrolled.
pub fn run_builtin(context: &Context) -> Result<Report, Failure> {
    let (args, out) = (context.args, context.out);
    use credlab_targets::registry::server::{Config, start};
    let key = SecretKey::generate();
    let config = Config {
        keys: vec![(key.public_key().clone(), args.subject.clone())],
        ..Config::default()
    };
    let running = start(config)
        .map_err(|e| Failure::target(format!("starting the reference registry: {e}")))?;
    let url = running.index_url();
    out.note(&format!(
        "credlab: registry builtin:reference-registry at {url}"
    ));
    let session = connect(target(args, &url, key))?;
    let report = run_session(context, &session, "builtin:reference-registry");
    running.shutdown();
    Ok(report)
}

/// The registry cases against an in-process reference registry in plain-token mode
/// (`credlab serve --plain-token-file`), with two users' fresh random tokens: credlab's and a
/// second one without rights on the probe crate.
pub fn run_builtin_plain(context: &Context) -> Result<Report, Failure> {
    use credlab_runners::registry_run::PlainCredential;
    use credlab_targets::registry::server::plain::PlainToken;
    use credlab_targets::registry::server::{Config, start};
    let (args, out) = (context.args, context.out);
    // A random token per user: the fingerprint of a fresh key is as unguessable as anything.
    let fresh = |user: &str| {
        let token = format!(
            "cio-{user}-{}",
            credlab_suite::vectors::fixture::sha256_hex(
                SecretKey::generate().public_key().id().as_str().as_bytes()
            )
        );
        crate::secrets::register().add(
            credlab_suite::redact::SecretKind::StoredToken,
            "registry-token",
            &token,
        );
        token
    };
    let (token, other) = (fresh("credlab"), fresh("second"));
    let issued = |login: &str, token: &str| {
        PlainToken::new(login, token)
            .map_err(|e| Failure::target(format!("issuing a reference token: {e}")))
    };
    let config = Config {
        plain_tokens: vec![issued("credlab", &token)?, issued("second", &other)?],
        ..Config::default()
    };
    let running = start(config)
        .map_err(|e| Failure::target(format!("starting the reference registry: {e}")))?;
    let url = running.index_url();
    out.note(&format!(
        "credlab: registry builtin:reference-registry-plain at {url} (plain tokens)"
    ));
    let target = Target {
        plain: Some(PlainCredential {
            token,
            other: Some(other),
        }),
        ..target(args, &url, SecretKey::generate())
    };
    let session = connect(target)?;
    let report = run_session(context, &session, "builtin:reference-registry-plain");
    running.shutdown();
    Ok(report)
}
