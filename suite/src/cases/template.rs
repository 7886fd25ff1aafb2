//! Provider request templates: a step's `line` or `text` is stored as the exact request,
//! except where it depends on the target (its registry, its config arguments, the key credlab
//! logs in with); there it holds a `${…}` [`Placeholder`], which the runner fills from the
//! [`Values`] of the case's profile. The variants of [`Placeholder`] are the list of
//! placeholders, each with what it is filled with.
//!
//! Anything else written like one (`${nope}`, `${login_token[a..b]}`, a `${` with no `}`) is
//! literal text and is sent as it is. In a vector it can only be a slip, so
//! `credlab vectors check` refuses it ([`Template::unknown_placeholders`]); a request that
//! must hold a literal `${` is a `bytes` send, which is never filled.
//!
//! A template is filled in one pass: a value is never read for placeholders itself, nor is
//! text that only spells a placeholder once a value next to it is filled in.

use std::borrow::Cow;

/// How many `x` the value of `${huge_header}` holds: 16 MiB, as Cargo puts no limit on
/// request lines.
pub const HUGE_HEADER_LEN: usize = 16 << 20;

/// What `${huge_header}` expands to before its [`HUGE_HEADER_LEN`] bytes of `x`.
const HUGE_HEADER_NAME: &str = "X-Huge: ";

/// Where every placeholder starts.
const OPEN: &str = "${";
/// How `${login_token[FROM..TO]}` starts and ends.
const SLICE_OPEN: &str = "${login_token[";
const SLICE_CLOSE: &str = "]}";

/// A placeholder of a provider request template. Every value but `${args_field}` (which is
/// JSON itself) and `${login_token[FROM..TO]}` is written JSON-escaped: templates put them
/// inside a JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `${index_url}`: the index URL of the case's registry.
    IndexUrl,
    /// `${index_url_escaped_slashes}`: the same URL with every `/` written `\/` (a JSON
    /// escape a provider must read as `/`).
    IndexUrlEscapedSlashes,
    /// `${unsupported_url}`: an index URL the provider does not serve (`--unsupported-url`);
    /// empty when none is known (the cases using it require `unsupported-url`).
    UnsupportedUrl,
    /// `${registry_name}`: the name of the case's registry.
    RegistryName,
    /// `${other_index_url}`: the index URL of the isolation cases' other registry, on another
    /// host than the case's.
    OtherIndexUrl,
    /// `${other_registry_name}`: the name of that other registry.
    OtherRegistryName,
    /// `${args_field}`: `,"args":[…]` with the config arguments (sent in the request, as Cargo
    /// does, never on argv), or nothing when there are none.
    ArgsField,
    /// `${login_token}`: the token the provider already holds for the case's registry
    /// (`--stored-token`), else the k3.secret credlab logs in with.
    LoginToken,
    /// `${login_token[FROM..TO]}`: characters FROM..TO of the login token, unescaped, the range
    /// cut to the token (empty when it does not fall on character boundaries). How a found
    /// vector keeps a fragment of the key a fuzzer spliced, without keeping the key.
    LoginTokenSlice { from: usize, to: usize },
    /// `${huge_header}`: `X-Huge: ` and 16 MiB of `x`. Only the first in a template is
    /// expanded (one huge line is the test; later ones are sent as written), and only in the
    /// bytes sent ([`Template::render_bytes`]), never in the text read back
    /// ([`Template::render`]).
    HugeHeader,
}

impl Placeholder {
    /// The placeholders with one fixed spelling, and that spelling.
    const NAMED: [(Placeholder, &'static str); 9] = [
        (Placeholder::IndexUrl, "${index_url}"),
        (
            Placeholder::IndexUrlEscapedSlashes,
            "${index_url_escaped_slashes}",
        ),
        (Placeholder::UnsupportedUrl, "${unsupported_url}"),
        (Placeholder::RegistryName, "${registry_name}"),
        (Placeholder::OtherIndexUrl, "${other_index_url}"),
        (Placeholder::OtherRegistryName, "${other_registry_name}"),
        (Placeholder::ArgsField, "${args_field}"),
        (Placeholder::LoginToken, "${login_token}"),
        (Placeholder::HugeHeader, "${huge_header}"),
    ];

    /// How the placeholder is written in a template.
    pub fn spelling(self) -> Cow<'static, str> {
        match self {
            Placeholder::LoginTokenSlice { from, to } => {
                format!("{SLICE_OPEN}{from}..{to}{SLICE_CLOSE}").into()
            }
            named => Self::NAMED
                .iter()
                .find(|(p, _)| *p == named)
                .map(|(_, spelling)| Cow::Borrowed(*spelling))
                .expect("every other placeholder is named"),
        }
    }

