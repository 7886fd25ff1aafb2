//! `credlab matrix run|render`: the conformance matrix of public providers and registries
//! (`matrix/targets.toml`; see `matrix/README.md`).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use credlab_runners::matrix::{Places, run_target};
use credlab_suite::matrix::{Manifest, TargetResult, render};
use credlab_suite::text::for_terminal;

use crate::exit::{Failure, OK};

#[derive(Debug, Subcommand)]
pub enum MatrixCommand {
    /// Install (pinned, cached), set up and judge every target of the manifest, each bounded
    /// in time; one result per target in --results.
    Run {
        /// The matrix folder: targets.toml and fixtures/.
        #[arg(long, default_value = "matrix")]
        dir: PathBuf,
        /// Run only this target (repeat).
        #[arg(long, value_name = "NAME")]
        only: Vec<String>,
        /// Where installs are cached (default: $XDG_CACHE_HOME/credlab/matrix or
        /// ~/.cache/credlab/matrix).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Where results go (default: DIR/results).
        #[arg(long)]
        results: Option<PathBuf>,
    },
    /// Render the results as DIR/MATRIX.md and DIR/index.html (one self-contained page).
    Render {
        /// The matrix folder: targets.toml (for the row order) and results/.
        #[arg(long, default_value = "matrix")]
        dir: PathBuf,
        /// Where results are read from (default: DIR/results).
        #[arg(long)]
        results: Option<PathBuf>,
    },
}

pub fn run(cmd: MatrixCommand) -> Result<u8, Failure> {
    match cmd {
        MatrixCommand::Run {
            dir,
            only,
            cache,
            results,
        } => run_all(&dir, &only, cache, results),
        MatrixCommand::Render { dir, results } => render_all(&dir, results),
    }
}

fn manifest(dir: &Path) -> Result<Manifest, Failure> {
    let path = dir.join("targets.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    Manifest::parse(&text).map_err(|e| Failure::data(format!("{}: {e}", path.display())))
}

fn default_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("credlab").join("matrix")
}

fn run_all(
    dir: &Path,
    only: &[String],
    cache: Option<PathBuf>,
    results: Option<PathBuf>,
) -> Result<u8, Failure> {
    let manifest = manifest(dir)?;
    if let Some(unknown) = only
        .iter()
        .find(|name| !manifest.targets.iter().any(|t| &&t.name == name))
    {
        return Err(Failure::usage(format!(
            "--only {unknown:?}: no such target in {}",
            dir.join("targets.toml").display()
        )));
    }
    let places = Places {
        matrix: dir.to_path_buf(),
        cache: cache.unwrap_or_else(default_cache),
        results: results.unwrap_or_else(|| dir.join("results")),
        credlab: std::env::current_exe()
            .map_err(|e| Failure::usage(format!("where credlab is: {e}")))?,
    };
    std::fs::create_dir_all(&places.results)
        .map_err(|e| Failure::usage(format!("{}: {e}", places.results.display())))?;
    for entry in &manifest.targets {
        if !only.is_empty() && !only.contains(&entry.name) {
            continue;
        }
        crate::out::outln!("{}: running", entry.name);
        let result = run_target(entry, &places);
        let path = places.results.join(format!("{}.json", entry.name));
        let text = credlab_suite::text::json_safe(
            &serde_json::to_string_pretty(&result).expect("results serialize"),
        );
        std::fs::write(&path, text + "\n")
            .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
        crate::out::outln!(
            "{}: {} ({:.1} s) → {}",
            entry.name,
            for_terminal(&render::verdict(&result)),
            result.duration_ms as f64 / 1000.0,
            path.display()
        );
    }
    Ok(OK)
}

/// The results in manifest order (then any others by name).
pub fn load_results(dir: &Path, results: &Path) -> Result<Vec<TargetResult>, Failure> {
    let order: Vec<String> = manifest(dir)
        .map(|m| m.targets.into_iter().map(|t| t.name).collect())
        .unwrap_or_default();
    let entries = std::fs::read_dir(results)
        .map_err(|e| Failure::usage(format!("{}: {e}", results.display())))?;
    let mut loaded = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Failure::usage(format!("{}: {e}", results.display())))?
            .path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Failure::data(format!("{}: {e}", path.display())))?;
        let result: TargetResult = serde_json::from_str(&text)
            .map_err(|e| Failure::data(format!("{}: {e}", path.display())))?;
        loaded.push(result);
    }
    loaded.sort_by_key(|r| {
        (
            order
                .iter()
                .position(|n| n == &r.name)
                .unwrap_or(usize::MAX),
            r.name.clone(),
        )
    });
    Ok(loaded)
}

fn render_all(dir: &Path, results: Option<PathBuf>) -> Result<u8, Failure> {
    let results_dir = results.unwrap_or_else(|| dir.join("results"));
    let results = load_results(dir, &results_dir)?;
    if results.is_empty() {
        return Err(Failure::data(format!(
            "no results in {}; run `credlab matrix run` first",
            results_dir.display()
        )));
    }
    for (name, text) in [
        ("MATRIX.md", render::markdown(&results)),
        ("index.html", render::html(&results)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
        crate::out::outln!("wrote {}", path.display());
    }
    Ok(OK)
}
