//! The admin API under `/__admin` (described in `admin-openapi.yaml` at the repository root) and
//! the dashboard it serves.
//!
//! | Route | Does |
//! | --- | --- |
//! | `GET /__admin/health` | `200 {"status":"ok","revisions":{vendor: revision}}` once the server answers |
//! | `GET /__admin/requests` | the journal, newest last; filters `vendor`, `credential`, `status` (`429` or `4xx`), `outcome`, `since` (a `seq`: newer entries; or an RFC 3339 time: entries at or after it), `limit` (the newest N; with `since`, the first N after it) |
//! | `DELETE /__admin/requests` | empties the journal |
//! | `GET /__admin/state`, `GET /__admin/state/{vendor}` | the records that exist |
//! | `POST /__admin/state/{vendor}` | seeds records ([`SeedBatch`](crate::seed::SeedBatch)) |
//! | `POST /__admin/reset` | forgets everything, one vendor (`{"vendor"}`) or one credential (`{"vendor","credential"}`) |
//! | `GET`/`POST`/`DELETE /__admin/faults`, `DELETE /__admin/faults/{id}` | faults |
//! | `GET /__admin/ui` | the dashboard (plain HTML and JS, no data of its own) |
//!
//! Admin requests are not journalled, but each one pops its raw head from the connection's queue
//! (see [`crate::handle::raw_header_names`]) so that a vendor request after it on the same
//! keep-alive connection gets its own header names. Answers are JSON (`{"error": …}` on failure)
//! with `Cache-Control: no-store`. With `--admin-token T`, every route but the dashboard's static
//! files needs `Authorization: Bearer T`. Every route answers only its own user ([`guard`]:
//! `Host`, `Origin`, media type), reads a body within the body time-out, and lists the journal
//! and state in bounded pieces ([`listing`]).

pub(crate) mod guard;
pub(crate) mod listing;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fault::{Effect, Fault};
use crate::journal::filter::{Filter, Since, StatusFilter};
use crate::journal::recorded::credential_hash;
use crate::mock::Mock;
use crate::seed::{SeedBatch, SeedError};
use crate::spec::ADMIN_PREFIX;

const DASHBOARD_HTML: &str = include_str!("../assets/dashboard.html");
const DASHBOARD_JS: &str = include_str!("../assets/dashboard.js");
const DASHBOARD_CSS: &str = include_str!("../assets/dashboard.css");

