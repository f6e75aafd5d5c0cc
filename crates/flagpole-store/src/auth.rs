//! Access-control records: API tokens, users, sessions and project memberships. The store
//! keeps them and never interprets them; the server decides what a kind, a role, a grant
//! or a membership allows. No secret is
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
    /// The projects the token may reach; `["*"]` (what tokens made before projects have)
    /// means all.
    #[serde(default = "all_projects")]
    pub projects: Vec<String>,
    /// For an `admin` token, the user whose personal token it is; `None`: a service
    /// account's.
    #[serde(default)]
    pub owner: Option<String>,
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
    /// `viewer`, `editor` or `admin` on every project, or `member`: only the projects the
    /// user is a member of ([`MemberRecord`]), with the role given there.
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

/// A user's role in one project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberRecord {
    pub project: String,
    pub user: String,
    /// `viewer`, `editor` or `admin`.
    pub role: String,
    /// When the user became a member (a later change of role keeps it).
    pub created_at: DateTime<Utc>,
}

/// Every token, user and membership, read in one go (the server keeps them in memory).
#[derive(Clone, Debug, Default)]
pub struct AuthState {
    /// Raised by every change to tokens, users and memberships.
    pub version: i64,
    /// In creation order.
    pub tokens: Vec<TokenRecord>,
    /// In name order.
    pub users: Vec<UserRecord>,
    /// In project, then user order.
    pub members: Vec<MemberRecord>,
}

/// Storage of tokens, users, sessions and memberships: part of every [`crate::Store`].
///
/// Changes to tokens, users and memberships raise the auth version and are audited (with
/// the record, without its secret, as `after`); sessions and last-use times are neither.
#[async_trait::async_trait]
pub trait AuthStore: Send + Sync {
    /// Every token, user and membership, and the auth version, in one consistent read.
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

    /// Deletes a user, their sessions and their memberships; `NotFound` if there is none.
    async fn delete_user(&self, name: &str, change: Change<'_>) -> Result<(), Error>;

    /// Makes `user` a member of `project` with `role` (`Some`: added, or its role
    /// replaced), or ends the membership (`None`; `NotFound` if there is none). `NotFound`
    /// if the user or the project does not exist. Audited with the project; name the
    /// action `member.…`, not `project.…`, which the change feed reads as a configuration
    /// change.
    async fn set_member(
        &self,
        project: &str,
        user: &str,
        role: Option<&str>,
        change: Change<'_>,
    ) -> Result<(), Error>;

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

/// What a token made before projects reaches: every project.
fn all_projects() -> Vec<String> {
    vec![flagpole_core::GLOBAL_PROJECT.to_owned()]
}
