//! The seed service's API, byte for byte: `GET /flags/{name}?user_id=…` and
//! `POST /flags/{name}?enabled=…&rollout_percentage=…`, on one environment. Unlike the
//! seed, nonsense input is refused with 422 and nothing is written. Errors keep FastAPI's
//! shape: `{"detail": …}`.

use std::collections::HashMap;

use axum::extract::Request;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use flagpole_core::{check_key, check_name, Context};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::seed::{invalid, SeedError, SeedErrorBody, SeedProblem};
use crate::error::ApiError;
use crate::http::auth::{SeedReader, SeedWriter};
use crate::http::extract::{query_value, ApiPath, ApiQuery, Call};
use crate::http::preview::{OrPreview, PreviewQuery};
use crate::http::AppState;
use crate::write::{flags, Mode};

pub fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, methods) = routes!(get_flag, set_flag);
    OpenApiRouter::new().routes((schemas, paths, methods.fallback(method_not_allowed)))
}

/// FastAPI's answer to a method the route does not serve (axum adds `Allow`).
async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(SeedErrorBody {
            detail: "Method Not Allowed".into(),
        }),
    )
        .into_response()
}

/// The seed API's answer for one flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeedFlagState<'a> {
    flag: &'a str,
    enabled: bool,
}

/// `{"status": "updated"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeedUpdated {
    status: &'static str,
}

/// Whether a flag is on (for a user, when `user_id` is given) in the seed environment.
#[utoipa::path(get, path = "/flags/{name}", operation_id = "seed_get_flag", params(("name" = String, Path, description = "Flag key"), ("user_id" = Option<String>, Query, description = "Evaluate for this user; without it, the flag's on/off state")), responses((status = 200, description = "The flag's state", body = SeedFlagState), (status = 400, description = "Unreadable path or query", body = SeedErrorBody), (status = 404, description = "No such flag: `{\"detail\": \"Flag not found\"}`", body = SeedErrorBody)))]
async fn get_flag(
    Call(state, SeedReader(_who)): Call<SeedReader>,
    path: Result<ApiPath<String>, ApiError>,
    uri: Uri,
) -> Result<Response, SeedError> {
    let ApiPath(name) = path?;
    flag_state(&state, &name, &uri)
}

/// [`get_flag`] for `routes::hot`, which answers it without the router once
/// [`plain_flag_name`] has found the name in the path: the same authentication and answer.
pub(super) async fn get_flag_hot(state: &AppState, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if let Err(refused) = SeedReader::check(&mut parts, state).await {
        return refused.into_response();
    }
    let Some(name) = plain_flag_name(parts.uri.path()) else {
        return SeedError::NotFound.into_response();
    };
    flag_state(state, name, &parts.uri).into_response()
}

/// The flag name in a seed GET's path, `/flags/{name}`, when it needs no decoding: one
/// non-empty segment without `%`. The router's `ApiPath` decodes any other.
pub(super) fn plain_flag_name(path: &str) -> Option<&str> {
    let name = path.strip_prefix("/flags/")?;
    let plain = !name.is_empty() && !name.contains(['/', '%']);
    plain.then_some(name)
}

/// The seed GET's answer for flag `name`, reading `user_id` from `uri`'s query.
fn flag_state(state: &AppState, name: &str, uri: &Uri) -> Result<Response, SeedError> {
    // The seed's one query parameter; others are ignored, as FastAPI does.
    let user_id = query_value(uri, "user_id")?;
    let published = state.published_ref();
    let env = &state.config().seed_environment;
    let snapshot = published.snapshot(env).map_err(SeedError::Api)?;
    let project = &state.config().seed_project;
    if !snapshot.contains(name) || !published.in_project(name, project) {
        return Err(SeedError::NotFound);
    }
    let enabled = match user_id.filter(|u| !u.is_empty()) {
        // As in the seed: without a user id, the flag's on/off state.
        None => published
            .live_flag(name)
            .is_some_and(|f| f.environments.get(env).is_some_and(|e| e.enabled)),
        Some(user) => {
            let ctx = Context::with_user(user.as_ref());
            let e = snapshot.evaluate(name, &ctx, chrono::Utc::now(), &mut state.rng());
            state.sample(env, &ctx);
            crate::telemetry::count_evaluation(env, name, &e);
            e.enabled
        }
    };
    Ok(Json(SeedFlagState {
        flag: name,
        enabled,
    })
    .into_response())
}

