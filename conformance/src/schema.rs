//! Compiling the specs' JSON Schemas (OpenAPI 3.1 = draft 2020-12, formats checked), as the
//! mock does.

use serde_json::Value;

/// A validator for `schema`, with format checks on.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| e.to_string())
}
