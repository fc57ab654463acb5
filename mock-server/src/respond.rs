//! Answers rendered from the spec's templates: a create's success, a rate limit, an injected
//! fault.

use std::sync::Arc;

use http::request::Parts;
use serde_json::{Value, json};

use crate::answer::{Answer, Shape};
use crate::conn::ConnControl;
use crate::fault::Effect;
use crate::journal::entry::Outcome;
use crate::rejection::clash_context;
use crate::spec::{Operation, Vendor};
use crate::state::Created;

pub(crate) fn respond(vendor: &Vendor, op: &Operation, created: Created) -> (Answer, Outcome) {
    // The journal keeps the first generated values only (issue 13: a client of 25,000 users
    // has 25,000 user ids), one more than it keeps so that it can flag the cut.
    let generated = |record: &Value| {
        let kept = crate::journal::recorded::KEPT_FAILURES + 1;
        let ids: serde_json::Map<String, Value> = op
            .ids
            .iter()
            .flat_map(|rule| rule.path.first_values(record, kept))
            .take(kept)
            .map(|(path, v)| (path, v.clone()))
            .collect();
        Value::Object(ids)
    };
    match created {
        Created::One(record) => {
            let outcome = Outcome::Created { collection: op.collection.clone(), ids: generated(&record) };
            (Answer::from_template(&op.success, &context([("record", record)])), outcome)
        }
        Created::Bulk(records, clashes) => {
            // Each failure through its compiled template, written straight into the answer
            // (issue 13: a 1 MB bulk can hold 12,000 duplicates; rendering each through a
            // `Value` template re-read every placeholder, and parsing each back into a tree
            // to write it out again cost a third of the request).
            let mut failed = Vec::with_capacity(2 + clashes.len() * 128);
            failed.push(b'[');
            for (n, c) in clashes.iter().enumerate() {
                let t = vendor.errors.get(&c.error).expect("spec loading checks unique error templates");
                if n > 0 {
                    failed.push(b',');
                }
                t.compiled().render_into(&context([("error", clash_context(c))]), &mut failed);
            }
            failed.push(b']');
            // The journal keeps the first failures only: no need to build the others.
            let kept = clashes.iter().take(crate::journal::recorded::KEPT_FAILURES + 1);
            let outcome = Outcome::Bulk {
                created: records.len(),
                failed: kept.map(|c| json!({"index": c.index, "field": c.field, "value": c.value})).collect(),
            };
            (
                Answer::from_template_with_raw(
                    &op.success,
                    &context([("created", Value::from(records))]),
                    &[("failed", &failed)],
                ),
                outcome,
            )
        }
    }
}

/// A template context of named values. Built by hand: `json!` would deep-copy each value
/// through `serde_json::to_value`.
pub(crate) fn context<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect())
}

/// The vendor's `429`: its `rate_limited` template with `Retry-After` (added if the template
/// lacks it) and whatever `X-RateLimit-*` headers the template declares.
pub(crate) fn rate_limited_answer(vendor: &Vendor, retry_after: u64, limit: Value, reset: i64) -> Answer {
    let template = vendor.errors.get("rate_limited").expect("spec loading checks it");
    let context = json!({ "retry_after": retry_after, "limit": limit, "reset": reset, "remaining": 0 });
    let mut answer = Answer::from_template(template, &context);
    if !answer.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("retry-after")) {
        answer.headers.push(("retry-after".into(), retry_after.to_string()));
    }
    answer
}

/// The limit of a vendor's first rate-limit window (what `X-RateLimit-Limit` reports), if any.
pub(crate) fn first_limit(vendor: &Vendor) -> Value {
    vendor.rate_limits.as_ref().and_then(|l| l.windows.first()).map_or(Value::Null, |w| Value::from(w.limit))
}

/// The answer a decisive fault gives instead of the normal one.
pub(crate) fn fault_answer(
    vendor: &Vendor,
    op: &Operation,
    parts: &Parts,
    bytes: &[u8],
    effect: Effect,
) -> (Answer, Outcome) {
    let outcome = Outcome::Fault { effect: effect.clone() };
    let success_like = || {
        let record = serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null);
        Answer::from_template(&op.success, &json!({ "record": record, "created": [record] }))
    };
    let answer = match effect {
        Effect::Status { status } => {
            let by_status = vendor.errors.values().find(|t| t.status == status);
            let template = by_status.or_else(|| vendor.errors.get("server_error")).expect("spec loading checks it");
            let mut answer =
                Answer::from_template(template, &json!({ "error": { "message": "fault injected" }, "status": status }));
            answer.status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            answer
        }
        Effect::RateLimited { retry_after } => {
            let reset = chrono::Utc::now().timestamp() + i64::try_from(retry_after).unwrap_or(0);
            rate_limited_answer(vendor, retry_after, first_limit(vendor), reset)
        }
        Effect::Reset | Effect::Empty => {
            if let Some(control) = parts.extensions.get::<Arc<ConnControl>>() {
                control.sabotage(effect == Effect::Reset);
            }
            Answer { shape: Shape::Nothing, ..success_like() }
        }
        Effect::Truncated => Answer { shape: Shape::Truncated, ..success_like() },
        Effect::Malformed => Answer { shape: Shape::Garbage, ..success_like() },
        Effect::Respond { status, body, content_type } => Answer {
            status: http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            headers: content_type.map(|t| ("content-type".to_owned(), t)).into_iter().collect(),
            body: body.into_bytes().into(),
            shape: Shape::Json,
        },
        Effect::Latency { .. } => success_like(),
    };
    (answer, outcome)
}
