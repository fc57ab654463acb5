//! The typed spec model: what one vendor's `x-mock` extensions say, read once and checked when
//! the spec loads. Everything here is read-only once loaded (vendors are shared as
//! `Arc<Vendor>`); the engine, the admin API, the conformance suite and the tests all read
//! vendor knowledge through these types and nowhere else.
//!
//! Each type checks its own consistency (`check`), with the vendor-wide context it needs.

use std::collections::BTreeMap;
use std::fmt;

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::field_path::{FieldPath, FieldPathError, Segment};

/// The revision name of a vendor's captured documentation pages.
pub const DEFAULT_REVISION: &str = "default";

/// `vendor` for the default revision, `vendor@revision` for another (how reports, snapshots
/// and the suite name a vendor at a revision).
pub fn target_name(vendor: &str, revision: &str) -> String {
    if revision == DEFAULT_REVISION { vendor.to_owned() } else { format!("{vendor}@{revision}") }
}

/// One vendor at one contract revision: its OpenAPI document and what the mock needs from it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Vendor {
    /// The vendor's name in routes, reports and the admin API (`smartlead`).
    pub name: String,
    /// `default` for the captured pages, else the revision's date (`2026-07`).
    pub revision: String,
    /// The vendor's display name (`SmartLead`).
    pub title: String,
    /// The OpenAPI document, local `$ref`s resolved.
    pub doc: Value,
    pub auth: Auth,
    /// Error templates by name (`unauthorized`, `duplicate_email`, …).
    pub errors: BTreeMap<String, Template>,
    /// Every operation with an `x-mock` extension, in document order.
    pub operations: Vec<Operation>,
    /// Objects every account owns from the start (AgencyHandy's companies).
    pub tenants: Option<Tenants>,
    /// The fidelity table's rows: what is documented and what is assumed.
    pub fidelity: Vec<Fidelity>,
    /// The vendor's documented rate limits, enforced under `--rate-limits`.
    pub rate_limits: Option<RateLimits>,
    /// Field names whose values are secrets: every request-schema property marked
    /// `writeOnly: true` or `format: password`, and the keys of the credential parts that are
    /// not tenant ids. Masked in the journal and state listings unless `--journal-secrets`.
    pub secrets: Vec<String>,
}

impl Vendor {
    /// The operation that creates records (`x-mock.action: create`), if there is one.
    pub fn create_operation(&self) -> Option<&Operation> {
        self.operations.iter().find(|o| o.action == Action::Create)
    }

    /// The operation that lists an account's tenants (`x-mock.action: list_tenants`).
    pub fn tenant_lookup(&self) -> Option<&Operation> {
        self.operations.iter().find(|o| o.action == Action::ListTenants)
    }

    /// The credential parts an operation needs, in spec order.
    pub fn parts_of<'a>(&'a self, op: &'a Operation) -> impl Iterator<Item = &'a CredentialPart> + 'a {
        op.auth.iter().map(|&i| &self.auth.credentials[i])
    }

    /// A credential part by name.
    pub fn credential(&self, name: &str) -> Option<&CredentialPart> {
        self.auth.credentials.iter().find(|c| c.name == name)
    }

    /// `vendor` for the default revision, `vendor@revision` for another.
    pub fn target(&self) -> String {
        target_name(&self.name, &self.revision)
    }
}

/// How a vendor authenticates (`x-mock.auth`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Auth {
    /// The parts of a credential: an API key, a tenant id…
    pub credentials: Vec<CredentialPart>,
    /// Credential values starting with one of these get the `unauthorized` answer (`expired`).
    #[serde(default)]
    pub reject_prefixes: Vec<String>,
    /// A credential starting with one of these is valid but lacks permission: answered with the
    /// `forbidden` template (VoiceAIWrapper's documented 403, emulated by prefix).
    #[serde(default)]
    pub forbidden_prefixes: Vec<String>,
}

impl Auth {
    pub(crate) fn check(&self, errors: &BTreeMap<String, Template>, tenants: Option<&Tenants>) -> Result<(), String> {
        if self.credentials.is_empty() {
            return Err("x-mock.auth.credentials is empty".into());
        }
        if !self.forbidden_prefixes.is_empty() && !errors.contains_key("forbidden") {
            return Err("x-mock.errors.forbidden is missing (needed by x-mock.auth.forbidden_prefixes)".into());
        }
        if self.credentials.iter().any(|c| c.tenant) {
            if tenants.is_none() {
                return Err("a credential part has `tenant: true` but x-mock.tenants is missing".into());
            }
            if !errors.contains_key("forbidden") {
                return Err("x-mock.errors.forbidden is missing (needed by `tenant: true`)".into());
            }
        }
        Ok(())
    }

