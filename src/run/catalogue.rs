//! `credlab --list` and `credlab --explain ID`: every case, from the embedded vectors.

use credlab_suite::cases::Case;
use credlab_suite::vectors::embedded;
use serde::Serialize;

use super::Filter;
use crate::exit::{Failure, OK};

fn line<I, E>(case: &Case<I, E>) -> String {
    format!(
        "{:<6} {:<58} {}",
        case.level.as_str(),
        case.id.as_str(),
        case.description
    )
}

pub fn list(filter: &Filter) -> Result<u8, Failure> {
    let mut n = 0;
    for file in embedded::token_files() {
        for case in file.cases.iter().filter(|c| filter.keeps(c.id.as_str())) {
            crate::out::outln!("{}", line(case));
            n += 1;
        }
    }
    for file in embedded::provider_files() {
        for case in file.cases.iter().filter(|c| filter.keeps(c.id.as_str())) {
            crate::out::outln!("{}", line(case));
            n += 1;
        }
    }
    for file in embedded::auth_files() {
        for case in file.cases.iter().filter(|c| filter.keeps(c.id.as_str())) {
            crate::out::outln!("{}", line(case));
            n += 1;
        }
    }
    crate::out::errln!("{n} cases");
    Ok(OK)
}

fn show<I: Serialize, E: Serialize>(case: &Case<I, E>) {
    crate::out::outln!("{}  ({})", case.id, case.level.as_str());
    crate::out::outln!("  {}", case.description);
    for flag in &case.flags {
        crate::out::outln!("  flag {flag}: {}", flag.description());
    }
    if let (Some(base), Some(mutation)) = (&case.base, &case.mutation) {
        crate::out::outln!("  derived from {base} by: {mutation}");
    }
    for cite in &case.spec {
        crate::out::outln!("  spec: {cite}");
    }
    if let Some(clock) = &case.clock {
        crate::out::outln!("  clock: {clock}");
    }
    let pretty = |v: serde_json::Result<String>| v.expect("cases serialize");
    crate::out::outln!("  expect: {}", pretty(serde_json::to_string(&case.expect)));
    crate::out::outln!(
        "  input:\n{}",
        indent(&pretty(serde_json::to_string_pretty(&case.input)))
    );
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn explain(id: &str) -> Result<u8, Failure> {
    for file in embedded::token_files() {
        if let Some(case) = file
            .cases
            .iter()
            .find(|c| c.id.as_str() == id || c.aliases.iter().any(|a| a.as_str() == id))
        {
            show(case);
            if let credlab_suite::cases::token::TokenExpect::Invalid { rejection } = case.expect {
                crate::out::outln!("  rejection {rejection}: {}", rejection.explain());
            }
            let (level, expect) = case.over_http();
            if (level, expect) != (case.level, case.expect) {
                crate::out::outln!(
                    "  over HTTP (credlab --registry): {}, expect {}: flagged {}, real Cargo \
                     sends this token, so a registry must accept it whatever its policy",
                    level.as_str(),
                    serde_json::to_string(&expect).expect("expectations serialize"),
                    credlab_suite::cases::token::CARGO_SHAPED
                );
            }
            return Ok(OK);
        }
    }
    for file in embedded::provider_files() {
        if let Some(case) = file.cases.iter().find(|c| c.id.as_str() == id) {
            show(case);
            return Ok(OK);
        }
    }
    for file in embedded::auth_files() {
        if let Some(case) = file.cases.iter().find(|c| c.id.as_str() == id) {
            show(case);
            crate::out::outln!(
                "  a registry protocol check run by `credlab --registry` on its probe crate"
            );
            // The group's text says how strictly refusals are judged (a should for the status
            // and the body), which no single case's expectation shows.
            crate::out::outln!("  {}: {}", file.group, file.description);
            return Ok(OK);
        }
    }
    Err(Failure::usage(format!(
        "no case {id:?}; `credlab --list` shows them all"
    )))
}
