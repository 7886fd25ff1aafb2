//! The secret register: every secret credlab knows in a run, and the one function that keeps
//! them out of everything credlab writes.
//!
//! Redaction is by value, not by field: whatever a target echoes back (an `Err` message, a
//! 401 body, a line on stderr) is scrubbed wherever it ends up, because the register is
//! consulted on the finished text (reports, progress, errors, found vectors), not on the
//! fields credlab expected a secret in.
//!
//! A secret is matched whole and by fragment: any run of at least [`FRAGMENT`] characters of
//! its sensitive part is replaced (a provider that prints "k3.secret.fNYVuMvBgOlljt9T…" has
//! leaked 96 bits of the key). For a PASETO token the sensitive part is the signature: its
//! header and claims are not secret (every token of a run starts with the same
//! `v3.public.eyJpYXQiOi…`), and redacting them would blank out unrelated text.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::{Arc, PoisonError, RwLock};

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use serde_json::Value;
use sha2::Digest;

use crate::keys::SecretKey;

/// The shortest fragment of a secret that is redacted (16 base64 characters carry 96 bits,
/// 16 hex digits 64).
pub const FRAGMENT: usize = 16;

/// Secrets shorter than this are not registered: too short to be a credential, and too short
/// to tell from the ordinary words of a report (`pass`, `token`).
pub const SHORTEST: usize = 8;

/// What a secret is, for the placeholder and for the judge (`provider::secrets` cases tell a
/// login key on stderr from a returned token on stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// The key or token credlab gives a provider at login (`${login_token}`), or the
    /// registry key credlab signs with.
    LoginKey,
    /// A token a provider returned from `get`.
    ProviderToken,
    /// A token credlab signed for a registry.
    SignedToken,
    /// A token the user says a provider or registry already holds.
    StoredToken,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::LoginKey => "login-key",
            SecretKind::ProviderToken => "provider-token",
            SecretKind::SignedToken => "signed-token",
            SecretKind::StoredToken => "stored-token",
        }
    }
}

/// One occurrence of a registered secret in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte range in the text searched.
    pub range: Range<usize>,
    /// Which bytes of the secret (as registered) that range holds.
    pub secret: Range<usize>,
    pub kind: SecretKind,
    /// The placeholder label (`login-key`, `token #1a2b3c4d`).
    pub label: String,
    /// The whole secret, not just a fragment of it.
    pub whole: bool,
}

#[derive(Debug)]
struct Entry {
    kind: SecretKind,
    label: String,
    text: Vec<u8>,
    /// The bytes whose fragments are secret.
    sensitive: Range<usize>,
}

#[derive(Debug)]
struct Index {
    entries: Vec<Entry>,
    /// Every FRAGMENT-byte window of every sensitive part: (entry, offset in its text).
    windows: HashMap<[u8; FRAGMENT], Vec<(u32, u32)>, BuildHasherDefault<WindowHasher>>,
    /// Entries too short for windows, matched whole.
    short: Vec<u32>,
    /// Bytes that occur in some sensitive part (a window ending elsewhere cannot match).
    alphabet: [bool; 256],
    seen: HashSet<Vec<u8>>,
}

impl Default for Index {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            windows: HashMap::default(),
            short: Vec::new(),
            alphabet: [false; 256],
            seen: HashSet::new(),
        }
    }
}

/// The register, shared by every thread of a run (cloning shares it).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    index: Arc<RwLock<Index>>,
}

