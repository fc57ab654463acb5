//! Bad input never panics or hangs the mock: oversized, slow, unfinished, deeply nested and
//! non-UTF-8 requests each get the vendor-shaped answer (or a closed connection), and the next
//! request is served. Time-outs are configured small (300 ms); the 10 s bound is only a net.

mod common;

use std::time::Duration;

use common::{Expect, Ran, Request, SAFETY, Scenario, Server, VendorSpec, check_answer, embedded, serve};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vendor_mock::Config;

const SHORT: Duration = Duration::from_millis(300);

async fn server() -> Server {
    let config = Config { seed: Some(1), body_timeout: SHORT, header_timeout: SHORT, ..Default::default() };
    serve(embedded(), config).await
}

/// A vendor and the means to send it one bad request, then a good one.
struct Vendor {
    spec: VendorSpec,
    creds: common::Creds,
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
    let closed = async {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(b"POST /api/v1/client/save HTTP/1.1\r\nHost: mock\r\nContent-Ty").await.expect("write");
        let mut seen = Vec::new();
        // Ends with 0 (closed) or an error (reset); anything written before is kept for the message.
        let _ = stream.read_to_end(&mut seen).await;
        seen
    };
    let seen = tokio::time::timeout(SAFETY, closed).await.expect("the mock closes an unfinished head's connection");
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
