//! What credlab sends on behalf of Cargo: the target's profile (index URL, registry name,
//! config args, the login key, what the provider already holds) and how a case's request
//! templates are filled from it, including the registry identity each case gets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use credlab_suite::cases::CaseId;
use credlab_suite::cases::provider::{Send, Step};
use credlab_suite::cases::template::{Template, Values};
use credlab_suite::judge::leftovers::LeftoverAt;
use credlab_suite::judge::provider::show;
use credlab_suite::judge::secrets::LeakAt;
use credlab_suite::keys::{PublicKey, SecretKey};
use credlab_suite::provider::{LineRead, Timeouts, Transcript};
use credlab_suite::redact::{SecretKind, Secrets};
use credlab_suite::verify::KeyStore;
use serde_json::Value;

/// Where the isolation cases' other registry lives when the user pinned the identity: a host
/// of its own, so a provider keyed by host cannot mistake it for the pinned one.
pub const OTHER_INDEX_URL: &str = "sparse+https://other.credlab.test/index/";

/// What credlab sends on behalf of Cargo, configurable per target.
///
/// The profile of a run holds the base identity; [`Profile::for_case`] gives each case a
/// registry of its own (an index URL and a name derived from the case id), so a provider that
/// keeps its credentials outside `HOME` (a keyring, `pass`, a vault), keyed by URL or by
/// name, never shows one case another case's state.
#[derive(Debug, Clone)]
pub struct Profile {
    /// An index URL the provider serves (`${index_url}`).
    pub index_url: String,
    /// An index URL it does not serve, if known (`${unsupported_url}`).
    pub unsupported_url: Option<String>,
    pub registry_name: String,
    /// The other registry of the isolation cases (`${other_index_url}`,
    /// `${other_registry_name}`): another host and another name than the case's.
    pub other_index_url: String,
    pub other_registry_name: String,
    /// The identity is the user's (`--index-url`, or `--stored-token`): every case uses it,
    /// so cases that change state run one at a time.
    pub pinned: bool,
    /// Tokens the provider already holds, by index URL (`--stored-token`): a provider that
    /// cannot log in is judged on serving exactly these.
    pub stored: BTreeMap<String, String>,
    /// The `sub` the provider's PASETO tokens must carry (`--subject`); without it any `sub`
    /// is accepted (the user may have set `registry.secret-key-subject`).
    pub subject: Option<String>,
    /// A folder copied into every sandbox's HOME before the provider runs (`--provider-home`).
    pub home_fixture: Option<PathBuf>,
    /// Config arguments, sent in the JSON `args` field as Cargo does (never on argv).
    pub args: Vec<String>,
    /// The key credlab logs in with (`${login_token}` is its k3.secret): token stores keep it
    /// verbatim, PASETO providers sign with it, so either kind can be judged.
    pub login_key: SecretKey,
    /// More keys PASETO tokens may be signed with (`--public-key`).
    pub public_keys: Vec<PublicKey>,
    pub timeouts: Timeouts,
    /// The run's secret register: the login key, and every token the provider returns
    /// (registered as it arrives, before anything is shown).
    pub secrets: Secrets,
    /// What every exchange of the run (probe, setups, cases, cleanups) showed that the
    /// run-wide checks judge.
    pub log: RunLog,
}

/// What the run-wide checks judge, gathered from every exchange as it happens.
#[derive(Debug, Clone, Default)]
pub struct RunObservations {
    /// Secrets out of place (`provider::secrets`).
    pub leaks: Vec<LeakAt>,
    /// Processes left running (`provider::robustness::no-processes-left`).
    pub leftovers: Vec<LeftoverAt>,
}

/// The run's observations, shared by the worker threads.
pub type RunLog = Arc<Mutex<RunObservations>>;

impl Profile {
    /// A profile with a register of its own.
    pub fn new(login_key: SecretKey) -> Self {
        Self::new_in(login_key, &Secrets::new())
    }

    /// A profile whose secrets go into the run's register.
    pub fn new_in(login_key: SecretKey, secrets: &Secrets) -> Self {
        secrets.add_key(SecretKind::LoginKey, "login-token", &login_key);
        Self {
            index_url: "sparse+https://registry.credlab.test/index/".into(),
            unsupported_url: None,
            registry_name: "credlab".into(),
            other_index_url: OTHER_INDEX_URL.into(),
            other_registry_name: "credlab-other".into(),
            pinned: false,
            stored: BTreeMap::new(),
            subject: None,
            home_fixture: None,
            args: Vec::new(),
            login_key,
            public_keys: Vec::new(),
            timeouts: Timeouts::default(),
            secrets: secrets.clone(),
            log: RunLog::default(),
        }
    }

    /// Says what the provider already holds for `index_url` (a secret from now on); the
    /// identity is then pinned to the first such URL.
    pub fn store(&mut self, index_url: &str, token: &str) {
        self.secrets
            .add(SecretKind::StoredToken, "stored-token", token);
        if self.stored.is_empty() {
            self.index_url = index_url.to_string();
        }
        self.stored.insert(index_url.to_string(), token.to_string());
        self.pinned = true;
    }