impl Secrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `secret`, all of it sensitive. Secrets shorter than [`SHORTEST`] are ignored;
    /// those shorter than [`FRAGMENT`] are matched whole only.
    pub fn add(&self, kind: SecretKind, label: impl Into<String>, secret: &str) {
        self.add_range(kind, label.into(), secret.as_bytes(), 0..secret.len());
    }

    /// Registers a `k3.secret` in every form it may be printed in: the PASERK, and its
    /// 48-byte scalar as base64url, standard base64 and hex.
    pub fn add_key(&self, kind: SecretKind, label: &str, key: &SecretKey) {
        let paserk = key.expose_paserk();
        self.add(kind, label, &paserk);
        let data = paserk.rsplit('.').next().unwrap_or_default();
        if let Ok(raw) = Base64UrlUnpadded::decode_vec(data) {
            for form in [
                Base64UrlUnpadded::encode_string(&raw),
                Base64::encode_string(&raw),
                hex::encode(&raw),
                hex::encode_upper(&raw),
            ] {
                self.add(kind, label, &form);
            }
        }
    }

    /// Registers a token: for a PASETO `v3.public` token the signature is the sensitive part;
    /// anything else (an opaque token) is sensitive whole. The label is its fingerprint.
    pub fn add_token(&self, kind: SecretKind, token: &str) {
        let label = format!("token {}", fingerprint(token));
        let sensitive = paseto_signature_chars(token).unwrap_or(0..token.len());
        self.add_range(kind, label, token.as_bytes(), sensitive);
    }

    fn add_range(&self, kind: SecretKind, label: String, text: &[u8], sensitive: Range<usize>) {
        if text.len() < SHORTEST {
            return;
        }
        let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
        if !index.seen.insert(text.to_vec()) {
            return;
        }
        let id = u32::try_from(index.entries.len()).expect("fewer than 4 billion secrets");
        if sensitive.len() < FRAGMENT {
            index.short.push(id);
        } else {
            for offset in sensitive.start..=sensitive.end - FRAGMENT {
                let window: [u8; FRAGMENT] = text[offset..offset + FRAGMENT]
                    .try_into()
                    .expect("a window is FRAGMENT bytes");
                let offset = u32::try_from(offset).expect("secrets are small");
                index.windows.entry(window).or_default().push((id, offset));
            }
            for &b in &text[sensitive.clone()] {
                index.alphabet[usize::from(b)] = true;
            }
        }
        index.entries.push(Entry {
            kind,
            label,
            text: text.to_vec(),
            sensitive,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .is_empty()
    }

    /// Every occurrence of a registered secret (whole, or a fragment of at least
    /// [`FRAGMENT`] sensitive bytes) in `text`, in order, not overlapping.
    pub fn find(&self, text: &[u8]) -> Vec<Found> {
        let index = self.index.read().unwrap_or_else(PoisonError::into_inner);
        if index.entries.is_empty() {
            return Vec::new();
        }
        let mut found: Vec<Found> = Vec::new();
        let mut at = 0;
        while at + FRAGMENT <= text.len() {
            // The window's last byte is not in any secret: no window ending there or before
            // can match, so skip past it.
            if !index.alphabet[usize::from(text[at + FRAGMENT - 1])] {
                at += FRAGMENT;
                continue;
            }
            let window: &[u8; FRAGMENT] = text[at..at + FRAGMENT]
                .try_into()
                .expect("a window is FRAGMENT bytes");
            let best = index.windows.get(window).and_then(|hits| {
                hits.iter()
                    .map(|&(id, offset)| extend(&index.entries[id as usize], offset, text, at))
                    .max_by_key(|f| (f.whole, f.range.len()))
            });
            match best {
                Some(hit) => {
                    at = hit.range.end;
                    push_merged(&mut found, hit);
                }
                None => at += 1,
            }
        }
        for &id in &index.short {
            let entry = &index.entries[id as usize];
            for start in occurrences(text, &entry.text) {
                let range = start..start + entry.text.len();
                if !found.iter().any(|f| overlaps(&f.range, &range)) {
                    found.push(Found {
                        range,
                        secret: 0..entry.text.len(),
                        kind: entry.kind,
                        label: entry.label.clone(),
                        whole: true,
                    });
                }
            }
        }
        found.sort_by_key(|f| f.range.start);
        found
    }

    /// `text` with every registered secret replaced by `<redacted LABEL>` (or `<redacted
    /// part of LABEL>` for a fragment).
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let found = self.find(text.as_bytes());
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            // Secrets are matched bytewise; keep the cut on character boundaries.
            let start = floor_boundary(text, f.range.start).max(at);
            let end = ceil_boundary(text, f.range.end);
            out.push_str(&text[at..start]);
            out.push_str(&placeholder(&f));
            at = end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Bytes with every registered secret replaced, as [`Secrets::scrub`] does for text.
    pub fn scrub_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for f in self.find(bytes) {
            out.extend_from_slice(&bytes[at..f.range.start.max(at)]);
            out.extend_from_slice(placeholder(&f).as_bytes());
            at = f.range.end;
        }
        out.extend_from_slice(&bytes[at.min(bytes.len())..]);
        out
    }

    /// Scrubs every string (and object key) in a JSON value.
    pub fn scrub_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(clean) = self.scrub(s) {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            Value::Object(map) => {
                let taken = std::mem::take(map);
                for (key, mut v) in taken {
                    self.scrub_json(&mut v);
                    map.insert(self.scrub(&key).into_owned(), v);
                }
            }
            _ => {}
        }
    }

    /// The same value with every string scrubbed (through its JSON form, so no field is
    /// forgotten when a type grows one).
    pub fn scrub_serde<T>(&self, value: &T) -> Result<T, serde_json::Error>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let mut json = serde_json::to_value(value)?;
        self.scrub_json(&mut json);
        serde_json::from_value(json)
    }
}

