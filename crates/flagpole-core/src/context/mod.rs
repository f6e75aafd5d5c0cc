//! The evaluation context: who is asking, as Unleash and OpenFeature describe them.
//! Reading one (`parse.rs`, through the visitors of `visit.rs` into the builder of
//! `builder.rs`) is linear in its size and bounded by the context limits; what is wrong
//! is a typed [`ContextProblem`](crate::error::ContextProblem) (defined with the crate's error, which carries it).

mod builder;
mod parse;
mod visit;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// Everything a rule can look at. Property values are text; numbers and booleans given
/// in JSON are read as their text. Arrays and objects are not read: an attribute given
/// as one is missing for every condition (never an error).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// RFC 3339 time to evaluate date conditions at; the `now` given to evaluation
    /// when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_time: Option<String>,
    /// Free-form attributes, in insertion order (a short list scans faster than a map).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_properties"
    )]
    pub properties: Vec<(String, String)>,
}

impl Context {
    /// A context with only a user id.
    pub fn with_user(user_id: impl Into<String>) -> Context {
        Context {
            user_id: Some(user_id.into()),
            ..Context::default()
        }
    }

    /// The value of a free-form property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a property, replacing an earlier value.
    pub fn set_property(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.properties.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.properties.push((name, value)),
        }
    }

    /// Reads a context from JSON in Unleash's shape (`userId`, `sessionId`, …,
    /// `properties: {…}`) or OpenFeature's (`targetingKey` and attributes at the top
    /// level). Unknown top-level keys become properties; `targetingKey` is the user id
    /// unless `userId` is also given. Any JSON object within the context limits is a
    /// context; a value that is not an object, or beyond a limit, is refused.
    pub fn from_json(value: &Value) -> Result<Context, Error> {
        parse::from_value(value)
    }

    /// Reads a context from JSON text, as [`Context::from_json`] but without a JSON tree
    /// in between: linear in the text, and a typed [`ContextProblem`](crate::error::ContextProblem) for what is wrong
    /// (`Syntax` for text that is not JSON).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Context, Error> {
        parse::from_slice(bytes)
    }

    /// Reads the `context` member of a JSON request body such as OFREP's
    /// `{"context": {...}}` (other members are ignored); `None` when it is absent or
    /// null. A body that is not an object is [`ContextProblem::BodyNotAnObject`](crate::error::ContextProblem::BodyNotAnObject).
    pub fn from_request_slice(bytes: &[u8]) -> Result<Option<Context>, Error> {
        parse::member_from_slice(bytes, "context")
    }

    /// Builds a context from name/value pairs (query parameters): Unleash's fields by
    /// name, `properties[name]` or any other name as a property. A name given twice and
    /// the context limits are refused.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Context, Error> {
        parse::from_pairs(pairs)
    }
}

fn serialize_properties<S: serde::Serializer>(
    props: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(props.iter().map(|(k, v)| (k, v)))
}

/// Reads a context straight from the deserializer (no intermediate JSON tree), with the
/// same shapes, limits and messages as [`Context::from_json`].
impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_unleash_and_openfeature_shapes() {
        let u = Context::from_json(&json!({"userId": "1", "properties": {"plan": "pro", "n": 3}}))
            .unwrap();
        assert_eq!(u.user_id.as_deref(), Some("1"));
        assert_eq!(u.property("n"), Some("3"));
        let o = Context::from_json(&json!({"targetingKey": "2", "email": "a@b.c"})).unwrap();
        assert_eq!(o.user_id.as_deref(), Some("2"));
        assert_eq!(o.property("email"), Some("a@b.c"));
    }

    #[test]
    fn deserializing_reads_what_from_json_reads() {
        for text in [
            r#"{"userId": "1", "properties": {"plan": "pro", "n": 3, "f": 1.5, "b": true, "z": null}}"#,
            r#"{"targetingKey": "2", "email": "a@b.c", "sessionId": "s", "currentTime": "2026-01-01T00:00:00Z"}"#,
            r#"{"targetingKey": "t", "userId": "u", "properties": null}"#,
        ] {
            let direct: Context = serde_json::from_str(text).unwrap();
            let via_value = Context::from_json(&serde_json::from_str(text).unwrap()).unwrap();
            assert_eq!(direct, via_value, "{text}");
        }
        assert!(serde_json::from_str::<Context>("[1]").is_err());
    }

    #[test]
    fn arrays_and_objects_are_missing_attributes_never_errors() {
        for text in [
            r#"{"targetingKey": "u", "groups": ["a", "b"], "plan": {"a": [1]}, "tier": "pro"}"#,
            r#"{"targetingKey": "u", "properties": {"groups": ["a"], "o": {}, "tier": "pro"}}"#,
            r#"{"targetingKey": "u", "userId": ["x"], "tier": "pro", "properties": [1, {"a": 2}]}"#,
        ] {
            let direct: Context = serde_json::from_str(text).unwrap();
            let via_value = Context::from_json(&serde_json::from_str(text).unwrap()).unwrap();
            assert_eq!(direct, via_value, "{text}");
            assert_eq!(direct.user_id.as_deref(), Some("u"), "{text}");
            assert_eq!(
                direct.properties,
                vec![("tier".into(), "pro".into())],
                "{text}"
            );
        }
        let scalar: Context = serde_json::from_str(r#"{"properties": "x"}"#).unwrap();
        assert_eq!(scalar.property("properties"), Some("x"));
        assert_eq!(
            Context::from_json(&json!({"properties": 2.5})).unwrap(),
            serde_json::from_str::<Context>(r#"{"properties": 2.5}"#).unwrap()
        );
        assert!(Context::from_json(&json!([1])).is_err());
        assert!(Context::from_json(&json!("text")).is_err());
    }
}
