//! `/api/v1/flags/{key}/environments/{env}`: one flag's configuration in one environment
//! (read, replace, enable, disable, rules, default, rollout). Each change is an edit of
//! that environment through the write service (`write::edit_environment`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use flagpole_core::{FlagEnvironment, Rule, Serve};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{Editor, Viewer};
use crate::http::extract::{based_on, ApiJson, ApiPath, OptionalJson};
use crate::http::preview::{OrPreview, PreviewQuery};
use crate::http::schemas::{BodyErrors, EditErrors, WriteErrors, WriteHeaders};
use crate::http::views::{FlagEnvironmentResource, FlagResource};
use crate::http::AppState;
use crate::identity::Principal;
use crate::write::input::split_body;
use crate::write::{edit_environment, protection, EnvEdit, Mode};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_flag_environment, put_flag_environment))
        .routes(routes!(enable_flag))
        .routes(routes!(disable_flag))
        .routes(routes!(put_flag_rules))
        .routes(routes!(put_flag_default))
        .routes(routes!(put_flag_rollout))
}

/// The flag and the environment a route names.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct FlagEnv {
    /// Flag key.
    key: String,
    /// Environment name.
    env: String,
}

/// What every change of one flag environment answers: the flag as stored, or with
/// `?preview=true` the impact preview.
type Changed = Result<OrPreview<Json<FlagResource>>, ApiError>;

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
    params(FlagEnv),
    responses(
        (status = 200, description = "The configuration (off and empty when the flag has none there)", body = FlagEnvironmentResource),
        (status = 404, description = "No such flag or environment", body = ErrorBody),
    )
)]
async fn get_flag_environment(
    State(state): State<AppState>,
    Viewer(_who): Viewer,
    ApiPath(at): ApiPath<FlagEnv>,
) -> Result<Json<FlagEnvironmentResource>, ApiError> {
    let published = state.published();
    published.snapshot(&at.env)?;
    let record = published.flag(&at.key)?;
    let config = record.flag.environments.get(&at.env).cloned();
    Ok(Json(FlagEnvironmentResource {
        config: config.unwrap_or_default(),
        version: record.version,
    }))
}

/// A change of one flag environment as a request asks for it.
struct Request<'a> {
    state: &'a AppState,
    who: &'a Principal,
    mode: Mode,
    at: &'a FlagEnv,
    headers: &'a HeaderMap,
}

impl Request<'_> {
    /// Edits the environment with `edit`, based on the version the body or `If-Match`
    /// gives (428 when `required` and neither does; else the current one).
    async fn edit(
        self,
        version: Option<i64>,
        required: bool,
        action: &str,
        edit: impl FnOnce(&mut FlagEnvironment),
    ) -> Changed {
        let edit = |e: &mut FlagEnvironment| {
            edit(e);
            Ok(())
        };
        self.try_edit(version, required, action, edit).await
    }

    /// [`Request::edit`] with an edit that may refuse.
    async fn try_edit(
        self,
        version: Option<i64>,
        required: bool,
        action: &str,
        edit: impl FnOnce(&mut FlagEnvironment) -> Result<(), ApiError>,
    ) -> Changed {
        let Request { state, who, at, .. } = self;
        // Refused before anything else is checked: a caller who may not change a
        // protected environment learns nothing more about it.
        let touched = std::collections::BTreeSet::from([at.env.clone()]);
        protection::check(&state.published(), who, &touched)?;
        let version = based_on(self.headers, version)?;
        if required && version.is_none() {
            return Err(ApiError::VersionRequired);
        }
        let change = EnvEdit {
            who,
            mode: self.mode,
            key: &at.key,
            env: &at.env,
            version,
            action,
        };
        let outcome = edit_environment(state, change, edit).await?;
        Ok(OrPreview::of(outcome, |record| Json(record.into())))
    }
}

