//! The black-box fuzzer against real targets: seeded-bug providers and the reference providers
//! as real processes, the reference registry (with and without a seeded bug) over real HTTP on
//! 127.0.0.1.
//!
//! The mutants are built-in providers of the `credlab` binary, which runners' tests cannot
//! name; so this test binary serves them itself: started as `blackbox --cargo-plugin` with
//! `CREDLAB_BUILTIN_PROVIDER=NAME`, it runs `credlab_targets::builtin::run(NAME)`, exactly as
//! `credlab --cargo-plugin` does (hence `harness = false`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use credlab_runners::blackbox::{
    self, FindingKind, FuzzOptions, FuzzReport, fuzz_provider, fuzz_registry, load_found,
};
use credlab_runners::process::ProviderCommand;
use credlab_runners::provider_run::{Features, Profile, run_case};
use credlab_runners::registry_run::{self, Target};
use credlab_suite::backend::Backend;
use credlab_suite::judge::token::judge_reference;
use credlab_suite::keys::SecretKey;
use credlab_suite::provider::Timeouts;
use credlab_suite::verify::Policy;
use credlab_targets::builtin::BUILTIN_ENV;
use credlab_targets::registry::server::{self, Bug, Config};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let argv: Vec<_> = std::env::args_os().skip(1).collect();
    if argv == ["--cargo-plugin"]
        && let Some(name) = std::env::var_os(BUILTIN_ENV)
    {
        std::process::exit(credlab_targets::builtin::run(&name.to_string_lossy()));
    }
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for (mutant, kind) in [
        ("hang-on-garbage", FindingKind::Hang),
        ("garbage-on-garbage", FindingKind::Garbage),
        ("crash-on-garbage", FindingKind::Crash),
        ("ok-on-garbage", FindingKind::OkOnGarbage),
    ] {
        trials.push(Trial::test(
            format!("provider::mutant::{mutant}"),
            move || mutant_is_found(mutant, kind),
        ));
    }
    for reference in ["token-store", "paseto"] {
        trials.push(Trial::test(
            format!("provider::reference::{reference}"),
            move || reference_is_clean(reference),
        ));
    }
    trials.push(Trial::test(
        "provider::seed-1-writes-the-committed-vector",
        seed_1_writes_the_committed_vector,
    ));
    trials.push(Trial::test("registry::server-error-on-garbage", || {
        registry_bug_is_found()
    }));
    trials.push(Trial::test(
        "registry::reference",
        registry_reference_is_clean,
    ));
    trials.push(Trial::test(
        "found::committed-vectors-replay",
        committed_vectors_replay,
    ));
    libtest_mimic::run(&args, trials).exit();
}

fn builtin(name: &str) -> ProviderCommand {
    let exe = std::env::current_exe().expect("the test binary has a path");
    ProviderCommand::new(exe).env(BUILTIN_ENV, name)
}

/// The fuzzing profile (login key derived from seed 1), with 2 s deadlines for replays.
fn profile() -> Profile {
    let mut profile = Profile::new(blackbox::provider::login_key_for_seed(1));
    profile.timeouts = Timeouts::uniform(Duration::from_secs(2));
    profile
}

/// The default bounded run, writing to `dir`.
fn default_options(dir: Option<&Path>) -> FuzzOptions {
    FuzzOptions {
        found_dir: dir.map(Path::to_path_buf),
        ..FuzzOptions::default()
    }
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

fn summary(report: &FuzzReport) -> String {
    let findings: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {} ({})", f.kind, f.case_id, f.detail))
        .collect();
    format!(
        "{} inputs, findings {findings:?}, notes {:?}",
        report.iterations, report.notes
    )
}

/// The schema file `credlab vectors check` validates with.
fn committed_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/schema/vectors.schema.json");
    credlab_suite::vectors::check::compile_schema(&path).expect("the committed schema compiles")
}

fn schema_valid(path: &Path) -> Result<(), Failed> {
    let value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let errors: Vec<String> = committed_schema()
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    check(errors.is_empty(), || {
        format!("{}: {errors:?}", path.display())
    })
}

