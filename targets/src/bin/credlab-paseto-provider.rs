//! `credlab-paseto-provider`: Cargo's asymmetric tokens (as `cargo:paseto` makes them) from
//! an external credential provider. See [`credlab_targets::reference::paseto`].

fn main() {
    let provider = credlab_targets::reference::PasetoProvider::from_env();
    credlab_targets::reference::protocol::run(&provider);
}