/// The dashboard's own files may only load each other and call this origin.
const DASHBOARD_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Axum handler for everything under `/__admin`.
pub(crate) async fn handle(State(mock): State<Arc<Mock>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Keep the connection's raw-head queue in step, whatever is answered below.
    let _ = crate::handle::raw_header_names(&parts);
    let mut response = answer(&mock, &parts, body).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // As on vendor routes (issue 13): a connection whose raw heads are no longer recorded is
    // closed after this answer, so that no later vendor request on it goes unchecked.
    if parts.version < http::Version::HTTP_2 && crate::rawhead::gave_up(&parts).is_some() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The answer to an admin request.
///
/// Long because it is the admin API's route table, one arm per route: read top to bottom, it is
/// the list of what the API answers (the admin OpenAPI document lists the same routes).
async fn answer(mock: &Arc<Mock>, parts: &http::request::Parts, body: Body) -> Response {
    if let Err((status, message)) = guard::check_origin(parts, &mock.config.admin_hosts) {
        return error(status, &message);
    }
    let rest = parts.uri.path().strip_prefix(ADMIN_PREFIX).unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = parts.method.clone();

    // The dashboard's static files hold no data: a browser loads them without a header, and
    // the page then sends the token with each API call.
    match (&method, segments.as_slice()) {
        (&Method::GET, []) => return redirect("/__admin/ui"),
        (&Method::GET, ["ui"]) => return asset(DASHBOARD_HTML, "text/html; charset=utf-8"),
        (&Method::GET, ["ui", "dashboard.js"]) => return asset(DASHBOARD_JS, "text/javascript; charset=utf-8"),
        (&Method::GET, ["ui", "dashboard.css"]) => return asset(DASHBOARD_CSS, "text/css; charset=utf-8"),
        _ => {}
    }
    if let Some(token) = &mock.config.admin_token
        && !bearer_matches(&parts.headers, token)
    {
        let mut response = error(StatusCode::UNAUTHORIZED, "the admin API needs `Authorization: Bearer <token>`");
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"vendor-mock admin\""));
        return response;
    }
    if let Err((status, message)) = guard::check_media_type(parts) {
        return error(status, &message);
    }

    let query = parts.uri.query().unwrap_or_default();
    let result = match (segments.as_slice(), &method) {
        (["health"], &Method::GET) => {
            let specs = mock.specs();
            let revisions: serde_json::Map<String, Value> = specs
                .vendor_names()
                .into_iter()
                .map(|v| {
                    let revision = specs.served_revision(&v).unwrap_or(crate::spec::DEFAULT_REVISION).to_owned();
                    (v, Value::String(revision))
                })
                .collect();
            Ok(ok(json!({"status": "ok", "revisions": revisions})))
        }
        (["requests"], &Method::GET) => list_requests(mock, query),
        (["requests"], &Method::DELETE) => {
            mock.clear_journal();
            Ok(no_content())
        }
        (["state"], &Method::GET) => all_state(mock, query),
        (["state", vendor], &Method::GET) => vendor_state(mock, vendor, query),
        (["state", vendor], &Method::POST) => match read_json(body, mock).await {
            Ok(value) => seed_state(mock, vendor, value),
            Err(response) => Err(response),
        },
        (["reset"], &Method::POST) => match read_json(body, mock).await {
            Ok(value) => reset(mock, value),
            Err(response) => Err(response),
        },
        (["faults"], &Method::GET) => Ok(ok(json!({"faults": mock.faults()}))),
        (["faults"], &Method::POST) => match read_json(body, mock).await {
            Ok(value) => add_fault(mock, value),
            Err(response) => Err(response),
        },
        (["faults"], &Method::DELETE) => {
            mock.clear_faults();
            Ok(no_content())
        }
        (["faults", id], &Method::DELETE) => remove_fault(mock, id),
        (segments, _) => Ok(match allowed(segments) {
            Some(allow) => {
                let message = format!("{method} is not allowed on {}; use {allow}", parts.uri.path());
                let mut response = error(StatusCode::METHOD_NOT_ALLOWED, &message);
                if let Ok(value) = HeaderValue::from_str(allow) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                response
            }
            None => {
                error(StatusCode::NOT_FOUND, &format!("no admin route {}; see admin-openapi.yaml", parts.uri.path()))
            }
        }),
    };
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The methods a known admin path takes, or `None` for an unknown path.
fn allowed(segments: &[&str]) -> Option<&'static str> {
    Some(match segments {
        ["health"] | ["state"] => "GET",
        ["requests"] => "GET, DELETE",
        ["state", _] => "GET, POST",
        ["reset"] => "POST",
        ["faults"] => "GET, POST, DELETE",
        ["faults", _] => "DELETE",
        ["ui", ..] => "GET",
        _ => return None,
    })
}

type Handled = Result<Response, Failure>;

/// A refused admin call, answered `{"error": message}` with its status.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        error(self.status, &self.message)
    }
}

fn fail(status: StatusCode, message: impl Into<String>) -> Failure {
    Failure { status, message: message.into() }
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, HeaderValue::from_static(to))]).into_response()
}

fn asset(text: &'static str, content_type: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, DASHBOARD_CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    (StatusCode::OK, headers, text).into_response()
}

/// Whether the request carries `Authorization: Bearer <token>` (compared in constant time).
fn bearer_matches(headers: &http::HeaderMap, token: &str) -> bool {
    let Some(given) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some((scheme, given)) = given.split_once(' ') else { return false };
    let (given, token) = (given.trim().as_bytes(), token.as_bytes());
    let differ = given.iter().zip(token).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    scheme.eq_ignore_ascii_case("bearer") && given.len() == token.len() && differ == 0
}

/// The request body as JSON (`null` when empty), within the mock's body limit and, as on
/// vendor routes, its body time-out.
async fn read_json(body: Body, mock: &Mock) -> Result<Value, Failure> {
    let limit = mock.config.body_limit;
    let timeout = mock.config.body_timeout;
    let collected = match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(collected) => collected,
        Err(_) => {
            let message = format!("the body did not arrive within {} ms", timeout.as_millis());
            return Err(fail(StatusCode::REQUEST_TIMEOUT, message));
        }
    };
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(fail(StatusCode::PAYLOAD_TOO_LARGE, format!("body larger than {limit} bytes")));
        }
        Err(e) => return Err(fail(StatusCode::BAD_REQUEST, format!("the body could not be read: {e}"))),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| fail(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")))
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Failure> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        let message = if at == "." { e.into_inner().to_string() } else { format!("{at}: {}", e.into_inner()) };
        fail(StatusCode::BAD_REQUEST, message)
    })
}

