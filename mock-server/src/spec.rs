//! Spec files: OpenAPI 3.1 documents whose `x-mock` extensions carry everything vendor-specific.
//!
//! The format is documented in `specs/README.md`. Loading resolves local `$ref`s, compiles the
//! request schemas, and checks that every template the engine may need is present, so that a
//! broken spec fails at start with its file, line and problem rather than at request time.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use http::Method;
use serde::Deserialize;
use serde_json::Value;

/// A spec file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct SpecError {
    /// The file (its name for embedded specs, its path otherwise).
    pub file: String,
    /// The 1-based line, where it can be told.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// The loaded vendors, in file-name order.
#[derive(Debug, Clone)]
pub struct Specs {
    /// The vendors served: one revision each (the default unless chosen otherwise).
    pub(crate) vendors: Vec<Arc<Vendor>>,
    /// Every revision of every vendor, the default ones included.
    pub(crate) all: Vec<Arc<Vendor>>,
}

/// The revision name of a vendor's captured documentation pages.
pub const DEFAULT_REVISION: &str = "default";

/// One vendor: its OpenAPI document and what the engine needs from it.
#[derive(Debug)]
pub(crate) struct Vendor {
    pub(crate) name: String,
    /// `default` for the captured pages, else the revision's date (`2026-07`).
    pub(crate) revision: String,
    pub(crate) title: String,
    pub(crate) doc: Value,
    pub(crate) auth: Auth,
    pub(crate) errors: BTreeMap<String, Template>,
    pub(crate) operations: Vec<Operation>,
    pub(crate) tenants: Option<Tenants>,
    pub(crate) fidelity: Vec<Fidelity>,
    /// The vendor's documented rate limits, enforced under `--rate-limits`.
    pub(crate) rate_limits: Option<RateLimits>,
    /// Field names whose values are secrets (issue 13): every request-schema property marked
    /// `writeOnly: true` or `format: password`, and the keys of the credential parts that are
    /// not tenant ids. Masked in the journal and state listings unless `--journal-secrets`.
    /// Spec-model addition for the typed model (issue 10): derived, no new `x-mock` field.
    pub(crate) secrets: Vec<String>,
}

/// A vendor's rate limits (`x-mock.rate_limits`): fixed windows counted per credential value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimits {
    /// The credential part whose value is counted (one budget per API key, say).
    pub(crate) credential: String,
    /// Every window applies; the first one is reported in the headers of answers under the limit.
    pub(crate) windows: Vec<RateWindow>,
    /// Headers added to every answer under the limit, with `{{limit}}`, `{{remaining}}` and
    /// `{{reset}}` (Unix seconds) of the first window. A `429` uses the `rate_limited` template.
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
}

/// At most `limit` requests per `seconds`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateWindow {
    pub(crate) seconds: u64,
    pub(crate) limit: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Auth {
    pub(crate) credentials: Vec<CredentialPart>,
    #[serde(default)]
    pub(crate) reject_prefixes: Vec<String>,
}

/// Where one part of a credential is carried.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CredentialPart {
    pub(crate) name: String,
    #[serde(rename = "in")]
    pub(crate) location: CredentialLocation,
    /// The query parameter or header name.
    pub(crate) key: String,
    /// The header name must be sent in exactly this case (HTTP/1.1 only).
    #[serde(default)]
    pub(crate) case_sensitive: bool,
    /// The value must be one of the tenants of the account's primary credential.
    #[serde(default)]
    pub(crate) tenant: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CredentialLocation {
    Query,
    Header,
    Bearer,
}

/// An answer: status, extra headers and a JSON body with `{{…}}` placeholders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Template {
    pub(crate) status: u16,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Value,
    /// A JSON pointer into the document to the body's schema.
    #[serde(default)]
    pub(crate) schema: Option<String>,
    /// `body`, compiled on first use.
    #[serde(skip)]
    compiled: std::sync::OnceLock<crate::template::Compiled>,
}

impl Template {
    /// The body, compiled for rendering (once).
    pub(crate) fn compiled(&self) -> &crate::template::Compiled {
        self.compiled.get_or_init(|| crate::template::Compiled::new(&self.body))
    }
}

