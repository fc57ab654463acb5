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

mod auth;
mod engine;
mod error;
mod fault;
mod journal;
mod rawhead;
mod server;
mod spec;
mod state;
mod template;

pub use auth::{CredentialList, HeaderCase};
pub use engine::{Config, Mock};
pub use fault::{Effect, Fault};
pub use journal::{Entry, Outcome, Violation};
pub use server::{app, run};
pub use spec::{SpecError, Specs};