/// A multiply-fold hash for the 16-byte windows: every position of a scanned text is looked
/// up, and SipHash's flood resistance buys nothing here (the keys are credlab's own secrets).
#[derive(Default)]
struct WindowHasher(u64);

impl Hasher for WindowHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn placeholder(f: &Found) -> String {
    if f.whole {
        format!("<redacted {}>", f.label)
    } else {
        format!("<redacted part of {}>", f.label)
    }
}

/// Grows a window hit at `at` (entry offset `offset`) both ways for as long as the text
/// keeps matching the secret.
fn extend(entry: &Entry, offset: u32, text: &[u8], at: usize) -> Found {
    let offset = offset as usize;
    let secret = &entry.text;
    let mut left = 0;
    while left < offset && left < at && text[at - left - 1] == secret[offset - left - 1] {
        left += 1;
    }
    let mut right = 0;
    while offset + FRAGMENT + right < secret.len()
        && at + FRAGMENT + right < text.len()
        && text[at + FRAGMENT + right] == secret[offset + FRAGMENT + right]
    {
        right += 1;
    }
    let from = offset - left;
    let to = offset + FRAGMENT + right;
    Found {
        range: at - left..at + FRAGMENT + right,
        secret: from..to,
        kind: entry.kind,
        label: entry.label.clone(),
        whole: from == 0 && to == secret.len()
            || (from <= entry.sensitive.start && to >= entry.sensitive.end),
    }
}

/// Adds `hit`, merging it into the previous occurrence when they touch.
fn push_merged(found: &mut Vec<Found>, hit: Found) {
    if let Some(last) = found.last_mut()
        && hit.range.start < last.range.end
    {
        // Two secrets side by side: the merged range is not one slice of either.
        if hit.range.end > last.range.end {
            last.secret.end += hit.range.end - last.range.end;
            last.range.end = hit.range.end;
        }
        last.whole |= hit.whole;
        return;
    }
    found.push(hit);
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

fn occurrences<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(move |(_, w)| *w == needle)
        .map(|(i, _)| i)
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at.min(text.len())
}

/// The characters of a `v3.public` token that encode its signature (the last 96 bytes of the
/// second segment), or `None` when it is not shaped like one.
fn paseto_signature_chars(token: &str) -> Option<Range<usize>> {
    const HEADER: &str = "v3.public.";
    const SIGNATURE: usize = 96;
    let body = token.strip_prefix(HEADER)?;
    let segment = body.split('.').next()?;
    let bytes = segment.len() * 6 / 8;
    let message = bytes.checked_sub(SIGNATURE)?;
    // The base64 quantum holding the first signature byte starts at this character.
    let first = message / 3 * 4;
    Some(HEADER.len() + first..HEADER.len() + segment.len())
}

/// `#1a2b3c4d`: a short SHA-256 fingerprint, enough to tell two tokens apart in a report.
pub fn fingerprint(secret: &str) -> String {
    let digest = sha2::Sha256::digest(secret.as_bytes());
    format!("#{}", hex::encode(&digest[..4]))
}

