//! What the suite reads from one vendor's spec document: auth, the create operation, its
//! schema and uniqueness rules, where the answer carries the id, and how to look tenants up.
//!
//! Everything vendor-specific comes from here; the rest of the suite is generic.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::SpecError;
use crate::http1::Request;

/// Where a credential part travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    Query,
    Header,
    Bearer,
}

/// One part of a vendor's credential (`x-mock.auth.credentials[]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CredentialPart {
    /// The name clients get it by in `credentials` (`api_key`, `token`, `company_id`).
    pub name: String,
    #[serde(rename = "in")]
    pub location: Location,
    /// Query parameter or header name.
    pub key: String,
    /// The header name must be sent in exactly this case.
    #[serde(default)]
    pub case_sensitive: bool,
    /// The value is one of the account's tenants (looked up over HTTP).
    #[serde(default)]
    pub tenant: bool,
}

/// A uniqueness rule of the create operation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UniqueRule {
    pub name: String,
    /// `email`, `client_users[].email` (relative to an entry for a bulk operation).
    pub path: String,
    pub scope: String,
}

/// The vendor's create operation.
#[derive(Debug, Clone)]
pub struct CreateOp {
    pub operation_id: String,
    pub method: String,
    pub path: String,
    /// The body is an array of entries, answered per entry.
    pub bulk: bool,
    pub unique: Vec<UniqueRule>,
    /// Where the success answer carries the id (`data.id`, `createdMembers[]._id`).
    pub reported_id: Option<String>,
    /// The body field that turns a create into an update (`x-mock.update_by.field`, SmartLead
    /// 2026-03's `id`): the generator leaves it out of create inputs.
    pub update_key: Option<String>,
    /// The request body's JSON Schema.
    pub schema: Value,
    /// The documentation's example body, when the spec has one.
    pub example: Option<Value>,
    /// Indexes into [`VendorModel::credentials`] that the operation needs.
    pub auth: Vec<usize>,
}

/// The operation that lists an account's tenants (`x-mock.action: list_tenants`).
#[derive(Debug, Clone)]
pub struct TenantLookup {
    pub method: String,
    pub path: String,
    pub auth: Vec<usize>,
    /// Path of the tenant array in the answer (`companies`).
    pub list: Vec<String>,
    /// Path of a tenant's id in a tenant object (`_id`).
    pub id: String,
}

/// One vendor as the suite sees it.
#[derive(Debug, Clone)]
pub struct VendorModel {
    pub name: String,
    /// The contract revision the document describes (`x-mock.revision`; `default` without one).
    pub revision: String,
    pub title: String,
    pub credentials: Vec<CredentialPart>,
    pub reject_prefixes: Vec<String>,
    pub create: CreateOp,
    pub tenant_lookup: Option<TenantLookup>,
}

#[derive(Debug, Deserialize)]
struct AuthExt {
    credentials: Vec<CredentialPart>,
    #[serde(default)]
    reject_prefixes: Vec<String>,
}

