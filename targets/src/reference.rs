//! Conformant reference credential providers: credlab's built-in default targets.
//!
//! Both providers implement [`cargo_credential::Credential`], so their semantics and every
//! answer they serialize are `cargo-credential`'s own. They run under [`protocol::run`]
//! instead of `cargo_credential::main`, whose borrowed request types cannot hold JSON
//! escapes (rust-lang/cargo#13615) and which re-attaches stdin/stdout to the terminal.
//!
//! - [`protocol`]: the hello + one-line-at-a-time request loop.
//! - [`request`]: owned mirrors of `cargo-credential`'s request types (JSON escapes work).
//! - [`store`]: a JSON map on disk under an XDG directory, written atomically with mode 0600.
//! - [`token_store`]: `credlab-token-provider`, a token store keyed by index URL.
//! - [`paseto`]: `credlab-paseto-provider`, asymmetric tokens exactly as `cargo:paseto` signs them.

mod args;
mod error;
pub mod paseto;
pub mod protocol;
pub mod request;
pub mod store;
pub mod token_store;

pub use paseto::PasetoProvider;
pub use token_store::{ONLY_URL_ENV, TokenStore};
