//! Reading a context from JSON (text or tree) or from name/value pairs, in one pass:
//! properties go into an insertion-ordered hash map, so the work is linear in the input,
//! and every limit of [`crate::limits`] is checked as the input is read. A problem found
//! inside serde's machinery is kept in a slot beside it, so callers get a typed
//! [`ContextProblem`] rather than serde's message text.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use indexmap::IndexMap;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Context;
use crate::error::Error;
use crate::limits::{MAX_ATTRIBUTE_NAME_LEN, MAX_ATTRIBUTE_VALUE_LEN, MAX_CONTEXT_PROPERTIES};

/// What is wrong with a context, for [`Error::Context`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextProblem {
    /// The text is not JSON.
    Syntax(String),
    /// The context is not an object (it is the named kind of value).
    NotAnObject(&'static str),
    /// A request body that should hold a context member is not an object.
    BodyNotAnObject(&'static str),
    /// More than [`MAX_CONTEXT_PROPERTIES`] properties.
    TooManyProperties,
    /// An attribute name longer than [`MAX_ATTRIBUTE_NAME_LEN`] bytes.
    NameTooLong(usize),
    /// An attribute value longer than [`MAX_ATTRIBUTE_VALUE_LEN`] bytes.
    ValueTooLong { name: String, len: usize },
    /// A key given twice in one object (or a query parameter given twice).
    Duplicate(String),
}

impl fmt::Display for ContextProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextProblem::Syntax(e) => write!(f, "the body is not valid JSON: {e}"),
            ContextProblem::NotAnObject(kind) => {
                write!(f, "a context must be a JSON object, not {kind}")
            }
            ContextProblem::BodyNotAnObject(kind) => write!(
                f,
                "the body must be an object with a `context` object, not {kind}"
            ),
            ContextProblem::TooManyProperties => write!(
                f,
                "more than {MAX_CONTEXT_PROPERTIES} properties (limit MAX_CONTEXT_PROPERTIES)"
            ),
            ContextProblem::NameTooLong(len) => write!(
                f,
                "an attribute name is {len} bytes long; at most {MAX_ATTRIBUTE_NAME_LEN} allowed (limit MAX_ATTRIBUTE_NAME_LEN)"
            ),
            ContextProblem::ValueTooLong { name, len } => write!(
                f,
                "attribute {name:?} is {len} bytes long; at most {MAX_ATTRIBUTE_VALUE_LEN} allowed (limit MAX_ATTRIBUTE_VALUE_LEN)"
            ),
            ContextProblem::Duplicate(key) => write!(f, "{key:?} is given twice"),
        }
    }
}

type Slot = RefCell<Option<ContextProblem>>;

pub(super) fn from_slice(bytes: &[u8]) -> Result<Context, Error> {
    crate::structure::check_json(bytes)?;
    let slot = Slot::default();
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let ctx = ContextSeed(&slot)
        .deserialize(&mut *de)
        .and_then(|c| de.end().map(|()| c));
    ctx.map_err(|e| classify(&e, &slot))
}

pub(super) fn from_value(value: &Value) -> Result<Context, Error> {
    let slot = Slot::default();
    ContextSeed(&slot)
        .deserialize(value)
        .map_err(|e| classify(&e, &slot))
}

pub(super) fn member_from_slice(bytes: &[u8], member: &str) -> Result<Option<Context>, Error> {
    crate::structure::check_json(bytes)?;
    let slot = Slot::default();
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let ctx = serde::Deserializer::deserialize_any(&mut *de, MemberVisitor(member, &slot))
        .and_then(|c| de.end().map(|()| c));
    ctx.map_err(|e| classify(&e, &slot))
}

pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Context, D::Error> {
    ContextSeed(&Slot::default()).deserialize(d)
}

