//! An OpenFeature provider for the [`open_feature`] crate (cargo feature `openfeature`):
//! [`FlagpoleProvider`] resolves every flag type from a [`Client`]'s in-process state.
//!
//! - **Values**: booleans from boolean flags; strings, floats and integers from string
//!   and number flags (an integer only from a number without a fraction); structures
//!   from JSON flags whose value is an object. Any other pairing is `TYPE_MISMATCH`.
//! - **Reasons**: `TARGETING_MATCH`, `SPLIT`, `DISABLED`, `DEFAULT` (a flag on for
//!   everyone with no rules is `STATIC`, as OFREP answers), `ERROR`.
//! - **Errors**: `FLAG_NOT_FOUND`; `TYPE_MISMATCH`; `TARGETING_KEY_MISSING` when the
//!   evaluation reached a rollout or split that places contexts by user id and the
//!   context has no targeting key (what the server's OFREP answers, since the value would
//!   otherwise be drawn at random); `GENERAL` for a typed flag without variants.
//! - **Context** ([`context_of`]): `targetingKey` is the user id; the fields `userId`
//!   (when there is no targeting key), `sessionId`, `remoteAddress`, `appName`,
//!   `environment` and `currentTime` fill the known fields; every other boolean,
//!   number, string or date field is a property, read as its text (structures are left
//!   out: conditions see them missing).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use flagpole_sdk::openfeature::FlagpoleProvider;
//! use flagpole_sdk::Client;
//! use open_feature::{EvaluationContext, OpenFeature};
//!
//! let client = Client::builder("http://localhost:8080", "client-token").build().await?;
//! let mut api = OpenFeature::singleton_mut().await;
//! api.set_provider(FlagpoleProvider::new(client)).await;
//! let of = api.create_client();
//! let ctx = EvaluationContext::default()
//!     .with_targeting_key("user-42")
//!     .with_custom_field("plan", "enterprise");
//! let on = of.get_bool_value("new_ui", Some(&ctx), None).await.unwrap_or(false);
//! # let _ = on; Ok(()) }
//! ```

use std::collections::HashMap;

use flagpole_core::{Context, Evaluation, Reason};
use open_feature::provider::{
    FeatureProvider, ProviderMetadata, ProviderStatus, ResolutionDetails,
};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationError, EvaluationErrorCode,
    EvaluationReason, EvaluationResult, StructValue, Value,
};

use crate::client::Client;
use crate::details::{value_of, ErrorCode, FlagValue};
use crate::state::Source;

/// The OpenFeature provider over a [`Client`].
#[derive(Debug)]
pub struct FlagpoleProvider {
    client: Client,
    metadata: ProviderMetadata,
}

impl FlagpoleProvider {
    /// A provider answering from `client` (already started: it is ready at once).
    pub fn new(client: Client) -> FlagpoleProvider {
        FlagpoleProvider {
            client,
            metadata: ProviderMetadata::new("flagpole"),
        }
    }

    /// The client behind the provider.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn resolve<T: FlagValue>(
        &self,
        key: &str,
        ec: &EvaluationContext,
        expected: &str,
    ) -> EvaluationResult<ResolutionDetails<T>> {
        let ctx = context_of(ec);
        self.client.evaluate(key, &ctx, |e| {
            let value = checked(key, e, expected)?;
            Ok(details(e, value))
        })
    }
}

/// The value of `e` as `T`, or the OpenFeature error.
fn checked<T: FlagValue>(key: &str, e: &Evaluation<'_>, expected: &str) -> EvaluationResult<T> {
    if e.error.is_some() {
        return Err(error(
            EvaluationErrorCode::FlagNotFound,
            format!("no flag {key:?}"),
        ));
    }
    if e.needs_user_id {
        return Err(error(
            EvaluationErrorCode::TargetingKeyMissing,
            format!("flag {key:?} places this context by user and the context has no targetingKey"),
        ));
    }
    value_of(e).map_err(|code| match code {
        ErrorCode::TypeMismatch => error(
            EvaluationErrorCode::TypeMismatch,
            format!(
                "flag {key:?} is a {} flag, not {expected}",
                e.flag_type.as_str()
            ),
        ),
        _ => error(
            EvaluationErrorCode::General("no value".into()),
            format!("flag {key:?} has no variant to serve"),
        ),
    })
}

