//! Helpers shared by the registry's integration tests.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod dot_crate;
