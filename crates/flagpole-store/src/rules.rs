//! The rules every backend applies the same way: the optimistic [`Expect`] check, the
//! clock's precision, the audit limit, JSON encoding of stored documents, and the adding
//! up of usage counts.
//!
//! Backends differ only in SQL; keeping these decisions here is what makes the
//! conformance suite pass identically on each of them.

use std::collections::btree_map::{BTreeMap, Entry};

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;

use crate::error::Error;
use crate::records::{AuditFilter, Expect, UsageCount};

/// The kinds of record errors name.
pub(crate) const FLAG: &str = "flag";
pub(crate) const SEGMENT: &str = "segment";
pub(crate) const ENVIRONMENT: &str = "environment";
pub(crate) const USAGE: &str = "usage";
pub(crate) const PROJECT: &str = "project";
pub(crate) const USER: &str = "user";
pub(crate) const MEMBER: &str = "member";

/// How many audit entries a read returns when the filter does not say.
pub(crate) const DEFAULT_AUDIT_LIMIT: i64 = 100;
/// The most audit entries one read returns.
pub(crate) const MAX_AUDIT_LIMIT: i64 = 1000;

/// What a write found stored under its key, for the optimistic check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Current {
    pub(crate) version: i64,
    pub(crate) archived: bool,
}

/// Checks what a create, update or overwrite expects against what is stored.
///
/// `Absent` conflicts with any stored row (an archived flag exists too); `Version(v)`
/// needs a stored row at exactly `v`; `Any` accepts anything.
pub(crate) fn check_put(
    kind: &'static str,
    name: &str,
    current: Option<Current>,
    expect: Expect,
) -> Result<(), Error> {
    match (expect, current) {
        (Expect::Any, _) | (Expect::Absent, None) => Ok(()),
        (Expect::Absent, Some(current)) => Err(Error::Conflict {
            kind,
            name: name.to_owned(),
            detail: if current.archived {
                "already exists (archived; unarchive it or choose another key)".to_owned()
            } else {
                format!("already exists (version {})", current.version)
            },
        }),
        (Expect::Version(_), None) => Err(not_found(kind, name)),
        (Expect::Version(expected), Some(current)) if current.version != expected => {
            Err(Error::Conflict {
                kind,
                name: name.to_owned(),
                detail: format!(
                    "has version {}, not {expected} (reload and retry)",
                    current.version
                ),
            })
        }
        (Expect::Version(_), Some(_)) => Ok(()),
    }
}

/// Checks a deletion: there must be something to delete, at the expected version.
pub(crate) fn check_delete(
    kind: &'static str,
    name: &str,
    current: Option<Current>,
    expect: Expect,
) -> Result<(), Error> {
    match current {
        None => Err(not_found(kind, name)),
        Some(current) => check_put(kind, name, Some(current), expect),
    }
}

pub(crate) fn not_found(kind: &'static str, name: &str) -> Error {
    Error::NotFound {
        kind,
        name: name.to_owned(),
    }
}

pub(crate) fn conflict(kind: &'static str, name: &str, detail: &str) -> Error {
    Error::Conflict {
        kind,
        name: name.to_owned(),
        detail: detail.to_owned(),
    }
}

/// Refuses a project key that does not follow [`flagpole_core::check_name`] (so no project
/// is called `*`, which names every project).
pub(crate) fn check_project_key(key: &str) -> Result<(), Error> {
    flagpole_core::check_name(key).map_err(|detail| Error::Invalid {
        what: "project key".to_owned(),
        detail,
    })
}

/// Refuses to delete project `key` while it holds flags (archived or not) or segments.
pub(crate) fn check_project_empty(key: &str, flags: i64, segments: i64) -> Result<(), Error> {
    if flags == 0 && segments == 0 {
        return Ok(());
    }
    let detail = format!(
        "still holds {} and {} (move or delete them first)",
        counted(flags, FLAG),
        counted(segments, SEGMENT)
    );
    Err(conflict(PROJECT, key, &detail))
}

/// `n` of `what`, in words: `1 flag`, `2 flags`.
fn counted(n: i64, what: &str) -> String {
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {what}{plural}")
}

