//! The provider case catalogue, compiled to `vectors/provider/*.json`.

mod build;
mod cite;
mod groups;

pub use build::{CKSUM, CRATE, VERS};

use crate::cases::provider::ProviderFile;

/// Every provider vector file, in a stable order.
pub fn provider_files() -> Vec<ProviderFile> {
    [
        groups::handshake_group(),
        groups::get_group(),
        groups::errors_group(),
        groups::login_group(),
        groups::cache_group(),
        groups::framing_group(),
        groups::malformed_group(),
        groups::robustness_group(),
        groups::token_group(),
        groups::isolation_group(),
        groups::secrets_group(),
    ]
    .into_iter()
    .map(build::Group::into_file)
    .collect()
}
