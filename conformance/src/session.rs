//! One client against one mock: a case set up on the mock, sent to the client, journalled and
//! judged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use vendor_mock::{Effect, Entry, Fault};

use crate::checks::Context;
use crate::error::{HarnessError, MockError, RunError};
use crate::harness::{Client, Driver};
use crate::http1;
use crate::judge;
use crate::mock::MockAccess;
use crate::model::{Call, Case, Executed, Refusal, Scenario};
use crate::options::RunOptions;
use crate::plan::PreparedVendor;
use crate::protocol::{CreateClient, ProtocolSchema, Ready};
use crate::report::Event;
use crate::vendor::VendorModel;

/// Drives one client against one mock.
pub struct Session<'a> {
    pub(crate) options: RunOptions,
    mock: Box<dyn MockAccess>,
    driver: Box<dyn Driver>,
    pub(crate) ready: Option<Ready>,
    seq: u64,
    /// Restarts after crashes and hangs so far.
    restarts: u32,
    /// Why the run stops (the restarts are used up).
    gave_up: Option<String>,
    events: &'a mut dyn FnMut(&Event),
    pub(crate) cases_run: u64,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("seq", &self.seq).finish()
    }
}

impl<'a> Session<'a> {
    /// Starts the client against a mock (the handshake is checked).
    pub fn open(
        mock: Box<dyn MockAccess>,
        client: Client,
        options: RunOptions,
        events: &'a mut dyn FnMut(&Event),
    ) -> Result<Self, RunError> {
        let schema = if options.validate_protocol {
            Some(Arc::new(ProtocolSchema::new().map_err(RunError::Usage)?))
        } else {
            None
        };
        let driver = client.into_driver(options.timeout, schema);
        let mut session =
            Self { options, mock, driver, ready: None, seq: 0, restarts: 0, gave_up: None, events, cases_run: 0 };
        let ready = session.driver.start().map_err(RunError::Harness)?;
        session.ready = Some(ready);
        Ok(session)
    }

    /// Ends the client (it must exit 0).
    pub fn close(mut self) -> Result<(), RunError> {
        self.driver.stop().map_err(RunError::Harness)
    }

    /// The mock's base URL.
    pub fn base_url(&self) -> String {
        self.mock.base_url()
    }

    /// Points the session at another mock (one serving other revisions); returns the old one.
    pub fn replace_mock(&mut self, mock: Box<dyn MockAccess>) -> Box<dyn MockAccess> {
        std::mem::replace(&mut self.mock, mock)
    }

    pub fn client_description(&self) -> String {
        self.driver.describe()
    }

    pub(crate) fn emit(&mut self, event: &Event) {
        (self.events)(event);
    }

    /// The credentials of a case: its generated values, tenants looked up on the mock, then
    /// its refusal applied. Also returns the valid credentials (for what the suite sends).
    fn credentials(&self, model: &VendorModel, case: &Case) -> Result<Credentials, RunError> {
        let mut valid = case.credentials.clone();
        for part in model.credentials().iter().filter(|p| !p.tenant) {
            // A case written by hand without generated values gets fixed ones.
            let fixed = || format!("ck_{:016x}", crate::plan::hash(&(model.name(), &part.name)));
            valid.entry(part.name.clone()).or_insert_with(fixed);
        }
        if model.credentials().iter().any(|p| p.tenant) {
            let tenant = self.first_tenant(model, &valid)?;
            for part in model.credentials().iter().filter(|p| p.tenant) {
                valid.insert(part.name.clone(), tenant.clone());
            }
        }
        let mut given = valid.clone();
        match &case.refusal {
            Some(Refusal::RejectedPrefix { part, prefix } | Refusal::ForbiddenPrefix { part, prefix }) => {
                if let Some(v) = given.get_mut(part) {
                    *v = format!("{prefix}{v}");
                }
            }
            Some(Refusal::Empty { part }) => {
                given.insert(part.clone(), String::new());
            }
            Some(Refusal::ForeignTenant { part }) => {
                // The first tenant of another account (the same keys, changed).
                let mut other = valid.clone();
                for p in model.credentials().iter().filter(|p| !p.tenant) {
                    if let Some(v) = other.get_mut(&p.name) {
                        v.push_str("-other");
                    }
                }
                given.insert(part.clone(), self.first_tenant(model, &other)?);
            }
            Some(Refusal::RateLimit { .. }) | None => {}
        }
        Ok(Credentials { valid, given })
    }

    /// The first tenant the account of these credentials owns, looked up over HTTP.
    fn first_tenant(&self, model: &VendorModel, creds: &BTreeMap<String, String>) -> Result<String, RunError> {
        let request = model
            .lookup_request(creds)
            .ok_or_else(|| MockError::Setup(format!("{}: no tenant look-up operation", model.name())))?;
        let response = http1::send(&self.mock.base_url(), &request, self.options.timeout)
            .map_err(|e| MockError::Setup(format!("tenant look-up {} {}: {e}", request.method, request.target)))?;
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let tenant = model.first_tenant(&body).ok_or_else(|| {
            MockError::Setup(format!(
                "tenant look-up {} answered {} without a tenant: {body}",
                request.target, response.status
            ))
        })?;
        Ok(tenant)
    }

