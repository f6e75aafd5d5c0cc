//! The requests the SDK makes of the server: every one carries the client token and
//! Unleash's SDK headers (`UNLEASH-APPNAME`, `-INSTANCEID`, `-CONNECTION-ID`, `-SDK`), and
//! an answer that is not a success is read as [`Error::Status`] with the start of its
//! body. The sync task and the usage task both ask through here.

use crate::error::{Error, Result};
use crate::inner::Config;

/// The SDK's name and version, as Unleash's `UNLEASH-SDK` header names SDKs.
pub(crate) const SDK: &str = concat!("flagpole-sdk-rust:", env!("CARGO_PKG_VERSION"));

/// `GET` of `path` (from the server's root), with the SDK's headers.
pub(crate) fn get(config: &Config, path: &str) -> reqwest::RequestBuilder {
    with_headers(config.http.get(format!("{}{path}", config.base)), config)
}

/// `POST` to `path` (from the server's root), with the SDK's headers.
pub(crate) fn post(config: &Config, path: &str) -> reqwest::RequestBuilder {
    with_headers(config.http.post(format!("{}{path}", config.base)), config)
}

/// The response when it is a success, else [`Error::Status`] with the start of its body.
pub(crate) async fn check(response: reqwest::Response) -> Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let mut body = response.text().await.unwrap_or_default();
    body.truncate(body.floor_char_boundary(300));
    Err(Error::Status {
        status: status.as_u16(),
        body,
    })
}

/// The headers every request carries: the token, and Unleash's SDK headers.
fn with_headers(request: reqwest::RequestBuilder, config: &Config) -> reqwest::RequestBuilder {
    request
        .header("Authorization", config.authorization.clone())
        .header("UNLEASH-APPNAME", &config.app_name)
        .header("UNLEASH-INSTANCEID", &config.instance_id)
        .header("UNLEASH-CONNECTION-ID", &config.connection_id)
        .header("UNLEASH-SDK", SDK)
}
