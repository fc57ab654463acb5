//! The conformance suite against in-process Rust clients: the reference client passes every
//! property for all four vendors, and deliberately broken clients are each caught by the property
//! they target.

use e2e::snapshot;
use std::collections::BTreeSet;

use crate::reference_client::{DEFAULT_TIMEOUT, ReferenceClient, VENDORS, build_request, interpret, send, timeout_of};
use conformance::{
    Client, ClientOutcome, ClientUnderTest, CreateClient, Ready, Reply, RunOptions, RunReport, Status, VendorSelection,
    render_failure, run,
};
use serde_json::Value;

/// `cases`, or `$PROPTEST_CASES` when set (CI stays fast; a deeper run is one variable away).
fn cases_or_env(cases: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases)
}

fn options(vendor: &str, cases: u32) -> RunOptions {
    let cases = cases_or_env(cases);
    let vendors = if vendor == "all" { VendorSelection::All } else { VendorSelection::Named(vec![vendor.to_owned()]) };
    RunOptions { vendors, cases, seed: 7, client_label: "in-process".into(), ..RunOptions::default() }
}

fn failed(report: &RunReport) -> BTreeSet<(String, String)> {
    report
        .vendors
        .iter()
        .flat_map(|v| v.properties.iter().filter(|p| p.status == Status::Fail).map(|p| (v.name.clone(), p.id.clone())))
        .collect()
}

