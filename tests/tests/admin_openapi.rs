//! `admin-openapi.yaml` tells the truth: every route it documents answers, every admin route is
//! documented, and real answers validate against its schemas.

use e2e::admin::{admin, cellcast, client, smartlead, smartlead_with};
use serde_json::{Value, json};
use vendor_mock::MockServer;

const DOC: &str = include_str!("../../admin-openapi.yaml");

fn doc() -> Value {
    yaml_serde::from_str(DOC).expect("admin-openapi.yaml is YAML")
}

/// A validator for the schema at `pointer` inside the document (refs resolve against it).
fn validator(doc: &Value, pointer: &str) -> jsonschema::Validator {
    assert!(doc.pointer(pointer).is_some(), "{pointer} exists in admin-openapi.yaml");
    let mut root = doc.clone();
    root["$ref"] = json!(format!("#{}", pointer.replace('{', "%7B").replace('}', "%7D")));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("{pointer} compiles: {e}"))
}

fn response_schema(path: &str, method: &str, status: u16) -> String {
    format!("/paths/{}/{method}/responses/{status}/content/application~1json/schema", path.replace('/', "~1"))
}

fn assert_valid(doc: &Value, pointer: &str, value: &Value) {
    let v = validator(doc, pointer);
    let errors: Vec<String> = v.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{pointer}: {errors:#?}\n{value:#}");
}

/// The admin routes the server answers: (method, path template).
/// In an order where each call finds what it needs (the fault is removed before a reset).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/__admin"),
    ("delete", "/__admin/faults/{id}"),
    ("get", "/__admin/health"),
    ("get", "/__admin/requests"),
    ("delete", "/__admin/requests"),
    ("get", "/__admin/state"),
    ("get", "/__admin/state/{vendor}"),
    ("post", "/__admin/state/{vendor}"),
    ("post", "/__admin/reset"),
    ("get", "/__admin/faults"),
    ("post", "/__admin/faults"),
    ("delete", "/__admin/faults"),
    ("get", "/__admin/ui"),
    ("get", "/__admin/ui/dashboard.js"),
    ("get", "/__admin/ui/dashboard.css"),
];

#[test]
fn the_document_is_openapi_3_1_and_documents_exactly_the_admin_routes() {
    let doc = doc();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys().filter(|k| *k != "parameters") {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut served: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    served.sort();
    assert_eq!(documented, served);
}

#[tokio::test]
async fn every_documented_route_answers_with_a_documented_status() {
    let server = MockServer::start().await;
    let id = server.inject(vendor_mock::Fault::new(vendor_mock::Effect::Empty).vendor("cellcast"));
    let doc = doc();
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    for (method, path) in ROUTES {
        let concrete = path.replace("{vendor}", "smartlead").replace("{id}", &id.to_string());
        let body = match (*method, *path) {
            ("post", "/__admin/state/{vendor}") => Some(json!({"records": [{"email": "s@example.com", "name": "S"}]})),
            ("post", "/__admin/faults") => Some(json!({"effect": {"type": "reset"}, "times": 1})),
            _ => None,
        };
        let mut request = no_redirect
            .request(method.to_uppercase().parse().expect("a method"), format!("{}{concrete}", server.uri()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let status = request.send().await.expect("answered").status().as_u16().to_string();
        let responses = &doc["paths"][*path][*method]["responses"];
        assert!(responses.get(&status).is_some(), "{method} {path} answered {status}, not documented");
        assert!(status.starts_with('2') || status.starts_with('3'), "{method} {path} answered {status}");
    }
}

#[tokio::test]
async fn journal_entries_of_every_outcome_validate_against_the_entry_schema() {
    let server = MockServer::builder().rate_limits(true).start().await;
    smartlead(&server, "k", "a@example.com").await; // created
    smartlead(&server, "k", "a@example.com").await; // duplicate
    smartlead(&server, "", "b@example.com").await; // unauthorized
    smartlead_with(&server, "k", "not-an-email", &[]).await; // invalid
    smartlead_with(&server, "k", "c@example.com", &[("Prefer", "code=422")]).await; // forced
    smartlead_with(&server, "k", "c@example.com", &[("Prefer", "code=418")]).await; // malformed
    client().get(format!("{}/nowhere", server.uri())).send().await.expect("answered"); // unrouted
    client().get(format!("{}/api/v1/client/save", server.uri())).send().await.expect("answered"); // 405
    let listed = client().get(format!("{}/accounts/companies", server.uri())).header("x-api-key", "ah");
    listed.send().await.expect("answered"); // listed
    server.inject(vendor_mock::Fault::new(vendor_mock::Effect::Status { status: 500 }).vendor("cellcast").times(1));
    cellcast(&server, "t", "c@example.com", "0400000001").await; // fault
    for i in 0..11 {
        smartlead(&server, "burst", &format!("r{i}@example.com")).await;
    } // the 11th request of `burst` within a second is rate limited
    let listed = admin(&server, "GET", "/requests", None).await;
    let kinds: std::collections::BTreeSet<String> = listed.json["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|e| e["outcome"]["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    for kind in [
        "created",
        "duplicate",
        "unauthorized",
        "invalid",
        "forced",
        "malformed",
        "unrouted",
        "method_not_allowed",
        "listed",
        "fault",
        "rate_limited",
    ] {
        assert!(kinds.contains(kind), "no `{kind}` entry to check: {kinds:?}");
    }
    assert_valid(&doc(), &response_schema("/__admin/requests", "get", 200), &listed.json);
}

#[tokio::test]
async fn faults_state_health_and_errors_validate_against_their_schemas() {
    let server = MockServer::start().await;
    let doc = doc();
    for effect in [
        json!({"type": "latency", "ms": 1, "jitter_ms": 2}),
        json!({"type": "status", "status": 503}),
        json!({"type": "rate_limited", "retry_after": 5}),
        json!({"type": "reset"}),
        json!({"type": "empty"}),
        json!({"type": "truncated"}),
        json!({"type": "malformed"}),
    ] {
        let fault = json!({"vendor": "voiceaiwrapper", "effect": effect, "times": 2, "probability": 0.5});
        assert_valid(&doc, "/paths/~1__admin~1faults/post/requestBody/content/application~1json/schema", &fault);
        let added = admin(&server, "POST", "/__admin/faults".trim_start_matches("/__admin"), Some(fault)).await;
        assert_valid(&doc, &response_schema("/__admin/faults", "post", 201), &added.json);
    }
    assert_valid(
        &doc,
        &response_schema("/__admin/faults", "get", 200),
        &admin(&server, "GET", "/faults", None).await.json,
    );

    cellcast(&server, "t", "c@example.com", "0400000001").await;
    let seeded =
        admin(&server, "POST", "/state/smartlead", Some(json!([{"email": "s@example.com", "name": "S"}]))).await;
    assert_valid(&doc, &response_schema("/__admin/state/{vendor}", "post", 201), &seeded.json);
    assert_valid(
        &doc,
        &response_schema("/__admin/state", "get", 200),
        &admin(&server, "GET", "/state", None).await.json,
    );
    let one = admin(&server, "GET", "/state/cellcast", None).await;
    assert_valid(&doc, &response_schema("/__admin/state/{vendor}", "get", 200), &one.json);
    assert_valid(
        &doc,
        &response_schema("/__admin/health", "get", 200),
        &admin(&server, "GET", "/health", None).await.json,
    );
    let refused = admin(&server, "GET", "/state/nobody", None).await;
    assert_valid(&doc, "/components/schemas/Error", &refused.json);
}
