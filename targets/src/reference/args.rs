//! The request's `args` (config args after the provider path, then `cargo login -- …` args).
//!
//! Every option takes a value, given as `--name VALUE` or `--name=VALUE`. Anything else is
//! refused, so a typo in a registry's config is an error rather than silently ignored.

use cargo_credential::Error;

use super::error::other;

/// Splits `args` into `(option, value)` pairs, in order, for the options named in `known`
/// (each spelled with its leading `--`).
pub(crate) fn parse<'a>(
    args: &[&'a str],
    known: &[&'static str],
) -> Result<Vec<(&'static str, &'a str)>, Error> {
    let mut parsed = Vec::new();
    let mut rest = args.iter().copied();
    while let Some(arg) = rest.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg, None),
        };
        let Some(&option) = known.iter().find(|&&k| k == name) else {
            let accepted = known
                .iter()
                .map(|k| format!("{k} VALUE"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(other(format!(
                "unknown argument `{arg}` (this provider accepts: {accepted})"
            )));
        };
        let value = match inline {
            Some(value) => value,
            None => rest
                .next()
                .ok_or_else(|| other(format!("`{option}` needs a value")))?,
        };
        parsed.push((option, value));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(error: Error) -> String {
        error.to_string()
    }

    #[test]
    fn both_spellings_in_order() {
        let args = ["--only-url", "https://a/", "--only-url=https://b/"];
        let parsed = parse(&args, &["--only-url"]).unwrap();
        assert_eq!(
            parsed,
            [("--only-url", "https://a/"), ("--only-url", "https://b/")]
        );
        assert!(parse(&[], &["--only-url"]).unwrap().is_empty());
    }

    #[test]
    fn refuses_unknown_and_missing_values() {
        let unknown = message(parse(&["--frob"], &["--key-subject"]).unwrap_err());
        assert_eq!(
            unknown,
            "unknown argument `--frob` (this provider accepts: --key-subject VALUE)"
        );
        let positional = message(parse(&["cfg1"], &["--key-subject"]).unwrap_err());
        assert!(
            positional.starts_with("unknown argument `cfg1`"),
            "{positional}"
        );
        let missing = message(parse(&["--key-subject"], &["--key-subject"]).unwrap_err());
        assert_eq!(missing, "`--key-subject` needs a value");
    }
}
