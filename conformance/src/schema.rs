//! Compiling the specs' JSON Schemas (OpenAPI 3.1 = draft 2020-12, formats checked), as the
//! mock does, and reading their keywords.

use serde_json::Value;
use vendor_mock::spec::{FieldPath, Segment};

/// A validator for `schema`, with format checks on.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| e.to_string())
}

/// The `type` of a schema: one or a list.
pub(crate) fn types(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// A number keyword (`minimum`).
pub(crate) fn num(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

/// A count keyword (`minLength`).
pub(crate) fn count(schema: &Value, key: &str) -> Option<usize> {
    schema.get(key).and_then(Value::as_u64).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// The sub-schema of the value at a concrete place (`client_users[0].email`): declared
/// properties, `additionalProperties` schemas, array items. `None` where the schema says nothing.
pub(crate) fn node_at<'a>(schema: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    path.segments().iter().try_fold(schema, |node, segment| match segment {
        Segment::Key(key) => node
            .get("properties")
            .and_then(|p| p.get(key))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object())),
        Segment::Each | Segment::Index(_) => node.get("items"),
    })
}