#[derive(Debug)]
pub(crate) struct Operation {
    pub(crate) id: String,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) action: Action,
    pub(crate) bulk: bool,
    pub(crate) collection: String,
    pub(crate) ids: Vec<IdRule>,
    pub(crate) unique: Vec<UniqueRule>,
    pub(crate) success: Template,
    /// Indexes into `Auth::credentials` that this operation requires.
    pub(crate) auth: Vec<usize>,
    pub(crate) request_schema: Option<Value>,
    /// The request schema's `default`s, where they are (empty when it has none).
    pub(crate) defaults: Defaults,
    pub(crate) validator: Option<jsonschema::Validator>,
    /// Remove fields the request schema does not name before storing.
    pub(crate) strip_unknown: bool,
    pub(crate) update_by: Option<UpdateBy>,
}

/// Where a schema's `default`s are: only the properties that have one, or under which one is,
/// so that a body is walked only where a default can apply (usually nowhere).
#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
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

    pub(crate) fn is_empty(&self) -> bool {
        self.properties.is_empty() && self.items.is_none()
    }

    /// Fills in the defaults of absent properties, recursing into objects and arrays.
    pub(crate) fn apply(&self, value: &mut Value) {
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

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    Create,
    ListTenants,
}

/// Where a generated value goes in a record (`a.b`, `items[].id`) and how it is made.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IdRule {
    pub(crate) path: String,
    #[serde(flatten)]
    pub(crate) generator: IdGenerator,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum IdGenerator {
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

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Alphabet {
    Alnum,
    Hex,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UniqueRule {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) scope: String,
    #[serde(default)]
    pub(crate) normalize: Vec<Normalize>,
    /// The error template answered on a clash.
    pub(crate) error: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Normalize {
    Trim,
    Lowercase,
}

/// Objects every account owns from the start (AgencyHandy's companies, say).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tenants {
    /// The credential part whose value owns the tenants.
    pub(crate) credential: String,
    pub(crate) count: usize,
    pub(crate) id: IdRule,
    #[serde(default)]
    pub(crate) fields: serde_json::Map<String, Value>,
}

/// One row of the fidelity table.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fidelity {
    pub(crate) behaviour: String,
    pub(crate) status: FidelityStatus,
    pub(crate) why: String,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FidelityStatus {
    Documented,
    Assumed,
}

/// Error templates that injected faults answer with (`status`, `rate_limited`); every spec must
/// define them too.
pub(crate) const FAULT_ERRORS: [&str; 2] = ["server_error", "rate_limited"];

/// Error templates the engine itself answers with; every spec must define them.
pub(crate) const ENGINE_ERRORS: [&str; 7] =
    ["unauthorized", "malformed", "invalid", "not_found", "method_not_allowed", "too_large", "timeout"];

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

/// Paths under this prefix belong to the admin API, never to a vendor.
pub(crate) const ADMIN_PREFIX: &str = "/__admin";

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
    /// Where the success answer carries the created record's id (`data.id`,
    /// `createdMembers[]._id`), for clients and the conformance suite; absent: no id.
    #[serde(default)]
    #[allow(dead_code)]
    reported_id: Option<String>,
    #[serde(default)]
    strip_unknown: bool,
    #[serde(default)]
    update_by: Option<UpdateBy>,
}

/// A body carrying `field` updates the existing record with that value instead of creating one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBy {
    pub(crate) field: String,
    /// Whose records can be updated: `platform` or `credential:<part>` (the record's creator).
    pub(crate) scope: String,
    /// The error template when no such record exists.
    pub(crate) not_found: String,
    pub(crate) success: Template,
}

include!(concat!(env!("OUT_DIR"), "/embedded_specs.rs"));

