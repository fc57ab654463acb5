//! Real third-party clients from package registries, unchanged, against a real `vendor-mock
//! serve` on loopback. None of them was written here; each is pointed at the mock the way its
//! own documentation says to point it at another server.
//!
//! - PyPI `smartlead-cli` (`pip install smartlead-cli`): honours `SMARTLEAD_BASE_URL` and
//!   `SMARTLEAD_API_KEY`; `smartlead raw request --method POST --path /client/save --body-json …`
//!   is how it reaches SmartLead's create-client endpoint.
//!
//! No other installable client of the four vendors' create endpoints was found on PyPI or npm
//! (see the commit that added this file). A missing client fails its test with the command that
//! installs it: a test never passes without running.

use e2e::serving;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

const SMARTLEAD_CLI_INSTALL: &str = "pip install smartlead-cli";

/// What one `smartlead` run printed: its exit code, stdout and stderr parsed as JSON.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: Value,
    stderr: Value,
}

fn parse(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    serde_json::from_str(text.trim()).unwrap_or_else(|_| json!(text.trim()))
}

/// `smartlead raw request --method POST --path /client/save --body-json BODY`, with the base URL
/// and key in its documented variables and a home folder of its own (no config file).
async fn smartlead_save(base: &str, key: &str, body: &Value, home: &Path) -> Run {
    let mut command = tokio::process::Command::new("smartlead");
    command
        .args(["raw", "request", "--method", "POST", "--path", "/client/save", "--body-json"])
        .arg(body.to_string())
        .env("SMARTLEAD_BASE_URL", format!("{base}/api/v1"))
        .env("SMARTLEAD_API_KEY", key)
        .env("HOME", home)
        .env_remove("SMARTLEAD_PRETTY")
        .kill_on_drop(true);
    let run = tokio::time::timeout(std::time::Duration::from_secs(60), command.output()).await;
    let out: Output = match run.expect("smartlead ends within a minute") {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "the third-party SmartLead client `smartlead` (PyPI smartlead-cli) is not installed: \
             install it with `{SMARTLEAD_CLI_INSTALL}`"
        ),
        Err(e) => panic!("smartlead could not run: {e}"),
    };
    Run { code: out.status.code(), stdout: parse(&out.stdout), stderr: parse(&out.stderr) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pypi_smartlead_cli_runs_unchanged_against_the_mock_create_duplicate_expired_missing_and_null_logo() {
    let server = serving::serve(&e2e::binary(), &["--seed", "1"]).await;
    let base = server.base();
    let home = tempfile::tempdir().expect("a home folder for the client");
    let example = e2e::VendorSpec::of(&e2e::embedded(), "smartlead").create_op().example();

    // Create: the page's example.
    let created = smartlead_save(&base, "sk_cli_test", &example, home.path()).await;
    assert_eq!(created.code, Some(0), "{created:?}");
    assert_eq!(created.stdout["ok"], true, "{created:?}");
    assert_eq!(created.stdout["data"]["id"], 301);
    assert_eq!(created.stdout["data"]["email"], example["email"]);

    // Duplicate: the client reads `message` first and reports an API error with it.
    let duplicate = smartlead_save(&base, "sk_cli_test", &example, home.path()).await;
    assert_eq!(duplicate.code, Some(1), "{duplicate:?}");
    let error = &duplicate.stderr["error"];
    assert_eq!(error["status_code"], 409, "{duplicate:?}");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("already exist")), "{duplicate:?}");

    // Expired key: the client's own authentication error.
    let mut fresh = example.clone();
    fresh["email"] = json!("expired-case@example.com");
    let expired = smartlead_save(&base, "expired-key", &fresh, home.path()).await;
    assert_eq!(expired.code, Some(1), "{expired:?}");
    assert_eq!(expired.stderr["error"]["type"], "auth_error", "{expired:?}");
    assert_eq!(expired.stderr["error"]["status_code"], 401);
    assert_eq!(expired.stderr["error"]["detail"], json!({"message": "Invalid API Key"}));

    // Missing field: the documented 422 body, its `error` read as the message.
    let mut missing = fresh.clone();
    missing.as_object_mut().expect("an object").shift_remove("name");
    let invalid = smartlead_save(&base, "sk_cli_test", &missing, home.path()).await;
    assert_eq!(invalid.code, Some(1), "{invalid:?}");
    assert_eq!(invalid.stderr["error"]["status_code"], 422, "{invalid:?}");
    assert_eq!(invalid.stderr["error"]["message"], "Invalid parameters provided");

    // `logo_url: null`, as public integrations send it: created.
    let mut with_null = fresh.clone();
    with_null["logo_url"] = Value::Null;
    let nulled = smartlead_save(&base, "sk_cli_test", &with_null, home.path()).await;
    assert_eq!(nulled.code, Some(0), "a body with logo_url null is created: {nulled:?}");
    assert_eq!(nulled.stdout["data"]["id"], 302);

    // The mock saw what the client sent, unchanged: the key in the query, JSON bodies.
    let journal: Value = reqwest::get(format!("{base}/__admin/requests?vendor=smartlead"))
        .await
        .expect("the journal answers")
        .json()
        .await
        .expect("the journal is JSON");
    let entries = journal["requests"].as_array().or_else(|| journal.as_array()).expect("journal entries");
    let outcomes: Vec<&str> = entries.iter().filter_map(|e| e["outcome"]["kind"].as_str()).collect();
    assert_eq!(outcomes, ["created", "duplicate", "unauthorized", "invalid", "created"], "{journal}");
    for entry in entries {
        assert_eq!(entry["path"], "/api/v1/client/save");
        assert!(entry["query"].as_str().is_some_and(|q| q.contains("api_key=")), "{entry}");
    }
}
