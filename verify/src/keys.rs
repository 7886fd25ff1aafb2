//! PASERK keys for PASETO v3: `k3.secret`, `k3.public` and the key id `k3.pid`.
//!
//! Formats (PASERK `types/secret.md`, `types/public.md`, `operations/ID.md`):
//! - `k3.secret.` + base64url(48-byte big-endian P-384 scalar)
//! - `k3.public.` + base64url(49-byte SEC1 compressed point)
//! - `k3.pid.`    + base64url(SHA-384("k3.pid." || k3.public string)[..33])
//!
//! Public keys are validated (on the curve, compressed form) when they are loaded, so a bad
//! registered key fails at enrolment and never half-way through a verify. With the `aws-lc`
//! feature the parsed point is kept, because decompressing it costs ~20 % of a fast verify.

use std::fmt;

use p384::ecdsa::SigningKey;
use p384::elliptic_curve::sec1::ToSec1Point;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version3::V3;

use crate::b64;

pub const SECRET_PREFIX: &str = "k3.secret.";
pub const PUBLIC_PREFIX: &str = "k3.public.";
pub const PID_PREFIX: &str = "k3.pid.";

const SECRET_LEN: usize = 48;
const COMPRESSED_LEN: usize = 49;
const UNCOMPRESSED_LEN: usize = 97;
const PID_LEN: usize = 33;

/// Why a key or key id could not be loaded. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("expected a PASERK starting with `{expected}`, found {found}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error(
        "expected a `{expected}` PASERK, found version `{found}`: PASERK forbids using a key of \
         one version with another"
    )]
    WrongVersion {
        expected: &'static str,
        found: String,
    },
    #[error("{what}: {source}")]
    Base64 {
        what: &'static str,
        source: b64::InvalidBase64,
    },
    #[error("{what}: expected {expected} bytes, found {found}")]
    Length {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("secret key: the scalar is zero or not below the P-384 group order")]
    SecretOutOfRange,
    #[error("public key: a compressed SEC1 point starts with 0x02 or 0x03, found 0x{0:02x}")]
    NotCompressed(u8),
    #[error("public key: a 97-byte (uncompressed) SEC1 point starts with 0x04, found 0x{0:02x}")]
    NotUncompressed(u8),
    #[error("public key: not a point on the P-384 curve")]
    NotOnCurve,
}

/// Splits `k3.secret.DATA` into its header and data, reporting a wrong version or type.
/// Only a well-formed header (`k<digit>.<lowercase type>`) is echoed in errors, never data:
/// the text may be a secret key with a typo in its header.
fn split_paserk<'a>(text: &'a str, expected: &'static str) -> Result<&'a str, KeyError> {
    if let Some(data) = text.strip_prefix(expected) {
        return Ok(data);
    }
    let mut parts = text.splitn(3, '.');
    let version = parts.next().unwrap_or_default();
    let kind = parts.next().unwrap_or_default();
    let has_data = parts.next().is_some();
    let version_ok =
        version.len() == 2 && version.starts_with('k') && version.as_bytes()[1].is_ascii_digit();
    let kind_ok = !kind.is_empty()
        && kind.len() <= 16
        && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    if !(version_ok && kind_ok) {
        return Err(KeyError::WrongType {
            expected,
            found: "no PASERK header".to_string(),
        });
    }
    if !has_data {
        return Err(KeyError::WrongType {
            expected,
            found: format!("`{version}.{kind}` with no key data"),
        });
    }
    let found = format!("{version}.{kind}.");
    if version != &expected[..2] {
        return Err(KeyError::WrongVersion { expected, found });
    }
    Err(KeyError::WrongType {
        expected,
        found: format!("`{found}`"),
    })
}

fn decode_exact(data: &str, what: &'static str, expected: usize) -> Result<Vec<u8>, KeyError> {
    let bytes = b64::decode(data).map_err(|source| KeyError::Base64 { what, source })?;
    if bytes.len() != expected {
        return Err(KeyError::Length {
            what,
            expected,
            found: bytes.len(),
        });
    }
    Ok(bytes)
}

/// A PASERK key id, `k3.pid.…`: how Cargo's footer (`kip`) names the signing key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// Parses a `k3.pid.` id (format only: 33 bytes of base64url).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let data = split_paserk(text, PID_PREFIX)?;
        decode_exact(data, "key id", PID_LEN)?;
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// A validated P-384 public key, with its PASERK forms computed once.
#[derive(Clone)]
pub struct PublicKey {
    compressed: [u8; COMPRESSED_LEN],
    paserk: String,
    id: KeyId,
    #[cfg(feature = "aws-lc")]
    parsed: aws_lc_rs::signature::ParsedPublicKey,
    #[cfg(feature = "pasetors-backend")]
    pasetors: AsymmetricPublicKey<V3>,
}

