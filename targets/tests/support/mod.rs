//! Real Cargo in a sandbox: a temp HOME/CARGO_HOME/CARGO_TARGET_DIR with a cleared
//! environment (no inherited `CARGO_*`) and a deadline (killed, and the test fails with its
//! stderr). Shared by the tests that drive real Cargo against `credlab serve`; and real
//! `.crate` files to publish ([`dot_crate`]).

#![allow(dead_code, reason = "each test binary uses its own part")]

pub mod dot_crate;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

/// The Cargo building this test (cargo 1.95).
pub const CARGO: &str = env!("CARGO");
pub const DEADLINE: Duration = Duration::from_secs(120);

pub struct Finished {
    pub stdout: String,
    pub stderr: String,
}

/// An isolated Cargo home and the environment every command gets.
pub struct Sandbox {
    root: tempfile::TempDir,
    vars: Vec<(String, OsString)>,
}

impl Sandbox {
    /// Nightly-feature Cargo (`RUSTC_BOOTSTRAP=1`) whose registry `credlab` at `index` signs
    /// with `cargo:paseto`, the secret key `key` and the subject `subject`.
    pub fn cargo_paseto(
        index: String,
        key: &credlab_suite::keys::SecretKey,
        subject: &str,
    ) -> Self {
        Self::new(&[
            ("RUSTC_BOOTSTRAP", "1".into()),
            ("CARGO_REGISTRIES_CREDLAB_INDEX", index),
            (
                "CARGO_REGISTRIES_CREDLAB_CREDENTIAL_PROVIDER",
                "cargo:paseto".into(),
            ),
            ("CARGO_REGISTRIES_CREDLAB_SECRET_KEY", key.expose_paserk()),
            (
                "CARGO_REGISTRIES_CREDLAB_SECRET_KEY_SUBJECT",
                subject.into(),
            ),
        ])
    }

    pub fn new(vars: &[(&str, String)]) -> Self {
        let root = tempfile::Builder::new()
            .prefix("credlab-registry-cargo-")
            .tempdir()
            .expect("temp dir");
        let path = root.path();
        for dir in ["home", "cargo-home", "target", "config", "work"] {
            std::fs::create_dir_all(path.join(dir)).expect("mkdir");
        }
        let mut all: Vec<(String, OsString)> = vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("HOME".into(), path.join("home").into()),
            ("CARGO_HOME".into(), path.join("cargo-home").into()),
            ("CARGO_TARGET_DIR".into(), path.join("target").into()),
            ("XDG_CONFIG_HOME".into(), path.join("config").into()),
            ("CARGO_TERM_COLOR".into(), "never".into()),
            ("CARGO_NET_RETRY".into(), "0".into()),
            ("CARGO_HTTP_TIMEOUT".into(), "30".into()),
            ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
        ];
        // rustup proxies (rustc on PATH) find their toolchains through these.
        let rustup_home = std::env::var_os("RUSTUP_HOME").or_else(|| {
            let dir = PathBuf::from(std::env::var_os("HOME")?).join(".rustup");
            dir.is_dir().then(|| dir.into())
        });
        if let Some(rustup_home) = rustup_home {
            all.push(("RUSTUP_HOME".into(), rustup_home));
        }
        if let Some(toolchain) = std::env::var_os("RUSTUP_TOOLCHAIN") {
            all.push(("RUSTUP_TOOLCHAIN".into(), toolchain));
        }
        all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.into())));
        Self { root, vars: all }
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.root.path().join(sub)
    }

    /// Runs `cargo args…` in `cwd` with `stdin`; panics with stderr on failure or timeout.
    pub fn cargo(&self, cwd: &Path, args: &[&str], stdin: &str) -> Finished {
        let shown = format!("cargo {}", args.join(" "));
        let started = Instant::now();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (output, timed_out) = runtime.block_on(async {
            let mut child = tokio::process::Command::new(CARGO)
                .args(args)
                .env_clear()
                .envs(self.vars.iter().map(|(k, v)| (k, v)))
                .current_dir(cwd)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("could not start `{shown}`: {e}"));
            let mut input = child.stdin.take().expect("piped stdin");
            input
                .write_all(stdin.as_bytes())
                .await
                .expect("write stdin");
            drop(input);
            // Output is collected while waiting; at the deadline the child is killed
            // (kill_on_drop) and what it printed so far is lost, so say so.
            match tokio::time::timeout(DEADLINE, child.wait_with_output()).await {
                Ok(output) => (output.expect("wait for cargo"), false),
                Err(_) => (
                    std::process::Output {
                        status: std::process::ExitStatus::default(),
                        stdout: Vec::new(),
                        stderr: b"(killed at the deadline)".to_vec(),
                    },
                    true,
                ),
            }
        });
        let finished = Finished {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        eprintln!(
            "$ {shown} ({:.2?})\n{}{}",
            started.elapsed(),
            finished.stdout,
            finished.stderr
        );
        assert!(
            !timed_out,
            "`{shown}` did not finish within {DEADLINE:?}; killed it.\n--- stderr ---\n{}",
            finished.stderr
        );
        assert!(
            output.status.success(),
            "`{shown}` failed with {}.\n--- stderr ---\n{}\n--- stdout ---\n{}",
            output.status,
            finished.stderr,
            finished.stdout
        );
        finished
    }
}

pub fn write(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, contents).expect("write");
}
