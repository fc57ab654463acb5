//! The `vendor-mock serve` flags of the admin issue, as flags and as `VENDOR_MOCK_*` variables:
//! `--seed-data`, `--admin-token`, `--journal-secrets`, `--rate-limits`, `--watch`.

use std::process::Stdio;

use e2e::admin::{SAFETY, binary, client, copy_of_specs, eventually};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `vendor-mock serve --port 0` with these arguments and variables (and no other
/// `VENDOR_MOCK_*` of the test's environment); returns the process and its base URL.
async fn serve(args: &[&str], env: &[(&str, &str)]) -> (Child, String, Vec<String>) {
    let mut command = Command::new(binary());
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("VENDOR_MOCK_")) {
        command.env_remove(name);
    }
    command.args(["serve", "--port", "0"]).args(args).envs(env.iter().copied());
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).kill_on_drop(true);
    let mut child = command.spawn().expect("vendor-mock starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let base = tokio::time::timeout(SAFETY, async {
        while let Some(line) = lines.next_line().await.expect("stdout is readable") {
            seen.push(line.clone());
            // The dashboard line follows the listening line.
            if line.starts_with("dashboard: ") {
                let listening = seen.iter().find_map(|l| l.strip_prefix("vendor-mock listening on "));
                return listening.and_then(|l| l.split(' ').next()).expect("a listening line").to_owned();
            }
        }
        panic!("vendor-mock ended before listening: {seen:?}");
    })
    .await
    .expect("vendor-mock listens in time");
    // Keep draining stdout so that logging never blocks the server.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base, seen)
}

async fn get(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create(base: &str, key: &str, email: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/api/v1/client/save?api_key={key}"))
        .json(&json!({"email": email, "name": "CLI"}))
        .send()
        .await
        .expect("answered")
}

fn seed_file() -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().expect("a temporary file");
    std::fs::write(file.path(), "smartlead:\n  records: [{email: seeded@example.com, name: Seeded}]\n").expect("write");
    file
}

async fn check_flags_took_effect(base: &str, lines: &[String]) {
    assert!(lines.iter().any(|l| l == "seeded 1 record(s)"), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("dashboard: http://")), "{lines:?}");
    assert_eq!(get(&format!("{base}/__admin/health"), None).await.0, 401, "--admin-token");
    assert_eq!(get(&format!("{base}/__admin/health"), Some("cli-token")).await.0, 200);
    let duplicate = create(base, "sk_cli_key", "seeded@example.com").await;
    assert_eq!(duplicate.status(), 409, "--seed-data");
    assert_eq!(duplicate.headers()["x-ratelimit-limit"], "60", "--rate-limits");
    let (_, journal) = get(&format!("{base}/__admin/requests"), Some("cli-token")).await;
    assert_eq!(journal["requests"][0]["query"], "api_key=sk_cli_key", "--journal-secrets");
}

#[tokio::test]
async fn the_admin_flags_reach_the_server() {
    let seeds = seed_file();
    let seed_path = seeds.path().to_str().expect("a UTF-8 path");
    let args = ["--seed-data", seed_path, "--admin-token", "cli-token", "--journal-secrets", "--rate-limits"];
    let (_child, base, lines) = serve(&args, &[]).await;
    check_flags_took_effect(&base, &lines).await;
}

#[tokio::test]
async fn the_admin_flags_can_be_given_as_environment_variables() {
    let seeds = seed_file();
    let seed_path = seeds.path().to_str().expect("a UTF-8 path");
    let env = [
        ("VENDOR_MOCK_SEED_DATA", seed_path),
        ("VENDOR_MOCK_ADMIN_TOKEN", "cli-token"),
        ("VENDOR_MOCK_JOURNAL_SECRETS", "true"),
        ("VENDOR_MOCK_RATE_LIMITS", "true"),
    ];
    let (_child, base, lines) = serve(&[], &env).await;
    check_flags_took_effect(&base, &lines).await;
}

#[tokio::test]
async fn without_the_flags_secrets_are_masked_and_nothing_is_limited_or_guarded() {
    let (_child, base, _) = serve(&[], &[]).await;
    let created = create(&base, "sk_cli_key", "a@example.com").await;
    assert_eq!(created.status(), 200);
    assert!(created.headers().get("x-ratelimit-limit").is_none());
    let (status, journal) = get(&format!("{base}/__admin/requests"), None).await;
    assert_eq!(status, 200);
    assert_eq!(journal["requests"][0]["query"], "api_key=sk_c****");
}

#[tokio::test]
async fn watch_reloads_the_specs_folder_of_a_running_server() {
    let dir = copy_of_specs();
    let specs = dir.path().to_str().expect("a UTF-8 path");
    let (_child, base, lines) = serve(&["--specs", specs, "--watch"], &[]).await;
    assert!(lines.iter().any(|l| l.starts_with("watching ")), "{lines:?}");
    let spec = dir.path().join("smartlead.yaml");
    let text = std::fs::read_to_string(&spec).expect("read");
    std::fs::write(&spec, text.replace("name: '{{record.name}}'", "name: 'watched {{record.name}}'")).expect("write");
    let mut n = 0;
    eventually("the edited spec is served", || {
        n += 1;
        let base = base.clone();
        async move {
            let created: Value = create(&base, "k", &format!("w{n}@example.com")).await.json().await.ok()?;
            (created["data"]["name"] == "watched CLI").then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn watch_without_a_specs_folder_and_a_bad_seed_file_are_refused_at_start() {
    let mut command = Command::new(binary());
    command.args(["serve", "--port", "0", "--watch"]).env_remove("VENDOR_MOCK_SPECS").kill_on_drop(true);
    let out = tokio::time::timeout(SAFETY, command.output()).await.expect("ends").expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--specs"), "{}", String::from_utf8_lossy(&out.stderr));

    let bad = tempfile::Builder::new().suffix(".yaml").tempfile().expect("a temporary file");
    std::fs::write(bad.path(), "nobody:\n  records: [{email: x@example.com}]\n").expect("write");
    let mut command = Command::new(binary());
    command.args(["serve", "--port", "0", "--seed-data"]).arg(bad.path()).kill_on_drop(true);
    let out = tokio::time::timeout(SAFETY, command.output()).await.expect("ends").expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--seed-data") && stderr.contains("nobody"), "{stderr}");
}
