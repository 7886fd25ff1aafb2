//! The command line: argument types and dispatch. Each subcommand lives in its own module.

mod key;
mod token;
mod vectors;

use clap::{Parser, Subcommand};

use crate::exit::Failure;

#[derive(Debug, Parser)]
#[command(
    name = "credlab",
    version,
    about = "Conformance suite and fuzzing lab for Cargo's securer tokens",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// PASERK keys for PASETO v3 (k3.secret, k3.public, k3.pid).
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Decode, sign and verify Cargo asymmetric tokens (v3.public).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Generate and check the JSON test vectors.
    #[command(subcommand)]
    Vectors(vectors::VectorsCommand),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Key(cmd) => key::run(cmd),
        Command::Token(cmd) => token::run(cmd),
        Command::Vectors(cmd) => vectors::run(cmd),
    }
}

/// Prints a JSON value, pretty, on stdout.
fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    );
}
