//! What the tests need from a vendor's spec model: requests, accounts and values built from
//! it, so that every scenario is derived from the spec and a fifth vendor's file gets covered
//! without new test code.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use vendor_mock::Specs;
use vendor_mock::spec::{
    Action, CredentialLocation, CredentialPart, FieldPath, IdRule, Operation, Template, UniqueRule, Vendor,
};

use crate::*;

/// One vendor's spec model (the mock's own, [`vendor_mock::spec::Vendor`]) with the requests
/// and values the tests build from it, so that every scenario is derived from the spec.
#[derive(Debug, Clone)]
pub struct VendorSpec {
    pub name: String,
    pub vendor: Arc<Vendor>,
}

/// One operation of a vendor, by its place in the spec model.
#[derive(Debug, Clone)]
pub struct Op {
    pub path: String,
    /// Upper case, as sent.
    pub method: String,
    vendor: Arc<Vendor>,
    index: usize,
}

/// The credential values of one account, by part name.
#[derive(Debug, Clone, Default)]
pub struct Creds(pub Vec<(String, String)>);

impl Creds {
    pub fn get(&self, part: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == part).map(|(_, v)| v.as_str())
    }

    pub fn with(mut self, part: &str, value: &str) -> Self {
        self.0.retain(|(n, _)| n != part);
        self.0.push((part.to_owned(), value.to_owned()));
        self
    }
}

impl VendorSpec {
    /// Every vendor of `specs`, in the loader's order.
    pub fn all(specs: &Specs) -> Vec<Self> {
        specs.vendors().iter().map(|v| Self { name: v.name.clone(), vendor: Arc::clone(v) }).collect()
    }

    pub fn of(specs: &Specs, name: &str) -> Self {
        let vendor = specs.vendor(name).unwrap_or_else(|| panic!("vendor {name} is served"));
        Self { name: name.to_owned(), vendor: Arc::clone(vendor) }
    }

    /// The resolved OpenAPI document.
    pub fn doc(&self) -> &Value {
        &self.vendor.doc
    }

    /// Every operation of the spec, in document order.
    pub fn operations(&self) -> Vec<Op> {
        (0..self.vendor.operations.len()).map(|index| self.op(index)).collect()
    }

    fn op(&self, index: usize) -> Op {
        let o = &self.vendor.operations[index];
        Op { path: o.path.clone(), method: o.method.to_string(), vendor: Arc::clone(&self.vendor), index }
    }

    /// The create operation (the tests expect exactly one per vendor).
    pub fn create_op(&self) -> Op {
        let creates: Vec<Op> = self.operations().into_iter().filter(|o| o.op().action == Action::Create).collect();
        assert_eq!(creates.len(), 1, "{}: expected one create operation", self.name);
        creates.into_iter().next().expect("one create operation")
    }

    pub fn list_ops(&self) -> Vec<Op> {
        self.operations().into_iter().filter(|o| o.op().action == Action::ListTenants).collect()
    }

    pub fn credentials(&self) -> &[CredentialPart] {
        &self.vendor.auth.credentials
    }

    /// The first credential part that is not a tenant: the account's key.
    pub fn primary(&self) -> CredentialPart {
        self.credentials().iter().find(|p| !p.tenant).cloned().expect("a spec has a primary credential part")
    }

    pub fn reject_prefixes(&self) -> &[String] {
        &self.vendor.auth.reject_prefixes
    }

    /// Prefixes of valid credentials that lack the permission (`x-mock.auth.forbidden_prefixes`).
    pub fn forbidden_prefixes(&self) -> &[String] {
        &self.vendor.auth.forbidden_prefixes
    }

    /// An error template (`x-mock.errors.<name>`).
    pub fn template(&self, name: &str) -> &Template {
        self.vendor.errors.get(name).unwrap_or_else(|| panic!("{}: x-mock.errors.{name} exists", self.name))
    }

    pub fn template_status(&self, name: &str) -> u16 {
        self.template(name).status
    }

