//! The end-to-end tests of vendor-mock, as one test binary (the mock is linked once): real
//! sockets, the real `vendor-mock` and `vendor-conformance` programs, real clients in Python
//! and Node, a real browser. Support code is the `e2e` library (`tests/src/`).

#[path = "../clients/rust/reference_client.rs"]
mod reference_client;

mod admin_api;
mod admin_cli;
mod admin_embed;
mod admin_faults;
mod admin_openapi;
mod admin_prefer;
mod admin_rate_limits;
mod admin_watch;
mod auth;
mod cli;
mod conformance_cli;
mod conformance_functions;
mod conformance_generator;
mod conformance_harnesses;
mod conformance_reference;
mod conformance_revisions;
mod dashboard;
mod documented;
mod fidelity;
mod header_case;
mod hostile_input;
mod pipeline;
mod probe;
mod readme;
mod revisions;
mod robustness;
mod shutdown;
mod snapshots;
mod state;
mod third_party_clients;
