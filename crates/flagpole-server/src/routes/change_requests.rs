//! `/api/v1/change-requests`: proposed flag changes that a second person approves (four
//! eyes), and `/api/v1/environments/{env}/approval`, which makes an environment require
//! them. Editors propose; another user who may change every environment the proposal
//! touches approves (applying it, or scheduling it with `apply_at`) or rejects it; the
//! author may withdraw (reject) their own but never approve it. A request whose flag
//! moved on since it was made must be rebased before it can be approved.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use flagpole_store::{ChangeRequestRecord, NewChangeRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Admin, Editor, Principal, Viewer};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::review::proposal::{flag_proposal, rebase, FlagProposalInput, Proposal};
use crate::review::requests::{add_comment, author_or_reviewer, field, load, may_approve, stale};
use crate::review::scheduler::{apply, Target};
use crate::review::{self, MAX_DESCRIPTION_CHARS};
use crate::routes::{protection, schedules};
use crate::schemas::{BodyErrors, ErrorBody, WriteErrors};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_change_requests, create_change_request))
        .routes(routes!(get_change_request))
        .routes(routes!(comment_change_request))
        .routes(routes!(approve_change_request))
        .routes(routes!(reject_change_request))
        .routes(routes!(rebase_change_request))
        .routes(routes!(set_environment_approval))
}

/// Change requests, newest first.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
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
#[utoipa::path(
    get,
    path = "/change-requests",
    tag = "change requests",
    params(RequestQuery),
    responses(
        (status = 200, description = "The matching requests (at most 1000), newest first", body = ChangeRequestList),
        (status = 400, description = "Unreadable query or an unknown status", body = ErrorBody),
        WriteErrors,
    )
)]
async fn list_change_requests(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> Result<Json<Value>, ApiError> {
    const STATUSES: [&str; 4] = ["open", "applied", "scheduled", "rejected"];
    if let Some(status) = q.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "status must be one of {}, not {status:?}",
                STATUSES.join(", ")
            ),
            Some("status".into()),
        ));
    }
    let requests = state.store().change_requests(q.status.as_deref()).await?;
    Ok(Json(json!({ "change_requests": requests })))
}

