//! The permission matrix as data: every route of the router with the policy saying who
//! may call it ([`POLICIES`]), and what each kind of caller must get under each policy
//! ([`expected`]): refused with a status, or let through.

use crate::callers::Caller;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Policy {
    Public,
    Viewer,
    Editor,
    /// An editor change to configuration in `production`, which is protected.
    EditorProtected,
    Admin,
    /// Viewer and up, but only a logged-in user (a token has no password).
    User,
    ClientSdk,
    FrontendSdk,
    AnySdk,
    /// Client tokens of the environment in the path, and any admin credential.
    Evaluator,
    /// The seed API's GET: client tokens of the seed environment (production), admins.
    SeedReader,
    /// The seed API's POST: editors; production is protected.
    SeedWriter,
}

use Policy::*;

/// Every route and its policy. Paths are filled with `production`, the flag `f`
/// (configured in production, using the segment `s`), the user `other`, the token
/// `spare`.
pub const POLICIES: &[(&str, &str, Policy)] = &[
    ("GET", "/api/v1/environments", Viewer),
    ("POST", "/api/v1/environments", Admin),
    ("PATCH", "/api/v1/environments/{env}", Admin),
    ("DELETE", "/api/v1/environments/{env}", Admin),
    ("GET", "/api/v1/flags", Viewer),
    ("POST", "/api/v1/flags", Editor),
    ("GET", "/api/v1/flags/{key}", Viewer),
    ("PUT", "/api/v1/flags/{key}", EditorProtected),
    ("DELETE", "/api/v1/flags/{key}", EditorProtected),
    ("POST", "/api/v1/flags/{key}/archive", EditorProtected),
    // Unarchiving a live flag changes nothing, in production or anywhere.
    ("POST", "/api/v1/flags/{key}/unarchive", Editor),
    ("GET", "/api/v1/flags/{key}/environments/{env}", Viewer),
    (
        "PUT",
        "/api/v1/flags/{key}/environments/{env}",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/enable",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/disable",
        EditorProtected,
    ),
    (
        "PUT",
        "/api/v1/flags/{key}/environments/{env}/rules",
        EditorProtected,
    ),
    (
        "PUT",
        "/api/v1/flags/{key}/environments/{env}/default",
        EditorProtected,
    ),
    (
        "PUT",
        "/api/v1/flags/{key}/environments/{env}/rollout",
        EditorProtected,
    ),
    (
        "GET",
        "/api/v1/flags/{key}/environments/{env}/release-plan",
        Viewer,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/release-plan",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/release-plan/pause",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/release-plan/resume",
        EditorProtected,
    ),
    (
        "POST",
        "/api/v1/flags/{key}/environments/{env}/release-plan/cancel",
        EditorProtected,
    ),
    ("GET", "/api/v1/release-plans", Viewer),
    ("GET", "/api/v1/environments/{env}/sampling", Viewer),
    ("PUT", "/api/v1/environments/{env}/sampling", Admin),
    ("GET", "/api/v1/segments", Viewer),
    ("POST", "/api/v1/segments", Editor),
    ("GET", "/api/v1/segments/{name}", Viewer),
    ("PUT", "/api/v1/segments/{name}", EditorProtected),
    // Only a segment used nowhere can be deleted (else 409), so no environment is touched.
    ("DELETE", "/api/v1/segments/{name}", Editor),
    ("POST", "/api/v1/environments/{env}/evaluate", Evaluator),
    (
        "POST",
        "/api/v1/environments/{env}/evaluate/{key}",
        Evaluator,
    ),
    ("GET", "/api/v1/audit", Viewer),
    ("GET", "/api/v1/usage", Viewer),
    ("GET", "/api/v1/flags/{key}/versions", Viewer),
    ("GET", "/api/v1/flags/{key}/versions/{version}", Viewer),
    ("GET", "/api/v1/flags/{key}/diff", Viewer),
    ("POST", "/api/v1/flags/{key}/rollback", EditorProtected),
    ("POST", "/api/v1/import", EditorProtected),
    ("GET", "/api/v1/export", Viewer),
    ("POST", "/api/v1/auth/login", Public),
    ("POST", "/api/v1/auth/logout", Viewer),
    ("GET", "/api/v1/auth/me", Viewer),
    ("POST", "/api/v1/auth/password", User),
    // Everyone with a role lists the tokens they manage (none, below admin).
    ("GET", "/api/v1/tokens", Viewer),
    ("POST", "/api/v1/tokens", Admin),
    ("DELETE", "/api/v1/tokens/{id}", Admin),
    ("GET", "/api/v1/users", Admin),
    ("POST", "/api/v1/users", Admin),
    ("DELETE", "/api/v1/users/{name}", Admin),
    ("PATCH", "/api/v1/users/{name}", Admin),
    ("GET", "/api/v1/openapi.json", Public),
    ("GET", "/flags/{name}", SeedReader),
    ("POST", "/flags/{name}", SeedWriter),
    ("POST", "/ofrep/v1/evaluate/flags", AnySdk),
    ("POST", "/ofrep/v1/evaluate/flags/{key}", AnySdk),
    ("GET", "/api/client/features", ClientSdk),
    ("GET", "/api/client/features/{name}", ClientSdk),
    ("POST", "/api/client/register", ClientSdk),
    ("POST", "/api/client/metrics", ClientSdk),
    ("GET", "/api/client/streaming", ClientSdk),
    ("GET", "/ofrep/v1/stream", AnySdk),
    ("GET", "/api/v1/environments/{env}/stream", Evaluator),
    ("GET", "/api/v1/environments/{env}/snapshot", Evaluator),
    ("GET", "/api/v1/relay/stream", Viewer),
    ("POST", "/api/v1/tokens/introspect", Viewer),
    ("GET", "/api/frontend", FrontendSdk),
    ("POST", "/api/frontend", FrontendSdk),
    ("GET", "/api/frontend/features/{name}", FrontendSdk),
    ("GET", "/api/v1/schedules", Viewer),
    ("GET", "/api/v1/schedules/{id}", Viewer),
    // The harness's schedule changes production.
    ("DELETE", "/api/v1/schedules/{id}", EditorProtected),
    ("POST", "/api/v1/flags/{key}/schedules", EditorProtected),
    ("POST", "/api/v1/segments/{name}/schedules", EditorProtected),
    ("GET", "/api/v1/change-requests", Viewer),
    // Proposing is open to editors, protected environment or not.
    ("POST", "/api/v1/change-requests", Editor),
    ("GET", "/api/v1/change-requests/{id}", Viewer),
    ("POST", "/api/v1/change-requests/{id}/comments", Viewer),
    // Four eyes: the harness's request (production) is the editor's own, so only
    // someone else who may change production (admins) may approve it; viewers never.
    (
        "POST",
        "/api/v1/change-requests/{id}/approve",
        EditorProtected,
    ),
    // The author (the editor) may withdraw it; others need the right to change production.
    ("POST", "/api/v1/change-requests/{id}/reject", Editor),
    ("POST", "/api/v1/change-requests/{id}/rebase", Editor),
    ("PUT", "/api/v1/environments/{env}/approval", Admin),
    ("GET", "/api/v1/projects", Viewer),
    ("POST", "/api/v1/projects", Admin),
    ("GET", "/api/v1/projects/{key}", Viewer),
    ("PATCH", "/api/v1/projects/{key}", Admin),
    ("DELETE", "/api/v1/projects/{key}", Admin),
    ("PUT", "/api/v1/projects/{key}/environments/{env}", Admin),
    ("GET", "/api/v1/projects/{key}/members", Viewer),
    ("PUT", "/api/v1/projects/{key}/members/{user}", Admin),
    ("DELETE", "/api/v1/projects/{key}/members/{user}", Admin),
    ("GET", "/health/live", Public),
    ("GET", "/health/ready", Public),
    ("GET", "/metrics", Public),
];

