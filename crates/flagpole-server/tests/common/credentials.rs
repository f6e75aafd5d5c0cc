//! The tokens every test server starts with, and which one a request gets when the test
//! names none: SDK routes a client (or frontend) token for `production`, everything else
//! the admin token.

#![allow(dead_code, clippy::unwrap_used)]

use flagpole_server::identity::issue::{self, NewToken};
use flagpole_store::{Change, Store};

pub const ADMIN: &str = "test-admin-token";
pub const CLIENT_PRODUCTION: &str = "test-client-production";
pub const CLIENT_DEVELOPMENT: &str = "test-client-development";
pub const FRONTEND_PRODUCTION: &str = "test-frontend-production";
/// The origin the frontend token allows.
pub const FRONTEND_ORIGIN: &str = "https://app.example.com";

/// Stores the tokens above.
pub async fn install(store: &dyn Store) {
    let tokens = [
        (ADMIN, "admin", None, Some("admin"), vec![]),
        (
            CLIENT_PRODUCTION,
            "client",
            Some("production"),
            None,
            vec![],
        ),
        (
            CLIENT_DEVELOPMENT,
            "client",
            Some("development"),
            None,
            vec![],
        ),
        (
            FRONTEND_PRODUCTION,
            "frontend",
            Some("production"),
            None,
            vec![FRONTEND_ORIGIN.to_string()],
        ),
    ];
    for (secret, kind, environment, role, origins) in tokens {
        let new = NewToken {
            name: secret.to_string(),
            kind: kind.to_string(),
            environment: environment.map(str::to_string),
            role: role.map(str::to_string),
            origins,
            secret: Some(secret.to_string()),
            ..NewToken::default()
        };
        let (record, _) = issue::token(&new, "test", |_| true).unwrap();
        let change = Change {
            actor: "test",
            action: "token.created",
            environment: None,
            address: None,
        };
        store.create_token(&record, change).await.unwrap();
    }
}

/// The token a request gets when the test sends no `Authorization` of its own.
pub fn default_for(method: &str, uri: &str) -> &'static str {
    let path = uri.split('?').next().unwrap_or(uri);
    if path.starts_with("/api/frontend") {
        FRONTEND_PRODUCTION
    } else if path.starts_with("/api/client")
        || path.starts_with("/ofrep/")
        || (path.starts_with("/flags/") && method == "GET")
    {
        CLIENT_PRODUCTION
    } else {
        ADMIN
    }
}

/// Whether the test already chose a credential (or chose to send none: `("authorization", "")`
/// is dropped).
pub fn chosen(headers: &[(&str, &str)]) -> bool {
    headers.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("cookie")
    })
}
