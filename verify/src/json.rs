//! Strict JSON for token payloads and footers.
//!
//! `serde_json::Value` keeps the last of two equal keys without a word; PASETO says
//! implementations MUST ensure key names are unique, and an attacker who controls one of two
//! `"mutation"` keys must not be able to pick which one a registry reads. This parser refuses
//! duplicates at every depth and stops at a depth limit before the recursion gets expensive.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why bytes are not an acceptable JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    NotUtf8 { valid_up_to: usize },
    Syntax(String),
    NotAnObject { found: &'static str },
    DuplicateKey { key: String },
    TooDeep { limit: usize },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::NotUtf8 { valid_up_to } => {
                write!(f, "not UTF-8 (invalid byte at offset {valid_up_to})")
            }
            JsonError::Syntax(e) => write!(f, "not JSON ({e})"),
            JsonError::NotAnObject { found } => write!(f, "expected a JSON object, found {found}"),
            JsonError::DuplicateKey { key } => write!(f, "the key {key:?} appears twice"),
            JsonError::TooDeep { limit } => write!(f, "JSON nests deeper than {limit} levels"),
        }
    }
}

/// The name of a JSON value's type, for messages ("expected a string, found a number").
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses `bytes` as one JSON object with unique keys at every depth and at most
/// `max_depth` levels of nesting (the top-level object is level 1).
pub fn parse_object(bytes: &[u8], max_depth: usize) -> Result<Map<String, Value>, JsonError> {
    let text = std::str::from_utf8(bytes).map_err(|e| JsonError::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    let failure = RefCell::new(None);
    let seed = Strict {
        depth_left: max_depth,
        limit: max_depth,
        failure: &failure,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(JsonError::NotAnObject {
            found: type_name(&other),
        }),
        Err(e) => Err(failure
            .into_inner()
            .unwrap_or_else(|| JsonError::Syntax(e.to_string()))),
    }
}

/// A `Value` seed that records why it gave up in `failure`, so the caller gets a typed error
/// rather than serde's text.
struct Strict<'f> {
    depth_left: usize,
    limit: usize,
    failure: &'f RefCell<Option<JsonError>>,
}

impl Strict<'_> {
    fn fail<E: de::Error>(&self, error: JsonError) -> E {
        let text = error.to_string();
        *self.failure.borrow_mut() = Some(error);
        E::custom(text)
    }

    /// Called when a container opens: containers count as levels, scalars do not.
    fn enter<E: de::Error>(&self) -> Result<(), E> {
        if self.depth_left == 0 {
            return Err(self.fail(JsonError::TooDeep { limit: self.limit }));
        }
        Ok(())
    }

    fn child(&self) -> Self {
        Strict {
            depth_left: self.depth_left.saturating_sub(1),
            limit: self.limit,
            failure: self.failure,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(self.fail(JsonError::DuplicateKey { key }));
            }
            let value = access.next_value_seed(self.child())?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_objects() {
        let map = parse_object(br#"{"iat": "x", "custom": {"a": [1, {"b": null}]}}"#, 8).unwrap();
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn refuses_duplicates_at_any_depth() {
        assert_eq!(
            parse_object(br#"{"a":1,"a":2}"#, 8),
            Err(JsonError::DuplicateKey { key: "a".into() })
        );
        assert_eq!(
            parse_object(br#"{"a":{"b":1,"b":1}}"#, 8),
            Err(JsonError::DuplicateKey { key: "b".into() })
        );
        // Escapes decode before the comparison: "\u0061" is "a".
        assert_eq!(
            parse_object(br#"{"a":1,"\u0061":2}"#, 8),
            Err(JsonError::DuplicateKey { key: "a".into() })
        );
    }

    #[test]
    fn stops_at_the_depth_limit_without_recursing_further() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse_object(deep.as_bytes(), 16),
            Err(JsonError::TooDeep { limit: 16 })
        );
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(15), "]".repeat(15));
        assert!(parse_object(ok.as_bytes(), 16).is_ok());
    }

    #[test]
    fn typed_errors() {
        assert!(matches!(
            parse_object(b"[1]", 8),
            Err(JsonError::NotAnObject { found: "an array" })
        ));
        assert!(matches!(
            parse_object(b"\"s\"", 8),
            Err(JsonError::NotAnObject { .. })
        ));
        assert!(matches!(
            parse_object(b"{\"a\":1} x", 8),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(parse_object(b"", 8), Err(JsonError::Syntax(_))));
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}", 8),
            Err(JsonError::NotUtf8 { valid_up_to: 6 })
        );
    }
}
