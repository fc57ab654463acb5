//! The one type that renders any answer over HTTP ([`Answer`]): successes, the vendors' errors,
//! the mock's own 404s and faults.

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use crate::spec::Template;

/// Header templates rendered as text.
pub(crate) fn render_headers(
    templates: &std::collections::BTreeMap<String, String>,
    context: &Value,
) -> Vec<(String, String)> {
    templates.iter().map(|(name, t)| (name.clone(), crate::template::render_text(t, context))).collect()
}

/// An HTTP answer: status, extra headers, JSON body. Renders every success and error.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(String, String)>,
    /// The body as JSON text, serialized once: sent as is and kept as is by the journal.
    pub(crate) body: bytes::Bytes,
    pub(crate) shape: Shape,
}

/// How the body goes on the wire: whole, or broken on purpose by a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Json,
    /// The full Content-Length is announced, half the body is sent, then the connection drops.
    Truncated,
    /// The body is not JSON.
    Garbage,
    /// Nothing is sent: the connection is broken before the answer.
    Nothing,
}

impl Answer {
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        let body = serde_json::to_vec(&body).unwrap_or_default().into();
        Self { status, headers: Vec::new(), body, shape: Shape::Json }
    }

    pub(crate) fn from_template(template: &Template, context: &Value) -> Self {
        Self::from_template_with_raw(template, context, &[])
    }

    /// As [`Answer::from_template`], with values already written as JSON text (see
    /// `template::Compiled::render_with_raw`).
    pub(crate) fn from_template_with_raw(template: &Template, context: &Value, raw: &[(&str, &[u8])]) -> Self {
        let mut body = Vec::with_capacity(256);
        template.compiled().render_with_raw(context, raw, &mut body);
        Self {
            shape: Shape::Json,
            status: StatusCode::from_u16(template.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: render_headers(&template.headers, context),
            body: body.into(),
        }
    }
}

/// The HTTP response, broken on purpose when a fault says so: `Truncated` announces the whole
/// body's length, sends half of it, then fails the body so that the connection is dropped;
/// `Garbage` sends half the JSON followed by text that is not JSON.
impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let whole = self.body;
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        for (name, value) in self.headers {
            if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                headers.insert(n, v);
            }
        }
        // Half of a JSON text, cut at a character boundary.
        let half = || {
            let mut half = whole.len() / 2;
            while half > 0 && std::str::from_utf8(&whole[..half]).is_err() {
                half -= 1;
            }
            half
        };
        let body = match self.shape {
            Shape::Json | Shape::Nothing => axum::body::Body::from(whole),
            Shape::Garbage => {
                let mut garbage = whole[..half()].to_vec();
                garbage.extend_from_slice(b"<!-- malformed by a vendor-mock fault -->");
                axum::body::Body::from(garbage)
            }
            Shape::Truncated => {
                headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(whole.len()));
                // The pause lets the server flush the head and the half before the failure drops
                // the connection.
                let head = futures_util::stream::iter([Ok::<_, std::io::Error>(whole.slice(..half()))]);
                let fail = futures_util::stream::once(async {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Err(std::io::Error::other("body truncated by a fault"))
                });
                axum::body::Body::from_stream(futures_util::StreamExt::chain(head, fail))
            }
        };
        *response.body_mut() = body;
        response
    }
}