    /// The parts `op` asks for.
    pub fn parts_of(&self, op: &Op) -> Vec<CredentialPart> {
        self.vendor.parts_of(op.op()).cloned().collect()
    }

    /// Places `creds` where `op` expects them: query parameter, header (exact case) or Bearer.
    pub fn authorize(&self, op: &Op, creds: &Creds, mut request: Request) -> Request {
        for part in self.parts_of(op) {
            let Some(value) = creds.get(&part.name) else { continue };
            request = match part.location {
                CredentialLocation::Query => {
                    let sep = if request.target.contains('?') { '&' } else { '?' };
                    request.target = format!("{}{sep}{}={value}", request.target, part.key);
                    request
                }
                CredentialLocation::Header => request.header(&part.key, value),
                CredentialLocation::Bearer => request.header(&part.key, &format!("Bearer {value}")),
            };
        }
        request
    }

    /// A create request with `creds` and a JSON body.
    pub fn create(&self, creds: &Creds, body: &Value) -> Request {
        let op = self.create_op();
        self.authorize(&op, creds, Request::new(&op.method, &op.path).json(body))
    }

    /// A request to a `list_tenants` operation.
    pub fn list(&self, op: &Op, creds: &Creds) -> Request {
        self.authorize(op, creds, Request::new(&op.method, &op.path))
    }

    /// The credentials of a fresh account named `label`: made-up keys for the parts that are
    /// not tenants, and for a tenant part the first tenant the account lists.
    pub async fn account(&self, addr: SocketAddr, label: &str) -> Creds {
        let mut creds = Creds::default();
        for part in self.credentials().iter().filter(|p| !p.tenant) {
            creds.0.push((part.name.clone(), format!("test-{label}-{}", part.name.replace('_', "-"))));
        }
        for part in self.credentials().iter().filter(|p| p.tenant) {
            let tenant = self.first_tenant(addr, &creds).await;
            creds.0.push((part.name.clone(), tenant));
        }
        creds
    }

    /// The id of the first tenant listed for `creds` (by the `list_tenants` operation).
    pub async fn first_tenant(&self, addr: SocketAddr, creds: &Creds) -> String {
        let op = self.list_ops().into_iter().next().unwrap_or_else(|| {
            panic!("{}: a tenant credential part needs a list_tenants operation to look tenants up", self.name)
        });
        let response = send(addr, &self.list(&op, creds)).await;
        assert_eq!(response.status, op.success_status(), "{}: listing tenants: {}", self.name, response.text());
        let body = response.json();
        let list = op.op().tenants_at.as_ref().and_then(|at| at.get(&body)).expect("the answer lists tenants");
        let tenants = self.vendor.tenants.as_ref().expect("a tenant part needs x-mock.tenants");
        let id = list.get(0).and_then(|first| tenants.id.path.get(first));
        id.and_then(Value::as_str).expect("the first tenant has a string id").to_owned()
    }

    /// The JSON schema a JSON pointer (`#/components/…`) names in the resolved document.
    pub fn pointer(&self, pointer: &str) -> &Value {
        let ptr = pointer.strip_prefix('#').unwrap_or(pointer);
        self.doc().pointer(ptr).unwrap_or_else(|| panic!("{}: `{pointer}` points into the document", self.name))
    }

    /// The documented response schema of `method path` for `status`, if the document has one.
    pub fn response_schema(&self, method: &str, path: &str, status: u16) -> Option<&Value> {
        let item = self.doc()["paths"].get(path)?;
        let op = item.get(method.to_ascii_lowercase())?;
        op["responses"].get(status.to_string())?["content"]["application/json"].get("schema")
    }
}

impl Op {
    /// The operation in the spec model.
    pub fn op(&self) -> &Operation {
        &self.vendor.operations[self.index]
    }

    pub fn id(&self) -> String {
        self.op().id.clone()
    }

    pub fn is_bulk(&self) -> bool {
        self.op().bulk
    }

    pub fn collection(&self) -> String {
        self.op().collection.clone()
    }

    pub fn success_status(&self) -> u16 {
        self.op().success.status
    }

