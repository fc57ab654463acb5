//! What a run tells people and machines: failures people can act on, the summary matrix,
//! JUnit XML, the NDJSON event log and replay files.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checks::{Call, Verdict};
use crate::http1::{self, shell_quote};
use crate::json::pretty;
use crate::mock::JournalEntry;
use crate::properties as p;
use crate::protocol::{Implementation, Reply};
use crate::runner::{Case, Executed, RunOptions, Scenario, mask_all};
use crate::vendor::{VendorModel, target_name};

/// A property's result for one vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyResult {
    pub id: String,
    pub status: Status,
    /// Cases in which it held.
    pub passed: u32,
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

/// One failing property, with the evidence to act on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
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

/// A saved failure that `vendor-conformance replay` runs again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayFile {
    pub format: String,
    pub version: u32,
    pub vendor: String,
    /// The contract revision the case ran on (absent in files of older versions: `default`).
    #[serde(default = "default_revision")]
    pub revision: String,
    pub property: String,
    pub seed: u64,
    pub case: Case,
    /// The failure as first reported (for people).
    pub failure: Failure,
}

pub const REPLAY_FORMAT: &str = "vendor-conformance-replay";

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
    Property {
        vendor: String,
        revision: String,
        property: String,
        status: Status,
        passed: u32,
        failed: u32,
        note: Option<String>,
    },
    RunFinished {
        exit_code: u8,
        passed: usize,
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
    /// A run-stopping error: (exit code, message).
    pub error: Option<(u8, String)>,
    pub cases_run: u64,
    pub duration_ms: u64,
    pub exit_code: u8,
}

impl RunReport {
    /// (passed, failed, skipped) over vendor × property.
    pub fn counts(&self) -> (usize, usize, usize) {
        let all = self.vendors.iter().flat_map(|v| &v.properties);
        let n = |s: Status| all.clone().filter(|p| p.status == s).count();
        (n(Status::Pass), n(Status::Fail), n(Status::Skip))
    }

    /// 0 all passed, 1 a property failed, 2 usage or spec error, 3 the harness failed to start
    /// or broke the protocol, 4 nothing ran.
    pub fn compute_exit_code(&self) -> u8 {
        if let Some((code, _)) = &self.error {
            return *code;
        }
        let (passed, failed, _) = self.counts();
        if failed > 0 || !self.failures.is_empty() {
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
            passed,
            failed,
            skipped,
            cases: self.cases_run,
            duration_ms: self.duration_ms,
            error: self.error.as_ref().map(|(_, m)| m.clone()),
        }
    }

    /// The property (rows) × vendor (columns) matrix; in a run that includes another revision
    /// than the default, one such matrix per revision (`revision 2026-07:` above each).
    pub fn matrix(&self) -> String {
        if !self.revisions_named {
            return property_matrix(&self.vendors.iter().collect::<Vec<_>>());
        }
        let mut revisions: Vec<&str> = Vec::new();
        for v in &self.vendors {
            if !revisions.contains(&v.revision.as_str()) {
                revisions.push(&v.revision);
            }
        }
        revisions.sort_by_key(|r| (*r != vendor_mock::DEFAULT_REVISION, *r));
        let mut out = String::new();
        for (i, revision) in revisions.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "revision {revision}:");
            out.push_str(&property_matrix(
                &self.vendors.iter().filter(|v| v.revision == *revision).collect::<Vec<_>>(),
            ));
        }
        out
    }

    /// The client × revision matrix of this run: one row (see [`revision_matrix`]).
    pub fn revision_matrix(&self) -> String {
        revision_matrix(&[self])
    }

    /// The closing line: `N passed, N failed, N skipped`.
    pub fn summary_line(&self) -> String {
        let (passed, failed, skipped) = self.counts();
        format!("{passed} passed, {failed} failed, {skipped} skipped")
    }

    /// JUnit XML: a test suite per vendor, a test case per property.
    pub fn junit(&self) -> String {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new("vendor-conformance");
        for v in &self.vendors {
            let label = if v.label.is_empty() { v.name.clone() } else { v.label.clone() };
            let mut suite = TestSuite::new(label.clone());
            for prop in &v.properties {
                let status = match prop.status {
                    Status::Pass => TestCaseStatus::success(),
                    Status::Fail => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        let found = self
                            .failures
                            .iter()
                            .find(|f| f.vendor == v.name && f.revision == v.revision && f.property == prop.id);
                        if let Some(f) = found {
                            s.set_message(f.message.clone());
                            s.set_description(render_failure(f));
                        }
                        s
                    }
                    Status::Skip => {
                        let mut s = TestCaseStatus::skipped();
                        if let Some(note) = &prop.note {
                            s.set_message(note.clone());
                        }
                        s
                    }
                };
                let mut case = TestCase::new(prop.id.clone(), status);
                case.set_classname(format!("conformance.{label}"));
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        report.to_string().unwrap_or_default()
    }
}

