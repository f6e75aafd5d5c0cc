//! The callers each route is tried with, the credentials behind them (made by the
//! fixture), and the headers each one sends.

use crate::common::credentials::{
    ADMIN, CLIENT_DEVELOPMENT, CLIENT_PRODUCTION, FRONTEND_ORIGIN, FRONTEND_PRODUCTION,
};

/// The callers, in the order each route sees them (the session with its proof last:
/// its logout ends the session).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Caller {
    Nobody,
    Malformed,
    Unknown,
    Revoked,
    Expired,
    ClientOtherEnvironment,
    Client,
    FrontendAllowedOrigin,
    FrontendOtherOrigin,
    Viewer,
    Editor,
    SessionWithoutProof,
    Admin,
    SessionWithProof,
}

pub const CALLERS: [Caller; 14] = [
    Caller::Nobody,
    Caller::Malformed,
    Caller::Unknown,
    Caller::Revoked,
    Caller::Expired,
    Caller::ClientOtherEnvironment,
    Caller::Client,
    Caller::FrontendAllowedOrigin,
    Caller::FrontendOtherOrigin,
    Caller::Viewer,
    Caller::Editor,
    Caller::SessionWithoutProof,
    Caller::Admin,
    Caller::SessionWithProof,
];

/// The secrets of the fixture's tokens and of the session, and its users' password.
pub const VIEWER: &str = "matrix-viewer-token";
pub const EDITOR: &str = "matrix-editor-token";
pub const REVOKED: &str = "matrix-revoked-token";
pub const EXPIRED: &str = "matrix-expired-token";
pub const SPARE: &str = "matrix-spare-token";
pub const UNKNOWN: &str = "flagpole_admin_0123456789ab_0123456789abcdef0123456789abcdef01234567";
pub const SESSION: &str = "matrix-session-id";
pub const PASSWORD: &str = "matrix-password";

/// The headers a caller sends.
pub fn headers(caller: Caller) -> Vec<(&'static str, String)> {
    let bearer = |t: &str| vec![("authorization", format!("Bearer {t}"))];
    let cookie = ("cookie", format!("flagpole_session={SESSION}"));
    match caller {
        // The test client adds the admin token unless a credential is named; an empty
        // value names one and is then dropped.
        Caller::Nobody => vec![("authorization", String::new())],
        Caller::Malformed => vec![("authorization", "Bearer".into())],
        Caller::Unknown => bearer(UNKNOWN),
        Caller::Revoked => bearer(REVOKED),
        Caller::Expired => bearer(EXPIRED),
        Caller::ClientOtherEnvironment => bearer(CLIENT_DEVELOPMENT),
        Caller::Client => bearer(CLIENT_PRODUCTION),
        Caller::FrontendAllowedOrigin => {
            let mut h = bearer(FRONTEND_PRODUCTION);
            h.push(("origin", FRONTEND_ORIGIN.into()));
            h
        }
        Caller::FrontendOtherOrigin => {
            let mut h = bearer(FRONTEND_PRODUCTION);
            h.push(("origin", "https://evil.example".into()));
            h
        }
        Caller::Viewer => bearer(VIEWER),
        Caller::Editor => bearer(EDITOR),
        Caller::Admin => bearer(ADMIN),
        Caller::SessionWithoutProof => vec![cookie],
        Caller::SessionWithProof => vec![
            cookie,
            ("host", "flagpole.test".into()),
            ("origin", "http://flagpole.test".into()),
        ],
    }
}
