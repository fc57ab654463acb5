//! Bounded under hostile input (issue 13): no request can stall or bloat the mock, no header
//! trick gets past a case-exact check, no web page can drive the admin API.
//!
//! Each test runs `vendor-mock serve` (the workspace's binary, `shared/binary.rs`) on a loopback
//! port with one worker, sends what an attacker would, and asserts the bound it names: server
//! CPU from `/proc/<pid>/stat`, memory from `/proc/<pid>/status` (`VmRSS`, `VmHWM`), sizes
//! and counts from the admin API. Every wait is bounded ([`SAFETY`]).
//!
//! CPU bounds: the issue's bound is 100 ms of server CPU for any body up to the body limit, on a
//! release build. Tests usually run the debug build, which is about eight times slower on this
//! work (measured: 180 ms for the worst 1 MB bodies in debug, 10–12 s in release before the
//! fix), so debug builds are held to ten times the release bound.

use e2e::{Request, Response, binary, blocking, responses};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A bound on every network wait, so that a bug hangs no test; never what a test asserts.
const SAFETY: Duration = Duration::from_secs(20);
/// The body limit (`--body-limit`, default 1 MiB).
const BODY_LIMIT: usize = 1024 * 1024;
/// How much of a body or an answer one journal entry keeps.
const KEPT: usize = 64 * 1024;
/// What one request may cost in server CPU: 100 ms on a release build (see the module docs).
fn cpu_bound() -> Duration {
    Duration::from_millis(if cfg!(debug_assertions) { 1000 } else { 100 })
}
/// What a valid body up to the limit may cost: the work of the 13,000 to 27,000 records it
/// creates or refuses. Measured on the loaded 2-core machine: 80–140 ms on a release build,
/// 560–780 ms on a debug one; the bound leaves a quarter more than a refused body's for the
/// load of the tests running beside it.
fn valid_cpu_bound() -> Duration {
    cpu_bound() * 5 / 4
}
/// What one request may add to the server's peak memory while in flight ("a few tens of MiB").
const IN_FLIGHT_KIB: u64 = 48 * 1024;
/// What may stay in the server's memory after such requests, besides their journal entries.
const LEFT_BEHIND_KIB: u64 = 8 * 1024;

// ---------------------------------------------------------------------------------- the server

