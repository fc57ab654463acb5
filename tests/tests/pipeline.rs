//! The request pipeline in-process, through `vendor_mock::app()` with `oneshot`: route, body,
//! auth and respond, for every vendor, from its spec model. Fast (no socket), so these run first
//! when something in the pipeline breaks; the socket-level behaviour is in the other modules.

use std::sync::Arc;

use axum::body::Body;
use e2e::{Creds, Request, VendorSpec, embedded, seeded};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;
use vendor_mock::{Mock, Outcome};

/// One request through a fresh router of `mock`: status and JSON body (`Null` if none).
async fn oneshot(mock: &Arc<Mock>, request: &Request) -> (u16, Value) {
    let mut builder = http::Request::builder().method(request.method.as_str()).uri(&request.target);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let request = builder.body(Body::from(request.body.clone())).expect("a valid request");
    let response = vendor_mock::app(Arc::clone(mock)).oneshot(request).await.expect("the router answers");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("the body is read").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A fresh account's credentials, its tenant looked up through the router.
async fn account(mock: &Arc<Mock>, spec: &VendorSpec, label: &str) -> Creds {
    let mut creds = Creds::default();
    for part in spec.credentials().iter().filter(|p| !p.tenant) {
        creds.0.push((part.name.clone(), format!("pipe-{label}-{}", part.name)));
    }
    for part in spec.credentials().iter().filter(|p| p.tenant) {
        let list = spec.list_ops().into_iter().next().expect("a tenant part has a look-up");
        let (status, body) = oneshot(mock, &spec.list(&list, &creds)).await;
        assert_eq!(status, list.success_status(), "{}: tenants listed", spec.name);
        let tenants = list.op().tenants_at.as_ref().and_then(|at| at.get(&body)).expect("a tenant list");
        let id_path = &spec.vendor.tenants.as_ref().expect("tenants").id.path;
        let id = id_path.get(&tenants[0]).and_then(Value::as_str).expect("a tenant id");
        creds.0.push((part.name.clone(), id.to_owned()));
    }
    creds
}

fn mock() -> Arc<Mock> {
    Mock::new(embedded(), seeded(3))
}

#[tokio::test]
async fn every_vendor_creates_its_documented_example_and_journals_the_creation() {
    let mock = mock();
    for spec in VendorSpec::all(&mock.specs()) {
        let op = spec.create_op();
        let creds = account(&mock, &spec, "create").await;
        let (status, _) = oneshot(&mock, &spec.create(&creds, &op.example())).await;
        assert_eq!(status, op.success_status(), "{}: the example is created", spec.name);
        let entry = mock.journal().pop().expect("a journal entry");
        assert_eq!(entry.vendor.as_deref(), Some(spec.name.as_str()));
        assert!(
            matches!(entry.outcome, Outcome::Created { .. } | Outcome::Bulk { .. }),
            "{}: {:?}",
            spec.name,
            entry.outcome
        );
    }
}

#[tokio::test]
async fn a_second_create_of_the_same_record_gets_the_first_unique_rules_answer() {
    let mock = mock();
    for spec in VendorSpec::all(&mock.specs()) {
        let op = spec.create_op();
        let Some(rule) = op.unique_rules().into_iter().next() else { continue };
        let creds = account(&mock, &spec, "dup").await;
        let request = spec.create(&creds, &op.example());
        oneshot(&mock, &request).await;
        let (status, _) = oneshot(&mock, &request).await;
        // A bulk operation answers per entry: the request succeeds, its entries are refused.
        let expected = if op.is_bulk() { op.success_status() } else { spec.template_status(&rule.error) };
        assert_eq!(status, expected, "{}: the duplicate's answer", spec.name);
    }
}

#[tokio::test]
async fn a_missing_or_rejected_credential_gets_the_vendors_unauthorized_answer() {
    let mock = mock();
    for spec in VendorSpec::all(&mock.specs()) {
        let op = spec.create_op();
        let unauthorized = spec.template_status("unauthorized");
        let (status, _) = oneshot(&mock, &spec.create(&Creds::default(), &op.example())).await;
        assert_eq!(status, unauthorized, "{}: no credential", spec.name);
        let creds = account(&mock, &spec, "auth").await;
        let primary = spec.primary();
        for prefix in spec.reject_prefixes() {
            let rejected = creds.clone().with(&primary.name, &format!("{prefix}-key"));
            let (status, _) = oneshot(&mock, &spec.create(&rejected, &op.example())).await;
            assert_eq!(status, unauthorized, "{}: a `{prefix}` credential", spec.name);
        }
    }
}

#[tokio::test]
async fn malformed_and_oversized_bodies_get_the_vendors_body_answers() {
    let mock = mock();
    for spec in VendorSpec::all(&mock.specs()) {
        let op = spec.create_op();
        let creds = account(&mock, &spec, "body").await;
        let mut malformed = spec.create(&creds, &op.example());
        malformed.body = b"{\"name\": ".to_vec();
        let (status, _) = oneshot(&mock, &malformed).await;
        assert_eq!(status, spec.template_status("malformed"), "{}: malformed JSON", spec.name);
        let mut huge = spec.create(&creds, &op.example());
        huge.body = vec![b' '; mock.config().body_limit + 1];
        let (status, _) = oneshot(&mock, &huge).await;
        assert_eq!(status, spec.template_status("too_large"), "{}: a body over the limit", spec.name);
    }
}

#[tokio::test]
async fn an_injected_status_is_the_status_the_vendors_error_body_names() {
    let mock = mock();
    for spec in VendorSpec::all(&mock.specs()) {
        let op = spec.create_op();
        let creds = account(&mock, &spec, "fault").await;
        mock.inject(vendor_mock::Fault::new(vendor_mock::Effect::Status { status: 503 }).vendor(&spec.name).times(1));
        let (status, body) = oneshot(&mock, &spec.create(&creds, &op.example())).await;
        assert_eq!(status, 503, "{}", spec.name);
        for key in ["statusCode", "status", "code"] {
            if let Some(named) = body.get(key).and_then(Value::as_u64) {
                assert_eq!(named, 503, "{}: the body's `{key}` says the injected status: {body}", spec.name);
            }
        }
    }
}

#[tokio::test]
async fn another_method_on_a_vendor_path_gets_the_vendors_method_not_allowed_answer() {
    let mock = mock();
    for spec in VendorSpec::all(&mock.specs()) {
        let op = spec.create_op();
        let creds = account(&mock, &spec, "route").await;
        let request = spec.authorize(&op, &creds, Request::new("DELETE", &op.path));
        let (status, _) = oneshot(&mock, &request).await;
        assert_eq!(status, spec.template_status("method_not_allowed"), "{}: DELETE {}", spec.name, op.path);
    }
}
