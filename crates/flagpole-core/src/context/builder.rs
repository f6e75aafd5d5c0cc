//! A context being read: the [`Builder`] that the visitors and the name/value reader
//! fill, checking every context limit as each attribute comes, and the [`Slot`] that keeps
//! a problem found inside serde's machinery beside serde's own error. Properties go into
//! an insertion-ordered hash map, so the work is linear in the input.

use std::cell::RefCell;

use indexmap::IndexMap;

use super::Context;
use crate::bounds::{MAX_ATTRIBUTE_NAME_LEN, MAX_ATTRIBUTE_VALUE_LEN, MAX_CONTEXT_PROPERTIES};
use crate::error::ContextProblem;

/// Where a reader keeps the problem it found, for the caller to take.
pub(super) type Slot = RefCell<Option<ContextProblem>>;

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
