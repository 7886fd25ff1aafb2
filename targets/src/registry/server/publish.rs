//! The publish body (registry-web-api.md "Publish"): a u32 LE JSON length, the JSON
//! metadata, a u32 LE `.crate` length, the `.crate` bytes. Parsing never panics; every
//! malformed body, and every well-formed one whose metadata breaks a rule of
//! [`super::validate`], is a [`BodyError`] (answered 400). [`Publish::check_crate`] checks the
//! `.crate` itself, which the server does only once the token is admitted (see
//! [`super::validate`] for why).

use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::tarball;
use super::validate::{self, Invalid};

/// Why a publish body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub String);

fn bad(message: impl Into<String>) -> BodyError {
    BodyError(message.into())
}

impl From<Invalid> for BodyError {
    fn from(Invalid(message): Invalid) -> Self {
        BodyError(message)
    }
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

/// Splits and checks a publish body.
pub fn parse(body: &[u8]) -> Result<Publish, BodyError> {
    let mut rest = body;
    let json_len = take_len(&mut rest, "the JSON length")?;
    let json_bytes = take(&mut rest, json_len, "the JSON metadata")?;
    validate::metadata_len(json_len)?;
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
    validate::crate_name(&name)?;
    validate::version(&vers)?;
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
    let rust_version = string(&metadata, "rust_version")?;
    if let Some(rust_version) = &rust_version {
        validate::rust_version(rust_version)?;
    }
    let publish = Publish {
        cksum: sha256_hex(&crate_bytes),
        links: string(&metadata, "links")?,
        rust_version,
        description: string(&metadata, "description")?,
        name,
        vers,
        crate_bytes,
        deps,
        features,
        features2,
    };
    validate::index_line_len(publish.index_line(false).len())?;
    Ok(publish)
}

impl Publish {
    /// Checks that the `.crate` is a gzipped tar of `NAME-VERS/` whose `Cargo.toml` names
    /// this crate and version, unpacking to at most [`validate::MAX_UNPACK_SIZE`].
    pub fn check_crate(&self) -> Result<(), BodyError> {
        Ok(tarball::check(&self.crate_bytes, &self.name, &self.vers)?)
    }

    /// The version's line in its index file, as the store serves it.
    pub fn index_line(&self, yanked: bool) -> String {
        let deps = Value::Array(self.deps.clone());
        let features = Value::Object(self.features.clone());
        let features2 = Value::Object(self.features2.clone());
        let line = IndexLine {
            name: &self.name,
            vers: &self.vers,
            deps: &deps,
            cksum: &self.cksum,
            features: &features,
            yanked,
            links: self.links.as_deref(),
            v: 2,
            features2: &features2,
            rust_version: self.rust_version.as_deref(),
        };
        serde_json::to_string(&line).expect("an index line serializes")
    }
}

/// Publish-metadata dependency → index dependency (registry-index.md "Index files"), each
/// field of the type Cargo reads from the index and checked by [`validate`].
fn index_dep(dep: Value) -> Result<Value, BodyError> {
    let Value::Object(dep) = dep else {
        return Err(bad("a dependency in `deps` is not an object"));
    };
    let name = match dep.get("name") {
        Some(Value::String(name)) => name.clone(),
        _ => return Err(bad("a dependency has no string `name`")),
    };
    validate::dependency_package(&name)?;
    let shown = validate::shown(&name);
    let req = match dep.get("version_req") {
        Some(Value::String(req)) => req.clone(),
        _ => {
            return Err(bad(format!(
                "dependency `{shown}` has no string `version_req`"
            )));
        }
    };
    validate::version_req(&name, &req)?;
    // Absent or null: the index's default. Anything else must have the index's type.
    let typed = |key: &str, is: fn(&Value) -> bool, what: &str| -> Result<Value, BodyError> {
        let value = dep.get(key).cloned().unwrap_or(Value::Null);
        if value.is_null() || is(&value) {
            Ok(value)
        } else {
            Err(bad(format!(
                "dependency `{shown}`: `{key}` must be a {what} or null"
            )))
        }
    };
    let renamed = typed("explicit_name_in_toml", Value::is_string, "string")?;
    if let Value::String(explicit) = &renamed {
        validate::dependency_name(explicit)?;
    }
    let kind = typed("kind", Value::is_string, "string")?;
    validate::dependency_kind(&name, kind.as_str())?;
    let features = match dep.get("features") {
        None | Some(Value::Null) => json!([]),
        Some(Value::Array(list)) => {
            for feature in list {
                let Value::String(feature) = feature else {
                    return Err(bad(format!(
                        "dependency `{shown}`: `features` must list strings"
                    )));
                };
                validate::feature_value(feature)?;
            }
            Value::Array(list.clone())
        }
        _ => {
            return Err(bad(format!(
                "dependency `{shown}`: `features` must be an array"
            )));
        }
    };
    let optional = typed("optional", Value::is_boolean, "boolean")?;
    let default_features = typed("default_features", Value::is_boolean, "boolean")?;
    let mut out = json!({
        "name": renamed.as_str().unwrap_or(&name),
        "req": req,
        "features": features,
        "optional": optional.as_bool().unwrap_or(false),
        "default_features": default_features.as_bool().unwrap_or(true),
        "target": typed("target", Value::is_string, "string")?,
        "kind": if kind.is_null() { json!("normal") } else { kind },
        "registry": typed("registry", Value::is_string, "string")?,
    });
    if renamed.is_string() {
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
        validate::feature_name(&feature)?;
        let shown = validate::shown(&feature);
        let Value::Array(list) = &values else {
            return Err(bad(format!("feature `{shown}` must list strings")));
        };
        for value in list {
            let Value::String(value) = value else {
                return Err(bad(format!("feature `{shown}` must list strings")));
            };
            validate::feature_value(value)
                .map_err(|Invalid(why)| bad(format!("feature `{shown}`: {why}")))?;
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
