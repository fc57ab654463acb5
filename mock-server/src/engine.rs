//! The request path: route → read → auth → parse → validate → state → respond → journal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, Method, Version};
use http_body_util::{BodyExt, Limited};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::auth::{self, CredentialList, HeaderCase};
use crate::error::{Answer, Rejection, Shape, clash_context};
use crate::fault::{ConnControl, Effect, Fault, Faults};
use crate::journal::{Entry, Journal, Outcome, Violation};
use crate::rawhead::RawHeads;
use crate::spec::{Action, Operation, Specs, Vendor};
use crate::state::{Created, Determinism, Store};

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
    /// How many requests the journal keeps (the oldest go first).
    pub journal_size: usize,
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
            journal_size: 10_000,
        }
    }
}

/// One mock: the vendors' specs, their state and the journal.
#[derive(Debug)]
pub struct Mock {
    pub(crate) specs: Specs,
    pub(crate) config: Config,
    store: Store,
    journal: Journal,
    faults: Faults,
}

impl Mock {
    /// A mock serving `specs`, with empty state.
    pub fn new(specs: Specs, config: Config) -> Arc<Self> {
        let determinism = config.seed.map_or(Determinism::Real, Determinism::Seeded);
        Arc::new(Self {
            store: Store::new(&specs.vendors, determinism),
            journal: Journal::new(config.journal_size),
            faults: Faults::new(config.seed),
            specs,
            config,
        })
    }

    /// The specs served.
    pub fn specs(&self) -> &Specs {
        &self.specs
    }

    /// The journalled requests, oldest first.
    pub fn journal(&self) -> Vec<Entry> {
        self.journal.entries()
    }

    /// Empties the journal.
    pub fn clear_journal(&self) {
        self.journal.clear();
    }

