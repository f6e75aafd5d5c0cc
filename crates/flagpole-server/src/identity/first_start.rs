//! First start: on a database with no user and no token, the user `admin` and the admin
//! token `bootstrap`, with what was given and secrets generated for the rest.

use flagpole_core::Problem;
use flagpole_store::{Change, Store};

use super::issue::{password_problem, token, user, NewToken, NewUser};
use super::secret;
use crate::error::ApiError;

/// What first start was given (`FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD`,
/// `FLAGPOLE_BOOTSTRAP_TOKEN`); what is not given is generated.
#[derive(Clone, Debug, Default)]
pub struct Bootstrap {
    pub admin_password: Option<String>,
    pub token: Option<String>,
}

/// The secrets first start generated, to print once.
#[derive(Debug)]
pub struct Generated {
    pub admin_password: Option<String>,
    pub token: Option<String>,
}

/// On a database with no user and no token, creates the user `admin` and the admin token
/// `bootstrap`. Answers what it generated (`None` when the database was not new).
pub async fn bootstrap(store: &dyn Store, given: Bootstrap) -> Result<Option<Generated>, ApiError> {
    let auth = store.load_auth().await?;
    if !auth.users.is_empty() || !auth.tokens.is_empty() {
        return Ok(None);
    }
    let password = given
        .admin_password
        .clone()
        .unwrap_or_else(|| secret::random_hex(12));
    if let Some(message) = password_problem(&password) {
        return Err(ApiError::Invalid(vec![Problem {
            path: "FLAGPOLE_BOOTSTRAP_ADMIN_PASSWORD".into(),
            message,
        }]));
    }
    let new_user = NewUser {
        name: "admin".into(),
        password: password.clone(),
        role: "admin".into(),
        grants: Vec::new(),
    };
    // Once, at start-up: hashing here (about 50 ms) blocks nothing that serves requests.
    let user = user(&new_user, |_| true)?;
    let new_token = NewToken {
        name: "bootstrap".into(),
        kind: "admin".into(),
        role: Some("admin".into()),
        secret: given.token.clone(),
        ..NewToken::default()
    };
    let (record, text) = token(&new_token, "flagpole", |_| true)?;
    let change = Change {
        actor: "flagpole",
        action: "bootstrap",
        environment: None,
        address: None,
    };
    if !store.bootstrap(&user, &record, change).await? {
        return Ok(None);
    }
    Ok(Some(Generated {
        admin_password: given.admin_password.is_none().then_some(password),
        token: given.token.is_none().then_some(text),
    }))
}
