//! Registry targets: [`server`], the reference sparse registry (`credlab serve`) that verifies
//! Cargo's asymmetric tokens with credlab's verifier, with seeded bugs for negative controls.

pub mod server;
