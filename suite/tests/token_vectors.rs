//! Every committed token vector, one test per case named by its id: the reference verifier
//! (on every backend compiled in) must give the expected result and, for invalid cases, the
//! declared rejection kind. `acceptable` cases are run under both settings of their policy
//! knob: one must accept, the other must refuse for exactly the declared reason.

use std::path::{Path, PathBuf};

use credlab_suite::Backend;
use credlab_suite::cases::token::{TokenCase, TokenExpect, TokenFile};
use credlab_suite::judge::Outcome;
use credlab_suite::judge::token::{judge, policy_variants, reference_answer};
use credlab_suite::vectors::{self, Fixture, check};
use credlab_suite::verify::Policy;
use libtest_mimic::{Arguments, Failed, Trial};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

fn answer(
    case: &TokenCase,
    policy: &Policy,
    backend: Backend,
) -> Result<(), credlab_suite::RejectionKind> {
    reference_answer(case, policy, backend).expect("check validated the clock")
}

fn run_case(case: &TokenCase) -> Result<(), Failed> {
    let default = Policy::default();
    let mut answers = Vec::new();
    for &backend in Backend::available() {
        let got = answer(case, &default, backend);
        match judge(&case.expect, got) {
            Outcome::Pass | Outcome::PassNonStrict { .. } => {}
            other => return Err(format!("{backend}: {other:?}").into()),
        }
        answers.push((backend, got));
    }
    if answers.windows(2).any(|w| w[0].1 != w[1].1) {
        return Err(format!("backends disagree: {answers:?}").into());
    }
    if let TokenExpect::Acceptable { rejection, policy } = case.expect {
        let (base, other) = policy_variants(policy);
        let mut seen = vec![answer(case, &base, Backend::default())];
        if let Some(other) = other {
            seen.push(answer(case, &other, Backend::default()));
            if !(seen.contains(&Ok(())) && seen.contains(&Err(rejection))) {
                return Err(format!(
                    "under the two {policy:?} settings the reference must accept once and refuse with {rejection} once; got {seen:?}"
                )
                .into());
            }
        } else if seen[0] != Err(rejection) {
            return Err(
                format!("expected the reference to refuse with {rejection}, got {seen:?}").into(),
            );
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = vectors_dir();
    let schema =
        check::compile_schema(&dir.join("schema/vectors.schema.json")).expect("schema compiles");
    let mut files: Vec<(String, TokenFile)> = Vec::new();
    for path in check::token_paths(&dir).expect("vectors/tokens exists") {
        let file = check::load(&path, &schema).unwrap_or_else(|p| panic!("{p:?}"));
        files.push((path.display().to_string(), file));
    }
    let mut trials = vec![Trial::test(
        "vectors::committed-equal-generated",
        move || {
            let stale: Vec<String> = vectors::render(&Fixture::offline())
                .into_iter()
                .filter(|(rel, text)| {
                    std::fs::read_to_string(vectors_dir().join(rel))
                        .ok()
                        .as_deref()
                        != Some(text.as_str())
                })
                .map(|(rel, _)| rel.display().to_string())
                .collect();
            if stale.is_empty() {
                Ok(())
            } else {
                Err(
                    format!("stale or missing: {stale:?}; run `cargo run -- vectors generate`")
                        .into(),
                )
            }
        },
    )];
    let problems = check::check(&files);
    trials.push(Trial::test("vectors::semantic-rules", move || {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{problems:#?}").into())
        }
    }));
    let total: usize = files.iter().map(|(_, f)| f.cases.len()).sum();
    trials.push(Trial::test("vectors::at-least-100-cases", move || {
        if total >= 100 {
            Ok(())
        } else {
            Err(format!("only {total} token cases").into())
        }
    }));
    for (_, file) in files {
        for case in file.cases {
            trials.push(Trial::test(case.id.to_string(), move || run_case(&case)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
