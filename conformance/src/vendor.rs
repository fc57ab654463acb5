//! The suite's handle on one vendor: the mock's own spec model ([`vendor_mock::spec::Vendor`])
//! plus what driving a client needs from it (the one create operation, the requests the
//! contract expects, where answers carry ids and tenants).
//!
//! Everything vendor-specific comes from the spec model; the rest of the suite is generic.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
pub(crate) use vendor_mock::spec::{
    CredentialLocation as Location, CredentialPart, Operation, ResponseExample, Vendor,
};

use crate::error::SpecError;
use crate::http1::Request;
use crate::model::Scenario;

/// One vendor as the suite drives it: the spec model and its create operation.
#[derive(Debug, Clone)]
pub struct VendorModel {
    /// The vendor's spec, as the mock reads it.
    pub spec: Arc<Vendor>,
    /// Index of the create operation in `spec.operations`.
    create: usize,
}

impl VendorModel {
    /// The suite's view of a loaded vendor; refuses a spec the suite cannot drive.
    pub fn new(spec: Arc<Vendor>) -> Result<Self, SpecError> {
        let err = |m: String| SpecError::new(&spec.name, m);
        let creates: Vec<usize> = spec
            .operations
            .iter()
            .enumerate()
            .filter(|(_, o)| o.action == vendor_mock::spec::Action::Create)
            .map(|(i, _)| i)
            .collect();
        let create = match creates.as_slice() {
            [one] => *one,
            [] => return Err(err("no operation has `x-mock.action: create`".into())),
            many => {
                return Err(err(format!(
                    "{} operations have `x-mock.action: create`; the suite drives one",
                    many.len()
                )));
            }
        };
        for op in &spec.operations {
            if op.path.contains('{') {
                return Err(err(format!("{} {}: path parameters are not supported by the suite", op.method, op.path)));
            }
        }
        let op = &spec.operations[create];
        if op.request_schema.is_none() {
            return Err(err(format!("{} {}: no application/json request schema", op.method, op.path)));
        }
        if spec.auth.credentials.iter().any(|c| c.tenant) {
            let Some(lookup) = spec.tenant_lookup() else {
                return Err(err("a credential part has `tenant: true` but no operation lists tenants".into()));
            };
            if spec.parts_of(lookup).any(|p| p.tenant) {
                return Err(err("the tenant look-up itself needs a tenant credential".into()));
            }
        }
        Ok(Self { spec, create })
    }

    /// The vendor's name (`smartlead`).
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The contract revision (`default` for the captured pages).
    pub fn revision(&self) -> &str {
        &self.spec.revision
    }

    /// Every credential part of the vendor, in spec order.
    pub fn credentials(&self) -> &[CredentialPart] {
        &self.spec.auth.credentials
    }

    /// Credential prefixes the vendor refuses (`expired`).
    pub fn reject_prefixes(&self) -> &[String] {
        &self.spec.auth.reject_prefixes
    }

    /// Credential prefixes the vendor knows but denies the permission (`forbidden…`): 403.
    pub fn forbidden_prefixes(&self) -> &[String] {
        &self.spec.auth.forbidden_prefixes
    }

    /// The statuses the vendor documents for its answer to a create whose body is JSON: the
    /// success, refused credentials (`unauthorized`, `forbidden`), a refused body (`invalid`,
    /// `malformed`), every uniqueness rule's clash, and the rate limit (a 5xx aside). The
    /// templates for requests that are wrong as requests (an unknown path, another method, a
    /// body too large or too slow) are not among them.
    pub fn create_statuses(&self) -> std::collections::BTreeSet<u16> {
        let mut statuses = self.answered_statuses();
        statuses.extend(self.spec.errors.get("malformed").map(|t| t.status));
        statuses
    }

    /// The statuses the mock answers the suite's own cases with: [`VendorModel::create_statuses`]
    /// but the `malformed` template's (a body that is not JSON, which no case asks a client to
    /// send). A documented example answer with another status is one the mock never gives, so
    /// the suite injects it ([`VendorModel::injected_examples`]).
    pub fn answered_statuses(&self) -> std::collections::BTreeSet<u16> {
        let op = self.create();
        let named = ["unauthorized", "forbidden", "invalid", "rate_limited"];
        let templates = named.iter().copied().chain(op.unique.iter().map(|rule| rule.error.as_str()));
        let errors = templates.filter_map(|name| self.spec.errors.get(name)).map(|t| t.status);
        std::iter::once(op.success.status).chain(errors).collect()
    }

