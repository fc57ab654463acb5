//! Bad input never panics or hangs the mock: oversized, slow, unfinished, deeply nested and
//! non-UTF-8 requests each get the vendor-shaped answer (or a closed connection), and the next
//! request is served. Time-outs are configured small (300 ms); the 10 s bound is only a net.

use std::time::Duration;

use e2e::{
    Ending, Expect, Ran, Request, SAFETY, Scenario, Server, VendorSpec, check_answer, embedded, serve, until_closed,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vendor_mock::Config;

const SHORT: Duration = Duration::from_millis(300);

async fn server() -> Server {
    let config = Config::default().seed(1).body_timeout(SHORT).header_timeout(SHORT);
    serve(embedded(), config).await
}

/// A vendor and the means to send it one bad request, then a good one.
struct Vendor {
    spec: VendorSpec,
    creds: e2e::Creds,
    created: usize,
}

impl Vendor {
    async fn new(spec: VendorSpec, server: &Server) -> Self {
        let creds = spec.account(server.addr, "robust").await;
        Self { spec, creds, created: 0 }
    }

    /// A create request with valid credentials and this body and content type.
    fn raw(&self, body: Vec<u8>) -> Request {
        let op = self.spec.create_op();
        let request = Request::new(&op.method, &op.path).header("Content-Type", "application/json").body(body);
        self.spec.authorize(&op, &self.creds, request)
    }

    /// Sends `request` and checks that the vendor's `template` answered, in its documented shape.
    async fn expect_template(&self, server: &Server, case: &str, request: Request, template: &str) {
        let response = server.send(&request).await;
        let entry = server.last_entry();
        let scenario = Scenario {
            name: case.to_owned(),
            about: String::new(),
            request,
            shown: Value::Null,
            expect: Expect::Template(template.to_owned()),
        };
        check_answer(&self.spec, &Ran { scenario, response, entry });
    }

    /// A new record is created: the mock is still serving.
    async fn expect_success(&mut self, server: &Server, after: &str) {
        self.created += 1;
        let op = self.spec.create_op();
        let body = op.freshen(&op.example(), None, self.created);
        let response = server.send(&self.spec.create(&self.creds, &body)).await;
        assert_eq!(
            response.status,
            op.success_status(),
            "{}: a create after {after}: {}",
            self.spec.name,
            response.text()
        );
    }
}

async fn vendors(server: &Server) -> Vec<Vendor> {
    let mut out = Vec::new();
    for spec in VendorSpec::all(&embedded()) {
        out.push(Vendor::new(spec, server).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2_mib_body_gets_413_with_or_without_a_content_length_and_the_next_request_is_served() {
    let server = server().await;
    let big = serde_json::to_vec(&json!({ "padding": "x".repeat(2 * 1024 * 1024) })).expect("serialize");
    for mut vendor in vendors(&server).await {
        vendor.expect_template(&server, "2 MiB with Content-Length", vendor.raw(big.clone()), "too_large").await;
        vendor.expect_success(&server, "2 MiB with Content-Length").await;

        let mut chunked = Vec::new();
        for piece in big.chunks(64 * 1024) {
            chunked.extend(format!("{:x}\r\n", piece.len()).into_bytes());
            chunked.extend_from_slice(piece);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let request = vendor.raw(chunked).header("Transfer-Encoding", "chunked");
        vendor.expect_template(&server, "2 MiB chunked", request, "too_large").await;
        vendor.expect_success(&server, "2 MiB chunked").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_content_length_gets_the_vendors_408_after_the_body_time_out() {
    let server = server().await;
    for mut vendor in vendors(&server).await {
        let request = vendor.raw(b"ab".to_vec()).header("Content-Length", "5");
        vendor.expect_template(&server, "2 of 5 bytes", request, "timeout").await;
        vendor.expect_success(&server, "a body time-out").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_never_finished_gets_the_connection_closed_after_the_header_time_out() {
    let server = server().await;
    let unfinished = b"POST /api/v1/client/save HTTP/1.1\r\nHost: mock\r\nContent-Ty";
    // Closed or reset; anything written before is kept for the message.
    let (Ending::Closed(seen) | Ending::Reset(seen)) = until_closed(server.addr, unfinished).await;
    assert!(seen.is_empty() || seen.starts_with(b"HTTP/1.1 408"), "{}", String::from_utf8_lossy(&seen));
    for mut vendor in vendors(&server).await {
        vendor.expect_success(&server, "an unfinished head").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_nested_100_000_deep_gets_the_vendors_malformed_body_answer() {
    let server = server().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes();
    let open_only = "{\"a\":".repeat(100_000).into_bytes();
    for mut vendor in vendors(&server).await {
        vendor.expect_template(&server, "100 000 arrays", vendor.raw(deep.clone()), "malformed").await;
        vendor.expect_success(&server, "100 000 nested arrays").await;
        vendor.expect_template(&server, "100 000 open objects", vendor.raw(open_only.clone()), "malformed").await;
        vendor.expect_success(&server, "100 000 open objects").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_or_overlong_utf8_in_a_body_gets_the_vendors_400_and_the_next_request_is_served() {
    let server = server().await;
    for mut vendor in vendors(&server).await {
        let op = vendor.spec.create_op();
        let mut body = serde_json::to_vec(&op.freshen(&op.example(), None, 900)).expect("serialize");
        // Replace the record's first character of a string value by bytes that are not UTF-8.
        let at = body.windows(2).position(|w| w == b":\"").expect("the example has a string") + 2;
        body.splice(at..at + 1, [0xff, 0xfe]);
        vendor.expect_template(&server, "invalid UTF-8 body", vendor.raw(body), "malformed").await;
        vendor.expect_success(&server, "an invalid UTF-8 body").await;

        let overlong = vendor.raw(b"{\"name\": \"\xc0\xaf\"}".to_vec());
        vendor.expect_template(&server, "overlong UTF-8", overlong, "malformed").await;
        vendor.expect_success(&server, "an overlong UTF-8 body").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_idle_timeout_and_a_busy_one_is_not() {
    let config = Config::default().idle_timeout(Duration::from_millis(400));
    let server = serve(embedded(), config).await;
    let started = tokio::time::Instant::now();
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let mut busy = TcpStream::connect(server.addr).await.expect("connect");
    // The busy one sends a request every 150 ms: never silent for 400 ms.
    for _ in 0..5 {
        busy.write_all(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.expect("write");
        let mut answer = [0_u8; 512];
        let n = tokio::time::timeout(SAFETY, busy.read(&mut answer)).await.expect("answered").expect("read");
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "the busy connection is still served");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let mut byte = [0_u8; 1];
    let closed = tokio::time::timeout(SAFETY, silent.read(&mut byte)).await.expect("closed within the safety bound");
    assert!(matches!(closed, Ok(0) | Err(_)), "the silent connection was closed, not answered: {closed:?}");
    assert!(started.elapsed() >= Duration::from_millis(400), "not before the idle time-out");
}

mod hostile {
    //! Random and hostile clients against a real server on loopback (`vendor_mock::run`), each
    //! bounded by a limit or a time-out with a clear answer, while the server keeps serving others:
    //! property tests over bodies, headers and paths, a thousand concurrent creates per vendor,
    //! slowloris, endless bodies, idle connections, pipelined garbage and 100 MiB bodies.
    //! Self-contained (it does not use `common`).
    //!
    //! Property tests run 32 cases each (`PROPTEST_CASES=N` for more). Time-outs are configured at
    //! 500 ms; no exchange may take longer than 10 s, so a hang fails a test instead of stalling it.
    //! Tests that open a thousand sockets or read the process's memory take turns ([`heavy`]).

    use std::collections::BTreeSet;
    use std::io::Write;
    use std::net::{Shutdown, SocketAddr, TcpStream};
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
    use std::time::{Duration, Instant};

    use proptest::prelude::*;
    use proptest::test_runner::{Config as RunnerConfig, TestRunner};
    use serde_json::Value;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use vendor_mock::{Config, Mock, Outcome, Specs};

    use e2e::{Response, blocking, parse_response, responses};

    /// The server's header and body time-outs in these tests.
    const CLIENT_TIMEOUT: Duration = Duration::from_millis(500);
    /// The longest any one exchange may take.
    const NET: Duration = Duration::from_secs(10);
    /// Sockets held open at once by the thousand-connection tests (client and server ends).
    const FDS_NEEDED: u64 = 4096;

    static HEAVY: Mutex<()> = Mutex::new(());

    /// Serializes the tests that hold a thousand sockets or measure memory.
    fn heavy() -> MutexGuard<'static, ()> {
        HEAVY.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Raises the soft open-file limit to what the thousand-connection tests need (within the hard
    /// limit) and fails clearly if that is not enough.
    fn enough_file_descriptors() {
        let got = rlimit::increase_nofile_limit(FDS_NEEDED).expect("the open-file limit can be read and raised");
        assert!(got >= FDS_NEEDED, "the open-file limit is {got}; these tests need {FDS_NEEDED} (ulimit -n)");
    }

    // ------------------------------------------------------------------------------------- server

    struct Served {
        addr: SocketAddr,
        mock: Arc<Mock>,
        runtime: tokio::runtime::Runtime,
    }

    fn config() -> Config {
        Config::default().seed(7).header_timeout(CLIENT_TIMEOUT).body_timeout(CLIENT_TIMEOUT)
    }

    /// Serves a fresh mock with `config` on a loopback port, in a runtime of its own.
    fn serve(config: Config) -> Served {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let mock = Mock::new(Specs::embedded().expect("the embedded specs load"), config);
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        runtime.spawn(vendor_mock::run(listener, Arc::clone(&mock), std::future::pending()));
        Served { addr, mock, runtime }
    }

    // ------------------------------------------------------------------------------ vendor model

    /// What these tests need of one vendor, read from its spec.
    #[derive(Debug, Clone)]
    struct Vendor {
        name: String,
        operation: String,
        method: String,
        path: String,
        example: Value,
        bulk: bool,
        parts: Vec<Part>,
        /// Every status the vendor's templates answer.
        statuses: BTreeSet<u16>,
        success: u16,
        /// The unique rule on the e-mail: its path in a record and its error template's status.
        email_path: String,
        duplicate: u16,
        /// Paths of the other unique rules (Cellcast's mobile).
        other_unique: Vec<String>,
        /// Bulk: the key of the success body that lists the created entries.
        created_key: Option<String>,
        /// The operation that lists an account's tenants, and where the id is in each.
        tenants: Option<(String, String, String)>,
    }

    #[derive(Debug, Clone)]
    struct Part {
        location: String,
        key: String,
        tenant: bool,
    }

    fn vendors(mock: &Mock) -> Vec<Vendor> {
        mock.specs().vendor_names().iter().map(|name| vendor(mock, name)).collect()
    }

    fn vendor(mock: &Mock, name: &str) -> Vendor {
        let specs = mock.specs();
        let spec = specs.vendor(name).expect("a loaded vendor");
        let mut statuses: BTreeSet<u16> = spec.errors.values().map(|t| t.status).collect();
        statuses.extend(spec.operations.iter().map(|o| o.success.status));
        let tenants = spec.tenant_lookup().map(|op| {
            let key = op.tenants_at.as_ref().expect("a list_tenants answer lists tenants").to_string();
            let id = spec.tenants.as_ref().expect("x-mock.tenants").id.path.to_string();
            (op.path.clone(), key, id)
        });
        let op = spec.create_operation().expect("every vendor has a create operation");
        let email = op.unique.iter().find(|r| r.path.as_str().ends_with("email")).expect("an e-mail unique rule");
        let duplicate = spec.errors[&email.error].status;
        let created_key = op
            .success
            .body
            .as_object()
            .and_then(|b| b.iter().find(|(_, v)| v["$map"].as_str() == Some("created")).map(|(k, _)| k.clone()));
        Vendor {
            name: name.to_owned(),
            operation: op.id.clone(),
            method: op.method.to_string(),
            path: op.path.clone(),
            example: op.example.clone().unwrap_or(Value::Null),
            bulk: op.bulk,
            parts: spec
                .auth
                .credentials
                .iter()
                .map(|p| Part {
                    location: serde_json::to_value(p.location)
                        .ok()
                        .and_then(|l| l.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    key: p.key.clone(),
                    tenant: p.tenant,
                })
                .collect(),
            statuses,
            success: op.success.status,
            email_path: email.path.to_string(),
            duplicate,
            other_unique: op.unique.iter().filter(|r| r.name != email.name).map(|r| r.path.to_string()).collect(),
            created_key,
            tenants,
        }
    }

    /// Credential values, one per part in spec order: the account's for plain parts, its first
    /// tenant's id for tenant parts.
    fn credentials(addr: SocketAddr, v: &Vendor, account: &str) -> Vec<String> {
        let mut values: Vec<String> = v.parts.iter().map(|_| account.to_owned()).collect();
        if let Some((path, key, id)) = &v.tenants {
            let plain: Vec<String> =
                v.parts.iter().map(|p| if p.tenant { String::new() } else { account.to_owned() }).collect();
            let listed = blocking::send(addr, &raw(v, "GET", path, &plain, &[], None));
            assert_eq!(listed.status, 200, "{}: listing tenants: {}", v.name, listed.text());
            let tenant = listed.json()[key][0][id].as_str().expect("a tenant id").to_owned();
            for (value, part) in values.iter_mut().zip(&v.parts) {
                if part.tenant {
                    value.clone_from(&tenant);
                }
            }
        }
        values
    }

    /// A raw HTTP/1.1 request with the credentials in place, `Connection: close`, and `body` (with
    /// its Content-Length and a JSON Content-Type unless `extra` sets one).
    fn raw(
        v: &Vendor,
        method: &str,
        path: &str,
        creds: &[String],
        extra: &[(String, Vec<u8>)],
        body: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut target = path.to_owned();
        let mut head: Vec<u8> = Vec::new();
        for (part, value) in v.parts.iter().zip(creds) {
            match part.location.as_str() {
                "query" => {
                    target.push(if target.contains('?') { '&' } else { '?' });
                    target.push_str(&format!(
                        "{}={}",
                        part.key,
                        form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
                    ));
                }
                "bearer" if !value.is_empty() => head.extend(format!("{}: Bearer {value}\r\n", part.key).into_bytes()),
                _ if !value.is_empty() => head.extend(format!("{}: {value}\r\n", part.key).into_bytes()),
                _ => {}
            }
        }
        let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n").into_bytes();
        out.extend(head);
        let sets_type = extra.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !sets_type {
            out.extend_from_slice(b"Content-Type: application/json\r\n");
        }
        for (name, value) in extra {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(body) = body {
            out.extend(format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes());
            out.extend_from_slice(body);
        } else {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// A copy of the vendor's example create body with `email` at the e-mail path and the other
    /// unique fields made distinct by `n`.
    fn create_body(v: &Vendor, email: &str, n: usize) -> Value {
        let mut body = v.example.clone();
        let records: Vec<&mut Value> = match &mut body {
            Value::Array(items) if v.bulk => items.iter_mut().collect(),
            other => vec![other],
        };
        for record in records {
            set_at(record, &v.email_path, &Value::from(email));
            for path in &v.other_unique {
                // Digits stay digits (a mobile number keeps its pattern).
                set_at(record, path, &Value::from(format!("04{n:08}")));
            }
        }
        body
    }

    /// Sets every place a path such as `email` or `client_users[].email` names.
    fn set_at(value: &mut Value, path: &str, new: &Value) {
        let (head, rest) = path.split_once('.').map_or((path, None), |(h, r)| (h, Some(r)));
        let (name, each) = head.strip_suffix("[]").map_or((head, false), |n| (n, true));
        let Some(child) = value.get_mut(name) else { return };
        match (rest, each) {
            (None, false) => *child = new.clone(),
            (Some(rest), false) => set_at(child, rest, new),
            (rest, true) => {
                for item in child.as_array_mut().into_iter().flatten() {
                    match rest {
                        Some(rest) => set_at(item, rest, new),
                        None => *item = new.clone(),
                    }
                }
            }
        }
    }

    /// The value at a concrete path such as `client_users[0].id`.
    fn value_at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
        path.split('.').try_fold(value, |v, segment| match segment.split_once('[') {
            Some((name, index)) => v.get(name)?.get(index.trim_end_matches(']').parse::<usize>().ok()?),
            None => v.get(segment),
        })
    }

    // ------------------------------------------------------------------------------------ client

    /// A property-test check: the answer is JSON and its status is one of the vendor's.
    fn vendor_shaped(v: &Vendor, answer: &Response) -> Result<(), TestCaseError> {
        prop_assert!(answer.is_json(), "{}: not a JSON answer: {} {}", v.name, answer.status, answer.text());
        prop_assert!(
            v.statuses.contains(&answer.status),
            "{}: {} is none of the vendor's statuses {:?}: {}",
            v.name,
            answer.status,
            v.statuses,
            answer.text()
        );
        Ok(())
    }

    /// A normal create succeeds, quickly: the server is still serving.
    fn assert_still_serving(addr: SocketAddr, v: &Vendor, creds: &[String], n: usize) {
        let started = Instant::now();
        let body = serde_json::to_vec(&create_body(v, &format!("still-serving-{n}@example.com"), n)).expect("JSON");
        let answer = blocking::send(addr, &raw(v, &v.method, &v.path, creds, &[], Some(&body)));
        assert_eq!(answer.status, v.success, "{}: a normal create: {}", v.name, answer.text());
        assert!(started.elapsed() < Duration::from_secs(2), "a normal create took {:?}", started.elapsed());
    }

    /// The resident memory of this process, in KiB (Linux).
    fn rss_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    // ---------------------------------------------------------------------------- property tests

    fn runner(default_cases: u32) -> TestRunner {
        let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default_cases);
        TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() })
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,24}".prop_map(Value::from),
            "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z_]{1,14}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A body: random bytes, random JSON, or the vendor's example with one field replaced or removed.
    fn body_strategy(example: Value) -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..400),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
            (any::<prop::sample::Index>(), prop::option::of(json_value())).prop_map(move |(index, replacement)| {
                let mut body = example.clone();
                let record = match &mut body {
                    Value::Array(items) => items.first_mut(),
                    other => Some(other),
                };
                if let Some(Value::Object(map)) = record
                    && !map.is_empty()
                {
                    let key = map.keys().nth(index.index(map.len())).cloned().unwrap_or_default();
                    match replacement {
                        Some(value) => {
                            map.insert(key, value);
                        }
                        None => {
                            map.remove(&key);
                        }
                    }
                }
                serde_json::to_vec(&body).unwrap_or_default()
            }),
        ]
    }

    fn content_type_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => Just(b"application/json".to_vec()),
            1 => Just(b"application/json; charset=utf-8".to_vec()),
            1 => Just(b"text/plain".to_vec()),
            1 => "[a-z]{1,10}/[a-z+.-]{1,16}".prop_map(String::into_bytes),
        ]
    }

    #[test]
    fn random_bodies_to_every_create_route_get_one_of_the_vendors_own_json_answers() {
        let served = serve(config());
        for v in vendors(&served.mock) {
            let creds = credentials(served.addr, &v, "prop-bodies");
            let strategy = (body_strategy(v.example.clone()), content_type_strategy());
            runner(32)
                .run(&strategy, |(body, content_type)| {
                    let extra = [("Content-Type".to_owned(), content_type)];
                    let answer = blocking::send(served.addr, &raw(&v, &v.method, &v.path, &creds, &extra, Some(&body)));
                    vendor_shaped(&v, &answer)
                })
                .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        }
    }

    /// Header names that frame or route the request: random values there test hyper, not the mock.
    const FRAMING: [&str; 10] = [
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "expect",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
        "http2-settings",
    ];

    fn header_strategy() -> impl Strategy<Value = (String, Vec<u8>)> {
        let name = "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,24}"
            .prop_filter("not a framing header", |n: &String| !FRAMING.contains(&n.to_ascii_lowercase().as_str()));
        // Visible ASCII, spaces, tabs and obs-text (0x80-0xFF): what a header value may hold.
        let byte = prop_oneof![0x20u8..0x7f, Just(b'\t'), 0x80u8..=0xff];
        (name, prop::collection::vec(byte, 0..60))
    }

    #[test]
    fn random_headers_and_credentials_get_one_of_the_vendors_own_json_answers() {
        let served = serve(config());
        for v in vendors(&served.mock) {
            let valid = credentials(served.addr, &v, "prop-headers");
            let body = serde_json::to_vec(&v.example).expect("JSON");
            // Each credential part: the valid value, or a random printable one.
            let creds = v
                .parts
                .iter()
                .zip(valid)
                .map(|(_, good)| prop_oneof![Just(good), "[!-~]{1,30}", "(expired|invalid)[a-z]{0,6}"])
                .collect::<Vec<_>>();
            let strategy = (creds, prop::collection::vec(header_strategy(), 0..20));
            runner(32)
                .run(&strategy, |(creds, headers)| {
                    let answer =
                        blocking::send(served.addr, &raw(&v, &v.method, &v.path, &creds, &headers, Some(&body)));
                    vendor_shaped(&v, &answer)
                })
                .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        }
    }

    #[test]
    fn random_methods_and_paths_get_a_json_answer_with_a_status_some_vendor_answers() {
        let served = serve(config());
        let all = vendors(&served.mock);
        let statuses: BTreeSet<u16> = all.iter().flat_map(|v| v.statuses.iter().copied()).collect();
        let known: Vec<String> = all
            .iter()
            .map(|v| v.path.clone())
            .chain(all.iter().filter_map(|v| v.tenants.as_ref().map(|t| t.0.clone())))
            .collect();
        let near_miss =
            (prop::sample::select(known), 0..6usize, "[a-zA-Z0-9_.~-]{0,8}").prop_map(|(path, how, bit)| match how {
                0 => path,
                1 => format!("{path}/"),
                2 => format!("{path}/{bit}"),
                3 => format!("/{bit}{path}"),
                4 => path.to_ascii_uppercase(),
                _ => format!("{path}?{bit}={bit}"),
            });
        let random = "/[a-zA-Z0-9._~!$&'()*+,;=:@/-]{0,40}(\\?[a-zA-Z0-9=&_-]{0,20})?";
        let method = prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "FROB"]);
        let strategy = (method, prop_oneof![near_miss, random.prop_map(String::from)]);
        runner(64)
            .run(&strategy, |(method, path)| {
                prop_assume!(!path.starts_with("/__admin"));
                let head = "Host: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n";
                let request = format!("{method} {path} HTTP/1.1\r\n{head}Content-Length: 2\r\n\r\n{{}}");
                let answer = blocking::send(served.addr, request.as_bytes());
                prop_assert!(
                    answer.is_json(),
                    "{method} {path}: not a JSON answer: {} {}",
                    answer.status,
                    answer.text()
                );
                prop_assert!(
                    statuses.contains(&answer.status),
                    "{method} {path}: {} is no vendor's status: {}",
                    answer.status,
                    answer.text()
                );
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    }

    // ------------------------------------------------------------------------------- concurrency

    /// Sends `request` on `stream` with its last byte held back until every other task is ready.
    async fn create_together(
        mut stream: tokio::net::TcpStream,
        request: Arc<Vec<u8>>,
        start: Arc<tokio::sync::Barrier>,
    ) -> Response {
        let (last, most) = request.split_last().expect("a request");
        stream.write_all(most).await.expect("send all but the last byte");
        start.wait().await;
        stream.write_all(&[*last]).await.expect("send the last byte");
        let mut bytes = Vec::new();
        tokio::time::timeout(NET, stream.read_to_end(&mut bytes))
            .await
            .expect("an answer in time")
            .expect("read the answer");
        responses(&bytes)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("not an HTTP answer: {:?}", String::from_utf8_lossy(&bytes)))
    }

    #[test]
    fn a_thousand_concurrent_creates_with_one_email_create_exactly_one_record_per_vendor() {
        const N: usize = 1000;
        let _turn = heavy();
        enough_file_descriptors();
        let served = serve(config().body_timeout(NET).header_timeout(NET));
        for v in vendors(&served.mock) {
            let creds = credentials(served.addr, &v, "race");
            let email = format!("race-{}@example.com", v.name);
            let start = Arc::new(tokio::sync::Barrier::new(N));
            let answers: Vec<Response> = served.runtime.block_on(async {
                // Connections first, one after the other: a burst of a thousand handshakes would
                // overflow the listen queue (see the report); the creates themselves run together.
                let mut streams = Vec::new();
                for _ in 0..N {
                    streams.push(tokio::net::TcpStream::connect(served.addr).await.expect("connect to the mock"));
                }
                let tasks: Vec<_> = streams
                    .into_iter()
                    .enumerate()
                    .map(|(n, stream)| {
                        let body = serde_json::to_vec(&create_body(&v, &email, n)).expect("JSON");
                        let request = Arc::new(raw(&v, &v.method, &v.path, &creds, &[], Some(&body)));
                        tokio::spawn(create_together(stream, request, Arc::clone(&start)))
                    })
                    .collect();
                let mut answers = Vec::new();
                for task in tasks {
                    answers.push(task.await.expect("a client task"));
                }
                answers
            });

            // The answers: one create, N-1 of the vendor's duplicate answer.
            let created = match &v.created_key {
                Some(key) => answers.iter().filter(|a| a.json()[key].as_array().is_some_and(|c| !c.is_empty())).count(),
                None => answers.iter().filter(|a| a.status == v.success).count(),
            };
            assert_eq!(created, 1, "{}: creates answered as successful", v.name);
            for answer in &answers {
                assert!(answer.is_json(), "{}: {}", v.name, answer.text());
                assert!(
                    [v.success, v.duplicate].contains(&answer.status),
                    "{}: {} {}",
                    v.name,
                    answer.status,
                    answer.text()
                );
            }

            // The state: one record, with that e-mail.
            let records = served.mock.records(&v.name).expect("the vendor's records");
            let all: Vec<&Value> = records
                .as_object()
                .expect("collections")
                .values()
                .flat_map(|c| c.as_array().into_iter().flatten())
                .collect();
            assert_eq!(all.len(), 1, "{}: records {records}", v.name);
            let emails: Vec<&Value> = e2e::values_at(all[0], &v.email_path);
            assert!(emails.iter().all(|e| e.as_str() == Some(email.as_str())), "{}: stored {emails:?}", v.name);

            // The journal: N entries for the create, one that created, N-1 duplicates, distinct seqs,
            // and the created entry's generated ids are the stored record's.
            let entries: Vec<_> = served
                .mock
                .journal()
                .into_iter()
                .filter(|e| {
                    e.vendor.as_deref() == Some(v.name.as_str()) && e.operation.as_deref() == Some(v.operation.as_str())
                })
                .collect();
            assert_eq!(entries.len(), N, "{}: journal entries of the create", v.name);
            let seqs: BTreeSet<u64> = entries.iter().map(|e| e.seq).collect();
            assert_eq!(seqs.len(), N, "{}: journal seqs are distinct", v.name);
            let mut made = 0;
            let mut duplicates = 0;
            for entry in &entries {
                match &entry.outcome {
                    Outcome::Created { ids, .. } => {
                        made += 1;
                        for (path, id) in ids.as_object().into_iter().flatten() {
                            assert_eq!(
                                value_at(all[0], path),
                                Some(id),
                                "{}: the journal's {path} is not the stored one",
                                v.name
                            );
                        }
                    }
                    Outcome::Bulk { created: 1, failed } if failed.is_empty() => made += 1,
                    Outcome::Bulk { created: 0, failed } if failed.len() == 1 => duplicates += 1,
                    Outcome::Duplicate { .. } => duplicates += 1,
                    other => panic!("{}: unexpected outcome {other:?}", v.name),
                }
            }
            assert_eq!((made, duplicates), (1, N - 1), "{}: journal outcomes", v.name);
        }
    }

    // ---------------------------------------------------------------------------- hostile clients

    /// The SmartLead vendor (any would do) and a valid account of it.
    fn smartlead(served: &Served) -> (Vendor, Vec<String>) {
        let v = vendor(&served.mock, "smartlead");
        let creds = credentials(served.addr, &v, "hostile");
        (v, creds)
    }

    #[test]
    fn a_slowloris_head_is_dropped_after_the_header_time_out_while_others_are_served() {
        let served = serve(config());
        let (v, creds) = smartlead(&served);
        let mut slow = TcpStream::connect(served.addr).expect("connect");
        let started = Instant::now();
        slow.write_all(b"POST /api/v1/client/save?api_key=slow HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect("start a head");
        let mut writer = slow.try_clone().expect("a second handle");
        // One more header line every 50 ms, never the empty line that ends the head.
        let drip = std::thread::spawn(move || {
            let mut sent = 0;
            while writer.write_all(format!("X-Slow-{sent}: still coming\r\n").as_bytes()).is_ok() && sent < 200 {
                sent += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            sent
        });
        std::thread::sleep(CLIENT_TIMEOUT / 2);
        assert_still_serving(served.addr, &v, &creds, 1);
        let bytes = blocking::until_closed(&mut slow);
        let closed_after = started.elapsed();
        let sent = drip.join().expect("the drip thread");
        assert!(
            bytes.is_empty() || bytes.starts_with(b"HTTP/1.1 408"),
            "answered: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        assert!(closed_after >= CLIENT_TIMEOUT.mul_f32(0.8), "closed after {closed_after:?}, before the time-out");
        assert!(closed_after < CLIENT_TIMEOUT + Duration::from_secs(2), "closed only after {closed_after:?}");
        assert!(sent >= 5, "the head kept coming ({sent} lines) until the server dropped it");
        assert_still_serving(served.addr, &v, &creds, 2);
    }

    #[test]
    fn a_body_that_never_ends_gets_the_vendors_408_after_the_body_time_out() {
        let served = serve(config());
        for v in vendors(&served.mock) {
            let creds = credentials(served.addr, &v, "endless");
            let timeout = served.mock.specs().vendor(&v.name).expect("a vendor").errors["timeout"].status;
            for chunked in [false, true] {
                let framing = if chunked { "Transfer-Encoding: chunked" } else { "Content-Length: 1000000" };
                let head = String::from_utf8(raw(&v, &v.method, &v.path, &creds, &[], None)).expect("ASCII head");
                let head =
                    head.replacen("\r\n\r\n", &format!("\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"), 1);
                let mut stream = TcpStream::connect(served.addr).expect("connect");
                let started = Instant::now();
                stream.write_all(head.as_bytes()).expect("send the head");
                let mut writer = stream.try_clone().expect("a second handle");
                // A byte (or a one-byte chunk) every 50 ms, for as long as the server reads.
                let trickle = std::thread::spawn(move || {
                    for _ in 0..200 {
                        let piece: &[u8] = if chunked { b"1\r\n \r\n" } else { b" " };
                        if writer.write_all(piece).is_err() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                });
                let bytes = blocking::until_closed(&mut stream);
                let answered_after = started.elapsed();
                drop(stream);
                trickle.join().expect("the trickle thread");
                let (answer, _) = parse_response(&bytes)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| panic!("{}: no answer: {:?}", v.name, String::from_utf8_lossy(&bytes)));
                assert_eq!(answer.status, timeout, "{} ({framing}): {}", v.name, answer.text());
                assert!(answer.is_json(), "{}: {}", v.name, answer.text());
                assert!(answered_after >= CLIENT_TIMEOUT.mul_f32(0.8), "{}: answered after {answered_after:?}", v.name);
                assert!(
                    answered_after < CLIENT_TIMEOUT + Duration::from_secs(2),
                    "{}: answered after {answered_after:?}",
                    v.name
                );
            }
            assert_still_serving(served.addr, &v, &creds, 3);
        }
    }

    #[test]
    fn a_thousand_idle_connections_do_not_stop_a_normal_request_and_cost_little_memory() {
        let _turn = heavy();
        enough_file_descriptors();
        let served = serve(config());
        let (v, creds) = smartlead(&served);
        assert_still_serving(served.addr, &v, &creds, 1);
        let before = rss_kib();
        let idle: Vec<TcpStream> =
            (0..1000).map(|_| TcpStream::connect(served.addr).expect("an idle connection")).collect();
        // Let the server accept them all.
        std::thread::sleep(Duration::from_millis(300));
        assert_still_serving(served.addr, &v, &creds, 2);
        if let (Some(before), Some(after)) = (before, rss_kib()) {
            // Client and server ends together; a connection's buffers are allocated on first read.
            let per_connection = after.saturating_sub(before) * 1024 / 1000;
            assert!(per_connection < 32 * 1024, "{per_connection} bytes per idle connection");
        }
        // Requests on some of the idle connections are served too.
        for (n, mut stream) in idle.into_iter().step_by(100).enumerate() {
            let body = serde_json::to_vec(&create_body(&v, &format!("idle-{n}@example.com"), n)).expect("JSON");
            stream
                .write_all(&raw(&v, &v.method, &v.path, &creds, &[], Some(&body)))
                .expect("send on an idle connection");
            let bytes = blocking::until_closed(&mut stream);
            let answer = responses(&bytes).into_iter().next().expect("an answer");
            assert_eq!(answer.status, v.success, "{}", answer.text());
        }
    }

    #[test]
    fn pipelined_garbage_gets_hyper_400_or_a_close_never_a_hang() {
        let served = serve(config());
        let (v, creds) = smartlead(&served);
        let garbage: [&[u8]; 5] = [
            b"\x00\x01\x02 not http at all\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            b"POST /api/v1/client/save HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST /api/v1/client/save HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
            b"\xff\xfe\xfd no end of head",
        ];
        for (n, junk) in garbage.into_iter().enumerate() {
            let mut stream = TcpStream::connect(served.addr).expect("connect");
            let started = Instant::now();
            // A keep-alive create (its own e-mail each round), then the garbage, in one write.
            let body = serde_json::to_vec(&create_body(&v, &format!("pipelined-{n}@example.com"), n)).expect("JSON");
            let good = String::from_utf8(raw(&v, &v.method, &v.path, &creds, &[], Some(&body))).expect("ASCII");
            let mut bytes = good.replace("Connection: close\r\n", "").into_bytes();
            bytes.extend_from_slice(junk);
            stream.write_all(&bytes).expect("send a request and garbage");
            let answered = blocking::until_closed(&mut stream);
            let closed_after = started.elapsed();
            let shown = String::from_utf8_lossy(&answered).into_owned();
            let (first, used) = parse_response(&answered)
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("no answer to the good request: {shown:?}"));
            assert_eq!(first.status, v.success, "the request before the garbage: {shown}");
            let rest = &answered[used..];
            assert!(rest.is_empty() || rest.starts_with(b"HTTP/1.1 400 "), "after {junk:?}: {shown}");
            assert!(closed_after < CLIENT_TIMEOUT + Duration::from_secs(2), "closed only after {closed_after:?}");
        }
        assert_still_serving(served.addr, &v, &creds, 2);
    }

    #[test]
    fn a_declared_100_mib_body_gets_413_at_once_without_being_read() {
        let served = serve(config());
        for v in vendors(&served.mock) {
            let creds = credentials(served.addr, &v, "huge");
            let too_large =
                u64::from(served.mock.specs().vendor(&v.name).expect("a vendor").errors["too_large"].status);
            let head = String::from_utf8(raw(&v, &v.method, &v.path, &creds, &[], None)).expect("ASCII head");
            let head =
                head.replacen("\r\n\r\n", "\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n", 1);
            let mut stream = TcpStream::connect(served.addr).expect("connect");
            let started = Instant::now();
            // Only the head: the answer must come without a single body byte.
            stream.write_all(head.as_bytes()).expect("send the head");
            let answer = blocking::read_response(&mut stream);
            assert_eq!(u64::from(answer.status), too_large, "{}: {}", v.name, answer.text());
            assert!(answer.is_json(), "{}: {}", v.name, answer.text());
            assert!(started.elapsed() < Duration::from_secs(1), "{}: answered after {:?}", v.name, started.elapsed());
            let entry = served.mock.journal().pop().expect("a journal entry");
            assert_eq!(entry.outcome.label(), "too_large", "{}", v.name);
            assert!(entry.body.is_empty(), "{}: the journal kept {} body bytes", v.name, entry.body.len());
            assert_still_serving(served.addr, &v, &creds, 4);
        }
    }

    #[test]
    fn a_chunked_100_mib_body_gets_413_after_the_1_mib_limit_without_being_read_whole() {
        const TOTAL: usize = 100 * 1024 * 1024;
        const CHUNK: usize = 64 * 1024;
        let _turn = heavy();
        let served = serve(config());
        let (v, creds) = smartlead(&served);
        let head = String::from_utf8(raw(&v, &v.method, &v.path, &creds, &[], None)).expect("ASCII head");
        let head =
            head.replacen("\r\n\r\n", "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", 1);
        let before = rss_kib();
        let mut stream = TcpStream::connect(served.addr).expect("connect");
        let mut writer = stream.try_clone().expect("a second handle");
        let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&sent);
        let upload = std::thread::spawn(move || {
            let mut chunk = format!("{CHUNK:x}\r\n").into_bytes();
            chunk.extend(std::iter::repeat_n(b' ', CHUNK));
            chunk.extend_from_slice(b"\r\n");
            if writer.write_all(head.as_bytes()).is_err() {
                return;
            }
            while counter.load(std::sync::atomic::Ordering::SeqCst) < TOTAL {
                if writer.write_all(&chunk).is_err() {
                    return; // the server closed: it stopped reading
                }
                counter.fetch_add(CHUNK, std::sync::atomic::Ordering::SeqCst);
            }
            let _ = writer.write_all(b"0\r\n\r\n");
        });
        let answer = blocking::read_response(&mut stream);
        let sent_when_answered = sent.load(std::sync::atomic::Ordering::SeqCst);
        let _ = stream.shutdown(Shutdown::Both);
        upload.join().expect("the upload thread");
        assert_eq!(answer.status, 413, "{}", answer.text());
        assert!(answer.is_json(), "{}", answer.text());
        // 1 MiB read, plus what socket buffers hold; far from the 100 MiB.
        assert!(sent_when_answered < 32 * 1024 * 1024, "{sent_when_answered} bytes sent before the answer");
        if let (Some(before), Some(after)) = (before, rss_kib()) {
            assert!(after.saturating_sub(before) < 48 * 1024, "memory grew by {} KiB", after.saturating_sub(before));
        }
        assert_still_serving(served.addr, &v, &creds, 5);
    }

    #[test]
    fn the_journal_keeps_at_most_its_configured_size_under_load() {
        let served = serve(config().journal_size(50));
        let (v, creds) = smartlead(&served);
        for n in 0..200 {
            let body = serde_json::to_vec(&create_body(&v, &format!("journal-{n}@example.com"), n)).expect("JSON");
            let answer = blocking::send(served.addr, &raw(&v, &v.method, &v.path, &creds, &[], Some(&body)));
            assert_eq!(answer.status, v.success, "{}", answer.text());
        }
        let journal = served.mock.journal();
        assert_eq!(journal.len(), 50, "entries kept");
        let last: Vec<u64> = journal.iter().map(|e| e.seq).collect();
        let newest = last.last().copied().expect("an entry");
        assert_eq!(last, ((newest - 49)..=newest).collect::<Vec<_>>(), "the newest 50, in order");
        assert!(journal.iter().all(|e| e.body.contains("journal-")), "only the creates are kept");
    }
}
