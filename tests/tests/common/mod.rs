//! Shared helpers of the end-to-end tests.
//!
//! - [`serve`]: an in-process mock on a real loopback socket (port 0).
//! - [`Request`] / [`send`] / [`read_response`]: a raw HTTP/1.1 client that writes exactly the
//!   bytes it is given (header-name case, invalid UTF-8, chunked bodies, pipelining).
//! - [`VendorSpec`] / [`Op`]: what the tests read from a spec document, so that every scenario
//!   is derived from the spec and a fifth vendor's file gets covered without new test code.
//! - [`scenarios`] / [`run_scenarios`] / [`check_answer`]: the generic scenario catalogue.
//! - [`doc_json_blocks`]: the JSON examples of the vendors' captured documentation pages.
//! - [`binary`]: the `vendor-mock` executable, built once if needed.
#![allow(dead_code)] // each test binary uses a different part of this module

#[path = "../shared/binary.rs"]
mod binary_path;
#[allow(unused_imports)] // not every test binary runs the executable
pub use binary_path::binary;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use vendor_mock::{Config, Entry, Mock, Specs};

/// A bound on every network wait, so that a bug hangs no test; never what a test asserts.
pub const SAFETY: Duration = Duration::from_secs(10);

/// The body limit the mock uses by default (1 MiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

/// A mock served in-process on 127.0.0.1 with a port the OS picked.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub mock: Arc<Mock>,
}

/// Serves `specs` with `config` until the test's runtime ends.
pub async fn serve(specs: Specs, config: Config) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free loopback port");
    let addr = listener.local_addr().expect("the listener has an address");
    let mock = Mock::new(specs, config);
    let served = Arc::clone(&mock);
    tokio::spawn(async move { vendor_mock::run(listener, served, std::future::pending()).await });
    Server { addr, mock }
}

/// The four embedded vendors, seeded.
pub async fn serve_embedded() -> Server {
    serve(embedded(), seeded(1)).await
}

pub fn embedded() -> Specs {
    Specs::embedded().expect("the embedded specs load")
}

pub fn seeded(seed: u64) -> Config {
    Config { seed: Some(seed), ..Default::default() }
}

impl Server {
    pub async fn send(&self, request: &Request) -> Response {
        send(self.addr, request).await
    }

    /// The newest journal entry (the answer to the last request, once its response was read).
    pub fn last_entry(&self) -> Entry {
        self.mock.journal().pop().expect("the journal has an entry for the last request")
    }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

/// A request written byte for byte as built: header names keep their case.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, target: &str) -> Self {
        Self { method: method.to_owned(), target: target.to_owned(), headers: Vec::new(), body: Vec::new() }
    }

    pub fn post(target: &str) -> Self {
        Self::new("POST", target)
    }

    pub fn get(target: &str) -> Self {
        Self::new("GET", target)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: &Value) -> Self {
        let bytes = serde_json::to_vec(body).expect("a JSON value serializes");
        self.header("Content-Type", "application/json").body(bytes)
    }

    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = bytes.into();
        self
    }

    /// Removes every header of this name (any case).
    pub fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The path without its query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The request head and body as sent; adds `Host` and, unless framed already,
    /// `Content-Length`.
    pub fn to_wire(&self, host: SocketAddr) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {host}\r\n", self.method, self.target);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let framed = self.has_header("content-length") || self.has_header("transfer-encoding");
        if !framed && (!self.body.is_empty() || self.method != "GET") {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        let mut wire = head.into_bytes();
        wire.extend_from_slice(&self.body);
        wire
    }
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; fails the test with the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {} {}", self.status, self.text()))
    }
}

/// Sends one request on a new connection and reads its answer. The body is written while the
/// answer is read, so an early answer (413) is read even if the server stops reading.
pub async fn send(addr: SocketAddr, request: &Request) -> Response {
    let wire = request.to_wire(addr);
    let exchange = async {
        let stream = TcpStream::connect(addr).await.expect("connect to the mock");
        let (read, mut write) = stream.into_split();
        let writer = async move {
            // A write error after an early answer is expected; the answer is what is checked.
            let _ = write.write_all(&wire).await;
            write // kept open until the answer is read: a half-close would end the body early
        };
        let mut reader = BufReader::new(read);
        let (_write, response) = tokio::join!(writer, read_response(&mut reader));
        response.expect("read the answer")
    };
    tokio::time::timeout(SAFETY, exchange).await.expect("the mock answers within the safety bound")
}

