//! What a typed getter answers: the value with the variant, reason and error behind it,
//! and how a flag's JSON value becomes a Rust value.

use flagpole_core::{Evaluation, FlagType, Reason};
use serde_json::Value;

/// Why a getter answered the caller's default instead of the flag's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The environment has no (live) flag with this key.
    FlagNotFound,
    /// The flag's value is not of the type asked for (a string flag read as a boolean).
    TypeMismatch,
    /// A string, number or JSON flag without variants has no value to serve.
    NoValue,
}

impl ErrorCode {
    /// The code as OpenFeature spells it (`NoValue` is OpenFeature's `GENERAL`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
            ErrorCode::TypeMismatch => "TYPE_MISMATCH",
            ErrorCode::NoValue => "GENERAL",
        }
    }
}

/// A typed evaluation with its details, as the server's evaluation API shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct Details<T> {
    /// The flag's value, or the caller's default when [`Details::error`] is set.
    pub value: T,
    /// The variant served, if any.
    pub variant: Option<String>,
    /// Why the flag evaluated as it did ([`Reason::Error`] with an error).
    pub reason: Reason,
    /// Whether the flag is on for this context.
    pub enabled: bool,
    /// The index of the rule that matched, if one did.
    pub rule_index: Option<usize>,
    /// The flag's type (`None` for an unknown flag).
    pub flag_type: Option<FlagType>,
    /// Why the default was answered, if it was.
    pub error: Option<ErrorCode>,
    /// Evaluation reached a rollout or split that places contexts by user id and the
    /// context has none (OpenFeature's `TARGETING_KEY_MISSING`); the value is still the
    /// one the server would answer.
    pub needs_user_id: bool,
}

/// A Rust type a flag value can be read as.
pub(crate) trait FlagValue: Sized {
    fn read(value: &Value) -> Option<Self>;
}

impl FlagValue for bool {
    fn read(value: &Value) -> Option<bool> {
        value.as_bool()
    }
}

impl FlagValue for String {
    fn read(value: &Value) -> Option<String> {
        value.as_str().map(str::to_string)
    }
}

impl FlagValue for f64 {
    fn read(value: &Value) -> Option<f64> {
        value.as_f64()
    }
}

impl FlagValue for i64 {
    fn read(value: &Value) -> Option<i64> {
        value.as_i64().or_else(|| {
            let f = value.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
        })
    }
}

impl FlagValue for Value {
    fn read(value: &Value) -> Option<Value> {
        Some(value.clone())
    }
}

/// The value of an evaluation as `T`, or why not. Allocates only what `T` does.
#[inline]
pub(crate) fn value_of<T: FlagValue>(e: &Evaluation<'_>) -> Result<T, ErrorCode> {
    if e.error.is_some() {
        return Err(ErrorCode::FlagNotFound);
    }
    let value = e.value.ok_or(ErrorCode::NoValue)?;
    T::read(value).ok_or(ErrorCode::TypeMismatch)
}

/// The details of an evaluation as `T`, with `default` when it cannot be read as one.
pub(crate) fn details_of<T: FlagValue>(e: &Evaluation<'_>, default: T) -> Details<T> {
    let found = e.error.is_none();
    let (value, error) = match value_of(e) {
        Ok(v) => (v, None),
        Err(code) => (default, Some(code)),
    };
    Details {
        value,
        variant: e.variant.map(str::to_string),
        reason: if error.is_some() {
            Reason::Error
        } else {
            e.reason
        },
        enabled: e.enabled,
        rule_index: e.rule_index,
        flag_type: found.then_some(e.flag_type),
        error,
        needs_user_id: e.needs_user_id,
    }
}