/// Two default runs with seed 1 (in parallel): each finds `kind` once and shrinks it the same
/// way, then writes the same vector (it loads and follows the schema) or, when a committed
/// case already sends the shrunk input, notes that case instead. Either case is a regression
/// case for the mutant: the reference providers pass it and the mutant fails it.
fn mutant_is_found(mutant: &str, kind: FindingKind) -> Result<(), Failed> {
    let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
    let command = builtin(&format!("mutant:{mutant}"));
    let reports: Vec<FuzzReport> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|d| {
                let command = &command;
                s.spawn(move || {
                    fuzz_provider(
                        command,
                        &profile(),
                        &default_options(Some(d.path())),
                        &|_| {},
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let mut vectors: Vec<PathBuf> = Vec::new();
    for report in &reports {
        check(report.findings.len() == 1, || summary(report))?;
        let f = &report.findings[0];
        check(f.kind == kind, || {
            format!("expected {kind}: {}", summary(report))
        })?;
        check(f.minimized.len() < f.input.len(), || {
            format!(
                "not shrunk: {} -> {} bytes",
                f.input.len(),
                f.minimized.len()
            )
        })?;
        let Some(path) = f.vector.clone() else {
            // Not written: the note must name the committed case that sends the input.
            check(
                report
                    .notes
                    .iter()
                    .any(|n| n.contains(&f.case_id) && n.contains("already sends this input")),
                || summary(report),
            )?;
            continue;
        };
        check(
            path.file_name().and_then(|n| n.to_str())
                == Some(&format!(
                    "provider-{}.json",
                    f.case_id.rsplit("::").next().unwrap()
                )),
            || format!("{} for {}", path.display(), f.case_id),
        )?;
        schema_valid(&path)?;
        vectors.push(path);
    }
    let (a, b) = (&reports[0].findings[0], &reports[1].findings[0]);
    check(a.case_id == b.case_id && a.minimized == b.minimized, || {
        format!("unstable: {} vs {}", a.case_id, b.case_id)
    })?;
    let case = match vectors.as_slice() {
        [] => {
            let id = credlab_suite::vectors::check::committed_case_sending(&a.minimized)
                .ok_or_else(|| format!("no vector for {} and no case covers it", a.case_id))?;
            credlab_suite::vectors::embedded::provider_files()
                .into_iter()
                .flat_map(|file| file.cases)
                .find(|case| case.id == id)
                .ok_or_else(|| format!("{id} is not embedded"))?
        }
        [first, second] => {
            check(std::fs::read(first)? == std::fs::read(second)?, || {
                "the two runs wrote different files".into()
            })?;
            let (providers, tokens) = load_found(dirs[0].path())?;
            check(providers.len() == 1 && tokens.is_empty(), || {
                format!(
                    "{} provider files, {} token files",
                    providers.len(),
                    tokens.len()
                )
            })?;
            let case = providers[0].cases[0].clone();
            check(case.id.as_str() == a.case_id, || case.id.to_string())?;
            case
        }
        _ => return Err("one run wrote a vector and the other did not".into()),
    };
    // A regression case for the mutant, not a failure of the reference providers.
    for reference in ["token-store", "paseto"] {
        let run = run_case(&builtin(reference), &profile(), &Features::default(), &case);
        check(run.outcome.is_pass(), || {
            format!(
                "{reference} on {}: {:?} {:?}",
                case.id, run.outcome, run.evidence
            )
        })?;
    }
    // And the mutant fails it.
    let run = run_case(&command, &profile(), &Features::default(), &case);
    check(!run.outcome.is_pass(), || {
        format!("{mutant} passes {}", case.id)
    })
}

/// The default run with seed 1 against `mutant:panic-on-unknown-argument`, set up as
/// `credlab fuzz` sets up a token-store built-in, finds its crash at input 55, shrinks it with
/// the whole budget, and writes exactly the committed `vectors/found/provider-crash-2bbf9de4.json`
/// (which an earlier `credlab fuzz` wrote): the inputs of a seed, how they are shrunk and what
/// is written do not change unnoticed.
fn seed_1_writes_the_committed_vector() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let mut profile = profile();
    profile.unsupported_url = Some("sparse+https://elsewhere.credlab.test/index/".into());
    let command = builtin("mutant:panic-on-unknown-argument")
        .env(credlab_targets::reference::ONLY_URL_ENV, &profile.index_url);
    let report = fuzz_provider(
        &command,
        &profile,
        &default_options(Some(dir.path())),
        &|_| {},
    );
    check(report.findings.len() == 1, || summary(&report))?;
    let f = &report.findings[0];
    let pinned = (f.kind, f.case_id.as_str(), f.iteration, f.shrink_attempts);
    check(
        pinned
            == (
                FindingKind::Crash,
                "found::provider::crash-2bbf9de4",
                55,
                blackbox::DEFAULT_SHRINK_BUDGET,
            ),
        || format!("{pinned:?}: {}", summary(&report)),
    )?;
    let written = std::fs::read(f.vector.as_ref().ok_or_else(|| summary(&report))?)?;
    let committed = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/found/provider-crash-2bbf9de4.json"),
    )?;
    check(written == committed, || {
        "the run wrote another vector than the committed one".into()
    })
}

fn reference_is_clean(name: &str) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let report = fuzz_provider(
        &builtin(name),
        &profile(),
        &default_options(Some(dir.path())),
        &|_| {},
    );
    check(report.findings.is_empty(), || summary(&report))?;
    // All 200 inputs ran (unless a very loaded machine hit the 30 s bound first).
    check(
        report.iterations == blackbox::DEFAULT_ITERATIONS
            || report.elapsed >= blackbox::DEFAULT_DURATION,
        || summary(&report),
    )?;
    check(std::fs::read_dir(dir.path())?.next().is_none(), || {
        "a vector was written".into()
    })
}

/// A reference registry (optionally with a bug) and a session on it.
fn registry(bug: Option<Bug>) -> Result<(server::Running, registry_run::Session), Failed> {
    let key = SecretKey::generate();
    let running = server::start(Config {
        keys: vec![(key.public_key().clone(), None)],
        bug,
        ..Config::default()
    })?;
    let session = registry_run::connect(Target {
        index_url: running.index_url(),
        key,
        plain: None,
        subject: None,
        max_age: Duration::from_secs(900),
        max_skew: Duration::from_secs(60),
        allow_remote: false,
        timeout: Duration::from_secs(10),
        secrets: Default::default(),
    })?;
    Ok((running, session))
}

fn registry_bug_is_found() -> Result<(), Failed> {
    let (_running, session) = registry(Some(Bug::ServerErrorOnGarbage))?;
    let dir = tempfile::tempdir()?;
    let report = fuzz_registry(&session, &default_options(Some(dir.path())), &|_| {});
    check(report.findings.len() == 1, || summary(&report))?;
    let f = &report.findings[0];
    check(f.kind == FindingKind::ServerError, || summary(&report))?;
    check(f.minimized.len() <= f.input.len(), || summary(&report))?;
    let path = f.vector.clone().ok_or_else(|| summary(&report))?;
    schema_valid(&path)?;
    let (providers, tokens) = load_found(dir.path())?;
    check(providers.is_empty() && tokens.len() == 1, || {
        format!(
            "{} provider files, {} token files",
            providers.len(),
            tokens.len()
        )
    })?;
    let case = &tokens[0].cases[0];
    check(case.id.as_str() == f.case_id, || case.id.to_string())?;
    check(
        case.input.token.as_bytes() == f.minimized.as_slice(),
        || "the vector holds another token".into(),
    )?;
    check(
        case.input.registry.keys[0].public == session.fixture.signer.public_key().to_paserk(),
        || "the vector's key is not the session's".into(),
    )?;
    // Offline, the reference verifier agrees with the vector's expectation.
    let outcome = judge_reference(case, &Policy::default(), Backend::default());
    check(outcome.is_pass(), || format!("{outcome:?}"))?;
    // No secret in the file.
    let text = std::fs::read_to_string(&path)?;
    check(!text.contains("k3.secret."), || {
        "the vector holds a secret".into()
    })
}

fn registry_reference_is_clean() -> Result<(), Failed> {
    let (_running, session) = registry(None)?;
    let report = fuzz_registry(&session, &default_options(None), &|_| {});
    check(report.findings.is_empty(), || summary(&report))?;
    check(
        report.iterations == blackbox::DEFAULT_ITERATIONS
            || report.elapsed >= blackbox::DEFAULT_DURATION,
        || summary(&report),
    )
}

/// The committed `vectors/found/` (regression cases for the seeded bugs `credlab fuzz` found):
/// they load, and the reference targets pass every one of them.
fn committed_vectors_replay() -> Result<(), Failed> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/found");
    let (providers, tokens) = load_found(&dir)?;
    for case in providers.iter().flat_map(|f| &f.cases) {
        for reference in ["token-store", "paseto"] {
            let run = run_case(&builtin(reference), &profile(), &Features::default(), case);
            check(run.outcome.is_pass(), || {
                format!(
                    "{reference} on {}: {:?} {:?}",
                    case.id, run.outcome, run.evidence
                )
            })?;
        }
    }
    for case in tokens.iter().flat_map(|f| &f.cases) {
        let outcome = judge_reference(case, &Policy::default(), Backend::default());
        check(outcome.is_pass(), || format!("{}: {outcome:?}", case.id))?;
    }
    Ok(())
}
