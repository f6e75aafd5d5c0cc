//! The floor for HTTP benchmarks: a bare axum handler that returns the seed API's answer
//! as fixed JSON, with no state, no middleware and no evaluation. `scripts/bench-http.sh`
//! measures Flagpole against it; the gap is what Flagpole's routing, middleware and
//! evaluation cost.
//!
//!     cargo run --release -p flagpole-server --example floor -- 127.0.0.1:4300

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;

const BODY: &str = r#"{"flag":"new_ui","enabled":true}"#;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4300".to_string());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(addr))
}

async fn serve(addr: String) -> std::io::Result<()> {
    let app = Router::new().route("/flags/{name}", get(get_flag));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("floor listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}

async fn get_flag() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, "application/json")], BODY)
}