/// Reads one response (a `1xx` interim response has no body) from a buffered stream.
pub async fn read_response<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Response> {
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut words = line.split_whitespace();
    let (Some(version), Some(code)) = (words.next(), words.next()) else {
        return Err(invalid(format!("bad status line {line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(invalid(format!("bad status line {line:?}")));
    }
    let status: u16 = code.parse().map_err(|_| invalid(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').ok_or_else(|| invalid(format!("bad header {trimmed:?}")))?;
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut response = Response { status, headers, body: Vec::new() };
    if (100..200).contains(&status) {
        return Ok(response);
    }
    if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().map_err(|_| invalid(format!("bad content-length {length}")))?;
        response.body = vec![0; length];
        reader.read_exact(&mut response.body).await?;
    } else if response.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or_default(), 16)
                .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await?;
            if size == 0 {
                break;
            }
            response.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut response.body).await?;
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// What the tests read from a spec document
// ---------------------------------------------------------------------------------------------

/// One vendor's resolved OpenAPI document and the parts of it the tests use.
#[derive(Debug, Clone)]
pub struct VendorSpec {
    pub name: String,
    pub doc: Value,
}

/// One operation carrying an `x-mock` extension.
#[derive(Debug, Clone)]
pub struct Op {
    pub path: String,
    /// Upper case, as sent.
    pub method: String,
    pub def: Value,
}

/// One part of a credential (`x-mock.auth.credentials[]`).
#[derive(Debug, Clone)]
pub struct CredPart {
    pub name: String,
    pub location: String,
    pub key: String,
    pub tenant: bool,
}

/// One uniqueness rule (`x-mock.unique[]`).
#[derive(Debug, Clone)]
pub struct UniqueRule {
    pub name: String,
    pub path: String,
    pub scope: String,
    pub error: String,
}

/// The credential values of one account, by part name.
#[derive(Debug, Clone, Default)]
pub struct Creds(pub Vec<(String, String)>);

impl Creds {
    pub fn get(&self, part: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == part).map(|(_, v)| v.as_str())
    }

    pub fn with(mut self, part: &str, value: &str) -> Self {
        self.0.retain(|(n, _)| n != part);
        self.0.push((part.to_owned(), value.to_owned()));
        self
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

impl VendorSpec {
    /// Every vendor of `specs`, in the loader's order.
    pub fn all(specs: &Specs) -> Vec<Self> {
        specs.vendor_names().into_iter().map(|name| Self::of(specs, &name)).collect()
    }

    pub fn of(specs: &Specs, name: &str) -> Self {
        let doc = specs.document(name).unwrap_or_else(|| panic!("vendor {name} has a document")).clone();
        Self { name: name.to_owned(), doc }
    }

    pub fn xmock(&self) -> &Value {
        &self.doc["x-mock"]
    }

    /// Every operation with an `x-mock` extension, in document order.
    pub fn operations(&self) -> Vec<Op> {
        let mut ops = Vec::new();
        for (path, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for (method, def) in item.as_object().into_iter().flatten() {
                if def.get("x-mock").is_some() {
                    ops.push(Op { path: path.clone(), method: method.to_ascii_uppercase(), def: def.clone() });
                }
            }
        }
        ops
    }

    fn with_action(&self, action: &str) -> Vec<Op> {
        self.operations().into_iter().filter(|op| op.xmock()["action"] == action).collect()
    }

    /// The operation with `x-mock.action: create` (the tests expect exactly one per vendor).
    pub fn create_op(&self) -> Op {
        let mut ops = self.with_action("create");
        assert_eq!(ops.len(), 1, "{}: expected one create operation", self.name);
        ops.remove(0)
    }

    pub fn list_ops(&self) -> Vec<Op> {
        self.with_action("list_tenants")
    }

    pub fn credentials(&self) -> Vec<CredPart> {
        let parts = self.xmock()["auth"]["credentials"].as_array().cloned().unwrap_or_default();
        parts
            .iter()
            .map(|p| CredPart {
                name: text(&p["name"]),
                location: text(&p["in"]),
                key: text(&p["key"]),
                tenant: p["tenant"].as_bool().unwrap_or(false),
            })
            .collect()
    }

    /// The first credential part that is not a tenant: the account's key.
    pub fn primary(&self) -> CredPart {
        self.credentials().into_iter().find(|p| !p.tenant).expect("a spec has a primary credential part")
    }

    pub fn reject_prefixes(&self) -> Vec<String> {
        self.xmock()["auth"]["reject_prefixes"].as_array().into_iter().flatten().map(text).collect()
    }

    /// Prefixes of valid credentials that lack the permission (`x-mock.auth.forbidden_prefixes`).
    pub fn forbidden_prefixes(&self) -> Vec<String> {
        self.xmock()["auth"]["forbidden_prefixes"].as_array().into_iter().flatten().map(text).collect()
    }

    /// An error template (`x-mock.errors.<name>`).
    pub fn template(&self, name: &str) -> &Value {
        let t = &self.xmock()["errors"][name];
        assert!(t.is_object(), "{}: x-mock.errors.{name} exists", self.name);
        t
    }

    pub fn template_status(&self, name: &str) -> u16 {
        status_of(self.template(name))
    }

    /// The parts `op` asks for (`x-mock.auth` names, or every part).
    pub fn parts_of(&self, op: &Op) -> Vec<CredPart> {
        let all = self.credentials();
        match op.xmock()["auth"].as_array() {
            Some(names) => names.iter().filter_map(|n| all.iter().find(|p| p.name == text(n)).cloned()).collect(),
            None => all,
        }
    }

    /// Places `creds` where `op` expects them: query parameter, header (exact case) or Bearer.
    pub fn authorize(&self, op: &Op, creds: &Creds, mut request: Request) -> Request {
        for part in self.parts_of(op) {
            let Some(value) = creds.get(&part.name) else { continue };
            request = match part.location.as_str() {
                "query" => {
                    let sep = if request.target.contains('?') { '&' } else { '?' };
                    request.target = format!("{}{sep}{}={value}", request.target, part.key);
                    request
                }
                "header" => request.header(&part.key, value),
                "bearer" => request.header(&part.key, &format!("Bearer {value}")),
                other => panic!("{}: unknown credential location {other}", self.name),
            };
        }
        request
    }

    /// A create request with `creds` and a JSON body.
    pub fn create(&self, creds: &Creds, body: &Value) -> Request {
        let op = self.create_op();
        self.authorize(&op, creds, Request::new(&op.method, &op.path).json(body))
    }

    /// A request to a `list_tenants` operation.
    pub fn list(&self, op: &Op, creds: &Creds) -> Request {
        self.authorize(op, creds, Request::new(&op.method, &op.path))
    }

    /// The credentials of a fresh account named `label`: made-up keys for the parts that are
    /// not tenants, and for a tenant part the first tenant the account lists.
    pub async fn account(&self, addr: SocketAddr, label: &str) -> Creds {
        let mut creds = Creds::default();
        for part in self.credentials().iter().filter(|p| !p.tenant) {
            creds.0.push((part.name.clone(), format!("test-{label}-{}", part.name.replace('_', "-"))));
        }
        for part in self.credentials().iter().filter(|p| p.tenant) {
            let tenant = self.first_tenant(addr, &creds).await;
            creds.0.push((part.name.clone(), tenant));
        }
        creds
    }

    /// The id of the first tenant listed for `creds` (by the `list_tenants` operation).
    pub async fn first_tenant(&self, addr: SocketAddr, creds: &Creds) -> String {
        let op = self.list_ops().into_iter().next().unwrap_or_else(|| {
            panic!("{}: a tenant credential part needs a list_tenants operation to look tenants up", self.name)
        });
        let response = send(addr, &self.list(&op, creds)).await;
        assert_eq!(response.status, op.success_status(), "{}: listing tenants: {}", self.name, response.text());
        let body = response.json();
        let key = op.tenants_key().expect("the list_tenants success body has a `{{tenants}}` key");
        let id_path = text(&self.xmock()["tenants"]["id"]["path"]);
        body[&key][0][&id_path].as_str().expect("the first tenant has a string id").to_owned()
    }

    /// The JSON schema a JSON pointer (`#/components/…`) names in the resolved document.
    pub fn pointer(&self, pointer: &str) -> &Value {
        let ptr = pointer.strip_prefix('#').unwrap_or(pointer);
        self.doc.pointer(ptr).unwrap_or_else(|| panic!("{}: `{pointer}` points into the document", self.name))
    }

    /// The documented response schema of `method path` for `status`, if the document has one.
    pub fn response_schema(&self, method: &str, path: &str, status: u16) -> Option<&Value> {
        let item = self.doc["paths"].get(path)?;
        let op = item.get(method.to_ascii_lowercase())?;
        op["responses"].get(status.to_string())?["content"]["application/json"].get("schema")
    }
}

pub fn status_of(template: &Value) -> u16 {
    template["status"].as_u64().and_then(|s| u16::try_from(s).ok()).expect("a template has a status")
}

impl Op {
    pub fn xmock(&self) -> &Value {
        &self.def["x-mock"]
    }

    pub fn id(&self) -> String {
        text(&self.def["operationId"])
    }

    pub fn is_bulk(&self) -> bool {
        self.xmock()["bulk"].as_bool().unwrap_or(false)
    }

    pub fn collection(&self) -> String {
        text(&self.xmock()["collection"])
    }

    pub fn success_status(&self) -> u16 {
        status_of(&self.xmock()["success"])
    }

    /// The request example every create scenario starts from.
    pub fn example(&self) -> Value {
        let example = &self.def["requestBody"]["content"]["application/json"]["examples"]["captured"]["value"];
        assert!(!example.is_null(), "{} {}: has a `captured` request example", self.method, self.path);
        example.clone()
    }

    /// The named request examples other than `captured` (`older_page`, `every_field`, …).
    pub fn other_examples(&self) -> Vec<(String, Value)> {
        let examples = self.def["requestBody"]["content"]["application/json"]["examples"].as_object();
        examples
            .into_iter()
            .flatten()
            .filter(|(name, _)| *name != "captured")
            .map(|(name, example)| (name.clone(), example["value"].clone()))
            .collect()
    }

    pub fn request_schema(&self) -> &Value {
        &self.def["requestBody"]["content"]["application/json"]["schema"]
    }

    /// The schema of one record: the request schema, or its `items` for a bulk operation.
    pub fn record_schema(&self) -> &Value {
        if self.is_bulk() { &self.request_schema()["items"] } else { self.request_schema() }
    }

    pub fn required(&self) -> Vec<String> {
        self.record_schema()["required"].as_array().into_iter().flatten().map(text).collect()
    }

    pub fn unique_rules(&self) -> Vec<UniqueRule> {
        let rules = self.xmock()["unique"].as_array().cloned().unwrap_or_default();
        rules
            .iter()
            .map(|r| UniqueRule {
                name: text(&r["name"]),
                path: text(&r["path"]),
                scope: text(&r["scope"]),
                error: text(&r["error"]),
            })
            .collect()
    }

    /// `(path, kind)` of every generated value (`x-mock.ids`).
    pub fn id_rules(&self) -> Vec<(String, String)> {
        let rules = self.xmock()["ids"].as_array().cloned().unwrap_or_default();
        rules.iter().map(|r| (text(&r["path"]), text(&r["kind"]))).collect()
    }

    /// The key of the success body whose value is the tenant list.
    pub fn tenants_key(&self) -> Option<String> {
        let body = self.xmock()["success"]["body"].as_object()?;
        body.iter().find(|(_, v)| v.as_str() == Some("{{tenants}}")).map(|(k, _)| k.clone())
    }

    /// The records of a body: the entries of a bulk array, or the body itself.
    pub fn records_of(&self, body: &Value) -> Vec<Value> {
        match (self.is_bulk(), body) {
            (true, Value::Array(items)) => items.clone(),
            _ => vec![body.clone()],
        }
    }

    /// Rewrites every value a rule names, in every record of the body.
    pub fn rewrite(&self, body: &mut Value, rule: &UniqueRule, f: &mut dyn FnMut(&str) -> String) {
        match (self.is_bulk(), body) {
            (true, Value::Array(items)) => items.iter_mut().for_each(|item| rewrite_at(item, &rule.path, f)),
            (_, body) => rewrite_at(body, &rule.path, f),
        }
    }

    /// A copy of `body` whose unique values are all new (made from `n`), except those of the
    /// rule named `keep`.
    pub fn freshen(&self, body: &Value, keep: Option<&str>, n: usize) -> Value {
        let mut out = body.clone();
        for rule in self.unique_rules().iter().filter(|r| Some(r.name.as_str()) != keep) {
            self.rewrite(&mut out, rule, &mut |v| fresh(v, n));
        }
        out
    }

    /// The unique values of a body, by rule, as sent.
    pub fn unique_values(&self, body: &Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for rule in self.unique_rules() {
            for record in self.records_of(body) {
                for v in values_at(&record, &rule.path) {
                    if let Some(s) = v.as_str() {
                        out.push((rule.name.clone(), s.to_owned()));
                    }
                }
            }
        }
        out
    }
}

/// A new value of the same shape as `value`, distinct for each `n`: an e-mail gets a tagged local
/// part, a number (`0400000000`) its last six digits replaced, anything else a suffix.
pub fn fresh(value: &str, n: usize) -> String {
    assert!(n < 1_000_000, "fresh values are made from numbers below 1 000 000");
    if let Some((local, domain)) = value.split_once('@') {
        return format!("n{n}.{local}@{domain}");
    }
    let digits = value.trim_start_matches('+');
    if digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let keep = value.len() - 6;
        return format!("{}{n:06}", &value[..keep]);
    }
    format!("{value}-{n}")
}

/// The values at a path such as `email` or `client_users[].email` (the spec format's paths).
pub fn values_at<'a>(value: &'a Value, path: &str) -> Vec<&'a Value> {
    vendor_mock::values_at(value, path).into_iter().map(|(_, v)| v).collect()
}

fn rewrite_at(value: &mut Value, path: &str, f: &mut dyn FnMut(&str) -> String) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let (name, each) = match head.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (head, false),
    };
    let Some(child) = value.get_mut(name) else { return };
    let targets: Vec<&mut Value> = match (each, child) {
        (true, Value::Array(items)) => items.iter_mut().collect(),
        (true, _) => Vec::new(),
        (false, child) => vec![child],
    };
    for target in targets {
        match rest {
            Some(rest) => rewrite_at(target, rest, f),
            None => {
                if let Value::String(s) = target {
                    *s = f(s);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario catalogue, derived from a spec
// ---------------------------------------------------------------------------------------------

/// What a scenario's answer must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// The operation's success answer; `failed` entries of a bulk body rejected as duplicates.
    Success { op: String, failed: usize },
    /// The error template of this name.
    Template(String),
}

/// One request of the catalogue, with what the snapshot shows of it and what it must get.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// One sentence on what is sent (the snapshot's description).
    pub about: String,
    pub request: Request,
    /// The request as shown in the snapshot's metadata.
    pub shown: Value,
    pub expect: Expect,
}

/// A scenario and its answer.
#[derive(Debug, Clone)]
pub struct Ran {
    pub scenario: Scenario,
    pub response: Response,
    pub entry: Entry,
}

fn show(request: &Request, body: Value) -> Value {
    let mut shown = json!({ "method": request.method, "target": request.target });
    let headers: BTreeMap<String, String> =
        request.headers.iter().map(|(n, v)| (n.clone(), v.clone())).collect::<BTreeMap<_, _>>();
    shown["headers"] = json!(headers);
    shown["body"] = body;
    shown
}

/// Every scenario of a vendor, in the order they must run (later ones rely on the first create).
/// Every request of the catalogue is derived from the spec document: its create operation, the
/// captured example, the unique rules, the required fields, the credential parts and the error
/// templates.
pub async fn scenarios(spec: &VendorSpec, addr: SocketAddr) -> Vec<Scenario> {
    let op = spec.create_op();
    let example = op.example();
    let creds = spec.account(addr, "a").await;
    let mut out = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let success = |failed| Expect::Success { op: op.id(), failed };
    let template = |name: &str| Expect::Template(name.to_owned());
    let body_scenario = |name: &str, about: &str, request: Request, body: Value, expect: Expect| Scenario {
        name: name.to_owned(),
        about: about.to_owned(),
        shown: show(&request, body),
        request,
        expect,
    };
    let create = |body: &Value| spec.create(&creds, body);
    let entries = op.records_of(&example).len();
    let rules = op.unique_rules();

    let about = "The spec's captured request example, sent once with a valid credential.";
    out.push(body_scenario("success", about, create(&example), example.clone(), success(0)));
    let duplicate = match (op.is_bulk(), rules.first()) {
        (true, _) => success(entries),
        (false, Some(rule)) => template(&rule.error),
        (false, None) => success(0),
    };
    let about = "The captured example again, with the same credential: every unique value is taken.";
    out.push(body_scenario("duplicate", about, create(&example), example.clone(), duplicate));
    for rule in &rules {
        let body = op.freshen(&example, Some(&rule.name), next());
        let expect = if op.is_bulk() { success(entries) } else { template(&rule.error) };
        let about = format!("The captured example with every unique value new except `{}`.", rule.path);
        out.push(body_scenario(&format!("duplicate_{}", rule.name), &about, create(&body), body, expect));
    }
    for (name, other) in op.other_examples() {
        let body = op.freshen(&other, None, next());
        let about = format!("The spec's request example `{name}` (its unique values made new): the vendor accepts it.");
        out.push(body_scenario(&format!("example_{name}"), &about, create(&body), body, success(0)));
    }
    if op.is_bulk() {
        let first = op.records_of(&example).remove(0);
        let fresh_one = op.freshen(&first, None, next());
        let body = json!([fresh_one, first]);
        let about = "A bulk body of two entries: a new one, then the already created example.";
        out.push(body_scenario("bulk_partial", about, create(&body), body, success(1)));
        let twin = op.freshen(&first, None, next());
        let body = json!([twin, twin]);
        let about = "A bulk body of two identical new entries.";
        out.push(body_scenario("bulk_duplicate_in_one_request", about, create(&body), body, success(1)));
    }

    let fresh_body = |n: usize| op.freshen(&example, None, n);
    let body = fresh_body(next());
    let about = "A valid body without any credential.";
    out.push(body_scenario(
        "missing_credentials",
        about,
        spec.create(&Creds::default(), &body),
        body,
        template("unauthorized"),
    ));
    let primary = spec.primary();
    for prefix in spec.reject_prefixes() {
        let body = fresh_body(next());
        let rejected = creds.clone().with(&primary.name, &format!("{prefix}-key"));
        let about = format!("A valid body; the credential part `{}` starts with `{prefix}`.", primary.name);
        out.push(body_scenario(
            &format!("credential_{prefix}"),
            &about,
            spec.create(&rejected, &body),
            body,
            template("unauthorized"),
        ));
    }

    for prefix in spec.forbidden_prefixes() {
        let body = fresh_body(next());
        let forbidden = creds.clone().with(&primary.name, &format!("{prefix}-key"));
        let about =
            format!("A valid body; the credential part `{}` starts with `{prefix}` (no permission).", primary.name);
        out.push(body_scenario(
            &format!("credential_{prefix}"),
            &about,
            spec.create(&forbidden, &body),
            body,
            template("forbidden"),
        ));
    }

    let raw = |name: &str, about: &str, content_type: Option<&str>, bytes: Vec<u8>, shown: Value, expect: Expect| {
        let mut request = spec.authorize(&op, &creds, Request::new(&op.method, &op.path)).body(bytes);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        body_scenario(name, about, request, shown, expect)
    };
    let json_type = Some("application/json");
    let malformed = "{\"name\": \"unterminated";
    let about = "A body that is not JSON (cut in the middle of a string).";
    out.push(raw("malformed_json", about, json_type, malformed.into(), json!(malformed), template("malformed")));
    let about = "An empty body.";
    out.push(raw("empty_body", about, json_type, Vec::new(), json!(""), template("malformed")));
    let body = fresh_body(next());
    let bytes = serde_json::to_vec(&body).expect("serialize");
    let about = "A valid JSON body sent as `Content-Type: text/plain`.";
    out.push(raw("wrong_content_type", about, Some("text/plain"), bytes, body, template("malformed")));
    let invalid_utf8 = b"{\"name\": \"\xff\xfe\"}".to_vec();
    let shown = json!(format!("<bytes> {}", printable(&invalid_utf8)));
    let about = "A JSON body whose string holds bytes that are not UTF-8.";
    out.push(raw("invalid_utf8", about, json_type, invalid_utf8, shown, template("malformed")));
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let shown = json!("<200 nested arrays> [[[…]]]");
    let about = "Valid JSON nested 200 levels deep.";
    out.push(raw("nesting_200_deep", about, json_type, deep.into(), shown, template("malformed")));

    for field in op.required() {
        let mut body = fresh_body(next());
        remove_field(&op, &mut body, &field);
        let about = format!("A new record without the required field `{field}`.");
        out.push(body_scenario(&format!("missing_{field}"), &about, create(&body), body, template("invalid")));
    }
    if let Some(field) = op.required().first() {
        let mut body = fresh_body(next());
        let kind = op.record_schema()["properties"][field]["type"].as_str().unwrap_or_default();
        let wrong = if kind == "string" { json!(12345) } else { json!("not the documented type") };
        set_field(&op, &mut body, field, wrong);
        let about = format!("A new record whose required field `{field}` has the wrong type.");
        out.push(body_scenario(&format!("wrong_type_{field}"), &about, create(&body), body, template("invalid")));
    }

    let unknown = op.path[..op.path.len() - 1].to_owned();
    let request = spec.authorize(&op, &creds, Request::new(&op.method, &unknown)).json(&example);
    let about = "The create request sent to its path with the last character missing.";
    out.push(body_scenario("not_found", about, request, example.clone(), template("not_found")));
    let documented: Vec<String> =
        spec.doc["paths"][&op.path].as_object().into_iter().flatten().map(|(m, _)| m.to_ascii_uppercase()).collect();
    let other = ["GET", "PUT", "DELETE", "PATCH"].into_iter().find(|m| !documented.iter().any(|d| d == m));
    let other = other.expect("one of GET/PUT/DELETE/PATCH is not documented on the create path");
    let request = spec.authorize(&op, &creds, Request::new(other, &op.path));
    let about = format!("{other} on the create path, which only documents {}.", documented.join(", "));
    out.push(body_scenario("method_not_allowed", &about, request, Value::Null, template("method_not_allowed")));

    let padding = "x".repeat(BODY_LIMIT);
    let big = serde_json::to_vec(&json!({ "padding": padding })).expect("serialize");
    let shown = json!(format!("<{} bytes> {{\"padding\": \"xxx…\"}}", big.len()));
    let about = "A JSON body just over the 1 MiB limit.";
    out.push(raw("too_large", about, json_type, big, shown, template("too_large")));

    for list in spec.list_ops() {
        let request = spec.list(&list, &creds);
        let expect = Expect::Success { op: list.id(), failed: 0 };
        let name = if spec.list_ops().len() == 1 { "list_tenants".to_owned() } else { format!("list_{}", list.id()) };
        let about = format!("{} {}: the tenants of the account's key.", list.method, list.path);
        out.push(body_scenario(&name, &about, request, Value::Null, expect));
    }
    out
}

/// Bytes as text, with every byte that is not printable ASCII as `\xNN`.
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b).to_string() } else { format!("\\x{b:02x}") })
        .collect()
}

