//! A bounded cache of verified read tokens: verify a read token once, not once per request.
//!
//! Cargo signs one read token per command and sends it on every `config.json`, index file and
//! download request of that command (docs/observed.md §2; RFC 3231 "A read token can be used
//! for multiple requests", R16 in docs/rfc3231-rules.md). With `auth-required`, a `cargo
//! generate-lockfile` is hundreds of requests and each would pay a full P-384 verify.
//! [`ReadCache::verify`] gives the verdict of [`Verifier::verify`] for the same arguments,
//! running the signature and claim checks only the first time it sees a token.
//!
//! # Soundness: a hit gives the verdict a full verify would give
//!
//! [`Verifier::verify`] is a pure function of (the token bytes, the request, the key record
//! its `kip` names, the policy, the backend, `now`), and `now` enters only the freshness check
//! (step 7: `iat` not older than `max_age`, not further ahead than `max_future_skew`). So:
//!
//! - **Key** = SHA-256 over, length-prefixed: the exact token bytes, the request's index URL,
//!   operation (kind and every field) and challenge, every field of the verifier's policy,
//!   and the backend. Any change to any of them is another key: a tampered token (one byte),
//!   another URL, operation or challenge, a stricter policy (`SkipExpiry`'s century window
//!   and the reference's 15 minutes never share an entry) all miss and get a full verify.
//!   The signature's `s` and `n − s` are two token strings, so two entries (harmless: reads
//!   are reusable anyway; single-use is the replay guard's business, keyed on content).
//! - **Key store**: keys can be enrolled, removed or re-enrolled with another subject while
//!   the cache lives, and one cache may serve verifiers with different stores. An entry
//!   remembers the `kip` and the subject on file it was verified with; a hit requires the
//!   verifier's store to still hold that `kip` with that subject. The `kip` is the key's own
//!   PASERK id (`KeyStore::insert` files a key under `key.id()`), so the same `kip` is the
//!   same public key. Otherwise the entry is dropped and the token fully verified (unknown
//!   key, subject mismatch, or success with the new subject).
//! - **Time**: every hit re-runs the freshness check against the caller's `now` under the
//!   verifier's policy (the same function the full verify runs, so the same rejection and
//!   message). An expired hit is refused and its entry dropped. Since every other check
//!   passed when the entry was made and none of them depends on time, a full verify at `now`
//!   would refuse it for exactly that reason too.
//! - **Only successes** are cached: a refusal is recomputed every time (a token refused as
//!   issued-in-the-future may become valid; caching refusals would also let anyone fill the
//!   cache without a key). Every entry is a token some enrolled key really signed.
//! - **Only reads**: [`Operation::Read`] requests are cached. Publish, yank and unyank tokens
//!   are single-use (R15): they are verified in full every time and must still pass the
//!   replay guard (`registry::admit_cached`). Owners tokens are reusable but sent ~3 times per
//!   `cargo owner`, not worth an entry. Tokens over `max_token_len` are refused by the
//!   verifier before anything is hashed.
//!
//! Two threads missing on the same token both verify it and the second insert wins: no
//! verdict depends on which.
//!
//! # Bounds
//!
//! At most `capacity` entries (capacity 0: nothing is stored, every call is a full verify).
//! An entry is dropped when a hit finds it expired; when an insert finds the cache full, every
//! expired entry is dropped, and if it is still full, the 1/16 of the capacity that expires
//! first (it has the least use left; Cargo's tokens arrive roughly in `iat` order, so this is
//! close to FIFO). That scan is O(capacity) under the lock (≈ 25 µs for 4,096 entries) and
//! happens only on a miss that finds the cache full, after a ~190 µs verify. An entry holds
//! the [`Verified`] result (claims, footer, signed bytes: ≈ 1 KiB for a Cargo token).
//!
//! # Map: std `HashMap` behind a `Mutex`
//!
//! A hit takes the lock for one hash-map probe and an `Arc` clone; the key-store and
//! freshness checks run outside it. Measured (bench/README.md, "read-token cache"): a hit
//! costs ≈ 1.3 µs in the reference registry's auth path, ≈ 0.4 µs of it the SHA-256 of the
//! token, 35 ns the probe (`hashlink::LruCache` behind a `Mutex`: 31 ns), against ≈ 190 µs for
//! a full verify. A crate could only shave the probe, so none is added to the crate
//! registries link.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::Digest;
use time::OffsetDateTime;

