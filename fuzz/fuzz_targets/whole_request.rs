//! The whole request path, raw bytes in, answer out.
//!
//! One mock per process is served by `vendor_mock::run` (the real accept loop: raw-head
//! recording, keep-alive, pipelining, h2c detection, time-outs) on a loopback port, in a runtime
//! started on first use. Each input is written as the raw bytes of one connection, the write
//! side is then closed, and everything the server sends is read until it closes.
//!
//! Checked for every input: no panic anywhere in the server (libfuzzer-sys aborts on any
//! panic, in any thread) and no hang (the server closes within 5 s). And unless the input may
//! legitimately get something else (HTTP/2, a `HEAD`, an admin call that can inject faults), the
//! answer is a sequence of well-formed HTTP/1.x responses, each either hyper's own bodiless 4xx
//! or a response whose body is JSON.

#![no_main]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use vendor_mock::{Config, Mock, Specs};

/// Small time-outs keep unfinished heads and bodies from slowing the fuzzer down.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(300);
/// An answer that takes longer than this is a hang.
const HANG: Duration = Duration::from_secs(5);

struct Server {
    addr: SocketAddr,
    mock: Arc<Mock>,
    _runtime: tokio::runtime::Runtime,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let config =
            Config::default().seed(1).header_timeout(CLIENT_TIMEOUT).body_timeout(CLIENT_TIMEOUT).journal_size(64);
        let mock = Mock::new(Specs::embedded().expect("the embedded specs load"), config);
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        runtime.spawn(vendor_mock::run(listener, Arc::clone(&mock), std::future::pending()));
        Server { addr, mock, _runtime: runtime }
    })
}

fuzz_target!(|input: &[u8]| {
    let server = server();
    // Every input starts from an empty mock: no records, journal or faults left by the last one.
    server.mock.reset(None);
    let answer = exchange(server.addr, input);
    if strict(input) {
        check(input, &answer);
    }
});

/// Sends `input` on a new connection, closes the write side and reads until the server closes.
fn exchange(addr: SocketAddr, input: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("connect to the mock");
    stream.set_read_timeout(Some(Duration::from_millis(100))).expect("a read time-out");
    // The server may close before reading everything (a 413, a parse error): not a failure.
    let _ = stream.write_all(input);
    let _ = stream.shutdown(Shutdown::Write);
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return answer,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            // A reset after a refused request is a close.
            Err(_) => return answer,
        }
        if started.elapsed() > HANG {
            assert!(!strict(input), "no close within {HANG:?}; answered so far: {}", String::from_utf8_lossy(&answer));
            return answer;
        }
    }
}

/// Whether the answer must be plain HTTP/1.x responses with JSON (or no) bodies.
fn strict(input: &[u8]) -> bool {
    let has = |needle: &[u8]| input.windows(needle.len()).any(|w| w == needle);
    // HTTP/2 answers in frames; HEAD answers announce a length they do not send; the admin API
    // serves HTML, redirects, and faults that break answers on purpose.
    !(input.starts_with(b"PRI ") || has(b"HEAD") || has(b"__admin"))
}

/// Every response in `answer` is well-formed and JSON-bodied, or hyper's own bodiless 4xx.
fn check(input: &[u8], mut answer: &[u8]) {
    let shown =
        || format!("input: {:?}\nanswer: {:?}", String::from_utf8_lossy(input), String::from_utf8_lossy(answer));
    while !answer.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let head = match response.parse(answer) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => panic!("an unfinished response head\n{}", shown()),
            Err(e) => panic!("a response head that is not HTTP ({e})\n{}", shown()),
        };
        let status = response.code.unwrap_or_default();
        let header = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        if (100..200).contains(&status) {
            answer = &answer[head..];
            continue;
        }
        assert!(header("transfer-encoding").is_none(), "a chunked answer\n{}", shown());
        let length: usize = header("content-length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("an answer without Content-Length\n{}", shown()));
        let body = answer.get(head..head + length).unwrap_or_else(|| panic!("a body cut short\n{}", shown()));
        if body.is_empty() {
            assert!((400..500).contains(&status), "a bodiless {status} that is not hyper's 4xx\n{}", shown());
        } else {
            let content_type = header("content-type").unwrap_or_default();
            assert!(content_type.starts_with("application/json"), "a {content_type} body\n{}", shown());
            if let Err(e) = serde_json::from_slice::<serde_json::Value>(body) {
                panic!("a body that is not JSON ({e})\n{}", shown());
            }
        }
        answer = &answer[head + length..];
    }
}
