//! The request path of a vendor route, from the router to the journal: route, read the
//! body, then faults, `Prefer`, auth, rate limit, parse, validate, state and respond; the
//! answer and what happened are recorded before the answer goes out.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, Method, Version};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::answer::{Answer, Shape};
use crate::auth::{self};
use crate::body::{parse_json, read_body, strip_unknown, validate};
use crate::journal::entry::{HeaderCaseSeen, Outcome};
use crate::journal::recorded::{KEPT_BODY, Recorded, Texts, kept};
use crate::mock::Mock;
use crate::prefer::{forced_answer, preference};
use crate::rate_limit::Verdict;
use crate::rawhead::RawHeads;
use crate::rejection::Rejection;
use crate::respond::{context, fault_answer, rate_limited_answer, respond};
use crate::route::route;
use crate::spec::{Action, Operation, Vendor};
use crate::state::Refused;
use crate::state::vendor::{Full, Updated};

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
            header_case = HeaderCaseSeen::Unrecorded;
            auth::SentNames::GaveUp(reason)
        }
        (None, None) => auth::SentNames::Unknown,
    };
    let specs = mock.specs();
    let routed = route(&specs, &parts.method, parts.uri.path());
    // `GET /`, when no vendor serves it: the mock's own index (not journalled, like /__admin).
    if matches!(routed, Err((None, _))) && parts.uri.path() == "/" && parts.method == Method::GET {
        return crate::route::index(&specs).into_response();
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
                None => crate::route::neutral_not_found(&specs, &parts.method, parts.uri.path()),
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
    let buffer = mock.journal.buffer(entry_size(&parts, &carried, served.bytes.len(), answer.body.len()));
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

/// What the journal's texts of this request will hold, so that its buffer is sized once (header
/// names have the same length whatever their case).
fn entry_size(parts: &Parts, carried: &auth::Carried, body: usize, answer: usize) -> usize {
    1 + 8 * carried.values().count()
        + 17
        + parts.uri.path_and_query().map_or(0, |p| p.as_str().len())
        + parts.headers.iter().map(|(n, v)| 8 + n.as_str().len() + v.len()).sum::<usize>()
        + 17
        + kept(body, KEPT_BODY)
        + kept(answer, KEPT_BODY)
}

/// What [`serve`] made of a routed request.
pub(crate) struct Served {
    /// The body as received, for the journal.
    bytes: Vec<u8>,
    result: Result<(Answer, Outcome), Rejection>,
    /// Headers for whatever the answer is (the rate-limit headers, once authenticated).
    headers: Vec<(String, String)>,
}

/// A routed request, from its body to its answer: faults, then a `Prefer` header, then
/// auth → rate limit → parse → validate → state.
pub(crate) async fn serve(
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
                    headers = crate::answer::render_headers(&limits.headers, &context);
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

/// The request's header names as they were on the wire, when they can be known.
///
/// Pops the connection's next recorded head: call it exactly once for every request served,
/// admin requests included, or later requests on the connection get the wrong names.
pub(crate) fn raw_header_names(parts: &Parts) -> (Option<Vec<String>>, HeaderCaseSeen) {
    if parts.version >= Version::HTTP_2 {
        return (None, HeaderCaseSeen::Lowercase);
    }
    // Origin-form (`/path?q`) as most clients send it; absolute-form (`http://host/path`) through proxies.
    let target = match parts.uri.scheme() {
        Some(_) => parts.uri.to_string(),
        None => parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned(),
    };
    match parts.extensions.get::<RawHeads>().and_then(|h| h.pop_matching(parts.method.as_str(), &target)) {
        Some(head) => (Some(head.names), HeaderCaseSeen::Raw),
        None => (None, HeaderCaseSeen::Unavailable),
    }
}

/// Name/value pairs in wire order with wire case when known, else in the map's order.
pub(crate) fn headers_as_sent(headers: &HeaderMap, raw: Option<&[String]>, texts: &mut Texts) {
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
