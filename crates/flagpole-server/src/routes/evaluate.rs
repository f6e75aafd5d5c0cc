//! Evaluation with full details: one flag or all flags of an environment, for a context
//! given as the JSON body (Unleash or OpenFeature shape).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use flagpole_core::{Evaluation, FlagType, Reason, Trace};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::Evaluator;
use crate::http::extract::{ApiPath, ApiQuery, ContextBody};
use crate::http::schemas::{BodyErrors, EvaluationContext};
use crate::http::AppState;
use crate::telemetry::count_evaluation;

router!(pub fn router: evaluate_all; evaluate_flag);

/// One flag's evaluation with its details, serialized straight from the borrowed
/// evaluation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EvaluationResult)]
pub struct EvaluationBody<'a> {
    flag: &'a str,
    enabled: bool,
    /// The variant served: the one a rule or the default chose, else (string, number and
    /// JSON flags) the environment's off variant.
    variant: Option<&'a str>,
    /// The value served: the variant's value; for boolean flags without one, `enabled`.
    /// Null only for a string, number or JSON flag without variants.
    #[schema(value_type = Option<serde_json::Value>)]
    value: Option<&'a Value>,
    reason: Reason,
    /// The rule that decided, if one did.
    rule: Option<RuleRef<'a>>,
    #[serde(rename = "type")]
    flag_type: FlagType,
    /// Present (true) when evaluation reached a rollout or split by user id and the
    /// context has none, so the answer was drawn at random (OFREP answers
    /// `TARGETING_KEY_MISSING` there).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(value_type = Option<bool>)]
    needs_user_id: bool,
    /// With `?explain=true`: each step evaluation took (dependencies, each rule in
    /// order with each condition and the context value it read, the rollout bucket and
    /// threshold, the split's ranges).
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<Trace>,
}

/// Every live flag's evaluation in one environment, in key order.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationList<'a> {
    environment: String,
    /// The configuration version evaluated.
    version: i64,
    flags: Vec<EvaluationBody<'a>>,
}

/// `?explain=true` adds the trace of each evaluation.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ExplainQuery {
    /// Add `trace`: each step the evaluation took (slower; for people, not SDKs).
    explain: Option<bool>,
}

/// The rule that decided.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = MatchedRule)]
struct RuleRef<'a> {
    /// Position in the environment's `rules`, from 0.
    index: usize,
    name: Option<&'a str>,
}

impl<'a> EvaluationBody<'a> {
    pub fn new(key: &'a str, e: &Evaluation<'a>) -> EvaluationBody<'a> {
        EvaluationBody {
            flag: key,
            enabled: e.enabled,
            variant: e.variant,
            value: e.value,
            reason: e.reason,
            rule: e.rule_index.map(|index| RuleRef {
                index,
                name: e.rule_name,
            }),
            flag_type: e.flag_type,
            needs_user_id: e.needs_user_id,
            trace: None,
        }
    }

    /// The evaluation with the steps that led to it.
    pub fn explained(key: &'a str, e: flagpole_core::Explained<'a>) -> EvaluationBody<'a> {
        let mut body = EvaluationBody::new(key, &e.evaluation);
        body.trace = Some(e.trace);
        body
    }
}

/// Evaluates one flag for a context, with details.
#[utoipa::path(post, path = "/environments/{env}/evaluate/{key}", params(("env" = String, Path, description = "Environment name"), ("key" = String, Path, description = "Flag key"), ExplainQuery), request_body(content = Option<EvaluationContext>, description = "The context; an empty body is the empty context"), responses((status = 200, description = "The evaluation", body = EvaluationBody), (status = 400, description = "Unreadable body or invalid context", body = ErrorBody), (status = 404, description = "No such environment or flag", body = ErrorBody), BodyErrors))]
async fn evaluate_flag(
    State(state): State<AppState>,
    evaluator: Evaluator,
    ApiPath((env, key)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<ExplainQuery>,
    ContextBody(ctx): ContextBody,
) -> Result<Response, ApiError> {
    evaluator.may_evaluate(&env)?;
    let published = state.published();
    let snapshot = published.snapshot(&env)?;
    if !snapshot.contains(&key) || !published.visible(&key, &evaluator.scope()) {
        return Err(ApiError::NotFound {
            kind: "flag",
            name: key,
        });
    }
    let (now, mut rng) = (chrono::Utc::now(), state.rng());
    if query.explain == Some(true) {
        if let Some(x) = snapshot.explain(&*published, &key, &ctx, now, &mut rng) {
            count_evaluation(&env, &key, &x.evaluation);
            return Ok(Json(EvaluationBody::explained(&key, x)).into_response());
        }
    }
    let e = snapshot.evaluate(&key, &ctx, now, &mut rng);
    count_evaluation(&env, &key, &e);
    state.sample(&env, &ctx);
    Ok(Json(EvaluationBody::new(&key, &e)).into_response())
}

/// Evaluates every flag of an environment for a context, with details.
#[utoipa::path(post, path = "/environments/{env}/evaluate", params(("env" = String, Path, description = "Environment name"), ExplainQuery), request_body(content = Option<EvaluationContext>, description = "The context; an empty body is the empty context"), responses((status = 200, description = "Every live flag's evaluation, in key order", body = EvaluationList), (status = 400, description = "Unreadable body or invalid context", body = ErrorBody), (status = 404, description = "No such environment", body = ErrorBody), BodyErrors))]
async fn evaluate_all(
    State(state): State<AppState>,
    evaluator: Evaluator,
    ApiPath(env): ApiPath<String>,
    ApiQuery(query): ApiQuery<ExplainQuery>,
    ContextBody(ctx): ContextBody,
) -> Result<Response, ApiError> {
    evaluator.may_evaluate(&env)?;
    let published = state.published();
    let snapshot = published.snapshot(&env)?;
    let scope = evaluator.scope();
    let mut rng = state.rng();
    state.sample(&env, &ctx);
    if query.explain == Some(true) {
        let now = chrono::Utc::now();
        let flags: Vec<EvaluationBody<'_>> = published
            .scoped_keys(&scope)
            .filter_map(|key| {
                let x = snapshot.explain(&*published, key, &ctx, now, &mut rng)?;
                count_evaluation(&env, key, &x.evaluation);
                Some(EvaluationBody::explained(key, x))
            })
            .collect();
        let version = published.version;
        let body = EvaluationList {
            environment: env,
            version,
            flags,
        };
        return Ok(Json(body).into_response());
    }
    let now = chrono::Utc::now();
    let flags: Vec<EvaluationBody<'_>> = published
        .scoped_keys(&scope)
        .map(|key| (key, snapshot.evaluate(key, &ctx, now, &mut rng)))
        .map(|(key, e)| {
            count_evaluation(&env, key, &e);
            EvaluationBody::new(key, &e)
        })
        .collect();
    let version = published.version;
    let body = EvaluationList {
        environment: env,
        version,
        flags,
    };
    Ok(Json(body).into_response())
}
