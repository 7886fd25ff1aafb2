//! `credlab-token-provider`: a conformant token store for Cargo's credential protocol.
//! See [`credlab_runners::reference::token_store`].

fn main() {
    let provider = credlab_runners::reference::TokenStore::from_env();
    credlab_runners::reference::protocol::run(&provider);
}
