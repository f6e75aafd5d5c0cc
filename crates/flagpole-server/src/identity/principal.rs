//! The caller of a request ([`Principal`]): who it authenticated as and from where, its
//! role, what it may change, and how the audit log names it.

use std::sync::{Arc, OnceLock};

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

    /// The admin role, for users and admin tokens.
    pub fn role(&self) -> Option<Role> {
        match &self.who {
            Who::Local => Some(Role::Admin),
            Who::User { user, .. } => Some(user.role),
            Who::Token(t) if t.kind == Kind::Admin => t.role,
            _ => None,
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

    /// Whether this caller may change an environment that is `protected`.
    pub fn may_change(&self, environment: &str, protected: bool) -> bool {
        let grants = match &self.who {
            Who::User { user, .. } => &user.grants,
            Who::Token(t) => &t.grants,
            // Only the seed API in open mode writes anonymously; it is opened on purpose.
            Who::Anonymous => return true,
            Who::Local => return true,
        };
        match self.role() {
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
