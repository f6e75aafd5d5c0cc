//! `/api/v1/flags/{key}/environments/{env}`: one flag's configuration in one environment
//! (read, replace, enable, disable, rules, default, rollout). Each change is an edit of
//! that environment through the write service (`write::edit_environment`).

use axum::Json;
use flagpole_core::{FlagEnvironment, Rule, Serve};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::change::{EnvChange, FlagEnv};
use crate::error::{ApiError, ErrorBody};
use crate::http::auth::Viewer;
use crate::http::extract::{ApiJson, ApiPath, Call, OptionalJson};
use crate::http::preview::{OrPreview, PreviewQuery};
use crate::http::schemas::{BodyErrors, EditErrors, WriteErrors, WriteHeaders};
use crate::http::views::{FlagEnvironmentResource, FlagResource};
use crate::write::input::split_body;
use crate::write::{edit_environment, protection, EnvEdit, Mode};

router!(pub fn router: get_flag_environment, put_flag_environment; enable_flag; disable_flag; put_flag_rules; put_flag_default; put_flag_rollout);

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
#[utoipa::path(get, path = "/flags/{key}/environments/{env}", params(FlagEnv), responses((status = 200, description = "The configuration (off and empty when the flag has none there)", body = FlagEnvironmentResource), (status = 404, description = "No such flag or environment", body = ErrorBody)))]
async fn get_flag_environment(
    Call(state, Viewer(_who)): Call<Viewer>,
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

impl EnvChange {
    /// Edits the environment with `edit`, based on the version the body or `If-Match`
    /// gives (428 when `required` and neither does; else the current one).
    async fn edit(
        self,
        mode: Mode,
        version: Option<i64>,
        required: bool,
        action: &str,
        edit: impl FnOnce(&mut FlagEnvironment),
    ) -> Changed {
        let edit = |e: &mut FlagEnvironment| {
            edit(e);
            Ok(())
        };
        self.try_edit(mode, version, required, action, edit).await
    }

    /// Switches the environment on or off, based on the body's version if it gives one.
    async fn switch(
        self,
        mode: Mode,
        OptionalJson(body): OptionalJson<Based>,
        on: bool,
    ) -> Changed {
        let version = body.and_then(|b| b.version);
        let action = if on { "flag.enabled" } else { "flag.disabled" };
        self.edit(mode, version, false, action, |e| e.enabled = on)
            .await
    }

    /// [`EnvChange::edit`] with an edit that may refuse.
    async fn try_edit(
        self,
        mode: Mode,
        version: Option<i64>,
        required: bool,
        action: &str,
        edit: impl FnOnce(&mut FlagEnvironment) -> Result<(), ApiError>,
    ) -> Changed {
        // Refused before anything else is checked: a caller who may not change a
        // protected environment learns nothing more about it.
        let touched = std::collections::BTreeSet::from([self.at.env.clone()]);
        let published = self.state.published();
        let project = published.project_of("flag", &self.at.key);
        protection::check(&published, &self.who, project, &touched)?;
        let version = self.based_on(version)?;
        let EnvChange { state, who, at, .. } = self;
        if required && version.is_none() {
            return Err(ApiError::VersionRequired);
        }
        let change = EnvEdit {
            who: &who,
            mode,
            key: &at.key,
            env: &at.env,
            version,
            action,
        };
        let outcome = edit_environment(&state, change, edit).await?;
        Ok(OrPreview::of(outcome, |record| Json(record.into())))
    }
}

/// Replaces a flag's configuration in one environment.
#[utoipa::path(put, path = "/flags/{key}/environments/{env}", params(FlagEnv, WriteHeaders, PreviewQuery), request_body = FlagEnvironmentInput, responses((status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 409, description = "The flag changed since that version", body = ErrorBody), (status = 428, description = "No version given", body = ErrorBody), EditErrors, BodyErrors, WriteErrors))]
async fn put_flag_environment(
    change: EnvChange,
    mode: Mode,
    ApiJson(body): ApiJson<Value>,
) -> Changed {
    let (_, version, config): (Option<String>, _, FlagEnvironment) =
        split_body(body, "environment")?;
    let action = "flag.environment.updated";
    change
        .edit(mode, version, true, action, |e| *e = config)
        .await
}

/// Optionally, the version the change is based on.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Based {
    version: Option<i64>,
}

/// Switches a flag on in one environment.
#[utoipa::path(post, path = "/flags/{key}/environments/{env}/enable", params(FlagEnv, WriteHeaders, PreviewQuery), request_body = Option<Based>, responses((status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 409, description = "The flag changed since that version", body = ErrorBody), EditErrors, BodyErrors, WriteErrors))]
async fn enable_flag(change: EnvChange, mode: Mode, body: OptionalJson<Based>) -> Changed {
    change.switch(mode, body, true).await
}

/// Switches a flag off in one environment.
#[utoipa::path(post, path = "/flags/{key}/environments/{env}/disable", params(FlagEnv, WriteHeaders, PreviewQuery), request_body = Option<Based>, responses((status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 409, description = "The flag changed since that version", body = ErrorBody), EditErrors, BodyErrors, WriteErrors))]
async fn disable_flag(change: EnvChange, mode: Mode, body: OptionalJson<Based>) -> Changed {
    change.switch(mode, body, false).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    /// The flag version the change is based on (or `If-Match`); required.
    version: Option<i64>,
    rules: Vec<Rule>,
}

/// Replaces a flag's rules in one environment.
#[utoipa::path(put, path = "/flags/{key}/environments/{env}/rules", params(FlagEnv, WriteHeaders, PreviewQuery), request_body = RulesBody, responses((status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 409, description = "The flag changed since that version", body = ErrorBody), (status = 428, description = "No version given", body = ErrorBody), EditErrors, BodyErrors, WriteErrors))]
async fn put_flag_rules(
    change: EnvChange,
    mode: Mode,
    ApiJson(body): ApiJson<RulesBody>,
) -> Changed {
    let action = "flag.rules.updated";
    change
        .edit(mode, body.version, true, action, |e| e.rules = body.rules)
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
#[utoipa::path(put, path = "/flags/{key}/environments/{env}/default", params(FlagEnv, WriteHeaders, PreviewQuery), request_body = DefaultBody, responses((status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 409, description = "The flag changed since that version", body = ErrorBody), (status = 428, description = "No version given", body = ErrorBody), EditErrors, BodyErrors, WriteErrors))]
async fn put_flag_default(
    change: EnvChange,
    mode: Mode,
    ApiJson(body): ApiJson<DefaultBody>,
) -> Changed {
    let action = "flag.default.updated";
    change
        .edit(mode, body.version, true, action, |e| {
            e.default = body.default
        })
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
#[utoipa::path(put, path = "/flags/{key}/environments/{env}/rollout", params(FlagEnv, WriteHeaders, PreviewQuery), request_body = RolloutBody, responses((status = 200, description = "The flag as stored, or with `?preview=true` the impact preview (nothing written)", body = OrPreview<FlagResource>), (status = 409, description = "The flag changed since that version, or has several rules there", body = ErrorBody), EditErrors, BodyErrors, WriteErrors))]
async fn put_flag_rollout(
    change: EnvChange,
    mode: Mode,
    ApiJson(body): ApiJson<RolloutBody>,
) -> Changed {
    let env = change.at.env.clone();
    change
        .try_edit(mode, body.version, false, "flag.rollout.updated", |e| {
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