pub(super) fn from_pairs(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Result<Context, Error> {
    let mut b = Builder::default();
    let mut seen = HashSet::new();
    for (k, v) in pairs {
        if !seen.insert(k.clone()) {
            return Err(Error::Context(ContextProblem::Duplicate(k)));
        }
        let r = match k
            .strip_prefix("properties[")
            .and_then(|s| s.strip_suffix(']'))
        {
            Some(name) => b.property(name, v),
            None => b.attribute(&k, v),
        };
        r.map_err(Error::Context)?;
    }
    Ok(b.finish())
}

/// Our own problem if one was recorded, else serde's syntax error.
fn classify(e: &serde_json::Error, slot: &Slot) -> Error {
    Error::Context(
        slot.borrow_mut()
            .take()
            .unwrap_or_else(|| ContextProblem::Syntax(e.to_string())),
    )
}

/// Records `problem` and returns it as serde's error.
fn fail<E: serde::de::Error>(slot: &Slot, problem: ContextProblem) -> E {
    let e = E::custom(&problem);
    *slot.borrow_mut() = Some(problem);
    e
}

/// A context being read.
#[derive(Default)]
struct Builder {
    ctx: Context,
    targeting_key: Option<String>,
    properties: IndexMap<String, String, ahash::RandomState>,
}

impl Builder {
    /// A top-level attribute: one of Unleash's fields, or a property.
    fn attribute(&mut self, key: &str, text: String) -> Result<(), ContextProblem> {
        check(key, &text)?;
        let field = match key {
            "userId" => &mut self.ctx.user_id,
            "targetingKey" => &mut self.targeting_key,
            "sessionId" => &mut self.ctx.session_id,
            "remoteAddress" => &mut self.ctx.remote_address,
            "appName" => &mut self.ctx.app_name,
            "environment" => &mut self.ctx.environment,
            "currentTime" => &mut self.ctx.current_time,
            _ => return self.property(key, text),
        };
        *field = Some(text);
        Ok(())
    }

    /// A free-form property; a later value replaces an earlier one in its place.
    fn property(&mut self, key: &str, text: String) -> Result<(), ContextProblem> {
        check(key, &text)?;
        if let Some(slot) = self.properties.get_mut(key) {
            *slot = text;
        } else if self.properties.len() >= MAX_CONTEXT_PROPERTIES {
            return Err(ContextProblem::TooManyProperties);
        } else {
            self.properties.insert(key.to_string(), text);
        }
        Ok(())
    }

    fn finish(mut self) -> Context {
        if self.ctx.user_id.is_none() {
            self.ctx.user_id = self.targeting_key;
        }
        self.ctx.properties = self.properties.into_iter().collect();
        self.ctx
    }
}

fn check(key: &str, text: &str) -> Result<(), ContextProblem> {
    if key.len() > MAX_ATTRIBUTE_NAME_LEN {
        return Err(ContextProblem::NameTooLong(key.len()));
    }
    if text.len() > MAX_ATTRIBUTE_VALUE_LEN {
        return Err(ContextProblem::ValueTooLong {
            name: key.to_string(),
            len: text.len(),
        });
    }
    Ok(())
}

/// The context object.
struct ContextSeed<'s>(&'s Slot);

impl<'de> DeserializeSeed<'de> for ContextSeed<'_> {
    type Value = Context;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Context, D::Error> {
        d.deserialize_any(self)
    }
}

/// Answers a value that is not an object with [`ContextProblem::NotAnObject`].
macro_rules! not_an_object {
    ($problem:expr) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(fail(self.slot(), $problem("a boolean")))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(fail(self.slot(), $problem("a number")))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(fail(self.slot(), $problem("a number")))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(fail(self.slot(), $problem("a number")))
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(fail(self.slot(), $problem("a string")))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(fail(self.slot(), $problem("an array")))
        }
    };
}

impl ContextSeed<'_> {
    fn slot(&self) -> &Slot {
        self.0
    }
}

impl<'de> Visitor<'de> for ContextSeed<'_> {
    type Value = Context;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a context object")
    }

    not_an_object!(ContextProblem::NotAnObject);

    fn visit_unit<E: serde::de::Error>(self) -> Result<Context, E> {
        Err(fail(self.0, ContextProblem::NotAnObject("null")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Context, A::Error> {
        let mut b = Builder::default();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !seen.insert(key.to_string()) {
                return Err(fail(self.0, ContextProblem::Duplicate(key.into_owned())));
            }
            let done = if key == "properties" {
                map.next_value_seed(PropertiesSeed(&mut b, self.0))?;
                Ok(())
            } else {
                match map.next_value_seed(TextSeed)? {
                    Some(text) => b.attribute(&key, text),
                    None => Ok(()),
                }
            };
            done.map_err(|p| fail(self.0, p))?;
        }
        Ok(b.finish())
    }
}

/// A request body's member holding a context (`None` when absent or null).
struct MemberVisitor<'m, 's>(&'m str, &'s Slot);

impl MemberVisitor<'_, '_> {
    fn slot(&self) -> &Slot {
        self.1
    }
}

impl<'de> Visitor<'de> for MemberVisitor<'_, '_> {
    type Value = Option<Context>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with a `{}` object", self.0)
    }

    not_an_object!(ContextProblem::BodyNotAnObject);

    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<Context>, E> {
        Err(fail(self.1, ContextProblem::BodyNotAnObject("null")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Context>, A::Error> {
        let mut ctx = None;
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !seen.insert(key.to_string()) {
                return Err(fail(self.1, ContextProblem::Duplicate(key.into_owned())));
            }
            if key == self.0 {
                ctx = map.next_value_seed(OptionalContext(self.1))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(ctx)
    }
}

struct OptionalContext<'s>(&'s Slot);

impl<'de> DeserializeSeed<'de> for OptionalContext<'_> {
    type Value = Option<Context>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<Context>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalContext<'_> {
    type Value = Option<Context>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a context object or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Option<Context>, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<Context>, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<Context>, D::Error> {
        ContextSeed(self.0).deserialize(d).map(Some)
    }
}

/// A scalar attribute as text; `None` for null, arrays and objects (skipped).
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a context attribute")
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

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(None)
    }
}

