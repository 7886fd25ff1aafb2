//! Built-in providers, run by the `credlab` binary itself when it is started as
//! `credlab --cargo-plugin` with `CREDLAB_BUILTIN_PROVIDER=NAME`: the two reference providers,
//! the seeded-bug mutants and the hostile providers that attack credlab itself. One binary means `credlab` with no arguments can judge its own
//! reference targets anywhere it is installed.

use std::str::FromStr;

/// The environment variable that makes an executable serving built-ins (`credlab`) start as
/// the built-in provider it names, when run as `--cargo-plugin`.
pub const BUILTIN_ENV: &str = "CREDLAB_BUILTIN_PROVIDER";

use crate::hostile::Hostile;
use crate::mutants::{self, Base, Mutant};
use crate::reference::{PasetoProvider, TokenStore, protocol};

/// A built-in provider, by what it is (parsed once from its name, `builtin:NAME` on the
/// command line and `CREDLAB_BUILTIN_PROVIDER=NAME` in the provider's environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// The reference token store.
    TokenStore,
    /// The reference PASETO provider.
    Paseto,
    /// The cheapest provider there is (the runner bench's floor).
    Trivial,
    /// The reference token store, its credentials in one file outside HOME.
    SharedTokenStore,
    /// One credential for every registry, in one file outside HOME.
    SharedOneSlot,
    /// Serves `~/.credlab-tokens`, cannot log in (`--stored-token`); with a seeded bug when
    /// one is given.
    ReadOnly(Option<ReadOnlyBug>),
    /// A seeded-bug provider.
    Mutant(&'static Mutant),
    /// A provider that attacks credlab itself.
    Hostile(Hostile),
}

impl Builtin {
    /// Every built-in provider.
    pub fn all() -> Vec<Builtin> {
        let mut all = vec![
            Builtin::TokenStore,
            Builtin::Paseto,
            Builtin::Trivial,
            Builtin::SharedTokenStore,
            Builtin::SharedOneSlot,
            Builtin::ReadOnly(None),
            Builtin::ReadOnly(Some(ReadOnlyBug::MissingIsOther)),
            Builtin::ReadOnly(Some(ReadOnlyBug::LogoutOk)),
        ];
        all.extend(mutants::MUTANTS.iter().map(Builtin::Mutant));
        all.extend(Hostile::ALL.into_iter().map(Builtin::Hostile));
        all
    }

    /// Its name, as `builtin:NAME` takes it.
    pub fn name(&self) -> String {
        match self {
            Builtin::TokenStore => "token-store".into(),
            Builtin::Paseto => "paseto".into(),
            Builtin::Trivial => "trivial".into(),
            Builtin::SharedTokenStore => "shared:token-store".into(),
            Builtin::SharedOneSlot => "shared:one-slot".into(),
            Builtin::ReadOnly(None) => "read-only".into(),
            Builtin::ReadOnly(Some(bug)) => format!("read-only:{}", bug.name()),
            Builtin::Mutant(m) => format!("mutant:{}", m.name()),
            Builtin::Hostile(h) => format!("hostile:{}", h.name()),
        }
    }

    /// Whether it is the reference token store or a mutant of it (these serve only the index
    /// URL credlab configures, so the url-not-supported case applies).
    pub fn is_token_store(&self) -> bool {
        match self {
            Builtin::TokenStore => true,
            Builtin::Mutant(m) => m.base == Base::TokenStore,
            _ => false,
        }
    }

    /// Serves the protocol on stdin/stdout; returns the exit code.
    pub fn run(&self) -> i32 {
        match self {
            Builtin::TokenStore => {
                protocol::run(&TokenStore::from_env());
                0
            }
            Builtin::Paseto => {
                protocol::run(&PasetoProvider::from_env());
                0
            }
            Builtin::Trivial => trivial(),
            Builtin::ReadOnly(bug) => {
                protocol::run(&ReadOnly(*bug));
                0
            }
            Builtin::SharedTokenStore | Builtin::SharedOneSlot => {
                let Some(store) = shared_store().map(TokenStore::at) else {
                    return 2;
                };
                if *self == Builtin::SharedOneSlot {
                    protocol::run(&OneSlot(store));
                } else {
                    protocol::run(&store);
                }
                0
            }
            Builtin::Mutant(m) => mutants::run(m),
            Builtin::Hostile(h) => h.run(),
        }
    }
}

impl FromStr for Builtin {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Builtin::all()
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                let known: Vec<String> = Builtin::all()
                    .iter()
                    .filter(|b| !matches!(b, Builtin::Mutant(_)))
                    .map(Builtin::name)
                    .collect();
                format!(
                    "no built-in provider {name:?}; known: {}, and mutant:NAME for each seeded bug",
                    known.join(", ")
                )
            })
    }
}