fn explain(report: &RunReport) -> String {
    report.failures.iter().map(render_failure).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_rust_reference_client_passes_every_property_for_all_four_vendors() {
    let report = run(Client::InProcess(Box::new(ReferenceClient)), options("all", 8), &mut |_| {});
    assert_eq!(report.error, None);
    assert!(failed(&report).is_empty(), "{}", explain(&report));
    assert_eq!(report.exit_code, 0);
    let names: Vec<&str> = report.vendors.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["agencyhandy", "cellcast", "smartlead", "voiceaiwrapper"]);
    // Every property is exercised for every vendor, except where the spec makes it inapplicable.
    let skipped: BTreeSet<(String, String)> = report
        .vendors
        .iter()
        .flat_map(|v| v.properties.iter().filter(|p| p.status == Status::Skip).map(|p| (v.name.clone(), p.id.clone())))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("cellcast", "request.auth_header_case"),
        ("smartlead", "request.auth_header_case"),
        ("voiceaiwrapper", "request.auth_header_case"),
        ("cellcast", "response.id"),
        // SmartLead's 422 names no field (`{"error":"Invalid parameters provided"}`).
        ("smartlead", "response.validation_fields"),
    ]
    .into_iter()
    .map(|(v, p)| (v.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(skipped, expected);
    // Every scenario's variants share its cases (each variant at least one); forbidden runs for
    // AgencyHandy only, the time-out scenario a few cases.
    let cases = u64::from(cases_or_env(8));
    assert!((4 * 9 * cases..=4 * 12 * cases).contains(&report.cases_run), "{} cases", report.cases_run);
}

/// One realistic bug in an otherwise correct client.
#[derive(Debug, Clone, Copy)]
enum Bug {
    /// Sends AgencyHandy's `companyId` header as `companyid`.
    LowercaseCompanyId,
    /// Reports a duplicate as created (an "idempotent" create).
    DuplicateAsCreated,
    /// Sends the request again after a 401.
    Retries401,
    /// Serialises an absent optional field the schema does not let be null (`is_credit_assigned`)
    /// as `null`.
    NullForOmitted,
    /// Sends SmartLead's `password`, `logo` and `logo_url` as `null` when the input omits them.
    NullsForOptionals,
    /// Sends AgencyHandy's documented default `status: "New"` when an entry omits it.
    SendsDefaults,
    /// Treats only 4xx as errors: a 5xx is reported as created.
    SuccessOn5xx,
    /// Drops the id of the answer.
    ForgetsId,
    /// Panics on its third create.
    PanicsOnce,
    /// Puts the API key in the query without percent-encoding it.
    KeyNotEncoded,
    /// Lowercases e-mail addresses before sending them.
    LowercasesEmails,
    /// Trims e-mail addresses before sending them.
    TrimsEmails,
    /// Drops VoiceAIWrapper users whose e-mail (in any case) an earlier user has.
    DedupesUsers,
    /// Matches AgencyHandy's `createdMembers` back to the entries by name.
    MatchesByName,
    /// Takes Cellcast's 400 for a duplicate mobile number for a validation error (only the
    /// e-mail's "already exist" is read as a duplicate).
    DuplicateMobileAsValidation,
    /// Reads a 403 (a tenant that is not the key's) as an unexpected response.
    MisreadsForbidden,
    /// Ignores `timeout_ms` and waits up to its own 10 s default.
    IgnoresTimeout,
    /// Reports a 4xx it does not know (404, 405, 413, …) as a validation error.
    UndocumentedAsValidation,
    /// Reports every 403 as `unauthorized`, from vendors that document none too.
    ForbiddenAsUnauthorized,
    /// Reports `created` for any 200, whatever its body.
    AnySuccessCreated,
    /// Names a field the input does not have in its validation errors.
    WrongValidationField,
    /// Reads every 400 as an unexpected response (as if the vendor documented only its 422).
    Misreads400,
    /// Picks the field out of a Joi message (`"forward_email_body" must be a string`) one
    /// character short (`orward_email_body`).
    SlicesJoiField,
    /// Its `ready` leaves AgencyHandy out.
    DropsAgencyHandy,
    /// Its `ready` lists AgencyHandy, but it answers every AgencyHandy case `skipped`.
    SkipsAgencyHandy,
}

struct BrokenClient {
    bug: Bug,
    creates: u32,
}

impl ClientUnderTest for BrokenClient {
    fn start(&mut self) -> Ready {
        let vendors = if matches!(self.bug, Bug::DropsAgencyHandy) { &VENDORS[..3] } else { &VENDORS[..] };
        Ready::new(&format!("broken-{:?}", self.bug), "rust", "0", vendors)
    }

    fn create_client(&mut self, request: &CreateClient) -> Reply {
        self.creates += 1;
        if matches!(self.bug, Bug::SkipsAgencyHandy) && request.vendor == "agencyhandy" {
            return Reply::Skipped { seq: request.seq, message: "not supported".into() };
        }
        if matches!(self.bug, Bug::PanicsOnce) && self.creates == 3 {
            panic!("the broken client panics on purpose");
        }
        let input = self.mangled(&request.input);
        let mut http = match build_request(&request.vendor, &request.credentials, &input) {
            Ok(r) => r,
            Err(e) => return Reply::errored(request.seq, e),
        };
        if matches!(self.bug, Bug::LowercaseCompanyId) {
            for (name, _) in &mut http.headers {
                if name == "companyId" {
                    *name = "companyid".into();
                }
            }
        }
        if let (Bug::KeyNotEncoded, Some(key)) = (self.bug, request.credentials.get("api_key"))
            && let Some((path, _)) = http.target.split_once("?api_key=")
        {
            http.target = format!("{path}?api_key={key}");
        }
        let timeout = if matches!(self.bug, Bug::IgnoresTimeout) { DEFAULT_TIMEOUT } else { timeout_of(request) };
        let mut response = send(&request.base_url, &http, timeout);
        if matches!(self.bug, Bug::Retries401) && response.as_ref().is_ok_and(|r| r.status == 401) {
            response = send(&request.base_url, &http, timeout);
        }
        let mut outcome = match &response {
            Ok(r) => self.interpret(&request.vendor, &input, r),
            Err(_) => ClientOutcome::TransportError {},
        };
        let fix = |o: &mut ClientOutcome| match (self.bug, &*o) {
            (Bug::DuplicateAsCreated, ClientOutcome::Duplicate {}) => *o = ClientOutcome::Created { id: None },
            (Bug::ForgetsId, ClientOutcome::Created { .. }) => *o = ClientOutcome::Created { id: None },
            _ => {}
        };
        match &mut outcome {
            ClientOutcome::Bulk { entries } => entries.iter_mut().for_each(fix),
            o => fix(o),
        }
        Reply::Outcome { seq: request.seq, outcome }
    }
}

impl BrokenClient {
    /// The input as this client sends it.
    fn mangled(&self, input: &Value) -> Value {
        let mut input = input.clone();
        match (self.bug, &mut input) {
            (Bug::NullForOmitted, Value::Object(map)) => {
                map.entry("is_credit_assigned").or_insert(Value::Null);
            }
            (Bug::NullsForOptionals, Value::Object(map)) => {
                for optional in ["password", "logo", "logo_url"] {
                    map.entry(optional).or_insert(Value::Null);
                }
            }
            (Bug::SendsDefaults, Value::Array(entries)) => {
                for entry in entries.iter_mut().filter_map(Value::as_object_mut) {
                    entry.entry("status").or_insert_with(|| Value::from("New"));
                }
            }
            (Bug::LowercasesEmails, _) => emails(&mut input, &|e| e.to_lowercase()),
            (Bug::TrimsEmails, _) => emails(&mut input, &|e| e.trim().to_owned()),
            (Bug::DedupesUsers, Value::Object(map)) => {
                if let Some(Value::Array(users)) = map.get_mut("client_users") {
                    let mut seen = BTreeSet::new();
                    users.retain(|u| seen.insert(u["email"].as_str().unwrap_or_default().to_lowercase()));
                }
            }
            _ => {}
        }
        input
    }

    /// What this client makes of an answer.
    fn interpret(&self, vendor: &str, sent: &Value, r: &crate::reference_client::HttpResponse) -> ClientOutcome {
        let body = r.json().unwrap_or(Value::Null);
        match (self.bug, vendor, r.status) {
            (Bug::SuccessOn5xx, _, 500..) => ClientOutcome::Created { id: None },
            (Bug::MisreadsForbidden, _, 403) => ClientOutcome::UnexpectedResponse {},
            (Bug::Misreads400, _, 400) => ClientOutcome::UnexpectedResponse {},
            (Bug::SlicesJoiField, _, 400) if body["message"].as_str().is_some_and(|m| m.starts_with('"')) => {
                let message = body["message"].as_str().unwrap_or_default();
                let field = message.get(2..).unwrap_or_default().split('"').next().unwrap_or_default();
                ClientOutcome::ValidationError { fields: Some(vec![field.to_owned()]) }
            }
            (Bug::DuplicateMobileAsValidation, "cellcast", 400) if body["error"].get("email").is_none() => {
                ClientOutcome::ValidationError { fields: None }
            }
            (Bug::MatchesByName, "agencyhandy", 200) => by_name(sent, &body),
            (Bug::ForbiddenAsUnauthorized, _, 403) => ClientOutcome::Unauthorized {},
            _ => match (self.bug, interpret(vendor, sent, r)) {
                (Bug::UndocumentedAsValidation, ClientOutcome::UnexpectedResponse {})
                    if (400..500).contains(&r.status) =>
                {
                    ClientOutcome::ValidationError { fields: None }
                }
                (Bug::AnySuccessCreated, ClientOutcome::UnexpectedResponse {}) if r.status == 200 => {
                    ClientOutcome::Created { id: None }
                }
                (Bug::WrongValidationField, ClientOutcome::ValidationError { .. }) => {
                    ClientOutcome::ValidationError { fields: Some(vec!["not_a_field".into()]) }
                }
                (_, outcome) => outcome,
            },
        }
    }
}

/// Rewrites every string under a key named `email`.
fn emails(value: &mut Value, change: &dyn Fn(&str) -> String) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(s) if k == "email" => *s = change(s),
                    other => emails(other, change),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| emails(v, change)),
        _ => {}
    }
}

