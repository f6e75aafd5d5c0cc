//! The crate's one error type.

use std::fmt;

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
    /// Input nested deeper than [`crate::limits::MAX_DEPTH`].
    #[error("{format} nested more than {limit} levels deep (limit MAX_DEPTH)")]
    TooDeep { format: &'static str, limit: usize },
    /// The document is well-formed but wrong; every problem is listed.
    #[error("{}", Problems(.0))]
    Invalid(Vec<Problem>),
    /// An evaluation context that cannot be read, and why.
    #[error("invalid context: {0}")]
    Context(crate::context::ContextProblem),
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

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

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
