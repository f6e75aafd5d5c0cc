//! What validation, the limits and compilation read of a flag set, so that a change to
//! one flag or segment can be checked and compiled against the rest without a whole
//! [`Document`]: a [`Document`] is one catalog, the server's published state another,
//! and [`Pending`] is either with one change applied. The [`Totals`] a catalog keeps
//! are counted here too (the REGEX counts the limits bound).

use std::borrow::Cow;

use crate::condition::{Condition, Operator};
use crate::document::{Compat, Document, Flag, Segment};

/// A read-only view of a flag set: its flags and segments by name, case-insensitive
/// name lookups and the totals the limits bound.
pub trait Catalog {
    /// The document-wide semantics (a flag's or segment's own `compat` may add to it).
    fn compat(&self) -> Compat {
        Compat::Native
    }

    /// A live flag: borrowed where the catalog holds it parsed, owned where it keeps it
    /// compact and parses it on demand (the server's published state).
    fn flag(&self, key: &str) -> Option<Cow<'_, Flag>>;

    /// A segment.
    fn segment(&self, name: &str) -> Option<&Segment>;

    /// Every segment name, for messages (only read when something is wrong).
    fn segment_names(&self) -> Vec<&str>;

    /// A flag whose key is `lower` when lower-cased.
    fn flag_twin(&self, lower: &str) -> Option<&str>;

    /// A segment whose name is `lower` when lower-cased.
    fn segment_twin(&self, lower: &str) -> Option<&str>;

    /// The totals of the flag set.
    fn totals(&self) -> Totals;
}

/// What the document-wide limits count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub flags: usize,
    pub segments: usize,
    /// REGEX conditions in flags and segments.
    pub regexes: usize,
}

impl Catalog for Document {
    fn compat(&self) -> Compat {
        self.compat
    }

    fn flag(&self, key: &str) -> Option<Cow<'_, Flag>> {
        self.flags.get(key).map(Cow::Borrowed)
    }

    fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.get(name)
    }

    fn segment_names(&self) -> Vec<&str> {
        self.segments.keys().map(String::as_str).collect()
    }

    fn flag_twin(&self, lower: &str) -> Option<&str> {
        self.flags
            .keys()
            .find(|k| k.to_ascii_lowercase() == lower)
            .map(String::as_str)
    }

    fn segment_twin(&self, lower: &str) -> Option<&str> {
        self.segments
            .keys()
            .find(|k| k.to_ascii_lowercase() == lower)
            .map(String::as_str)
    }

    fn totals(&self) -> Totals {
        Totals {
            flags: self.flags.len(),
            segments: self.segments.len(),
            regexes: document_regexes(self),
        }
    }
}

/// One change to a flag set: a flag or segment written (`Some`) or removed (`None`).
#[derive(Clone, Copy, Debug)]
pub enum Item<'a> {
    Flag(&'a str, Option<&'a Flag>),
    Segment(&'a str, Option<&'a Segment>),
}

/// A catalog with one change applied, for checking the change before it is made.
pub struct Pending<'a> {
    pub base: &'a dyn Catalog,
    pub item: Item<'a>,
}

impl std::fmt::Debug for Pending<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("item", &self.item)
            .finish_non_exhaustive()
    }
}

impl Catalog for Pending<'_> {
    fn compat(&self) -> Compat {
        self.base.compat()
    }

    fn flag(&self, key: &str) -> Option<Cow<'_, Flag>> {
        match self.item {
            Item::Flag(k, flag) if k == key => flag.map(Cow::Borrowed),
            _ => self.base.flag(key),
        }
    }

    fn segment(&self, name: &str) -> Option<&Segment> {
        match self.item {
            Item::Segment(n, segment) if n == name => segment,
            _ => self.base.segment(name),
        }
    }

    fn segment_names(&self) -> Vec<&str> {
        let mut names = self.base.segment_names();
        if let Item::Segment(name, segment) = self.item {
            names.retain(|n| *n != name);
            if segment.is_some() {
                names.push(name);
            }
        }
        names
    }

    fn flag_twin(&self, lower: &str) -> Option<&str> {
        match self.item {
            Item::Flag(k, Some(_)) if k.to_ascii_lowercase() == lower => Some(k),
            Item::Flag(k, None) => self.base.flag_twin(lower).filter(|t| *t != k),
            _ => self.base.flag_twin(lower),
        }
    }

    fn segment_twin(&self, lower: &str) -> Option<&str> {
        match self.item {
            Item::Segment(n, Some(_)) if n.to_ascii_lowercase() == lower => Some(n),
            Item::Segment(n, None) => self.base.segment_twin(lower).filter(|t| *t != n),
            _ => self.base.segment_twin(lower),
        }
    }

    fn totals(&self) -> Totals {
        let mut t = self.base.totals();
        match self.item {
            Item::Flag(key, flag) => {
                let old = self.base.flag(key);
                t.flags = (t.flags + usize::from(flag.is_some()))
                    .saturating_sub(usize::from(old.is_some()));
                t.regexes = (t.regexes + flag.map_or(0, flag_regexes))
                    .saturating_sub(old.map_or(0, |f| flag_regexes(&f)));
            }
            Item::Segment(name, segment) => {
                let old = self.base.segment(name);
                t.segments = (t.segments + usize::from(segment.is_some()))
                    .saturating_sub(usize::from(old.is_some()));
                t.regexes = (t.regexes + segment.map_or(0, |s| regexes(&s.conditions)))
                    .saturating_sub(old.map_or(0, |s| regexes(&s.conditions)));
            }
        }
        t
    }
}

/// The REGEX conditions among `conditions` (what `MAX_REGEXES` counts).
pub fn regexes(conditions: &[Condition]) -> usize {
    conditions
        .iter()
        .filter(|c| c.operator == Operator::Regex)
        .count()
}

/// The REGEX conditions in a flag's rules, every environment together.
pub fn flag_regexes(flag: &Flag) -> usize {
    flag.environments
        .values()
        .flat_map(|e| e.rules.iter())
        .map(|r| regexes(&r.conditions))
        .sum()
}

/// The REGEX conditions in a whole document, flags and segments.
fn document_regexes(doc: &Document) -> usize {
    let flags: usize = doc.flags.values().map(flag_regexes).sum();
    flags
        + doc
            .segments
            .values()
            .map(|s| regexes(&s.conditions))
            .sum::<usize>()
}
