//! The one raw HTTP/1.1 client of the e2e tests: it writes exactly the bytes it is given
//! (header-name case, invalid UTF-8, chunked bodies, pipelining, broken framing) and reads
//! answers with one parser, [`parse_response`].
//!
//! - [`Request`] builds a request byte for byte; [`Response`] is a parsed answer.
//! - With tokio: [`send`] one request, [`exchange`] pipelined bytes for several answers,
//!   [`read_response`] from a buffered stream, [`until_closed`] for what a connection got before it
//!   ended.
//! - Blocking ([`blocking`]), for tests that drive sockets from threads or property tests.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A bound on every network wait, so that a bug hangs no test; never what a test asserts.
pub const SAFETY: Duration = Duration::from_secs(10);

/// The body limit the mock uses by default (1 MiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

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

/// A parsed response (header names as sent).
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

    /// Whether the body is JSON and its `Content-Type` says so.
    pub fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|t| t.starts_with("application/json"))
            && serde_json::from_slice::<Value>(&self.body).is_ok()
    }

    /// The body as JSON; fails the test with the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {} {}", self.status, self.text()))
    }
}

/// Parses one whole response at the start of `bytes`: its head, then a body framed by
/// `Content-Length` or chunked (an unframed body is empty, and so is a `1xx` answer's).
/// Returns the response and the bytes it took; `Ok(None)` while it is incomplete.
pub fn parse_response(bytes: &[u8]) -> Result<Option<(Response, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let head = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("not an HTTP/1.1 answer ({e}): {:?}", String::from_utf8_lossy(bytes))),
    };
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).trim().to_owned()))
        .collect();
    let mut response = Response { status: parsed.code.unwrap_or_default(), headers, body: Vec::new() };
    if (100..200).contains(&response.status) {
        return Ok(Some((response, head)));
    }
    let rest = &bytes[head..];
    let used = if response.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        match dechunk(rest)? {
            Some((body, used)) => {
                response.body = body;
                used
            }
            None => return Ok(None),
        }
    } else {
        let length = response.header("content-length").unwrap_or("0");
        let length: usize = length.parse().map_err(|_| format!("bad content-length {length:?}"))?;
        let Some(body) = rest.get(..length) else { return Ok(None) };
        response.body = body.to_vec();
        length
    };
    Ok(Some((response, head + used)))
}

/// A chunked body at the start of `bytes`: its data and the bytes it took (trailers included);
/// `Ok(None)` while it is incomplete.
fn dechunk(bytes: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let line_at = |at: usize| bytes.get(at..)?.windows(2).position(|w| w == b"\r\n").map(|end| at + end);
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(end) = line_at(at) else { return Ok(None) };
        let line = String::from_utf8_lossy(&bytes[at..end]);
        let size = usize::from_str_radix(line.split(';').next().unwrap_or_default().trim(), 16)
            .map_err(|_| format!("bad chunk size {line:?}"))?;
        at = end + 2;
        if size == 0 {
            // Trailer lines, up to the empty line.
            loop {
                let Some(end) = line_at(at) else { return Ok(None) };
                let empty = end == at;
                at = end + 2;
                if empty {
                    return Ok(Some((body, at)));
                }
            }
        }
        let Some(data) = bytes.get(at..at + size) else { return Ok(None) };
        body.extend_from_slice(data);
        at += size + 2;
        if bytes.len() < at {
            return Ok(None);
        }
    }
}