/// Replaces a flag's configuration in one environment.
#[utoipa::path(
    put,
    path = "/flags/{key}/environments/{env}",
    params(FlagEnv, WriteHeaders, PreviewQuery),
    request_body = FlagEnvironmentInput,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        EditErrors, BodyErrors, WriteErrors,
    )
)]
async fn put_flag_environment(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath(at): ApiPath<FlagEnv>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Changed {
    let (_, version, config): (Option<String>, _, FlagEnvironment) =
        split_body(body, "environment")?;
    let request = Request {
        state: &state,
        who: &who,
        mode,
        at: &at,
        headers: &headers,
    };
    let action = "flag.environment.updated";
    request.edit(version, true, action, |e| *e = config).await
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
    params(FlagEnv, WriteHeaders, PreviewQuery),
    request_body = Option<Based>,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        EditErrors, BodyErrors, WriteErrors,
    )
)]
async fn enable_flag(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath(at): ApiPath<FlagEnv>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<Based>,
) -> Changed {
    let request = Request {
        state: &state,
        who: &who,
        mode,
        at: &at,
        headers: &headers,
    };
    let version = body.and_then(|b| b.version);
    request
        .edit(version, false, "flag.enabled", |e| e.enabled = true)
        .await
}

/// Switches a flag off in one environment.
#[utoipa::path(
    post,
    path = "/flags/{key}/environments/{env}/disable",
    params(FlagEnv, WriteHeaders, PreviewQuery),
    request_body = Option<Based>,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        EditErrors, BodyErrors, WriteErrors,
    )
)]
async fn disable_flag(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath(at): ApiPath<FlagEnv>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<Based>,
) -> Changed {
    let request = Request {
        state: &state,
        who: &who,
        mode,
        at: &at,
        headers: &headers,
    };
    let version = body.and_then(|b| b.version);
    request
        .edit(version, false, "flag.disabled", |e| e.enabled = false)
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
    params(FlagEnv, WriteHeaders, PreviewQuery),
    request_body = RulesBody,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        EditErrors, BodyErrors, WriteErrors,
    )
)]
async fn put_flag_rules(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath(at): ApiPath<FlagEnv>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RulesBody>,
) -> Changed {
    let request = Request {
        state: &state,
        who: &who,
        mode,
        at: &at,
        headers: &headers,
    };
    let action = "flag.rules.updated";
    request
        .edit(body.version, true, action, |e| e.rules = body.rules)
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
    params(FlagEnv, WriteHeaders, PreviewQuery),
    request_body = DefaultBody,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 409, description = "The flag changed since that version", body = ErrorBody),
        (status = 428, description = "No version given", body = ErrorBody),
        EditErrors, BodyErrors, WriteErrors,
    )
)]
async fn put_flag_default(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath(at): ApiPath<FlagEnv>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DefaultBody>,
) -> Changed {
    let request = Request {
        state: &state,
        who: &who,
        mode,
        at: &at,
        headers: &headers,
    };
    let action = "flag.default.updated";
    request
        .edit(body.version, true, action, |e| e.default = body.default)
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
    params(FlagEnv, WriteHeaders, PreviewQuery),
    request_body = RolloutBody,
    responses(
        (status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>),
        (status = 409, description = "The flag changed since that version, or has several rules there", body = ErrorBody),
        EditErrors, BodyErrors, WriteErrors,
    )
)]
async fn put_flag_rollout(
    State(state): State<AppState>,
    Editor(who): Editor,
    mode: Mode,
    ApiPath(at): ApiPath<FlagEnv>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RolloutBody>,
) -> Changed {
    let request = Request {
        state: &state,
        who: &who,
        mode,
        at: &at,
        headers: &headers,
    };
    let env = at.env.clone();
    request
        .try_edit(body.version, false, "flag.rollout.updated", |e| {
            set_rollout(e, &env, body.rollout, body.stickiness)
        })
        .await
}

/// Sets the rollout of an environment whose targeting is one rollout: adds the rule when
/// there is none, changes the only one when it has no conditions or segments, refuses
/// (409) several.
fn set_rollout(
    e: &mut FlagEnvironment,
    env: &str,
    rollout: i64,
    stickiness: Option<String>,
) -> Result<(), ApiError> {
    match e.rules.as_mut_slice() {
        [] => e.rules.push(Rule {
            rollout: Some(rollout),
            stickiness: Some(stickiness.unwrap_or_else(|| "default".into())),
            ..Rule::default()
        }),
        [only] if only.conditions.is_empty() && only.segments.is_empty() => {
            only.rollout = Some(rollout);
            if let Some(s) = stickiness {
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
}
