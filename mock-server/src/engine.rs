//! The request path: route → read → auth → parse → validate → state → respond → journal.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, Method, Version};
use http_body_util::{BodyExt, Limited};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::admin::seed::{SeedBatch, SeedData, SeedError};
use crate::auth::{self, CredentialList, HeaderCase};
use crate::error::{Answer, Rejection, Shape, clash_context};
use crate::fault::{ConnControl, Effect, Fault, Faults, RateLimiter, Verdict};
use crate::journal::{Entry, Journal, Outcome, Recorded, Texts, Violation};
use crate::rawhead::RawHeads;
use crate::spec::{Action, Operation, Specs, Template, Vendor};
use crate::state::{Clash, Created, Determinism, Full, IdSource, Refused, Store, Updated};

/// Settings of one mock server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Makes ids and timestamps deterministic.
    pub seed: Option<u64>,
    /// Whether case-exact header names are enforced over HTTP/1.1.
    pub header_case: HeaderCase,
    /// Accept only these credentials (otherwise any non-empty credential is its own account).
    pub credentials: Option<CredentialList>,
    /// Largest accepted body, in bytes.
    pub body_limit: usize,
    /// How long a client may take to send its body once the head has arrived.
    pub body_timeout: Duration,
    /// How long a client may take to send a request head.
    pub header_timeout: Duration,
    /// How long a connection may stay silent (no byte read or written) before it is closed.
    pub idle_timeout: Duration,
    /// How many requests the journal keeps (the oldest go first).
    pub journal_size: usize,
    /// How many bytes the journal's entries may take together (the oldest go first); each
    /// entry keeps at most 64 KiB of its body and of its answer.
    pub journal_bytes: usize,
    /// Most records one vendor's state holds; past it a create gets the vendor's server error.
    pub max_records: usize,
    /// Most bytes of records one vendor's state holds; past it a create gets the vendor's
    /// server error.
    pub state_bytes: usize,
    /// Keep secrets (credentials, passwords, tokens) readable in the journal and in the admin
    /// API's state listings; masked otherwise.
    pub journal_secrets: bool,
    /// Enforce the rate limits that specs declare in `x-mock.rate_limits`.
    pub rate_limits: bool,
    /// Require `Authorization: Bearer <token>` on the admin API (`/__admin`).
    pub admin_token: Option<String>,
    /// Host names (or addresses) the admin API answers besides the loopback ones; `*` answers
    /// any. See `admin::guard`.
    pub admin_hosts: Vec<String>,
    /// Contract revisions to serve instead of the default ones: `(vendor, revision)`.
    pub revisions: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: None,
            header_case: HeaderCase::Strict,
            credentials: None,
            body_limit: 1024 * 1024,
            body_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            journal_size: 10_000,
            journal_bytes: 64 * 1024 * 1024,
            max_records: 1_000_000,
            state_bytes: 256 * 1024 * 1024,
            journal_secrets: false,
            rate_limits: false,
            admin_token: None,
            admin_hosts: Vec::new(),
            revisions: Vec::new(),
        }
    }
}

/// One mock: the vendors' specs, their state and the journal.
#[derive(Debug)]
pub struct Mock {
    /// The specs served now (replaced by a reload).
    current: RwLock<Arc<Specs>>,
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) journal: Journal,
    pub(crate) faults: Faults,
    pub(crate) limiter: RateLimiter,
}

impl Mock {
    /// A mock serving `specs`, with empty state.
    pub fn new(specs: Specs, config: Config) -> Arc<Self> {
        let specs = choose_revisions(specs, &config.revisions);
        let determinism = config.seed.map_or(Determinism::Real, Determinism::Seeded);
        Arc::new(Self {
            store: Store::new(
                &specs.vendors,
                determinism,
                crate::state::Limits { records: config.max_records, bytes: config.state_bytes },
            ),
            journal: Journal::new(config.journal_size, config.journal_bytes),
            faults: Faults::new(config.seed),
            limiter: RateLimiter::default(),
            current: RwLock::new(Arc::new(specs)),
            config,
        })
    }

    /// The specs served now (the revisions chosen by the config; replaced by
    /// [`Mock::replace_specs`], as `--watch` does).
    pub fn specs(&self) -> Arc<Specs> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serves `specs` from the next request on. State is kept (it is keyed by vendor name), and
    /// so are the journal and the faults.
    pub fn replace_specs(&self, specs: Specs) {
        let specs = choose_revisions(specs, &self.config.revisions);
        self.store.ensure(&specs.vendors);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(specs);
    }

