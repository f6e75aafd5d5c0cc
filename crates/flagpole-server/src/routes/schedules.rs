//! `/api/v1/schedules`, `/api/v1/flags/{key}/schedules`, `/api/v1/segments/{name}/schedules`:
//! scheduled changes. Creating or cancelling one needs the right to make the change now
//! (an editor; protected environments as `protection.rs` says); an environment that
//! requires approval takes scheduled changes only through approved change requests.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use flagpole_store::{ScheduleFilter, ScheduleRecord};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Editor, Principal, Viewer};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::review::proposal::{flag_proposal, segment_proposal, FlagProposalInput, Proposal};
use crate::review::{self, MAX_DUE_PAST_SECS, MAX_PENDING_SCHEDULES, MAX_SCHEDULE_DAYS};
use crate::schemas::{BodyErrors, ErrorBody, WriteErrors};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_schedules))
        .routes(routes!(get_schedule, cancel_schedule))
        .routes(routes!(create_flag_schedule))
        .routes(routes!(create_segment_schedule))
}

/// Schedules.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
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
}

/// Lists scheduled changes, by due time.
#[utoipa::path(
    get,
    path = "/schedules",
    tag = "schedules",
    params(ScheduleQuery),
    responses(
        (status = 200, description = "The matching schedules (at most 1000)", body = ScheduleList),
        (status = 400, description = "Unreadable query or an unknown status", body = ErrorBody),
        WriteErrors,
    )
)]
async fn list_schedules(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiQuery(q): ApiQuery<ScheduleQuery>,
) -> Result<Json<Value>, ApiError> {
    const STATUSES: [&str; 5] = ["pending", "running", "applied", "failed", "cancelled"];
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
    let schedules = state.store().schedules(&filter).await?;
    Ok(Json(json!({ "schedules": schedules })))
}

