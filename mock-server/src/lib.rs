//! # vendor-mock
//!
//! A faithful mock of four SaaS vendors' "create client" endpoints — SmartLead, Cellcast,
//! VoiceAIWrapper and AgencyHandy — driven entirely by OpenAPI 3.1 spec files whose `x-mock`
//! extensions hold the vendor knowledge (auth, uniqueness, ids, error templates, fidelity).
//! The engine is generic: a fifth vendor is a spec file.
//!
//! ## Layout
//!
//! One create, from the socket to the journal, crosses these files in this order:
//!
//! | file | what it holds |
//! | --- | --- |
//! | `server.rs` | [`run`]: the accept loop (one task per connection) and [`app`], the axum router: `/__admin` to `admin.rs`, everything else to `handle.rs` |
//! | `conn.rs` | the connection wrapper: idle time-out, connection-level faults (reset, empty reply) |
//! | `rawhead.rs` | records each request head's raw header names, for case-exact headers (HTTP/1.1): the stream wrapper and the per-connection queue of heads |
//! | `rawhead/parse.rs` | the recorder's incremental parser: request heads, body framing (`Content-Length`, chunked), why it gives up |
//! | `handle.rs` | the request path: route, read the body, then faults, `Prefer`, auth, rate limit, parse, validate, state, respond; the journal entry is recorded before the answer goes out |
//! | `route.rs` | which vendor and operation a path and method are; the vendor's 404/405 under its path prefixes, else the mock's neutral 404; `GET /` |
//! | `body.rs` | the body within `--body-limit` and `--client-timeout`, parsed as JSON, validated against the request schema with bounded work, unknown fields stripped |
//! | `fault.rs` | programmed misbehaviour (`/__admin/faults`): which faults a request draws |
//! | `prefer.rs` | `Prefer: code=…` / `example=…`: an answer forced from the spec's templates |
//! | `auth.rs` | the credential parts where the spec puts them, reject / forbidden prefixes, tenants |
//! | `rate_limit.rs` | the vendors' documented rate limits (`--rate-limits`) |
//! | `state.rs` | every vendor's state: create, update, seed, reset and page through records, within `--max-records` and `--state-bytes` |
//! | `state/vendor.rs` | one vendor's records by collection, the keys they hold, what they cost |
//! | `state/unique.rs` | the uniqueness index: a record's keys per rule and scope, the sharded set of keys taken, clashes |
//! | `state/ids.rs` | generated ids (random, sequence, global id, timestamp), the seeded clock, an account's tenants |
//! | `respond.rs` | the success answer from the operation's template; rate-limit and fault answers |
//! | `rejection.rs` | every way a request fails, rendered with the vendor's error template |
//! | `answer.rs` | `Answer`: status, headers and JSON text, the one type that becomes a response |
//! | `journal/recorded.rs` | what the request path records: request and answer packed in one buffer, each text cut to its cap |
//! | `journal.rs` | the request journal, a ring bounded in entries and bytes (`--journal-size`, `--journal-bytes`) |
//! | `journal/entry.rs` | [`Entry`] and [`Outcome`], a journalled request as the admin API and [`MockServer::journal`] show it |
//! | `journal/filter.rs` | which entries a listing shows (`GET /__admin/requests`) |
//! | `redact.rs` | secrets masked in journal entries and state listings, in any body form |
//!
//! Around the path: `spec/` (the one typed spec model: [`spec::Vendor`], [`spec::FieldPath`],
//! loading and checking, revisions and [`spec::Diff`]), `template.rs` (templates compiled to
//! JSON text), `mock.rs` ([`Config`] and [`Mock`], what the other files share), `admin.rs` and
//! `admin/` (the admin API, its guard and its paged listings), `seed.rs`, `watch.rs`
//! (`--watch`), `hash.rs` (FNV-1a, the one hash keys are made with), `embed.rs`
//! ([`MockServer`] for Rust tests) and `probe.rs` / `probe/` (`vendor-mock probe` against a
//! live vendor).
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
mod answer;
mod auth;
mod body;
mod conn;
mod embed;
mod fault;
mod handle;
mod hash;
mod journal;
mod mock;
mod prefer;
pub mod probe;
mod rate_limit;
mod rawhead;
mod redact;
mod rejection;
mod respond;
mod route;
mod seed;
mod server;
pub mod spec;
mod state;
mod template;
mod watch;

pub use auth::{CredentialList, HeaderCase};
pub use embed::{MockServer, MockServerBuilder, StartError};
pub use fault::{Effect, Fault, MAX_RESPOND_BODY};
pub use journal::entry::{Entry, HeaderCaseSeen, Outcome, Violation};
pub use mock::{Config, Mock};
pub use seed::{SeedBatch, SeedData, SeedError};
pub use server::{app, run};
pub use spec::{DEFAULT_REVISION, SpecError, Specs};
pub use watch::{WATCH_INTERVAL, watch_specs};
