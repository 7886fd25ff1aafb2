//! The publish body (registry-web-api.md "Publish"): a u32 LE JSON length, the JSON
//! metadata, a u32 LE `.crate` length, the `.crate` bytes. Parsing never panics; every
//! malformed body is a [`BodyError`] (answered 400).

use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Why a publish body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub String);

fn bad(message: impl Into<String>) -> BodyError {
    BodyError(message.into())
}

/// A parsed publish: what the index will say about the version, and the `.crate`.
#[derive(Debug, Clone)]
pub struct Publish {
    pub name: String,
    pub vers: String,
    /// Lowercase hex SHA-256 of `crate_bytes` (what the token's `cksum` must be).
    pub cksum: String,
    pub crate_bytes: Vec<u8>,
    /// `deps` converted to index form.
    pub deps: Vec<Value>,
    pub features: Map<String, Value>,
    /// Features using `dep:` or `?/` syntax (index format v2).
    pub features2: Map<String, Value>,
    pub links: Option<String>,
    pub rust_version: Option<String>,
    pub description: Option<String>,
}

/// Lowercase hex SHA-256, as Cargo computes `cksum`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn take<'a>(rest: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], BodyError> {
    if rest.len() < n {
        return Err(bad(format!(
            "publish body truncated: {what} needs {n} bytes, {} left",
            rest.len()
        )));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take_len(rest: &mut &[u8], what: &str) -> Result<usize, BodyError> {
    let bytes = take(rest, 4, what)?;
    Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")) as usize)
}

/// A crate name as crates.io accepts it: ASCII letter first, then alphanumerics, `-`, `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A version as it can appear in a URL path segment: semver characters only.
pub fn valid_vers(vers: &str) -> bool {
    !vers.is_empty()
        && vers.len() <= 128
        && vers.starts_with(|c: char| c.is_ascii_digit())
        && vers
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
}

/// Splits and checks a publish body.
pub fn parse(body: &[u8]) -> Result<Publish, BodyError> {
    let mut rest = body;
    let json_len = take_len(&mut rest, "the JSON length")?;
    let json_bytes = take(&mut rest, json_len, "the JSON metadata")?;
    let metadata: Value = serde_json::from_slice(json_bytes)
        .map_err(|e| bad(format!("publish metadata is not JSON: {e}")))?;
    let crate_len = take_len(&mut rest, "the .crate length")?;
    let crate_bytes = take(&mut rest, crate_len, "the .crate")?.to_vec();
    if !rest.is_empty() {
        return Err(bad(format!(
            "{} trailing bytes after the .crate",
            rest.len()
        )));
    }
    let Value::Object(mut metadata) = metadata else {
        return Err(bad("publish metadata is not a JSON object"));
    };
    let string = |metadata: &Map<String, Value>, key: &str| -> Result<Option<String>, BodyError> {
        match metadata.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!("publish metadata `{key}` must be a string"))),
        }
    };
    let name = string(&metadata, "name")?.ok_or_else(|| bad("publish metadata has no `name`"))?;
    let vers = string(&metadata, "vers")?.ok_or_else(|| bad("publish metadata has no `vers`"))?;
    if !valid_name(&name) {
        return Err(bad(format!("invalid crate name {name:?}")));
    }
    if !valid_vers(&vers) {
        return Err(bad(format!("invalid version {vers:?}")));
    }
    let deps = match metadata.remove("deps") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(deps)) => deps.into_iter().map(index_dep).collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("publish metadata `deps` must be an array")),
    };
    let (features, features2) = match metadata.remove("features") {
        None | Some(Value::Null) => (Map::new(), Map::new()),
        Some(Value::Object(features)) => split_features(features)?,
        Some(_) => return Err(bad("publish metadata `features` must be an object")),
    };
    Ok(Publish {
        cksum: sha256_hex(&crate_bytes),
        links: string(&metadata, "links")?,
        rust_version: string(&metadata, "rust_version")?,
        description: string(&metadata, "description")?,
        name,
        vers,
        crate_bytes,
        deps,
        features,
        features2,
    })
}

