//! `/api/v1/change-requests`: proposed flag changes that a second person approves (four
//! eyes), and `/api/v1/environments/{env}/approval`, which makes an environment require
//! them. Editors propose; another user who may change every environment the proposal
//! touches approves (applying it, or scheduling it with `apply_at`) or rejects it; the
//! author may withdraw (reject) their own but never approve it. A request whose flag
//! moved on since it was made must be rebased before it can be approved.

use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use flagpole_store::{ChangeRequestRecord, Environment};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{readable, Admin, ProjectEditor, ProjectViewer};
use crate::http::extract::{one_of, ApiJson, ApiPath, ApiQuery, Call, OptionalJson};
use crate::http::schemas::{BodyErrors, WriteErrors};
use crate::http::views::ChangeRequestDetail;
use crate::review::proposal::FlagProposalInput;
use crate::review::requests::{self, add_comment, field, load};
use crate::review::MAX_DESCRIPTION_CHARS;
use crate::write::environments::{self, Setting};

router!(pub fn router: list_change_requests, create_change_request; get_change_request; comment_change_request; approve_change_request; reject_change_request; rebase_change_request; set_environment_approval);

/// Change requests, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeRequestList {
    change_requests: Vec<ChangeRequestRecord>,
}

/// A flag change to propose.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ChangeRequestInput {
    /// The flag key.
    key: String,
    /// Why (at most 2000 characters).
    description: Option<String>,
    #[schema(inline)]
    #[serde(flatten)]
    proposal: FlagProposalInput,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RequestQuery {
    /// `open`, `applied`, `scheduled` or `rejected`.
    status: Option<String>,
    /// Only those about this project's flags.
    project: Option<String>,
}

