//! Evaluation with full details: one flag or all flags of an environment, for a context
//! given as the JSON body (Unleash or OpenFeature shape).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use flagpole_core::{Context, Evaluation};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{ApiPath, OptionalJson};
use crate::state::AppState;
use crate::telemetry::count_evaluation;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/environments/{env}/evaluate", post(evaluate_all))
        .route("/environments/{env}/evaluate/{key}", post(evaluate_flag))
}

/// An evaluation as the API shows it.
pub fn evaluation_json(key: &str, e: &Evaluation<'_>) -> Value {
    json!({
        "flag": key,
        "enabled": e.enabled,
        "variant": e.variant,
        "value": e.value,
        "reason": e.reason,
        "rule": e.rule_index.map(|i| json!({"index": i, "name": e.rule_name})),
        "type": e.flag_type,
    })
}

/// The context in the body; an empty body is the empty context.
fn context(body: Option<Value>) -> Result<Context, ApiError> {
    match body {
        None => Ok(Context::default()),
        Some(value) => Ok(Context::from_json(&value)?),
    }
}

async fn evaluate_flag(
    State(state): State<AppState>,
    ApiPath((env, key)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(body)?;
    let published = state.published();
    let snapshot = published.snapshot(&env)?;
    if !snapshot.contains(&key) {
        return Err(ApiError::NotFound {
            kind: "flag",
            name: key,
        });
    }
    let e = snapshot.evaluate(&key, &ctx, chrono::Utc::now(), &mut state.rng());
    count_evaluation(&env, &key, &e);
    Ok(Json(evaluation_json(&key, &e)))
}

async fn evaluate_all(
    State(state): State<AppState>,
    ApiPath(env): ApiPath<String>,
    OptionalJson(body): OptionalJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let ctx = context(body)?;
    let published = state.published();
    let snapshot = published.snapshot(&env)?;
    let mut rng = state.rng();
    let flags: Vec<Value> = snapshot
        .evaluate_all(&ctx, chrono::Utc::now(), &mut rng)
        .map(|(key, e)| {
            count_evaluation(&env, key, &e);
            evaluation_json(key, &e)
        })
        .collect();
    Ok(Json(
        json!({"environment": env, "version": published.version, "flags": flags}),
    ))
}
