//! Base64url without padding, strictly: the only encoding PASETO and PASERK allow.
//!
//! PASETO `Common.md`: padding is forbidden and non-canonical trailing bits must be rejected.
//! `base64ct` enforces both (and rejects `+`, `/`, whitespace), in constant time.

use base64ct::{Base64UrlUnpadded, Encoding};

/// Encodes `bytes` as base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Decodes strict base64url without padding.
pub fn decode(text: &str) -> Result<Vec<u8>, InvalidBase64> {
    Base64UrlUnpadded::decode_vec(text).map_err(|_| InvalidBase64 {
        reason: describe_invalid(text),
    })
}

/// Why a string is not strict unpadded base64url, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidBase64 {
    pub reason: String,
}

fn describe_invalid(text: &str) -> String {
    if let Some((at, c)) = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        let what = match c {
            '=' => "padding `=` (forbidden in PASETO)".to_string(),
            '+' | '/' => format!("`{c}` from the standard alphabet (base64url uses `-` and `_`)"),
            c if c.is_whitespace() => "whitespace".to_string(),
            c => format!("{c:?}"),
        };
        return format!("not base64url: {what} at byte {at}");
    }
    if text.len() % 4 == 1 {
        return format!(
            "not base64url: length {} cannot be a base64 encoding",
            text.len()
        );
    }
    "not base64url: non-canonical encoding (unused trailing bits are not zero)".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn rejects_what_paseto_forbids() {
        assert!(decode("YQ==").unwrap_err().reason.contains("padding"));
        assert!(
            decode("a+b/")
                .unwrap_err()
                .reason
                .contains("standard alphabet")
        );
        assert!(decode("YW Jj").unwrap_err().reason.contains("whitespace"));
        // "YR" decodes to 'a' with non-zero trailing bits; canonical form is "YQ".
        assert!(decode("YR").unwrap_err().reason.contains("non-canonical"));
        assert!(decode("YWJjZ").unwrap_err().reason.contains("length 5"));
    }
}
