//! # conformance
//!
//! Property-based checks that a client of the vendors' create-client endpoints behaves as the
//! vendors document, whatever its language. The suite starts the vendor mock in-process (or
//! drives one already running through its admin API), generates request bodies from the specs'
//! schemas with proptest, sets each case up on the mock (pre-created duplicates, `expired…`
//! credentials, injected faults), asks the client to create, and judges
//!
//! - what the client **sent**, from the mock's journal (one request, route, auth and its header
//!   case, credentials nowhere else, JSON content type, the body valid and carried unchanged), and
//! - what it **reported**, against what the mock actually answered (`created` with the id,
//!   `duplicate`, `unauthorized`, `validation_error`, `rate_limited`, `server_error`,
//!   `transport_error`, `unexpected_response`).
//!
//! A verdict is `fail` (the vendor would refuse or misread it) or `warn` (the vendor tolerates
//! it, its docs do not promise it: a `null` for an optional field, a documented default sent
//! explicitly); warnings fail a run only under `--strict` ([`RunOptions::strict`]).
//!
//! A client is a subprocess speaking the line protocol of `PROTOCOL.md`
//! ([`Client::Exec`]), a Python or Node function run through the suite's shim
//! ([`Client::Function`]), or an in-process [`ClientUnderTest`] ([`Client::InProcess`]). A failure is
//! shrunk to a minimal counterexample, shown with the raw request, the answer, the outcome and a
//! diff, and saved as a replay file.
//!
//! ```no_run
//! use conformance::{Client, RunOptions, run};
//! let report = run(Client::Exec("python3 harness.py".into()), RunOptions::default(), &mut |_| {});
//! println!("{}", report.matrix());
//! std::process::exit(report.exit_code.into());
//! ```
//!
//! Everything vendor-specific comes from the spec documents ([`VendorModel`]).
//!
//! ## Layout
//!
//! - A run: `runner.rs` (targets, rounds, results) → `explore.rs` (one scenario: proptest, shrinking)
//!   → `session.rs` (one case: set up on the mock, sent to the client, judged).
//! - The domain: `model.rs` (scenarios, cases, calls), `plan.rs` (what a vendor's run is, from its
//!   spec), `generate.rs` (inputs from the request schema), `vendor.rs` (the spec model as the
//!   suite drives it).
//! - Judging: `judge.rs` runs every property of `properties.rs`, each registered with its check
//!   in `checks/` (`request.rs`, `response.rs`, `expect.rs`); verdicts in `verdict.rs`.
//! - Around it: `harness.rs` and `protocol.rs` (the client), `mock.rs` (the mock),
//!   `report.rs`, `render.rs`, `replay.rs` and `redact.rs` (what is printed and saved),
//!   `cli.rs` and `terminal.rs` (the command line and what it shows).

mod cases;
mod checks;
mod cli;
mod credentials;
mod distinct;
mod error;
mod explore;
mod generate;
mod harness;
mod http1;
mod json;
mod judge;
mod mock;
mod model;
mod negative;
mod options;
mod plan;
mod properties;
mod protocol;
mod redact;
mod render;
mod replay;
mod report;
mod revisions;
mod runner;
mod schema;
mod session;
mod shims;
mod terminal;
mod vendor;
mod verdict;

pub use cli::{help, main_with, subcommand_help};
pub use error::{HarnessError, MockError, RunError, SpecError};
pub use generate::{Generator, SchemaError, sample};
pub use harness::Client;
pub use http1::{Request as HttpRequest, Response as HttpResponse, send as send_request};
pub use mock::{HttpMock, InProcessMock, MockAccess};
pub use model::{Broken, Call, Case, Executed, Refusal, Scenario};
pub use options::{RunOptions, VendorSelection};
pub use properties::{ALL as PROPERTIES, Property, Side};
pub use protocol::{ClientOutcome, ClientUnderTest, CreateClient, Implementation, Ready, Reply};
pub use render::{diff, render_failure, revision_matrix};
pub use replay::{REPLAY_FORMAT, REPLAY_VERSION, ReplayFile, replay};
pub use report::{Event, Failure, PropertyResult, RunReport, Severity, Status, VendorResult};
pub use revisions::{RevisionSelection, RevisionTerm};
pub use runner::run;
pub use schema::compile as compile_schema;
pub use vendor::VendorModel;
pub use verdict::{Verdict, Verdicts};
