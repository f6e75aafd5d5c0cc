//! Who may call a route, declared in its handler's signature: each route takes one of the
//! extractors below as its first argument, and the extractor authenticates the request
//! (a token in `Authorization` or `X-API-Key`, or a session cookie) and checks the kind,
//! role or environment the route needs. No credential, or an unknown, revoked or expired
//! one, is 401; the wrong kind, role or environment 403.
//!
//! | extractor | who |
//! | --- | --- |
//! | [`Viewer`], [`Editor`], [`Admin`] | users and admin tokens with at least that role |
//! | [`ClientSdk`] | client tokens (the Unleash client API) |
//! | [`FrontendSdk`] | frontend tokens, from an origin they allow (the Unleash frontend API) |
//! | [`AnySdk`] | client or frontend tokens (OFREP) |
//! | [`Evaluator`] | client tokens for their environment, and any user or admin token |
//! | [`SeedReader`], [`SeedWriter`] | the seed API: a client token or viewer / an editor, or anyone with `--seed-api open` |
//! | [`Public`] | anyone: health, login, the OpenAPI document (and `/metrics` unless `--metrics-auth`) |

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::Method;

use super::session;
use crate::error::ApiError;
use crate::http::guard::is_own_origin;
use crate::http::state::AppState;
use crate::identity::{Kind, Origin, Principal, Refusal, Role, Who};
use flagpole_core::Scope;

/// The cookie a login sets.
pub const SESSION_COOKIE: &str = "flagpole_session";

/// Authenticates a request (without deciding what it may do).
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let address = client_address(parts, state);
    if let Some(text) = bearer(parts) {
        let now = chrono::Utc::now();
        let found = state.directory_ref().token(text, now);
        let token = match (found, state.relay()) {
            // A relay asks its upstream about tokens it has not seen (`crate::relay`).
            (Err(Refusal::Unknown), Some(relay)) => relay.tokens().resolve(text).await?,
            (found, _) => found?,
        };
        touch_token(state, &token, now);
        return Ok(Principal::new(Who::Token(token), address));
    }
    if let Some(id) = cookie(parts, SESSION_COOKIE) {
        let (user, session) = session::resume(state, id).await?;
        if !is_safe(&parts.method) && !same_origin(parts) {
            return Err(ApiError::Forbidden(
                "a change made with a session cookie must come from Flagpole's own pages (the Origin header must match the Host)".into(),
            ));
        }
        return Ok(Principal::new(Who::User { user, session }, address));
    }
    Err(ApiError::Unauthorized(
        "no credential: send `Authorization: Bearer <token>`, or log in",
    ))
}

/// Records a token's last use (at most once a minute); a relay keeps no tokens of its
/// own (its upstream does).
fn touch_token(
    state: &AppState,
    token: &crate::identity::Token,
    now: chrono::DateTime<chrono::Utc>,
) {
    if state.relay().is_none() {
        state.touch_token(token, now);
    }
}

/// The token text of `Authorization: Bearer …`, a bare `Authorization` (as Unleash SDKs
/// send it) or `X-API-Key` (OFREP's API-key scheme).
fn bearer(parts: &Parts) -> Option<&str> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .or_else(|| parts.headers.get("x-api-key"))?;
    let text = header.to_str().ok()?.trim();
    let text = match text.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => text,
    };
    // An empty header is no credential at all, but still refused rather than ignored.
    Some(text)
}

/// A cookie's value.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request's `Origin` names the host it was sent to.
fn same_origin(parts: &Parts) -> bool {
    let origin = parts.headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    let host = parts.headers.get(HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => is_own_origin(origin, host),
        _ => false,
    }
}

