//! Structure-aware mutation of provider request lines.
//!
//! An input starts as one seed line (a request Cargo sends, rendered with the target's
//! profile) plus `\n`, then gets one to three operators, each drawn from one of three families:
//!
//! - **JSON** (the line is parsed into an order-preserving tree, [`super::json`]): drop a
//!   member, duplicate one (same or retyped value), retype a value, set `kind` / `operation` /
//!   `v` to another or an invalid value, nest a value deeply, make a string or key long, put
//!   Unicode in a string, rewrite characters as escapes (`\/`, `\u00e9`, surrogate pairs, lone
//!   surrogates, `\u0000`, invalid escapes), put numbers at the edges (`-0`, `1e309`, 2⁶⁴, …),
//!   add an unknown member, respace the line (`\t`, `\r`, spaces after `:` and `,`).
//! - **Bytes** (on the line before its `\n`): flip a bit, truncate, insert `\n` / `\r` / NUL /
//!   other controls, insert invalid UTF-8, repeat or delete a chunk, overwrite a byte with JSON
//!   punctuation, swap two bytes.
//! - **Framing** (on the whole input): drop the final `\n`, end with `\r\n`, two requests in one
//!   write, blank lines before or after, a huge line (a megabyte of spaces inside the JSON, so
//!   it stays valid), a UTF-8 BOM, bytes after the JSON on the same line.
//!
//! A JSON operator on input that is no longer one JSON line falls back to a byte operator.

use super::json::{self, J};
use super::rng::Rng;

/// The largest input built (a huge line is about 1 MiB).
pub const MAX_INPUT: usize = 4 << 20;

/// The input for one iteration.
pub fn input(rng: &mut Rng, seeds: &[String]) -> Vec<u8> {
    let mut bytes = rng.pick(seeds).clone().into_bytes();
    bytes.push(b'\n');
    let ops = rng.between(1, 3);
    for _ in 0..ops {
        let roll = rng.below(100);
        if roll < 45 {
            if !json_op(rng, &mut bytes) {
                byte_op(rng, &mut bytes);
            }
        } else if roll < 80 {
            byte_op(rng, &mut bytes);
        } else {
            framing_op(rng, &mut bytes, seeds);
        }
        bytes.truncate(MAX_INPUT);
    }
    bytes
}

/// The line before the final `\n` (or everything), and whether there was one.
fn split_line(bytes: &[u8]) -> (&[u8], bool) {
    match bytes.strip_suffix(b"\n") {
        Some(line) => (line, true),
        None => (bytes, false),
    }
}

const RETYPED: [&str; 12] = [
    "null",
    "true",
    "false",
    "0",
    "-1",
    "\"\"",
    "\"x\"",
    "[]",
    "{}",
    "[1]",
    "{\"a\":1}",
    "[null]",
];
const KINDS: [&str; 9] = [
    "get",
    "login",
    "logout",
    "",
    "GET",
    "Get",
    "unknown",
    " get",
    "get\\u0000",
];
const OPERATIONS: [&str; 9] = [
    "read", "publish", "yank", "unyank", "owners", "", "Read", "nope", "read ",
];
const VERSIONS: [&str; 12] = [
    "1",
    "0",
    "2",
    "-1",
    "1.0",
    "1e0",
    "\"1\"",
    "null",
    "4294967297",
    "18446744073709551617",
    "[1]",
    "true",
];
const EDGE_NUMBERS: [&str; 16] = [
    "0",
    "-0",
    "1e308",
    "1e309",
    "-1e309",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "9007199254740993",
    "0.0000000000000000000001",
    "1E400",
    "00",
    "01",
    "+1",
    ".5",
    "NaN",
];
const UNICODE: [&str; 10] = [
    "é",
    "\u{1F600}",
    "\u{202E}",
    "\u{200B}",
    "\u{FEFF}",
    "\u{FFFF}",
    "ﬃ",
    "İ",
    "e\u{301}",
    "\u{10FFFF}",
];
const ESCAPES: [&str; 12] = [
    "\\/",
    "\\u0041",
    "\\u00e9",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udc00x",
    "\\u0000",
    "\\n",
    "\\\"",
    "\\\\",
    "\\x",
    "\\u12",
];
const NEST_DEPTHS: [usize; 7] = [16, 127, 128, 129, 256, 1024, 4096];
const LONG: [usize; 4] = [256, 4096, 65536, 1 << 20];

