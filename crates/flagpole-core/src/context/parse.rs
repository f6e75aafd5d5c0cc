//! Reading a context from JSON (text or tree) or from name/value pairs, in one pass: the
//! entry points behind [`Context`]'s constructors. The visitors (`visit.rs`) feed a
//! [`Builder`], which checks every context limit as the input is read; a problem found
//! inside serde's machinery is kept in a [`Slot`] beside it, so callers get a typed
//! [`ContextProblem`] rather than serde's message text.

use std::collections::HashSet;

use serde::de::DeserializeSeed;
use serde_json::Value;

use super::builder::{Builder, Slot};
use super::visit::{ContextSeed, MemberVisitor};
use super::Context;
use crate::error::{ContextProblem, Error};
use crate::structure::check_json;

pub(super) fn from_slice(bytes: &[u8]) -> Result<Context, Error> {
    check_json(bytes)?;
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
    check_json(bytes)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounds::{MAX_ATTRIBUTE_VALUE_LEN, MAX_CONTEXT_PROPERTIES};

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