    /// The request example every create scenario starts from.
    pub fn example(&self) -> Value {
        let example = self.op().example.clone();
        example.unwrap_or_else(|| panic!("{} {}: has a `captured` request example", self.method, self.path))
    }

    /// The named request examples other than `captured` (`older_page`, `every_field`, …).
    pub fn other_examples(&self) -> Vec<(String, Value)> {
        self.op().examples.iter().filter(|(name, _)| name != "captured").cloned().collect()
    }

    pub fn request_schema(&self) -> &Value {
        static NONE: Value = Value::Null;
        self.op().request_schema.as_ref().unwrap_or(&NONE)
    }

    /// The schema of one record: the request schema, or its `items` for a bulk operation.
    pub fn record_schema(&self) -> &Value {
        if self.is_bulk() { &self.request_schema()["items"] } else { self.request_schema() }
    }

    pub fn required(&self) -> Vec<String> {
        let required = self.record_schema()["required"].as_array().into_iter().flatten();
        required.filter_map(Value::as_str).map(str::to_owned).collect()
    }

    pub fn unique_rules(&self) -> Vec<UniqueRule> {
        self.op().unique.clone()
    }

    /// Every generated value's rule (`x-mock.ids`).
    pub fn id_rules(&self) -> Vec<IdRule> {
        self.op().ids.clone()
    }

    /// The records of a body: the entries of a bulk array, or the body itself.
    pub fn records_of(&self, body: &Value) -> Vec<Value> {
        match (self.is_bulk(), body) {
            (true, Value::Array(items)) => items.clone(),
            _ => vec![body.clone()],
        }
    }

    /// Rewrites every string a rule names, in every record of the body.
    pub fn rewrite(&self, body: &mut Value, rule: &UniqueRule, f: &mut dyn FnMut(&str) -> String) {
        let mut rewrite = |v: &mut Value| {
            if let Value::String(s) = v {
                *s = f(s);
            }
        };
        match (self.is_bulk(), body) {
            (true, Value::Array(items)) => items.iter_mut().for_each(|item| rule.path.update(item, &mut rewrite)),
            (_, body) => rule.path.update(body, &mut rewrite),
        }
    }

    /// A copy of `body` whose unique values are all new (made from `n`), except those of the
    /// rule named `keep`.
    pub fn freshen(&self, body: &Value, keep: Option<&str>, n: usize) -> Value {
        let mut out = body.clone();
        for rule in self.unique_rules().iter().filter(|r| Some(r.name.as_str()) != keep) {
            self.rewrite(&mut out, rule, &mut |v| fresh(v, n));
        }
        out
    }

    /// The unique values of a body, by rule, as sent.
    pub fn unique_values(&self, body: &Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for rule in self.unique_rules() {
            for record in self.records_of(body) {
                for (_, v) in rule.path.values(&record) {
                    if let Some(s) = v.as_str() {
                        out.push((rule.name.clone(), s.to_owned()));
                    }
                }
            }
        }
        out
    }
}

/// A JSON string as text (empty for anything else).
pub(crate) fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// A new value of the same shape as `value`, distinct for each `n`: an e-mail gets a tagged local
/// part, a number (`0400000000`) its last six digits replaced, anything else a suffix.
pub fn fresh(value: &str, n: usize) -> String {
    assert!(n < 1_000_000, "fresh values are made from numbers below 1 000 000");
    if let Some((local, domain)) = value.split_once('@') {
        return format!("n{n}.{local}@{domain}");
    }
    let digits = value.trim_start_matches('+');
    if digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let keep = value.len() - 6;
        return format!("{}{n:06}", &value[..keep]);
    }
    format!("{value}-{n}")
}

/// The values at a path of the spec format (`email`, `client_users[].email`).
pub fn values_at<'a>(value: &'a Value, path: &str) -> Vec<&'a Value> {
    let path = FieldPath::parse(path).unwrap_or_else(|e| panic!("{e}"));
    path.values(value).into_iter().map(|(_, v)| v).collect()
}
