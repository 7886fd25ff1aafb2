//! PASETO v3.public on the wire (paseto-spec `Version3.md`, "Sign" and "Verify").
//!
//! ```text
//! token = "v3.public." || b64url(m || sig) [ || "." || b64url(f) ]
//! sig   = ECDSA-P384-SHA384(sk, PAE([pk, "v3.public.", m, f, i]))   // r || s, 96 bytes
//! ```
//! `pk` is the 49-byte compressed public key and `i` the implicit assertion (Cargo: empty).
//! Signing is deterministic (RFC 6979), so the same inputs always give the same token.

use p384::ecdsa::Signature;
use p384::ecdsa::signature::hazmat::PrehashSigner;
use sha2::Digest;

use crate::b64;
use crate::backend::Backend;
use crate::keys::{PublicKey, SecretKey};
use crate::rejection::{Rejection, RejectionKind};

pub const HEADER: &str = "v3.public.";
pub const SIGNATURE_LEN: usize = 96;

/// Pre-Authentication Encoding (PASETO `Common.md` §PAE): the piece count, then each piece,
/// every length as a little-endian u64 with the top bit cleared.
pub fn pae(pieces: &[&[u8]]) -> Vec<u8> {
    fn le64(n: usize) -> [u8; 8] {
        ((n as u64) & (u64::MAX >> 1)).to_le_bytes()
    }
    let mut out = Vec::with_capacity(8 + pieces.iter().map(|p| 8 + p.len()).sum::<usize>());
    out.extend_from_slice(&le64(pieces.len()));
    for piece in pieces {
        out.extend_from_slice(&le64(piece.len()));
        out.extend_from_slice(piece);
    }
    out
}

/// Which of the two valid `s` values a signature carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureForm {
    /// Exactly what RFC 6979 gives, as Cargo (pasetors 0.7) emits: high-S about half the time.
    AsCargo,
    /// `s <= n/2` (pasetors >= 0.8 normalises to this).
    LowS,
    /// `s > n/2`: the other valid signature for the same message.
    HighS,
}

/// Whether a verified signature was low-S or high-S.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureS {
    LowS,
    HighS,
}

/// Signs `payload` with `footer` and implicit assertion `implicit` (empty footer: the token
/// has no footer segment). Deterministic.
pub fn sign(
    key: &SecretKey,
    payload: &[u8],
    footer: &[u8],
    implicit: &[u8],
    form: SignatureForm,
) -> String {
    let m2 = pae(&[
        key.public_key().compressed(),
        HEADER.as_bytes(),
        payload,
        footer,
        implicit,
    ]);
    let digest = sha2::Sha384::digest(&m2);
    let raw: Signature = key
        .signing_key()
        .sign_prehash(&digest)
        .expect("a SHA-384 digest is a valid P-384 prehash");
    let signature = match form {
        SignatureForm::AsCargo => raw,
        SignatureForm::LowS => raw.normalize_s(),
        SignatureForm::HighS => {
            let low = raw.normalize_s();
            let (r, s) = low.split_scalars();
            Signature::from_scalars(r, -*s).expect("n - s is in range when s is")
        }
    };
    let mut body = payload.to_vec();
    body.extend_from_slice(&signature.to_bytes());
    assemble(&body, footer)
}

/// Builds `v3.public.<b64(body)>[.<b64(footer)>]` from raw parts, for crafting vectors.
pub fn assemble(body: &[u8], footer: &[u8]) -> String {
    let mut token = format!("{HEADER}{}", b64::encode(body));
    if !footer.is_empty() {
        token.push('.');
        token.push_str(&b64::encode(footer));
    }
    token
}

/// A v3.public token split and base64-decoded. Nothing about it is trusted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    body: Vec<u8>,
    footer: Option<Vec<u8>>,
}

impl Decoded {
    /// The signed message `m` (the payload bytes).
    pub fn payload(&self) -> &[u8] {
        &self.body[..self.body.len() - SIGNATURE_LEN]
    }

    /// The 96-byte `r || s`.
    pub fn signature(&self) -> &[u8] {
        &self.body[self.body.len() - SIGNATURE_LEN..]
    }