fn record_mut<'a>(op: &Op, body: &'a mut Value) -> &'a mut Value {
    if op.is_bulk() { &mut body[0] } else { body }
}

fn remove_field(op: &Op, body: &mut Value, field: &str) {
    if let Value::Object(map) = record_mut(op, body) {
        map.shift_remove(field);
    }
}

fn set_field(op: &Op, body: &mut Value, field: &str, value: Value) {
    record_mut(op, body)[field] = value;
}

/// Runs the catalogue in order on `server`, pairing each answer with its journal entry.
pub async fn run_scenarios(spec: &VendorSpec, server: &Server) -> Vec<Ran> {
    let mut ran = Vec::new();
    for scenario in scenarios(spec, server.addr).await {
        let response = server.send(&scenario.request).await;
        let entry = server.last_entry();
        ran.push(Ran { scenario, response, entry });
    }
    ran
}

/// The error template that a journal outcome says answered, or `None` for a success.
pub fn template_of(spec: &VendorSpec, entry: &Entry) -> Option<String> {
    let outcome = serde_json::to_value(&entry.outcome).expect("an outcome serializes");
    let kind = text(&outcome["kind"]);
    let name = match kind.as_str() {
        "created" | "bulk" | "listed" => return None,
        "unrouted" => "not_found".to_owned(),
        "duplicate" => {
            let rule = text(&outcome["rule"]);
            let op = spec.create_op();
            let found = op.unique_rules().into_iter().find(|r| r.name == rule);
            found.unwrap_or_else(|| panic!("{}: outcome names unknown rule {rule}", spec.name)).error
        }
        other => other.to_owned(),
    };
    Some(name)
}

