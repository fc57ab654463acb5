//! The dashboard in a real headless Chromium, driven through ChromeDriver's W3C WebDriver API:
//! what a person sees after sending requests, clicking a request, adding and removing a fault,
//! and resetting.
//!
//! Needs `chromium` and `chromedriver` on the PATH (Debian: `apt-get install chromium
//! chromium-driver`; the README's test command, `scripts/test.sh`, installs them). Without them the
//! tests fail, saying how to install them: they never pass without running.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use e2e::admin::{SAFETY, cellcast, smartlead, smartlead_with};
use serde_json::{Value, json};
use vendor_mock::MockServer;

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// Chromium and ChromeDriver; a missing one fails the test, naming it and how to install it.
fn browser() -> (PathBuf, PathBuf) {
    let chromium = on_path("chromium").or_else(|| on_path("chromium-browser"));
    let driver = on_path("chromedriver");
    let missing: Vec<&str> = [("chromium", chromium.is_none()), ("chromedriver", driver.is_none())]
        .into_iter()
        .filter(|m| m.1)
        .map(|m| m.0)
        .collect();
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => (chromium, driver),
        _ => panic!(
            "the dashboard tests drive a real browser, and {} on the PATH; install {} (Debian: \
             apt-get install -y chromium chromium-driver) or run the README's test command, \
             scripts/test.sh, which installs {}",
            match missing.as_slice() {
                [one] => format!("`{one}` is not"),
                _ => "`chromium` and `chromedriver` are not".to_owned(),
            },
            if missing.len() == 1 { "it" } else { "them" },
            if missing.len() == 1 { "it" } else { "them" },
        ),
    }
}