/// AgencyHandy's answer read by name: each entry takes the id of the first created member with
/// its name (wrong for two entries of the same name).
fn by_name(sent: &Value, body: &Value) -> ClientOutcome {
    let created = body["createdMembers"].as_array().cloned().unwrap_or_default();
    let failed: BTreeSet<u64> =
        body["failedMembers"].as_array().into_iter().flatten().filter_map(|f| f["index"].as_u64()).collect();
    let entries = sent
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, entry)| {
            let name = format!(
                "{} {}",
                entry["firstName"].as_str().unwrap_or_default(),
                entry["lastName"].as_str().unwrap_or_default()
            );
            match created.iter().find(|m| m["name"] == name.as_str()) {
                _ if failed.contains(&(i as u64)) => ClientOutcome::Duplicate {},
                Some(m) => ClientOutcome::Created { id: Some(m["_id"].clone()) },
                None => ClientOutcome::UnexpectedResponse {},
            }
        })
        .collect();
    ClientOutcome::Bulk { entries }
}

fn run_broken(bug: Bug, vendor: &str) -> RunReport {
    let client = Client::InProcess(Box::new(BrokenClient { bug, creates: 0 }));
    run(client, options(vendor, 6), &mut |_| {})
}

fn assert_caught_by(report: &RunReport, vendor: &str, expected: &[&str]) {
    assert_eq!(report.error, None);
    let expected: BTreeSet<(String, String)> = expected.iter().map(|p| (vendor.to_owned(), (*p).to_owned())).collect();
    assert_eq!(failed(report), expected, "{}", explain(report));
    assert_eq!(report.exit_code, 1);
    for (v, p) in &expected {
        let f = report.failures.iter().find(|f| &f.vendor == v && &f.property == p).expect("a failure report");
        assert!(!f.expected.is_empty() && f.expected != f.actual, "{f:?}");
    }
}