impl PublicKey {
    /// Parses and validates a `k3.public.` PASERK.
    pub fn from_paserk(text: &str) -> Result<Self, KeyError> {
        let data = split_paserk(text, PUBLIC_PREFIX)?;
        let bytes = decode_exact(data, "public key", COMPRESSED_LEN)?;
        Self::from_sec1(&bytes)
    }

    /// Loads a SEC1 point: compressed (49 bytes, as PASERK stores it) or uncompressed
    /// (97 bytes, as Wycheproof gives it; converted to the compressed form PASETO signs over).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        let compressed: [u8; COMPRESSED_LEN] = match bytes.len() {
            COMPRESSED_LEN => {
                if bytes[0] != 0x02 && bytes[0] != 0x03 {
                    return Err(KeyError::NotCompressed(bytes[0]));
                }
                p384::PublicKey::from_sec1_bytes(bytes).map_err(|_| KeyError::NotOnCurve)?;
                bytes.try_into().expect("length checked")
            }
            UNCOMPRESSED_LEN if bytes[0] != 0x04 => {
                return Err(KeyError::NotUncompressed(bytes[0]));
            }
            UNCOMPRESSED_LEN => {
                let point =
                    p384::PublicKey::from_sec1_bytes(bytes).map_err(|_| KeyError::NotOnCurve)?;
                point
                    .to_sec1_point(true)
                    .as_bytes()
                    .try_into()
                    .expect("a compressed P-384 point is 49 bytes")
            }
            found => {
                return Err(KeyError::Length {
                    what: "public key",
                    expected: COMPRESSED_LEN,
                    found,
                });
            }
        };
        let pasetors_key = AsymmetricPublicKey::<V3>::from(&compressed)
            .expect("pasetors accepts any 49-byte 0x02/0x03 key");
        let mut paserk = String::new();
        pasetors_key
            .fmt(&mut paserk)
            .expect("formatting into a String cannot fail");
        let mut id = String::new();
        Id::from(&pasetors_key)
            .fmt(&mut id)
            .expect("formatting into a String cannot fail");
        Ok(Self {
            compressed,
            paserk,
            id: KeyId(id),
            #[cfg(feature = "aws-lc")]
            parsed: aws_lc_rs::signature::ParsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
                compressed,
            )
            // p384 accepted the point above; AWS-LC disagreeing would be a bug in one of them.
            .map_err(|_| KeyError::NotOnCurve)?,
            #[cfg(feature = "pasetors-backend")]
            pasetors: pasetors_key,
        })
    }

    /// The 49-byte compressed point: the key bytes that PASETO v3 signs over (PAE piece 1).
    pub fn compressed(&self) -> &[u8; COMPRESSED_LEN] {
        &self.compressed
    }

    /// The `k3.public.` PASERK string.
    pub fn to_paserk(&self) -> &str {
        &self.paserk
    }

    /// The `k3.pid.` key id, as Cargo puts it in the footer's `kip`.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    #[cfg(feature = "aws-lc")]
    pub(crate) fn aws_lc(&self) -> &aws_lc_rs::signature::ParsedPublicKey {
        &self.parsed
    }

    #[cfg(feature = "pasetors-backend")]
    pub(crate) fn pasetors(&self) -> &AsymmetricPublicKey<V3> {
        &self.pasetors
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}
impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.paserk)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.paserk)
    }
}

/// A P-384 signing key. Its `Debug` never shows the secret; printing it takes an explicit
/// call to [`SecretKey::expose_paserk`].
#[derive(Clone)]
pub struct SecretKey {
    signing: SigningKey,
    public: PublicKey,
}

impl SecretKey {
    /// A fresh random key (pasetors' generator, as `cargo login -Z asymmetric-token` uses).
    pub fn generate() -> Self {
        use pasetors::keys::{AsymmetricKeyPair, Generate};
        let pair = AsymmetricKeyPair::<V3>::generate().expect("the OS random source failed");
        Self::from_bytes(pair.secret.as_bytes()).expect("pasetors generates valid scalars")
    }

    /// Parses a `k3.secret.` PASERK.
    pub fn from_paserk(text: &str) -> Result<Self, KeyError> {
        let data = split_paserk(text.trim_end_matches(['\n', '\r']), SECRET_PREFIX)?;
        let bytes = decode_exact(data, "secret key", SECRET_LEN)?;
        Self::from_bytes(&bytes)
    }

