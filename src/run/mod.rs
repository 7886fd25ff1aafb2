//! The main job: run the conformance cases against a target and report.
//!
//! `credlab --provider PATH` judges a credential provider; with no target, credlab judges its
//! built-in reference targets (both reference providers, and the token vectors against the
//! reference verifier), which must always be conformant.

mod catalogue;
mod output;
mod provider;
mod registry;
mod verifier;

pub use provider::{command as provider_command, parse_target};
pub use registry::connect_failure;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use credlab_runners::engine::{Filter, Order, RunSettings, Schedule};
use credlab_suite::report::{Expectations, Report, exit};

use crate::exit::{Failure, USAGE};

/// Options of the main job.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The credential provider to judge: a path (run as `PATH --cargo-plugin`, like Cargo),
    /// or `builtin:token-store`, `builtin:paseto`, `builtin:mutant:NAME`.
    #[arg(long, value_name = "PATH", conflicts_with = "registry")]
    provider: Option<String>,
    /// The registry to judge, by its index URL as Cargo users configure it
    /// (`sparse+http://127.0.0.1:PORT/index/`; without `sparse+`, a git index, read with the
    /// `git` CLI as Cargo reads it). Needs --secret-key.
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
    /// Allow a --registry that is not on loopback (credlab publishes and yanks probe crates).
    #[arg(long)]
    allow_remote: bool,
    /// The subject on file for credlab's key (RFC 3231 `sub`): what the registry has enrolled
    /// (--registry), or what a PASETO provider's tokens must carry (--provider; without it,
    /// any `sub` is accepted and shown).
    #[arg(long)]
    subject: Option<String>,
    /// The registry's freshness window for `iat`, in seconds.
    #[arg(long, default_value_t = 900)]
    max_age: u64,
    /// The registry's allowed future skew for `iat`, in seconds.
    #[arg(long, default_value_t = 60)]
    max_future_skew: u64,
    /// An index URL the provider serves (what Cargo sends as `registry.index-url`).
    #[arg(long, value_name = "URL")]
    index_url: Option<String>,
    /// An index URL the provider does not serve (enables the url-not-supported case).
    #[arg(long, value_name = "URL")]
    unsupported_url: Option<String>,
    /// The registry name sent as `registry.name`.
    #[arg(long, default_value = "credlab")]
    registry_name: String,
    /// A token the provider already holds for INDEX_URL (INDEX_URL=TOKEN, or INDEX_URL=@FILE
    /// to read it from FILE; repeat). For providers that cannot log in (a `.netrc` reader, a
    /// CI token): get cases then require exactly this token, and the cases use INDEX_URL.
    #[arg(long = "stored-token", value_name = "INDEX_URL=TOKEN")]
    stored_tokens: Vec<String>,
    /// A folder copied into the provider's private HOME for every exchange (e.g. a `.netrc`).
    #[arg(long, value_name = "DIR")]
    provider_home: Option<PathBuf>,
    /// Run the cases in a random order (the seed is printed; repeat a run with --seed).
    #[arg(long)]
    shuffle: bool,
    /// The seed of --shuffle (default: a fresh one).
    #[arg(long, value_name = "N", requires = "shuffle")]
    seed: Option<u64>,
    /// A config argument for the provider, sent in the JSON `args` as Cargo does (repeat).
    #[arg(long = "provider-arg", value_name = "ARG", allow_hyphen_values = true)]
    provider_args: Vec<String>,
    /// An environment variable for the provider, KEY=VALUE (repeat). The provider otherwise
    /// gets only PATH and a private HOME/XDG/TMPDIR.
    #[arg(long = "provider-env", value_name = "KEY=VALUE")]
    provider_env: Vec<String>,
    /// The k3.secret credlab logs in with (--provider; default: a fresh key per run) or signs
    /// with (--registry: the key the registry enrolled).
    #[command(flatten)]
    pub secret_key: crate::cli::SecretKeyArgs,
    /// Plain-token mode for --registry: the registry's own tokens instead of a key.
    #[command(flatten)]
    pub registry_token: crate::cli::RegistryTokenArgs,
    /// A k3.public key PASETO tokens from the provider may be signed with (repeat).
    #[arg(long = "public-key", value_name = "KEY")]
    public_keys: Vec<String>,
    /// Output format on stdout (or in --report FILE).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Write the --format report to FILE; stdout then shows the human report.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Known failures (TOML); listed failures become xfail, listed passes and entries that
    /// match nothing fail the run.
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// Run only cases whose id matches GLOB (repeat).
    #[arg(long, value_name = "GLOB")]
    only: Vec<String>,
    /// Skip cases whose id matches GLOB (repeat).
    #[arg(long, value_name = "GLOB")]
    skip: Vec<String>,
    /// Cases run in parallel (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Seconds each phase of a provider exchange may take (hello, response, exit).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    timeout: Option<Duration>,
    /// Regression vectors found by `credlab fuzz` to run too (default: the checkout's
    /// `vectors/found` when there is one).
    #[arg(long, value_name = "DIR")]
    found: Option<PathBuf>,
    /// Count should-level failures too.
    #[arg(long)]
    strict: bool,
    /// What a run in which no scored case ran (all filtered out or skipped) exits with:
    /// `fail` (exit 4), `warn` (a warning, then as if conformant) or `pass`.
    #[arg(long, value_enum, default_value_t = NoTests::Fail)]
    no_tests: NoTests,
    /// List the cases and exit.
    #[arg(long)]
    list: bool,
    /// Explain one case and exit.
    #[arg(long, value_name = "ID")]
    explain: Option<String>,
}

