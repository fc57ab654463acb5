//! The README tells the truth: its fidelity table is the specs' own, and its curls work.

use std::process::Command;

use vendor_mock::{Config, Mock, Specs};

const README: &str = include_str!("../../README.md");

fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).map(|i| i + start.len()).unwrap_or_else(|| panic!("README lacks {start}"));
    let to = text[from..].find(end).map(|i| from + i).unwrap_or_else(|| panic!("README lacks {end}"));
    text[from..to].trim_matches('\n')
}

#[test]
fn the_readme_fidelity_table_is_the_one_generated_from_the_specs() {
    let specs = Specs::embedded().expect("embedded specs load");
    let in_readme = section(README, "<!-- fidelity:start -->", "<!-- fidelity:end -->");
    assert_eq!(
        in_readme,
        specs.fidelity_markdown().trim_matches('\n'),
        "regenerate it with `cargo run -p mock-server -- fidelity` and paste it between the markers"
    );
}

#[test]
fn every_vendor_has_documented_and_assumed_rows_in_the_fidelity_table() {
    let table = section(README, "<!-- fidelity:start -->", "<!-- fidelity:end -->");
    let specs = Specs::embedded().expect("embedded specs load");
    for vendor in specs.vendors() {
        let title = &vendor.title;
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with(&format!("| {title} |"))).collect();
        assert!(rows.iter().any(|r| r.contains("| documented |")), "{title} has no documented row");
        assert!(rows.iter().any(|r| r.contains("| **assumed** |")), "{title} has no assumed row");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_curl_in_the_readme_gets_a_success_and_prints_its_status_200() {
    let mock = Mock::new(Specs::embedded().expect("embedded specs load"), Config::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vendor_mock::run(listener, mock.clone(), async {
        let _ = stopped.await;
    }));

    let snippets: Vec<String> = README
        .split("```bash\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter(|block| block.contains("curl") && block.contains("127.0.0.1:4010/"))
        .map(|block| block.replace("127.0.0.1:4010", &format!("127.0.0.1:{port}")))
        .collect();
    assert_eq!(snippets.len(), 4, "one curl snippet per vendor");
    for snippet in snippets {
        let out = tokio::task::spawn_blocking(move || {
            let out = Command::new("bash").arg("-c").arg(&snippet).output().expect("bash runs");
            (snippet, out)
        })
        .await
        .expect("join");
        let (snippet, out) = out;
        assert!(out.status.success(), "snippet failed: {snippet}\n{}", String::from_utf8_lossy(&out.stderr));
        // The body, then the status code on a line of its own (`-w '\nHTTP %{http_code}\n'`).
        let stdout = String::from_utf8_lossy(&out.stdout);
        let (body, status) = stdout
            .trim_end()
            .rsplit_once("\nHTTP ")
            .unwrap_or_else(|| panic!("snippet printed no status line: {snippet}\n{stdout}"));
        assert_eq!(status, "200", "{snippet}");
        let body: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("snippet printed no JSON ({e}): {snippet}"));
        let success = body.get("ok") == Some(&true.into())
            || body.get("status") == Some(&true.into())
            || body.get("success") == Some(&true.into())
            || body.get("createdMembers").and_then(|m| m.as_array()).is_some_and(|m| m.len() == 1);
        assert!(success, "not a success answer: {body}\nfrom: {snippet}");
    }
    let created =
        mock.journal().iter().filter(|e| e.outcome.label() == "created" || e.outcome.label() == "bulk").count();
    assert_eq!(created, 4, "each snippet created exactly one record");
    let _ = stop.send(());
    server.await.expect("join").expect("server ran");
}

use e2e::binary;

#[test]
fn every_serve_flag_and_its_variable_are_in_the_readme_options_table() {
    let help = Command::new(binary::binary()).args(["serve", "--help"]).output().expect("run vendor-mock serve --help");
    let help = String::from_utf8_lossy(&help.stdout);
    let table = section(README, "## Serving options", "\n## ");
    let flags: Vec<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| !["--help", "--version"].contains(w))
        .collect();
    let variables: Vec<&str> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("VENDOR_MOCK_"))
        .collect();
    assert!(flags.contains(&"--workers") && variables.contains(&"VENDOR_MOCK_WORKERS"), "{help}");
    for name in flags.iter().chain(&variables) {
        assert!(table.contains(&format!("`{name}")), "the README's serving options do not list {name}");
    }
}
