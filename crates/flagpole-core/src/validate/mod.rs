//! Validation: every problem in a document, each with its path and what is expected; or
//! of one flag or segment against the flag set it is in. Dependency cycles are found in
//! `cycles.rs`.

mod cycles;

use std::collections::HashSet;

use crate::catalog::Catalog;
use crate::condition::Condition;
use crate::document::{Compat, Document, Flag, FlagType, Segment};
use crate::error::{Error, Problem};
use crate::matcher::Matcher;
use crate::rule::{Rule, Serve};

/// Longest flag, segment, variant or environment name accepted.
pub const MAX_KEY_LEN: usize = 200;

/// Checks a document; `Err` lists every problem found.
pub fn validate(doc: &Document) -> Result<(), Error> {
    let mut v = Validator::new(doc, doc.compat);
    v.document(doc);
    v.result()
}

/// Checks one flag of `cat` as [`validate`] would check it in the whole document: its
/// variants, rules, segments, dependencies, and the dependency cycles through it. The
/// work grows with the flag and the flags it depends on, not with the flag set. A flag
/// `cat` does not have is fine.
pub fn validate_flag(cat: &dyn Catalog, key: &str) -> Result<(), Error> {
    let Some(flag) = cat.flag(key) else {
        return Ok(());
    };
    let mut v = Validator::new(cat, Compat::of(cat.compat(), flag.compat));
    v.flag(key, &flag);
    if v.native() {
        v.cycle_through(key);
    }
    v.result()
}

/// Checks one segment of `cat` as [`validate`] would.
pub fn validate_segment(cat: &dyn Catalog, name: &str) -> Result<(), Error> {
    let Some(segment) = cat.segment(name) else {
        return Ok(());
    };
    let mut v = Validator::new(cat, Compat::of(cat.compat(), segment.compat));
    v.segment(name, segment);
    v.result()
}

/// Checks a name used as a key: non-empty, at most [`MAX_KEY_LEN`] characters, no
/// control characters or surrounding spaces. Returns what is wrong.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".into());
    }
    if key.chars().count() > MAX_KEY_LEN {
        return Err(format!(
            "is {} characters long (at most {MAX_KEY_LEN} allowed)",
            key.chars().count()
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(format!("{key:?} contains control characters"));
    }
    if key.trim() != key {
        return Err(format!("{key:?} has leading or trailing spaces"));
    }
    Ok(())
}

/// Checks an environment name: letters, digits, `-` and `_`, at most 100 characters.
pub fn check_environment_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 100
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "environment name {name:?} is invalid (expected 1 to 100 letters, digits, '-' or '_')"
        ));
    }
    Ok(())
}

struct Validator<'d> {
    cat: &'d dyn Catalog,
    /// The semantics of the flag or segment being checked.
    compat: Compat,
    problems: Vec<Problem>,
}

