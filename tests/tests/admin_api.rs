//! The admin API over a real socket: health, the journal and its filters, masking, the ring's
//! bound, resets, state and seeding, the admin token, and the raw-header queue on keep-alive
//! connections that also carry admin requests.

use e2e::admin::{admin, admin_with, agencyhandy_client, cellcast, client, company_of, requests, smartlead};
use e2e::{Request, exchange};
use serde_json::{Value, json};
use vendor_mock::{Effect, Fault, HeaderCase, HeaderCaseSeen, MockServer, SeedData};

fn kinds(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|e| e["outcome"]["kind"].as_str().unwrap_or_default().to_owned()).collect()
}

fn seqs(entries: &[Value]) -> Vec<u64> {
    entries.iter().map(|e| e["seq"].as_u64().expect("a seq")).collect()
}

#[tokio::test]
async fn health_answers_ok_in_json_with_the_revision_served_for_each_vendor() {
    let server = MockServer::start().await;
    let health = admin(&server, "GET", "/health", None).await;
    assert_eq!(health.status, 200);
    let defaults =
        json!({"agencyhandy": "default", "cellcast": "default", "smartlead": "default", "voiceaiwrapper": "default"});
    assert_eq!(health.json, json!({"status": "ok", "revisions": defaults}));
    assert_eq!(health.header("cache-control").as_deref(), Some("no-store"));
    let revised = MockServer::builder().revision("agencyhandy", "2026-07").start().await;
    let health = admin(&revised, "GET", "/health", None).await;
    assert_eq!(health.json["revisions"]["agencyhandy"], "2026-07");
}

#[tokio::test]
async fn the_journal_lists_each_request_with_every_field_newest_last() {
    let server = MockServer::start().await;
    assert_eq!(smartlead(&server, "sk_test_1", "a@example.com").await.status, 200);
    assert_eq!(smartlead(&server, "sk_test_1", "A@example.com").await.status, 409);

    let entries = requests(&server, "").await;
    assert_eq!(seqs(&entries), [1, 2], "oldest first, newest last");
    assert_eq!(kinds(&entries), ["created", "duplicate"]);
    let first = &entries[0];
    for field in [
        "seq",
        "at",
        "vendor",
        "operation",
        "method",
        "path",
        "query",
        "version",
        "headers",
        "header_case",
        "body",
        "status",
        "response",
        "outcome",
        "duration_us",
    ] {
        assert!(first.get(field).is_some(), "entry lacks `{field}`: {first}");
    }
    assert_eq!(first["vendor"], "smartlead");
    assert_eq!(first["operation"], "createClient");
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], "/api/v1/client/save");
    assert_eq!(first["version"], "HTTP/1.1");
    assert_eq!(first["header_case"], "raw");
    assert_eq!(first["status"], 200);
    assert_eq!(first["response"]["ok"], true);
    assert!(first["duration_us"].as_u64().is_some());
    let headers = first["headers"].as_array().expect("headers are an array");
    assert!(headers.iter().all(|h| h.as_array().is_some_and(|pair| pair.len() == 2)), "[name, value] pairs");
    assert!(headers.iter().any(|h| h[0] == "content-type"), "names as reqwest sent them: {headers:?}");
    assert_eq!(entries[1]["status"], 409);
    assert_eq!(entries[1]["outcome"]["field"], "email");
}

#[tokio::test]
async fn admin_requests_never_appear_in_the_journal() {
    let server = MockServer::start().await;
    admin(&server, "GET", "/health", None).await;
    admin(&server, "GET", "/state", None).await;
    admin(&server, "GET", "/faults", None).await;
    admin(&server, "GET", "/no-such-route", None).await;
    admin(&server, "GET", "/ui", None).await;
    assert!(requests(&server, "").await.is_empty());
    assert!(server.journal().is_empty());
}

