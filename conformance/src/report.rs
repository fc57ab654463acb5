//! What a run found: per target and property a status, the failures with the evidence to act
//! on them, and the NDJSON event log's events (their renderings are in `render.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vendor_mock::{Effect, Entry, Outcome};

use crate::http1;
use crate::model::{Case, Executed, Scenario};
use crate::properties as p;
use crate::protocol::Implementation;
use crate::redact::{mask_all, mask_target};
use crate::vendor::VendorModel;

/// A property's result for one vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// Held, but in some case the client did what the vendor tolerates and its docs do not
    /// promise (fails the run only under `--strict`).
    Warn,
    Fail,
    Skip,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
            Self::Skip => "skip",
        }
    }
}

/// Whether a reported finding fails the run (`fail`) or is a warning (`warn`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The vendor would refuse or misread it.
    #[default]
    Fail,
    /// The vendor tolerates it, its docs do not promise it.
    Warn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyResult {
    pub id: String,
    pub status: Status,
    /// Cases in which it held.
    pub passed: u32,
    /// Cases in which it held with a warning.
    #[serde(default)]
    pub warned: u32,
    /// Cases in which it failed (before shrinking).
    pub failed: u32,
    /// Why it was skipped.
    pub note: Option<String>,
}

/// One target's results: a vendor at one contract revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorResult {
    pub name: String,
    /// The contract revision checked (`default`, `2026-07`).
    #[serde(default = "default_revision")]
    pub revision: String,
    /// How reports name it: `agencyhandy`, or `agencyhandy@2026-07` in a run that includes
    /// another revision than the default (then every target is `vendor@revision`).
    #[serde(default)]
    pub label: String,
    /// Why the whole vendor was skipped.
    pub skipped: Option<String>,
    pub properties: Vec<PropertyResult>,
}

fn default_revision() -> String {
    vendor_mock::DEFAULT_REVISION.to_owned()
}

/// One failing property (or a warning), with the evidence to act on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// A failure, or a warning (reported as found, not shrunk nor saved for replay).
    #[serde(default)]
    pub severity: Severity,
    pub vendor: String,
    /// The contract revision it failed on.
    #[serde(default = "default_revision")]
    pub revision: String,
    pub property: String,
    pub title: String,
    pub scenario: Scenario,
    pub message: String,
    pub expected: String,
    pub actual: String,
    /// The minimal counterexample (shrunk when `shrink_steps` > 0).
    pub case: Case,
    pub shrink_steps: u32,
    /// The raw requests the client sent, header names verbatim, secrets masked.
    pub requests: Vec<String>,
    /// What the mock answered to each.
    pub answers: Vec<String>,
    /// The client's replies, as sent.
    pub reported: Vec<Value>,
    /// The request the contract expects, as curl (secrets masked).
    pub expected_curl: String,
    /// The harness's stderr, when it crashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_command: Option<String>,
}

/// One line of the NDJSON event log.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        seed: u64,
        cases: u32,
        client: String,
        mock: String,
        implementation: Implementation,
        vendors: Vec<String>,
    },
    VendorSkipped {
        vendor: String,
        revision: String,
        reason: String,
    },
    ScenarioStarted {
        vendor: String,
        revision: String,
        scenario: Scenario,
        /// The scenario's variant (`rule:mobile`), empty for a scenario of one variant.
        #[serde(skip_serializing_if = "String::is_empty")]
        variant: String,
        cases: u32,
    },
    Case {
        vendor: String,
        revision: String,
        scenario: Scenario,
        shrinking: bool,
        reported: Vec<String>,
        properties: BTreeMap<String, String>,
        duration_ms: u64,
    },
    HarnessRestarted {
        reason: String,
        stderr_tail: String,
    },
    Failure(Box<Failure>),
    /// The first warning of a property for a target.
    Warning(Box<Failure>),
    Property {
        vendor: String,
        revision: String,
        property: String,
        status: Status,
        passed: u32,
        warned: u32,
        failed: u32,
        note: Option<String>,
    },
    RunFinished {
        exit_code: u8,
        passed: usize,
        warned: usize,
        failed: usize,
        skipped: usize,
        cases: u64,
        duration_ms: u64,
        error: Option<String>,
    },
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub seed: u64,
    pub cases: u32,
    pub client: String,
    pub mock: String,
    pub implementation: Option<Implementation>,
    /// One per target (vendor × revision), vendor by vendor, revisions in the specs' order.
    pub vendors: Vec<VendorResult>,
    /// The run includes another revision than the default: targets are named
    /// `vendor@revision` and [`RunReport::revision_matrix`] is printed.
    pub revisions_named: bool,
    pub failures: Vec<Failure>,
    /// The first warning of each property for each target.
    pub warnings: Vec<Failure>,
    /// Warnings fail the run (`--strict`).
    pub strict: bool,
    /// A run-stopping error: (exit code, message).
    pub error: Option<(u8, String)>,
    pub cases_run: u64,
    pub duration_ms: u64,
    pub exit_code: u8,
}

