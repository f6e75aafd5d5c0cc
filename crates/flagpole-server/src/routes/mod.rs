//! The HTTP surface. Each area has a `router()` of documented routes
//! (an `OpenApiRouter` that [`router!`] builds); [`app`] composes them with the middleware every
//! route shares, and the same composition yields the OpenAPI document. Handlers are
//! thin: extract, call the layers below, answer.

/// An area's router. Given `pub fn router: a, b; c`, it routes the handlers `a` and `b`
/// (one path) and `c` (another): the handlers of a path apart by `,`, paths by `;`.
/// Each handler's `#[utoipa::path]` says its method and path, so the router and the
/// OpenAPI document come from this one list.
macro_rules! router {
    ($(#[$doc:meta])* $vis:vis fn $name:ident: $($($handler:ident),+);+) => {
        $(#[$doc])*
        $vis fn $name() -> ::utoipa_axum::router::OpenApiRouter<$crate::http::AppState> {
            ::utoipa_axum::router::OpenApiRouter::new()
                $(.routes(::utoipa_axum::routes!($($handler),+)))+
        }
    };
}

mod change;
mod change_requests;
mod environments;
mod evaluate;
mod flag_environments;
mod flags;
mod health;
mod history;
mod hot;
mod ofrep;
mod openapi;
mod projects;
mod relay;
mod release_plans;
mod sampling;
mod schedules;
mod seed;
mod segments;
mod sessions;
mod streams;
mod tokens;
mod transfer;
mod unleash;
mod users;

use std::convert::Infallible;
use std::sync::LazyLock;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::{Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::http::auth::Public;
use crate::http::{middleware, AppState};

/// The router and the OpenAPI document (as JSON), built once from [`routes`]: building
/// them is too slow to repeat for every `app()`.
static BUILT: LazyLock<(Router<AppState>, String)> = LazyLock::new(|| {
    let (router, doc) = routes().split_for_parts();
    let json = serde_json::to_string(&openapi::finish(doc)).unwrap_or_default();
    (router, json)
});

/// The whole application as a router, to call with `oneshot` in tests or to nest.
pub fn app(state: AppState) -> Router {
    Router::new().fallback_service(service(state))
}

/// The whole application as one service, which `flagpole serve` runs.
///
/// Only the middleware that needs the matched route (metrics, CORS and the rest of
/// [`middleware::RequestLayer`], which also opens the request's tracing span) is
/// applied per route. The layers that do not (panic catching, the body limit) wrap the routed
/// service once: `Router::layer` wraps every route in its own boxed copy of a layer, and
/// each copy is cloned on every request. The seed GET is answered before the router and
/// the body limit, by [`hot::HotReads`] with the same middleware.
pub fn service(
    state: AppState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
       + Clone
       + Send
       + Sync
       + 'static {
    let routed = BUILT
        .0
        .clone()
        .merge(crate::ui::router())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::RequestLayer(state.clone()))
        .with_state(state.clone());
    let routed = ServiceBuilder::new()
        .layer(DefaultBodyLimit::max(state.config().max_body_bytes * 10))
        .service(routed);
    // The hot read reads no body, so it is taken before the body limit is set.
    ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(CatchPanicLayer::custom(crate::error::panic_response))
        .service(hot::HotReads {
            inner: routed,
            state,
        })
}

/// Every route, each with its documentation: the router and the OpenAPI document are
/// two views of this one table.
fn routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(area("environments", environments::router()))
        .merge(area("flags", flags::router()))
        .merge(area("flags", flag_environments::router()))
        .merge(area("release plans", release_plans::router()))
        .merge(area("environments", sampling::router()))
        .merge(area("segments", segments::router()))
        .merge(area("projects", projects::router()))
        .merge(area("evaluation", evaluate::router()))
        .merge(area("history", history::router()))
        .merge(area("schedules", schedules::router()))
        .merge(area("change requests", change_requests::router()))
        .merge(area("transfer", transfer::router()))
        .merge(area("access", sessions::router()))
        .merge(area("access", tokens::router()))
        .merge(area("access", users::router()))
        .merge(streams::native_router())
        .merge(area("relay", relay::router()))
        .merge(OpenApiRouter::new().routes(routes!(get_openapi)));
    OpenApiRouter::with_openapi(openapi::base())
        .nest("/api/v1", api)
        .merge(area("seed", seed::router()))
        .merge(area("ofrep", ofrep::router()))
        .merge(area("unleash", unleash::router()))
        .merge(streams::router())
        .merge(area("health", health::router()))
}

/// An area's routes, each documented under `tag` unless its handler names its own.
fn area(tag: &str, mut router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    for item in router.get_openapi_mut().paths.paths.values_mut() {
        for op in openapi::operations(item) {
            op.tags.get_or_insert_with(|| vec![tag.to_string()]);
        }
    }
    router
}

/// The OpenAPI 3.1 document of every route, as JSON (served at `/api/v1/openapi.json`).
pub fn openapi_json() -> &'static str {
    &BUILT.1
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", security(()), tag = "openapi", responses((status = 200, description = "The OpenAPI 3.1 document of every route", body = Object)))]
async fn get_openapi(Public(_who): Public) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], openapi_json())
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound {
        kind: "route",
        name: uri.path().to_string(),
    }
}

/// A known path with a method it does not serve: 405 with the usual error body (axum
/// adds the `Allow` header).
async fn method_not_allowed(
    method: axum::http::Method,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}
