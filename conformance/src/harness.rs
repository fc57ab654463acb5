//! Driving a client under test: a subprocess speaking protocol v1 over stdin/stdout
//! ([`ExecHarness`]), or an in-process [`ClientUnderTest`] ([`InProcess`]).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::HarnessError;
use crate::protocol::{ClientUnderTest, CreateClient, ProtocolSchema, Ready, Reply, Start};
use crate::shims::FunctionClient;

/// Longest answer line accepted.
const MAX_LINE: usize = 8 * 1024 * 1024;
/// How much of a harness's stderr is kept (its tail).
const STDERR_KEEP: usize = 16 * 1024;

/// What the runner needs from a client under test.
pub trait Driver {
    /// Who it is, for people (`exec: python3 h.py`).
    fn describe(&self) -> String;
    /// Starts (or restarts) the client and performs the handshake.
    fn start(&mut self) -> Result<Ready, HarnessError>;
    /// One create.
    fn create_client(&mut self, request: &CreateClient) -> Result<Reply, HarnessError>;
    /// Ends the client (it must exit 0).
    fn stop(&mut self) -> Result<(), HarnessError>;
    /// The tail of what the client wrote to stderr (empty for in-process clients).
    fn stderr_tail(&self) -> String {
        String::new()
    }
}

/// Which client to test.
pub enum Client {
    /// `exec:CMD`: run `sh -c CMD` and speak protocol v1 with it.
    Exec(String),
    /// A Rust client in this process.
    InProcess(Box<dyn ClientUnderTest>),
    /// `python:MODULE:FUNCTION` or `node:FILE#EXPORT`: a function run through the suite's shim.
    Function(FunctionClient),
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exec(cmd) => write!(f, "Client::Exec({cmd:?})"),
            Self::InProcess(_) => f.write_str("Client::InProcess(..)"),
            Self::Function(client) => write!(f, "Client::Function({:?})", client.label()),
        }
    }
}

impl Client {
    /// Parses `--client exec:CMD`, `python:MODULE:FUNCTION` or `node:FILE#EXPORT`; a function
    /// client that does not declare its vendors supports those of the embedded specs.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let vendors = if spec.starts_with("python:") || spec.starts_with("node:") {
            vendor_mock::Specs::embedded().map(|s| s.vendor_names()).unwrap_or_default()
        } else {
            Vec::new()
        };
        Self::parse_for(spec, &vendors)
    }

    /// [`Client::parse`], with the vendors a function client supports unless it declares its own.
    pub fn parse_for(spec: &str, vendors: &[String]) -> Result<Self, String> {
        if let Some(function) = FunctionClient::parse(spec, vendors) {
            return function.map(Self::Function);
        }
        match spec.strip_prefix("exec:") {
            Some(cmd) if !cmd.trim().is_empty() => Ok(Self::Exec(cmd.to_owned())),
            Some(_) => Err("`--client exec:` needs a command after `exec:`".into()),
            None => Err(format!(
                "`--client {spec}`: expected `exec:COMMAND` (e.g. exec:'python3 harness.py'), \
                 `python:MODULE:FUNCTION` or `node:FILE#EXPORT`"
            )),
        }
    }

    pub(crate) fn into_driver(self, timeout: Duration, schema: Option<Arc<ProtocolSchema>>) -> Box<dyn Driver> {
        match self {
            Self::Exec(command) => Box::new(ExecHarness::new(command, timeout, schema)),
            Self::Function(function) => {
                let mut harness = ExecHarness::new(function.command().to_owned(), timeout, schema);
                harness.function = Some(function);
                Box::new(harness)
            }
            Self::InProcess(client) => Box::new(InProcess { client, schema, started: false }),
        }
    }
}

/// A running harness process.
struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Result<Vec<u8>, String>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

/// A harness subprocess: `sh -c CMD`, one JSON line each way.
pub struct ExecHarness {
    command: String,
    timeout: Duration,
    schema: Option<Arc<ProtocolSchema>>,
    process: Option<Process>,
    last_stderr: String,
    /// The function client this harness runs (its shim's folder lives as long as it).
    function: Option<FunctionClient>,
}

impl std::fmt::Debug for ExecHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecHarness").field("command", &self.command).field("timeout", &self.timeout).finish()
    }
}

impl ExecHarness {
    /// A harness for `sh -c command`; each answer must come within `timeout`.
    pub fn new(command: String, timeout: Duration, schema: Option<Arc<ProtocolSchema>>) -> Self {
        Self { command, timeout, schema, process: None, last_stderr: String::new(), function: None }
    }