/// The `properties` object, added to the context; any other value is an attribute named
/// `properties` like any other.
struct PropertiesSeed<'b, 's>(&'b mut Builder, &'s Slot);

impl<'de> DeserializeSeed<'de> for PropertiesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl PropertiesSeed<'_, '_> {
    fn scalar<E: serde::de::Error>(self, text: Option<String>) -> Result<(), E> {
        match text {
            Some(t) => self
                .0
                .property("properties", t)
                .map_err(|p| fail(self.1, p)),
            None => Ok(()),
        }
    }
}

impl<'de> Visitor<'de> for PropertiesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("properties as an object")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !seen.insert(key.to_string()) {
                let key = format!("properties.{key}");
                return Err(fail(self.1, ContextProblem::Duplicate(key)));
            }
            if let Some(text) = map.next_value_seed(TextSeed)? {
                self.0.property(&key, text).map_err(|p| fail(self.1, p))?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(Some(v.to_string()))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(Some(v.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(Some(v.to_string()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(Some(v.to_string()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        let text = TextSeed.visit_f64::<E>(v)?;
        self.scalar(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_CONTEXT_PROPERTIES;

    fn problem(text: &str) -> ContextProblem {
        match Context::from_json_slice(text.as_bytes()) {
            Err(Error::Context(p)) => p,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn problems_are_typed() {
        assert!(matches!(problem("{"), ContextProblem::Syntax(_)));
        assert_eq!(problem("[1]"), ContextProblem::NotAnObject("an array"));
        assert_eq!(problem("\"x\""), ContextProblem::NotAnObject("a string"));
        assert!(matches!(
            Context::from_pairs([("a".into(), "1".into()), ("a".into(), "2".into())]),
            Err(Error::Context(ContextProblem::Duplicate(k))) if k == "a"
        ));
        assert!(matches!(
            Context::from_json_slice(br#"{"a": 1, "a": 2}"#),
            Err(Error::DuplicateKey { .. })
        ));
        let many: Vec<String> = (0..=MAX_CONTEXT_PROPERTIES)
            .map(|i| format!("\"p{i}\": {i}"))
            .collect();
        let text = format!("{{{}}}", many.join(","));
        assert_eq!(problem(&text), ContextProblem::TooManyProperties);
        let text = format!(
            r#"{{"userId": "{}"}}"#,
            "x".repeat(MAX_ATTRIBUTE_VALUE_LEN + 1)
        );
        assert!(matches!(
            problem(&text),
            ContextProblem::ValueTooLong { .. }
        ));
        assert_eq!(
            Context::from_request_slice(b"[]").unwrap_err().to_string(),
            "invalid context: the body must be an object with a `context` object, not an array"
        );
        assert_eq!(Context::from_request_slice(br#"{"x": 1}"#).unwrap(), None);
    }

    #[test]
    fn later_values_replace_earlier_ones_in_place() {
        let ctx =
            Context::from_json_slice(br#"{"a": "1", "b": "2", "properties": {"a": "3"}}"#).unwrap();
        assert_eq!(
            ctx.properties,
            vec![("a".into(), "3".into()), ("b".into(), "2".into())]
        );
        let pairs = [("a".to_string(), "1".to_string()), ("a".into(), "2".into())];
        assert!(Context::from_pairs(pairs).is_err());
    }
}
