//! The generic scenario catalogue, derived from a spec, and the checks of its answers.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::{Value, json};
use vendor_mock::spec::IdGenerator;
use vendor_mock::{Entry, Mock};

use crate::spec::text;
use crate::*;

/// What a scenario's answer must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// The operation's success answer; `failed` entries of a bulk body rejected as duplicates.
    Success { op: String, failed: usize },
    /// The error template of this name.
    Template(String),
}

/// One request of the catalogue, with what the snapshot shows of it and what it must get.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// One sentence on what is sent (the snapshot's description).
    pub about: String,
    pub request: Request,
    /// The request as shown in the snapshot's metadata.
    pub shown: Value,
    pub expect: Expect,
}

/// A scenario and its answer.
#[derive(Debug, Clone)]
pub struct Ran {
    pub scenario: Scenario,
    pub response: Response,
    pub entry: Entry,
}

fn show(request: &Request, body: Value) -> Value {
    let mut shown = json!({ "method": request.method, "target": request.target });
    let headers: BTreeMap<String, String> =
        request.headers.iter().map(|(n, v)| (n.clone(), v.clone())).collect::<BTreeMap<_, _>>();
    shown["headers"] = json!(headers);
    shown["body"] = body;
    shown
}

/// Every scenario of a vendor, in the order they must run (later ones rely on the first create).
/// Long because it is the catalogue itself, one block per scenario in running order.
/// Every request of the catalogue is derived from the spec document: its create operation, the
/// captured example, the unique rules, the required fields, the credential parts and the error
/// templates.
pub async fn scenarios(spec: &VendorSpec, addr: SocketAddr) -> Vec<Scenario> {
    let op = spec.create_op();
    let example = op.example();
    let creds = spec.account(addr, "a").await;
    let mut out = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let success = |failed| Expect::Success { op: op.id(), failed };
    let template = |name: &str| Expect::Template(name.to_owned());
    let body_scenario = |name: &str, about: &str, request: Request, body: Value, expect: Expect| Scenario {
        name: name.to_owned(),
        about: about.to_owned(),
        shown: show(&request, body),
        request,
        expect,
    };
    let create = |body: &Value| spec.create(&creds, body);
    let entries = op.records_of(&example).len();
    let rules = op.unique_rules();

    let about = "The spec's captured request example, sent once with a valid credential.";
    out.push(body_scenario("success", about, create(&example), example.clone(), success(0)));
    let duplicate = match (op.is_bulk(), rules.first()) {
        (true, _) => success(entries),
        (false, Some(rule)) => template(&rule.error),
        (false, None) => success(0),
    };
    let about = "The captured example again, with the same credential: every unique value is taken.";
    out.push(body_scenario("duplicate", about, create(&example), example.clone(), duplicate));
    for rule in &rules {
        let body = op.freshen(&example, Some(&rule.name), next());
        let expect = if op.is_bulk() { success(entries) } else { template(&rule.error) };
        let about = format!("The captured example with every unique value new except `{}`.", rule.path);
        out.push(body_scenario(&format!("duplicate_{}", rule.name), &about, create(&body), body, expect));
    }
    for (name, other) in op.other_examples() {
        let body = op.freshen(&other, None, next());
        let about = format!("The spec's request example `{name}` (its unique values made new): the vendor accepts it.");
        out.push(body_scenario(&format!("example_{name}"), &about, create(&body), body, success(0)));
    }
    if op.is_bulk() {
        let first = op.records_of(&example).remove(0);
        let fresh_one = op.freshen(&first, None, next());
        let body = json!([fresh_one, first]);
        let about = "A bulk body of two entries: a new one, then the already created example.";
        out.push(body_scenario("bulk_partial", about, create(&body), body, success(1)));
        let twin = op.freshen(&first, None, next());
        let body = json!([twin, twin]);
        let about = "A bulk body of two identical new entries.";
        out.push(body_scenario("bulk_duplicate_in_one_request", about, create(&body), body, success(1)));
    }

    let fresh_body = |n: usize| op.freshen(&example, None, n);
    let body = fresh_body(next());
    let about = "A valid body without any credential.";
    out.push(body_scenario(
        "missing_credentials",
        about,
        spec.create(&Creds::default(), &body),
        body,
        template("unauthorized"),
    ));
    let primary = spec.primary();
    for prefix in spec.reject_prefixes() {
        let body = fresh_body(next());
        let rejected = creds.clone().with(&primary.name, &format!("{prefix}-key"));
        let about = format!("A valid body; the credential part `{}` starts with `{prefix}`.", primary.name);
        out.push(body_scenario(
            &format!("credential_{prefix}"),
            &about,
            spec.create(&rejected, &body),
            body,
            template("unauthorized"),
        ));
    }

    for prefix in spec.forbidden_prefixes() {
        let body = fresh_body(next());
        let forbidden = creds.clone().with(&primary.name, &format!("{prefix}-key"));
        let about =
            format!("A valid body; the credential part `{}` starts with `{prefix}` (no permission).", primary.name);
        out.push(body_scenario(
            &format!("credential_{prefix}"),
            &about,
            spec.create(&forbidden, &body),
            body,
            template("forbidden"),
        ));
    }

    let raw = |name: &str, about: &str, content_type: Option<&str>, bytes: Vec<u8>, shown: Value, expect: Expect| {
        let mut request = spec.authorize(&op, &creds, Request::new(&op.method, &op.path)).body(bytes);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        body_scenario(name, about, request, shown, expect)
    };
    let json_type = Some("application/json");
    let malformed = "{\"name\": \"unterminated";
    let about = "A body that is not JSON (cut in the middle of a string).";
    out.push(raw("malformed_json", about, json_type, malformed.into(), json!(malformed), template("malformed")));
    let about = "An empty body.";
    out.push(raw("empty_body", about, json_type, Vec::new(), json!(""), template("malformed")));
    let body = fresh_body(next());
    let bytes = serde_json::to_vec(&body).expect("serialize");
    let about = "A valid JSON body sent as `Content-Type: text/plain`.";
    out.push(raw("wrong_content_type", about, Some("text/plain"), bytes, body, template("malformed")));
    let invalid_utf8 = b"{\"name\": \"\xff\xfe\"}".to_vec();
    let shown = json!(format!("<bytes> {}", printable(&invalid_utf8)));
    let about = "A JSON body whose string holds bytes that are not UTF-8.";
    out.push(raw("invalid_utf8", about, json_type, invalid_utf8, shown, template("malformed")));
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let shown = json!("<200 nested arrays> [[[…]]]");
    let about = "Valid JSON nested 200 levels deep.";
    out.push(raw("nesting_200_deep", about, json_type, deep.into(), shown, template("malformed")));

    for field in op.required() {
        let mut body = fresh_body(next());
        remove_field(&op, &mut body, &field);
        let about = format!("A new record without the required field `{field}`.");
        out.push(body_scenario(&format!("missing_{field}"), &about, create(&body), body, template("invalid")));
    }
    if let Some(field) = op.required().first() {
        let mut body = fresh_body(next());
        let kind = op.record_schema()["properties"][field]["type"].as_str().unwrap_or_default();
        let wrong = if kind == "string" { json!(12345) } else { json!("not the documented type") };
        set_field(&op, &mut body, field, wrong);
        let about = format!("A new record whose required field `{field}` has the wrong type.");
        out.push(body_scenario(&format!("wrong_type_{field}"), &about, create(&body), body, template("invalid")));
    }

    let unknown = op.path[..op.path.len() - 1].to_owned();
    let request = spec.authorize(&op, &creds, Request::new(&op.method, &unknown)).json(&example);
    let about = "The create request sent to its path with the last character missing.";
    out.push(body_scenario("not_found", about, request, example.clone(), template("not_found")));
    let documented: Vec<String> =
        spec.doc()["paths"][&op.path].as_object().into_iter().flatten().map(|(m, _)| m.to_ascii_uppercase()).collect();
    let other = ["GET", "PUT", "DELETE", "PATCH"].into_iter().find(|m| !documented.iter().any(|d| d == m));
    let other = other.expect("one of GET/PUT/DELETE/PATCH is not documented on the create path");
    let request = spec.authorize(&op, &creds, Request::new(other, &op.path));
    let about = format!("{other} on the create path, which only documents {}.", documented.join(", "));
    out.push(body_scenario("method_not_allowed", &about, request, Value::Null, template("method_not_allowed")));

    let padding = "x".repeat(BODY_LIMIT);
    let big = serde_json::to_vec(&json!({ "padding": padding })).expect("serialize");
    let shown = json!(format!("<{} bytes> {{\"padding\": \"xxx…\"}}", big.len()));
    let about = "A JSON body just over the 1 MiB limit.";
    out.push(raw("too_large", about, json_type, big, shown, template("too_large")));

    for list in spec.list_ops() {
        let request = spec.list(&list, &creds);
        let expect = Expect::Success { op: list.id(), failed: 0 };
        let name = if spec.list_ops().len() == 1 { "list_tenants".to_owned() } else { format!("list_{}", list.id()) };
        let about = format!("{} {}: the tenants of the account's key.", list.method, list.path);
        out.push(body_scenario(&name, &about, request, Value::Null, expect));
    }
    out
}