    /// The settings this mock was created with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The journalled requests, oldest first (secrets masked unless `journal_secrets`).
    pub fn journal(&self) -> Vec<Entry> {
        self.shown(self.journal.entries())
    }

    /// Masks the secrets entries carry, unless `journal_secrets`: done when the journal is read
    /// rather than on every request, which keeps the hot path short.
    pub(crate) fn shown(&self, mut entries: Vec<Entry>) -> Vec<Entry> {
        if let Some(secrets) = self.secrets() {
            entries.iter_mut().for_each(|entry| crate::mask::mask_entry(entry, &secrets));
        }
        entries
    }

    /// The secret names to mask in what the admin API shows, or `None` under `journal_secrets`.
    pub(crate) fn secrets(&self) -> Option<crate::mask::Secrets> {
        (!self.config.journal_secrets).then(|| crate::mask::Secrets::new(self.specs().secret_names()))
    }

    /// Empties the journal.
    pub fn clear_journal(&self) {
        self.journal.clear();
    }

    /// Forgets state, journal entries, faults and rate-limit counters: all of them (`None`), or
    /// those of one vendor (its records, its journal entries, the faults restricted to it).
    /// Id sequences, random ids and the seeded clock start again as at start (also fault ids and
    /// draws when everything is reset), so that a `--seed` run after a reset repeats exactly.
    pub fn reset(&self, vendor: Option<&str>) {
        match vendor {
            None => {
                for v in &self.specs().vendors {
                    self.store.reset(&v.name);
                }
                self.journal.clear();
                self.faults.restart(self.config.seed);
            }
            Some(vendor) => {
                self.store.reset(vendor);
                self.journal.forget(vendor, None);
                self.faults.forget(vendor, None);
            }
        }
        self.limiter.forget(vendor, None);
    }

    /// Forgets what one credential value (in any credential part) did at one vendor: the records
    /// it created (freeing their unique values), the journal entries that carried it, the faults
    /// restricted to it and its rate-limit counters. Returns how many records were forgotten.
    pub fn reset_credential(&self, vendor: &str, credential: &str) -> usize {
        self.journal.forget(vendor, Some(credential));
        self.faults.forget(vendor, Some(credential));
        self.limiter.forget(Some(vendor), Some(credential));
        self.store.reset_owner(vendor, credential)
    }

    /// Adds a fault; returns its id.
    pub fn inject(&self, fault: Fault) -> u64 {
        self.faults.add(fault)
    }

