//! The probe: before the cases, learn what kind of provider this is. Can it log in (or does
//! it hold a credential the user named)? Does `get` return the stored token or a PASETO
//! token (and with which `sub`)? Does it keep two registries apart, or is its store one
//! shared slot (then cases that change state must run one at a time)?

use std::collections::{BTreeMap, HashSet};

use credlab_suite::cases::CaseId;
use credlab_suite::cases::provider::{Answer, Feature, Send, Step};
use credlab_suite::judge::provider::{parse_response, token_subject};
use credlab_suite::keys::SecretKey;
use credlab_suite::provider::{CloseStdin, Transcript};
use credlab_suite::redact::SecretKind;

use super::{Profile, new_sandbox, run_step};
use crate::process::{ProviderCommand, SpawnError};

/// What the probe found out about the provider.
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub set: HashSet<Feature>,
    /// How each feature was decided, for the report.
    pub facts: BTreeMap<String, String>,
    /// A login for one registry replaced the credential of another: the provider keeps one
    /// credential for all registries, so cases that change state must not overlap.
    pub shared_store: bool,
    /// The run's registry is never empty (the user named the token it holds, `--stored-token`)
    /// but the isolation cases' other registry is (no stored token names it): the cases that
    /// need a registry with nothing stored run there ([`Profile::at_other_registry`]).
    pub empty_elsewhere: bool,
}

impl Features {
    pub fn has(&self, feature: Feature) -> bool {
        self.set.contains(&feature)
    }
}

fn step(line: &str) -> Step {
    Step {
        send: Send::Line {
            line: line.into(),
            terminator: "\n".into(),
        },
        close_stdin: CloseStdin::AfterResponse,
        read_response: true,
    }
}

const LOGIN: &str = "{\"v\":1,\"registry\":{\"index-url\":\"${index_url}\",\"name\":\"${registry_name}\"},\"kind\":\"login\",\"token\":\"${login_token}\"${args_field}}";
const READ: &str = "{\"v\":1,\"registry\":{\"index-url\":\"${index_url}\",\"name\":\"${registry_name}\"},\"kind\":\"get\",\"operation\":\"read\"${args_field}}";
const LOGOUT: &str = "{\"v\":1,\"registry\":{\"index-url\":\"${index_url}\",\"name\":\"${registry_name}\"},\"kind\":\"logout\"${args_field}}";

/// The identity the probe uses (its own, so it leaves no state a case could see).
fn probe_id(which: &str) -> CaseId {
    format!("probe::{which}")
        .parse()
        .expect("probe ids are well-formed")
}

/// Learns the provider's features. Fails only when the provider cannot be started at all.
pub fn probe(command: &ProviderCommand, profile: &Profile) -> Result<Features, SpawnError> {
    let mut features = Features::default();
    if profile.unsupported_url.is_some() {
        features.set.insert(Feature::UnsupportedUrl);
    }
    let sandbox = new_sandbox(profile).map_err(|source| SpawnError::Io {
        context: "creating the probe sandbox".into(),
        source,
    })?;
    let answer = |t: &Transcript| t.response.line().and_then(|l| parse_response(l).ok());
    let first = profile.for_case(&probe_id("first"));
    let run = |p: &Profile, line: &str, what: &str| {
        let what = what.to_string();
        run_step(command, &sandbox, p, &step(line), &move || what.clone()).map(|(_, t)| t)
    };
    if profile.args.is_empty() {
        features.set.insert(Feature::NoConfigArgs);
    }
    if !profile.pinned || profile.stored.is_empty() {
        features.set.insert(Feature::EmptyRegistry);
    } else if profile.holds_credential() && !profile.stored.contains_key(&profile.other_index_url) {
        features.empty_elsewhere = true;
        features.facts.insert(
            "empty-registry".into(),
            format!(
                "{}, the isolation cases' other registry, which no --stored-token names: the \
                 cases that need a registry with nothing stored run there (url-not-supported \
                 is accepted there too)",
                profile.other_index_url
            ),
        );
    }
    if first.holds_credential() {
        features.set.insert(Feature::Login);
        features.facts.insert(
            "login".into(),
            format!(
                "not tried: the provider holds a token for {} (--stored-token)",
                first.index_url
            ),
        );
    } else {
        let login = run(&first, LOGIN, "the probe's login")?;
        let said = match answer(&login) {
            Some(r) if r.answer == Answer::OkLogin => {
                features.set.insert(Feature::Login);
                "a login with credlab's key answered Ok".to_string()
            }
            // The message says why (a provider whose config arguments did not parse says so
            // on every request): the user sees it before reading any case.
            Some(r) => format!(
                "a login answered {}{}",
                r.answer.as_str(),
                r.message.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            None => "a login got no parsable answer".into(),
        };
        features.facts.insert("login".into(), said);
    }
    if !features.has(Feature::Login) {
        return Ok(features);
    }
    let read = run(&first, READ, "the probe's get")?;
    let token = answer(&read).and_then(|r| r.token);
    // Anything but a PASETO is judged as a token store: a store that returns the wrong
    // token must fail the store cases, not skip them.
    let kind = match token.as_deref() {
        Some(t) if t.starts_with("v3.public.") => {
            features.set.insert(Feature::GeneratesPaseto);
            let subject = match token_subject(t) {
                Some(sub) => format!("`sub` {sub:?}"),
                None => "no `sub`".into(),
            };
            features.facts.insert("subject".into(), subject);
            "a PASETO provider (get returns v3.public tokens)"
        }
        Some(t) => {
            features.set.insert(Feature::StoresTokens);
            if t == first.login_token() {
                if first.holds_credential() {
                    "a read-only token store (get returns the stored token)"
                } else {
                    "a token store (get returns the login token)"
                }
            } else {
                "a token store, by elimination (get returns a token that is not the login token)"
            }
        }
        None => "unknown: get after login gave no token",
    };
    features.facts.insert("kind".into(), kind.into());
    if first.holds_credential() || profile.pinned {
        return Ok(features);
    }
    // Two registries, two credentials: does the first survive a login for the second?
    let second = profile.for_case(&probe_id("second"));
    let other_key = SecretKey::generate();
    profile
        .secrets
        .add_key(SecretKind::LoginKey, "probe-key", &other_key);
    let mut second_profile = second.clone();
    second_profile.login_key = other_key;
    run(&second_profile, LOGIN, "the probe's second login")?;
    let again = run(&first, READ, "the probe's second get")?;
    let kept = match (answer(&again).and_then(|r| r.token), &token) {
        (Some(after), Some(before)) if features.has(Feature::StoresTokens) => after == *before,
        (Some(after), Some(_)) => {
            // A PASETO token says which key signed it: the first registry's key, or not.
            credlab_suite::paseto::decode(&after)
                .ok()
                .and_then(|d| d.footer().map(<[u8]>::to_vec))
                .is_some_and(|f| {
                    String::from_utf8_lossy(&f).contains(first.login_key.public_key().id().as_str())
                })
        }
        _ => false,
    };
    features.shared_store = !kept;
    features.facts.insert(
        "registries".into(),
        if kept {
            "kept apart (a login for another registry left the first one's credential)".into()
        } else {
            "NOT kept apart: after a login for another registry, get for the first no longer \
             returned its credential; cases that change state run one at a time"
                .into()
        },
    );
    // Leave nothing behind.
    run(&second_profile, LOGOUT, "the probe's cleanup")?;
    run(&first, LOGOUT, "the probe's cleanup")?;
    Ok(features)
}
