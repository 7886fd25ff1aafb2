//! `credlab-faux-provider`: a deliberately misbehaving credential provider for testing
//! transports. See [`credlab_targets::faux`].

fn main() {
    credlab_targets::faux::run();
}