#[test]
fn a_lowercase_company_id_header_is_caught_by_the_header_case_property() {
    let report = run_broken(Bug::LowercaseCompanyId, "agencyhandy");
    assert_caught_by(&report, "agencyhandy", &["request.auth_header_case"]);
    let f = &report.failures[0];
    assert_eq!(f.expected, format!("companyId: {}", f.expected.trim_start_matches("companyId: ")));
    assert!(f.actual.starts_with("companyid: "), "{}", f.actual);
    assert!(f.requests[0].contains("\ncompanyid: "), "the raw request shows the name as sent: {}", f.requests[0]);
}

#[test]
fn reporting_a_duplicate_as_created_is_caught_by_the_duplicate_properties() {
    let report = run_broken(Bug::DuplicateAsCreated, "cellcast");
    assert_caught_by(&report, "cellcast", &["response.duplicate", "sequence.create_then_duplicate"]);
}

#[test]
fn a_bulk_client_reporting_duplicate_entries_as_created_is_caught_per_entry() {
    let report = run_broken(Bug::DuplicateAsCreated, "agencyhandy");
    assert_caught_by(&report, "agencyhandy", &["response.duplicate", "sequence.create_then_duplicate"]);
    let f = report.failures.iter().find(|f| f.property == "response.duplicate").expect("reported");
    assert!(f.message.starts_with("entry "), "{}", f.message);
    assert!(f.case.precreate.is_some() || f.case.variant.starts_with("within:"), "{:?}", f.case);
}

#[test]
fn retrying_after_a_401_is_caught_by_the_no_retry_property() {
    let report = run_broken(Bug::Retries401, "voiceaiwrapper");
    assert_caught_by(&report, "voiceaiwrapper", &["request.no_retry_after_4xx"]);
    assert_eq!(report.failures[0].requests.len(), 2, "both requests are shown");
    assert!(report.failures[0].answers[0].starts_with("HTTP 401"));
}

#[test]
fn null_for_an_omitted_optional_field_is_caught_by_the_optional_omitted_property() {
    let report = run_broken(Bug::NullForOmitted, "smartlead");
    // The client sends null for every omitted optional field: SmartLead accepts it for
    // `password`/`logo_url` (issue 11), not for `is_credit_assigned`, so the schema breaks too.
    assert_caught_by(&report, "smartlead", &["request.body_schema", "request.optional_omitted"]);
    let f = report.failures.iter().find(|f| f.property == "request.optional_omitted").expect("reported");
    assert!(f.message.contains("is sent as null"), "{}", f.message);
}

#[test]
fn reporting_success_on_a_5xx_is_caught_by_the_server_error_property() {
    let report = run_broken(Bug::SuccessOn5xx, "smartlead");
    assert_caught_by(&report, "smartlead", &["response.server_error"]);
    assert!(report.failures[0].case.fault.is_some());
}

