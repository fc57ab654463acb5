//! Reading one spec file into a [`Vendor`]: YAML → JSON, local `$ref`s resolved, `x-mock`
//! deserialized into the model's types and each part checked by the type it belongs to.

use std::collections::BTreeMap;

use http::Method;
use serde::Deserialize;
use serde_json::Value;

use super::model::DEFAULT_REVISION;
use super::model::{
    Action, Auth, Defaults, Fidelity, FieldPath, IdRule, Operation, RateLimits, ResponseExample, Template, Tenants,
    UniqueRule, UpdateBy, Vendor,
};
use super::{ADMIN_PREFIX, ENGINE_ERRORS, FAULT_ERRORS, SpecError};

/// The vendor-wide `x-mock` extension as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VendorExt {
    vendor: String,
    #[serde(default)]
    revision: Option<String>,
    title: String,
    auth: Auth,
    errors: BTreeMap<String, Template>,
    #[serde(default)]
    tenants: Option<Tenants>,
    fidelity: Vec<Fidelity>,
    #[serde(default)]
    rate_limits: Option<RateLimits>,
}

/// An operation's `x-mock` extension as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationExt {
    action: Action,
    #[serde(default)]
    bulk: bool,
    #[serde(default)]
    collection: String,
    #[serde(default)]
    ids: Vec<IdRule>,
    #[serde(default)]
    unique: Vec<UniqueRule>,
    success: Template,
    #[serde(default)]
    auth: Option<Vec<String>>,
    #[serde(default)]
    reported_id: Option<FieldPath>,
    #[serde(default)]
    strip_unknown: bool,
    #[serde(default)]
    update_by: Option<UpdateBy>,
}

/// Where a problem is reported: the file and its text, for line numbers.
struct Source<'a> {
    file: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn err(&self, line: Option<usize>, message: impl Into<String>) -> SpecError {
        SpecError { file: self.file.to_owned(), line, message: message.into() }
    }

    /// An error at the first line mentioning `needle`.
    fn at(&self, needle: &str, message: impl Into<String>) -> SpecError {
        self.err(line_of(self.text, needle), message)
    }

    /// Deserializes `parent[key]`, naming the failing path and its line on error.
    fn typed<T: serde::de::DeserializeOwned>(&self, parent: &Value, key: &str) -> Result<T, SpecError> {
        let value = parent.get(key).cloned().unwrap_or(Value::Null);
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let last = path.rsplit('.').next().unwrap_or_default().to_owned();
            self.at(&last, format!("{key}.{path}: {}", e.into_inner()))
        })
    }
}

/// Parses and checks one spec file.
pub(super) fn parse_vendor(file: &str, text: &str) -> Result<Vendor, SpecError> {
    let src = Source { file, text };
    let doc = read_document(&src)?;
    let ext: VendorExt = src.typed(&doc, "x-mock")?;
    check_vendor(&src, &doc, &ext)?;
    let operations = read_operations(&src, &doc, &ext)?;
    if operations.is_empty() {
        return Err(src.at("paths", "no operation carries an x-mock extension"));
    }
    let create = operations.iter().find(|op| op.action == Action::Create);
    for row in &ext.fidelity {
        row.check(create).map_err(|(step, m)| src.at(&step, m))?;
    }
    let secrets = secret_names(&ext.auth, &operations);
    Ok(Vendor {
        secrets,
        name: ext.vendor,
        revision: ext.revision.unwrap_or_else(|| DEFAULT_REVISION.to_owned()),
        title: ext.title,
        doc,
        auth: ext.auth,
        errors: ext.errors,
        operations,
        tenants: ext.tenants,
        fidelity: ext.fidelity,
        rate_limits: ext.rate_limits,
    })
}