/// The current time at the precision both backends store (microseconds), so that what a
/// write records and what a later read returns compare equal.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The number of audit entries a filter asks for, within bounds.
pub(crate) fn audit_limit(filter: &AuditFilter) -> i64 {
    filter
        .limit
        .unwrap_or(DEFAULT_AUDIT_LIMIT)
        .clamp(0, MAX_AUDIT_LIMIT)
}

/// A flag or segment as the JSON text stored in its row.
pub(crate) fn to_text<T: Serialize>(
    kind: &'static str,
    name: &str,
    value: &T,
) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|source| Error::Encode {
        kind,
        name: name.to_owned(),
        source,
    })
}

/// Parses a stored JSON document, reporting which record was unreadable.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    name: &str,
    text: &str,
) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|source| Error::Corrupt {
        kind,
        name: name.to_owned(),
        source,
    })
}

/// The counts of one usage report, one per flag, in flag order (byte order): a flag
/// reported twice is added up. Backends write (and, in PostgreSQL, lock) the rows in this
/// order, so that concurrent reports cannot deadlock.
pub(crate) fn usage_by_flag(counts: &[UsageCount]) -> Result<Vec<UsageCount>, Error> {
    for count in counts {
        check_name("usage flag name", &count.flag)?;
        for variant in count.variants.keys() {
            check_name("usage variant name", variant)?;
        }
    }
    Ok(usage_by_flag_unchecked(counts))
}

/// Refuses names with control characters (NUL among them), which PostgreSQL's text
/// cannot hold and no backend should: every backend refuses the same names.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), Error> {
    match name.chars().find(|c| c.is_control()) {
        Some(c) => Err(Error::Invalid {
            what: what.to_string(),
            detail: format!("{name:?} contains the control character U+{:04X}", c as u32),
        }),
        None => Ok(()),
    }
}

fn usage_by_flag_unchecked(counts: &[UsageCount]) -> Vec<UsageCount> {
    let mut by_flag: BTreeMap<&str, UsageCount> = BTreeMap::new();
    for count in counts {
        match by_flag.entry(&count.flag) {
            Entry::Vacant(entry) => {
                entry.insert(count.clone());
            }
            Entry::Occupied(mut entry) => add_usage(entry.get_mut(), count),
        }
    }
    by_flag.into_values().collect()
}

/// Adds `more` to `total`: yes, no and each variant's count. Sums saturate at the bounds
/// of `i64` rather than overflow (as they do in PostgreSQL's upsert).
pub(crate) fn add_usage(total: &mut UsageCount, more: &UsageCount) {
    total.yes = total.yes.saturating_add(more.yes);
    total.no = total.no.saturating_add(more.no);
    for (variant, count) in &more.variants {
        let sum = total.variants.entry(variant.clone()).or_insert(0);
        *sum = sum.saturating_add(*count);
    }
}

/// Flags whose current version has no row in `flag_versions` (at most ten); the same SQL
/// on every backend.
pub(crate) const FLAGS_WITHOUT_CURRENT_VERSION: &str = "SELECT key FROM flags f WHERE NOT EXISTS \
     (SELECT 1 FROM flag_versions v WHERE v.key = f.key AND v.version = f.version) ORDER BY key LIMIT 10";