    /// The index of the credential part `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.credentials.iter().position(|c| c.name == name)
    }
}

/// Where one part of a credential is carried.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CredentialPart {
    /// The name clients and reports use for it (`api_key`, `token`, `company_id`).
    pub name: String,
    #[serde(rename = "in")]
    pub location: CredentialLocation,
    /// The query parameter or header name.
    pub key: String,
    /// The header name must be sent in exactly this case (HTTP/1.1 only).
    #[serde(default)]
    pub case_sensitive: bool,
    /// The value must be one of the tenants of the account's primary credential.
    #[serde(default)]
    pub tenant: bool,
}

/// Where a credential part travels.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CredentialLocation {
    Query,
    Header,
    /// `Authorization: Bearer <value>` (the part's `key` is the header name).
    Bearer,
}

impl CredentialLocation {
    /// How messages name the place (`query parameter`, `header`, `Bearer token`).
    pub fn word(self) -> &'static str {
        match self {
            Self::Query => "query parameter",
            Self::Header => "header",
            Self::Bearer => "Bearer token",
        }
    }
}

/// An answer: status, extra headers and a JSON body with `{{…}}` placeholders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Template {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    /// A JSON pointer into the document to the body's schema.
    #[serde(default)]
    pub schema: Option<String>,
    /// `body`, compiled on first use.
    #[serde(skip)]
    compiled: std::sync::OnceLock<crate::template::Compiled>,
}

impl Template {
    /// The body, compiled for rendering (once).
    pub(crate) fn compiled(&self) -> &crate::template::Compiled {
        self.compiled.get_or_init(|| crate::template::Compiled::new(&self.body))
    }

    /// Checks that `schema` points into the document.
    pub(crate) fn check(&self, doc: &Value, where_: &str) -> Result<(), String> {
        if let Some(pointer) = &self.schema {
            let ptr = pointer.strip_prefix('#').unwrap_or(pointer);
            if doc.pointer(ptr).is_none() {
                return Err(format!("{where_}.schema `{pointer}` does not point into the document"));
            }
        }
        Ok(())
    }
}

/// One operation the mock serves (`paths.<path>.<method>.x-mock`).
#[derive(Debug)]
#[non_exhaustive]
pub struct Operation {
    /// The `operationId` (or `paths.<path>.<method>` without one).
    pub id: String,
    pub method: Method,
    pub path: String,
    pub action: Action,
    /// The body is an array of entries, answered per entry.
    pub bulk: bool,
    /// The state collection records go to.
    pub collection: String,
    /// Generated values (ids, timestamps) and where they go in a record.
    pub ids: Vec<IdRule>,
    pub unique: Vec<UniqueRule>,
    pub success: Template,
    /// Indexes into [`Auth::credentials`] that this operation requires.
    pub auth: Vec<usize>,
    /// The request body's JSON Schema (`application/json`).
    pub request_schema: Option<Value>,
    /// The documentation's example request body (the `captured` example, else the first).
    pub example: Option<Value>,
    /// Every named request example (`captured`, `older_page`, …), in document order.
    pub examples: Vec<(String, Value)>,
    /// Every named JSON example of the documented `responses` (SmartLead's Joi/Boom `400`
    /// `joi`, …), by status then in document order; `default` and `4XX`-style ranges are not
    /// statuses and are left out.
    pub response_examples: Vec<ResponseExample>,
    /// The request schema's `default`s, where they are (empty when it has none).
    pub defaults: Defaults,
    pub(crate) validator: Option<jsonschema::Validator>,
    /// Remove fields the request schema does not name before storing.
    pub strip_unknown: bool,
    pub update_by: Option<UpdateBy>,
    /// Where the success answer carries the created record's id (`data.id`,
    /// `createdMembers[]._id`); `None`: the answer carries no id.
    pub reported_id: Option<FieldPath>,
    /// For `list_tenants`: where the success answer lists the tenants (the `{{tenants}}`
    /// placeholder's place in the success body).
    pub tenants_at: Option<FieldPath>,
}

