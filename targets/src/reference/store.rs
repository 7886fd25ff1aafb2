//! A JSON map `{index-url: value}` in one file, for the reference providers.
//!
//! The file lives under an XDG base directory (`$XDG_DATA_HOME` or `$XDG_CONFIG_HOME`, else
//! the `$HOME` fallback the XDG spec names). Writes are atomic (a temp file in the same
//! directory, then rename) and the file is mode 0600, its directory 0700. Errors never quote
//! the file's content: it may hold secrets.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use cargo_credential::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{other, with_cause};

/// An XDG base directory: `$var` when set to an absolute path, else `$HOME/home_fallback`.
pub fn xdg_dir(var: &str, home_fallback: &str) -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os(var).map(PathBuf::from)
        && dir.is_absolute()
    {
        return Ok(dir);
    }
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(home_fallback)),
        _ => Err(other(format!(
            "cannot locate the credential store: neither {var} nor HOME is set"
        ))),
    }
}

/// One JSON file holding a map from index URL to `T`.
#[derive(Debug, Clone)]
pub struct JsonStore<T> {
    path: PathBuf,
    value: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> JsonStore<T> {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            value: PhantomData,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored map; empty when the file does not exist yet.
    pub fn load(&self) -> Result<BTreeMap<String, T>, Error> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(with_cause(format!("failed to read {}", self.shown()), e)),
        };
        serde_json::from_str(&text).map_err(|e| {
            // serde's message may quote a value (a secret); say only where it went wrong.
            other(format!(
                "failed to parse {}: invalid {} at line {} column {}",
                self.shown(),
                match e.classify() {
                    serde_json::error::Category::Data => "content",
                    _ => "JSON",
                },
                e.line(),
                e.column()
            ))
        })
    }

    /// Loads, changes and saves the map under an exclusive lock (`flock` on `<file>.lock`), so
    /// two providers started at once (two `cargo` commands, a parallel test run) never lose
    /// each other's writes.
    pub fn update<R>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, T>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let _lock = self
            .lock()
            .map_err(|e| with_cause(format!("failed to lock {}", self.shown()), e))?;
        let mut map = self.load()?;
        let result = change(&mut map)?;
        self.save(&map)?;
        Ok(result)
    }

    #[cfg(unix)]
    fn lock(&self) -> io::Result<fs::File> {
        use std::os::fd::AsRawFd;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(name))?;
        // SAFETY: flock on a descriptor this function owns; released when the file closes.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(file)
    }

    #[cfg(not(unix))]
    fn lock(&self) -> io::Result<()> {
        Ok(())
    }

    /// Replaces the file with `map`, atomically.
    pub fn save(&self, map: &BTreeMap<String, T>) -> Result<(), Error> {
        self.write(map)
            .map_err(|e| with_cause(format!("failed to write {}", self.shown()), e))
    }

    fn write(&self, map: &BTreeMap<String, T>) -> io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let mut json = serde_json::to_vec_pretty(map).map_err(io::Error::other)?;
        json.push(b'\n');
        // tempfile creates the file with mode 0600 on Unix.
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        temp.write_all(&json)?;
        set_private(temp.as_file())?;
        temp.as_file().sync_all()?;
        temp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn set_private(file: &fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_file: &fs::File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_atomic_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonStore::<String>::new(dir.path().join("a/b/tokens.json"));
        assert!(store.load().unwrap().is_empty());
        let mut map = BTreeMap::new();
        map.insert("https://reg/".to_string(), "tok".to_string());
        store.save(&map).unwrap();
        assert_eq!(store.load().unwrap(), map);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = fs::read_dir(dir.path().join("a/b")).unwrap().count();
        assert_eq!(leftovers, 1, "no temp files left behind");
    }

    #[test]
    fn parse_errors_do_not_quote_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        fs::write(&path, r#"{"https://reg/": 7, "x": "k3.secret.SECRET"}"#).unwrap();
        let error = JsonStore::<String>::new(&path).load().unwrap_err();
        let message = error.to_string();
        assert!(message.contains("invalid content at line 1"), "{message}");
        fs::write(&path, r#"["k3.secret.SECRET""#).unwrap();
        let message = JsonStore::<String>::new(&path)
            .load()
            .unwrap_err()
            .to_string();
        assert!(!message.contains("SECRET"), "{message}");
    }
}