/// Reads and checks the POST's parameters; every problem is reported, as FastAPI does.
fn seed_params(
    name: &str,
    exists: bool,
    query: &HashMap<String, String>,
) -> Result<(bool, i64), SeedError> {
    let mut problems = Vec::new();
    let mut problem = |param: &str, msg: String, kind: &str, input: Option<&str>| {
        problems.push(SeedProblem::new("query", param, msg, kind, input));
    };
    let enabled = match query.get("enabled") {
        None => {
            problem("enabled", "Field required".into(), "missing", None);
            None
        }
        Some(raw) => parse_bool(raw).or_else(|| {
            let msg = format!("Input should be a valid boolean (true or false), not {raw:?}");
            problem("enabled", msg, "bool_parsing", Some(raw));
            None
        }),
    };
    let rollout = match query.get("rollout_percentage") {
        None => Some(100),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(p) if (0..=100).contains(&p) => Some(p),
            Ok(p) => {
                let msg = format!("rollout_percentage must be between 0 and 100, not {p}");
                problem("rollout_percentage", msg, "out_of_range", Some(raw));
                None
            }
            Err(_) => {
                let msg = format!("Input should be a valid integer from 0 to 100, not {raw:?}");
                problem("rollout_percentage", msg, "int_parsing", Some(raw));
                None
            }
        },
    };
    // A new flag's name follows the name rules; an existing one keeps the name it has.
    let checked = if exists {
        check_key(name)
    } else {
        check_name(name)
    };
    if let Err(e) = checked {
        let msg = format!("flag name {e}");
        problems.push(SeedProblem::new(
            "path",
            "flag_name",
            msg,
            "value_error",
            Some(name),
        ));
    }
    match (enabled, rollout) {
        (Some(enabled), Some(rollout)) if problems.is_empty() => Ok((enabled, rollout)),
        _ => Err(SeedError::Invalid(problems)),
    }
}

/// Reads a boolean the way FastAPI does.
fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// Creates or updates a boolean flag in the seed environment: on or off, and a
/// percentage of users.
#[utoipa::path(post, path = "/flags/{name}", operation_id = "seed_set_flag", params(("name" = String, Path, description = "Flag key"), ("enabled" = bool, Query, description = "`true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, `t`/`f`, `y`/`n`)"), ("rollout_percentage" = Option<i64>, Query, minimum = 0, maximum = 100, description = "Percentage of users (default 100)"), PreviewQuery), responses((status = 200, description = "Updated: `{\"status\": \"updated\"}`; with `?preview=true` the impact preview (nothing written)", body = OrPreview<SeedUpdated>), (status = 400, description = "Unreadable path or query", body = SeedErrorBody), (status = 409, description = "The flag uses targeting the seed API cannot express", body = SeedErrorBody), (status = 422, description = "Invalid parameters: `detail` lists them as `{loc, msg, type, input}`", body = SeedErrorBody), (status = 500, description = "Storage failed", body = SeedErrorBody)))]
async fn set_flag(
    Call(state, SeedWriter(who)): Call<SeedWriter>,
    mode: Mode,
    path: Result<ApiPath<String>, ApiError>,
    query: Result<ApiQuery<HashMap<String, String>>, ApiError>,
) -> Result<OrPreview<Json<SeedUpdated>>, SeedError> {
    let (ApiPath(name), ApiQuery(query)) = (path?, query?);
    let exists = state.published().flags.contains_key(&name);
    let (enabled, rollout) = seed_params(&name, exists, &query)?;
    let env = &state.config().seed_environment;
    if !state.published().has_environment(env) {
        return Err(invalid(
            "environment",
            format!("the seed environment {env:?} does not exist"),
            "value_error",
            None,
        ));
    }
    let setting = (enabled, rollout);
    let outcome = flags::set_switch(&state, mode, &who, &name, env, setting).await?;
    Ok(OrPreview::of(outcome, |_| {
        Json(SeedUpdated { status: "updated" })
    }))
}