impl<'d> Validator<'d> {
    fn new(cat: &'d dyn Catalog, compat: Compat) -> Validator<'d> {
        Validator {
            cat,
            compat,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn native(&self) -> bool {
        self.compat == Compat::Native
    }

    fn result(self) -> Result<(), Error> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.problems))
        }
    }

    fn document(&mut self, doc: &Document) {
        if doc.version != 1 {
            self.problem(
                "version",
                format!("unsupported version {} (expected 1)", doc.version),
            );
        }
        for (name, segment) in &doc.segments {
            self.compat = Compat::of(doc.compat, segment.compat);
            self.segment(name, segment);
        }
        for (key, flag) in &doc.flags {
            self.compat = Compat::of(doc.compat, flag.compat);
            self.flag(key, flag);
        }
        self.cycles(doc);
    }

    fn segment(&mut self, name: &str, segment: &Segment) {
        let path = format!("segments.{name}");
        if let Err(e) = check_key(name) {
            self.problem(&path, format!("segment name {e}"));
        }
        match segment.project.as_deref() {
            Some(crate::document::GLOBAL_PROJECT) | None => {}
            Some(p) => self.project_key(&path, p),
        }
        for (i, c) in segment.conditions.iter().enumerate() {
            self.condition(&format!("{path}.conditions[{i}]"), c);
        }
    }

    fn flag(&mut self, key: &str, flag: &Flag) {
        let path = format!("flags.{key}");
        if let Err(e) = check_key(key) {
            self.problem(&path, format!("flag key {e}"));
        }
        if let Some(p) = &flag.project {
            self.project_key(&path, p);
        }
        let mut names = HashSet::new();
        for (i, variant) in flag.variants.iter().enumerate() {
            let vpath = format!("{path}.variants[{i}]");
            if let Err(e) = check_key(&variant.name) {
                self.problem(format!("{vpath}.name"), format!("variant name {e}"));
            }
            if !names.insert(variant.name.as_str()) {
                self.problem(
                    format!("{vpath}.name"),
                    format!("variant {:?} is defined twice", variant.name),
                );
            }
            match &variant.value {
                Some(value) if variant.payload_type.is_none() && !flag.flag_type.accepts(value) => {
                    self.problem(
                        format!("{vpath}.value"),
                        format!(
                            "{value} is not a {} (the flag's type is {})",
                            flag.flag_type.as_str(),
                            flag.flag_type.as_str()
                        ),
                    )
                }
                None if flag.flag_type != FlagType::Boolean && self.native() => self.problem(
                    format!("{vpath}.value"),
                    format!("a {} flag's variants need a value", flag.flag_type.as_str()),
                ),
                _ => {}
            }
        }
        for (env_name, env) in &flag.environments {
            let epath = format!("{path}.environments.{env_name}");
            if let Err(e) = check_environment_name(env_name) {
                self.problem(&epath, e);
            }
            for (i, rule) in env.rules.iter().enumerate() {
                self.rule(&format!("{epath}.rules[{i}]"), rule, flag);
            }
            if let Some(serve) = &env.default {
                self.serve(&format!("{epath}.default"), serve, flag);
            }
            if let (Some(name), true) = (&env.off_variant, self.native()) {
                self.off_variant(&format!("{epath}.off_variant"), name, flag);
            }
            for (i, dep) in env.depends_on.iter().enumerate() {
                let dpath = format!("{epath}.depends_on[{i}]");
                if !self.native() {
                    // Unleash evaluates a missing parent or variant as unmet.
                    continue;
                }
                match self.cat.flag(&dep.flag) {
                    None => self.problem(
                        format!("{dpath}.flag"),
                        format!(
                            "depends on {:?}, which is not a flag in this document",
                            dep.flag
                        ),
                    ),
                    Some(_) if dep.flag == key => {
                        self.problem(format!("{dpath}.flag"), "a flag cannot depend on itself")
                    }
                    Some(parent) if parent.project() != flag.project() => self.problem(
                        format!("{dpath}.flag"),
                        format!(
                            "depends on {:?}, which belongs to project {:?}, not to this flag's project {:?}",
                            dep.flag,
                            parent.project(),
                            flag.project()
                        ),
                    ),
                    Some(parent) => {
                        for (j, v) in dep.variants.iter().enumerate() {
                            if !parent.variants.iter().any(|pv| &pv.name == v) {
                                self.problem(
                                    format!("{dpath}.variants[{j}]"),
                                    format!("{:?} has no variant {v:?}", dep.flag),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn rule(&mut self, path: &str, rule: &Rule, flag: &Flag) {
        for (i, c) in rule.conditions.iter().enumerate() {
            self.condition(&format!("{path}.conditions[{i}]"), c);
        }
        for (i, s) in rule.segments.iter().enumerate() {
            match self.cat.segment(s) {
                None if self.native() => {
                    let known = self.cat.segment_names();
                    self.problem(
                        format!("{path}.segments[{i}]"),
                        format!("unknown segment {s:?} (defined: {})", list_or_none(&known)),
                    );
                }
                Some(segment) if !segment.usable_in(flag.project()) => self.problem(
                    format!("{path}.segments[{i}]"),
                    format!(
                        "segment {s:?} belongs to project {:?}; a flag of project {:?} may use its own project's segments and global ones",
                        segment.project(),
                        flag.project()
                    ),
                ),
                _ => {}
            }
        }
        if let Some(p) = rule.rollout {
            if !(0..=100).contains(&p) && self.native() {
                self.problem(
                    format!("{path}.rollout"),
                    format!("rollout {p} is out of range (expected a percentage from 0 to 100)"),
                );
            }
        }
        if let Some(s) = &rule.stickiness {
            if s.is_empty() {
                self.problem(
                    format!("{path}.stickiness"),
                    "must be `default`, `random` or an attribute name",
                );
            }
        }
        if let Some(strategy) = &rule.strategy {
            if self.native() {
                self.problem(
                    format!("{path}.strategy"),
                    format!(
                        "custom strategy {:?} is only kept in documents imported from Unleash (compat: unleash)",
                        strategy.name
                    ),
                );
            }
        }
        if let Some(serve) = &rule.serve {
            self.serve(&format!("{path}.serve"), serve, flag);
        }
    }

    fn project_key(&mut self, path: &str, project: &str) {
        if let Err(e) = crate::limits::check_name(project) {
            self.problem(format!("{path}.project"), format!("project key {e}"));
        }
    }

    fn off_variant(&mut self, path: &str, name: &str, flag: &Flag) {
        if flag.flag_type == FlagType::Boolean {
            self.problem(
                path,
                "only string, number and json flags have an off variant (a boolean flag serves false when off)",
            );
        } else if !flag.variants.iter().any(|v| v.name == name) {
            let known: Vec<&str> = flag.variants.iter().map(|v| v.name.as_str()).collect();
            self.problem(
                path,
                format!(
                    "unknown variant {name:?} (the flag's variants: {})",
                    list_or_none(&known)
                ),
            );
        }
    }

    fn serve(&mut self, path: &str, serve: &Serve, flag: &Flag) {
        let known: Vec<&str> = flag.variants.iter().map(|v| v.name.as_str()).collect();
        let check_variant = |this: &mut Self, vpath: String, name: &str| {
            if !known.contains(&name) {
                this.problem(
                    vpath,
                    format!(
                        "unknown variant {name:?} (the flag's variants: {})",
                        list_or_none(&known)
                    ),
                );
            }
        };
        match (&serve.variant, serve.split.is_empty()) {
            (Some(_), false) => {
                self.problem(path, "give either `variant` or `split`, not both");
            }
            (None, true) if self.native() => {
                self.problem(
                    path,
                    "give a `variant` to serve or a `split` between variants",
                );
            }
            (Some(name), true) => check_variant(self, format!("{path}.variant"), name),
            _ => {}
        }
        let mut total: i64 = 0;
        for (i, w) in serve.split.iter().enumerate() {
            let wpath = format!("{path}.split[{i}]");
            check_variant(self, format!("{wpath}.variant"), &w.variant);
            if w.weight < 0 || w.weight > 1_000_000 {
                self.problem(
                    format!("{wpath}.weight"),
                    format!(
                        "weight {} is out of range (expected 0 to 1000000)",
                        w.weight
                    ),
                );
            } else {
                total += w.weight;
            }
            if let Some(value) = &w.value {
                if w.payload_type.is_none() && !flag.flag_type.accepts(value) {
                    self.problem(
                        format!("{wpath}.value"),
                        format!(
                            "{value} is not a {} (the flag's type is {})",
                            flag.flag_type.as_str(),
                            flag.flag_type.as_str()
                        ),
                    );
                }
            }
            for (j, o) in w.overrides.iter().enumerate() {
                if o.attribute.is_empty() {
                    self.problem(
                        format!("{wpath}.overrides[{j}].attribute"),
                        "must not be empty",
                    );
                }
            }
        }
        if !serve.split.is_empty() && total == 0 {
            self.problem(
                format!("{path}.split"),
                "the weights add up to 0 (at least one weight must be positive)",
            );
        }
    }

    fn condition(&mut self, path: &str, c: &Condition) {
        if let Err(e) = Matcher::compile(c, self.compat) {
            if self.native() {
                self.problem(format!("{path}.{}", e.field), e.message);
            }
        }
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