/// Bytes as text, with every byte that is not printable ASCII as `\xNN`.
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b).to_string() } else { format!("\\x{b:02x}") })
        .collect()
}

fn record_mut<'a>(op: &Op, body: &'a mut Value) -> &'a mut Value {
    if op.is_bulk() { &mut body[0] } else { body }
}

fn remove_field(op: &Op, body: &mut Value, field: &str) {
    if let Value::Object(map) = record_mut(op, body) {
        map.shift_remove(field);
    }
}

fn set_field(op: &Op, body: &mut Value, field: &str, value: Value) {
    record_mut(op, body)[field] = value;
}

/// Runs the catalogue in order on `server`, pairing each answer with its journal entry.
pub async fn run_scenarios(spec: &VendorSpec, server: &Server) -> Vec<Ran> {
    let mut ran = Vec::new();
    for scenario in scenarios(spec, server.addr).await {
        let response = server.send(&scenario.request).await;
        let entry = server.last_entry();
        ran.push(Ran { scenario, response, entry });
    }
    ran
}

/// The error template that a journal outcome says answered, or `None` for a success.
pub fn template_of(spec: &VendorSpec, entry: &Entry) -> Option<String> {
    let outcome = serde_json::to_value(&entry.outcome).expect("an outcome serializes");
    let kind = text(&outcome["kind"]);
    let name = match kind.as_str() {
        "created" | "bulk" | "listed" => return None,
        "unrouted" => "not_found".to_owned(),
        "duplicate" => {
            let rule = text(&outcome["rule"]);
            let op = spec.create_op();
            let found = op.unique_rules().into_iter().find(|r| r.name == rule);
            found.unwrap_or_else(|| panic!("{}: outcome names unknown rule {rule}", spec.name)).error
        }
        other => other.to_owned(),
    };
    Some(name)
}

