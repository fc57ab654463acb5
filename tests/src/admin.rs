//! Helpers of the admin, embedding and dashboard tests: one [`MockServer`] per test, a reqwest
//! client and the vendors' create requests (raw exchanges are [`crate::raw_http`]'s).
pub use crate::binary::binary;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use vendor_mock::MockServer;

pub use crate::raw_http::SAFETY;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(SAFETY).build().expect("a reqwest client builds")
}

/// An answer: status, headers and body as JSON (`null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("the body arrives");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, headers, json }
}

/// Calls the admin API: `admin(&server, "GET", "/requests", None)`.
pub async fn admin(server: &MockServer, method: &str, path: &str, body: Option<Value>) -> Answer {
    admin_with(server, method, path, body, None).await
}

pub async fn admin_with(
    server: &MockServer,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = client().request(method, format!("{}/__admin{path}", server.uri()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.expect("the admin API answers")).await
}

/// The journal as the admin API lists it, with a query string (`"vendor=smartlead"`).
pub async fn requests(server: &MockServer, query: &str) -> Vec<Value> {
    let listed = admin(server, "GET", &format!("/requests?{query}"), None).await;
    assert_eq!(listed.status, 200, "GET /__admin/requests?{query}: {:?}", listed.json);
    listed.json["requests"].as_array().expect("a `requests` array").clone()
}

/// SmartLead's create-client request with this API key and e-mail.
pub async fn smartlead(server: &MockServer, key: &str, email: &str) -> Answer {
    smartlead_with(server, key, email, &[]).await
}

pub async fn smartlead_with(server: &MockServer, key: &str, email: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = client()
        .post(format!("{}/api/v1/client/save?api_key={key}", server.uri()))
        .json(&json!({ "email": email, "name": "Acme Agency", "password": "hunter2!" }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    answer(request.send().await.expect("the mock answers")).await
}

/// Cellcast's create-sub-client request with this token, e-mail and mobile.
pub async fn cellcast(server: &MockServer, token: &str, email: &str, mobile: &str) -> Answer {
    let body = json!({
        "name": "Sub Client", "email": email, "mobile": mobile, "password": "Passw0rd!",
        "companyName": "Cellcast", "industry": "Telecommunication", "isSharingCredit": true,
    });
    let request = client().post(format!("{}/api/v2/subClient/user", server.uri())).bearer_auth(token).json(&body);
    answer(request.send().await.expect("the mock answers")).await
}

/// AgencyHandy's first company id for an API key.
pub async fn company_of(server: &MockServer, key: &str) -> String {
    let request = client().get(format!("{}/accounts/companies", server.uri())).header("x-api-key", key);
    let listed = answer(request.send().await.expect("the mock answers")).await;
    assert_eq!(listed.status, 200, "{:?}", listed.json);
    listed.json["companies"][0]["_id"].as_str().expect("a company id").to_owned()
}

/// One AgencyHandy client entry.
pub fn agencyhandy_client(email: &str) -> Value {
    json!({ "firstName": "John", "lastName": "Doe", "email": email, "isConvertedClient": false })
}

/// The repository's spec folder.
pub fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs")
}

/// A temporary copy of the repository's spec files (not its README).
pub fn copy_of_specs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for entry in std::fs::read_dir(specs_dir()).expect("specs/ is readable") {
        let path = entry.expect("an entry").path();
        if path.extension().and_then(|e| e.to_str()) == Some("yaml") {
            let name = path.file_name().expect("a file name");
            std::fs::copy(&path, dir.path().join(name)).expect("copy a spec");
        }
    }
    dir
}

/// Polls `check` every 50 ms until it returns `Some`, for at most [`SAFETY`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + SAFETY;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
