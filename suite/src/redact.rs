//! Showing secrets without showing them: reports name a token or key by a prefix and a hash,
//! never in full (a live token is a credential for up to its freshness window).

use sha2::Digest;

/// `v3.public.eyJp…#1a2b3c4d`: the first 14 characters and a short SHA-256 fingerprint.
pub fn token(token: &str) -> String {
    let digest = sha2::Sha256::digest(token.as_bytes());
    let prefix: String = token.chars().take(14).collect();
    format!("{prefix}…#{}", hex::encode(&digest[..4]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_a_prefix_and_fingerprint_only() {
        let t = "v3.public.eyJpYXQiOiIyMDI2In0secretsecretsecret";
        let shown = super::token(t);
        assert!(shown.starts_with("v3.public.eyJp…#"), "{shown}");
        assert!(!shown.contains("secret"));
        assert_eq!(shown, super::token(t));
    }
}
