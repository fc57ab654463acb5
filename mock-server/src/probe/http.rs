//! A small HTTP/1.1 client for the probe: one request per connection, header names written
//! exactly as the spec spells them (AgencyHandy's case-exact `companyId`, which general-purpose
//! clients lowercase), over TCP or TLS (rustls with the ring provider and the system's trust
//! store). Answers are read up to [`MAX_ANSWER`] bytes.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most bytes of an answer read: a vendor (or anything at the URL) cannot exhaust memory.
pub(crate) const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// Where requests go: `http(s)://host[:port][/prefix]`.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// A path the base URL carries, put before each request's path (no trailing `/`).
    prefix: String,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            _ => return Err(format!("`{url}` is not an http:// or https:// URL")),
        };
        let (authority, prefix) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if authority.contains('@') {
            return Err("the base URL must not carry credentials; pass them with --credential".into());
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = match authority.strip_prefix('[') {
            // `[::1]:4010`: an IPv6 address in brackets.
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or_else(|| format!("`{url}` has an unclosed `[`"))?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let port = match port {
            Some(port) => port.parse().map_err(|_| format!("`{port}` is not a port"))?,
            None => default_port,
        };
        let host = host.to_owned();
        if host.is_empty() {
            return Err(format!("`{url}` has no host"));
        }
        let prefix = prefix.trim_end_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("/{prefix}") };
        Ok(Self { tls, host, port, prefix })
    }

    fn host_header(&self) -> String {
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => self.host.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// Sends one request and reads the whole answer: `(status, body)`.
pub(crate) async fn send(
    target: &Target,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let mut head = format!("{method} {}{path_and_query} HTTP/1.1\r\nHost: {}\r\n", target.prefix, target.host_header());
    head.push_str(concat!("User-Agent: vendor-mock-probe/", env!("CARGO_PKG_VERSION"), "\r\n"));
    head.push_str("Accept: application/json\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    } else if method != "GET" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    let mut wire = head.into_bytes();
    wire.extend_from_slice(body.unwrap_or_default());
    let exchange = async {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("connect to {}:{}: {e}", target.host, target.port))?;
        if target.tls {
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| format!("`{}` is not a TLS server name: {e}", target.host))?;
            let stream = tls_connector()?.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
            exchange(stream, &wire).await
        } else {
            exchange(tcp, &wire).await
        }
    };
    let raw = tokio::time::timeout(timeout, exchange).await.map_err(|_| format!("no answer within {timeout:?}"))??;
    parse(&raw)
}

/// TLS with the ring provider and the system's trust store.
fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    use rustls_platform_verifier::ConfigVerifierExt as _;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ClientConfig::with_platform_verifier().map_err(|e| format!("TLS set-up: {e}"))?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, wire: &[u8]) -> Result<Vec<u8>, String> {
    stream.write_all(wire).await.map_err(|e| format!("send: {e}"))?;
    stream.flush().await.map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    let mut limited = (&mut stream).take(MAX_ANSWER as u64 + 1);
    match limited.read_to_end(&mut raw).await {
        Ok(_) => {}
        // A TLS peer that closes without close_notify: what arrived is the answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(format!("read: {e}")),
    }
    if raw.len() > MAX_ANSWER {
        return Err(format!("the answer is larger than {MAX_ANSWER} bytes"));
    }
    Ok(raw)
}

/// Status and body of a whole answer (`Content-Length`, chunked, or up to the close).
fn parse(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut response = httparse::Response::new(&mut headers);
    let start = match response.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("the answer ended inside its head".into()),
        Err(e) => return Err(format!("not an HTTP/1.1 answer: {e}")),
    };
    let status = response.code.unwrap_or_default();
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    let rest = &raw[start..];
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return Ok((status, dechunk(rest)?));
    }
    let body = match header("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(len) => rest.get(..len).ok_or("the answer is shorter than its Content-Length")?.to_vec(),
        None => rest.to_vec(),
    };
    Ok((status, body))
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or("a chunk size line is cut")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| "a chunk size is not text")?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16)
            .map_err(|_| format!("bad chunk size `{size_text}`"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(rest.get(..size).ok_or("a chunk is cut")?);
        rest = rest.get(size + 2..).ok_or("a chunk is cut")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_give_scheme_host_port_and_prefix() {
        let t = Target::parse("https://server.smartlead.ai").expect("parses");
        assert_eq!((t.tls, t.host.as_str(), t.port, t.prefix.as_str()), (true, "server.smartlead.ai", 443, ""));
        let t = Target::parse("http://127.0.0.1:4010/base/").expect("parses");
        assert_eq!((t.tls, t.host.as_str(), t.port, t.prefix.as_str()), (false, "127.0.0.1", 4010, "/base"));
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("https://user:secret@x").is_err());
    }

    #[test]
    fn answers_are_read_with_a_length_chunked_or_up_to_the_close() {
        let framed = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}trailing";
        assert_eq!(parse(framed), Ok((201, b"{}".to_vec())));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse(chunked), Ok((200, b"{\"a\":1}".to_vec())));
        assert_eq!(parse(b"HTTP/1.1 404 Not Found\r\n\r\nnope"), Ok((404, b"nope".to_vec())));
        assert!(parse(b"HTTP/1.1 200").is_err());
    }
}