/// A running `vendor-mock serve` and its log.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// `vendor-mock serve --port 0 --workers 1 ARGS`, with no `VENDOR_MOCK_*` of the test's
    /// environment (but `env`).
    fn start(args: &[&str]) -> Self {
        Self::start_with(args, &[], None)
    }

    fn start_with(args: &[&str], env: &[(&str, &str)], ulimit_files: Option<u32>) -> Self {
        let binary = binary::binary();
        let mut command = match ulimit_files {
            // A shell lowers the open-file limit of the server alone, then becomes it.
            Some(files) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", &format!("ulimit -n {files} && exec \"$0\" \"$@\""), &binary.to_string_lossy()]);
                sh
            }
            None => Command::new(&binary),
        };
        command.args(["serve", "--port", "0", "--workers", "1"]).args(args);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("VENDOR_MOCK_") {
                command.env_remove(name);
            }
        }
        command.envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("vendor-mock starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut banner = String::new();
        stdout.read_line(&mut banner).expect("read the banner");
        let Some(rest) = banner.strip_prefix("vendor-mock listening on http://") else {
            let mut stderr = String::new();
            let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
            panic!("no banner: {banner:?} {stderr}");
        };
        let addr: SocketAddr = rest.split_whitespace().next().unwrap_or_default().parse().expect("an address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                lines.lock().unwrap_or_else(PoisonError::into_inner).push(line);
            }
        });
        Self { child, addr, log }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's CPU time so far (user and system).
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("/proc/<pid>/stat");
        let fields: Vec<&str> = stat.rsplit_once(')').expect("a stat line").1.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        // Linux reports clock ticks of 1/100 s (USER_HZ) on every architecture it runs on here.
        Duration::from_millis(ticks * 10)
    }

    /// `VmRSS` or `VmHWM`, in KiB.
    fn kib(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("/proc/<pid>/status");
        let line = status.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("{key} in status"));
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number of KiB")
    }

    /// The log lines printed so far that contain `text`.
    fn logged(&self, text: &str) -> Vec<String> {
        // Log lines are flushed at the latest 100 ms after they are written.
        std::thread::sleep(Duration::from_millis(300));
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.iter().filter(|l| l.contains(text)).cloned().collect()
    }

    /// One request on a new connection; the answer read until the server closes.
    fn send(&self, request: &[u8]) -> Response {
        let mut answers = self.send_all(request);
        assert!(!answers.is_empty(), "no answer");
        answers.remove(0)
    }

    /// Requests written on one connection at once; every answer read until the server closes.
    fn send_all(&self, requests: &[u8]) -> Vec<Response> {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_read_timeout(Some(SAFETY)).expect("a read time-out");
        stream.write_all(requests).expect("send");
        responses(&blocking::until_closed(&mut stream))
    }

    /// An admin call (JSON body, if any).
    fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let headers: &[(&str, &str)] = if body.is_empty() { &[] } else { &[("Content-Type", "application/json")] };
        self.send(&self.request(method, &format!("/__admin{path}"), headers, body.as_bytes()))
    }

    /// The journal as the admin API lists it (`query` without `?`).
    fn journal(&self, query: &str) -> Vec<Value> {
        let listed = self.admin("GET", &format!("/requests?{query}"), None);
        assert_eq!(listed.status, 200, "{}", listed.text());
        listed.json()["requests"].as_array().expect("requests").clone()
    }

    /// A raw HTTP/1.1 request with `Connection: close` and the body's length.
    fn request(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let request = Request::new(method, target).header("Connection", "close");
        let request = headers.iter().fold(request, |r, (name, value)| r.header(name, value));
        request.header("Content-Length", &body.len().to_string()).body(body).to_wire(self.addr)
    }

    /// AgencyHandy's first company of an API key.
    fn company(&self, key: &str) -> String {
        let listed = self.send(&self.request("GET", "/accounts/companies", &[("x-api-key", key)], b""));
        listed.json()["companies"][0]["_id"].as_str().expect("a company id").to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON array of `item` repeated to just under the body limit.
fn array_of(item: &str, prefix: &str, suffix: &str) -> Vec<u8> {
    let mut body = prefix.to_owned();
    body.push('[');
    let room = BODY_LIMIT - 64 - prefix.len() - suffix.len();
    let count = room / (item.len() + 1);
    body.push_str(&vec![item; count].join(","));
    body.push(']');
    body.push_str(suffix);
    body.into_bytes()
}

/// An object of `n` distinct unknown fields, just under the body limit.
fn unknown_fields() -> Vec<u8> {
    let mut body = String::from("{\"email\":\"a@example.com\",\"name\":\"n\"");
    let mut i = 0;
    while body.len() < BODY_LIMIT - 64 {
        body.push_str(&format!(",\"k{i}\":0"));
        i += 1;
    }
    body.push('}');
    body.into_bytes()
}

// ------------------------------------------------------------------------ validation amplification

/// What is sent: a name for messages, the target, the headers and the body.
type Case<'a, B> = (&'a str, &'a str, &'a [(&'a str, &'a str)], B);

#[test]
fn any_body_up_to_the_limit_costs_bounded_server_cpu_and_memory_and_keeps_at_most_10_violations() {
    let server = Server::start(&[]);
    let company = server.company("hostile");
    let agencyhandy: &[(&str, &str)] =
        &[("x-api-key", "hostile"), ("companyId", &company), ("Content-Type", "application/json")];
    let json: &[(&str, &str)] = &[("Content-Type", "application/json")];
    let bearer: &[(&str, &str)] = &[("Authorization", "Bearer hostile"), ("Content-Type", "application/json")];
    let cases: Vec<Case<Vec<u8>>> = vec![
        ("AgencyHandy: 340,000 empty objects", "/members/bulk-client", agencyhandy, array_of("{}", "", "")),
        (
            "SmartLead: permission [0, 0, …]",
            "/api/v1/client/save?api_key=hostile",
            json,
            array_of("0", "{\"email\":\"a@example.com\",\"name\":\"n\",\"permission\":", "}"),
        ),
        ("SmartLead: 90,000 unknown fields", "/api/v1/client/save?api_key=hostile", json, unknown_fields()),
        (
            "VoiceAIWrapper: client_users of empty objects",
            "/api/v2/clients/create",
            bearer,
            array_of("{}", "{\"client_users\":", ",\"client_asset_group\":{}}"),
        ),
        ("Cellcast: an array of empty objects", "/api/v2/subClient/user", bearer, array_of("{}", "", "")),
    ];
    // A first small invalid body warms the allocator, so that what follows is the hostile bodies'.
    server.send(&server.request("POST", "/api/v1/client/save?api_key=hostile", json, b"{}"));
    let rss_before = server.kib("VmRSS");
    for (what, target, headers, body) in &cases {
        assert!(body.len() <= BODY_LIMIT, "{what}: {} bytes", body.len());
        let cpu = server.cpu();
        let answer = server.send(&server.request("POST", target, headers, body));
        let spent = server.cpu() - cpu;
        assert!((400..500).contains(&answer.status), "{what}: {} {}", answer.status, answer.text());
        assert!(spent <= cpu_bound(), "{what}: {spent:?} of server CPU (bound {:?})", cpu_bound());
        let peak = server.kib("VmHWM").saturating_sub(rss_before);
        assert!(peak <= IN_FLIGHT_KIB, "{what}: the peak grew {peak} KiB over the resting {rss_before} KiB");
        assert!(answer.body.len() < 16 * 1024, "{what}: a {} byte answer", answer.body.len());

        let entry = server.journal("limit=1").pop().expect("the entry");
        if let Some(violations) = entry["outcome"]["violations"].as_array() {
            assert!((1..=10).contains(&violations.len()), "{what}: {} violations journalled", violations.len());
        }
        assert_eq!(entry["body_bytes"], body.len(), "{what}: the body's real length");
        let kept = entry["body"].as_str().expect("the body text");
        assert!(kept.len() <= KEPT + 64 && kept.ends_with("bytes kept]"), "{what}: {} bytes kept", kept.len());
        assert!(entry["truncated"].as_array().is_some_and(|t| t.contains(&json!("body"))), "{what}: {entry}");
    }
    let left = server.kib("VmRSS").saturating_sub(rss_before);
    assert!(left <= LEFT_BEHIND_KIB + 5 * 80, "{left} KiB stayed after the answers (journal: 5 entries of ~70 KiB)");
    let health = server.admin("GET", "/health", None);
    assert_eq!(health.status, 200);
}

