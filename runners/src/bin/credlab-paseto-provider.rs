//! `credlab-paseto-provider`: Cargo's asymmetric tokens (as `cargo:paseto` makes them) from
//! an external credential provider. See [`credlab_runners::reference::paseto`].

fn main() {
    let provider = credlab_runners::reference::PasetoProvider::from_env();
    credlab_runners::reference::protocol::run(&provider);
}