#[tokio::test]
async fn secrets_in_headers_query_and_body_are_masked_by_default() {
    let server = MockServer::start().await;
    smartlead(&server, "sk_live_abcdef", "a@example.com").await;
    cellcast(&server, "tok_secret_123", "c@example.com", "0400000001").await;
    let request = client()
        .get(format!("{}/accounts/companies", server.uri()))
        .header("x-api-key", "ah_key_987654")
        .send()
        .await
        .expect("answered");
    assert_eq!(request.status(), 200);

    let entries = requests(&server, "").await;
    let text = serde_json::to_string(&entries).expect("serializes");
    for secret in ["sk_live_abcdef", "hunter2!", "tok_secret_123", "Passw0rd!", "ah_key_987654"] {
        assert!(!text.contains(secret), "`{secret}` leaked into the journal");
    }
    assert_eq!(entries[0]["query"], "api_key=sk_l****");
    let body: Value = serde_json::from_str(entries[0]["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(body["password"], "****");
    assert_eq!(body["email"], "a@example.com", "what is not a secret stays");
    let authorization = entries[1]["headers"].as_array().expect("headers").iter().find(|h| h[0] == "authorization");
    assert_eq!(authorization.expect("sent")[1], "Bearer tok_****");
    let api_key = entries[2]["headers"].as_array().expect("headers").iter().find(|h| h[0] == "x-api-key");
    assert_eq!(api_key.expect("sent")[1], "ah_k****");
}

#[tokio::test]
async fn journal_secrets_keeps_what_was_sent_readable() {
    let server = MockServer::builder().journal_secrets(true).start().await;
    smartlead(&server, "sk_live_abcdef", "a@example.com").await;
    let entries = requests(&server, "").await;
    assert_eq!(entries[0]["query"], "api_key=sk_live_abcdef");
    assert!(entries[0]["body"].as_str().expect("a body").contains("hunter2!"));
}

#[tokio::test]
async fn the_vendor_filter_keeps_one_vendors_requests() {
    let server = MockServer::start().await;
    smartlead(&server, "k1", "a@example.com").await;
    cellcast(&server, "t1", "c@example.com", "0400000001").await;
    smartlead(&server, "k1", "b@example.com").await;
    let only = requests(&server, "vendor=smartlead").await;
    assert_eq!(seqs(&only), [1, 3]);
    assert!(requests(&server, "vendor=nobody").await.is_empty());
}

#[tokio::test]
async fn the_credential_filter_matches_the_value_sent_in_any_credential_part() {
    let server = MockServer::start().await;
    smartlead(&server, "key_one", "a@example.com").await;
    smartlead(&server, "key_two", "b@example.com").await;
    cellcast(&server, "key_one", "c@example.com", "0400000001").await;
    assert_eq!(seqs(&requests(&server, "credential=key_one").await), [1, 3]);
    assert_eq!(seqs(&requests(&server, "credential=key_two&vendor=smartlead").await), [2]);
    assert!(requests(&server, "credential=key_three").await.is_empty());
}

#[tokio::test]
async fn the_status_filter_takes_a_code_or_a_class() {
    let server = MockServer::start().await;
    smartlead(&server, "k", "a@example.com").await; // 200
    smartlead(&server, "k", "a@example.com").await; // 409
    smartlead(&server, "", "b@example.com").await; // 401
    client().get(format!("{}/nowhere", server.uri())).send().await.expect("answered"); // 404
    assert_eq!(seqs(&requests(&server, "status=409").await), [2]);
    assert_eq!(seqs(&requests(&server, "status=4xx").await), [2, 3, 4]);
    assert_eq!(seqs(&requests(&server, "status=2XX").await), [1]);
    let bad = admin(&server, "GET", "/requests?status=teapot", None).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json["error"].as_str().expect("a message").contains("teapot"));
}

#[tokio::test]
async fn since_takes_a_seq_number_or_an_rfc_3339_time() {
    let server = MockServer::start().await;
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(20));
    smartlead(&server, "k", "a@example.com").await;
    pause().await; // entries a millisecond apart at least, so that times tell them apart
    smartlead(&server, "k", "b@example.com").await;
    assert_eq!(seqs(&requests(&server, "since=1").await), [2], "a seq lists the entries after it");
    let second_at = requests(&server, "").await[1]["at"].as_str().expect("a time").to_owned();
    pause().await;
    smartlead(&server, "k", "c@example.com").await;
    let since = second_at.replace('+', "%2B");
    assert_eq!(seqs(&requests(&server, &format!("since={since}")).await), [2, 3], "a time lists those at or after");
    assert!(requests(&server, "since=2999-01-01T00:00:00Z").await.is_empty());
    assert_eq!(admin(&server, "GET", "/requests?since=yesterday", None).await.status, 400);
}

