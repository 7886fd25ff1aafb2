//! The layout of a sparse registry index, as Cargo reads it: where a crate's index file lives
//! and how a download URL is made from `config.json`'s `dl`. The registry runner asks a registry
//! for these paths and the reference registry serves them, so both take them from here.
//!
//! Sources: Cargo's `src/doc/src/reference/registry-index.md` ("Index files", "config.json")
//! and `make_dep_path` in `crates/cargo-util/src/registry.rs`, rust-lang/cargo at af373f76
//! (2026-08-22), the commit every Cargo citation in credlab is pinned to.

/// The sparse index path of a crate (registry-index.md "Index files": `1/a`, `2/ab`, `3/a/abc`,
/// `ab/cd/abcd…`), lowercased. The reference registry serves the same paths.
pub fn index_path(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    format!("{}/{lower}", dep_prefix(&lower))
}

/// The index directory of a crate name, as Cargo's `make_dep_path(name, true)` builds it: `1`, `2`,
/// `3/{first char}`, else `{first two}/{next two}`. Counted in chars so a non-ASCII name from a
/// registry cannot split a character (Cargo's names are ASCII, where the two agree).
pub fn dep_prefix(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let take = |range: std::ops::Range<usize>| chars[range].iter().collect::<String>();
    match chars.len() {
        0 => String::new(),
        1 => "1".into(),
        2 => "2".into(),
        3 => format!("3/{}", take(0..1)),
        _ => format!("{}/{}", take(0..2), take(2..4)),
    }
}

/// The markers of config.json's `dl` (registry-index.md "config.json").
const DL_MARKERS: [&str; 5] = [
    "{crate}",
    "{version}",
    "{prefix}",
    "{lowerprefix}",
    "{sha256-checksum}",
];

/// A download URL from `dl`: the markers substituted, or `/{crate}/{version}/download`
/// appended when `dl` has none of them. (Cargo appends to `dl` as is; a trailing `/` is
/// dropped here first, as credlab always did, so `…/dl/` does not become `…/dl//…`.)
pub fn dl_url(dl: &str, name: &str, vers: &str, cksum: &str) -> String {
    if !DL_MARKERS.iter().any(|m| dl.contains(m)) {
        return format!("{}/{name}/{vers}/download", dl.trim_end_matches('/'));
    }
    dl.replace("{crate}", name)
        .replace("{version}", vers)
        .replace("{prefix}", &dep_prefix(name))
        .replace("{lowerprefix}", &dep_prefix(&name.to_lowercase()))
        .replace("{sha256-checksum}", cksum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_paths() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("Cargo"), "ca/rg/cargo");
    }

    #[test]
    fn dep_prefixes_as_cargo_makes_them() {
        assert_eq!(dep_prefix("a"), "1");
        assert_eq!(dep_prefix("ab"), "2");
        assert_eq!(dep_prefix("Abc"), "3/A");
        assert_eq!(dep_prefix("CargoX"), "Ca/rg");
        assert_eq!(dep_prefix("é"), "1");
        assert_eq!(dep_prefix("ééé"), "3/é");
    }

    #[test]
    fn dl_markers_as_cargo_documents_them() {
        let url = |dl: &str| dl_url(dl, "Serde", "1.0.0", "abc123");
        assert_eq!(
            url("http://127.0.0.1:1/dl"),
            "http://127.0.0.1:1/dl/Serde/1.0.0/download"
        );
        assert_eq!(
            url("http://127.0.0.1:1/dl/"),
            "http://127.0.0.1:1/dl/Serde/1.0.0/download"
        );
        assert_eq!(
            url("http://h/{crate}/{version}/download"),
            "http://h/Serde/1.0.0/download"
        );
        assert_eq!(
            url("http://h/{prefix}/{lowerprefix}/{crate}"),
            "http://h/Se/rd/se/rd/Serde"
        );
        assert_eq!(
            url("http://h/by-sum/{sha256-checksum}"),
            "http://h/by-sum/abc123"
        );
        // Any one marker means no suffix; an unknown `{…}` is not a marker.
        assert_eq!(url("http://h/{version}"), "http://h/1.0.0");
        assert_eq!(
            url("http://h/{other}"),
            "http://h/{other}/Serde/1.0.0/download"
        );
    }
}
