//! The model behind credlab: Cargo's asymmetric tokens (RFC 3231, `cargo:paseto`), PASERK
//! keys, and the reference verifier a registry can be judged against.
//!
//! ```
//! use credlab_suite::keys::SecretKey;
//! use credlab_suite::token::{self, Operation};
//! use credlab_suite::verify::{KeyStore, Request, Verifier};
//! use time::macros::datetime;
//!
//! let key = SecretKey::generate();
//! let index = "sparse+https://registry.example/index/";
//! let yank = Operation::Yank { name: "foo".into(), vers: "0.1.0".into() };
//! let now = datetime!(2026-01-01 00:00:00 UTC);
//! let token = token::sign_as_cargo(&key, index, &yank, now, None);
//!
//! let mut keys = KeyStore::new();
//! keys.insert(key.public_key().clone(), None);
//! let verifier = Verifier::new(keys);
//!
//! let verified = verifier.verify(&token, &Request::new(index, yank), now).unwrap();
//! assert_eq!(verified.claims.mutation.as_deref(), Some("yank"));
//!
//! let unyank = Operation::Unyank { name: "foo".into(), vers: "0.1.0".into() };
//! let refused = verifier.verify(&token, &Request::new(index, unyank), now).unwrap_err();
//! assert_eq!(refused.kind.as_str(), "mutation-mismatch");
//! ```

pub mod b64;
pub mod backend;
pub mod cases;
pub mod fuzzing;
pub mod json;
pub mod judge;
pub mod keys;
pub mod paseto;
pub mod provider;
pub mod redact;
pub mod registry;
pub mod rejection;
pub mod report;
pub mod text;
pub mod token;
pub mod vectors;
pub mod verify;

pub use backend::Backend;
pub use rejection::{Rejection, RejectionKind};

/// The README's Rust examples, run as doctests so they stay true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
