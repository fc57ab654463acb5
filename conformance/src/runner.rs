//! Running the suite: for each vendor and scenario, proptest generates inputs, each case is set
//! up on the mock (reset, pre-created duplicates, magic credentials, injected faults), sent to the
//! client, and judged; the first failure is shrunk to a minimal counterexample.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestError, TestRunner};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vendor_mock::{DEFAULT_REVISION, Effect, Fault, Specs};

use crate::checks::{self, Call, Verdict, Verdicts, mask};
use crate::error::{MockError, RunError};
use crate::generate::{Broken, Generator, rng};
use crate::harness::{Client, Driver};
use crate::http1;
use crate::mock::{HttpMock, InProcessMock, JournalEntry, MockAccess};
use crate::properties::{self as p, Property};
use crate::protocol::{CreateClient, Implementation, ProtocolSchema, Ready};
use crate::report::{self, Event, Failure, PropertyResult, RunReport, Status, VendorResult};
use crate::revisions::{self, RevisionSelection, Target};
use crate::vendor::VendorModel;

/// How a case is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// A valid input, fresh credentials: success.
    Create,
    /// Some of the input pre-created by the suite: duplicate (per entry for a bulk vendor).
    Duplicate,
    /// The same input twice.
    Sequence,
    /// An `expired…` credential: 401.
    Unauthorized,
    /// An input breaking one schema constraint.
    Validation,
    /// An injected 429.
    RateLimited,
    /// An injected 5xx.
    ServerError,
    /// A reset connection or an empty reply.
    Transport,
    /// A non-JSON or truncated body.
    Garbage,
}

impl Scenario {
    pub const ALL: [Self; 9] = [
        Self::Create,
        Self::Duplicate,
        Self::Sequence,
        Self::Unauthorized,
        Self::Validation,
        Self::RateLimited,
        Self::ServerError,
        Self::Transport,
        Self::Garbage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Duplicate => "duplicate",
            Self::Sequence => "sequence",
            Self::Unauthorized => "unauthorized",
            Self::Validation => "validation",
            Self::RateLimited => "rate_limited",
            Self::ServerError => "server_error",
            Self::Transport => "transport",
            Self::Garbage => "garbage",
        }
    }
}

/// One generated case: everything needed to run it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub scenario: Scenario,
    /// The request body the client is asked to send.
    pub input: Value,
    /// Entries the suite creates first (a bulk vendor: their indexes; otherwise `[0]`, the input).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub precreate: Vec<usize>,
    /// The fault the mock answers with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Effect>,
    /// The constraint a negative input breaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<Broken>,
}

/// Which vendors to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VendorSelection {
    All,
    Named(Vec<String>),
}

impl VendorSelection {
    /// `all` or a comma-separated list.
    pub fn parse(s: &str) -> Self {
        if s.trim() == "all" {
            Self::All
        } else {
            Self::Named(s.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect())
        }
    }
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub vendors: VendorSelection,
    /// The contract revisions to check (`--revision`; default: each vendor's default revision).
    /// The in-process mock serves the chosen revisions and the suite reads the same documents
    /// (schemas, credential parts, answer shapes). An external mock (`mock_url`) can only be
    /// checked on the default revisions.
    pub revisions: RevisionSelection,
    /// Cases per scenario per vendor.
    pub cases: u32,
    pub seed: u64,
    /// How long the suite waits for each answer line.
    pub timeout: Duration,
    /// The time-out the client is told to give its own HTTP exchange (`timeout_ms`).
    pub client_timeout: Duration,
    /// Check every message against protocol.schema.json.
    pub validate_protocol: bool,
    /// Spec folder (default: the specs embedded in vendor-mock).
    pub specs: Option<PathBuf>,
    /// An external mock with the admin API (default: one in-process).
    pub mock_url: Option<String>,
    /// Where failures are saved as replay files (none: not saved).
    pub replay_dir: Option<PathBuf>,
    /// How the client is named in the printed replay command (`exec:python3 h.py`).
    pub client_label: String,
    /// Most shrink steps per failure.
    pub max_shrink_iters: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            vendors: VendorSelection::All,
            revisions: RevisionSelection::Default,
            cases: 16,
            seed: 0,
            timeout: Duration::from_secs(10),
            client_timeout: Duration::from_secs(5),
            validate_protocol: false,
            specs: None,
            mock_url: None,
            replay_dir: None,
            client_label: "exec:CMD".into(),
            max_shrink_iters: 256,
        }
    }
}

