//! What a run looks like to people and CI: the property × vendor matrix, the client × revision
//! matrix, JUnit XML, and failures as text.

use std::fmt::Write as _;

use crate::json::pretty;
use crate::model::{Case, Refusal};
use crate::properties as p;
use crate::report::{Failure, RunReport, Severity, Status, VendorResult};
use crate::vendor::target_name;

impl RunReport {
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

    /// The closing line: `N passed, N failed, N skipped` (`N passed, N warned, …` with warnings).
    pub fn summary_line(&self) -> String {
        let (passed, failed, skipped) = self.counts();
        match self.warned() {
            0 => format!("{passed} passed, {failed} failed, {skipped} skipped"),
            warned => format!("{} passed, {warned} warned, {failed} failed, {skipped} skipped", passed - warned),
        }
    }

    /// JUnit XML: a test suite per vendor, a test case per property.
    pub fn junit(&self) -> String {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new("vendor-conformance");
        for v in &self.vendors {
            let label = if v.label.is_empty() { v.name.clone() } else { v.label.clone() };
            let mut suite = TestSuite::new(label.clone());
            for prop in &v.properties {
                let found = |list: &[Failure]| {
                    list.iter()
                        .find(|f| f.vendor == v.name && f.revision == v.revision && f.property == prop.id)
                        .cloned()
                };
                let warning = found(&self.warnings).filter(|_| prop.status == Status::Warn);
                let status = match prop.status {
                    Status::Pass => TestCaseStatus::success(),
                    Status::Warn if !self.strict => TestCaseStatus::success(),
                    Status::Fail | Status::Warn => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        if let Some(f) = found(&self.failures).or_else(|| warning.clone()) {
                            s.set_message(f.message.clone());
                            s.set_description(render_failure(&f));
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
                if let Some(w) = &warning {
                    // A warning: the vendor tolerates it, its docs do not promise it.
                    case.add_property(quick_junit::Property::new("warning", w.message.clone()));
                    case.set_system_out(render_failure(w));
                }
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
        let word = if v.properties.iter().any(|p| p.status == Status::Fail) { "not run, a failure" } else { "skipped" };
        let _ = writeln!(out, "{name}: {word}: {}", v.skipped.as_deref().unwrap_or_default());
    }
    out
}

/// How one client did on one target: `pass` (no property failed), `FAIL (n)` (n properties
/// failed), `skip` (nothing was checked: no such revision, a vendor the client does not support,
/// a run stopped early), `-` (not in that client's run).
fn revision_cell(v: Option<&VendorResult>) -> String {
    let Some(v) = v else { return "-".into() };
    let count = |s: Status| v.properties.iter().filter(|p| p.status == s).count();
    let (failed, warned) = (count(Status::Fail), count(Status::Warn));
    if failed > 0 {
        format!("FAIL ({failed})")
    } else if warned > 0 {
        format!("warn ({warned})")
    } else if v.skipped.is_some() || count(Status::Pass) == 0 {
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

/// The failure as text for people.
pub fn render_failure(f: &Failure) -> String {
    let mut out = String::new();
    let word = match f.severity {
        Severity::Fail => "FAIL",
        Severity::Warn => "WARN",
    };
    let _ = writeln!(out, "{word} {} [{}] {}", f.property, target_name(&f.vendor, &f.revision), f.title);
    let _ = writeln!(out, "  {}", f.message);
    let shrunk = match (f.severity, f.shrink_steps) {
        (Severity::Warn, _) => "as found; the vendor tolerates it, its docs do not promise it".to_owned(),
        (_, 0) => "as found".into(),
        (_, steps) => format!("minimal, after {steps} shrink steps"),
    };
    let scenario = match f.case.variant.as_str() {
        "" => f.scenario.name().to_owned(),
        variant => format!("{} {variant}", f.scenario.name()),
    };
    let _ = writeln!(out, "  scenario: {scenario} ({shrunk})");
    let _ = writeln!(out, "  counterexample:");
    out.push_str(&indent(&pretty(&f.case.input), 4));
    out.push_str(&set_up(&f.case));
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

/// What the suite set up for a case, one line each (indented under the counterexample).
fn set_up(case: &Case) -> String {
    let mut out = String::new();
    if !case.credentials.is_empty() {
        // Generated for the case (never real secrets): shown whole, since a character of one can be
        // what a client mangles.
        let list: Vec<String> = case.credentials.iter().map(|(k, v)| format!("{k}={}", json_text(v))).collect();
        let _ = writeln!(out, "    credentials: {}", list.join(", "));
    }
    if let Some(body) = &case.precreate {
        let _ = writeln!(out, "    created first by the suite: {}", serde_json::to_string(body).unwrap_or_default());
    }
    if let Some(refusal) = &case.refusal {
        let _ = writeln!(out, "    set up: {}", refusal_text(refusal));
    }
    if let Some(fault) = &case.fault {
        let _ = writeln!(out, "    injected fault: {}", serde_json::to_string(fault).unwrap_or_default());
    }
    if let Some(ms) = case.timeout_ms {
        let _ = writeln!(out, "    the client's time-out: {ms} ms");
    }
    if let Some(b) = &case.broken {
        let _ = writeln!(out, "    broken on purpose: {} ({})", b.description, b.constraint);
    }
    out
}

fn json_text(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn refusal_text(refusal: &Refusal) -> String {
    match refusal {
        Refusal::RejectedPrefix { part, prefix } => {
            format!("`{part}` starts with `{prefix}`, which the vendor refuses")
        }
        Refusal::ForbiddenPrefix { part, prefix } => {
            format!("`{part}` starts with `{prefix}`, which the vendor knows but denies the permission")
        }
        Refusal::Empty { part } => format!("`{part}` is empty"),
        Refusal::ForeignTenant { part } => format!("`{part}` names another account's tenant"),
        Refusal::RateLimit { requests, window_seconds } => {
            format!("the rate limit ({requests} per {window_seconds} s) used up by the suite first")
        }
    }
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
}
