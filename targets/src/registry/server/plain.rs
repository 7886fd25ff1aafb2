//! Plain-token mode: the registry issued opaque tokens (as kellnr, nora, Cloudsmith and
//! crates.io do) and admits a request whose `Authorization` is exactly one of them, as Cargo
//! sends it (`cargo:token`: the token verbatim, no scheme). The comparison runs in constant
//! time over every registered token, so a near miss is not told apart from a far one by how
//! long the refusal takes.

use credlab_suite::{Rejection, RejectionKind};
use subtle::ConstantTimeEq;

use super::auth::Actor;
use super::bug::Bug;

/// Where `PlainOversizedServerError`'s fixed buffer ends.
const SEEDED_BUFFER: usize = 4 * 1024;

/// Why a plain token was not admitted.
#[derive(Debug)]
pub enum PlainDenied {
    Refused(Rejection),
    /// A seeded bug "crashed" (answers 500).
    Crashed(String),
}

/// One issued token and the login it acts for.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainToken {
    pub login: String,
    pub token: String,
}

impl std::fmt::Debug for PlainToken {
    // Never the token: a Debug print of the configuration must not leak it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainToken")
            .field("login", &self.login)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Why a token cannot be issued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlainTokenError {
    #[error("the token for {0:?} is empty")]
    Empty(String),
    #[error(
        "the token for {0:?} is not a header value Cargo can send (visible ASCII, no spaces at \
         either end)"
    )]
    NotSendable(String),
    #[error("the login {0:?} is not lowercase letters, digits, '-' and '_'")]
    Login(String),
}

impl PlainToken {
    pub fn new(login: &str, token: &str) -> Result<Self, PlainTokenError> {
        let login_ok = !login.is_empty()
            && login
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !login_ok {
            return Err(PlainTokenError::Login(login.into()));
        }
        if token.is_empty() {
            return Err(PlainTokenError::Empty(login.into()));
        }
        if token.trim() != token || !token.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(PlainTokenError::NotSendable(login.into()));
        }
        Ok(Self {
            login: login.into(),
            token: token.into(),
        })
    }
}

/// The tokens the registry issued.
#[derive(Debug, Clone, Default)]
pub struct PlainTokens {
    tokens: Vec<PlainToken>,
}

impl PlainTokens {
    pub fn new(tokens: Vec<PlainToken>) -> Self {
        Self { tokens }
    }

    /// The login `presented` acts for, or the refusal: no issued token is exactly it (or,
    /// with a seeded `bug`, what that bug makes of it).
    pub fn admit(&self, presented: &str, bug: Option<Bug>) -> Result<Actor, PlainDenied> {
        if bug == Some(Bug::PlainOversizedServerError) && presented.len() > SEEDED_BUFFER {
            return Err(PlainDenied::Crashed(format!(
                "token buffer overflow: {} bytes into {SEEDED_BUFFER}",
                presented.len()
            )));
        }
        let presented = match bug {
            Some(Bug::PlainStripsBearer) => presented.strip_prefix("Bearer ").unwrap_or(presented),
            // Without the scheme nothing matches (an issued token is never empty).
            Some(Bug::PlainRequiresBearer) => presented.strip_prefix("Bearer ").unwrap_or(""),
            _ => presented,
        };
        let matches = |issued: &str| match bug {
            Some(Bug::PlainPrefixMatch) => issued.starts_with(presented),
            Some(Bug::PlainCaseInsensitive) => issued.eq_ignore_ascii_case(presented),
            Some(Bug::PlainAnyToken) => true,
            // `ct_eq` on slices of different lengths is false without comparing contents;
            // the loop visits every token whatever matched.
            _ => bool::from(issued.as_bytes().ct_eq(presented.as_bytes())),
        };
        let mut found = None;
        for issued in &self.tokens {
            if matches(&issued.token) && found.is_none() {
                found = Some(issued);
            }
        }
        found
            .map(|issued| Actor {
                kip: String::new(),
                login: issued.login.clone(),
            })
            .ok_or_else(|| {
                PlainDenied::Refused(Rejection::new(
                    RejectionKind::UnknownKey,
                    "the token is not one this registry issued",
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_is_admitted() {
        let tokens = PlainTokens::new(vec![
            PlainToken::new("alice", "cio-AbCd1234").unwrap(),
            PlainToken::new("bob", "cio-Other999").unwrap(),
        ]);
        assert_eq!(tokens.admit("cio-AbCd1234", None).unwrap().login, "alice");
        assert_eq!(tokens.admit("cio-Other999", None).unwrap().login, "bob");
        for near in [
            "",
            "cio-AbCd123",
            "cio-AbCd12345",
            "CIO-ABCD1234",
            "Bearer cio-AbCd1234",
            " cio-AbCd1234",
        ] {
            assert!(
                matches!(
                    tokens.admit(near, None),
                    Err(PlainDenied::Refused(r)) if r.kind == RejectionKind::UnknownKey
                ),
                "{near:?}"
            );
        }
    }

    #[test]
    fn each_seeded_bug_admits_its_near_miss() {
        let tokens = PlainTokens::new(vec![PlainToken::new("alice", "cio-AbCd1234").unwrap()]);
        let admitted = |token: &str, bug| tokens.admit(token, Some(bug)).is_ok();
        assert!(admitted("cio-AbCd", Bug::PlainPrefixMatch));
        assert!(admitted("", Bug::PlainPrefixMatch));
        assert!(!admitted("CIO-ABCD1234", Bug::PlainPrefixMatch));
        assert!(admitted("CIO-ABCD1234", Bug::PlainCaseInsensitive));
        assert!(!admitted("cio-AbCd", Bug::PlainCaseInsensitive));
        assert!(admitted("Bearer cio-AbCd1234", Bug::PlainStripsBearer));
        assert!(!admitted("Bearer cio-AbCd", Bug::PlainStripsBearer));
        assert!(admitted("anything", Bug::PlainAnyToken));
        assert!(admitted("Bearer cio-AbCd1234", Bug::PlainRequiresBearer));
        assert!(!admitted("cio-AbCd1234", Bug::PlainRequiresBearer));
        assert!(matches!(
            tokens.admit(&"x".repeat(5000), Some(Bug::PlainOversizedServerError)),
            Err(PlainDenied::Crashed(_))
        ));
        assert!(!admitted("cio-AbCd", Bug::PlainOversizedServerError));
    }

    #[test]
    fn a_token_cargo_cannot_send_is_not_issued_and_never_printed() {
        assert!(PlainToken::new("alice", "").is_err());
        assert!(PlainToken::new("alice", "tab\there").is_err());
        assert!(PlainToken::new("alice", "trailing ").is_err());
        assert!(PlainToken::new("Alice", "t").is_err());
        let token = PlainToken::new("alice", "s3cret-value").unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
