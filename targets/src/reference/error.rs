//! `Error::Other` values with a message and an optional cause, serialized by
//! `cargo-credential` as `{"kind":"other","message":…,"caused-by":[…]}`.

use std::error::Error as StdError;
use std::fmt;

use cargo_credential::Error;

/// `Err other` with `message` and no cause (`"caused-by":[]`).
pub(crate) fn other(message: impl Into<String>) -> Error {
    Error::from(message.into())
}

/// `Err other` with `message`, whose `caused-by` is `cause` and its source chain.
pub(crate) fn with_cause(
    message: impl Into<String>,
    cause: impl StdError + Send + Sync + 'static,
) -> Error {
    Error::Other(Box::new(Context {
        message: message.into(),
        cause: Box::new(cause),
    }))
}

#[derive(Debug)]
struct Context {
    message: String,
    cause: Box<dyn StdError + Send + Sync>,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Context {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.cause.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_message_and_chain() {
        let io = std::io::Error::other("disk on fire");
        let error = with_cause("failed to write /x", io);
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"kind":"other","message":"failed to write /x","caused-by":["disk on fire"]}"#
        );
        assert_eq!(
            serde_json::to_string(&other("plain")).unwrap(),
            r#"{"kind":"other","message":"plain","caused-by":[]}"#
        );
    }
}
