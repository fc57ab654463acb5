//! Every way a request can fail ([`Rejection`]), rendered in the vendor's shape from its
//! templates, and the limits on what an answer repeats from the request.

use serde_json::{Map, Value, json};

use crate::answer::Answer;
use crate::journal::entry::{Outcome, Violation};
use crate::spec::Vendor;
use crate::state::unique::Clash;

/// Why a request is refused; each variant names the vendor template that answers it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Rejection {
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("malformed body: {0}")]
    Malformed(String),
    #[error("{} schema violation(s)", .0.len())]
    Invalid(Vec<Violation>),
    #[error("duplicate {}: {}", .0.field, .0.value)]
    Duplicate(Clash),
    #[error("no record with {field} = {value} to update")]
    RecordNotFound { template: String, field: String, value: Box<Value> },
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    #[error("body not received in time")]
    Timeout,
    #[error("no route for {method} {path}; nearest: {nearest}")]
    Unrouted { method: String, path: String, nearest: String },
    #[error("{method} not allowed on {path}")]
    MethodNotAllowed { method: String, path: String, allowed: Vec<String> },
    /// The vendor's state is at `--max-records` or `--state-bytes` (issue 13): the vendor's
    /// `server_error`, with the limit in `error.detail`.
    #[error("{0}")]
    StateFull(String),
}

impl Rejection {
    fn template(&self) -> &str {
        match self {
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Malformed(_) => "malformed",
            Self::Invalid(_) => "invalid",
            Self::Duplicate(clash) => &clash.error,
            Self::RecordNotFound { template, .. } => template,
            Self::TooLarge(_) => "too_large",
            Self::Timeout => "timeout",
            Self::Unrouted { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::StateFull(_) => "server_error",
        }
    }

    /// What the template can see: `error.{message,field,fields,value,index}`, `nearest`,
    /// `method`, `path`. Text that comes from the request (a path, a method, a value, a field
    /// name) is cut to [`ECHO_LIMIT`] characters and at most [`VIOLATION_LIMIT`] violations are
    /// listed, so that no answer repeats the request at length.
    fn context(&self) -> Value {
        let error = match self {
            Self::Invalid(violations) => {
                let shown = &violations[..violations.len().min(VIOLATION_LIMIT)];
                let first = shown.first();
                let fields: Map<String, Value> =
                    shown.iter().map(|v| (bounded(&v.field), Value::String(bounded(&v.message)))).collect();
                json!({
                    "message": first.map(|v| bounded(&v.message)),
                    "field": first.map(|v| bounded(&v.field)),
                    "fields": fields,
                    "violations": shown.iter().map(|v| json!({"field": bounded(&v.field), "message": bounded(&v.message)})).collect::<Vec<_>>(),
                })
            }
            Self::Duplicate(c) => clash_context(c),
            Self::StateFull(limit) => json!({ "message": limit, "detail": limit }),
            other => json!({ "message": bounded(&other.to_string()) }),
        };
        let mut ctx = json!({ "error": error });
        if let Self::Unrouted { method, path, nearest } = self {
            ctx["nearest"] = json!(nearest);
            ctx["method"] = json!(bounded(method));
            ctx["path"] = json!(bounded(path));
        }
        if let Self::MethodNotAllowed { method, path, .. } = self {
            ctx["method"] = json!(bounded(method));
            ctx["path"] = json!(bounded(path));
        }
        // Messages for humans say what is wrong without the variant's prefix.
        if let Self::Unauthorized(m) | Self::Forbidden(m) | Self::Malformed(m) = self {
            ctx["error"]["message"] = json!(bounded(m));
        }
        ctx
    }

    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Self::Unauthorized(reason) => Outcome::Unauthorized { reason: reason.clone() },
            Self::Forbidden(reason) => Outcome::Forbidden { reason: reason.clone() },
            Self::Malformed(reason) => Outcome::Malformed { reason: reason.clone() },
            Self::Invalid(violations) => Outcome::Invalid { violations: violations.clone() },
            Self::Duplicate(clash) => Outcome::duplicate(clash),
            Self::RecordNotFound { field, value, .. } => {
                Outcome::RecordNotFound { field: field.clone(), value: (**value).clone() }
            }
            Self::TooLarge(limit) => Outcome::TooLarge { limit: *limit },
            Self::Timeout => Outcome::Timeout,
            Self::Unrouted { nearest, .. } => Outcome::Unrouted { nearest: nearest.clone() },
            Self::MethodNotAllowed { allowed, .. } => Outcome::MethodNotAllowed { allowed: allowed.clone() },
            Self::StateFull(reason) => Outcome::StateFull { reason: reason.clone() },
        }
    }

    /// The vendor's answer for this rejection.
    pub(crate) fn render(&self, vendor: &Vendor) -> Answer {
        let template = vendor.errors.get(self.template()).expect("spec loading checks every engine template exists");
        let mut answer = Answer::from_template(template, &self.context());
        if let Self::MethodNotAllowed { allowed, .. } = self {
            answer.headers.push(("allow".into(), allowed.join(", ")));
        }
        answer
    }
}

/// The template context of one clash (also used per entry in bulk answers, thousands of
/// times for a large bulk: built by hand rather than through `json!`); the field and the value
/// are the request's, so they are cut to [`ECHO_LIMIT`] characters.
pub(crate) fn clash_context(c: &Clash) -> Value {
    let (field, value) = (bounded(&c.field), bounded(&c.value));
    let mut map = Map::with_capacity(4);
    map.insert("message".into(), Value::String(format!("{field} already exists")));
    map.insert("field".into(), Value::String(field));
    map.insert("value".into(), Value::String(value));
    map.insert("index".into(), c.index.map_or(Value::Null, Value::from));
    Value::Object(map)
}

/// The most characters of the request's own text (a path, a value, a field name, a header) that
/// an answer repeats: longer text is cut and ends with `…`. 256 keeps every valid e-mail address
/// (RFC 5321 allows 254 characters) whole.
pub(crate) const ECHO_LIMIT: usize = 256;

/// The most schema violations an `invalid` answer lists and the journal keeps (the first ones
/// found; validation stops there).
pub(crate) const VIOLATION_LIMIT: usize = 10;

/// `text`, cut to [`ECHO_LIMIT`] characters (on a character boundary) and marked with `…` when cut.
pub(crate) fn bounded(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}
