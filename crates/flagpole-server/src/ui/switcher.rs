//! The project switcher: the select in every page's header, and the project it chose.
//! The choice travels as `?project=KEY` (`all`: every project), which the UI keeps in a
//! cookie so every page after it shows the same project; a page without the parameter
//! reads the cookie. A project the caller does not reach counts as every project.

use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};

use crate::http::auth::policy::cookie;

/// The cookie that keeps the switcher's choice.
pub const COOKIE: &str = "flagpole_project";

/// The choice that shows every project the caller reaches.
pub const ALL: &str = "all";

/// The project a request chose among `reachable` (key and name): `?project=`, else the
/// cookie; `None` for every project.
pub fn chosen(parts: &Parts, reachable: &[(String, String)]) -> Option<String> {
    let asked = asked(parts.uri.query()).or_else(|| cookie(parts, COOKIE))?;
    (reachable.iter())
        .find(|(key, _)| key == asked)
        .map(|(key, _)| key.clone())
}

/// The `project` query parameter, when it is a project key (or `all`).
pub fn asked(query: Option<&str>) -> Option<&str> {
    let value = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("project="))?;
    flagpole_core::limits::check_name(value)
        .ok()
        .map(|()| value)
}

/// Keeps the choice of a `?project=` request in the cookie.
pub fn remember(query: Option<&str>, headers: &mut HeaderMap) {
    let Some(project) = asked(query) else {
        return;
    };
    let cookie = format!("{COOKIE}={project}; Path=/; SameSite=Strict; Max-Age=31536000");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.append(SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_project_keys_are_asked_for() {
        assert_eq!(asked(Some("env=x&project=alpha")), Some("alpha"));
        assert_eq!(asked(Some("project=all")), Some("all"));
        assert_eq!(asked(Some("project=a%20b")), None);
        assert_eq!(asked(Some("project=")), None);
        assert_eq!(asked(None), None);
    }
}
