//! A Rust test's view of vendor-mock: start a server of its own, point the client under test
//! at `uri()`, program a fault, read the journal.
//!
//! Run with `cargo run -p mock-server --example embedded`.

use serde_json::json;
use vendor_mock::{Effect, Fault, MockServer, SeedBatch, SeedData};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Every vendor, a free loopback port, deterministic ids, and an e-mail that already exists.
    let mut seeds = SeedData::default();
    seeds.insert("smartlead", SeedBatch::new([json!({"email": "taken@example.com", "name": "Taken"})]));
    let server = MockServer::builder().seed(7).seed_data(seeds).start().await;
    let client = reqwest::Client::new();
    let create = |email: &str| {
        client
            .post(format!("{}/api/v1/client/save?api_key=sk_test_1", server.uri()))
            .json(&json!({"email": email, "name": "Acme Agency"}))
            .send()
    };

    let created = create("new@example.com").await?;
    println!("create:    {} {}", created.status(), created.text().await?);
    let duplicate = create("taken@example.com").await?;
    println!("duplicate: {} {}", duplicate.status(), duplicate.text().await?);

    // The next SmartLead request gets the documented 429.
    server.inject(Fault::new(Effect::RateLimited { retry_after: 30 }).vendor("smartlead").times(1));
    let limited = create("later@example.com").await?;
    println!("limited:   {} Retry-After: {:?}", limited.status(), limited.headers().get("retry-after"));

    for entry in server.journal() {
        println!(
            "journal #{}: {} {} → {} ({})",
            entry.seq,
            entry.method,
            entry.path,
            entry.status,
            entry.outcome.label()
        );
    }
    server.reset();
    assert!(server.journal().is_empty());
    Ok(()) // dropping `server` shuts it down
}
