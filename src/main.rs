//! `credlab`: a conformance suite and fuzzing lab for Cargo's securer tokens.

mod cli;
mod exit;
mod out;
mod run;
mod secrets;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `credlab --cargo-plugin` with CREDLAB_BUILTIN_PROVIDER set is one of credlab's own
    // providers (the reference targets and the seeded-bug mutants), started by the runner.
    let argv: Vec<_> = std::env::args_os().skip(1).collect();
    if argv == ["--cargo-plugin"]
        && let Some(name) = std::env::var_os(credlab_targets::builtin::BUILTIN_ENV)
    {
        let code = credlab_targets::builtin::run(&name.to_string_lossy());
        return exit::code(u8::try_from(code).unwrap_or(1));
    }
    // Before anything else (and before any thread exists): take the secret key and a
    // registry token out of the environment and out of reach of the providers this run starts.
    let from_env = secrets::take_env_secrets();
    secrets::harden();
    let cli = cli::Cli::parse();
    match cli::run(cli, from_env) {
        Ok(code) => exit::code(code),
        Err(failure) => {
            crate::out::errln!("error: {}", secrets::shown(&failure.message));
            exit::code(failure.code)
        }
    }
}