    /// The active faults.
    pub fn faults(&self) -> Vec<Fault> {
        self.faults.list()
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    /// Removes one fault; false if none has this id.
    pub fn remove_fault(&self, id: u64) -> bool {
        self.faults.remove(id)
    }

    /// A vendor's records as `{collection: [record, …]}`.
    pub fn records(&self, vendor: &str) -> Option<Value> {
        self.specs().vendor(vendor).map(|v| json!(self.store.records(&v.name)))
    }

    /// Inserts records into a vendor's state as if they had been created, through the same
    /// uniqueness index (so a test can start from "this e-mail already exists"). Returns the
    /// records as stored, with their generated ids.
    pub fn seed_records(&self, vendor: &str, batch: &SeedBatch) -> Result<Vec<Value>, SeedError> {
        crate::admin::seed::seed(self, vendor, batch)
    }

    /// Seeds every batch of a seed file (`--seed-data`); returns how many records were inserted.
    pub fn seed_data(&self, data: &SeedData) -> Result<usize, SeedError> {
        let mut count = 0;
        for (vendor, batches) in data.vendors() {
            for batch in batches {
                count += self.seed_records(vendor, batch)?.len();
            }
        }
        Ok(count)
    }
}

/// The specs serving the configured revisions; an unknown revision keeps the default one (with a
/// warning): callers that can refuse it (the CLI, `MockServer`) check with
/// [`Specs::with_revisions`] first.
fn choose_revisions(specs: Specs, picks: &[(String, String)]) -> Specs {
    match specs.with_revisions(picks) {
        Ok(chosen) => chosen,
        Err(e) => {
            tracing::warn!(error = %e, "revision not available; serving the default");
            specs
        }
    }
}

/// Axum handler for every vendor route (the router's fallback).
pub(crate) async fn handle(State(mock): State<Arc<Mock>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let (raw_names, mut header_case) = raw_header_names(&parts);
    // Issue 13: once the connection's raw-head recorder gave up, a case-exact header fails
    // closed and the connection is closed after this answer.
    // (HTTP/2 has no raw names to record: the recorder stops at its preface, by design.)
    let http1 = parts.version < Version::HTTP_2;
    let gave_up = if raw_names.is_none() && http1 { crate::rawhead::gave_up(&parts) } else { None };
    let sent = match (&raw_names, &gave_up) {
        (Some(names), _) => auth::SentNames::Raw(names),
        (None, Some(reason)) => {
            header_case = "unrecorded";
            auth::SentNames::GaveUp(reason)
        }
        (None, None) => auth::SentNames::Unknown,
    };
    let specs = mock.specs();
    let routed = route(&specs, &parts.method, parts.uri.path());
    // `GET /`, when no vendor serves it: the mock's own index (not journalled, like /__admin).
    if matches!(routed, Err((None, _))) && parts.uri.path() == "/" && parts.method == Method::GET {
        return crate::routes::index(&specs).into_response();
    }
    let routed_op = routed.as_ref().ok().and_then(|(v, op)| v.operations.iter().position(|o| std::ptr::eq(o, *op)));
    let vendor = match &routed {
        Ok((v, _)) | Err((Some(v), _)) => Some(Arc::clone(v)),
        Err((None, _)) => None,
    };
    // Every credential value the request carries, checked or not: for fault matching and the
    // journal's credential filter.
    let carried = vendor.as_ref().map(|v| auth::Carried::read(v, &parts)).unwrap_or_default();
    let span = tracing::info_span!("request", vendor = %vendor.as_ref().map_or("-", |v| v.name.as_str()));
    let served = async {
        match routed {
            Ok((vendor, op)) => serve(&mock, vendor, op, &parts, sent, &carried, body).await,
            Err((_, rejection)) => Served { bytes: Vec::new(), result: Err(rejection), headers: Vec::new() },
        }
    }
    .instrument(span.clone())
    .await;
    let (mut answer, outcome) = match served.result {
        Ok(done) => done,
        Err(rejection) => {
            let answer = match &vendor {
                Some(v) => rejection.render(v),
                None => crate::routes::neutral_not_found(&specs, &parts.method, parts.uri.path()),
            };
            (answer, rejection.outcome())
        }
    };
    answer.headers.extend(served.headers);
    // The recorder may also have given up while this request's body was read.
    let closed = gave_up.or_else(|| crate::rawhead::gave_up(&parts).filter(|_| http1)).map(|reason| {
        answer.headers.push(("connection".into(), "close".into()));
        format!("the raw-head recorder gave up ({reason}): no later request on this connection could have its header-name case checked")
    });
    span.in_scope(|| {
        tracing::info!(method = %parts.method, path = %parts.uri.path(), status = answer.status.as_u16(), outcome = %outcome.label(), "answered");
    });
    // What Texts will hold (header names have the same length whatever their case).
    let size = 1
        + 8 * carried.values().count()
        + 17
        + parts.uri.path_and_query().map_or(0, |p| p.as_str().len())
        + parts.headers.iter().map(|(n, v)| 8 + n.as_str().len() + v.len()).sum::<usize>()
        + 17
        + crate::journal::kept(served.bytes.len(), crate::journal::KEPT_BODY)
        + crate::journal::kept(answer.body.len(), crate::journal::KEPT_BODY);
    let buffer = mock.journal.buffer(size);
    let headers = raw_names.as_ref().map_or(parts.headers.len(), Vec::len);
    let mut texts = Texts::new(buffer, carried.values(), parts.uri.path(), parts.uri.query(), headers);
    headers_as_sent(&parts.headers, raw_names.as_deref(), &mut texts);
    let recorded = Recorded {
        seq: 0,
        at_ms: chrono::Utc::now().timestamp_millis(),
        vendor,
        operation: routed_op,
        method: parts.method,
        version: parts.version,
        header_case,
        status: if answer.shape == Shape::Nothing { 0 } else { answer.status.as_u16() },
        outcome,
        duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        texts: texts.finish(&served.bytes, &answer.body),
        connection_closed: closed.map(String::into_boxed_str),
    };
    mock.journal.record(recorded);
    answer.into_response()
}

/// What [`serve`] made of a routed request.
struct Served {
    /// The body as received, for the journal.
    bytes: Vec<u8>,
    result: Result<(Answer, Outcome), Rejection>,
    /// Headers for whatever the answer is (the rate-limit headers, once authenticated).
    headers: Vec<(String, String)>,
}

/// A routed request, from its body to its answer: faults, then a `Prefer` header, then
/// auth → rate limit → parse → validate → state.
async fn serve(
    mock: &Mock,
    vendor: &Arc<Vendor>,
    op: &Operation,
    parts: &Parts,
    sent: auth::SentNames<'_>,
    carried: &auth::Carried,
    body: Body,
) -> Served {
    let bytes = match read_body(body, &parts.headers, &mock.config).await {
        Ok(bytes) => bytes,
        Err(rejection) => return Served { bytes: Vec::new(), result: Err(rejection), headers: Vec::new() },
    };
    let effects = mock.faults.take(&vendor.name, &op.path, &carried.values().collect::<Vec<_>>());
    if let Some(effect) = crate::fault::delay_then_decide(effects).await {
        let result = Ok(fault_answer(vendor, op, parts, &bytes, effect));
        return Served { bytes, result, headers: Vec::new() };
    }
    if let Some((raw, preference)) = preference(&parts.headers) {
        let result = Ok(forced_answer(vendor, op, parts, &bytes, &raw, &preference));
        return Served { bytes, result, headers: Vec::new() };
    }
    let mut headers = Vec::new();
    let result = (|| {
        let allow = mock.config.credentials.as_ref();
        let creds = auth::authenticate(vendor, op, carried, sent, mock.config.header_case, allow)?;
        if let (true, Some(limits)) = (mock.config.rate_limits, &vendor.rate_limits)
            && let Some((_, key)) = creds.iter().find(|(name, _)| *name == limits.credential)
        {
            match mock.limiter.check(&vendor.name, limits, key) {
                Verdict::Pass { limit, remaining, reset } => {
                    let context = json!({ "limit": limit, "remaining": remaining, "reset": reset });
                    headers = crate::error::render_headers(&limits.headers, &context);
                }
                Verdict::Limited { limit, window_seconds, retry_after, reset } => {
                    let answer = rate_limited_answer(vendor, retry_after, Value::from(limit), reset);
                    return Ok((answer, Outcome::RateLimited { limit, window_seconds, retry_after }));
                }
            }
        }
        if op.action == Action::ListTenants {
            let tenants = auth::tenants_for(vendor, &creds, allow);
            let outcome = Outcome::Listed { count: tenants.len() };
            return Ok((Answer::from_template(&op.success, &context([("tenants", Value::from(tenants))])), outcome));
        }
        let mut body = parse_json(&parts.headers, &bytes)?;
        validate(op, &body)?;
        if !op.defaults.is_empty() {
            op.defaults.apply(&mut body);
        }
        if let (true, Some(schema)) = (op.strip_unknown, &op.request_schema) {
            strip_unknown(schema, &mut body);
        }
        if let Some(update) = &op.update_by
            && let Some(value) = body.get(&update.field).cloned()
        {
            return match mock.store.update(&vendor.name, op, update, &creds, body) {
                Ok(record) => {
                    let outcome = Outcome::Updated {
                        collection: op.collection.clone(),
                        field: update.field.clone(),
                        value: value.clone(),
                    };
                    Ok((Answer::from_template(&update.success, &context([("record", record)])), outcome))
                }
                Err(Updated::NotFound) => Err(Rejection::RecordNotFound {
                    template: update.not_found.clone(),
                    field: update.field.clone(),
                    value: Box::new(value),
                }),
                Err(Updated::Clash(clash)) => Err(Rejection::Duplicate(clash)),
            };
        }
        let created = mock.store.create(vendor, op, creds, body).map_err(|refused| match refused {
            Refused::Clash(clash) => Rejection::Duplicate(clash),
            Refused::Full(Full(limit)) => Rejection::StateFull(limit),
        })?;
        Ok(respond(vendor, op, created))
    })();
    Served { bytes, result, headers }
}

fn respond(vendor: &Vendor, op: &Operation, created: Created) -> (Answer, Outcome) {
    let generated = |record: &Value| {
        let ids: serde_json::Map<String, Value> =
            op.ids.iter().flat_map(|rule| rule.path.values(record)).map(|(path, v)| (path, v.clone())).collect();
        Value::Object(ids)
    };
    match created {
        Created::One(record) => {
            let outcome = Outcome::Created { collection: op.collection.clone(), ids: generated(&record) };
            (Answer::from_template(&op.success, &context([("record", record)])), outcome)
        }
        Created::Bulk(records, clashes) => {
            // Each failure through its compiled template (issue 13: a 1 MB bulk can hold 12,000
            // duplicates; rendering each through a `Value` template re-read every placeholder).
            let mut text = Vec::new();
            let failed: Vec<Value> = clashes
                .iter()
                .map(|c| {
                    let t = vendor.errors.get(&c.error).expect("spec loading checks unique error templates");
                    text.clear();
                    t.compiled().render_into(&context([("error", clash_context(c))]), &mut text);
                    serde_json::from_slice(&text).unwrap_or(Value::Null)
                })
                .collect();
            // The journal keeps the first failures only: no need to build the others.
            let kept = clashes.iter().take(crate::journal::KEPT_FAILURES + 1);
            let outcome = Outcome::Bulk {
                created: records.len(),
                failed: kept.map(|c| json!({"index": c.index, "field": c.field, "value": c.value})).collect(),
            };
            (
                Answer::from_template(
                    &op.success,
                    &context([("created", Value::from(records)), ("failed", Value::from(failed))]),
                ),
                outcome,
            )
        }
    }
}

/// A template context of named values. Built by hand: `json!` would deep-copy each value
/// through `serde_json::to_value`.
fn context<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect())
}

