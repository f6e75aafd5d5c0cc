//! `/api/v1/flags/{key}/environments/{env}`: one flag's configuration in one environment
//! (read, replace, enable, disable, rules, default, rollout).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use flagpole_core::{FlagEnvironment, Rule, Serve};
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{Editor, Viewer};
use crate::http::extract::{based_on, ApiJson, ApiPath, OptionalJson};
use crate::http::preview::{OrPreview, PreviewQuery};
use crate::http::schemas::{BodyErrors, WriteErrors, WriteHeaders};
use crate::http::views::{FlagEnvironmentResource, FlagResource};
use crate::http::AppState;
use crate::identity::Principal;
use crate::write::input::{or_current, split_body};
use crate::write::{commit_flag, protection, FlagChange, Mode};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_flag_environment, put_flag_environment))
        .routes(routes!(enable_flag))
        .routes(routes!(disable_flag))
        .routes(routes!(put_flag_rules))
        .routes(routes!(put_flag_default))
        .routes(routes!(put_flag_rollout))
}

/// One environment's configuration to store.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagEnvironmentInput {
    /// Ignored.
    pub environment: Option<String>,
    /// The flag version the change is based on (or `If-Match`); required.
    pub version: Option<i64>,
    #[serde(flatten)]
    pub config: FlagEnvironment,
}

/// Reads a flag's configuration in one environment.
#[utoipa::path(
    get,
    path = "/flags/{key}/environments/{env}",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 200, description = "The configuration (off and empty when the flag has none there)", body = FlagEnvironmentResource),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
    )
)]
async fn get_flag_environment(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiPath((key, env)): ApiPath<(String, String)>,
) -> Result<Json<FlagEnvironmentResource>, ApiError> {
    let published = state.published();
    published.snapshot(&env)?;
    let record = published.flag(&key)?;
    let config = record
        .flag
        .environments
        .get(&env)
        .cloned()
        .unwrap_or_default();
    let version = record.version;
    Ok(Json(FlagEnvironmentResource { config, version }))
}

/// The flag environment a change targets, the version it is based on, and how it is
/// audited.
struct EnvChange<'a> {
    mode: Mode,
    key: &'a str,
    env: &'a str,
    who: &'a Principal,
    headers: &'a HeaderMap,
    version: Option<i64>,
    /// Whether the change must say which version it is based on (else: the current one).
    require_version: bool,
    action: &'a str,
}

/// Changes one environment of a flag with `edit`, checking the version the change is
/// based on.
async fn update_environment(
    state: &AppState,
    change: EnvChange<'_>,
    edit: impl FnOnce(&mut FlagEnvironment) -> Result<(), ApiError>,
) -> Result<OrPreview<Json<FlagResource>>, ApiError> {
    let EnvChange {
        mode,
        key,
        env,
        who,
        headers,
        version,
        require_version: require,
        action,
    } = change;
    // Refused before anything else is checked: a caller who may not change a protected
    // environment learns nothing more about it.
    let mut touched = std::collections::BTreeSet::new();
    touched.insert(env.to_string());
    protection::check(&state.published(), who, &touched)?;
    let version = based_on(headers, version)?;
    if require && version.is_none() {
        return Err(ApiError::VersionRequired);
    }
    let guard = state.begin_write().await?;
    let published = guard.published();
    published.snapshot(env)?;
    let record = published.flag(key)?;
    let expect = or_current(version, record.version);
    let mut flag = record.flag.clone();
    edit(flag.environments.entry(env.to_string()).or_default())?;
    let audit = who.change(action, Some(env));
    let change = FlagChange::Put {
        flag: &flag,
        archived: record.archived,
    };
    let outcome = commit_flag(&guard, mode, who, key, change, expect, audit).await?;
    OrPreview::of(outcome, || Ok(Json(FlagResource::of(state, key)?)))
}

/// Replaces a flag's configuration in one environment.
#[utoipa::path(
    put,
    path = "/flags/{key}/environments/{env}",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
        PreviewQuery,
    ),
    request_body = FlagEnvironmentInput,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn put_flag_environment(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<OrPreview<Json<FlagResource>>, ApiError> {
    let (_, version, config): (Option<String>, _, FlagEnvironment) =
        split_body(body, "environment")?;
    update_environment(
        &state,
        EnvChange {
            mode,
            key: &key,
            env: &env,
            who: &who,
            headers: &headers,
            version,
            require_version: true,
            action: "flag.environment.updated",
        },
        |e| {
            *e = config;
            Ok(())
        },
    )
    .await
}

/// Optionally, the version the change is based on.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Based {
    version: Option<i64>,
}

