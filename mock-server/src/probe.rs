//! `vendor-mock probe`: does the mock still answer as the live vendor does?
//!
//! A plan derived from the vendor's spec ([`plan`]: the documented example create with new
//! unique values, the same again, an invented bad credential, a missing required field,
//! malformed JSON, …) is sent to the vendor's base URL with the user's own credentials and, the
//! same requests, to an in-process mock serving the same spec. Each step's answers are compared
//! by status and body shape ([`compare`]), and each fidelity row of the spec is reported
//! `confirmed`, `differs` or `not probed` from the steps it names in `probe:`.
//!
//! The plan creates records at the vendor: [`run`] refuses without `yes`, saying how many it can
//! create, and never sends more than the plan. Reports hold statuses and shapes, never bodies,
//! and every credential value given is masked wherever it would appear.

mod compare;
mod http;
mod plan;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::auth::{CredentialList, mask};
use crate::mock::{Config, Mock};
use crate::spec::{FidelityStatus, SpecError, Specs, Vendor};
use compare::Answered;
use plan::Step;

/// What to probe, and where.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The vendor (`smartlead`).
    pub vendor: String,
    /// The vendor's base URL (`https://server.smartlead.ai`); the spec's paths are appended.
    pub base_url: String,
    /// The user's credential at the vendor, by credential part name (`api_key`, `company_id`).
    pub credentials: Vec<(String, String)>,
    /// The contract revision to compare with (`default`).
    pub revision: String,
    /// Send the plan (it creates records at the vendor).
    pub yes: bool,
    /// How long to wait for each answer.
    pub timeout: Duration,
}

/// Why a probe did not run.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A wrong vendor, credential name or URL.
    #[error("{0}")]
    Usage(String),
    /// `yes` was not given; says what the plan would send and create.
    #[error("{0}")]
    NotConfirmed(String),
    #[error("the in-process mock could not start: {0}")]
    Io(#[from] std::io::Error),
}

/// One step of the plan, as sent to both.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: String,
    pub method: String,
    pub path: String,
    /// Records the step can create at the vendor, at most.
    pub records: usize,
    pub vendor_status: Option<u16>,
    pub mock_status: Option<u16>,
    /// `same` or `differs`.
    pub verdict: &'static str,
    /// Status and shape differences (the vendor's answer against the mock's).
    pub differences: Vec<String>,
}

/// One fidelity row of the spec, checked.
#[derive(Debug, Clone, Serialize)]
pub struct RowReport {
    pub behaviour: String,
    /// `documented` or `assumed`.
    pub status: &'static str,
    /// `confirmed`, `differs` or `not probed`.
    pub verdict: &'static str,
    /// The steps that check it.
    pub steps: Vec<String>,
    /// Why it was not probed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `step: difference`, for each difference of each of its steps.
    pub differences: Vec<String>,
}

/// What a probe found.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub vendor: String,
    pub revision: String,
    pub base_url: String,
    pub steps: Vec<StepReport>,
    pub rows: Vec<RowReport>,
    /// The credential values given, masked in every rendering.
    #[serde(skip)]
    secrets: Vec<String>,
}

impl ProbeReport {
    /// Whether any step's answers differ (the command then exits 1).
    pub fn differs(&self) -> bool {
        self.steps.iter().any(|s| s.verdict == "differs")
    }

    /// The report for a terminal.
    pub fn render(&self) -> String {
        let mut out = format!(
            "vendor-mock probe: {} (revision {}) at {}\n{} request(s) sent to the vendor, the same to an in-process mock\n\n",
            self.vendor,
            self.revision,
            self.base_url,
            self.steps.len()
        );
        out.push_str(&format!("{:<22} {:>6} {:>6}  verdict\n", "step", "vendor", "mock"));
        let status = |s: Option<u16>| s.map_or_else(|| "-".to_owned(), |s| s.to_string());
        for s in &self.steps {
            let line =
                format!("{:<22} {:>6} {:>6}  {}\n", s.step, status(s.vendor_status), status(s.mock_status), s.verdict);
            out.push_str(&line);
            for d in &s.differences {
                out.push_str(&format!("{:<38}{d}\n", ""));
            }
        }
        out.push_str("\nfidelity rows\n");
        for r in &self.rows {
            let steps = if r.steps.is_empty() { String::new() } else { format!(" ({})", r.steps.join(", ")) };
            out.push_str(&format!("{:<11} [{}] {}{steps}\n", r.verdict, r.status, r.behaviour));
            if let Some(reason) = &r.reason {
                out.push_str(&format!("{:<12}{reason}\n", ""));
            }
            for d in &r.differences {
                out.push_str(&format!("{:<12}{d}\n", ""));
            }
        }
        let count = |v: &str| self.rows.iter().filter(|r| r.verdict == v).count();
        let differing = self.steps.iter().filter(|s| s.verdict == "differs").count();
        out.push_str(&format!(
            "\n{} confirmed, {} differ, {} not probed; {differing} of {} step(s) differ\n",
            count("confirmed"),
            count("differs"),
            count("not probed"),
            self.steps.len()
        ));
        self.masked(&out)
    }