// --------------------------------------------------------------------------------- the journal

#[test]
fn the_journal_is_bounded_in_bytes_and_keeps_large_bodies_cut_with_a_marker_and_their_real_length() {
    const BUDGET: usize = 2 * 1024 * 1024;
    let server = Server::start(&["--journal-bytes", &BUDGET.to_string()]);
    let rss_before = server.kib("VmRSS");
    let body = vec![b'x'; BODY_LIMIT];
    for _ in 0..60 {
        let refused = server.send(&server.request(
            "POST",
            "/api/v1/client/save?api_key=k",
            &[("Content-Type", "text/plain")],
            &body,
        ));
        assert_eq!(refused.status, 400, "{}", refused.text());
    }
    let journal = server.journal("");
    let kept: usize =
        journal.iter().map(|e| e["body"].as_str().map_or(0, str::len) + e["response"].to_string().len()).sum();
    assert!(kept <= BUDGET, "{kept} bytes of body and answer kept for a budget of {BUDGET}");
    assert!((8..60).contains(&journal.len()), "{} entries kept", journal.len());
    assert_eq!(journal.last().map(|e| e["seq"].clone()), Some(json!(60)), "the newest are kept");
    for entry in &journal {
        assert_eq!(entry["body_bytes"], BODY_LIMIT);
        assert!(
            entry["body"].as_str().is_some_and(|b| b.ends_with(&format!("…[cut: {KEPT} of {BODY_LIMIT} bytes kept]")))
        );
        assert_eq!(entry["truncated"], json!(["body"]));
    }
    // 60 MiB of bodies went in; the journal keeps its 2 MiB.
    let grown = server.kib("VmRSS").saturating_sub(rss_before);
    assert!(grown <= LEFT_BEHIND_KIB + 2 * 1024, "memory grew by {grown} KiB");
}

#[test]
fn reading_a_full_journal_takes_a_batch_of_memory_not_a_multiple_of_the_journal() {
    let server = Server::start(&["--journal-bytes", &(32 * 1024 * 1024).to_string()]);
    // 600 entries of 64 KiB: the 32 MiB journal full.
    let body = vec![b'y'; KEPT + 100];
    for _ in 0..600 {
        server.send(&server.request("POST", "/api/v1/client/save?api_key=k", &[("Content-Type", "text/plain")], &body));
    }
    let rss = server.kib("VmRSS");
    let hwm = server.kib("VmHWM");
    let listed = server.admin("GET", "/requests", None);
    assert_eq!(listed.status, 200);
    let entries = listed.json()["requests"].as_array().map_or(0, Vec::len);
    assert!(entries > 400, "{entries} entries listed");
    assert!(listed.body.len() > 24 * 1024 * 1024, "{} bytes listed", listed.body.len());
    let peak = server.kib("VmHWM").saturating_sub(hwm.max(rss));
    assert!(peak <= 16 * 1024, "listing a {} byte journal raised the peak by {peak} KiB", listed.body.len());
}

// ------------------------------------------------------------------------------------- state

fn smartlead_create(server: &Server, email: &str, extra: &str) -> Response {
    let body = format!("{{\"email\":\"{email}\",\"name\":\"Acme\"{extra}}}");
    server.send(&server.request(
        "POST",
        "/api/v1/client/save?api_key=state",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    ))
}