impl VendorModel {
    /// Reads a vendor's OpenAPI document (local `$ref`s resolved, `x-mock` included).
    pub fn from_document(vendor: &str, doc: &Value) -> Result<Self, SpecError> {
        let err = |m: String| SpecError::new(vendor, m);
        let ext = doc.get("x-mock").ok_or_else(|| err("no x-mock extension".into()))?;
        let title = ext.get("title").and_then(Value::as_str).unwrap_or(vendor).to_owned();
        let auth: AuthExt = serde_json::from_value(ext.get("auth").cloned().unwrap_or(Value::Null))
            .map_err(|e| err(format!("x-mock.auth: {e}")))?;
        if auth.credentials.is_empty() {
            return Err(err("x-mock.auth.credentials is empty".into()));
        }
        let mut creates = Vec::new();
        let mut lookup = None;
        for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let Some(x) = op.get("x-mock") else { continue };
                let where_ = format!("paths.{path}.{method}");
                if path.contains('{') {
                    return Err(err(format!("{where_}: path parameters are not supported by the suite")));
                }
                let parts = match x.get("auth").and_then(Value::as_array) {
                    None => (0..auth.credentials.len()).collect(),
                    Some(names) => names
                        .iter()
                        .map(|n| {
                            let n = n.as_str().unwrap_or_default();
                            auth.credentials
                                .iter()
                                .position(|c| c.name == n)
                                .ok_or_else(|| err(format!("{where_}: x-mock.auth names unknown credential `{n}`")))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                };
                match x.get("action").and_then(Value::as_str) {
                    Some("create") => {
                        let schema = op
                            .pointer("/requestBody/content/application~1json/schema")
                            .cloned()
                            .ok_or_else(|| err(format!("{where_}: no application/json request schema")))?;
                        let example = op
                            .pointer("/requestBody/content/application~1json/examples")
                            .and_then(Value::as_object)
                            .and_then(|ex| ex.get("captured").or_else(|| ex.values().next()))
                            .and_then(|e| e.get("value"))
                            .cloned();
                        let unique: Vec<UniqueRule> =
                            serde_json::from_value(x.get("unique").cloned().unwrap_or(Value::Array(Vec::new())))
                                .map_err(|e| err(format!("{where_}.x-mock.unique: {e}")))?;
                        creates.push(CreateOp {
                            operation_id: op.get("operationId").and_then(Value::as_str).unwrap_or(&where_).to_owned(),
                            method: method.to_ascii_uppercase(),
                            path: path.clone(),
                            bulk: x.get("bulk").and_then(Value::as_bool).unwrap_or(false),
                            unique,
                            reported_id: x.get("reported_id").and_then(Value::as_str).map(str::to_owned),
                            update_key: x.pointer("/update_by/field").and_then(Value::as_str).map(str::to_owned),
                            schema,
                            example,
                            auth: parts,
                        });
                    }
                    Some("list_tenants") => {
                        let body = x.pointer("/success/body").cloned().unwrap_or(Value::Null);
                        let list = find_placeholder(&body, "tenants").ok_or_else(|| {
                            err(format!("{where_}: the success body has no `{{{{tenants}}}}` placeholder"))
                        })?;
                        let id = ext
                            .pointer("/tenants/id/path")
                            .and_then(Value::as_str)
                            .ok_or_else(|| err("x-mock.tenants.id.path is missing".into()))?
                            .to_owned();
                        lookup = Some(TenantLookup {
                            method: method.to_ascii_uppercase(),
                            path: path.clone(),
                            auth: parts,
                            list,
                            id,
                        });
                    }
                    other => {
                        return Err(err(format!("{where_}: x-mock.action {other:?} is not known to the suite")));
                    }
                }
            }
        }
        let create = match creates.len() {
            1 => creates.remove(0),
            0 => return Err(err("no operation has `x-mock.action: create`".into())),
            n => return Err(err(format!("{n} operations have `x-mock.action: create`; the suite drives one"))),
        };
        let revision = ext.get("revision").and_then(Value::as_str).unwrap_or(vendor_mock::DEFAULT_REVISION).to_owned();
        let model = Self {
            name: vendor.to_owned(),
            revision,
            title,
            credentials: auth.credentials,
            reject_prefixes: auth.reject_prefixes,
            create,
            tenant_lookup: lookup,
        };
        if model.credentials.iter().any(|c| c.tenant) {
            let Some(lookup) = &model.tenant_lookup else {
                return Err(err("a credential part has `tenant: true` but no operation lists tenants".into()));
            };
            if lookup.auth.iter().any(|&i| model.credentials[i].tenant) {
                return Err(err("the tenant look-up itself needs a tenant credential".into()));
            }
        }
        Ok(model)
    }

    /// How reports name this vendor at this revision: `smartlead` for the default revision,
    /// `smartlead@2026-03` for another (the repository's convention, as in `snapshots/`).
    pub fn target(&self) -> String {
        target_name(&self.name, &self.revision)
    }

    /// The parts the create operation needs, in spec order.
    pub fn create_parts(&self) -> impl Iterator<Item = &CredentialPart> {
        self.create.auth.iter().map(|&i| &self.credentials[i])
    }

    /// The request the contract expects for a create with these credentials and this body.
    pub fn expected_request(&self, credentials: &BTreeMap<String, String>, input: &Value) -> Request {
        let parts: Vec<&CredentialPart> = self.create_parts().collect();
        let body = serde_json::to_vec(input).unwrap_or_default();
        let mut request = authed_request(&self.create.method, &self.create.path, &parts, credentials);
        request.headers.push(("Content-Type".into(), "application/json".into()));
        request.body = body;
        request
    }

    /// The tenant look-up request for these credentials.
    pub fn lookup_request(&self, credentials: &BTreeMap<String, String>) -> Option<Request> {
        let lookup = self.tenant_lookup.as_ref()?;
        let parts: Vec<&CredentialPart> = lookup.auth.iter().map(|&i| &self.credentials[i]).collect();
        Some(authed_request(&lookup.method, &lookup.path, &parts, credentials))
    }

    /// The first tenant id in a look-up answer.
    pub fn first_tenant(&self, answer: &Value) -> Option<String> {
        let lookup = self.tenant_lookup.as_ref()?;
        let list = lookup.list.iter().try_fold(answer, |v, k| v.get(k))?;
        let first = list.as_array()?.first()?;
        match values_at(first, &lookup.id).first()?.1 {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The ids a success answer reports, in order (empty without `reported_id`).
    pub fn reported_ids(&self, answer: &Value) -> Vec<Value> {
        match &self.create.reported_id {
            Some(path) => values_at(answer, path).into_iter().map(|(_, v)| v.clone()).collect(),
            None => Vec::new(),
        }
    }
}

/// `vendor` for the default revision, `vendor@revision` for another.
pub fn target_name(vendor: &str, revision: &str) -> String {
    if revision == vendor_mock::DEFAULT_REVISION { vendor.to_owned() } else { format!("{vendor}@{revision}") }
}

fn authed_request(
    method: &str,
    path: &str,
    parts: &[&CredentialPart],
    credentials: &BTreeMap<String, String>,
) -> Request {
    let value = |p: &CredentialPart| credentials.get(&p.name).cloned().unwrap_or_default();
    let query: Vec<String> = parts
        .iter()
        .filter(|p| p.location == Location::Query)
        .map(|p| format!("{}={}", encode(&p.key), encode(&value(p))))
        .collect();
    let target = if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) };
    let mut headers = Vec::new();
    for p in parts {
        match p.location {
            Location::Header => headers.push((p.key.clone(), value(p))),
            Location::Bearer => headers.push((p.key.clone(), format!("Bearer {}", value(p)))),
            Location::Query => {}
        }
    }
    Request { method: method.to_owned(), target, headers, body: Vec::new() }
}

