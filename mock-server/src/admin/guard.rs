//! The admin API answers only its own user (issue 13): a web page the developer visits must not
//! be able to drive it (a cross-site `text/plain` POST needs no preflight) nor read it through
//! DNS rebinding (a page of `evil.example` whose name now points at 127.0.0.1).
//!
//! Every `/__admin` request is refused unless:
//! - **Host**: its `Host` (or HTTP/2 `:authority`) names this machine's loopback (`localhost`,
//!   `*.localhost`, `127.0.0.0/8`, `[::1]`), the address the server is bound to, or a name of
//!   `--admin-host` (`*`: any). When the server is bound to a non-loopback address (`--host
//!   0.0.0.0`, a CI service container), any IP address and any single-label name (`mock`,
//!   `vendor-mock`: a container's service name) are accepted too: a rebinding page needs a
//!   name of its own domain, which has a dot. A name with dots (`mock.ci.internal`) is given
//!   with `--admin-host`. A request without a `Host` (HTTP/1.0) is accepted: browsers always
//!   send one.
//! - **Origin**: an `Origin` header, when sent (browsers send it on every cross-origin request
//!   and on same-origin POSTs), names the same host and port as the `Host` (or an
//!   `--admin-host` name); `Origin: null` is refused.
//! - **Media type**: a request that changes something (`POST`, `PUT`, `PATCH`, `DELETE`) and
//!   carries a `Content-Type` says `application/json` (or `…+json`); one without a
//!   `Content-Type` carries no body (`curl -X DELETE`, `POST /__admin/reset` with nothing).
//!   HTML forms and `text/plain` fetches, which browsers send cross-site without a preflight,
//!   always carry another type.

use std::net::{IpAddr, SocketAddr};

use http::request::Parts;
use http::{Method, StatusCode, header};

/// The address the server is bound to, put in every request's extensions by `server::run`
/// (absent for requests served in-process through `app`, which are treated as loopback).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound(pub(crate) SocketAddr);

/// Why a request is refused: its status and message.
pub(crate) type Refusal = (StatusCode, String);

/// Checks the `Host` and `Origin` of any admin request.
pub(crate) fn check_origin(parts: &Parts, configured: &[String]) -> Result<(), Refusal> {
    let bound = parts.extensions.get::<Bound>().map(|b| b.0.ip());
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    let host_header = hosts.next();
    if hosts.next().is_some() {
        return Err((StatusCode::BAD_REQUEST, "more than one Host header".into()));
    }
    let host = match parts.uri.authority() {
        Some(authority) => Some(authority.as_str().to_owned()),
        None => host_header.map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned()),
    };
    if let Some(host) = &host
        && !host_allowed(split_port(host).0, bound, configured)
    {
        return Err((
            StatusCode::FORBIDDEN,
            format!(
                "the admin API answers only requests addressed to this machine's loopback or to a name given with \
                 --admin-host; Host `{}` is neither",
                shown(host)
            ),
        ));
    }
    let Some(origin) = parts.headers.get(header::ORIGIN) else { return Ok(()) };
    let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
    if same_origin(&origin, host.as_deref(), configured) {
        return Ok(());
    }
    Err((
        StatusCode::FORBIDDEN,
        format!("the admin API refuses cross-origin requests (Origin `{}` is not this server)", shown(&origin)),
    ))
}

/// Checks that a request that changes something is JSON or has no body.
pub(crate) fn check_media_type(parts: &Parts) -> Result<(), Refusal> {
    if !matches!(parts.method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        return Ok(());
    }
    match parts.headers.get(header::CONTENT_TYPE) {
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes()).to_ascii_lowercase();
            let media = text.split(';').next().unwrap_or_default().trim().to_owned();
            if media == "application/json" || media.ends_with("+json") {
                return Ok(());
            }
            Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("the admin API takes `Content-Type: application/json` (sent: `{}`)", shown(&text)),
            ))
        }
        None => {
            let length = parts.headers.get(header::CONTENT_LENGTH).map(|v| v.as_bytes().trim_ascii());
            let chunked = parts.headers.contains_key(header::TRANSFER_ENCODING);
            if chunked || length.is_some_and(|n| n != b"0") {
                return Err((
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "a body sent to the admin API needs `Content-Type: application/json`".into(),
                ));
            }
            Ok(())
        }
    }
}

/// Whether a host name (without its port) may address the admin API.
fn host_allowed(host: &str, bound: Option<IpAddr>, configured: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if configured.iter().any(|c| c == "*" || configured_host(c) == host) {
        return true;
    }
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let exposed = bound.is_some_and(|ip| !ip.is_loopback());
    match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || Some(ip) == bound || exposed,
        Err(_) => exposed && !host.is_empty() && !host.contains('.'),
    }
}