/// Checks that an answer is the one its scenario expects (status, template, bulk failures) and
/// that it validates against every schema the spec gives for it: the documented response of the
/// route for that status, and the answering template's own `schema` pointer. Returns how many
/// schemas were checked.
pub fn check_answer(spec: &VendorSpec, ran: &Ran) -> usize {
    let Ran { scenario, response, entry } = ran;
    let what = format!("{}: scenario {}", spec.name, scenario.name);
    assert_eq!(entry.status, response.status, "{what}: the journal records the status sent");
    let body = response.json();
    let outcome = serde_json::to_value(&entry.outcome).expect("an outcome serializes");
    let mut schemas: Vec<(String, Value)> = Vec::new();
    match (&scenario.expect, template_of(spec, entry)) {
        (Expect::Success { op, failed }, None) => {
            let found = spec.operations().into_iter().find(|o| &o.id() == op).expect("the expected operation exists");
            assert_eq!(response.status, found.success_status(), "{what}: success status; body {body}");
            let failures = outcome["failed"].as_array().map_or(0, Vec::len);
            assert_eq!(failures, *failed, "{what}: entries rejected as duplicates; outcome {outcome}");
            if let Some(ptr) = found.op().success.schema.as_deref() {
                schemas.push((format!("x-mock.success.schema {ptr}"), spec.pointer(ptr).clone()));
            }
        }
        (Expect::Template(expected), Some(got)) => {
            assert_eq!(&got, expected, "{what}: answering template; outcome {outcome}, body {body}");
            assert_eq!(response.status, spec.template_status(expected), "{what}: status of template {expected}");
            if let Some(ptr) = spec.template(expected).schema.as_deref() {
                schemas.push((format!("x-mock.errors.{expected}.schema {ptr}"), spec.pointer(ptr).clone()));
            }
        }
        (expected, got) => panic!("{what}: expected {expected:?}, answered by template {got:?}; outcome {outcome}"),
    }
    if let Some(schema) = spec.response_schema(&scenario.request.method, scenario.request.path(), response.status) {
        let at = format!("paths.{}.{}.responses.{}", scenario.request.path(), scenario.request.method, response.status);
        schemas.push((at, schema.clone()));
    }
    assert!(!schemas.is_empty(), "{what}: no schema in the spec documents a {} answer", response.status);
    for (at, schema) in &schemas {
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(schema)
            .unwrap_or_else(|e| panic!("{what}: schema {at} compiles: {e}"));
        let errors: Vec<String> =
            validator.iter_errors(&body).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{what}: answer {body} breaks schema {at}: {errors:?}");
    }
    schemas.len()
}

