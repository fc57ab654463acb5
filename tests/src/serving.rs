//! A `vendor-mock serve` process on a free loopback port, for tests that drive the real binary
//! with clients of their own. Its standard output is drained in the
//! background so that its log lines never fill the pipe; it is killed when dropped.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BANNER: &str = "vendor-mock listening on http://";

/// A running `vendor-mock serve`.
#[derive(Debug)]
pub struct Serving {
    pub addr: SocketAddr,
    _child: Child,
}

impl Serving {
    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Starts `vendor-mock serve --port 0 ARGS…` (no `VENDOR_MOCK_*` variable of the test's
/// environment) and waits for its banner.
pub async fn serve(binary: &std::path::Path, args: &[&str]) -> Serving {
    let mut command = Command::new(binary);
    command.args(["serve", "--port", "0"]).args(args);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("VENDOR_MOCK_")) {
        command.env_remove(name);
    }
    let mut child = command
        .kill_on_drop(true)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("vendor-mock starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut banner = String::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut banner))
        .await
        .expect("vendor-mock prints its banner in time")
        .expect("read the banner");
    let rest = banner.trim_end().strip_prefix(BANNER).unwrap_or_else(|| panic!("not the banner: {banner:?}"));
    let addr = rest.split_whitespace().next().unwrap_or_default();
    let addr: SocketAddr = addr.parse().unwrap_or_else(|e| panic!("the banner names an address ({e}): {banner:?}"));
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await;
    });
    Serving { addr, _child: child }
}