/// The client's address: the first `X-Forwarded-For` hop when the server trusts its
/// proxy, else the peer.
fn client_address(parts: &Parts, state: &AppState) -> Origin {
    if state.config().trust_proxy_headers {
        if let Some(first) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        {
            return Origin::Forwarded(first.trim().chars().take(64).collect());
        }
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(Origin::Unknown, |c| Origin::Peer(c.0.ip()))
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::Forbidden(message.into())
}

/// A user or admin token with at least `min`.
async fn with_role(parts: &Parts, state: &AppState, min: Role) -> Result<Principal, ApiError> {
    let principal = authenticate(parts, state).await?;
    match principal.role() {
        Some(role) if role >= min => Ok(principal),
        Some(role) => Err(forbidden(format!(
            "this needs the {} role; this credential has {}",
            min.as_str(),
            role.as_str()
        ))),
        None => Err(forbidden(format!(
            "this is the admin API; a {} token cannot use it",
            principal.kind().map_or("", Kind::as_str)
        ))),
    }
}

/// A credential with at least `min` somewhere: server-wide or in a project.
async fn with_project_role(
    parts: &Parts,
    state: &AppState,
    min: Role,
) -> Result<Principal, ApiError> {
    let principal = authenticate(parts, state).await?;
    if principal.best_role() >= Some(min) {
        return Ok(principal);
    }
    Err(forbidden(format!(
        "this needs the {} role, server-wide or in a project",
        min.as_str()
    )))
}

/// An SDK token of one of `kinds`, checked against the page's origin for frontend tokens.
async fn sdk(parts: &Parts, state: &AppState, kinds: &[Kind]) -> Result<Principal, ApiError> {
    let principal = authenticate(parts, state).await?;
    let Who::Token(token) = &principal.who else {
        return Err(forbidden("SDK routes need a client or frontend token"));
    };
    if !kinds.contains(&token.kind) {
        let wanted: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        return Err(forbidden(format!(
            "this route needs a {} token, not a {} token",
            wanted.join(" or "),
            token.kind.as_str()
        )));
    }
    if token.kind == Kind::Frontend {
        if let Some(origin) = parts.headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
            if !token.allows_origin(origin) {
                return Err(forbidden(format!(
                    "this frontend token may not be used from {origin}"
                )));
            }
        }
    }
    Ok(principal)
}

macro_rules! policy {
    ($(#[$doc:meta])* $name:ident, |$parts:ident, $state:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub Principal);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                $parts: &mut Parts,
                $state: &AppState,
            ) -> Result<Self, ApiError> {
                $body.map($name)
            }
        }
    };
}

policy!(
    /// Reads of the admin API.
    Viewer,
    |parts, state| with_role(parts, state, Role::Viewer).await
);
policy!(
    /// Changes to flags, segments, imports (protected environments are checked on write).
    Editor,
    |parts, state| with_role(parts, state, Role::Editor).await
);
policy!(
    /// Project-aware reads and writes: a server-wide viewer, or a viewer of some
    /// project; the handler checks the project of what it reads, and the write path the
    /// project of what it changes.
    ProjectViewer,
    |parts, state| with_project_role(parts, state, Role::Viewer).await
);
policy!(
    /// Project-aware changes: an editor of some project (the write path checks which).
    ProjectEditor,
    |parts, state| with_project_role(parts, state, Role::Editor).await
);
policy!(
    /// Environments, tokens and users.
    Admin,
    |parts, state| with_role(parts, state, Role::Admin).await
);
policy!(
    /// The Unleash client API: client tokens.
    ClientSdk,
    |parts, state| sdk(parts, state, &[Kind::Client]).await
);
policy!(
    /// The Unleash frontend API: frontend tokens.
    FrontendSdk,
    |parts, state| sdk(parts, state, &[Kind::Frontend]).await
);
policy!(
    /// OFREP: client or frontend tokens.
    AnySdk,
    |parts, state| sdk(parts, state, &[Kind::Client, Kind::Frontend]).await
);
policy!(
    /// Native evaluation: a client token (for its own environment, checked by the handler
    /// with [`Evaluator::may_evaluate`]) or any user or admin token.
    Evaluator,
    |parts, state| {
        let principal = authenticate(parts, state).await?;
        match principal.kind() {
            Some(Kind::Frontend) => Err(forbidden(
                "native evaluation needs a client token or an admin credential",
            )),
            _ => Ok(principal),
        }
    }
);
policy!(
    /// The seed API's GET: a client token for the seed environment or a viewer, or anyone
    /// with `--seed-api open`.
    SeedReader,
    |parts, state| {
        if state.config().seed_api_open {
            return Ok(SeedReader(Principal::new(Who::Anonymous, client_address(parts, state))));
        }
        let principal = authenticate(parts, state).await?;
        let scope = principal.scope();
        seed_reader_allows(principal.kind(), principal.environment(), &scope, state)
            .map(|()| principal)
    }
);