    /// The footer bytes, if the token has a footer segment.
    pub fn footer(&self) -> Option<&[u8]> {
        self.footer.as_deref()
    }

    /// The signed content as owned parts: (payload, footer).
    pub fn into_parts(mut self) -> (Vec<u8>, Option<Vec<u8>>) {
        self.body.truncate(self.body.len() - SIGNATURE_LEN);
        (self.body, self.footer)
    }
}

fn reject(kind: RejectionKind, message: impl Into<String>) -> Rejection {
    Rejection::new(kind, message)
}

/// Splits and decodes a token, checking the header, the segment count and the encoding.
pub fn decode(token: &str) -> Result<Decoded, Rejection> {
    let mut segments = token.split('.');
    let version = segments.next().unwrap_or_default();
    let Some(purpose) = segments.next() else {
        return Err(reject(
            RejectionKind::Malformed,
            "expected `v3.public.<payload>.<footer>`, found no `.`",
        ));
    };
    if version != "v3" {
        let kind = if is_version_like(version) {
            RejectionKind::UnsupportedVersion
        } else {
            RejectionKind::Malformed
        };
        return Err(reject(
            kind,
            format!("expected header `v3.public.`, found version {version:?}"),
        ));
    }
    if purpose != "public" {
        return Err(reject(
            RejectionKind::UnsupportedPurpose,
            format!("expected header `v3.public.`, found purpose {purpose:?}"),
        ));
    }
    let body = segments.next().unwrap_or_default();
    let footer = segments.next();
    let extra = segments.count();
    if extra > 0 {
        return Err(reject(
            RejectionKind::Malformed,
            format!(
                "expected at most 4 `.`-separated segments, found {}",
                4 + extra
            ),
        ));
    }
    if body.is_empty() {
        return Err(reject(
            RejectionKind::Malformed,
            "the payload segment is empty",
        ));
    }
    if footer == Some("") {
        return Err(reject(
            RejectionKind::Malformed,
            "a trailing `.` with an empty footer segment (PASETO omits the segment when there is no footer)",
        ));
    }
    let body = b64::decode(body)
        .map_err(|e| reject(RejectionKind::BadBase64, format!("payload segment: {e}")))?;
    if body.len() <= SIGNATURE_LEN {
        return Err(reject(
            RejectionKind::Malformed,
            format!(
                "the decoded body is {} bytes; it must hold a non-empty payload and a {SIGNATURE_LEN}-byte signature",
                body.len()
            ),
        ));
    }
    let footer = footer
        .map(|f| {
            b64::decode(f)
                .map_err(|e| reject(RejectionKind::BadBase64, format!("footer segment: {e}")))
        })
        .transpose()?;
    Ok(Decoded { body, footer })
}

/// `v1`, `v4`, `V3`…: a header that names a PASETO version, just not ours.
fn is_version_like(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('v' | 'V')) && s.len() > 1 && chars.all(|c| c.is_ascii_digit())
}

/// Checks `r` and `s` are in range and tells low-S from high-S.
pub fn signature_s(signature: &[u8]) -> Result<SignatureS, Rejection> {
    let parsed = Signature::from_slice(signature).map_err(|_| {
        reject(
            RejectionKind::BadSignature,
            "r or s is zero or not below the P-384 group order",
        )
    })?;
    Ok(if parsed.normalize_s() == parsed {
        SignatureS::LowS
    } else {
        SignatureS::HighS
    })
}

