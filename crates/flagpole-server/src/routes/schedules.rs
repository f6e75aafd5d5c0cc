//! `/api/v1/schedules`, `/api/v1/flags/{key}/schedules`, `/api/v1/segments/{name}/schedules`:
//! scheduled changes. Creating or cancelling one needs the right to make the change now
//! (an editor; protected environments as `protection.rs` says); an environment that
//! requires approval takes scheduled changes only through approved change requests.

use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use flagpole_store::{ScheduleFilter, ScheduleRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{readable, ProjectEditor, ProjectViewer};
use crate::http::extract::{one_of, ApiJson, ApiPath, ApiQuery, Call};
use crate::http::schemas::{BodyErrors, WriteErrors};
use crate::review::proposal::{flag_proposal, segment_proposal, FlagProposalInput};
use crate::review::schedules::{self, load, split_time, Subject};

router!(pub fn router: list_schedules; get_schedule, cancel_schedule; create_flag_schedule; create_segment_schedule);

/// Schedules.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleList {
    schedules: Vec<ScheduleRecord>,
}

/// A flag change to make at a time.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FlagScheduleInput {
    /// When to apply it (RFC 3339).
    due_at: DateTime<Utc>,
    #[schema(inline)]
    #[serde(flatten)]
    proposal: FlagProposalInput,
}

/// A segment change to make at a time.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentScheduleInput {
    due_at: DateTime<Utc>,
    /// The segment version the change is based on; the current one if absent.
    version: Option<i64>,
    /// The whole new segment, as `PUT /api/v1/segments/{name}` takes it.
    #[schema(value_type = Object)]
    segment: Value,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ScheduleQuery {
    /// `pending`, `running`, `applied`, `failed` or `cancelled`.
    status: Option<String>,
    /// Only the schedules of this flag.
    flag: Option<String>,
    /// Only the schedules of this segment.
    segment: Option<String>,
    /// Only the schedules of this project's flags and segments.
    project: Option<String>,
}

/// Lists scheduled changes, by due time.
#[utoipa::path(get, path = "/schedules", params(ScheduleQuery), responses((status = 200, description = "The matching schedules (at most 1000)", body = ScheduleList), (status = 400, description = "Unreadable query or an unknown status", body = ErrorBody), WriteErrors))]
async fn list_schedules(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiQuery(q): ApiQuery<ScheduleQuery>,
) -> Result<Json<ScheduleList>, ApiError> {
    one_of(
        "status",
        q.status.as_deref(),
        &["pending", "running", "applied", "failed", "cancelled"],
    )?;
    let (kind, target) = match (q.flag, q.segment) {
        (Some(flag), None) => (Some("flag".to_string()), Some(flag)),
        (None, Some(segment)) => (Some("segment".to_string()), Some(segment)),
        (None, None) => (None, None),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give flag or segment, not both",
                Some("segment".into()),
            ))
        }
    };
    let filter = ScheduleFilter {
        status: q.status,
        kind,
        target,
    };
    let published = state.published();
    let scope = who.scope();
    let project = q.project;
    let schedules = state
        .store()
        .schedules(&filter)
        .await?
        .into_iter()
        .filter(|s| {
            let of = published.project_of(&s.kind, &s.target);
            scope.sees_segment(of) && project.as_deref().is_none_or(|p| p == of)
        })
        .collect();
    Ok(Json(ScheduleList { schedules }))
}

/// Reads one scheduled change.
#[utoipa::path(get, path = "/schedules/{id}", params(("id" = i64, Path, description = "Schedule id")), responses((status = 200, description = "The schedule", body = ScheduleRecord), (status = 400, description = "An id that is not an integer", body = ErrorBody), (status = 404, description = "No such schedule", body = ErrorBody), WriteErrors))]
async fn get_schedule(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ScheduleRecord>, ApiError> {
    let schedule = load(&state, id).await?;
    let published = state.published();
    let project = published.project_of(&schedule.kind, &schedule.target);
    readable(&who, Some(project), "schedule", id)?;
    Ok(Json(schedule))
}

/// Cancels a pending scheduled change.
#[utoipa::path(delete, path = "/schedules/{id}", params(("id" = i64, Path, description = "Schedule id")), responses((status = 200, description = "The cancelled schedule", body = ScheduleRecord), (status = 400, description = "An id that is not an integer", body = ErrorBody), (status = 404, description = "No such schedule", body = ErrorBody), (status = 409, description = "The schedule is not pending any more", body = ErrorBody), WriteErrors))]
async fn cancel_schedule(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ScheduleRecord>, ApiError> {
    Ok(Json(schedules::cancel(&state, &who, id).await?))
}

/// Schedules a change to a flag: the whole new flag, or a change to one environment.
#[utoipa::path(post, path = "/flags/{key}/schedules", params(("key" = String, Path, description = "Flag key")), request_body = FlagScheduleInput, responses((status = 201, description = "The schedule", body = ScheduleRecord), (status = 400, description = "Unreadable body, a due time out of range, or too many pending schedules", body = ErrorBody), (status = 404, description = "No such flag or environment", body = ErrorBody), (status = 409, description = "The flag changed since that version, or the environment requires approval", body = ErrorBody), (status = 422, description = "The change is invalid", body = ErrorBody), BodyErrors, WriteErrors))]
async fn create_flag_schedule(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<ScheduleRecord>), ApiError> {
    let (due_at, input) = split_time(body, "due_at")?;
    // Refused before anything else is checked, as a direct change to the environment is.
    if let Some(env) = &input.environment {
        let target = ("flag", key.as_str());
        crate::review::check_may_change(
            &state.published(),
            &who,
            target,
            std::slice::from_ref(env),
        )?;
    }
    let proposal = flag_proposal(&state.published(), &key, input)?;
    let subject = Subject {
        kind: "flag",
        target: &key,
    };
    let created = schedules::create(&state, &who, subject, due_at, proposal).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Schedules a change to a segment: the whole new segment.
#[utoipa::path(post, path = "/segments/{name}/schedules", params(("name" = String, Path, description = "Segment name")), request_body = SegmentScheduleInput, responses((status = 201, description = "The schedule", body = ScheduleRecord), (status = 400, description = "Unreadable body, a due time out of range, or too many pending schedules", body = ErrorBody), (status = 404, description = "No such segment", body = ErrorBody), (status = 409, description = "The segment changed since that version, or an environment it is used in requires approval", body = ErrorBody), (status = 422, description = "The change is invalid", body = ErrorBody), BodyErrors, WriteErrors))]
async fn create_segment_schedule(
    Call(state, ProjectEditor(who)): Call<ProjectEditor>,
    ApiPath(name): ApiPath<String>,
    ApiJson(input): ApiJson<SegmentScheduleInput>,
) -> Result<(StatusCode, Json<ScheduleRecord>), ApiError> {
    let proposal = segment_proposal(&state.published(), &name, input.version, input.segment)?;
    let subject = Subject {
        kind: "segment",
        target: &name,
    };
    let created = schedules::create(&state, &who, subject, input.due_at, proposal).await?;
    Ok((StatusCode::CREATED, Json(created)))
}
