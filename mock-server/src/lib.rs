//! # vendor-mock
//!
//! A faithful mock of four SaaS vendors' "create client" endpoints — SmartLead, Cellcast,
//! VoiceAIWrapper and AgencyHandy — driven entirely by OpenAPI 3.1 spec files whose `x-mock`
//! extensions hold the vendor knowledge (auth, uniqueness, ids, error templates, fidelity).
//! The engine is generic: a fifth vendor is a spec file.
//!
//! A request goes route → auth → parse → validate → state → respond → journal; read
//! `engine.rs` top to bottom to follow it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vendor_mock::{Config, Mock, Specs};
//! let mock = Mock::new(Specs::embedded()?, Config::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("listening on {}", listener.local_addr()?);
//! vendor_mock::run(listener, mock, std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! ## In a Rust test
//!
//! [`MockServer`] starts a mock of its own on `127.0.0.1` and a free port, in milliseconds (the
//! embedded specs are parsed once per process), and shuts it down when dropped:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use vendor_mock::{Effect, Fault, MockServer};
//!
//! let server = MockServer::start().await;
//! let save = format!("{}/api/v1/client/save?api_key=sk_test_1", server.uri());
//! let body = serde_json::json!({"email": "ada@example.com", "name": "Ada"});
//! let created = reqwest::Client::new().post(&save).json(&body).send().await?;
//! assert_eq!(created.status(), 200);
//!
//! server.inject(Fault::new(Effect::Status { status: 503 }).vendor("smartlead").times(1));
//! let failed = reqwest::Client::new().post(&save).json(&body).send().await?;
//! assert_eq!(failed.status(), 503);
//!
//! let journal = server.journal();
//! assert_eq!(journal.len(), 2);
//! assert_eq!(journal[0].outcome.label(), "created");
//! server.reset(); // state, journal and faults
//! # Ok(()) }
//! ```
//!
//! [`MockServer::builder`] takes other specs, a seed, the header-case mode, a credentials list,
//! seed records ([`SeedData`]), the admin token, rate limits and `--watch`.
//!
//! ## Operating a running mock
//!
//! The admin API under `/__admin` (its own OpenAPI file is `admin-openapi.yaml` at the
//! repository root) has the health check, the request journal with filters, state listing and
//! seeding, resets of everything / one vendor / one credential, faults, and a dashboard at
//! `/__admin/ui`. Vendor routes also honour Prism's `Prefer: code=…` / `Prefer: example=…` to
//! force an answer from the spec's templates, and `--rate-limits` enforces the limits a spec
//! declares in `x-mock.rate_limits`.

mod admin;
mod auth;
mod embed;
mod engine;
mod error;
mod fault;
mod journal;
mod mask;
pub mod probe;
mod rawhead;
mod routes;
mod server;
pub mod spec;
mod state;
mod template;

pub use admin::seed::{SeedBatch, SeedData, SeedError};
pub use admin::watch::{WATCH_INTERVAL, watch_specs};
pub use auth::{CredentialList, HeaderCase};
pub use embed::{MockServer, MockServerBuilder, StartError};
pub use engine::{Config, Mock};
pub use fault::{Effect, Fault};
pub use journal::{Entry, Outcome, Violation};
pub use server::{app, run};
pub use spec::{DEFAULT_REVISION, SpecError, Specs};
