//! The model behind credlab: the case schema, the vector generator, the judges and the
//! reports, around the reference verifier (`credlab-verify`, re-exported here: `keys`,
//! `paseto`, `token`, `verify`, `registry`, `rejection`) a registry can be judged against.
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

pub mod cases;
pub mod fuzzing;
pub mod index;
pub mod judge;
pub mod matrix;
pub mod provider;
pub mod redact;
pub mod report;
pub mod text;
pub mod vectors;

// The verifier is its own crate (`credlab-verify`, what a registry depends on); its modules
// stay reachable here at their old paths.
pub use credlab_verify::{Backend, Rejection, RejectionKind};
pub use credlab_verify::{
    b64, backend, cache, json, keys, paseto, registry, rejection, token, verify,
};
