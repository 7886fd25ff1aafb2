//! The command line: argument types and dispatch. Each subcommand lives in its own module.

mod fuzz;
mod key;
mod matrix;
mod registry_token;
mod secret_key;
mod token;
mod vectors;

pub use registry_token::RegistryTokenArgs;
pub use secret_key::SecretKeyArgs;

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
    /// The conformance matrix of public providers and registries: install and judge each
    /// (`run`), then render MATRIX.md and a self-contained HTML page (`render`).
    #[command(subcommand)]
    Matrix(matrix::MatrixCommand),
}

/// Runs the parsed command line and returns the process exit code. `from_env` holds
/// `CREDLAB_SECRET_KEY` and `CREDLAB_REGISTRY_TOKEN`, which `main` took out of the
/// environment before parsing.
pub fn run(cli: Cli, from_env: crate::secrets::FromEnv) -> Result<u8, Failure> {
    let secret_from_env = from_env.secret_key;
    match cli.command {
        Some(Command::Key(cmd)) => key::run(cmd),
        Some(Command::Token(cmd)) => token::run(*cmd, secret_from_env),
        Some(Command::Vectors(cmd)) => vectors::run(cmd),
        Some(Command::Serve { args }) => Ok(credlab_targets::registry::server::serve_main(args)),
        Some(Command::Fuzz(args)) => fuzz::run(*args, secret_from_env),
        Some(Command::Matrix(cmd)) => matrix::run(cmd),
        None => {
            let mut run = *cli.run;
            run.secret_key.from_env = secret_from_env;
            run.registry_token.from_env = from_env.registry_token;
            crate::run::run(run)
        }
    }
}

/// Prints a JSON value, pretty, on stdout (no character in it can act on a terminal).
fn print_json(value: &serde_json::Value) {
    crate::out::outln!(
        "{}",
        credlab_suite::text::json_safe(
            &serde_json::to_string_pretty(value).expect("JSON values serialize")
        )
    );
}
