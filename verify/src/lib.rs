#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod b64;
pub mod backend;
pub mod cache;
pub mod json;
pub mod keys;
pub mod paseto;
pub mod registry;
pub mod rejection;
pub mod token;
pub mod verify;

pub use backend::Backend;
pub use rejection::{Rejection, RejectionKind};

/// The workspace README's Rust examples ("The verifier as a library"), run as doctests of this
/// crate so they stay true. Only under `cfg(doctest)`: the file is outside the package.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct WorkspaceReadmeDoctests;
