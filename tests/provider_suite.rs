//! The provider suite judged by its own targets, through the real `credlab` binary and real
//! provider processes:
//!
//! - both reference providers pass every case that applies to them (none fails, hangs, errors);
//! - every seeded-bug mutant is caught by exactly the case ids it names (each fails or hangs);
//! - every scored provider case is named by some mutant, so no scored case is a check that
//!   cannot fail.
//!
//! One test per target, named after it, so a failure names the mutant.

use std::collections::BTreeSet;
use std::process::Command;

use credlab_suite::cases::Level;
use credlab_suite::report::{Report, Verdict};
use credlab_suite::vectors::embedded;
use credlab_targets::mutants::MUTANTS;
use libtest_mimic::{Arguments, Failed, Trial};

fn credlab(args: &[&str]) -> Result<Report, Failed> {
    let output = Command::new(env!("CARGO_BIN_EXE_credlab"))
        .args(args)
        .args(["--format", "json"])
        .output()
        .map_err(|e| format!("running credlab: {e}"))?;
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "credlab {args:?} exited {:?} without a JSON report ({e}); stderr:\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into()
    })
}

fn reference(name: &'static str, expected_skips: &'static [&'static str]) -> Trial {
    Trial::test(format!("reference::{name}"), move || {
        let report = credlab(&["--provider", &format!("builtin:{name}")])?;
        let mut problems = Vec::new();
        for case in &report.cases {
            let skip_expected = expected_skips
                .iter()
                .any(|p| case.id.as_str().starts_with(p));
            match &case.verdict {
                Verdict::Pass | Verdict::PassNonStrict { .. } => {}
                Verdict::Skip { .. } if skip_expected => {}
                other => problems.push(format!("{}: {other:?}", case.id)),
            }
        }
        if report.exit_code() != 0 || !problems.is_empty() {
            return Err(format!("exit {}; {problems:#?}", report.exit_code()).into());
        }
        Ok(())
    })
}

/// A JSON-lines provider that skips blank lines and waits for the next request, then exits at
/// EOF (as cloudsmith-cli does): it answers not-found to every other line.
const SKIPS_BLANK_LINES: &str = r#"#!/bin/sh
printf '{"v":[1]}\n'
while IFS= read -r line; do
    [ -z "$line" ] && continue
    printf '{"Err":{"kind":"not-found"}}\n'
done
exit 0
"#;

/// A blank line is input Cargo never writes, judged once (`provider::malformed::blank-line`,
/// no found vector repeats it) and followed by EOF: skipping it and exiting at EOF passes,
/// nothing hangs.
fn a_reader_that_skips_blank_lines_passes() -> Result<(), Failed> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("skips-blank-lines");
    std::fs::write(&path, SKIPS_BLANK_LINES)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    let found = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/found");
    let report = credlab(&[
        "--provider",
        &path.display().to_string(),
        "--timeout",
        "2",
        "--found",
        &found.display().to_string(),
        "--only",
        "provider::malformed::*",
        "--only",
        "found::provider::*",
    ])?;
    let blank = report
        .cases
        .iter()
        .find(|c| c.id.as_str() == "provider::malformed::blank-line")
        .ok_or("no blank-line case")?;
    if !matches!(blank.verdict, Verdict::Pass) {
        return Err(format!("blank-line: {:?} {:?}", blank.verdict, blank.evidence).into());
    }
    let hangs: Vec<String> = report
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Hang { .. }))
        .map(|c| c.id.to_string())
        .collect();
    if hangs.is_empty() {
        Ok(())
    } else {
        Err(format!("hangs: {hangs:?}").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![
        reference("token-store", &["provider::token::"]),
        reference(
            "paseto",
            &[
                "provider::errors::url-not-supported",
                "provider::login::token-is-stored",
                "provider::login::escaped-token",
            ],
        ),
    ];
    trials.push(Trial::test(
        "malformed::blank-line-skipped-then-eof",
        a_reader_that_skips_blank_lines_passes,
    ));
    trials.push(Trial::test("mutants::cover-every-scored-case", || {
        let named: BTreeSet<&str> = MUTANTS
            .iter()
            .flat_map(|m| m.caught_by.iter().copied())
            .collect();
        let uncovered: Vec<String> = embedded::provider_files()
            .into_iter()
            .flat_map(|f| f.cases)
            .filter(|c| c.level != Level::Info && !named.contains(c.id.as_str()))
            .map(|c| c.id.to_string())
            .collect();
        if uncovered.is_empty() {
            Ok(())
        } else {
            Err(format!("scored cases no mutant is caught by: {uncovered:?}").into())
        }
    }));
    for mutant in MUTANTS {
        trials.push(Trial::test(
            format!("mutant::{}", mutant.name()),
            move || {
                let mut args = vec![
                    "--provider".to_string(),
                    format!("builtin:mutant:{}", mutant.name()),
                    "--timeout".into(),
                    "1".into(),
                ];
                for id in mutant.caught_by {
                    args.push("--only".into());
                    args.push((*id).into());
                }
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let report = credlab(&args)?;
                let missed: Vec<String> = mutant
                    .caught_by
                    .iter()
                    .filter(|id| {
                        !report.cases.iter().any(|c| {
                            c.id.as_str() == **id
                                && matches!(c.verdict, Verdict::Fail { .. } | Verdict::Hang { .. })
                        })
                    })
                    .map(|id| {
                        let got = report
                            .cases
                            .iter()
                            .find(|c| c.id.as_str() == *id)
                            .map(|c| format!("{:?}", c.verdict));
                        format!("{id}: {}", got.unwrap_or_else(|| "not run".into()))
                    })
                    .collect();
                if missed.is_empty() {
                    Ok(())
                } else {
                    Err(format!("the bug ({}) was not caught by: {missed:#?}", mutant.bug).into())
                }
            },
        ));
    }
    libtest_mimic::run(&args, trials).exit();
}