fn error(code: EvaluationErrorCode, message: String) -> EvaluationError {
    EvaluationError {
        code,
        message: Some(message),
    }
}

fn details<T>(e: &Evaluation<'_>, value: T) -> ResolutionDetails<T> {
    let variant = e.variant.unwrap_or(if e.enabled { "on" } else { "off" });
    ResolutionDetails {
        value,
        variant: Some(variant.to_string()),
        reason: Some(reason(e)),
        flag_metadata: None,
    }
}

/// OpenFeature's reason for an evaluation (OFREP's mapping).
fn reason(e: &Evaluation<'_>) -> EvaluationReason {
    match e.reason {
        Reason::Disabled => EvaluationReason::Disabled,
        Reason::TargetingMatch => EvaluationReason::TargetingMatch,
        Reason::Split => EvaluationReason::Split,
        Reason::Default if e.enabled => EvaluationReason::Static,
        Reason::Default | Reason::PrerequisiteFailed => EvaluationReason::Default,
        Reason::Error => EvaluationReason::Error,
    }
}

/// The Flagpole context for an OpenFeature evaluation context.
pub fn context_of(ec: &EvaluationContext) -> Context {
    let mut ctx = Context {
        user_id: ec.targeting_key.clone(),
        ..Context::default()
    };
    let mut fields: Vec<_> = ec.custom_fields.iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in fields {
        let Some(text) = text_of(value) else { continue };
        match name.as_str() {
            "userId" | "targetingKey" => {
                if ctx.user_id.is_none() {
                    ctx.user_id = Some(text);
                }
            }
            "sessionId" => ctx.session_id = Some(text),
            "remoteAddress" => ctx.remote_address = Some(text),
            "appName" => ctx.app_name = Some(text),
            "environment" => ctx.environment = Some(text),
            "currentTime" => ctx.current_time = Some(text),
            _ => ctx.set_property(name.as_str(), text),
        }
    }
    ctx
}

/// A field as the text conditions compare (JSON's spelling of numbers).
fn text_of(value: &EvaluationContextFieldValue) -> Option<String> {
    match value {
        EvaluationContextFieldValue::Bool(b) => Some(b.to_string()),
        EvaluationContextFieldValue::Int(i) => Some(i.to_string()),
        EvaluationContextFieldValue::Float(f) => {
            serde_json::Number::from_f64(*f).map(|n| n.to_string())
        }
        EvaluationContextFieldValue::String(s) => Some(s.clone()),
        EvaluationContextFieldValue::DateTime(t) => {
            chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        }
        EvaluationContextFieldValue::Struct(_) => None,
    }
}

/// A JSON value as OpenFeature's.
fn to_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Struct(StructValue::default()),
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        serde_json::Value::Object(map) => Value::Struct(StructValue {
            fields: map
                .iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<HashMap<_, _>>(),
        }),
    }
}

/// A JSON object flag value, as a structure.
struct Object(StructValue);

impl FlagValue for Object {
    fn read(value: &serde_json::Value) -> Option<Object> {
        match (value.is_object(), to_value(value)) {
            (true, Value::Struct(s)) => Some(Object(s)),
            _ => None,
        }
    }
}

#[async_trait::async_trait]
impl FeatureProvider for FlagpoleProvider {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    /// Ready when following the server; stale while answering from a cache or
    /// bootstrap file.
    fn status(&self) -> ProviderStatus {
        match self.client.status().source {
            Source::Server => ProviderStatus::Ready,
            Source::Cache | Source::Bootstrap => ProviderStatus::STALE,
        }
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        self.resolve(flag_key, evaluation_context, "a boolean")
    }

    async fn resolve_int_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        self.resolve(flag_key, evaluation_context, "an integer")
    }

    async fn resolve_float_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        self.resolve(flag_key, evaluation_context, "a number")
    }

    async fn resolve_string_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        self.resolve(flag_key, evaluation_context, "a string")
    }

    async fn resolve_struct_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        let d: ResolutionDetails<Object> =
            self.resolve(flag_key, evaluation_context, "an object")?;
        Ok(ResolutionDetails {
            value: d.value.0,
            variant: d.variant,
            reason: d.reason,
            flag_metadata: d.flag_metadata,
        })
    }
}
