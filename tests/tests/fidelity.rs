//! Faithful to the vendor, not stricter (issue 11): the bodies public clients send are accepted,
//! unknown paths are attributed only under a vendor's path prefix, error answers never repeat
//! the request at length, a reset makes a seeded run repeat exactly, and the specs' documented
//! examples satisfy their own schemas and an independent OpenAPI validator.

use std::process::Command;

use e2e::{Request, VendorSpec, embedded, seeded, serve, serve_embedded};
use serde_json::{Value, json};
use vendor_mock::Specs;

const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots");

/// An admin request (a 204 has no body: the connection is closed after it).
fn admin(method: &str, path: &str, body: Option<Value>) -> Request {
    let request = Request::new(method, &format!("/__admin{path}")).header("Connection", "close");
    match body {
        Some(body) => request.json(&body),
        None => request,
    }
}

fn smartlead_save(key: &str, body: &Value) -> Request {
    Request::post(&format!("/api/v1/client/save?api_key={key}")).json(body)
}

fn entry_json(server: &e2e::Server) -> Value {
    serde_json::to_value(server.last_entry()).expect("an entry serializes")
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(SNAPSHOTS);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

// ------------------------------------------------------------------------ not stricter: SmartLead

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartlead_accepts_the_bodies_public_clients_send_in_every_revision() {
    let specs = embedded();
    // The older client page's example, a body with every optional field null, and the current
    // page's restrictedCategory: what the research notes say works against SmartLead.
    let bodies = [
        json!({"name": "Ramesh Kumar", "email": "ramesh@example.com", "permission": ["reply_master_inbox"],
               "logo": "SmartGen Outreach", "logo_url": null, "password": "Test1234!"}),
        json!({"name": "Nulls", "email": "nulls@example.com", "password": null, "logo": null, "logo_url": null}),
        json!({"name": "Cats", "email": "cats@example.com", "restrictedCategory": [3, 7]}),
        json!({"name": "Any", "email": "any@example.com", "permission": ["a_permission_not_seen_yet"], "email_credits": -1}),
    ];
    for revision in specs.revisions("smartlead") {
        let chosen = specs.with_revisions(&[("smartlead".into(), revision.clone())]).expect("the revision loads");
        let server = serve(chosen, seeded(1)).await;
        for body in &bodies {
            let answer = server.send(&smartlead_save("sk_public", body)).await;
            assert_eq!(answer.status, 200, "{revision}: {body} is accepted: {}", answer.text());
            assert_eq!(answer.json()["data"]["email"], body["email"]);
        }
        let records = server.mock.records("smartlead").expect("smartlead state");
        let stored = records["clients"].as_array().expect("clients");
        assert_eq!(stored[0]["restrictedCategory"], json!([]), "{revision}: the documented default is stored");
        assert_eq!(stored[2]["restrictedCategory"], json!([3, 7]));

        // Still refused: what the evidence says the vendor refuses.
        for bad in [
            json!({"name": "X", "email": "x@example.com", "restrictedCategory": ["not a number"]}),
            json!({"name": "X", "email": "x@example.com", "not_a_field": 1}),
            json!({"name": "", "email": "x@example.com"}),
            json!({"name": "X", "email": "x@example.com", "permission": null}),
        ] {
            let answer = server.send(&smartlead_save("sk_public", &bad)).await;
            assert_eq!(answer.status, 422, "{revision}: {bad} is refused: {}", answer.text());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voiceaiwrapper_and_cellcast_accept_values_no_source_refuses() {
    let specs = embedded();
    let server = serve_embedded().await;
    let vw = VendorSpec::of(&specs, "voiceaiwrapper");
    let creds = vw.account(server.addr, "open").await;
    let mut body = vw.create_op().example();
    body["client_access"] = json!({"assistant": "a_level_not_seen_yet"});
    body["assigned_resources"]["a_resource_not_seen_yet"] = json!(["x"]);
    let answer = server.send(&vw.create(&creds, &body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());

    let cc = VendorSpec::of(&specs, "cellcast");
    let creds = cc.account(server.addr, "open").await;
    let mut body = cc.create_op().example();
    body["mobile"] = json!("+61 400 000 000");
    let answer = server.send(&cc.create(&creds, &body)).await;
    assert_eq!(answer.status, 200, "a mobile with spaces is no reason to refuse: {}", answer.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voiceaiwrapper_token_starting_with_forbidden_gets_its_403_and_is_journalled_as_forbidden() {
    let specs = embedded();
    let server = serve_embedded().await;
    let vw = VendorSpec::of(&specs, "voiceaiwrapper");
    let creds = e2e::Creds::default().with("token", "forbidden-tenant-7");
    let answer = server.send(&vw.create(&creds, &vw.create_op().example())).await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert_eq!(answer.json()["success"], false);
    assert_eq!(entry_json(&server)["outcome"]["kind"], "forbidden");
    assert!(server.mock.records("voiceaiwrapper").expect("state")["clients"].is_null(), "nothing is created");
}

// ------------------------------------------------------------------------------- unknown paths

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_under_a_vendor_prefix_gets_that_vendor_404_and_journal_entry() {
    let server = serve_embedded().await;
    // The path a wrong SmartLead client uses: SmartLead's, not VoiceAIWrapper's (issue 11).
    let answer = server.send(&smartlead_save("k", &json!({}))).await;
    assert_eq!(answer.status, 422, "the route itself exists");
    let answer = server.send(&Request::post("/api/v1/client/create?api_key=k").json(&json!({}))).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json(), json!({"error": "Resource not found", "nearest_route": "POST /api/v1/client/save"}));
    let entry = entry_json(&server);
    assert_eq!(entry["vendor"], "smartlead");
    assert_eq!(entry["outcome"], json!({"kind": "unrouted", "nearest": "POST /api/v1/client/save"}));

    let answer = server.send(&Request::post("/members/bulk-clients").json(&json!([]))).await;
    assert_eq!((answer.status, answer.json()["type"].clone()), (404, json!("NotFoundError")));
    assert_eq!(entry_json(&server)["vendor"], "agencyhandy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_under_no_vendor_prefix_gets_the_mock_404_naming_every_vendor_nearest_route() {
    let server = serve_embedded().await;
    let answer = server.send(&Request::post("/api/v1/clients/save?api_key=k").json(&json!({}))).await;
    assert_eq!(answer.status, 404);
    let body = answer.json();
    let entry = entry_json(&server);
    assert_eq!(entry["vendor"], Value::Null, "journalled under no vendor");
    assert_eq!(entry["outcome"]["kind"], "unrouted");
    let nearest = body["nearest"].as_object().expect("nearest routes by vendor");
    assert_eq!(nearest.len(), 4, "every vendor's nearest route: {body}");
    settings().bind(|| insta::assert_json_snapshot!("unrouted__neutral_404", body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_root_points_to_the_dashboard_and_lists_every_route_without_a_journal_entry() {
    let server = serve_embedded().await;
    let answer = server.send(&Request::get("/")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["dashboard"], "/__admin/ui");
    let dashboard = server.send(&Request::get("/__admin/ui")).await;
    assert_eq!(dashboard.status, 200, "the dashboard it points to exists");
    let listed: usize =
        body["vendors"].as_array().expect("vendors").iter().map(|v| v["routes"].as_array().map_or(0, Vec::len)).sum();
    let specs = embedded();
    let expected: usize = VendorSpec::all(&specs).iter().map(|v| v.operations().len()).sum();
    assert_eq!(listed, expected, "every route of every vendor");
    assert!(server.mock.journal().is_empty(), "GET / is the mock's own page, not a vendor request");
    let mut shown = body.clone();
    shown["version"] = json!("[version]");
    settings().bind(|| insta::assert_json_snapshot!("unrouted__index", shown));
}

// -------------------------------------------------------------------------- bounded messages

/// Fails when an answer is long or repeats a long run of the request's filler text.
fn assert_short(what: &str, answer: &e2e::Response) {
    let text = answer.text();
    assert!(text.len() < 2048, "{what}: a {} byte answer: {text:.300}", text.len());
    let filler = "x".repeat(300);
    assert!(!text.contains(&filler), "{what}: the answer repeats the request: {text:.300}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agencyhandy_2026_07_answers_201_entries_with_a_short_400_that_repeats_none_of_them() {
    let specs = embedded().with_revisions(&[("agencyhandy".into(), "2026-07".into())]).expect("revision");
    let server = serve(specs.clone(), seeded(1)).await;
    let spec = VendorSpec::of(&specs, "agencyhandy");
    let creds = spec.account(server.addr, "bulk").await;
    let entries: Vec<Value> = (0..201)
        .map(|i| json!({"email": format!("client{i}@example.com"), "firstName": "A", "lastName": "B", "status": "Client"}))
        .collect();
    let answer = server.send(&spec.create(&creds, &Value::Array(entries))).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_short("201 entries", &answer);
    assert!(!answer.text().contains("client0@example.com"), "no entry is repeated: {}", answer.text());
    assert_eq!(answer.json()["message"], "body must contain at most 200 item(s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_vendor_error_answer_repeats_a_long_path_header_field_or_body() {
    let specs = embedded();
    let server = serve_embedded().await;
    let long = "x".repeat(5_000);
    for spec in VendorSpec::all(&specs) {
        let op = spec.create_op();
        let creds = spec.account(server.addr, "long").await;
        let folder = op.path.rsplit_once('/').map_or("", |(folder, _)| folder);

        let path = format!("{folder}/{long}");
        let answer = server.send(&spec.authorize(&op, &creds, Request::new(&op.method, &path))).await;
        assert_eq!(answer.status, 404, "{}: {}", spec.name, answer.text());
        assert_short(&format!("{}: a long unknown path", spec.name), &answer);

        let request = spec.authorize(&op, &creds, Request::new(&op.method, &op.path));
        let answer = server.send(&request.header("Content-Type", &format!("text/{long}")).body("{}")).await;
        assert_short(&format!("{}: a long Content-Type", spec.name), &answer);

        // Thousands of violations, each at a field of the request's own naming where it can be.
        let mut record = serde_json::Map::new();
        for field in op.required() {
            record.insert(field, json!([long.clone()]));
        }
        record.insert(long.clone(), json!(long.clone()));
        let body = if op.is_bulk() { Value::Array(vec![Value::Object(record); 2_000]) } else { Value::Object(record) };
        let answer = server.send(&spec.create(&creds, &body)).await;
        assert!((400..500).contains(&answer.status), "{}: {}", spec.name, answer.text());
        assert_short(&format!("{}: a body of many violations", spec.name), &answer);
        let entry = entry_json(&server);
        let violations = entry["outcome"]["violations"].as_array().map_or(0, Vec::len);
        assert!(violations <= 10, "{}: the journal keeps the first violations only ({violations})", spec.name);
    }
}

// ------------------------------------------------------------------------------------- reset

/// One create per vendor and a fault, answered by `server`; the answers' bodies in order.
async fn seeded_run(server: &e2e::Server) -> Vec<String> {
    let specs = embedded();
    let mut bodies = Vec::new();
    for spec in VendorSpec::all(&specs) {
        let creds = spec.account(server.addr, "rerun").await;
        let example = spec.create_op().example();
        bodies.push(server.send(&spec.create(&creds, &example)).await.text());
        bodies.push(server.send(&spec.create(&creds, &spec.create_op().freshen(&example, None, 1))).await.text());
    }
    let fault = json!({"vendor": "smartlead", "effect": {"type": "status", "status": 503}, "probability": 0.5});
    let added = server.send(&admin("POST", "/faults", Some(fault))).await;
    bodies.push(added.text());
    for n in 2..8 {
        let body = json!({"email": format!("f{n}@example.com"), "name": "F"});
        bodies.push(format!("{}", server.send(&smartlead_save("k", &body)).await.status));
    }
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reset_of_everything_a_seeded_run_repeats_exactly() {
    let server = serve(embedded(), seeded(42)).await;
    let first = seeded_run(&server).await;
    let reset = server.send(&admin("POST", "/reset", None)).await;
    assert!(reset.status < 300, "{}", reset.text());
    let second = seeded_run(&server).await;
    assert_eq!(first, second, "ids, timestamps, fault ids and fault draws start again");
    assert!(first.iter().any(|b| b.contains("\"id\":301")), "the run starts at the first id: {first:?}");

    // One vendor's reset starts its ids again too; a credential's reset does not (its records
    // are gone, others' ids must not repeat).
    let spec = VendorSpec::of(&embedded(), "smartlead");
    let creds = spec.account(server.addr, "one").await;
    let body = json!({"email": "one@example.com", "name": "One"});
    server.send(&admin("DELETE", "/faults", None)).await;
    let before = server.send(&spec.create(&creds, &body)).await.json()["data"]["id"].clone();
    server.send(&admin("POST", "/reset", Some(json!({"vendor": "smartlead", "credential": "test-one-api-key"})))).await;
    let after_credential = server.send(&spec.create(&creds, &body)).await.json()["data"]["id"].clone();
    assert_ne!(before, after_credential, "a credential's reset keeps the sequence going");
    server.send(&admin("POST", "/reset", Some(json!({"vendor": "smartlead"})))).await;
    let after_vendor = server.send(&spec.create(&creds, &body)).await.json()["data"]["id"].clone();
    assert_eq!(after_vendor, json!(301), "a vendor's reset starts its sequence again");
}

// ---------------------------------------------------------------------------------- examples

/// `(where, example value, schema)` of every request and response example of every revision.
fn every_example(spec: &VendorSpec) -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec.doc()["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let request = &op["requestBody"]["content"]["application/json"];
            for (name, example) in request["examples"].as_object().into_iter().flatten() {
                let at = format!("{} {method} {path} request example {name}", spec.name);
                out.push((at, example["value"].clone(), request["schema"].clone()));
            }
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                let media = &response["content"]["application/json"];
                let examples = media["examples"].as_object();
                let at = format!("{} {method} {path} {status}", spec.name);
                assert!(examples.is_some_and(|e| !e.is_empty()), "{at}: the response carries an example");
                for (name, example) in examples.into_iter().flatten() {
                    out.push((format!("{at} example {name}"), example["value"].clone(), media["schema"].clone()));
                }
            }
        }
    }
    out
}

#[test]
fn every_request_and_response_example_of_every_spec_satisfies_its_own_schema() {
    let specs = embedded();
    let mut checked = 0;
    for vendor in specs.vendor_names() {
        for revision in specs.revisions(&vendor) {
            let chosen = specs.with_revisions(&[(vendor.clone(), revision.clone())]).expect("revision");
            for (at, value, schema) in every_example(&VendorSpec::of(&chosen, &vendor)) {
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|e| panic!("{at}: the schema compiles: {e}"));
                let errors: Vec<String> = validator.iter_errors(&value).map(|e| format!("{e}")).collect();
                assert!(errors.is_empty(), "{revision} {at}: {value} breaks its schema: {errors:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "{checked} examples checked");
    let smartlead = VendorSpec::of(&specs, "smartlead");
    let documented =
        &smartlead.doc()["paths"]["/api/v1/client/save"]["post"]["responses"]["200"]["content"]["application/json"];
    assert_eq!(
        documented["examples"]["captured"]["value"]["data"]["api_key"], "cl_xxxxxxxxxxxxxxxx",
        "the documented body, not a placeholder that breaks the api_key pattern"
    );
}

#[test]
fn every_spec_file_passes_the_independent_openapi_spec_validator() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("specs/ exists")
        .map(|e| e.expect("read specs/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    for file in files {
        let out = Command::new("openapi-spec-validator").arg(&file).output().unwrap_or_else(|e| {
            panic!(
                "openapi-spec-validator is not installed ({e}); install it with \
                 `python3 -m pip install openapi-spec-validator` (.ci/run does)"
            )
        });
        assert!(
            out.status.success(),
            "{}: {}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------------------- the spec format

#[test]
fn a_fidelity_row_naming_an_unknown_probe_step_fails_to_load_with_its_line() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/smartlead.yaml"))
        .expect("read the SmartLead spec");
    let broken = text.replacen("probe: [bad_credential]", "probe: [bad_credentials]", 1);
    let err = Specs::from_sources([("smartlead.yaml".to_owned(), broken)]).expect_err("an unknown step is refused");
    let shown = err.to_string();
    assert!(shown.contains("probe step `bad_credentials` is unknown"), "{shown}");
    assert!(err.line.is_some(), "{shown}");

    let forbidden_without_template = text.replacen(
        "reject_prefixes: [expired, invalid]",
        "reject_prefixes: [expired, invalid]\n    forbidden_prefixes: [nope]",
        1,
    );
    let err = Specs::from_sources([("smartlead.yaml".to_owned(), forbidden_without_template)])
        .expect_err("forbidden prefixes need the forbidden template");
    assert!(err.to_string().contains("x-mock.errors.forbidden is missing"), "{err}");
}
