//! What every route's request passes through, in one middleware: the host and origin
//! guard, the request span and metrics, a relay's refusal of writes, `?preview`, and
//! CORS. One middleware rather than one per concern, because axum wraps every route in
//! each layer and clones it on every request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service, ServiceExt};
use tracing::Instrument;

use super::auth::cors::{self, Cors};
use super::state::AppState;
use super::{guard, preview};
use crate::error::ApiError;
use crate::telemetry::Tracked;

/// The layer every route gets (`Router::layer`). Written out rather than
/// `axum::middleware::from_fn`, which boxes the inner service into a `Next` and splits
/// and rejoins the request to extract the state, on every request.
#[derive(Clone, Debug)]
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

#[derive(Clone, Debug)]
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
/// when the request did not go through the router (`routes::hot`), which otherwise names
/// it.
pub async fn request<S>(
    state: &AppState,
    request: Request,
    template: Option<&'static str>,
    next: S,
) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let mut response = match guard::refusal(state, &request) {
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
    guard::finish(&mut response);
    response
}

async fn route<S>(state: &AppState, mut request: Request, next: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    if state.relay().is_some() && !crate::relay::allows(request.method(), request.uri().path()) {
        return ApiError::RelayReadOnly.into_response();
    }
    if let Err(refused) = preview::take(&mut request) {
        return *refused;
    }
    let cors = match cors::check(state, &request) {
        Cors::Answered(response) => return response,
        cors => cors,
    };
    let mut response = next
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    cors.decorate(&mut response);
    response
}
