//! The reference Rust client of the four vendors' create-client endpoints, driven in-process by
//! the conformance suite through `conformance::ClientUnderTest`.
//!
//! It is the client a user would write: vendor-specific request building and answer
//! interpretation, and HTTP/1.1 written by hand over `std::net::TcpStream`, because AgencyHandy
//! needs the header name `companyId` in exactly that case and general-purpose HTTP clients
//! lowercase header names. No retries. Its building blocks are public so that tests can assemble
//! deliberately broken clients from them.

#![allow(dead_code)] // each test binary that includes this file uses a different part of it

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use conformance::{ClientOutcome, ClientUnderTest, CreateClient, Ready, Reply};
use serde_json::Value;

/// The vendors this client supports.
pub const VENDORS: [&str; 4] = ["smartlead", "cellcast", "voiceaiwrapper", "agencyhandy"];

/// The time-out of one HTTP exchange when the suite does not give one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A request as it goes on the wire: header names keep their case.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: &'static str,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A complete answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A credential part; an empty one is the caller's (a key it did not set), sent as given.
fn credential<'a>(credentials: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, String> {
    credentials.get(name).map(String::as_str).ok_or_else(|| format!("missing credential `{name}`"))
}

/// The vendor's documented request for this input.
pub fn build_request(
    vendor: &str,
    credentials: &BTreeMap<String, String>,
    input: &Value,
) -> Result<HttpRequest, String> {
    let body = serde_json::to_vec(input).map_err(|e| e.to_string())?;
    let json = ("Content-Type".to_owned(), "application/json".to_owned());
    let (target, mut headers) = match vendor {
        "smartlead" => {
            let key = credential(credentials, "api_key")?;
            (
                format!(
                    "/api/v1/client/save?api_key={}",
                    form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
                ),
                vec![],
            )
        }
        "cellcast" => {
            let token = credential(credentials, "token")?;
            ("/api/v2/subClient/user".to_owned(), vec![("Authorization".to_owned(), format!("Bearer {token}"))])
        }
        "voiceaiwrapper" => {
            let token = credential(credentials, "token")?;
            ("/api/v2/clients/create".to_owned(), vec![("Authorization".to_owned(), format!("Bearer {token}"))])
        }
        "agencyhandy" => {
            let key = credential(credentials, "api_key")?;
            let company = credential(credentials, "company_id")?;
            (
                "/members/bulk-client".to_owned(),
                vec![("x-api-key".to_owned(), key.to_owned()), ("companyId".to_owned(), company.to_owned())],
            )
        }
        other => return Err(format!("unsupported vendor `{other}`")),
    };
    headers.push(json);
    Ok(HttpRequest { method: "POST", target, headers, body })
}

/// Sends one request on a fresh connection and reads the whole answer, all within `timeout`.
pub fn send(base_url: &str, request: &HttpRequest, timeout: Duration) -> std::io::Result<HttpResponse> {
    let deadline = Instant::now() + timeout;
    let authority = base_url.strip_prefix("http://").unwrap_or(base_url).trim_end_matches('/');
    let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("`{authority}` does not resolve")))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!("{} {} HTTP/1.1\r\nHost: {authority}\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", request.body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&request.body);
    stream.write_all(&bytes)?;
    stream.flush()?;
    read_response(&mut stream, deadline)
}

fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> std::io::Result<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no complete answer in time"));
    }
    stream.set_read_timeout(Some(left))?;
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn cut_short(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("the connection closed {what}"))
}

fn read_response(stream: &mut TcpStream, deadline: Instant) -> std::io::Result<HttpResponse> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if read_some(stream, &mut buf, deadline)? == 0 {
            return Err(cut_short("before a complete response head"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad status line"))?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let mut body = buf.split_off(head_end + 4);
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        body = read_chunked(stream, body, deadline)?;
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            if read_some(stream, &mut body, deadline)? == 0 {
                return Err(cut_short(&format!("after {} of {len} body bytes", body.len())));
            }
        }
        body.truncate(len);
    } else {
        while read_some(stream, &mut body, deadline)? > 0 {}
    }
    Ok(HttpResponse { status, headers, body })
}

fn read_chunked(stream: &mut TcpStream, mut raw: Vec<u8>, deadline: Instant) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let line_end = loop {
            if let Some(i) = raw[pos..].windows(2).position(|w| w == b"\r\n") {
                break pos + i;
            }
            if read_some(stream, &mut raw, deadline)? == 0 {
                return Err(cut_short("inside a chunked body"));
            }
        };
        let size_text = String::from_utf8_lossy(&raw[pos..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size"))?;
        pos = line_end + 2;
        if size == 0 {
            return Ok(body);
        }
        while raw.len() < pos + size + 2 {
            if read_some(stream, &mut raw, deadline)? == 0 {
                return Err(cut_short("inside a chunk"));
            }
        }
        body.extend_from_slice(&raw[pos..pos + size]);
        pos += size + 2;
    }
}

fn text_of(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase()
}

fn keys_of(v: Option<&Value>) -> Option<Vec<String>> {
    let keys: Vec<String> = v?.as_object()?.keys().cloned().collect();
    (!keys.is_empty()).then_some(keys)
}

fn id_at(body: &Value, pointer: &str) -> Option<Value> {
    body.pointer(pointer).filter(|v| v.is_string() || v.is_number()).cloned()
}