/// Reads one scheduled change.
#[utoipa::path(
    get,
    path = "/schedules/{id}",
    tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "The schedule", body = ScheduleRecord),
        (status = 400, description = "An id that is not an integer", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
        WriteErrors,
    )
)]
async fn get_schedule(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ScheduleRecord>, ApiError> {
    Ok(Json(load(&state, id).await?))
}

/// Cancels a pending scheduled change.
#[utoipa::path(
    delete,
    path = "/schedules/{id}",
    tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "The cancelled schedule", body = ScheduleRecord),
        (status = 400, description = "An id that is not an integer", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
        (status = 409, description = "The schedule is not pending any more", body = ErrorBody),
        WriteErrors,
    )
)]
async fn cancel_schedule(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ScheduleRecord>, ApiError> {
    let schedule = load(&state, id).await?;
    review::check_may_change(&state.published(), &who, &schedule.environments)?;
    let env = review::proposal_environment(&schedule.environments);
    let change = who.change("schedule.cancelled", env);
    Ok(Json(state.store().cancel_schedule(id, change).await?))
}

/// Schedules a change to a flag: the whole new flag, or a change to one environment.
#[utoipa::path(
    post,
    path = "/flags/{key}/schedules",
    tag = "schedules",
    params(("key" = String, Path, description = "Flag key")),
    request_body = FlagScheduleInput,
    responses(
        (status = 201, description = "The schedule", body = ScheduleRecord),
        (status = 400, description = "Unreadable body, a due time out of range, or too many pending schedules", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version, or the environment requires approval", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn create_flag_schedule(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<ScheduleRecord>), ApiError> {
    let (due_at, input) = split_time(body, "due_at")?;
    // Refused before anything else is checked, as a direct change to the environment is.
    if let Some(env) = &input.environment {
        review::check_may_change(&state.published(), &who, std::slice::from_ref(env))?;
    }
    let proposal = flag_proposal(&state.published(), &key, input)?;
    create(&state, &who, "flag", &key, due_at, proposal).await
}

/// Schedules a change to a segment: the whole new segment.
#[utoipa::path(
    post,
    path = "/segments/{name}/schedules",
    tag = "schedules",
    params(("name" = String, Path, description = "Segment name")),
    request_body = SegmentScheduleInput,
    responses(
        (status = 201, description = "The schedule", body = ScheduleRecord),
        (status = 400, description = "Unreadable body, a due time out of range, or too many pending schedules", body = ErrorBody),
        (status = 404, description = "No such segment", body = ErrorBody),
        (status = 409, description = "The segment changed since that version, or an environment it is used in requires approval", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn create_segment_schedule(
    State(state): State<AppState>,
    Editor(who): Editor,
    ApiPath(name): ApiPath<String>,
    ApiJson(input): ApiJson<SegmentScheduleInput>,
) -> Result<(StatusCode, Json<ScheduleRecord>), ApiError> {
    let proposal = segment_proposal(&state.published(), &name, input.version, input.segment)?;
    create(&state, &who, "segment", &name, input.due_at, proposal).await
}

/// Checks and stores a schedule: the due time, the caller's right to make the change,
/// the approval rule, and the limit of pending schedules.
pub(crate) async fn create(
    state: &AppState,
    who: &Principal,
    kind: &str,
    target: &str,
    due_at: DateTime<Utc>,
    proposal: Proposal,
) -> Result<(StatusCode, Json<ScheduleRecord>), ApiError> {
    check_due("due_at", due_at)?;
    let published = state.published();
    review::check_may_change(&published, who, &proposal.environments)?;
    let touched = proposal.environments.iter().cloned().collect();
    review::gate(&published, &touched)?;
    store(
        state,
        who.actor(),
        who,
        kind,
        target,
        due_at,
        proposal,
        None,
    )
    .await
}

/// Stores a schedule (the checks done), as `created_by`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn store(
    state: &AppState,
    created_by: &str,
    who: &Principal,
    kind: &str,
    target: &str,
    due_at: DateTime<Utc>,
    proposal: Proposal,
    change_request: Option<i64>,
) -> Result<(StatusCode, Json<ScheduleRecord>), ApiError> {
    let pending = ScheduleFilter {
        status: Some("pending".into()),
        kind: Some(kind.into()),
        target: Some(target.into()),
    };
    if state.store().schedules(&pending).await?.len() >= MAX_PENDING_SCHEDULES {
        return Err(ApiError::bad_request(
            "too_many_schedules",
            format!("{kind} {target:?} has {MAX_PENDING_SCHEDULES} pending schedules, the most it may have; cancel one first"),
            None,
        ));
    }
    let new = flagpole_store::NewSchedule {
        kind,
        target,
        environments: &proposal.environments,
        body: &proposal.body,
        based_on: proposal.based_on,
        due_at,
        change_request,
        created_by,
    };
    let env = review::proposal_environment(&proposal.environments);
    let change = who.change("schedule.created", env);
    let record = state.store().create_schedule(&new, change).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// Takes the time `field` out of a body and reads the rest as a proposal.
pub(crate) fn split_time(
    mut body: Value,
    field: &str,
) -> Result<(DateTime<Utc>, FlagProposalInput), ApiError> {
    let missing = || {
        ApiError::bad_request(
            "invalid_body",
            format!("{field}: required, an RFC 3339 time"),
            Some(field.into()),
        )
    };
    let time = body
        .as_object_mut()
        .ok_or_else(|| {
            ApiError::bad_request("invalid_body", "the body must be a JSON object", None)
        })?
        .remove(field)
        .ok_or_else(missing)?;
    let time: DateTime<Utc> = serde_json::from_value(time).map_err(|e| {
        ApiError::bad_request(
            "invalid_body",
            format!("{field}: not an RFC 3339 time ({e})"),
            Some(field.into()),
        )
    })?;
    Ok((time, crate::extract::from_value(body)?))
}

/// A due time from a minute ago (then applied at once) to [`MAX_SCHEDULE_DAYS`] ahead.
pub(crate) fn check_due(field: &str, due_at: DateTime<Utc>) -> Result<(), ApiError> {
    let now = Utc::now();
    if due_at < now - chrono::Duration::seconds(MAX_DUE_PAST_SECS) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("{field}: {due_at} is in the past"),
            Some(field.into()),
        ));
    }
    if due_at > now + chrono::Duration::days(MAX_SCHEDULE_DAYS) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("{field}: at most {MAX_SCHEDULE_DAYS} days ahead"),
            Some(field.into()),
        ));
    }
    Ok(())
}

async fn load(state: &AppState, id: i64) -> Result<ScheduleRecord, ApiError> {
    state
        .store()
        .schedule(id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            kind: "schedule",
            name: id.to_string(),
        })
}
