//! The crate's one error type, and the details it carries: each [`Problem`] of a
//! document that fails validation, and the [`ContextProblem`] of a context that cannot
//! be read. A leaf: it reads nothing of the crate but the limits its messages name.

use std::fmt;

use crate::bounds::{MAX_ATTRIBUTE_NAME_LEN, MAX_ATTRIBUTE_VALUE_LEN, MAX_CONTEXT_PROPERTIES};

/// Everything that can go wrong reading, validating or compiling flags.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not well-formed JSON/YAML or does not have the document's shape.
    #[error("{format} at {path}: {message}")]
    Parse {
        format: &'static str,
        path: String,
        message: String,
    },
    /// A key given twice in one object or mapping of the input.
    #[error("{format} at {path}: the key {key:?} is given twice")]
    DuplicateKey {
        format: &'static str,
        path: String,
        key: String,
    },
    /// Input nested deeper than [`MAX_DEPTH`](crate::bounds::MAX_DEPTH).
    #[error("{format} nested more than {limit} levels deep (limit MAX_DEPTH)")]
    TooDeep { format: &'static str, limit: usize },
    /// The document is well-formed but wrong; every problem is listed.
    #[error("{}", Problems(.0))]
    Invalid(Vec<Problem>),
    /// An evaluation context that cannot be read, and why.
    #[error("invalid context: {0}")]
    Context(ContextProblem),
    /// An imported document in another format that cannot be represented.
    #[error("cannot import {format}: {message}")]
    Import {
        format: &'static str,
        message: String,
    },
    /// A document that another format cannot express.
    #[error("cannot export to {format}: {message}")]
    Export {
        format: &'static str,
        message: String,
    },
}

/// One validation problem: where, and what is expected there.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// Path to the offending value, e.g. `flags.new_ui.environments.production.rules[2]`.
    pub path: String,
    pub message: String,
}

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

impl Error {
    /// The same structure error with the input named `format` (e.g. `Unleash JSON`).
    pub(crate) fn named(self, format: &'static str) -> Error {
        match self {
            Error::DuplicateKey { path, key, .. } => Error::DuplicateKey { format, path, key },
            Error::TooDeep { limit, .. } => Error::TooDeep { format, limit },
            other => other,
        }
    }

    /// The validation problems, if that is what this is.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Invalid(p) => p,
            _ => &[],
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
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

/// The problems of [`Error::Invalid`], one a line.
struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
