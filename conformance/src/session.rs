//! One client against one mock: a case set up on the mock, sent to the client, journalled and
//! judged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use vendor_mock::{Entry, Fault};

use crate::checks::Context;
use crate::error::{HarnessError, MockError, RunError};
use crate::harness::{Client, Driver};
use crate::http1;
use crate::judge;
use crate::mock::MockAccess;
use crate::model::{Call, Case, Executed, Scenario};
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
    credential_counter: u64,
    consecutive_crashes: u32,
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
        let mut session = Self {
            options,
            mock,
            driver,
            ready: None,
            seq: 0,
            credential_counter: 0,
            consecutive_crashes: 0,
            events,
            cases_run: 0,
        };
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

    /// Fresh credentials for a case: random values, tenants looked up over HTTP, and for the
    /// unauthorized scenario the spec's reject prefix on every non-tenant part.
    fn credentials(&mut self, model: &VendorModel, unauthorized: bool) -> Result<BTreeMap<String, String>, RunError> {
        self.credential_counter += 1;
        let mut creds = BTreeMap::new();
        for part in model.credentials().iter().filter(|p| !p.tenant) {
            let key = (self.options.seed, model.name(), part.name.as_str(), self.credential_counter);
            creds.insert(part.name.clone(), format!("ck_{:016x}", crate::plan::hash(&key)));
        }
        if model.credentials().iter().any(|p| p.tenant) {
            let tenant = self.first_tenant(model, &creds)?;
            for part in model.credentials().iter().filter(|p| p.tenant) {
                creds.insert(part.name.clone(), tenant.clone());
            }
        }
        if unauthorized {
            let prefix = model.reject_prefixes().first().cloned().unwrap_or_default();
            for part in model.credentials().iter().filter(|p| !p.tenant) {
                if let Some(v) = creds.get_mut(&part.name) {
                    *v = format!("{prefix}{v}");
                }
            }
        }
        Ok(creds)
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
        let model = prepared.model();
        self.mock.reset()?;
        let creds = self.credentials(model, case.scenario == Scenario::Unauthorized)?;
        self.precreate(model, case, &creds)?;
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
            let (call, crashed) = self.call(model, &creds, &case.input)?;
            if crashed.is_some() {
                stderr = crashed;
            }
            calls.push(call);
        }
        let ctx = Context {
            vendor: model,
            schema: prepared.schema(),
            credentials: &creds,
            client_timeout_ms: self.options.client_timeout_ms(),
            masked: self.mock.masks_secrets(),
        };
        let verdicts = judge::evaluate(&ctx, case, &calls);
        self.cases_run += 1;
        Ok(Executed { case: case.clone(), credentials: creds, calls, verdicts, stderr })
    }

    /// Creates what the case needs to exist first (the duplicate scenario's records).
    fn precreate(&self, model: &VendorModel, case: &Case, creds: &BTreeMap<String, String>) -> Result<(), RunError> {
        if case.precreate.is_empty() {
            return Ok(());
        }
        let body = if model.create().bulk {
            let entries = case.input.as_array().cloned().unwrap_or_default();
            Value::Array(case.precreate.iter().filter_map(|&i| entries.get(i).cloned()).collect())
        } else {
            case.input.clone()
        };
        let request = model.expected_request(creds, &body);
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

    /// One create_client; a crash or time-out restarts the client (the call records why).
    fn call(
        &mut self,
        model: &VendorModel,
        creds: &BTreeMap<String, String>,
        input: &Value,
    ) -> Result<(Call, Option<String>), RunError> {
        self.seq += 1;
        let request = CreateClient {
            cmd: "create_client".into(),
            seq: self.seq,
            vendor: model.name().to_owned(),
            base_url: self.mock.base_url(),
            credentials: creds.clone(),
            input: input.clone(),
            timeout_ms: Some(self.options.client_timeout_ms()),
        };
        let started = Instant::now();
        let result = self.driver.create_client(&request);
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (reply, crashed) = match result {
            Ok(reply) => {
                self.consecutive_crashes = 0;
                (Ok(reply.to_json()), None)
            }
            Err(e) if e.is_crash() => {
                let stderr = self.driver.stderr_tail();
                self.consecutive_crashes += 1;
                if self.consecutive_crashes >= 3 {
                    return Err(RunError::Harness(HarnessError::Protocol(format!(
                        "the client failed 3 creates in a row, the last with: {e}"
                    ))));
                }
                let ready = self.driver.start().map_err(RunError::Harness)?;
                self.ready = Some(ready);
                self.emit(&Event::HarnessRestarted { reason: e.to_string(), stderr_tail: stderr.clone() });
                (Err(e.to_string()), Some(stderr))
            }
            Err(e) => return Err(RunError::Harness(e)),
        };
        let entries: Vec<Entry> = self.mock.journal()?;
        Ok((Call { request, reply, entries, elapsed_ms }, crashed))
    }
}
