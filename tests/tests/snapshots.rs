//! Every documented and assumed answer of every vendor, derived from the spec files alone:
//! snapshotted (`snapshots/<vendor>__<scenario>.snap`) and validated against the schemas the
//! spec gives for it. A fifth vendor's spec file gets the same catalogue without test code.

use std::collections::BTreeSet;

use e2e::{
    ACME_SPEC, Expect, Ran, VendorSpec, check_answer, embedded, generated_values, run_scenarios, seeded, serve,
    snapshot_of,
};
use vendor_mock::Specs;

const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots");

/// Every revision of every vendor: the specs serving it, its spec, and its snapshot prefix
/// (`agencyhandy`, `agencyhandy@2026-07`).
fn every_revision(specs: &Specs) -> Vec<(Specs, VendorSpec, String)> {
    let mut out = Vec::new();
    for vendor in specs.vendor_names() {
        for revision in specs.revisions(&vendor) {
            let chosen = specs.with_revisions(&[(vendor.clone(), revision.clone())]).expect("listed revisions load");
            let label =
                if revision == vendor_mock::DEFAULT_REVISION { vendor.clone() } else { format!("{vendor}@{revision}") };
            out.push((chosen.clone(), VendorSpec::of(&chosen, &vendor), label));
        }
    }
    out
}

/// Runs the whole catalogue of one vendor on a fresh, seeded mock.
async fn catalogue(specs: &Specs, spec: &VendorSpec) -> (Vec<Ran>, Vec<(serde_json::Value, &'static str)>) {
    let server = serve(specs.clone(), seeded(1)).await;
    let ran = run_scenarios(spec, &server).await;
    let creds = spec.account(server.addr, "a").await;
    let tenants: Vec<String> =
        spec.credentials().iter().filter(|p| p.tenant).filter_map(|p| creds.get(&p.name).map(str::to_owned)).collect();
    let generated = generated_values(spec, &server.mock, &tenants);
    (ran, generated)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_and_assumed_answer_of_every_vendor_matches_its_snapshot() {
    let embedded = embedded();
    let mut names = BTreeSet::new();
    let revisions = every_revision(&embedded);
    assert!(revisions.len() > embedded.vendor_names().len(), "the embedded specs carry dated revisions too");
    for (specs, spec, label) in revisions {
        let op = spec.create_op();
        let (ran, generated) = catalogue(&specs, &spec).await;
        for Ran { scenario, response, .. } in &ran {
            let name = format!("{label}__{}", scenario.name);
            assert!(names.insert(name.clone()), "scenario names are unique: {name}");
            let snapshot = snapshot_of(response, &generated);
            match scenario.name.as_str() {
                "not_found" => {
                    let nearest = format!("{} {}", op.method, op.path);
                    assert!(response.text().contains(&nearest), "{name}: the 404 names the nearest route {nearest}");
                }
                "method_not_allowed" => {
                    assert_eq!(response.header("allow"), Some(op.method.as_str()), "{name}: Allow lists the method");
                }
                _ => {}
            }
            if matches!(scenario.expect, Expect::Success { .. }) {
                for (value, _) in generated.iter().filter(|(v, _)| v.is_string()) {
                    let shown = snapshot.to_string();
                    let value = value.as_str().unwrap_or_default();
                    assert!(!shown.contains(value), "{name}: generated value {value} is redacted");
                }
            }
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path(SNAPSHOTS);
            settings.set_prepend_module_to_snapshot(false);
            settings.set_omit_expression(true);
            settings.set_description(&scenario.about);
            settings.set_info(&scenario.shown);
            settings.bind(|| insta::assert_json_snapshot!(name, snapshot));
        }
    }

    // No snapshot of a vendor is left over from a scenario that no longer exists.
    let vendors = embedded.vendor_names();
    for entry in std::fs::read_dir(SNAPSHOTS).expect("the snapshots folder exists") {
        let file = entry.expect("read snapshots/").file_name().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".snap") else { continue };
        let is_vendor =
            vendors.iter().any(|v| stem.starts_with(&format!("{v}__")) || stem.starts_with(&format!("{v}@")));
        assert!(!is_vendor || names.contains(stem), "snapshots/{file} belongs to no scenario: delete it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_validates_against_the_schemas_its_spec_documents_for_it() {
    for (specs, spec, label) in every_revision(&embedded()) {
        let (ran, _) = catalogue(&specs, &spec).await;
        let checked: usize = ran.iter().map(|r| check_answer(&spec, r)).sum();
        assert!(checked >= ran.len(), "{label}: every answer is checked against at least one schema");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_covers_every_unique_rule_required_field_prefix_and_request_example_of_every_vendor() {
    let specs = embedded();
    for spec in VendorSpec::all(&specs) {
        let (ran, _) = catalogue(&specs, &spec).await;
        let names: BTreeSet<&str> = ran.iter().map(|r| r.scenario.name.as_str()).collect();
        let op = spec.create_op();
        let mut expected: Vec<String> = [
            "success",
            "duplicate",
            "missing_credentials",
            "malformed_json",
            "empty_body",
            "wrong_content_type",
            "invalid_utf8",
            "nesting_200_deep",
            "not_found",
            "method_not_allowed",
            "too_large",
        ]
        .map(String::from)
        .to_vec();
        expected.extend(op.unique_rules().iter().map(|r| format!("duplicate_{}", r.name)));
        expected.extend(op.required().iter().map(|f| format!("missing_{f}")));
        expected.extend(spec.reject_prefixes().iter().map(|p| format!("credential_{p}")));
        expected.extend(spec.forbidden_prefixes().iter().map(|p| format!("credential_{p}")));
        expected.extend(op.other_examples().iter().map(|(name, _)| format!("example_{name}")));
        if op.is_bulk() {
            expected.push("bulk_partial".into());
        }
        if !spec.list_ops().is_empty() {
            expected.push("list_tenants".into());
        }
        for name in &expected {
            assert!(names.contains(name.as_str()), "{}: the catalogue has scenario {name}", spec.name);
        }
        assert!(!op.required().is_empty(), "{}: the request schema names required fields", spec.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_vendor_spec_gets_the_whole_catalogue_and_valid_answers_without_new_test_code() {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    std::fs::write(dir.path().join("acme.yaml"), ACME_SPEC).expect("write the fifth vendor's spec");
    let specs = Specs::from_dir(dir.path()).expect("the fifth vendor's spec loads");
    assert_eq!(specs.vendor_names(), ["acme"]);
    let spec = VendorSpec::of(&specs, "acme");
    let (ran, _) = catalogue(&specs, &spec).await;
    for r in &ran {
        check_answer(&spec, r);
    }
    let status = |name: &str| ran.iter().find(|r| r.scenario.name == name).map(|r| r.response.status);
    assert_eq!(status("success"), Some(201));
    assert_eq!(status("duplicate"), Some(409));
    assert_eq!(status("missing_plan"), Some(400));
    assert_eq!(status("credential_expired"), Some(401));
    assert_eq!(status("method_not_allowed"), Some(405));
    let duplicate = ran.iter().find(|r| r.scenario.name == "duplicate").expect("a duplicate scenario");
    assert_eq!(duplicate.response.json(), serde_json::json!({"problem": "taken: ops@acme.test"}));
}
