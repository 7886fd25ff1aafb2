//! The command line: argument types and dispatch. Each subcommand lives in its own module.

mod fuzz;
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
    long_about = "Conformance suite and fuzzing lab for Cargo's securer tokens.\n\n\
        With no subcommand, credlab runs its conformance cases: against the credential \
        provider given with --provider, or, with no target, against its built-in reference \
        targets.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: Box<crate::run::RunArgs>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// PASERK keys for PASETO v3 (k3.secret, k3.public, k3.pid).
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Decode, sign and verify Cargo asymmetric tokens (v3.public).
    #[command(subcommand)]
    Token(Box<token::TokenCommand>),
    /// Generate and check the JSON test vectors.
    #[command(subcommand)]
    Vectors(vectors::VectorsCommand),
    /// Run the reference registry: a sparse registry on SQLite that verifies Cargo
    /// asymmetric tokens (`credlab serve --help` lists its options).
    #[command(disable_help_flag = true)]
    Serve {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<std::ffi::OsString>,
    },
    /// Fuzz a credential provider or a registry; findings become regression vectors.
    Fuzz(Box<fuzz::FuzzArgs>),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Some(Command::Key(cmd)) => key::run(cmd),
        Some(Command::Token(cmd)) => token::run(*cmd),
        Some(Command::Vectors(cmd)) => vectors::run(cmd),
        Some(Command::Serve { args }) => Ok(credlab_runners::registry::server::serve_main(args)),
        Some(Command::Fuzz(args)) => fuzz::run(*args),
        None => crate::run::run(*cli.run),
    }
}

/// Prints a JSON value, pretty, on stdout.
fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    );
}
