//! The read-token cache changes no verdict of the reference registry nor of any seeded bug:
//! for the reference and every `Bug`, two registries that differ only in `read_cache` are
//! taken through the same script of (token, operation, time) and must answer every step
//! alike, refusals word for word. The script reuses tokens so that the cached registry
//! answers from its entries: past the freshness window (`SkipExpiry`), with the clock set
//! back (`SkipFutureCheck`), after a replay (`SingleUseEverything`, `NoReplayGuard`,
//! `ReplayGuardByTokenString`), with the other valid signature, another URL, another
//! operation, a challenge claim, an unknown key and a tampered signature.

use credlab_suite::keys::SecretKey;
use credlab_suite::paseto::{self, SignatureForm};
use credlab_suite::token::{self, Claims, Footer, Operation};
use credlab_targets::registry::server::{self, Bug, Config, Running};
use time::{Duration, OffsetDateTime};

const SUBJECT: &str = "alice";

/// Tokens are signed per registry (the footer carries its URL), so each step is a recipe.
struct Step {
    what: &'static str,
    token: fn(&Signer) -> String,
    operation: fn() -> Operation,
    /// Seconds after the script's start.
    at: i64,
}

struct Signer {
    key: SecretKey,
    stranger: SecretKey,
    url: String,
    start: OffsetDateTime,
}

impl Signer {
    fn claims(&self, operation: &Operation, iat_offset: i64) -> Claims {
        let at = self.start + Duration::seconds(iat_offset);
        Claims::for_operation(operation, at, Some(SUBJECT))
    }

    fn sign(&self, claims: &Claims, form: SignatureForm) -> String {
        token::sign(
            &self.key,
            claims,
            &Footer::new(&self.url, self.key.public_key().id()),
            form,
        )
    }

    fn read(&self, form: SignatureForm) -> String {
        self.sign(&self.claims(&Operation::Read, 0), form)
    }
}

fn read() -> Operation {
    Operation::Read
}

fn publish() -> Operation {
    Operation::Publish {
        name: "foo".into(),
        vers: "1.0.0".into(),
        cksum: "ab".repeat(32),
    }
}

fn yank() -> Operation {
    Operation::Yank {
        name: "foo".into(),
        vers: "1.0.0".into(),
    }
}

fn owners() -> Operation {
    Operation::Owners { name: "foo".into() }
}

/// `token` with one bit of its signature flipped.
fn bad_signature(token: &str) -> String {
    let decoded = paseto::decode(token).expect("decodes");
    let mut body = decoded.payload().to_vec();
    let mut signature = decoded.signature().to_vec();
    signature[95] ^= 1;
    body.extend_from_slice(&signature);
    paseto::assemble(&body, decoded.footer().expect("a footer"))
}

const MAX_AGE: i64 = 900;
const SKEW: i64 = 60;

fn step(
    what: &'static str,
    token: fn(&Signer) -> String,
    operation: fn() -> Operation,
    at: i64,
) -> Step {
    Step {
        what,
        token,
        operation,
        at,
    }
}