/// The vendor's `429`: its `rate_limited` template with `Retry-After` (added if the template
/// lacks it) and whatever `X-RateLimit-*` headers the template declares.
fn rate_limited_answer(vendor: &Vendor, retry_after: u64, limit: Value, reset: i64) -> Answer {
    let template = vendor.errors.get("rate_limited").expect("spec loading checks it");
    let context = json!({ "retry_after": retry_after, "limit": limit, "reset": reset, "remaining": 0 });
    let mut answer = Answer::from_template(template, &context);
    if !answer.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("retry-after")) {
        answer.headers.push(("retry-after".into(), retry_after.to_string()));
    }
    answer
}

/// The limit of a vendor's first rate-limit window (what `X-RateLimit-Limit` reports), if any.
fn first_limit(vendor: &Vendor) -> Value {
    vendor.rate_limits.as_ref().and_then(|l| l.windows.first()).map_or(Value::Null, |w| Value::from(w.limit))
}

/// The answer a decisive fault gives instead of the normal one.
fn fault_answer(vendor: &Vendor, op: &Operation, parts: &Parts, bytes: &[u8], effect: Effect) -> (Answer, Outcome) {
    let outcome = Outcome::Fault { effect: effect.clone() };
    let success_like = || {
        let record = serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null);
        Answer::from_template(&op.success, &json!({ "record": record, "created": [record] }))
    };
    let answer = match effect {
        Effect::Status { status } => {
            let by_status = vendor.errors.values().find(|t| t.status == status);
            let template = by_status.or_else(|| vendor.errors.get("server_error")).expect("spec loading checks it");
            let mut answer = Answer::from_template(template, &json!({ "error": { "message": "fault injected" } }));
            answer.status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            answer
        }
        Effect::RateLimited { retry_after } => {
            let reset = chrono::Utc::now().timestamp() + i64::try_from(retry_after).unwrap_or(0);
            rate_limited_answer(vendor, retry_after, first_limit(vendor), reset)
        }
        Effect::Reset | Effect::Empty => {
            if let Some(control) = parts.extensions.get::<Arc<ConnControl>>() {
                control.sabotage(effect == Effect::Reset);
            }
            Answer { shape: Shape::Nothing, ..success_like() }
        }
        Effect::Truncated => Answer { shape: Shape::Truncated, ..success_like() },
        Effect::Malformed => Answer { shape: Shape::Garbage, ..success_like() },
        Effect::Latency { .. } => success_like(),
    };
    (answer, outcome)
}