/// The mock of one round: an external one (`mock_url`, default revisions only), or one
/// in-process serving `picks` (the non-default revisions of the round).
pub fn start_mock(
    specs: &Specs,
    options: &RunOptions,
    picks: &[(String, String)],
) -> Result<Box<dyn MockAccess>, RunError> {
    match &options.mock_url {
        Some(_) if !picks.is_empty() => Err(RunError::Usage(external_revision_message(picks))),
        Some(url) => {
            let mock = HttpMock::connect(url)?;
            // The suite reads the default documents: refuse a mock serving another revision for a
            // vendor this run checks, rather than judge it against the wrong contract.
            let selected = |v: &str| match &options.vendors {
                VendorSelection::All => true,
                VendorSelection::Named(names) => names.iter().any(|n| n == v),
            };
            let other: Vec<String> = mock
                .served_revisions()
                .iter()
                .filter(|(v, r)| selected(v) && r.as_str() != vendor_mock::DEFAULT_REVISION)
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
        None => Ok(Box::new(InProcessMock::start_with(specs.clone(), options.seed, picks.to_vec())?)),
    }
}

fn external_revision_message(picks: &[(String, String)]) -> String {
    let named: Vec<String> = picks.iter().map(|(v, r)| format!("{v}@{r}")).collect();
    format!(
        "--mock-url: only the default revisions can be checked against an external mock, not {}; \
         drop --mock-url (the in-process mock serves any revision) or drop --revision",
        named.join(", ")
    )
}

/// Loads the specs a run uses.
pub fn load_specs(dir: Option<&std::path::Path>) -> Result<Specs, RunError> {
    let specs = match dir {
        Some(dir) => Specs::from_dir(dir),
        None => Specs::embedded(),
    };
    specs.map_err(|e| RunError::Spec(crate::error::SpecError::new("(specs)", e.to_string())))
}

/// Per vendor, what the runner compiled from its spec.
struct Prepared {
    model: VendorModel,
    generator: Generator,
    schema: jsonschema::Validator,
}

#[derive(Debug, Default, Clone)]
struct Tally {
    pass: u32,
    fail: u32,
    skip: Option<String>,
}

/// A case run once, with everything the report needs.
#[derive(Debug, Clone)]
pub struct Executed {
    pub case: Case,
    pub credentials: BTreeMap<String, String>,
    pub calls: Vec<Call>,
    pub verdicts: Verdicts,
    /// The harness's stderr tail, when it crashed during the case.
    pub stderr: Option<String>,
}

/// Drives one client against one mock.
pub struct Session<'a> {
    options: RunOptions,
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

    pub fn mock_description(&self) -> String {
        self.mock.describe()
    }

    /// Points the session at another mock (one serving other revisions); returns the old one.
    pub fn replace_mock(&mut self, mock: Box<dyn MockAccess>) -> Box<dyn MockAccess> {
        std::mem::replace(&mut self.mock, mock)
    }

    pub fn client_description(&self) -> String {
        self.driver.describe()
    }

    fn emit(&mut self, event: &Event) {
        (self.events)(event);
    }

    /// Fresh credentials for a case: random values, tenants looked up over HTTP, and for the
    /// unauthorized scenario the spec's reject prefix on every non-tenant part.
    fn credentials(&mut self, model: &VendorModel, unauthorized: bool) -> Result<BTreeMap<String, String>, RunError> {
        self.credential_counter += 1;
        let mut creds = BTreeMap::new();
        for part in model.credentials().iter().filter(|p| !p.tenant) {
            let h = fnv(&format!("{}/{}/{}/{}", self.options.seed, model.name(), part.name, self.credential_counter));
            creds.insert(part.name.clone(), format!("ck_{h:016x}"));
        }
        if model.credentials().iter().any(|p| p.tenant) {
            let request = model
                .lookup_request(&creds)
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

    /// Sets a case up on the mock, runs it against the client, and judges it.
    pub fn execute(&mut self, prepared: &PreparedVendor, case: &Case) -> Result<Executed, RunError> {
        let model = &prepared.0.model;
        self.mock.reset()?;
        let creds = self.credentials(model, case.scenario == Scenario::Unauthorized)?;
        if !case.precreate.is_empty() {
            let body = if model.create().bulk {
                let entries = case.input.as_array().cloned().unwrap_or_default();
                Value::Array(case.precreate.iter().filter_map(|&i| entries.get(i).cloned()).collect())
            } else {
                case.input.clone()
            };
            let request = model.expected_request(&creds, &body);
            http1::send(&self.mock.base_url(), &request, self.options.timeout)
                .map_err(|e| MockError::Setup(format!("pre-create: {e}")))?;
            let journal = self.mock.journal()?;
            let accepted = journal.last().is_some_and(|e| {
                e.outcome_kind() == "created"
                    || (e.outcome_kind() == "bulk"
                        && e.outcome.get("failed").and_then(Value::as_array).is_some_and(Vec::is_empty))
            });
            if !accepted {
                let outcome = journal.last().map(|e| e.outcome.to_string()).unwrap_or_default();
                return Err(MockError::Setup(format!(
                    "the mock did not accept the suite's own pre-create for {}: {outcome}",
                    model.name()
                ))
                .into());
            }
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
            let (call, crashed) = self.call(model, &creds, &case.input)?;
            if crashed.is_some() {
                stderr = crashed;
            }
            calls.push(call);
        }
        let ctx = checks::Context {
            vendor: model,
            schema: &prepared.0.schema,
            credentials: &creds,
            client_timeout_ms: u64::try_from(self.options.client_timeout.as_millis()).unwrap_or(u64::MAX),
            masked: self.mock.masks_secrets(),
        };
        let verdicts = checks::evaluate(&ctx, case, &calls);
        self.cases_run += 1;
        Ok(Executed { case: case.clone(), credentials: creds, calls, verdicts, stderr })
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
            timeout_ms: Some(u64::try_from(self.options.client_timeout.as_millis()).unwrap_or(u64::MAX)),
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
                    return Err(RunError::Harness(crate::error::HarnessError::Protocol(format!(
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
        let entries: Vec<JournalEntry> = self.mock.journal()?;
        Ok((Call { request, reply, entries, elapsed_ms }, crashed))
    }
}

/// A vendor ready to run (opaque outside the runner).
pub struct PreparedVendor(Prepared);

impl std::fmt::Debug for PreparedVendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreparedVendor({})", self.0.model.name())
    }
}

impl PreparedVendor {
    /// Reads a vendor's spec (the revision the specs serve) and compiles its generator and schema.
    pub fn new(specs: &Specs, vendor: &str) -> Result<Self, RunError> {
        let revision = specs.served_revision(vendor).unwrap_or(DEFAULT_REVISION).to_owned();
        Self::at(specs, vendor, &revision)
    }

    /// Reads one revision of a vendor's spec and compiles its generator and schema.
    pub fn at(specs: &Specs, vendor: &str, revision: &str) -> Result<Self, RunError> {
        if !specs.vendor_names().iter().any(|v| v == vendor) {
            return Err(RunError::Usage(format!("no vendor `{vendor}` in the specs")));
        }
        let spec = specs.revision(vendor, revision).map_err(|e| RunError::Usage(e.message))?;
        let model = VendorModel::new(std::sync::Arc::clone(spec))?;
        let generator = Generator::for_vendor(&model)
            .map_err(|e| RunError::Spec(crate::error::SpecError::new(vendor, e.to_string())))?;
        let schema = crate::schema::compile(model.schema())
            .map_err(|e| RunError::Spec(crate::error::SpecError::new(vendor, e)))?;
        Ok(Self(Prepared { model, generator, schema }))
    }

    pub fn model(&self) -> &VendorModel {
        &self.0.model
    }

    /// Why a scenario cannot run for this vendor, if it cannot.
    fn unsupported(&self, scenario: Scenario) -> Option<String> {
        let m = &self.0.model;
        match scenario {
            Scenario::Duplicate | Scenario::Sequence if m.create().unique.is_empty() => {
                Some("the spec declares no uniqueness rule".into())
            }
            Scenario::Unauthorized if m.reject_prefixes().is_empty() => {
                Some("the spec declares no rejected credential prefix".into())
            }
            _ => None,
        }
    }

    /// The strategy of a scenario's cases.
    fn strategy(&self, scenario: Scenario) -> BoxedStrategy<Case> {
        let valid = self.0.generator.valid();
        let bulk = self.0.model.create().bulk;
        let plain = move |input: Value| Case { scenario, input, precreate: Vec::new(), fault: None, broken: None };
        match scenario {
            Scenario::Create | Scenario::Sequence | Scenario::Unauthorized => valid.prop_map(plain).boxed(),
            Scenario::Duplicate => (valid, any::<u64>())
                .prop_map(move |(input, bits)| {
                    let precreate = if bulk {
                        let n = input.as_array().map_or(0, Vec::len).min(64);
                        let chosen: Vec<usize> = (0..n).filter(|i| bits >> i & 1 == 1).collect();
                        if chosen.is_empty() { vec![0] } else { chosen }
                    } else {
                        vec![0]
                    };
                    Case { precreate, ..plain(input) }
                })
                .boxed(),
            Scenario::Validation => self
                .0
                .generator
                .invalid()
                .prop_map(move |(input, broken)| Case {
                    scenario,
                    input,
                    precreate: Vec::new(),
                    fault: None,
                    broken: Some(broken),
                })
                .boxed(),
            Scenario::RateLimited | Scenario::ServerError | Scenario::Transport | Scenario::Garbage => {
                let effects: Vec<Effect> = match scenario {
                    Scenario::RateLimited => vec![Effect::RateLimited { retry_after: 30 }],
                    Scenario::ServerError => {
                        [500, 502, 503, 504].into_iter().map(|status| Effect::Status { status }).collect()
                    }
                    Scenario::Transport => vec![Effect::Reset, Effect::Empty],
                    _ => vec![Effect::Malformed, Effect::Truncated],
                };
                (valid, proptest::sample::select(effects))
                    .prop_map(move |(input, effect)| Case { fault: Some(effect), ..plain(input) })
                    .boxed()
            }
        }
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// State of one scenario's proptest run.
#[derive(Default)]
struct ScenarioState {
    target: Option<&'static str>,
    first: Option<Executed>,
    last_fail: Option<Executed>,
    abort: Option<RunError>,
    shrink_steps: u32,
    shrink_started: Option<Instant>,
    /// New failures of other properties met while shrinking (reported as found).
    side: Vec<(&'static str, Executed)>,
}

/// The longest a failure is shrunk.
const MAX_SHRINK_TIME: Duration = Duration::from_secs(30);

/// Runs the suite: every selected vendor, every scenario.
pub fn run(client: Client, options: RunOptions, events: &mut dyn FnMut(&Event)) -> RunReport {
    let started = Instant::now();
    let mut report = RunReport { seed: options.seed, cases: options.cases, ..RunReport::default() };
    let finish = |mut report: RunReport, events: &mut dyn FnMut(&Event)| {
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        report.exit_code = report.compute_exit_code();
        events(&report.finished_event());
        report
    };
    let fail = |mut report: RunReport, e: RunError, events: &mut dyn FnMut(&Event)| {
        report.error = Some((e.exit_code(), e.to_string()));
        finish(report, events)
    };
    let specs = match load_specs(options.specs.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(report, e, events),
    };
    let names = specs.vendor_names();
    let selected: Vec<String> = match &options.vendors {
        VendorSelection::All => names.clone(),
        VendorSelection::Named(list) => {
            if let Some(unknown) = list.iter().find(|v| !names.contains(v)) {
                let e = RunError::Usage(format!(
                    "no vendor `{unknown}` in the specs (known: {}, or all)",
                    names.join(", ")
                ));
                return fail(report, e, events);
            }
            list.clone()
        }
    };
    let targets = match revisions::resolve(&specs, &selected, &options.revisions) {
        Ok(t) => t,
        Err(m) => return fail(report, RunError::Usage(m), events),
    };
    // A run that includes another revision than the default names every target `vendor@revision`.
    let named = targets.iter().any(|t| t.revision != DEFAULT_REVISION);
    report.revisions_named = named;
    let label = |t: &Target| if named { t.qualified() } else { t.key() };
    let mut rounds: Vec<Vec<&Target>> = revisions::rounds(&targets);
    if rounds.is_empty() {
        rounds.push(Vec::new());
    }
    let mut prepared: BTreeMap<String, PreparedVendor> = BTreeMap::new();
    for t in targets.iter().filter(|t| t.skip.is_none()) {
        match PreparedVendor::at(&specs, &t.vendor, &t.revision) {
            Ok(p) => {
                prepared.insert(t.key(), p);
            }
            Err(e) => return fail(report, e, events),
        }
    }
    let mut mocks = Vec::new();
    let mut descriptions = Vec::new();
    for round in &rounds {
        let picks: Vec<(String, String)> = round
            .iter()
            .filter(|t| t.revision != DEFAULT_REVISION)
            .map(|t| (t.vendor.clone(), t.revision.clone()))
            .collect();
        match start_mock(&specs, &options, &picks) {
            Ok(mock) => {
                let serves: Vec<String> = picks.iter().map(|(v, r)| format!("{v}@{r}")).collect();
                descriptions.push(if serves.is_empty() {
                    mock.describe()
                } else {
                    format!("{} serving {}", mock.describe(), serves.join(" "))
                });
                mocks.push(mock);
            }
            Err(e) => return fail(report, e, events),
        }
    }
    let mut failures = Vec::new();
    let mut tallies: BTreeMap<(String, &'static str), Tally> = BTreeMap::new();
    let mut target_skips: BTreeMap<String, String> = BTreeMap::new();
    for t in &targets {
        if let Some(reason) = &t.skip {
            target_skips.insert(t.key(), reason.clone());
        }
    }
    let mut relay = |e: &Event| events(e);
    let result = (|| -> Result<(), RunError> {
        let mut mocks = mocks.into_iter();
        let first = mocks.next().ok_or_else(|| RunError::Usage("no mock to run against".into()))?;
        let mut session = Session::open(first, client, options.clone(), &mut relay)?;
        let ready = session.ready.clone().unwrap_or_else(|| Ready::new("?", "?", "", &[]));
        report.implementation = Some(ready.implementation.clone());
        report.client = session.client_description();
        report.mock = descriptions.join(", ");
        session.emit(&Event::RunStarted {
            seed: options.seed,
            cases: options.cases,
            client: session.client_description(),
            mock: report.mock.clone(),
            implementation: ready.implementation.clone(),
            vendors: targets.iter().map(label).collect(),
        });
        for t in targets.iter() {
            if let Some(reason) = &t.skip {
                let (vendor, revision) = (t.vendor.clone(), t.revision.clone());
                session.emit(&Event::VendorSkipped { vendor, revision, reason: reason.clone() });
            }
        }
        for (i, round) in rounds.iter().enumerate() {
            if i > 0
                && let Some(next) = mocks.next()
            {
                drop(session.replace_mock(next));
            }
            for target in round {
                let Some(vendor) = prepared.get(&target.key()) else { continue };
                let key = target.key();
                let name = target.vendor.clone();
                let supported = session.ready.as_ref().is_some_and(|r| r.vendors.contains(&name));
                if !supported {
                    let reason = format!("the client does not support {name} (its `ready` lists {:?})", ready.vendors);
                    session.emit(&Event::VendorSkipped {
                        vendor: name.clone(),
                        revision: target.revision.clone(),
                        reason: reason.clone(),
                    });
                    target_skips.insert(key, reason);
                    continue;
                }
                let mut reported = Vec::new();
                for scenario in Scenario::ALL {
                    if let Some(reason) = vendor.unsupported(scenario) {
                        for prop in properties_of(scenario) {
                            tallies.entry((key.clone(), prop.id)).or_default().skip.get_or_insert(reason.clone());
                        }
                        continue;
                    }
                    let mut found =
                        run_scenario(&mut session, vendor, scenario, &options, &mut tallies, &mut reported)?;
                    failures.append(&mut found);
                }
            }
        }
        report.cases_run = session.cases_run;
        session.close()
    })();
    if let Err(e) = result {
        report.error = Some((e.exit_code(), e.to_string()));
    }
    for target in &targets {
        let key = target.key();
        let skipped = target_skips.get(&key).cloned();
        let properties = p::ALL
            .iter()
            .map(|prop| {
                let t = tallies.get(&(key.clone(), prop.id)).cloned().unwrap_or_default();
                let (status, note) = if let Some(reason) = &skipped {
                    (Status::Skip, Some(reason.clone()))
                } else if t.fail > 0 {
                    (Status::Fail, None)
                } else if t.pass > 0 {
                    (Status::Pass, None)
                } else {
                    (Status::Skip, Some(t.skip.clone().unwrap_or_else(|| "not exercised".into())))
                };
                PropertyResult { id: prop.id.to_owned(), status, passed: t.pass, failed: t.fail, note }
            })
            .collect();
        report.vendors.push(VendorResult {
            name: target.vendor.clone(),
            revision: target.revision.clone(),
            label: label(target),
            skipped,
            properties,
        });
    }
    for r in &report.vendors {
        for prop in &r.properties {
            events(&Event::Property {
                vendor: r.name.clone(),
                revision: r.revision.clone(),
                property: prop.id.clone(),
                status: prop.status,
                passed: prop.passed,
                failed: prop.failed,
                note: prop.note.clone(),
            });
        }
    }
    report.failures = failures;
    finish(report, events)
}

/// The properties a scenario exercises (for skips).
fn properties_of(scenario: Scenario) -> Vec<&'static Property> {
    match scenario {
        Scenario::Duplicate => vec![&p::DUPLICATE],
        Scenario::Sequence => vec![&p::CREATE_THEN_DUPLICATE],
        Scenario::Unauthorized => vec![&p::UNAUTHORIZED],
        _ => Vec::new(),
    }
}

fn run_scenario(
    session: &mut Session<'_>,
    vendor: &PreparedVendor,
    scenario: Scenario,
    options: &RunOptions,
    tallies: &mut BTreeMap<(String, &'static str), Tally>,
    reported: &mut Vec<&'static str>,
) -> Result<Vec<Failure>, RunError> {
    let known = reported.clone();
    let name = vendor.model().name().to_owned();
    let revision = vendor.model().revision().to_owned();
    // `vendor` or `vendor@revision`: tallies and seeds (a default-revision run keeps its seeds).
    let key = vendor.model().target();
    session.emit(&Event::ScenarioStarted {
        vendor: name.clone(),
        revision: revision.clone(),
        scenario,
        cases: options.cases,
    });
    let config = ProptestConfig {
        cases: options.cases.max(1),
        // The closure below enforces the real limits (steps and time) by answering "passes"
        // without running the case; proptest's own would print to stderr.
        max_shrink_iters: options.max_shrink_iters.saturating_mul(8).saturating_add(10_000),
        max_shrink_time: 0,
        max_global_rejects: 4096,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let seed = fnv(&format!("{}/{key}/{}", options.seed, scenario.name()));
    let mut runner = TestRunner::new_with_rng(config, rng(seed));
    let strategy = vendor.strategy(scenario);
    let state = RefCell::new(ScenarioState::default());
    let session_cell = RefCell::new(session);
    let tallies_cell = RefCell::new(tallies);
    let result = runner.run(&strategy, |case| {
        let mut st = state.borrow_mut();
        if st.abort.is_some() {
            return Ok(());
        }
        let shrinking = st.target.is_some();
        if shrinking {
            let started = *st.shrink_started.get_or_insert_with(Instant::now);
            if st.shrink_steps >= options.max_shrink_iters || started.elapsed() > MAX_SHRINK_TIME {
                return Ok(());
            }
        }
        let case_started = Instant::now();
        let executed = match session_cell.borrow_mut().execute(vendor, &case) {
            Ok(e) => e,
            Err(e) => {
                st.abort = Some(e);
                return Ok(());
            }
        };
        let mut session = session_cell.borrow_mut();
        session.emit(&Event::Case {
            vendor: name.clone(),
            revision: revision.clone(),
            scenario,
            shrinking,
            reported: executed.calls.iter().map(report::reported_word).collect(),
            properties: executed.verdicts.0.iter().map(|(k, v)| (k.clone(), v.word().to_owned())).collect(),
            duration_ms: u64::try_from(case_started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        if !shrinking {
            let mut tallies = tallies_cell.borrow_mut();
            for (id, verdict) in &executed.verdicts.0 {
                let Some(prop) = p::by_id(id) else { continue };
                let t = tallies.entry((key.clone(), prop.id)).or_default();
                match verdict {
                    Verdict::Pass => t.pass += 1,
                    Verdict::Fail { .. } => t.fail += 1,
                    Verdict::Skip { reason } => {
                        t.skip.get_or_insert(reason.clone());
                    }
                }
            }
        }
        match st.target {
            // A property already reported for this vendor (by an earlier scenario) is counted,
            // not reported again: the scenario goes on looking for new failures.
            None => match executed.verdicts.failed().into_iter().find(|id| !known.contains(id)).as_ref() {
                Some(&first) => {
                    st.target = Some(first);
                    st.first = Some(executed.clone());
                    st.last_fail = Some(executed);
                    Err(TestCaseError::fail(first))
                }
                None => Ok(()),
            },
            Some(target) => {
                st.shrink_steps += 1;
                for id in executed.verdicts.failed() {
                    let first_failures = st.first.as_ref().map(|f| f.verdicts.failed()).unwrap_or_default();
                    let new = id != target && !known.contains(&id) && !first_failures.contains(&id);
                    if new && !st.side.iter().any(|(s, _)| *s == id) {
                        tallies_cell.borrow_mut().entry((key.clone(), id)).or_default().fail += 1;
                        st.side.push((id, executed.clone()));
                    }
                }
                if matches!(executed.verdicts.get(target), Some(Verdict::Fail { .. })) {
                    st.last_fail = Some(executed);
                    Err(TestCaseError::fail(target))
                } else {
                    Ok(())
                }
            }
        }
    });
    let session = session_cell.into_inner();
    let mut st = state.into_inner();
    if let Some(e) = st.abort.take() {
        return Err(e);
    }
    let minimal = match result {
        Ok(()) => return Ok(Vec::new()),
        Err(TestError::Fail(_, minimal)) => minimal,
        Err(TestError::Abort(reason)) => {
            return Err(RunError::Usage(format!("{key}/{}: generation gave up: {reason}", scenario.name())));
        }
    };
    let (Some(target), Some(first)) = (st.target, st.first.take()) else { return Ok(Vec::new()) };
    let shrunk = match st.last_fail.take() {
        Some(e) if e.case == minimal => e,
        _ => session.execute(vendor, &minimal)?,
    };
    let mut failures = Vec::new();
    let mut add = |session: &mut Session<'_>, id: &'static str, executed: &Executed, steps: u32| {
        let failure = report::failure(vendor.model(), id, executed, steps, &session.mock.base_url(), options);
        session.emit(&Event::Failure(Box::new(failure.clone())));
        failures.push(failure);
    };
    add(session, target, &shrunk, st.shrink_steps);
    reported.push(target);
    for id in first.verdicts.failed() {
        if !reported.contains(&id) {
            add(session, id, &first, 0);
            reported.push(id);
        }
    }
    for (id, executed) in std::mem::take(&mut st.side) {
        if !reported.contains(&id) {
            add(session, id, &executed, 0);
            reported.push(id);
        }
    }
    Ok(failures)
}

/// Runs one saved case again (`vendor-conformance replay`), on the revision it was found on
/// (`options.revisions` is not used).
pub fn replay(
    client: Client,
    file: &report::ReplayFile,
    options: RunOptions,
    events: &mut dyn FnMut(&Event),
) -> Result<(Executed, Option<Failure>, Implementation), RunError> {
    let specs = load_specs(options.specs.as_deref())?;
    let vendor = PreparedVendor::at(&specs, &file.vendor, &file.revision)?;
    let picks =
        if file.revision == DEFAULT_REVISION { Vec::new() } else { vec![(file.vendor.clone(), file.revision.clone())] };
    let mock = start_mock(&specs, &options, &picks)?;
    let mut session = Session::open(mock, client, options.clone(), events)?;
    let implementation = session.ready.as_ref().map(|r| r.implementation.clone());
    let executed = session.execute(&vendor, &file.case)?;
    let failure = match executed.verdicts.get(&file.property) {
        Some(Verdict::Fail { .. }) => {
            let id = p::by_id(&file.property).map_or("?", |p| p.id);
            Some(report::failure(vendor.model(), id, &executed, 0, &session.mock.base_url(), &options))
        }
        _ => None,
    };
    session.close()?;
    Ok((
        executed,
        failure,
        implementation.unwrap_or(Implementation { name: "?".into(), language: "?".into(), version: String::new() }),
    ))
}

/// Masks every credential value in a text.
pub(crate) fn mask_all(text: &str, credentials: &BTreeMap<String, String>) -> String {
    let mut secrets: Vec<&String> = credentials.values().filter(|v| v.len() >= 4).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.iter().fold(text.to_owned(), |t, s| t.replace(s.as_str(), &mask(s)))
}
