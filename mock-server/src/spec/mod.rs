//! The spec model: OpenAPI 3.1 documents whose `x-mock` extensions carry everything
//! vendor-specific, read once into typed, documented values.
//!
//! The format is documented in `specs/README.md`. Loading resolves local `$ref`s, compiles the
//! request schemas, and checks that every template the engine may need is present, so that a
//! broken spec fails at start with its file, line and problem rather than at request time.
//!
//! - [`Specs`]: the loaded vendors and their revisions (this file).
//! - [`model`]: the types ([`Vendor`], [`Operation`], [`CredentialPart`], [`UniqueRule`] with
//!   its typed [`Scope`], [`IdRule`], [`Template`], [`Fidelity`], …), each checking itself.
//! - [`FieldPath`]: the path language (`client_users[].email`), parsed once.
//! - `load`: one file's text into a [`Vendor`].
//! - [`Diff`]: what changed between two revisions of a vendor, for a client author.
//!
//! Nothing outside this module reads `x-mock` from raw YAML or JSON.

mod diff;
mod field_path;
mod load;
pub mod model;

use std::path::Path;
use std::sync::Arc;

pub use diff::{Change, Diff};
pub use model::*;

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

/// Error templates that injected faults answer with (`status`, `rate_limited`); every spec must
/// define them too.
pub(crate) const FAULT_ERRORS: [&str; 2] = ["server_error", "rate_limited"];

/// Error templates the engine itself answers with; every spec must define them.
pub(crate) const ENGINE_ERRORS: [&str; 7] =
    ["unauthorized", "malformed", "invalid", "not_found", "method_not_allowed", "too_large", "timeout"];

/// Paths under this prefix belong to the admin API, never to a vendor.
pub(crate) const ADMIN_PREFIX: &str = "/__admin";

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
            let vendor = load::parse_vendor(&file, &text)?;
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

    /// What changed from revision `from` to `to`, for a client author (breaking changes first;
    /// its `Display` is the terminal rendering).
    pub fn diff(&self, vendor: &str, from: &str, to: &str) -> Result<Diff, SpecError> {
        Ok(diff::diff(self.revision(vendor, from)?, self.revision(vendor, to)?))
    }

    /// A vendor at a revision (`default` names the captured pages), or why there is none.
    pub fn revision(&self, vendor: &str, revision: &str) -> Result<&Arc<Vendor>, SpecError> {
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

    /// The vendors served, one revision each, in file-name order.
    pub fn vendors(&self) -> &[Arc<Vendor>] {
        &self.vendors
    }

    /// Every revision of every vendor, the default ones included.
    pub fn all(&self) -> &[Arc<Vendor>] {
        &self.all
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

    /// Every vendor's secret field names (all revisions), for masking whatever request carries
    /// them: a client may send a field where another vendor expects it.
    pub(crate) fn secret_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.all.iter().flat_map(|v| v.secrets.iter().map(String::as_str)).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The vendor served under this name.
    pub fn vendor(&self, name: &str) -> Option<&Arc<Vendor>> {
        self.vendors.iter().find(|v| v.name == name)
    }
}