/// Checks that an answer is the one its scenario expects (status, template, bulk failures) and
/// that it validates against every schema the spec gives for it: the documented response of the
/// route for that status, and the answering template's own `schema` pointer. Returns how many
/// schemas were checked.
pub fn check_answer(spec: &VendorSpec, ran: &Ran) -> usize {
    let Ran { scenario, response, entry } = ran;
    let what = format!("{}: scenario {}", spec.name, scenario.name);
    assert_eq!(entry.status, response.status, "{what}: the journal records the status sent");
    let body = response.json();
    let outcome = serde_json::to_value(&entry.outcome).expect("an outcome serializes");
    let mut schemas: Vec<(String, Value)> = Vec::new();
    match (&scenario.expect, template_of(spec, entry)) {
        (Expect::Success { op, failed }, None) => {
            let found = spec.operations().into_iter().find(|o| &o.id() == op).expect("the expected operation exists");
            assert_eq!(response.status, found.success_status(), "{what}: success status; body {body}");
            let failures = outcome["failed"].as_array().map_or(0, Vec::len);
            assert_eq!(failures, *failed, "{what}: entries rejected as duplicates; outcome {outcome}");
            if let Some(ptr) = found.xmock()["success"]["schema"].as_str() {
                schemas.push((format!("x-mock.success.schema {ptr}"), spec.pointer(ptr).clone()));
            }
        }
        (Expect::Template(expected), Some(got)) => {
            assert_eq!(&got, expected, "{what}: answering template; outcome {outcome}, body {body}");
            assert_eq!(response.status, spec.template_status(expected), "{what}: status of template {expected}");
            if let Some(ptr) = spec.template(expected)["schema"].as_str() {
                schemas.push((format!("x-mock.errors.{expected}.schema {ptr}"), spec.pointer(ptr).clone()));
            }
        }
        (expected, got) => panic!("{what}: expected {expected:?}, answered by template {got:?}; outcome {outcome}"),
    }
    if let Some(schema) = spec.response_schema(&scenario.request.method, scenario.request.path(), response.status) {
        let at = format!("paths.{}.{}.responses.{}", scenario.request.path(), scenario.request.method, response.status);
        schemas.push((at, schema.clone()));
    }
    assert!(!schemas.is_empty(), "{what}: no schema in the spec documents a {} answer", response.status);
    for (at, schema) in &schemas {
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(schema)
            .unwrap_or_else(|e| panic!("{what}: schema {at} compiles: {e}"));
        let errors: Vec<String> =
            validator.iter_errors(&body).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{what}: answer {body} breaks schema {at}: {errors:?}");
    }
    schemas.len()
}

