//! The ECDSA P-384 / SHA-384 implementations credlab can verify with.
//!
//! Chosen by measurement on a 2-core machine: AWS-LC with a pre-parsed key verifies about three
//! times as many tokens per second as pasetors/p384 (5,550/s against 1,900/s per core in one
//! `cargo bench -p credlab-bench` run), so it is the default. The
//! pure-Rust pasetors path stays available for platforms without a C toolchain and as the
//! second opinion in differential tests and fuzzing: both must give the same verdict on every
//! input.

use crate::keys::PublicKey;

#[cfg(not(any(feature = "aws-lc", feature = "pasetors-backend")))]
compile_error!("credlab-verify needs a verify backend: enable `aws-lc` or `pasetors-backend`");

/// A signature backend. Which variants exist depends on the crate features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum Backend {
    /// AWS-LC (`aws-lc-rs`) with the key parsed once at load time.
    #[cfg(feature = "aws-lc")]
    AwsLc,
    /// pasetors' `version3::PublicToken::verify` (p384 underneath), key decompressed per call.
    #[cfg(feature = "pasetors-backend")]
    Pasetors,
}

impl Default for Backend {
    fn default() -> Self {
        Self::available()[0]
    }
}

impl Backend {
    /// The backends compiled in, fastest first.
    pub fn available() -> &'static [Backend] {
        &[
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc,
            #[cfg(feature = "pasetors-backend")]
            Backend::Pasetors,
        ]
    }

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Verifies a raw ECDSA P-384 signature (`r || s`, 96 bytes) over `message` hashed with
    /// SHA-384. This is the primitive the Wycheproof vectors exercise.
    pub fn verify_message(self, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        match self {
            #[cfg(feature = "aws-lc")]
            Backend::AwsLc => key.aws_lc().verify_sig(message, signature).is_ok(),
            #[cfg(feature = "pasetors-backend")]
            Backend::Pasetors => {
                use p384::ecdsa::signature::Verifier as _;
                use p384::ecdsa::{Signature, VerifyingKey};
                let Ok(signature) = Signature::from_slice(signature) else {
                    return false;
                };
                VerifyingKey::from_sec1_bytes(key.compressed())
                    .is_ok_and(|k| k.verify(message, &signature).is_ok())
            }
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
