//! Faults through `/__admin/faults` over a real socket: every effect, `times`, `probability`,
//! the vendor / credential / path matchers, listing, removal and validation.

use std::time::{Duration, Instant};

use e2e::admin::{admin, cellcast, client, requests, smartlead};
use e2e::{Ending, Request, exchange, until_closed};
use serde_json::{Value, json};
use vendor_mock::MockServer;

async fn inject(server: &MockServer, fault: Value) -> u64 {
    let added = admin(server, "POST", "/faults", Some(fault.clone())).await;
    assert_eq!(added.status, 201, "{fault}: {:?}", added.json);
    added.json["id"].as_u64().expect("an id")
}

/// SmartLead's create request on the wire, for the raw-connection effects.
fn smartlead_wire(server: &MockServer, email: &str) -> Vec<u8> {
    let body = json!({"email": email, "name": "Acme"}).to_string();
    Request::post("/api/v1/client/save?api_key=k")
        .header("Content-Type", "application/json")
        .body(body)
        .to_wire(server.address())
}

#[tokio::test]
async fn adding_listing_and_clearing_faults_round_trips_through_the_admin_api() {
    let server = MockServer::start().await;
    let first = inject(&server, json!({"effect": {"type": "status", "status": 500}})).await;
    let second = inject(
        &server,
        json!({"vendor": "smartlead", "credential": "k", "path": "/api/v1/client/save",
               "effect": {"type": "latency", "ms": 5}, "times": 3, "probability": 0.5}),
    )
    .await;
    assert!(second > first);
    let listed = admin(&server, "GET", "/faults", None).await;
    assert_eq!(listed.status, 200);
    let faults = listed.json["faults"].as_array().expect("faults").clone();
    assert_eq!(faults.len(), 2);
    assert_eq!(faults[1]["id"], second);
    assert_eq!(faults[1]["vendor"], "smartlead");
    assert_eq!(faults[1]["effect"], json!({"type": "latency", "ms": 5, "jitter_ms": 0}));
    assert_eq!(faults[1]["times"], 3);

    assert_eq!(admin(&server, "DELETE", "/faults", None).await.status, 204);
    assert_eq!(admin(&server, "GET", "/faults", None).await.json["faults"], json!([]));
    assert_eq!(smartlead(&server, "k", "a@example.com").await.status, 200, "no fault fires any more");
}

