//! What a request or a document may contain and cost: every limit as a named constant
//! (documented in `docs/flag-format.md`, "Limits"), and the checks a write applies to
//! what it changes.
//!
//! Stored documents are not held to these rules when they are loaded (a document written
//! before a limit existed still compiles and serves); [`check_change`] applies them to
//! the flags and segments a write adds or changes, and to document totals a write grows.

use std::collections::HashMap;

use crate::condition::{Condition, Operator};
use crate::document::{Document, Flag, Segment};
use crate::error::{Error, Problem};

/// Longest flag key, segment name or environment name.
pub const MAX_NAME_LEN: usize = 100;
/// Flags in one document.
pub const MAX_FLAGS: usize = 10_000;
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
/// Compiled size of one regular expression (`regex::RegexBuilder::size_limit`).
pub const MAX_REGEX_SIZE: usize = 64 * 1024;
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

/// Checks a new flag key, segment name or environment name: 1 to [`MAX_NAME_LEN`]
/// ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit
/// (`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`), so it is safe in a URL path segment as it is.
/// Returns why not.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "is {} bytes long (at most {MAX_NAME_LEN} allowed)",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        let what = match c {
            '/' => "'/'".to_string(),
            c if c.is_control() => "control characters".to_string(),
            c if c.is_ascii() => format!("{c:?}"),
            c => format!("the non-ASCII character U+{:04X}", c as u32),
        };
        return Err(format!(
            "{name:?} contains {what} (allowed: ASCII letters, digits, '.', '_' and '-')"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("{name:?} must start with a letter or a digit"));
    }
    Ok(())
}

