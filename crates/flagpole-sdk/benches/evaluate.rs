//! SDK evaluation, in nanoseconds per call: a boolean kill switch, a string flag with
//! a weighted split, and a flag with rules (a segment, three conditions, a rollout),
//! through the client (state load, clock, evaluation, usage counting).

use std::path::Path;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use flagpole_sdk::{Client, ContextBuilder};

fn client(rt: &tokio::runtime::Runtime) -> Client {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench.yaml");
    rt.block_on(
        Client::builder("http://127.0.0.1:9", "token")
            .bootstrap_file(file)
            .startup_timeout(Duration::from_millis(200))
            .metrics_interval(None)
            .build(),
    )
    .expect("starts from the bootstrap file")
}

fn evaluate(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let client = client(&rt);
    let user = ContextBuilder::user("user-1234")
        .property("plan", "enterprise")
        .property("country", "NL")
        .property("version", "2.0.9")
        .property("email", "ada@example.com")
        .build();
    let mut g = c.benchmark_group("sdk");
    g.bench_function("bool_value/kill_switch", |b| {
        b.iter(|| client.bool_value(black_box("kill_switch"), black_box(&user), false))
    });
    g.bench_function("string_value/split", |b| {
        b.iter(|| client.string_value(black_box("button_color"), black_box(&user), "grey"))
    });
    g.bench_function("bool_value/rules", |b| {
        b.iter(|| client.bool_value(black_box("checkout_v2"), black_box(&user), false))
    });
    g.bench_function("bool_details/rules", |b| {
        b.iter(|| client.bool_details(black_box("checkout_v2"), black_box(&user), false))
    });
    g.finish();
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