    /// Loads a 48-byte big-endian scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != SECRET_LEN {
            return Err(KeyError::Length {
                what: "secret key",
                expected: SECRET_LEN,
                found: bytes.len(),
            });
        }
        let signing = SigningKey::from_slice(bytes).map_err(|_| KeyError::SecretOutOfRange)?;
        let point = signing.verifying_key().to_sec1_point(true);
        let public = PublicKey::from_sec1(point.as_bytes())?;
        Ok(Self { signing, public })
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The `k3.secret.` PASERK. Named so that every place that prints a secret says so.
    pub fn expose_paserk(&self) -> String {
        let key = AsymmetricSecretKey::<V3>::from(self.signing.to_bytes().as_slice())
            .expect("a valid scalar is 48 bytes");
        let mut out = String::new();
        key.fmt(&mut out)
            .expect("formatting into a String cannot fail");
        out
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, public: {})", self.public.paserk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 3231 key that Cargo's own tests use (`Token::rfc_key()`).
    const RFC_SECRET: &str =
        "k3.secret.fNYVuMvBgOlljt9TDohnaYLblghqaHoQquVZwgR6X12cBFHZLFsaU3q7X3k1Zn36";
    const RFC_PUBLIC: &str =
        "k3.public.AmDwjlyf8jAV3gm5Z7Kz9xAOcsKslt_Vwp5v-emjFzBHLCtcANzTaVEghTNEMj9PkQ";
    const RFC_PID: &str = "k3.pid.QB3WNBP-5j-0XQV2MOuvuOcLlJ8uz-pmqtIZus1x3YTu";

    #[test]
    fn rfc_key_derives_public_and_pid() {
        let secret = SecretKey::from_paserk(RFC_SECRET).unwrap();
        assert_eq!(secret.public_key().to_paserk(), RFC_PUBLIC);
        assert_eq!(secret.public_key().id().as_str(), RFC_PID);
        assert_eq!(secret.expose_paserk(), RFC_SECRET);
        let public = PublicKey::from_paserk(RFC_PUBLIC).unwrap();
        assert_eq!(&public, secret.public_key());
        assert_eq!(KeyId::parse(RFC_PID).unwrap(), *public.id());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = SecretKey::from_paserk(RFC_SECRET).unwrap();
        let shown = format!("{secret:?}");
        assert!(!shown.contains(&RFC_SECRET[10..]), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn generated_keys_round_trip() {
        let key = SecretKey::generate();
        let again = SecretKey::from_paserk(&key.expose_paserk()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        assert_eq!(
            PublicKey::from_paserk(key.public_key().to_paserk()).unwrap(),
            *key.public_key()
        );
    }

    #[test]
    fn clear_errors() {
        let wrong_version = SecretKey::from_paserk("k4.secret.AAAA").unwrap_err();
        assert!(
            matches!(wrong_version, KeyError::WrongVersion { .. }),
            "{wrong_version}"
        );
        let wrong_type = SecretKey::from_paserk(RFC_PUBLIC).unwrap_err();
        assert!(
            matches!(wrong_type, KeyError::WrongType { .. }),
            "{wrong_type}"
        );
        assert!(wrong_type.to_string().contains("`k3.public.`"));
        let no_header = PublicKey::from_paserk("hello").unwrap_err();
        assert_eq!(
            no_header.to_string(),
            "expected a PASERK starting with `k3.public.`, found no PASERK header"
        );
        let short = SecretKey::from_paserk("k3.secret.AAAA").unwrap_err();
        assert!(
            matches!(
                short,
                KeyError::Length {
                    expected: 48,
                    found: 3,
                    ..
                }
            ),
            "{short}"
        );
        let zero = SecretKey::from_bytes(&[0; 48]).unwrap_err();
        assert_eq!(zero, KeyError::SecretOutOfRange);
        let uncompressed_tag = PublicKey::from_sec1(&[4; 49]).unwrap_err();
        assert_eq!(uncompressed_tag, KeyError::NotCompressed(4));
        // Wycheproof ecpoint tcId 790: a compressed x with no y on the curve.
        let off_curve = hex::decode("024424530ea70bace90601f8d5869e4179a6cd689b6a18fdfec50cecf17cb836d24820211ada67815b42c2c2606303f69e").unwrap();
        assert_eq!(
            PublicKey::from_sec1(&off_curve).unwrap_err(),
            KeyError::NotOnCurve
        );
        let secret_in_message = SecretKey::from_paserk(
            "k3.secret.fNYVuMvBgOlljt9TDohnaYLblghq+HoQquVZwgR6X12cBFHZLFsaU3q7X3k1Zn36",
        )
        .unwrap_err();
        assert!(
            !secret_in_message.to_string().contains("fNYVuMvB"),
            "{secret_in_message}"
        );
    }
}