#[test]
fn dropping_the_id_is_caught_by_the_id_property() {
    let report = run_broken(Bug::ForgetsId, "voiceaiwrapper");
    assert_caught_by(&report, "voiceaiwrapper", &["response.id"]);
}

#[test]
fn a_client_that_panics_once_fails_the_case_and_is_started_again() {
    let mut restarts = 0;
    let report = run(
        Client::InProcess(Box::new(BrokenClient { bug: Bug::PanicsOnce, creates: 0 })),
        options("smartlead", 4),
        &mut |e| {
            if let conformance::Event::HarnessRestarted { reason, .. } = e {
                assert!(reason.contains("panics on purpose"), "{reason}");
                restarts += 1;
            }
        },
    );
    assert_eq!(restarts, 1);
    assert_caught_by(&report, "smartlead", &["response.answers"]);
    assert!(report.cases_run > 30, "the run went on after the crash");
}

#[test]
fn a_failure_is_shrunk_to_a_minimal_counterexample() {
    let report = run_broken(Bug::LowercaseCompanyId, "agencyhandy");
    let f = &report.failures[0];
    assert!(f.shrink_steps > 0);
    let entries = f.case.input.as_array().expect("a bulk body");
    assert_eq!(entries.len(), 1, "one entry is enough: {}", f.case.input);
    let keys: BTreeSet<&str> = entries[0].as_object().expect("an entry").keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["firstName", "lastName", "email", "isConvertedClient"]), "only required fields");
    assert_eq!(entries[0]["firstName"], "a");
}

#[test]
fn a_saved_failure_replays_against_the_broken_client_and_holds_for_the_reference() {
    let dir = e2e::suite::tempdir();
    let mut opts = options("cellcast", 4);
    opts.replay_dir = Some(dir.path().to_owned());
    let client = Client::InProcess(Box::new(BrokenClient { bug: Bug::DuplicateAsCreated, creates: 0 }));
    let report = run(client, opts.clone(), &mut |_| {});
    let f = report.failures.iter().find(|f| f.property == "response.duplicate").expect("caught");
    let path = f.replay_file.clone().expect("saved");
    assert!(f.replay_command.as_deref().is_some_and(|c| c.starts_with("vendor-conformance replay ")));
    let file: conformance::ReplayFile =
        serde_json::from_slice(&std::fs::read(&path).expect("the replay file exists")).expect("it parses");
    assert_eq!((file.vendor.as_str(), file.property.as_str()), ("cellcast", "response.duplicate"));

    let broken = Client::InProcess(Box::new(BrokenClient { bug: Bug::DuplicateAsCreated, creates: 0 }));
    let (_, again, _) = conformance::replay(broken, &file, opts.clone(), &mut |_| {}).expect("replays");
    let again = again.expect("it still fails");
    assert_eq!(again.case, file.case);
    assert_eq!(again.expected, f.expected);
    assert_eq!(again.actual, f.actual);

    let (executed, fixed, _) =
        conformance::replay(Client::InProcess(Box::new(ReferenceClient)), &file, opts, &mut |_| {}).expect("replays");
    assert_eq!(fixed, None);
    assert!(executed.verdicts.failed().is_empty());
}

#[test]
fn the_summary_matrix_and_a_header_case_failure_report_are_stable() {
    // Fixed case counts, whatever $PROPTEST_CASES says: the snapshots must not move.
    let fixed = |vendor: &str, cases: u32| RunOptions { cases, ..options(vendor, cases) };
    let report = run(Client::InProcess(Box::new(ReferenceClient)), fixed("all", 2), &mut |_| {});
    snapshot!("conformance__reference_matrix", report.matrix());

    let dir = e2e::suite::tempdir();
    let mut opts = fixed("agencyhandy", 4);
    opts.replay_dir = Some(dir.path().to_owned());
    let report =
        run(Client::InProcess(Box::new(BrokenClient { bug: Bug::LowercaseCompanyId, creates: 0 })), opts, &mut |_| {});
    let text = e2e::suite::redact(&render_failure(&report.failures[0]), Some(dir.path()));
    snapshot!("conformance__failure_report", text);
}