    /// The create operation's documented response examples the suite injects, each with the
    /// scenario whose outcome its status documents: those whose status the mock never answers
    /// the suite's cases with ([`VendorModel::answered_statuses`]) and documents an outcome
    /// ([`Scenario::documented_by`]). SmartLead's Joi/Boom `400` (the mock answers a schema
    /// violation with its `422`) is one.
    pub fn injected_examples(&self) -> Vec<(Scenario, &ResponseExample)> {
        let answered = self.answered_statuses();
        let examples = self.create().response_examples.iter().filter(|e| !answered.contains(&e.status));
        examples.filter_map(|e| Some((Scenario::documented_by(e.status)?, e))).collect()
    }

    /// The injected example an answer is (its status and its body, as JSON), if it is one.
    pub fn injected_example(&self, status: u16, body: &str) -> Option<(Scenario, &ResponseExample)> {
        let body: Value = serde_json::from_str(body).ok()?;
        self.injected_examples().into_iter().find(|(_, e)| e.status == status && e.body == body)
    }

    /// Of the client errors HTTP APIs commonly answer, those the vendor never answers a create
    /// with ([`VendorModel::create_statuses`]): a client must report them `unexpected_response`.
    pub fn undocumented_statuses(&self) -> Vec<u16> {
        const COMMON: [u16; 7] = [400, 403, 404, 405, 409, 413, 422];
        let documented = self.create_statuses();
        COMMON.into_iter().filter(|s| !documented.contains(s)).collect()
    }

    /// The create operation.
    pub fn create(&self) -> &Operation {
        &self.spec.operations[self.create]
    }

    /// The create operation's request schema (checked present by [`VendorModel::new`]).
    pub fn schema(&self) -> &Value {
        static NONE: Value = Value::Null;
        self.create().request_schema.as_ref().unwrap_or(&NONE)
    }

    /// The body field that turns a create into an update (`x-mock.update_by.field`, SmartLead
    /// 2026-03's `id`): the generator leaves it out of create inputs.
    pub fn update_key(&self) -> Option<&str> {
        self.create().update_by.as_ref().map(|u| u.field.as_str())
    }

    /// How reports name this vendor at this revision: `smartlead` for the default revision,
    /// `smartlead@2026-03` for another (the repository's convention, as in `snapshots/`).
    pub fn target(&self) -> String {
        self.spec.target()
    }

    /// Where the create operation's uniqueness rules find their values in a request body
    /// (`email`, `client_users[].email`; `[].email` for a bulk operation's entries).
    pub fn unique_patterns(&self) -> Vec<String> {
        let entry = if self.create().bulk { "[]." } else { "" };
        self.create().unique.iter().map(|rule| format!("{entry}{}", rule.path)).collect()
    }

    /// The parts the create operation needs, in spec order.
    pub fn create_parts(&self) -> impl Iterator<Item = &CredentialPart> {
        self.spec.parts_of(self.create())
    }

    /// The request the contract expects for a create with these credentials and this body.
    pub fn expected_request(&self, credentials: &BTreeMap<String, String>, input: &Value) -> Request {
        let parts: Vec<&CredentialPart> = self.create_parts().collect();
        let body = serde_json::to_vec(input).unwrap_or_default();
        let op = self.create();
        let mut request = authed_request(op.method.as_str(), &op.path, &parts, credentials);
        request.headers.push(("Content-Type".into(), "application/json".into()));
        request.body = body;
        request
    }

    /// The tenant look-up request for these credentials.
    pub fn lookup_request(&self, credentials: &BTreeMap<String, String>) -> Option<Request> {
        let lookup = self.spec.tenant_lookup()?;
        let parts: Vec<&CredentialPart> = self.spec.parts_of(lookup).collect();
        Some(authed_request(lookup.method.as_str(), &lookup.path, &parts, credentials))
    }