/// The generated values of a vendor's records (ids and timestamps), and its tenants' ids, each
/// with the placeholder that replaces it in snapshots.
pub fn generated_values(spec: &VendorSpec, mock: &Mock, creds_tenants: &[String]) -> Vec<(Value, &'static str)> {
    let mut out: Vec<(Value, &'static str)> = creds_tenants.iter().map(|t| (json!(t), "[id]")).collect();
    let records = mock.records(&spec.name).unwrap_or(Value::Null);
    for op in spec.operations() {
        for (path, kind) in op.id_rules() {
            for record in records[op.collection()].as_array().into_iter().flatten() {
                for v in values_at(record, &path) {
                    let label = if kind == "timestamp" { "[timestamp]" } else { "[id]" };
                    out.push((v.clone(), label));
                }
            }
        }
    }
    out
}

/// Replaces every generated value in `value` by its placeholder.
pub fn redact(value: &Value, generated: &[(Value, &'static str)]) -> Value {
    if let Some((_, label)) = generated.iter().find(|(g, _)| g == value && !value.is_null()) {
        return json!(label);
    }
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, generated)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), redact(v, generated))).collect()),
        Value::String(s) => {
            // Generated strings inside messages (`… id cl_… …`) are redacted too.
            let mut s = s.clone();
            for (g, label) in generated {
                if let Some(g) = g.as_str().filter(|g| g.len() >= 8) {
                    s = s.replace(g, label);
                }
            }
            json!(s)
        }
        other => other.clone(),
    }
}

