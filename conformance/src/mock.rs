//! Access to the mock the client talks to: in-process (started on 127.0.0.1:0) or an external
//! `vendor-mock serve` driven through its admin API (`--mock-url`).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use vendor_mock::{Entry, Fault, Mock, MockServer, Specs};

use crate::error::{MockError, RunError, SpecError};
use crate::options::RunOptions;

/// Loads the specs a run uses: a folder's, or the ones embedded in vendor-mock.
pub fn load_specs(dir: Option<&std::path::Path>) -> Result<Specs, RunError> {
    let specs = match dir {
        Some(dir) => Specs::from_dir(dir),
        None => Specs::embedded(),
    };
    specs.map_err(|e| RunError::Spec(SpecError::new("(specs)", e.to_string())))
}

/// The mock of one round: an external one (`mock_url`, default revisions only), or one
/// in-process serving `picks` (the non-default revisions of the round).
pub fn start_mock(
    specs: &Specs,
    options: &RunOptions,
    picks: &[(String, String)],
) -> Result<Box<dyn MockAccess>, RunError> {
    let Some(url) = &options.mock_url else {
        return Ok(Box::new(InProcessMock::start_with(specs.clone(), options.seed, picks.to_vec())?));
    };
    if !picks.is_empty() {
        let named: Vec<String> = picks.iter().map(|(v, r)| format!("{v}@{r}")).collect();
        return Err(RunError::Usage(format!(
            "--mock-url: only the default revisions can be checked against an external mock, not {}; \
             drop --mock-url (the in-process mock serves any revision) or drop --revision",
            named.join(", ")
        )));
    }
    let mock = HttpMock::connect(url)?;
    // The suite reads the default documents: refuse a mock serving another revision for a vendor
    // this run checks, rather than judge it against the wrong contract.
    let other: Vec<String> = mock
        .served_revisions()
        .iter()
        .filter(|(v, r)| options.vendors.includes(v) && r.as_str() != vendor_mock::DEFAULT_REVISION)
        .map(|(v, r)| format!("{v}@{r}"))
        .collect();
    if !other.is_empty() {
        return Err(RunError::Usage(format!(
            "--mock-url: the mock at {url} serves {}, but the suite checks an external mock against the \
             default revisions only; start it without --revision, or drop --mock-url and pass --revision",
            other.join(", ")
        )));
    }
    Ok(Box::new(mock))
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
    fn journal(&self) -> Result<Vec<Entry>, MockError>;
    /// Adds a fault; returns its id.
    fn inject(&self, fault: &Fault) -> Result<u64, MockError>;
    /// Where the mock is, for people: `in-process` or the URL.
    fn describe(&self) -> String;
    /// The journal may show secrets masked (`abcd****`, passwords as `****`): an external mock
    /// runs without `--journal-secrets` unless told otherwise.
    fn masks_secrets(&self) -> bool;
}

/// The mock's own [`MockServer`], on a loopback port the OS picked, on a small runtime of its
/// own (the suite itself is synchronous).
#[derive(Debug)]
pub struct InProcessMock {
    server: MockServer,
    runtime: Option<tokio::runtime::Runtime>,
}

impl InProcessMock {
    /// Starts serving `specs` (ids deterministic under `seed`).
    pub fn start(specs: Specs, seed: u64) -> Result<Self, MockError> {
        Self::start_with(specs, seed, Vec::new())
    }

    /// Starts serving `specs` with these contract revisions instead of the default ones
    /// (`("agencyhandy", "2026-07")`).
    pub fn start_with(specs: Specs, seed: u64, revisions: Vec<(String, String)>) -> Result<Self, MockError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("conformance-mock")
            .enable_all()
            .build()?;
        // Secrets readable in the journal: the checks compare credentials and bodies exactly.
        // The vendors' rate limits enforced, as the vendors do (every case has fresh credentials).
        let mut builder = MockServer::builder().specs(specs).seed(seed).journal_secrets(true).rate_limits(true);
        for (vendor, revision) in &revisions {
            builder = builder.revision(vendor, revision);
        }
        let server = runtime.block_on(builder.try_start())?;
        Ok(Self { server, runtime: Some(runtime) })
    }

    fn server(&self) -> &MockServer {
        &self.server
    }

    /// The mock itself.
    pub fn mock(&self) -> &Arc<Mock> {
        self.server().mock()
    }
}

impl Drop for InProcessMock {
    fn drop(&mut self) {
        // Stopping the runtime ends the server's tasks (in-flight requests get 200 ms).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_millis(200));
        }
    }
}

impl MockAccess for InProcessMock {
    fn base_url(&self) -> String {
        self.server().uri()
    }

    fn reset(&self) -> Result<(), MockError> {
        self.server().reset();
        Ok(())
    }

    fn clear_journal(&self) -> Result<(), MockError> {
        self.mock().clear_journal();
        Ok(())
    }

    fn journal(&self) -> Result<Vec<Entry>, MockError> {
        Ok(self.server().journal())
    }

    fn inject(&self, fault: &Fault) -> Result<u64, MockError> {
        Ok(self.server().inject(fault.clone()))
    }

    fn describe(&self) -> String {
        format!("{} (in-process)", self.base_url())
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
    requests: Vec<Entry>,
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

    fn journal(&self) -> Result<Vec<Entry>, MockError> {
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
