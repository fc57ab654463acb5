//! The request body: read within the size and time limits, parsed as JSON, validated against
//! the request schema (with bounded work and bounded messages), unknown fields stripped.

use axum::body::Body;
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

use crate::journal::entry::Violation;
use crate::mock::Config;
use crate::rejection::Rejection;
use crate::spec::Operation;

pub(crate) async fn read_body(body: Body, headers: &HeaderMap, config: &Config) -> Result<Vec<u8>, Rejection> {
    let declared = headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.body_limit as u64) {
        return Err(Rejection::TooLarge(config.body_limit));
    }
    let mut collect = std::pin::pin!(Limited::new(body, config.body_limit).collect());
    // Most bodies have arrived with the head: taken without arming a timer, since arming one
    // takes the runtime's timer lock, which the worker threads then contend for.
    let collected = match futures_util::FutureExt::now_or_never(&mut collect) {
        Some(done) => Ok(done),
        None => tokio::time::timeout(config.body_timeout, collect).await,
    };
    match collected {
        Err(_) => Err(Rejection::Timeout),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Rejection::TooLarge(config.body_limit)),
        Ok(Err(e)) => Err(Rejection::Malformed(format!("the body could not be read: {e}"))),
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
    }
}

pub(crate) fn parse_json(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, Rejection> {
    let content_type = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media != "application/json" && !media.ends_with("+json") {
        let sent = if content_type.is_empty() {
            "none".to_owned()
        } else {
            format!("`{}`", crate::rejection::bounded(content_type))
        };
        return Err(Rejection::Malformed(format!("Content-Type must be application/json (sent: {sent})")));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::Malformed("the request body is empty".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| Rejection::Malformed(format!("invalid JSON: {e}")))
}

/// Bodies with more JSON values than this get only their first violation: jsonschema's
/// `iter_errors` computes every violation before it yields one (a 1 MB body of 340,000 empty
/// objects has 1.4 million), while `validate` stops at the first.
pub(crate) const ALL_VIOLATIONS_UP_TO: usize = 2_000;

/// The body against the request schema: at most [`crate::rejection::VIOLATION_LIMIT`] violations, found in time
/// and memory bounded by the body's size whatever it holds.
pub(crate) fn validate(op: &Operation, body: &Value) -> Result<(), Rejection> {
    let Some(validator) = &op.validator else { return Ok(()) };
    if validator.is_valid(body) {
        return Ok(());
    }
    let violations: Vec<Violation> = if values_at_most(body, ALL_VIOLATIONS_UP_TO) {
        validator.iter_errors(body).take(crate::rejection::VIOLATION_LIMIT).map(|e| violation(&e)).collect()
    } else {
        validator.validate(body).err().map(|e| violation(&e)).into_iter().collect()
    };
    let violations = violations.into_iter().map(bounded_violation).collect::<Vec<_>>();
    if violations.is_empty() { Ok(()) } else { Err(Rejection::Invalid(violations)) }
}

/// Whether `value` holds at most `budget` JSON values (it stops counting past the budget).
pub(crate) fn values_at_most(value: &Value, budget: usize) -> bool {
    fn count(value: &Value, left: &mut usize) -> bool {
        if *left == 0 {
            return false;
        }
        *left -= 1;
        match value {
            Value::Array(items) => items.iter().all(|v| count(v, left)),
            Value::Object(map) => map.values().all(|v| count(v, left)),
            _ => true,
        }
    }
    count(value, &mut { budget })
}

/// A violation whose field and message are at most 200 characters each (a message may quote
/// the value it refuses, which can be as long as the body).
pub(crate) fn bounded_violation(v: Violation) -> Violation {
    let cut = |text: String| match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    };
    Violation { field: cut(v.field), message: cut(v.message) }
}

/// A schema error as a field path and a sentence. The sentence names the field and what the
/// schema asks, never the value sent (issue 11: a 400 once repeated 201 objects); a field name
/// taken from the request is cut to `error::ECHO_LIMIT` characters.
pub(crate) fn violation(e: &jsonschema::ValidationError<'_>) -> Violation {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let mut field = String::new();
    for segment in e.instance_path().as_str().split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() {
            field.push_str(&format!("[{segment}]"));
        } else {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(&segment);
        }
    }
    let join = |field: &str, child: &str| if field.is_empty() { child.to_owned() } else { format!("{field}.{child}") };
    let (field, message) = match e.kind() {
        K::Required { property } => {
            let f = crate::rejection::bounded(&join(&field, property.as_str().unwrap_or_default()));
            (f.clone(), format!("{f} is required"))
        }
        K::AdditionalProperties { unexpected } => {
            let f =
                crate::rejection::bounded(&join(&field, unexpected.first().map(String::as_str).unwrap_or_default()));
            (f.clone(), format!("{f} is not allowed"))
        }
        kind => {
            let name = if field.is_empty() { "body".to_owned() } else { crate::rejection::bounded(&field) };
            let what = match kind {
                K::Type { kind: TypeKind::Single(t) } => format!("must be of type {t}"),
                K::Type { kind: TypeKind::Multiple(ts) } => format!("must be one of the types {ts:?}"),
                K::Format { format } => format!("must be a valid {format}"),
                K::Minimum { limit } => format!("must be greater than or equal to {limit}"),
                K::Maximum { limit } => format!("must be less than or equal to {limit}"),
                K::ExclusiveMinimum { limit } => format!("must be greater than {limit}"),
                K::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
                K::Enum { options } => format!("must be one of {options}"),
                K::MinItems { limit } => format!("must contain at least {limit} item(s)"),
                K::MaxItems { limit } => format!("must contain at most {limit} item(s)"),
                K::MinLength { .. } => "must not be empty".to_owned(),
                K::MaxLength { limit } => format!("must be at most {limit} characters long"),
                K::Pattern { .. } => "is not in the expected format".to_owned(),
                K::Constant { expected_value } => format!("must be {expected_value}"),
                // Never the error's own text: it quotes the instance.
                other => format!("is invalid (`{}`)", other.keyword()),
            };
            let message = format!("{name} {what}");
            (name, message)
        }
    };
    Violation { field, message }
}

/// Removes the properties a schema does not name, recursing into objects and arrays.
pub(crate) fn strip_unknown(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(known) = schema.get("properties").and_then(Value::as_object) {
                map.retain(|name, _| known.contains_key(name));
                for (name, child) in map.iter_mut() {
                    if let Some(child_schema) = known.get(name) {
                        strip_unknown(child_schema, child);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                items.iter_mut().for_each(|item| strip_unknown(item_schema, item));
            }
        }
        _ => {}
    }
}