#[tokio::test]
async fn the_outcome_and_limit_filters_narrow_the_list() {
    let server = MockServer::start().await;
    for email in ["a@example.com", "a@example.com", "b@example.com", "b@example.com", "c@example.com"] {
        smartlead(&server, "k", email).await;
    }
    assert_eq!(seqs(&requests(&server, "outcome=duplicate").await), [2, 4]);
    assert_eq!(seqs(&requests(&server, "limit=2").await), [4, 5], "the newest N, still oldest first");
    assert_eq!(seqs(&requests(&server, "outcome=created&limit=1").await), [5]);
}

#[tokio::test]
async fn an_unknown_filter_is_refused_rather_than_ignored() {
    let server = MockServer::start().await;
    let bad = admin(&server, "GET", "/requests?vendr=smartlead", None).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json["error"].as_str().expect("a message").contains("vendr"));
}

#[tokio::test]
async fn deleting_the_journal_empties_it_and_numbering_goes_on() {
    let server = MockServer::start().await;
    smartlead(&server, "k", "a@example.com").await;
    let deleted = admin(&server, "DELETE", "/requests", None).await;
    assert_eq!(deleted.status, 204);
    assert!(requests(&server, "").await.is_empty());
    smartlead(&server, "k", "b@example.com").await;
    assert_eq!(seqs(&requests(&server, "").await), [2]);
    assert_eq!(
        admin(&server, "GET", "/state/smartlead", None).await.json["records"]["clients"].as_array().map(Vec::len),
        Some(2),
        "state is not the journal"
    );
}

#[tokio::test]
async fn the_journal_keeps_exactly_the_newest_entries_when_full() {
    let server = MockServer::builder().journal_size(100).start().await;
    let http = client();
    for i in 0..1000 {
        let response = http.get(format!("{}/missing/{i}", server.uri())).send().await.expect("answered");
        assert_eq!(response.status(), 404);
    }
    let entries = requests(&server, "").await;
    assert_eq!(entries.len(), 100);
    assert_eq!(entries[0]["seq"], 901);
    assert_eq!(entries[99]["seq"], 1000);
    assert_eq!(entries[0]["path"], "/missing/900");
}

/// Two pipelined requests on one connection: the admin request must take its own raw head from
/// the connection's queue, or the vendor request after it gets the admin request's names.
#[tokio::test]
async fn an_admin_request_pipelined_before_a_vendor_request_leaves_it_its_raw_header_names() {
    let server = MockServer::start().await;
    let company = company_of(&server, "ah_pipeline").await;
    let body = serde_json::to_string(&json!([agencyhandy_client("p@example.com")])).expect("JSON");
    let addr = server.address();
    let vendor_request = |company_header: &str| {
        Request::post("/members/bulk-client")
            .header("x-api-key", "ah_pipeline")
            .header(company_header, &company)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .to_wire(addr)
    };

    let mut wire = Request::get("/__admin/health").header("X-Admin-Probe", "1").to_wire(addr);
    wire.extend(Request::get("/__admin/not-a-route").to_wire(addr));
    wire.extend(vendor_request("companyId"));
    let answers = exchange(addr, &wire, 3).await;
    assert_eq!(answers.iter().map(|a| a.status).collect::<Vec<_>>(), [200, 404, 200], "{answers:?}");
    let entry = server.journal().pop().expect("the vendor request is journalled");
    assert_eq!(entry.header_case, HeaderCaseSeen::Raw, "the vendor request got a raw head");
    let names: Vec<&str> = entry.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"companyId"), "its own names, in their case: {names:?}");
    assert!(!names.contains(&"X-Admin-Probe"), "not the admin request's: {names:?}");

    // The same with a wrongly cased name: only a correctly attributed head can refuse it.
    let mut wire = Request::get("/__admin/health").to_wire(addr);
    wire.extend(vendor_request("companyid"));
    let answers = exchange(addr, &wire, 2).await;
    assert_eq!(answers[1].status, 401, "companyid is refused: {}", answers[1].text());
}