/// Every whole response in `bytes`, in order (what a connection got before it ended).
pub fn responses(mut bytes: &[u8]) -> Vec<Response> {
    let mut out = Vec::new();
    while let Ok(Some((response, used))) = parse_response(bytes) {
        out.push(response);
        bytes = &bytes[used..];
    }
    out
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

/// Reads one response (see [`parse_response`]) from a buffered stream, leaving the bytes after
/// it (a pipelined answer) in the buffer.
pub async fn read_response<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Response> {
    let mut seen = Vec::new();
    loop {
        let buffered = reader.fill_buf().await?;
        if buffered.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let before = seen.len();
        let read = buffered.len();
        seen.extend_from_slice(buffered);
        let parsed = parse_response(&seen).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        match parsed {
            // The bytes before were not a whole answer, so it ends in the ones just read.
            Some((response, used)) => {
                reader.consume(used - before);
                return Ok(response);
            }
            None => reader.consume(read),
        }
    }
}

/// Writes `bytes` (one request or several, pipelined) on one connection and reads `count`
/// answers.
pub async fn exchange(addr: SocketAddr, bytes: &[u8], count: usize) -> Vec<Response> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    let mut reader = BufReader::new(stream);
    let mut responses = Vec::new();
    while responses.len() < count {
        let read = tokio::time::timeout(SAFETY, read_response(&mut reader)).await.expect("responses in time");
        let got = responses.len();
        responses.push(read.unwrap_or_else(|e| panic!("the connection ended after {got} of {count} responses: {e}")));
    }
    responses
}

/// What a raw connection got before it ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// Bytes then a clean close (FIN).
    Closed(Vec<u8>),
    /// A reset (RST), after these bytes.
    Reset(Vec<u8>),
}

/// Sends `bytes` on a new connection and reads until the server ends it.
pub async fn until_closed(addr: SocketAddr, bytes: &[u8]) -> Ending {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    let mut got = Vec::new();
    loop {
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(SAFETY, stream.read(&mut chunk)).await.expect("the server ends the connection") {
            Ok(0) => return Ending::Closed(got),
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ending::Reset(got),
            Err(e) => panic!("unexpected read error: {e}"),
        }
    }
}

/// The same exchanges on blocking sockets (`std::net`), bounded by the socket's read time-out
/// ([`SAFETY`] unless the caller set one).
pub mod blocking {
    use std::io::{ErrorKind, Read, Write};
    use std::net::{SocketAddr, TcpStream};

    use super::{Response, SAFETY, parse_response, responses};

    /// Bounds the reads of `stream` by [`SAFETY`], unless it has a read time-out already.
    fn bounded(stream: &TcpStream) {
        if stream.read_timeout().ok().flatten().is_none() {
            stream.set_read_timeout(Some(SAFETY)).expect("a read time-out");
        }
    }

    /// Writes `bytes` (requests that end with `Connection: close`) on a new connection and
    /// returns every answer read until the server closes it.
    pub fn send_all(addr: SocketAddr, bytes: &[u8]) -> Vec<Response> {
        let mut stream = TcpStream::connect(addr).expect("connect to the mock");
        stream.write_all(bytes).expect("send");
        let got = until_closed(&mut stream);
        let answers = responses(&got);
        assert!(!answers.is_empty(), "not an HTTP answer: {:?}", String::from_utf8_lossy(&got));
        answers
    }

    /// Writes `bytes` on a new connection and returns the first answer read until the server
    /// closes it.
    pub fn send(addr: SocketAddr, bytes: &[u8]) -> Response {
        send_all(addr, bytes).remove(0)
    }

    /// Reads one whole answer from `stream`, and no more.
    pub fn read_response(stream: &mut TcpStream) -> Response {
        bounded(stream);
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some((response, _)) = parse_response(&bytes).unwrap_or_else(|e| panic!("{e}")) {
                return response;
            }
            let n = stream.read(&mut buf).expect("an answer");
            assert!(n > 0, "closed before a whole answer: {:?}", String::from_utf8_lossy(&bytes));
            bytes.extend_from_slice(&buf[..n]);
        }
    }

    /// Everything the server sends on `stream` until it closes (or resets) the connection; fails
    /// if it keeps it open past the read time-out.
    pub fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
        bounded(stream);
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return bytes,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    let bound = stream.read_timeout().ok().flatten().unwrap_or(SAFETY);
                    panic!(
                        "the server kept the connection open for {bound:?}; sent: {:?}",
                        String::from_utf8_lossy(&bytes)
                    )
                }
                Err(_) => return bytes,
            }
        }
    }
}
