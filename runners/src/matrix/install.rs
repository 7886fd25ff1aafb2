//! Installing a matrix target, pinned and cached: `cargo install` (from the registry, from a
//! fixture's wrapper crate, or from the registry crate's own source with a few lock pins),
//! `pip install` into a venv, and the Debian packages it needs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use credlab_suite::index::index_path;
use credlab_suite::matrix::{CargoPackage, Install};
use sha2::{Digest, Sha256};

use super::{MatrixError, Places};
use crate::bounded::run_bounded;

/// How long one install step may take (kellnr 6.13.0, the slowest, builds in about 22 minutes
/// on 2 cores when nothing else runs).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// crates.io's sparse index and download host, where `cargo install` gets the same files.
const INDEX: &str = "https://index.crates.io";
const DOWNLOADS: &str = "https://static.crates.io/crates";
/// The largest `.crate` fetched (crates.io refuses uploads over 10 MB).
const CRATE_LIMIT: u64 = 64 * 1024 * 1024;
/// How long one download (the index entry, the `.crate`) may take in all.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// Installs (once; a marker records what is installed) and returns the folder its programs
/// are in.
pub(super) fn install(
    install: &Install,
    cache: &Path,
    places: &Places,
) -> Result<PathBuf, MatrixError> {
    for package in &install.apt {
        apt(package)?;
    }
    if install.builtin {
        let dir = places.credlab.parent().map(Path::to_path_buf);
        return dir.ok_or_else(|| MatrixError::Install("credlab has no folder".into()));
    }
    let marker = cache.join("installed");
    let (wanted, bin) = match (&install.cargo, &install.pip) {
        (Some(cargo), _) => (cargo.describe(), cache.join("bin")),
        (None, Some(pip)) => (
            format!("pip {}=={}", pip.package, pip.version),
            cache.join("venv/bin"),
        ),
        (None, None) => return Err(MatrixError::Install("nothing to install".into())),
    };
    if std::fs::read_to_string(&marker).is_ok_and(|had| had == wanted) {
        return Ok(bin);
    }
    let log = cache.join("install.log");
    let step = |mut command: Command, what: &str| -> Result<(), MatrixError> {
        let file = std::fs::File::create(&log)?;
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        match run_bounded(command, INSTALL_TIMEOUT)? {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(MatrixError::Install(format!(
                "{what} failed ({status}); see {}",
                log.display()
            ))),
            None => Err(MatrixError::Install(format!("{what} timed out"))),
        }
    };
    if let Some(cargo) = &install.cargo {
        let source = if cargo.precise.is_empty() {
            None
        } else {
            let source = fetch_source(cargo, cache)?;
            for pin in &cargo.precise {
                let (package, version) = pin.split_once('@').unwrap_or((pin, ""));
                let mut update = cargo_command();
                update
                    .arg("update")
                    .arg("--manifest-path")
                    .arg(source.join("Cargo.toml"))
                    .args(["-p", package, "--precise", version]);
                step(
                    update,
                    &format!("cargo update -p {package} --precise {version}"),
                )?;
            }
            Some(source)
        };
        let mut command = cargo_command();
        command.args(cargo_install_args(
            cargo,
            cache,
            &places.matrix,
            source.as_deref(),
        ));
        step(command, &wanted)?;
    } else if let Some(pip) = &install.pip {
        let mut venv = Command::new("python3");
        venv.args(["-m", "venv"]).arg(cache.join("venv"));
        step(venv, "python3 -m venv")?;
        let mut command = Command::new(bin.join("pip"));
        command
            .args(["install", "--disable-pip-version-check"])
            .arg(format!("{}=={}", pip.package, pip.version));
        step(command, &wanted)?;
    }
    std::fs::write(&marker, &wanted)?;
    Ok(bin)
}

/// `cargo install`'s arguments: the pinned crate from the registry, or, for a library crate,
/// the fixture's wrapper crate (its Cargo.lock pins the library) built in the cache.
fn cargo_install_args(
    cargo: &CargoPackage,
    cache: &Path,
    matrix: &Path,
    source: Option<&Path>,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["install".into()];
    if cargo.locked {
        args.push("--locked".into());
    }
    args.extend(["--root".into(), cache.into()]);
    let path = match (source, &cargo.path) {
        (Some(source), _) => Some(source.to_path_buf()),
        (None, Some(path)) => Some(matrix.join("fixtures").join(path)),
        (None, None) => None,
    };
    match path {
        Some(path) => args.extend([
            "--path".into(),
            path.into(),
            "--target-dir".into(),
            cache.join("target").into(),
        ]),
        None => args.push(format!("{}@{}", cargo.krate, cargo.version).into()),
    }
    args
}

fn cargo_command() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// An HTTPS client that trusts the certificates the system trusts (a proxy's CA in the
/// system store, `SSL_CERT_FILE`), as `cargo install` does, and gives up after a while.
fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(DOWNLOAD_TIMEOUT))
        .build()
        .into()
}