/// A change request the caller may read (a viewer of its flag's project), or 404.
async fn readable_request(
    state: &crate::http::AppState,
    who: &crate::identity::Principal,
    id: i64,
) -> Result<ChangeRequestRecord, ApiError> {
    let record = load(state, id).await?;
    let published = state.published();
    let project = published.project_of(&record.kind, &record.target);
    readable(who, Some(project), "change request", id)?;
    Ok(record)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CommentInput {
    /// 1 to 2000 characters.
    text: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ApproveInput {
    /// Apply it at this time (a schedule) instead of now.
    apply_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RejectInput {
    /// Why, added as a comment.
    reason: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ApprovalSetting {
    /// Whether changes to the environment need an approved change request.
    required: bool,
}

/// Lists change requests.
#[utoipa::path(get, path = "/change-requests", params(RequestQuery), responses((status = 200, description = "The matching requests (at most 1000), newest first", body = ChangeRequestList), (status = 400, description = "Unreadable query or an unknown status", body = ErrorBody), WriteErrors))]
async fn list_change_requests(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> Result<Json<ChangeRequestList>, ApiError> {
    one_of(
        "status",
        q.status.as_deref(),
        &["open", "applied", "scheduled", "rejected"],
    )?;
    let published = state.published();
    let scope = who.scope();
    let change_requests = state
        .store()
        .change_requests(q.status.as_deref())
        .await?
        .into_iter()
        .filter(|r| {
            let project = published.project_of(&r.kind, &r.target);
            scope.contains(project) && q.project.as_deref().is_none_or(|p| p == project)
        })
        .collect();
    Ok(Json(ChangeRequestList { change_requests }))
}

/// Proposes a flag change: the whole new flag, or a change to one environment.
#[utoipa::path(post, path = "/change-requests", request_body = ChangeRequestInput, responses((status = 201, description = "The request, open", body = ChangeRequestRecord), (status = 400, description = "Unreadable body, or too many open requests for the flag", body = ErrorBody), (status = 404, description = "No such flag or environment", body = ErrorBody), (status = 409, description = "The flag changed since that version", body = ErrorBody), (status = 422, description = "The change is invalid", body = ErrorBody), BodyErrors, WriteErrors))]
async fn create_change_request(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiJson(mut body): ApiJson<Value>,
) -> Result<(StatusCode, Json<ChangeRequestRecord>), ApiError> {
    let map = body.as_object_mut().ok_or_else(|| {
        ApiError::bad_request("invalid_body", "the body must be a JSON object", None)
    })?;
    let key = match map.remove("key") {
        Some(Value::String(key)) => key,
        _ => return Err(field("key", "the flag key, a string, is required")),
    };
    let description = match map.remove("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(d)) if d.chars().count() <= MAX_DESCRIPTION_CHARS => d,
        Some(_) => {
            return Err(field(
                "description",
                &format!("a string of at most {MAX_DESCRIPTION_CHARS} characters"),
            ))
        }
    };
    let input: FlagProposalInput = crate::write::input::from_value(body)?;
    let record = requests::open(&state, &who, &key, description, input).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// Reads a change request, with its diff against the current flag and whether the
/// caller may approve it.
#[utoipa::path(get, path = "/change-requests/{id}", params(("id" = i64, Path, description = "Change request id")), responses((status = 200, description = "The request; `changes` is its diff against the current flag, `stale` whether the flag moved on since, `may_approve` whether the caller may approve it, `preview` the impact preview per environment that samples contexts", body = ChangeRequestDetail), (status = 400, description = "An id that is not an integer", body = ErrorBody), (status = 404, description = "No such change request", body = ErrorBody), WriteErrors))]
async fn get_change_request(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ChangeRequestDetail>, ApiError> {
    let record = readable_request(&state, &who, id).await?;
    Ok(Json(ChangeRequestDetail::of(&state, &who, record)))
}

/// Comments on a change request.
#[utoipa::path(post, path = "/change-requests/{id}/comments", params(("id" = i64, Path, description = "Change request id")), request_body = CommentInput, responses((status = 200, description = "The request", body = ChangeRequestRecord), (status = 400, description = "Unreadable body, an empty or too long comment, or too many comments", body = ErrorBody), (status = 404, description = "No such change request", body = ErrorBody), BodyErrors, WriteErrors))]
async fn comment_change_request(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CommentInput>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    let record = readable_request(&state, &who, id).await?;
    add_comment(&state, &who, &record, &input.text)
        .await
        .map(Json)
}

/// Approves a change request: applies it now, or schedules it with `apply_at`.
#[utoipa::path(post, path = "/change-requests/{id}/approve", params(("id" = i64, Path, description = "Change request id")), request_body = Option<ApproveInput>, responses((status = 200, description = "The request, applied or scheduled", body = ChangeRequestRecord), (status = 400, description = "Unreadable body or an `apply_at` out of range", body = ErrorBody), (status = 403, description = "The caller is the author, or may not change an environment it touches", body = ErrorBody), (status = 404, description = "No such change request", body = ErrorBody), (status = 409, description = "The request is not open, or the flag moved on since it was made (rebase it)", body = ErrorBody), (status = 422, description = "The change is no longer valid", body = ErrorBody), BodyErrors, WriteErrors))]
async fn approve_change_request(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(input): OptionalJson<ApproveInput>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    let apply_at = input.and_then(|i| i.apply_at);
    Ok(Json(requests::approve(&state, &who, id, apply_at).await?))
}

/// Rejects a change request (its author may withdraw it so).
#[utoipa::path(post, path = "/change-requests/{id}/reject", params(("id" = i64, Path, description = "Change request id")), request_body = Option<RejectInput>, responses((status = 200, description = "The request, rejected", body = ChangeRequestRecord), (status = 400, description = "Unreadable body", body = ErrorBody), (status = 403, description = "Neither the author nor allowed to change its environments", body = ErrorBody), (status = 404, description = "No such change request", body = ErrorBody), (status = 409, description = "The request is not open", body = ErrorBody), BodyErrors, WriteErrors))]
async fn reject_change_request(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(input): OptionalJson<RejectInput>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    let reason = input.and_then(|i| i.reason);
    Ok(Json(requests::reject(&state, &who, id, reason).await?))
}

/// Carries a change request over to the flag's current version (when the flag changed
/// in other parts than the request does; else 409 naming the part).
#[utoipa::path(post, path = "/change-requests/{id}/rebase", params(("id" = i64, Path, description = "Change request id")), responses((status = 200, description = "The request, based on the current version", body = ChangeRequestRecord), (status = 400, description = "An id that is not an integer", body = ErrorBody), (status = 403, description = "Neither the author nor allowed to change its environments", body = ErrorBody), (status = 404, description = "No such change request or flag", body = ErrorBody), (status = 409, description = "The request is not open, or the flag changed where the request does", body = ErrorBody), WriteErrors))]
async fn rebase_change_request(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    Ok(Json(requests::rebase_request(&state, &who, id).await?))
}

/// Makes an environment require change requests, or not.
#[utoipa::path(put, path = "/environments/{env}/approval", tag = "environments", params(("env" = String, Path, description = "Environment name")), request_body = ApprovalSetting, responses((status = 200, description = "The environment", body = flagpole_store::Environment), (status = 400, description = "Unreadable body", body = ErrorBody), (status = 404, description = "No such environment", body = ErrorBody), BodyErrors, WriteErrors))]
async fn set_environment_approval(
    Call(state, Admin(who)): Call<Admin>,
    ApiPath(env): ApiPath<String>,
    ApiJson(input): ApiJson<ApprovalSetting>,
) -> Result<Json<Environment>, ApiError> {
    let setting = Setting::RequiresApproval(input.required);
    let set = environments::set(&state, &who, &env, setting).await?;
    Ok(Json(set))
}
