//! The conformance suite on contract revisions (`--revision`): which revisions a client
//! survives, as a client × revision matrix, and the revision named in every report.

use e2e::snapshot;
use std::collections::{BTreeMap, BTreeSet};

use crate::reference_client::{HttpRequest, ReferenceClient, interpret, send, timeout_of};
use conformance::VendorModel;
use conformance::{
    Client, ClientOutcome, ClientUnderTest, CreateClient, Ready, Reply, RevisionSelection, RunOptions, RunReport,
    Status, VendorSelection, run,
};
use conformance::{Generator, sample};
use conformance::{render_failure, revision_matrix};
use e2e::suite::{cli, tempdir};
use serde_json::Value;

fn options(vendors: &[&str], revision: &str, cases: u32) -> RunOptions {
    let vendors = if vendors == ["all"] {
        VendorSelection::All
    } else {
        VendorSelection::Named(vendors.iter().map(|v| (*v).to_owned()).collect())
    };
    let revisions = RevisionSelection::parse(&[revision]).expect("a valid --revision");
    RunOptions { vendors, revisions, cases, seed: 7, client_label: "in-process".into(), ..RunOptions::default() }
}

/// `vendor@revision` → the failed property ids (every target of the run is listed).
fn failed_by_target(report: &RunReport) -> BTreeMap<String, BTreeSet<String>> {
    report
        .vendors
        .iter()
        .map(|v| {
            let failed = v.properties.iter().filter(|p| p.status == Status::Fail).map(|p| p.id.clone()).collect();
            (format!("{}@{}", v.name, v.revision), failed)
        })
        .collect()
}