    fn spawn(&mut self) -> Result<(), HarnessError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(&self.command).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt as _;
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(|source| HarnessError::Spawn { command: self.command.clone(), source })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr_pipe = child.stderr.take();
        let (tx, rx) = channel();
        let mut readers = Vec::new();
        if let Some(stdout) = stdout {
            readers.push(std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                loop {
                    let mut line = Vec::new();
                    match (&mut reader).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line) {
                        Ok(0) => break,
                        Ok(_) if line.len() > MAX_LINE => {
                            let _ = tx.send(Err(format!("an answer line is longer than {MAX_LINE} bytes")));
                            break;
                        }
                        Ok(_) => {
                            if tx.send(Ok(line)).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(format!("reading stdout: {e}")));
                            break;
                        }
                    }
                }
            }));
        }
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(mut pipe) = stderr_pipe {
            let sink = Arc::clone(&stderr);
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut kept = sink.lock().unwrap_or_else(|p| p.into_inner());
                    kept.extend(&buf[..n]);
                    let excess = kept.len().saturating_sub(STDERR_KEEP);
                    kept.drain(..excess);
                }
            }));
        }
        self.process = Some(Process { child, stdin, lines: rx, stderr, readers });
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            self.last_stderr = tail(&p.stderr);
            #[cfg(unix)]
            {
                // The whole process group: `sh -c` may have children holding the pipes open.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", p.child.id())])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = p.child.kill();
            let _ = p.child.wait();
            drop(p.stdin.take());
            // The reader threads end when the pipes close; they are not joined, so that a
            // grandchild that escaped the process group cannot hang the suite.
            p.readers.clear();
            std::thread::sleep(Duration::from_millis(5));
            self.last_stderr = tail(&p.stderr);
        }
    }

    fn send(&mut self, message: &str, value: &Value, during: &str) -> Result<(), HarnessError> {
        if let Some(schema) = &self.schema {
            schema.validate(message, value).map_err(|e| HarnessError::Protocol(format!("the suite's own {e}")))?;
        }
        let process = self.process.as_mut().ok_or_else(|| exited("not running", during))?;
        let stdin = process.stdin.as_mut().ok_or_else(|| exited("stdin closed", during))?;
        let mut line = value.to_string();
        line.push('\n');
        match stdin.write_all(line.as_bytes()).and_then(|()| stdin.flush()) {
            Ok(()) => Ok(()),
            Err(_) => {
                let status = self.exit_status();
                Err(exited(&status, during))
            }
        }
    }

    /// Waits a moment for the exit status of a harness whose pipes closed.
    fn exit_status(&mut self) -> String {
        let Some(p) = self.process.as_mut() else { return "not running".into() };
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            match p.child.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Ok(None) => return "still running, stdout closed".into(),
                Err(e) => return e.to_string(),
            }
        }
    }

    fn receive(&mut self, message: &str, during: &str) -> Result<Value, HarnessError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let process = self.process.as_mut().ok_or_else(|| exited("not running", during))?;
            let left = deadline.saturating_duration_since(Instant::now());
            match process.lines.recv_timeout(left) {
                Ok(Ok(line)) => {
                    let text = String::from_utf8_lossy(&line);
                    if text.trim().is_empty() {
                        continue;
                    }
                    let value: Value = serde_json::from_str(text.trim()).map_err(|e| {
                        HarnessError::Protocol(format!("the answer to {during} is not JSON ({e}): {}", clip(&text)))
                    })?;
                    if let Some(schema) = &self.schema {
                        schema.validate(message, &value).map_err(HarnessError::Protocol)?;
                    }
                    return Ok(value);
                }
                Ok(Err(e)) => return Err(HarnessError::Protocol(e)),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(HarnessError::Timeout { timeout: self.timeout, during: during.to_owned() });
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.exit_status();
                    return Err(exited(&status, during));
                }
            }
        }
    }
}

/// A harness that died before `ready` (an import error, a typo in the command) says why on its
/// stderr: its last lines join the error.
fn with_stderr(error: HarnessError, stderr: &str) -> HarnessError {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    match error {
        HarnessError::Exited { status, during } if !lines.is_empty() => {
            let tail = lines[lines.len().saturating_sub(12)..].join("\n  ");
            HarnessError::Exited { status, during: format!("{during}; its stderr ends with:\n  {tail}") }
        }
        other => other,
    }
}

fn exited(status: &str, during: &str) -> HarnessError {
    HarnessError::Exited { status: status.to_owned(), during: during.to_owned() }
}

fn clip(s: &str) -> String {
    let s = s.trim_end();
    if s.chars().count() > 200 { format!("{}…", s.chars().take(200).collect::<String>()) } else { s.to_owned() }
}

fn tail(buffer: &Mutex<VecDeque<u8>>) -> String {
    let kept = buffer.lock().unwrap_or_else(|p| p.into_inner());
    String::from_utf8_lossy(&kept.iter().copied().collect::<Vec<u8>>()).into_owned()
}

