//! Support code of the end-to-end tests (`tests/main.rs` and its modules): one test binary, so
//! the mock is linked once.
//!
//! - [`server`]: an in-process mock on a real loopback socket (port 0).
//! - [`serving`]: a real `vendor-mock serve` process on a free loopback port.
//! - [`raw_http`]: the one raw HTTP/1.1 client: exactly the bytes it is given, one answer parser.
//! - [`spec`]: requests, accounts and values built from a vendor's spec model.
//! - [`scenarios`]: the generic scenario catalogue and the checks of its answers.
//! - [`pages`]: the vendors' captured documentation pages.
//! - [`fixtures`]: spec files the tests write.
//! - [`binary`]: the `vendor-mock` executable, built once if needed.
//! - [`admin`]: helpers of the admin, embedding and dashboard tests.
//! - [`suite`]: helpers of the conformance tests.

pub mod admin;
pub mod binary;
pub mod fixtures;
pub mod pages;
pub mod raw_http;
pub mod scenarios;
pub mod server;
pub mod serving;
pub mod spec;
pub mod suite;

pub use binary::binary;
pub use fixtures::*;
pub use pages::*;
pub use raw_http::*;
pub use scenarios::*;
pub use server::*;
pub use spec::*;