fn explain(report: &RunReport) -> String {
    report.failures.iter().map(render_failure).collect::<Vec<_>>().join("\n")
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// The Python reference harness (default revisions), as an `exec:` client.
fn python_reference() -> String {
    format!("exec:python3 {}/clients/python/harness.py", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_reference_client_survives_every_default_revision_and_smartlead_2026_03_but_not_agencyhandy_2026_07() {
    // Fixed case counts, whatever $PROPTEST_CASES says: the snapshot must not move.
    let report = run(Client::InProcess(Box::new(ReferenceClient)), options(&["all"], "all", 3), &mut |_| {});
    assert_eq!(report.error, None);
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("agencyhandy@default", set(&[])),
        // Written for the captured pages, the client asks for the `company_id` credential part,
        // which the 2026-07 revision no longer has: it answers `errored` on every create.
        ("agencyhandy@2026-07", set(&["response.answers"])),
        ("cellcast@default", set(&[])),
        ("smartlead@default", set(&[])),
        ("smartlead@2026-03", set(&[])),
        ("voiceaiwrapper@default", set(&[])),
    ]
    .into_iter()
    .map(|(t, f)| (t.to_owned(), f))
    .collect();
    assert_eq!(failed_by_target(&report), expected, "{}", explain(&report));
    assert_eq!(report.exit_code, 1, "a failed revision fails the run");
    for v in report.vendors.iter().filter(|v| v.revision != "2026-07") {
        let passed = v.properties.iter().filter(|p| p.status == Status::Pass).count();
        assert!(passed >= conformance::PROPERTIES.len() - 2, "{}@{} was checked: {passed} passed", v.name, v.revision);
    }
    let f = report.failures.iter().find(|f| f.revision == "2026-07").expect("the 2026-07 failure is reported");
    assert!(f.message.contains("missing credential `company_id`"), "{}", f.message);
    assert!(render_failure(f).starts_with("FAIL response.answers [agencyhandy@2026-07] "), "{}", render_failure(f));
    // The credentials object carried the revision's parts: `api_key` and nothing else.
    assert!(
        f.expected_curl.contains("-H 'x-api-key: ") && !f.expected_curl.contains("companyId"),
        "{}",
        f.expected_curl
    );
    // Its per-revision results name the revision; the default-revision ones are complete.
    assert!(report.revisions_named);
    let labels: Vec<&str> = report.vendors.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels[..2], ["agencyhandy@default", "agencyhandy@2026-07"]);
    assert!(report.matrix().contains("revision 2026-07:\nproperty"), "{}", report.matrix());
    snapshot!("conformance__revision_matrix", report.revision_matrix());
}

#[test]
fn generated_smartlead_2026_03_creates_never_carry_the_update_key() {
    let specs = vendor_mock::Specs::embedded().expect("embedded specs load");
    let spec = specs.revision("smartlead", "2026-03").expect("the 2026-03 revision exists");
    let model = VendorModel::new(std::sync::Arc::clone(spec)).expect("a model");
    assert_eq!((model.revision(), model.update_key()), ("2026-03", Some("id")));
    assert!(model.schema().pointer("/properties/id").is_some(), "the schema still documents `id`");
    let generator = Generator::for_vendor(&model).expect("compiles");
    let valid = sample(&generator.valid(), 300, 3);
    assert!(valid.iter().any(|v| v.get("logo").is_some()), "other optional fields are generated");
    assert!(valid.iter().all(|v| v.get("id").is_none()), "a create never names a record to update");
    let invalid = sample(&generator.invalid(None), 300, 5);
    assert!(invalid.iter().all(|(v, _)| v.get("id").is_none()));
}

/// A client written for AgencyHandy's 2026-07 revision, from the reference client's building
/// blocks: `x-api-key` only, and an answer read from `data.addedClients` / `data.notAddedClients`
/// (skips matched to the entries by e-mail). Other vendors as the reference client.
#[derive(Debug)]
struct AgencyHandy202607 {
    /// Read the answer as the default revision does (`createdMembers`): a half-done migration.
    reads_default_answer: bool,
}

impl AgencyHandy202607 {
    fn entries(sent: &Value, body: &Value) -> ClientOutcome {
        let (Some(added), Some(skipped)) = (
            body.pointer("/data/addedClients").and_then(Value::as_array),
            body.pointer("/data/notAddedClients").and_then(Value::as_array),
        ) else {
            return ClientOutcome::UnexpectedResponse {};
        };
        let email = |v: &Value| v.get("email").and_then(Value::as_str).map(|e| e.trim().to_lowercase());
        let skipped: BTreeSet<String> = skipped.iter().filter_map(email).collect();
        // `addedClients` are the created entries in input order: an entry is created when it is
        // the next of them (two entries may share an e-mail, in another case: the first is created).
        let mut added = added.iter().peekable();
        let entries = sent
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let next_is_it = added.peek().is_some_and(|a| email(a).is_some() && email(a) == email(entry));
                match (next_is_it, email(entry)) {
                    (true, _) => match added.next().and_then(|a| a.get("_id")).cloned() {
                        Some(id) => ClientOutcome::Created { id: Some(id) },
                        None => ClientOutcome::UnexpectedResponse {},
                    },
                    (false, Some(e)) if skipped.contains(&e) => ClientOutcome::Duplicate {},
                    _ => ClientOutcome::UnexpectedResponse {},
                }
            })
            .collect();
        ClientOutcome::Bulk { entries }
    }
}

impl ClientUnderTest for AgencyHandy202607 {
    fn start(&mut self) -> Ready {
        let name = if self.reads_default_answer { "agencyhandy-half-migrated" } else { "agencyhandy-2026-07" };
        Ready::new(name, "rust", "0", &["agencyhandy"])
    }

