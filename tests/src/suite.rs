//! Helpers of the conformance tests: running the suite and the CLI in-process, tiny inline
//! harnesses, and redacting what changes from run to run (ports, temp paths, durations).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use conformance::{Client, RunOptions, RunReport, Status, VendorSelection};

/// The options of an in-process run of the suite that checks the harness protocol: `cases`
/// cases per property from `seed`, for every vendor or only `vendor`, `label` in the report.
pub fn suite_options(label: &str, vendor: Option<&str>, cases: u32, seed: u64) -> RunOptions {
    RunOptions {
        vendors: vendor.map_or(VendorSelection::All, |v| VendorSelection::Named(vec![v.to_owned()])),
        cases,
        seed,
        validate_protocol: true,
        client_label: label.into(),
        ..RunOptions::default()
    }
}

/// Runs the suite in-process against `client` with [`suite_options`].
pub fn run_suite(client: Client, label: &str, vendor: Option<&str>, cases: u32, seed: u64) -> RunReport {
    conformance::run(client, suite_options(label, vendor, cases, seed), &mut |_| {})
}

/// The ids of the properties a run failed.
pub fn failed_properties(report: &RunReport) -> BTreeSet<String> {
    report
        .vendors
        .iter()
        .flat_map(|v| &v.properties)
        .filter(|p| p.status == Status::Fail)
        .map(|p| p.id.clone())
        .collect()
}

/// Runs `vendor-conformance ARGS` in-process; returns (exit code, stdout, stderr).
/// A `run` without `--replay-dir` saves its replay files in a temporary folder, not in the tree.
pub fn cli(args: &[&str]) -> (u8, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let scratch = tempdir();
    let scratch_path = scratch.path().display().to_string();
    let mut argv: Vec<&str> = std::iter::once("vendor-conformance").chain(args.iter().copied()).collect();
    if args.first() == Some(&"run") && !args.contains(&"--replay-dir") {
        argv.extend(["--replay-dir", scratch_path.as_str()]);
    }
    let code = conformance::main_with(argv, &mut out, &mut err, false);
    (code, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

/// Writes a Python harness script into `dir`; returns its `exec:` client spec.
pub fn harness(dir: &Path, name: &str, source: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, source).expect("write the harness script");
    format!("exec:python3 {}", path.display())
}

/// The top of every inline harness: the `start` / `stop` handshake, and `answer(msg)` for creates.
pub const PRELUDE: &str = r#"
import json, sys
VENDORS = ["smartlead"]
def ready():
    return {"ready": True, "version": 1, "implementation": {"name": "inline", "language": "python", "version": "0"}, "vendors": VENDORS}
def serve(answer):
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["cmd"] == "start":
            out = ready()
        elif msg["cmd"] == "stop":
            sys.exit(0)
        else:
            out = answer(msg)
        print(json.dumps(out), flush=True)
"#;

/// An inline harness: the prelude, then `body` (which must call `serve(answer)`).
pub fn inline(dir: &Path, name: &str, body: &str) -> String {
    harness(dir, name, &format!("{PRELUDE}\n{body}\n"))
}

/// Replaces every `127.0.0.1:PORT` by `127.0.0.1:[port]` and `dir` by `[dir]`.
pub fn redact(text: &str, dir: Option<&Path>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..i + "127.0.0.1:".len()]);
        rest = &rest[i + "127.0.0.1:".len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        out.push_str("[port]");
        rest = &rest[digits..];
    }
    out.push_str(rest);
    match dir {
        Some(d) => out.replace(&d.display().to_string(), "[dir]"),
        None => out,
    }
}

/// A fresh temporary folder.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

pub fn path_of(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// `insta` settings of the repository: snapshots in the top-level `snapshots/` folder.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"),
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}
