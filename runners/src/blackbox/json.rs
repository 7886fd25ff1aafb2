//! A JSON tree for mutation: key order and duplicate keys are kept, strings and numbers stay
//! as their source text (escapes included), so a mutated request differs from Cargo's exactly
//! where the mutation says. Parses valid JSON only (the seeds are valid request lines).

/// One JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum J {
    /// `null`, `true`, `false` or a number, as written (mutations may put anything here).
    Lit(String),
    /// A string: the text between the quotes, escapes as written.
    Str(String),
    Arr(Vec<J>),
    /// Members in order; keys as written between their quotes.
    Obj(Vec<(String, J)>),
}

/// Parses one JSON value with nothing after it but whitespace.
pub fn parse(text: &str) -> Option<J> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let value = value(bytes, &mut at, 0)?;
    skip_ws(bytes, &mut at);
    (at == bytes.len()).then_some(value)
}

fn skip_ws(b: &[u8], at: &mut usize) {
    while *at < b.len() && matches!(b[*at], b' ' | b'\t' | b'\r' | b'\n') {
        *at += 1;
    }
}

fn string(b: &[u8], at: &mut usize) -> Option<String> {
    if b.get(*at) != Some(&b'"') {
        return None;
    }
    let start = *at + 1;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => {
                *at = i + 1;
                return String::from_utf8(b[start..i].to_vec()).ok();
            }
            _ => i += 1,
        }
    }
    None
}

fn value(b: &[u8], at: &mut usize, depth: usize) -> Option<J> {
    if depth > 64 {
        return None;
    }
    skip_ws(b, at);
    match *b.get(*at)? {
        b'"' => string(b, at).map(J::Str),
        b'[' => {
            *at += 1;
            let mut items = Vec::new();
            skip_ws(b, at);
            if b.get(*at) == Some(&b']') {
                *at += 1;
                return Some(J::Arr(items));
            }
            loop {
                items.push(value(b, at, depth + 1)?);
                skip_ws(b, at);
                match *b.get(*at)? {
                    b',' => *at += 1,
                    b']' => {
                        *at += 1;
                        return Some(J::Arr(items));
                    }
                    _ => return None,
                }
            }
        }
        b'{' => {
            *at += 1;
            let mut members = Vec::new();
            skip_ws(b, at);
            if b.get(*at) == Some(&b'}') {
                *at += 1;
                return Some(J::Obj(members));
            }
            loop {
                skip_ws(b, at);
                let key = string(b, at)?;
                skip_ws(b, at);
                if *b.get(*at)? != b':' {
                    return None;
                }
                *at += 1;
                members.push((key, value(b, at, depth + 1)?));
                skip_ws(b, at);
                match *b.get(*at)? {
                    b',' => *at += 1,
                    b'}' => {
                        *at += 1;
                        return Some(J::Obj(members));
                    }
                    _ => return None,
                }
            }
        }
        _ => {
            let start = *at;
            while *at < b.len()
                && matches!(b[*at], b'-' | b'+' | b'.' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
            {
                *at += 1;
            }
            let text = std::str::from_utf8(&b[start..*at]).ok()?;
            let known = matches!(text, "null" | "true" | "false")
                || serde_json::from_str::<serde_json::Number>(text).is_ok();
            known.then(|| J::Lit(text.to_string()))
        }
    }
}

impl J {
    /// Compact JSON (what Cargo writes), with `ws` after every `:` and `,`.
    pub fn write(&self, out: &mut String, ws: &str) {
        match self {
            J::Lit(text) => out.push_str(text),
            J::Str(raw) => {
                out.push('"');
                out.push_str(raw);
                out.push('"');
            }
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        out.push_str(ws);
                    }
                    item.write(out, ws);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        out.push_str(ws);
                    }
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\":");
                    out.push_str(ws);
                    value.write(out, ws);
                }
                out.push('}');
            }
        }
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, "");
        out
    }

    /// How many values the tree holds (this one included).
    pub fn count(&self) -> usize {
        1 + match self {
            J::Arr(items) => items.iter().map(J::count).sum(),
            J::Obj(members) => members.iter().map(|(_, v)| v.count()).sum(),
            _ => 0,
        }
    }

    /// The `n`-th value in pre-order (0 is this one).
    pub fn nth_mut(&mut self, n: usize) -> Option<&mut J> {
        fn go<'a>(j: &'a mut J, n: &mut usize) -> Option<&'a mut J> {
            if *n == 0 {
                return Some(j);
            }
            *n -= 1;
            match j {
                J::Arr(items) => items.iter_mut().find_map(|item| go(item, n)),
                J::Obj(members) => members.iter_mut().find_map(|(_, v)| go(v, n)),
                _ => None,
            }
        }
        let mut n = n;
        go(self, &mut n)
    }

    /// The `n`-th value in pre-order that satisfies `pred`, if any; `n` is taken modulo the
    /// number of such values.
    pub fn pick_mut(&mut self, n: usize, pred: impl Fn(&J) -> bool) -> Option<&mut J> {
        let matching: Vec<usize> = (0..self.count())
            .filter(|&i| self.nth_ref(i).is_some_and(&pred))
            .collect();
        if matching.is_empty() {
            return None;
        }
        let index = matching[n % matching.len()];
        self.nth_mut(index)
    }

    fn nth_ref(&self, n: usize) -> Option<&J> {
        fn go<'a>(j: &'a J, n: &mut usize) -> Option<&'a J> {
            if *n == 0 {
                return Some(j);
            }
            *n -= 1;
            match j {
                J::Arr(items) => items.iter().find_map(|item| go(item, n)),
                J::Obj(members) => members.iter().find_map(|(_, v)| go(v, n)),
                _ => None,
            }
        }
        let mut n = n;
        go(self, &mut n)
    }

    /// The value of the first member named `key` of this object.
    pub fn member_mut(&mut self, key: &str) -> Option<&mut J> {
        match self {
            J::Obj(members) => members.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_cargo_lines_exactly() {
        for line in [
            r#"{"v":1,"registry":{"index-url":"https:\/\/r\/","name":"x"},"kind":"get","operation":"read","args":["--a",""]}"#,
            r#"{"a":[1,-2.5e3,true,false,null,{}],"a":"dup \"q\" \u00e9"}"#,
        ] {
            assert_eq!(parse(line).expect("valid").to_text(), line);
        }
        assert!(parse("{\"a\":1} x").is_none());
        assert!(parse("{\"a\":}").is_none());
        assert!(parse("nope").is_none());
        let mut j = parse(r#"{"a":{"b":[1]}}"#).unwrap();
        assert_eq!(j.count(), 4);
        *j.nth_mut(3).unwrap() = J::Lit("2".into());
        assert_eq!(j.to_text(), r#"{"a":{"b":[2]}}"#);
    }
}
