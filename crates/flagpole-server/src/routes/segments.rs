//! `/api/v1/segments`: reusable condition lists. A segment in use cannot be deleted; the
//! refusal names the flags using it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use flagpole_core::{check_key, Segment};
use flagpole_store::{Change, Expect};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{based_on, ApiJson, ApiPath};
use crate::routes::resources::{
    actor, commit_segment, or_current, required, segment_json, split_body,
};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/segments", get(list_segments).post(create_segment))
        .route(
            "/segments/{name}",
            get(get_segment).put(put_segment).delete(delete_segment),
        )
}

async fn list_segments(State(state): State<AppState>) -> Json<Value> {
    let published = state.published();
    let segments: Vec<Value> = published.segments.values().map(segment_json).collect();
    Json(json!({"segments": segments}))
}

fn find(state: &AppState, name: &str) -> Result<Value, ApiError> {
    state
        .published()
        .segments
        .get(name)
        .map(segment_json)
        .ok_or_else(|| ApiError::NotFound {
            kind: "segment",
            name: name.to_string(),
        })
}

async fn get_segment(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    find(&state, &name).map(Json)
}

async fn create_segment(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (name, _, segment): (_, _, Segment) = split_body(body, "name")?;
    let name = name.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_body",
            "name: a segment needs a name",
            Some("name".into()),
        )
    })?;
    check_key(&name).map_err(|m| {
        ApiError::bad_request(
            "invalid_body",
            format!("name: segment name {m}"),
            Some("name".into()),
        )
    })?;
    let _guard = state.write_lock().await;
    let who = actor(&headers);
    let audit = Change {
        actor: &who,
        action: "segment.created",
        environment: None,
    };
    commit_segment(&state, &name, Some(&segment), Expect::Absent, audit).await?;
    Ok((StatusCode::CREATED, Json(find(&state, &name)?)))
}

async fn put_segment(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let (body_name, version, segment): (_, _, Segment) = split_body(body, "name")?;
    if body_name.as_ref().is_some_and(|n| *n != name) {
        return Err(ApiError::bad_request(
            "invalid_body",
            "name: segments cannot be renamed",
            Some("name".into()),
        ));
    }
    let expect = required(based_on(&headers, version)?)?;
    let _guard = state.write_lock().await;
    find(&state, &name)?;
    let who = actor(&headers);
    let audit = Change {
        actor: &who,
        action: "segment.updated",
        environment: None,
    };
    commit_segment(&state, &name, Some(&segment), expect, audit).await?;
    Ok(Json(find(&state, &name)?))
}

async fn delete_segment(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let _guard = state.write_lock().await;
    let published = state.published();
    let record = published
        .segments
        .get(&name)
        .ok_or_else(|| ApiError::NotFound {
            kind: "segment",
            name: name.clone(),
        })?;
    let users: Vec<&str> = published
        .flags
        .values()
        .filter(|f| {
            f.flag
                .environments
                .values()
                .flat_map(|e| e.rules.iter())
                .any(|r| r.segments.contains(&name))
        })
        .map(|f| f.key.as_str())
        .collect();
    if !users.is_empty() {
        return Err(ApiError::Conflict(format!(
            "segment {name:?} is used by {} flag(s): {}; remove it from their rules first",
            users.len(),
            users.join(", ")
        )));
    }
    let expect = or_current(based_on(&headers, None)?, record.version);
    let who = actor(&headers);
    let audit = Change {
        actor: &who,
        action: "segment.deleted",
        environment: None,
    };
    commit_segment(&state, &name, None, expect, audit).await?;
    Ok(StatusCode::NO_CONTENT)
}
