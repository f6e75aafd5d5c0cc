//! Making tokens and users: checking what the caller asked for, generating the secret,
//! and the first admin user and token of a new database. The API, the offline CLI and
//! first start all go through here.

use chrono::{DateTime, Utc};
use flagpole_core::Problem;
use flagpole_store::{TokenRecord, UserRecord};
use serde::Deserialize;

use super::directory::{Kind, Role};
use super::secret;
use crate::error::ApiError;

/// Longest token or user name, and bounds on passwords and given secrets.
pub const MAX_NAME: usize = 100;
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 1024;
pub const MIN_SECRET: usize = 8;
pub const MAX_SECRET: usize = 512;
/// Most origins or grants one token or user carries.
pub const MAX_LIST: usize = 100;

/// A token to create, as the API and the CLI take it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// `client`, `frontend` or `admin`.
    pub kind: String,
    /// Required for `client` and `frontend` tokens.
    pub environment: Option<String>,
    /// Required for `admin` tokens: `viewer`, `editor` or `admin`.
    pub role: Option<String>,
    /// Browser origins a `frontend` token may be used from (`https://app.example.com`,
    /// or `*` for any).
    #[serde(default)]
    pub origins: Vec<String>,
    /// Protected environments an `editor` token may change.
    #[serde(default)]
    pub grants: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The token's text, to move existing SDKs over unchanged (e.g. an Unleash token
    /// `project:environment.secret`, which also gives the environment and projects
    /// when they are left out); generated when absent.
    pub secret: Option<String>,
    /// The projects the token reaches (`*`: every one, the default).
    pub projects: Option<Vec<String>>,
    /// An admin token of a service account, rather than the creating person's own.
    #[serde(default)]
    pub service_account: bool,
}

/// Checks `new` and makes its record and its text (shown once, never stored).
pub fn token(
    new: &NewToken,
    created_by: &str,
    known_environment: impl Fn(&str) -> bool,
) -> Result<(TokenRecord, String), ApiError> {
    let mut problems = Vec::new();
    let mut problem = |path: &str, message: String| {
        problems.push(Problem {
            path: path.into(),
            message,
        })
    };
    check_name(&new.name, &mut problem);
    let kind = Kind::parse(&new.kind);
    // An Unleash-format secret keeps its Unleash meaning.
    let unleash = new
        .secret
        .as_deref()
        .and_then(flagpole_core::unleash_token_scope);
    let sdk = matches!(kind, Some(Kind::Client | Kind::Frontend));
    // The environment given wins over the one the secret's text names (a token moved
    // from Unleash may have been bound elsewhere than its text says).
    let environment = match (&new.environment, &unleash) {
        (None, Some((_, named))) if sdk => Some(named.to_string()),
        (env, _) => env.clone(),
    };
    let projects = match (&new.projects, &unleash) {
        (Some(list), _) => list.clone(),
        (None, Some((scope, _))) if sdk => scope.to_list(),
        (None, _) => vec![flagpole_core::GLOBAL_PROJECT.to_string()],
    };
    if projects.is_empty() || projects.len() > MAX_LIST {
        problem(
            "projects",
            format!("1 to {MAX_LIST} project keys, or [\"*\"] for every project"),
        );
    }
    for (i, p) in projects.iter().enumerate() {
        if p != flagpole_core::GLOBAL_PROJECT && flagpole_core::check_name(p).is_err() {
            problem(
                &format!("projects[{i}]"),
                format!("{p:?} is not a project key (or *)"),
            );
        }
    }
    if new.service_account && kind != Some(Kind::Admin) {
        problem(
            "service_account",
            "only admin tokens belong to a service account or a person".into(),
        );
    }
    if kind.is_none() {
        problem(
            "kind",
            format!("must be client, frontend or admin, not {:?}", new.kind),
        );
    }
    match (kind, &environment) {
        (Some(Kind::Client | Kind::Frontend), None) => problem(
            "environment",
            "a client or frontend token is bound to one environment; name it".into(),
        ),
        (Some(Kind::Client | Kind::Frontend), Some(env)) if !known_environment(env) => {
            problem("environment", format!("there is no environment {env:?}"))
        }
        (Some(Kind::Admin), Some(_)) => problem(
            "environment",
            "admin tokens are not bound to an environment; leave it out".into(),
        ),
        _ => {}
    }
    match (kind, new.role.as_deref()) {
        (Some(Kind::Admin), None) => problem(
            "role",
            "an admin token needs a role: viewer, editor or admin".into(),
        ),
        (Some(Kind::Admin), Some(r)) if Role::parse(r).is_none() => problem(
            "role",
            format!("must be viewer, editor or admin, not {r:?}"),
        ),
        (Some(Kind::Client | Kind::Frontend), Some(_)) => {
            problem("role", "only admin tokens have a role".into())
        }
        _ => {}
    }
    if kind != Some(Kind::Frontend) && !new.origins.is_empty() {
        problem(
            "origins",
            "only frontend tokens have allowed origins".into(),
        );
    }
    for (i, origin) in new.origins.iter().enumerate() {
        if !is_origin(origin) {
            problem(&format!("origins[{i}]"), format!("{origin:?} is not an origin such as https://app.example.com (scheme and host, no path), or *"));
        }
    }
    check_grants(&new.grants, &known_environment, &mut problem);
    if matches!(kind, Some(Kind::Client | Kind::Frontend)) && !new.grants.is_empty() {
        problem(
            "grants",
            "only admin tokens are granted protected environments".into(),
        );
    }
    if new.origins.len() > MAX_LIST {
        problem("origins", format!("at most {MAX_LIST} origins"));
    }
    if let Some(secret) = &new.secret {
        let printable = secret.bytes().all(|b| b.is_ascii_graphic());
        if !(MIN_SECRET..=MAX_SECRET).contains(&secret.len()) || !printable {
            problem("secret", format!("a given secret is {MIN_SECRET} to {MAX_SECRET} printable ASCII characters without spaces"));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let text = new
        .secret
        .clone()
        .unwrap_or_else(|| secret::new_token(&new.kind));
    let verifier = secret::verifier(&text);
    let record = TokenRecord {
        id: secret::token_id(&text),
        name: new.name.clone(),
        kind: new.kind.clone(),
        environment,
        role: new.role.clone(),
        origins: new.origins.clone(),
        grants: new.grants.clone(),
        projects,
        owner: None,
        verifier,
        created_by: created_by.to_string(),
        created_at: now(),
        expires_at: new.expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    Ok((record, text))
}

/// A user to create, as the API and the CLI take it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    pub password: String,
    /// `viewer`, `editor` or `admin`.
    pub role: String,
    /// Protected environments the user may change (admins may change all).
    #[serde(default)]
    pub grants: Vec<String>,
}

/// Checks `new` and makes its record (hashing the password: call off the async threads,
/// or through [`super::session::hash_password`]'s equivalent).
pub fn user(
    new: &NewUser,
    known_environment: impl Fn(&str) -> bool,
) -> Result<UserRecord, ApiError> {
    check_user(
        &new.name,
        Some(&new.password),
        &new.role,
        &new.grants,
        known_environment,
    )?;
    Ok(user_record(new, secret::hash_password(&new.password)))
}

/// The record of a checked new user whose password is already hashed.
pub fn user_record(new: &NewUser, password_hash: String) -> UserRecord {
    let at = now();
    UserRecord {
        name: new.name.clone(),
        password_hash,
        role: new.role.clone(),
        grants: new.grants.clone(),
        created_at: at,
        updated_at: at,
    }
}

/// Checks a user's fields (the password only when one is given).
pub fn check_user(
    name: &str,
    password: Option<&str>,
    role: &str,
    grants: &[String],
    known_environment: impl Fn(&str) -> bool,
) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    let mut problem = |path: &str, message: String| {
        problems.push(Problem {
            path: path.into(),
            message,
        })
    };
    check_name(name, &mut problem);
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
    {
        problem("name", "a user name is letters, digits and . _ @ -".into());
    }
    if let Some(password) = password {
        check_password(password, &mut problem);
    }
    if super::directory::server_role(role).is_none() {
        problem(
            "role",
            format!("must be viewer, editor, admin or member, not {role:?}"),
        );
    }
    check_grants(grants, &known_environment, &mut problem);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(problems))
    }
}

