//! `credlab key …`

use clap::Subcommand;
use credlab_suite::keys::SecretKey;
use serde_json::json;

use crate::exit::{Failure, OK};

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a P-384 key pair; print its k3.secret, k3.public and k3.pid as JSON.
    ///
    /// The secret is printed because you asked for it: store it as Cargo's `secret-key`
    /// (or give it to `credlab --registry … --secret-key`), and enrol the public key.
    Generate,
}

pub fn run(cmd: KeyCommand) -> Result<u8, Failure> {
    match cmd {
        KeyCommand::Generate => {
            let key = SecretKey::generate();
            super::print_json(&json!({
                "secret": key.expose_paserk(),
                "public": key.public_key().to_paserk(),
                "pid": key.public_key().id().as_str(),
            }));
            Ok(OK)
        }
    }
}