/// Checks what a write changes: `after` is the whole document with the change, `before`
/// the document it replaces. Flags and segments that are new or changed must meet every
/// limit, new names [`check_name`] and differ from existing names by more than case;
/// document totals may not grow beyond their limits.
pub fn check_change(before: &Document, after: &Document) -> Result<(), Error> {
    let mut problems = Vec::new();
    let lower_names = |keys: &mut dyn Iterator<Item = &String>| -> HashMap<String, String> {
        keys.map(|k| (k.to_ascii_lowercase(), k.clone())).collect()
    };
    let flag_names = lower_names(&mut before.flags.keys());
    let segment_names = lower_names(&mut before.segments.keys());
    for (key, flag) in &after.flags {
        match before.flags.get(key) {
            Some(old) if old == flag => continue,
            Some(_) => {}
            None => new_name(&mut problems, "flags", "flag key", key, &flag_names),
        }
        check_flag(&mut problems, &format!("flags.{key}"), flag);
    }
    for (name, segment) in &after.segments {
        match before.segments.get(name) {
            Some(old) if old == segment => continue,
            Some(_) => {}
            None => new_name(
                &mut problems,
                "segments",
                "segment name",
                name,
                &segment_names,
            ),
        }
        check_segment(&mut problems, &format!("segments.{name}"), segment);
    }
    let grows = |limit: usize, old: usize, new: usize| new > limit && new > old;
    if grows(MAX_FLAGS, before.flags.len(), after.flags.len()) {
        problems.push(limit_problem(
            "flags",
            after.flags.len(),
            MAX_FLAGS,
            "flags in a document",
            "MAX_FLAGS",
        ));
    }
    if grows(MAX_SEGMENTS, before.segments.len(), after.segments.len()) {
        problems.push(limit_problem(
            "segments",
            after.segments.len(),
            MAX_SEGMENTS,
            "segments in a document",
            "MAX_SEGMENTS",
        ));
    }
    let (old, new) = (regex_count(before), regex_count(after));
    if grows(MAX_REGEXES, old, new) {
        problems.push(limit_problem(
            "flags",
            new,
            MAX_REGEXES,
            "REGEX conditions in a document",
            "MAX_REGEXES",
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}

/// Compiles a pattern within [`MAX_REGEX_SIZE`] and [`MAX_REGEX_DFA_SIZE`].
pub(crate) fn bounded_regex(
    pattern: &str,
    case_insensitive: bool,
) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .size_limit(MAX_REGEX_SIZE)
        .dfa_size_limit(MAX_REGEX_DFA_SIZE)
        .build()
}

fn new_name(
    problems: &mut Vec<Problem>,
    section: &str,
    what: &str,
    name: &str,
    existing: &HashMap<String, String>,
) {
    let path = format!("{section}.{name}");
    if let Err(e) = check_name(name) {
        problems.push(Problem {
            path,
            message: format!("{what} {e}"),
        });
    } else if let Some(twin) = existing.get(&name.to_ascii_lowercase()) {
        problems.push(Problem {
            path,
            message: format!("{what} {name:?} differs from the existing {twin:?} only in case"),
        });
    }
}

fn limit_problem(path: &str, n: usize, limit: usize, what: &str, name: &str) -> Problem {
    Problem {
        path: path.to_string(),
        message: format!("{n} {what}; at most {limit} allowed (limit {name})"),
    }
}

/// Pushes a problem when `n > limit`.
fn count(problems: &mut Vec<Problem>, path: &str, n: usize, limit: usize, what: &str, name: &str) {
    if n > limit {
        problems.push(limit_problem(path, n, limit, what, name));
    }
}

fn text(problems: &mut Vec<Problem>, path: &str, value: &str, limit: usize, name: &str) {
    if value.len() > limit {
        problems.push(Problem {
            path: path.to_string(),
            message: format!(
                "{} bytes long; at most {limit} allowed (limit {name})",
                value.len()
            ),
        });
    }
}

fn check_flag(p: &mut Vec<Problem>, path: &str, flag: &Flag) {
    if let Some(d) = &flag.description {
        text(
            p,
            &format!("{path}.description"),
            d,
            MAX_TEXT_LEN,
            "MAX_TEXT_LEN",
        );
    }
    count(
        p,
        &format!("{path}.variants"),
        flag.variants.len(),
        MAX_VARIANTS,
        "variants",
        "MAX_VARIANTS",
    );
    count(
        p,
        &format!("{path}.tags"),
        flag.tags.len(),
        MAX_TAGS,
        "tags",
        "MAX_TAGS",
    );
    for (i, t) in flag.tags.iter().enumerate() {
        text(
            p,
            &format!("{path}.tags[{i}]"),
            t,
            MAX_TEXT_LEN,
            "MAX_TEXT_LEN",
        );
    }
    for (i, v) in flag.variants.iter().enumerate() {
        text(
            p,
            &format!("{path}.variants[{i}].name"),
            &v.name,
            MAX_TEXT_LEN,
            "MAX_TEXT_LEN",
        );
    }
    let mut regexes = 0;
    for (env, e) in &flag.environments {
        let epath = format!("{path}.environments.{env}");
        count(
            p,
            &format!("{epath}.rules"),
            e.rules.len(),
            MAX_RULES_PER_ENVIRONMENT,
            "rules",
            "MAX_RULES_PER_ENVIRONMENT",
        );
        count(
            p,
            &format!("{epath}.depends_on"),
            e.depends_on.len(),
            MAX_DEPENDENCIES,
            "dependencies",
            "MAX_DEPENDENCIES",
        );
        for (i, r) in e.rules.iter().enumerate() {
            let rpath = format!("{epath}.rules[{i}]");
            count(
                p,
                &format!("{rpath}.conditions"),
                r.conditions.len(),
                MAX_CONDITIONS,
                "conditions in a rule",
                "MAX_CONDITIONS",
            );
            count(
                p,
                &format!("{rpath}.segments"),
                r.segments.len(),
                MAX_SEGMENTS_PER_RULE,
                "segments in a rule",
                "MAX_SEGMENTS_PER_RULE",
            );
            if let Some(name) = &r.name {
                text(
                    p,
                    &format!("{rpath}.name"),
                    name,
                    MAX_TEXT_LEN,
                    "MAX_TEXT_LEN",
                );
            }
            for s in [&r.stickiness, &r.group_id].into_iter().flatten() {
                text(p, &rpath, s, MAX_VALUE_LEN, "MAX_VALUE_LEN");
            }
            regexes += conditions(p, &rpath, &r.conditions);
            if let Some(serve) = &r.serve {
                check_serve(p, &format!("{rpath}.serve"), serve);
            }
        }
        if let Some(serve) = &e.default {
            check_serve(p, &format!("{epath}.default"), serve);
        }
    }
    count(
        p,
        path,
        regexes,
        MAX_REGEXES_PER_FLAG,
        "REGEX conditions in one flag",
        "MAX_REGEXES_PER_FLAG",
    );
}

fn check_serve(p: &mut Vec<Problem>, path: &str, serve: &crate::rule::Serve) {
    count(
        p,
        &format!("{path}.split"),
        serve.split.len(),
        MAX_SPLIT_SHARES,
        "split shares",
        "MAX_SPLIT_SHARES",
    );
    for (i, share) in serve.split.iter().enumerate() {
        let spath = format!("{path}.split[{i}]");
        count(
            p,
            &format!("{spath}.overrides"),
            share.overrides.len(),
            MAX_OVERRIDES,
            "overrides",
            "MAX_OVERRIDES",
        );
        for (j, o) in share.overrides.iter().enumerate() {
            let opath = format!("{spath}.overrides[{j}]");
            text(
                p,
                &format!("{opath}.attribute"),
                &o.attribute,
                MAX_VALUE_LEN,
                "MAX_VALUE_LEN",
            );
            values(p, &format!("{opath}.values"), &o.values);
        }
    }
}

fn check_segment(p: &mut Vec<Problem>, path: &str, segment: &Segment) {
    if let Some(d) = &segment.description {
        text(
            p,
            &format!("{path}.description"),
            d,
            MAX_TEXT_LEN,
            "MAX_TEXT_LEN",
        );
    }
    count(
        p,
        &format!("{path}.conditions"),
        segment.conditions.len(),
        MAX_CONDITIONS,
        "conditions in a segment",
        "MAX_CONDITIONS",
    );
    let regexes = conditions(p, path, &segment.conditions);
    count(
        p,
        path,
        regexes,
        MAX_REGEXES_PER_FLAG,
        "REGEX conditions in one segment",
        "MAX_REGEXES_PER_FLAG",
    );
}

fn values(p: &mut Vec<Problem>, path: &str, values: &[String]) {
    count(
        p,
        path,
        values.len(),
        MAX_VALUES_PER_CONDITION,
        "values",
        "MAX_VALUES_PER_CONDITION",
    );
    if let Some((i, v)) = values
        .iter()
        .enumerate()
        .find(|(_, v)| v.len() > MAX_VALUE_LEN)
    {
        text(
            p,
            &format!("{path}[{i}]"),
            v,
            MAX_VALUE_LEN,
            "MAX_VALUE_LEN",
        );
    }
}

/// Checks conditions; returns how many are `REGEX`. Each regex is compiled within
/// [`MAX_REGEX_SIZE`] (up to [`MAX_REGEXES_PER_FLAG`] of them: beyond that the count
/// already refuses the change).
fn conditions(p: &mut Vec<Problem>, path: &str, conditions: &[Condition]) -> usize {
    let mut regexes = 0;
    for (i, c) in conditions.iter().enumerate() {
        let cpath = format!("{path}.conditions[{i}]");
        text(
            p,
            &format!("{cpath}.attribute"),
            &c.attribute,
            MAX_VALUE_LEN,
            "MAX_VALUE_LEN",
        );
        values(p, &format!("{cpath}.values"), &c.values);
        if let Some(v) = &c.value {
            text(
                p,
                &format!("{cpath}.value"),
                v,
                MAX_VALUE_LEN,
                "MAX_VALUE_LEN",
            );
        }
        if c.operator != Operator::Regex {
            continue;
        }
        regexes += 1;
        match c.single_value() {
            Some(pattern) if regexes <= MAX_REGEXES_PER_FLAG && pattern.len() <= MAX_VALUE_LEN => {
                if let Err(regex::Error::CompiledTooBig(_)) =
                    bounded_regex(pattern, c.case_insensitive)
                {
                    p.push(Problem {
                        path: format!("{cpath}.value"),
                        message: format!(
                            "the regular expression compiles to more than {MAX_REGEX_SIZE} bytes (limit MAX_REGEX_SIZE); simplify it (for example, a bounded repetition of a Unicode class such as \\w{{20}} is large: use [a-zA-Z0-9_] or a smaller count)"
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    regexes
}

fn regex_count(doc: &Document) -> usize {
    let n = |cs: &[Condition]| cs.iter().filter(|c| c.operator == Operator::Regex).count();
    let flags: usize = doc
        .flags
        .values()
        .flat_map(|f| f.environments.values())
        .flat_map(|e| e.rules.iter())
        .map(|r| n(&r.conditions))
        .sum();
    flags
        + doc
            .segments
            .values()
            .map(|s| n(&s.conditions))
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "new_ui", "v1.2-beta", "A9", &"x".repeat(MAX_NAME_LEN)] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("-x", "start with"),
            (".hidden", "start with"),
            ("a/b", "'/'"),
            ("a b", "' '"),
            ("new\u{202e}ui", "U+202E"),
            ("new\u{200b}ui", "U+200B"),
            ("caf\u{e9}", "U+00E9"),
            ("a\nb", "control"),
            (&"x".repeat(MAX_NAME_LEN + 1), "at most 100"),
        ] {
            let e = check_name(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
