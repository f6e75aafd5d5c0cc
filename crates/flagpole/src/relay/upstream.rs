//! The relay's HTTP client for its upstream (ureq, HTTP or HTTPS with rustls): the relay
//! stream, read line by line on a blocking thread, and token introspection.

use std::io::BufRead as _;
use std::time::Duration;

use flagpole_server::relay::wire::{IntrospectRequest, IntrospectResponse, Introspection};
use flagpole_server::relay::Upstream;
use flagpole_server::ApiError;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

/// One server-sent event (`event` empty for a comment such as a heartbeat).
#[derive(Debug)]
pub struct Event {
    pub event: String,
    pub data: String,
}

#[derive(Clone)]
pub struct Client {
    base: String,
    authorization: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

impl Client {
    pub fn new(base: &str, token: &str) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .build()
            .new_agent();
        Client {
            base: base.to_string(),
            authorization: format!("Bearer {token}"),
            agent,
        }
    }

    /// Reads the relay stream from `last` (a version) into `events` until it ends, fails,
    /// or nobody listens any more. Blocking: run it on its own thread.
    pub fn read_stream(&self, last: Option<i64>, events: mpsc::Sender<Event>) -> String {
        let url = format!("{}/api/v1/relay/stream", self.base);
        let mut request = self
            .agent
            .get(&url)
            .header("authorization", &self.authorization)
            .header("accept", "text/event-stream");
        if let Some(v) = last {
            request = request.header("last-event-id", v.to_string());
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(e) => return format!("cannot reach the upstream: {e}"),
        };
        let status = response.status();
        if status != 200 {
            let mut body = response.into_body();
            let text = body.read_to_string().unwrap_or_default();
            return format!(
                "the upstream answered {status}: {}",
                text.chars().take(300).collect::<String>()
            );
        }
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        let (mut event, mut data) = (String::new(), String::new());
        for line in reader.lines() {
            let line = match line {
                Ok(l) => l,
                Err(e) => return format!("the relay stream broke: {e}"),
            };
            if line.is_empty() {
                let e = Event {
                    event: std::mem::take(&mut event),
                    data: std::mem::take(&mut data),
                };
                if events.blocking_send(e).is_err() {
                    return "stopped".into();
                }
            } else if line.starts_with(':') {
                let beat = Event {
                    event: String::new(),
                    data: String::new(),
                };
                if events.blocking_send(beat).is_err() {
                    return "stopped".into();
                }
            } else if let Some((field, value)) = line.split_once(':') {
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => event = value.to_string(),
                    "data" => {
                        if !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(value);
                    }
                    _ => {}
                }
            }
        }
        "the upstream closed the relay stream".into()
    }

    fn introspect_blocking(&self, tokens: Vec<String>) -> Result<Vec<Introspection>, String> {
        let url = format!("{}/api/v1/tokens/introspect", self.base);
        let mut response = self
            .agent
            .post(&url)
            .header("authorization", &self.authorization)
            .config()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .send_json(IntrospectRequest { tokens })
            .map_err(|e| e.to_string())?;
        if response.status() != 200 {
            return Err(format!("the upstream answered {}", response.status()));
        }
        let answer: IntrospectResponse =
            response.body_mut().read_json().map_err(|e| e.to_string())?;
        Ok(answer.tokens)
    }
}

impl Upstream for Client {
    fn introspect(
        &self,
        tokens: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<Introspection>, ApiError>> {
        let client = self.clone();
        Box::pin(async move {
            let asked = tokio::task::spawn_blocking(move || client.introspect_blocking(tokens));
            match asked.await {
                Ok(Ok(answers)) => Ok(answers),
                Ok(Err(reason)) => {
                    tracing::warn!(%reason, "asking the upstream about a token failed");
                    Err(ApiError::UpstreamUnavailable)
                }
                Err(_) => Err(ApiError::UpstreamUnavailable),
            }
        })
    }
}
