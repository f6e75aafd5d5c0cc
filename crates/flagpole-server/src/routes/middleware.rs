//! What every route's request passes through, in one middleware: the host and origin
//! guard, the request span and metrics, a relay's refusal of writes, `?preview`, and
//! CORS. One middleware rather than one per concern, because axum wraps every route in
//! each layer and clones it on every request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service, ServiceExt};
use tracing::Instrument;

use crate::auth::cors::{self, Cors};
use crate::state::AppState;
use crate::telemetry::Tracked;

/// The layer every route gets (`Router::layer`). Written out rather than
/// `axum::middleware::from_fn`, which boxes the inner service into a `Next` and splits
/// and rejoins the request to extract the state, on every request.
#[derive(Clone)]
pub struct RequestLayer(pub AppState);

impl<S> Layer<S> for RequestLayer {
    type Service = RequestService<S>;

    fn layer(&self, inner: S) -> RequestService<S> {
        RequestService {
            inner,
            state: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestService<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for RequestService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The service made ready is the one to call; a clone stays for the next request.
        let inner = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, inner);
        let state = self.state.clone();
        Box::pin(async move { Ok(request(&state, req, None, inner).await) })
    }
}

/// Passes `request` through the middleware to `next`. `template` is the route's template
/// when the request did not go through the router (`super::hot`), which otherwise names it.
pub(super) async fn request<S>(
    state: &AppState,
    request: Request,
    template: Option<&'static str>,
    next: S,
) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let mut response = match crate::guard::refusal(state, &request) {
        Some(refused) => refused,
        None => {
            let tracked = Tracked::start(&request, template);
            // A span for what the request logs; when debug logging is off this is
            // `Span::none()`, costing one check of the level.
            let span =
                tracing::debug_span!("request", method = %request.method(), uri = %request.uri());
            let response = if span.is_disabled() {
                route(state, request, next).await
            } else {
                route(state, request, next).instrument(span).await
            };
            tracked.finish(&response);
            response
        }
    };
    crate::guard::finish(&mut response);
    response
}

async fn route<S>(state: &AppState, mut request: Request, next: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    if let Some(refused) = crate::relay::refuse_writes(state, &request) {
        return refused;
    }
    let preview = match crate::preview::request::take(&mut request) {
        Ok(preview) => preview,
        Err(refused) => return *refused,
    };
    let cors = match cors::check(state, &request) {
        Cors::Answered(response) => return response,
        cors => cors,
    };
    let answer = async move {
        next.oneshot(request)
            .await
            .unwrap_or_else(|never| match never {})
    };
    let mut response = crate::preview::request::scope(preview, answer).await;
    cors.decorate(&mut response);
    response
}
