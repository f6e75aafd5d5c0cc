//! Reading a context from JSON (text or tree) or from name/value pairs, in one pass:
//! properties go into an insertion-ordered hash map, so the work is linear in the input,
//! and every limit of [`crate::limits`] is checked as the input is read. A problem found
//! inside serde's machinery is kept in a slot beside it, so callers get a typed
//! [`ContextProblem`] rather than serde's message text.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use indexmap::IndexMap;
use serde::de::DeserializeSeed;
use serde_json::Value;

use super::visit::{ContextSeed, MemberVisitor};
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
            ContextProblem::Syntax(e) => write!(f, "not valid JSON: {e}"),
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

pub(super) type Slot = RefCell<Option<ContextProblem>>;

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
pub(super) fn fail<E: serde::de::Error>(slot: &Slot, problem: ContextProblem) -> E {
    let e = E::custom(&problem);
    *slot.borrow_mut() = Some(problem);
    e
}

/// A context being read.
#[derive(Default)]
pub(super) struct Builder {
    ctx: Context,
    targeting_key: Option<String>,
    properties: IndexMap<String, String, ahash::RandomState>,
}

impl Builder {
    /// A top-level attribute: one of Unleash's fields, or a property.
    pub(super) fn attribute(&mut self, key: &str, text: String) -> Result<(), ContextProblem> {
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
    pub(super) fn property(&mut self, key: &str, text: String) -> Result<(), ContextProblem> {
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

    pub(super) fn finish(mut self) -> Context {
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