    /// The profile of one case: its own registry identity, unless the user pinned one.
    pub fn for_case(&self, id: &CaseId) -> Profile {
        let mut profile = self.clone();
        let slug: String = id
            .as_str()
            .replace("::", "-")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        if !self.pinned {
            let base = self.index_url.trim_end_matches('/');
            profile.index_url = format!("{base}/{slug}/");
            profile.registry_name = format!("{}-{slug}", self.registry_name);
            profile.other_index_url = format!("{OTHER_INDEX_URL}{slug}/");
            profile.other_registry_name = format!("{}-{slug}-other", self.registry_name);
        }
        profile
    }

    /// This profile moved to its other registry (`${other_index_url}` and
    /// `${other_registry_name}` become `${index_url}` and `${registry_name}`): with
    /// `--stored-token`, a registry no stored token names, so one with nothing stored for a
    /// provider that cannot log in.
    pub fn at_other_registry(&self) -> Profile {
        let mut profile = self.clone();
        profile.index_url = self.other_index_url.clone();
        profile.registry_name = self.other_registry_name.clone();
        profile
    }

    /// What `${login_token}` is: the token the provider holds for this identity, else
    /// credlab's key.
    pub fn login_token(&self) -> String {
        self.stored
            .get(&self.index_url)
            .cloned()
            .unwrap_or_else(|| self.login_key.expose_paserk())
    }

    /// Whether the credential of this identity was given rather than logged in (setup
    /// logins are then skipped: the provider cannot log in, and need not).
    pub fn holds_credential(&self) -> bool {
        self.stored.contains_key(&self.index_url)
    }

    /// The keys a PASETO answer must verify under, with the subject on file: `--subject`, or
    /// (without it) whatever `sub` the token carries, so a provider is not failed for the
    /// subject its user configured.
    pub fn keys_for(&self, token_subject: Option<&str>) -> KeyStore {
        let subject = self
            .subject
            .clone()
            .or_else(|| token_subject.map(str::to_string));
        let mut keys = KeyStore::new();
        keys.insert(self.login_key.public_key().clone(), subject.clone());
        for key in &self.public_keys {
            keys.insert(key.clone(), subject.clone());
        }
        keys
    }

    /// The keys, with the subject on file when `--subject` was given.
    pub fn keys(&self) -> KeyStore {
        self.keys_for(None)
    }

