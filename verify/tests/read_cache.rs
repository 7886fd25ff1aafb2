//! Soundness of the read-token cache (`credlab_verify::cache`): on every input it gives the
//! verdict a full `Verifier::verify` gives at the same `now`, and it never stands in for the
//! replay guard.

use std::time::Duration;

use credlab_verify::RejectionKind;
use credlab_verify::cache::{CacheStats, ReadCache};
use credlab_verify::keys::SecretKey;
use credlab_verify::paseto::SignatureForm;
use credlab_verify::registry::{ReplayGuard, admit_cached};
use credlab_verify::token::{self, Claims, Footer, Operation};
use credlab_verify::verify::{HighS, KeyStore, Policy, Request, Verifier};
use time::OffsetDateTime;
use time::macros::datetime;

const INDEX: &str = "sparse+https://registry.example/index/";
const SUBJECT: &str = "alice";
const IAT: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

fn key() -> SecretKey {
    SecretKey::generate()
}

fn verifier_for(key: &SecretKey, subject: Option<&str>) -> Verifier {
    let mut keys = KeyStore::new();
    keys.insert(key.public_key().clone(), subject.map(str::to_string));
    Verifier::new(keys)
}

fn read_token(key: &SecretKey, at: OffsetDateTime) -> String {
    token::sign_as_cargo(key, INDEX, &Operation::Read, at, Some(SUBJECT))
}

fn read() -> Request {
    Request::new(INDEX, Operation::Read)
}

fn secs(n: u64) -> time::Duration {
    time::Duration::try_from(Duration::from_secs(n)).expect("in range")
}

/// The cache's answer must be the full verify's, whole (claims or kind and message).
fn assert_same_verdict(
    cache: &ReadCache,
    verifier: &Verifier,
    token: &str,
    request: &Request,
    now: OffsetDateTime,
) {
    assert_eq!(
        cache.verify(verifier, token, request, now),
        verifier.verify(token, request, now),
        "at {now}"
    );
}

#[test]
fn a_read_token_is_verified_once_and_then_answered_from_the_cache() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let token = read_token(&key, IAT);
    let first = cache
        .verify(&verifier, &token, &read(), IAT + secs(1))
        .expect("valid");
    for n in 2..100 {
        let again = cache
            .verify(&verifier, &token, &read(), IAT + secs(n))
            .expect("still valid");
        assert_eq!(again, first);
    }
    assert_eq!(
        cache.stats(),
        CacheStats {
            hits: 98,
            full_verifies: 1,
            evictions: 0
        }
    );
    assert_eq!(cache.len(), 1);
}

#[test]
fn an_expired_token_is_refused_on_a_hit() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let token = read_token(&key, IAT);
    cache
        .verify(&verifier, &token, &read(), IAT)
        .expect("fresh");
    let window = verifier.policy().max_age.as_secs();
    // The boundary is inclusive, as in the full verify.
    let edge = IAT + secs(window);
    assert_same_verdict(&cache, &verifier, &token, &read(), edge);
    let late = edge + time::Duration::nanoseconds(1);
    let refused = cache
        .verify(&verifier, &token, &read(), late)
        .expect_err("expired");
    assert_eq!(refused.kind, RejectionKind::Expired);
    assert_eq!(Err(refused), verifier.verify(&token, &read(), late));
    assert_eq!(
        cache.stats().full_verifies,
        1,
        "both answered from the entry"
    );
    assert_eq!(cache.stats().hits, 2);
    assert!(cache.is_empty(), "the expired entry is dropped");
}

#[test]
fn a_clock_set_back_refuses_as_issued_in_the_future_on_a_hit() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let token = read_token(&key, IAT);
    cache
        .verify(&verifier, &token, &read(), IAT)
        .expect("fresh");
    let earlier = IAT - secs(verifier.policy().max_future_skew.as_secs() + 1);
    let refused = cache
        .verify(&verifier, &token, &read(), earlier)
        .expect_err("future");
    assert_eq!(refused.kind, RejectionKind::IssuedInFuture);
    assert_eq!(Err(refused), verifier.verify(&token, &read(), earlier));
}