/// Proposes a flag change: the whole new flag, or a change to one environment.
#[utoipa::path(
    post,
    path = "/change-requests",
    tag = "change requests",
    request_body = ChangeRequestInput,
    responses(
        (status = 201, description = "The request, open", body = ChangeRequestRecord),
        (status = 400, description = "Unreadable body, or too many open requests for the flag", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn create_change_request(
    State(state): State<AppState>,
    Editor(who): Editor,
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
    let input: FlagProposalInput = crate::extract::from_value(body)?;
    let proposal = flag_proposal(&state.published(), &key, input)?;
    let open = state.store().change_requests(Some("open")).await?;
    if open.iter().filter(|r| r.target == key).count() >= review::MAX_OPEN_REQUESTS {
        return Err(ApiError::bad_request(
            "too_many_change_requests",
            format!("flag {key:?} has {} open change requests, the most it may have; decide on one first", review::MAX_OPEN_REQUESTS),
            None,
        ));
    }
    let new = NewChangeRequest {
        kind: "flag",
        target: &key,
        environments: &proposal.environments,
        body: &proposal.body,
        based_on: proposal.based_on,
        description: &description,
        author: who.actor(),
    };
    let env = review::proposal_environment(&proposal.environments);
    let record = state
        .store()
        .create_change_request(&new, who.change("change_request.created", env))
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// Reads a change request, with its diff against the current flag and whether the
/// caller may approve it.
#[utoipa::path(
    get,
    path = "/change-requests/{id}",
    tag = "change requests",
    params(("id" = i64, Path, description = "Change request id")),
    responses(
        (status = 200, description = "The request; `changes` is its diff against the current flag, `stale` whether the flag moved on since, `may_approve` whether the caller may approve it, `preview` the impact preview per environment that samples contexts", body = Object),
        (status = 400, description = "An id that is not an integer", body = ErrorBody),
        (status = 404, description = "No such change request", body = ErrorBody),
        WriteErrors,
    )
)]
async fn get_change_request(
    State(state): State<AppState>,
    Viewer(who): Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let record = load(&state, id).await?;
    Ok(Json(detail(&state, &who, &record)))
}

/// Comments on a change request.
#[utoipa::path(
    post,
    path = "/change-requests/{id}/comments",
    tag = "change requests",
    params(("id" = i64, Path, description = "Change request id")),
    request_body = CommentInput,
    responses(
        (status = 200, description = "The request", body = ChangeRequestRecord),
        (status = 400, description = "Unreadable body, an empty or too long comment, or too many comments", body = ErrorBody),
        (status = 404, description = "No such change request", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn comment_change_request(
    State(state): State<AppState>,
    Viewer(who): Viewer,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CommentInput>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    let record = load(&state, id).await?;
    add_comment(&state, &who, &record, &input.text)
        .await
        .map(Json)
}

/// Approves a change request: applies it now, or schedules it with `apply_at`.
#[utoipa::path(
    post,
    path = "/change-requests/{id}/approve",
    tag = "change requests",
    params(("id" = i64, Path, description = "Change request id")),
    request_body = Option<ApproveInput>,
    responses(
        (status = 200, description = "The request, applied or scheduled", body = ChangeRequestRecord),
        (status = 400, description = "Unreadable body or an `apply_at` out of range", body = ErrorBody),
        (status = 403, description = "The caller is the author, or may not change an environment it touches", body = ErrorBody),
        (status = 404, description = "No such change request", body = ErrorBody),
        (status = 409, description = "The request is not open, or the flag moved on since it was made (rebase it)", body = ErrorBody),
        (status = 422, description = "The change is no longer valid", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn approve_change_request(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(input): OptionalJson<ApproveInput>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    let mut record = load(&state, id).await?;
    may_approve(&state, &who, &record)?;
    let actor = format!(
        "{} (approving change request {id} by {})",
        who.actor(),
        record.author
    );
    let env = review::proposal_environment(&record.environments);
    record.reviewer = Some(who.actor().to_string());
    if let Some(at) = input.and_then(|i| i.apply_at) {
        schedules::check_due("apply_at", at)?;
        let proposal = Proposal {
            body: record.body.clone(),
            based_on: record.based_on,
            environments: record.environments.clone(),
        };
        let (_, Json(schedule)) = schedules::store(
            &state,
            &actor,
            &who,
            &record.kind,
            &record.target,
            at,
            proposal,
            Some(id),
        )
        .await?;
        record.status = "scheduled".into();
        record.schedule_id = Some(schedule.id);
    } else {
        let target = Target {
            kind: &record.kind,
            key: &record.target,
            body: &record.body,
            based_on: record.based_on,
        };
        let published = state.published();
        if published.flag(&record.target)?.version != record.based_on {
            return Err(stale(&record, published.flag(&record.target)?.version));
        }
        let change = flagpole_store::Change {
            actor: &actor,
            action: "flag.updated",
            environment: env,
            address: who.address(),
        };
        review::approved(apply(&state, target, change)).await?;
        record.status = "applied".into();
    }
    let change = who.change("change_request.approved", env);
    let record = state
        .store()
        .update_change_request(&record, "open", change)
        .await?;
    Ok(Json(record))
}

/// Rejects a change request (its author may withdraw it so).
#[utoipa::path(
    post,
    path = "/change-requests/{id}/reject",
    tag = "change requests",
    params(("id" = i64, Path, description = "Change request id")),
    request_body = Option<RejectInput>,
    responses(
        (status = 200, description = "The request, rejected", body = ChangeRequestRecord),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 403, description = "Neither the author nor allowed to change its environments", body = ErrorBody),
        (status = 404, description = "No such change request", body = ErrorBody),
        (status = 409, description = "The request is not open", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn reject_change_request(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath(id): ApiPath<i64>,
    OptionalJson(input): OptionalJson<RejectInput>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    let mut record = load(&state, id).await?;
    author_or_reviewer(&state, &who, &record)?;
    if let Some(reason) = input.and_then(|i| i.reason) {
        record = add_comment(&state, &who, &record, &reason).await?;
    }
    record.status = "rejected".into();
    record.reviewer = Some(who.actor().to_string());
    let env = review::proposal_environment(&record.environments);
    let change = who.change("change_request.rejected", env);
    let record = state
        .store()
        .update_change_request(&record, "open", change)
        .await?;
    Ok(Json(record))
}

/// Carries a change request over to the flag's current version (when the flag changed
/// in other parts than the request does; else 409 naming the part).
#[utoipa::path(
    post,
    path = "/change-requests/{id}/rebase",
    tag = "change requests",
    params(("id" = i64, Path, description = "Change request id")),
    responses(
        (status = 200, description = "The request, based on the current version", body = ChangeRequestRecord),
        (status = 400, description = "An id that is not an integer", body = ErrorBody),
        (status = 403, description = "Neither the author nor allowed to change its environments", body = ErrorBody),
        (status = 404, description = "No such change request or flag", body = ErrorBody),
        (status = 409, description = "The request is not open, or the flag changed where the request does", body = ErrorBody),
        WriteErrors,
    )
)]
async fn rebase_change_request(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    let mut record = load(&state, id).await?;
    author_or_reviewer(&state, &who, &record)?;
    let published = state.published();
    let current = published.flag(&record.target)?;
    if current.version == record.based_on {
        return Ok(Json(record));
    }
    let unreadable = |e: serde_json::Error| ApiError::Conflict(format!("unreadable flag: {e}"));
    let proposed = serde_json::from_value(record.body.clone()).map_err(unreadable)?;
    let base = state
        .store()
        .flag_version(&record.target, record.based_on)
        .await?
        .and_then(|v| v.flag)
        .ok_or_else(|| ApiError::Conflict("the base version is not in the history".into()))?;
    let merged = rebase(&base, &proposed, &current.flag).map_err(|reason| {
        ApiError::Conflict(format!(
            "cannot rebase: {reason}; open a new change request"
        ))
    })?;
    let touched = protection::flag_touches(Some(&current.flag), Some(&merged));
    record.body = serde_json::to_value(&merged).unwrap_or_default();
    record.based_on = current.version;
    record.environments = touched.into_iter().collect();
    let env = review::proposal_environment(&record.environments);
    let change = who.change("change_request.rebased", env);
    let record = state
        .store()
        .update_change_request(&record, "open", change)
        .await?;
    Ok(Json(record))
}

/// Makes an environment require change requests, or not.
#[utoipa::path(
    put,
    path = "/environments/{env}/approval",
    tag = "environments",
    params(("env" = String, Path, description = "Environment name")),
    request_body = ApprovalSetting,
    responses(
        (status = 200, description = "The environment", body = flagpole_store::Environment),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 404, description = "No such environment", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn set_environment_approval(
    State(state): State<AppState>,
    Admin(who): Admin,
    ApiPath(env): ApiPath<String>,
    ApiJson(input): ApiJson<ApprovalSetting>,
) -> Result<Json<Value>, ApiError> {
    let _guard = state.write_lock().await?;
    let action = if input.required {
        "environment.approval_required"
    } else {
        "environment.approval_not_required"
    };
    state
        .store()
        .set_environment_requires_approval(&env, input.required, who.change(action, Some(&env)))
        .await?;
    let published = state.reload().await?;
    Ok(Json(json!(published
        .environments
        .iter()
        .find(|e| e.name == env))))
}

/// The request with its diff against the current flag, for the API and the UI.
pub(crate) fn detail(state: &AppState, who: &Principal, record: &ChangeRequestRecord) -> Value {
    let published = state.published();
    let current = published.flags.get(&record.target);
    let before = current
        .map(|r| serde_json::to_value(r.flag()).unwrap_or_default())
        .unwrap_or(Value::Null);
    let mut changes = Vec::new();
    crate::routes::history::diff("", &before, &record.body, &mut changes);
    let mut out = serde_json::to_value(record).unwrap_or_default();
    out["current_version"] = json!(current.map(|r| r.version));
    out["stale"] = json!(current.is_none_or(|r| r.version != record.based_on));
    out["changes"] = json!(changes);
    let refusal = may_approve(state, who, record).err();
    out["may_approve"] = json!(refusal.is_none());
    out["why_not"] = json!(refusal.map(|e| e.public_message()));
    out["preview"] = json!(impact(state, record));
    out
}

/// The impact preview of a flag request in each environment it touches (reports only
/// where the environment samples contexts; empty for segment requests).
fn impact(state: &AppState, record: &ChangeRequestRecord) -> Vec<crate::PreviewReport> {
    if record.kind != "flag" {
        return Vec::new();
    }
    let Ok(proposed) = serde_json::from_value::<flagpole_core::Flag>(record.body.clone()) else {
        return Vec::new();
    };
    record
        .environments
        .iter()
        .filter_map(|env| crate::preview(state, env, &record.target, Some(&proposed)).ok())
        .filter(|report| report.sampled > 0)
        .collect()
}
