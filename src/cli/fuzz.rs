//! `credlab fuzz --provider PATH` / `credlab fuzz --registry URL`: black-box fuzzing, each
//! finding shrunk and written as a regression vector (`credlab_runners::blackbox`).
//!
//! Exit codes: 0 nothing found, 1 findings, 2 usage (a `--registry` URL credlab will not
//! contact among them), 78 the target could not be started or reached (or handed credlab a URL
//! it will not contact: config.json's `api`/`dl`, a redirect).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use credlab_runners::blackbox::{
    self, DEFAULT_SHRINK_BUDGET, Finding, FindingKind, FuzzOptions, FuzzReport,
};
use credlab_runners::provider_run::Profile;
use credlab_runners::registry_run::{self, Target};
use credlab_suite::judge::provider::show;
use credlab_suite::keys::SecretKey;
use credlab_suite::provider::{CloseStdin, Exchange, Timeouts};
use serde_json::json;

use crate::exit::{FAILED, Failure, OK};

/// Options of `credlab fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The credential provider to fuzz: a path (run as `PATH --cargo-plugin`, like Cargo), or
    /// `builtin:token-store`, `builtin:paseto`, `builtin:mutant:NAME`.
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "registry",
        required_unless_present = "registry"
    )]
    provider: Option<String>,
    /// The registry to fuzz, by its index URL (`sparse+http://127.0.0.1:PORT/index/`). Needs
    /// --secret-key: tokens are signed with it, then mutated.
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// The k3.secret: the registry's enrolled key (--registry), or the key credlab logs in to
    /// the provider with (default: one derived from --seed).
    #[command(flatten)]
    pub secret_key: super::SecretKeyArgs,
    /// The subject the registry has on file for the key (RFC 3231 `sub`).
    #[arg(long, requires = "registry")]
    subject: Option<String>,
    /// Allow a --registry that is not on loopback (credlab publishes and yanks probe crates).
    #[arg(long, requires = "registry")]
    allow_remote: bool,
    /// The index URL sent to the provider (`registry.index-url`).
    #[arg(long, value_name = "URL", requires = "provider")]
    index_url: Option<String>,
    /// A config argument for the provider, sent in the JSON `args` (repeat).
    #[arg(
        long = "provider-arg",
        value_name = "ARG",
        allow_hyphen_values = true,
        requires = "provider"
    )]
    provider_args: Vec<String>,
    /// An environment variable for the provider, KEY=VALUE (repeat).
    #[arg(long = "provider-env", value_name = "KEY=VALUE", requires = "provider")]
    provider_env: Vec<String>,
    /// The seed: the same seed against the same target sends the same inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after N inputs (default, with neither this nor --duration: 200 inputs or 30 s).
    #[arg(long, value_name = "N")]
    iterations: Option<u64>,
    /// Stop after SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    duration: Option<Duration>,
    /// Seconds each phase of an exchange (provider) or each request (registry) may take.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds, default_value = "1")]
    timeout: Duration,
    /// Shrink attempts per finding.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SHRINK_BUDGET)]
    shrink_budget: usize,
    /// Where found vectors are written.
    #[arg(long, value_name = "DIR", default_value = "vectors/found")]
    found: PathBuf,
    /// Keep going after the first finding (findings like one already reported are only counted).
    #[arg(long)]
    keep_going: bool,
    /// Output format on stdout (progress goes to stderr).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err("must be more than 0 and at most 86400 seconds".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn options(args: &FuzzArgs) -> FuzzOptions {
    FuzzOptions {
        seed: args.seed,
        iterations: args.iterations,
        duration: args.duration,
        timeout: args.timeout,
        shrink_budget: args.shrink_budget,
        found_dir: Some(args.found.clone()),
        keep_going: args.keep_going,
    }
}

fn secret_key(args: &FuzzArgs) -> Result<Option<SecretKey>, Failure> {
    args.secret_key.load()
}

/// How a minimized input is shown (with the provider's login secret redacted).
type Shown = Box<dyn Fn(&[u8]) -> String>;