/// What a caller must get: refused with this status, or let through (any other status:
/// the handler ran, and answered as the request deserves).
#[derive(Debug, PartialEq)]
pub enum Expected {
    Refused(u16),
    Allowed,
}

pub fn expected(policy: Policy, caller: Caller, method: &str) -> Expected {
    use Caller as C;
    use Expected::{Allowed, Refused};
    // A change sent from another site's page is refused before any route, unless it is a
    // browser SDK route (where the frontend token's origins decide).
    let foreign_page = matches!(caller, C::FrontendAllowedOrigin | C::FrontendOtherOrigin);
    let unsafe_method = !matches!(method, "GET" | "HEAD");
    if foreign_page && unsafe_method && !matches!(policy, AnySdk | FrontendSdk) {
        return Refused(403);
    }
    if policy == Public {
        return Allowed;
    }
    match caller {
        C::Nobody | C::Malformed | C::Unknown | C::Revoked | C::Expired => return Refused(401),
        C::SessionWithoutProof if !matches!(method, "GET" | "HEAD") => return Refused(403),
        _ => {}
    }
    let admin_user = matches!(caller, C::SessionWithProof | C::SessionWithoutProof);
    let role = match caller {
        C::Viewer => Some(1),
        C::Editor => Some(2),
        C::Admin => Some(3),
        _ if admin_user => Some(3),
        _ => None,
    };
    let at_least = |min: u8| {
        if role >= Some(min) {
            Allowed
        } else {
            Refused(403)
        }
    };
    match policy {
        Public => Allowed,
        Viewer => at_least(1),
        Editor | SeedWriter => at_least(2),
        EditorProtected => at_least(3),
        Admin => at_least(3),
        User if admin_user => Allowed,
        User => Refused(403),
        ClientSdk => match caller {
            C::Client | C::ClientOtherEnvironment => Allowed,
            _ => Refused(403),
        },
        FrontendSdk => match caller {
            C::FrontendAllowedOrigin => Allowed,
            _ => Refused(403),
        },
        AnySdk => match caller {
            C::Client | C::ClientOtherEnvironment | C::FrontendAllowedOrigin => Allowed,
            _ => Refused(403),
        },
        Evaluator | SeedReader => match caller {
            C::Client => Allowed,
            C::ClientOtherEnvironment | C::FrontendAllowedOrigin | C::FrontendOtherOrigin => {
                Refused(403)
            }
            _ => at_least(1),
        },
    }
}