/// One named example of a documented response (`responses.<status>.content.application/json
/// .examples.<name>.value`): an answer the vendor's documentation shows for the operation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResponseExample {
    pub status: u16,
    /// The example's name in the document (`joi`, `captured`, `mock`).
    pub name: String,
    /// The example's `value` (`null` when it has none).
    pub body: Value,
}

/// Where a schema's `default`s are: only the properties that have one, or under which one is,
/// so that a body is walked only where a default can apply (usually nowhere).
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// `(property, its default, the defaults under it)`.
    properties: Vec<(String, Option<Value>, Defaults)>,
    items: Option<Box<Defaults>>,
}

impl Defaults {
    pub(crate) fn of(schema: &Value) -> Self {
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, prop)| (name.clone(), prop.get("default").cloned(), Self::of(prop)))
            .filter(|(_, default, under)| default.is_some() || !under.is_empty())
            .collect();
        let items = schema.get("items").map(Self::of).filter(|d| !d.is_empty()).map(Box::new);
        Self { properties, items }
    }

    /// Whether the schema has no default anywhere.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty() && self.items.is_none()
    }

    /// Fills in the defaults of absent properties, recursing into objects and arrays.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (name, default, under) in &self.properties {
                    match (map.get_mut(name), default) {
                        (Some(child), _) => under.apply(child),
                        (None, Some(default)) => {
                            map.insert(name.clone(), default.clone());
                        }
                        (None, None) => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(under) = &self.items {
                    items.iter_mut().for_each(|item| under.apply(item));
                }
            }
            _ => {}
        }
    }
}

/// What an operation does.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    ListTenants,
}

/// Where a generated value goes in a record (`a.b`, `items[].id`) and how it is made.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct IdRule {
    pub path: FieldPath,
    #[serde(flatten)]
    pub generator: IdGenerator,
}

/// How a generated value is made.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum IdGenerator {
    /// Integers counting up from `start`.
    Sequence { start: u64 },
    /// `prefix` + `length` characters drawn from `alphabet`.
    Random {
        #[serde(default)]
        prefix: String,
        length: usize,
        alphabet: Alphabet,
    },
    /// Relay-style global id: base64 of `Type:N`, N counting up from `start`.
    GlobalId {
        #[serde(rename = "type")]
        type_name: String,
        start: u64,
    },
    /// ISO-8601 UTC with milliseconds (`2025-12-01T10:00:00.000Z`).
    Timestamp,
}

/// The characters of a random id.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    Alnum,
    Hex,
}

/// Whose records a rule looks at: every account's, or those of one credential value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole platform: a value can exist once, whoever created it.
    Platform,
    /// One value of the named credential part (`credential:api_key`): per account.
    Credential(String),
}

impl Scope {
    /// The credential part the scope names, if any.
    pub fn credential(&self) -> Option<&str> {
        match self {
            Self::Platform => None,
            Self::Credential(part) => Some(part),
        }
    }