/// What a snapshot shows of an answer: status, the relevant headers, the redacted body.
pub fn snapshot_of(response: &Response, generated: &[(Value, &'static str)]) -> Value {
    let mut headers = serde_json::Map::new();
    for name in ["content-type", "allow"] {
        if let Some(v) = response.header(name) {
            headers.insert(name.to_owned(), json!(v));
        }
    }
    json!({ "status": response.status, "headers": headers, "body": redact(&response.json(), generated) })
}

// ---------------------------------------------------------------------------------------------
// The vendors' documentation pages
// ---------------------------------------------------------------------------------------------

/// The folder of captured vendor pages, beside the workspace.
pub fn vendor_docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vendor-docs")
}

/// The text of a captured page; fails (never skips) with a clear message if it is missing.
pub fn vendor_doc(file: &str) -> String {
    let path = vendor_docs_dir().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the vendor documentation {}: {e}. These tests compare the mock with the \
             captured pages in shared/vendor-docs/, which must sit beside the workspace folder.",
            path.display()
        )
    })
}

/// Every JSON object of a page that starts on a line of its own (`{`), with the nearest heading
/// line above it (skipping language tags such as `json`).
pub fn doc_json_blocks(file: &str) -> Vec<(String, Value)> {
    let page = vendor_doc(file);
    let lines: Vec<&str> = page.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "{" {
            i += 1;
            continue;
        }
        let mut depth = 0i32;
        let mut in_string = false;
        let mut escaped = false;
        let mut end = None;
        'scan: for (j, line) in lines.iter().enumerate().skip(i) {
            for c in line.chars() {
                match (in_string, escaped, c) {
                    (true, true, _) => escaped = false,
                    (true, false, '\\') => escaped = true,
                    (true, false, '"') => in_string = false,
                    (false, _, '"') => in_string = true,
                    (false, _, '{' | '[') => depth += 1,
                    (false, _, '}' | ']') => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(j);
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
        let Some(end) = end else { break };
        let text = lines[i..=end].join("\n");
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            let heading = lines[..i]
                .iter()
                .rev()
                .map(|l| l.trim())
                .find(|l| !l.is_empty() && !matches!(*l, "json" | "bash"))
                .unwrap_or_default()
                .to_owned();
            blocks.push((heading, value));
        }
        i = end + 1;
    }
    blocks
}