/// An answer asked for with a `Prefer` header (Prism's convention).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Preference {
    /// `Prefer: code=422`: the first template with this status.
    Code(u16),
    /// `Prefer: example=duplicate_email`: a template by name (`success`, `duplicate`, or an
    /// `x-mock.errors` name).
    Example(String),
}

/// The request's `code=` or `example=` preference (example wins if both are given), with its
/// text for the journal. Other preferences (`return=minimal`, …) are ignored, as RFC 7240 asks.
fn preference(headers: &HeaderMap) -> Option<(String, Preference)> {
    let mut code = None;
    let mut example = None;
    for value in headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()) {
        for item in value.split([',', ';']) {
            let Some((name, arg)) = item.split_once('=') else { continue };
            let (name, arg) = (name.trim(), arg.trim().trim_matches('"'));
            if name.eq_ignore_ascii_case("example") {
                example = example.or_else(|| Some((format!("example={arg}"), Preference::Example(arg.to_owned()))));
            } else if name.eq_ignore_ascii_case("code") {
                let parsed = arg.parse().map_or(Preference::Code(0), Preference::Code);
                code = code.or_else(|| Some((format!("code={arg}"), parsed)));
            }
        }
    }
    example.or(code)
}

/// The template a preference picks for an operation: its name and the template.
///
/// `code=N` looks, in order, at the success answer, `invalid`, `unauthorized`, `forbidden`, the
/// operation's uniqueness errors, then every other error template by name, and takes the first
/// with status N. `example=duplicate` is the error of the operation's first uniqueness rule;
/// `example=success` the success answer; any other name an `x-mock.errors` template.
fn preferred<'a>(vendor: &'a Vendor, op: &'a Operation, preference: &Preference) -> Option<(String, &'a Template)> {
    let error = |name: &str| vendor.errors.get_key_value(name).map(|(n, t)| (n.clone(), t));
    match preference {
        Preference::Example(name) if name == "success" => Some(("success".to_owned(), &op.success)),
        Preference::Example(name) if name == "duplicate" => op.unique.first().and_then(|rule| error(&rule.error)),
        Preference::Example(name) => error(name),
        Preference::Code(code) => {
            if op.success.status == *code {
                return Some(("success".to_owned(), &op.success));
            }
            let first = ["invalid", "unauthorized", "forbidden"].into_iter().map(str::to_owned);
            let unique = op.unique.iter().map(|r| r.error.clone());
            let rest = vendor.errors.keys().cloned();
            first.chain(unique).chain(rest).filter_map(|n| error(&n)).find(|(_, t)| t.status == *code)
        }
    }
}

