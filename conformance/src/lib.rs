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
//! Everything vendor-specific comes from the spec documents ([`vendor::VendorModel`]).

pub mod checks;
pub mod cli;
pub mod error;
pub mod generate;
pub mod harness;
pub mod http1;
pub mod json;
pub mod mock;
pub mod properties;
pub mod protocol;
pub mod report;
pub mod revisions;
pub mod runner;
pub mod schema;
pub mod shims;
pub mod vendor;

pub use error::{HarnessError, MockError, RunError, SpecError};
pub use harness::Client;
pub use properties::{ALL as PROPERTIES, Property};
pub use protocol::{ClientOutcome, ClientUnderTest, CreateClient, Implementation, Ready, Reply};
pub use report::{Event, Failure, ReplayFile, RunReport, Status};
pub use revisions::{RevisionSelection, RevisionTerm};
pub use runner::{Case, RunOptions, Scenario, VendorSelection, replay, run};
