//! Basic use of the Flagpole SDK.
//!
//! Start a server and make a client token, then run:
//!
//! ```text
//! FLAGPOLE_URL=http://127.0.0.1:8080 FLAGPOLE_TOKEN=<client token> \
//!     cargo run -p flagpole-sdk --example basic
//! ```

use std::time::Duration;

use flagpole_sdk::{Client, ContextBuilder};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), flagpole_sdk::Error> {
    let url = std::env::var("FLAGPOLE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let token = std::env::var("FLAGPOLE_TOKEN").unwrap_or_default();
    let client = Client::builder(url, token)
        .environment("production")
        .app_name("basic-example")
        .cache_file(std::env::temp_dir().join("flagpole-basic-example.json"))
        .startup_timeout(Duration::from_secs(3))
        .build()
        .await?;
    println!("status: {:?}", client.status());

    let ctx = ContextBuilder::user("user-42")
        .property("plan", "enterprise")
        .property("email", "ada@example.com")
        .build();
    for key in client.keys() {
        let d = client.json_details(&key, &ctx, json!(null));
        println!(
            "{key}: {} (variant {:?}, {:?}{})",
            d.value,
            d.variant,
            d.reason,
            d.error
                .map(|e| format!(", {}", e.as_str()))
                .unwrap_or_default()
        );
    }
    if client.bool_value("new_ui", &ctx, false) {
        println!("new_ui is on for user-42");
    }
    // Sends the usage counted above.
    client.shutdown().await;
    Ok(())
}