impl Drop for ExecHarness {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Checks a `ready` answer (v1, ready: true).
fn check_ready(value: Value) -> Result<Ready, HarnessError> {
    let ready: Ready = serde_json::from_value(value.clone()).map_err(|e| {
        HarnessError::Protocol(format!("the answer to `start` is not a `ready` message ({e}): {value}"))
    })?;
    if !ready.ready {
        return Err(HarnessError::Protocol("the harness answered `start` with ready: false".into()));
    }
    if ready.version != crate::protocol::PROTOCOL_VERSION {
        return Err(HarnessError::Protocol(format!(
            "the harness speaks protocol version {}, the suite speaks {}",
            ready.version,
            crate::protocol::PROTOCOL_VERSION
        )));
    }
    Ok(ready)
}

fn check_reply(value: &Value, seq: u64) -> Result<Reply, HarnessError> {
    let reply = Reply::from_json(value).map_err(|e| HarnessError::Protocol(format!("{e}: {value}")))?;
    if reply.seq() != seq {
        return Err(HarnessError::Protocol(format!(
            "the answer has seq {} but the request had seq {seq}",
            reply.seq()
        )));
    }
    Ok(reply)
}

impl Driver for ExecHarness {
    fn describe(&self) -> String {
        match &self.function {
            Some(function) => function.label().to_owned(),
            None => format!("exec:{}", self.command),
        }
    }

    fn start(&mut self) -> Result<Ready, HarnessError> {
        self.kill();
        self.spawn()?;
        let start = serde_json::to_value(Start::default()).unwrap_or_default();
        let result = self.send("start", &start, "`start`").and_then(|()| self.receive("ready", "`start`"));
        match result {
            Ok(value) => check_ready(value),
            Err(e) => {
                self.kill();
                Err(with_stderr(e, &self.last_stderr))
            }
        }
    }

    fn create_client(&mut self, request: &CreateClient) -> Result<Reply, HarnessError> {
        let during = format!("create_client seq {}", request.seq);
        let value = serde_json::to_value(request).map_err(|e| HarnessError::Protocol(e.to_string()))?;
        let result = self.send("create_client", &value, &during).and_then(|()| self.receive("reply", &during));
        match result {
            Ok(value) => check_reply(&value, request.seq),
            Err(e) => {
                if e.is_crash() {
                    self.kill();
                }
                Err(e)
            }
        }
    }

    fn stop(&mut self) -> Result<(), HarnessError> {
        let stop = serde_json::json!({"cmd": "stop"});
        if let Err(e) = self.send("stop", &stop, "`stop`") {
            self.kill();
            return Err(e);
        }
        let Some(mut p) = self.process.take() else { return Ok(()) };
        drop(p.stdin.take());
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match p.child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Ok(None) => break Err(HarnessError::Timeout { timeout: self.timeout, during: "`stop`".into() }),
                Err(e) => break Err(HarnessError::Io(e)),
            }
        };
        self.process = Some(p);
        match status {
            Ok(s) if s.success() => {
                self.kill();
                Ok(())
            }
            Ok(s) => {
                self.kill();
                Err(HarnessError::Protocol(format!("after `stop` the harness exited with {s}, not 0")))
            }
            Err(e) => {
                self.kill();
                Err(e)
            }
        }
    }

    fn stderr_tail(&self) -> String {
        match &self.process {
            Some(p) => tail(&p.stderr),
            None => self.last_stderr.clone(),
        }
    }
}

/// An in-process client: same messages, no process. A panic counts as a crash.
pub struct InProcess {
    client: Box<dyn ClientUnderTest>,
    schema: Option<Arc<ProtocolSchema>>,
    started: bool,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess").field("started", &self.started).finish()
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

impl Driver for InProcess {
    fn describe(&self) -> String {
        "in-process".into()
    }

    fn start(&mut self) -> Result<Ready, HarnessError> {
        let ready = catch_unwind(AssertUnwindSafe(|| self.client.start()))
            .map_err(|p| HarnessError::Panicked(panic_message(p.as_ref())))?;
        let value = serde_json::to_value(&ready).map_err(|e| HarnessError::Protocol(e.to_string()))?;
        if let Some(schema) = &self.schema {
            schema.validate("ready", &value).map_err(HarnessError::Protocol)?;
        }
        self.started = true;
        check_ready(value)
    }

    fn create_client(&mut self, request: &CreateClient) -> Result<Reply, HarnessError> {
        if let Some(schema) = &self.schema {
            let value = serde_json::to_value(request).map_err(|e| HarnessError::Protocol(e.to_string()))?;
            schema
                .validate("create_client", &value)
                .map_err(|e| HarnessError::Protocol(format!("the suite's own {e}")))?;
        }
        let reply = catch_unwind(AssertUnwindSafe(|| self.client.create_client(request)))
            .map_err(|p| HarnessError::Panicked(panic_message(p.as_ref())))?;
        let value = reply.to_json();
        if let Some(schema) = &self.schema {
            schema.validate("reply", &value).map_err(HarnessError::Protocol)?;
        }
        check_reply(&value, request.seq)
    }

    fn stop(&mut self) -> Result<(), HarnessError> {
        if self.started {
            catch_unwind(AssertUnwindSafe(|| self.client.stop()))
                .map_err(|p| HarnessError::Panicked(panic_message(p.as_ref())))?;
        }
        self.started = false;
        Ok(())
    }
}
