//! The `.crate` check (rules in [`super::validate`]): a gzipped tar, every entry a file or
//! directory under `NAME-VERS/`, one `Cargo.toml` at the top naming the same crate and version.
//!
//! The gzip stream is inflated through [`Capped`], which counts every byte and fails past
//! [`MAX_UNPACK_SIZE`]; entries are skipped by reading them through it, and only the manifest
//! (at most [`MAX_MANIFEST_SIZE`]) is kept. After the tar's end the rest of the stream is
//! drained through the same cap, so a gzip stream that is corrupt past the archive (a bad
//! CRC, a truncation) is refused too.

use std::cell::Cell;
use std::io::{self, Read};
use std::path::{Component, Path};

use flate2::read::GzDecoder;
use serde::Deserialize;

use super::validate::{Invalid, MAX_MANIFEST_SIZE, MAX_UNPACK_SIZE, shown};

/// How a read through [`Capped`] ended, when it did not end well.
#[derive(Default)]
struct Trouble {
    /// More than [`MAX_UNPACK_SIZE`] bytes came out.
    too_large: Cell<bool>,
    /// The gzip layer failed (the tar reader only sees an I/O error).
    gzip: Cell<Option<String>>,
}

/// The inflated stream, counted against the unpack limit.
struct Capped<'a, R> {
    inner: R,
    left: u64,
    trouble: &'a Trouble,
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte past the limit is enough to know it was passed.
        let room = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => {
                self.trouble.gzip.set(Some(e.to_string()));
                return Err(e);
            }
        };
        if n as u64 > self.left {
            self.trouble.too_large.set(true);
            return Err(io::Error::other("the unpack limit was reached"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The part of `Cargo.toml` that must agree with the publish metadata.
#[derive(Deserialize)]
struct Manifest {
    package: Option<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: Option<toml::Value>,
    version: Option<toml::Value>,
}

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid(message.into())
}

/// Checks that `crate_bytes` is the `.crate` of `name` `vers`.
pub fn check(crate_bytes: &[u8], name: &str, vers: &str) -> Result<(), Invalid> {
    if crate_bytes.is_empty() {
        return Err(invalid("the .crate is empty: a .crate is a gzipped tar"));
    }
    if !crate_bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(invalid(
            "the .crate is not gzip-compressed (no gzip magic bytes): a .crate is a gzipped tar",
        ));
    }
    let trouble = Trouble::default();
    let mut stream = Capped {
        inner: GzDecoder::new(crate_bytes),
        left: MAX_UNPACK_SIZE,
        trouble: &trouble,
    };
    let explain = |e: io::Error| -> Invalid {
        if trouble.too_large.get() {
            invalid(format!(
                "the .crate unpacks to more than 512 MiB ({MAX_UNPACK_SIZE} bytes)"
            ))
        } else if let Some(gzip) = trouble.gzip.take() {
            invalid(format!("the .crate is not a valid gzip stream: {gzip}"))
        } else {
            invalid(format!("the .crate is not a valid tar archive: {e}"))
        }
    };
    let root = format!("{name}-{vers}");
    let manifest = read_archive(&mut stream, &root).map_err(|e| match e {
        Failure::Io(e) => explain(e),
        Failure::Invalid(invalid) => invalid,
    })?;
    io::copy(&mut stream, &mut io::sink()).map_err(explain)?;
    let manifest = manifest.ok_or_else(|| {
        invalid(format!(
            "the .crate has no `{root}/Cargo.toml`: a .crate holds its manifest at the top \
             of its `NAME-VERSION/` folder"
        ))
    })?;
    check_manifest(&manifest, name, vers)
}

enum Failure {
    Io(io::Error),
    Invalid(Invalid),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

impl From<Invalid> for Failure {
    fn from(invalid: Invalid) -> Self {
        Failure::Invalid(invalid)
    }
}

/// Walks the archive: checks every entry and returns the text of the top `Cargo.toml`.
fn read_archive(stream: &mut impl Read, root: &str) -> Result<Option<String>, Failure> {
    let mut archive = tar::Archive::new(stream);
    let mut manifest: Option<(String, String)> = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = entry.path()?.into_owned();
        let Some(inside) = inside_root(&path, root) else {
            return Err(invalid(format!(
                "the .crate's entry `{}` is not a UTF-8 path inside its top folder `{root}/`",
                shown(&raw)
            ))
            .into());
        };
        let kind = entry.header().entry_type();
        if !kind.is_file() && !kind.is_dir() {
            return Err(invalid(format!(
                "the .crate's entry `{}` is a {kind:?}: only regular files and directories \
                 are allowed",
                shown(&raw)
            ))
            .into());
        }
        if !inside.eq_ignore_ascii_case("cargo.toml") {
            continue;
        }
        if let Some((first, _)) = &manifest {
            return Err(invalid(format!(
                "the .crate holds more than one manifest: `{first}` and `{inside}`"
            ))
            .into());
        }
        if inside != "Cargo.toml" && inside != "cargo.toml" {
            return Err(invalid(format!(
                "the .crate's manifest is named `{inside}`: it must be `Cargo.toml`"
            ))
            .into());
        }
        if entry.size() > MAX_MANIFEST_SIZE {
            return Err(invalid(format!(
                "the .crate's Cargo.toml is {} bytes: at most 4 MiB is accepted",
                entry.size()
            ))
            .into());
        }
        let mut text = String::new();
        entry
            .by_ref()
            .take(MAX_MANIFEST_SIZE)
            .read_to_string(&mut text)
            .map_err(|e| match e.kind() {
                io::ErrorKind::InvalidData => {
                    Failure::Invalid(invalid("the .crate's Cargo.toml is not UTF-8".to_string()))
                }
                _ => Failure::Io(e),
            })?;
        manifest = Some((inside, text));
    }
    Ok(manifest.map(|(_, text)| text))
}

/// The path of an entry inside `root/` (`""` for the folder itself), or `None` if the entry is
/// elsewhere, climbs out with `..`, or is not UTF-8.
fn inside_root(path: &Path, root: &str) -> Option<String> {
    let mut components = path.components();
    if components.next() != Some(Component::Normal(root.as_ref())) {
        return None;
    }
    let mut parts = Vec::new();
    for component in components {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// The manifest parses and names `name` `vers`, spelled exactly so.
fn check_manifest(text: &str, name: &str, vers: &str) -> Result<(), Invalid> {
    let manifest: Manifest = toml::from_str(text).map_err(|e| {
        let mut why = e.message().to_string();
        why.truncate(200);
        invalid(format!("the .crate's Cargo.toml does not parse: {why}"))
    })?;
    let package = manifest.package.ok_or_else(|| {
        invalid("the .crate's Cargo.toml has no [package] table (a workspace manifest?)")
    })?;
    let field = |value: Option<toml::Value>, key: &str| match value {
        Some(toml::Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(format!(
            "the .crate's Cargo.toml has a `package.{key}` that is not a string (cargo \
             package writes the literal value, never an inherited one)"
        ))),
        None => Err(invalid(format!(
            "the .crate's Cargo.toml has no `package.{key}`"
        ))),
    };
    let manifest_name = field(package.name, "name")?;
    let manifest_vers = field(package.version, "version")?;
    if manifest_name != name {
        return Err(invalid(format!(
            "metadata name `{name}` does not match manifest name `{}`",
            shown(&manifest_name)
        )));
    }
    if manifest_vers != vers {
        return Err(invalid(format!(
            "metadata version `{vers}` does not match manifest version `{}`",
            shown(&manifest_vers)
        )));
    }
    Ok(())
}