/// The answer a `Prefer` header forces, rendered from the request (nothing is stored), or a
/// plain `400` naming the choices when the preference matches no template.
fn forced_answer(
    vendor: &Vendor,
    op: &Operation,
    parts: &Parts,
    bytes: &[u8],
    raw: &str,
    preference: &Preference,
) -> (Answer, Outcome) {
    let Some((name, template)) = preferred(vendor, op, preference) else {
        let mut statuses: Vec<u16> = vendor.errors.values().map(|t| t.status).chain([op.success.status]).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let mut examples = vec!["success".to_owned()];
        if !op.unique.is_empty() {
            examples.push("duplicate".to_owned());
        }
        examples.extend(vendor.errors.keys().cloned());
        let reason = format!(
            "`Prefer: {}` matches no answer of {} (codes: {}; examples: {})",
            crate::error::bounded(raw),
            op.id,
            statuses.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
            examples.join(", ")
        );
        let answer = Answer::json(http::StatusCode::BAD_REQUEST, json!({ "error": reason }));
        return (answer, Outcome::Malformed { reason });
    };
    let outcome = Outcome::Forced { preference: raw.to_owned(), template: name.clone() };
    let body = serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null);
    let entries = match body {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    if name == "rate_limited" {
        const RETRY_AFTER: u64 = 30;
        let reset = chrono::Utc::now().timestamp() + RETRY_AFTER as i64;
        return (rate_limited_answer(vendor, RETRY_AFTER, first_limit(vendor), reset), outcome);
    }
    // Ids from a throw-away source: a forced answer changes no state, not even a counter.
    let mut ids = IdSource::new(Determinism::Seeded(0));
    let created: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let mut record = entry.clone();
            if record.is_object() {
                op.ids.iter().for_each(|rule| ids.assign(&mut record, rule));
            }
            record
        })
        .collect();
    let message = format!("answer forced by `Prefer: {}`", crate::error::bounded(raw));
    let error = match op.unique.iter().find(|rule| rule.error == name) {
        Some(rule) => {
            let found = entries.first().and_then(|e| rule.path.values(e).into_iter().next());
            let (field, value) = found.map_or((rule.path.to_string(), String::new()), |(field, v)| {
                (field, v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            });
            let index = op.bulk.then_some(0);
            clash_context(&Clash { rule: rule.name.clone(), error: name.clone(), field, value, index })
        }
        None => json!({
            "message": message,
            "field": "body",
            "fields": { "body": message },
            "violations": [{ "field": "body", "message": message }],
        }),
    };
    let context = json!({
        "record": created.first().cloned().unwrap_or(Value::Null),
        "created": created,
        "failed": [],
        "tenants": [],
        "error": error,
        "nearest": format!("{} {}", op.method, op.path),
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
    });
    (Answer::from_template(template, &context), outcome)
}

/// The route for a request, or the rejection with the vendor whose shape it should take.
type Routed<'a> = Result<(&'a Arc<Vendor>, &'a Operation), (Option<&'a Arc<Vendor>>, Rejection)>;

