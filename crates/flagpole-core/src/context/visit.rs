//! The serde visitors that read a context in one pass into a [`Builder`]: the context
//! object, a request body's `context` member, scalar attributes and the `properties`
//! object. A problem is recorded in the [`Slot`] beside serde's error.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::builder::{fail, Builder, Slot};
use super::Context;
use crate::error::ContextProblem;

/// The context object.
pub(super) struct ContextSeed<'s>(pub(super) &'s Slot);

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
pub(super) struct MemberVisitor<'m, 's>(pub(super) &'m str, pub(super) &'s Slot);

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