    /// What this profile fills a request template's placeholders with.
    pub fn template_values(&self) -> Values<'_> {
        Values {
            index_url: &self.index_url,
            unsupported_url: self.unsupported_url.as_deref(),
            registry_name: &self.registry_name,
            other_index_url: &self.other_index_url,
            other_registry_name: &self.other_registry_name,
            args: &self.args,
            login_token: self.login_token().into(),
        }
    }

    /// A template with its placeholders filled, `${huge_header}` left as written (see
    /// [`Template::render`]).
    pub fn render(&self, template: &str) -> String {
        Template::parse(template).render(&self.template_values())
    }

    /// About how many bytes a step writes (without building them: `${huge_header}` is 16 MiB).
    pub fn render_len(&self, step: &Step) -> usize {
        let text = match &step.send {
            Send::Line { line, .. } => line.as_str(),
            Send::Text { text } => text.as_str(),
            Send::Bytes { base64 } => return base64.len() * 3 / 4,
            Send::Nothing => return 0,
        };
        Template::parse(text).approximate_len()
    }

    /// The bytes a step writes.
    pub fn bytes(&self, step: &Step) -> Vec<u8> {
        match &step.send {
            Send::Line { line, terminator } => {
                Template::parse(line).render_bytes(&self.template_values(), terminator)
            }
            Send::Text { text } => Template::parse(text).render_bytes(&self.template_values(), ""),
            Send::Bytes { base64 } => credlab_suite::b64::decode(base64).unwrap_or_default(),
            Send::Nothing => Vec::new(),
        }
    }

    /// Shows bytes for a report with every secret of the run replaced (the login key, and
    /// the tokens the provider returned, wherever they appear).
    pub fn redacted(&self, bytes: &[u8]) -> String {
        // Only the start is ever shown; a 16 MiB request need not be scanned whole.
        let shown = &bytes[..bytes.len().min(64 * 1024)];
        let text = String::from_utf8_lossy(shown);
        let mut out = show(self.secrets.scrub(&text).as_bytes());
        if bytes.len() > shown.len() {
            out.push_str(&format!(" [{} bytes in all]", bytes.len()));
        }
        out
    }

    /// Registers the token of a `get` answer (any `/Ok/token` string, even in an answer Cargo
    /// would not parse): from now on it is redacted wherever it appears.
    pub fn register_answer(&self, transcript: &Transcript) {
        let line = match &transcript.response {
            LineRead::Line { bytes } | LineRead::Eof { bytes } | LineRead::TimedOut { bytes } => {
                bytes
            }
            LineRead::TooLong { prefix, .. } => prefix,
            LineRead::NotRead => return,
        };
        if let Ok(answer) = serde_json::from_slice::<Value>(line)
            && let Some(token) = answer.pointer("/Ok/token").and_then(Value::as_str)
        {
            self.secrets.add_token(SecretKind::ProviderToken, token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credlab_suite::cases::template::HUGE_HEADER_LEN;
    use credlab_suite::provider::CloseStdin;

    fn profile() -> Profile {
        Profile::new(SecretKey::from_bytes(&[5u8; 48]).expect("a scalar in range"))
    }

    fn step(send: Send) -> Step {
        Step {
            send,
            close_stdin: CloseStdin::AfterResponse,
            read_response: true,
        }
    }

    fn line(text: &str) -> Step {
        step(Send::Line {
            line: text.into(),
            terminator: "\n".into(),
        })
    }

    #[test]
    fn every_placeholder_is_filled_from_the_profile() {
        let mut profile = profile();
        profile.unsupported_url = Some("sparse+https://elsewhere.credlab.test/index/".into());
        let token = profile.login_key.expose_paserk();
        let expected = [
            (
                "${index_url}",
                "sparse+https://registry.credlab.test/index/",
            ),
            (
                "${index_url_escaped_slashes}",
                "sparse+https:\\/\\/registry.credlab.test\\/index\\/",
            ),
            (
                "${unsupported_url}",
                "sparse+https://elsewhere.credlab.test/index/",
            ),
            ("${registry_name}", "credlab"),
            ("${other_index_url}", OTHER_INDEX_URL),
            ("${other_registry_name}", "credlab-other"),
            ("${args_field}", ""),
            ("${login_token}", &token),
            ("${login_token[0..10]}", "k3.secret."),
            ("${nope}", "${nope}"),
        ];
        // `${huge_header}` is read back as written; its bytes are tested below.
        assert_eq!(profile.render("${huge_header}"), "${huge_header}");
        for (template, value) in expected {
            assert_eq!(profile.render(template), value, "{template}");
            assert_eq!(
                profile.bytes(&line(template)),
                format!("{value}\n").into_bytes(),
                "{template}"
            );
        }
        profile.args = vec!["--vault".into(), "ci".into()];
        assert_eq!(
            profile.render("{\"v\":1${args_field}}"),
            r#"{"v":1,"args":["--vault","ci"]}"#
        );
    }

    #[test]
    fn a_case_fills_in_its_own_registry_and_a_stored_token() {
        let base = profile();
        let id: CaseId = "provider::get::read".parse().unwrap();
        let case = base.for_case(&id);
        assert_eq!(
            case.render("${index_url} ${registry_name} ${other_index_url} ${other_registry_name}"),
            "sparse+https://registry.credlab.test/index/provider-get-read/ credlab-provider-get-read sparse+https://other.credlab.test/index/provider-get-read/ credlab-provider-get-read-other"
        );
        let mut pinned = profile();
        pinned.store("sparse+https://pinned.test/index/", "tok\"en");
        assert_eq!(
            pinned
                .for_case(&id)
                .render("${index_url} ${login_token} ${login_token[3..5]}"),
            "sparse+https://pinned.test/index/ tok\\\"en \"e"
        );
    }

    #[test]
    fn the_bytes_of_each_kind_of_send() {
        let profile = profile();
        let text = step(Send::Text {
            text: "${registry_name}".into(),
        });
        assert_eq!(profile.bytes(&text), b"credlab");
        let crlf = step(Send::Line {
            line: "${registry_name}".into(),
            terminator: "\r\n".into(),
        });
        assert_eq!(profile.bytes(&crlf), b"credlab\r\n");
        // Bytes are sent as they are: a placeholder in them is not one.
        let bytes = step(Send::Bytes {
            base64: credlab_suite::b64::encode(b"${registry_name}"),
        });
        assert_eq!(profile.bytes(&bytes), b"${registry_name}");
        // 22 characters of base64 for 16 bytes.
        assert_eq!(profile.render_len(&bytes), 16);
        assert!(profile.bytes(&step(Send::Nothing)).is_empty());
        assert_eq!(profile.render_len(&step(Send::Nothing)), 0);
    }

    #[test]
    fn the_huge_header_is_built_once_and_counted_without_building_it() {
        let profile = profile();
        let huge = line("H ${registry_name} ${huge_header} ${huge_header}");
        let bytes = profile.bytes(&huge);
        let (head, tail) = (&b"H credlab X-Huge: "[..], &b" ${huge_header}\n"[..]);
        assert_eq!(bytes.len(), head.len() + HUGE_HEADER_LEN + tail.len());
        assert!(bytes.starts_with(head) && bytes.ends_with(tail));
        assert_eq!(
            profile.render_len(&huge),
            "H ${registry_name} ${huge_header} ${huge_header}".len() + HUGE_HEADER_LEN
        );
        assert_eq!(profile.render_len(&line("${registry_name}")), 16);
    }
}