/// The structure of a JSON value: keys in order and leaf types, values dropped.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("boolean"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

// ---------------------------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------------------------

/// A small valid spec of a fifth vendor, `acme`: one create operation, Bearer auth, one unique
/// rule. Nothing about it is written in Rust outside this text.
pub const ACME_SPEC: &str = r##"openapi: 3.1.0
info: { title: Acme — create widget account, version: test }
paths:
  /v1/accounts:
    post:
      operationId: createAccount
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: '#/components/schemas/NewAccount' }
            examples:
              captured:
                value: { email: ops@acme.test, plan: pro }
      responses:
        '201':
          description: Created
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Account' }
        '400':
          description: Bad request
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Problem' }
        '401':
          description: Unauthorized
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Problem' }
        '409':
          description: Duplicate
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Problem' }
      x-mock:
        action: create
        collection: accounts
        ids:
          - { path: id, kind: sequence, start: 1 }
        unique:
          - { name: email, path: email, scope: platform, normalize: [trim, lowercase], error: duplicate_email }
        success:
          status: 201
          body: { id: '{{record.id}}', email: '{{record.email}}', plan: '{{record.plan}}' }
components:
  schemas:
    NewAccount:
      type: object
      required: [email, plan]
      properties:
        email: { type: string, format: email }
        plan: { type: string, enum: [free, pro] }
    Account:
      type: object
      required: [id, email, plan]
      properties:
        id: { type: integer }
        email: { type: string }
        plan: { type: string }
    Problem:
      type: object
      required: [problem]
      properties:
        problem: { type: string }