/// What an answer means, per vendor. `sent` is the body that was sent (for per-entry answers).
pub fn interpret(vendor: &str, sent: &Value, response: &HttpResponse) -> ClientOutcome {
    let status = response.status;
    let body = response.json();
    if status == 429 {
        return ClientOutcome::RateLimited {};
    }
    if status >= 500 {
        return ClientOutcome::ServerError {};
    }
    let Some(body) = body else { return ClientOutcome::UnexpectedResponse {} };
    match (vendor, status) {
        ("smartlead", 200) if body["ok"] == Value::Bool(true) => match id_at(&body, "/data/id") {
            Some(id) => ClientOutcome::Created { id: Some(id) },
            None => ClientOutcome::UnexpectedResponse {},
        },
        ("smartlead", 409) => ClientOutcome::Duplicate {},
        ("smartlead", 400 | 422) => ClientOutcome::ValidationError { fields: None },
        ("cellcast", 200) if body["status"] == Value::Bool(true) => ClientOutcome::Created { id: None },
        ("cellcast", 400) if text_of(body.get("message")).contains("already exist") => ClientOutcome::Duplicate {},
        ("cellcast", 400) => ClientOutcome::ValidationError { fields: keys_of(body.get("error")) },
        ("voiceaiwrapper", 200) if body["success"] == Value::Bool(true) => match id_at(&body, "/data/client_id") {
            Some(id) => ClientOutcome::Created { id: Some(id) },
            None => ClientOutcome::UnexpectedResponse {},
        },
        ("voiceaiwrapper", 400) if text_of(body.get("message")).contains("already exist") => {
            ClientOutcome::Duplicate {}
        }
        ("voiceaiwrapper", 400) => ClientOutcome::ValidationError { fields: keys_of(body.get("errors")) },
        ("agencyhandy", 200) => agencyhandy_entries(sent, &body),
        ("agencyhandy", 400) => ClientOutcome::ValidationError {
            fields: body.get("fieldName").and_then(Value::as_str).map(|f| vec![f.to_owned()]),
        },
        // Only VoiceAIWrapper (a key without the permission) and AgencyHandy (another account's
        // company) document a 403; from the others it is an answer no create gets.
        (_, 401) | ("voiceaiwrapper" | "agencyhandy", 403) => ClientOutcome::Unauthorized {},
        _ => ClientOutcome::UnexpectedResponse {},
    }
}

/// AgencyHandy answers per entry: `failedMembers` name theirs by `index`; `createdMembers` are
/// the others, in order.
fn agencyhandy_entries(sent: &Value, body: &Value) -> ClientOutcome {
    let count = sent.as_array().map_or(0, Vec::len);
    let (Some(created), failed) = (body.get("createdMembers").and_then(Value::as_array), body.get("failedMembers"))
    else {
        return ClientOutcome::UnexpectedResponse {};
    };
    let mut by_index: BTreeMap<usize, ClientOutcome> = BTreeMap::new();
    for f in failed.and_then(Value::as_array).into_iter().flatten() {
        let Some(i) = f.get("index").and_then(Value::as_u64).and_then(|i| usize::try_from(i).ok()) else {
            return ClientOutcome::UnexpectedResponse {};
        };
        let outcome = if text_of(f.get("message")).contains("already exist") {
            ClientOutcome::Duplicate {}
        } else {
            ClientOutcome::ValidationError {
                fields: f.get("fieldName").and_then(Value::as_str).map(|s| vec![s.to_owned()]),
            }
        };
        by_index.insert(i, outcome);
    }
    if created.len() + by_index.len() != count || by_index.keys().any(|&i| i >= count) {
        return ClientOutcome::UnexpectedResponse {};
    }
    let mut created = created.iter();
    let entries = (0..count)
        .map(|i| match by_index.remove(&i) {
            Some(outcome) => outcome,
            None => match created.next().and_then(|m| id_at(m, "/_id")) {
                Some(id) => ClientOutcome::Created { id: Some(id) },
                None => ClientOutcome::UnexpectedResponse {},
            },
        })
        .collect();
    ClientOutcome::Bulk { entries }
}

/// The exchange's time-out: the suite's `timeout_ms`, else [`DEFAULT_TIMEOUT`].
pub fn timeout_of(request: &CreateClient) -> Duration {
    request.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis)
}

/// Turns an outcome into the protocol reply.
pub fn reply(seq: u64, outcome: ClientOutcome) -> Reply {
    Reply::Outcome { seq, outcome }
}

/// The correct client.
#[derive(Debug, Default)]
pub struct ReferenceClient;

impl ClientUnderTest for ReferenceClient {
    fn start(&mut self) -> Ready {
        Ready::new("vendor-mock-reference-rust", "rust", env!("CARGO_PKG_VERSION"), &VENDORS)
    }

    fn create_client(&mut self, request: &CreateClient) -> Reply {
        if !VENDORS.contains(&request.vendor.as_str()) {
            return Reply::Skipped { seq: request.seq, message: format!("{} is not supported", request.vendor) };
        }
        let http = match build_request(&request.vendor, &request.credentials, &request.input) {
            Ok(r) => r,
            Err(e) => return Reply::errored(request.seq, e),
        };
        let outcome = match send(&request.base_url, &http, timeout_of(request)) {
            Ok(response) => interpret(&request.vendor, &request.input, &response),
            Err(_) => ClientOutcome::TransportError {},
        };
        reply(request.seq, outcome)
    }
}
