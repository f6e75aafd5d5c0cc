//! A small blocking client for the native API, used by the admin commands: HTTP or HTTPS
//! (rustls, with the Mozilla root certificates), authenticated with an admin token.

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args;
use serde_json::Value;

/// The server a command talks to, and the token it calls with (the token's role decides
/// what the command may do: an admin's for flags and tokens, an editor's to propose,
/// schedule or approve).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server, e.g. http://127.0.0.1:4242.
    #[arg(
        long,
        env = "FLAGPOLE_SERVER",
        default_value = "http://127.0.0.1:4242",
        global = true
    )]
    pub server: String,
    /// The token to call the server with.
    #[arg(long, env = "FLAGPOLE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

impl ServerArgs {
    /// A client for the server, with the token.
    pub fn client(&self) -> Client {
        Client::new(&self.server, self.token.as_deref())
    }
}

/// Talks to a running Flagpole at `base` (e.g. `http://127.0.0.1:4242`).
#[derive(Debug)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
    /// `Bearer <token>`, when a token was given.
    authorization: Option<String>,
}

impl Client {
    pub fn new(base: &str, token: Option<&str>) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        Client {
            base: base.trim_end_matches('/').to_string(),
            agent,
            authorization: token.map(|t| format!("Bearer {t}")),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn with_body(
        &self,
        method: &str,
        url: &str,
    ) -> Result<ureq::RequestBuilder<ureq::typestate::WithBody>> {
        let builder = match method {
            "POST" => self.agent.post(url),
            "PUT" => self.agent.put(url),
            "PATCH" => self.agent.patch(url),
            other => return Err(anyhow!("unsupported method {other}")),
        };
        Ok(self.authorize(builder))
    }

    /// Sends a request; non-2xx answers become errors carrying the server's message.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = self.url(path);
        let response = match (method, body) {
            ("GET", _) => self.authorize(self.agent.get(&url)).call(),
            ("DELETE", _) => self.authorize(self.agent.delete(&url)).call(),
            (m, Some(b)) => self.with_body(m, &url)?.send_json(b),
            (m, None) => self.with_body(m, &url)?.send_empty(),
        }
        .with_context(|| format!("cannot reach Flagpole at {}", self.base))?;
        read(response, method, path)
    }

    /// Sends a text body (imports) of the given content type (the server takes JSON or
    /// YAML only).
    pub fn send_text(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        text: &str,
    ) -> Result<Value> {
        let response = self
            .with_body(method, &self.url(path))?
            .header("content-type", content_type)
            .send(text)
            .with_context(|| format!("cannot reach Flagpole at {}", self.base))?;
        read(response, method, path)
    }

    /// Reads a text answer (exports).
    pub fn get_text(&self, path: &str) -> Result<String> {
        let mut response = self
            .authorize(self.agent.get(self.url(path)))
            .call()
            .with_context(|| format!("cannot reach Flagpole at {}", self.base))?;
        let status = response.status();
        let text = response.body_mut().read_to_string()?;
        if !status.is_success() {
            bail!("GET {path}: {}", message(&text));
        }
        Ok(text)
    }
}

impl Client {
    fn authorize<B>(&self, builder: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(value) => builder.header("authorization", value),
            None => builder,
        }
    }
}

fn read(mut response: ureq::http::Response<ureq::Body>, method: &str, path: &str) -> Result<Value> {
    let status = response.status();
    let text = response.body_mut().read_to_string()?;
    if !status.is_success() {
        bail!("{method} {path}: {} ({status})", message(&text));
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_str(&text)?)
}

/// The server's error message, with each validation problem on its own line.
fn message(text: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    match v["problems"].as_array() {
        Some(problems) if problems.len() > 1 => problems
            .iter()
            .map(|p| {
                format!(
                    "\n  {}: {}",
                    p["path"].as_str().unwrap_or(""),
                    p["message"].as_str().unwrap_or("")
                )
            })
            .collect(),
        _ => v["message"]
            .as_str()
            .or(v["detail"].as_str())
            .unwrap_or(text)
            .to_string(),
    }
}
