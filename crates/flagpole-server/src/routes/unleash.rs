//! Unleash-compatible APIs, so unmodified Unleash SDKs work against Flagpole:
//! the client API (`/api/client/features` with ETag/304/gzip, `/register`, `/metrics`) and
//! the frontend API (`/api/frontend`, evaluated toggles for a context).

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use flagpole_core::formats::unleash::{self, Feature, Payload};
use flagpole_core::{Context, Evaluation};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{ClientSdk, FrontendSdk};
use crate::http::extract::{
    is_json, none_match, parse_json, query_pairs, ApiPath, Call, LimitedBody,
};
use crate::http::schemas::{
    BodyErrors, ConditionalHeaders, EncodingHeaders, EvaluationContext, FrontendQuery, SdkHeaders,
    WriteErrors,
};
use crate::http::AppState;
use crate::identity::Principal;
use crate::published::FeatureFilter;
use crate::telemetry::count_evaluation;
use flagpole_core::limits::{MAX_CONTEXT_BODY_BYTES, MAX_METRICS_BODY_BYTES};

router!(pub fn router: get_client_features; get_client_feature; register_client; post_client_metrics; get_frontend, post_frontend; get_frontend_feature);

/// Every feature of the SDK's environment, as Unleash `ClientFeatures`.
#[utoipa::path(get, path = "/api/client/features", params(SdkHeaders, ConditionalHeaders, EncodingHeaders), responses((status = 200, description = "Unleash `ClientFeatures` (`version`, `features`, `segments`, `query`)", body = Object, headers(("ETag" = String))), (status = 304, description = "Unchanged since the If-None-Match ETag", headers(("ETag" = String))), (status = 404, description = "The environment does not exist", body = ErrorBody)))]
async fn get_client_features(
    Call(state, ClientSdk(who)): Call<ClientSdk>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let env = who.sdk_environment();
    let published = state.published();
    let cache = published.client_features_for(&env, &who.scope())?;
    let filter = match uri.query().filter(|q| !q.is_empty()) {
        Some(query) => {
            let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
                .map_err(|e| ApiError::bad_request("invalid_query", e.body_text(), None))?;
            Some(FeatureFilter::from_pairs(pairs.0)?)
                .filter(|f| !f.is_empty())
                .map(|f| (f, query))
        }
        None => None,
    };
    // A filtered payload is the payload's and the query's: its ETag names both.
    let tag = match &filter {
        None => cache.etag.clone(),
        Some((_, query)) => {
            let mut hash = flagpole_core::hash::Murmur3::new(0);
            hash.write(query.as_bytes());
            format!(
                "{}-{:08x}\"",
                cache.etag.trim_end_matches('"'),
                hash.finish()
            )
        }
    };
    let etag = HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"0\""));
    if none_match(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, etag)]).into_response());
    }
    if let Some((filter, _)) = filter {
        let json = cache.filtered(|key| filter.keeps(&published, key));
        let kind = HeaderValue::from_static("application/json");
        return Ok(([(CONTENT_TYPE, kind), (ETAG, etag)], json).into_response());
    }
    let gzip = headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = Response::new(Body::from(if gzip {
        cache.gzip()
    } else {
        cache.json.clone()
    }));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(ETAG, etag);
    h.insert(VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

/// One feature, as in `ClientFeatures`.
#[utoipa::path(get, path = "/api/client/features/{name}", params(("name" = String, Path, description = "Flag key"), SdkHeaders), responses((status = 200, description = "The Unleash feature", body = Object), (status = 400, description = "Unreadable path", body = ErrorBody), (status = 404, description = "No such feature or environment", body = ErrorBody)))]
async fn get_client_feature(
    Call(state, ClientSdk(who)): Call<ClientSdk>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Feature>, ApiError> {
    let env = who.sdk_environment();
    let published = state.published();
    if !published.has_environment(&env) {
        return Err(ApiError::NotFound {
            kind: "environment",
            name: env.to_string(),
        });
    }
    let ids = published.segment_ids();
    published
        .visible(&name, &who.scope())
        .then(|| published.live_flag(&name))
        .flatten()
        .map(|f| Json(unleash::export_feature(&name, &f, &env, &ids)))
        .ok_or(ApiError::NotFound {
            kind: "feature",
            name,
        })
}

/// SDK registration: accepted and logged; nothing to store yet.
#[utoipa::path(post, path = "/api/client/register", params(SdkHeaders), request_body(content = Object, description = "Unleash's registration (`appName`, `instanceId`, …)"), responses((status = 202, description = "Accepted"), (status = 400, description = "Not JSON", body = ErrorBody), (status = 413, description = "Body too large (`MAX_CONTEXT_BODY_BYTES`)", body = ErrorBody), (status = 415, description = "Not `Content-Type: application/json`", body = ErrorBody)))]
async fn register_client(
    State(_state): State<AppState>,
    ClientSdk(who): ClientSdk,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody<MAX_CONTEXT_BODY_BYTES>,
) -> Result<StatusCode, ApiError> {
    let value: Value = sdk_json(&headers, &body)?;
    tracing::debug!(
        app = value["appName"].as_str().unwrap_or(""),
        instance = value["instanceId"].as_str().unwrap_or(""),
        environment = %who.sdk_environment(),
        "unleash client registered"
    );
    Ok(StatusCode::ACCEPTED)
}

/// SDK usage metrics: `{"bucket": {"start", "stop", "toggles": {name: {yes, no, variants}}}}`.
#[utoipa::path(post, path = "/api/client/metrics", params(SdkHeaders), request_body(content = Object, description = "Unleash's metrics: `{bucket: {start, stop, toggles: {name: {yes, no, variants}}}}`"), responses((status = 202, description = "Recorded"), (status = 400, description = "Not JSON, or not Unleash metrics", body = ErrorBody), (status = 413, description = "Body too large (`MAX_METRICS_BODY_BYTES`)", body = ErrorBody), (status = 415, description = "Not `Content-Type: application/json`", body = ErrorBody), (status = 422, description = "More flags or variants than a report may name (`MAX_REPORT_FLAGS`, `MAX_REPORT_VARIANTS`), or a name with control characters", body = ErrorBody), WriteErrors))]
async fn post_client_metrics(
    Call(state, ClientSdk(who)): Call<ClientSdk>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody<MAX_METRICS_BODY_BYTES>,
) -> Result<StatusCode, ApiError> {
    let value: Value = sdk_json(&headers, &body)?;
    let env = who.sdk_environment();
    // Impact metrics (`impactMetrics`); an SDK sends `bucket: null` when only they changed.
    let impact = crate::release::impact::parse(&value)?;
    if !impact.is_empty() {
        let hour = crate::usage::bucket_of(chrono::Utc::now());
        state.note(state.store().record_impact(&env, hour, &impact).await)?;
    }
    if value["bucket"].is_null() && !impact.is_empty() {
        return Ok(StatusCode::ACCEPTED);
    }
    let mut usage = crate::usage::Usage::from_unleash(&value)?;
    // Flags this server does not know are counted under one label and not stored, so a
    // report cannot grow /metrics or the usage table with names of its choosing.
    let published = state.published();
    let unknown = usage.drop_unknown(|name| published.flags.contains_key(name));
    usage.count_in_prometheus(&env, &unknown);
    usage.record(state.store(), &env).await?;
    Ok(StatusCode::ACCEPTED)
}

/// An SDK's JSON body: `Content-Type: application/json`, as Unleash's SDKs send it (a
/// type an HTML form cannot send).
fn sdk_json(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType(
            "a JSON body (Content-Type: application/json)",
        ));
    }
    parse_json(body)
}

