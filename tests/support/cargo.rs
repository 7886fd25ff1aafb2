//! Runs the real `cargo` on PATH in an isolated home, with a deadline per command.
//!
//! Isolation: `HOME`, `CARGO_HOME` and `CARGO_TARGET_DIR` point into a temp dir, and every
//! inherited `CARGO*` variable (including the ones `cargo test` sets for this test, and any
//! `CARGO_REGISTRIES_*`/`CARGO_NET_OFFLINE` from the environment) is removed, so only what
//! the scenario configures reaches Cargo. Proxy variables are dropped so loopback requests
//! go straight to the stub. rustup proxies find their toolchains through `RUSTUP_HOME`
//! (kept, or derived from the real `HOME`) and `RUSTUP_TOOLCHAIN` (kept).

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// No cargo command in the scenario should take more than a few seconds; this only bounds a
/// hang (a stub that never shows the published version makes `cargo publish` wait 60 s).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(45);

const PROXY_VARS: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
];

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// A shared, isolated Cargo environment for one scenario.
pub struct Cargo {
    root: PathBuf,
    vars: Vec<(String, OsString)>,
    runs: usize,
}

impl Cargo {
    /// Creates `home/`, `cargo-home/`, `target/` and `logs/` under `root`; `vars` are the
    /// scenario's own settings (registry, provider, key), added to every command.
    pub fn new(root: &Path, vars: &[(&str, String)]) -> Self {
        for dir in ["home", "cargo-home", "target", "logs"] {
            std::fs::create_dir_all(root.join(dir)).expect("create scratch dirs");
        }
        let mut all: Vec<(String, OsString)> = vec![
            ("HOME".into(), root.join("home").into()),
            ("CARGO_HOME".into(), root.join("cargo-home").into()),
            ("CARGO_TARGET_DIR".into(), root.join("target").into()),
            ("RUSTC_BOOTSTRAP".into(), "1".into()),
            ("CARGO_TERM_COLOR".into(), "never".into()),
            ("CARGO_NET_RETRY".into(), "0".into()),
            // Env beats any `net.offline` in a config file above the temp dir.
            ("CARGO_NET_OFFLINE".into(), "false".into()),
            ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
            ("no_proxy".into(), "127.0.0.1,localhost".into()),
        ];
        if std::env::var_os("RUSTUP_HOME").is_none()
            && let Some(home) = std::env::var_os("HOME")
        {
            let rustup = PathBuf::from(home).join(".rustup");
            if rustup.is_dir() {
                all.push(("RUSTUP_HOME".into(), rustup.into()));
            }
        }
        all.extend(vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))));
        Self {
            root: root.to_path_buf(),
            vars: all,
            runs: 0,
        }
    }

    /// Runs `cargo args…` in `cwd`; panics with the command's stderr if it fails or hangs.
    pub async fn run(&mut self, cwd: &Path, args: &[&str]) -> Output {
        self.runs += 1;
        let log = |stream: &str| {
            self.root
                .join("logs")
                .join(format!("{:02}-{}.{stream}", self.runs, args[0]))
        };
        let (stdout_path, stderr_path) = (log("stdout"), log("stderr"));
        let shown = format!("cargo {}", args.join(" "));
        let mut command = tokio::process::Command::new("cargo");
        command
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create stdout log"))
            .stderr(File::create(&stderr_path).expect("create stderr log"))
            .kill_on_drop(true);
        for (key, _) in std::env::vars_os() {
            let inherited_cargo = key.to_str().is_some_and(|k| k.starts_with("CARGO"));
            if inherited_cargo || PROXY_VARS.iter().any(|p| key == *p) {
                command.env_remove(&key);
            }
        }
        command.envs(self.vars.iter().map(|(k, v)| (k, v)));
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start `{shown}` (is cargo on PATH?): {e}"));
        let status: Option<ExitStatus> =
            match tokio::time::timeout(COMMAND_TIMEOUT, child.wait()).await {
                Ok(status) => Some(status.unwrap_or_else(|e| panic!("waiting for `{shown}`: {e}"))),
                Err(_) => {
                    // Kill it and wait, so its output files are complete before reading them.
                    let _ = child.kill().await;
                    None
                }
            };
        let elapsed = started.elapsed();
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        let output = Output {
            stdout: read(&stdout_path),
            stderr: read(&stderr_path),
            elapsed,
        };
        match status {
            None => panic!(
                "`{shown}` (in {}) did not finish within {COMMAND_TIMEOUT:?}; killed it.\n\
                 --- stderr ---\n{}\n--- stdout ---\n{}",
                cwd.display(),
                output.stderr,
                output.stdout
            ),
            Some(status) if !status.success() => panic!(
                "`{shown}` (in {}) failed with {status}.\n--- stderr ---\n{}\n--- stdout ---\n{}",
                cwd.display(),
                output.stderr,
                output.stdout
            ),
            Some(_) => output,
        }
    }
}