/// `GET /__admin/requests` with its filters, streamed ([`listing::requests`]).
fn list_requests(mock: &Arc<Mock>, query: &str) -> Handled {
    let filter = parse_filter(query).map_err(|m| fail(StatusCode::BAD_REQUEST, m))?;
    Ok(listing::requests(mock, filter))
}

/// The journal filter of a query string; unknown parameters are refused (a typo would
/// otherwise silently list everything).
pub(crate) fn parse_filter(query: &str) -> Result<Filter, String> {
    let mut filter = Filter::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "vendor" => filter.vendor = Some(value),
            "credential" => filter.credential = Some(credential_hash(&value)),
            "outcome" => filter.outcome = Some(value),
            "status" => filter.status = Some(parse_status(&value)?),
            "since" => filter.since = Some(parse_since(&value)?),
            "limit" => {
                let limit = value.parse().map_err(|_| format!("limit `{value}` is not a number"))?;
                filter.limit = Some(limit);
            }
            other => {
                return Err(format!(
                    "unknown filter `{other}` (known: vendor, credential, status, outcome, since, limit)"
                ));
            }
        }
    }
    Ok(filter)
}

fn parse_status(value: &str) -> Result<StatusFilter, String> {
    let bad = || format!("status `{value}` is neither a status code (429) nor a class (4xx)");
    let lower = value.to_ascii_lowercase();
    if let Some(class) = lower.strip_suffix("xx") {
        return class.parse::<u16>().ok().filter(|c| (1..=5).contains(c)).map(StatusFilter::Class).ok_or_else(bad);
    }
    value.parse::<u16>().map(StatusFilter::Exact).map_err(|_| bad())
}

fn parse_since(value: &str) -> Result<Since, String> {
    if let Ok(seq) = value.parse::<u64>() {
        return Ok(Since::Seq(seq));
    }
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| Since::Time(t.timestamp_millis()))
        .map_err(|_| format!("since `{value}` is neither a seq number nor an RFC 3339 time"))
}

/// Records as the admin API shows them: secrets masked unless `--journal-secrets`.
fn shown(mock: &Mock, mut records: Value) -> Value {
    if let Some(secrets) = mock.secrets() {
        crate::redact::mask_json(&mut records, &secrets);
    }
    records
}

/// `GET /__admin/state`: one page of every vendor's records (`limit`, `after`), with counts.
fn all_state(mock: &Mock, query: &str) -> Handled {
    let page = listing::StatePage::parse(query).map_err(|m| fail(StatusCode::BAD_REQUEST, m))?;
    let (vendors, counts, next) = listing::state(mock, &mock.specs().vendor_names(), page);
    Ok(ok(json!({ "vendors": vendors, "counts": counts, "next": next })))
}

/// `GET /__admin/state/{vendor}`: one page of its records (`limit`, `after`), with counts.
fn vendor_state(mock: &Mock, vendor: &str, query: &str) -> Handled {
    if mock.specs().vendor(vendor).is_none() {
        return Err(unknown_vendor(mock, vendor));
    }
    let page = listing::StatePage::parse(query).map_err(|m| fail(StatusCode::BAD_REQUEST, m))?;
    let (mut vendors, mut counts, next) = listing::state(mock, &[vendor.to_owned()], page);
    let records = vendors.remove(vendor).unwrap_or_default();
    let counts = counts.remove(vendor).unwrap_or_default();
    Ok(ok(json!({ "vendor": vendor, "records": records, "counts": counts, "next": next })))
}

fn unknown_vendor(mock: &Mock, vendor: &str) -> Failure {
    let known = mock.specs().vendor_names().join(", ");
    fail(StatusCode::NOT_FOUND, format!("unknown vendor `{vendor}` (known: {known})"))
}

