//! Protected environments: which environments a change touches, and whether the caller
//! may change them. Checked on the one write path ([`super::commit_flag`],
//! [`super::commit_segment`], imports), so every route that writes is covered.

use std::collections::BTreeSet;

use flagpole_core::{Document, Flag};

use crate::error::ApiError;
use crate::identity::Principal;
use crate::published::Published;

/// The environments whose served configuration a flag change alters. `None` is a flag
/// not served (absent, deleted or archived). A change to anything but the per-environment
/// configuration (type, variants, …) touches every environment the flag is configured in.
pub fn flag_touches(before: Option<&Flag>, after: Option<&Flag>) -> BTreeSet<String> {
    let configured = |f: Option<&Flag>| {
        f.into_iter()
            .flat_map(|f| f.environments.keys().cloned())
            .collect::<BTreeSet<_>>()
    };
    let mut all = configured(before);
    all.extend(configured(after));
    let (Some(b), Some(a)) = (before, after) else {
        return all;
    };
    if !b.same_except_environments(a) {
        return all;
    }
    all.into_iter()
        .filter(|env| b.environments.get(env) != a.environments.get(env))
        .collect()
}

/// The environments in which a live flag uses the segment `name`.
pub fn segment_touches(published: &Published, name: &str) -> BTreeSet<String> {
    let users = published
        .segment_users(name)
        .filter_map(|key| published.live_flag(key))
        .collect::<Vec<_>>();
    using_segment(users.iter(), name)
}

/// The environments in which a flag of `doc` uses the segment `name` (imports, which
/// check a whole merged document).
pub fn segment_touches_in(doc: &Document, name: &str) -> BTreeSet<String> {
    using_segment(doc.flags.values(), name)
}

/// The environments in which any of `flags` has a rule naming the segment.
fn using_segment<'f>(flags: impl Iterator<Item = &'f Flag>, name: &str) -> BTreeSet<String> {
    flags
        .flat_map(|f| f.environments.iter())
        .filter(|(_, config)| {
            config
                .rules
                .iter()
                .any(|r| r.segments.iter().any(|s| s == name))
        })
        .map(|(env, _)| env.clone())
        .collect()
}

/// 403 unless `who` may change every protected environment in `touched`.
pub fn check(
    published: &Published,
    who: &Principal,
    touched: &BTreeSet<String>,
) -> Result<(), ApiError> {
    for env in touched {
        let protected = published
            .environments
            .iter()
            .any(|e| &e.name == env && e.protected);
        if !who.may_change(env, protected) {
            return Err(ApiError::Forbidden(format!(
                "{env} is a protected environment: only admins, or users and tokens granted {env}, may change it"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(json: &str) -> Flag {
        serde_json::from_str(json).expect("flag")
    }

    #[test]
    fn a_change_in_one_environment_touches_only_it() {
        let before = flag(
            r#"{"environments": {"production": {"enabled": true}, "development": {"enabled": true}}}"#,
        );
        let after = flag(
            r#"{"environments": {"production": {"enabled": true}, "development": {"enabled": false}}}"#,
        );
        let touched = flag_touches(Some(&before), Some(&after));
        assert_eq!(touched.into_iter().collect::<Vec<_>>(), ["development"]);
    }

    #[test]
    fn a_change_outside_environments_touches_every_configured_one() {
        let before = flag(
            r#"{"description": "a", "environments": {"production": {"enabled": true}, "development": {"enabled": true}}}"#,
        );
        let after = flag(
            r#"{"description": "b", "environments": {"production": {"enabled": true}, "development": {"enabled": true}}}"#,
        );
        assert_eq!(flag_touches(Some(&before), Some(&after)).len(), 2);
        assert_eq!(flag_touches(Some(&before), None).len(), 2);
        assert_eq!(flag_touches(None, Some(&after)).len(), 2);
    }
}
