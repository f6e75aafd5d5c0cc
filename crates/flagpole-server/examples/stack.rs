//! The application's own CPU cost per request, without sockets or a load generator: the
//! seed GET with a client token through `flagpole_server::service` (what `flagpole
//! serve` runs behind hyper), in a loop on one thread, beside the same loop through the
//! floor's bare axum router (`examples/floor.rs`). The difference is what Flagpole's
//! routing, middleware, authentication and evaluation cost per request; a load generator
//! over loopback (`scripts/bench-http.sh`) adds the kernel's and hyper's share to both.
//!
//!     cargo run --release -p flagpole-server --example stack -- 300000

use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::routing::get;
use axum::Router;
use flagpole_server::identity::issue::{self, NewToken};
use flagpole_server::{AppState, ServerConfig};
use flagpole_store::Change;
use tower::{Service, ServiceExt};

const CLIENT: &str = "bench-client-token";
const ADMIN: &str = "bench-admin-token";

type Error = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300_000);
    let store = flagpole_store::open("sqlite::memory:").await?;
    let change = |action| Change {
        actor: "bench",
        action,
        environment: None,
        address: None,
    };
    store
        .create_environment("production", change("environment.created"))
        .await?;
    for (secret, kind, environment, role) in [
        (CLIENT, "client", Some("production"), None),
        (ADMIN, "admin", None, Some("admin")),
    ] {
        let new = NewToken {
            name: secret.to_string(),
            kind: kind.to_string(),
            environment: environment.map(str::to_string),
            role: role.map(str::to_string),
            secret: Some(secret.to_string()),
            ..NewToken::default()
        };
        let (record, _) = issue::token(&new, "bench", |_| true)?;
        store.create_token(&record, change("token.created")).await?;
    }
    let state = AppState::new(store, ServerConfig::default()).await?;
    let mut app = flagpole_server::service(state);
    let created = request(
        "POST",
        "/flags/new_ui?enabled=true&rollout_percentage=25",
        ADMIN,
    );
    let status = app.ready().await?.call(created).await?.status();
    assert!(status.is_success(), "creating the flag answered {status}");

    let floor = Router::new().route(
        "/flags/{name}",
        get(|| async {
            (
                [(CONTENT_TYPE, "application/json")],
                r#"{"flag":"new_ui","enabled":true}"#,
            )
        }),
    );
    const GET: &str = "/flags/new_ui?user_id=123";
    for round in 1..=3 {
        let ours = per_request(n, || app.clone().oneshot(request("GET", GET, CLIENT))).await;
        let bare = per_request(n, || floor.clone().oneshot(request("GET", GET, CLIENT))).await;
        println!(
            "round {round}: flagpole {ours:.0} ns/request, floor {bare:.0} ns/request, difference {:.0} ns",
            ours - bare
        );
    }
    Ok(())
}

/// A request as hyper hands it over, with the peer address `flagpole serve` adds.
fn request(method: &str, uri: &str, token: &str) -> Request {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:4242")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap_or_default();
    let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 50_000));
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

/// Nanoseconds per call of `call`, whose answer must be 200.
async fn per_request<F, Fut>(n: u32, mut call: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<axum::response::Response, std::convert::Infallible>>,
{
    let start = Instant::now();
    for _ in 0..n {
        let response = call().await.unwrap_or_else(|never| match never {});
        assert_eq!(response.status(), 200);
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}
