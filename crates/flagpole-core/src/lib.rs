//! Flagpole's core: the flag model, its validation, the Unleash and seed formats, and the
//! evaluation engine.
//!
//! This crate is pure: no I/O, no async, no clock reads, no randomness of its own. A
//! [`Document`] is compiled into an immutable [`Snapshot`] for one environment; evaluating
//! is a function of (snapshot, flag key, [`Context`], now, [`RandomSource`]) to an
//! [`Evaluation`], and does not allocate.

mod bounds;
mod catalog;
mod condition;
mod context;
mod document;
mod error;
mod evaluate;
mod explain;
pub mod formats;
pub mod hash;
pub mod limits;
mod matcher;
mod random;
mod rule;
mod scope;
mod snapshot;
pub mod structure;
mod validate;

pub use catalog::{Catalog, Item, Pending, Totals};
pub use condition::{Condition, Operator};
pub use context::Context;
pub use document::{
    parse_yaml, Compat, Document, Flag, FlagEnvironment, FlagType, Segment, Variant,
    DEFAULT_PROJECT, GLOBAL_PROJECT,
};
pub use error::{ContextProblem, Error, Problem};
pub use evaluate::{Chosen, ErrorCode, Evaluation, Reason};
pub use explain::{
    ConditionStep, DependencyStep, Explained, RolloutStep, RuleStep, ServeStep, SplitRange,
    SplitStep, Trace,
};
pub use limits::{check_change, check_item, check_name};
pub use random::{RandomSource, SplitMix64};
pub use rule::{CustomStrategy, Dependency, Override, Rule, Serve, WeightedVariant};
pub use scope::{unleash_token_scope, Scope};
pub use snapshot::Snapshot;
pub use validate::{
    check_environment_name, check_key, validate, validate_flag, validate_segment, MAX_KEY_LEN,
};