/// Switches a flag on in one environment.
#[utoipa::path(
    post,
    path = "/flags/{key}/environments/{env}/enable",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
        PreviewQuery,
    ),
    request_body = Option<Based>,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn enable_flag(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<Based>,
) -> Result<OrPreview<Json<FlagResource>>, ApiError> {
    let version = body.and_then(|b| b.version);
    update_environment(
        &state,
        EnvChange {
            mode,
            key: &key,
            env: &env,
            who: &who,
            headers: &headers,
            version,
            require_version: false,
            action: "flag.enabled",
        },
        |e| {
            e.enabled = true;
            Ok(())
        },
    )
    .await
}

/// Switches a flag off in one environment.
#[utoipa::path(
    post,
    path = "/flags/{key}/environments/{env}/disable",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
        PreviewQuery,
    ),
    request_body = Option<Based>,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn disable_flag(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<Based>,
) -> Result<OrPreview<Json<FlagResource>>, ApiError> {
    let version = body.and_then(|b| b.version);
    update_environment(
        &state,
        EnvChange {
            mode,
            key: &key,
            env: &env,
            who: &who,
            headers: &headers,
            version,
            require_version: false,
            action: "flag.disabled",
        },
        |e| {
            e.enabled = false;
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    /// The flag version the change is based on (or `If-Match`); required.
    version: Option<i64>,
    rules: Vec<Rule>,
}

/// Replaces a flag's rules in one environment.
#[utoipa::path(
    put,
    path = "/flags/{key}/environments/{env}/rules",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
        PreviewQuery,
    ),
    request_body = RulesBody,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn put_flag_rules(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RulesBody>,
) -> Result<OrPreview<Json<FlagResource>>, ApiError> {
    update_environment(
        &state,
        EnvChange {
            mode,
            key: &key,
            env: &env,
            who: &who,
            headers: &headers,
            version: body.version,
            require_version: true,
            action: "flag.rules.updated",
        },
        |e| {
            e.rules = body.rules;
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DefaultBody {
    /// The flag version the change is based on (or `If-Match`); required.
    version: Option<i64>,
    default: Option<Serve>,
}

/// Sets what a flag serves in one environment when no rule decides.
#[utoipa::path(
    put,
    path = "/flags/{key}/environments/{env}/default",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
        PreviewQuery,
    ),
    request_body = DefaultBody,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn put_flag_default(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DefaultBody>,
) -> Result<OrPreview<Json<FlagResource>>, ApiError> {
    update_environment(
        &state,
        EnvChange {
            mode,
            key: &key,
            env: &env,
            who: &who,
            headers: &headers,
            version: body.version,
            require_version: true,
            action: "flag.default.updated",
        },
        |e| {
            e.default = body.default;
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RolloutBody {
    /// The flag version the change is based on (or `If-Match`); the current one if absent.
    version: Option<i64>,
    /// Percentage of contexts, 0-100.
    rollout: i64,
    /// Set on a new rule (`default` if absent), or replaced on the existing one.
    stickiness: Option<String>,
}

/// Sets the percentage of a flag whose targeting is one rollout (or nothing yet).
#[utoipa::path(
    put,
    path = "/flags/{key}/environments/{env}/rollout",
    tag = "flags",
    params(
        ("key" = String, Path, description = "Flag key"),
        ("env" = String, Path, description = "Environment name"),
        WriteHeaders,
        PreviewQuery,
    ),
    request_body = RolloutBody,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 400, description = "Unreadable body or header", body = ErrorBody),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
        (status = 409, description = "The flag changed since that version, or has several rules there", body = ErrorBody),
        (status = 422, description = "The change is invalid", body = ErrorBody),
        BodyErrors,
        WriteErrors,
    )
)]
async fn put_flag_rollout(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath((key, env)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RolloutBody>,
) -> Result<OrPreview<Json<FlagResource>>, ApiError> {
    update_environment(
        &state,
        EnvChange {
            mode,
            key: &key,
            env: &env,
            who: &who,
            headers: &headers,
            version: body.version,
            require_version: false,
            action: "flag.rollout.updated",
        },
        |e| {
            match e.rules.as_mut_slice() {
                [] => e.rules.push(Rule {
                    rollout: Some(body.rollout),
                    stickiness: Some(body.stickiness.unwrap_or_else(|| "default".into())),
                    ..Rule::default()
                }),
                [only] if only.conditions.is_empty() && only.segments.is_empty() => {
                    only.rollout = Some(body.rollout);
                    if let Some(s) = body.stickiness {
                        only.stickiness = Some(s);
                    }
                }
                rules => {
                    return Err(ApiError::Conflict(format!(
                    "the flag has {} rules in {env}; set each rule's rollout through PUT .../rules",
                    rules.len()
                )))
                }
            }
            Ok(())
        },
    )
    .await
}
