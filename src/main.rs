//! `credlab`: a conformance suite and fuzzing lab for Cargo's securer tokens.

mod cli;
mod exit;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(code) => exit::code(code),
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            exit::code(failure.code)
        }
    }
}