#[tokio::test]
async fn a_full_reset_forgets_state_journal_and_faults() {
    let server = MockServer::start().await;
    smartlead(&server, "k", "a@example.com").await;
    server.inject(Fault::new(Effect::Status { status: 500 }).vendor("cellcast"));
    for body in [None, Some(json!({}))] {
        let reset = admin(&server, "POST", "/reset", body).await;
        assert_eq!(reset.status, 204);
        assert!(requests(&server, "").await.is_empty());
        assert!(server.mock().faults().is_empty());
        assert_eq!(admin(&server, "GET", "/state/smartlead", None).await.json["records"], json!({}));
        assert_eq!(smartlead(&server, "k", "a@example.com").await.status, 200, "the e-mail is free again");
    }
}

#[tokio::test]
async fn a_vendor_reset_forgets_only_that_vendors_state_journal_and_faults() {
    let server = MockServer::start().await;
    smartlead(&server, "k", "a@example.com").await;
    cellcast(&server, "t", "c@example.com", "0400000001").await;
    server.inject(Fault::new(Effect::Latency { ms: 1, jitter_ms: 0 }).vendor("smartlead"));
    server.inject(Fault::new(Effect::Latency { ms: 1, jitter_ms: 0 }).vendor("cellcast"));

    let reset = admin(&server, "POST", "/reset", Some(json!({"vendor": "smartlead"}))).await;
    assert_eq!(reset.status, 204);
    assert_eq!(kinds(&requests(&server, "").await), ["created"], "cellcast's entry stays");
    assert_eq!(requests(&server, "").await[0]["vendor"], "cellcast");
    let faults = server.mock().faults();
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].vendor.as_deref(), Some("cellcast"));
    assert_eq!(smartlead(&server, "k", "a@example.com").await.status, 200, "smartlead forgot the e-mail");
    assert_eq!(cellcast(&server, "t", "c@example.com", "0400000001").await.status, 400, "cellcast did not");
}

#[tokio::test]
async fn a_credential_reset_forgets_only_what_that_credential_created() {
    let server = MockServer::start().await;
    smartlead(&server, "key_a", "a@example.com").await;
    smartlead(&server, "key_b", "b@example.com").await;

    let reset = admin(&server, "POST", "/reset", Some(json!({"vendor": "smartlead", "credential": "key_a"}))).await;
    assert_eq!(reset.status, 204);
    let clients = admin(&server, "GET", "/state/smartlead", None).await.json["records"]["clients"].clone();
    let emails: Vec<&str> = clients.as_array().expect("clients").iter().filter_map(|c| c["email"].as_str()).collect();
    assert_eq!(emails, ["b@example.com"]);
    assert_eq!(seqs(&requests(&server, "").await), [2], "key_a's journal entries are gone");
    assert_eq!(smartlead(&server, "key_b", "a@example.com").await.status, 200, "a@ is free platform-wide");
    assert_eq!(smartlead(&server, "key_a", "b@example.com").await.status, 409, "b@ is still taken");
}

