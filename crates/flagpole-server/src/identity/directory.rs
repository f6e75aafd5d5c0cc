//! The tokens and users this process holds in memory ([`Directory`], rebuilt when the
//! store's auth version moves): token kinds, roles, and the checks a token text goes
//! through (hash lookup, revocation, expiry), none of which waits on the database.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use flagpole_core::Scope;
use flagpole_store::{AuthState, TokenRecord};

use super::secret;
use crate::error::ApiError;

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Server-side SDKs: Unleash client API, OFREP, native evaluation, the seed GET.
    Client,
    /// Browser and mobile SDKs: the Unleash frontend API and OFREP, from allowed origins.
    Frontend,
    /// The admin API, with a role.
    Admin,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "client" => Some(Kind::Client),
            "frontend" => Some(Kind::Frontend),
            "admin" => Some(Kind::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Frontend => "frontend",
            Kind::Admin => "admin",
        }
    }
}

/// What an admin credential may do; each role may do everything the ones before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads everything but tokens and users.
    Viewer,
    /// Also changes flags, segments and imports, except in protected environments it
    /// has not been granted.
    Editor,
    /// Also environments, tokens and users, and every protected environment.
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

/// A token as this process checks it.
#[derive(Debug)]
pub struct Token {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub role: Option<Role>,
    pub environment: Option<String>,
    pub origins: Vec<String>,
    pub grants: Vec<String>,
    /// The projects the token reaches.
    pub scope: Scope,
    /// For a person's own admin token: that person (the token acts as them, with their
    /// rights, capped by its role). `None`: a service account's.
    pub owner: Option<Arc<User>>,
    /// Who created the token (an audit actor).
    pub created_by: String,
    verifier: [u8; 32],
    expires_at: Option<DateTime<Utc>>,
    revoked: bool,
    /// When this process last wrote the token's last use (Unix seconds).
    last_touch: AtomicI64,
}

/// Why a token does not authenticate.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Revoked,
    Expired,
}

impl From<Refusal> for ApiError {
    /// The 401 for a token the directory refuses.
    fn from(refusal: Refusal) -> ApiError {
        ApiError::Unauthorized(match refusal {
            Refusal::Unknown => "the token is not known; check it, or create one",
            Refusal::Revoked => "the token has been revoked",
            Refusal::Expired => "the token has expired",
        })
    }
}

impl Token {
    fn from_record(record: &TokenRecord, users: &HashMap<String, Arc<User>>) -> Option<Token> {
        let owner = match &record.owner {
            // A person's token whose person is gone authenticates nobody.
            Some(name) => Some(users.get(name)?.clone()),
            None => None,
        };
        let mut verifier = [0u8; 32];
        hex::decode_to_slice(&record.verifier, &mut verifier).ok()?;
        Some(Token {
            id: record.id.clone(),
            name: record.name.clone(),
            kind: Kind::parse(&record.kind)?,
            role: record.role.as_deref().and_then(Role::parse),
            environment: record.environment.clone(),
            origins: record.origins.clone(),
            grants: record.grants.clone(),
            scope: Scope::from_list(&record.projects),
            owner,
            created_by: record.created_by.clone(),
            verifier,
            expires_at: record.expires_at,
            revoked: record.revoked_at.is_some(),
            last_touch: AtomicI64::new(record.last_used_at.map_or(0, |t| t.timestamp())),
        })
    }

    /// The token's verifier: the key of the stream tickets made for it
    /// (`stream::ticket`), which every replica can check and nobody without the
    /// database or the secret can make.
    pub(crate) fn verifier(&self) -> &[u8; 32] {
        &self.verifier
    }