fn route<'a>(specs: &'a Specs, method: &Method, path: &str) -> Routed<'a> {
    let trimmed = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let ops = || specs.vendors.iter().flat_map(|v| v.operations.iter().map(move |op| (v, op)));
    if let Some(found) = ops().find(|(_, op)| op.path == trimmed && op.method == method) {
        return Ok(found);
    }
    let same_path: Vec<_> = ops().filter(|(_, op)| op.path == trimmed).collect();
    if let Some((vendor, _)) = same_path.first() {
        let allowed = same_path.iter().map(|(_, op)| op.method.to_string()).collect();
        return Err((
            Some(vendor),
            Rejection::MethodNotAllowed { method: method.to_string(), path: path.to_owned(), allowed },
        ));
    }
    // An unknown path is the vendor's (its 404, its journal entry) only when it lies under one
    // of the vendor's path prefixes; otherwise nobody's: the mock answers its own 404.
    let owner = crate::routes::owner(specs, trimmed);
    let nearest = match owner {
        Some(vendor) => crate::routes::nearest_of(vendor, method, path),
        None => {
            let asked = nearest_probe(method, path);
            let nearest =
                ops().min_by_key(|(_, op)| strsim::levenshtein(&asked, &format!("{} {}", op.method, op.path)));
            nearest.map(|(_, op)| format!("{} {}", op.method, op.path))
        }
    };
    Err((
        owner,
        Rejection::Unrouted { method: method.to_string(), path: path.to_owned(), nearest: nearest.unwrap_or_default() },
    ))
}

/// What the nearest-route search compares with the routes: the method and at most the first
/// 128 characters of the path (issue 13: the edit distance costs the product of the lengths,
/// and a 60 KB path took 8 ms; no route is that long).
pub(crate) fn nearest_probe(method: &Method, path: &str) -> String {
    const LONGEST: usize = 128;
    let cut = path.char_indices().nth(LONGEST).map_or(path, |(at, _)| &path[..at]);
    format!("{method} {cut}")
}

async fn read_body(body: Body, headers: &HeaderMap, config: &Config) -> Result<Vec<u8>, Rejection> {
    let declared = headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.body_limit as u64) {
        return Err(Rejection::TooLarge(config.body_limit));
    }
    let mut collect = std::pin::pin!(Limited::new(body, config.body_limit).collect());
    // Most bodies have arrived with the head: taken without arming a timer, since arming one
    // takes the runtime's timer lock, which the worker threads then contend for.
    let collected = match futures_util::FutureExt::now_or_never(&mut collect) {
        Some(done) => Ok(done),
        None => tokio::time::timeout(config.body_timeout, collect).await,
    };
    match collected {
        Err(_) => Err(Rejection::Timeout),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Rejection::TooLarge(config.body_limit)),
        Ok(Err(e)) => Err(Rejection::Malformed(format!("the body could not be read: {e}"))),
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
    }
}

