//! `Prefer: code=…` / `Prefer: example=…` (Prism's convention): an answer forced from the
//! spec's templates, without touching state.

use http::HeaderMap;
use http::request::Parts;
use serde_json::{Value, json};

use crate::answer::Answer;
use crate::journal::entry::Outcome;
use crate::rejection::clash_context;
use crate::respond::{first_limit, rate_limited_answer};
use crate::spec::{Operation, Template, Vendor};
use crate::state::ids::{Determinism, IdSource};
use crate::state::unique::Clash;

/// An answer asked for with a `Prefer` header (Prism's convention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Preference {
    /// `Prefer: code=422`: the first template with this status.
    Code(u16),
    /// `Prefer: example=duplicate_email`: a template by name (`success`, `duplicate`, or an
    /// `x-mock.errors` name).
    Example(String),
}

/// The request's `code=` or `example=` preference (example wins if both are given), with its
/// text for the journal. Other preferences (`return=minimal`, …) are ignored, as RFC 7240 asks.
pub(crate) fn preference(headers: &HeaderMap) -> Option<(String, Preference)> {
    let mut code = None;
    let mut example = None;
    for value in headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()) {
        for item in value.split([',', ';']) {
            let Some((name, arg)) = item.split_once('=') else { continue };
            let (name, arg) = (name.trim(), arg.trim().trim_matches('"'));
            if name.eq_ignore_ascii_case("example") {
                example = example.or_else(|| Some((format!("example={arg}"), Preference::Example(arg.to_owned()))));
            } else if name.eq_ignore_ascii_case("code") {
                let parsed = arg.parse().map_or(Preference::Code(0), Preference::Code);
                code = code.or_else(|| Some((format!("code={arg}"), parsed)));
            }
        }
    }
    example.or(code)
}

/// The template a preference picks for an operation: its name and the template.
///
/// `code=N` looks, in order, at the success answer, `invalid`, `unauthorized`, `forbidden`, the
/// operation's uniqueness errors, then every other error template by name, and takes the first
/// with status N. `example=duplicate` is the error of the operation's first uniqueness rule;
/// `example=success` the success answer; any other name an `x-mock.errors` template.
pub(crate) fn preferred<'a>(
    vendor: &'a Vendor,
    op: &'a Operation,
    preference: &Preference,
) -> Option<(String, &'a Template)> {
    let error = |name: &str| vendor.errors.get_key_value(name).map(|(n, t)| (n.clone(), t));
    match preference {
        Preference::Example(name) if name == "success" => Some(("success".to_owned(), &op.success)),
        Preference::Example(name) if name == "duplicate" => op.unique.first().and_then(|rule| error(&rule.error)),
        Preference::Example(name) => error(name),
        Preference::Code(code) => {
            if op.success.status == *code {
                return Some(("success".to_owned(), &op.success));
            }
            let first = ["invalid", "unauthorized", "forbidden"].into_iter().map(str::to_owned);
            let unique = op.unique.iter().map(|r| r.error.clone());
            let rest = vendor.errors.keys().cloned();
            first.chain(unique).chain(rest).filter_map(|n| error(&n)).find(|(_, t)| t.status == *code)
        }
    }
}

/// The answer a `Prefer` header forces, rendered from the request (nothing is stored), or a
/// plain `400` naming the choices when the preference matches no template.
pub(crate) fn forced_answer(
    vendor: &Vendor,
    op: &Operation,
    parts: &Parts,
    bytes: &[u8],
    raw: &str,
    preference: &Preference,
) -> (Answer, Outcome) {
    let Some((name, template)) = preferred(vendor, op, preference) else {
        let mut statuses: Vec<u16> = vendor.errors.values().map(|t| t.status).chain([op.success.status]).collect();
        statuses.sort_unstable();
        statuses.dedup();
        let mut examples = vec!["success".to_owned()];
        if !op.unique.is_empty() {
            examples.push("duplicate".to_owned());
        }
        examples.extend(vendor.errors.keys().cloned());
        let reason = format!(
            "`Prefer: {}` matches no answer of {} (codes: {}; examples: {})",
            crate::rejection::bounded(raw),
            op.id,
            statuses.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
            examples.join(", ")
        );
        let answer = Answer::json(http::StatusCode::BAD_REQUEST, json!({ "error": reason }));
        return (answer, Outcome::Malformed { reason });
    };
    let outcome = Outcome::Forced { preference: raw.to_owned(), template: name.clone() };
    let body = serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null);
    let entries = match body {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    if name == "rate_limited" {
        const RETRY_AFTER: u64 = 30;
        let reset = chrono::Utc::now().timestamp() + RETRY_AFTER as i64;
        return (rate_limited_answer(vendor, RETRY_AFTER, first_limit(vendor), reset), outcome);
    }
    // Ids from a throw-away source: a forced answer changes no state, not even a counter.
    let mut ids = IdSource::new(Determinism::Seeded(0));
    let created: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let mut record = entry.clone();
            if record.is_object() {
                op.ids.iter().for_each(|rule| ids.assign(&mut record, rule));
            }
            record
        })
        .collect();
    let message = format!("answer forced by `Prefer: {}`", crate::rejection::bounded(raw));
    let error = match op.unique.iter().find(|rule| rule.error == name) {
        Some(rule) => {
            let found = entries.first().and_then(|e| rule.path.values(e).into_iter().next());
            let (field, value) = found.map_or((rule.path.to_string(), String::new()), |(field, v)| {
                (field, v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            });
            let index = op.bulk.then_some(0);
            clash_context(&Clash { rule: rule.name.clone(), error: name.clone(), field, value, index })
        }
        None => json!({
            "message": message,
            "field": "body",
            "fields": { "body": message },
            "violations": [{ "field": "body", "message": message }],
        }),
    };
    let context = json!({
        "record": created.first().cloned().unwrap_or(Value::Null),
        "created": created,
        "failed": [],
        "tenants": [],
        "error": error,
        "nearest": format!("{} {}", op.method, op.path),
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
    });
    (Answer::from_template(template, &context), outcome)
}