/// The generated values of a vendor's records (ids and timestamps), and its tenants' ids, each
/// with the placeholder that replaces it in snapshots.
pub fn generated_values(spec: &VendorSpec, mock: &Mock, creds_tenants: &[String]) -> Vec<(Value, &'static str)> {
    let mut out: Vec<(Value, &'static str)> = creds_tenants.iter().map(|t| (json!(t), "[id]")).collect();
    let records = mock.records(&spec.name).unwrap_or(Value::Null);
    for op in spec.operations() {
        for rule in op.id_rules() {
            for record in records[op.collection()].as_array().into_iter().flatten() {
                for (_, v) in rule.path.values(record) {
                    let label = if matches!(rule.generator, IdGenerator::Timestamp) { "[timestamp]" } else { "[id]" };
                    out.push((v.clone(), label));
                }
            }
        }
    }
    out
}

/// Replaces every generated value in `value` by its placeholder.
pub fn redact(value: &Value, generated: &[(Value, &'static str)]) -> Value {
    if let Some((_, label)) = generated.iter().find(|(g, _)| g == value && !value.is_null()) {
        return json!(label);
    }
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, generated)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), redact(v, generated))).collect()),
        Value::String(s) => {
            // Generated strings inside messages (`… id cl_… …`) are redacted too.
            let mut s = s.clone();
            for (g, label) in generated {
                if let Some(g) = g.as_str().filter(|g| g.len() >= 8) {
                    s = s.replace(g, label);
                }
            }
            json!(s)
        }
        other => other.clone(),
    }
}

/// What a snapshot shows of an answer: status, the relevant headers, the redacted body.
pub fn snapshot_of(response: &Response, generated: &[(Value, &'static str)]) -> Value {
    let mut headers = serde_json::Map::new();
    for name in ["content-type", "allow"] {
        if let Some(v) = response.header(name) {
            headers.insert(name.to_owned(), json!(v));
        }
    }
    json!({ "status": response.status, "headers": headers, "body": redact(&response.json(), generated) })
}