/// `v3.public.eyJp…#1a2b3c4d`: a PASETO token's public header (its first 14 characters)
/// and a short SHA-256 fingerprint; any other token (an opaque secret, where every character
/// counts) only by its length and fingerprint: `<40 chars>#1a2b3c4d`.
pub fn token(token: &str) -> String {
    if token.starts_with("v3.public.") {
        let prefix: String = token.chars().take(14).collect();
        format!("{prefix}…{}", fingerprint(token))
    } else {
        format!("<{} chars>{}", token.chars().count(), fingerprint(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Operation, sign_as_cargo};
    use time::macros::datetime;

    const RFC_SECRET: &str =
        "k3.secret.fNYVuMvBgOlljt9TDohnaYLblghqaHoQquVZwgR6X12cBFHZLFsaU3q7X3k1Zn36";

    fn rfc_key() -> SecretKey {
        SecretKey::from_paserk(RFC_SECRET).unwrap()
    }

    #[test]
    fn shows_a_prefix_and_fingerprint_only() {
        let t = "v3.public.eyJpYXQiOiIyMDI2In0secretsecretsecret";
        let shown = super::token(t);
        assert!(shown.starts_with("v3.public.eyJp…#"), "{shown}");
        assert!(!shown.contains("secret"));
        assert_eq!(shown, super::token(t));
        // An opaque token shows none of its characters.
        let opaque = super::token("tok-abcdefgh12345");
        assert!(opaque.starts_with("<17 chars>#"), "{opaque}");
        assert!(!opaque.contains("tok-"));
    }

    #[test]
    fn whole_keys_in_every_form() {
        let secrets = Secrets::new();
        let key = rfc_key();
        secrets.add_key(SecretKind::LoginKey, "login-key", &key);
        let text = format!("bad token {RFC_SECRET} given");
        assert_eq!(secrets.scrub(&text), "bad token <redacted login-key> given");
        let raw = Base64UrlUnpadded::decode_vec(&RFC_SECRET[10..]).unwrap();
        for form in [
            hex::encode(&raw),
            hex::encode_upper(&raw),
            Base64::encode_string(&raw),
        ] {
            let scrubbed = secrets.scrub(&format!("key={form};")).into_owned();
            assert_eq!(scrubbed, "key=<redacted login-key>;", "{form}");
        }
    }

    #[test]
    fn fragments_of_sixteen_or_more() {
        let secrets = Secrets::new();
        secrets.add_key(SecretKind::LoginKey, "login-key", &rfc_key());
        let sixteen = &RFC_SECRET[20..36];
        assert_eq!(
            secrets.scrub(&format!("x {sixteen} y")),
            "x <redacted part of login-key> y"
        );
        let fifteen = &RFC_SECRET[20..35];
        assert_eq!(
            secrets.scrub(&format!("x {fifteen} y")),
            format!("x {fifteen} y")
        );
        // 56 of the 64 characters, as the fuzzer once wrote into a found vector.
        let most = &RFC_SECRET[10..66];
        let scrubbed = secrets.scrub(&format!("\"token\":\"{most}\"")).into_owned();
        assert!(!scrubbed.contains(&most[..16]), "{scrubbed}");
        // The public prefix alone is not a secret.
        assert_eq!(secrets.scrub("k3.secret.xyz"), "k3.secret.xyz");
    }

    #[test]
    fn tokens_are_redacted_by_their_signature() {
        let secrets = Secrets::new();
        let token = sign_as_cargo(
            &rfc_key(),
            "sparse+https://r.test/index/",
            &Operation::Read,
            datetime!(2026-01-01 00:00:00 UTC),
            None,
        );
        secrets.add_token(SecretKind::ProviderToken, &token);
        let scrubbed = secrets.scrub(&format!("got {token}!")).into_owned();
        assert_eq!(
            scrubbed,
            format!("got <redacted token {}>!", fingerprint(&token))
        );
        // The claims of another token of the same run share a long prefix: not a secret.
        let other = sign_as_cargo(
            &rfc_key(),
            "sparse+https://r.test/index/",
            &Operation::Read,
            datetime!(2026-01-01 00:00:01 UTC),
            None,
        );
        assert_eq!(secrets.scrub(&other[..40]), &other[..40]);
        // The signature alone is (the end of the second segment; the third is the footer).
        let footer_dot = token.rfind('.').unwrap();
        let tail = &token[footer_dot - 60..footer_dot];
        assert!(!secrets.scrub(tail).contains(&tail[..20]));
    }

    #[test]
    fn short_secrets_match_whole_only() {
        let secrets = Secrets::new();
        secrets.add(SecretKind::StoredToken, "stored-token", "pass");
        assert!(
            secrets.is_empty(),
            "shorter than SHORTEST: not a credential"
        );
        assert_eq!(secrets.scrub("pass"), "pass");
        secrets.add(SecretKind::StoredToken, "stored-token", "hunter2hunter");
        assert_eq!(secrets.scrub("hunter2hunte"), "hunter2hunte");
        assert_eq!(
            secrets.scrub("xhunter2huntery"),
            "x<redacted stored-token>y"
        );
    }

    #[test]
    fn json_and_bytes() {
        let secrets = Secrets::new();
        secrets.add_key(SecretKind::LoginKey, "login-key", &rfc_key());
        let mut v = serde_json::json!({"a": [RFC_SECRET], RFC_SECRET: 1});
        secrets.scrub_json(&mut v);
        assert!(!v.to_string().contains(&RFC_SECRET[10..26]), "{v}");
        let bytes = [b"\xff\xfe".as_slice(), RFC_SECRET.as_bytes(), b"\x00"].concat();
        let out = secrets.scrub_bytes(&bytes);
        assert_eq!(out, b"\xff\xfe<redacted login-key>\x00");
    }

    #[test]
    fn non_ascii_neighbours_keep_text_valid() {
        let secrets = Secrets::new();
        secrets.add(SecretKind::StoredToken, "t", "ééééééééééééééééé");
        let scrubbed = secrets.scrub("aéééééééééééééééééb");
        assert!(
            scrubbed.starts_with('a') && scrubbed.ends_with('b'),
            "{scrubbed}"
        );
        assert!(scrubbed.contains("<redacted"));
    }
}