    /// The report as JSON (`--report json:FILE`).
    pub fn to_json(&self) -> String {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        self.masked(&text)
    }

    fn masked(&self, text: &str) -> String {
        masked(text, &self.secrets)
    }
}

/// `text` with every secret replaced by its masked form.
fn masked(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), &mask(secret));
        let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        if encoded != *secret {
            out = out.replace(&encoded, &mask(secret));
        }
    }
    out
}

/// Probes `options.vendor` with `specs`' description of it. Without `options.yes`, answers
/// [`ProbeError::NotConfirmed`] saying what the plan would send and create.
pub async fn run(specs: &Specs, options: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    let chosen = specs.with_revisions(&[(options.vendor.clone(), options.revision.clone())])?;
    let vendor = chosen.vendor(&options.vendor).map(Arc::clone).ok_or_else(|| {
        ProbeError::Usage(format!("unknown vendor `{}` (known: {})", options.vendor, specs.vendor_names().join(", ")))
    })?;
    let base = options.base_url.trim_end_matches('/').to_owned();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(ProbeError::Usage(format!("--base-url must start with http:// or https:// (got `{base}`)")));
    }
    let steps = plan::plan(&vendor);
    let values = credential_values(&vendor, &steps, &options.credentials)?;
    let secrets: Vec<String> = options.credentials.iter().map(|(_, v)| v.clone()).collect();
    let shown_base = masked(&base, &secrets);
    if !options.yes {
        let records: usize = steps.iter().map(|s| s.records).sum();
        let creating: Vec<&str> = steps.iter().filter(|s| s.records > 0).map(|s| s.name.as_str()).collect();
        return Err(ProbeError::NotConfirmed(format!(
            "this probe sends {} request(s) to {shown_base} and can create up to {records} record(s) there \
             ({}); nothing was sent. Pass --yes (or VENDOR_MOCK_PROBE_YES=true) to send them.",
            steps.len(),
            creating.join(", ")
        )));
    }

    let config = Config {
        credentials: Some(allow_list(&vendor, &values)),
        revisions: vec![(options.vendor.clone(), options.revision.clone())],
        ..Config::default()
    };
    let mock = Mock::new(specs.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mock_base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::run(listener, mock, async {
        let _ = stopped.await;
    }));

    let vendor_target = http::Target::parse(&base).map_err(ProbeError::Usage)?;
    let mock_target = http::Target::parse(&mock_base).map_err(ProbeError::Usage)?;
    let diagnostics = vendor.errors.get("not_found").map(|t| compare::diagnostic_paths(&t.body)).unwrap_or_default();
    let mut reports = Vec::new();
    for step in &steps {
        let at_vendor = send(&vendor_target, &vendor, step, &values, &secrets, options.timeout).await;
        let at_mock = send(&mock_target, &vendor, step, &values, &secrets, options.timeout).await;
        let differences = compare::differences(&at_vendor, &at_mock, &diagnostics);
        let status = |a: &Answered| match a {
            Answered::Http { status, .. } => Some(*status),
            Answered::Failed(_) => None,
        };
        reports.push(StepReport {
            step: step.name.clone(),
            method: step.method.to_string(),
            path: step.path.clone(),
            records: step.records,
            vendor_status: status(&at_vendor),
            mock_status: status(&at_mock),
            verdict: if differences.is_empty() { "same" } else { "differs" },
            differences,
        });
    }
    let _ = stop.send(());
    let _ = server.await;

    let rows = rows(&vendor, &reports);
    Ok(ProbeReport {
        vendor: vendor.name.clone(),
        revision: vendor.revision.clone(),
        base_url: shown_base,
        steps: reports,
        rows,
        secrets,
    })
}

