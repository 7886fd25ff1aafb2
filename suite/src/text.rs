//! Target-controlled text made safe for a human: the one place that decides how an `Err`
//! message, a 401 body or a line of stderr is shown in a terminal, a CI log or a Markdown
//! page.
//!
//! A report is read where escape sequences act (`ESC ] 0 ;` retitles the terminal, `ESC [ 2 J`
//! clears it), where a carriage return overwrites a line, where U+202E reverses what follows,
//! and where `<b>` or a `|` changes a Markdown table. So every control character, bidi
//! control and invisible formatting character is written out visibly, the way JSON escapes
//! it (`\u001b`), and Markdown metacharacters are escaped for the Markdown report. Text longer
//! than [`LIMIT`] bytes is cut, saying how long it was.

use std::fmt::Write;

/// The most of one target-controlled value shown to a human, in bytes.
pub const LIMIT: usize = 4096;

/// Whether a character must not reach a human raw: C0 and C1 controls, DEL, the bidi
/// controls, and invisible formatting characters (zero-width, line/paragraph separators, BOM,
/// soft hyphen, invisible operators, interlinear annotations, tag characters).
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}'
    )
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if u32::from(c) <= 0xffff => {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// The text cut at [`LIMIT`] bytes (on a character boundary), and whether it was cut.
fn cut(text: &str) -> (&str, bool) {
    if text.len() <= LIMIT {
        return (text, false);
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

fn finish(mut out: String, text: &str, was_cut: bool) -> String {
    if was_cut {
        let _ = write!(out, " … ({} bytes in all)", text.len());
    }
    out
}

/// For a terminal or a plain-text log: one line, no control or invisible character raw.
pub fn for_terminal(text: &str) -> String {
    let (shown, was_cut) = cut(text);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        if is_unsafe(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    finish(out, text, was_cut)
}

/// For a Markdown report (GitHub's step summary, a pull-request comment): what
/// [`for_terminal`] does, and every character that Markdown or HTML would act on
/// backslash-escaped (CommonMark lets any ASCII punctuation be escaped so).
pub fn for_markdown(text: &str) -> String {
    let (shown, was_cut) = cut(text);
    let mut out = String::with_capacity(shown.len() + shown.len() / 8);
    for c in shown.chars() {
        if is_unsafe(c) {
            escape_into(&mut out, c);
        } else if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '<'
                | '>'
                | '|'
                | '#'
                | '!'
                | '~'
                | '&'
                | '('
                | ')'
                | '{'
                | '}'
                | '$'
                | '@'
                | ':'
        ) {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    finish(out, text, was_cut)
}

/// For an HTML (or XHTML) page, as element text or an attribute value: markup characters
/// as entities, and every unsafe character (controls, bidi overrides, invisibles) as a
/// visible escape, as [`for_terminal`] shows them. Long text is cut as there.
pub fn for_html(text: &str) -> String {
    let (shown, was_cut) = cut(text);
    let mut out = String::with_capacity(shown.len() + shown.len() / 8);
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_unsafe(c) => escape_into(&mut out, c),
            c => out.push(c),
        }
    }
    finish(out, text, was_cut)
}

/// Serialized JSON with every unsafe character that is not already escaped (serde_json
/// escapes C0 controls, not C1 controls or bidi overrides) written as a `\u` escape: the
/// same data, but a report `cat` to a terminal cannot act on it. Such characters only occur
/// inside JSON strings, where the escape is valid.
pub fn json_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe(c) && !c.is_ascii() {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Serialized XML with every unsafe non-ASCII character written as a character reference
/// (the JUnit report; its writer already escapes markup and drops C0 controls).
pub fn xml_safe(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    for c in xml.chars() {
        if is_unsafe(c) && !c.is_ascii() {
            let _ = write!(out, "&#x{:X};", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_what_acts_on_a_terminal() {
        let hostile = "ok\u{1b}]0;pwned\u{7}\u{1b}[2J\rX\u{202e}gnp.exe\u{85}\u{200b}!";
        let shown = for_terminal(hostile);
        assert_eq!(
            shown,
            "ok\\u001b]0;pwned\\u0007\\u001b[2J\\rX\\u202egnp.exe\\u0085\\u200b!"
        );
        assert_eq!(for_terminal("line\nnext\ttab"), "line\\nnext\\ttab");
        assert_eq!(for_terminal("\u{e0041}"), "\\u{e0041}");
        assert_eq!(for_terminal("plain ü text"), "plain ü text");
    }

    #[test]
    fn markdown_metacharacters() {
        assert_eq!(for_markdown("<b>x</b> | y"), "\\<b\\>x\\</b\\> \\| y");
        assert_eq!(for_markdown("a_b*c`d"), "a\\_b\\*c\\`d");
        assert_eq!(
            for_markdown("[link](http://x)"),
            "\\[link\\]\\(http\\://x\\)"
        );
    }

    #[test]
    fn long_text_is_cut_with_its_length() {
        let long = "é".repeat(LIMIT);
        let shown = for_terminal(&long);
        assert!(shown.len() < LIMIT + 40, "{}", shown.len());
        assert!(shown.ends_with(&format!("({} bytes in all)", long.len())));
    }

    #[test]
    fn json_and_xml_keep_the_data() {
        let text = "a\u{202e}b\u{85}c\u{e0041}";
        let json = json_safe(&serde_json::to_string(text).unwrap());
        assert!(json.is_ascii(), "{json}");
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
        assert_eq!(xml_safe("<a>\u{202e}</a>"), "<a>&#x202E;</a>");
    }

    proptest! {
        #[test]
        fn nothing_unsafe_survives(text in any::<String>()) {
            for shown in [for_terminal(&text), for_markdown(&text)] {
                prop_assert!(!shown.chars().any(is_unsafe), "{shown:?}");
            }
            let json = json_safe(&serde_json::to_string(&text).unwrap());
            prop_assert!(!json.chars().any(is_unsafe), "{json:?}");
            prop_assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
        }
    }
}