/// Percent-encodes a query component (unreserved characters kept).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a query string into pairs (`+` is a space, `%XX` a byte).
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = |c: u8| char::from(c).to_digit(16);
                    match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        (Some(h), Some(l)) => {
                            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The JSON path (object keys) to the string that is exactly `{{name}}`.
fn find_placeholder(v: &Value, name: &str) -> Option<Vec<String>> {
    match v {
        Value::String(s) if s.trim() == format!("{{{{{name}}}}}") => Some(Vec::new()),
        Value::Object(map) => map.iter().find_map(|(k, child)| {
            find_placeholder(child, name).map(|mut rest| {
                rest.insert(0, k.trim_end_matches('?').to_owned());
                rest
            })
        }),
        _ => None,
    }
}

/// The values at a spec path (`data.id`, `createdMembers[]._id`, `[].email`): the mock's own
/// path walker, so the suite reads paths exactly as the mock does.
pub use vendor_mock::values_at;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn models() -> Vec<VendorModel> {
        let specs = vendor_mock::Specs::embedded().expect("embedded specs load");
        specs
            .vendor_names()
            .iter()
            .map(|v| VendorModel::from_document(v, specs.document(v).expect("a document")).expect("a model"))
            .collect()
    }

    #[test]
    fn every_embedded_spec_gives_a_model_with_one_create_operation() {
        let models = models();
        assert_eq!(models.len(), 4);
        for m in &models {
            assert!(m.create.path.starts_with('/'), "{}", m.name);
            assert!(m.create.schema.is_object(), "{}", m.name);
            assert!(!m.create_parts().collect::<Vec<_>>().is_empty());
        }
        let bulk: Vec<&str> = models.iter().filter(|m| m.create.bulk).map(|m| m.name.as_str()).collect();
        assert_eq!(bulk, ["agencyhandy"]);
    }

    #[test]
    fn the_tenant_lookup_is_found_from_the_placeholder_in_the_success_body() {
        let models = models();
        let with_tenants: Vec<&VendorModel> = models.iter().filter(|m| m.tenant_lookup.is_some()).collect();
        assert_eq!(with_tenants.len(), 1);
        let m = with_tenants[0];
        let answer = json!({"message":"x","companies":[{"_id":"64b7f0c2a1b2c3d4e5f60718","name":"A"}]});
        assert_eq!(m.first_tenant(&answer).as_deref(), Some("64b7f0c2a1b2c3d4e5f60718"));
    }

    #[test]
    fn expected_requests_put_each_credential_where_the_spec_says() {
        for m in models() {
            let creds: BTreeMap<String, String> =
                m.credentials.iter().map(|c| (c.name.clone(), format!("v-{}", c.name))).collect();
            let req = m.expected_request(&creds, &json!({"a": 1}));
            for part in m.create_parts() {
                let v = format!("v-{}", part.name);
                match part.location {
                    Location::Query => assert!(req.target.contains(&format!("{}={v}", part.key))),
                    Location::Header => assert!(req.headers.contains(&(part.key.clone(), v))),
                    Location::Bearer => assert!(req.headers.contains(&(part.key.clone(), format!("Bearer {v}")))),
                }
            }
            assert_eq!(req.body, br#"{"a":1}"#);
        }
    }

    #[test]
    fn values_at_reads_nested_and_array_paths() {
        let v = json!({"data":{"id":301},"createdMembers":[{"_id":"a"},{"_id":"b"}]});
        assert_eq!(values_at(&v, "data.id")[0].1, &json!(301));
        let ids: Vec<_> = values_at(&v, "createdMembers[]._id").into_iter().map(|(p, v)| (p, v.clone())).collect();
        assert_eq!(
            ids,
            vec![("createdMembers[0]._id".into(), json!("a")), ("createdMembers[1]._id".into(), json!("b"))]
        );
        assert_eq!(values_at(&json!([{"e":1},{"e":2}]), "[].e").len(), 2);
    }

    #[test]
    fn query_strings_are_encoded_and_decoded_symmetrically() {
        let pairs = query_pairs(&format!("api_key={}&x=1+2", encode("a b&c=d%")));
        assert_eq!(pairs, vec![("api_key".into(), "a b&c=d%".into()), ("x".into(), "1 2".into())]);
    }
}
