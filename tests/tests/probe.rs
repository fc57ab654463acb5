//! `vendor-mock probe`, on loopback only: a second `vendor-mock serve` plays the live vendor,
//! serving either the same specs or a deliberately drifted copy (`--specs DIR`). No test here
//! contacts a real vendor.

use e2e::serving;

use std::collections::BTreeSet;
use std::process::Output;

use serde_json::{Value, json};
use vendor_mock::spec::PROBE_STEPS;

const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots");
const SECRET: &str = "sk_probe_secret_0123456789";

/// `vendor-mock probe ARGS…` with `env`, and no `VENDOR_MOCK_*` variable of the test's own.
async fn probe(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(e2e::binary());
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("VENDOR_MOCK_")) {
        command.env_remove(name);
    }
    command.arg("probe").args(args).envs(env.iter().copied()).kill_on_drop(true);
    tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
        .await
        .expect("the probe ends within a minute")
        .expect("vendor-mock probe runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn journal_len(base: &str) -> usize {
    let body = e2e::send(
        base.trim_start_matches("http://").parse().expect("an address"),
        &e2e::Request::get("/__admin/requests").header("Connection", "close"),
    )
    .await
    .json();
    body["requests"].as_array().or_else(|| body.as_array()).map_or(0, Vec::len)
}