/// The vendor's secret field names (see [`Vendor::secrets`]), without repeats.
fn secret_names(auth: &Auth, operations: &[Operation]) -> Vec<String> {
    fn walk(schema: &Value, out: &mut Vec<String>) {
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let write_only = property.get("writeOnly").and_then(Value::as_bool) == Some(true);
                let password = property.get("format").and_then(Value::as_str) == Some("password");
                if write_only || password {
                    out.push(name.clone());
                }
                walk(property, out);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(child) = schema.get(key).filter(|c| c.is_object()) {
                walk(child, out);
            }
        }
        for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
            for child in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
                walk(child, out);
            }
        }
    }
    let mut out: Vec<String> = auth.credentials.iter().filter(|c| !c.tenant).map(|c| c.key.clone()).collect();
    for op in operations {
        if let Some(schema) = &op.request_schema {
            walk(schema, &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The YAML text as a JSON document (OpenAPI 3.1), merges applied and local `$ref`s resolved.
fn read_document(src: &Source<'_>) -> Result<Value, SpecError> {
    let mut yaml: yaml_serde::Value =
        yaml_serde::from_str(src.text).map_err(|e| src.err(e.location().map(|l| l.line()), e.to_string()))?;
    yaml.apply_merge().map_err(|e| src.err(None, e.to_string()))?;
    let raw: Value = serde_json::to_value(&yaml).map_err(|e| src.err(None, e.to_string()))?;
    let version = raw.get("openapi").and_then(Value::as_str).unwrap_or_default();
    if !version.starts_with("3.1") {
        return Err(src.at("openapi", format!("`openapi` must be 3.1.x, found `{version}`")));
    }
    resolve_refs(&raw, &raw, 0).map_err(|m| src.err(None, m))
}

/// The vendor-wide checks: the templates the engine needs, auth, rate limits.
fn check_vendor(src: &Source<'_>, doc: &Value, ext: &VendorExt) -> Result<(), SpecError> {
    for name in ENGINE_ERRORS.iter().chain(&FAULT_ERRORS) {
        if !ext.errors.contains_key(*name) {
            return Err(src.at("errors:", format!("x-mock.errors.{name} is missing")));
        }
    }
    ext.auth.check(&ext.errors, ext.tenants.as_ref()).map_err(|m| src.at("credentials", m))?;
    for (name, t) in &ext.errors {
        t.check(doc, &format!("x-mock.errors.{name}")).map_err(|m| src.err(None, m))?;
    }
    if let Some(limits) = &ext.rate_limits {
        limits.check(&ext.auth, &ext.errors).map_err(|m| src.at("rate_limits", m))?;
    }
    Ok(())
}

/// Every operation with an `x-mock` extension, in document order.
fn read_operations(src: &Source<'_>, doc: &Value, ext: &VendorExt) -> Result<Vec<Operation>, SpecError> {
    let mut operations = Vec::new();
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if op.get("x-mock").is_some() {
                operations.push(read_operation(src, doc, ext, path, method, op)?);
            }
        }
    }
    Ok(operations)
}

fn read_operation(
    src: &Source<'_>,
    doc: &Value,
    ext: &VendorExt,
    path: &str,
    method: &str,
    op: &Value,
) -> Result<Operation, SpecError> {
    let where_ = format!("paths.{path}.{method}");
    if path == ADMIN_PREFIX || path.starts_with(&format!("{ADMIN_PREFIX}/")) {
        return Err(src.at(path, format!("{where_}: paths under {ADMIN_PREFIX} are the admin API's")));
    }
    let x: OperationExt = src.typed(op, "x-mock")?;
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|e| src.err(None, format!("{where_}: {e}")))?;
    let auth = match &x.auth {
        None => (0..ext.auth.credentials.len()).collect(),
        Some(names) => names
            .iter()
            .map(|n| {
                let unknown = || src.err(None, format!("{where_}.x-mock.auth names unknown credential `{n}`"));
                ext.auth.position(n).ok_or_else(unknown)
            })
            .collect::<Result<_, _>>()?,
    };
    for rule in &x.unique {
        rule.check(&ext.auth, &ext.errors).map_err(|m| src.at(&rule.error, format!("{where_}: {m}")))?;
    }
    if let Some(update) = &x.update_by {
        update.check(&ext.auth, &ext.errors).map_err(|m| src.at("update_by", format!("{where_}: {m}")))?;
    }
    let json_body = op.pointer("/requestBody/content/application~1json");
    let request_schema = json_body.and_then(|b| b.get("schema")).cloned();
    let validator = match &request_schema {
        Some(schema) => Some(compile(schema).map_err(|m| src.err(None, format!("{where_}: request schema: {m}")))?),
        None => None,
    };
    let mut success = x.success;
    if success.schema.is_none() {
        success.schema = Some(format!(
            "#/paths/{}/{}/responses/{}/content/application~1json/schema",
            path.replace('~', "~0").replace('/', "~1"),
            method.as_str().to_ascii_lowercase(),
            success.status
        ));
    }
    success.check(doc, &format!("{where_}.x-mock.success")).map_err(|m| src.err(None, m))?;
    let tenants_at = match x.action {
        Action::ListTenants => Some(tenants_placeholder(&success.body).ok_or_else(|| {
            src.err(None, format!("{where_}: the success body has no `{{{{tenants}}}}` placeholder"))
        })?),
        Action::Create => None,
    };
    Ok(Operation {
        id: op.get("operationId").and_then(Value::as_str).unwrap_or(&where_).to_owned(),
        method,
        path: path.to_owned(),
        action: x.action,
        bulk: x.bulk,
        collection: x.collection,
        ids: x.ids,
        unique: x.unique,
        success,
        auth,
        defaults: request_schema.as_ref().map(Defaults::of).unwrap_or_default(),
        example: json_body.and_then(documented_example),
        examples: json_body.map(named_examples).unwrap_or_default(),
        response_examples: response_examples(op),
        request_schema,
        validator,
        strip_unknown: x.strip_unknown,
        update_by: x.update_by,
        reported_id: x.reported_id,
        tenants_at,
    })
}