    /// Forgets all state, journal and faults, of every vendor (`None`) or one.
    pub fn reset(&self, vendor: Option<&str>) {
        for v in self.specs.vendors.iter().filter(|v| vendor.is_none_or(|n| n == v.name)) {
            self.store.reset(&v.name);
        }
        if vendor.is_none() {
            self.journal.clear();
            self.faults.clear();
        }
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

    /// A vendor's records as `{collection: [record, …]}`.
    pub fn records(&self, vendor: &str) -> Option<Value> {
        self.specs.vendor(vendor).map(|v| json!(self.store.records(&v.name)))
    }
}

/// Axum handler for every vendor route (the router's fallback).
pub(crate) async fn handle(State(mock): State<Arc<Mock>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let (raw_names, header_case) = raw_header_names(&parts);
    let routed = route(&mock.specs, &parts.method, parts.uri.path());
    let operation = routed.as_ref().ok().map(|(_, op)| op.id.clone());
    let vendor = match &routed {
        Ok((v, _)) | Err((Some(v), _)) => Some(Arc::clone(v)),
        Err((None, _)) => None,
    };
    let span = tracing::info_span!("request", vendor = vendor.as_ref().map_or("-", |v| v.name.as_str()));
    let (bytes, result) = async {
        match routed {
            Ok((vendor, op)) => serve(&mock, vendor, op, &parts, raw_names.as_deref(), body).await,
            Err((_, rejection)) => (Vec::new(), Err(rejection)),
        }
    }
    .instrument(span.clone())
    .await;
    let (answer, outcome) = match result {
        Ok(done) => done,
        Err(rejection) => {
            let answer = match &vendor {
                Some(v) => rejection.render(v),
                None => Answer::json(http::StatusCode::NOT_FOUND, json!({"error": rejection.to_string()})),
            };
            (answer, rejection.outcome())
        }
    };
    span.in_scope(|| {
        tracing::info!(method = %parts.method, path = parts.uri.path(), status = answer.status.as_u16(), outcome = outcome.label(), "answered");
    });
    mock.journal.record(Entry {
        seq: 0,
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        vendor: vendor.as_ref().map(|v| v.name.clone()),
        operation,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        version: format!("{:?}", parts.version),
        headers: headers_as_sent(&parts.headers, raw_names.as_deref()),
        header_case,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        status: if answer.shape == Shape::Nothing { 0 } else { answer.status.as_u16() },
        response: answer.body.clone(),
        outcome,
        duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    });
    answer.into_response()
}

/// A routed request, from its body to its answer. Returns the body bytes for the journal.
async fn serve(
    mock: &Mock,
    vendor: &Arc<Vendor>,
    op: &Operation,
    parts: &Parts,
    raw_names: Option<&[String]>,
    body: Body,
) -> (Vec<u8>, Result<(Answer, Outcome), Rejection>) {
    let bytes = match read_body(body, &parts.headers, &mock.config).await {
        Ok(bytes) => bytes,
        Err(rejection) => return (Vec::new(), Err(rejection)),
    };
    let effects = mock.faults.take(&vendor.name, &op.path, &auth::peek(vendor, parts));
    if let Some(effect) = crate::fault::delay_then_decide(effects).await {
        return (bytes.clone(), Ok(fault_answer(vendor, op, parts, &bytes, effect)));
    }
    let result = (|| {
        let allow = mock.config.credentials.as_ref();
        let creds = auth::authenticate(vendor, op, parts, raw_names, mock.config.header_case, allow)?;
        if op.action == Action::ListTenants {
            let tenants = auth::tenants_for(vendor, &creds, allow);
            let outcome = Outcome::Listed { count: tenants.len() };
            return Ok((Answer::from_template(&op.success, &json!({ "tenants": tenants })), outcome));
        }
        let mut body = parse_json(&parts.headers, &bytes)?;
        validate(op, &body)?;
        if let Some(schema) = &op.request_schema {
            apply_defaults(schema, &mut body);
        }
        let created = mock.store.create(vendor, op, &creds, body).map_err(Rejection::Duplicate)?;
        Ok(respond(vendor, op, created))
    })();
    (bytes, result)
}

fn respond(vendor: &Vendor, op: &Operation, created: Created) -> (Answer, Outcome) {
    let generated = |record: &Value| {
        let ids: serde_json::Map<String, Value> = op
            .ids
            .iter()
            .flat_map(|rule| crate::state::values_at(record, &rule.path))
            .map(|(path, v)| (path, v.clone()))
            .collect();
        Value::Object(ids)
    };
    match created {
        Created::One(record) => {
            let outcome = Outcome::Created { collection: op.collection.clone(), ids: generated(&record) };
            (Answer::from_template(&op.success, &json!({ "record": record })), outcome)
        }
        Created::Bulk(records, clashes) => {
            let failed: Vec<Value> = clashes
                .iter()
                .map(|c| {
                    let t = vendor.errors.get(&c.error).expect("spec loading checks unique error templates");
                    Answer::from_template(t, &json!({ "error": clash_context(c) })).body
                })
                .collect();
            let outcome = Outcome::Bulk {
                created: records.len(),
                failed: clashes.iter().map(|c| json!({"index": c.index, "field": c.field, "value": c.value})).collect(),
            };
            (Answer::from_template(&op.success, &json!({ "created": records, "failed": failed })), outcome)
        }
    }
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
            let template = vendor.errors.get("rate_limited").expect("spec loading checks it");
            let mut answer =
                Answer::from_template(template, &json!({ "retry_after": retry_after, "limit": 60, "reset": reset }));
            if !answer.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("retry-after")) {
                answer.headers.push(("retry-after".into(), retry_after.to_string()));
            }
            answer
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
    let asked = format!("{method} {path}");
    let nearest = ops().min_by_key(|(_, op)| strsim::levenshtein(&asked, &format!("{} {}", op.method, op.path)));
    let nearest_name = nearest.map(|(_, op)| format!("{} {}", op.method, op.path)).unwrap_or_default();
    Err((
        nearest.map(|(v, _)| v),
        Rejection::Unrouted { method: method.to_string(), path: path.to_owned(), nearest: nearest_name },
    ))
}

