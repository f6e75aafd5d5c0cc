//! Protected environments: which environments a change touches, and whether the caller
//! may change them. Checked on the one write path ([`super::commit_flag`],
//! [`super::commit_segment`], imports), so every route that writes is covered.

use std::collections::BTreeSet;

use flagpole_core::{Document, Flag};

use crate::error::ApiError;
use crate::identity::{Principal, Role};
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

/// 403 unless `who` is an editor of `project` and may change every protected
/// environment in `touched` there.
pub fn check(
    published: &Published,
    who: &Principal,
    project: &str,
    touched: &BTreeSet<String>,
) -> Result<(), ApiError> {
    check_project(who, project, Role::Editor)?;
    for env in touched {
        let protected = published.protected(project, env);
        if !who.may_change(project, env, protected) {
            return Err(ApiError::Forbidden(format!(
                "{env} is a protected environment: only admins, or users and tokens granted {env}, may change it"
            )));
        }
    }
    Ok(())
}

/// 403 unless `who` has at least `role` in `project`.
pub fn check_project(who: &Principal, project: &str, role: Role) -> Result<(), ApiError> {
    if who.may(project, role) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "this needs the {} role in project {project:?}",
        role.as_str()
    )))
}

/// 403 unless `who` may move a flag from project `from` to `to`: admin rights in both.
pub fn check_move(who: &Principal, from: &str, to: &str) -> Result<(), ApiError> {
    if from == to {
        return Ok(());
    }
    if who.may(from, Role::Admin) && who.may(to, Role::Admin) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "moving a flag from project {from:?} to {to:?} needs the admin role in both"
    )))
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