/// A ChromeDriver process and one headless Chromium session.
struct Browser {
    driver: tokio::process::Child,
    http: reqwest::Client,
    session: String,
    base: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(chromium: &PathBuf, driver: &PathBuf) -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("an address").port()
        };
        let child = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("a client");
        let base = format!("http://127.0.0.1:{port}");
        e2e::admin::eventually("chromedriver is ready", || {
            let status = http.get(format!("{base}/status")).send();
            async move {
                let body: Value = status.await.ok()?.json().await.ok()?;
                body["value"]["ready"].as_bool().filter(|ready| *ready)
            }
        })
        .await;
        let profile = tempfile::tempdir().expect("a profile folder");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1400,1000",
        ];
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a browser session starts: {created}"))
            .to_owned();
        Self { driver: child, http, session, base, _profile: profile }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.expect("chromedriver answers").json().await.expect("JSON");
        if answer["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css})));
        let found = found.await;
        found
            .as_array()
            .expect("a list")
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap_or_else(|| panic!("an element reference: {e}")).to_owned())
            .collect()
    }

    async fn find(&self, css: &str) -> String {
        self.find_all(css).await.into_iter().next().unwrap_or_else(|| panic!("no element matches `{css}`"))
    }

    /// The element's text as rendered (what a person reads).
    async fn text(&self, element: &str) -> String {
        let text = self.call(reqwest::Method::GET, &format!("/element/{element}/text"), None).await;
        text.as_str().unwrap_or_default().to_owned()
    }

    async fn text_of(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.text(&element).await
    }

    async fn displayed(&self, css: &str) -> bool {
        let element = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{element}/displayed"), None).await.as_bool() == Some(true)
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text}))).await;
    }

    /// The visible text of each journal row's cells: (vendor, status, outcome), read in one
    /// go so that a re-render between reads cannot mix two versions of the list.
    async fn rows(&self) -> Vec<(String, String, String)> {
        let script = "return Array.from(document.querySelectorAll('#journal tbody tr'), (row) => \
            ['vendor', 'status', 'outcome'].map((c) => row.querySelector('td.' + c).innerText));";
        let rows = self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        rows.as_array().expect("a list").iter().map(|r| (text(&r[0]), text(&r[1]), text(&r[2]))).collect()
    }

    /// Waits until the journal shows `count` rows, and returns them.
    async fn wait_rows(&self, count: usize) -> Vec<(String, String, String)> {
        e2e::admin::eventually(&format!("{count} journal rows on the page"), || async {
            let rows = self.rows().await;
            (rows.len() == count).then_some(rows)
        })
        .await
    }

    async fn wait_text(&self, css: &str, wanted: &str) -> String {
        e2e::admin::eventually(&format!("`{wanted}` in {css}"), || async {
            let text = self.text_of(css).await;
            text.contains(wanted).then_some(text)
        })
        .await
    }

    async fn quit(mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
        let _ = self.driver.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_sees_each_request_its_details_state_faults_and_an_empty_list_after_reset() {
    let (chromium, driver) = browser();
    let server = MockServer::start().await;
    assert_eq!(smartlead(&server, "sk_dash_key", "ada@example.com").await.status, 200);
    assert_eq!(smartlead(&server, "sk_dash_key", "ada@example.com").await.status, 409);
    assert_eq!(smartlead_with(&server, "sk_dash_key", "not-an-email", &[]).await.status, 422);
    assert_eq!(cellcast(&server, "", "c@example.com", "0400000001").await.status, 401);

    let browser = tokio::time::timeout(SAFETY * 3, Browser::start(&chromium, &driver)).await.expect("Chromium starts");
    browser.open(&format!("{}/__admin/ui", server.uri())).await;

    // The journal, newest first.
    let rows = browser.wait_rows(4).await;
    assert_eq!(rows[0].0, "cellcast");
    assert_eq!(rows[0].1, "401");
    assert!(rows[0].2.starts_with("unauthorized"), "{rows:?}");
    assert_eq!((rows[1].0.as_str(), rows[1].1.as_str()), ("smartlead", "422"));
    assert!(rows[1].2.contains("email must be a valid email"), "why validation failed: {rows:?}");
    assert_eq!((rows[2].1.as_str(), rows[2].2.as_str()), ("409", "duplicate email"));
    assert_eq!((rows[3].0.as_str(), rows[3].1.as_str(), rows[3].2.as_str()), ("smartlead", "200", "created"));

    // A request's details: why, raw headers, body (secrets masked), answer.
    assert!(!browser.displayed("#detail").await, "no request is selected yet");
    browser.click("#journal tbody tr:nth-child(2)").await;
    assert!(browser.displayed("#detail").await);
    let why = browser.text_of("#detail-why").await;
    assert!(why.contains("email must be a valid email"), "{why}");
    let headers = browser.text_of("#detail-headers").await;
    assert!(headers.contains("content-type") && headers.contains("application/json"), "{headers}");
    assert!(browser.text_of("#detail-line").await.contains("api_key=sk_d****"), "the key is masked");
    let body = browser.text_of("#detail-body").await;
    assert!(body.contains("not-an-email") && body.contains("****") && !body.contains("hunter2!"), "{body}");
    assert!(browser.text_of("#detail-response").await.contains("Invalid parameters provided"));

    // State per vendor.
    let state = browser.text_of("#state").await;
    assert!(state.contains("smartlead") && state.contains("1 record"), "{state}");

    // Many records: the page shows every count and the first page of records (issue 13).
    let records: Vec<serde_json::Value> =
        (0..50).map(|n| serde_json::json!({"email": format!("v{n}@example.com"), "client_users": []})).collect();
    server.mock().seed_records("voiceaiwrapper", &vendor_mock::SeedBatch::new(records)).expect("seeded");
    let state = browser.wait_text("#state", "50 records").await;
    assert!(state.contains("shown)"), "only the first page of records: {state}");

    // A request sent while the page is open shows up by itself.
    smartlead(&server, "sk_dash_key", "grace@example.com").await;
    let rows = browser.wait_rows(5).await;
    assert_eq!(rows[0].2, "created");

    // Add a fault with the form, see it listed and at work, remove it.
    browser.click("#fault-vendor option[value='smartlead']").await;
    browser.type_into("#fault-times", "1").await;
    browser.click("#add-fault").await;
    let faults = browser.wait_text("#faults", "status 500").await;
    assert!(faults.contains("smartlead") && faults.contains("1 more"), "{faults}");
    assert_eq!(server.mock().faults().len(), 1);
    assert_eq!(smartlead(&server, "sk_dash_key", "x@example.com").await.status, 500);
    let rows = browser.wait_rows(6).await;
    assert_eq!((rows[0].1.as_str(), rows[0].2.as_str()), ("500", "fault: status"));
    browser.inject_and_remove(&server).await;

    // Reset empties the list.
    browser.click("#reset-all").await;
    browser.wait_rows(0).await;
    assert!(browser.displayed("#journal-empty").await, "the page says there is nothing");
    assert!(browser.wait_text("#state", "0 records").await.contains("smartlead"));
    assert!(server.journal().is_empty());
    browser.quit().await;
}

impl Browser {
    /// A fault added through the API appears on the page; its remove button removes it.
    async fn inject_and_remove(&self, server: &MockServer) {
        server.inject(vendor_mock::Fault::new(vendor_mock::Effect::Reset).vendor("cellcast"));
        self.wait_text("#faults", "reset").await;
        self.click("#faults tbody tr button").await;
        e2e::admin::eventually("the fault is gone from the page", || async {
            self.find_all("#faults tbody tr").await.is_empty().then_some(())
        })
        .await;
        assert!(server.mock().faults().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_admin_token_the_page_asks_for_it_and_then_shows_the_journal() {
    let (chromium, driver) = browser();
    let server = MockServer::builder().admin_token("dash-token").start().await;
    smartlead(&server, "k", "a@example.com").await;

    let browser = tokio::time::timeout(SAFETY * 3, Browser::start(&chromium, &driver)).await.expect("Chromium starts");
    browser.open(&format!("{}/__admin/ui", server.uri())).await;
    browser.wait_text("#status", "token needed").await;
    assert!(browser.displayed("#token-form").await);
    assert!(browser.rows().await.is_empty(), "nothing is shown without the token");
    browser.type_into("#token", "dash-token").await;
    browser.click("#token-form button").await;
    let rows = browser.wait_rows(1).await;
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("smartlead", "200"));
    assert!(!browser.displayed("#token-form").await);

    // A link with the token in its fragment works at once (the fragment never reaches the server).
    browser.open(&format!("{}/__admin/ui#token=dash-token", server.uri())).await;
    browser.wait_rows(1).await;
    browser.quit().await;
}
