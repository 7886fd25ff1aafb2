//! The `iat` claim: an RFC 3339 date-time string.
//!
//! Cargo writes `OffsetDateTime::now_utc().format(&Rfc3339)` (time crate): UTC, uppercase `T`
//! and `Z`, 1–9 fractional digits with trailing zeros trimmed, none when zero, e.g.
//! `2026-11-25T22:51:20.92458155Z`.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats `at` exactly as Cargo does.
pub fn format(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .expect("every UTC OffsetDateTime with a four-digit year formats as RFC 3339")
}

/// How strictly `iat` must follow RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IatSyntax {
    /// RFC 3339 §5.6 as PASETO reads it: date and time separated by an uppercase `T`, and an
    /// uppercase `Z` (PASETO `Common.md`, registered claims). Cargo always writes this.
    #[default]
    Strict,
    /// Whatever the time crate's RFC 3339 parser takes (also `t`, `z`, a space separator);
    /// this is what Cargo's own test registry accepts.
    Lenient,
}

/// Why a text is not an `iat` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IatError {
    /// Strict syntax: no uppercase `T` between date and time.
    #[error("{0:?} is not RFC 3339 with an uppercase `T` between date and time")]
    Separator(String),
    /// Strict syntax: a lowercase `z`.
    #[error("{0:?} ends in a lowercase `z`; PASETO requires `Z`")]
    LowercaseZ(String),
    /// The time crate's RFC 3339 parser refuses it.
    #[error("{text:?} is not RFC 3339 ({source})")]
    NotRfc3339 {
        text: String,
        source: time::error::Parse,
    },
}

/// Parses an `iat` value, or says why it is not one.
pub fn parse(text: &str, syntax: IatSyntax) -> Result<OffsetDateTime, IatError> {
    if syntax == IatSyntax::Strict {
        if text.as_bytes().get(10) != Some(&b'T') {
            return Err(IatError::Separator(text.to_string()));
        }
        if text.ends_with('z') {
            return Err(IatError::LowercaseZ(text.to_string()));
        }
    }
    OffsetDateTime::parse(text, &Rfc3339).map_err(|source| IatError::NotRfc3339 {
        text: text.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_like_cargo() {
        assert_eq!(
            format(datetime!(2026-11-25 22:51:20.728732629 UTC)),
            "2026-11-25T22:51:20.728732629Z"
        );
        assert_eq!(
            format(datetime!(2026-11-25 22:51:20.924581550 UTC)),
            "2026-11-25T22:51:20.92458155Z"
        );
        assert_eq!(
            format(datetime!(2026-01-01 00:00:00 UTC)),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            format(datetime!(2026-01-01 01:00:00 +1)),
            "2026-01-01T00:00:00Z"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let z = parse("2022-02-28T18:33:24+00:00", IatSyntax::Strict).unwrap();
        assert_eq!(z, datetime!(2022-02-28 18:33:24 UTC));
        let east = parse("2022-02-28T19:33:24+01:00", IatSyntax::Strict).unwrap();
        assert_eq!(east, z);
        assert!(parse("2026-11-25T22:51:20.728732629Z", IatSyntax::Strict).is_ok());
    }

    #[test]
    fn strictness() {
        for text in [
            "2022-02-28t18:33:24Z",
            "2022-02-28T18:33:24z",
            "2022-02-28 18:33:24Z",
        ] {
            assert!(parse(text, IatSyntax::Strict).is_err(), "{text}");
        }
        assert!(parse("2022-02-28t18:33:24z", IatSyntax::Lenient).is_ok());
        for text in [
            "2026-01-01",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-01-01T25:00:00Z",
            "2022-02-28T18:33:60Z",
            "",
        ] {
            assert!(parse(text, IatSyntax::Lenient).is_err(), "{text}");
        }
    }
}
