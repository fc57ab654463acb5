//! How fast the conformance suite runs with the in-process Rust reference client: cases per
//! second over every vendor and scenario. `bench/run.sh` calls it:
//!
//! ```text
//! cargo run --release -p e2e --example conformance_speed -- [CASES]
//! ```
//!
//! Prints one line: `CONFORMANCE cases=N seconds=S cases_per_second=R failures=F`.

#[path = "../clients/rust/reference_client.rs"]
mod reference_client;

use conformance::{Client, RunOptions, VendorSelection, run};

fn main() {
    let cases = std::env::args().nth(1).and_then(|c| c.parse().ok()).unwrap_or(64);
    let options = RunOptions {
        vendors: VendorSelection::All,
        cases,
        seed: 1,
        client_label: "in-process reference".into(),
        ..RunOptions::default()
    };
    let started = std::time::Instant::now();
    let report = run(Client::InProcess(Box::new(reference_client::ReferenceClient)), options, &mut |_| {});
    let seconds = started.elapsed().as_secs_f64();
    let rate = report.cases_run as f64 / seconds.max(f64::EPSILON);
    println!(
        "CONFORMANCE cases={} seconds={seconds:.2} cases_per_second={rate:.0} failures={}",
        report.cases_run,
        report.failures.len()
    );
    if report.error.is_some() || !report.failures.is_empty() {
        std::process::exit(1);
    }
}