impl Specs {
    /// The specs compiled into the binary (the repository's `specs/` folder).
    ///
    /// Parsed once per process and then cloned (vendors are immutable and shared), so that
    /// starting many mocks, one per test, costs microseconds instead of milliseconds.
    pub fn embedded() -> Result<Self, SpecError> {
        static PARSED: std::sync::OnceLock<Specs> = std::sync::OnceLock::new();
        if let Some(specs) = PARSED.get() {
            return Ok(specs.clone());
        }
        let specs = Self::from_sources(EMBEDDED.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())))?;
        Ok(PARSED.get_or_init(|| specs).clone())
    }

    /// Every `*.yaml` / `*.yml` file of a folder.
    pub fn from_dir(dir: &Path) -> Result<Self, SpecError> {
        let io = |e: std::io::Error| SpecError { file: dir.display().to_string(), line: None, message: e.to_string() };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let is_yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
            if is_yaml {
                let text = std::fs::read_to_string(&path).map_err(|e| SpecError {
                    file: path.display().to_string(),
                    line: None,
                    message: e.to_string(),
                })?;
                files.push((path.display().to_string(), text));
            }
        }
        files.sort();
        Self::from_sources(files)
    }

    /// Parses named YAML texts.
    pub fn from_sources(files: impl IntoIterator<Item = (String, String)>) -> Result<Self, SpecError> {
        let mut all: Vec<Arc<Vendor>> = Vec::new();
        for (file, text) in files {
            let vendor = parse_vendor(&file, &text)?;
            if all.iter().any(|v| v.name == vendor.name && v.revision == vendor.revision) {
                return Err(SpecError {
                    file,
                    line: None,
                    message: format!("vendor `{}` revision `{}` is defined twice", vendor.name, vendor.revision),
                });
            }
            all.push(Arc::new(vendor));
        }
        if all.is_empty() {
            return Err(SpecError { file: "(specs)".into(), line: None, message: "no spec files found".into() });
        }
        let vendors: Vec<Arc<Vendor>> = all.iter().filter(|v| v.revision == DEFAULT_REVISION).cloned().collect();
        if let Some(orphan) = all.iter().find(|r| !vendors.iter().any(|v| v.name == r.name)) {
            return Err(SpecError {
                file: "(specs)".into(),
                line: None,
                message: format!("vendor `{}` has revision `{}` but no default revision", orphan.name, orphan.revision),
            });
        }
        Ok(Self { vendors, all })
    }

    /// The same specs serving the chosen revisions (`[("agencyhandy", "2026-07")]`); `default`
    /// names the captured pages.
    pub fn with_revisions(&self, picks: &[(String, String)]) -> Result<Self, SpecError> {
        let mut vendors = self.vendors.clone();
        for (name, revision) in picks {
            let pick = self.revision(name, revision)?;
            for slot in vendors.iter_mut().filter(|v| v.name == *name) {
                *slot = Arc::clone(pick);
            }
        }
        Ok(Self { vendors, all: self.all.clone() })
    }

    /// A vendor's revision names, `default` first, then by date.
    pub fn revisions(&self, vendor: &str) -> Vec<String> {
        let mut names: Vec<String> = self.all.iter().filter(|v| v.name == vendor).map(|v| v.revision.clone()).collect();
        names.sort_by_key(|r| (r != DEFAULT_REVISION, r.clone()));
        names
    }

    /// The revision served for a vendor.
    pub fn served_revision(&self, vendor: &str) -> Option<&str> {
        self.vendor(vendor).map(|v| v.revision.as_str())
    }

    /// A revision's OpenAPI document with local `$ref`s resolved.
    pub fn revision_document(&self, vendor: &str, revision: &str) -> Result<&Value, SpecError> {
        self.revision(vendor, revision).map(|v| &v.doc)
    }

    /// What changed from revision `from` to `to`, rendered for a client author (breaking changes
    /// first), and whether anything breaks.
    pub fn diff(&self, vendor: &str, from: &str, to: &str) -> Result<(String, bool), SpecError> {
        let (a, b) = (self.revision(vendor, from)?, self.revision(vendor, to)?);
        let changes = crate::diff::diff(&a.doc, &b.doc);
        let breaking = changes.iter().any(|c| c.breaking);
        Ok((crate::diff::render(vendor, &a.revision, &b.revision, &changes), breaking))
    }

    fn revision(&self, vendor: &str, revision: &str) -> Result<&Arc<Vendor>, SpecError> {
        let unknown = |message: String| SpecError { file: "(specs)".into(), line: None, message };
        if !self.all.iter().any(|v| v.name == vendor) {
            return Err(unknown(format!("unknown vendor `{vendor}` (known: {})", self.vendor_names().join(", "))));
        }
        self.all.iter().find(|v| v.name == vendor && v.revision == revision).ok_or_else(|| {
            unknown(format!(
                "vendor `{vendor}` has no revision `{revision}` (known: {})",
                self.revisions(vendor).join(", ")
            ))
        })
    }

    /// The vendors' names, in order.
    pub fn vendor_names(&self) -> Vec<String> {
        self.vendors.iter().map(|v| v.name.clone()).collect()
    }

    /// A vendor's OpenAPI document with local `$ref`s resolved.
    pub fn document(&self, vendor: &str) -> Option<&Value> {
        self.vendor(vendor).map(|v| &v.doc)
    }

    /// The fidelity table of every vendor as Markdown (the README's table).
    pub fn fidelity_markdown(&self) -> String {
        let mut out = String::from("| Vendor | Behaviour | Documented / assumed | Source or reason |\n");
        out.push_str("| --- | --- | --- | --- |\n");
        let mut ordered: Vec<&Arc<Vendor>> = self.all.iter().collect();
        ordered.sort_by_key(|v| (v.name.clone(), v.revision != DEFAULT_REVISION, v.revision.clone()));
        for v in ordered {
            let title = match v.revision.as_str() {
                DEFAULT_REVISION => v.title.clone(),
                revision => format!("{} (revision {revision})", v.title),
            };
            for f in &v.fidelity {
                let status = match f.status {
                    FidelityStatus::Documented => "documented",
                    FidelityStatus::Assumed => "**assumed**",
                };
                let cell = |s: &str| s.replace('|', "\\|");
                out.push_str(&format!("| {title} | {} | {} | {} |\n", cell(&f.behaviour), status, cell(&f.why)));
            }
        }
        out
    }

    pub(crate) fn vendor(&self, name: &str) -> Option<&Arc<Vendor>> {
        self.vendors.iter().find(|v| v.name == name)
    }

    /// Every vendor's secret field names (all revisions), for masking whatever request carries
    /// them: a client may send a field where another vendor expects it (issue 13).
    pub(crate) fn secret_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.all.iter().flat_map(|v| v.secrets.iter().map(String::as_str)).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

