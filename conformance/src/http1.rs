//! A minimal HTTP/1.1 client for the suite's own requests (tenant look-ups, pre-created
//! duplicates): it writes header names exactly as given, which the vendors' case-exact headers
//! need and general-purpose clients do not guarantee. Also renders requests as text and curl.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A request: method, target (path and query), headers in order and case, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A response: status, headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// `host:port` of an `http://host:port` base URL.
pub fn authority(base_url: &str) -> Result<&str, String> {
    let rest = base_url.strip_prefix("http://").ok_or_else(|| format!("`{base_url}` is not an http:// URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() { Err(format!("`{base_url}` has no host")) } else { Ok(authority) }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
pub fn send(base_url: &str, request: &Request, timeout: Duration) -> Result<Response, String> {
    let authority = authority(base_url)?;
    let mut stream = TcpStream::connect(authority).map_err(|e| format!("connect to {authority}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let mut head = format!("{} {} HTTP/1.1\r\nHost: {authority}\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !request.body.is_empty() || request.method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&request.body);
    stream.write_all(&bytes).map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    parse_response(&raw)
}

/// Parses a complete response read until the connection closed.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no complete response head")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line `{status_line}`"))?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    let rest = &raw[end + 4..];
    let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let body = if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        dechunk(rest)?
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if rest.len() < len {
            return Err(format!("body cut short: {} of {len} bytes", rest.len()));
        }
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response { status, headers, body })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or("chunk size line cut short")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16)
            .map_err(|_| format!("bad chunk size `{size_text}`"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size + 2 {
            return Err("chunk cut short".into());
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Single-quotes for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The request as a curl command line against `base_url`.
pub fn curl(base_url: &str, request: &Request) -> String {
    let mut out = format!("curl -X {} {}", request.method, shell_quote(&format!("{base_url}{}", request.target)));
    for (name, value) in &request.headers {
        out.push_str(&format!(" \\\n  -H {}", shell_quote(&format!("{name}: {value}"))));
    }
    if !request.body.is_empty() {
        out.push_str(&format!(" \\\n  --data-raw {}", shell_quote(&String::from_utf8_lossy(&request.body))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_read_by_content_length_and_by_chunks() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX: y\r\n\r\n{}extra").expect("parses");
        assert_eq!((r.status, r.body.as_slice()), (201, &b"{}"[..]));
        let r =
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .expect("parses");
        assert_eq!(r.body, b"abcde");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_err());
    }

    #[test]
    fn curl_quotes_what_the_shell_would_break() {
        let req = Request {
            method: "POST".into(),
            target: "/x?k=1".into(),
            headers: vec![("companyId".into(), "it's".into())],
            body: br#"{"a":"b'c"}"#.to_vec(),
        };
        let text = curl("http://h:1", &req);
        assert!(text.starts_with("curl -X POST 'http://h:1/x?k=1'"));
        assert!(text.contains(r"-H 'companyId: it'\''s'"));
        assert!(text.contains(r#"--data-raw '{"a":"b'\''c"}'"#));
    }
}
