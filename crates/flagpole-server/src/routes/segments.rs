//! `/api/v1/segments`: reusable condition lists. A segment in use cannot be deleted; the
//! refusal names the flags using it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use flagpole_core::Segment;
use flagpole_store::SegmentRecord;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{ProjectEditor, ProjectViewer};
use crate::http::extract::{based_on, ApiJson, ApiPath, ApiQuery, Call};
use crate::http::schemas::ProjectQuery;
use crate::http::schemas::{BodyErrors, WriteErrors, WriteHeaders};
use crate::http::views::SegmentResource;
use crate::http::AppState;
use crate::write::input::{required, split_body};
use crate::write::segments;

router!(pub fn router: list_segments, create_segment; get_segment, put_segment, delete_segment);

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentList {
    pub segments: Vec<SegmentResource>,
}

/// A segment to create or replace; read-only fields are ignored.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentInput {
    /// Required to create; when replacing, it must name the segment in the path.
    pub name: Option<String>,
    /// The version the change is based on (or `If-Match`); required to replace.
    pub version: Option<i64>,
    /// Read-only: ignored.
    pub created_at: Option<DateTime<Utc>>,
    /// Read-only: ignored.
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub segment: Segment,
}

/// Lists the segments.
#[utoipa::path(get, path = "/segments", params(ProjectQuery), responses((status = 400, description = "Unreadable query", body = ErrorBody), (status = 200, description = "Every segment, in name order", body = SegmentList)))]
async fn list_segments(
    State(state): State<AppState>,
    ProjectViewer(who): ProjectViewer,
    ApiQuery(query): ApiQuery<ProjectQuery>,
) -> Json<SegmentList> {
    let published = state.published();
    let scope = who.scope();
    let segments = published
        .segments
        .values()
        .filter(|r| scope.sees_segment(r.segment.project()))
        .filter(|r| {
            query
                .project
                .as_ref()
                .is_none_or(|p| r.segment.usable_in(p))
        })
        .map(|r| SegmentResource::from(SegmentRecord::clone(r)))
        .collect();
    Json(SegmentList { segments })
}

fn find(state: &AppState, name: &str) -> Result<SegmentResource, ApiError> {
    state
        .published()
        .segments
        .get(name)
        .map(|r| SegmentResource::from(SegmentRecord::clone(r)))
        .ok_or_else(|| ApiError::NotFound {
            kind: "segment",
            name: name.to_string(),
        })
}

/// Reads a segment.
#[utoipa::path(get, path = "/segments/{name}", params(("name" = String, Path, description = "Segment name")), responses((status = 200, description = "The segment", body = SegmentResource), (status = 404, description = "No such segment", body = ErrorBody)))]
async fn get_segment(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<SegmentResource>, ApiError> {
    let segment = find(&state, &name)?;
    if !who.scope().sees_segment(segment.segment.project()) {
        return Err(ApiError::NotFound {
            kind: "segment",
            name,
        });
    }
    Ok(Json(segment))
}

/// Creates a segment.
#[utoipa::path(post, path = "/segments", request_body = SegmentInput, responses((status = 201, description = "The new segment", body = SegmentResource), (status = 400, description = "Unreadable body, or a missing or invalid name", body = ErrorBody), (status = 409, description = "The segment exists", body = ErrorBody), (status = 422, description = "The segment is invalid", body = ErrorBody), BodyErrors, WriteErrors))]
async fn create_segment(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<SegmentResource>), ApiError> {
    let (name, _, segment): (_, _, Segment) = split_body(body, "name")?;
    let name = name.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_body",
            "name: a segment needs a name",
            Some("name".into()),
        )
    })?;
    let created = segments::create(&state, &who, &name, &segment).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Replaces a segment; the body must say which version it is based on.
#[utoipa::path(put, path = "/segments/{name}", params(("name" = String, Path, description = "Segment name"), WriteHeaders), request_body = SegmentInput, responses((status = 200, description = "The segment as stored", body = SegmentResource), (status = 400, description = "Unreadable body or header, or a different name", body = ErrorBody), (status = 404, description = "No such segment", body = ErrorBody), (status = 409, description = "The segment changed since that version", body = ErrorBody), (status = 422, description = "The segment is invalid", body = ErrorBody), (status = 428, description = "No version given", body = ErrorBody), BodyErrors, WriteErrors))]
async fn put_segment(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<SegmentResource>, ApiError> {
    let (body_name, version, segment): (_, _, Segment) = split_body(body, "name")?;
    if body_name.as_ref().is_some_and(|n| *n != name) {
        return Err(ApiError::bad_request(
            "invalid_body",
            "name: segments cannot be renamed",
            Some("name".into()),
        ));
    }
    let expect = required(based_on(&headers, version)?)?;
    let stored = segments::replace(&state, &who, &name, &segment, expect).await?;
    Ok(Json(stored.into()))
}

/// Deletes a segment no flag uses.
#[utoipa::path(delete, path = "/segments/{name}", params(("name" = String, Path, description = "Segment name"), WriteHeaders), responses((status = 204, description = "Deleted"), (status = 400, description = "Unreadable If-Match", body = ErrorBody), (status = 404, description = "No such segment", body = ErrorBody), (status = 409, description = "Flags use the segment (they are named), or it changed since the If-Match version", body = ErrorBody), WriteErrors))]
async fn delete_segment(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let version = based_on(&headers, None)?;
    segments::delete(&state, &who, &name, version).await?;
    Ok(StatusCode::NO_CONTENT)
}
