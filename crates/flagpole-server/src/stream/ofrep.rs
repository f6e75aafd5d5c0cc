//! OFREP's event stream (ADR 0008): `event: message` with
//! `{"type": "refetchEvaluation", "etag", "lastModified"}` whenever the configuration of
//! the stream's environment changes. Browsers' `EventSource` sends no headers, so the bulk
//! response's `eventStreams` names the stream with a *ticket*: the token's id and an
//! HMAC-SHA256 of it keyed by the token's verifier. Every replica can check a ticket,
//! nobody without the database or the token can make one, it shows nothing of the
//! secret, and it dies with its token.

use std::sync::Arc;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use flagpole_core::Scope;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::change::Publish;
use super::frame::frame;
use crate::error::ApiError;
use crate::identity::{secret, Directory, Kind, Token};

/// Longest ticket read (a token id, a dot, 64 hex digits).
pub const MAX_TICKET_LEN: usize = 160;

/// How long a hidden page keeps its stream (ADR 0008's `inactivityDelaySec`).
pub const INACTIVITY_DELAY_SECS: u64 = 120;

/// `refetchEvaluation` for one publish, when it changed what `environment` evaluates.
pub fn changed(publish: &Publish, environment: &str, scope: &Scope) -> Option<Bytes> {
    super::native::touches(publish, environment, scope).then(|| refetch(publish.after.version))
}

/// `refetchEvaluation` with the version as `etag` (sent back as `flagConfigEtag`).
pub fn refetch(version: i64) -> Bytes {
    let data = json!({
        "type": "refetchEvaluation",
        "etag": format!("\"{version}\""),
        "lastModified": Utc::now().timestamp(),
    });
    frame("message", version, data.to_string().as_bytes())
}

/// The ticket for a token's OFREP stream.
pub fn ticket(token: &Token) -> String {
    format!("{}.{}", token.id, hex::encode(mac(token, &token.id)))
}

/// The bulk response's `eventStreams` for a token: the stream on this server's origin.
pub fn event_streams(token: &Token) -> Value {
    json!([{
        "type": "sse",
        "endpoint": {"requestUri": format!("/ofrep/v1/stream?ticket={}", ticket(token))},
        "inactivityDelaySec": INACTIVITY_DELAY_SECS,
    }])
}

/// The live client or frontend token a ticket was made for; a frontend token only from
/// an origin it allows.
pub fn check_ticket(
    directory: &Directory,
    text: &str,
    origin: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Arc<Token>, ApiError> {
    const INVALID: &str = "the stream ticket is not valid: take the stream URL from a fresh bulk evaluation (`eventStreams`)";
    if text.len() > MAX_TICKET_LEN {
        return Err(ApiError::bad_request(
            "invalid_ticket",
            format!("the ticket is longer than {MAX_TICKET_LEN} characters"),
            Some("ticket".into()),
        ));
    }
    let (id, given) = text
        .split_once('.')
        .ok_or(ApiError::Unauthorized(INVALID))?;
    let token = directory
        .live_token(id, now)
        .ok_or(ApiError::Unauthorized(INVALID))?;
    let mut mac_given = [0u8; 32];
    hex::decode_to_slice(given, &mut mac_given).map_err(|_| ApiError::Unauthorized(INVALID))?;
    if !secret::same(&mac_given, &mac(token, id)) {
        return Err(ApiError::Unauthorized(INVALID));
    }
    if !matches!(token.kind, Kind::Client | Kind::Frontend) {
        return Err(ApiError::Forbidden(
            "OFREP streams are for client and frontend tokens".into(),
        ));
    }
    if let Some(origin) = origin.filter(|_| token.kind == Kind::Frontend) {
        if !token.allows_origin(origin) {
            return Err(ApiError::Forbidden(format!(
                "this frontend token may not be used from {origin}"
            )));
        }
    }
    Ok(token.clone())
}

/// HMAC-SHA256 (RFC 2104) of the stream's purpose and the token id, keyed by the token's
/// verifier.
fn mac(token: &Token, id: &str) -> [u8; 32] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(token.verifier());
    let pad = |byte: u8| key.map(|k| k ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(b"flagpole ofrep stream\0")
        .chain_update(id.as_bytes())
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}
