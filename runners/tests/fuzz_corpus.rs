//! Replays every fuzz input on stable, without libFuzzer: each file under
//! `fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/` is one test, `<target>::<file>`,
//! run through the target's harness (`credlab_runners::fuzzing::TARGETS`). A fixed crash
//! stays fixed: its minimised artifact is committed and replayed here forever.
//!
//! Also fails when a corpus, artifact or `fuzz_targets/*.rs` name has no harness, or a harness
//! has no fuzz target, so a new target cannot be forgotten on either side.
//!
//! `cargo test -p credlab-runners --test fuzz_corpus -- --ignored seeds::write` regenerates the
//! seed files (`seed-*`) from the vectors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use credlab_runners::fuzzing::{TARGETS, harness, write_seeds};
use libtest_mimic::{Arguments, Failed, Trial};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

fn main() {
    let args = Arguments::from_args();
    // One line per failing input (where it panicked and why), not a backtrace each.
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    let fuzz = fuzz_dir();
    let mut trials = Vec::new();

    let targets: BTreeSet<String> = names_in(&fuzz.join("fuzz_targets"))
        .into_iter()
        .filter_map(|n| n.strip_suffix(".rs").map(str::to_string))
        .collect();
    for (name, _) in TARGETS {
        let present = targets.contains(*name);
        trials.push(Trial::test(format!("{name}::has-fuzz-target"), move || {
            if present {
                Ok(())
            } else {
                Err(format!("fuzz/fuzz_targets/{name}.rs is missing").into())
            }
        }));
    }
    for name in &targets {
        let known = harness(name).is_some();
        let name = name.clone();
        trials.push(Trial::test(format!("{name}::has-harness"), move || {
            if known {
                Ok(())
            } else {
                Err(format!("fuzz target {name} has no harness in fuzzing::TARGETS").into())
            }
        }));
    }
    trials.push(Trial::test("differential_verify::both-backends", || {
        let n = credlab_suite::Backend::available().len();
        if n >= 2 {
            Ok(())
        } else {
            Err(format!("only {n} verify backend compiled in: the differential is vacuous").into())
        }
    }));

    for kind in ["corpus", "artifacts"] {
        for target in names_in(&fuzz.join(kind)) {
            let dir = fuzz.join(kind).join(&target);
            let Some(run) = harness(&target) else {
                trials.push(Trial::test(
                    format!("{target}::missing-harness"),
                    move || {
                        Err(format!(
                            "{} exists but no harness is named {target:?}",
                            dir.display()
                        )
                        .into())
                    },
                ));
                continue;
            };
            for file in names_in(&dir) {
                let path = dir.join(&file);
                if !path.is_file() {
                    continue;
                }
                trials.push(Trial::test(format!("{target}::{file}"), move || {
                    let data = std::fs::read(&path).map_err(|e| Failed::from(e.to_string()))?;
                    std::panic::catch_unwind(|| run(&data)).map_err(|panic| {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        Failed::from(format!("{}: {what}", path.display()))
                    })
                }));
            }
        }
    }

    trials.push(
        Trial::test("seeds::write", move || {
            let n = write_seeds(&fuzz).map_err(|e| Failed::from(e.to_string()))?;
            println!("wrote {n} seed files");
            Ok(())
        })
        .with_ignored_flag(true),
    );
    libtest_mimic::run(&args, trials).exit();
}