pub fn run(mut args: FuzzArgs, from_env: Option<String>) -> Result<u8, Failure> {
    args.secret_key.from_env = from_env;
    let progress = |line: &str| crate::out::errln!("{}", crate::secrets::shown(line));
    let (target, report, shown): (String, FuzzReport, Shown) = match (
        &args.provider,
        &args.registry,
    ) {
        (Some(target), None) => {
            let login = match secret_key(&args)? {
                Some(key) => key,
                None => blackbox::provider::login_key_for_seed(args.seed),
            };
            let mut profile = Profile::new_in(login, crate::secrets::register());
            if let Some(url) = &args.index_url {
                profile.index_url = url.clone();
            }
            profile.args = args.provider_args.clone();
            let parsed = crate::run::parse_target(target)?;
            let command = parsed.configure(
                &mut profile,
                crate::run::provider_command(&parsed, &args.provider_env)?,
            );
            profile.timeouts = Timeouts::uniform(args.timeout);
            // Can it be started at all? (An exchange with no request: hello, EOF, exit.)
            let check = Exchange {
                request: None,
                read_response: false,
                close_stdin: CloseStdin::AfterHello,
                timeouts: profile.timeouts,
            };
            command
                .run(&check)
                .map_err(|e| Failure::target(format!("the provider could not be started: {e}")))?;
            progress(&format!(
                "credlab fuzz: provider {target}, seed {}, timeout {:?}",
                args.seed, args.timeout
            ));
            let report = blackbox::fuzz_provider(&command, &profile, &options(&args), &progress);
            let shown = Box::new(move |bytes: &[u8]| profile.redacted(bytes));
            (target.clone(), report, shown)
        }
        (None, Some(url)) => {
            let Some(key) = secret_key(&args)? else {
                return Err(Failure::usage(
                    "--registry needs --secret-key (or CREDLAB_SECRET_KEY): the k3.secret whose \
                         k3.public the registry has enrolled for credlab",
                ));
            };
            let session = registry_run::connect(Target {
                index_url: url.clone(),
                key,
                plain: None,
                subject: args.subject.clone(),
                max_age: Duration::from_secs(900),
                max_skew: Duration::from_secs(60),
                allow_remote: args.allow_remote,
                timeout: args.timeout.max(Duration::from_secs(5)),
                secrets: crate::secrets::register().clone(),
            })
            .map_err(crate::run::connect_failure)?;
            progress(&format!(
                "credlab fuzz: registry {url}, seed {}, timeout {:?}",
                args.seed, args.timeout
            ));
            let report = blackbox::fuzz_registry(&session, &options(&args), &progress);
            // A token that decodes may be a live credential: shown by fingerprint only (the
            // vector holds it in full).
            let shown: Shown = Box::new(|bytes: &[u8]| {
                let text = String::from_utf8_lossy(bytes);
                if credlab_suite::paseto::decode(&text).is_ok() {
                    format!(
                        "{} ({} bytes)",
                        credlab_suite::redact::token(&text),
                        bytes.len()
                    )
                } else {
                    show(bytes)
                }
            });
            (url.clone(), report, shown)
        }
        _ => return Err(Failure::usage("give --provider PATH or --registry URL")),
    };
    match args.format {
        Format::Human => print_human(&target, &args, &report, &*shown),
        Format::Json => print_json(&target, &args, &report, &*shown),
    }
    Ok(if report.findings.is_empty() {
        OK
    } else {
        FAILED
    })
}

fn print_human(
    target: &str,
    args: &FuzzArgs,
    report: &FuzzReport,
    shown: &dyn Fn(&[u8]) -> String,
) {
    // Every line passes the register and the terminal filter: details quote the target.
    let line = |text: String| crate::out::outln!("{}", crate::secrets::shown(&text));
    line(format!(
        "credlab fuzz {target}: {} inputs in {:.1} s (seed {}), {} finding(s)",
        report.iterations,
        report.elapsed.as_secs_f64(),
        args.seed,
        report.findings.len()
    ));
    for f in &report.findings {
        line(format!(
            "  {} {}: {}",
            kind_label(f.kind),
            f.case_id,
            f.detail
        ));
        line(format!(
            "    input {} bytes at iteration {}, shrunk to {} bytes in {} attempts: {}",
            f.input.len(),
            f.iteration,
            f.minimized.len(),
            f.shrink_attempts,
            shown(&f.minimized)
        ));
        if let Some(path) = &f.vector {
            line(format!("    wrote {}", path.display()));
        }
    }
    if report.duplicates > 0 {
        line(format!(
            "  {} more finding(s) of signatures already reported",
            report.duplicates
        ));
    }
    for note in &report.notes {
        line(format!("  note: {note}"));
    }
}

fn kind_label(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Crash => "CRASH",
        FindingKind::Hang => "HANG",
        FindingKind::Garbage => "GARBAGE",
        FindingKind::OkOnGarbage => "OK-ON-GARBAGE",
        FindingKind::ServerError => "SERVER-ERROR",
        FindingKind::AcceptedGarbage => "ACCEPTED-GARBAGE",
        FindingKind::Dropped => "DROPPED",
    }
}

fn finding_json(f: &Finding, shown: &dyn Fn(&[u8]) -> String) -> serde_json::Value {
    json!({
        "kind": f.kind.as_str(),
        "id": f.case_id,
        "detail": f.detail,
        "iteration": f.iteration,
        "input_bytes": f.input.len(),
        "minimized_bytes": f.minimized.len(),
        "minimized": shown(&f.minimized),
        "shrink_attempts": f.shrink_attempts,
        "vector": f.vector.as_ref().map(|p| p.display().to_string()),
    })
}

fn print_json(target: &str, args: &FuzzArgs, report: &FuzzReport, shown: &dyn Fn(&[u8]) -> String) {
    let mut value = json!({
        "target": target,
        "kind": if args.provider.is_some() { "provider" } else { "registry" },
        "seed": args.seed,
        "iterations": report.iterations,
        "elapsed_ms": u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        "findings": report.findings.iter().map(|f| finding_json(f, shown)).collect::<Vec<_>>(),
        "duplicates": report.duplicates,
        "notes": report.notes,
    });
    crate::secrets::register().scrub_json(&mut value);
    super::print_json(&value);
}