    fn check(&self, auth: &Auth, what: &str) -> Result<(), String> {
        match self {
            Self::Credential(part) if auth.position(part).is_none() => {
                Err(format!("{what} `{self}` must be `platform` or `credential:<part>` with a known part"))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Platform => f.write_str("platform"),
            Self::Credential(part) => write!(f, "credential:{part}"),
        }
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match (text.as_str(), text.strip_prefix("credential:")) {
            ("platform", _) => Ok(Self::Platform),
            (_, Some(part)) if !part.is_empty() => Ok(Self::Credential(part.to_owned())),
            _ => Err(serde::de::Error::custom(format!("scope `{text}` must be `platform` or `credential:<part>`"))),
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A value that can exist once in its scope (`x-mock.unique[]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UniqueRule {
    pub name: String,
    /// `email`, `client_users[].email` (relative to an entry for a bulk operation).
    pub path: FieldPath,
    pub scope: Scope,
    /// How values are compared (`trim`, `lowercase`), in order.
    #[serde(default)]
    pub normalize: Vec<Normalize>,
    /// The error template answered on a clash.
    pub error: String,
}

impl UniqueRule {
    pub(crate) fn check(&self, auth: &Auth, errors: &BTreeMap<String, Template>) -> Result<(), String> {
        if !errors.contains_key(&self.error) {
            return Err(format!(
                "unique `{}` names error template `{}`, which is not in x-mock.errors",
                self.name, self.error
            ));
        }
        self.scope.check(auth, "unique scope")
    }
}

/// A step of comparing unique values.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    Trim,
    Lowercase,
}

/// Objects every account owns from the start (AgencyHandy's companies, say).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Tenants {
    /// The credential part whose value owns the tenants.
    pub credential: String,
    pub count: usize,
    pub id: IdRule,
    #[serde(default)]
    pub fields: serde_json::Map<String, Value>,
}

/// One row of the fidelity table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Fidelity {
    pub behaviour: String,
    pub status: FidelityStatus,
    pub why: String,
    /// The `vendor-mock probe` steps whose answers check this row (`create`, `duplicate`,
    /// `example:<name>`, …; see [`PROBE_STEPS`]). Rows without any are reported "not probed".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probe: Vec<String>,
}

/// The steps of a `vendor-mock probe` plan that fidelity rows can name in `probe:` (besides
/// `example:<name>`, one per named request example of the create operation other than
/// `captured`). What each sends is described in `probe/plan.rs`.
pub const PROBE_STEPS: [&str; 9] = [
    "create",
    "duplicate",
    "bad_credential",
    "missing_field",
    "malformed_json",
    "unknown_field",
    "wrong_method",
    "unknown_path",
    "list_tenants",
];

impl Fidelity {
    /// Every `probe:` step names a built-in step or `example:<name>` of a named request example
    /// of the create operation; `Err` names the unknown step.
    pub(crate) fn check(&self, create: Option<&Operation>) -> Result<(), (String, String)> {
        for step in &self.probe {
            let example = step.strip_prefix("example:").filter(|n| *n != "captured");
            let known = PROBE_STEPS.contains(&step.as_str())
                || example.is_some_and(|n| create.is_some_and(|op| op.examples.iter().any(|(e, _)| e == n)));
            if !known {
                let message = format!(
                    "x-mock.fidelity: probe step `{step}` is unknown (known: {}, or example:<name> of a request example)",
                    PROBE_STEPS.join(", ")
                );
                return Err((step.clone(), message));
            }
        }
        Ok(())
    }
}

/// Whether a behaviour is what the vendor's pages say or the mock's best guess.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FidelityStatus {
    Documented,
    Assumed,
}

/// A vendor's rate limits (`x-mock.rate_limits`): fixed windows counted per credential value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimits {
    /// The credential part whose value is counted (one budget per API key, say).
    pub credential: String,
    /// Every window applies; the first one is reported in the headers of answers under the limit.
    pub windows: Vec<RateWindow>,
    /// Headers added to every answer under the limit, with `{{limit}}`, `{{remaining}}` and
    /// `{{reset}}` (Unix seconds) of the first window. A `429` uses the `rate_limited` template.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl RateLimits {
    pub(crate) fn check(&self, auth: &Auth, errors: &BTreeMap<String, Template>) -> Result<(), String> {
        if auth.position(&self.credential).is_none() {
            return Err(format!("x-mock.rate_limits.credential names unknown credential `{}`", self.credential));
        }
        if self.windows.is_empty() || self.windows.iter().any(|w| w.seconds == 0 || w.limit == 0) {
            return Err("x-mock.rate_limits.windows needs windows with seconds > 0 and limit > 0".into());
        }
        if !errors.contains_key("rate_limited") {
            return Err("x-mock.errors.rate_limited is missing (needed by x-mock.rate_limits)".into());
        }
        Ok(())
    }
}

/// At most `limit` requests per `seconds`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateWindow {
    pub seconds: u64,
    pub limit: u32,
}

/// A body carrying `field` updates the existing record with that value instead of creating one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UpdateBy {
    /// The top-level body property that names the record (`id`).
    pub field: String,
    /// Whose records can be updated: `platform` or `credential:<part>` (the record's creator).
    pub scope: Scope,
    /// The error template when no such record exists.
    pub not_found: String,
    pub success: Template,
}

impl UpdateBy {
    pub(crate) fn check(&self, auth: &Auth, errors: &BTreeMap<String, Template>) -> Result<(), String> {
        if !errors.contains_key(&self.not_found) {
            return Err(format!("update_by.not_found names `{}`, not in x-mock.errors", self.not_found));
        }
        self.scope.check(auth, "update_by.scope")
    }
}
