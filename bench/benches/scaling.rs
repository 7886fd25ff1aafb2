//! Verify throughput with 1, 2 (and `available_parallelism`, if larger) threads sharing one
//! verifier by reference.
//!
//! Groups `scaling_aws_lc` and `scaling_pasetors`, benchmark `threads/<T>`: each iteration is
//! one full `Verifier::verify` of the fixture publish token; criterion's `iters` are split over
//! `T` scoped threads and the wall time of the whole batch is reported, so the throughput is
//! the total verifies/s of `T` threads. The 1-thread case runs on a spawned thread too, so
//! every case pays the same spawn cost (negligible against ≥ 100 ms per sample).
//!
//! Wall time is what throughput means here, so it is what criterion records; on a shared
//! machine it also drops when another process holds a core. To tell that apart from contention
//! inside the verifier, each thread also records its CPU time and context switches, written to
//! `<target>/criterion/credlab-scaling.json`: the CPU cost per verify with T threads against 1
//! thread (≈ 1.0: no extra work per verify), the threads' on-CPU share of the wall time, and
//! voluntary (blocked, e.g. on a lock) against involuntary (preempted by another process)
//! context switches.

#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use credlab_bench::Fixture;
use credlab_suite::Backend;
use credlab_suite::verify::Verifier;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn thread_counts() -> Vec<usize> {
    let n = thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![1, 2];
    if n > 2 {
        counts.push(n);
    }
    counts
}

/// Per benchmark id, summed over threads and runs (warm-up included).
#[derive(Default)]
struct Totals {
    cpu: Duration,
    wall_times_threads: Duration,
    verifies: u64,
    voluntary_switches: i64,
    involuntary_switches: i64,
}

static CPU: Mutex<BTreeMap<String, Totals>> = Mutex::new(BTreeMap::new());

/// `struct rusage` on 64-bit Linux: two `timeval`s, then 14 `long`s.
#[repr(C)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    longs: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

/// (voluntary, involuntary) context switches of the calling thread so far. Voluntary: the
/// thread blocked (a lock, I/O); involuntary: the kernel preempted it for another task.
fn context_switches() -> (i64, i64) {
    const RUSAGE_THREAD: i32 = 1;
    let mut usage = Rusage {
        utime: [0; 2],
        stime: [0; 2],
        longs: [0; 14],
    };
    let rc = unsafe { getrusage(RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD)");
    (usage.longs[12], usage.longs[13])
}

/// Runs `iters` verifies split over `threads` threads; returns the wall time and adds the
/// threads' CPU time to `CPU[id]`.
fn run(verifier: &Verifier, f: &Fixture, threads: usize, iters: u64, id: &str) -> Duration {
    let threads = threads as u64;
    let start = Instant::now();
    let per_thread: Vec<(Duration, i64, i64)> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let share = iters / threads + u64::from(t < iters % threads);
                s.spawn(move || {
                    let cpu = common::thread_cpu_time();
                    let (vol, invol) = context_switches();
                    for _ in 0..share {
                        verifier
                            .verify(black_box(&f.token), &f.request, f.now)
                            .expect("valid");
                    }
                    let (vol_end, invol_end) = context_switches();
                    (
                        common::thread_cpu_time() - cpu,
                        vol_end - vol,
                        invol_end - invol,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("verify thread"))
            .collect()
    });
    let wall = start.elapsed();
    let mut totals = CPU.lock().expect("not poisoned");
    let entry = totals.entry(id.to_string()).or_default();
    for (cpu, vol, invol) in per_thread {
        entry.cpu += cpu;
        entry.voluntary_switches += vol;
        entry.involuntary_switches += invol;
    }
    entry.wall_times_threads += wall * threads as u32;
    entry.verifies += iters;
    wall
}

fn scaling(c: &mut Criterion) {
    let f = Fixture::publish();
    for (group, backend) in [
        ("scaling_aws_lc", Backend::AwsLc),
        ("scaling_pasetors", Backend::Pasetors),
    ] {
        let verifier = f.verifier(backend);
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(1))
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        for threads in thread_counts() {
            let id = format!("{group}/threads/{threads}");
            g.bench_with_input(
                BenchmarkId::new("threads", threads),
                &threads,
                |b, &threads| b.iter_custom(|iters| run(&verifier, &f, threads, iters, &id)),
            );
        }
        g.finish();
    }
    write_cpu_costs();
}

/// CPU time per verify for each thread count against 1 thread, how much of the wall time the
/// threads were on a CPU, and why they were not (warm-up runs included).
fn write_cpu_costs() {
    let totals = CPU.lock().expect("not poisoned");
    let per_verify = |id: &str| {
        totals
            .get(id)
            .filter(|t| t.verifies > 0)
            .map(|t| t.cpu.as_nanos() as f64 / t.verifies as f64)
    };
    let mut lines = Vec::new();
    for (id, t) in totals.iter() {
        let Some(ns) = per_verify(id) else { continue };
        let (group, threads) = id.split_once("/threads/").expect("an id we made");
        let one = per_verify(&format!("{group}/threads/1"));
        let on_cpu = t.cpu.as_secs_f64() / t.wall_times_threads.as_secs_f64().max(1e-9);
        lines.push(format!(
            "{{\"bench\":\"scaling_cpu\",\"id\":\"{id}\",\"threads\":{threads},\"verifies\":{},\
             \"cpu_ns_per_verify\":{ns:.1},\"cpu_cost_vs_1_thread\":{},\"on_cpu_share\":{on_cpu:.4},\
             \"voluntary_switches\":{},\"involuntary_switches\":{}}}",
            t.verifies,
            one.map_or("null".to_string(), |one| format!("{:.4}", ns / one)),
            t.voluntary_switches,
            t.involuntary_switches,
        ));
    }
    for l in &lines {
        println!("{l}");
    }
    if std::env::args().any(|a| a == "--bench") && !lines.is_empty() {
        let path = credlab_bench::write_json_lines("credlab-scaling.json", &lines)
            .expect("write credlab-scaling.json");
        eprintln!("wrote {}", path.display());
    }
}

criterion_group!(benches, scaling);
criterion_main!(benches);