#[tokio::test]
async fn a_reset_with_an_unknown_vendor_or_a_lone_credential_is_refused() {
    let server = MockServer::start().await;
    assert_eq!(admin(&server, "POST", "/reset", Some(json!({"vendor": "nobody"}))).await.status, 404);
    assert_eq!(admin(&server, "POST", "/reset", Some(json!({"credential": "k"}))).await.status, 400);
    assert_eq!(admin(&server, "POST", "/reset", Some(json!({"vendors": "smartlead"}))).await.status, 400);
    let raw = client()
        .post(format!("{}/__admin/reset", server.uri()))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answered");
    assert_eq!(raw.status(), 400);
    // Without a Content-Type a body is refused before it is read (issue 13: no cross-site form).
    let untyped =
        client().post(format!("{}/__admin/reset", server.uri())).body("{not json").send().await.expect("answered");
    assert_eq!(untyped.status(), 415);
}

#[tokio::test]
async fn state_lists_what_exists_per_vendor_with_secrets_masked() {
    let server = MockServer::start().await;
    cellcast(&server, "t", "c@example.com", "0400000001").await;
    let one = admin(&server, "GET", "/state/cellcast", None).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json["vendor"], "cellcast");
    let records = one.json["records"]["subclients"].as_array().expect("subclients").clone();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["email"], "c@example.com");
    assert_eq!(records[0]["password"], "****");

    let all = admin(&server, "GET", "/state", None).await;
    let vendors = all.json["vendors"].as_object().expect("vendors");
    assert_eq!(vendors.keys().collect::<Vec<_>>(), ["agencyhandy", "cellcast", "smartlead", "voiceaiwrapper"]);
    assert_eq!(all.json["vendors"]["cellcast"]["subclients"][0]["email"], "c@example.com");
    assert_eq!(admin(&server, "GET", "/state/nobody", None).await.status, 404);
}

#[tokio::test]
async fn seeded_records_go_through_the_uniqueness_index_like_creates() {
    let server = MockServer::start().await;
    let seeded = admin(
        &server,
        "POST",
        "/state/smartlead",
        Some(json!({"records": [{"email": "taken@example.com", "name": "Taken"}]})),
    )
    .await;
    assert_eq!(seeded.status, 201, "{:?}", seeded.json);
    assert_eq!(seeded.json["created"][0]["id"], 301, "ids are generated like a create's");
    let create = smartlead(&server, "k", "TAKEN@Example.com").await;
    assert_eq!(create.status, 409, "the seed's e-mail is taken, normalized as for creates");

    // All or nothing: a batch with one clash inserts none of its records.
    let clash = admin(
        &server,
        "POST",
        "/state/smartlead",
        Some(json!([{"email": "new@example.com", "name": "New"}, {"email": "taken@example.com", "name": "Again"}])),
    )
    .await;
    assert_eq!(clash.status, 409);
    assert!(clash.json["error"].as_str().expect("a message").contains("record 1"));
    assert_eq!(smartlead(&server, "k", "new@example.com").await.status, 200, "the first record was rolled back");
}

#[tokio::test]
async fn a_seed_scoped_to_a_credential_takes_its_tenant_from_the_owning_key() {
    // reqwest sends header names lowercase; the case check is not what this test is about.
    let server = MockServer::builder().header_case(HeaderCase::Lenient).start().await;
    let seed =
        json!({"credentials": {"api_key": "ah_one"}, "records": [{"email": "dup@example.com", "firstName": "A"}]});
    assert_eq!(admin(&server, "POST", "/state/agencyhandy", Some(seed)).await.status, 201);
    let create = |key: &'static str| {
        let server = &server;
        async move {
            let company = company_of(server, key).await;
            let request = client()
                .post(format!("{}/members/bulk-client", server.uri()))
                .header("x-api-key", key)
                .header("companyId", company)
                .json(&json!([agencyhandy_client("dup@example.com")]));
            e2e::admin::answer(request.send().await.expect("answered")).await
        }
    };
    let same_company = create("ah_one").await;
    assert_eq!(same_company.json["failedMembers"][0]["email"], "dup@example.com", "{:?}", same_company.json);
    let other_company = create("ah_two").await;
    assert_eq!(other_company.json["createdMembers"].as_array().map(Vec::len), Some(1));

    let unscoped = admin(&server, "POST", "/state/agencyhandy", Some(json!({"records": [{"email": "x@example.com"}]})));
    let unscoped = unscoped.await;
    assert_eq!(unscoped.status, 400);
    assert!(unscoped.json["error"].as_str().expect("a message").contains("company_id"));
}