/// The property × vendor table of some targets (columns: the vendors' names).
fn property_matrix(vendors: &[&VendorResult]) -> String {
    let width = p::ALL.iter().map(|p| p.id.len()).max().unwrap_or(8);
    let mut out = format!("{:width$}", "property");
    for v in vendors {
        let _ = write!(out, "  {:>w$}", v.name, w = v.name.len().max(4));
    }
    out.push('\n');
    for prop in p::ALL {
        let _ = write!(out, "{:width$}", prop.id);
        for v in vendors {
            let status = v.properties.iter().find(|r| r.id == prop.id).map_or(Status::Skip, |r| r.status);
            let _ = write!(out, "  {:>w$}", status.word(), w = v.name.len().max(4));
        }
        out.push('\n');
    }
    for v in vendors.iter().filter(|v| v.skipped.is_some()) {
        let name = if v.label.is_empty() { &v.name } else { &v.label };
        let _ = writeln!(out, "{name}: skipped: {}", v.skipped.as_deref().unwrap_or_default());
    }
    out
}

/// How one client did on one target: `pass` (no property failed), `FAIL (n)` (n properties
/// failed), `skip` (nothing was checked: no such revision, a vendor the client does not support,
/// a run stopped early), `-` (not in that client's run).
fn revision_cell(v: Option<&VendorResult>) -> String {
    let Some(v) = v else { return "-".into() };
    let failed = v.properties.iter().filter(|p| p.status == Status::Fail).count();
    let passed = v.properties.iter().filter(|p| p.status == Status::Pass).count();
    if failed > 0 {
        format!("FAIL ({failed})")
    } else if v.skipped.is_some() || passed == 0 {
        "skip".into()
    } else {
        "pass".into()
    }
}

/// The client × revision matrix: a row per run (named by the client's `ready` implementation
/// name), a column per `vendor@revision` in the order the runs first name them, cells `pass`,
/// `FAIL (n)` with the number of failed properties, or `skip`.
pub fn revision_matrix(reports: &[&RunReport]) -> String {
    let mut columns: Vec<String> = Vec::new();
    for r in reports {
        for v in &r.vendors {
            let column = format!("{}@{}", v.name, v.revision);
            if !columns.contains(&column) {
                columns.push(column);
            }
        }
    }
    let rows: Vec<(String, Vec<String>)> = reports
        .iter()
        .map(|r| {
            let name = match &r.implementation {
                Some(i) => i.name.clone(),
                None if !r.client.is_empty() => r.client.clone(),
                None => "?".into(),
            };
            let cells = columns
                .iter()
                .map(|c| revision_cell(r.vendors.iter().find(|v| format!("{}@{}", v.name, v.revision) == *c)))
                .collect();
            (name, cells)
        })
        .collect();
    let width = rows.iter().map(|(n, _)| n.chars().count()).chain(std::iter::once("client".len())).max().unwrap_or(6);
    let mut out = format!("{:width$}", "client");
    for c in &columns {
        let _ = write!(out, "  {c:>w$}", w = c.len().max(8));
    }
    out.push('\n');
    for (name, cells) in &rows {
        let _ = write!(out, "{name:width$}");
        for (c, cell) in columns.iter().zip(cells) {
            let _ = write!(out, "  {cell:>w$}", w = c.len().max(8));
        }
        out.push('\n');
    }
    out
}