/// A toggle as the frontend API shows it; serialized straight from borrowed parts.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FrontendToggle)]
pub struct Toggle<'a> {
    name: &'a str,
    enabled: bool,
    variant: ToggleVariant<'a>,
    #[serde(rename = "impressionData")]
    impression_data: bool,
}

/// The variant of a toggle, as Unleash shows it (`disabled` when no rule chose one).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FrontendVariant)]
pub struct ToggleVariant<'a> {
    name: &'a str,
    enabled: bool,
    /// `{type, value}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    payload: Option<Payload>,
    feature_enabled: bool,
}

/// The Unleash frontend API's answer: the toggles enabled for the context.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FrontendToggles)]
pub struct Toggles<'a> {
    toggles: Vec<Toggle<'a>>,
}

/// A toggle as Unleash shows it: the variant a rule chose, with its payload there, or
/// `disabled` (never Flagpole's off variant).
fn frontend_toggle<'a>(key: &'a str, e: &Evaluation<'a>) -> Toggle<'a> {
    let variant = match e.chosen {
        Some(chosen) => ToggleVariant {
            name: chosen.name,
            enabled: true,
            payload: chosen
                .value
                .map(|v| unleash::payload_of(e.flag_type, v, chosen.payload_type)),
            feature_enabled: true,
        },
        None => ToggleVariant {
            name: "disabled",
            enabled: false,
            payload: None,
            feature_enabled: e.enabled,
        },
    };
    Toggle {
        name: key,
        enabled: e.enabled,
        variant,
        impression_data: false,
    }
}

