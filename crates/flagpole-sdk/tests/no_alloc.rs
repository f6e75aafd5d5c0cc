//! Evaluating a boolean flag through the client does not allocate: after a warm-up,
//! `bool_value` and `is_enabled` (with their usage counting) make zero heap allocations
//! on the calling thread.
//!
//! `allocation-counter` installs a counting global allocator and counts per thread, so
//! the client's background tasks on other threads cannot disturb the count.

use std::path::Path;
use std::time::Duration;

use flagpole_sdk::{Client, ContextBuilder};

async fn client() -> Client {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench.yaml");
    Client::builder("http://127.0.0.1:9", "token")
        .bootstrap_file(file)
        .startup_timeout(Duration::from_millis(200))
        .metrics_interval(None)
        .build()
        .await
        .expect("starts from the bootstrap file")
}

#[test]
fn the_counter_counts_allocations() {
    let info = allocation_counter::measure(|| {
        std::hint::black_box(Box::new(1u64));
    });
    assert_eq!(info.count_total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn boolean_evaluation_does_not_allocate() {
    let client = client().await;
    let contexts = [
        ContextBuilder::user("u1").build(),
        ContextBuilder::user("u2")
            .property("plan", "enterprise")
            .property("country", "DE")
            .property("version", "2.3.0")
            .build(),
        ContextBuilder::user("u3")
            .property("email", "ada@ourco.com")
            .build(),
        ContextBuilder::new().session_id("s1").build(),
    ];
    let keys = ["kill_switch", "checkout_v2", "no_such_flag"];
    let mut on = 0;
    for ctx in &contexts {
        for key in keys {
            on += usize::from(client.bool_value(key, ctx, false));
        }
    }
    let info = allocation_counter::measure(|| {
        for _ in 0..1_000 {
            for ctx in &contexts {
                for key in keys {
                    on += usize::from(client.bool_value(key, ctx, false));
                    on += usize::from(client.is_enabled(key, ctx));
                }
            }
        }
    });
    assert_eq!(info.count_total, 0, "{info:?}");
    assert!(on > 0);
    client.shutdown().await;
}
