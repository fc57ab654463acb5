//! `vendor-conformance` as a command line: exit codes, protocol violations, reports, replay,
//! an external mock through its admin API, and snapshots of what people read.
//!
//! The inline harnesses are small Python scripts written to a temporary folder.

use e2e::snapshot;
use std::time::{Duration, Instant};

use e2e::suite::{cli, inline, redact, tempdir};

/// Answers every create with `created` without sending anything.
const LAZY: &str = r#"serve(lambda msg: {"seq": msg["seq"], "outcome": {"kind": "created"}})"#;

#[test]
fn an_unknown_vendor_is_a_usage_error() {
    let dir = tempdir();
    let client = inline(dir.path(), "h.py", LAZY);
    let (code, out, err) = cli(&["run", "--vendor", "nosuch", "--client", &client]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("no vendor `nosuch`"), "{err}");
    assert!(err.contains("agencyhandy, cellcast, smartlead, voiceaiwrapper"), "{err}");
}

#[test]
fn a_client_that_is_not_exec_and_a_bad_report_kind_are_usage_errors() {
    let (code, _, err) = cli(&["run", "--client", "python3 h.py"]);
    assert_eq!(code, 2);
    assert!(err.contains("expected `exec:COMMAND`"), "{err}");
    let (code, _, err) = cli(&["run", "--client", "exec:true", "--report", "xml:out.xml"]);
    assert_eq!(code, 2);
    assert!(err.contains("junit:PATH or ndjson:PATH"), "{err}");
    let (code, _, err) = cli(&["run"]);
    assert_eq!(code, 2);
    assert!(err.contains("--client"), "{err}");
}

