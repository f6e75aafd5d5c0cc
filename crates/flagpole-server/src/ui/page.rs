//! What every page needs: the caller ([`Page`], an extractor that sends a caller without
//! a session to the login page, with the projects it reaches and the one the switcher
//! chose), and the small helpers that make values safe in a page (path encoding, JSON in
//! a script block, bounded query parameters, a list's status filter).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use flagpole_core::{Scope, GLOBAL_PROJECT};

use super::switcher;
use crate::error::ApiError;
use crate::http::auth::policy::authenticate;
use crate::http::AppState;
use crate::identity::{Principal, Role, Who};

/// A logged-in user (or admin-token holder) viewing a page. Without a session the page
/// redirects to the login page, which comes back here afterwards.
#[derive(Debug)]
pub struct Page {
    pub who: Principal,
    /// The highest role the caller has anywhere: server-wide, or in one of its projects.
    pub role: Role,
    /// The projects the caller reads.
    pub scope: Scope,
    /// The projects the switcher offers, key and name, in key order.
    pub projects: Vec<(String, String)>,
    /// The project the switcher chose; `None`: every project the caller reaches.
    pub project: Option<String>,
    /// The page's path, where the switcher comes back to.
    pub path: String,
}

impl Page {
    /// Whether the caller is an editor somewhere (of some project, or server-wide).
    pub fn can_edit(&self) -> bool {
        self.role >= Role::Editor
    }

    /// Whether the caller is a server-wide editor (the review routes need one).
    pub fn is_editor(&self) -> bool {
        self.who.role() >= Some(Role::Editor)
    }

    /// Whether the caller is a server-wide admin.
    pub fn is_admin(&self) -> bool {
        self.who.role() >= Some(Role::Admin)
    }

    /// Whether the caller has at least `role` in `project`.
    pub fn may(&self, project: &str, role: Role) -> bool {
        self.who.may(project, role)
    }

    /// Whether this user may change `environment` in `project` (protected ones need an
    /// admin or a grant).
    pub fn may_change(&self, project: &str, environment: &str, protected: bool) -> bool {
        self.may(project, Role::Editor) && self.who.may_change(project, environment, protected)
    }

    /// Whether the page shows what belongs to `project` (`*`: a global segment): the
    /// caller reads it, and it is the switcher's project (global ones belong to all).
    pub fn shows(&self, project: &str) -> bool {
        let global = project == GLOBAL_PROJECT;
        (global || self.scope.contains(project))
            && self
                .project
                .as_deref()
                .is_none_or(|p| global || p == project)
    }

    /// Whether the page shows an audit entry of `project` (`None`: of no project, such as
    /// an environment's, shown to server-wide roles and only with every project).
    pub fn shows_entry(&self, project: Option<&str>) -> bool {
        match project {
            Some(p) => self.shows(p),
            None => self.scope.is_all() && self.project.is_none(),
        }
    }

    /// The projects (key and name) in which the caller has at least `role`, the
    /// switcher's first.
    pub fn projects_with(&self, role: Role) -> Vec<(&str, &str)> {
        let mut list: Vec<(&str, &str)> = (self.projects.iter())
            .filter(|(key, _)| self.may(key, role))
            .map(|(key, name)| (key.as_str(), name.as_str()))
            .collect();
        list.sort_by_key(|(key, _)| Some(*key) != self.project.as_deref());
        list
    }

    pub fn name(&self) -> &str {
        match &self.who.who {
            Who::User { user, .. } => &user.name,
            Who::Token(t) => &t.name,
            _ => "",
        }
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        match authenticate(parts, state).await {
            Ok(who) => match who.best_role() {
                Some(role) => {
                    let scope = who.scope().into_owned();
                    let projects: Vec<(String, String)> = (state.published().projects.values())
                        .filter(|p| scope.contains(&p.key))
                        .map(|p| (p.key.clone(), p.name.clone()))
                        .collect();
                    let project = switcher::chosen(parts, &projects);
                    Ok(Page {
                        who,
                        role,
                        scope,
                        projects,
                        project,
                        path: parts.uri.path().to_string(),
                    })
                }
                None => Err(ApiError::Forbidden(
                    "the web UI is for users with a role, server-wide or in a project; SDK tokens cannot open it".into(),
                )
                .into_response()),
            },
            Err(ApiError::Unauthorized(_)) => {
                Err(Redirect::to(&format!("/login?next={}", encode(&here))).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value safe to embed in a `<script type="application/json">` block.
pub fn json_data(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The UI's query parameters, bounded: at most `max` characters.
pub fn bounded(value: Option<String>, max: usize) -> Option<String> {
    value
        .map(|v| v.trim().chars().take(max).collect::<String>())
        .filter(|v| !v.is_empty())
}

/// A list page's status filter: `first` when the query names none (what most likely
/// brought the visitor), every status for `?status=`, else one of `statuses`.
pub fn status_filter(query: Option<String>, first: &str, statuses: &[&str]) -> Option<String> {
    match query {
        None => Some(first.to_string()),
        Some(s) => bounded(Some(s), 20).filter(|s| statuses.contains(&s.as_str())),
    }
}

/// The status filter's field: "Any", then each status, `current` selected.
pub fn status_select(current: Option<&str>, statuses: &[&str]) -> Markup {
    html! {
        label { span { "Status" }
            select name="status" {
                option value="" selected[current.is_none()] { "Any" }
                @for s in statuses { option value=(s) selected[current == Some(*s)] { (s) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_data_cannot_close_its_script() {
        let text = json_data(&serde_json::json!({"a": "</script><b>&"}));
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(back["a"], "</script><b>&");
    }

    #[test]
    fn encode_keeps_paths_readable() {
        assert_eq!(encode("/flag/a b?env=x"), "/flag/a%20b%3Fenv%3Dx");
    }
}