/// Applies one JSON-level operator; false when the input is not one JSON line.
fn json_op(rng: &mut Rng, bytes: &mut Vec<u8>) -> bool {
    let (line, newline) = split_line(bytes);
    let Some(mut tree) = std::str::from_utf8(line).ok().and_then(json::parse) else {
        return false;
    };
    let pick = rng.next_u64() as usize;
    let mut ws = "";
    match rng.below(12) {
        // Drop a member.
        0 => {
            if let Some(J::Obj(members)) =
                tree.pick_mut(pick, |j| matches!(j, J::Obj(m) if !m.is_empty()))
            {
                let at = rng.below(members.len());
                members.remove(at);
            }
        }
        // Duplicate a member, with the same value or another type.
        1 => {
            if let Some(J::Obj(members)) =
                tree.pick_mut(pick, |j| matches!(j, J::Obj(m) if !m.is_empty()))
            {
                let (key, value) = members[rng.below(members.len())].clone();
                let value = if rng.percent(50) {
                    value
                } else {
                    J::Lit((*rng.pick(&RETYPED)).to_string())
                };
                let at = rng.below(members.len() + 1);
                members.insert(at, (key, value));
            }
        }
        // Retype any value but the root.
        2 => {
            let n = tree.count();
            if n > 1
                && let Some(node) = tree.nth_mut(1 + pick % (n - 1))
            {
                *node = J::Lit((*rng.pick(&RETYPED)).to_string());
            }
        }
        // kind / operation / v to another (or an invalid) value.
        3 => {
            let (key, value) = match rng.below(3) {
                0 => ("kind", format!("\"{}\"", rng.pick(&KINDS))),
                1 => ("operation", format!("\"{}\"", rng.pick(&OPERATIONS))),
                _ => ("v", (*rng.pick(&VERSIONS)).to_string()),
            };
            match tree.member_mut(key) {
                Some(node) => *node = J::Lit(value),
                None => {
                    if let J::Obj(members) = &mut tree {
                        members.push((key.to_string(), J::Lit(value)));
                    }
                }
            }
        }
        // Deep nesting.
        4 => {
            let depth = *rng.pick(&NEST_DEPTHS);
            let n = tree.count();
            let as_object = rng.percent(50);
            if let Some(node) = tree.nth_mut(pick % n) {
                let inner = std::mem::replace(node, J::Lit("null".into()));
                let (open, close) = if as_object {
                    ("{\"a\":", "}")
                } else {
                    ("[", "]")
                };
                let text = format!(
                    "{}{}{}",
                    open.repeat(depth),
                    inner.to_text(),
                    close.repeat(depth)
                );
                *node = J::Lit(text);
            }
        }
        // A long string (or key).
        5 => {
            let len = *rng.pick(&LONG);
            let long_key = rng.percent(25);
            if long_key {
                if let Some(J::Obj(members)) =
                    tree.pick_mut(pick, |j| matches!(j, J::Obj(m) if !m.is_empty()))
                {
                    let at = rng.below(members.len());
                    members[at].0 = "k".repeat(len);
                }
            } else if let Some(J::Str(s)) = tree.pick_mut(pick, |j| matches!(j, J::Str(_))) {
                *s = "x".repeat(len);
            }
        }
        // Unicode in a string.
        6 => {
            let text = *rng.pick(&UNICODE);
            let at_rng = rng.next_u64() as usize;
            if let Some(J::Str(s)) = tree.pick_mut(pick, |j| matches!(j, J::Str(_))) {
                let at = char_boundary(s, at_rng % (s.len() + 1));
                s.insert_str(at, text);
            }
        }
        // Escapes: one inserted, or the whole string as \u escapes.
        7 => {
            let escape = *rng.pick(&ESCAPES);
            let whole = rng.percent(30);
            let at_rng = rng.next_u64() as usize;
            if let Some(J::Str(s)) = tree.pick_mut(pick, |j| matches!(j, J::Str(_))) {
                if whole && !s.contains('\\') {
                    *s = s
                        .chars()
                        .map(|c| format!("\\u{:04x}", c as u32 & 0xffff))
                        .collect();
                } else {
                    let at = escape_safe_boundary(s, at_rng % (s.len() + 1));
                    s.insert_str(at, escape);
                }
            }
        }
        // Numbers at the edges, for a number or any value.
        8 => {
            let number = *rng.pick(&EDGE_NUMBERS);
            let n = tree.count();
            let any = rng.percent(30);
            let node = if any {
                tree.nth_mut(1 + pick % n.max(2).saturating_sub(1))
            } else {
                tree.pick_mut(pick, |j| {
                    matches!(j, J::Lit(t) if t.starts_with(|c: char| c == '-' || c.is_ascii_digit()))
                })
            };
            if let Some(node) = node {
                *node = J::Lit(number.to_string());
            }
        }
        // An unknown member.
        9 => {
            let value = J::Lit((*rng.pick(&RETYPED)).to_string());
            let at_rng = rng.next_u64() as usize;
            if let Some(J::Obj(members)) = tree.pick_mut(pick, |j| matches!(j, J::Obj(_))) {
                let at = at_rng % (members.len() + 1);
                members.insert(at, ("x-credlab-unknown".into(), value));
            }
        }
        // args: not strings, empty, many, odd.
        10 => {
            let args = *rng.pick(&[
                "[]",
                "[1]",
                "[\"\"]",
                "\"--flag\"",
                "[[\"a\"]]",
                "[\"--definitely-unknown\"]",
                "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]",
                "null",
            ]);
            match tree.member_mut("args") {
                Some(node) => *node = J::Lit(args.into()),
                None => {
                    if let J::Obj(members) = &mut tree {
                        members.push(("args".into(), J::Lit(args.into())));
                    }
                }
            }
        }
        // Respace.
        _ => ws = *rng.pick(&[" ", "\t", "\r", "  ", " \r\t "]),
    }
    let mut out = String::new();
    tree.write(&mut out, ws);
    let mut out = out.into_bytes();
    if newline {
        out.push(b'\n');
    }
    *bytes = out;
    true
}

