//! A raw HTTP/1.1 client that writes exactly the bytes it is given (header-name case, invalid
//! UTF-8, chunked bodies, pipelining).

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
