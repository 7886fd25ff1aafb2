//! Every citation resolves for a user of credlab: no code, vector, document or output names
//! a file outside this repository, and the in-repository documents cited exist.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Every file, whatever its extension: the committed fuzz seeds (`fuzz/corpus/`) have
        // none and are vector files too. Build output and local fuzz crashes are not the
        // repository's; binary files are skipped when they do not read as text.
        if path.is_dir() {
            if !matches!(name.as_ref(), "target" | ".git" | "artifacts" | "coverage") {
                files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

#[test]
fn nothing_cites_a_path_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(root, &mut all);
    assert!(all.len() > 100, "the walk found the tree");
    // Spelled in two pieces so this file does not match itself.
    let outside = format!("../{}", "shared");
    let bad: Vec<String> = all
        .iter()
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|text| text.contains(&outside)))
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(bad.is_empty(), "cites {outside}: {bad:?}");
}

#[test]
fn cited_repository_documents_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let observed = std::fs::read_to_string(root.join("docs/observed.md")).unwrap();
    for section in ["## 1. ", "## 2. ", "## 3. "] {
        assert!(
            observed.contains(section),
            "docs/observed.md lacks {section}"
        );
    }
    let explained = assert_cmd::Command::cargo_bin("credlab")
        .unwrap()
        .args(["--explain", "provider::malformed::not-json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&explained.stdout).contains("docs/observed.md §1"));
}