/// A configured `--admin-host` entry as a bare lowercase host (a port, if given, is ignored).
fn configured_host(entry: &str) -> String {
    split_port(entry.trim()).0.trim_end_matches('.').to_ascii_lowercase()
}

/// `host:port` → (`host`, `port`); `[::1]:4010` → (`[::1]`, `4010`).
fn split_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => (&authority[..=end], authority[end + 1..].strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => (host, Some(port)),
        _ => (authority, None),
    }
}

/// Whether `Origin: scheme://host[:port]` is the origin the request was addressed to.
fn same_origin(origin: &str, host: Option<&str>, configured: &[String]) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else { return false };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => "80",
        "https" => "443",
        _ => return false,
    };
    let (origin_host, origin_port) = split_port(authority);
    let origin_host = origin_host.to_ascii_lowercase();
    if configured.iter().any(|c| c == "*" || configured_host(c) == origin_host.trim_end_matches('.')) {
        return true;
    }
    let Some(host) = host else { return false };
    let (host, port) = split_port(host);
    origin_host == host.to_ascii_lowercase() && origin_port.unwrap_or(default) == port.unwrap_or(default)
}

/// At most 80 characters of a header value quoted in a refusal.
fn shown(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)], bound: Option<&str>, method: Method) -> Parts {
        let mut request = http::Request::builder().method(method).uri("/__admin/reset");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).expect("a request").into_parts();
        if let Some(bound) = bound {
            parts.extensions.insert(Bound(bound.parse().expect("an address")));
        }
        parts
    }

    fn host_ok(host: &str, bound: &str, configured: &[&str]) -> bool {
        let configured: Vec<String> = configured.iter().map(|c| (*c).to_owned()).collect();
        check_origin(&parts(&[("host", host)], Some(bound), Method::GET), &configured).is_ok()
    }

    #[test]
    fn on_loopback_only_loopback_names_and_configured_hosts_are_answered() {
        for host in ["127.0.0.1:4010", "localhost:4010", "LOCALHOST", "app.localhost:1", "[::1]:4010", "127.1.2.3"] {
            assert!(host_ok(host, "127.0.0.1:4010", &[]), "{host}");
        }
        for host in ["evil.example:4010", "mock:4010", "10.0.0.5:4010", "localhost.evil.example", ""] {
            assert!(!host_ok(host, "127.0.0.1:4010", &[]), "{host}");
        }
        assert!(host_ok("mock.ci.internal:4010", "127.0.0.1:4010", &["mock.ci.internal"]));
        assert!(host_ok("anything.example", "127.0.0.1:4010", &["*"]));
    }

    #[test]
    fn bound_to_every_interface_single_label_names_and_addresses_are_answered_but_domains_are_not() {
        for host in ["mock:4010", "vendor-mock", "172.17.0.2:4010", "[fd00::1]:4010", "localhost"] {
            assert!(host_ok(host, "0.0.0.0:4010", &[]), "{host}");
        }
        assert!(!host_ok("rebind.evil.example:4010", "0.0.0.0:4010", &[]));
        assert!(host_ok("mock.ci.internal", "0.0.0.0:4010", &["mock.ci.internal:4010"]));
    }

    #[test]
    fn a_cross_origin_or_null_origin_is_refused_and_the_same_origin_accepted() {
        let check = |origin: &str| {
            check_origin(&parts(&[("host", "127.0.0.1:4010"), ("origin", origin)], None, Method::POST), &[]).is_ok()
        };
        assert!(check("http://127.0.0.1:4010"));
        assert!(!check("http://127.0.0.1:4011"));
        assert!(!check("https://evil.example"));
        assert!(!check("null"));
        let plain = parts(&[("host", "localhost"), ("origin", "http://localhost:80")], None, Method::POST);
        assert!(check_origin(&plain, &[]).is_ok());
        assert!(check_origin(&parts(&[("host", "a"), ("host", "b")], None, Method::GET), &[]).is_err());
    }

    #[test]
    fn a_change_is_json_or_bodiless() {
        let check = |headers: &[(&str, &str)], method: Method| check_media_type(&parts(headers, None, method)).is_ok();
        assert!(check(&[("content-type", "application/json; charset=utf-8")], Method::POST));
        assert!(check(&[("content-type", "application/merge-patch+json")], Method::PATCH));
        assert!(check(&[], Method::DELETE));
        assert!(check(&[("content-length", "0")], Method::POST));
        assert!(!check(&[("content-type", "text/plain")], Method::POST));
        assert!(!check(&[("content-type", "application/x-www-form-urlencoded")], Method::POST));
        assert!(!check(&[("content-length", "2")], Method::POST));
        assert!(!check(&[("transfer-encoding", "chunked")], Method::DELETE));
        assert!(check(&[("content-type", "text/plain")], Method::GET));
    }
}