/// `POST /__admin/state/{vendor}`: a [`SeedBatch`], or a bare array of records.
fn seed_state(mock: &Mock, vendor: &str, body: Value) -> Handled {
    let batch: SeedBatch = match body {
        Value::Array(records) => SeedBatch::new(records),
        other => typed(other)?,
    };
    match mock.seed_records(vendor, &batch) {
        Ok(created) => {
            let created = shown(mock, Value::Array(created));
            Ok((StatusCode::CREATED, axum::Json(json!({ "vendor": vendor, "created": created }))).into_response())
        }
        Err(SeedError::UnknownVendor(_)) => Err(unknown_vendor(mock, vendor)),
        Err(e @ SeedError::Duplicate { .. }) => Err(fail(StatusCode::CONFLICT, e.to_string())),
        Err(e) => Err(fail(StatusCode::BAD_REQUEST, e.to_string())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    credential: Option<String>,
}

/// `POST /__admin/reset`: everything (empty body or `{}`), one vendor, or one credential.
fn reset(mock: &Mock, body: Value) -> Handled {
    let request: ResetRequest =
        if body.is_null() { ResetRequest { vendor: None, credential: None } } else { typed(body)? };
    match (request.vendor, request.credential) {
        (None, None) => mock.reset(None),
        (None, Some(_)) => return Err(fail(StatusCode::BAD_REQUEST, "`credential` needs `vendor`")),
        (Some(vendor), credential) => {
            if mock.specs().vendor(&vendor).is_none() {
                return Err(unknown_vendor(mock, &vendor));
            }
            match credential {
                None => mock.reset(Some(&vendor)),
                Some(credential) => {
                    mock.reset_credential(&vendor, &credential);
                }
            }
        }
    }
    Ok(no_content())
}

/// `POST /__admin/faults`: a [`Fault`], checked before it is armed.
fn add_fault(mock: &Mock, body: Value) -> Handled {
    let fault: Fault = typed(body)?;
    let bad = |m: String| Err(fail(StatusCode::BAD_REQUEST, m));
    if let Some(vendor) = &fault.vendor
        && mock.specs().vendor(vendor).is_none()
    {
        return Err(unknown_vendor(mock, vendor));
    }
    if let Some(p) = fault.probability
        && !(0.0..=1.0).contains(&p)
    {
        return bad(format!("probability {p} is not between 0 and 1"));
    }
    if fault.times == Some(0) {
        return bad("times must be at least 1 (leave it out for a fault that lasts until cleared)".into());
    }
    if let Effect::Status { status } | Effect::Respond { status, .. } = &fault.effect
        && !(100..=599).contains(status)
    {
        return bad(format!("status {status} is not an HTTP status"));
    }
    if let Effect::Respond { body, content_type, .. } = &fault.effect {
        if body.len() > crate::fault::MAX_RESPOND_BODY {
            return bad(format!(
                "body of {} bytes is longer than {} bytes",
                body.len(),
                crate::fault::MAX_RESPOND_BODY
            ));
        }
        if content_type.as_deref().is_some_and(|t| http::HeaderValue::from_str(t).is_err()) {
            return bad("content_type is not a valid header value".into());
        }
    }
    let id = mock.inject(fault);
    Ok((StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response())
}

fn remove_fault(mock: &Mock, id: &str) -> Handled {
    let id: u64 = id.parse().map_err(|_| fail(StatusCode::BAD_REQUEST, format!("fault id `{id}` is not a number")))?;
    if mock.remove_fault(id) {
        Ok(no_content())
    } else {
        Err(fail(StatusCode::NOT_FOUND, format!("no active fault {id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_seq_number_or_an_rfc_3339_time() {
        assert_eq!(parse_since("42"), Ok(Since::Seq(42)));
        assert_eq!(parse_since("2025-01-01T00:00:01Z"), Ok(Since::Time(1_735_689_601_000)));
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn status_is_a_code_or_a_class() {
        assert_eq!(parse_status("429"), Ok(StatusFilter::Exact(429)));
        assert_eq!(parse_status("4xx"), Ok(StatusFilter::Class(4)));
        assert!(parse_status("9xx").is_err());
        assert!(parse_status("ok").is_err());
    }

    #[test]
    fn an_unknown_filter_is_refused_rather_than_ignored() {
        let err = parse_filter("vendr=smartlead").expect_err("typo refused");
        assert!(err.contains("vendr"), "{err}");
    }

    #[test]
    fn the_bearer_token_must_match_exactly() {
        let mut headers = http::HeaderMap::new();
        assert!(!bearer_matches(&headers, "t0k"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t0k"));
        assert!(bearer_matches(&headers, "t0k"));
        assert!(!bearer_matches(&headers, "t0"));
        assert!(!bearer_matches(&headers, "t0kk"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic t0k"));
        assert!(!bearer_matches(&headers, "t0k"));
    }
}