    /// The placeholder `text` starts with, and how many bytes of it spell the placeholder.
    fn at_start_of(text: &str) -> Option<(Placeholder, usize)> {
        Self::NAMED
            .iter()
            .find(|(_, spelling)| text.starts_with(spelling))
            .map(|(placeholder, spelling)| (*placeholder, spelling.len()))
            .or_else(|| Self::slice_at_start_of(text))
    }

    /// `${login_token[FROM..TO]}` at the start of `text`: up to the first `]}`, FROM and TO
    /// as `usize` parses them (so `+3` is 3), as the runner has always read it.
    fn slice_at_start_of(text: &str) -> Option<(Placeholder, usize)> {
        let (range, _) = text.strip_prefix(SLICE_OPEN)?.split_once(SLICE_CLOSE)?;
        let (from, to) = range.split_once("..")?;
        let placeholder = Placeholder::LoginTokenSlice {
            from: from.parse().ok()?,
            to: to.parse().ok()?,
        };
        Some((
            placeholder,
            SLICE_OPEN.len() + range.len() + SLICE_CLOSE.len(),
        ))
    }
}

/// What the placeholders of one case are filled with (the runner's profile gives them).
#[derive(Debug, Clone)]
pub struct Values<'a> {
    pub index_url: &'a str,
    /// `None`: no URL the provider does not serve is known; `${unsupported_url}` is empty.
    pub unsupported_url: Option<&'a str>,
    pub registry_name: &'a str,
    pub other_index_url: &'a str,
    pub other_registry_name: &'a str,
    /// The config arguments; none: `${args_field}` is empty.
    pub args: &'a [String],
    /// The token as it is, unescaped (a slice of it is taken from these characters).
    pub login_token: Cow<'a, str>,
}

impl Values<'_> {
    /// What `placeholder`, written `spelled`, is replaced with (`${huge_header}`: itself,
    /// since only [`Template::render_bytes`] expands it, and only once).
    fn fill<'s>(&'s self, placeholder: Placeholder, spelled: &'s str) -> Cow<'s, str> {
        match placeholder {
            Placeholder::IndexUrl => json_escaped(self.index_url).into(),
            Placeholder::IndexUrlEscapedSlashes => {
                json_escaped(self.index_url).replace('/', "\\/").into()
            }
            Placeholder::UnsupportedUrl => {
                json_escaped(self.unsupported_url.unwrap_or_default()).into()
            }
            Placeholder::RegistryName => json_escaped(self.registry_name).into(),
            Placeholder::OtherIndexUrl => json_escaped(self.other_index_url).into(),
            Placeholder::OtherRegistryName => json_escaped(self.other_registry_name).into(),
            Placeholder::ArgsField if self.args.is_empty() => "".into(),
            Placeholder::ArgsField => format!(
                ",\"args\":{}",
                serde_json::to_string(self.args).expect("strings serialize")
            )
            .into(),
            Placeholder::LoginToken => json_escaped(&self.login_token).into(),
            Placeholder::LoginTokenSlice { from, to } => {
                let len = self.login_token.len();
                let start = from.min(len);
                let end = to.min(len).max(start);
                self.login_token.get(start..end).unwrap_or_default().into()
            }
            Placeholder::HugeHeader => spelled.into(),
        }
    }
}

/// `text` as it is written inside a JSON string (without the quotes).
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).expect("strings serialize");
    quoted[1..quoted.len() - 1].to_string()
}

/// One piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// Text sent as it is, including any `${` that starts no placeholder.
    Literal(&'a str),
    /// A placeholder, with the text that spells it in the template.
    Placeholder(Placeholder, &'a str),
}

impl<'a> Part<'a> {
    /// The template text this part was read from.
    fn source(&self) -> &'a str {
        match self {
            Part::Literal(text) | Part::Placeholder(_, text) => text,
        }
    }
}

/// A provider request template split into literal text and placeholders (see the module
/// documentation). Reading one never fails: what is not a placeholder is text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template<'a> {
    parts: Vec<Part<'a>>,
}

