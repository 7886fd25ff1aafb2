//! `credlab-token-provider`: a conformant token store for Cargo's credential protocol.
//! See [`credlab_targets::reference::token_store`].

fn main() {
    let provider = credlab_targets::reference::TokenStore::from_env();
    credlab_targets::reference::protocol::run(&provider);
}