use crate::backend::Backend;
use crate::registry::remember_until;
use crate::rejection::Rejection;
use crate::token::Operation;
use crate::verify::{HighS, IatSyntax, KeyIdField, Policy, Request, Tolerance, Verified, Verifier};

/// The capacity `credlab serve` uses unless told otherwise: distinct read tokens live at once.
/// Cargo makes one per command, so this is ~4,000 Cargo commands per freshness window (15 min)
/// before entries are evicted early (≈ 4 MiB at most); beyond it the cache only loses hits.
pub const DEFAULT_CAPACITY: usize = 4096;

/// A full cache of live entries evicts this fraction of its capacity at once.
const EVICT_FRACTION: usize = 16;

/// The identity of a (token, request, policy, backend): see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CacheKey([u8; 32]);

/// Feeds length-prefixed pieces to SHA-256, so no two different sequences hash alike
/// (the framing of PASETO's PAE: little-endian u64 lengths).
struct KeyHasher(sha2::Sha256);

impl KeyHasher {
    fn new() -> Self {
        let mut hasher = Self(sha2::Sha256::new());
        hasher.bytes(b"credlab-verify read cache v1");
        hasher
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn optional(&mut self, value: Option<&str>) {
        match value {
            None => self.0.update([0]),
            Some(value) => {
                self.0.update([1]);
                self.bytes(value.as_bytes());
            }
        }
    }

    fn number(&mut self, n: u128) {
        self.0.update(n.to_le_bytes());
    }

    fn policy(&mut self, policy: &Policy) {
        // Destructured without `..`: a new policy field does not compile until it is hashed.
        let Policy {
            max_age,
            max_future_skew,
            high_s,
            iat_syntax,
            unknown_claims,
            misplaced_binding_claims,
            subject_without_record,
            key_id_field,
            max_token_len,
            max_json_depth,
        } = policy;
        self.number(max_age.as_nanos());
        self.number(max_future_skew.as_nanos());
        let tolerance = |t: &Tolerance| matches!(t, Tolerance::Accept) as u128;
        self.number(matches!(high_s, HighS::Accept) as u128);
        self.number(match iat_syntax {
            IatSyntax::Strict => 0,
            IatSyntax::Lenient => 1,
        });
        self.number(tolerance(unknown_claims));
        self.number(tolerance(misplaced_binding_claims));
        self.number(tolerance(subject_without_record));
        self.number(matches!(key_id_field, KeyIdField::Kip) as u128);
        self.number(*max_token_len as u128);
        self.number(*max_json_depth as u128);
    }

    fn finish(self) -> CacheKey {
        CacheKey(self.0.finalize().into())
    }
}

impl CacheKey {
    fn of(verifier: &Verifier, token: &str, request: &Request) -> Self {
        let Request {
            index_url,
            operation,
            challenge,
        } = request;
        let mut hasher = KeyHasher::new();
        hasher.bytes(token.as_bytes());
        hasher.bytes(index_url.as_bytes());
        hasher.bytes(operation.kind().as_str().as_bytes());
        hasher.optional(operation.name());
        hasher.optional(operation.vers());
        hasher.optional(operation.cksum());
        hasher.optional(challenge.as_deref());
        hasher.policy(verifier.policy());
        hasher.bytes(Backend::name(verifier.backend()).as_bytes());
        hasher.finish()
    }
}

/// One verified read token.
#[derive(Debug)]
struct Entry {
    verified: Verified,
    /// The subject on file for the token's `kip` when it was verified.
    subject: Option<String>,
    /// When no hit can succeed any more (`iat` + `max_age`): evictable from then on.
    expires: OffsetDateTime,
}

/// How the cache has been used, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Calls answered from an entry (fresh or expired).
    pub hits: u64,
    /// Calls that ran [`Verifier::verify`]: misses, and every non-read request.
    pub full_verifies: u64,
    /// Entries dropped to make room or because they had expired.
    pub evictions: u64,
}