/// Checks a new password's length.
pub fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    (!(MIN_PASSWORD..=MAX_PASSWORD).contains(&n))
        .then(|| format!("a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters"))
}

fn check_password(password: &str, problem: &mut impl FnMut(&str, String)) {
    if let Some(message) = password_problem(password) {
        problem("password", message);
    }
}

fn check_name(name: &str, problem: &mut impl FnMut(&str, String)) {
    if name.trim().is_empty()
        || name.chars().count() > MAX_NAME
        || name.chars().any(char::is_control)
    {
        problem(
            "name",
            format!("a name is 1 to {MAX_NAME} characters, without control characters"),
        );
    }
}

fn check_grants(
    grants: &[String],
    known_environment: &impl Fn(&str) -> bool,
    problem: &mut impl FnMut(&str, String),
) {
    if grants.len() > MAX_LIST {
        problem("grants", format!("at most {MAX_LIST} grants"));
    }
    for (i, env) in grants.iter().enumerate() {
        if !known_environment(env) {
            problem(
                &format!("grants[{i}]"),
                format!("there is no environment {env:?}"),
            );
        }
    }
}

/// `*`, or `http(s)://host[:port]` with nothing after.
fn is_origin(text: &str) -> bool {
    if text == "*" {
        return true;
    }
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|host| {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    })
}

/// Now, at the precision the store keeps (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(env: &str) -> bool {
        env == "production"
    }

    #[test]
    fn a_client_token_needs_a_known_environment() {
        let new = NewToken {
            name: "sdk".into(),
            kind: "client".into(),
            ..NewToken::default()
        };
        assert!(token(&new, "t", known).is_err());
        let new = NewToken {
            environment: Some("staging".into()),
            ..new
        };
        assert!(token(&new, "t", known).is_err());
        let new = NewToken {
            environment: Some("production".into()),
            ..new
        };
        let (record, text) = token(&new, "t", known).expect("valid");
        assert!(text.starts_with("flagpole_client_"));
        assert_eq!(record.verifier, secret::verifier(&text));
        assert!(!record.verifier.contains(&text));
    }

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert!(is_origin("https://app.example.com"));
        assert!(is_origin("http://127.0.0.1:3000"));
        assert!(is_origin("*"));
        assert!(!is_origin("app.example.com"));
        assert!(!is_origin("https://app.example.com/path"));
        assert!(!is_origin("https://"));
    }

    #[test]
    fn a_given_secret_is_kept_as_text() {
        let new = NewToken {
            name: "moved".into(),
            kind: "client".into(),
            environment: Some("production".into()),
            secret: Some("default:production.0123456789abcdef".into()),
            ..NewToken::default()
        };
        let (record, text) = token(&new, "t", known).expect("valid");
        assert_eq!(text, "default:production.0123456789abcdef");
        assert!(record.id.starts_with('h'));
    }
}
