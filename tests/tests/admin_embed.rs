//! `MockServer`: the mock embedded in a Rust test, one per test, started in milliseconds and shut
//! down when dropped.

use std::time::{Duration, Instant};

use e2e::admin::{SAFETY, answer, client, eventually, smartlead};
use serde_json::json;
use vendor_mock::{CredentialList, Effect, Fault, HeaderCase, MockServer, SeedBatch, SeedData, Specs, StartError};

#[tokio::test]
async fn a_started_server_serves_every_vendor_and_records_what_it_got() {
    let server = MockServer::start().await;
    assert_eq!(server.uri(), format!("http://127.0.0.1:{}", server.address().port()));
    assert_ne!(server.address().port(), 0);
    assert_eq!(smartlead(&server, "k", "a@example.com").await.status, 200);
    let journal = server.journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].vendor.as_deref(), Some("smartlead"));
    assert_eq!(journal[0].outcome.label(), "created");
}

#[tokio::test]
async fn inject_and_reset_act_on_the_running_server() {
    let server = MockServer::start().await;
    let id = server.inject(Fault::new(Effect::Status { status: 503 }).vendor("smartlead").times(1));
    assert_eq!(server.mock().faults()[0].id, id);
    assert_eq!(smartlead(&server, "k", "a@example.com").await.status, 503);
    assert_eq!(smartlead(&server, "k", "a@example.com").await.status, 200);
    server.reset();
    assert!(server.journal().is_empty());
    assert_eq!(smartlead(&server, "k", "a@example.com").await.status, 200, "the e-mail was forgotten");
}

#[tokio::test]
async fn dropping_the_server_shuts_it_down() {
    let server = MockServer::start().await;
    let addr = server.address();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(server);
    eventually("the port stops accepting", || async {
        tokio::net::TcpStream::connect(addr).await.is_err().then_some(())
    })
    .await;
}

#[tokio::test]
async fn two_servers_in_one_test_have_separate_ports_and_state() {
    let one = MockServer::start().await;
    let two = MockServer::start().await;
    assert_ne!(one.address(), two.address());
    assert_eq!(smartlead(&one, "k", "a@example.com").await.status, 200);
    assert_eq!(smartlead(&two, "k", "a@example.com").await.status, 200, "the other server's state is its own");
    assert_eq!(one.journal().len(), 1);
}

#[tokio::test]
async fn starting_a_server_takes_milliseconds() {
    // Warm up once (the embedded specs are parsed once per process), then time batches; the
    // fastest batch tells what starting costs, whatever else the machine is doing.
    drop(MockServer::start().await);
    let mut fastest = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        for _ in 0..10 {
            drop(MockServer::start().await);
        }
        fastest = fastest.min(started.elapsed());
    }
    assert!(fastest < Duration::from_millis(100), "10 starts took {fastest:?}");
}

#[tokio::test]
async fn the_builder_seed_makes_generated_ids_repeat() {
    let ids = |server: MockServer| async move {
        let created = smartlead(&server, "k", "a@example.com").await;
        (created.json["data"]["id"].clone(), created.json["data"]["api_key"].clone())
    };
    let first = ids(MockServer::builder().seed(42).start().await).await;
    let second = ids(MockServer::builder().seed(42).start().await).await;
    assert_eq!(first, second);
    assert_eq!(first.0, 301);
}

#[tokio::test]
async fn the_builder_header_case_and_credentials_reach_the_engine() {
    let credentials: CredentialList =
        yaml_serde::from_str("smartlead:\n  - api_key: only_this\nagencyhandy:\n  - api_key: ah\n").expect("a list");
    let server = MockServer::builder().credentials(credentials).header_case(HeaderCase::Lenient).start().await;
    assert_eq!(smartlead(&server, "only_this", "a@example.com").await.status, 200);
    assert_eq!(smartlead(&server, "another", "b@example.com").await.status, 401);
    // reqwest lowercases `companyId`; lenient accepts it.
    let company = {
        let request = client().get(format!("{}/accounts/companies", server.uri())).header("x-api-key", "ah");
        answer(request.send().await.expect("answered")).await.json["companies"][0]["_id"].clone()
    };
    let request = client()
        .post(format!("{}/members/bulk-client", server.uri()))
        .header("x-api-key", "ah")
        .header("companyId", company.as_str().expect("an id"))
        .json(&json!([{"firstName": "A", "lastName": "B", "email": "c@example.com", "isConvertedClient": false}]));
    assert_eq!(request.send().await.expect("answered").status(), 200);
}