/// Whether a caller with a token of `kind` bound to `environment` (none for users) may
/// read the seed API.
fn seed_reader_allows(
    kind: Option<Kind>,
    environment: Option<&str>,
    scope: &Scope,
    state: &AppState,
) -> Result<(), ApiError> {
    let seed_environment = &state.config().seed_environment;
    let seed_project = &state.config().seed_project;
    match kind {
        Some(Kind::Frontend) => Err(forbidden("the seed API needs a client token")),
        Some(Kind::Client) if environment != Some(seed_environment) => Err(forbidden(format!(
            "this client token is for another environment; the seed API serves {seed_environment}"
        ))),
        Some(Kind::Client) if !scope.contains(seed_project) => Err(forbidden(format!(
            "this client token does not reach project {seed_project:?}, which the seed API serves"
        ))),
        _ => Ok(()),
    }
}

impl SeedReader {
    /// [`SeedReader`]'s decision without keeping who asked, for the hot seed GET
    /// (`routes::hot`). A bearer token this server knows is checked in place, without
    /// taking a reference count on it (every worker would move that count's cache line
    /// on every request); every other caller goes through the extractor itself.
    pub async fn check(parts: &mut Parts, state: &AppState) -> Result<(), ApiError> {
        if let Some(decision) = known_token(parts, state) {
            return decision;
        }
        SeedReader::from_request_parts(parts, state).await.map(drop)
    }
}

/// The decision for a live bearer token of this server's directory, as `authenticate`
/// and [`SeedReader`] make it; `None` for any other caller.
fn known_token(parts: &Parts, state: &AppState) -> Option<Result<(), ApiError>> {
    if state.config().seed_api_open {
        return None;
    }
    let text = bearer(parts)?;
    let now = chrono::Utc::now();
    let directory = state.directory_ref();
    let token = directory.token_ref(text, now).ok()?;
    touch_token(state, token, now);
    Some(seed_reader_allows(
        Some(token.kind),
        token.environment.as_deref(),
        &token.scope,
        state,
    ))
}
policy!(
    /// The seed API's POST: an editor, or anyone with `--seed-api open`.
    SeedWriter,
    |parts, state| {
        if state.config().seed_api_open {
            return Ok(SeedWriter(Principal::new(Who::Anonymous, client_address(parts, state))));
        }
        with_role(parts, state, Role::Editor).await
    }
);
policy!(
    /// Anyone; the address is still known for the audit log and rate limits.
    Public,
    |parts, state| Ok::<_, ApiError>(Principal::new(Who::Anonymous, client_address(parts, state)))
);

impl Evaluator {
    /// The projects this caller evaluates.
    pub fn scope(&self) -> std::borrow::Cow<'_, Scope> {
        self.0.scope()
    }

    /// Whether this caller may evaluate `environment`: client tokens only their own.
    pub fn may_evaluate(&self, environment: &str) -> Result<(), ApiError> {
        match self.0.kind() {
            Some(Kind::Client) if self.0.environment() != Some(environment) => {
                Err(forbidden(format!(
                    "this client token is for {}, not {environment}",
                    self.0.environment().unwrap_or("?")
                )))
            }
            _ => Ok(()),
        }
    }
}

/// `/metrics`: open, unless the server runs with `--metrics-auth` (then a viewer).
#[derive(Debug)]
pub struct MetricsReader;

impl FromRequestParts<AppState> for MetricsReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.config().metrics_auth {
            with_role(parts, state, Role::Viewer).await?;
        }
        Ok(MetricsReader)
    }
}

/// 404 for an item of a project the caller does not read (as for one that does not
/// exist): reads of one item check its project. Global segments' `*` is read by all.
pub fn readable(
    who: &Principal,
    project: Option<&str>,
    kind: &'static str,
    name: impl ToString,
) -> Result<(), ApiError> {
    match project {
        Some(p) if p == flagpole_core::GLOBAL_PROJECT || who.may(p, Role::Viewer) => Ok(()),
        _ => Err(ApiError::NotFound {
            kind,
            name: name.to_string(),
        }),
    }
}

/// [`readable`] for a flag, live, archived or (for server-wide roles, who read every
/// flag) deleted.
pub fn readable_flag(state: &AppState, who: &Principal, key: &str) -> Result<(), ApiError> {
    if who.role() >= Some(Role::Viewer) {
        return Ok(());
    }
    readable(who, state.published().flag_project(key), "flag", key)
}