#[test]
fn past_max_records_a_create_gets_the_vendors_server_error_naming_the_limit_and_nothing_is_lost() {
    let server = Server::start(&["--max-records", "30"]);
    for n in 0..30 {
        assert_eq!(smartlead_create(&server, &format!("c{n}@example.com"), "").status, 200);
    }
    for n in 30..34 {
        let full = smartlead_create(&server, &format!("c{n}@example.com"), "");
        assert_eq!(full.status, 500, "{}", full.text());
        let body = full.json();
        assert_eq!((body["statusCode"].clone(), body["error"].clone()), (json!(500), json!("Internal Server Error")));
        let message = body["message"].as_str().expect("a message");
        assert!(message.contains("30 records") && message.contains("--max-records"), "{message}");
    }
    assert_eq!(server.logged("state full").len(), 1, "one warning: {:?}", server.logged("WARN"));
    let state = server.admin("GET", "/state/smartlead", None).json();
    assert_eq!(state["counts"]["clients"], 30, "{state}");
    let entry = server.journal("limit=1").pop().expect("an entry");
    assert_eq!(entry["outcome"]["kind"], "state_full");
    // An AgencyHandy bulk that does not fit is refused whole.
    let company = server.company("k");
    let entries: Vec<Value> = (0..31)
        .map(|n| json!({"firstName": "A", "lastName": "B", "email": format!("b{n}@example.com"), "isConvertedClient": false}))
        .collect();
    let headers = [("x-api-key", "k"), ("companyId", company.as_str()), ("Content-Type", "application/json")];
    let bulk =
        server.send(&server.request("POST", "/members/bulk-client", &headers, json!(entries).to_string().as_bytes()));
    assert_eq!(bulk.status, 500, "{}", bulk.text());
    assert_eq!(server.admin("GET", "/state/agencyhandy", None).json()["counts"], json!({}));
    // A reset makes room again.
    assert_eq!(server.admin("POST", "/reset", Some(json!({"vendor": "smartlead"}))).status, 204);
    assert_eq!(smartlead_create(&server, "again@example.com", "").status, 200);
}

#[test]
fn past_state_bytes_a_create_gets_the_vendors_server_error_naming_the_limit() {
    let server = Server::start(&["--state-bytes", "1048576"]);
    let logo = format!(",\"logo\":\"{}\"", "QUJD".repeat(50_000));
    let mut stored = 0;
    let refused = loop {
        let answer = smartlead_create(&server, &format!("logo{stored}@example.com"), &logo);
        if answer.status != 200 {
            break answer;
        }
        stored += 1;
        assert!(stored <= 6, "more than 1 MiB of 200 KB records stored");
    };
    assert_eq!(refused.status, 500);
    assert!(refused.json()["message"].as_str().is_some_and(|m| m.contains("--state-bytes")), "{}", refused.text());
    assert!(stored >= 4, "only {stored} records of 200 KB fit in 1 MiB");
}

