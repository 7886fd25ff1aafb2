//! `credlab matrix run`: for each target of the manifest, install it (pinned, cached), set up
//! its fixture, run credlab against it as a user would (a child `credlab` process with the
//! manifest's arguments and `--format json`), bounded in time, and record a
//! [`TargetResult`]. Rendering the results is `credlab_suite::matrix::render`'s job.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use credlab_suite::matrix::{TargetEntry, TargetResult};

mod install;
use install::install;

use crate::bounded::{kill_group, run_bounded};
use credlab_suite::report::Report;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How long a fixture's `setup` may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);
/// The most a `setup` may print (its `KEY=VALUE` lines).
const SETUP_OUTPUT_LIMIT: u64 = 64 * 1024;

/// Where things are.
#[derive(Debug, Clone)]
pub struct Places {
    /// The folder holding `targets.toml` and `fixtures/`.
    pub matrix: PathBuf,
    /// Installs, cached between runs: `CACHE/NAME/`.
    pub cache: PathBuf,
    /// `NAME.json` per target.
    pub results: PathBuf,
    /// The credlab binary that judges.
    pub credlab: PathBuf,
}

/// Why a target got no verdict.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("install: {0}")]
    Install(String),
    #[error("fixture setup: {0}")]
    Setup(String),
    #[error("credlab: {0}")]
    Run(String),
    #[error("killed at its timeout of {0} s")]
    Timeout(u64),
    #[error("credlab wrote no readable report: {0}")]
    Report(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs one target and returns its result (never fails: a failure is the result's error).
pub fn run_target(entry: &TargetEntry, places: &Places) -> TargetResult {
    let started = OffsetDateTime::now_utc();
    let mut result = TargetResult::for_entry(
        entry,
        started
            .format(&Rfc3339)
            .unwrap_or_else(|_| started.to_string()),
    );
    let clock = Instant::now();
    if let Some(reason) = &entry.not_judged {
        result.error = Some(format!("not judged: {reason}"));
        return result;
    }
    match judge(entry, places) {
        Ok((exit_code, reports)) => {
            result.exit_code = exit_code;
            result.reports = reports;
        }
        Err(error) => result.error = Some(error.to_string()),
    }
    result.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    result
}

fn judge(entry: &TargetEntry, places: &Places) -> Result<(Option<i32>, Vec<Report>), MatrixError> {
    let cache = places.cache.join(&entry.name);
    std::fs::create_dir_all(&cache)?;
    let bin = install(&entry.install, &cache, places)?;
    let work = tempfile::Builder::new()
        .prefix(&format!("credlab-matrix-{}-", entry.name))
        .tempdir()?;
    let fixture = match &entry.fixture {
        Some(name) => Some(std::path::absolute(
            places.matrix.join("fixtures").join(name),
        )?),
        None => None,
    };
    let mut values = BTreeMap::from([
        ("bin".to_string(), bin.display().to_string()),
        ("cache".to_string(), cache.display().to_string()),
        ("work".to_string(), work.path().display().to_string()),
        // This credlab itself, for the rows that start its reference servers: its folder
        // (`{bin}` of a builtin row) holds it under whatever name it was started as.
        ("credlab".to_string(), places.credlab.display().to_string()),
    ]);
    if let Some(fixture) = &fixture {
        values.insert("fixture".into(), fixture.display().to_string());
        let setup = fixture.join("setup");
        if setup.is_file() {
            values.extend(run_setup(&setup, &values)?);
        }
    }
    let fill = |words: &[String]| -> Vec<String> {
        words.iter().map(|w| substitute(w, &values)).collect()
    };
    let wrap = fill(&entry.wrap);
    let args = fill(&entry.args);
    std::fs::create_dir_all(&places.results)?;
    let report = work.path().join("report.json");
    let log = std::fs::File::create(cache.join("last-run.log"))?;
    let mut command = match wrap.split_first() {
        Some((program, rest)) => {
            let mut command = Command::new(program);
            command.args(rest).arg(&places.credlab);
            command
        }
        None => Command::new(&places.credlab),
    };
    command
        .args(&args)
        .args(["--format", "json", "--report"])
        .arg(&report)
        .env("PATH", path_with(&bin))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let status = run_bounded(command, Duration::from_secs(entry.timeout_secs))
        .map_err(|e| MatrixError::Run(e.to_string()))?
        .ok_or(MatrixError::Timeout(entry.timeout_secs))?;
    let text = std::fs::read_to_string(&report).map_err(|e| {
        MatrixError::Report(format!(
            "{e} (exit {status}; see {})",
            cache.join("last-run.log").display()
        ))
    })?;
    // One target gives one report object; several give an array of them.
    let written: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| MatrixError::Report(e.to_string()))?;
    let reports = if written.is_array() {
        serde_json::from_value::<Vec<Report>>(written)
    } else {
        serde_json::from_value::<Report>(written).map(|one| vec![one])
    }
    .map_err(|e| MatrixError::Report(e.to_string()))?;
    Ok((status.code(), reports))
}

/// `{key}` → its value, for every key known; an unknown `{…}` stays as it is.
fn substitute(word: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = word.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

/// `PATH` with the target's `bin` first.
fn path_with(bin: &Path) -> std::ffi::OsString {
    let mut parts = vec![bin.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        parts.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(parts).unwrap_or_default()
}

/// Runs the fixture's `setup` and reads its `KEY=VALUE` lines.
fn run_setup(
    setup: &Path,
    values: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, MatrixError> {
    let mut command = Command::new(setup);
    command
        .env("MATRIX_CACHE", &values["cache"])
        .env("MATRIX_WORK", &values["work"])
        .env("MATRIX_BIN", &values["bin"])
        .env("MATRIX_FIXTURE", &values["fixture"])
        .env("PATH", path_with(Path::new(&values["bin"])))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command
        .process_group(0)
        .spawn()
        .map_err(|e| MatrixError::Setup(format!("{}: {e}", setup.display())))?;
    let mut stdout = child.stdout.take().expect("piped");
    let (sent, got) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let read = (&mut stdout)
            .take(SETUP_OUTPUT_LIMIT)
            .read_to_string(&mut text);
        let _ = sent.send(read.map(|_| text));
    });
    let text = match got.recv_timeout(SETUP_TIMEOUT) {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => return Err(MatrixError::Setup(format!("its output: {e}"))),
        Err(_) => {
            kill_group(child.id());
            let _ = child.wait();
            return Err(MatrixError::Setup("timed out".into()));
        }
    };
    let status = child.wait()?;
    if !status.success() {
        return Err(MatrixError::Setup(format!(
            "{} exited {status}",
            setup.display()
        )));
    }
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line
            .split_once('=')
            .filter(|(k, _)| {
                !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
            .ok_or_else(|| MatrixError::Setup(format!("a line that is not KEY=VALUE: {line:?}")))?;
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        let values = BTreeMap::from([
            ("bin".to_string(), "/c/bin".to_string()),
            (
                "index".to_string(),
                "sparse+http://127.0.0.1:1/index/".to_string(),
            ),
        ]);
        assert_eq!(substitute("{bin}/p", &values), "/c/bin/p");
        assert_eq!(
            substitute("{index}=@{work}/t", &values),
            "sparse+http://127.0.0.1:1/index/=@{work}/t"
        );
    }
}