/// A context from query parameters: Unleash's fields, `properties[name]=…`, and any other
/// parameter as a property; a parameter given twice and the context limits are refused.
fn query_context(uri: &Uri) -> Result<Context, ApiError> {
    Ok(Context::from_pairs(query_pairs(uri)?)?)
}

/// The enabled toggles for a context.
fn frontend(state: &AppState, who: &Principal, ctx: &Context) -> Result<Response, ApiError> {
    let env = who.sdk_environment();
    let published = state.published();
    let snapshot = published.snapshot(&env)?;
    let mut rng = state.rng();
    let now = chrono::Utc::now();
    state.sample(&env, ctx);
    let scope = who.scope();
    let toggles: Vec<Toggle<'_>> = published
        .scoped_keys(&scope)
        .map(|key| (key, snapshot.evaluate(key, ctx, now, &mut rng)))
        .filter(|(_, e)| e.enabled)
        .map(|(key, e)| {
            count_evaluation(&env, key, &e);
            frontend_toggle(key, &e)
        })
        .collect();
    Ok(Json(Toggles { toggles }).into_response())
}

/// The toggles enabled for a context given as query parameters (Unleash frontend API).
#[utoipa::path(get, path = "/api/frontend", params(FrontendQuery, SdkHeaders), responses((status = 200, description = "The enabled toggles", body = Toggles), (status = 400, description = "A parameter given twice, or a context beyond its limits", body = ErrorBody), (status = 404, description = "The environment does not exist", body = ErrorBody)))]
async fn get_frontend(
    Call(state, FrontendSdk(who)): Call<FrontendSdk>,
    uri: Uri,
) -> Result<Response, ApiError> {
    frontend(&state, &who, &query_context(&uri)?)
}

/// The toggles enabled for a context in the body: its `context` object, or the body itself.
#[utoipa::path(post, path = "/api/frontend", params(SdkHeaders), request_body(content = Option<EvaluationContext>, description = "`{context: {…}}` or the context itself; empty is the empty context"), responses((status = 200, description = "The enabled toggles", body = Toggles), (status = 400, description = "Unreadable body or invalid context", body = ErrorBody), (status = 404, description = "The environment does not exist", body = ErrorBody), BodyErrors))]
async fn post_frontend(
    Call(state, FrontendSdk(who)): Call<FrontendSdk>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody<MAX_CONTEXT_BODY_BYTES>,
) -> Result<Response, ApiError> {
    let ctx = if body.iter().all(u8::is_ascii_whitespace) {
        Context::default()
    } else if !is_json(&headers) {
        return Err(ApiError::UnsupportedMediaType(
            "a JSON body (Content-Type: application/json)",
        ));
    } else {
        let v: Value = parse_json(&body)?;
        Context::from_json(v.get("context").unwrap_or(&v))?
    };
    frontend(&state, &who, &ctx)
}

/// One toggle, if it is enabled for the context in the query parameters.
#[utoipa::path(get, path = "/api/frontend/features/{name}", params(("name" = String, Path, description = "Flag key"), FrontendQuery, SdkHeaders), responses((status = 200, description = "The toggle", body = Toggle), (status = 400, description = "Unreadable path, a parameter given twice, or a context beyond its limits", body = ErrorBody), (status = 404, description = "Unknown or disabled toggle, or the environment does not exist", body = ErrorBody)))]
async fn get_frontend_feature(
    Call(state, FrontendSdk(who)): Call<FrontendSdk>,
    ApiPath(name): ApiPath<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let ctx = query_context(&uri)?;
    let env = who.sdk_environment();
    let published = state.published();
    let snapshot = published.snapshot(&env)?;
    if !published.visible(&name, &who.scope()) {
        return Err(ApiError::NotFound {
            kind: "enabled feature",
            name,
        });
    }
    let e = snapshot.evaluate(&name, &ctx, chrono::Utc::now(), &mut state.rng());
    state.sample(&env, &ctx);
    if !e.enabled {
        // Unleash's frontend API answers 404 for unknown and for disabled toggles alike.
        return Err(ApiError::NotFound {
            kind: "enabled feature",
            name,
        });
    }
    count_evaluation(&env, &name, &e);
    Ok(Json(frontend_toggle(&name, &e)).into_response())
}