async fn read_body(body: Body, headers: &HeaderMap, config: &Config) -> Result<Vec<u8>, Rejection> {
    let declared = headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.body_limit as u64) {
        return Err(Rejection::TooLarge(config.body_limit));
    }
    let collected = tokio::time::timeout(config.body_timeout, Limited::new(body, config.body_limit).collect()).await;
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
        let sent = if content_type.is_empty() { "none".to_owned() } else { format!("`{content_type}`") };
        return Err(Rejection::Malformed(format!("Content-Type must be application/json (sent: {sent})")));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::Malformed("the request body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| Rejection::Malformed(format!("invalid JSON: {e}")))
}

fn validate(op: &Operation, body: &Value) -> Result<(), Rejection> {
    let Some(validator) = &op.validator else { return Ok(()) };
    let violations: Vec<Violation> = validator.iter_errors(body).map(|e| violation(&e)).collect();
    if violations.is_empty() { Ok(()) } else { Err(Rejection::Invalid(violations)) }
}

/// A schema error as a field path and a sentence.
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
            let f = join(&field, property.as_str().unwrap_or_default());
            (f.clone(), format!("{f} is required"))
        }
        K::AdditionalProperties { unexpected } => {
            let f = join(&field, unexpected.first().map(String::as_str).unwrap_or_default());
            (f.clone(), format!("{f} is not allowed"))
        }
        kind => {
            let name = if field.is_empty() { "body".to_owned() } else { field.clone() };
            let what = match kind {
                K::Type { kind: TypeKind::Single(t) } => format!("must be of type {t}"),
                K::Type { kind: TypeKind::Multiple(ts) } => format!("must be one of the types {ts:?}"),
                K::Format { format } => format!("must be a valid {format}"),
                K::Minimum { limit } => format!("must be greater than or equal to {limit}"),
                K::Enum { options } => format!("must be one of {options}"),
                K::MinItems { limit } => format!("must contain at least {limit} item(s)"),
                K::MinLength { .. } => "must not be empty".to_owned(),
                K::Pattern { .. } => "is not in the expected format".to_owned(),
                K::Constant { expected_value } => format!("must be {expected_value}"),
                _ => format!("is invalid: {e}"),
            };
            let message = format!("{name} {what}");
            (name, message)
        }
    };
    Violation { field, message }
}

/// Fills in the schema's `default`s for absent properties, recursing into objects and arrays.
fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, prop) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
                match (map.get_mut(name), prop.get("default")) {
                    (Some(child), _) => apply_defaults(prop, child),
                    (None, Some(default)) => {
                        map.insert(name.clone(), default.clone());
                    }
                    (None, None) => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                items.iter_mut().for_each(|item| apply_defaults(item_schema, item));
            }
        }
        _ => {}
    }
}

/// The request's header names as they were on the wire, when they can be known.
fn raw_header_names(parts: &Parts) -> (Option<Vec<String>>, &'static str) {
    if parts.version >= Version::HTTP_2 {
        return (None, "lowercase");
    }
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    match parts.extensions.get::<RawHeads>().and_then(|h| h.pop_matching(parts.method.as_str(), target)) {
        Some(head) => (Some(head.names), "raw"),
        None => (None, "unavailable"),
    }
}

/// Name/value pairs in wire order with wire case when known, else in the map's order.
fn headers_as_sent(headers: &HeaderMap, raw: Option<&[String]>) -> Vec<(String, String)> {
    let text = |v: &http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    match raw {
        Some(names) => {
            let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
            names
                .iter()
                .map(|name| {
                    let lower = name.to_ascii_lowercase();
                    let nth = seen.entry(lower.clone()).or_insert(0);
                    let value = headers.get_all(lower.as_str()).iter().nth(*nth).map(text).unwrap_or_default();
                    *nth += 1;
                    (name.clone(), value)
                })
                .collect()
        }
        None => headers.iter().map(|(n, v)| (n.as_str().to_owned(), text(v))).collect(),
    }
}
