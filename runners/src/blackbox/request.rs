//! What a provider makes of a fuzz input's request line, shared by the provider fuzzer
//! ([`super::provider`]) and the found vectors it writes ([`super::found`]).

use credlab_suite::provider::CloseStdin;

/// The first line a provider reads from `input` (with its `\n`).
pub fn first_line(input: &[u8]) -> &[u8] {
    match input.iter().position(|b| *b == b'\n') {
        Some(at) => &input[..=at],
        None => input,
    }
}

/// How stdin is closed for `input`: after the response when it ends with `\n` (as Cargo
/// does), else right after the input (see [`super::provider`]).
pub fn close_for(input: &[u8]) -> CloseStdin {
    if input.ends_with(b"\n") {
        CloseStdin::AfterResponse
    } else {
        CloseStdin::AfterRequest
    }
}

/// Why a request line is not one a provider may act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("not UTF-8")]
    NotUtf8,
    /// `cargo-credential`'s request types and their owned mirrors refuse it for the same
    /// reason.
    #[error("{0}")]
    Refused(String),
    /// The borrowed types and the owned mirrors refuse it for different reasons.
    #[error("{borrowed}; with owned strings: {owned}")]
    RefusedDifferently { borrowed: String, owned: String },
}

/// Whether a request line is one a provider may act on: `cargo-credential`'s request types
/// (borrowed, as `cargo_credential::main` parses) or their owned mirrors (which also take JSON
/// escapes, rust-lang/cargo#13615) parse it, with `v` = 1. `Err` says why not.
pub fn request_parses(line: &[u8]) -> Result<(), RequestError> {
    let text = std::str::from_utf8(line).map_err(|_| RequestError::NotUtf8)?;
    let borrowed = serde_json::from_str::<cargo_credential::CredentialRequest<'_>>(text)
        .map_err(|e| e.to_string())
        .and_then(|r| {
            (r.v == cargo_credential::PROTOCOL_VERSION_1)
                .then_some(())
                .ok_or_else(|| format!("unsupported protocol version {}", r.v))
        });
    match borrowed {
        Ok(()) => Ok(()),
        Err(borrowed) => credlab_targets::reference::request::parse(text.to_string())
            .map(|_| ())
            .map_err(|owned| {
                let owned = owned.to_string();
                if owned == borrowed {
                    RequestError::Refused(borrowed)
                } else {
                    RequestError::RefusedDifferently { borrowed, owned }
                }
            }),
    }
}
