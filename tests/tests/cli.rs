//! The `vendor-mock` command line: help, serving on a chosen or free port, SIGTERM, broken or
//! missing spec folders, the fidelity table, `--credentials`, and a fifth vendor served from
//! `--specs DIR` without any Rust change.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use e2e::{ACME_SPEC, Request, SAFETY, VendorSpec, binary, embedded, send, spec_dir};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots");

/// `vendor-mock` with no `VENDOR_MOCK_*` variable of the test's environment.
fn vendor_mock() -> Command {
    let mut command = Command::new(binary());
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("VENDOR_MOCK_")) {
        command.env_remove(name);
    }
    command.kill_on_drop(true).stdin(Stdio::null());
    command
}

/// Runs a command that must end by itself.
async fn output(command: &mut Command) -> Output {
    let run = command.stdout(Stdio::piped()).stderr(Stdio::piped()).output();
    tokio::time::timeout(SAFETY, run).await.expect("vendor-mock ends by itself").expect("vendor-mock runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `vendor-mock serve` that printed its banner.
struct Serving {
    child: Child,
    stdout: BufReader<ChildStdout>,
    banner: String,
    addr: SocketAddr,
}

const BANNER: &str = "vendor-mock listening on http://";

async fn start(command: &mut Command) -> Serving {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("vendor-mock starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut banner = String::new();
    tokio::time::timeout(SAFETY, stdout.read_line(&mut banner))
        .await
        .expect("vendor-mock prints its banner")
        .expect("read the banner");
    let banner = banner.trim_end().to_owned();
    let rest = banner.strip_prefix(BANNER).unwrap_or_else(|| panic!("the banner starts with `{BANNER}`: {banner:?}"));
    let addr = rest.split_whitespace().next().unwrap_or_default();
    let addr: SocketAddr = addr.parse().unwrap_or_else(|e| panic!("the banner names an address ({e}): {banner:?}"));
    Serving { child, stdout, banner, addr }
}

impl Serving {
    /// Sends SIGTERM; returns the exit status and what was printed after the banner.
    async fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().expect("the server is running").to_string();
        let kill = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(kill.success(), "kill -TERM {pid}");
        let status = tokio::time::timeout(SAFETY, self.child.wait()).await.expect("SIGTERM stops it").expect("wait");
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).await.expect("read the rest of stdout");
        (status, rest)
    }
}

fn smartlead_create(n: usize) -> Request {
    let example = VendorSpec::of(&embedded(), "smartlead").create_op().example();
    let mut body = example.clone();
    body["email"] = json!(format!("cli{n}@example.com"));
    Request::post("/api/v1/client/save?api_key=cli_key").json(&body)
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(SNAPSHOTS);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_mock_help_matches_its_snapshot() {
    let out = output(vendor_mock().arg("--help")).await;
    assert!(out.status.success(), "{}", stderr(&out));
    snapshot("cli__help", &stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_mock_serve_help_matches_its_snapshot() {
    let out = output(vendor_mock().args(["serve", "--help"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    snapshot("cli__serve_help", &stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_port_0_prints_its_address_answers_there_and_exits_0_on_sigterm() {
    let serving = start(vendor_mock().args(["serve", "--port", "0", "--seed", "1"])).await;
    assert_eq!(serving.addr.ip().to_string(), "127.0.0.1", "loopback by default");
    assert_ne!(serving.addr.port(), 0);
    for vendor in embedded().vendor_names() {
        assert!(serving.banner.contains(&vendor), "the banner lists {vendor}: {}", serving.banner);
    }
    let response = send(serving.addr, &smartlead_create(1)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["data"]["id"], 301, "seeded: the sequence starts at 301");
    let (status, rest) = serving.terminate().await;
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines.last().copied(), Some("vendor-mock stopped"), "{rest}");
    let logged: Vec<&&str> = lines.iter().filter(|l| l.contains("answered")).collect();
    assert_eq!(logged.len(), 1, "one log line per request: {rest}");
    for part in ["vendor=smartlead", "method=POST", "path=/api/v1/client/save", "status=200", "outcome=created"] {
        assert!(logged[0].contains(part), "the request's log line has {part}: {}", logged[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_mock_port_variable_is_honoured() {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("find a free port").port();
    let serving = start(vendor_mock().arg("serve").env("VENDOR_MOCK_PORT", port.to_string())).await;
    assert_eq!(serving.addr.port(), port, "{}", serving.banner);
    assert_eq!(send(serving.addr, &smartlead_create(1)).await.status, 200);
    let (status, _) = serving.terminate().await;
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_missing_specs_folder_exits_2_with_a_one_line_error() {
    let out = output(vendor_mock().args(["serve", "--port", "0", "--specs", "/nonexistent"])).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("vendor-mock: ") && err.contains("/nonexistent"), "{err}");
    assert!(stdout(&out).is_empty(), "nothing is served");
}

/// The first spec file of a copied specs folder, its name and its text.
fn first_spec(dir: &Path) -> (String, String) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the folder")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    let name = names.first().expect("a spec file").clone();
    let text = std::fs::read_to_string(dir.join(&name)).expect("read the spec");
    (name, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_spec_missing_an_engine_error_template_exits_2_naming_the_file() {
    let dir = spec_dir(&[]);
    let (name, text) = first_spec(dir.path());
    let mut doc: Value = yaml_serde::from_str(&text).expect("the spec parses");
    let errors = doc["x-mock"]["errors"].as_object_mut().expect("the spec has error templates");
    assert!(errors.shift_remove("invalid").is_some(), "{name} has x-mock.errors.invalid");
    std::fs::write(dir.path().join(&name), yaml_serde::to_string(&doc).expect("serialize")).expect("write");

    let out = output(vendor_mock().args(["serve", "--port", "0", "--specs"]).arg(dir.path())).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(&name) && err.contains("x-mock.errors.invalid"), "names the file and the gap: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_yaml_syntax_error_exits_2_naming_the_file_and_line() {
    let dir = spec_dir(&[]);
    let (name, text) = first_spec(dir.path());
    let mut lines: Vec<&str> = text.lines().collect();
    let broken_line = 4;
    lines.insert(broken_line - 1, "broken: key: value");
    std::fs::write(dir.path().join(&name), lines.join("\n")).expect("write");

    let out = output(vendor_mock().args(["serve", "--port", "0", "--specs"]).arg(dir.path())).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{name}:{broken_line}")), "names the file and line {broken_line}: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fidelity_lists_every_behaviour_of_every_spec_and_marks_the_assumed_ones() {
    let out = output(vendor_mock().arg("fidelity")).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let specs = embedded();
    let mut rows = 0;
    for spec in specs.all() {
        let mut title = spec.title.clone();
        if spec.revision != vendor_mock::DEFAULT_REVISION {
            title = format!("{title} (revision {})", spec.revision);
        }
        for row in &spec.fidelity {
            let behaviour = row.behaviour.replace('|', "\\|");
            let row_start = format!("| {title} | {behaviour} | ");
            let line = table.lines().find(|l| l.starts_with(&row_start)).unwrap_or_else(|| {
                panic!("{}: the table has a row `{row_start}…`", spec.name);
            });
            let assumed = row.status == vendor_mock::spec::FidelityStatus::Assumed;
            assert_eq!(line.contains("| **assumed** |"), assumed, "{line}");
            assert_eq!(line.contains("| documented |"), !assumed, "{line}");
            rows += 1;
        }
    }
    let table_rows = table.lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(table_rows, rows + 2, "one row per behaviour, plus the head and its separator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_credentials_file_accepts_only_the_listed_keys() {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let file = dir.path().join("credentials.yaml");
    std::fs::write(&file, "smartlead:\n  - api_key: cli_key\n").expect("write the credentials file");
    let serving = start(vendor_mock().args(["serve", "--port", "0", "--credentials"]).arg(&file)).await;
    assert_eq!(send(serving.addr, &smartlead_create(1)).await.status, 200, "cli_key is listed");
    let mut unlisted = smartlead_create(2);
    unlisted.target = unlisted.target.replace("cli_key", "other_key");
    assert_eq!(send(serving.addr, &unlisted).await.status, 401, "other_key is not listed");
    let (status, _) = serving.terminate().await;
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_vendor_spec_file_is_served_with_its_own_success_and_duplicate_answers() {
    let dir = spec_dir(&[("acme.yaml", ACME_SPEC)]);
    let check = output(vendor_mock().arg("check").arg("--specs").arg(dir.path())).await;
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(stdout(&check).lines().any(|l| l == "acme: ok"), "{}", stdout(&check));
    assert_eq!(stdout(&check).lines().count(), embedded().vendor_names().len() + 1, "the four vendors and acme");

    let serving = start(vendor_mock().args(["serve", "--port", "0", "--seed", "1", "--specs"]).arg(dir.path())).await;
    assert!(serving.banner.contains("acme"), "{}", serving.banner);
    let create = Request::post("/v1/accounts")
        .header("Authorization", "Bearer acme-token")
        .json(&json!({"email": "ops@acme.test", "plan": "pro"}));
    let first = send(serving.addr, &create).await;
    assert_eq!((first.status, first.json()), (201, json!({"id": 1, "email": "ops@acme.test", "plan": "pro"})));
    let again = send(serving.addr, &create).await;
    assert_eq!((again.status, again.json()), (409, json!({"problem": "taken: ops@acme.test"})));
    let unauthorized = send(serving.addr, &create.clone().without("Authorization")).await;
    assert_eq!((unauthorized.status, unauthorized.json()), (401, json!({"problem": "unauthorized"})));
    assert_eq!(send(serving.addr, &smartlead_create(1)).await.status, 200, "the other vendors are still served");
    let (status, _) = serving.terminate().await;
    assert_eq!(status.code(), Some(0));
}