#[test]
fn a_harness_printing_garbage_breaks_the_protocol_with_exit_3() {
    let dir = tempdir();
    let client =
        e2e::suite::harness(dir.path(), "g.py", "import sys\nfor l in sys.stdin: print('hello there', flush=True)\n");
    let started = Instant::now();
    let (code, _, err) = cli(&["run", "--client", &client, "--cases", "2"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("not JSON") && err.contains("hello there"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_harness_crashing_at_start_gives_exit_3() {
    let dir = tempdir();
    let client = e2e::suite::harness(dir.path(), "c.py", "import sys\nsys.stderr.write('boom\\n')\nsys.exit(7)\n");
    let (code, _, err) = cli(&["run", "--client", &client, "--cases", "2"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("exit status: 7") && err.contains("`start`"), "{err}");
}

#[test]
fn a_harness_that_never_answers_times_out_with_exit_3() {
    let dir = tempdir();
    let client = e2e::suite::harness(dir.path(), "s.py", "import sys, time\nfor l in sys.stdin: time.sleep(30)\n");
    let started = Instant::now();
    let (code, _, err) = cli(&["run", "--client", &client, "--cases", "2", "--timeout", "0.5"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no answer to `start` within 500ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn a_reply_with_the_wrong_seq_breaks_the_protocol() {
    let dir = tempdir();
    let client =
        inline(dir.path(), "w.py", r#"serve(lambda msg: {"seq": msg["seq"] + 1, "outcome": {"kind": "created"}})"#);
    let (code, _, err) = cli(&["run", "--client", &client, "--cases", "2"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("seq 2 but the request had seq 1"), "{err}");
}

#[test]
fn validate_protocol_catches_what_only_the_schema_forbids() {
    let dir = tempdir();
    // `id: true` reads fine, but the schema says an id is a string or an integer.
    let client = inline(
        dir.path(),
        "v.py",
        r#"serve(lambda msg: {"seq": msg["seq"], "outcome": {"kind": "created", "id": True}})"#,
    );
    let (code, _, err) = cli(&["run", "--client", &client, "--cases", "1", "--seed", "1"]);
    assert_eq!(code, 1, "without validation the run goes on: {err}");
    let (code, _, err) = cli(&["run", "--client", &client, "--cases", "1", "--seed", "1", "--validate-protocol"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("protocol.schema.json") && err.contains("/outcome/id"), "{err}");
}

#[test]
fn a_harness_supporting_no_vendor_means_nothing_ran() {
    let dir = tempdir();
    let client = inline(dir.path(), "n.py", &format!("VENDORS = []\n{LAZY}"));
    let (code, out, err) = cli(&["run", "--client", &client, "--cases", "2"]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(err.contains("nothing ran"), "{err}");
    assert!(out.contains("smartlead: skipped: the client does not support smartlead"), "{out}");
}

#[test]
fn vendors_the_harness_does_not_list_are_skipped_and_the_others_run() {
    let dir = tempdir();
    let client = inline(dir.path(), "l.py", LAZY);
    let (code, out, _) = cli(&["run", "--client", &client, "--cases", "1", "--vendor", "smartlead,cellcast"]);
    assert_eq!(code, 1, "the lazy client fails what it runs");
    assert!(out.contains("skip cellcast: the client does not support cellcast"), "{out}");
    assert!(out.contains("FAIL request.one_per_create [smartlead]"), "{out}");
}

#[test]
fn with_require_vendors_a_vendor_the_harness_does_not_list_fails_the_run() {
    let dir = tempdir();
    let client = inline(dir.path(), "r.py", &format!("VENDORS = []\n{LAZY}"));
    let (code, out, err) =
        cli(&["run", "--client", &client, "--cases", "1", "--vendor", "cellcast", "--require-vendors"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("cellcast: not run, a failure: the client does not support cellcast"), "{out}");
    assert!(out.contains("--require-vendors makes that a failure"), "{out}");
    let row = out.lines().find(|l| l.starts_with("response.answers ")).unwrap_or_default();
    assert!(row.ends_with("FAIL"), "{out}");
}

#[test]
fn a_harness_crashing_mid_run_fails_that_case_and_is_restarted() {
    let dir = tempdir();
    let body = r#"
def answer(msg):
    if msg["seq"] == 3:
        sys.stderr.write("dying on seq 3\n")
        sys.exit(1)
    return {"seq": msg["seq"], "outcome": {"kind": "created"}}
serve(answer)
"#;
    let client = inline(dir.path(), "m.py", body);
    let (code, out, err) = cli(&["run", "--client", &client, "--cases", "2", "--seed", "3"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("client restarted after: the harness exited (exit status: 1)"), "{err}");
    assert!(err.contains("dying on seq 3"), "the stderr tail is shown: {err}");
    assert!(out.contains("FAIL response.answers [smartlead]"), "{out}");
}

#[test]
fn a_harness_crashing_on_every_create_is_restarted_until_max_restarts_then_the_run_stops_with_its_matrix() {
    let dir = tempdir();
    let client = inline(dir.path(), "e.py", "serve(lambda msg: sys.exit(1))");
    let (code, out, err) = cli(&["run", "--client", &client, "--cases", "4", "--max-restarts", "3"]);
    assert_eq!(code, 1, "a crash is a property failure, not a protocol violation: {err}");
    assert_eq!(err.matches("client restarted after").count(), 3, "{err}");
    assert!(err.contains("the run stopped early: stopped: the client crashed or hung 4 times"), "{err}");
    assert!(err.contains("--max-restarts"), "{err}");
    assert!(out.contains("FAIL response.answers [smartlead]"), "{out}");
    assert!(out.contains("\nrequest.one_per_create ") && out.contains(" failed, "), "the matrix is printed: {out}");
}

#[test]
fn the_junit_report_parses_and_its_counts_match_the_matrix() {
    let dir = tempdir();
    let client = inline(dir.path(), "j.py", LAZY);
    let junit = dir.path().join("report.xml");
    let ndjson = dir.path().join("events.ndjson");
    let (code, out, _) = cli(&[
        "run",
        "--client",
        &client,
        "--cases",
        "2",
        "--seed",
        "5",
        "--report",
        &format!("junit:{}", junit.display()),
        "--report",
        &format!("ndjson:{}", ndjson.display()),
        "--replay-dir",
        &dir.path().join("failures").display().to_string(),
    ]);
    assert_eq!(code, 1);
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file is written");
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("the JUnit XML parses");
    assert_eq!(report.test_suites.len(), 4);
    let smartlead = report.test_suites.iter().find(|s| s.name.as_str() == "smartlead").expect("a smartlead suite");
    assert_eq!(smartlead.test_cases.len(), conformance::PROPERTIES.len());
    let (failures, skipped) = (
        smartlead.failures,
        smartlead.test_cases.iter().filter(|c| matches!(c.status, quick_junit::TestCaseStatus::Skipped { .. })).count(),
    );
    let summary = out.lines().last().unwrap_or_default();
    let passed = smartlead.test_cases.len() - failures - skipped;
    assert_eq!(
        summary,
        format!("{passed} passed, {failures} failed, {} skipped", skipped + 3 * conformance::PROPERTIES.len())
    );
    assert!(failures >= 1, "the lazy client fails: {summary}");

    let events: Vec<serde_json::Value> = std::fs::read_to_string(&ndjson)
        .expect("the event log is written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(events.first().and_then(|e| e["event"].as_str()), Some("run_started"));
    assert_eq!(events.last().and_then(|e| e["event"].as_str()), Some("run_finished"));
    assert_eq!(events.last().map(|e| e["exit_code"].clone()), Some(serde_json::json!(1)));
    let failure_events = events.iter().filter(|e| e["event"] == "failure").count();
    assert_eq!(failure_events, failures);
    assert!(events.iter().any(|e| e["event"] == "case" && e["vendor"] == "smartlead"));
}

#[test]
fn a_saved_failure_replays_from_the_command_line() {
    let dir = tempdir();
    let client = inline(dir.path(), "r.py", LAZY);
    let failures = dir.path().join("failures");
    let (code, out, _) = cli(&[
        "run",
        "--client",
        &client,
        "--cases",
        "2",
        "--seed",
        "9",
        "--replay-dir",
        &failures.display().to_string(),
    ]);
    assert_eq!(code, 1);
    let file = failures.join("smartlead-request.one_per_create.json");
    assert!(
        out.contains(&format!("replay: vendor-conformance replay '{}' --client '{client}'", file.display())),
        "{out}"
    );
    let (code, out, err) = cli(&["replay", &file.display().to_string(), "--client", &client]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL request.one_per_create [smartlead]") && out.ends_with("still failing\n"), "{out}");

    let (code, _, err) = cli(&["replay", &dir.path().join("nope.json").display().to_string(), "--client", &client]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn cases_default_to_proptest_cases_and_every_flag_has_an_env_var() {
    let help = conformance::subcommand_help("run");
    for var in [
        "VENDOR_CONFORMANCE_VENDOR",
        "VENDOR_CONFORMANCE_CLIENT",
        "VENDOR_CONFORMANCE_CASES",
        "VENDOR_CONFORMANCE_SEED",
        "VENDOR_CONFORMANCE_REPORT",
        "VENDOR_CONFORMANCE_MOCK_URL",
        "VENDOR_CONFORMANCE_VALIDATE_PROTOCOL",
        "VENDOR_CONFORMANCE_SPECS",
        "VENDOR_CONFORMANCE_TIMEOUT",
        "VENDOR_CONFORMANCE_MAX_RESTARTS",
        "VENDOR_CONFORMANCE_STRICT",
        "VENDOR_CONFORMANCE_REQUIRE_VENDORS",
    ] {
        assert!(help.contains(var), "{var} missing from:\n{help}");
    }
    assert!(help.contains("$PROPTEST_CASES"));
}

#[test]
fn an_external_mock_is_driven_through_its_admin_api() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    // Secrets masked in the journal, as `vendor-mock serve` runs by default.
    let server = runtime.block_on(vendor_mock::MockServer::builder().seed(3).start());
    let dir = tempdir();
    let client = inline(dir.path(), "x.py", LAZY);
    let (code, out, err) =
        cli(&["run", "--client", &client, "--cases", "1", "--seed", "2", "--mock-url", &server.uri()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(&format!("mock {} (external)", server.uri())), "{out}");
    assert!(out.contains("FAIL request.one_per_create [smartlead]"), "{out}");
    drop(server);
    let (code, _, err) = cli(&["run", "--client", &client, "--mock-url", "http://127.0.0.1:9"]);
    assert_eq!(code, 2, "an unreachable mock is a usage error: {err}");
    assert!(err.contains("/__admin/health"), "{err}");
}

#[test]
fn help_output_is_stable() {
    snapshot!("conformance__help", conformance::help());
    snapshot!("conformance__help_run", conformance::subcommand_help("run"));
}

#[test]
fn the_properties_listing_is_stable() {
    let (code, out, _) = cli(&["properties"]);
    assert_eq!(code, 0);
    snapshot!("conformance__properties", out);
    let (_, json, _) = cli(&["properties", "--format", "json"]);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&json).expect("JSON");
    assert_eq!(listed.len(), conformance::PROPERTIES.len());
}

#[test]
fn the_summary_matrix_and_a_failure_report_are_stable() {
    let dir = tempdir();
    let client = inline(dir.path(), "s.py", LAZY);
    let failures = dir.path().join("failures");
    let (code, out, _) = cli(&[
        "run",
        "--client",
        &client,
        "--cases",
        "2",
        "--seed",
        "11",
        "--vendor",
        "smartlead",
        "--replay-dir",
        &failures.display().to_string(),
    ]);
    assert_eq!(code, 1);
    let out = redact(&out, Some(dir.path()));
    // The duration on the summary line changes between runs, and so does the number of shrink
    // steps: shrinking a case that is slow to run stops after a time budget, so a loaded
    // machine takes fewer steps to the same minimal case.
    let out: String = out
        .lines()
        .map(|l| match l.find(" s)") {
            Some(_) if l.contains("case(s), seed") => format!("{} ([time])", &l[..l.rfind(" (").unwrap_or(l.len())]),
            _ => match (l.find("after "), l.find(" shrink steps")) {
                (Some(at), Some(end)) if at < end => format!("{}after [n]{}", &l[..at], &l[end..]),
                _ => l.to_owned(),
            },
        })
        .collect::<Vec<_>>()
        .join("\n");
    snapshot!("conformance__lazy_client_run", out);
}

#[test]
fn a_harness_exiting_non_zero_after_stop_breaks_the_protocol() {
    let dir = tempdir();
    let body = r#"
for line in sys.stdin:
    msg = json.loads(line)
    if msg["cmd"] == "start":
        print(json.dumps(ready()), flush=True)
    elif msg["cmd"] == "stop":
        sys.exit(5)
    else:
        print(json.dumps({"seq": msg["seq"], "outcome": {"kind": "created"}}), flush=True)
"#;
    let client = inline(dir.path(), "stop.py", body);
    let (code, _, err) = cli(&["run", "--client", &client, "--cases", "1"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("after `stop` the harness exited with exit status: 5, not 0"), "{err}");
}

#[test]
fn a_create_that_times_out_fails_the_case_and_the_client_is_restarted() {
    let dir = tempdir();
    let body = r#"
import time
def answer(msg):
    if msg["seq"] == 2:
        time.sleep(30)
    return {"seq": msg["seq"], "outcome": {"kind": "created"}}
serve(answer)
"#;
    let client = inline(dir.path(), "slow.py", body);
    let started = Instant::now();
    // 2 s: the restarted interpreter must answer `start` within it too, on a busy machine.
    let (code, out, err) = cli(&["run", "--client", &client, "--cases", "1", "--seed", "4", "--timeout", "2"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("client restarted after: no answer to create_client seq 2 within 2s"), "{err}");
    assert!(out.contains("FAIL response.answers [smartlead]"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn a_spec_folder_is_read_with_specs_and_a_broken_one_is_a_spec_error() {
    let dir = tempdir();
    let client = inline(dir.path(), "l.py", LAZY);
    let specs = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs");
    let (code, out, _) = cli(&["run", "--client", &client, "--cases", "1", "--specs", specs, "--vendor", "smartlead"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL request.one_per_create [smartlead]"), "{out}");

    let broken = dir.path().join("specs");
    std::fs::create_dir(&broken).expect("mkdir");
    std::fs::write(broken.join("x.yaml"), "openapi: 3.0.0\n").expect("write");
    let (code, _, err) = cli(&["run", "--client", &client, "--specs", &broken.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("x.yaml"), "{err}");
}

#[test]
fn a_harness_skipping_every_case_means_nothing_ran() {
    let dir = tempdir();
    let client = inline(
        dir.path(),
        "k.py",
        r#"serve(lambda msg: {"seq": msg["seq"], "skipped": True, "message": "not today"})"#,
    );
    let (code, out, err) = cli(&["run", "--client", &client, "--cases", "1"]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(!out.contains("FAIL"), "{out}");
}

/// The Python reference harness with its `create_client` wrapped by `wrapper` (Python code that
/// defines `create_client(request)` around `original`).
fn wrapped_reference(dir: &std::path::Path, name: &str, wrapper: &str) -> String {
    let reference = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/python/harness.py");
    let source = format!(
        r#"
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("reference", {reference:?})
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)
original = reference.create_client
{wrapper}
reference.create_client = create_client
sys.argv = [sys.argv[0]]
sys.exit(reference.main())
"#
    );
    e2e::suite::harness(dir, name, &source)
}

const REFERENCE_PYTHON: &str = concat!("exec:python3 ", env!("CARGO_MANIFEST_DIR"), "/clients/python/harness.py");

#[test]
fn a_client_that_hangs_on_every_429_fails_response_answers_and_the_run_goes_on_to_its_matrix() {
    let dir = tempdir();
    let hangs = wrapped_reference(
        dir.path(),
        "hangs.py",
        r#"
def create_client(request):
    answer = original(request)
    if answer.get("outcome", {}).get("kind") == "rate_limited":
        time.sleep(3600)
    return answer
"#,
    );
    for seed in ["1", "2"] {
        let args = ["run", "--vendor", "smartlead", "--cases", "2", "--seed", seed, "--timeout", "1.5"];
        let (code, out, err) = cli(&[&args[..], &["--client", &hangs]].concat());
        assert_eq!(code, 1, "seed {seed}: a hang fails a property, it breaks no protocol: {err}");
        assert!(out.contains("FAIL response.answers [smartlead]"), "seed {seed}: {out}");
        assert!(err.contains("client restarted after: no answer to create_client"), "seed {seed}: {err}");
        let matrix_line = |id: &str| out.lines().find(|l| l.starts_with(id)).unwrap_or_default().to_owned();
        assert!(matrix_line("response.answers ").ends_with("FAIL"), "seed {seed}: the matrix is printed: {out}");
        assert!(matrix_line("response.created ").ends_with("pass"), "seed {seed}: the run went on: {out}");
        let (code, out, err) = cli(&[&args[..], &["--client", REFERENCE_PYTHON]].concat());
        assert_eq!(code, 0, "seed {seed}: the reference harness passes: {out}{err}");
    }
}

#[test]
fn a_harness_written_from_protocol_md_alone_gets_only_the_inputs_it_documents() {
    let dir = tempdir();
    // PROTOCOL.md: `input` is an object, for AgencyHandy an array of objects (one value inside may
    // break the schema in the validation scenario). This harness crashes (`errored`) otherwise.
    let strict = wrapped_reference(
        dir.path(),
        "strict.py",
        r#"
def create_client(request):
    body = request["input"]
    if request["vendor"] == "agencyhandy":
        assert isinstance(body, list) and all(isinstance(e, dict) for e in body), body
    else:
        assert isinstance(body, dict), body
    return original(request)
"#,
    );
    for seed in ["1", "2", "3"] {
        let args = ["run", "--client", &strict, "--cases", "8", "--seed", seed, "--validate-protocol"];
        let (code, out, err) = cli(&args);
        assert_eq!(code, 0, "seed {seed}: {out}{err}");
    }
}

#[test]
fn warnings_show_in_every_report_and_fail_the_run_only_under_strict() {
    let dir = tempdir();
    // Sends AgencyHandy's documented default `status: "New"` when an entry omits it: tolerated.
    let defaults = wrapped_reference(
        dir.path(),
        "defaults.py",
        r#"
def create_client(request):
    if request.get("vendor") == "agencyhandy" and isinstance(request.get("input"), list):
        for entry in request["input"]:
            if isinstance(entry, dict):
                entry.setdefault("status", "New")
    return original(request)
"#,
    );
    let (junit, ndjson) = (dir.path().join("r.xml"), dir.path().join("e.ndjson"));
    let reports = format!("junit:{},ndjson:{}", junit.display(), ndjson.display());
    let args = ["run", "--client", &defaults, "--vendor", "agencyhandy", "--cases", "2", "--seed", "1"];
    let (code, out, err) = cli(&[&args[..], &["--report", &reports]].concat());
    assert_eq!(code, 0, "a warning does not fail the run: {out}{err}");
    assert!(out.contains("WARN request.body_carried [agencyhandy]"), "{out}");
    let row = out.lines().find(|l| l.starts_with("request.body_carried ")).unwrap_or_default();
    assert!(row.ends_with(" warn"), "the matrix: {out}");
    assert!(out.contains(" warned, ") && out.contains("--strict would"), "{out}");
    let events = std::fs::read_to_string(&ndjson).expect("the event log");
    assert!(
        events.lines().any(|l| l.contains(r#""event":"warning""#) && l.contains(r#""severity":"warn""#)),
        "{events}"
    );
    assert!(events.lines().any(|l| l.contains(r#""property":"request.body_carried","status":"warn""#)), "{events}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report");
    assert!(xml.contains(r#"<property name="warning""#), "{xml}");

    let (code, out, _) = cli(&[&args[..], &["--strict"]].concat());
    assert_eq!(code, 1, "--strict: {out}");
    assert!(out.contains("they fail the run (--strict)"), "{out}");
}