fn parse_vendor(file: &str, text: &str) -> Result<Vendor, SpecError> {
    let err = |line: Option<usize>, message: String| SpecError { file: file.to_owned(), line, message };
    let mut yaml: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| err(e.location().map(|l| l.line()), e.to_string()))?;
    yaml.apply_merge().map_err(|e| err(None, e.to_string()))?;
    let raw: Value = serde_json::to_value(&yaml).map_err(|e| err(None, e.to_string()))?;
    let version = raw.get("openapi").and_then(Value::as_str).unwrap_or_default();
    if !version.starts_with("3.1") {
        return Err(err(line_of(text, "openapi"), format!("`openapi` must be 3.1.x, found `{version}`")));
    }
    let doc = resolve_refs(&raw, &raw, 0).map_err(|m| err(None, m))?;
    let ext: VendorExt = typed(&doc, "x-mock", file, text)?;

    let mut errors = ext.errors;
    for name in ENGINE_ERRORS.iter().chain(&FAULT_ERRORS) {
        if !errors.contains_key(*name) {
            return Err(err(line_of(text, "errors:"), format!("x-mock.errors.{name} is missing")));
        }
    }
    if ext.auth.credentials.is_empty() {
        return Err(err(line_of(text, "credentials"), "x-mock.auth.credentials is empty".into()));
    }
    if ext.auth.credentials.iter().any(|c| c.tenant) {
        if ext.tenants.is_none() {
            return Err(err(None, "a credential part has `tenant: true` but x-mock.tenants is missing".into()));
        }
        if !errors.contains_key("forbidden") {
            return Err(err(None, "x-mock.errors.forbidden is missing (needed by `tenant: true`)".into()));
        }
    }
    for (name, t) in &mut errors {
        check_template_schema(&doc, t, &format!("x-mock.errors.{name}")).map_err(|m| err(None, m))?;
    }
    if let Some(limits) = &ext.rate_limits {
        let at = line_of(text, "rate_limits");
        if !ext.auth.credentials.iter().any(|c| c.name == limits.credential) {
            let message = format!("x-mock.rate_limits.credential names unknown credential `{}`", limits.credential);
            return Err(err(at, message));
        }
        if limits.windows.is_empty() || limits.windows.iter().any(|w| w.seconds == 0 || w.limit == 0) {
            return Err(err(at, "x-mock.rate_limits.windows needs windows with seconds > 0 and limit > 0".into()));
        }
        if !errors.contains_key("rate_limited") {
            return Err(err(at, "x-mock.errors.rate_limited is missing (needed by x-mock.rate_limits)".into()));
        }
    }

    let mut operations = Vec::new();
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if op.get("x-mock").is_none() {
                continue;
            }
            let where_ = format!("paths.{path}.{method}");
            if path == ADMIN_PREFIX || path.starts_with(&format!("{ADMIN_PREFIX}/")) {
                return Err(err(
                    line_of(text, path),
                    format!("{where_}: paths under {ADMIN_PREFIX} are the admin API's"),
                ));
            }
            let ext_op: OperationExt = typed(op, "x-mock", file, text)?;
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                .map_err(|e| err(None, format!("{where_}: {e}")))?;
            let auth =
                match &ext_op.auth {
                    None => (0..ext.auth.credentials.len()).collect(),
                    Some(names) => names
                        .iter()
                        .map(|n| {
                            ext.auth.credentials.iter().position(|c| &c.name == n).ok_or_else(|| {
                                err(None, format!("{where_}.x-mock.auth names unknown credential `{n}`"))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                };
            for rule in &ext_op.unique {
                if !errors.contains_key(&rule.error) {
                    return Err(err(
                        line_of(text, &rule.error),
                        format!(
                            "{where_}: unique `{}` names error template `{}`, which is not in x-mock.errors",
                            rule.name, rule.error
                        ),
                    ));
                }
                let scope_ok = rule.scope == "platform"
                    || rule
                        .scope
                        .strip_prefix("credential:")
                        .is_some_and(|n| ext.auth.credentials.iter().any(|c| c.name == n));
                if !scope_ok {
                    return Err(err(
                        line_of(text, &rule.scope),
                        format!("{where_}: unique scope `{}` must be `platform` or `credential:<part>`", rule.scope),
                    ));
                }
            }
            if let Some(update) = &ext_op.update_by {
                if !errors.contains_key(&update.not_found) {
                    let message =
                        format!("{where_}: update_by.not_found names `{}`, not in x-mock.errors", update.not_found);
                    return Err(err(line_of(text, "update_by"), message));
                }
                let scope_ok = update.scope == "platform"
                    || update
                        .scope
                        .strip_prefix("credential:")
                        .is_some_and(|n| ext.auth.credentials.iter().any(|c| c.name == n));
                if !scope_ok {
                    let message = format!(
                        "{where_}: update_by.scope `{}` must be `platform` or `credential:<part>`",
                        update.scope
                    );
                    return Err(err(line_of(text, "update_by"), message));
                }
            }
            let request_schema = op.pointer("/requestBody/content/application~1json/schema").cloned();
            let validator = match &request_schema {
                Some(schema) => Some(compile(schema).map_err(|m| err(None, format!("{where_}: request schema: {m}")))?),
                None => None,
            };
            let mut success = ext_op.success;
            if success.schema.is_none() {
                success.schema = Some(format!(
                    "#/paths/{}/{}/responses/{}/content/application~1json/schema",
                    path.replace('~', "~0").replace('/', "~1"),
                    method.as_str().to_ascii_lowercase(),
                    success.status
                ));
            }
            check_template_schema(&doc, &success, &format!("{where_}.x-mock.success")).map_err(|m| err(None, m))?;
            operations.push(Operation {
                id: op.get("operationId").and_then(Value::as_str).unwrap_or(&where_).to_owned(),
                method,
                path: path.clone(),
                action: ext_op.action,
                bulk: ext_op.bulk,
                collection: ext_op.collection,
                ids: ext_op.ids,
                unique: ext_op.unique,
                success,
                auth,
                defaults: request_schema.as_ref().map(Defaults::of).unwrap_or_default(),
                request_schema,
                validator,
                strip_unknown: ext_op.strip_unknown,
                update_by: ext_op.update_by,
            });
        }
    }
    if operations.is_empty() {
        return Err(err(line_of(text, "paths"), "no operation carries an x-mock extension".into()));
    }
    let secrets = secret_names(&ext.auth, &operations);
    Ok(Vendor {
        secrets,
        name: ext.vendor,
        revision: ext.revision.unwrap_or_else(|| DEFAULT_REVISION.to_owned()),
        title: ext.title,
        doc,
        auth: ext.auth,
        errors,
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

/// Deserializes `parent[key]`, naming the failing path and its line on error.
fn typed<T: serde::de::DeserializeOwned>(parent: &Value, key: &str, file: &str, text: &str) -> Result<T, SpecError> {
    let value = parent.get(key).cloned().unwrap_or(Value::Null);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let last = path.rsplit('.').next().unwrap_or_default().to_owned();
        SpecError {
            file: file.to_owned(),
            line: line_of(text, &last),
            message: format!("{key}.{path}: {}", e.into_inner()),
        }
    })
}

/// The first line where `needle` appears as a key or value: a good-enough pointer for humans.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() || needle == "?" {
        return None;
    }
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

fn check_template_schema(doc: &Value, t: &Template, where_: &str) -> Result<(), String> {
    if let Some(pointer) = &t.schema {
        let ptr = pointer.strip_prefix('#').unwrap_or(pointer);
        if doc.pointer(ptr).is_none() {
            return Err(format!("{where_}.schema `{pointer}` does not point into the document"));
        }
    }
    Ok(())
}

/// Compiles a JSON Schema (OpenAPI 3.1 = draft 2020-12) with format checks on.
pub(crate) fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
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
        assert_eq!(defaults.properties.iter().map(|(n, ..)| n.as_str()).collect::<Vec<_>>(), ["plan", "users", "meta"]);
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
}
