//! What a change is read from: a resource body whose bookkeeping fields (`key`/`name`,
//! `version`, and the read-only fields a GET shows) are split off before the rest is
//! read, with errors that name the field at fault; and the version a change is based on.

use flagpole_store::Expect;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// Splits the bookkeeping fields (`key`/`name`, `version`, and read-only fields echoed
/// back from a GET) off a body, then reads the rest as `T`.
pub fn split_body<T: DeserializeOwned>(
    mut body: Value,
    id_field: &str,
) -> Result<(Option<String>, Option<i64>, T), ApiError> {
    let Value::Object(map) = &mut body else {
        return Err(ApiError::bad_request(
            "invalid_body",
            "the body must be a JSON object",
            None,
        ));
    };
    let id = match map.remove(id_field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                format!("{id_field}: must be a string"),
                Some(id_field.into()),
            ))
        }
    };
    let version = match map.remove("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::bad_request(
                "invalid_body",
                "version: must be an integer",
                Some("version".into()),
            )
        })?),
    };
    for read_only in ["archived", "created_at", "updated_at"] {
        map.remove(read_only);
    }
    Ok((id, version, from_value(body)?))
}

/// Converts a JSON value into `T`, naming the path of the first problem.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != "." && !path.is_empty()).then_some(path);
        let message = match &field {
            Some(f) => format!("{f}: {}", e.inner()),
            None => e.inner().to_string(),
        };
        ApiError::bad_request("invalid_body", message, field)
    })
}

/// `Expect::Version` of the given version, or 428 when the update did not say.
pub fn required(version: Option<i64>) -> Result<Expect, ApiError> {
    version
        .map(Expect::Version)
        .ok_or(ApiError::VersionRequired)
}

/// `Expect::Version` if the caller said which version, else the current one.
pub fn or_current(version: Option<i64>, current: i64) -> Expect {
    Expect::Version(version.unwrap_or(current))
}