/// The value of each credential part the plan needs, by part index; refuses unknown names and
/// missing parts.
fn credential_values(
    vendor: &Vendor,
    steps: &[Step],
    given: &[(String, String)],
) -> Result<Vec<Option<String>>, ProbeError> {
    let names: Vec<&str> = vendor.auth.credentials.iter().map(|p| p.name.as_str()).collect();
    if let Some((unknown, _)) = given.iter().find(|(n, _)| !names.contains(&n.as_str())) {
        return Err(ProbeError::Usage(format!(
            "{} has no credential part `{unknown}` (its parts: {})",
            vendor.name,
            names.join(", ")
        )));
    }
    let mut values: Vec<Option<String>> =
        names.iter().map(|n| given.iter().find(|(g, _)| g == n).map(|(_, v)| v.clone())).collect();
    values.iter_mut().for_each(|v| *v = v.take().filter(|v| !v.is_empty()));
    let missing: Vec<String> = plan::needed_parts(vendor, steps)
        .into_iter()
        .filter(|&i| values[i].is_none())
        .map(|i| format!("--credential {}=…", names[i]))
        .collect();
    if !missing.is_empty() {
        return Err(ProbeError::Usage(format!("{} needs {}", vendor.name, missing.join(" "))));
    }
    Ok(values)
}

/// The in-process mock accepts exactly the user's credential, and knows its tenants (a real
/// company id is not one the mock would derive).
fn allow_list(vendor: &Vendor, values: &[Option<String>]) -> CredentialList {
    let mut entry = std::collections::BTreeMap::new();
    let mut tenants = Vec::new();
    for (part, value) in vendor.auth.credentials.iter().zip(values) {
        let Some(value) = value else { continue };
        if part.tenant {
            tenants.push(serde_json::Value::String(value.clone()));
        } else {
            entry.insert(part.name.clone(), serde_json::Value::String(value.clone()));
        }
    }
    if !tenants.is_empty() {
        entry.insert("tenants".into(), serde_json::Value::Array(tenants));
    }
    CredentialList::new(std::collections::BTreeMap::from([(vendor.name.clone(), vec![entry])]))
}

/// Sends one step to `target` and keeps its status and JSON body.
async fn send(
    target: &http::Target,
    vendor: &Vendor,
    step: &Step,
    values: &[Option<String>],
    secrets: &[String],
    timeout: Duration,
) -> Answered {
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for (n, &i) in step.parts.iter().enumerate() {
        let part = &vendor.auth.credentials[i];
        let value = match (&step.bad_credential, n) {
            (Some(bad), 0) => bad.clone(),
            _ => values.get(i).cloned().flatten().unwrap_or_default(),
        };
        let (q, h) = plan::placed(part.location, &part.key, &value);
        query.extend(q);
        headers.extend(h);
    }
    let target_path = if query.is_empty() { step.path.clone() } else { format!("{}?{}", step.path, query.join("&")) };
    let sent = http::send(target, step.method.as_str(), &target_path, &headers, step.body.as_deref(), timeout).await;
    match sent {
        Ok((status, body)) => Answered::Http { status, body: serde_json::from_slice(&body).ok() },
        Err(e) => Answered::Failed(masked(&e, secrets)),
    }
}

/// Each fidelity row's verdict from the steps it names.
fn rows(vendor: &Vendor, steps: &[StepReport]) -> Vec<RowReport> {
    vendor
        .fidelity
        .iter()
        .map(|row| {
            let status = match row.status {
                FidelityStatus::Documented => "documented",
                FidelityStatus::Assumed => "assumed",
            };
            let ran: Vec<&StepReport> = row.probe.iter().filter_map(|name| steps.iter().find(|s| &s.step == name)).collect();
            let reason = if row.probe.is_empty() {
                Some("no request of the plan checks this row (values, limits, faults and time-outs are not sent to a vendor)".to_owned())
            } else if ran.is_empty() {
                Some(format!("its steps ({}) are not in this vendor's plan", row.probe.join(", ")))
            } else {
                None
            };
            let differences: Vec<String> =
                ran.iter().flat_map(|s| s.differences.iter().map(move |d| format!("{}: {d}", s.step))).collect();
            let verdict = match (&reason, differences.is_empty()) {
                (Some(_), _) => "not probed",
                (None, true) => "confirmed",
                (None, false) => "differs",
            };
            RowReport { behaviour: row.behaviour.clone(), status, verdict, steps: row.probe.clone(), reason, differences }
        })
        .collect()
}