fn parse_json(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, Rejection> {
    let content_type = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media != "application/json" && !media.ends_with("+json") {
        let sent = if content_type.is_empty() {
            "none".to_owned()
        } else {
            format!("`{}`", crate::error::bounded(content_type))
        };
        return Err(Rejection::Malformed(format!("Content-Type must be application/json (sent: {sent})")));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::Malformed("the request body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| Rejection::Malformed(format!("invalid JSON: {e}")))
}

/// Bodies with more JSON values than this get only their first violation: jsonschema's
/// `iter_errors` computes every violation before it yields one (a 1 MB body of 340,000 empty
/// objects has 1.4 million), while `validate` stops at the first.
const ALL_VIOLATIONS_UP_TO: usize = 2_000;

/// The body against the request schema: at most [`crate::error::VIOLATION_LIMIT`] violations, found in time
/// and memory bounded by the body's size whatever it holds.
fn validate(op: &Operation, body: &Value) -> Result<(), Rejection> {
    let Some(validator) = &op.validator else { return Ok(()) };
    if validator.is_valid(body) {
        return Ok(());
    }
    let violations: Vec<Violation> = if values_at_most(body, ALL_VIOLATIONS_UP_TO) {
        validator.iter_errors(body).take(crate::error::VIOLATION_LIMIT).map(|e| violation(&e)).collect()
    } else {
        validator.validate(body).err().map(|e| violation(&e)).into_iter().collect()
    };
    let violations = violations.into_iter().map(bounded_violation).collect::<Vec<_>>();
    if violations.is_empty() { Ok(()) } else { Err(Rejection::Invalid(violations)) }
}

/// Whether `value` holds at most `budget` JSON values (it stops counting past the budget).
fn values_at_most(value: &Value, budget: usize) -> bool {
    fn count(value: &Value, left: &mut usize) -> bool {
        if *left == 0 {
            return false;
        }
        *left -= 1;
        match value {
            Value::Array(items) => items.iter().all(|v| count(v, left)),
            Value::Object(map) => map.values().all(|v| count(v, left)),
            _ => true,
        }
    }
    count(value, &mut { budget })
}

/// A violation whose field and message are at most 200 characters each (a message may quote
/// the value it refuses, which can be as long as the body).
fn bounded_violation(v: Violation) -> Violation {
    let cut = |text: String| match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    };
    Violation { field: cut(v.field), message: cut(v.message) }
}

/// A schema error as a field path and a sentence. The sentence names the field and what the
/// schema asks, never the value sent (issue 11: a 400 once repeated 201 objects); a field name
/// taken from the request is cut to `error::ECHO_LIMIT` characters.
fn violation(e: &jsonschema::ValidationError<'_>) -> Violation {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let mut field = String::new();
    for segment in e.instance_path().as_str().split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() {
            field.push_str(&format!("[{segment}]"));
        } else {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(&segment);
        }
    }
    let join = |field: &str, child: &str| if field.is_empty() { child.to_owned() } else { format!("{field}.{child}") };
    let (field, message) = match e.kind() {
        K::Required { property } => {
            let f = crate::error::bounded(&join(&field, property.as_str().unwrap_or_default()));
            (f.clone(), format!("{f} is required"))
        }
        K::AdditionalProperties { unexpected } => {
            let f = crate::error::bounded(&join(&field, unexpected.first().map(String::as_str).unwrap_or_default()));
            (f.clone(), format!("{f} is not allowed"))
        }
        kind => {
            let name = if field.is_empty() { "body".to_owned() } else { crate::error::bounded(&field) };
            let what = match kind {
                K::Type { kind: TypeKind::Single(t) } => format!("must be of type {t}"),
                K::Type { kind: TypeKind::Multiple(ts) } => format!("must be one of the types {ts:?}"),
                K::Format { format } => format!("must be a valid {format}"),
                K::Minimum { limit } => format!("must be greater than or equal to {limit}"),
                K::Maximum { limit } => format!("must be less than or equal to {limit}"),
                K::ExclusiveMinimum { limit } => format!("must be greater than {limit}"),
                K::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
                K::Enum { options } => format!("must be one of {options}"),
                K::MinItems { limit } => format!("must contain at least {limit} item(s)"),
                K::MaxItems { limit } => format!("must contain at most {limit} item(s)"),
                K::MinLength { .. } => "must not be empty".to_owned(),
                K::MaxLength { limit } => format!("must be at most {limit} characters long"),
                K::Pattern { .. } => "is not in the expected format".to_owned(),
                K::Constant { expected_value } => format!("must be {expected_value}"),
                // Never the error's own text: it quotes the instance.
                other => format!("is invalid (`{}`)", other.keyword()),
            };
            let message = format!("{name} {what}");
            (name, message)
        }
    };
    Violation { field, message }
}

/// Removes the properties a schema does not name, recursing into objects and arrays.
fn strip_unknown(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(known) = schema.get("properties").and_then(Value::as_object) {
                map.retain(|name, _| known.contains_key(name));
                for (name, child) in map.iter_mut() {
                    if let Some(child_schema) = known.get(name) {
                        strip_unknown(child_schema, child);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                items.iter_mut().for_each(|item| strip_unknown(item_schema, item));
            }
        }
        _ => {}
    }
}

/// The request's header names as they were on the wire, when they can be known.
///
/// Pops the connection's next recorded head: call it exactly once for every request served,
/// admin requests included, or later requests on the connection get the wrong names.
pub(crate) fn raw_header_names(parts: &Parts) -> (Option<Vec<String>>, &'static str) {
    if parts.version >= Version::HTTP_2 {
        return (None, "lowercase");
    }
    // Origin-form (`/path?q`) as most clients send it; absolute-form (`http://host/path`) through proxies.
    let target = match parts.uri.scheme() {
        Some(_) => parts.uri.to_string(),
        None => parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
    };
    match parts.extensions.get::<RawHeads>().and_then(|h| h.pop_matching(parts.method.as_str(), &target)) {
        Some(head) => (Some(head.names), "raw"),
        None => (None, "unavailable"),
    }
}

/// Name/value pairs in wire order with wire case when known, else in the map's order.
fn headers_as_sent(headers: &HeaderMap, raw: Option<&[String]>, texts: &mut Texts) {
    match raw {
        Some(names) => {
            for (i, name) in names.iter().enumerate() {
                // The value of the nth header of this name (names may repeat).
                let nth = names[..i].iter().filter(|n| n.eq_ignore_ascii_case(name)).count();
                let value = match http::HeaderName::from_bytes(name.as_bytes()) {
                    Ok(key) => headers.get_all(key).iter().nth(nth).map_or(&b""[..], http::HeaderValue::as_bytes),
                    Err(_) => b"",
                };
                texts.header(name.as_bytes(), value);
            }
        }
        None => headers.iter().for_each(|(n, v)| texts.header(n.as_str().as_bytes(), v.as_bytes())),
    }
}
