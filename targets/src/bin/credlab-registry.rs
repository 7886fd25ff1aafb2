//! `credlab-registry`: the reference sparse registry (`credlab serve`) as its own binary.
//! See [`credlab_targets::registry::server`] and `credlab-registry --help`.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(credlab_targets::registry::server::cli::serve_main(
        std::env::args_os().skip(1),
    ))
}
