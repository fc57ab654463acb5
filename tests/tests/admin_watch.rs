//! `--watch`: spec files changed on disk are served without a restart, state survives, and a
//! broken edit keeps the previous specs in service.

use std::time::Duration;

use e2e::admin::{answer, client, copy_of_specs, eventually, smartlead};
use serde_json::json;
use vendor_mock::MockServer;

/// Rewrites a file so that the change is visible even on coarse file-time filesystems.
fn rewrite(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).expect("write the spec");
}

#[tokio::test]
async fn an_edited_spec_is_served_without_a_restart_and_state_is_kept() {
    let dir = copy_of_specs();
    let spec = dir.path().join("smartlead.yaml");
    let server = MockServer::builder().specs_dir(dir.path()).watch(true).start().await;
    assert_eq!(smartlead(&server, "k", "kept@example.com").await.status, 200);

    let original = std::fs::read_to_string(&spec).expect("read");
    let edited =
        original.replace("'Client with email {{error.value}} already exists'", "'Reloaded: {{error.value}} is taken'");
    assert_ne!(original, edited, "the duplicate message is in the spec");
    rewrite(&spec, &edited);

    let message = eventually("the edited spec is served", || async {
        let duplicate = smartlead(&server, "k", "kept@example.com").await;
        assert_eq!(duplicate.status, 409, "the record created before the reload still exists");
        let message = duplicate.json["message"].as_str().unwrap_or_default().to_owned();
        message.starts_with("Reloaded").then_some(message)
    })
    .await;
    assert_eq!(message, "Reloaded: kept@example.com is taken");
}

#[tokio::test]
async fn a_broken_spec_keeps_the_previous_specs_in_service_until_it_is_fixed() {
    let dir = copy_of_specs();
    let spec = dir.path().join("smartlead.yaml");
    let original = std::fs::read_to_string(&spec).expect("read");
    let server = MockServer::builder().specs_dir(dir.path()).watch(true).start().await;

    rewrite(&spec, &original.replace("openapi: 3.1.0", "openapi: 3.1.0\npaths: [unclosed"));
    // Several polls go by with the broken file in place.
    tokio::time::sleep(vendor_mock::WATCH_INTERVAL * 4).await;
    let still = smartlead(&server, "k", "a@example.com").await;
    assert_eq!(still.status, 200, "the previous specs still answer: {:?}", still.json);
    assert_eq!(server.mock().specs().vendor_names().len(), 4);

    rewrite(&spec, &original.replace("name: '{{record.name}}'", "name: 'fixed {{record.name}}'"));
    let name = eventually("the fixed spec is served", || async {
        let created = smartlead(&server, "k", &format!("{}@example.com", unique_suffix())).await;
        let name = created.json["data"]["name"].as_str()?.to_owned();
        name.starts_with("fixed").then_some(name)
    })
    .await;
    assert_eq!(name, "fixed Acme Agency");
}

#[tokio::test]
async fn a_spec_file_added_to_the_folder_adds_its_vendor() {
    let dir = copy_of_specs();
    let server = MockServer::builder().specs_dir(dir.path()).watch(true).start().await;
    let cellcast = std::fs::read_to_string(dir.path().join("cellcast.yaml")).expect("read");
    let copy = cellcast
        .replace("vendor: cellcast", "vendor: cellcast_copy")
        .replace("/api/v2/subClient/user", "/api/v9/copy/user");
    rewrite(&dir.path().join("zz-copy.yaml"), &copy);

    let body = json!({"name": "N", "email": "new@example.com", "password": "P4ssword!", "companyName": "C",
                      "industry": "I", "isSharingCredit": true});
    let created = eventually("the new vendor answers", || {
        let request = client().post(format!("{}/api/v9/copy/user", server.uri())).bearer_auth("t").json(&body);
        async move {
            let got = answer(request.send().await.expect("answered")).await;
            (got.status == 200).then_some(got)
        }
    })
    .await;
    assert_eq!(created.json["data"]["email"], "new@example.com");
    let state = server.mock().records("cellcast_copy").expect("the new vendor has state");
    assert_eq!(state["subclients"].as_array().map(Vec::len), Some(1));
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or(Duration::ZERO);
    format!("w{}", nanos.as_nanos())
}