/// The fidelity rows of the embedded SmartLead spec that name any of `steps`.
fn rows_naming(steps: &[&str]) -> BTreeSet<String> {
    let spec = e2e::VendorSpec::of(&e2e::embedded(), "smartlead");
    let rows = &spec.vendor.fidelity;
    rows.iter().filter(|r| r.probe.iter().any(|s| steps.contains(&s.as_str()))).map(|r| r.behaviour.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_yes_the_probe_sends_nothing_and_says_how_many_records_it_would_create() {
    let vendor = serving::serve(&e2e::binary(), &[]).await;
    let base = vendor.base();
    let out = probe(&["smartlead", "--base-url", &base, "--credential", &format!("api_key={SECRET}")], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(said.contains("can create up to 6 record(s)"), "{said}");
    assert!(said.contains("--yes"), "{said}");
    assert!(!said.contains(SECRET) && !text(&out.stdout).contains(SECRET), "the key is masked: {said}");
    assert_eq!(journal_len(&base).await, 0, "nothing reached the vendor");

    let missing = probe(&["agencyhandy", "--base-url", &base, "--credential", "api_key=k", "--yes"], &[]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("--credential company_id="), "{}", text(&missing.stderr));
    assert_eq!(journal_len(&base).await, 0, "nothing reached the vendor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_same_specs_every_probed_row_is_confirmed_and_case_exact_headers_get_through() {
    let vendor = serving::serve(&e2e::binary(), &[]).await;
    let base = vendor.base();
    let dir = tempfile::tempdir().expect("a folder for the report");
    let report = dir.path().join("agencyhandy.json");
    // AgencyHandy: the company id the "vendor" derives for the key, looked up as a user would.
    let companies = e2e::send(
        vendor.addr,
        &e2e::Request::get("/accounts/companies").header("x-api-key", SECRET).header("Connection", "close"),
    )
    .await
    .json();
    let company = companies["companies"][0]["_id"].as_str().expect("a company id").to_owned();
    // Every option through its environment variable.
    let credentials = format!("api_key={SECRET},company_id={company}");
    let report_arg = format!("json:{}", report.display());
    let env = [
        ("VENDOR_MOCK_PROBE_BASE_URL", base.as_str()),
        ("VENDOR_MOCK_PROBE_CREDENTIAL", credentials.as_str()),
        ("VENDOR_MOCK_PROBE_YES", "true"),
        ("VENDOR_MOCK_PROBE_REPORT", report_arg.as_str()),
        ("VENDOR_MOCK_PROBE_REVISION", "default"),
        ("VENDOR_MOCK_PROBE_TIMEOUT", "20"),
    ];
    let out = probe(&["agencyhandy"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("the report is written"))
        .expect("the report is JSON");
    let create = report["steps"].as_array().and_then(|s| s.iter().find(|s| s["step"] == "create")).expect("a create");
    assert_eq!((create["vendor_status"].clone(), create["mock_status"].clone()), (json!(200), json!(200)), "{create}");
    let verdicts: BTreeSet<&str> =
        report["rows"].as_array().expect("rows").iter().filter_map(|r| r["verdict"].as_str()).collect();
    assert_eq!(verdicts, BTreeSet::from(["confirmed", "not probed"]), "{report}");
    assert!(!report.to_string().contains(SECRET), "the key is masked in the report");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_drifted_spec_the_probe_reports_exactly_the_drifted_rows() {
    // The "vendor" drifted: duplicates now answer 400, and the 401 body names its field `error`.
    let specs = e2e::spec_dir(&[]);
    let file = specs.path().join("smartlead.yaml");
    let original = std::fs::read_to_string(&file).expect("read the SmartLead spec");
    let drifted = original
        .replacen("    duplicate_email:\n      status: 409", "    duplicate_email:\n      status: 400", 1)
        .replacen("body: { message: Invalid API Key }", "body: { error: Invalid API Key }", 1)
        .replacen("required: [message]", "required: [error]", 1)
        .replacen(
            "        message:\n          type: string\n    ValidationFailed:",
            "        error:\n          type: string\n    ValidationFailed:",
            1,
        );
    assert_ne!(drifted, original);
    std::fs::write(&file, &drifted).expect("write the drifted spec");
    let dir = specs.path().to_str().expect("a UTF-8 path").to_owned();
    let vendor = serving::serve(&e2e::binary(), &["--specs", &dir]).await;
    let base = vendor.base();

    let reports = tempfile::tempdir().expect("a folder for the report");
    let report_file = reports.path().join("probe.json");
    let report_arg = format!("json:{}", report_file.display());
    let key = format!("api_key={SECRET}");
    let out =
        probe(&["smartlead", "--base-url", &base, "--credential", &key, "--yes", "--report", &report_arg], &[]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "something differs: {stdout}{}", text(&out.stderr));
    assert!(!stdout.contains(SECRET), "the key is masked");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_file).expect("the report")).expect("JSON");
    let with = |verdict: &str| -> BTreeSet<String> {
        report["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| r["verdict"] == verdict)
            .map(|r| r["behaviour"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(with("differs"), rows_naming(&["duplicate", "bad_credential"]), "exactly the drifted rows differ");
    // Every step of SmartLead's plan: it has no tenants to list, and two named request examples.
    let steps: Vec<&str> = PROBE_STEPS
        .into_iter()
        .filter(|s| *s != "list_tenants")
        .chain(["example:older_page", "example:every_field"])
        .collect();
    let all_probed = rows_naming(&steps);
    let confirmed: BTreeSet<String> = all_probed.difference(&with("differs")).cloned().collect();
    assert_eq!(with("confirmed"), confirmed, "every other probed row is confirmed");
    assert!(!report.to_string().contains(SECRET), "the key is masked in the report");

    let port = vendor.addr.port().to_string();
    let shown = stdout.replace(&port, "[port]");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(SNAPSHOTS);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("probe__drifted_smartlead", shown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_help_names_every_flag_with_its_variable_and_the_readme_documents_them() {
    let out = probe(&["--help"], &[]).await;
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    let readme = include_str!("../../README.md");
    let section =
        readme.split("## Checking the mock against the live vendor").nth(1).expect("the README has a probe section");
    let section = section.split("\n## ").next().unwrap_or_default();
    for flag in ["--base-url", "--credential", "--revision", "--yes", "--report", "--timeout", "--specs"] {
        assert!(help.contains(flag), "help lists {flag}");
        assert!(section.contains(&format!("`{flag}")), "the README's probe section lists {flag}");
    }
    let variables: Vec<&str> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("VENDOR_MOCK_"))
        .collect();
    assert_eq!(variables.len(), 7, "every flag has a variable: {help}");
    for variable in variables {
        assert!(section.contains(variable), "the README's probe section lists {variable}");
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(SNAPSHOTS);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("cli__probe_help", help));
}