/// The documented example of a media type: the `captured` one, else the first.
fn documented_example(media: &Value) -> Option<Value> {
    let examples = media.get("examples").and_then(Value::as_object)?;
    examples.get("captured").or_else(|| examples.values().next())?.get("value").cloned()
}

/// Every named example of a media type, in document order.
fn named_examples(media: &Value) -> Vec<(String, Value)> {
    let examples = media.get("examples").and_then(Value::as_object).into_iter().flatten();
    examples.map(|(name, e)| (name.clone(), e.get("value").cloned().unwrap_or(Value::Null))).collect()
}

/// Every named JSON example of an operation's documented responses, by status (numeric keys
/// only: `default` and `4XX` name no one status) then in document order.
fn response_examples(op: &Value) -> Vec<ResponseExample> {
    let responses = op.get("responses").and_then(Value::as_object).into_iter().flatten();
    let mut examples: Vec<ResponseExample> = responses
        .filter_map(|(status, response)| Some((status.parse::<u16>().ok()?, response)))
        .flat_map(|(status, response)| {
            let media = response.pointer("/content/application~1json");
            let named = media.map(named_examples).unwrap_or_default();
            named.into_iter().map(move |(name, body)| ResponseExample { status, name, body })
        })
        .collect();
    examples.sort_by_key(|e| e.status);
    examples
}

/// The path (object keys, `?` markers dropped) to the string that is exactly `{{tenants}}`.
fn tenants_placeholder(body: &Value) -> Option<FieldPath> {
    fn find(v: &Value) -> Option<Vec<String>> {
        match v {
            Value::String(s) if s.trim() == "{{tenants}}" => Some(Vec::new()),
            Value::Object(map) => map.iter().find_map(|(k, child)| {
                find(child).map(|mut rest| {
                    rest.insert(0, k.trim_end_matches('?').to_owned());
                    rest
                })
            }),
            _ => None,
        }
    }
    FieldPath::parse(&find(body)?.join(".")).ok()
}

