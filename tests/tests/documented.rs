//! The mock's answers against the vendors' captured documentation pages in
//! `shared/vendor-docs/`: byte for byte where a page shows a whole body, by shape where the page's
//! values are placeholders or generated.

use e2e::{Creds, VendorSpec, doc_json_blocks, embedded, serve_embedded, shape};
use serde_json::{Value, json};

/// The JSON block under a heading of a page that satisfies `pick`.
fn documented(file: &str, heading: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let blocks = doc_json_blocks(file);
    let found = blocks.iter().find(|(h, v)| h.starts_with(heading) && pick(v));
    let titles: Vec<&str> = blocks.iter().map(|(h, _)| h.as_str()).collect();
    found.unwrap_or_else(|| panic!("{file} has a `{heading}` JSON block (blocks found under: {titles:?})")).1.clone()
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value serializes")
}

fn cellcast() -> VendorSpec {
    VendorSpec::of(&embedded(), "cellcast")
}

const CELLCAST_PAGE: &str = "cellcast-create-subclient.txt";

#[test]
fn the_vendor_docs_folder_is_present_and_every_page_has_json_examples() {
    for page in [
        CELLCAST_PAGE,
        "smartlead-create-client.txt",
        "agencyhandy-create-client.txt",
        "voiceaiwrapper-create-client.txt",
    ] {
        assert!(!doc_json_blocks(page).is_empty(), "{page} has JSON examples");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_cellcast_email_gets_the_documented_400_byte_for_byte() {
    let doc = documented(CELLCAST_PAGE, "400", |v| v["error"].get("email").is_some());
    let server = serve_embedded().await;
    let spec = cellcast();
    let creds = spec.account(server.addr, "docs").await;
    let example = spec.create_op().example();
    assert_eq!(server.send(&spec.create(&creds, &example)).await.status, 200);

    let mut same_email = example.clone();
    same_email["mobile"] = json!("0411111111");
    let response = server.send(&spec.create(&creds, &same_email)).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.text(), compact(&doc), "the duplicate e-mail answer is the page's 400, byte for byte");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_cellcast_mobile_gets_the_documented_400_byte_for_byte() {
    let doc = documented(CELLCAST_PAGE, "400", |v| v["error"].get("mobile").is_some());
    let server = serve_embedded().await;
    let spec = cellcast();
    let creds = spec.account(server.addr, "docs").await;
    let example = spec.create_op().example();
    assert_eq!(server.send(&spec.create(&creds, &example)).await.status, 200);

    let mut same_mobile = example.clone();
    same_mobile["email"] = json!("someone.else@example.com");
    let response = server.send(&spec.create(&creds, &same_mobile)).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.text(), compact(&doc), "the duplicate mobile answer is the page's 400, byte for byte");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cellcast_request_without_a_token_gets_the_documented_401_byte_for_byte() {
    let doc = documented(CELLCAST_PAGE, "401", |v| v.get("code").is_some());
    let server = serve_embedded().await;
    let spec = cellcast();
    let response = server.send(&spec.create(&Creds::default(), &spec.create_op().example())).await;
    assert_eq!(response.status, 401);
    assert_eq!(response.text(), compact(&doc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cellcast_success_is_the_documented_200_with_the_email_that_was_sent() {
    // The page hides the e-mail (`[email protected]`); everything else is compared byte for byte.
    let mut doc = documented(CELLCAST_PAGE, "200", |v| v["status"] == true);
    let server = serve_embedded().await;
    let spec = cellcast();
    let creds = spec.account(server.addr, "docs").await;
    let example = spec.create_op().example();
    doc["data"]["email"] = example["email"].clone();
    let response = server.send(&spec.create(&creds, &example)).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), compact(&doc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smartlead_success_has_the_documented_example_keys_shape_and_values_apart_from_generated_ones() {
    let doc = documented("smartlead-create-client.txt", "", |v| v.get("ok").is_some());
    let server = serve_embedded().await;
    let spec = VendorSpec::of(&embedded(), "smartlead");
    let creds = spec.account(server.addr, "docs").await;
    // The spec's example is the page's example request, whose answer the page shows.
    let response = server.send(&spec.create(&creds, &spec.create_op().example())).await;
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(shape(&body), shape(&doc), "same keys, order and types as the page's example answer");

    let data = &body["data"];
    let api_key = data["api_key"].as_str().expect("api_key is a string");
    let documented_key = doc["data"]["api_key"].as_str().expect("the page's api_key is a string");
    assert!(
        api_key.starts_with("cl_") && api_key.len() == documented_key.len(),
        "{api_key} looks like {documented_key}"
    );
    assert!(api_key[3..].chars().all(|c| c.is_ascii_alphanumeric()));
    let created_at = data["created_at"].as_str().expect("created_at is a string");
    let documented_at = doc["data"]["created_at"].as_str().expect("the page's created_at is a string");
    assert_eq!(created_at.len(), documented_at.len(), "{created_at} is formatted like {documented_at}");
    assert!(created_at.ends_with('Z') && created_at.as_bytes()[19] == b'.');

    let mut same = body.clone();
    for generated in ["id", "api_key", "created_at"] {
        same["data"][generated] = doc["data"][generated].clone();
    }
    assert_eq!(same, doc, "apart from generated values, the answer is the page's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agencyhandy_success_has_the_documented_example_keys_shape_and_values_apart_from_the_id() {
    let doc = documented("agencyhandy-create-client.txt", "Success response", |v| v.get("createdMembers").is_some());
    let server = serve_embedded().await;
    let spec = VendorSpec::of(&embedded(), "agencyhandy");
    let creds = spec.account(server.addr, "docs").await;
    let response = server.send(&spec.create(&creds, &spec.create_op().example())).await;
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(shape(&body), shape(&doc), "same keys, order and types as the page's success response");
    let id = body["createdMembers"][0]["_id"].as_str().expect("_id is a string");
    assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id} is a 24-hex ObjectId");
    let mut same = body.clone();
    same["createdMembers"][0]["_id"] = doc["createdMembers"][0]["_id"].clone();
    assert_eq!(same, doc, "apart from the id, the answer is the page's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voiceaiwrapper_success_has_the_documented_top_level_and_data_keys() {
    let doc = documented("voiceaiwrapper-create-client.txt", "", |v| v.get("success").is_some());
    let server = serve_embedded().await;
    let spec = VendorSpec::of(&embedded(), "voiceaiwrapper");
    let creds = spec.account(server.addr, "docs").await;
    let response = server.send(&spec.create(&creds, &spec.create_op().example())).await;
    assert_eq!(response.status, 200);
    let body = response.json();
    let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys(&body), keys(&doc));
    assert_eq!(keys(&body["data"]), keys(&doc["data"]));
    assert_eq!(body["success"], doc["success"]);
    assert_eq!(body["message"], doc["message"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cellcast_success_without_a_mobile_is_the_documented_200_with_mobile_null() {
    let mut doc = documented(CELLCAST_PAGE, "200", |v| v["status"] == true);
    let server = serve_embedded().await;
    let spec = cellcast();
    let creds = spec.account(server.addr, "docs").await;
    let mut body = spec.create_op().example();
    body.as_object_mut().expect("the example is an object").shift_remove("mobile");
    doc["data"]["email"] = body["email"].clone();
    doc["data"]["mobile"] = Value::Null;
    let response = server.send(&spec.create(&creds, &body)).await;
    assert_eq!(response.status, 200, "mobile is optional: {}", response.text());
    assert_eq!(response.text(), compact(&doc));
}
