//! The evaluation context: who is asking, as Unleash and OpenFeature describe them.

use std::borrow::Cow;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Everything a rule can look at. Property values are text; numbers and booleans given
/// in JSON are read as their text.
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
    /// unless `userId` is also given.
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
                    Value::Object(props) => add_properties(&mut ctx, props)?,
                    Value::Null => {}
                    other => {
                        return Err(crate::Error::Context(format!(
                            "properties must be an object, not {}",
                            kind(other)
                        )))
                    }
                },
                _ => {
                    let Some(text) = scalar_text(key, value)? else {
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

fn add_properties(ctx: &mut Context, props: &Map<String, Value>) -> Result<(), crate::Error> {
    for (key, value) in props {
        if let Some(text) = scalar_text(key, value)? {
            ctx.set_property(key.clone(), text);
        }
    }
    Ok(())
}

fn scalar_text(key: &str, value: &Value) -> Result<Option<String>, crate::Error> {
    Ok(match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => {
            return Err(crate::Error::Context(format!(
                "context attribute {key:?} must be a string, number or boolean, not {}",
                kind(other)
            )))
        }
    })
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

/// A scalar attribute as text (`None` for null); arrays and objects are refused, naming
/// the attribute.
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

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Option<String>, A::Error> {
        Err(serde::de::Error::custom(format!(
            "context attribute {:?} must be a string, number or boolean, not an array",
            self.0
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Option<String>, A::Error> {
        Err(serde::de::Error::custom(format!(
            "context attribute {:?} must be a string, number or boolean, not an object",
            self.0
        )))
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

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(serde::de::Error::custom(
            "properties must be an object, not an array",
        ))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Err(serde::de::Error::custom(
            "properties must be an object, not a string",
        ))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Err(serde::de::Error::custom(
            "properties must be an object, not a boolean",
        ))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Err(serde::de::Error::custom(
            "properties must be an object, not a number",
        ))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Err(serde::de::Error::custom(
            "properties must be an object, not a number",
        ))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Err(serde::de::Error::custom(
            "properties must be an object, not a number",
        ))
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
        let err = serde_json::from_str::<Context>(r#"{"plan": {"a": 1}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"plan\" must be a string"), "{err}");
        assert!(serde_json::from_str::<Context>("[1]").is_err());
        assert!(serde_json::from_str::<Context>(r#"{"properties": [1]}"#).is_err());
    }

    #[test]
    fn refuses_nested_values_with_a_message() {
        let err = Context::from_json(&json!({"plan": {"a": 1}})).unwrap_err();
        assert!(
            err.to_string().contains("\"plan\" must be a string"),
            "{err}"
        );
        assert!(Context::from_json(&json!([1])).is_err());
    }
}
