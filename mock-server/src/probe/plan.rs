//! The probe plan: a few requests derived from a vendor's spec alone, each safe to send to the
//! live vendor, each named so that fidelity rows can say which ones check them
//! (`x-mock.fidelity[].probe`, names in [`crate::spec::PROBE_STEPS`]).
//!
//! | step | what is sent | records it can create |
//! | --- | --- | --- |
//! | `create` | the create operation's `captured` request example, its unique values new | its entries |
//! | `duplicate` | the same body again (when the operation has uniqueness rules) | its entries, if the vendor does not refuse it |
//! | `bad_credential` | a new body with an invented credential (`invalid-probe-…`) | none |
//! | `missing_field` | a new body without its first required field | its entries, if the vendor does not refuse it |
//! | `malformed_json` | a body cut in the middle of a string | none |
//! | `unknown_field` | a new body with one field no page names (`vendor_mock_probe`) | its entries |
//! | `wrong_method` | the create path with a method it does not document (GET first) | none |
//! | `unknown_path` | the create path with `-probe` appended | none |
//! | `list_tenants` | each `list_tenants` operation | none |
//! | `example:<name>` | each other named request example, its unique values new | its entries |

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use crate::spec::{Action, CredentialLocation, Operation, Vendor};

/// One request of the plan.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) method: Method,
    pub(crate) path: String,
    /// Indexes into the vendor's credential parts that the request carries.
    pub(crate) parts: Vec<usize>,
    /// Replaces the value of the operation's first credential part (an invented bad key).
    pub(crate) bad_credential: Option<String>,
    pub(crate) body: Option<Bytes>,
    /// Records it can create at the vendor, at most.
    pub(crate) records: usize,
}

/// A random token for new unique values (`probe…`), different on every run.
pub(crate) fn token() -> String {
    let mut rng = fastrand::Rng::new();
    (0..10).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.usize(..36)])).collect()
}

/// The plan for a vendor (one revision), in the order it is sent.
pub(crate) fn plan(vendor: &Vendor) -> Vec<Step> {
    let mut steps = Vec::new();
    let Some(create) = vendor.operations.iter().find(|op| op.action == Action::Create) else { return steps };
    let examples = &create.examples;
    let captured = examples.iter().find(|(name, _)| name == "captured").map(|(_, v)| v.clone());
    let captured = captured.unwrap_or_else(|| if create.bulk { json!([{}]) } else { json!({}) });
    let entries = if create.bulk { captured.as_array().map_or(1, Vec::len) } else { 1 };
    let json_step = |name: &str, body: &Value, records: usize| Step {
        name: name.to_owned(),
        method: create.method.clone(),
        path: create.path.clone(),
        parts: create.auth.clone(),
        bad_credential: None,
        body: Some(Bytes::from(serde_json::to_vec(body).unwrap_or_default())),
        records,
    };

    let created = fresh(create, &captured);
    steps.push(json_step("create", &created, entries));
    if !create.unique.is_empty() {
        steps.push(json_step("duplicate", &created, entries));
    }
    let prefix = vendor.auth.reject_prefixes.first().map_or("invalid", String::as_str);
    steps.push(Step {
        bad_credential: Some(format!("{prefix}-probe-{}", token())),
        ..json_step("bad_credential", &fresh(create, &captured), 0)
    });
    if let Some(field) = first_required(create) {
        let mut body = fresh(create, &captured);
        if let Some(Value::Object(record)) = first_record(create, &mut body) {
            record.shift_remove(&field);
        }
        steps.push(json_step("missing_field", &body, entries));
    }
    steps.push(Step {
        body: Some(Bytes::from_static(br#"{"email": "unterminated"#)),
        ..json_step("malformed_json", &Value::Null, 0)
    });
    let mut body = fresh(create, &captured);
    if let Some(Value::Object(record)) = first_record(create, &mut body) {
        record.insert("vendor_mock_probe".into(), json!(true));
    }
    steps.push(json_step("unknown_field", &body, entries));
    let documented: Vec<&Method> =
        vendor.operations.iter().filter(|op| op.path == create.path).map(|op| &op.method).collect();
    let other =
        [Method::GET, Method::PUT, Method::DELETE, Method::PATCH].into_iter().find(|m| !documented.contains(&m));
    if let Some(method) = other {
        steps.push(Step { method, body: None, ..json_step("wrong_method", &Value::Null, 0) });
    }
    steps.push(Step {
        path: format!("{}-probe", create.path),
        body: None,
        ..json_step("unknown_path", &Value::Null, 0)
    });
    for list in vendor.operations.iter().filter(|op| op.action == Action::ListTenants) {
        steps.push(Step {
            name: "list_tenants".into(),
            method: list.method.clone(),
            path: list.path.clone(),
            parts: list.auth.clone(),
            bad_credential: None,
            body: None,
            records: 0,
        });
    }
    for (name, example) in examples.iter().filter(|(name, _)| name != "captured") {
        let body = fresh(create, example);
        let records = if create.bulk { example.as_array().map_or(1, Vec::len) } else { 1 };
        steps.push(json_step(&format!("example:{name}"), &body, records));
    }
    steps
}

/// The credential parts a plan needs values for.
pub(crate) fn needed_parts(vendor: &Vendor, steps: &[Step]) -> Vec<usize> {
    let mut parts: Vec<usize> = steps.iter().flat_map(|s| s.parts.iter().copied()).collect();
    parts.sort_unstable();
    parts.dedup();
    parts.retain(|&i| i < vendor.auth.credentials.len());
    parts
}

/// Where a credential part goes: `(query key, header name, header value)`.
pub(crate) fn placed(
    location: CredentialLocation,
    key: &str,
    value: &str,
) -> (Option<String>, Option<(String, String)>) {
    match location {
        CredentialLocation::Query => {
            (Some(format!("{key}={}", form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>())), None)
        }
        CredentialLocation::Header => (None, Some((key.to_owned(), value.to_owned()))),
        CredentialLocation::Bearer => (None, Some((key.to_owned(), format!("Bearer {value}")))),
    }
}

fn first_required(op: &Operation) -> Option<String> {
    let schema = op.request_schema.as_ref()?;
    let record = if op.bulk { schema.get("items")? } else { schema };
    record.get("required")?.as_array()?.first()?.as_str().map(str::to_owned)
}

fn first_record<'a>(op: &Operation, body: &'a mut Value) -> Option<&'a mut Value> {
    if op.bulk { body.as_array_mut()?.first_mut() } else { Some(body) }
}

