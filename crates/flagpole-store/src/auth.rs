//! Access-control records: API tokens, users and sessions. The store keeps them and never
//! interprets them; the server decides what a kind, a role or a grant allows. No secret is
//! stored: a token keeps a SHA-256 verifier of its text, a user an Argon2id hash of the
//! password, a session the SHA-256 of its id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::records::Change;

/// An API token as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRecord {
    /// The selector: stored in clear to find the row, shown in lists, never enough to
    /// authenticate.
    pub id: String,
    pub name: String,
    /// `client`, `frontend` or `admin`.
    pub kind: String,
    /// The environment a `client` or `frontend` token is bound to.
    pub environment: Option<String>,
    /// The role of an `admin` token: `viewer`, `editor` or `admin`.
    pub role: Option<String>,
    /// The browser origins a `frontend` token may be used from.
    pub origins: Vec<String>,
    /// Protected environments an `editor` token may change.
    pub grants: Vec<String>,
    /// SHA-256 of the token's text, lowercase hex. Never shown.
    #[serde(skip_serializing, default)]
    pub verifier: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Written at most once a minute per token.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRecord {
    pub name: String,
    /// The Argon2id hash in PHC string format. Never shown.
    #[serde(skip_serializing, default)]
    pub password_hash: String,
    /// `viewer`, `editor` or `admin`.
    pub role: String,
    /// Protected environments this user may change (admins may change all).
    pub grants: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A login session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session id, lowercase hex.
    pub id_hash: String,
    pub user: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute expiry; idle expiry is the server's to judge from `last_seen_at`.
    pub expires_at: DateTime<Utc>,
}

/// Every token and user, read in one go (the server keeps tokens in memory).
#[derive(Clone, Debug, Default)]
pub struct AuthState {
    /// Raised by every change to tokens and users.
    pub version: i64,
    /// In creation order.
    pub tokens: Vec<TokenRecord>,
    /// In name order.
    pub users: Vec<UserRecord>,
}

/// Storage of tokens, users and sessions: part of every [`crate::Store`].
///
/// Changes to tokens and users raise the auth version and are audited (with the record,
/// without its secret, as `after`); sessions and last-use times are neither.
#[async_trait::async_trait]
pub trait AuthStore: Send + Sync {
    /// Every token and user, and the auth version, in one consistent read.
    async fn load_auth(&self) -> Result<AuthState, Error>;

    /// The auth version, cheaply (replicas poll it to reload tokens).
    async fn auth_version(&self) -> Result<i64, Error>;

    /// Stores a new token; `Conflict` if its id exists.
    async fn create_token(&self, token: &TokenRecord, change: Change<'_>) -> Result<(), Error>;

    /// Marks a token revoked (a revoked token stays revoked at its first time);
    /// `NotFound` if there is none. Returns the token as stored.
    async fn revoke_token(
        &self,
        id: &str,
        at: DateTime<Utc>,
        change: Change<'_>,
    ) -> Result<TokenRecord, Error>;

    /// Records a token's last use.
    async fn touch_token(&self, id: &str, at: DateTime<Utc>) -> Result<(), Error>;

    /// Stores a new user; `Conflict` if the name exists.
    async fn create_user(&self, user: &UserRecord, change: Change<'_>) -> Result<(), Error>;

    /// Replaces a user's password hash, role and grants; `NotFound` if there is none. With
    /// `end_sessions_except: Some(keep)`, ends every session of the user but `keep`.
    async fn update_user(
        &self,
        user: &UserRecord,
        end_sessions_except: Option<Option<&str>>,
        change: Change<'_>,
    ) -> Result<(), Error>;

    /// Deletes a user and their sessions; `NotFound` if there is none.
    async fn delete_user(&self, name: &str, change: Change<'_>) -> Result<(), Error>;

    async fn create_session(&self, session: &SessionRecord) -> Result<(), Error>;

    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, Error>;

    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> Result<(), Error>;

    async fn delete_session(&self, id_hash: &str) -> Result<(), Error>;

    /// On a database with no user and no token, stores the first admin user and token in
    /// one transaction and answers `true`; otherwise changes nothing and answers `false`
    /// (so that replicas starting together create them once).
    async fn bootstrap(
        &self,
        user: &UserRecord,
        token: &TokenRecord,
        change: Change<'_>,
    ) -> Result<bool, Error>;
}
