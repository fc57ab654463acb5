//! Authentication per vendor over a real socket: valid, missing, wrong scheme, `expired…` and
//! `invalid…` credentials, credentials in the wrong place, tenants of another key, and the
//! `--credentials` allow-list.

use e2e::{Creds, Request, Server, VendorSpec, embedded, serve, serve_embedded};
use serde_json::{Value, json};
use vendor_mock::{Config, CredentialList};

/// Extra request headers of one case.
type Headers<'a> = &'a [(&'a str, &'a str)];

/// A POST with a JSON body sent with reqwest, as a typical client would.
async fn post(url: String, headers: Headers<'_>, body: &Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the mock answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("the answer is JSON"))
}

fn example(vendor: &str) -> Value {
    VendorSpec::of(&embedded(), vendor).create_op().example()
}

/// A copy of a vendor's example with new unique values.
fn fresh_example(vendor: &str, n: usize) -> Value {
    let spec = VendorSpec::of(&embedded(), vendor);
    let op = spec.create_op();
    op.freshen(&op.example(), None, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartlead_takes_the_api_key_from_the_query_only_and_rejects_missing_basic_expired_and_invalid_keys() {
    let server = serve_embedded().await;
    let url = |query: &str| format!("http://{}/api/v1/client/save{query}", server.addr);
    let unauthorized = json!({"message": "Invalid API Key"});

    let (status, body) = post(url("?api_key=sk_live_1"), &[], &fresh_example("smartlead", 1)).await;
    assert_eq!(status, 200, "a key in the query is accepted: {body}");
    assert_eq!(body["ok"], true);

    let cases: [(&str, &str, Headers<'_>); 6] = [
        ("missing", "", &[]),
        ("Basic scheme", "", &[("Authorization", "Basic c2tfbGl2ZV8xOg==")]),
        ("expired…", "?api_key=expired_sk_1", &[]),
        ("invalid…", "?api_key=invalid-sk-1", &[]),
        ("key in an api_key header", "", &[("api_key", "sk_live_1")]),
        ("key as a Bearer token", "", &[("Authorization", "Bearer sk_live_1")]),
    ];
    for (n, (case, query, headers)) in cases.into_iter().enumerate() {
        let (status, body) = post(url(query), headers, &fresh_example("smartlead", 10 + n)).await;
        assert_eq!((status, &body), (401, &unauthorized), "{case}");
    }
    let created = server.mock.records("smartlead").expect("smartlead exists");
    assert_eq!(created["clients"].as_array().map(Vec::len), Some(1), "no refused request created anything");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cellcast_takes_a_bearer_token_and_answers_every_refusal_with_its_documented_401() {
    let server = serve_embedded().await;
    let url = format!("http://{}/api/v2/subClient/user", server.addr);
    let documented = json!({"code": 401, "message": "Token expired", "stack": "APIError: Token expired..."});

    let (status, body) = post(url.clone(), &[("Authorization", "Bearer tok_1")], &example("cellcast")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], true);
    let (status, _) = post(url.clone(), &[("authorization", "bearer tok_1")], &fresh_example("cellcast", 1)).await;
    assert_eq!(status, 200, "the scheme name is case-insensitive (RFC 9110)");

    let cases: [(&str, Headers<'_>); 6] = [
        ("missing", &[]),
        ("Basic scheme", &[("Authorization", "Basic dG9rXzE6")]),
        ("expired…", &[("Authorization", "Bearer expired-tok")]),
        ("invalid…", &[("Authorization", "Bearer invalid_tok")]),
        ("empty Bearer", &[("Authorization", "Bearer ")]),
        ("token without a scheme", &[("Authorization", "tok_1")]),
    ];
    for (n, (case, headers)) in cases.into_iter().enumerate() {
        let (status, body) = post(url.clone(), headers, &fresh_example("cellcast", 10 + n)).await;
        assert_eq!((status, &body), (401, &documented), "{case}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voiceaiwrapper_takes_a_bearer_token_and_rejects_missing_basic_expired_and_invalid_ones() {
    let server = serve_embedded().await;
    let url = format!("http://{}/api/v2/clients/create", server.addr);
    let unauthorized = json!({"success": false, "message": "Invalid or missing API key"});

    let (status, body) = post(url.clone(), &[("Authorization", "Bearer va_1")], &example("voiceaiwrapper")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);

    let cases: [(&str, Headers<'_>); 4] = [
        ("missing", &[]),
        ("Basic scheme", &[("Authorization", "Basic dmFfMTo=")]),
        ("expired…", &[("Authorization", "Bearer expired")]),
        ("invalid…", &[("Authorization", "Bearer invalid.va.1")]),
    ];
    for (n, (case, headers)) in cases.into_iter().enumerate() {
        let (status, body) = post(url.clone(), headers, &fresh_example("voiceaiwrapper", 10 + n)).await;
        assert_eq!((status, &body), (401, &unauthorized), "{case}");
    }
}

/// AgencyHandy needs `companyId` in its exact case, which reqwest cannot send: raw requests.
fn agencyhandy_create(key: Option<&str>, company: Option<&str>, body: &Value) -> Request {
    let mut request = Request::post("/members/bulk-client").json(body);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    if let Some(company) = company {
        request = request.header("companyId", company);
    }
    request
}

async fn companies(server: &Server, key: &str) -> (u16, Value) {
    let response = server.send(&Request::get("/accounts/companies").header("x-api-key", key)).await;
    (response.status, response.json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agencyhandy_needs_a_key_and_one_of_its_companies_and_answers_another_keys_company_with_403() {
    let server = serve_embedded().await;
    let (status, listed) = companies(&server, "ah_key_1").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["message"], "Companies associated with API token.");
    let company = listed["companies"][0]["_id"].as_str().expect("a company id").to_owned();
    assert!(company.len() == 24 && company.bytes().all(|b| b.is_ascii_hexdigit()), "{company} is an ObjectId");
    let (_, again) = companies(&server, "ah_key_1").await;
    assert_eq!(again, listed, "a key's companies do not change");
    let (_, other) = companies(&server, "ah_key_2").await;
    let other_company = other["companies"][0]["_id"].as_str().expect("a company id").to_owned();
    assert_ne!(other_company, company, "each key has its own company");

    let ok = server.send(&agencyhandy_create(Some("ah_key_1"), Some(&company), &fresh_example("agencyhandy", 1))).await;
    assert_eq!(ok.status, 200, "the listed company works: {}", ok.text());
    assert_eq!(ok.json()["createdMembers"].as_array().map(Vec::len), Some(1));

    let forbidden = json!({"type": "PermissionError", "status": 403, "verification_status": "FAILED"});
    let response = server
        .send(&agencyhandy_create(Some("ah_key_1"), Some(&other_company), &fresh_example("agencyhandy", 2)))
        .await;
    assert_eq!((response.status, response.json()), (403, forbidden.clone()), "another key's company");
    let response = server
        .send(&agencyhandy_create(Some("ah_key_1"), Some("000000000000000000000000"), &fresh_example("agencyhandy", 3)))
        .await;
    assert_eq!((response.status, response.json()), (403, forbidden), "a company nobody has");

    let cases: [(&str, Request); 6] = [
        ("no key", agencyhandy_create(None, Some(&company), &fresh_example("agencyhandy", 10))),
        ("no companyId", agencyhandy_create(Some("ah_key_1"), None, &fresh_example("agencyhandy", 11))),
        (
            "Basic scheme instead of x-api-key",
            agencyhandy_create(None, Some(&company), &fresh_example("agencyhandy", 12))
                .header("Authorization", "Basic YWhfa2V5XzE6"),
        ),
        ("expired… key", agencyhandy_create(Some("expired-key"), Some(&company), &fresh_example("agencyhandy", 13))),
        ("invalid… key", agencyhandy_create(Some("invalidkey"), Some(&company), &fresh_example("agencyhandy", 14))),
        (
            "key as a Bearer token",
            agencyhandy_create(None, Some(&company), &fresh_example("agencyhandy", 15))
                .header("Authorization", "Bearer ah_key_1"),
        ),
    ];
    for (case, request) in cases {
        let response = server.send(&request).await;
        let body = response.json();
        assert_eq!(response.status, 401, "{case}: {body}");
        assert_eq!(body["type"], "AuthenticationError", "{case}");
        assert_eq!(body["status"], 401, "{case}");
        assert_eq!(body["verification_status"], "FAILED", "{case}");
    }
    for key in ["expired-key", "invalid-key"] {
        let (status, body) = companies(&server, key).await;
        assert_eq!((status, body["type"].as_str()), (401, Some("AuthenticationError")), "listing with {key}");
    }
    let no_key = server.send(&Request::get("/accounts/companies")).await;
    assert_eq!(no_key.status, 401, "listing without a key");
}

const ALLOW_LIST: &str = "\
smartlead:
  - api_key: sk_listed
agencyhandy:
  - api_key: ah_listed
    tenants: [64b7f0c2a1b2c3d4e5f60718]
";

/// A mock whose `Config.credentials` is parsed from a YAML file, as `--credentials FILE` does.
async fn serve_with_allow_list() -> Server {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let path = dir.path().join("credentials.yaml");
    std::fs::write(&path, ALLOW_LIST).expect("write the credentials file");
    let text = std::fs::read_to_string(&path).expect("read the credentials file");
    let credentials: CredentialList = yaml_serde::from_str(&text).expect("the credentials file parses");
    serve(embedded(), Config::default().seed(1).credentials(credentials)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_list_accepts_a_listed_smartlead_key_and_rejects_an_unlisted_one() {
    let server = serve_with_allow_list().await;
    let url = |key: &str| format!("http://{}/api/v1/client/save?api_key={key}", server.addr);
    let (status, body) = post(url("sk_listed"), &[], &fresh_example("smartlead", 1)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(url("sk_unlisted"), &[], &fresh_example("smartlead", 2)).await;
    assert_eq!((status, body), (401, json!({"message": "Invalid API Key"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_list_gives_a_listed_agencyhandy_key_its_fixed_company_and_rejects_an_unlisted_key() {
    let server = serve_with_allow_list().await;
    let (status, listed) = companies(&server, "ah_listed").await;
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<&str> =
        listed["companies"].as_array().into_iter().flatten().filter_map(|c| c["_id"].as_str()).collect();
    assert_eq!(ids, ["64b7f0c2a1b2c3d4e5f60718"], "the company of the credentials file");
    let ok = server
        .send(&agencyhandy_create(
            Some("ah_listed"),
            Some("64b7f0c2a1b2c3d4e5f60718"),
            &fresh_example("agencyhandy", 1),
        ))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());

    let (status, body) = companies(&server, "ah_unlisted").await;
    assert_eq!((status, body["type"].as_str()), (401, Some("AuthenticationError")));
    let refused = server
        .send(&agencyhandy_create(
            Some("ah_unlisted"),
            Some("64b7f0c2a1b2c3d4e5f60718"),
            &fresh_example("agencyhandy", 2),
        ))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_list_that_does_not_name_a_vendor_rejects_every_credential_of_that_vendor() {
    let server = serve_with_allow_list().await;
    let spec = VendorSpec::of(&embedded(), "cellcast");
    let creds = Creds::default().with("token", "any-token");
    let response = server.send(&spec.create(&creds, &spec.create_op().example())).await;
    assert_eq!(response.status, 401, "{}", response.text());
}
