//! JSON helpers: concrete places (`client_users[0].email`, as the spec model's [`FieldPath`]),
//! and a structural comparison that tells a missing field from a changed one from a field sent
//! as `null`.

use std::fmt;

use serde_json::Value;
use vendor_mock::spec::FieldPath;

/// A concrete place in a JSON value; `None` is the value itself.
pub type At = Option<FieldPath>;

/// The place one property further.
pub fn at_key(at: &At, key: &str) -> FieldPath {
    at.as_ref().map_or_else(|| FieldPath::key(key), |p| p.then_key(key))
}

/// The place one array element further.
pub fn at_index(at: &At, index: usize) -> FieldPath {
    at.as_ref().map_or_else(|| FieldPath::index(index), |p| p.then_index(index))
}

/// How reports name a place (`client_users[0].email`, `(body)` for the value itself).
pub fn shown(at: &At) -> String {
    at.as_ref().map_or_else(|| "(body)".to_owned(), ToString::to_string)
}

/// The place a jsonschema instance path (`/client_users/0/email`) names.
pub fn pointer_to_path(pointer: &str) -> String {
    let mut at: At = None;
    for step in pointer.split('/').skip(1) {
        let step = step.replace("~1", "/").replace("~0", "~");
        at = Some(match step.parse::<usize>() {
            Ok(n) => at_index(&at, n),
            Err(_) => at_key(&at, &step),
        });
    }
    shown(&at)
}

/// One difference between what the client was given and what it sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// In the input, not in the body.
    Missing { path: At, expected: Value },
    /// Absent from the input, sent as `null`.
    NullForAbsent { path: At },
    /// Not in the input, sent with a value.
    Added { path: At, actual: Value },
    /// Sent with another value (or type).
    Changed { path: At, expected: Value, actual: Value },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { path, expected } => {
                let path = shown(path);
                write!(f, "`{path}` is missing (the input has {expected})")
            }
            Self::NullForAbsent { path } => write!(f, "`{}` is sent as null (the input omits it)", shown(path)),
            Self::Added { path, actual } => write!(f, "`{}` is not in the input but sent as {actual}", shown(path)),
            Self::Changed { path, expected, actual } => {
                write!(f, "`{}` is sent as {actual} (the input has {expected})", shown(path))
            }
        }
    }
}

/// Numbers compare by value (`1` equals `1.0`), objects ignore key order.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Every difference between the input and the body sent.
pub fn differences(expected: &Value, actual: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_at(&None, expected, actual, &mut out);
    out
}

fn diff_at(path: &At, expected: &Value, actual: &Value, out: &mut Vec<Difference>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => diff_at(&Some(at_key(path, k)), ev, av, out),
                    None => out.push(Difference::Missing { path: Some(at_key(path, k)), expected: ev.clone() }),
                }
            }
            for (k, av) in a.iter().filter(|(k, _)| !e.contains_key(*k)) {
                if av.is_null() {
                    out.push(Difference::NullForAbsent { path: Some(at_key(path, k)) });
                } else {
                    out.push(Difference::Added { path: Some(at_key(path, k)), actual: av.clone() });
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                diff_at(&Some(at_index(path, i)), ev, av, out);
            }
        }
        _ if same(expected, actual) => {}
        _ => out.push(Difference::Changed { path: path.clone(), expected: expected.clone(), actual: actual.clone() }),
    }
}

/// An integral float as a JSON integer, anything else as a float.
pub fn number(x: f64) -> Value {
    #[allow(clippy::cast_possible_truncation)]
    if x.fract() == 0.0 && x.abs() < 1e15 { serde_json::json!(x as i64) } else { serde_json::json!(x) }
}

/// Pretty JSON for reports (never fails).
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_error_places_print_as_the_mock_names_fields() {
        assert_eq!(pointer_to_path("/client_users/0/email"), "client_users[0].email");
        assert_eq!(pointer_to_path("/0/a~1b"), "[0].a/b");
        assert_eq!(pointer_to_path(""), "(body)");
    }

    #[test]
    fn differences_tell_missing_from_null_from_added_from_changed() {
        let input = json!({"a": 1, "b": "x", "c": [1, 2], "d": {"e": true}});
        let sent = json!({"a": 1.0, "c": [1, 3], "d": {"e": true, "f": null}, "g": 0});
        let diffs: Vec<String> = differences(&input, &sent).iter().map(ToString::to_string).collect();
        assert_eq!(
            diffs,
            [
                "`b` is missing (the input has \"x\")",
                "`c[1]` is sent as 3 (the input has 2)",
                "`d.f` is sent as null (the input omits it)",
                "`g` is not in the input but sent as 0",
            ]
        );
        assert!(differences(&input, &input).is_empty());
    }
}
