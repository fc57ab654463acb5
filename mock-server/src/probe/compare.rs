//! Comparing the vendor's answer with the mock's: the status, and the body's shape (its keys and
//! the JSON type at each), never the values, so that a report holds no secret and no generated id.

use serde_json::Value;

/// An answer as the probe keeps it.
#[derive(Debug, Clone)]
pub(crate) enum Answered {
    /// Status and the body (`None` when it is not JSON).
    Http { status: u16, body: Option<Value> },
    /// No answer: connection refused, time-out, TLS error… (the error, secrets masked).
    Failed(String),
}

/// The JSON type of a value, as a report names it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every `(path, type)` of a body: `$`, `$.data`, `$.data.id`, `$.items[0].id` (the first element
/// stands for all).
pub(crate) fn shape(value: &Value) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    walk(value, "$".to_owned(), &mut out);
    out
}

fn walk(value: &Value, at: String, out: &mut Vec<(String, &'static str)>) {
    out.push((at.clone(), kind(value)));
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                walk(child, format!("{at}.{key}"), out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                walk(first, format!("{at}[0]"), out);
            }
        }
        _ => {}
    }
}

/// The paths of a template body whose text names `{{nearest}}`: the mock's own diagnostics
/// (`nearest_route`), which the vendor cannot be expected to answer.
pub(crate) fn diagnostic_paths(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_diagnostics(template, "$".to_owned(), &mut out);
    out
}

fn collect_diagnostics(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains("{{nearest}}") => out.push(at),
        Value::Object(map) => {
            for (key, child) in map {
                collect_diagnostics(child, format!("{at}.{key}"), out);
            }
        }
        _ => {}
    }
}

/// How the vendor's answer differs from the mock's, line by line (empty: the same). A path only
/// the mock answers is ignored when it is one of the mock's `diagnostics`.
pub(crate) fn differences(vendor: &Answered, mock: &Answered, diagnostics: &[String]) -> Vec<String> {
    let (vendor_status, vendor_body, mock_status, mock_body) = match (vendor, mock) {
        (Answered::Failed(e), _) => return vec![format!("no answer from the vendor: {e}")],
        (_, Answered::Failed(e)) => return vec![format!("no answer from the mock: {e}")],
        (Answered::Http { status: vs, body: vb }, Answered::Http { status: ms, body: mb }) => (vs, vb, ms, mb),
    };
    let mut out = Vec::new();
    if vendor_status != mock_status {
        out.push(format!("status {vendor_status} at the vendor, {mock_status} in the mock"));
    }
    match (vendor_body, mock_body) {
        (None, None) => {}
        (None, Some(_)) => out.push("the vendor's body is not JSON; the mock's is".to_owned()),
        (Some(_), None) => out.push("the mock's body is not JSON; the vendor's is".to_owned()),
        (Some(v), Some(m)) => {
            let (vs, ms) = (shape(v), shape(m));
            for (path, vk) in &vs {
                match ms.iter().find(|(p, _)| p == path) {
                    None => out.push(format!("{path}: only at the vendor ({vk})")),
                    Some((_, mk)) if mk != vk => out.push(format!("{path}: {vk} at the vendor, {mk} in the mock")),
                    Some(_) => {}
                }
            }
            for (path, mk) in &ms {
                let diagnostic = diagnostics.iter().any(|d| path == d || path.starts_with(&format!("{d}.")));
                if !diagnostic && !vs.iter().any(|(p, _)| p == path) {
                    out.push(format!("{path}: only in the mock ({mk})"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn http(status: u16, body: Value) -> Answered {
        Answered::Http { status, body: Some(body) }
    }

    #[test]
    fn the_same_shape_with_other_values_is_no_difference() {
        let a = http(200, json!({"ok": true, "data": {"id": 301, "items": [{"x": "a"}]}}));
        let b = http(200, json!({"ok": false, "data": {"id": 999, "items": [{"x": "b"}, {"y": 1}]}}));
        assert!(differences(&a, &b, &[]).is_empty());
    }

    #[test]
    fn status_missing_keys_and_types_are_differences_and_diagnostics_are_not() {
        let vendor = http(400, json!({"message": "taken", "code": 1}));
        let mock = http(409, json!({"message": "taken", "code": "1", "nearest_route": "POST /x", "extra": true}));
        let diffs = differences(&vendor, &mock, &["$.nearest_route".to_owned()]);
        assert_eq!(
            diffs,
            [
                "status 400 at the vendor, 409 in the mock",
                "$.code: number at the vendor, string in the mock",
                "$.extra: only in the mock (boolean)"
            ]
        );
        let text = Answered::Http { status: 404, body: None };
        assert_eq!(differences(&text, &mock, &[]).len(), 2, "status and a body that is not JSON");
    }

    #[test]
    fn diagnostics_are_the_template_paths_naming_nearest() {
        let template =
            json!({"error": "Resource not found", "nearest_route": "{{nearest}}", "e": {"route": "{{nearest}}"}});
        assert_eq!(diagnostic_paths(&template), ["$.nearest_route", "$.e.route"]);
    }
}