#[test]
fn the_reference_client_passes_against_an_external_mock_that_masks_secrets() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let server = runtime.block_on(vendor_mock::MockServer::builder().seed(5).start());
    let opts = RunOptions { mock_url: Some(server.uri()), ..options("all", 3) };
    let report = run(Client::InProcess(Box::new(ReferenceClient)), opts, &mut |_| {});
    assert_eq!(report.error, None);
    assert!(report.mock.ends_with("(external)"), "{}", report.mock);
    assert!(failed(&report).is_empty(), "{}", explain(&report));
    // The mock it read masks its journal (the run ends on a case whose request the client gave
    // up on, so the journal is looked at with a request of the test's own).
    let create = format!("{}/api/v2/subClient/user", server.uri());
    let sent = runtime
        .block_on(reqwest::Client::new().post(&create).bearer_auth("secret-token").json(&serde_json::json!({})).send());
    assert!(sent.is_ok());
    let masked = server.journal().iter().any(|e| e.headers.iter().any(|(_, v)| v == "Bearer secr****"));
    assert!(masked, "the external mock masks secrets by default: {:?}", server.journal());
}

/// A bug the suite once missed (issue 12), the vendor that shows it, and the property that
/// must catch it; checked on several seeds, each against the reference client too.
fn caught_on_several_seeds(bug: Bug, vendor: &str, property: &str) {
    for seed in [1, 2, 3] {
        let opts = RunOptions { seed, ..options(vendor, 6) };
        let report = run(Client::InProcess(Box::new(BrokenClient { bug, creates: 0 })), opts.clone(), &mut |_| {});
        assert_eq!(report.error, None, "{bug:?}, seed {seed}");
        assert_eq!(report.exit_code, 1, "{bug:?}, seed {seed}: not caught");
        assert!(
            failed(&report).contains(&(vendor.to_owned(), property.to_owned())),
            "{bug:?}, seed {seed}: {property} did not fail: {:?}",
            failed(&report)
        );
        let reference = run(Client::InProcess(Box::new(ReferenceClient)), opts, &mut |_| {});
        assert_eq!(reference.exit_code, 0, "the reference client, seed {seed}: {}", explain(&reference));
    }
}

#[test]
fn an_api_key_sent_without_percent_encoding_is_caught_by_the_auth_property() {
    caught_on_several_seeds(Bug::KeyNotEncoded, "smartlead", "request.auth");
}

#[test]
fn lowercased_e_mails_are_caught_by_the_body_carried_property() {
    caught_on_several_seeds(Bug::LowercasesEmails, "smartlead", "request.body_carried");
}

#[test]
fn trimmed_e_mails_are_caught_by_the_body_carried_property() {
    caught_on_several_seeds(Bug::TrimsEmails, "voiceaiwrapper", "request.body_carried");
}

#[test]
fn users_de_duplicated_by_e_mail_are_caught_by_the_body_carried_property() {
    caught_on_several_seeds(Bug::DedupesUsers, "voiceaiwrapper", "request.body_carried");
}

#[test]
fn entries_matched_back_by_name_are_caught_by_the_id_property() {
    caught_on_several_seeds(Bug::MatchesByName, "agencyhandy", "response.id");
}

#[test]
fn a_duplicate_mobile_reported_as_a_validation_error_is_caught_by_the_duplicate_property() {
    caught_on_several_seeds(Bug::DuplicateMobileAsValidation, "cellcast", "response.duplicate");
}

#[test]
fn a_misread_403_for_another_accounts_company_is_caught_by_the_unauthorized_property() {
    caught_on_several_seeds(Bug::MisreadsForbidden, "agencyhandy", "response.unauthorized");
}

#[test]
fn a_4xx_no_vendor_documents_reported_as_a_validation_error_is_caught_by_the_unexpected_response_property() {
    caught_on_several_seeds(Bug::UndocumentedAsValidation, "smartlead", "response.unexpected_response");
    caught_on_several_seeds(Bug::UndocumentedAsValidation, "agencyhandy", "response.unexpected_response");
}