/// Verifies the signature of an already decoded token with `backend`.
///
/// The pasetors backend re-parses the raw `token` with pasetors' own `UntrustedToken`, so the
/// differential tests compare two independent decoders as well as two ECDSA implementations.
#[cfg_attr(not(feature = "pasetors-backend"), allow(unused_variables))]
pub fn verify_signature(
    backend: Backend,
    key: &PublicKey,
    token: &str,
    decoded: &Decoded,
    implicit: &[u8],
) -> Result<SignatureS, Rejection> {
    let form = signature_s(decoded.signature())?;
    let valid = match backend {
        #[cfg(feature = "aws-lc")]
        Backend::AwsLc => {
            let m2 = pae(&[
                key.compressed(),
                HEADER.as_bytes(),
                decoded.payload(),
                decoded.footer().unwrap_or_default(),
                implicit,
            ]);
            key.aws_lc().verify_sig(&m2, decoded.signature()).is_ok()
        }
        #[cfg(feature = "pasetors-backend")]
        Backend::Pasetors => {
            use pasetors::token::UntrustedToken;
            use pasetors::version3::{PublicToken, V3};
            UntrustedToken::<pasetors::Public, V3>::try_from(token).is_ok_and(|untrusted| {
                // pasetors checks the payload is UTF-8 only after the signature verified;
                // that is a payload problem for the claims layer, not a bad signature.
                matches!(
                    PublicToken::verify(key.pasetors(), &untrusted, None, Some(implicit)),
                    Ok(_) | Err(pasetors::errors::Error::PayloadInvalidUtf8)
                )
            })
        }
    };
    if valid {
        Ok(form)
    } else {
        Err(reject(
            RejectionKind::BadSignature,
            format!("the signature does not verify under {}", key.id()),
        ))
    }
}

/// Decodes and verifies a v3.public token: the plain PASETO check the official vectors test.
pub fn verify(
    backend: Backend,
    key: &PublicKey,
    token: &str,
    implicit: &[u8],
) -> Result<Decoded, Rejection> {
    let decoded = decode(token)?;
    verify_signature(backend, key, token, &decoded, implicit)?;
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_spec_examples() {
        // PASETO Common.md: PAE([]) and PAE([""]) and PAE(["test"]).
        assert_eq!(pae(&[]), b"\x00\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(pae(&[b""]), b"\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(pae(&[b"test"]), b"\x01\0\0\0\0\0\0\0\x04\0\0\0\0\0\0\0test");
    }

    #[test]
    fn signature_forms() {
        let key = SecretKey::from_bytes(&[7; 48]).unwrap();
        let low = sign(&key, b"{}", b"f", b"", SignatureForm::LowS);
        let high = sign(&key, b"{}", b"f", b"", SignatureForm::HighS);
        let cargo = sign(&key, b"{}", b"f", b"", SignatureForm::AsCargo);
        assert!(cargo == low || cargo == high);
        assert_ne!(low, high);
        for backend in Backend::available() {
            let d = verify(*backend, key.public_key(), &low, b"").unwrap();
            assert_eq!(signature_s(d.signature()).unwrap(), SignatureS::LowS);
            let d = verify(*backend, key.public_key(), &high, b"").unwrap();
            assert_eq!(signature_s(d.signature()).unwrap(), SignatureS::HighS);
            assert_eq!(
                verify(*backend, key.public_key(), &low, b"x")
                    .unwrap_err()
                    .kind,
                RejectionKind::BadSignature
            );
        }
    }

    #[test]
    fn decode_classifies_structure() {
        let kind = |t: &str| decode(t).unwrap_err().kind;
        assert_eq!(
            kind("v4.public.AAAA.AAAA"),
            RejectionKind::UnsupportedVersion
        );
        assert_eq!(kind("V3.public.AAAA"), RejectionKind::UnsupportedVersion);
        assert_eq!(kind("v3.local.AAAA"), RejectionKind::UnsupportedPurpose);
        assert_eq!(kind("hello"), RejectionKind::Malformed);
        assert_eq!(kind("v3.public."), RejectionKind::Malformed);
        assert_eq!(kind("v3.public.AAAA.AAAA.AAAA"), RejectionKind::Malformed);
        assert_eq!(kind("v3.public.AA=A"), RejectionKind::BadBase64);
        assert_eq!(kind("v3.public.AAAA"), RejectionKind::Malformed);
        let body = b64::encode(&[1; 97]);
        assert!(
            decode(&format!("v3.public.{body}"))
                .unwrap()
                .footer()
                .is_none()
        );
        assert_eq!(
            kind(&format!("v3.public.{body}.")),
            RejectionKind::Malformed
        );
        assert_eq!(
            kind(&format!("v3.public.{body}.a+b")),
            RejectionKind::BadBase64
        );
    }
}
