//! Per-request forcing with Prism's `Prefer` header: `code=N` and `example=NAME` pick an answer
//! from the spec's templates, and nothing is stored.

use e2e::admin::{agencyhandy_client, answer, cellcast, client, company_of, requests, smartlead_with};
use serde_json::json;
use vendor_mock::{HeaderCase, MockServer};

#[tokio::test]
async fn prefer_code_picks_the_template_with_that_status_and_stores_nothing() {
    let server = MockServer::start().await;
    let forced = smartlead_with(&server, "k", "a@example.com", &[("Prefer", "code=422")]).await;
    assert_eq!(forced.status, 422);
    assert_eq!(forced.json, json!({"error": "Invalid parameters provided"}));
    assert_eq!(server.mock().records("smartlead"), Some(json!({})));
    let entry = &requests(&server, "").await[0];
    assert_eq!(entry["outcome"], json!({"kind": "forced", "preference": "code=422", "template": "invalid"}));
    assert_eq!(smartlead_with(&server, "k", "a@example.com", &[]).await.status, 200, "the e-mail was never taken");
}

#[tokio::test]
async fn prefer_example_duplicate_answers_the_first_uniqueness_error_with_the_requests_value() {
    let server = MockServer::start().await;
    let forced = smartlead_with(&server, "k", "dup@example.com", &[("Prefer", "example=duplicate")]).await;
    assert_eq!(forced.status, 409);
    assert_eq!(forced.json["message"], "Client with email dup@example.com already exists");
    assert_eq!(requests(&server, "").await[0]["outcome"]["template"], "duplicate_email");
    assert_eq!(smartlead_with(&server, "k", "dup@example.com", &[]).await.status, 200);
}

#[tokio::test]
async fn prefer_example_names_any_error_template() {
    let server = MockServer::start().await;
    let request = client()
        .post(format!("{}/api/v2/subClient/user", server.uri()))
        .bearer_auth("t")
        .header("Prefer", "example=duplicate_mobile")
        .json(&json!({"email": "c@example.com", "mobile": "0400000042"}));
    let forced = answer(request.send().await.expect("answered")).await;
    assert_eq!(forced.status, 400);
    assert_eq!(forced.json["message"], "mobile number already exist");
    assert_eq!(cellcast(&server, "t", "c@example.com", "0400000042").await.status, 200, "nothing was stored");
}

#[tokio::test]
async fn prefer_code_of_the_success_status_renders_a_success_without_storing_it() {
    let server = MockServer::start().await;
    let forced = smartlead_with(&server, "k", "s@example.com", &[("Prefer", "code=200")]).await;
    assert_eq!(forced.status, 200);
    assert_eq!(forced.json["ok"], true);
    assert_eq!(forced.json["data"]["email"], "s@example.com");
    assert!(forced.json["data"]["id"].is_u64(), "ids are generated for the answer: {:?}", forced.json);
    assert_eq!(server.mock().records("smartlead"), Some(json!({})));
}

#[tokio::test]
async fn prefer_example_rate_limited_answers_429_with_retry_after() {
    let server = MockServer::start().await;
    let forced = smartlead_with(&server, "k", "r@example.com", &[("Prefer", "example=rate_limited")]).await;
    assert_eq!(forced.status, 429);
    assert_eq!(forced.header("retry-after").as_deref(), Some("30"));
    assert_eq!(forced.json["error"]["code"], "RATE_LIMIT_EXCEEDED");
}

#[tokio::test]
async fn prefer_example_duplicate_on_a_bulk_operation_names_the_first_entry() {
    let server = MockServer::builder().header_case(HeaderCase::Lenient).start().await;
    let company = company_of(&server, "ah").await;
    let request = client()
        .post(format!("{}/members/bulk-client", server.uri()))
        .header("x-api-key", "ah")
        .header("companyId", company)
        .header("Prefer", "example=duplicate")
        .json(&json!([agencyhandy_client("bulk@example.com")]));
    let forced = answer(request.send().await.expect("answered")).await;
    assert_eq!(forced.status, 400);
    assert_eq!(forced.json["email"], "bulk@example.com");
    assert_eq!(forced.json["index"], 0);
}

#[tokio::test]
async fn a_preference_that_matches_no_template_is_refused_with_the_choices() {
    let server = MockServer::start().await;
    let refused = smartlead_with(&server, "k", "x@example.com", &[("Prefer", "code=418")]).await;
    assert_eq!(refused.status, 400);
    let message = refused.json["error"].as_str().expect("a message").to_owned();
    assert!(message.contains("418") && message.contains("409") && message.contains("duplicate_email"), "{message}");
    assert_eq!(requests(&server, "").await[0]["outcome"]["kind"], "malformed");
    let unknown = smartlead_with(&server, "k", "x@example.com", &[("Prefer", "example=nope")]).await;
    assert_eq!(unknown.status, 400);
}

#[tokio::test]
async fn other_preferences_are_ignored() {
    let server = MockServer::start().await;
    let normal = smartlead_with(&server, "k", "o@example.com", &[("Prefer", "return=minimal, respond-async")]).await;
    assert_eq!(normal.status, 200);
    assert_eq!(requests(&server, "").await[0]["outcome"]["kind"], "created");
}