fn char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A position in a raw JSON string where an escape can go without splitting another escape.
fn escape_safe_boundary(s: &str, at: usize) -> usize {
    let mut at = char_boundary(s, at);
    // Step back over a preceding odd run of backslashes (the middle of an escape).
    let bytes = s.as_bytes();
    while at > 0
        && bytes[..at]
            .iter()
            .rev()
            .take_while(|b| **b == b'\\')
            .count()
            % 2
            == 1
    {
        at -= 1;
    }
    at
}

const CONTROLS: [u8; 7] = [b'\n', b'\r', 0, b'\t', 0x1b, 0x7f, 0x0c];
const INVALID_UTF8: [&[u8]; 7] = [
    &[0xff],
    &[0xfe],
    &[0xc0, 0x80],
    &[0x80],
    &[0xe2, 0x82],
    &[0xed, 0xa0, 0x80],
    &[0xf4, 0x90, 0x80, 0x80],
];
const PUNCTUATION: &[u8] = b"\"\\{}[]:,0 ";

/// Applies one byte-level operator to the line (before its `\n`).
fn byte_op(rng: &mut Rng, bytes: &mut Vec<u8>) {
    let (line, newline) = split_line(bytes);
    let mut line = line.to_vec();
    let len = line.len();
    let at = rng.below(len + 1);
    match rng.below(8) {
        0 if len > 0 => {
            let at = at.min(len - 1);
            line[at] ^= 1 << rng.below(8);
        }
        1 => line.truncate(at),
        2 => line.insert(at, *rng.pick(&CONTROLS)),
        3 => {
            let bad = *rng.pick(&INVALID_UTF8);
            line.splice(at..at, bad.iter().copied());
        }
        4 if len > 0 => {
            let start = rng.below(len);
            let end = (start + rng.between(1, 16)).min(len);
            let chunk = line[start..end].to_vec();
            let times = rng.between(1, 8);
            for _ in 0..times {
                line.splice(end..end, chunk.iter().copied());
            }
        }
        5 if len > 0 => {
            let start = rng.below(len);
            let end = (start + rng.between(1, 16)).min(len);
            line.drain(start..end);
        }
        6 if len > 0 => {
            let at = at.min(len - 1);
            line[at] = *rng.pick(PUNCTUATION);
        }
        7 if len > 1 => {
            let a = rng.below(len);
            let b = rng.below(len);
            line.swap(a, b);
        }
        _ => line.insert(at, *rng.pick(&CONTROLS)),
    }
    if newline {
        line.push(b'\n');
    }
    *bytes = line;
}