/// Serves the protocol as the built-in `name`; returns the exit code.
pub fn run(name: &str) -> i32 {
    match name.parse::<Builtin>() {
        Ok(builtin) => builtin.run(),
        Err(e) => {
            eprintln!("credlab: {e}");
            2
        }
    }
}

/// The environment variable naming the file of the `shared:` providers.
pub const SHARED_STORE_ENV: &str = "CREDLAB_SHARED_STORE";

/// The `shared:` providers keep their credentials in one file outside HOME, named by
/// `CREDLAB_SHARED_STORE` (given with `--provider-env`), like a keyring, `pass` or a vault:
/// state every case of a run shares, which credlab's verdicts must not depend on.
fn shared_store() -> Option<std::path::PathBuf> {
    let path = std::env::var_os(SHARED_STORE_ENV).map(std::path::PathBuf::from);
    if path.is_none() {
        eprintln!("credlab: the shared: providers need {SHARED_STORE_ENV}=FILE (--provider-env)");
    }
    path
}

/// One credential for every registry (a provider that ignores the index URL): conformant in
/// every way but isolation.
struct OneSlot(TokenStore);

impl cargo_credential::Credential for OneSlot {
    fn perform(
        &self,
        registry: &cargo_credential::RegistryInfo<'_>,
        action: &cargo_credential::Action<'_>,
        _args: &[&str],
    ) -> Result<cargo_credential::CredentialResponse, cargo_credential::Error> {
        let slot = cargo_credential::RegistryInfo {
            index_url: "the-one-slot",
            ..registry.clone()
        };
        self.0.perform(&slot, action, &[])
    }
}

/// A seeded bug of the read-only provider: what a provider that cannot log in gets wrong when
/// it holds nothing for a registry. Judged with `--stored-token`, where the cases that need a
/// registry with nothing stored run at a registry the user did not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyBug {
    /// Answers `Err` other for a registry it holds nothing for (as cargo-credential-pass 1.1.1
    /// does: "… is not in the password store"), which makes Cargo stop instead of moving on.
    MissingIsOther,
    /// Answers `Ok` to every logout, with nothing stored and nothing removed.
    LogoutOk,
}

impl ReadOnlyBug {
    pub const fn name(self) -> &'static str {
        match self {
            ReadOnlyBug::MissingIsOther => "missing-is-other",
            ReadOnlyBug::LogoutOk => "logout-ok",
        }
    }
}

/// A provider that cannot log in, like `cargo-credential-netrc`: it serves the tokens listed
/// in `~/.credlab-tokens` (lines `INDEX_URL TOKEN`), answers not-found for any other registry,
/// and operation-not-supported to login and logout. Judged with `--stored-token` and
/// `--provider-home`.
struct ReadOnly(Option<ReadOnlyBug>);

impl cargo_credential::Credential for ReadOnly {
    fn perform(
        &self,
        registry: &cargo_credential::RegistryInfo<'_>,
        action: &cargo_credential::Action<'_>,
        _args: &[&str],
    ) -> Result<cargo_credential::CredentialResponse, cargo_credential::Error> {
        use cargo_credential::{Action, CacheControl, CredentialResponse, Error, Operation};
        match action {
            Action::Get(
                Operation::Read
                | Operation::Publish { .. }
                | Operation::Yank { .. }
                | Operation::Unyank { .. }
                | Operation::Owners { .. },
            ) => {
                let home = std::env::var_os("HOME")
                    .ok_or_else(|| Error::from("HOME is not set".to_string()))?;
                let list =
                    std::fs::read_to_string(std::path::Path::new(&home).join(".credlab-tokens"))
                        .unwrap_or_default();
                let missing = || match self.0 {
                    Some(ReadOnlyBug::MissingIsOther) => Error::from(format!(
                        "{} is not in ~/.credlab-tokens",
                        registry.index_url
                    )),
                    _ => Error::NotFound,
                };
                let token = list
                    .lines()
                    .filter_map(|l| l.split_once(' '))
                    .find(|(url, _)| *url == registry.index_url)
                    .map(|(_, token)| token.trim().to_string())
                    .ok_or_else(missing)?;
                Ok(CredentialResponse::Get {
                    token: token.into(),
                    cache: CacheControl::Session,
                    operation_independent: true,
                })
            }
            Action::Logout if self.0 == Some(ReadOnlyBug::LogoutOk) => {
                Ok(CredentialResponse::Logout)
            }
            _ => Err(Error::OperationNotSupported),
        }
    }
}

/// The cheapest provider there is: hello, one fixed answer per line, exit at EOF. The bench's
/// floor for what one exchange costs (process start included).
fn trivial() -> i32 {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(b"{\"v\":[1]}\n").and_then(|()| out.flush());
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        let answer = b"{\"Ok\":{\"kind\":\"get\",\"token\":\"t\",\"cache\":\"session\",\"operation_independent\":true}}\n";
        if out.write_all(answer).and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    0
}