    /// When the token stops authenticating, if ever.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Whether the token may be used from a browser page at `origin`.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == "*" || o == origin)
    }

    /// Whether the token's last use should be written now (at most once a minute); claims
    /// the write when it should.
    pub fn claim_touch(&self, now: i64) -> bool {
        let last = self.last_touch.load(Ordering::Relaxed);
        now - last >= 60
            && self
                .last_touch
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// A user as this process checks them (the password hash stays in the store).
#[derive(Debug)]
pub struct User {
    pub name: String,
    /// The server-wide role; `None` for a `member`, who reaches only their projects.
    pub role: Option<Role>,
    pub grants: Vec<String>,
    /// The projects the user is a member of, with their role there.
    pub projects: HashMap<String, Role>,
}

impl User {
    /// The user's role in `project`: the higher of the server-wide role and the
    /// membership's.
    pub fn role_in(&self, project: &str) -> Option<Role> {
        self.role.max(self.projects.get(project).copied())
    }

    /// The projects the user reads.
    pub fn scope(&self) -> Scope {
        match self.role {
            Some(_) => Scope::All,
            None => Scope::from_list(&self.projects.keys().collect::<Vec<_>>()),
        }
    }
}

/// The server-wide role a stored user role names: `member` is none.
pub fn server_role(text: &str) -> Option<Option<Role>> {
    match text {
        "member" => Some(None),
        other => Role::parse(other).map(Some),
    }
}

/// Every token and user, built from the store's [`AuthState`]; immutable, swapped whole.
#[derive(Debug, Default)]
pub struct Directory {
    pub version: i64,
    tokens: HashMap<String, Arc<Token>>,
    users: HashMap<String, Arc<User>>,
    /// Every origin any frontend token allows, for CORS preflights (which carry no token).
    frontend_origins: HashSet<String>,
}

impl Directory {
    pub fn build(state: &AuthState) -> Directory {
        let mut memberships: HashMap<&str, HashMap<String, Role>> = HashMap::new();
        for m in &state.members {
            if let Some(role) = Role::parse(&m.role) {
                memberships
                    .entry(m.user.as_str())
                    .or_default()
                    .insert(m.project.clone(), role);
            }
        }
        let users: HashMap<String, Arc<User>> = state
            .users
            .iter()
            .filter_map(|u| {
                let user = User {
                    name: u.name.clone(),
                    role: server_role(&u.role)?,
                    grants: u.grants.clone(),
                    projects: memberships.remove(u.name.as_str()).unwrap_or_default(),
                };
                Some((u.name.clone(), Arc::new(user)))
            })
            .collect();
        let tokens: HashMap<_, _> = state
            .tokens
            .iter()
            .filter_map(|r| Token::from_record(r, &users).map(|t| (r.id.clone(), Arc::new(t))))
            .collect();
        let frontend_origins = tokens
            .values()
            .filter(|t| t.kind == Kind::Frontend && !t.revoked)
            .flat_map(|t| t.origins.iter().cloned())
            .collect();
        Directory {
            version: state.version,
            tokens,
            users,
            frontend_origins,
        }
    }

    /// The token whose text is `text`, if it is known, live and unexpired at `now`.
    pub fn token(&self, text: &str, now: DateTime<Utc>) -> Result<Arc<Token>, Refusal> {
        self.token_ref(text, now).cloned()
    }

    /// [`Directory::token`] without taking a reference count on the token.
    pub fn token_ref(&self, text: &str, now: DateTime<Utc>) -> Result<&Arc<Token>, Refusal> {
        let digest = secret::digest(text);
        let mut buf = [0u8; 17];
        let id = secret::lookup_id(text, &digest, &mut buf);
        let token = self.tokens.get(id).ok_or(Refusal::Unknown)?;
        if !secret::same(&digest, &token.verifier) {
            return Err(Refusal::Unknown);
        }
        if token.revoked {
            return Err(Refusal::Revoked);
        }
        if token.expires_at.is_some_and(|at| at <= now) {
            return Err(Refusal::Expired);
        }
        Ok(token)
    }

    /// The live, unexpired token with this id (a stream checks its token is still one).
    pub fn live_token(&self, id: &str, now: DateTime<Utc>) -> Option<&Arc<Token>> {
        self.tokens
            .get(id)
            .filter(|t| !t.revoked && t.expires_at.is_none_or(|at| at > now))
    }

    /// The members of `project`, with their role there.
    pub fn members<'a>(&'a self, project: &'a str) -> impl Iterator<Item = (&'a str, Role)> + 'a {
        self.users
            .values()
            .filter_map(move |u| u.projects.get(project).map(|role| (u.name.as_str(), *role)))
    }

    pub fn user(&self, name: &str) -> Option<Arc<User>> {
        self.users.get(name).cloned()
    }

    pub fn any_frontend_allows(&self, origin: &str) -> bool {
        self.frontend_origins.contains(origin) || self.frontend_origins.contains("*")
    }
}