/// The crate's published source, unpacked at `CACHE/src/NAME-VERSION`: the `.crate` file
/// `cargo install` would download, checked against the checksum the registry's index gives
/// for that version (as Cargo checks it).
fn fetch_source(cargo: &CargoPackage, cache: &Path) -> Result<PathBuf, MatrixError> {
    let fail = |what: String| MatrixError::Install(format!("{}: {what}", cargo.describe()));
    let name = cargo.krate.to_ascii_lowercase();
    let index_url = format!("{INDEX}/{}", index_path(&name));
    let agent = agent();
    let lines = agent
        .get(&index_url)
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
        .map_err(|e| fail(format!("{index_url}: {e}")))?;
    let cksum = lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["vers"] == cargo.version.as_str())
        .and_then(|entry| entry["cksum"].as_str().map(str::to_owned))
        .ok_or_else(|| fail(format!("version {} is not in {index_url}", cargo.version)))?;
    let crate_url = format!("{DOWNLOADS}/{name}/{name}-{}.crate", cargo.version);
    let mut bytes = Vec::new();
    agent
        .get(&crate_url)
        .call()
        .map_err(|e| fail(format!("{crate_url}: {e}")))?
        .into_body()
        .into_reader()
        .take(CRATE_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("{crate_url}: {e}")))?;
    let got = hex::encode(Sha256::digest(&bytes));
    if got != cksum {
        return Err(fail(format!(
            "{crate_url} has sha256 {got}; the index says {cksum}"
        )));
    }
    let unpacked = cache.join("src");
    if unpacked.exists() {
        std::fs::remove_dir_all(&unpacked)?;
    }
    std::fs::create_dir_all(&unpacked)?;
    // `unpack` refuses entries that would land outside the folder.
    tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()))
        .unpack(&unpacked)
        .map_err(|e| fail(format!("unpacking {crate_url}: {e}")))?;
    let source = unpacked.join(format!("{name}-{}", cargo.version));
    if !source.join("Cargo.lock").is_file() {
        return Err(fail(format!("{crate_url} has no Cargo.lock to pin")));
    }
    Ok(source)
}

/// A Debian package, installed if missing.
fn apt(package: &str) -> Result<(), MatrixError> {
    let installed = Command::new("dpkg")
        .args(["-s", package])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut command = Command::new(if root { "apt-get" } else { "sudo" });
    if !root {
        command.arg("apt-get");
    }
    command
        .args(["install", "-y", "-qq", package])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match run_bounded(command, INSTALL_TIMEOUT)? {
        Some(status) if status.success() => Ok(()),
        _ => Err(MatrixError::Install(format!(
            "apt-get install {package} failed"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_crate_is_installed_through_its_fixture_wrapper() {
        let mut cargo = CargoPackage {
            krate: "cargo-credential-netrc".into(),
            version: "0.1.0".into(),
            path: None,
            locked: true,
            precise: Vec::new(),
        };
        let (cache, matrix) = (Path::new("/c/netrc"), Path::new("/m"));
        let words = |args: Vec<std::ffi::OsString>| -> Vec<String> {
            args.into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            words(cargo_install_args(&cargo, cache, matrix, None)),
            [
                "install",
                "--locked",
                "--root",
                "/c/netrc",
                "cargo-credential-netrc@0.1.0"
            ]
        );
        cargo.path = Some("keyring/libsecret-provider".into());
        assert_eq!(
            words(cargo_install_args(&cargo, cache, matrix, None)),
            [
                "install",
                "--locked",
                "--root",
                "/c/netrc",
                "--path",
                "/m/fixtures/keyring/libsecret-provider",
                "--target-dir",
                "/c/netrc/target"
            ]
        );
    }

    #[test]
    fn a_pinned_crate_is_installed_from_its_unpacked_source_and_unlocked_when_asked() {
        let cargo = CargoPackage {
            krate: "kellnr".into(),
            version: "6.13.0".into(),
            path: None,
            locked: true,
            precise: vec!["webpki-roots@1.0.10".into()],
        };
        let words = |args: Vec<std::ffi::OsString>| -> Vec<String> {
            args.into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let (cache, matrix) = (Path::new("/c/kellnr"), Path::new("/m"));
        assert_eq!(
            words(cargo_install_args(
                &cargo,
                cache,
                matrix,
                Some(Path::new("/c/kellnr/src/kellnr-6.13.0"))
            )),
            [
                "install",
                "--locked",
                "--root",
                "/c/kellnr",
                "--path",
                "/c/kellnr/src/kellnr-6.13.0",
                "--target-dir",
                "/c/kellnr/target"
            ]
        );
        let unlocked = CargoPackage {
            krate: "nora-registry".into(),
            version: "1.4.3".into(),
            locked: false,
            precise: Vec::new(),
            ..cargo
        };
        assert_eq!(
            words(cargo_install_args(&unlocked, cache, matrix, None)),
            ["install", "--root", "/c/kellnr", "nora-registry@1.4.3"]
        );
    }
}