fn script() -> Vec<Step> {
    let low: fn(&Signer) -> String = |s| s.read(SignatureForm::LowS);
    let high: fn(&Signer) -> String = |s| s.read(SignatureForm::HighS);
    let mut steps = vec![
        step("read token", low, read, 0),
        step("read token again", low, read, 1),
        step("read token, later", low, read, 600),
        step("read token at the window's edge", low, read, MAX_AGE),
        step("read token past the window", low, read, MAX_AGE + 1),
        step("read token past the window again", low, read, MAX_AGE + 2),
        step("read token, fresh again", low, read, 5),
        step("read token, clock set back", low, read, -SKEW - 1),
        step("read token, clock set back again", low, read, -SKEW - 2),
        step("read token, clock restored", low, read, 5),
        step("the other signature", high, read, 0),
        step("the other signature again", high, read, 1),
        step("the other signature, expired", high, read, MAX_AGE + 5),
        step("read token for a yank", low, yank, 0),
        step("read token for owners", low, owners, 0),
        step("read token for a publish", low, publish, 0),
    ];
    let other_url: fn(&Signer) -> String = |s| {
        let claims = s.claims(&Operation::Read, 0);
        let url = s.url.strip_prefix("sparse+").unwrap_or(&s.url);
        token::sign(
            &s.key,
            &claims,
            &Footer::new(url, s.key.public_key().id()),
            SignatureForm::LowS,
        )
    };
    let future: fn(&Signer) -> String =
        |s| s.sign(&s.claims(&Operation::Read, 3600), SignatureForm::LowS);
    let old: fn(&Signer) -> String =
        |s| s.sign(&s.claims(&Operation::Read, -3600), SignatureForm::LowS);
    let challenged: fn(&Signer) -> String = |s| {
        let mut claims = s.claims(&Operation::Read, 0);
        claims.challenge = Some("never-issued".into());
        s.sign(&claims, SignatureForm::LowS)
    };
    let no_sub: fn(&Signer) -> String = |s| {
        let mut claims = s.claims(&Operation::Read, 0);
        claims.sub = None;
        s.sign(&claims, SignatureForm::LowS)
    };
    let v1: fn(&Signer) -> String = |s| {
        let mut claims = s.claims(&Operation::Read, 0);
        claims.v = Some(1);
        s.sign(&claims, SignatureForm::LowS)
    };
    let stranger: fn(&Signer) -> String = |s| {
        token::sign(
            &s.stranger,
            &s.claims(&Operation::Read, 0),
            &Footer::new(&s.url, s.stranger.public_key().id()),
            SignatureForm::LowS,
        )
    };
    let tampered: fn(&Signer) -> String = |s| bad_signature(&s.read(SignatureForm::LowS));
    let publish_token: fn(&Signer) -> String =
        |s| s.sign(&s.claims(&publish(), 0), SignatureForm::LowS);
    let publish_flipped: fn(&Signer) -> String =
        |s| s.sign(&s.claims(&publish(), 0), SignatureForm::HighS);
    let yank_token: fn(&Signer) -> String = |s| s.sign(&s.claims(&yank(), 0), SignatureForm::LowS);
    let owners_token: fn(&Signer) -> String =
        |s| s.sign(&s.claims(&owners(), 0), SignatureForm::LowS);
    for (what, token) in [
        ("a footer url without sparse+", other_url),
        ("issued an hour ahead", future),
        ("issued an hour ago", old),
        ("a challenge claim", challenged),
        ("no sub", no_sub),
        ("v: 1", v1),
        ("an unknown key", stranger),
        ("a tampered signature", tampered),
    ] {
        steps.push(step(what, token, read, 0));
        steps.push(step(what, token, read, 1));
    }
    steps.extend([
        step("an hour-ahead token once it is due", future, read, 3600),
        step("a publish token", publish_token, publish, 0),
        step("the publish token again", publish_token, publish, 1),
        step("the publish token, s flipped", publish_flipped, publish, 2),
        step("the publish token for a read", publish_token, read, 3),
        step("a yank token", yank_token, yank, 0),
        step("the yank token again", yank_token, yank, 1),
        step("the yank token for a read", yank_token, read, 2),
        step("an owners token", owners_token, owners, 0),
        step("the owners token again", owners_token, owners, 1),
        step("the read token after all that", low, read, 10),
    ]);
    steps
}

fn start(key: &SecretKey, bug: Option<Bug>, read_cache: usize) -> Running {
    server::start(Config {
        keys: vec![(key.public_key().clone(), Some(SUBJECT.to_string()))],
        bug,
        read_cache,
        ..Config::default()
    })
    .expect("start the registry")
}

/// The script's answers; the address in messages is replaced so two registries compare.
fn run(registry: &Running, signer: &Signer) -> Vec<(String, Result<String, String>)> {
    script()
        .into_iter()
        .map(|step| {
            let token = (step.token)(signer);
            let now = signer.start + Duration::seconds(step.at);
            let answer = registry
                .authenticate(&token, &(step.operation)(), now)
                .map_err(|e| e.replace(&registry.addr().to_string(), "{addr}"));
            (step.what.to_string(), answer)
        })
        .collect()
}

#[test]
fn the_read_cache_changes_no_verdict_of_the_reference_or_any_seeded_bug() {
    let key = SecretKey::generate();
    let stranger = SecretKey::generate();
    let start_at = OffsetDateTime::now_utc();
    for bug in std::iter::once(None).chain(Bug::ALL.map(Some)) {
        let mut answers = Vec::new();
        let mut counts = Vec::new();
        for read_cache in [server::Config::default().read_cache, 0] {
            let registry = start(&key, bug, read_cache);
            let signer = Signer {
                key: key.clone(),
                stranger: stranger.clone(),
                url: registry.index_url(),
                start: start_at,
            };
            answers.push(run(&registry, &signer));
            counts.push(registry.auth_counts());
        }
        for (cached, uncached) in answers[0].iter().zip(&answers[1]) {
            assert_eq!(cached, uncached, "{bug:?}: cached vs uncached");
        }
        assert_eq!(counts[1].cache_hits, 0, "{bug:?}");
        if bug.is_none() {
            assert!(
                counts[0].cache_hits >= 9,
                "the script hits: {:?}",
                counts[0]
            );
            assert!(counts[0].full_verifies < counts[1].full_verifies);
            // Spot checks that the script says what it means on the reference.
            let kind = |what: &str| {
                let (_, answer) = answers[0].iter().find(|(w, _)| w == what).expect("a step");
                answer
                    .as_ref()
                    .err()
                    .map(|e| e.split(':').next().unwrap_or_default().to_string())
            };
            assert_eq!(kind("read token again"), None);
            assert_eq!(
                kind("read token past the window").as_deref(),
                Some("expired")
            );
            assert_eq!(
                kind("read token, clock set back").as_deref(),
                Some("issued-in-future")
            );
            assert_eq!(kind("read token, clock restored"), None);
            assert_eq!(kind("the publish token again").as_deref(), Some("replayed"));
            assert_eq!(
                kind("the publish token, s flipped").as_deref(),
                Some("replayed")
            );
        }
    }
}
