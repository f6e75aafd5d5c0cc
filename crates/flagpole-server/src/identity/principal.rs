//! The caller of a request ([`Principal`]): who it authenticated as and from where, its
//! role, what it may change, and how the audit log names it.

use std::sync::{Arc, OnceLock};

use flagpole_core::Scope;
use flagpole_store::Change;

use super::directory::{Kind, Role, Token, User};

/// Who a request authenticated as.
#[derive(Clone, Debug)]
pub enum Who {
    User {
        user: Arc<User>,
        /// The session's id hash, to keep it when the password changes.
        session: String,
    },
    Token(Arc<Token>),
    /// Nobody: a route open by configuration (`--seed-api open`).
    Anonymous,
    /// Someone with the database itself: the offline CLI. May do anything.
    Local,
}

/// Where a request came from, kept as found and written out only when a change is
/// audited (reads never pay for it).
#[derive(Clone, Debug)]
pub enum Origin {
    Unknown,
    Peer(std::net::IpAddr),
    /// The first `X-Forwarded-For` hop, when the server trusts its proxy.
    Forwarded(String),
}

/// The caller of a request: who, and from where.
#[derive(Clone, Debug)]
pub struct Principal {
    pub who: Who,
    origin: Origin,
    actor: OnceLock<String>,
    address: OnceLock<Option<String>>,
}

impl Principal {
    pub fn new(who: Who, origin: Origin) -> Principal {
        Principal {
            who,
            origin,
            actor: OnceLock::new(),
            address: OnceLock::new(),
        }
    }

    /// The client address (the peer, or the first `X-Forwarded-For` hop when trusted).
    pub fn address(&self) -> Option<&str> {
        self.address
            .get_or_init(|| match &self.origin {
                Origin::Unknown => None,
                Origin::Peer(ip) => Some(ip.to_string()),
                Origin::Forwarded(hop) => Some(hop.clone()),
            })
            .as_deref()
    }

    /// How the audit log names the caller: `user:NAME`, `token:NAME (KIND ROLE)`,
    /// `anonymous`, `cli (offline)`.
    pub fn actor(&self) -> &str {
        self.actor.get_or_init(|| self.describe())
    }

    fn describe(&self) -> String {
        match &self.who {
            Who::User { user, .. } => format!("user:{}", user.name),
            Who::Token(t) if t.owner.is_some() => {
                let owner = t.owner.as_ref().map_or("", |u| u.name.as_str());
                format!("user:{owner} (token {})", t.name)
            }
            Who::Token(t) => match t.role {
                Some(role) => format!("token:{} ({} {})", t.name, t.kind.as_str(), role.as_str()),
                None => format!("token:{} ({})", t.name, t.kind.as_str()),
            },
            Who::Anonymous => "anonymous".to_string(),
            Who::Local => "cli (offline)".to_string(),
        }
    }

    /// The offline CLI, with the database in hand.
    pub fn local() -> Principal {
        Principal::new(Who::Local, Origin::Unknown)
    }

    /// The server-wide admin role, for users and admin tokens: a person's token has
    /// the lower of its role and its person's; a service account's token scoped to some
    /// projects has none server-wide.
    pub fn role(&self) -> Option<Role> {
        match &self.who {
            Who::Local => Some(Role::Admin),
            Who::User { user, .. } => user.role,
            Who::Token(t) if t.kind == Kind::Admin => match &t.owner {
                Some(user) => t.role.min(user.role),
                None if t.scope.is_all() => t.role,
                None => None,
            },
            _ => None,
        }
    }

    /// The role in `project`: the server-wide role or the project's, whichever is
    /// higher (for a token, within its projects and its role).
    pub fn role_in(&self, project: &str) -> Option<Role> {
        match &self.who {
            Who::Local => Some(Role::Admin),
            // Only the seed API in open mode writes anonymously; it is opened on purpose.
            Who::Anonymous => Some(Role::Editor),
            Who::User { user, .. } => user.role_in(project),
            Who::Token(t) if t.kind == Kind::Admin && t.scope.contains(project) => match &t.owner {
                Some(user) => t.role.min(user.role_in(project)),
                None => t.role,
            },
            _ => None,
        }
    }

    /// The highest role this caller has anywhere: server-wide or in any project.
    pub fn best_role(&self) -> Option<Role> {
        let projects = match &self.who {
            Who::User { user, .. } => user.projects.values().copied().max(),
            Who::Token(t) if t.kind == Kind::Admin => match &t.owner {
                Some(user) => t
                    .role
                    .min(user.role.max(user.projects.values().copied().max())),
                None => t.role,
            },
            _ => None,
        };
        self.role().max(projects)
    }

    /// Whether this caller has at least `role` in `project`.
    pub fn may(&self, project: &str, role: Role) -> bool {
        self.role_in(project) >= Some(role)
    }

    /// The projects this caller reads: a token's, a member's, every one for a
    /// server-wide role.
    pub fn scope(&self) -> std::borrow::Cow<'_, Scope> {
        use std::borrow::Cow;
        match &self.who {
            Who::User { user, .. } => Cow::Owned(user.scope()),
            Who::Token(t) => match &t.owner {
                Some(user) => Cow::Owned(t.scope.intersect(&user.scope())),
                None => Cow::Borrowed(&t.scope),
            },
            Who::Anonymous | Who::Local => Cow::Owned(Scope::All),
        }
    }

    /// The person behind the caller, for the four-eyes rule: a user, or the owner of a
    /// person's token; `None` for service accounts and anonymous callers.
    pub fn person(&self) -> Option<&str> {
        match &self.who {
            Who::User { user, .. } => Some(&user.name),
            Who::Token(t) => t.owner.as_ref().map(|u| u.name.as_str()),
            Who::Local => Some("cli (offline)"),
            Who::Anonymous => None,
        }
    }

    /// The token's kind, for token callers.
    pub fn kind(&self) -> Option<Kind> {
        match &self.who {
            Who::Token(t) => Some(t.kind),
            _ => None,
        }
    }

    /// The environment an SDK token is bound to.
    pub fn environment(&self) -> Option<&str> {
        match &self.who {
            Who::Token(t) => t.environment.as_deref(),
            _ => None,
        }
    }

    /// The environment an SDK route serves this caller: its token's (the SDK policies
    /// only let tokens bound to an environment through).
    pub fn sdk_environment(&self) -> String {
        self.environment().unwrap_or_default().to_string()
    }

    /// Whether this caller may change, in `project`, an environment that is
    /// `protected` there.
    pub fn may_change(&self, project: &str, environment: &str, protected: bool) -> bool {
        let grants = match &self.who {
            Who::User { user, .. } => &user.grants,
            Who::Token(t) => &t.grants,
            // Only the seed API in open mode writes anonymously; it is opened on purpose.
            Who::Anonymous => return true,
            Who::Local => return true,
        };
        match self.role_in(project) {
            Some(Role::Admin) => true,
            Some(Role::Editor) => !protected || grants.iter().any(|g| g == environment),
            _ => false,
        }
    }

    /// The audit record of a change this caller makes.
    pub fn change<'a>(&'a self, action: &'a str, environment: Option<&'a str>) -> Change<'a> {
        Change {
            actor: self.actor(),
            action,
            environment,
            address: self.address(),
        }
    }
}