/// A thread-safe, bounded cache of verified read tokens; see the module doc.
#[derive(Debug)]
pub struct ReadCache {
    capacity: usize,
    entries: Mutex<HashMap<CacheKey, Arc<Entry>>>,
    hits: AtomicU64,
    full_verifies: AtomicU64,
    evictions: AtomicU64,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl ReadCache {
    /// A cache of at most `capacity` read tokens (0: a pass-through that stores nothing).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            full_verifies: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            full_verifies: self.full_verifies.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }

    /// Whether `request` may be answered from the cache: reads only (module doc).
    pub fn is_cacheable(request: &Request) -> bool {
        request.operation == Operation::Read
    }

    /// [`Verifier::verify`]`(token, request, now)`, answered from the cache when this read
    /// token was verified before under the same request, policy, backend and key record.
    pub fn verify(
        &self,
        verifier: &Verifier,
        token: &str,
        request: &Request,
        now: OffsetDateTime,
    ) -> Result<Verified, Rejection> {
        if self.capacity == 0
            || !Self::is_cacheable(request)
            || token.len() > verifier.policy().max_token_len
        {
            return self.full_verify(verifier, token, request, now);
        }
        let key = CacheKey::of(verifier, token, request);
        let cached = self.lock().get(&key).cloned();
        if let Some(entry) = cached {
            let still_on_file = verifier
                .keys()
                .get(&entry.verified.footer.kip)
                .is_some_and(|record| record.subject == entry.subject);
            if still_on_file {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return match verifier.check_freshness(&entry.verified.claims, now) {
                    Ok(_) => Ok(entry.verified.clone()),
                    Err(stale) => {
                        self.remove(key, &entry);
                        Err(stale)
                    }
                };
            }
            // The key was removed or its subject changed: the full verify says what now.
            self.remove(key, &entry);
        }
        let verified = self.full_verify(verifier, token, request, now)?;
        let subject = verifier
            .keys()
            .get(&verified.footer.kip)
            .and_then(|record| record.subject.clone());
        let expires = remember_until(verified.issued_at, verifier.policy().max_age);
        self.insert(
            key,
            Entry {
                verified: verified.clone(),
                subject,
                expires,
            },
            now,
        );
        Ok(verified)
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn full_verify(
        &self,
        verifier: &Verifier,
        token: &str,
        request: &Request,
        now: OffsetDateTime,
    ) -> Result<Verified, Rejection> {
        self.full_verifies.fetch_add(1, Ordering::Relaxed);
        verifier.verify(token, request, now)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CacheKey, Arc<Entry>>> {
        // A panic elsewhere while holding the lock leaves the map consistent (every mutation
        // is a single std call), so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Removes `key` if it still holds `entry` (another thread may have replaced it).
    fn remove(&self, key: CacheKey, entry: &Arc<Entry>) {
        let mut entries = self.lock();
        if entries.get(&key).is_some_and(|e| Arc::ptr_eq(e, entry)) {
            entries.remove(&key);
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn insert(&self, key: CacheKey, entry: Entry, now: OffsetDateTime) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let before = entries.len();
            entries.retain(|_, e| e.expires >= now);
            if entries.len() >= self.capacity {
                // The 1/16 that expire first, in one O(capacity) pass: a full cache of live
                // tokens then pays the scan once per capacity/16 inserts, not on every one.
                let mut by_expiry: Vec<(OffsetDateTime, CacheKey)> =
                    entries.iter().map(|(k, e)| (e.expires, *k)).collect();
                let n = (self.capacity / EVICT_FRACTION).clamp(1, by_expiry.len());
                by_expiry.select_nth_unstable_by_key(n - 1, |(expires, _)| *expires);
                for (_, first) in &by_expiry[..n] {
                    entries.remove(first);
                }
            }
            let evicted = (before - entries.len()) as u64;
            self.evictions.fetch_add(evicted, Ordering::Relaxed);
        }
        entries.insert(key, Arc::new(entry));
    }
}
