//! Self-test of the schema → strategy compiler against the mock itself: every generated valid
//! input is created, and every negative input is rejected as `invalid` at the field the generator
//! says it broke.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use conformance::VendorModel;
use conformance::{Generator, sample};
use conformance::{InProcessMock, MockAccess, send_request};
use serde_json::Value;
use vendor_mock::{Entry, Outcome};

const SAMPLES: usize = 40;

fn models() -> (InProcessMock, Vec<VendorModel>) {
    let specs = vendor_mock::Specs::embedded().expect("the embedded specs load");
    let models = specs.vendors().iter().map(|v| VendorModel::new(std::sync::Arc::clone(v)).expect("a model")).collect();
    (InProcessMock::start(specs, 1).expect("the mock starts"), models)
}

/// Valid credentials for a vendor (tenants looked up over HTTP, as the runner does).
fn credentials(mock: &InProcessMock, model: &VendorModel, n: usize) -> BTreeMap<String, String> {
    let mut creds: BTreeMap<String, String> =
        model.credentials().iter().filter(|c| !c.tenant).map(|c| (c.name.clone(), format!("selftest-{n}"))).collect();
    if let Some(lookup) = model.lookup_request(&creds) {
        let answer = send_request(&mock.base_url(), &lookup, Duration::from_secs(5)).expect("the look-up answers");
        let tenant = model.first_tenant(&serde_json::from_slice(&answer.body).expect("JSON")).expect("a tenant");
        for part in model.credentials().iter().filter(|c| c.tenant) {
            creds.insert(part.name.clone(), tenant.clone());
        }
    }
    creds
}

fn post(mock: &InProcessMock, model: &VendorModel, n: usize, body: &Value) -> Entry {
    mock.reset().expect("reset");
    let creds = credentials(mock, model, n);
    mock.clear_journal().expect("clear");
    let request = model.expected_request(&creds, body);
    send_request(&mock.base_url(), &request, Duration::from_secs(5)).expect("the mock answers");
    mock.journal().expect("journal").pop().expect("the request is journalled")
}

#[test]
fn every_generated_valid_input_is_created_by_the_mock() {
    let (mock, models) = models();
    for model in &models {
        let generator = Generator::for_vendor(model).expect("the schema compiles");
        for (n, input) in sample(&generator.valid(), SAMPLES, 21).iter().enumerate() {
            let entry = post(&mock, model, n, input);
            let created = match &entry.outcome {
                Outcome::Created { .. } => true,
                Outcome::Bulk { failed, .. } => failed.is_empty(),
                _ => false,
            };
            assert!(created, "{}: {input} was answered {} {:?}", model.name(), entry.status, entry.outcome);
        }
    }
}

#[test]
fn every_negative_input_is_rejected_as_invalid_at_the_field_it_breaks() {
    let (mock, models) = models();
    for model in &models {
        let generator = Generator::for_vendor(model).expect("the schema compiles");
        let mut constraints = BTreeSet::new();
        for (n, (input, broken)) in sample(&generator.invalid(None), SAMPLES, 22).into_iter().enumerate() {
            let entry = post(&mock, model, n, &input);
            let Outcome::Invalid { violations } = &entry.outcome else {
                panic!("{}: {input} ({broken:?}) was answered {:?}", model.name(), entry.outcome);
            };
            let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
            let expected = if broken.path == "(body)" { "body" } else { broken.path.as_str() };
            assert!(fields.contains(&expected), "{}: broke `{expected}` but the mock names {fields:?}", model.name());
            constraints.insert(broken.constraint);
        }
        assert!(constraints.len() >= 3, "{}: only {constraints:?} broken in {SAMPLES} samples", model.name());
    }
}

#[test]
fn the_documented_example_bodies_are_accepted_by_the_mock() {
    let (mock, models) = models();
    for model in &models {
        let example = model.create().example.clone().expect("every spec has a captured example");
        let entry = post(&mock, model, 0, &example);
        assert!(
            matches!(entry.outcome, Outcome::Created { .. } | Outcome::Bulk { .. }),
            "{}: {:?}",
            model.name(),
            entry.outcome
        );
        let validator = conformance::compile_schema(model.schema()).expect("compiles");
        assert!(validator.is_valid(&example), "{}: the example breaks its own schema", model.name());
    }
}
