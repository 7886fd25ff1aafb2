//! Shared fixtures for the credlab benches.
