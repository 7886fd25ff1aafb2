//! The provider runner: what a whole suite run costs against what one process exchange costs.
//!
//! Goals (issue "Provider runner"): against a conformant provider, the suite within 1.5× of
//! (cases × one trivial exchange ÷ jobs); against a provider that hangs on every case, about
//! ceil(cases ÷ jobs) × timeout, never cases × timeout. Both ratios come from one run and are
//! written to `target/criterion/credlab-runner.json` for `bench/report.py`.
//!
//! The providers are this bench binary itself, started as `--cargo-plugin` with
//! `CREDLAB_BUILTIN_PROVIDER` (exactly how `credlab` runs its built-in targets), so the floor
//! and the suite pay the same process start.

use std::time::{Duration, Instant};

use credlab_runners::engine::{Order, Schedule, Silent, execute};
use credlab_runners::process::ProviderCommand;
use credlab_runners::provider_run::{self, Features, Profile};
use credlab_suite::cases::provider::{Feature, ProviderCase};
use credlab_suite::keys::SecretKey;
use credlab_suite::provider::{Exchange, Timeouts};
use credlab_suite::vectors::embedded;
use credlab_targets::builtin::BUILTIN_ENV;
use criterion::{Criterion, criterion_group};

const HANG_TIMEOUT: Duration = Duration::from_millis(250);

fn provider(name: &str) -> ProviderCommand {
    ProviderCommand::new(std::env::current_exe().expect("the bench binary")).env(BUILTIN_ENV, name)
}

fn cases() -> Vec<ProviderCase> {
    embedded::provider_files()
        .into_iter()
        .flat_map(|f| f.cases)
        .collect()
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn trivial_exchange(command: &ProviderCommand) {
    let exchange = Exchange::cargo(
        r#"{"v":1,"registry":{"index-url":"sparse+https://r/index/"},"kind":"get","operation":"read"}"#,
    );
    let transcript = command.run(&exchange).expect("the trivial provider starts");
    assert!(
        transcript.response.line().is_some(),
        "the trivial provider answers"
    );
}

/// Runs every case; returns the time.
fn suite(
    command: &ProviderCommand,
    profile: &Profile,
    features: &Features,
    cases: &[ProviderCase],
) -> Duration {
    let started = Instant::now();
    let schedule = Schedule {
        jobs: jobs(),
        order: Order::LongestFirst,
    };
    let runs = execute(
        provider_run::jobs(command, profile, features, cases),
        schedule,
        &Silent,
    );
    let elapsed = started.elapsed();
    assert_eq!(runs.len(), cases.len());
    elapsed
}

fn bench(c: &mut Criterion) {
    let cases = cases();
    let trivial = provider("trivial");
    let reference = provider("token-store");
    let mut profile = Profile::new(SecretKey::generate());
    profile.args = vec!["--only-url".into(), profile.index_url.clone()];
    profile.unsupported_url = Some("sparse+https://elsewhere.credlab.test/index/".into());
    let features =
        provider_run::probe(&reference, &profile).expect("the reference provider starts");

    let mut group = c.benchmark_group("runner");
    group.sample_size(20);
    group.bench_function("trivial_exchange", |b| {
        b.iter(|| trivial_exchange(&trivial))
    });
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("suite_reference_token_store", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| suite(&reference, &profile, &features, &cases))
                .sum()
        })
    });
    group.finish();

    // The ratios, from paired rounds: each round measures the floor and then the suites
    // right after it, so a noisy stretch of the machine moves both; the medians of the
    // per-round ratios are reported.
    // The one case whose cost is the provider's own work: a 16 MiB request line to parse.
    let ordinary: Vec<ProviderCase> = cases
        .iter()
        .filter(|c| c.id.as_str() != "provider::robustness::huge-header")
        .cloned()
        .collect();
    let jobs = jobs();
    let n = cases.len();
    let rounds: Vec<[f64; 4]> = (0..7)
        .map(|_| {
            let batch = 40;
            let t = Instant::now();
            for _ in 0..batch {
                trivial_exchange(&trivial);
            }
            let floor = t.elapsed() / batch;
            let all = suite(&reference, &profile, &features, &cases);
            let some = suite(&reference, &profile, &features, &ordinary);
            let ideal = |cases: usize| (floor * cases as u32 / jobs as u32).as_secs_f64();
            [
                floor.as_secs_f64(),
                all.as_secs_f64(),
                all.as_secs_f64() / ideal(n),
                some.as_secs_f64() / ideal(ordinary.len()),
            ]
        })
        .collect();
    let column = |i: usize| credlab_bench::median(rounds.iter().map(|r| r[i]).collect());
    let (floor, conformant) = (column(0), column(1));
    let hang = provider("mutant:no-hello");
    let mut hang_profile = profile.clone();
    hang_profile.timeouts = Timeouts::uniform(HANG_TIMEOUT);
    // Every case runs (no probe to skip them): the worst case for the runner.
    let all = Features {
        set: [
            Feature::Login,
            Feature::StoresTokens,
            Feature::GeneratesPaseto,
            Feature::UnsupportedUrl,
            Feature::EmptyRegistry,
            Feature::NoConfigArgs,
        ]
        .into(),
        facts: Default::default(),
        shared_store: false,
        empty_elsewhere: false,
    };
    let hang_time = suite(&hang, &hang_profile, &all, &cases);
    let waves = n.div_ceil(jobs) as u32;
    let report = serde_json::json!({
        "cases": n,
        "jobs": jobs,
        "rounds": rounds.len(),
        "trivial_exchange_ms": floor * 1e3,
        "trivial_exchange_ms_per_round": rounds.iter().map(|r| r[0] * 1e3).collect::<Vec<_>>(),
        "suite_ms": conformant * 1e3,
        "conformant_ratio": column(2),
        "conformant_ratio_per_round": rounds.iter().map(|r| r[2]).collect::<Vec<_>>(),
        "conformant_goal": 1.5,
        "conformant_ratio_without_huge_header": column(3),
        "hang_timeout_ms": HANG_TIMEOUT.as_secs_f64() * 1e3,
        "hang_suite_ms": hang_time.as_secs_f64() * 1e3,
        "hang_ratio": hang_time.as_secs_f64() / (HANG_TIMEOUT * waves).as_secs_f64(),
        "hang_serial_ratio": hang_time.as_secs_f64() / (HANG_TIMEOUT * n as u32).as_secs_f64(),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("serializes")
    );
    credlab_bench::write_json_lines("credlab-runner.json", &[report.to_string()])
        .expect("write credlab-runner.json");
}

criterion_group!(benches, bench);

fn main() {
    // Started by the runner as a provider: serve, do not bench.
    let argv: Vec<_> = std::env::args_os().skip(1).collect();
    if argv == ["--cargo-plugin"]
        && let Some(name) = std::env::var_os(BUILTIN_ENV)
    {
        std::process::exit(credlab_targets::builtin::run(&name.to_string_lossy()));
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
