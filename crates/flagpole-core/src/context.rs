//! The evaluation context: who is asking, as Unleash and OpenFeature describe them.

use std::borrow::Cow;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    /// unless `userId` is also given. Any JSON object is a context; only a value that is
    /// not an object is refused.
    pub fn from_json(value: &Value) -> Result<Context, crate::Error> {
        let Value::Object(map) = value else {
            return Err(crate::Error::Context(format!(
                "a context must be a JSON object, not {}",
                kind(value)
            )));
        };
        let mut ctx = Context::default();
        let mut targeting_key = None;
        for (key, value) in map {
            match key.as_str() {
                "properties" => match value {
                    Value::Object(props) => add_properties(&mut ctx, props),
                    // Not Unleash's properties object: an attribute like any other.
                    other => {
                        if let Some(text) = scalar_text(other) {
                            ctx.set_property(key.clone(), text);
                        }
                    }
                },
                _ => {
                    let Some(text) = scalar_text(value) else {
                        continue;
                    };
                    match key.as_str() {
                        "userId" => ctx.user_id = Some(text),
                        "targetingKey" => targeting_key = Some(text),
                        "sessionId" => ctx.session_id = Some(text),
                        "remoteAddress" => ctx.remote_address = Some(text),
                        "appName" => ctx.app_name = Some(text),
                        "environment" => ctx.environment = Some(text),
                        "currentTime" => ctx.current_time = Some(text),
                        _ => ctx.set_property(key.clone(), text),
                    }
                }
            }
        }
        if ctx.user_id.is_none() {
            ctx.user_id = targeting_key;
        }
        Ok(ctx)
    }
}

fn add_properties(ctx: &mut Context, props: &Map<String, Value>) {
    for (key, value) in props {
        if let Some(text) = scalar_text(value) {
            ctx.set_property(key.clone(), text);
        }
    }
}

/// A scalar as text; `None` for null, arrays and objects.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn serialize_properties<S: serde::Serializer>(
    props: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(props.iter().map(|(k, v)| (k, v)))
}

/// Reads a context straight from the deserializer (no intermediate JSON tree), with the
/// same shapes and messages as [`Context::from_json`].
impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ContextVisitor)
    }
}

struct ContextVisitor;

impl<'de> Visitor<'de> for ContextVisitor {
    type Value = Context;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a context object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Context, A::Error> {
        let mut ctx = Context::default();
        let mut targeting_key = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "properties" {
                map.next_value_seed(PropertiesSeed(&mut ctx))?;
                continue;
            }
            let Some(text) = map.next_value_seed(TextSeed(&key))? else {
                continue;
            };
            match &*key {
                "userId" => ctx.user_id = Some(text),
                "targetingKey" => targeting_key = Some(text),
                "sessionId" => ctx.session_id = Some(text),
                "remoteAddress" => ctx.remote_address = Some(text),
                "appName" => ctx.app_name = Some(text),
                "environment" => ctx.environment = Some(text),
                "currentTime" => ctx.current_time = Some(text),
                _ => ctx.set_property(key.into_owned(), text),
            }
        }
        if ctx.user_id.is_none() {
            ctx.user_id = targeting_key;
        }
        Ok(ctx)
    }
}

/// A scalar attribute as text; `None` for null, arrays and objects (skipped).
struct TextSeed<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for TextSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "context attribute {:?} as a string, number or boolean",
            self.0
        )
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Option<String>, E> {
        Ok(Some(v))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Option<String>, E> {
        Ok(Some(
            serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()),
        ))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(None)
    }
}

/// The `properties` object, added to the context.
struct PropertiesSeed<'c>(&'c mut Context);

impl<'de> DeserializeSeed<'de> for PropertiesSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("properties as an object")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if let Some(text) = map.next_value_seed(TextSeed(&key))? {
                self.0.set_property(key.into_owned(), text);
            }
        }
        Ok(())
    }

    // Not Unleash's properties object: an attribute named `properties` like any other.
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.0.set_property("properties", v);
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        self.0.set_property("properties", v.to_string());
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.0.set_property("properties", v.to_string());
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        self.0.set_property("properties", v.to_string());
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        let text = TextSeed("properties")
            .visit_f64::<E>(v)?
            .unwrap_or_default();
        self.0.set_property("properties", text);
        Ok(())
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