    /// The first tenant id in a look-up answer.
    pub fn first_tenant(&self, answer: &Value) -> Option<String> {
        let list = self.spec.tenant_lookup()?.tenants_at.as_ref()?.get(answer)?;
        let first = list.as_array()?.first()?;
        match self.spec.tenants.as_ref()?.id.path.get(first)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The ids a success answer reports, in order (empty without `reported_id`).
    pub fn reported_ids(&self, answer: &Value) -> Vec<Value> {
        match &self.create().reported_id {
            Some(path) => path.values(answer).into_iter().map(|(_, v)| v.clone()).collect(),
            None => Vec::new(),
        }
    }
}

/// `vendor` for the default revision, `vendor@revision` for another.
pub(crate) use vendor_mock::spec::target_name;

fn authed_request(
    method: &str,
    path: &str,
    parts: &[&CredentialPart],
    credentials: &BTreeMap<String, String>,
) -> Request {
    let value = |p: &CredentialPart| credentials.get(&p.name).cloned().unwrap_or_default();
    let mut query = form_urlencoded::Serializer::new(String::new());
    for p in parts.iter().filter(|p| p.location == Location::Query) {
        query.append_pair(&p.key, &value(p));
    }
    let query = query.finish();
    let target = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
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

/// Decodes a query string into pairs (`+` is a space, `%XX` a byte).
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn models() -> Vec<VendorModel> {
        let specs = vendor_mock::Specs::embedded().expect("embedded specs load");
        specs.vendors().iter().map(|v| VendorModel::new(Arc::clone(v)).expect("a model")).collect()
    }

    #[test]
    fn every_embedded_spec_gives_a_model_with_one_create_operation() {
        let models = models();
        assert_eq!(models.len(), 4);
        for m in &models {
            assert!(m.create().path.starts_with('/'), "{}", m.name());
            assert!(m.schema().is_object(), "{}", m.name());
            assert!(!m.create_parts().collect::<Vec<_>>().is_empty());
        }
        let bulk: Vec<&str> = models.iter().filter(|m| m.create().bulk).map(|m| m.name()).collect();
        assert_eq!(bulk, ["agencyhandy"]);
    }

    #[test]
    fn the_tenant_lookup_is_found_from_the_placeholder_in_the_success_body() {
        let models = models();
        let with_tenants: Vec<&VendorModel> = models.iter().filter(|m| m.spec.tenant_lookup().is_some()).collect();
        assert_eq!(with_tenants.len(), 1);
        let m = with_tenants[0];
        let answer = json!({"message":"x","companies":[{"_id":"64b7f0c2a1b2c3d4e5f60718","name":"A"}]});
        assert_eq!(m.first_tenant(&answer).as_deref(), Some("64b7f0c2a1b2c3d4e5f60718"));
    }

    #[test]
    fn only_documented_examples_with_a_status_the_mock_never_answers_are_injected() {
        let injected: Vec<(String, Scenario, u16, String)> = models()
            .iter()
            .flat_map(|m| {
                m.injected_examples().into_iter().map(|(s, e)| (m.name().to_owned(), s, e.status, e.name.clone()))
            })
            .collect();
        // SmartLead's Joi/Boom 400 (the mock answers a schema violation with 422); its 413 documents
        // no outcome; every other vendor's examples have statuses the mock itself answers.
        assert_eq!(injected, vec![("smartlead".to_owned(), Scenario::Validation, 400, "joi".to_owned())]);
        let smartlead = models().into_iter().find(|m| m.name() == "smartlead").expect("smartlead");
        assert!(smartlead.create_statuses().contains(&400), "the malformed body's 400 is documented");
        let joi = r#"{"statusCode":400,"error":"Bad Request","message":"\"forward_email_body\" must be a string"}"#;
        assert_eq!(smartlead.injected_example(400, joi).map(|(_, e)| e.name.as_str()), Some("joi"));
        assert!(smartlead.injected_example(400, r#"{"statusCode":400}"#).is_none());
        assert!(smartlead.injected_example(422, joi).is_none());
    }

    #[test]
    fn expected_requests_put_each_credential_where_the_spec_says() {
        for m in models() {
            let creds: BTreeMap<String, String> =
                m.credentials().iter().map(|c| (c.name.clone(), format!("v-{}", c.name))).collect();
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
    fn query_strings_are_encoded_and_decoded_symmetrically() {
        let creds = BTreeMap::from([("api_key".to_owned(), "a b&c=d%+/é".to_owned())]);
        let smartlead = models().into_iter().find(|m| m.name() == "smartlead").expect("smartlead");
        let req = smartlead.expected_request(&creds, &json!({}));
        let query = req.target.split_once('?').map(|(_, q)| q).unwrap_or_default();
        assert_eq!(query_pairs(query), vec![("api_key".into(), "a b&c=d%+/é".into())]);
        assert_eq!(query_pairs("x=1+2"), vec![("x".into(), "1 2".into())]);
    }
}