#[test]
fn state_is_listed_in_pages_with_counts_and_every_record_once() {
    let server = Server::start(&[]);
    for batch in 0..3 {
        let records: Vec<Value> =
            (0..1000).map(|n| json!({"email": format!("p{batch}-{n}@example.com"), "name": "P"})).collect();
        assert_eq!(server.admin("POST", "/state/smartlead", Some(json!(records))).status, 201);
    }
    let first = server.admin("GET", "/state", None).json();
    assert_eq!(first["counts"]["smartlead"]["clients"], 3000);
    assert_eq!(first["vendors"]["smartlead"]["clients"].as_array().map(Vec::len), Some(100), "the default page");
    assert!(first["next"].is_u64());
    let mut seen = std::collections::BTreeSet::new();
    let mut after = 0;
    loop {
        let page = server.admin("GET", &format!("/state/smartlead?limit=1000&after={after}"), None);
        assert_eq!(page.status, 200);
        assert!(page.body.len() < 200 * 1024, "a page of {} bytes", page.body.len());
        let page = page.json();
        for record in page["records"]["clients"].as_array().into_iter().flatten() {
            assert!(seen.insert(record["email"].as_str().expect("an e-mail").to_owned()), "twice: {record}");
        }
        match page["next"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 3000);
    assert_eq!(server.admin("GET", "/state?limit=1001", None).status, 400);
    assert_eq!(server.admin("GET", "/state?page=2", None).status, 400);
}

// -------------------------------------------------------------------------- case-exact headers

fn agencyhandy_body(email: &str) -> String {
    json!([{"firstName": "A", "lastName": "B", "email": email, "isConvertedClient": false}]).to_string()
}

#[test]
fn a_second_copy_of_companyid_in_any_case_is_the_authentication_error() {
    let server = Server::start(&[]);
    let company = server.company("k");
    let copies: [&[(&str, &str)]; 4] = [
        &[("companyid", &company), ("companyId", "wrong")],
        &[("companyid", &company), ("companyId", "")],
        &[("companyId", &company), ("COMPANYID", &company)],
        &[("companyId", &company), ("companyId", &company)],
    ];
    for (n, copies) in copies.iter().enumerate() {
        let mut headers = vec![("x-api-key", "k"), ("Content-Type", "application/json")];
        headers.extend_from_slice(copies);
        let body = agencyhandy_body(&format!("twice{n}@example.com"));
        let answer = server.send(&server.request("POST", "/members/bulk-client", &headers, body.as_bytes()));
        assert_eq!(answer.status, 401, "{copies:?}: {}", answer.text());
        assert_eq!(answer.json()["type"], "AuthenticationError", "{copies:?}");
    }
    let once = [("x-api-key", "k"), ("companyId", company.as_str()), ("Content-Type", "application/json")];
    let body = agencyhandy_body("once@example.com");
    assert_eq!(server.send(&server.request("POST", "/members/bulk-client", &once, body.as_bytes())).status, 200);
}

/// What a client sends after the request that makes the recorder give up: a create with the
/// wrong-case `companyid`, which must never be served unchecked.
fn wrong_case_create(server: &Server, company: &str) -> Vec<u8> {
    let body = agencyhandy_body("unchecked@example.com");
    let request = format!(
        "POST /members/bulk-client HTTP/1.1\r\nHost: {}\r\nx-api-key: k\r\ncompanyid: {company}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    request.into_bytes()
}

#[test]
fn when_the_head_recorder_gives_up_the_request_is_answered_and_the_connection_closed() {
    let server = Server::start(&[]);
    let company = server.company("k");
    let addr = server.addr;
    let list = |target: &str| format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nx-api-key: k\r\n\r\n").into_bytes();
    let body = agencyhandy_body("chunked@example.com");
    let chunked = format!(
        "POST /members/bulk-client HTTP/1.1\r\nHost: {addr}\r\nx-api-key: k\r\ncompanyId: {company}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:017x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    )
    .into_bytes();
    let tricks: Vec<(&str, Vec<u8>)> = vec![
        ("a #fragment target", list("/accounts/companies#fragment")),
        ("an HTTP:// absolute-form target", list(&format!("HTTP://{addr}/accounts/companies"))),
        ("a 17-digit chunk size", chunked),
        ("70 pipelined requests", list("/accounts/companies").repeat(70)),
    ];
    for (what, trick) in tricks {
        let mut wire = trick;
        wire.extend(wrong_case_create(&server, &company));
        let answers = server.send_all(&wire);
        let first = answers.first().unwrap_or_else(|| panic!("{what}: nothing answered"));
        assert_eq!(first.status, 200, "{what}: the request the recorder gave up on is answered: {}", first.text());
        let closing = answers.iter().position(|a| a.header("connection") == Some("close"));
        let closing = closing.unwrap_or_else(|| panic!("{what}: no answer says `Connection: close`"));
        assert_eq!(closing, answers.len() - 1, "{what}: answers after the one that closed");
        let entry = server.journal("limit=1").pop().expect("an entry");
        assert!(entry["connection_closed"].as_str().is_some_and(|c| c.contains("gave up")), "{what}: {entry}");
    }
    let unchecked: Vec<Value> = server
        .journal("")
        .into_iter()
        .filter(|e| e["body"].as_str().is_some_and(|b| b.contains("unchecked@")) && e["status"] == 200)
        .collect();
    assert!(unchecked.is_empty(), "a wrong-case create was served: {unchecked:#?}");
    assert_eq!(server.journal("outcome=bulk").len(), 1, "only the chunked create with `companyId` was served");
}

// ------------------------------------------------------------------------------- the admin API

#[test]
fn a_cross_site_form_or_text_plain_post_cannot_reset_or_arm_a_fault() {
    let server = Server::start(&[]);
    assert_eq!(smartlead_create(&server, "kept@example.com", "").status, 200);
    let fault = json!({"effect": {"type": "status", "status": 500}}).to_string();
    let kinds = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"];
    for kind in kinds {
        for path in ["/__admin/reset", "/__admin/faults"] {
            let answer = server.send(&server.request("POST", path, &[("Content-Type", kind)], fault.as_bytes()));
            assert_eq!(answer.status, 415, "{kind} to {path}: {}", answer.text());
        }
    }
    let bodiless = server.send(&server.request("POST", "/__admin/faults", &[], fault.as_bytes()));
    assert_eq!(bodiless.status, 415, "a body without a Content-Type");
    let cross = [("Content-Type", "application/json"), ("Origin", "https://evil.example")];
    assert_eq!(server.send(&server.request("POST", "/__admin/reset", &cross, b"{}")).status, 403);
    let null = [("Content-Type", "application/json"), ("Origin", "null")];
    assert_eq!(server.send(&server.request("POST", "/__admin/faults", &null, fault.as_bytes())).status, 403);
    assert_eq!(server.admin("GET", "/faults", None).json()["faults"], json!([]), "no fault armed");
    assert_eq!(server.admin("GET", "/state/smartlead", None).json()["counts"]["clients"], 1, "nothing reset");
    let same = [("Content-Type", "application/json"), ("Origin", &format!("http://{}", server.addr))];
    assert_eq!(server.send(&server.request("POST", "/__admin/reset", &same, b"{}")).status, 204);
    assert_eq!(server.send(&server.request("DELETE", "/__admin/requests", &[], b"")).status, 204, "curl -X DELETE");
}

#[test]
fn a_foreign_host_is_refused_so_a_rebound_name_cannot_read_the_journal() {
    let server = Server::start(&["--admin-host", "mock.ci.internal"]);
    assert_eq!(smartlead_create(&server, "secret@example.com", "").status, 200);
    let with_host = |host: &str| {
        let request = format!("GET /__admin/requests HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        server.send(request.as_bytes())
    };
    let port = server.addr.port();
    for host in [format!("evil.example:{port}"), format!("127.0.0.1.nip.io:{port}"), "10.1.2.3".to_owned()] {
        let refused = with_host(&host);
        assert_eq!(refused.status, 403, "{host}");
        assert!(!refused.text().contains("secret@example.com"), "{host}: {}", refused.text());
    }
    for host in
        [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}"), "mock.ci.internal".into()]
    {
        assert_eq!(with_host(&host).status, 200, "{host}");
    }
}

#[test]
fn an_empty_admin_token_is_an_error_at_start_and_the_token_can_come_from_a_file_or_the_environment() {
    for (args, env) in [
        (vec!["--admin-token", ""], vec![]),
        (vec!["--admin-token", "  "], vec![]),
        (vec![], vec![("VENDOR_MOCK_ADMIN_TOKEN", "")]),
    ] {
        let mut command = Command::new(binary::binary());
        command.args(["serve", "--port", "0"]).args(&args).envs(env.iter().copied());
        for (name, _) in std::env::vars_os().filter(|(n, _)| n.to_string_lossy().starts_with("VENDOR_MOCK_")) {
            command.env_remove(name);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starts");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("poll") {
                break status;
            }
            if started.elapsed() > SAFETY {
                let _ = child.kill();
                panic!("{args:?} {env:?}: still serving");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("read");
        assert_eq!(status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        assert!(stderr.contains("admin token is empty"), "{stderr}");
    }
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("token");
    std::fs::write(&file, "from-a-file\n").expect("write the token");
    let server = Server::start(&["--admin-token-file", &file.to_string_lossy()]);
    assert_eq!(server.admin("GET", "/health", None).status, 401);
    let authorized = [("Authorization", "Bearer from-a-file")];
    assert_eq!(server.send(&server.request("GET", "/__admin/health", &authorized, b"")).status, 200);
    let server = Server::start_with(&[], &[("VENDOR_MOCK_ADMIN_TOKEN", "from-env")], None);
    let authorized = [("Authorization", "Bearer from-env")];
    assert_eq!(server.send(&server.request("GET", "/__admin/health", &authorized, b"")).status, 200);
    assert_eq!(server.admin("GET", "/health", None).status, 401);
}

#[test]
fn admin_routes_get_the_same_body_time_out_as_vendor_routes() {
    let server = Server::start(&["--client-timeout", "1"]);
    let head = format!(
        "POST /__admin/faults HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"eff",
        server.addr
    );
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream.set_read_timeout(Some(SAFETY)).expect("a time-out");
    stream.write_all(head.as_bytes()).expect("send half a body");
    let answer = blocking::read_response(&mut stream);
    assert_eq!(answer.status, 408, "{}", answer.text());
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(4), "answered after {waited:?}");
}

// ------------------------------------------------------------------------------------ smaller

#[test]
fn a_60_kb_unrouted_path_costs_bounded_cpu_in_the_nearest_route_search() {
    let server = Server::start(&[]);
    let path = format!("/api/v1/client/{}", "a".repeat(60_000));
    server.send(&server.request("GET", &path, &[], b""));
    let cpu = server.cpu();
    for _ in 0..20 {
        let answer = server.send(&server.request("GET", &path, &[], b""));
        assert_eq!(answer.status, 404);
    }
    let each = (server.cpu() - cpu) / 20;
    // Before: 8 ms a request on a release build, in the edit distance alone.
    let bound = Duration::from_millis(if cfg!(debug_assertions) { 10 } else { 2 });
    assert!(each <= bound, "{each:?} of server CPU per 60 KB unrouted path (bound {bound:?})");
}

#[test]
fn host_colon_colon_1_and_localhost_are_bound_as_ipv6_and_by_name() {
    for (host, expected) in [("::1", "[::1]"), ("[::1]", "[::1]"), ("localhost", "")] {
        let server = Server::start(&["--host", host]);
        assert!(server.addr.ip().is_loopback(), "{host}: bound to {}", server.addr);
        assert!(expected.is_empty() || server.addr.to_string().starts_with(expected), "{host}: {}", server.addr);
        assert_eq!(server.admin("GET", "/health", None).status, 200, "{host}");
    }
}

#[test]
fn at_the_file_descriptor_limit_accept_errors_are_logged_at_most_once_a_second() {
    let server = Server::start_with(&[], &[], Some(48));
    let held: Vec<TcpStream> = (0..80).filter_map(|_| TcpStream::connect(server.addr).ok()).collect();
    assert!(held.len() >= 60, "only {} connections opened", held.len());
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(2500));
    let warnings = server.logged("accept failed");
    let seconds = started.elapsed().as_secs() + 1;
    assert!(!warnings.is_empty(), "the accept errors are logged");
    assert!(warnings.len() as u64 <= seconds + 1, "{} warnings in {seconds} s: {warnings:#?}", warnings.len());
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.admin("GET", "/health", None).status, 200, "served again once descriptors are free");
}

// ------------------------------------------------------------------------------------ secrets

/// Sends `body` with `content_type` to a vendor route of `server` and returns its journal entry
/// as the admin API lists it (secrets masked: the default).
fn journalled(server: &Server, target: &str, headers: &[(&str, &str)], body: &str) -> Value {
    server.send(&server.request("POST", target, headers, body.as_bytes()));
    server.journal("limit=1").pop().expect("an entry")
}

#[test]
fn secrets_are_masked_in_every_body_form_malformed_form_encoded_non_string_and_nested() {
    let server = Server::start(&[]);
    let json = [("Content-Type", "application/json")];
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let bearer = [("Authorization", "Bearer tok_secret_1"), ("Content-Type", "application/json")];
    let cases: Vec<Case<String>> = vec![
        ("malformed JSON", "/api/v1/client/save?api_key=key_secret_1", &json, r#"{"email":"a@b.co","password":"hunter2-malformed","#.into()),
        ("form-encoded", "/api/v1/client/save?api_key=key_secret_1", &form, "email=a%40b.co&password=hunter2-form&name=n".into()),
        ("a number", "/api/v1/client/save?api_key=key_secret_1", &json, r#"{"email":"a@b.co","name":"n","password":98765432}"#.into()),
        ("an object", "/api/v1/client/save?api_key=key_secret_1", &json, r#"{"email":"a@b.co","name":"n","password":{"v":"hunter2-object"}}"#.into()),
        (
            "nested in client_users",
            "/api/v2/clients/create",
            &bearer,
            r#"{"client_users":[{"email":"u@b.co","password":"hunter2-nested"}],"client_asset_group":{"tenant_voice_provider_id":"x"}}"#.into(),
        ),
        (
            "cut by the journal's cap",
            "/api/v1/client/save?api_key=key_secret_1",
            &json,
            format!(r#"{{"email":"a@b.co","name":"{}","password":"hunter2-cut{}"}}"#, "n".repeat(KEPT - 40), "x".repeat(KEPT)),
        ),
    ];
    for (what, target, headers, body) in &cases {
        let entry = journalled(&server, target, headers, body);
        let shown = entry.to_string();
        assert!(!shown.contains("hunter2") && !shown.contains("98765432"), "{what}: {shown:.600}");
        assert!(entry["body"].as_str().is_some_and(|b| b.contains("****")), "{what}: {:.300}", entry["body"]);
        assert!(!shown.contains("key_secret_1") && !shown.contains("tok_secret_1"), "{what}: credentials");
    }
}

#[test]
fn secret_field_names_come_from_the_spec_not_a_fixed_list() {
    // A copy of the specs where SmartLead's request schema has one more write-only field.
    let dir = tempfile::tempdir().expect("a folder");
    let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    for entry in std::fs::read_dir(&specs).expect("specs/") {
        let path = entry.expect("an entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let mut text = std::fs::read_to_string(&path).expect("a spec");
        if path.file_name().and_then(|n| n.to_str()) == Some("smartlead.yaml") {
            let at = "        password:\n";
            assert!(text.contains(at), "smartlead.yaml has a password property");
            text = text.replacen(
                at,
                &format!("        recovery_phrase:\n          type: string\n          writeOnly: true\n{at}"),
                1,
            );
        }
        std::fs::write(dir.path().join(path.file_name().expect("a name")), text).expect("write a spec");
    }
    let server = Server::start(&["--specs", &dir.path().to_string_lossy()]);
    let body = r#"{"email":"a@b.co","name":"n","recovery_phrase":"correct horse","password":"pw-1","token":"not-a-secret-here"}"#;
    let entry = journalled(&server, "/api/v1/client/save?api_key=k", &[("Content-Type", "application/json")], body);
    let logged: Value = serde_json::from_str(entry["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(logged["recovery_phrase"], "****", "a writeOnly field of the spec");
    assert_eq!(logged["password"], "****", "SmartLead's password is writeOnly in its spec");
    assert_eq!(logged["token"], "not-a-secret-here", "a name no spec marks is shown as sent");
    // (`token` is not in SmartLead's schema: that create was refused; this one is stored.)
    let body = r#"{"email":"b@b.co","name":"n","recovery_phrase":"correct horse"}"#;
    let stored = server.send(&server.request(
        "POST",
        "/api/v1/client/save?api_key=k",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    ));
    assert_eq!(stored.status, 200, "{}", stored.text());
    let created = server.admin("GET", "/state/smartlead", None).json();
    assert_eq!(created["records"]["clients"][0]["recovery_phrase"], "****", "state listings too");
}

#[test]
fn a_valid_body_up_to_the_limit_and_its_duplicate_cost_bounded_server_cpu_too() {
    let server = Server::start(&[]);
    let company = server.company("bulk");
    let entries = |prefix: &str| {
        let mut entries = Vec::new();
        let mut size = 2;
        while size < BODY_LIMIT - 200 {
            let entry = json!({"firstName": "A", "lastName": "B", "email": format!("{prefix}{}@x.io", entries.len()), "isConvertedClient": false});
            size += entry.to_string().len() + 1;
            entries.push(entry);
        }
        entries.pop();
        json!(entries).to_string().into_bytes()
    };
    let users = {
        let mut users = Vec::new();
        let mut size = 200;
        while size < BODY_LIMIT - 300 {
            let user = json!({"email": format!("u{}@x.io", users.len()), "password": "p"});
            size += user.to_string().len() + 1;
            users.push(user);
        }
        users.pop();
        json!({"client_users": users, "client_asset_group": {"tenant_voice_provider_id": "x"}}).to_string().into_bytes()
    };
    let agencyhandy: &[(&str, &str)] =
        &[("x-api-key", "bulk"), ("companyId", &company), ("Content-Type", "application/json")];
    let bearer: &[(&str, &str)] = &[("Authorization", "Bearer bulk"), ("Content-Type", "application/json")];
    let bulk = entries("e");
    let cases: Vec<Case<&[u8]>> = vec![
        ("AgencyHandy: 12,000 new clients", "/members/bulk-client", agencyhandy, &bulk),
        ("AgencyHandy: the same 12,000 again, every one a duplicate", "/members/bulk-client", agencyhandy, &bulk),
        ("VoiceAIWrapper: one client of 25,000 users", "/api/v2/clients/create", bearer, &users),
        ("VoiceAIWrapper: the same users again", "/api/v2/clients/create", bearer, &users),
    ];
    for (what, target, headers, body) in cases {
        assert!(body.len() <= BODY_LIMIT, "{what}: {} bytes", body.len());
        let cpu = server.cpu();
        let answer = server.send(&server.request("POST", target, headers, body));
        let spent = server.cpu() - cpu;
        assert!(answer.status == 200 || answer.status == 400, "{what}: {} {:.300}", answer.status, answer.text());
        assert!(spent <= valid_cpu_bound(), "{what}: {spent:?} of server CPU (bound {:?})", valid_cpu_bound());
        let entry = server.journal("limit=1").pop().expect("an entry");
        let failed = entry["outcome"]["failed"].as_array().map_or(0, Vec::len);
        assert!(failed <= 100, "{what}: {failed} failures journalled");
    }
    let sent = serde_json::from_slice::<Value>(&bulk).ok().and_then(|b| b.as_array().map(Vec::len));
    let stored = server.admin("GET", "/state/agencyhandy?limit=1", None).json()["counts"]["clients"].as_u64();
    assert_eq!(stored.map(|n| n as usize), sent, "each client stored once");
}

#[test]
fn the_journal_reads_in_pages_with_since_and_limit() {
    let server = Server::start(&[]);
    for n in 0..25 {
        smartlead_create(&server, &format!("page{n}@example.com"), "");
    }
    let mut since = 0;
    let mut seen = Vec::new();
    loop {
        let page = server.journal(&format!("since={since}&limit=10"));
        assert!(page.len() <= 10, "a page of {}", page.len());
        let Some(last) = page.last().and_then(|e| e["seq"].as_u64()) else { break };
        seen.extend(page.iter().filter_map(|e| e["seq"].as_u64()));
        since = last;
    }
    assert_eq!(seen, (1..=25).collect::<Vec<u64>>(), "every entry once, in order");
    let newest: Vec<u64> = server.journal("limit=3").iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(newest, [23, 24, 25], "without since, limit is the newest");
}