#[test]
fn a_403_from_a_vendor_that_documents_none_read_as_unauthorized_is_caught_by_the_unexpected_response_property() {
    caught_on_several_seeds(Bug::ForbiddenAsUnauthorized, "cellcast", "response.unexpected_response");
}

#[test]
fn a_200_without_the_success_fields_reported_as_created_is_caught_by_the_unexpected_response_property() {
    caught_on_several_seeds(Bug::AnySuccessCreated, "voiceaiwrapper", "response.unexpected_response");
}

#[test]
fn validation_errors_naming_another_field_are_caught_by_the_validation_fields_property() {
    caught_on_several_seeds(Bug::WrongValidationField, "cellcast", "response.validation_fields");
    caught_on_several_seeds(Bug::WrongValidationField, "voiceaiwrapper", "response.validation_fields");
}

#[test]
fn a_misread_documented_400_the_mock_never_answers_itself_is_caught_by_the_validation_error_property() {
    // SmartLead answers a schema violation with its 422; its spec also documents a Joi/Boom 400,
    // which the suite injects (`validation/documented:400:joi`).
    caught_on_several_seeds(Bug::Misreads400, "smartlead", "response.validation_error");
}

#[test]
fn a_field_misread_from_the_documented_joi_400_is_caught_by_the_validation_fields_property() {
    caught_on_several_seeds(Bug::SlicesJoiField, "smartlead", "response.validation_fields");
}

#[test]
fn a_misread_403_for_a_forbidden_token_prefix_is_caught_by_the_unauthorized_property() {
    caught_on_several_seeds(Bug::MisreadsForbidden, "voiceaiwrapper", "response.unauthorized");
    let report = run_broken(Bug::MisreadsForbidden, "voiceaiwrapper");
    let f = report.failures.iter().find(|f| f.property == "response.unauthorized").expect("reported");
    assert_eq!(f.case.variant, "prefix:forbidden:token", "VoiceAIWrapper's forbidden_prefixes, from the spec model");
    assert!(f.message.contains("HTTP 403"), "{}", f.message);
}

#[test]
fn a_vendor_left_out_of_ready_is_skipped_unless_require_vendors_makes_it_a_failure() {
    let client = || Client::InProcess(Box::new(BrokenClient { bug: Bug::DropsAgencyHandy, creates: 0 }));
    let lenient = run(client(), options("all", 2), &mut |_| {});
    assert_eq!(lenient.exit_code, 0, "{}", explain(&lenient));
    assert!(lenient.vendors.iter().any(|v| v.name == "agencyhandy" && v.skipped.is_some()));
    let strict = run(client(), RunOptions { require_vendors: true, ..options("all", 2) }, &mut |_| {});
    assert_eq!(strict.exit_code, 1);
    assert_eq!(failed(&strict), BTreeSet::from([("agencyhandy".to_owned(), "response.answers".to_owned())]));
    assert!(strict.matrix().contains("agencyhandy: not run, a failure: "), "{}", strict.matrix());
    // A vendor `ready` lists but whose cases are all `skipped` is the same gap.
    let skipping = || Client::InProcess(Box::new(BrokenClient { bug: Bug::SkipsAgencyHandy, creates: 0 }));
    assert_eq!(run(skipping(), options("agencyhandy", 2), &mut |_| {}).exit_code, 4, "nothing ran");
    let strict = run(skipping(), RunOptions { require_vendors: true, ..options("agencyhandy", 2) }, &mut |_| {});
    assert_eq!(strict.exit_code, 1, "{}", explain(&strict));
    assert_eq!(failed(&strict), BTreeSet::from([("agencyhandy".to_owned(), "response.answers".to_owned())]));
    let reference = run(
        Client::InProcess(Box::new(ReferenceClient)),
        RunOptions { require_vendors: true, ..options("all", 2) },
        &mut |_| {},
    );
    assert_eq!(reference.exit_code, 0, "{}", explain(&reference));
}

#[test]
fn a_client_that_ignores_its_time_out_is_caught_by_the_transport_error_property() {
    caught_on_several_seeds(Bug::IgnoresTimeout, "smartlead", "response.transport_error");
}