impl RunReport {
    /// (passed, failed, skipped) over vendor × property; a property with warnings counts as
    /// passed here (see [`RunReport::warned`]).
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |s: Status| self.vendors.iter().flat_map(|v| &v.properties).filter(|p| p.status == s).count();
        (n(Status::Pass) + n(Status::Warn), n(Status::Fail), n(Status::Skip))
    }

    /// Vendor × property results with warnings (and no failure).
    pub fn warned(&self) -> usize {
        self.vendors.iter().flat_map(|v| &v.properties).filter(|p| p.status == Status::Warn).count()
    }

    /// 0 all passed (warnings allowed unless `--strict`), 1 a property failed (or warned under
    /// `--strict`), 2 usage or spec error, 3 the harness failed to start or broke the protocol,
    /// 4 nothing ran.
    pub fn compute_exit_code(&self) -> u8 {
        if let Some((code, _)) = &self.error {
            return *code;
        }
        let (passed, failed, _) = self.counts();
        if failed > 0 || !self.failures.is_empty() || (self.strict && self.warned() > 0) {
            1
        } else if passed == 0 {
            4
        } else {
            0
        }
    }

    pub(crate) fn finished_event(&self) -> Event {
        let (passed, failed, skipped) = self.counts();
        Event::RunFinished {
            exit_code: self.exit_code,
            passed: passed - self.warned(),
            warned: self.warned(),
            failed,
            skipped,
            cases: self.cases_run,
            duration_ms: self.duration_ms,
            error: self.error.as_ref().map(|(_, m)| m.clone()),
        }
    }
}

/// A journal entry as the raw request text (secrets masked).
fn raw_request(e: &Entry, creds: &BTreeMap<String, String>) -> String {
    let target = match &e.query {
        Some(q) => format!("{}?{q}", e.path),
        None => e.path.clone(),
    };
    let version = if e.version.is_empty() { "HTTP/1.1" } else { &e.version };
    let mut out = format!("{} {} {version}\n", e.method, mask_target(&target, creds));
    for (n, v) in &e.headers {
        let _ = writeln!(out, "{n}: {v}");
    }
    if !crate::checks::names_as_sent(e) {
        let _ = writeln!(out, "(header names not as sent: header_case = {})", e.header_case);
    }
    out.push('\n');
    out.push_str(&e.body);
    mask_all(&out, creds)
}

/// What the mock answered, for people.
fn answer_text(e: &Entry) -> String {
    let fault = match &e.outcome {
        Outcome::Fault { effect } => Some(effect),
        _ => None,
    };
    match fault {
        Some(Effect::Reset) => "no answer: the connection was reset (injected fault)".into(),
        Some(Effect::Empty) => "no answer: the connection was closed (injected fault)".into(),
        Some(Effect::Malformed) => format!("HTTP {} with a body that is not JSON (injected fault)", e.status),
        Some(Effect::Truncated) => format!("HTTP {}, body cut off halfway (injected fault): {}", e.status, e.response),
        _ => {
            let tag = if fault.is_some() { " (injected fault)" } else { "" };
            format!("HTTP {}{tag} {}   [mock: {}]", e.status, e.response, e.outcome.label())
        }
    }
}

/// Builds the report of a property's failure (or warning) from an executed case.
pub(crate) fn failure(
    model: &VendorModel,
    property: &'static str,
    executed: &Executed,
    shrink_steps: u32,
    base_url: &str,
) -> Failure {
    let creds = &executed.credentials;
    let (message, expected, actual) = match executed.verdicts.get(property).and_then(|v| v.evidence()) {
        Some((message, expected, actual)) => (message.to_owned(), expected.to_owned(), actual.to_owned()),
        None => ("(no longer fails)".into(), String::new(), String::new()),
    };
    let entries: Vec<&Entry> = executed.calls.iter().flat_map(|c| &c.entries).collect();
    let reported = executed
        .calls
        .iter()
        .map(|c| match &c.reply {
            Ok(v) => v.clone(),
            Err(why) => Value::String(format!("(no answer: {why})")),
        })
        .collect();
    let severity = match executed.verdicts.get(property) {
        Some(crate::verdict::Verdict::Warn { .. }) => Severity::Warn,
        _ => Severity::Fail,
    };
    let mut expected_request = model.expected_request(creds, &executed.case.input);
    expected_request.target = mask_target(&expected_request.target, creds);
    Failure {
        severity,
        vendor: model.name().to_owned(),
        revision: model.revision().to_owned(),
        property: property.to_owned(),
        title: p::by_id(property).map_or("", |p| p.title).to_owned(),
        scenario: executed.case.scenario,
        message: mask_all(&message, creds),
        expected: mask_all(&expected, creds),
        actual: mask_all(&actual, creds),
        case: executed.case.clone(),
        shrink_steps,
        requests: entries.iter().map(|e| raw_request(e, creds)).collect(),
        answers: entries.iter().map(|e| mask_all(&answer_text(e), creds)).collect(),
        reported,
        expected_curl: mask_all(&http1::curl(base_url, &expected_request), creds),
        stderr: executed.stderr.clone(),
        replay_file: None,
        replay_command: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_documented_order() {
        let mut r = RunReport::default();
        assert_eq!(r.compute_exit_code(), 4, "nothing ran");
        r.vendors.push(VendorResult {
            name: "v".into(),
            revision: "default".into(),
            label: "v".into(),
            skipped: None,
            properties: vec![PropertyResult {
                id: "x".into(),
                status: Status::Pass,
                passed: 1,
                warned: 0,
                failed: 0,
                note: None,
            }],
        });
        assert_eq!(r.compute_exit_code(), 0);
        r.vendors[0].properties[0].status = Status::Warn;
        assert_eq!(r.compute_exit_code(), 0, "a warning passes");
        r.strict = true;
        assert_eq!(r.compute_exit_code(), 1, "but not under --strict");
        r.vendors[0].properties[0].status = Status::Fail;
        assert_eq!(r.compute_exit_code(), 1);
        r.error = Some((3, "broke".into()));
        assert_eq!(r.compute_exit_code(), 3);
    }
}