/// The first line where `needle` appears as a key or value: a good-enough pointer for humans.
pub(super) fn line_of(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() || needle == "?" {
        return None;
    }
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// Compiles a JSON Schema (OpenAPI 3.1 = draft 2020-12) with format checks on.
fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| e.to_string())
}

/// Replaces every local `{"$ref": "#/…"}` by what it points to (siblings kept).
fn resolve_refs(node: &Value, root: &Value, depth: usize) -> Result<Value, String> {
    if depth > 32 {
        return Err("`$ref` nesting deeper than 32 (a cycle?)".into());
    }
    match node {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let target = r
                    .strip_prefix('#')
                    .and_then(|p| root.pointer(p))
                    .ok_or_else(|| format!("`$ref: {r}` does not resolve (only local refs are supported)"))?;
                let mut resolved = resolve_refs(target, root, depth + 1)?;
                if let Value::Object(out) = &mut resolved {
                    for (k, v) in map.iter().filter(|(k, _)| *k != "$ref") {
                        out.insert(k.clone(), resolve_refs(v, root, depth)?);
                    }
                }
                return Ok(resolved);
            }
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(k.clone(), resolve_refs(v, root, depth)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            items.iter().map(|v| resolve_refs(v, root, depth)).collect::<Result<_, _>>().map(Value::Array)
        }
        other => Ok(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_only_absent_properties_at_every_depth() {
        let schema = json!({
            "type": "object",
            "properties": {
                "plan": {"type": "string", "default": "basic"},
                "name": {"type": "string"},
                "users": {"type": "array", "items": {"properties": {"role": {"default": "member"}, "email": {}}}},
                "meta": {"properties": {"source": {"default": "api"}}}
            }
        });
        let defaults = Defaults::of(&schema);
        let mut body = json!({"name": "n", "plan": "pro", "users": [{"email": "a"}, {"role": "owner"}], "meta": {}});
        defaults.apply(&mut body);
        assert_eq!(
            body,
            json!({"name": "n", "plan": "pro", "users": [{"email": "a", "role": "member"}, {"role": "owner"}], "meta": {"source": "api"}})
        );
        let mut empty = json!({});
        defaults.apply(&mut empty);
        assert_eq!(empty, json!({"plan": "basic"}), "absent objects are not created");
        assert!(Defaults::of(&json!({"properties": {"a": {"type": "string"}}})).is_empty());
    }

    #[test]
    fn response_examples_are_read_per_numeric_status_in_status_order() {
        let op = json!({"responses": {
            "422": {"content": {"application/json": {"examples": {"documented": {"value": {"error": "x"}}}}}},
            "400": {"content": {"application/json": {"examples": {
                "joi": {"value": {"message": "\"a\" must be a string"}},
                "bare": {"summary": "no value"}
            }}}},
            "default": {"content": {"application/json": {"examples": {"any": {"value": {}}}}}},
            "4XX": {"content": {"application/json": {"examples": {"any": {"value": {}}}}}},
            "401": {"description": "no content"},
            "500": {"content": {"text/html": {"examples": {"page": {"value": "<html>"}}}}}
        }});
        let got: Vec<(u16, String, Value)> =
            response_examples(&op).into_iter().map(|e| (e.status, e.name, e.body)).collect();
        assert_eq!(
            got,
            vec![
                (400, "joi".into(), json!({"message": "\"a\" must be a string"})),
                (400, "bare".into(), Value::Null),
                (422, "documented".into(), json!({"error": "x"})),
            ]
        );
        assert!(response_examples(&json!({})).is_empty());
    }

    #[test]
    fn the_tenants_placeholder_is_found_under_optional_keys() {
        let body = json!({"message": "x", "companies?": "{{tenants}}"});
        assert_eq!(tenants_placeholder(&body).map(|p| p.to_string()).as_deref(), Some("companies"));
        assert!(tenants_placeholder(&json!({"a": "{{record}}"})).is_none());
    }
}