/// A copy of the specs where SmartLead's `password`, `logo` and `logo_url` may be `null`, as
/// SmartLead accepts them (issue 11; a no-op once the repository's spec says so).
fn specs_with_nullable_smartlead_optionals() -> tempfile::TempDir {
    let dir = e2e::suite::tempdir();
    let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    for entry in std::fs::read_dir(&specs).expect("the specs folder") {
        let path = entry.expect("an entry").path();
        let text = std::fs::read_to_string(&path).expect("a spec");
        let name = path.file_name().expect("a name").to_owned();
        let text = if name == "smartlead.yaml" {
            let mut doc: Value = yaml_serde::from_str(&text).expect("YAML");
            let props = &mut doc["components"]["schemas"]["CreateClientRequest"]["properties"];
            for field in ["password", "logo", "logo_url"] {
                props[field]["type"] = serde_json::json!(["string", "null"]);
                props[field].as_object_mut().expect("a property").remove("contentEncoding");
            }
            serde_json::to_string_pretty(&doc).expect("JSON is YAML")
        } else {
            text
        };
        std::fs::write(dir.path().join(name), text).expect("write a spec");
    }
    dir
}

#[test]
fn nulls_the_vendor_accepts_for_optional_fields_are_warnings_not_failures() {
    let specs = specs_with_nullable_smartlead_optionals();
    let opts = RunOptions { specs: Some(specs.path().to_owned()), ..options("smartlead", 4) };
    let client = || Client::InProcess(Box::new(BrokenClient { bug: Bug::NullsForOptionals, creates: 0 }));
    let mut warnings = Vec::new();
    let report = run(client(), opts.clone(), &mut |e| {
        if let conformance::Event::Warning(w) = e {
            warnings.push(w.property.clone());
        }
    });
    assert_eq!(report.exit_code, 0, "{}", explain(&report));
    assert!(failed(&report).is_empty(), "{}", explain(&report));
    let status = |id: &str| report.vendors[0].properties.iter().find(|p| p.id == id).map(|p| p.status);
    assert_eq!(status("request.optional_omitted"), Some(Status::Warn));
    assert_eq!(status("request.body_schema"), Some(Status::Pass));
    assert_eq!(warnings, ["request.optional_omitted"], "one warning event per property");
    let w = &report.warnings[0];
    assert!(w.message.contains("` is sent as null") && w.message.contains("docs do not promise"), "{w:?}");
    assert!(render_failure(w).starts_with("WARN request.optional_omitted [smartlead] "), "{}", render_failure(w));
    let matrix = report.matrix();
    let row = matrix.lines().find(|l| l.starts_with("request.optional_omitted ")).unwrap_or_default();
    assert!(row.ends_with(" warn"), "{matrix}");
    assert!(report.summary_line().contains(" warned, "), "{}", report.summary_line());
    let junit = report.junit();
    assert!(junit.contains(r#"<property name="warning" value="`"#), "{junit}");

    let strict = run(client(), RunOptions { strict: true, ..opts }, &mut |_| {});
    assert_eq!(strict.exit_code, 1, "--strict: warnings fail the run");
    assert!(strict.junit().contains("<failure"), "under --strict the JUnit case fails");
}

#[test]
fn a_documented_default_sent_explicitly_is_a_warning_and_other_additions_fail() {
    let report = run_broken(Bug::SendsDefaults, "agencyhandy");
    assert_eq!(report.exit_code, 0, "{}", explain(&report));
    let carried = report.vendors[0].properties.iter().find(|p| p.id == "request.body_carried").expect("listed");
    assert_eq!(carried.status, Status::Warn, "{carried:?}");
    assert!(carried.warned > 0 && carried.failed == 0, "{carried:?}");
    let w = report.warnings.iter().find(|w| w.property == "request.body_carried").expect("a warning");
    assert!(w.message.contains(".status` is not in the input but sent as \"New\""), "{}", w.message);
    // Another value than the default is the client's invention: a failure.
    let report = run_broken(Bug::NullForOmitted, "smartlead");
    assert_eq!(report.exit_code, 1);
}
