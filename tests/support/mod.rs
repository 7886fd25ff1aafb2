//! Helpers for `tests/real_cargo.rs`: a loopback registry stub and an isolated cargo runner.

pub mod cargo;
pub mod registry;