#[test]
fn every_time_gives_the_full_verify_verdict() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let token = read_token(&key, IAT);
    let window = verifier.policy().max_age.as_secs() as i64;
    let skew = verifier.policy().max_future_skew.as_secs() as i64;
    // In a jumbled order, crossing both edges in both directions, entry present or not.
    for offset in [
        0,
        -skew - 1,
        window,
        1,
        window + 1,
        -skew,
        30,
        window + 60,
        2,
        -skew - 60,
    ] {
        for nanos in [-1, 0, 1] {
            let now = IAT + time::Duration::seconds(offset) + time::Duration::nanoseconds(nanos);
            assert_same_verdict(&cache, &verifier, &token, &read(), now);
        }
    }
}

#[test]
fn a_tampered_token_misses_and_is_refused() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let token = read_token(&key, IAT);
    cache
        .verify(&verifier, &token, &read(), IAT)
        .expect("valid");
    let body_start = "v3.public.".len();
    let footer_dot = token.rfind('.').expect("a footer");
    // One byte changed in the payload, in the signature, in the footer: each is another key.
    for at in [body_start + 3, footer_dot - 3, token.len() - 3] {
        let mut bytes = token.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ASCII");
        let before = cache.stats().full_verifies;
        let refused = cache
            .verify(&verifier, &tampered, &read(), IAT)
            .expect_err("tampered");
        assert_eq!(cache.stats().full_verifies, before + 1, "byte {at}: a miss");
        assert_eq!(Err(refused), verifier.verify(&tampered, &read(), IAT));
    }
    assert_eq!(cache.len(), 1, "refusals are not cached");
}

#[test]
fn the_other_valid_signature_is_another_entry_with_the_same_verdict() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let claims = Claims::for_operation(&Operation::Read, IAT, Some(SUBJECT));
    let footer = Footer::new(INDEX, key.public_key().id());
    let low = token::sign(&key, &claims, &footer, SignatureForm::LowS);
    let high = token::sign(&key, &claims, &footer, SignatureForm::HighS);
    assert_ne!(low, high);
    cache.verify(&verifier, &low, &read(), IAT).expect("low-S");
    cache
        .verify(&verifier, &high, &read(), IAT)
        .expect("high-S");
    assert_eq!(cache.stats().full_verifies, 2);
    assert_eq!(cache.len(), 2);
}

#[test]
fn a_token_for_another_url_misses() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let token = read_token(&key, IAT);
    cache
        .verify(&verifier, &token, &read(), IAT)
        .expect("valid");
    for other in [
        "sparse+https://other.example/index/",
        "https://registry.example/index/",
        "sparse+https://registry.example/index",
    ] {
        let request = Request::new(other, Operation::Read);
        let refused = cache
            .verify(&verifier, &token, &request, IAT)
            .expect_err("another URL");
        assert_eq!(refused.kind, RejectionKind::UrlMismatch);
    }
    assert_eq!(cache.stats().full_verifies, 4);
    assert_eq!(cache.stats().hits, 0);
}

#[test]
fn a_token_for_another_operation_or_challenge_misses() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let token = read_token(&key, IAT);
    cache
        .verify(&verifier, &token, &read(), IAT)
        .expect("valid");
    let others = [
        Operation::Owners { name: "foo".into() },
        Operation::Yank {
            name: "foo".into(),
            vers: "1.0.0".into(),
        },
        Operation::Publish {
            name: "foo".into(),
            vers: "1.0.0".into(),
            cksum: "00".repeat(32),
        },
    ];
    for operation in others {
        let request = Request::new(INDEX, operation);
        assert_same_verdict(&cache, &verifier, &token, &request, IAT);
        assert!(cache.verify(&verifier, &token, &request, IAT).is_err());
    }
    let mut challenged = read();
    challenged.challenge = Some("nonce".into());
    let refused = cache
        .verify(&verifier, &token, &challenged, IAT)
        .expect_err("no challenge claim");
    assert_eq!(refused.kind, RejectionKind::MissingClaim);
    assert_eq!(cache.stats().hits, 0);
    assert_eq!(cache.len(), 1);
}

#[test]
fn mutations_are_never_cached_and_still_replay() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let mut guard = ReplayGuard::new();
    let publish = Operation::Publish {
        name: "foo".into(),
        vers: "1.0.0".into(),
        cksum: "ab".repeat(32),
    };
    let token = token::sign_as_cargo(&key, INDEX, &publish, IAT, Some(SUBJECT));
    let request = Request::new(INDEX, publish);
    admit_cached(
        &cache,
        &verifier,
        &mut guard,
        &token,
        &request,
        IAT,
        |_, _| false,
    )
    .expect("first use");
    let replay = admit_cached(
        &cache,
        &verifier,
        &mut guard,
        &token,
        &request,
        IAT,
        |_, _| false,
    )
    .expect_err("second use");
    assert_eq!(replay.kind, RejectionKind::Replayed);
    assert_eq!(
        cache.stats().full_verifies,
        2,
        "verified in full both times"
    );
    assert!(cache.is_empty(), "nothing cached");

    // A read token through admit_cached stays reusable, and is cached.
    let read_token = read_token(&key, IAT);
    for _ in 0..3 {
        admit_cached(
            &cache,
            &verifier,
            &mut guard,
            &read_token,
            &read(),
            IAT,
            |_, _| false,
        )
        .expect("reads are reusable");
    }
    assert_eq!(cache.stats().full_verifies, 3);
    assert_eq!(cache.stats().hits, 2);
}

#[test]
fn capacity_is_respected_and_expired_entries_go_first() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(4);
    let window = verifier.policy().max_age.as_secs();
    let now = IAT + secs(window) + secs(10);
    // Eight tokens 20 s apart, each verified while fresh: the four that expire first go.
    let tokens: Vec<String> = (0..8)
        .map(|i| read_token(&key, IAT + secs(20 * i)))
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        let at = IAT + secs(20 * i as u64);
        cache
            .verify(&verifier, token, &read(), at)
            .expect("fresh then");
        assert!(cache.len() <= 4);
    }
    assert_eq!(cache.len(), 4);
    assert_eq!(
        cache.stats().evictions,
        4,
        "the earliest-expiring made room"
    );
    // The four latest are the ones kept: they hit.
    let before = cache.stats().full_verifies;
    for token in &tokens[4..] {
        cache.verify(&verifier, token, &read(), now).expect("fresh");
    }
    assert_eq!(cache.stats().full_verifies, before);
    // At a time when all four have expired, a new token takes a slot freed by expiry.
    let later = IAT + secs(window + 200);
    let newer = read_token(&key, later);
    cache
        .verify(&verifier, &newer, &read(), later)
        .expect("fresh");
    assert_eq!(
        cache.len(),
        1,
        "every expired entry dropped on the full insert"
    );
}

#[test]
fn capacity_zero_stores_nothing() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(0);
    let token = read_token(&key, IAT);
    for _ in 0..3 {
        cache
            .verify(&verifier, &token, &read(), IAT)
            .expect("valid");
    }
    assert_eq!(cache.stats().full_verifies, 3);
    assert!(cache.is_empty());
}

#[test]
fn a_token_verified_under_one_key_store_does_not_hit_under_another() {
    let key = key();
    let cache = ReadCache::new(16);
    let token = read_token(&key, IAT);
    let enrolled = verifier_for(&key, Some(SUBJECT));
    cache
        .verify(&enrolled, &token, &read(), IAT)
        .expect("enrolled");

    // The key not on file: unknown key, as a full verify says.
    let stranger = verifier_for(&SecretKey::generate(), Some(SUBJECT));
    let refused = cache
        .verify(&stranger, &token, &read(), IAT)
        .expect_err("unknown key");
    assert_eq!(refused.kind, RejectionKind::UnknownKey);
    // The key on file with another subject, or none: the subject check runs again.
    for subject in [Some("mallory"), None] {
        let other = verifier_for(&key, subject);
        let refused = cache
            .verify(&other, &token, &read(), IAT)
            .expect_err("subject");
        assert_eq!(refused.kind, RejectionKind::SubjectMismatch);
    }
    assert_eq!(cache.stats().hits, 0);
    assert_eq!(cache.stats().full_verifies, 4);

    // A key removed from a verifier's own store after caching: refused at once.
    let mut revoked = verifier_for(&key, Some(SUBJECT));
    cache
        .verify(&revoked, &token, &read(), IAT)
        .expect("on file");
    revoked.keys_mut().remove(key.public_key().id().as_str());
    let refused = cache
        .verify(&revoked, &token, &read(), IAT)
        .expect_err("revoked");
    assert_eq!(refused.kind, RejectionKind::UnknownKey);

    // The same key and subject in another store: the full verify would accept; so does a hit.
    let twin = verifier_for(&key, Some(SUBJECT));
    cache
        .verify(&twin, &token, &read(), IAT)
        .expect("same record");
    let hits = cache.stats().hits;
    cache
        .verify(&twin, &token, &read(), IAT)
        .expect("same record");
    assert_eq!(cache.stats().hits, hits + 1);
}