/// A copy of `body` whose values under the operation's uniqueness rules are new: an e-mail
/// becomes `probe.<token>.<local>@example.com` (a reserved domain: no mail reaches anyone), a
/// number keeps its length with random last digits, other text gets `-<token>`.
fn fresh(op: &Operation, body: &Value) -> Value {
    let mut out = body.clone();
    let records: Vec<&mut Value> = match (&mut out, op.bulk) {
        (Value::Array(items), true) => items.iter_mut().collect(),
        (other, _) => vec![other],
    };
    for record in records {
        let token = token();
        for rule in &op.unique {
            rule.path.update(record, &mut |v| {
                if let Value::String(s) = v {
                    *s = renewed(s, &token);
                }
            });
        }
    }
    out
}

fn renewed(value: &str, token: &str) -> String {
    if let Some((local, _)) = value.split_once('@') {
        return format!("probe.{token}.{local}@example.com");
    }
    let digits = value.trim_start_matches('+');
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let keep = value.len().saturating_sub(6);
        let mut rng = fastrand::Rng::new();
        let tail: String = (keep..value.len()).map(|_| char::from(b'0' + rng.u8(..10))).collect();
        return format!("{}{tail}", &value[..keep]);
    }
    format!("{value}-{token}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{PROBE_STEPS, Specs};

    fn names(vendor: &str) -> Vec<String> {
        let specs = Specs::embedded().expect("embedded specs");
        plan(specs.vendor(vendor).expect("vendor")).into_iter().map(|s| s.name).collect()
    }

    #[test]
    fn every_vendor_plan_is_derived_from_its_spec() {
        // SmartLead has no tenants to list; its named request examples come last.
        let mut expected: Vec<&str> = PROBE_STEPS.into_iter().filter(|s| *s != "list_tenants").collect();
        expected.extend(["example:older_page", "example:every_field"]);
        assert_eq!(names("smartlead"), expected);
        assert!(names("agencyhandy").contains(&"list_tenants".to_owned()));
    }

    #[test]
    fn fresh_values_are_new_and_sent_nowhere() {
        let specs = Specs::embedded().expect("embedded specs");
        let steps = plan(specs.vendor("cellcast").expect("cellcast"));
        let body: Value = serde_json::from_slice(steps[0].body.as_deref().unwrap_or_default()).expect("JSON");
        let email = body["email"].as_str().expect("an e-mail");
        assert!(email.starts_with("probe.") && email.ends_with("@example.com"), "{email}");
        let mobile = body["mobile"].as_str().expect("a mobile");
        assert_eq!(mobile.len(), "0400000000".len());
        assert_eq!(steps[1].body, steps[0].body, "the duplicate is the same body");
    }
}