#[tokio::test]
async fn seed_data_given_at_start_is_there_before_the_first_request() {
    let yaml = "smartlead:\n  records: [{email: taken@example.com, name: Taken}]\n\
                cellcast:\n  - records: [{email: c@example.com, mobile: '0400000009'}]\n";
    let data: SeedData = yaml_serde::from_str(yaml).expect("a seed file parses");
    let server = MockServer::builder().seed_data(data).start().await;
    assert_eq!(smartlead(&server, "k", "taken@example.com").await.status, 409);
    let mobile_taken = cellcast(&server, "t", "other@example.com", "0400000009").await;
    assert_eq!(mobile_taken.status, 400);
    assert_eq!(mobile_taken.json["message"], "mobile number already exist");
}

#[tokio::test]
async fn the_admin_token_guards_every_admin_route_but_the_dashboard_files() {
    let server = MockServer::builder().admin_token("s3cret").start().await;
    let refused = admin(&server, "GET", "/health", None).await;
    assert_eq!(refused.status, 401);
    assert!(refused.json["error"].as_str().expect("a JSON message").contains("Bearer"));
    assert!(refused.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));
    assert_eq!(admin_with(&server, "GET", "/health", None, Some("wrong")).await.status, 401);
    assert_eq!(admin_with(&server, "POST", "/reset", None, Some("s3cret2")).await.status, 401);
    assert_eq!(admin_with(&server, "GET", "/health", None, Some("s3cret")).await.status, 200);
    assert_eq!(admin_with(&server, "POST", "/reset", None, Some("s3cret")).await.status, 204);
    let page = client().get(format!("{}/__admin/ui", server.uri())).send().await.expect("answered");
    assert_eq!(page.status(), 200, "the page itself holds no data");
    assert_eq!(smartlead(&server, "k", "a@example.com").await.status, 200, "vendor routes need no admin token");
}

#[tokio::test]
async fn unknown_admin_routes_and_methods_get_json_errors() {
    let server = MockServer::start().await;
    let missing = admin(&server, "GET", "/nope", None).await;
    assert_eq!(missing.status, 404);
    assert!(missing.json["error"].is_string());
    let wrong = admin(&server, "PUT", "/faults", None).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow").as_deref(), Some("GET, POST, DELETE"));
    assert!(wrong.json["error"].is_string());
}

#[tokio::test]
async fn the_dashboard_is_served_as_html_with_its_script_and_styles() {
    let server = MockServer::start().await;
    let page = client().get(format!("{}/__admin/ui", server.uri())).send().await.expect("answered");
    assert_eq!(page.status(), 200);
    let csp = page.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert!(page.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/html")));
    let html = page.text().await.expect("text");
    assert!(html.contains("/__admin/ui/dashboard.js") && html.contains("/__admin/ui/dashboard.css"));
    assert!(csp.is_some_and(|c| c.contains("script-src 'self'")), "no inline script may run");
    for (file, kind) in [("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")] {
        let asset = client().get(format!("{}/__admin/ui/{file}", server.uri())).send().await.expect("answered");
        assert_eq!(asset.status(), 200);
        assert!(asset.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with(kind)), "{file}");
    }
    let root = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}/__admin", server.uri()))
        .send()
        .await
        .expect("answered");
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/__admin/ui");
}
