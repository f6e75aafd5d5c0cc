//! The hot read, the seed API's `GET /flags/{name}`, answered before the router.
//!
//! It is what the seed's users call on every page view, so it is the route whose
//! throughput matters. Through the router, each request is matched among every route,
//! gets its matched path and URL parameters inserted as extensions, and passes through
//! the route's boxed, cloned services and extractors; all of that together cost more
//! than the evaluation. Here the same middleware (`http::middleware::request`) and the
//! same authentication and answer ([`super::seed::get_flag_hot`]) run without it.
//!
//! Only a request the router would send to that handler is taken: `GET`, a path of
//! exactly `/flags/` and a name that needs no percent-decoding. Everything else (`HEAD`,
//! encoded names, trailing slashes) goes through the router as before.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::HttpBody as _;
use axum::extract::Request;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use futures_util::future::Either;
use tower::Service;

use super::seed;
use crate::http::{middleware, AppState};

/// The seed GET's route template, as the router names it (in metrics).
const SEED_GET: &str = "/flags/{name}";

/// Answers the hot read itself and sends every other request to `inner` (the router).
#[derive(Clone)]
pub struct HotReads<S> {
    pub inner: S,
    pub state: AppState,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for HotReads<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Answer, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if seed_flag_name(&request).is_none() {
            return Either::Right(self.inner.call(request));
        }
        let state = self.state.clone();
        Either::Left(Box::pin(async move {
            let state = &state;
            let handler = tower::service_fn(|request: Request| async move {
                Ok::<_, Infallible>(seed::get_flag_hot(state, request).await)
            });
            let mut response = middleware::request(state, request, Some(SEED_GET), handler).await;
            content_length(&mut response);
            Ok(response)
        }))
    }
}

/// Sets `Content-Length` when the body's size is known, as the router does for every
/// route (on the wire, hyper would add it anyway).
fn content_length(response: &mut Response) {
    if response.headers().contains_key(CONTENT_LENGTH) {
        return;
    }
    if let Some(n) = response.body().size_hint().exact() {
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(n));
    }
}

/// The flag name of a request that is the seed GET, when it needs no decoding.
fn seed_flag_name(request: &Request) -> Option<&str> {
    if request.method() != Method::GET {
        return None;
    }
    seed::plain_flag_name(request.uri().path())
}
