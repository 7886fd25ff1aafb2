//! The committed conformance matrix (`matrix/`): the manifest parses, every result follows
//! the result format, the committed MATRIX.md and index.html are what `credlab matrix render`
//! makes of the committed results, and the page, read back as XML, shows exactly the
//! results: one row per target, each cell's counts recomputed here from the JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use credlab_suite::matrix::{Manifest, RESULT_FORMAT, TargetResult};

fn matrix_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("matrix")
}

fn results() -> Vec<TargetResult> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(matrix_dir().join("results")).expect("matrix/results") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("readable");
            let result: TargetResult =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(result.format, RESULT_FORMAT, "{}", path.display());
            assert_eq!(
                path.file_stem().and_then(|s| s.to_str()),
                Some(result.name.as_str())
            );
            out.push(result);
        }
    }
    out
}

#[test]
fn the_manifest_names_every_result() {
    let text = std::fs::read_to_string(matrix_dir().join("targets.toml")).expect("targets.toml");
    let manifest = Manifest::parse(&text).expect("the manifest is valid");
    let names: Vec<_> = manifest.targets.iter().map(|t| t.name.as_str()).collect();
    let results = results();
    assert!(!results.is_empty());
    for result in &results {
        assert!(names.contains(&result.name.as_str()), "{}", result.name);
    }
    // Every target has a row: a verdict, or the reason it could not run.
    for name in names {
        let result = results.iter().find(|r| r.name == name);
        let result = result.unwrap_or_else(|| panic!("no result for {name}"));
        assert!(
            !result.reports.is_empty() || result.error.is_some(),
            "{name}: neither a report nor a reason"
        );
    }
}

#[test]
fn the_committed_pages_are_rendered_from_the_committed_results() {
    let out = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        matrix_dir().join("targets.toml"),
        out.path().join("targets.toml"),
    )
    .expect("copy the manifest");
    Command::cargo_bin("credlab")
        .expect("the credlab binary")
        .args(["matrix", "render", "--dir"])
        .arg(out.path())
        .arg("--results")
        .arg(matrix_dir().join("results"))
        .assert()
        .success();
    for name in ["MATRIX.md", "index.html"] {
        let fresh = std::fs::read_to_string(out.path().join(name)).expect("rendered");
        let committed = std::fs::read_to_string(matrix_dir().join(name)).expect("committed");
        assert!(
            fresh == committed,
            "matrix/{name} is stale: run `credlab matrix render`"
        );
    }
}

/// What the page should show per target and group: (pass, fail, skip), computed from the
/// verdict names in the JSON, independently of the renderer.
fn expected_cells(result: &TargetResult) -> BTreeMap<String, (usize, usize, usize)> {
    let mut cells: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for case in result.reports.iter().flat_map(|r| &r.cases) {
        let id = case.id.as_str();
        let group = id.rsplit_once("::").map_or(id, |(g, _)| g).to_string();
        let cell = cells.entry(group).or_default();
        match case.verdict.kind().as_str() {
            "pass" | "pass-nonstrict" | "xfail" => cell.0 += 1,
            "skip" | "unimplemented" => cell.2 += 1,
            _ => cell.1 += 1,
        }
    }
    cells
}

#[test]
fn the_page_shows_exactly_the_results() {
    let html = std::fs::read_to_string(matrix_dir().join("index.html")).expect("index.html");
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("the page is well-formed");
    assert!(
        !doc.descendants()
            .any(|n| n.has_tag_name("script") || n.attribute("src").is_some()),
        "the page must be self-contained"
    );
    let rows: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("tr") && n.attribute("data-target").is_some())
        .collect();
    let results = results();
    assert_eq!(rows.len(), results.len(), "one row per target");
    for result in &results {
        let row = rows
            .iter()
            .find(|r| r.attribute("data-target") == Some(result.name.as_str()))
            .unwrap_or_else(|| panic!("no row for {}", result.name));
        let expected = expected_cells(result);
        let mut shown = BTreeMap::new();
        for cell in row
            .children()
            .filter(|n| n.attribute("data-group").is_some())
        {
            let count = |a: &str| -> usize {
                cell.attribute(a)
                    .and_then(|v| v.parse().ok())
                    .expect("a count")
            };
            let counts = (count("data-pass"), count("data-fail"), count("data-skip"));
            if counts != (0, 0, 0) {
                shown.insert(cell.attribute("data-group").unwrap().to_string(), counts);
            }
            // A cell with failures links to a drill-down that exists.
            if counts.1 > 0 {
                let link = cell
                    .descendants()
                    .find_map(|n| n.attribute("href"))
                    .expect("a failed cell links to its evidence");
                let id = link.trim_start_matches('#');
                assert!(
                    doc.descendants().any(|n| n.attribute("id") == Some(id)),
                    "{link} goes nowhere"
                );
            }
        }
        assert_eq!(shown, expected, "{}", result.name);
    }
}

/// `--format html` for one run: well-formed, self-contained, one row per case of the JSON
/// report with the same verdict, and a drill-down for each case that did not pass.
#[test]
fn a_single_run_renders_as_one_page() {
    let run = |format: &str| {
        let out = Command::cargo_bin("credlab")
            .expect("the credlab binary")
            .args([
                "--provider",
                "builtin:mutant:logout-keeps-token",
                "--timeout",
                "1",
                "--only",
                "provider::login::*",
                "--only",
                "provider::logout::*",
                "--format",
                format,
            ])
            .output()
            .expect("credlab runs");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let report: credlab_suite::report::Report =
        serde_json::from_str(&run("json")).expect("a JSON report");
    let html = run("html");
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("the page is well-formed");
    let rows: BTreeMap<&str, &str> = doc
        .descendants()
        .filter_map(|n| Some((n.attribute("data-case")?, n.attribute("data-verdict")?)))
        .collect();
    let expected: BTreeMap<&str, &str> = report
        .cases
        .iter()
        .map(|c| (c.id.as_str(), c.verdict.kind().as_str()))
        .collect();
    assert_eq!(rows, expected);
    assert!(
        expected.values().any(|v| *v != "pass"),
        "the run must show a failure"
    );
    for (case, verdict) in &expected {
        if !matches!(*verdict, "pass" | "pass-nonstrict" | "xfail") {
            let id = credlab_suite::report::html::anchor(&report.target.name, case);
            assert!(
                doc.descendants()
                    .any(|n| n.attribute("id") == Some(id.as_str())),
                "no drill-down for {case}"
            );
        }
    }
}
