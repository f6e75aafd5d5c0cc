//! What every page needs: the caller ([`Page`], an extractor that sends a caller without
//! a session to the login page), and the small helpers that make values safe in a page
//! (path encoding, JSON in a script block, bounded query parameters, a list's status
//! filter).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use crate::error::ApiError;
use crate::http::auth::policy::authenticate;
use crate::http::AppState;
use crate::identity::{Principal, Role, Who};

/// A logged-in user (or admin-token holder) viewing a page. Without a session the page
/// redirects to the login page, which comes back here afterwards.
#[derive(Debug)]
pub struct Page {
    pub who: Principal,
    pub role: Role,
}

impl Page {
    pub fn can_edit(&self) -> bool {
        self.role >= Role::Editor
    }

    pub fn is_admin(&self) -> bool {
        self.role >= Role::Admin
    }

    /// Whether this user may change `environment` in `project` (protected ones need an
    /// admin or a grant).
    pub fn may_change(&self, project: &str, environment: &str, protected: bool) -> bool {
        self.can_edit() && self.who.may_change(project, environment, protected)
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
            Ok(who) => match who.role() {
                Some(role) => Ok(Page { who, role }),
                None => Err(ApiError::Forbidden(
                    "the web UI is for users; SDK tokens cannot open it".into(),
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