/// Applies one framing operator to the whole input.
fn framing_op(rng: &mut Rng, bytes: &mut Vec<u8>, seeds: &[String]) {
    match rng.below(7) {
        // No newline at all (stdin then closes right after the request).
        0 => {
            while bytes.last() == Some(&b'\n') {
                bytes.pop();
            }
        }
        // CRLF.
        1 => {
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
            }
            bytes.extend_from_slice(b"\r\n");
        }
        // Two requests in one write.
        2 => {
            if bytes.last() != Some(&b'\n') {
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(rng.pick(seeds).as_bytes());
            bytes.push(b'\n');
        }
        // Blank lines.
        3 => match rng.below(3) {
            0 => bytes.splice(0..0, b"\n".iter().copied()).for_each(drop),
            1 => bytes.extend_from_slice(b"\n\n"),
            _ => bytes.splice(0..0, b"\r\n".iter().copied()).for_each(drop),
        },
        // A huge line that stays valid JSON: spaces before the last `}`.
        4 => {
            let size = *rng.pick(&[64 << 10, 1 << 20]);
            let at = bytes
                .iter()
                .rposition(|b| *b == b'}')
                .unwrap_or(bytes.len());
            bytes.splice(at..at, std::iter::repeat_n(b' ', size));
        }
        // A UTF-8 byte order mark.
        5 => bytes.splice(0..0, [0xef, 0xbb, 0xbf]).for_each(drop),
        // Bytes after the JSON on the same line.
        _ => {
            let tails: [&[u8]; 5] = [b" x", b"}", b",", b" {}", b"\0"];
            let tail = *rng.pick(&tails);
            let at = if bytes.last() == Some(&b'\n') {
                bytes.len() - 1
            } else {
                bytes.len()
            };
            bytes.splice(at..at, tail.iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds() -> Vec<String> {
        vec![
            r#"{"v":1,"registry":{"index-url":"https://r/","name":"r"},"kind":"get","operation":"read"}"#.into(),
            r#"{"v":1,"registry":{"index-url":"https://r/"},"kind":"login","token":"t"}"#.into(),
        ]
    }

    #[test]
    fn deterministic_and_varied() {
        let seeds = seeds();
        let run = |seed| -> Vec<Vec<u8>> {
            (0..300)
                .map(|i| input(&mut Rng::for_iteration(seed, i), &seeds))
                .collect()
        };
        let a = run(3);
        assert_eq!(a, run(3));
        assert_ne!(a, run(4));
        let distinct: std::collections::HashSet<_> = a.iter().collect();
        assert!(distinct.len() > 250, "{}", distinct.len());
        assert!(a.iter().all(|i| i.len() <= MAX_INPUT));
        // Every family shows up.
        assert!(a.iter().any(|i| !i.ends_with(b"\n")));
        assert!(a.iter().any(|i| std::str::from_utf8(i).is_err()));
        assert!(a.iter().any(|i| i.len() > 60_000));
        assert!(
            a.iter()
                .any(|i| i.iter().filter(|b| **b == b'\n').count() > 1)
        );
        assert!(a.iter().any(|i| i.windows(2).any(|w| w == b"\\u")));
    }
}
