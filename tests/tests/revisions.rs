//! Contract revisions: the mock serves a chosen revision, and `vendor-mock diff` tells a client
//! author what changed between two.

use std::process::Command;

use serde_json::{Value, json};
use vendor_mock::{MockServer, Specs};

const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots");

fn diff(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(e2e::binary()).arg("diff").args(args).output().expect("vendor-mock runs");
    let code = out.status.code().expect("exited");
    (code, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

async fn post(client: &reqwest::Client, url: String, key: &str, body: Value) -> (u16, Value) {
    let response = client.post(url).header("x-api-key", key).json(&body).send().await.expect("the mock answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[test]
fn the_agencyhandy_diff_lists_breaking_changes_first_and_exits_1() {
    let (code, out, err) = diff(&["agencyhandy", "default", "2026-07"]);
    assert_eq!(code, 1, "something breaks, so CI fails: {err}");
    let breaking = out.find("BREAKING").expect("a breaking section");
    let compatible = out.find("compatible").expect("a compatible section");
    assert!(breaking < compatible, "breaking changes come first");
    for expected in [
        "header `companyId` (company_id) removed",
        "new required field `[].status`",
        "`createdMembers` removed from the answer",
        "body maxItems none → 200",
    ] {
        assert!(out[..compatible].contains(expected), "breaking: {expected}\n{out}");
    }
    assert!(out[compatible..].contains("field `[].isConvertedClient` removed from the contract"), "{out}");
    insta::with_settings!({snapshot_path => SNAPSHOTS, prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!("diff__agencyhandy_default_2026-07", out);
    });
}

#[test]
fn a_revision_that_only_adds_exits_0_and_unknown_names_exit_2() {
    let (code, out, _) = diff(&["smartlead", "default", "2026-03"]);
    assert_eq!(code, 0, "adding `id` and a 404 breaks no client written for the captured page:\n{out}");
    assert!(out.contains("BREAKING (0)"), "{out}");
    assert!(out.contains("a body with `id` updates the existing record"), "{out}");
    let (code, _, err) = diff(&["smartlead", "default", "1999-01"]);
    assert_eq!(code, 2);
    assert!(err.contains("no revision `1999-01`") && err.contains("default, 2026-03"), "{err}");
    let (code, _, err) = diff(&["nosuch", "default", "default"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown vendor `nosuch`"), "{err}");
}

#[test]
fn the_default_revision_is_reachable_by_name_and_lists_first() {
    let specs = Specs::embedded().expect("embedded specs load");
    assert_eq!(specs.revisions("agencyhandy"), vec!["default".to_owned(), "2026-07".to_owned()]);
    assert_eq!(specs.served_revision("agencyhandy"), Some("default"));
    let chosen = specs.with_revisions(&[("agencyhandy".into(), "2026-07".into())]).expect("the revision exists");
    assert_eq!(chosen.served_revision("agencyhandy"), Some("2026-07"));
    let back = chosen.with_revisions(&[("agencyhandy".into(), "default".into())]).expect("default is a name");
    assert_eq!(back.served_revision("agencyhandy"), Some("default"));
    assert!(!specs.diff("agencyhandy", "default", "default").expect("same revision").is_breaking());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agencyhandy_2026_07_needs_no_company_id_requires_status_client_and_skips_duplicates_per_entry() {
    let server = MockServer::builder().revision("agencyhandy", "2026-07").start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/members/bulk-client", server.uri());
    let entry = |email: &str| json!({"firstName": "Ann", "lastName": "Lee", "email": email, "status": "Client"});

    let mut first = entry("ann@example.com");
    first["unknownField"] = json!("dropped");
    let (status, body) = post(&client, url.clone(), "key-1", json!([first, entry("ANN@example.com")])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["addedClients"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        body["data"]["notAddedClients"],
        json!([{"email": "ANN@example.com", "reason": "Client already exists"}])
    );
    let stored = server.mock().records("agencyhandy").expect("vendor exists");
    assert_eq!(stored["clients"][0].get("unknownField"), None, "unknown fields are removed before storing");

    let (status, body) = post(&client, url.clone(), "key-2", json!([entry("ann@example.com")])).await;
    assert_eq!((status, body["data"]["addedClients"].as_array().map(Vec::len)), (200, Some(1)), "unique per key");

    let mut wrong = entry("bob@example.com");
    wrong["status"] = json!("New");
    let (status, body) = post(&client, url.clone(), "key-1", json!([wrong])).await;
    assert_eq!((status, body["fieldName"].as_str()), (400, Some("[0].status")), "{body}");

    let many: Vec<Value> = (0..201).map(|i| entry(&format!("c{i}@example.com"))).collect();
    let (status, body) = post(&client, url, "key-1", Value::Array(many)).await;
    assert_eq!(status, 400, "more than 200 entries: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartlead_2026_03_updates_a_client_by_id_only_for_its_own_key_and_keeps_emails_unique() {
    let server = MockServer::builder().revision("smartlead", "2026-03").seed(3).start().await;
    let client = reqwest::Client::new();
    let save = |key: &str| format!("{}/api/v1/client/save?api_key={key}", server.uri());
    let send = |url: String, body: Value| {
        let client = client.clone();
        async move {
            let r = client.post(url).json(&body).send().await.expect("the mock answers");
            (r.status().as_u16(), r.json::<Value>().await.expect("JSON"))
        }
    };
    let (_, created) = send(save("k"), json!({"email": "one@x.io", "name": "One"})).await;
    let id = created["data"]["id"].clone();
    let (_, other) = send(save("k"), json!({"email": "two@x.io", "name": "Two"})).await;
    assert_ne!(other["data"]["id"], id);

    let (status, body) = send(save("k"), json!({"id": id, "email": "uno@x.io", "name": "Uno"})).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"ok": true, "data": {"id": id, "name": "Uno", "email": "uno@x.io"}}));
    let clients = server.mock().records("smartlead").expect("vendor exists")["clients"].clone();
    assert_eq!(clients.as_array().map(Vec::len), Some(2), "an update creates nothing");

    let (status, body) = send(save("someone-else"), json!({"id": id, "email": "x@x.io", "name": "X"})).await;
    assert_eq!((status, body), (404, json!({"error": "Resource not found"})), "another key's client is not found");

    let (status, _) = send(save("k"), json!({"id": id, "email": "two@x.io", "name": "Clash"})).await;
    assert_eq!(status, 409, "updating to another client's e-mail is a duplicate");

    let (status, _) = send(save("k"), json!({"email": "one@x.io", "name": "Reuses the freed e-mail"})).await;
    assert_eq!(status, 200, "the e-mail given up by the update is free again");
    let outcomes: Vec<&str> = server.journal().iter().map(|e| e.outcome.label()).collect();
    assert_eq!(outcomes, ["created", "created", "updated", "record_not_found", "duplicate", "created"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_revision_is_refused_at_start_by_the_builder_and_the_cli() {
    let refused = MockServer::builder().revision("agencyhandy", "1999-01").try_start().await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("no revision `1999-01`"), "{message}");

    let out = Command::new(e2e::binary())
        .args(["serve", "--port", "0", "--revision", "agencyhandy=1999-01"])
        .env_remove("VENDOR_MOCK_REVISION")
        .output()
        .expect("vendor-mock runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no revision `1999-01`"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_revision_is_named_when_the_server_starts() {
    use std::io::BufRead as _;
    let mut child = Command::new(e2e::binary())
        .args(["serve", "--port", "0", "--revision", "agencyhandy=2026-07"])
        .env_remove("VENDOR_MOCK_PORT")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("vendor-mock starts");
    let stdout = child.stdout.take().expect("piped");
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(e2e::SAFETY, first).await.expect("prints in time").expect("join").expect("read");
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("agencyhandy@2026-07") && line.contains("smartlead,"), "{line}");
}