/// The store's own consistency check, on the result of [`FLAGS_WITHOUT_CURRENT_VERSION`].
pub(crate) fn check_flags_have_versions(broken: &[String]) -> Result<(), Error> {
    if broken.is_empty() {
        return Ok(());
    }
    Err(Error::Integrity {
        detail: format!(
            "flags without a stored current version: {}",
            broken.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::count as usage;

    fn at(version: i64) -> Option<Current> {
        Some(Current {
            version,
            archived: false,
        })
    }

    #[test]
    fn absent_conflicts_with_any_stored_row() {
        assert!(check_put("flag", "a", None, Expect::Absent).is_ok());
        assert!(matches!(
            check_put("flag", "a", at(1), Expect::Absent),
            Err(Error::Conflict { .. })
        ));
        let archived = Some(Current {
            version: 3,
            archived: true,
        });
        let err =
            check_put("flag", "a", archived, Expect::Absent).expect_err("archived flags exist");
        assert!(err.to_string().contains("archived"), "{err}");
    }

    #[test]
    fn version_mismatch_says_what_is_stored() {
        let err = check_put("flag", "a", at(4), Expect::Version(3)).expect_err("stale version");
        assert_eq!(
            err.to_string(),
            r#"flag "a" has version 4, not 3 (reload and retry)"#
        );
        assert!(check_put("flag", "a", at(3), Expect::Version(3)).is_ok());
        assert!(matches!(
            check_put("flag", "a", None, Expect::Version(3)),
            Err(Error::NotFound { .. })
        ));
    }

    #[test]
    fn deleting_nothing_is_not_found_whatever_the_expectation() {
        for expect in [Expect::Any, Expect::Absent, Expect::Version(1)] {
            assert!(matches!(
                check_delete("flag", "a", None, expect),
                Err(Error::NotFound { .. })
            ));
        }
        assert!(check_delete("flag", "a", at(2), Expect::Any).is_ok());
    }

    #[test]
    fn a_project_with_flags_or_segments_is_not_deleted() {
        assert!(check_project_empty("p", 0, 0).is_ok());
        let refused = check_project_empty("p", 1, 2).expect_err("not empty");
        assert!(matches!(refused, Error::Conflict { .. }), "{refused:?}");
        assert_eq!(
            refused.to_string(),
            r#"project "p" still holds 1 flag and 2 segments (move or delete them first)"#
        );
        let refused = check_project_empty("p", 3, 0).expect_err("not empty");
        assert!(
            refused.to_string().contains("3 flags and 0 segments"),
            "{refused}"
        );
    }

    #[test]
    fn project_keys_follow_the_name_rule() {
        assert!(check_project_key("team-a.web_1").is_ok());
        for key in ["*", "", "a b", "a/b", "-a"] {
            let refused = check_project_key(key);
            assert!(matches!(refused, Err(Error::Invalid { .. })), "{key:?}");
        }
    }

    #[test]
    fn audit_limit_defaults_and_clamps() {
        let limit = |limit| {
            audit_limit(&AuditFilter {
                limit,
                ..AuditFilter::default()
            })
        };
        assert_eq!(limit(None), 100);
        assert_eq!(limit(Some(5)), 5);
        assert_eq!(limit(Some(5000)), 1000);
        assert_eq!(limit(Some(-1)), 0);
    }

    #[test]
    fn usage_is_added_up_per_flag_in_flag_order() {
        let counts = [
            usage("b", 1, 2, &[("x", 1)]),
            usage("a", 5, 0, &[]),
            usage("b", 10, 20, &[("x", 2), ("y", 3)]),
        ];
        assert_eq!(
            usage_by_flag(&counts).unwrap_or_default(),
            [
                usage("a", 5, 0, &[]),
                usage("b", 11, 22, &[("x", 3), ("y", 3)])
            ]
        );
        assert!(usage_by_flag(&[]).unwrap_or_default().is_empty());
    }

    #[test]
    fn control_characters_in_usage_names_are_refused() {
        for name in ["a\0b", "tab\there", "\u{7f}"] {
            let refused = usage_by_flag(&[usage(name, 1, 0, &[])]);
            assert!(matches!(refused, Err(Error::Invalid { .. })), "{name:?}");
            let refused = usage_by_flag(&[usage("ok", 1, 0, &[(name, 1)])]);
            assert!(matches!(refused, Err(Error::Invalid { .. })), "{name:?}");
        }
        assert!(usage_by_flag(&[usage("naïve-✓", 1, 0, &[])]).is_ok());
    }

    #[test]
    fn usage_sums_saturate() {
        let mut total = usage("a", i64::MAX - 1, 1, &[("x", i64::MAX)]);
        add_usage(&mut total, &usage("a", 5, 1, &[("x", 1), ("y", 1)]));
        assert_eq!(total, usage("a", i64::MAX, 2, &[("x", i64::MAX), ("y", 1)]));
    }
}