x-mock:
  vendor: acme
  title: Acme
  auth:
    credentials:
      - { name: token, in: bearer, key: Authorization }
    reject_prefixes: [expired]
  errors:
    unauthorized: { status: 401, schema: '#/components/schemas/Problem', body: { problem: unauthorized } }
    malformed: { status: 400, schema: '#/components/schemas/Problem', body: { problem: '{{error.message}}' } }
    invalid: { status: 400, schema: '#/components/schemas/Problem', body: { problem: '{{error.message}}' } }
    duplicate_email: { status: 409, schema: '#/components/schemas/Problem', body: { problem: 'taken: {{error.value}}' } }
    not_found: { status: 404, schema: '#/components/schemas/Problem', body: { problem: 'try {{nearest}}' } }
    method_not_allowed: { status: 405, schema: '#/components/schemas/Problem', body: { problem: 'no {{method}}' } }
    too_large: { status: 413, schema: '#/components/schemas/Problem', body: { problem: too large } }
    timeout: { status: 408, schema: '#/components/schemas/Problem', body: { problem: too slow } }
    server_error: { status: 500, schema: '#/components/schemas/Problem', body: { problem: broken } }
    rate_limited:
      status: 429
      schema: '#/components/schemas/Problem'
      headers: { Retry-After: '{{retry_after}}' }
      body: { problem: slow down }
  fidelity:
    - { behaviour: 'Acme accounts are created with POST /v1/accounts', status: assumed, why: test vendor }
"##;

/// A temporary folder holding the embedded specs' files (copied from `specs/`) and `extra` files.
pub fn spec_dir(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    for entry in std::fs::read_dir(&source).expect("the workspace has specs/") {
        let path = entry.expect("read specs/").path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            let name = path.file_name().expect("a spec file has a name");
            std::fs::copy(&path, dir.path().join(name)).expect("copy a spec file");
        }
    }
    for (name, text) in extra {
        std::fs::write(dir.path().join(name), text).expect("write a spec file");
    }
    dir
}