impl<'a> Template<'a> {
    /// Splits `source` into literal text and placeholders.
    pub fn parse(source: &'a str) -> Self {
        let mut parts = Vec::new();
        let mut literal_from = 0;
        let mut search_from = 0;
        while let Some(offset) = source[search_from..].find(OPEN) {
            let at = search_from + offset;
            match Placeholder::at_start_of(&source[at..]) {
                Some((placeholder, len)) => {
                    if literal_from < at {
                        parts.push(Part::Literal(&source[literal_from..at]));
                    }
                    parts.push(Part::Placeholder(placeholder, &source[at..at + len]));
                    search_from = at + len;
                    literal_from = search_from;
                }
                // The `$` is text; a placeholder may still start at the next character
                // (`$${index_url}`).
                None => search_from = at + 1,
            }
        }
        if literal_from < source.len() {
            parts.push(Part::Literal(&source[literal_from..]));
        }
        Self { parts }
    }

    /// The literal text and placeholders, in order.
    pub fn parts(&self) -> &[Part<'a>] {
        &self.parts
    }

    /// The placeholders, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = Placeholder> + '_ {
        self.parts.iter().filter_map(|part| match part {
            Part::Placeholder(placeholder, _) => Some(*placeholder),
            Part::Literal(_) => None,
        })
    }

    /// Every `${` of the literal text, shown with what follows it up to its `}` (at most 40
    /// characters): a placeholder misspelt, or one that does not parse.
    pub fn unknown_placeholders(&self) -> Vec<&'a str> {
        let mut unknown = Vec::new();
        for part in &self.parts {
            let Part::Literal(text) = part else { continue };
            for (at, _) in text.match_indices(OPEN) {
                let rest = &text[at..];
                let through_brace = rest.find('}').map_or(rest, |end| &rest[..=end]);
                let shown = through_brace
                    .char_indices()
                    .nth(40)
                    .map_or(through_brace, |(cut, _)| &through_brace[..cut]);
                unknown.push(shown);
            }
        }
        unknown
    }

    /// The filled text, with `${huge_header}` left as written: what a request says (its kind,
    /// a login's token), for reading it back, not the bytes sent.
    pub fn render(&self, values: &Values<'_>) -> String {
        self.parts
            .iter()
            .map(|part| match *part {
                Part::Literal(text) => Cow::Borrowed(text),
                Part::Placeholder(placeholder, spelled) => values.fill(placeholder, spelled),
            })
            .collect()
    }

    /// The bytes sent: the filled text with the first `${huge_header}` expanded, then
    /// `suffix` (a line's terminator). Built in one allocation of the exact size: copies and
    /// page faults of the 16 MiB request were most of the runner's own cost for that case.
    pub fn render_bytes(&self, values: &Values<'_>, suffix: &str) -> Vec<u8> {
        let huge_at = self
            .parts
            .iter()
            .position(|part| matches!(part, Part::Placeholder(Placeholder::HugeHeader, _)));
        let filled: Vec<Cow<'_, str>> = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, part)| match *part {
                _ if Some(i) == huge_at => Cow::Borrowed(""),
                Part::Literal(text) => Cow::Borrowed(text),
                Part::Placeholder(placeholder, spelled) => values.fill(placeholder, spelled),
            })
            .collect();
        let huge_len = huge_at.map_or(0, |_| HUGE_HEADER_NAME.len() + HUGE_HEADER_LEN);
        let len = filled.iter().map(|text| text.len()).sum::<usize>() + huge_len + suffix.len();
        let mut out = Vec::with_capacity(len);
        for (i, text) in filled.iter().enumerate() {
            if Some(i) == huge_at {
                out.extend_from_slice(HUGE_HEADER_NAME.as_bytes());
                out.resize(out.len() + HUGE_HEADER_LEN, b'x');
            } else {
                out.extend_from_slice(text.as_bytes());
            }
        }
        out.extend_from_slice(suffix.as_bytes());
        debug_assert_eq!(out.len(), len, "the request was sized exactly");
        out
    }

    /// About how many bytes the template sends, without filling it: its own length, and 16
    /// MiB more with a `${huge_header}` (a cost to order work by, not a size to allocate).
    pub fn approximate_len(&self) -> usize {
        let own: usize = self.parts.iter().map(|part| part.source().len()).sum();
        let huge = self.placeholders().any(|p| p == Placeholder::HugeHeader);
        own + if huge { HUGE_HEADER_LEN } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "k3.secret.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";

    fn values(args: &[String]) -> Values<'_> {
        Values {
            index_url: "sparse+https://registry.credlab.test/index/case/",
            unsupported_url: Some("sparse+https://elsewhere.credlab.test/index/"),
            registry_name: "credlab-case",
            other_index_url: "sparse+https://other.credlab.test/index/case/",
            other_registry_name: "credlab-case-other",
            args,
            login_token: TOKEN.into(),
        }
    }

    fn rendered(template: &str, values: &Values<'_>) -> String {
        Template::parse(template).render(values)
    }

    #[test]
    fn every_placeholder_is_filled_with_its_value() {
        let no_args = values(&[]);
        let expected = [
            (
                "${index_url}",
                "sparse+https://registry.credlab.test/index/case/",
            ),
            (
                "${index_url_escaped_slashes}",
                "sparse+https:\\/\\/registry.credlab.test\\/index\\/case\\/",
            ),
            (
                "${unsupported_url}",
                "sparse+https://elsewhere.credlab.test/index/",
            ),
            ("${registry_name}", "credlab-case"),
            (
                "${other_index_url}",
                "sparse+https://other.credlab.test/index/case/",
            ),
            ("${other_registry_name}", "credlab-case-other"),
            ("${args_field}", ""),
            ("${login_token}", TOKEN),
            ("${login_token[0..9]}", "k3.secret"),
            ("${huge_header}", "${huge_header}"),
        ];
        for (template, value) in expected {
            assert_eq!(rendered(template, &no_args), value, "{template}");
        }
        let args = ["--flag".to_string(), "a \"b\"".to_string()];
        assert_eq!(
            rendered("{\"v\":1${args_field}}", &values(&args)),
            r#"{"v":1,"args":["--flag","a \"b\""]}"#
        );
        let none = Values {
            unsupported_url: None,
            ..values(&[])
        };
        assert_eq!(rendered("[${unsupported_url}]", &none), "[]");
    }

    #[test]
    fn every_named_placeholder_reads_back_from_its_spelling() {
        for (placeholder, spelling) in Placeholder::NAMED {
            assert_eq!(placeholder.spelling(), spelling);
            assert_eq!(
                Template::parse(spelling).parts(),
                [Part::Placeholder(placeholder, spelling)]
            );
        }
        let slice = Placeholder::LoginTokenSlice { from: 5, to: 55 };
        assert_eq!(slice.spelling(), "${login_token[5..55]}");
        assert_eq!(
            Template::parse("${login_token[5..55]}")
                .placeholders()
                .collect::<Vec<_>>(),
            [slice]
        );
    }

    #[test]
    fn values_are_json_escaped_except_the_args_field_and_token_slices() {
        let token = "k3.\"quoted\"\\\u{1}";
        let args = ["x".to_string()];
        let odd = Values {
            index_url: "https://r/\"q\"\\",
            registry_name: "tab\there",
            login_token: token.into(),
            ..values(&args)
        };
        assert_eq!(rendered("${index_url}", &odd), r#"https://r/\"q\"\\"#);
        assert_eq!(
            rendered("${index_url_escaped_slashes}", &odd),
            r#"https:\/\/r\/\"q\"\\"#
        );
        assert_eq!(rendered("${registry_name}", &odd), "tab\\there");
        assert_eq!(
            rendered("${login_token}", &odd),
            "k3.\\\"quoted\\\"\\\\\\u0001"
        );
        assert_eq!(rendered("${login_token[3..11]}", &odd), "\"quoted\"");
        assert_eq!(rendered("${args_field}", &odd), r#","args":["x"]"#);
    }

    #[test]
    fn token_slices_are_cut_to_the_token() {
        let v = values(&[]);
        let len = TOKEN.len();
        assert_eq!(rendered("${login_token[10..10]}", &v), "");
        assert_eq!(rendered("${login_token[9..3]}", &v), "");
        assert_eq!(rendered("${login_token[40..999]}", &v), &TOKEN[40..]);
        assert_eq!(rendered(&format!("${{login_token[{len}..999]}}"), &v), "");
        assert_eq!(rendered("${login_token[999..1000]}", &v), "");
        // `usize` takes a leading `+`, as the runner always did.
        assert_eq!(rendered("${login_token[+0..+2]}", &v), "k3");
        // A range that does not fall on character boundaries gives nothing.
        let wide = Values {
            login_token: "é".into(),
            ..values(&[])
        };
        assert_eq!(rendered("${login_token[0..1]}", &wide), "");
        assert_eq!(rendered("${login_token[0..2]}", &wide), "é");
    }

    #[test]
    fn anything_else_written_like_a_placeholder_stays_text() {
        let v = values(&[]);
        for literal in [
            "${nope}",
            "${",
            "$",
            "${index_url",
            "${INDEX_URL}",
            "${ index_url}",
            "${login_token[",
            "${login_token[1..2]",
            "${login_token[1..2}",
            "${login_token[a..b]}",
            "${login_token[1...3]}",
            "${login_token[1..2..3]}",
            "${login_token[-1..2]}",
            "${login_token[..2]}",
            "${login_token[1..]}",
            "${login_token[1 ..2]}",
            "${login_token[99999999999999999999999..1]}",
            "$\\u007bindex_url}",
        ] {
            assert_eq!(rendered(literal, &v), literal);
            let template = Template::parse(literal);
            assert_eq!(template.parts(), [Part::Literal(literal)], "{literal}");
        }
        // The first `]}` ends a slice: what follows it is text.
        assert_eq!(rendered("${login_token[0..2]}]}", &v), "k3]}");
        // A stray `$` or `${` before a placeholder leaves the placeholder whole.
        assert_eq!(rendered("$${registry_name}", &v), "$credlab-case");
        assert_eq!(rendered("${${registry_name}}", &v), "${credlab-case}");
        assert_eq!(
            rendered("${login_token[${registry_name}..2]}", &v),
            "${login_token[credlab-case..2]}"
        );
    }

    #[test]
    fn filling_is_one_pass() {
        // A value is data: it is never read for placeholders.
        let sneaky = Values {
            registry_name: "${login_token}",
            ..values(&[])
        };
        assert_eq!(rendered("${registry_name}", &sneaky), "${login_token}");
        // Nor does an empty value join its neighbours into one.
        assert_eq!(
            rendered("$${args_field}{login_token}", &values(&[])),
            "${login_token}"
        );
    }

    #[test]
    fn a_request_line_is_filled_in_place() {
        let args = ["--account".to_string(), "ci".to_string()];
        let line = "{\"v\":1,\"registry\":{\"index-url\":\"${index_url}\",\"name\":\"${registry_name}\"},\"kind\":\"login\",\"token\":\"${login_token}\"${args_field}}";
        assert_eq!(
            rendered(line, &values(&args)),
            format!(
                "{{\"v\":1,\"registry\":{{\"index-url\":\"sparse+https://registry.credlab.test/index/case/\",\"name\":\"credlab-case\"}},\"kind\":\"login\",\"token\":\"{TOKEN}\",\"args\":[\"--account\",\"ci\"]}}"
            )
        );
    }

    #[test]
    fn the_first_huge_header_is_expanded_in_the_bytes_sent() {
        let v = values(&[]);
        let template = Template::parse("A ${registry_name} ${huge_header} B ${huge_header} C");
        assert_eq!(
            template.render(&v),
            "A credlab-case ${huge_header} B ${huge_header} C"
        );
        let bytes = template.render_bytes(&v, "\r\n");
        let head = b"A credlab-case X-Huge: ";
        let tail = b" B ${huge_header} C\r\n";
        assert_eq!(bytes.len(), head.len() + HUGE_HEADER_LEN + tail.len());
        assert!(bytes.starts_with(head));
        assert!(bytes.ends_with(tail));
        assert!(
            bytes[head.len()..bytes.len() - tail.len()]
                .iter()
                .all(|b| *b == b'x')
        );
        assert_eq!(
            template.approximate_len(),
            "A ${registry_name} ${huge_header} B ${huge_header} C".len() + HUGE_HEADER_LEN
        );
    }

    #[test]
    fn without_a_huge_header_the_bytes_are_the_text_and_the_suffix() {
        let v = values(&[]);
        let template = Template::parse("get ${index_url}");
        assert_eq!(
            template.render_bytes(&v, "\n"),
            format!("{}\n", template.render(&v)).into_bytes()
        );
        assert_eq!(template.approximate_len(), "get ${index_url}".len());
        assert_eq!(Template::parse("").render_bytes(&v, ""), b"");
        assert_eq!(Template::parse("").parts(), []);
    }

    #[test]
    fn unknown_placeholders_are_named_with_their_brace() {
        let template = Template::parse(
            "${index_url} ${nope} ${login_token[1..x]} ${registry_name} ${unclosed",
        );
        assert_eq!(
            template.unknown_placeholders(),
            ["${nope}", "${login_token[1..x]}", "${unclosed"]
        );
        let long = format!("${{{}}}", "a".repeat(100));
        assert_eq!(Template::parse(&long).unknown_placeholders(), [&long[..40]]);
        assert!(
            Template::parse("${index_url}${login_token[0..3]}")
                .unknown_placeholders()
                .is_empty()
        );
    }

    /// How the runner filled templates before this module: a chain of replaces, then the
    /// token slices, then the token. The one-pass filling must give the same text for every
    /// template whose values hold no `$`, `{` or `}` and are not empty (see `filling_is_one_pass`
    /// for where the chain differed).
    fn replace_chain(template: &str, v: &Values<'_>) -> String {
        let args_field = if v.args.is_empty() {
            String::new()
        } else {
            format!(",\"args\":{}", serde_json::to_string(v.args).unwrap())
        };
        let text = template
            .replace(
                "${index_url_escaped_slashes}",
                &json_escaped(v.index_url).replace('/', "\\/"),
            )
            .replace("${index_url}", &json_escaped(v.index_url))
            .replace(
                "${unsupported_url}",
                &json_escaped(v.unsupported_url.unwrap_or_default()),
            )
            .replace("${other_index_url}", &json_escaped(v.other_index_url))
            .replace(
                "${other_registry_name}",
                &json_escaped(v.other_registry_name),
            )
            .replace("${registry_name}", &json_escaped(v.registry_name))
            .replace("${args_field}", &args_field);
        let token = &v.login_token;
        let mut sliced = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(SLICE_OPEN) {
            sliced.push_str(&rest[..at]);
            let after = &rest[at + SLICE_OPEN.len()..];
            let parsed = after.split_once("]}").and_then(|(range, tail)| {
                let (from, to) = range.split_once("..")?;
                let from: usize = from.parse().ok()?;
                let to: usize = to.parse().ok()?;
                let start = from.min(token.len());
                Some((start..to.min(token.len()).max(start), tail))
            });
            match parsed {
                Some((range, tail)) => {
                    sliced.push_str(token.get(range).unwrap_or_default());
                    rest = tail;
                }
                None => {
                    sliced.push_str(SLICE_OPEN);
                    rest = after;
                }
            }
        }
        sliced.push_str(rest);
        sliced.replace("${login_token}", &json_escaped(token))
    }

    mod against_the_replace_chain {
        use super::*;
        use proptest::prelude::*;

        /// Pieces templates are made of: every placeholder, near misses, and bits of JSON.
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                proptest::sample::select(Placeholder::NAMED.map(|(_, s)| s).to_vec())
                    .prop_map(str::to_string),
                (0usize..60, 0usize..60)
                    .prop_map(|(from, to)| format!("${{login_token[{from}..{to}]}}")),
                proptest::sample::select(vec![
                    "${",
                    "$",
                    "{",
                    "}",
                    "]}",
                    "..",
                    "${login_token[",
                    "${nope}",
                    "${index_url",
                    "${login_token[+1..+4]}",
                    "${login_token[1..x]}",
                    "é",
                    "\"",
                    "\\",
                    "\n",
                ])
                .prop_map(str::to_string),
                "[a-z0-9:/.\\[\\]{}$\" ]{0,6}",
            ]
        }

        proptest! {
            #[test]
            fn one_pass_filling_matches_it(pieces in proptest::collection::vec(piece(), 0..12)) {
                let template = pieces.concat();
                let args = ["--x".to_string(), "y z".to_string()];
                let v = values(&args);
                prop_assert_eq!(Template::parse(&template).render(&v), replace_chain(&template, &v));
                prop_assert_eq!(
                    Template::parse(&template).approximate_len(),
                    template.len() + if template.contains("${huge_header}") { HUGE_HEADER_LEN } else { 0 }
                );
            }
        }
    }
}
