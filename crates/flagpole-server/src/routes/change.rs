//! What the editor's changes of one flag are asked with: the caller (an editor), the flag
//! (and environment) the path names, and the version `If-Match` gives, taken together
//! by one extractor instead of by every handler.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::http::auth::ProjectEditor;
use crate::http::extract::{based_on, ApiPath};
use crate::http::AppState;
use crate::identity::Principal;

/// An editor's change of what the path names (`At`).
pub struct Change<At> {
    pub state: AppState,
    pub who: Principal,
    pub at: At,
    headers: HeaderMap,
}

/// A change of one flag (`/flags/{key}/…`): `at` is the key.
pub type FlagChange = Change<String>;

/// A change of one flag in one environment (`/flags/{key}/environments/{env}/…`).
pub type EnvChange = Change<FlagEnv>;

/// The flag and the environment a route names.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FlagEnv {
    /// Flag key.
    pub key: String,
    /// Environment name.
    pub env: String,
}

impl<At: DeserializeOwned + Send> FromRequestParts<AppState> for Change<At> {
    type Rejection = ApiError;

    /// The caller first (an unauthorised caller learns nothing of the path), then the
    /// path.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ProjectEditor(who) = ProjectEditor::from_request_parts(parts, state).await?;
        let ApiPath(at) = ApiPath::from_request_parts(parts, state).await?;
        let (state, headers) = (state.clone(), parts.headers.clone());
        Ok(Change {
            state,
            who,
            at,
            headers,
        })
    }
}

impl<At> Change<At> {
    /// The version the change is based on: `If-Match`, or the body's, which must agree.
    pub fn based_on(&self, body_version: Option<i64>) -> Result<Option<i64>, ApiError> {
        based_on(&self.headers, body_version)
    }
}