/// The client's reply kind for events (`created`, `bulk`, `crash`, …).
pub(crate) fn reported_word(call: &Call) -> String {
    match &call.reply {
        Err(_) => "no answer".into(),
        Ok(v) => match Reply::from_json(v) {
            Ok(Reply::Outcome { outcome, .. }) => outcome.kind().into(),
            Ok(Reply::Skipped { .. }) => "skipped".into(),
            Ok(Reply::Errored { .. }) => "errored".into(),
            Err(_) => "unreadable".into(),
        },
    }
}

/// A journal entry as the raw request text (secrets masked).
fn raw_request(e: &JournalEntry, creds: &BTreeMap<String, String>) -> String {
    let mut out =
        format!("{} {} {}\n", e.method, e.target(), if e.version.is_empty() { "HTTP/1.1" } else { &e.version });
    for (n, v) in &e.headers {
        let _ = writeln!(out, "{n}: {v}");
    }
    if e.header_case != "raw" {
        let _ = writeln!(out, "(header names not as sent: header_case = {})", e.header_case);
    }
    out.push('\n');
    out.push_str(&e.body);
    mask_all(&out, creds)
}

fn answer_text(e: &JournalEntry) -> String {
    let fault = (e.outcome_kind() == "fault").then(|| e.outcome.get("effect").cloned().unwrap_or(Value::Null));
    let kind = fault.as_ref().and_then(|f| f.get("type")).and_then(Value::as_str).unwrap_or_default();
    match kind {
        "reset" => "no answer: the connection was reset (injected fault)".into(),
        "empty" => "no answer: the connection was closed (injected fault)".into(),
        "malformed" => format!("HTTP {} with a body that is not JSON (injected fault)", e.status),
        "truncated" => format!("HTTP {}, body cut off halfway (injected fault): {}", e.status, e.response),
        _ => {
            let tag = if fault.is_some() { " (injected fault)" } else { "" };
            format!("HTTP {}{tag} {}   [mock: {}]", e.status, e.response, e.outcome_kind())
        }
    }
}

/// Builds the failure report of a property from an executed case.
pub(crate) fn failure(
    model: &VendorModel,
    property: &'static str,
    executed: &Executed,
    shrink_steps: u32,
    base_url: &str,
    options: &RunOptions,
) -> Failure {
    let creds = &executed.credentials;
    let (message, expected, actual) = match executed.verdicts.get(property) {
        Some(Verdict::Fail { message, expected, actual }) => (message.clone(), expected.clone(), actual.clone()),
        _ => ("(no longer fails)".into(), String::new(), String::new()),
    };
    let entries: Vec<&JournalEntry> = executed.calls.iter().flat_map(|c| &c.entries).collect();
    let reported = executed
        .calls
        .iter()
        .map(|c| match &c.reply {
            Ok(v) => v.clone(),
            Err(why) => Value::String(format!("(no answer: {why})")),
        })
        .collect();
    let expected_request = model.expected_request(creds, &executed.case.input);
    let mut failure = Failure {
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
    };
    if let Some(dir) = &options.replay_dir {
        let file = dir.join(format!("{}-{}.json", model.target(), property));
        let replay = ReplayFile {
            format: REPLAY_FORMAT.into(),
            version: 1,
            vendor: model.name().to_owned(),
            revision: model.revision().to_owned(),
            property: property.to_owned(),
            seed: options.seed,
            case: executed.case.clone(),
            failure: failure.clone(),
        };
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&file, serde_json::to_vec_pretty(&replay).unwrap_or_default()));
        match written {
            Ok(()) => {
                let path = file.display().to_string();
                failure.replay_command = Some(format!(
                    "vendor-conformance replay {} --client {}",
                    shell_quote(&path),
                    shell_quote(&options.client_label)
                ));
                failure.replay_file = Some(path);
            }
            Err(e) => failure.replay_file = Some(format!("(not saved: {}: {e})", file.display())),
        }
    }
    failure
}