/// `--no-tests`, as cargo-nextest spells it (the policy is `exit::NoTests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NoTests {
    Fail,
    Warn,
    Pass,
}

impl From<NoTests> for exit::NoTests {
    fn from(choice: NoTests) -> Self {
        match choice {
            NoTests::Fail => exit::NoTests::Fail,
            NoTests::Warn => exit::NoTests::Warn,
            NoTests::Pass => exit::NoTests::Pass,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
    Markdown,
    /// One self-contained page (no script, no external asset) to attach to a CI run.
    Html,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err("must be more than 0 and at most 3600 seconds".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Case-id filters from --only and --skip.
fn filter(args: &RunArgs) -> Result<Filter, Failure> {
    Filter::new(&args.only, &args.skip).map_err(|e| Failure::usage(e.to_string()))
}

/// How cases are scheduled: --jobs, and --shuffle with its seed (printed, so a failing order
/// can be replayed). Targets whose cases share state run them one at a time whatever this says.
pub fn schedule(args: &RunArgs, out: &output::Output) -> Schedule {
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let order = if args.shuffle {
        let seed = args.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
        out.note(&format!("  shuffled with --seed {seed}"));
        Order::Shuffled(seed)
    } else {
        Order::LongestFirst
    };
    Schedule { jobs, order }
}

/// What every target's run takes from the command line.
pub struct Context<'a> {
    pub args: &'a RunArgs,
    pub filter: &'a Filter,
    pub expectations: &'a Expectations,
    pub out: &'a output::Output,
}

impl Context<'_> {
    /// How the runner core runs a target's cases and scores them.
    fn settings(&self, schedule: Schedule) -> RunSettings<'_> {
        RunSettings {
            schedule,
            expectations: self.expectations,
            strict: self.args.strict,
            reporter: self.out,
        }
    }
}

/// The found-vector directory: --found, else ./vectors/found, else the checkout's.
pub fn found_dir(args: &RunArgs) -> Option<PathBuf> {
    if let Some(dir) = &args.found {
        return Some(dir.clone());
    }
    // Only the defaults may be missing; a --found the user named must exist (checked in
    // `found`).
    [
        PathBuf::from("vectors/found"),
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/found"),
    ]
    .into_iter()
    .find(|d| d.is_dir())
}

/// The found vectors, (provider files, token files); none when there is no directory.
type Found = (
    Vec<credlab_suite::cases::provider::ProviderFile>,
    Vec<credlab_suite::cases::token::TokenFile>,
);

fn found(args: &RunArgs) -> Result<Found, Failure> {
    if let Some(dir) = &args.found
        && !dir.is_dir()
    {
        return Err(Failure::usage(format!(
            "--found {}: not a directory",
            dir.display()
        )));
    }
    match found_dir(args) {
        Some(dir) => credlab_runners::blackbox::load_found(&dir).map_err(Failure::data),
        None => Ok(Default::default()),
    }
}

pub fn run(args: RunArgs) -> Result<u8, Failure> {
    let filter = filter(&args)?;
    if args.list {
        return catalogue::list(&filter);
    }
    if let Some(id) = &args.explain {
        return catalogue::explain(id);
    }
    let expectations = match &args.expect {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::data(format!("{}: {e}", path.display())))?;
            Expectations::parse(&text)
                .map_err(|e| Failure::data(format!("{}: {e}", path.display())))?
        }
        None => Expectations::default(),
    };
    if let Some(path) = &args.report {
        output::check_writable(path)?;
    }
    let out = output::Output::new(args.format, args.report.clone());
    let (found_providers, found_tokens) = found(&args)?;
    let context = Context {
        args: &args,
        filter: &filter,
        expectations: &expectations,
        out: &out,
    };
    let reports: Vec<Report> = match (&args.provider, &args.registry) {
        (Some(target), _) => vec![provider::run(&context, target, &found_providers)?],
        (None, Some(url)) => vec![registry::run(&context, url)?],
        (None, None) => {
            if args.index_url.is_some() || !args.provider_args.is_empty() {
                return Err(Failure {
                    code: USAGE,
                    message: "--index-url and --provider-arg need --provider".into(),
                });
            }
            let mut reports = Vec::new();
            for builtin in ["builtin:token-store", "builtin:paseto"] {
                reports.push(provider::run(&context, builtin, &found_providers)?);
            }
            reports.push(registry::run_builtin(&context)?);
            reports.push(registry::run_builtin_plain(&context)?);
            reports.push(verifier::run(&context, &found_tokens));
            reports
        }
    };
    out.finish(&reports)?;
    let (code, warning) = exit::of_run(&reports, args.no_tests.into());
    if let Some(warning) = warning {
        crate::out::errln!("{warning}");
    }
    Ok(code)
}