#[tokio::test]
async fn the_builder_takes_other_specs_and_seed_data() {
    let embedded = Specs::embedded().expect("embedded specs");
    let smartlead_only = embedded
        .vendor_names()
        .iter()
        .position(|n| n == "smartlead")
        .map(|_| {
            let text = std::fs::read_to_string(e2e::admin::specs_dir().join("smartlead.yaml")).expect("spec");
            Specs::from_sources([("smartlead.yaml".to_owned(), text)]).expect("one spec loads")
        })
        .expect("smartlead is embedded");
    let mut data = SeedData::default();
    data.insert("smartlead", SeedBatch::new([json!({"email": "seeded@example.com", "name": "S"})]));
    let server = MockServer::builder().specs(smartlead_only).seed_data(data).start().await;
    assert_eq!(server.mock().specs().vendor_names(), ["smartlead"]);
    assert_eq!(smartlead(&server, "k", "seeded@example.com").await.status, 409);
    let cellcast = client().post(format!("{}/api/v2/subClient/user", server.uri())).send().await.expect("answered");
    assert_eq!(cellcast.status(), 404, "only the given specs are served");
}

#[tokio::test]
async fn try_start_says_why_a_server_cannot_start() {
    let watch = MockServer::builder().watch(true).try_start().await;
    assert!(matches!(watch, Err(StartError::WatchWithoutDir)), "{watch:?}");
    let mut data = SeedData::default();
    data.insert("nobody", SeedBatch::new([json!({})]));
    let seed = MockServer::builder().seed_data(data).try_start().await;
    assert!(matches!(&seed, Err(StartError::Seed(_))), "{seed:?}");
    let message = seed.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("nobody"), "{message}");
    let specs = MockServer::builder().specs_dir("/definitely/not/here").try_start().await;
    assert!(matches!(specs, Err(StartError::Specs(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_works_on_a_multi_threaded_runtime_too() {
    let server = MockServer::start().await;
    let started = Instant::now();
    let answers = futures_join(&server).await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    assert!(started.elapsed() < SAFETY);
    assert_eq!(server.journal().len(), 8);
}

async fn futures_join(server: &MockServer) -> Vec<u16> {
    let mut handles = Vec::new();
    for i in 0..8 {
        let uri = server.uri();
        handles.push(tokio::spawn(async move {
            let response = client()
                .post(format!("{uri}/api/v1/client/save?api_key=k"))
                .json(&json!({"email": format!("mt{i}@example.com"), "name": "MT"}))
                .send()
                .await
                .expect("answered");
            response.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.expect("the task ends"));
    }
    statuses
}

#[tokio::test]
async fn reset_credential_counts_the_records_it_forgot() {
    let server = MockServer::start().await;
    // Cellcast records hold two unique values each (e-mail and mobile).
    e2e::admin::cellcast(&server, "key_a", "a1@example.com", "0400000011").await;
    e2e::admin::cellcast(&server, "key_a", "a2@example.com", "0400000012").await;
    e2e::admin::cellcast(&server, "key_b", "b1@example.com", "0400000013").await;
    assert_eq!(server.mock().reset_credential("cellcast", "key_a"), 2);
    assert_eq!(server.mock().reset_credential("cellcast", "key_a"), 0);
    let left = server.mock().records("cellcast").expect("cellcast exists");
    assert_eq!(left["subclients"].as_array().map(Vec::len), Some(1));
    assert_eq!(e2e::admin::cellcast(&server, "key_b", "a1@example.com", "0400000011").await.status, 200);
}
