//! Access to the mock the client talks to: in-process (started on 127.0.0.1:0) or an external
//! `vendor-mock serve` driven through its admin API (`--mock-url`).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vendor_mock::{Config, Fault, Mock, Specs};

use crate::error::MockError;

/// One journalled request, as the mock recorded it (the JSON form of `vendor_mock::Entry`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub operation: Option<String>,
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub version: String,
    /// Header names as sent on the wire (HTTP/1.1), with values.
    pub headers: Vec<(String, String)>,
    /// `raw`, `lowercase` (HTTP/2) or `unavailable`.
    #[serde(default)]
    pub header_case: String,
    #[serde(default)]
    pub body: String,
    /// 0: nothing was sent back (a reset or empty reply).
    pub status: u16,
    #[serde(default)]
    pub response: Value,
    /// `{"kind": ...}` as the mock serialises its `Outcome`.
    pub outcome: Value,
}

impl JournalEntry {
    /// The outcome's kind word (`created`, `bulk`, `duplicate`, `fault`, …).
    pub fn outcome_kind(&self) -> &str {
        self.outcome.get("kind").and_then(Value::as_str).unwrap_or_default()
    }

    /// `METHOD /path?query`.
    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// What the suite needs from a mock.
pub trait MockAccess {
    /// `http://127.0.0.1:PORT`, where the vendors' paths are served.
    fn base_url(&self) -> String;
    /// Forgets every vendor's state, the journal and the faults.
    fn reset(&self) -> Result<(), MockError>;
    /// Empties the journal only.
    fn clear_journal(&self) -> Result<(), MockError>;
    /// The journal, oldest first.
    fn journal(&self) -> Result<Vec<JournalEntry>, MockError>;
    /// Adds a fault; returns its id.
    fn inject(&self, fault: &Fault) -> Result<u64, MockError>;
    /// Where the mock is, for people: `in-process` or the URL.
    fn describe(&self) -> String;
    /// The journal may show secrets masked (`abcd****`, passwords as `****`): an external mock
    /// runs without `--journal-secrets` unless told otherwise.
    fn masks_secrets(&self) -> bool;
}

/// A mock served in-process on a loopback port the OS picked, on its own small runtime.
#[derive(Debug)]
pub struct InProcessMock {
    mock: Arc<Mock>,
    base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl InProcessMock {
    /// Starts serving `specs` (ids deterministic under `seed`).
    pub fn start(specs: Specs, seed: u64) -> Result<Self, MockError> {
        Self::start_with(specs, seed, Vec::new())
    }

    /// Starts serving `specs` with these contract revisions instead of the default ones
    /// (`("agencyhandy", "2026-07")`; checked by the caller: the mock serves the default
    /// revision of a vendor whose pick does not exist).
    pub fn start_with(specs: Specs, seed: u64, revisions: Vec<(String, String)>) -> Result<Self, MockError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("conformance-mock")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        // Secrets readable in the journal: the checks compare credentials and bodies exactly.
        let config = Config { seed: Some(seed), journal_secrets: true, revisions, ..Default::default() };
        let mock = Mock::new(specs, config);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = Arc::clone(&mock);
        runtime.spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = vendor_mock::run(listener, served, shutdown).await {
                eprintln!("vendor-conformance: the in-process mock stopped: {e}");
            }
        });
        Ok(Self { mock, base_url: format!("http://{addr}"), shutdown: Some(tx), runtime: Some(runtime) })
    }

    /// The mock itself.
    pub fn mock(&self) -> &Arc<Mock> {
        &self.mock
    }
}

impl Drop for InProcessMock {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_millis(200));
        }
    }
}

impl MockAccess for InProcessMock {
    fn base_url(&self) -> String {
        self.base_url.clone()
    }

    fn reset(&self) -> Result<(), MockError> {
        self.mock.reset(None);
        Ok(())
    }

    fn clear_journal(&self) -> Result<(), MockError> {
        self.mock.clear_journal();
        Ok(())
    }

    fn journal(&self) -> Result<Vec<JournalEntry>, MockError> {
        self.mock
            .journal()
            .iter()
            .map(|e| {
                serde_json::to_value(e)
                    .and_then(serde_json::from_value)
                    .map_err(|e| MockError::Setup(format!("journal entry: {e}")))
            })
            .collect()
    }

    fn inject(&self, fault: &Fault) -> Result<u64, MockError> {
        Ok(self.mock.inject(fault.clone()))
    }

    fn describe(&self) -> String {
        format!("{} (in-process)", self.base_url)
    }

    fn masks_secrets(&self) -> bool {
        false
    }
}

/// An external mock driven through its admin API (`/__admin/...`).
#[derive(Debug)]
pub struct HttpMock {
    url: String,
    client: reqwest::blocking::Client,
    /// Vendor → revision served (from `GET /__admin/health`).
    revisions: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Requests {
    requests: Vec<JournalEntry>,
}

#[derive(Debug, Deserialize)]
struct FaultId {
    id: u64,
}

impl HttpMock {
    /// Connects and checks `GET /__admin/health`.
    pub fn connect(url: &str) -> Result<Self, MockError> {
        let url = url.trim_end_matches('/').to_owned();
        crate::http1::authority(&url).map_err(|message| MockError::Admin { url: url.clone(), message })?;
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| MockError::Admin { url: url.clone(), message: e.to_string() })?;
        let mut this = Self { url, client, revisions: Default::default() };
        let health = this.call(reqwest::Method::GET, "/__admin/health", None)?;
        this.revisions = health
            .get("revisions")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(v, r)| Some((v.clone(), r.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        Ok(this)
    }

    /// The revision the mock serves for each vendor, as its health answer says.
    pub fn served_revisions(&self) -> &std::collections::BTreeMap<String, String> {
        &self.revisions
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, MockError> {
        let fail = |message: String| MockError::Admin { url: self.url.clone(), message };
        let mut request = self.client.request(method.clone(), format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().map_err(|e| fail(format!("{method} {path}: {e}")))?;
        let status = response.status();
        let text = response.text().map_err(|e| fail(format!("{method} {path}: {e}")))?;
        if !status.is_success() {
            return Err(fail(format!("{method} {path} answered {status}: {text}")));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).or(Ok(Value::String(text)))
    }
}

impl MockAccess for HttpMock {
    fn base_url(&self) -> String {
        self.url.clone()
    }

    fn reset(&self) -> Result<(), MockError> {
        self.call(reqwest::Method::POST, "/__admin/reset", None).map(drop)
    }

    fn clear_journal(&self) -> Result<(), MockError> {
        self.call(reqwest::Method::DELETE, "/__admin/requests", None).map(drop)
    }

    fn journal(&self) -> Result<Vec<JournalEntry>, MockError> {
        let value = self.call(reqwest::Method::GET, "/__admin/requests", None)?;
        let requests: Requests = serde_json::from_value(value)
            .map_err(|e| MockError::Admin { url: self.url.clone(), message: format!("GET /__admin/requests: {e}") })?;
        Ok(requests.requests)
    }

    fn inject(&self, fault: &Fault) -> Result<u64, MockError> {
        let body = serde_json::to_value(fault).map_err(|e| MockError::Setup(e.to_string()))?;
        let value = self.call(reqwest::Method::POST, "/__admin/faults", Some(&body))?;
        let id: FaultId = serde_json::from_value(value)
            .map_err(|e| MockError::Admin { url: self.url.clone(), message: format!("POST /__admin/faults: {e}") })?;
        Ok(id.id)
    }

    fn describe(&self) -> String {
        format!("{} (external)", self.url)
    }

    fn masks_secrets(&self) -> bool {
        true
    }
}
