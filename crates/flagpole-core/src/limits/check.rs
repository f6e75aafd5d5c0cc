//! The limits a write must meet, checked on what it changes: a flag environment, a
//! segment's conditions or a flag's variants and tags that are new or different from the
//! stored ones; document totals only when the write grows them past their limit. So a
//! document stored before a limit existed keeps loading, and its flags can still be
//! switched on and off.

use std::collections::hash_map::{Entry, HashMap};

use indexmap::IndexMap;

use crate::bounds::*;
use crate::catalog::{flag_regexes, regexes, Catalog, Item, Pending, Totals};
use crate::condition::{Condition, Operator};
use crate::document::{Document, Flag, FlagEnvironment, Segment};
use crate::error::{Error, Problem};
use crate::rule::Serve;

/// Checks what a write changes: `after` is the whole document with the change, `before`
/// the document it replaces. What is new or changed must meet every limit, new names
/// [`check_name`](super::check_name) and differ from existing names by more than case;
/// document totals may not grow beyond their limits.
pub fn check_change(before: &Document, after: &Document) -> Result<(), Error> {
    let mut c = Check::default();
    let lower = |keys: &mut dyn Iterator<Item = &String>| -> HashMap<String, String> {
        keys.map(|k| (k.to_ascii_lowercase(), k.clone())).collect()
    };
    let mut flag_names = lower(&mut before.flags.keys());
    let mut segment_names = lower(&mut before.segments.keys());
    for (key, flag, old) in changed(&before.flags, &after.flags) {
        if old.is_none() {
            c.new_name("flags", "flag key", key, &mut flag_names);
        }
        c.flag(&format!("flags.{key}"), flag, old);
    }
    for (name, segment, old) in changed(&before.segments, &after.segments) {
        if old.is_none() {
            c.new_name("segments", "segment name", name, &mut segment_names);
        }
        c.segment(&format!("segments.{name}"), segment, old);
    }
    c.totals(before.totals(), after.totals());
    c.result()
}

/// The items of `after` that are new or differ from `before`, each with the item it
/// replaces (`None` when new).
fn changed<'a, T: PartialEq>(
    before: &'a IndexMap<String, T>,
    after: &'a IndexMap<String, T>,
) -> impl Iterator<Item = (&'a String, &'a T, Option<&'a T>)> {
    after
        .iter()
        .map(|(name, item)| (name, item, before.get(name)))
        .filter(|(_, item, old)| *old != Some(*item))
}

/// Checks one change against the flag set it is made to (`before`), as [`check_change`]
/// does for a whole document, in time that grows with the change, not the flag set.
pub fn check_item(before: &dyn Catalog, item: Item<'_>) -> Result<(), Error> {
    let mut c = Check::default();
    match item {
        Item::Flag(key, Some(flag)) => {
            let old = before.flag(key);
            if old.as_deref() == Some(flag) {
                return Ok(());
            }
            if old.is_none() {
                let twin = before.flag_twin(&key.to_ascii_lowercase());
                c.new_twin("flags", "flag key", key, twin);
            }
            c.flag(&format!("flags.{key}"), flag, old.as_deref());
        }
        Item::Segment(name, Some(segment)) => {
            let old = before.segment(name);
            if old == Some(segment) {
                return Ok(());
            }
            if old.is_none() {
                let twin = before.segment_twin(&name.to_ascii_lowercase());
                c.new_twin("segments", "segment name", name, twin);
            }
            c.segment(&format!("segments.{name}"), segment, old);
        }
        // Removing shrinks every total.
        Item::Flag(_, None) | Item::Segment(_, None) => return Ok(()),
    }
    c.totals(before.totals(), Pending { base: before, item }.totals());
    c.result()
}

/// A limit with its name, for messages: `limit!(MAX_TAGS)`.
macro_rules! limit {
    ($name:ident) => {
        Limit {
            max: $name,
            name: stringify!($name),
        }
    };
}

/// A limit's value and the name messages give it.
#[derive(Clone, Copy)]
struct Limit {
    max: usize,
    name: &'static str,
}

/// The problems found so far.
#[derive(Default)]
struct Check {
    problems: Vec<Problem>,
}

impl Check {
    fn push(&mut self, path: impl Into<String>, message: String) {
        self.problems.push(Problem {
            path: path.into(),
            message,
        });
    }