#[test]
fn another_policy_or_backend_misses() {
    let key = key();
    let cache = ReadCache::new(16);
    let claims = Claims::for_operation(&Operation::Read, IAT, Some(SUBJECT));
    let footer = Footer::new(INDEX, key.public_key().id());
    let high_s = token::sign(&key, &claims, &footer, SignatureForm::HighS);
    let lenient = verifier_for(&key, Some(SUBJECT));
    cache
        .verify(&lenient, &high_s, &read(), IAT)
        .expect("high-S accepted by default");
    let strict = verifier_for(&key, Some(SUBJECT)).with_policy(Policy {
        high_s: HighS::Reject,
        ..Policy::default()
    });
    let refused = cache
        .verify(&strict, &high_s, &read(), IAT)
        .expect_err("low-S only");
    assert_eq!(refused.kind, RejectionKind::HighSSignature);

    // A wide window caches a token; the reference window still refuses it once it is old.
    let wide = verifier_for(&key, Some(SUBJECT)).with_policy(Policy {
        max_age: Duration::from_secs(100 * 365 * 24 * 3600),
        ..Policy::default()
    });
    let old = IAT + secs(3600);
    cache
        .verify(&wide, &high_s, &read(), old)
        .expect("inside the wide window");
    let refused = cache
        .verify(&lenient, &high_s, &read(), old)
        .expect_err("outside 15 min");
    assert_eq!(refused.kind, RejectionKind::Expired);
    assert_eq!(cache.stats().full_verifies, 3);

    for backend in credlab_verify::Backend::available() {
        let other = verifier_for(&key, Some(SUBJECT)).with_backend(*backend);
        assert_same_verdict(&cache, &other, &high_s, &read(), IAT);
    }
}

#[test]
fn an_oversized_token_is_refused_without_an_entry() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(16);
    let huge = "v3.public.".to_string() + &"A".repeat(verifier.policy().max_token_len);
    let refused = cache
        .verify(&verifier, &huge, &read(), IAT)
        .expect_err("too large");
    assert_eq!(refused.kind, RejectionKind::TooLarge);
    assert!(cache.is_empty());
}

#[test]
fn threads_share_one_cache() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(8);
    let tokens: Vec<String> = (0..4).map(|i| read_token(&key, IAT + secs(i))).collect();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (cache, verifier, tokens) = (&cache, &verifier, &tokens);
            scope.spawn(move || {
                for i in 0..50 {
                    let token = &tokens[(t + i) % tokens.len()];
                    cache
                        .verify(verifier, token, &read(), IAT + secs(10))
                        .expect("valid");
                }
            });
        }
    });
    let stats = cache.stats();
    assert_eq!(stats.hits + stats.full_verifies, 200);
    // Racing misses may verify a token twice, never more often than there are threads.
    assert!(stats.full_verifies <= 16, "{stats:?}");
    assert_eq!(cache.len(), 4);
}

#[test]
fn a_full_cache_of_live_tokens_stays_within_capacity() {
    let key = key();
    let verifier = verifier_for(&key, Some(SUBJECT));
    let cache = ReadCache::new(32);
    let tokens: Vec<String> = (0..100).map(|i| read_token(&key, IAT + secs(i))).collect();
    let now = IAT + secs(100);
    for token in &tokens {
        cache.verify(&verifier, token, &read(), now).expect("fresh");
        assert!(cache.len() <= 32, "{}", cache.len());
    }
    // The latest token is always kept: evictions take those that expire first.
    let before = cache.stats().full_verifies;
    cache
        .verify(&verifier, &tokens[99], &read(), now)
        .expect("fresh");
    assert_eq!(cache.stats().full_verifies, before, "a hit");
    assert_eq!(cache.stats().evictions, 100 - cache.len() as u64);
}
