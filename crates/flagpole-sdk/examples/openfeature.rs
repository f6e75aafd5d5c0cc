//! The Flagpole SDK as an OpenFeature provider (cargo feature `openfeature`).
//!
//! ```text
//! FLAGPOLE_URL=http://127.0.0.1:8080 FLAGPOLE_TOKEN=<client token> \
//!     cargo run -p flagpole-sdk --features openfeature --example openfeature
//! ```

use flagpole_sdk::openfeature::FlagpoleProvider;
use flagpole_sdk::Client;
use open_feature::{EvaluationContext, OpenFeature};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("FLAGPOLE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let token = std::env::var("FLAGPOLE_TOKEN").unwrap_or_default();
    let client = Client::builder(url, token).build().await?;

    let mut api = OpenFeature::singleton_mut().await;
    api.set_provider(FlagpoleProvider::new(client.clone()))
        .await;
    let features = api.create_client();
    drop(api);

    let ctx = EvaluationContext::default()
        .with_targeting_key("user-42")
        .with_custom_field("plan", "enterprise");
    let details = features.get_bool_details("new_ui", Some(&ctx), None).await;
    match details {
        Ok(d) => println!(
            "new_ui = {} ({:?}, variant {:?})",
            d.value, d.reason, d.variant
        ),
        Err(e) => println!("new_ui: {:?} {}", e.code, e.message.unwrap_or_default()),
    }
    client.shutdown().await;
    Ok(())
}