    /// Sets a case up on the mock, runs it against the client, and judges it.
    pub fn execute(&mut self, prepared: &PreparedVendor, case: &Case) -> Result<Executed, RunError> {
        if let Some(reason) = &self.gave_up {
            return Err(RunError::GaveUp(reason.clone()));
        }
        let model = prepared.model();
        self.mock.reset()?;
        let creds = self.credentials(model, case)?;
        self.precreate(model, case, &creds.valid)?;
        if let Some(Refusal::RateLimit { requests, .. }) = &case.refusal {
            self.use_up_rate_limit(model, &creds.valid, *requests)?;
        }
        self.mock.clear_journal()?;
        if let Some(effect) = &case.fault {
            let mut fault = Fault::new(effect.clone()).vendor(model.name());
            fault.path = Some(model.create().path.clone());
            self.mock.inject(&fault)?;
        }
        let mut calls = Vec::new();
        let mut stderr = None;
        let rounds = if case.scenario == Scenario::Sequence { 2 } else { 1 };
        for round in 0..rounds {
            if round > 0 {
                self.mock.clear_journal()?;
            }
            let (call, crashed) = self.call(model, &creds.given, case)?;
            if crashed.is_some() {
                stderr = crashed;
            }
            calls.push(call);
        }
        let ctx = Context {
            vendor: model,
            schema: prepared.schema(),
            credentials: &creds.given,
            client_timeout_ms: self.options.client_timeout_ms(),
            masked: self.mock.masks_secrets(),
            require_vendors: self.options.require_vendors,
        };
        let verdicts = judge::evaluate(&ctx, case, &calls);
        self.cases_run += 1;
        Ok(Executed { case: case.clone(), credentials: creds.given, calls, verdicts, stderr })
    }

    /// Creates what the case needs to exist first (the duplicate scenario's record).
    fn precreate(&self, model: &VendorModel, case: &Case, creds: &BTreeMap<String, String>) -> Result<(), RunError> {
        let Some(body) = &case.precreate else { return Ok(()) };
        let request = model.expected_request(creds, body);
        http1::send(&self.mock.base_url(), &request, self.options.timeout)
            .map_err(|e| MockError::Setup(format!("pre-create: {e}")))?;
        let journal = self.mock.journal()?;
        if journal.last().is_some_and(crate::checks::accepted) {
            return Ok(());
        }
        let outcome = journal.last().map(|e| serde_json::to_string(&e.outcome).unwrap_or_default()).unwrap_or_default();
        Err(MockError::Setup(format!(
            "the mock did not accept the suite's own pre-create for {}: {outcome}",
            model.name()
        ))
        .into())
    }

    /// Sends requests with these credentials until the vendor answers 429 (at most `limit` + 1):
    /// their bodies are not JSON, so that nothing is created, but they count.
    fn use_up_rate_limit(
        &self,
        model: &VendorModel,
        creds: &BTreeMap<String, String>,
        limit: u32,
    ) -> Result<(), RunError> {
        let mut request = model.expected_request(creds, &Value::Null);
        request.body = b"{".to_vec();
        for _ in 0..=limit {
            let answer = http1::send(&self.mock.base_url(), &request, self.options.timeout)
                .map_err(|e| MockError::Setup(format!("using up the rate limit: {e}")))?;
            if answer.status == 429 {
                break;
            }
        }
        Ok(())
    }

    /// One create_client; a crash or time-out restarts the client (the call records why),
    /// until the run's restarts are used up.
    fn call(
        &mut self,
        model: &VendorModel,
        creds: &BTreeMap<String, String>,
        case: &Case,
    ) -> Result<(Call, Option<String>), RunError> {
        self.seq += 1;
        let timeout_ms = case.timeout_ms.unwrap_or_else(|| self.options.client_timeout_ms());
        let request = CreateClient {
            cmd: "create_client".into(),
            seq: self.seq,
            vendor: model.name().to_owned(),
            base_url: self.mock.base_url(),
            credentials: creds.clone(),
            input: case.input.clone(),
            timeout_ms: Some(timeout_ms),
        };
        let started = Instant::now();
        let result = self.driver.create_client(&request);
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (reply, crashed) = match result {
            Ok(reply) => (Ok(reply.to_json()), None),
            Err(e) if e.is_crash() => {
                let stderr = self.driver.stderr_tail();
                self.restart(&e, &stderr)?;
                (Err(e.to_string()), Some(stderr))
            }
            Err(e) => return Err(RunError::Harness(e)),
        };
        if let Some(Effect::Latency { ms, .. }) = case.fault {
            // A request the client still waits for is journalled once the latency is over (one it
            // gave up on never is): wait for it, lest it land in the next case's journal.
            let over = started + Duration::from_millis(ms + LATE_JOURNAL_MS);
            std::thread::sleep(over.saturating_duration_since(Instant::now()));
        }
        let entries: Vec<Entry> = self.mock.journal()?;
        Ok((Call { request, reply, entries, elapsed_ms }, crashed))
    }

    /// Starts the client again after a crash or hang, unless the run's restarts are used up
    /// (then the run stops after this case: [`RunError::GaveUp`]).
    fn restart(&mut self, why: &HarnessError, stderr: &str) -> Result<(), RunError> {
        self.restarts += 1;
        if self.restarts > self.options.max_restarts {
            self.gave_up = Some(format!(
                "the client crashed or hung {} times (at most {} restarts, --max-restarts); the last: {why}",
                self.restarts, self.options.max_restarts
            ));
            return Ok(());
        }
        let ready = self.driver.start().map_err(RunError::Harness)?;
        self.ready = Some(ready);
        self.emit(&Event::HarnessRestarted { reason: why.to_string(), stderr_tail: stderr.to_owned() });
        Ok(())
    }
}

/// The credentials of a case: valid ones (for what the suite sends) and the ones the client is
/// given (with the case's refusal).
#[derive(Debug)]
struct Credentials {
    valid: BTreeMap<String, String>,
    given: BTreeMap<String, String>,
}

/// How long after an injected latency is over the suite waits for its request to be journalled.
const LATE_JOURNAL_MS: u64 = 50;
