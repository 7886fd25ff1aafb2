//! `.crate` files for the registry tests, laid out as `cargo package` lays them out: a gzipped
//! tar whose entries all sit under `NAME-VERS/`, with the normalized `Cargo.toml` at its top.
//! Deterministic (mtime 0, mode 0644), so the same arguments always give the same checksum.
//! Entry names are written raw, so tests can also build the archives Cargo would never make
//! (`..` and absolute paths), which the `tar` crate's path setters refuse.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::write::GzEncoder;

/// One tar entry: its raw path, its type and its content.
pub struct Entry {
    pub path: String,
    pub kind: tar::EntryType,
    pub content: Box<dyn Read>,
    pub size: u64,
}

impl Entry {
    pub fn file(path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        let content = content.into();
        Self {
            path: path.into(),
            kind: tar::EntryType::Regular,
            size: content.len() as u64,
            content: Box::new(std::io::Cursor::new(content)),
        }
    }

    /// A file of `size` zero bytes, streamed (never held in memory).
    pub fn zeros(path: impl Into<String>, size: u64) -> Self {
        Self {
            path: path.into(),
            kind: tar::EntryType::Regular,
            size,
            content: Box::new(std::io::repeat(0).take(size)),
        }
    }

    pub fn symlink(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            kind: tar::EntryType::Symlink,
            size: 0,
            content: Box::new(std::io::empty()),
        }
    }
}

/// The `Cargo.toml` `cargo package` would write for `name` `vers` (abridged).
pub fn manifest(name: &str, vers: &str) -> String {
    format!(
        "[package]\nedition = \"2021\"\nname = \"{name}\"\nversion = \"{vers}\"\n\
         description = \"the {name} crate\"\nlicense = \"MIT\"\n"
    )
}

/// An uncompressed tar of `entries`.
pub fn tar(entries: Vec<Entry>) -> Vec<u8> {
    let mut out = Vec::new();
    write_tar(&mut out, entries);
    out
}

fn write_tar(out: &mut impl Write, entries: Vec<Entry>) {
    let mut builder = tar::Builder::new(out);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(entry.kind);
        header.set_size(entry.size);
        header.set_mode(0o644);
        header.set_mtime(0);
        let plain = !entry.path.is_empty()
            && !entry.path.starts_with('/')
            && !entry.path.split('/').any(|part| part == "..");
        if plain {
            // Long paths get a GNU long-name entry, as `cargo package` writes them.
            builder
                .append_data(&mut header, &entry.path, entry.content)
                .expect("writing a tar to memory");
        } else {
            let name = &mut header.as_gnu_mut().expect("a GNU header").name;
            assert!(
                entry.path.len() < name.len(),
                "raw test paths fit the header"
            );
            name[..entry.path.len()].copy_from_slice(entry.path.as_bytes());
            header.set_cksum();
            builder
                .append(&header, entry.content)
                .expect("writing a tar to memory");
        }
    }
    builder.finish().expect("writing a tar to memory");
}

/// `bytes`, gzipped.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(bytes).expect("writing to memory");
    gz.finish().expect("writing to memory")
}

/// `size` zero bytes, gzipped as they are made.
pub fn gzip_zeros(size: u64) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    std::io::copy(&mut std::io::repeat(0).take(size), &mut gz).expect("writing to memory");
    gz.finish().expect("writing to memory")
}

/// A gzipped tar of `entries`, compressed as it is written (for entries too big to hold).
pub fn gzipped_tar(entries: Vec<Entry>) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    write_tar(&mut gz, entries);
    gz.finish().expect("writing to memory")
}

/// A `.crate` for `name` `vers` whose `src/lib.rs` says `tag` (so two tags give two checksums).
pub fn dot_crate(name: &str, vers: &str, tag: &[u8]) -> Vec<u8> {
    let root = format!("{name}-{vers}");
    gzipped_tar(vec![
        Entry::file(format!("{root}/Cargo.toml"), manifest(name, vers)),
        Entry::file(format!("{root}/src/lib.rs"), tag),
    ])
}