    fn result(self) -> Result<(), Error> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.problems))
        }
    }

    /// `n` of `what` against `limit`.
    fn count(&mut self, path: &str, n: usize, limit: Limit, what: &str) {
        if n > limit.max {
            let Limit { max, name } = limit;
            self.push(
                path,
                format!("{n} {what}; at most {max} allowed (limit {name})"),
            );
        }
    }

    /// A total that may stay above its limit (a stored document) but not grow past it.
    fn grows(&mut self, path: &str, old: usize, new: usize, limit: Limit, what: &str) {
        if new > old {
            self.count(path, new, limit, what);
        }
    }

    /// The document totals, which a write may not grow past their limits.
    fn totals(&mut self, before: Totals, after: Totals) {
        let (b, a) = (before, after);
        let what = "flags in a document";
        self.grows("flags", b.flags, a.flags, limit!(MAX_FLAGS), what);
        let what = "segments in a document";
        self.grows(
            "segments",
            b.segments,
            a.segments,
            limit!(MAX_SEGMENTS),
            what,
        );
        let what = "REGEX conditions in a document";
        self.grows("flags", b.regexes, a.regexes, limit!(MAX_REGEXES), what);
    }

    fn text(&mut self, path: &str, value: &str, limit: Limit) {
        if value.len() > limit.max {
            let (n, Limit { max, name }) = (value.len(), limit);
            self.push(
                path,
                format!("{n} bytes long; at most {max} allowed (limit {name})"),
            );
        }
    }

    /// A new name, against the existing name that differs from it only in case, if any.
    fn new_twin(&mut self, section: &str, what: &str, name: &str, twin: Option<&str>) {
        let path = format!("{section}.{name}");
        if let Err(e) = super::check_name(name) {
            self.push(path, format!("{what} {e}"));
        } else if let Some(twin) = twin {
            self.push(
                path,
                format!("{what} {name:?} differs from {twin:?} only in case"),
            );
        }
    }

    fn new_name(
        &mut self,
        section: &str,
        what: &str,
        name: &str,
        existing: &mut HashMap<String, String>,
    ) {
        let path = format!("{section}.{name}");
        if let Err(e) = super::check_name(name) {
            self.push(path, format!("{what} {e}"));
            return;
        }
        // Against stored names and the other new ones of the same write.
        match existing.entry(name.to_ascii_lowercase()) {
            Entry::Occupied(twin) => self.push(
                path,
                format!("{what} {name:?} differs from {:?} only in case", twin.get()),
            ),
            Entry::Vacant(slot) => {
                slot.insert(name.to_string());
            }
        }
    }

    fn flag(&mut self, path: &str, flag: &Flag, old: Option<&Flag>) {
        let description_changed = old.is_none_or(|o| o.description != flag.description);
        if let (Some(d), true) = (&flag.description, description_changed) {
            self.text(&format!("{path}.description"), d, limit!(MAX_TEXT_LEN));
        }
        if old.is_none_or(|o| o.variants != flag.variants) {
            let vpath = format!("{path}.variants");
            let n = flag.variants.len();
            self.count(&vpath, n, limit!(MAX_VARIANTS), "variants");
            for (i, v) in flag.variants.iter().enumerate() {
                let npath = format!("{vpath}[{i}].name");
                self.text(&npath, &v.name, limit!(MAX_TEXT_LEN));
            }
        }
        if old.is_none_or(|o| o.tags != flag.tags) {
            let n = flag.tags.len();
            self.count(&format!("{path}.tags"), n, limit!(MAX_TAGS), "tags");
            for (i, t) in flag.tags.iter().enumerate() {
                self.text(&format!("{path}.tags[{i}]"), t, limit!(MAX_TEXT_LEN));
            }
        }
        for (name, env) in &flag.environments {
            let before = old.and_then(|o| o.environments.get(name));
            if before.is_none_or(|b| !same_targeting(b, env)) {
                self.environment(&format!("{path}.environments.{name}"), env);
            }
        }
        let (was, new) = (old.map_or(0, flag_regexes), flag_regexes(flag));
        let what = "REGEX conditions in one flag";
        self.grows(path, was, new, limit!(MAX_REGEXES_PER_FLAG), what);
    }

    fn environment(&mut self, path: &str, env: &FlagEnvironment) {
        let n = env.rules.len();
        let rpath = format!("{path}.rules");
        self.count(&rpath, n, limit!(MAX_RULES_PER_ENVIRONMENT), "rules");
        let n = env.depends_on.len();
        let dpath = format!("{path}.depends_on");
        self.count(&dpath, n, limit!(MAX_DEPENDENCIES), "dependencies");
        for (i, r) in env.rules.iter().enumerate() {
            let rpath = format!("{path}.rules[{i}]");
            let (n, what) = (r.conditions.len(), "conditions in a rule");
            let cpath = format!("{rpath}.conditions");
            self.count(&cpath, n, limit!(MAX_CONDITIONS), what);
            let (n, what) = (r.segments.len(), "segments in a rule");
            let spath = format!("{rpath}.segments");
            self.count(&spath, n, limit!(MAX_SEGMENTS_PER_RULE), what);
            if let Some(name) = &r.name {
                self.text(&format!("{rpath}.name"), name, limit!(MAX_TEXT_LEN));
            }
            for s in [&r.stickiness, &r.group_id].into_iter().flatten() {
                self.text(&rpath, s, limit!(MAX_VALUE_LEN));
            }
            self.conditions(&rpath, &r.conditions);
            if let Some(serve) = &r.serve {
                self.serve(&format!("{rpath}.serve"), serve);
            }
        }
        if let Some(serve) = &env.default {
            self.serve(&format!("{path}.default"), serve);
        }
    }

    fn serve(&mut self, path: &str, serve: &Serve) {
        let n = serve.split.len();
        let what = "split shares";
        self.count(&format!("{path}.split"), n, limit!(MAX_SPLIT_SHARES), what);
        for (i, share) in serve.split.iter().enumerate() {
            let spath = format!("{path}.split[{i}]");
            let n = share.overrides.len();
            let opath = format!("{spath}.overrides");
            self.count(&opath, n, limit!(MAX_OVERRIDES), "overrides");
            for (j, o) in share.overrides.iter().enumerate() {
                let opath = format!("{spath}.overrides[{j}]");
                let apath = format!("{opath}.attribute");
                self.text(&apath, &o.attribute, limit!(MAX_VALUE_LEN));
                self.values(&format!("{opath}.values"), &o.values);
            }
        }
    }

    fn segment(&mut self, path: &str, segment: &Segment, old: Option<&Segment>) {
        if let Some(d) = &segment.description {
            self.text(&format!("{path}.description"), d, limit!(MAX_TEXT_LEN));
        }
        if old.is_some_and(|o| o.conditions == segment.conditions) {
            return;
        }
        let (n, what) = (segment.conditions.len(), "conditions in a segment");
        let cpath = format!("{path}.conditions");
        self.count(&cpath, n, limit!(MAX_CONDITIONS), what);
        self.conditions(path, &segment.conditions);
        let n = regexes(&segment.conditions);
        let what = "REGEX conditions in one segment";
        self.count(path, n, limit!(MAX_REGEXES_PER_FLAG), what);
    }

    fn values(&mut self, path: &str, values: &[String]) {
        let limit = limit!(MAX_VALUES_PER_CONDITION);
        self.count(path, values.len(), limit, "values");
        if let Some((i, v)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| v.len() > MAX_VALUE_LEN)
        {
            self.text(&format!("{path}[{i}]"), v, limit!(MAX_VALUE_LEN));
        }
    }

    /// Checks conditions; each regex (up to [`MAX_REGEXES_PER_FLAG`] of them: beyond,
    /// the count refuses the change) is compiled within [`MAX_REGEX_SIZE`].
    fn conditions(&mut self, path: &str, conditions: &[Condition]) {
        let mut compiled = 0;
        for (i, c) in conditions.iter().enumerate() {
            let cpath = format!("{path}.conditions[{i}]");
            let apath = format!("{cpath}.attribute");
            self.text(&apath, &c.attribute, limit!(MAX_VALUE_LEN));
            self.values(&format!("{cpath}.values"), &c.values);
            if let Some(v) = &c.value {
                self.text(&format!("{cpath}.value"), v, limit!(MAX_VALUE_LEN));
            }
            let Some(pattern) = c.single_value().filter(|_| c.operator == Operator::Regex) else {
                continue;
            };
            compiled += 1;
            if compiled > MAX_REGEXES_PER_FLAG || pattern.len() > MAX_VALUE_LEN {
                continue;
            }
            if let Err(regex::Error::CompiledTooBig(_)) = bounded_regex(pattern, c.case_insensitive)
            {
                self.push(
                    format!("{cpath}.value"),
                    format!("the regular expression compiles to more than {MAX_REGEX_SIZE} bytes (limit MAX_REGEX_SIZE); simplify it: a Unicode class such as \\w is large, and a repetition multiplies it (use [a-zA-Z0-9_], or fewer repetitions)"),
                );
            }
        }
    }
}

/// Whether two configurations of a flag in one environment target the same way (the
/// kill switch and off variant aside).
fn same_targeting(a: &FlagEnvironment, b: &FlagEnvironment) -> bool {
    a.rules == b.rules && a.default == b.default && a.depends_on == b.depends_on
}

/// Compiles a pattern within [`MAX_REGEX_SIZE`] and [`MAX_REGEX_DFA_SIZE`].
fn bounded_regex(pattern: &str, ignore_case: bool) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(ignore_case)
        .size_limit(MAX_REGEX_SIZE)
        .dfa_size_limit(MAX_REGEX_DFA_SIZE)
        .build()
}