/// The failure as text for people.
pub fn render_failure(f: &Failure) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "FAIL {} [{}] {}", f.property, target_name(&f.vendor, &f.revision), f.title);
    let _ = writeln!(out, "  {}", f.message);
    let shrunk =
        if f.shrink_steps > 0 { format!("minimal, after {} shrink steps", f.shrink_steps) } else { "as found".into() };
    let _ = writeln!(out, "  scenario: {} ({shrunk})", f.scenario.name());
    let _ = writeln!(out, "  counterexample:");
    out.push_str(&indent(&pretty(&f.case.input), 4));
    if !f.case.precreate.is_empty() {
        let _ = writeln!(out, "    pre-created by the suite: entries {:?}", f.case.precreate);
    }
    if let Some(fault) = &f.case.fault {
        let _ = writeln!(out, "    injected fault: {}", serde_json::to_string(fault).unwrap_or_default());
    }
    if let Some(b) = &f.case.broken {
        let _ = writeln!(out, "    broken on purpose: {} ({})", b.description, b.constraint);
    }
    if f.requests.is_empty() {
        let _ = writeln!(out, "  request the client sent: (none reached the mock)");
    }
    for (i, (req, ans)) in f.requests.iter().zip(&f.answers).enumerate() {
        let n = if f.requests.len() > 1 { format!(" #{}", i + 1) } else { String::new() };
        let _ = writeln!(out, "  request the client sent{n}:");
        out.push_str(&indent(req, 4));
        let _ = writeln!(out, "  answer{n}: {ans}");
    }
    for r in &f.reported {
        let _ = writeln!(out, "  reported outcome: {r}");
    }
    let _ = writeln!(out, "  expected vs actual:");
    out.push_str(&indent(&diff(&f.expected, &f.actual), 4));
    if let Some(stderr) = f.stderr.as_deref().filter(|s| !s.trim().is_empty()) {
        let _ = writeln!(out, "  harness stderr (tail):");
        out.push_str(&indent(stderr.trim_end(), 4));
    }
    if let Some(cmd) = &f.replay_command {
        let _ = writeln!(out, "  replay: {cmd}");
    } else if let Some(file) = &f.replay_file {
        let _ = writeln!(out, "  replay file: {file}");
    }
    let _ = writeln!(out, "  the request the contract expects:");
    out.push_str(&indent(&f.expected_curl, 4));
    out
}

/// A line diff: `-` expected, `+` actual, ` ` both.
pub fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    let d = similar::TextDiff::from_lines(expected, actual);
    for change in d.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        let _ = writeln!(out, "{sign} {}", change.value().trim_end_matches('\n'));
    }
    out
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    let mut out = String::new();
    for line in text.lines() {
        let _ = writeln!(out, "{pad}{line}");
    }
    if text.is_empty() {
        let _ = writeln!(out, "{pad}(empty)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_marks_removed_and_added_lines() {
        assert_eq!(diff("a\nb\n", "a\nc\n"), "  a\n- b\n+ c\n");
    }

    #[test]
    fn exit_codes_follow_the_documented_order() {
        let mut r = RunReport::default();
        assert_eq!(r.compute_exit_code(), 4, "nothing ran");
        r.vendors.push(VendorResult {
            name: "v".into(),
            revision: "default".into(),
            label: "v".into(),
            skipped: None,
            properties: vec![PropertyResult { id: "x".into(), status: Status::Pass, passed: 1, failed: 0, note: None }],
        });
        assert_eq!(r.compute_exit_code(), 0);
        r.vendors[0].properties[0].status = Status::Fail;
        assert_eq!(r.compute_exit_code(), 1);
        r.error = Some((3, "broke".into()));
        assert_eq!(r.compute_exit_code(), 3);
    }
}
