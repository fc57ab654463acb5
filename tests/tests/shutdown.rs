//! The `vendor-mock` binary starts and stops like a well-behaved server: SIGTERM lets the
//! request in flight finish and exits 0 within a bound; a busy port and a broken spec file give
//! a one-line error that says what and where, and exit status 2.
//!
//! The binary is the workspace's `target/<profile>/vendor-mock`, brought up to date with cargo
//! first (`shared/binary.rs`).

use e2e::{binary, blocking};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a stop, or an error exit, may take.
const BOUND: Duration = Duration::from_secs(5);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository root").to_path_buf()
}

/// `vendor-mock ARGS` with no `VENDOR_MOCK_*` settings inherited from the environment.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(binary::binary());
    command.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VENDOR_MOCK_") {
            command.env_remove(name);
        }
    }
    command
}

/// Waits for `child` to exit, at most `bound`; kills it and fails if it does not.
fn wait_within(child: &mut Child, bound: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            panic!("vendor-mock did not exit within {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `vendor-mock ARGS` to completion (within [`BOUND`]).
fn run(args: &[&str]) -> Output {
    let mut child = command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("vendor-mock starts");
    let status = wait_within(&mut child, BOUND);
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    child.stdout.take().expect("stdout").read_to_end(&mut stdout).expect("read stdout");
    child.stderr.take().expect("stderr").read_to_end(&mut stderr).expect("read stderr");
    Output { status, stdout, stderr }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill -TERM failed");
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_0_within_a_bound() {
    let mut child =
        command(&["serve", "--port", "0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("it starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let addr: SocketAddr = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).expect("read stdout") > 0, "no start line: {printed}");
        printed.push_str(&line);
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().expect("an address").parse().expect("a socket address");
        }
    };
    // The rest of stdout, collected in the background so the pipe never fills.
    let rest = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });

    // A create whose body arrives slowly: the first half now, the rest after the SIGTERM.
    let body = br#"{"email":"in-flight@example.com","name":"In Flight"}"#;
    let (first, second) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "POST /api/v1/client/save?api_key=shutdown HTTP/1.1\r\nHost: {addr}\r\n{}Content-Length: {}\r\n\r\n",
        "Content-Type: application/json\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    stream.write_all(first).expect("send half the body");
    std::thread::sleep(Duration::from_millis(200));

    sigterm(&child);
    let stopping = Instant::now();
    // The listener closes at once: new connections are refused while the request is in flight.
    let refused = loop {
        if TcpStream::connect(addr).is_err() {
            break true;
        }
        if stopping.elapsed() > Duration::from_secs(2) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(refused, "the port still accepted connections 2 s after SIGTERM");

    stream.write_all(second).expect("send the rest of the body");
    stream.set_read_timeout(Some(BOUND)).expect("a read time-out");
    let answered = blocking::read_response(&mut stream);
    let (status, answer) = (answered.status, answered.text());
    assert_eq!(status, 200, "the request in flight: {answer}");
    assert!(answer.contains("in-flight@example.com"), "{answer}");

    let status = wait_within(&mut child, BOUND);
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
    assert!(stopping.elapsed() < BOUND, "stopped after {:?}", stopping.elapsed());
    let printed = printed + &rest.join().expect("the stdout reader");
    assert!(printed.contains("vendor-mock stopped"), "stdout: {printed}");
}

#[test]
fn a_busy_port_gives_a_one_line_error_naming_the_port_and_exit_status_2() {
    let busy = TcpListener::bind("127.0.0.1:0").expect("a port of our own");
    let port = busy.local_addr().expect("its address").port().to_string();
    let output = run(&["serve", "--port", &port]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "exit status; stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(&format!(":{port}")), "the port is named: {stderr}");
    assert!(stderr.to_ascii_lowercase().contains("in use"), "it says why: {stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"), "it did not claim to listen");
}

/// A folder holding one spec file, `name`, with `text`.
fn spec_dir(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join(name);
    std::fs::write(&file, text).expect("write the spec");
    (dir, file)
}

fn spec_text(name: &str) -> String {
    std::fs::read_to_string(repo().join("specs").join(name)).expect("a repository spec")
}

#[test]
fn a_spec_file_with_broken_yaml_gives_its_file_line_and_problem_and_exit_status_2() {
    const LINE: usize = 10;
    let mut lines: Vec<String> = spec_text("smartlead.yaml").lines().map(str::to_owned).collect();
    lines[LINE - 1] = "key: value: another value".to_owned();
    let (dir, file) = spec_dir("smartlead.yaml", &lines.join("\n"));
    let output = run(&["serve", "--port", "0", "--specs", &dir.path().to_string_lossy()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "exit status; stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(&format!("{}:{LINE}", file.display())), "file and line: {stderr}");
    assert!(stderr.contains("mapping values are not allowed"), "what is wrong: {stderr}");
}

#[test]
fn a_spec_file_missing_a_required_template_names_its_file_and_the_template_and_exits_2() {
    let mut doc: yaml_serde::Value = yaml_serde::from_str(&spec_text("agencyhandy.yaml")).expect("the spec parses");
    let errors = doc
        .get_mut("x-mock")
        .and_then(|x| x.get_mut("errors"))
        .and_then(yaml_serde::Value::as_mapping_mut)
        .expect("x-mock.errors");
    assert!(errors.remove("timeout").is_some(), "the spec has a timeout template to remove");
    let (dir, file) = spec_dir("agencyhandy.yaml", &yaml_serde::to_string(&doc).expect("YAML"));
    let output = run(&["serve", "--port", "0", "--specs", &dir.path().to_string_lossy()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "exit status; stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(&file.display().to_string()), "the file: {stderr}");
    assert!(stderr.contains("x-mock.errors.timeout") && stderr.contains("missing"), "what is wrong: {stderr}");
}