/// Publish-metadata dependency → index dependency (registry-index.md "Index files").
fn index_dep(dep: Value) -> Result<Value, BodyError> {
    let Value::Object(dep) = dep else {
        return Err(bad("a dependency in `deps` is not an object"));
    };
    let get = |key: &str| dep.get(key).cloned().unwrap_or(Value::Null);
    let name = match dep.get("name") {
        Some(Value::String(name)) => name.clone(),
        _ => return Err(bad("a dependency has no string `name`")),
    };
    let req = match dep.get("version_req") {
        Some(Value::String(req)) => req.clone(),
        _ => {
            return Err(bad(format!(
                "dependency {name:?} has no string `version_req`"
            )));
        }
    };
    let renamed = match dep.get("explicit_name_in_toml") {
        Some(Value::String(explicit)) => Some(explicit.clone()),
        None | Some(Value::Null) => None,
        Some(_) => return Err(bad("`explicit_name_in_toml` must be a string")),
    };
    let features = match get("features") {
        Value::Null => json!([]),
        list @ Value::Array(_) => list,
        _ => {
            return Err(bad(format!(
                "dependency {name:?}: `features` must be an array"
            )));
        }
    };
    let mut out = json!({
        "name": renamed.clone().unwrap_or_else(|| name.clone()),
        "req": req,
        "features": features,
        "optional": get("optional").as_bool().unwrap_or(false),
        "default_features": get("default_features").as_bool().unwrap_or(true),
        "target": get("target"),
        "kind": match get("kind") { Value::Null => json!("normal"), kind => kind },
        "registry": get("registry"),
    });
    if renamed.is_some() {
        out["package"] = json!(name);
    }
    Ok(out)
}

/// A feature map.
type Features = Map<String, Value>;

/// Features whose values use `dep:` or `?/` go to `features2` (index format v2).
fn split_features(features: Features) -> Result<(Features, Features), BodyError> {
    let mut plain = Map::new();
    let mut v2 = Map::new();
    for (feature, values) in features {
        let Value::Array(list) = &values else {
            return Err(bad(format!("feature {feature:?} must list strings")));
        };
        if !list.iter().all(Value::is_string) {
            return Err(bad(format!("feature {feature:?} must list strings")));
        }
        let new_syntax = list
            .iter()
            .filter_map(Value::as_str)
            .any(|v| v.starts_with("dep:") || v.contains("?/"));
        if new_syntax {
            v2.insert(feature, values);
        } else {
            plain.insert(feature, values);
        }
    }
    Ok((plain, v2))
}

/// One line of a sparse index file.
#[derive(Debug, Clone, Serialize)]
pub struct IndexLine<'a> {
    pub name: &'a str,
    pub vers: &'a str,
    pub deps: &'a Value,
    pub cksum: &'a str,
    pub features: &'a Value,
    pub yanked: bool,
    pub links: Option<&'a str>,
    pub v: u32,
    pub features2: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust_version: Option<&'a str>,
}

/// The body of a publish request, for clients and tests.
pub fn encode(metadata: &Value, crate_bytes: &[u8]) -> Vec<u8> {
    let json = metadata.to_string();
    let mut body = Vec::with_capacity(8 + json.len() + crate_bytes.len());
    body.extend_from_slice(&(json.len() as u32).to_le_bytes());
    body.extend_from_slice(json.as_bytes());
    body.extend_from_slice(&(crate_bytes.len() as u32).to_le_bytes());
    body.extend_from_slice(crate_bytes);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cargo_shaped_bodies() {
        let metadata = json!({
            "name": "foo", "vers": "0.1.0",
            "deps": [{"name": "bar", "version_req": "^1", "features": [], "optional": true,
                      "default_features": true, "target": null, "kind": "normal",
                      "registry": null, "explicit_name_in_toml": "baz"}],
            "features": {"a": ["bar"], "b": ["dep:bar"]},
            "links": null, "rust_version": "1.70"
        });
        let publish = parse(&encode(&metadata, b"crate")).unwrap();
        assert_eq!(publish.name, "foo");
        assert_eq!(publish.cksum, sha256_hex(b"crate"));
        assert_eq!(publish.deps[0]["name"], "baz");
        assert_eq!(publish.deps[0]["package"], "bar");
        assert_eq!(publish.deps[0]["req"], "^1");
        assert!(publish.features.contains_key("a"));
        assert!(publish.features2.contains_key("b"));
        assert_eq!(publish.rust_version.as_deref(), Some("1.70"));
    }

    #[test]
    fn refuses_malformed_bodies() {
        let good = encode(&json!({"name": "foo", "vers": "0.1.0"}), b"x");
        assert!(parse(&good).is_ok());
        for body in [
            &b""[..],
            &[1, 0, 0],
            &[255, 255, 255, 255, 0],
            &good[..good.len() - 1],
        ] {
            assert!(parse(body).is_err(), "{body:?}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(parse(&trailing).is_err());
        for metadata in [
            json!([1]),
            json!({"name": "foo"}),
            json!({"name": 1, "vers": "0.1.0"}),
            json!({"name": "../x", "vers": "0.1.0"}),
            json!({"name": "foo", "vers": "0.1.0/yank"}),
            json!({"name": "foo", "vers": "0.1.0", "deps": {}}),
            json!({"name": "foo", "vers": "0.1.0", "features": {"a": [1]}}),
        ] {
            assert!(parse(&encode(&metadata, b"x")).is_err(), "{metadata}");
        }
    }
}