#[tokio::test]
async fn one_fault_can_be_removed_by_its_id() {
    let server = MockServer::start().await;
    let gone = inject(&server, json!({"effect": {"type": "status", "status": 500}})).await;
    let kept = inject(&server, json!({"vendor": "cellcast", "effect": {"type": "status", "status": 503}})).await;
    assert_eq!(admin(&server, "DELETE", &format!("/faults/{gone}"), None).await.status, 204);
    assert_eq!(admin(&server, "DELETE", &format!("/faults/{gone}"), None).await.status, 404);
    assert_eq!(admin(&server, "DELETE", "/faults/abc", None).await.status, 400);
    let listed = admin(&server, "GET", "/faults", None).await.json["faults"].clone();
    assert_eq!(
        listed.as_array().map(|f| f.iter().map(|f| f["id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(kept)])
    );
    assert_eq!(smartlead(&server, "k", "a@example.com").await.status, 200);
}

#[tokio::test]
async fn a_status_fault_answers_that_status_with_the_vendors_body() {
    let server = MockServer::start().await;
    inject(&server, json!({"effect": {"type": "status", "status": 500}, "times": 1})).await;
    let five_hundred = smartlead(&server, "k", "a@example.com").await;
    assert_eq!(five_hundred.status, 500);
    assert_eq!(five_hundred.json["error"], "Internal Server Error", "SmartLead's Boom shape: {:?}", five_hundred.json);
    inject(&server, json!({"effect": {"type": "status", "status": 503}, "times": 1})).await;
    let unavailable = cellcast(&server, "t", "c@example.com", "0400000001").await;
    assert_eq!(unavailable.status, 503);
    assert_eq!(unavailable.json["status"], false, "Cellcast's envelope: {:?}", unavailable.json);
    let entries = requests(&server, "outcome=fault").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["outcome"]["effect"], json!({"type": "status", "status": 500}));
    assert!(server.mock().records("smartlead").is_some_and(|r| r == json!({})), "a fault stores nothing");
}

#[tokio::test]
async fn a_rate_limited_fault_answers_smartleads_documented_429_with_its_headers() {
    let server = MockServer::start().await;
    inject(&server, json!({"vendor": "smartlead", "effect": {"type": "rate_limited", "retry_after": 17}})).await;
    let before = chrono_now();
    let limited = smartlead(&server, "k", "a@example.com").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after").as_deref(), Some("17"));
    assert_eq!(limited.header("x-ratelimit-limit").as_deref(), Some("60"));
    assert_eq!(limited.header("x-ratelimit-remaining").as_deref(), Some("0"));
    let reset: i64 = limited.header("x-ratelimit-reset").and_then(|r| r.parse().ok()).expect("a Unix time");
    assert!((before + 16..=before + 19).contains(&reset), "reset {reset} is about now + 17");
    assert_eq!(
        limited.json,
        json!({"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "Too many requests. Please retry after 17 seconds.", "retry_after": 17}})
    );
}

#[tokio::test]
async fn a_fixed_latency_delays_the_normal_answer() {
    let server = MockServer::start().await;
    inject(&server, json!({"effect": {"type": "latency", "ms": 300}, "times": 1})).await;
    let started = Instant::now();
    let delayed = smartlead(&server, "k", "a@example.com").await;
    assert!(started.elapsed() >= Duration::from_millis(300), "took {:?}", started.elapsed());
    assert_eq!(delayed.status, 200, "latency alone answers normally");
    assert_eq!(requests(&server, "").await[0]["outcome"]["kind"], "created");
    let started = Instant::now();
    smartlead(&server, "k", "b@example.com").await;
    assert!(started.elapsed() < Duration::from_millis(300), "the fault was used up");
}

#[tokio::test]
async fn a_random_latency_varies_between_its_bounds() {
    let server = MockServer::builder().seed(3).start().await;
    inject(&server, json!({"effect": {"type": "latency", "ms": 40, "jitter_ms": 200}})).await;
    let mut delays = Vec::new();
    for i in 0..6 {
        let started = Instant::now();
        smartlead(&server, "k", &format!("r{i}@example.com")).await;
        delays.push(started.elapsed());
    }
    assert!(delays.iter().all(|d| *d >= Duration::from_millis(40)), "{delays:?}");
    assert!(delays.iter().all(|d| *d < Duration::from_millis(40 + 200 + 1000)), "{delays:?}");
    let buckets: std::collections::BTreeSet<u128> = delays.iter().map(|d| d.as_millis() / 20).collect();
    assert!(buckets.len() > 1, "six draws from 40–240 ms are not all alike: {delays:?}");
}

#[tokio::test]
async fn a_reset_fault_resets_the_connection_without_an_answer() {
    let server = MockServer::start().await;
    inject(&server, json!({"effect": {"type": "reset"}, "times": 1})).await;
    let ending = until_closed(server.address(), &smartlead_wire(&server, "a@example.com")).await;
    assert_eq!(ending, Ending::Reset(Vec::new()));
    let entry = &requests(&server, "").await[0];
    assert_eq!(entry["status"], 0, "nothing was answered");
    assert_eq!(entry["outcome"]["effect"]["type"], "reset");
}

#[tokio::test]
async fn an_empty_reply_fault_closes_the_connection_without_a_byte() {
    let server = MockServer::start().await;
    inject(&server, json!({"effect": {"type": "empty"}, "times": 1})).await;
    let ending = until_closed(server.address(), &smartlead_wire(&server, "a@example.com")).await;
    assert_eq!(ending, Ending::Closed(Vec::new()));
    assert_eq!(smartlead(&server, "k", "b@example.com").await.status, 200, "the next connection is fine");
}

#[tokio::test]
async fn a_truncated_fault_sends_half_the_announced_body_then_closes() {
    let server = MockServer::start().await;
    inject(&server, json!({"effect": {"type": "truncated"}, "times": 1})).await;
    let got = match until_closed(server.address(), &smartlead_wire(&server, "a@example.com")).await {
        Ending::Closed(bytes) | Ending::Reset(bytes) => String::from_utf8(bytes).expect("UTF-8"),
    };
    let (head, body) = got.split_once("\r\n\r\n").expect("a head was sent");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let announced: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().ok()))
        .flatten()
        .expect("a Content-Length");
    assert!(!body.is_empty() && body.len() < announced, "sent {} of {announced} bytes", body.len());
    assert!(serde_json::from_str::<Value>(body).is_err());
}

#[tokio::test]
async fn a_malformed_fault_answers_200_with_a_body_that_is_not_json() {
    let server = MockServer::start().await;
    inject(&server, json!({"effect": {"type": "malformed"}, "times": 1})).await;
    let answers = exchange(server.address(), &smartlead_wire(&server, "a@example.com"), 1).await;
    assert_eq!(answers[0].status, 200);
    assert!(answers[0].header("content-type").is_some_and(|v| v.starts_with("application/json")));
    assert!(serde_json::from_slice::<Value>(&answers[0].body).is_err(), "{}", answers[0].text());
    assert!(answers[0].text().starts_with("{\"ok\":true"), "it looks like the real answer at first");
}

#[tokio::test]
async fn a_respond_fault_takes_a_body_up_to_64_kib_and_refuses_a_longer_one_a_bad_status_or_content_type() {
    let server = MockServer::start().await;
    let respond = |status: u16, body: String, content_type: &str| json!({"effect": {"type": "respond", "status": status, "body": body, "content_type": content_type}});
    let limit = vendor_mock::MAX_RESPOND_BODY;
    assert_eq!(limit, 64 * 1024);
    inject(&server, respond(200, "x".repeat(limit), "text/plain")).await;
    for (fault, why) in [
        (respond(200, "x".repeat(limit + 1), "text/plain"), "body of 65537 bytes is longer than 65536 bytes"),
        (respond(600, String::new(), "text/plain"), "status 600 is not an HTTP status"),
        (respond(200, String::new(), "text/plain\n"), "content_type is not a valid header value"),
    ] {
        let refused = admin(&server, "POST", "/faults", Some(fault)).await;
        assert_eq!(refused.status, 400, "{why}: {:?}", refused.json);
        assert!(refused.json.to_string().contains(why), "{why}: {:?}", refused.json);
    }
    assert_eq!(
        admin(&server, "GET", "/faults", None).await.json["faults"].as_array().map(Vec::len),
        Some(1),
        "only the first"
    );
}

#[tokio::test]
async fn a_respond_fault_answers_exactly_the_status_body_and_content_type_it_names() {
    let server = MockServer::start().await;
    let page = "<html><body>404 Not Found</body></html>";
    let fault =
        json!({"effect": {"type": "respond", "status": 404, "body": page, "content_type": "text/html"}, "times": 1});
    inject(&server, fault).await;
    inject(&server, json!({"effect": {"type": "respond", "status": 200, "body": "{}"}, "times": 1})).await;
    let answers = exchange(server.address(), &smartlead_wire(&server, "a@example.com"), 1).await;
    assert_eq!(answers[0].status, 404);
    assert_eq!(answers[0].text(), page);
    assert_eq!(answers[0].header("content-type"), Some("text/html"), "{:?}", answers[0].headers);
    let bare = smartlead(&server, "k", "b@example.com").await;
    assert_eq!((bare.status, bare.json.clone()), (200, json!({})), "JSON by default, exactly the body given");
    assert!(server.mock().records("smartlead").is_some_and(|r| r == json!({})), "a fault stores nothing");
    assert_eq!(smartlead(&server, "k", "c@example.com").await.status, 200, "the faults are used up");
    let entries = requests(&server, "outcome=fault").await;
    assert_eq!(entries.len(), 2, "both journalled as faults");
}

#[tokio::test]
async fn a_fault_with_times_fires_that_often_then_disappears() {
    let server = MockServer::start().await;
    inject(&server, json!({"effect": {"type": "status", "status": 500}, "times": 2})).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        statuses.push(smartlead(&server, "k", &format!("t{i}@example.com")).await.status);
    }
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(admin(&server, "GET", "/faults", None).await.json["faults"], json!([]));
}

#[tokio::test]
async fn a_fault_with_a_probability_fires_on_about_that_share() {
    let server = MockServer::builder().seed(11).start().await;
    inject(&server, json!({"effect": {"type": "status", "status": 503}, "probability": 0.5})).await;
    let mut faulted = 0;
    for i in 0..100 {
        if smartlead(&server, "k", &format!("p{i}@example.com")).await.status == 503 {
            faulted += 1;
        }
    }
    assert!((25..=75).contains(&faulted), "{faulted} of 100 at p = 0.5");

    let never = MockServer::start().await;
    inject(&never, json!({"effect": {"type": "status", "status": 503}, "probability": 0.0})).await;
    for i in 0..20 {
        assert_eq!(smartlead(&never, "k", &format!("n{i}@example.com")).await.status, 200);
    }
}

#[tokio::test]
async fn matchers_limit_a_fault_to_a_vendor_a_credential_and_a_path() {
    let server = MockServer::start().await;
    inject(
        &server,
        json!({"vendor": "smartlead", "credential": "bad_key", "effect": {"type": "status", "status": 500}}),
    )
    .await;
    inject(&server, json!({"path": "/api/v2/subClient/user", "effect": {"type": "status", "status": 503}})).await;
    assert_eq!(smartlead(&server, "bad_key", "a@example.com").await.status, 500, "vendor and credential match");
    assert_eq!(smartlead(&server, "good_key", "b@example.com").await.status, 200, "another credential");
    assert_eq!(cellcast(&server, "bad_key", "c@example.com", "0400000001").await.status, 503, "the path fault");
    let other_path = client()
        .get(format!("{}/accounts/companies", server.uri()))
        .header("x-api-key", "bad_key")
        .send()
        .await
        .expect("answered");
    assert_eq!(other_path.status(), 200, "neither vendor nor path match AgencyHandy's look-up");
}

#[tokio::test]
async fn an_invalid_fault_is_refused_with_the_reason() {
    let server = MockServer::start().await;
    let cases = [
        (json!({"effect": {"type": "explode"}}), 400),
        (json!({"effect": {"type": "status", "status": 500}, "color": "red"}), 400),
        (json!({"effect": {"type": "status", "status": 42}}), 400),
        (json!({"effect": {"type": "status", "status": 500}, "probability": 1.5}), 400),
        (json!({"effect": {"type": "status", "status": 500}, "times": 0}), 400),
        (json!({"vendor": "nobody", "effect": {"type": "reset"}}), 404),
        (json!({"vendor": "smartlead"}), 400),
        (json!({"effect": {"type": "respond", "status": 42, "body": ""}}), 400),
        (json!({"effect": {"type": "respond", "status": 200, "body": "x".repeat(64 * 1024 + 1)}}), 400),
        (json!({"effect": {"type": "respond", "status": 200, "content_type": "a\nb"}}), 400),
    ];
    for (fault, status) in cases {
        let refused = admin(&server, "POST", "/faults", Some(fault.clone())).await;
        assert_eq!(refused.status, status, "{fault}: {:?}", refused.json);
        assert!(refused.json["error"].as_str().is_some_and(|m| !m.is_empty()), "{fault}: a reason");
    }
    assert_eq!(admin(&server, "GET", "/faults", None).await.json["faults"], json!([]));
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
