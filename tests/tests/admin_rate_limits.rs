//! `--rate-limits`: SmartLead's documented limits (10/s burst, 60/min, 1,000/h per API key) read
//! from its spec's `x-mock.rate_limits`, with the `X-RateLimit-*` headers and `Retry-After`.

use e2e::admin::{cellcast, copy_of_specs, requests, smartlead};
use vendor_mock::MockServer;

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[tokio::test]
async fn without_the_flag_nothing_is_limited_and_no_header_is_added() {
    let server = MockServer::start().await;
    for i in 0..15 {
        let created = smartlead(&server, "k", &format!("n{i}@example.com")).await;
        assert_eq!(created.status, 200);
        assert!(created.header("x-ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn the_eleventh_request_within_a_second_gets_the_burst_429() {
    let server = MockServer::builder().rate_limits(true).start().await;
    let before = unix_now();
    let mut remaining = Vec::new();
    for i in 0..10 {
        let created = smartlead(&server, "burst_key", &format!("b{i}@example.com")).await;
        assert_eq!(created.status, 200, "request {i}");
        assert_eq!(created.header("x-ratelimit-limit").as_deref(), Some("60"), "the minute window is reported");
        let reset: i64 = created.header("x-ratelimit-reset").and_then(|r| r.parse().ok()).expect("a reset time");
        assert!((before + 59..=before + 61).contains(&reset), "reset {reset} is about a minute away");
        remaining.push(created.header("x-ratelimit-remaining").expect("remaining"));
    }
    assert_eq!(remaining, ["59", "58", "57", "56", "55", "54", "53", "52", "51", "50"]);

    let limited = smartlead(&server, "burst_key", "b10@example.com").await;
    assert_eq!(limited.status, 429, "{:?}", limited.json);
    assert_eq!(limited.header("retry-after").as_deref(), Some("1"));
    assert_eq!(limited.header("x-ratelimit-limit").as_deref(), Some("10"), "the full window's limit");
    assert_eq!(limited.header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(limited.json["error"]["code"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(limited.json["error"]["retry_after"], 1);
    let entry = requests(&server, "outcome=rate_limited").await;
    assert_eq!(entry[0]["outcome"]["window_seconds"], 1);

    assert_eq!(smartlead(&server, "other_key", "o@example.com").await.status, 200, "budgets are per API key");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(smartlead(&server, "burst_key", "b11@example.com").await.status, 200, "the burst window reopened");
}

#[tokio::test]
async fn the_sixty_first_request_within_a_minute_gets_429_with_the_minute_window() {
    // The same limits without the burst window, so that a minute's worth can be sent at once.
    let dir = copy_of_specs();
    let path = dir.path().join("smartlead.yaml");
    let text = std::fs::read_to_string(&path).expect("read the spec");
    let without_burst = text.replace("      - { seconds: 1, limit: 10 }\n", "");
    assert_ne!(text, without_burst, "the spec declares the 10/s burst window");
    std::fs::write(&path, without_burst).expect("write the spec");
    let server = MockServer::builder().specs_dir(dir.path()).rate_limits(true).start().await;

    for i in 0..60 {
        let created = smartlead(&server, "minute_key", &format!("m{i}@example.com")).await;
        assert_eq!(created.status, 200, "request {i}");
        assert_eq!(created.header("x-ratelimit-remaining"), Some((59 - i).to_string()));
    }
    let limited = smartlead(&server, "minute_key", "m60@example.com").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ratelimit-limit").as_deref(), Some("60"));
    assert_eq!(limited.header("x-ratelimit-remaining").as_deref(), Some("0"));
    let retry_after: i64 = limited.header("retry-after").and_then(|r| r.parse().ok()).expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let reset: i64 = limited.header("x-ratelimit-reset").and_then(|r| r.parse().ok()).expect("a reset time");
    assert!((reset - unix_now() - retry_after).abs() <= 1, "reset = now + Retry-After");
}

#[tokio::test]
async fn answers_under_the_limit_carry_the_headers_whatever_their_status() {
    let server = MockServer::builder().rate_limits(true).start().await;
    smartlead(&server, "k", "same@example.com").await;
    let duplicate = smartlead(&server, "k", "same@example.com").await;
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.header("x-ratelimit-remaining").as_deref(), Some("58"), "every request counts");
    let unauthorized = smartlead(&server, "", "u@example.com").await;
    assert_eq!(unauthorized.status, 401);
    assert!(unauthorized.header("x-ratelimit-limit").is_none(), "no key, no budget");
}

#[tokio::test]
async fn vendors_without_declared_limits_are_never_limited() {
    let server = MockServer::builder().rate_limits(true).start().await;
    for i in 0..15 {
        let created = cellcast(&server, "t", &format!("c{i}@example.com"), &format!("04000001{i:02}")).await;
        assert_eq!(created.status, 200, "request {i}");
    }
}

#[tokio::test]
async fn resetting_a_credential_gives_it_a_fresh_budget() {
    let server = MockServer::builder().rate_limits(true).start().await;
    for i in 0..10 {
        smartlead(&server, "reset_key", &format!("r{i}@example.com")).await;
    }
    assert_eq!(smartlead(&server, "reset_key", "r10@example.com").await.status, 429);
    server.mock().reset_credential("smartlead", "reset_key");
    let fresh = smartlead(&server, "reset_key", "r11@example.com").await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.header("x-ratelimit-remaining").as_deref(), Some("59"));
}