    fn create_client(&mut self, request: &CreateClient) -> Reply {
        let Some(key) = request.credentials.get("api_key") else {
            return Reply::errored(request.seq, "missing credential `api_key`");
        };
        let http = HttpRequest {
            method: "POST",
            target: "/members/bulk-client".into(),
            headers: vec![("x-api-key".into(), key.clone()), ("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&request.input).unwrap_or_default(),
        };
        let outcome = match send(&request.base_url, &http, timeout_of(request)) {
            Err(_) => ClientOutcome::TransportError {},
            Ok(r) if self.reads_default_answer => interpret("agencyhandy", &request.input, &r),
            Ok(r) => match (r.status, r.json()) {
                (200, Some(body)) => Self::entries(&request.input, &body),
                (200, None) => ClientOutcome::UnexpectedResponse {},
                // 2026-07 has no tenant credential and documents no 403.
                (403, _) => ClientOutcome::UnexpectedResponse {},
                _ => interpret("agencyhandy", &request.input, &r),
            },
        };
        Reply::Outcome { seq: request.seq, outcome }
    }
}

#[test]
fn a_client_written_for_agencyhandy_2026_07_passes_that_revision_and_fails_the_default_one() {
    let client = || Client::InProcess(Box::new(AgencyHandy202607 { reads_default_answer: false }));
    let report = run(client(), options(&["agencyhandy"], "agencyhandy=2026-07", 6), &mut |_| {});
    assert_eq!(report.error, None);
    assert_eq!(failed_by_target(&report), BTreeMap::from([("agencyhandy@2026-07".to_owned(), set(&[]))]));
    assert_eq!(report.exit_code, 0, "{}", explain(&report));
    // Everything is exercised, the per-entry duplicates included; only the header case has
    // nothing to check (2026-07 has no case-sensitive header).
    let skipped: BTreeSet<String> =
        report.vendors[0].properties.iter().filter(|p| p.status == Status::Skip).map(|p| p.id.clone()).collect();
    assert_eq!(skipped, set(&["request.auth_header_case"]));
    let duplicate = report.vendors[0].properties.iter().find(|p| p.id == "response.duplicate").expect("listed");
    assert!(duplicate.passed >= 6, "{duplicate:?}");

    // Both revisions, with the reference client in the same matrix: each client survives its own.
    let both = run(client(), options(&["agencyhandy"], "all", 3), &mut |_| {});
    let reference = run(Client::InProcess(Box::new(ReferenceClient)), options(&["agencyhandy"], "all", 3), &mut |_| {});
    let failed = failed_by_target(&both);
    assert!(
        failed["agencyhandy@default"].contains("request.auth"),
        "no `companyId` on the default revision: {failed:?}"
    );
    assert!(failed["agencyhandy@2026-07"].is_empty(), "{failed:?}");
    let matrix = revision_matrix(&[&reference, &both]);
    let rows: Vec<Vec<&str>> =
        matrix.lines().map(|l| l.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect()).collect();
    assert_eq!(rows[0], ["client", "agencyhandy@default", "agencyhandy@2026-07"], "{matrix}");
    assert_eq!(rows[1], ["vendor-mock-reference-rust", "pass", "FAIL (1)"], "{matrix}");
    let default_cell = format!("FAIL ({})", failed["agencyhandy@default"].len());
    assert_eq!(rows[2], ["agencyhandy-2026-07", default_cell.as_str(), "pass"], "{matrix}");
}

#[test]
fn a_client_that_drops_company_id_but_reads_created_members_fails_the_answer_properties_of_2026_07() {
    let client = Client::InProcess(Box::new(AgencyHandy202607 { reads_default_answer: true }));
    let report = run(client, options(&["agencyhandy"], "agencyhandy=2026-07", 4), &mut |_| {});
    assert_eq!(report.error, None);
    // The request is right; every 200 is misread (no `createdMembers`), per entry or as a whole,
    // and a 403 (which 2026-07, without a tenant credential, no longer documents) is still read
    // as `unauthorized`.
    let expected = set(&[
        "response.created",
        "response.duplicate",
        "response.unexpected_response",
        "sequence.create_then_duplicate",
    ]);
    assert_eq!(failed_by_target(&report)["agencyhandy@2026-07"], expected, "{}", explain(&report));
    let f = report.failures.iter().find(|f| f.property == "response.created").expect("reported");
    assert!(f.actual.contains("unexpected_response") && f.answers[0].contains("addedClients"), "{f:?}");
}

#[test]
fn an_unknown_revision_is_a_usage_error_listing_the_known_ones() {
    let (code, out, err) = cli(&["run", "--client", &python_reference(), "--revision", "1999-01"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("no selected vendor has revision `1999-01`"), "{err}");
    assert!(err.contains("agencyhandy: default, 2026-07") && err.contains("smartlead: default, 2026-03"), "{err}");
    let (code, _, err) = cli(&["run", "--client", &python_reference(), "--revision", "smartlead=2026-07"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`smartlead` has no revision `2026-07` (known: default, 2026-03)"), "{err}");
}

#[test]
fn a_revision_picked_for_an_unselected_vendor_leaves_the_selected_one_on_its_default() {
    let args = ["run", "--client", &python_reference(), "--cases", "2", "--seed", "3"];
    let (code, out, err) = cli(&[&args[..], &["--revision", "agencyhandy=2026-07", "--vendor", "smartlead"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("vendors: smartlead\n"), "{out}");
    assert!(!out.contains('@') && !out.contains("client × revision"), "a default-revision run as before: {out}");
    assert!(out.contains("1 vendor(s), "), "{out}");
}

#[test]
fn an_external_mock_is_only_checked_on_the_default_revisions() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let server = runtime.block_on(vendor_mock::MockServer::builder().seed(5).start());
    let base = ["run", "--client", &python_reference(), "--vendor", "smartlead", "--cases", "2", "--mock-url"];
    let (code, out, err) = cli(&[&base[..], &[server.uri().as_str(), "--revision", "smartlead=2026-03"]].concat());
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("only the default revisions can be checked against an external mock"), "{err}");
    assert!(err.contains("smartlead@2026-03"), "{err}");
    assert!(server.journal().is_empty(), "nothing was sent to the external mock");
    let (code, out, err) = cli(&[&base[..], &[server.uri().as_str(), "--revision", "default"]].concat());
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn an_external_mock_serving_another_revision_of_a_checked_vendor_is_refused_before_anything_runs() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let server = runtime.block_on(vendor_mock::MockServer::builder().revision("agencyhandy", "2026-07").start());
    let base = ["run", "--client", &python_reference(), "--cases", "2", "--mock-url"];
    let (code, out, err) = cli(&[&base[..], &[server.uri().as_str(), "--vendor", "agencyhandy"]].concat());
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("serves agencyhandy@2026-07"), "{err}");
    assert!(server.journal().is_empty(), "nothing was sent to the external mock");
    let (code, out, err) = cli(&[&base[..], &[server.uri().as_str(), "--vendor", "smartlead"]].concat());
    assert_eq!(code, 0, "a vendor the mock serves on its default revision is checked: {out}{err}");
}

#[test]
fn junit_suites_and_ndjson_events_name_the_revision_and_the_cli_prints_the_revision_matrix() {
    let dir = tempdir();
    let junit = dir.path().join("report.xml");
    let ndjson = dir.path().join("events.ndjson");
    let (code, out, err) = cli(&[
        "run",
        "--client",
        &python_reference(),
        "--vendor",
        "agencyhandy,smartlead",
        "--revision",
        "all",
        "--cases",
        "2",
        "--seed",
        "4",
        "--report",
        &format!("junit:{}", junit.display()),
        "--report",
        &format!("ndjson:{}", ndjson.display()),
    ]);
    assert_eq!(code, 1, "the Python harness is written for the default revisions: {out}{err}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file is written");
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("the JUnit XML parses");
    let suites: Vec<(&str, usize)> = report.test_suites.iter().map(|s| (s.name.as_str(), s.failures)).collect();
    assert_eq!(
        suites,
        [("agencyhandy@default", 0), ("agencyhandy@2026-07", 1), ("smartlead@default", 0), ("smartlead@2026-03", 0)]
    );

    let events: Vec<Value> = std::fs::read_to_string(&ndjson)
        .expect("the event log is written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let revisions: BTreeSet<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "property")
        .map(|e| (e["vendor"].as_str().unwrap_or("?").to_owned(), e["revision"].as_str().unwrap_or("?").to_owned()))
        .collect();
    assert_eq!(revisions.len(), 4, "{revisions:?}");
    let failure = events.iter().find(|e| e["event"] == "failure").expect("a failure event");
    assert_eq!((failure["vendor"].as_str(), failure["revision"].as_str()), (Some("agencyhandy"), Some("2026-07")));

    let tail: Vec<&str> = out.lines().skip_while(|l| *l != "client × revision:").take(3).collect();
    assert_eq!(tail.len(), 3, "{out}");
    let cells: Vec<&str> = tail[2].split_whitespace().collect();
    assert_eq!(cells, ["vendor-mock-reference-python", "pass", "FAIL", "(1)", "pass", "pass"], "{out}");
    assert!(
        out.contains("replay: vendor-conformance replay '")
            && out.contains("agencyhandy@2026-07-response.answers.json"),
        "{out}"
    );
}
