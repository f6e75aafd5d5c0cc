//! Every limit on what a request or a document may contain and cost, as a named
//! constant (documented in `docs/flag-format.md`, "Limits"). A leaf: the readers, the
//! context, the matchers and the checks all read these numbers, and `limits` gives them
//! out publicly beside the checks a write applies.

/// Longest flag key, segment name or environment name.
pub const MAX_NAME_LEN: usize = 100;
/// Flags in one document.
pub const MAX_FLAGS: usize = 100_000;
/// Segments in one document.
pub const MAX_SEGMENTS: usize = 1_000;
/// Rules in one environment of a flag.
pub const MAX_RULES_PER_ENVIRONMENT: usize = 100;
/// Conditions in one rule, or in one segment.
pub const MAX_CONDITIONS: usize = 50;
/// Segments one rule names.
pub const MAX_SEGMENTS_PER_RULE: usize = 20;
/// Entries in one condition's `values` (Unleash's own default is 1,000), and in one
/// split override's `values`.
pub const MAX_VALUES_PER_CONDITION: usize = 1_000;
/// Length in bytes of one condition value, attribute name or stickiness.
pub const MAX_VALUE_LEN: usize = 1_024;
/// `REGEX` conditions in one flag (all environments) or one segment.
pub const MAX_REGEXES_PER_FLAG: usize = 10;
/// `REGEX` conditions in the whole document.
pub const MAX_REGEXES: usize = 100;
/// Compiled size of one regular expression (`regex::RegexBuilder::size_limit`). A
/// Unicode class is large: `\w` alone compiles to about 50 KB, `\w{20}` to 1 MB.
pub const MAX_REGEX_SIZE: usize = 128 * 1024;
/// Lazy DFA cache of one regular expression (`regex::RegexBuilder::dfa_size_limit`).
pub const MAX_REGEX_DFA_SIZE: usize = 256 * 1024;
/// Variants of one flag.
pub const MAX_VARIANTS: usize = 100;
/// Shares of one split.
pub const MAX_SPLIT_SHARES: usize = 100;
/// Overrides in one split share.
pub const MAX_OVERRIDES: usize = 20;
/// Dependencies of one flag in one environment.
pub const MAX_DEPENDENCIES: usize = 20;
/// Tags of one flag.
pub const MAX_TAGS: usize = 50;
/// Length in bytes of a description, rule name, tag or variant name.
pub const MAX_TEXT_LEN: usize = 10_000;
/// Nesting of arrays and objects in a JSON or YAML body.
pub const MAX_DEPTH: usize = 64;
/// Properties in one evaluation context (top-level attributes and `properties` entries).
pub const MAX_CONTEXT_PROPERTIES: usize = 256;
/// Length in bytes of a context attribute's name.
pub const MAX_ATTRIBUTE_NAME_LEN: usize = 256;
/// Length in bytes of a context attribute's value.
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 4_096;
/// Bytes in an evaluation request body (native, OFREP, the Unleash frontend API) and in
/// an Unleash client registration.
pub const MAX_CONTEXT_BODY_BYTES: usize = 64 * 1024;
/// Bytes in an Unleash metrics report.
pub const MAX_METRICS_BODY_BYTES: usize = 256 * 1024;
/// Flags named in one Unleash metrics report.
pub const MAX_REPORT_FLAGS: usize = 1_000;
/// Variants named for one flag in one Unleash metrics report.
pub const MAX_REPORT_VARIANTS: usize = 100;
