//! The mock embedded in Rust tests: one server per test, on a free loopback port, shut down
//! when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::{CredentialList, HeaderCase};
use crate::fault::Fault;
use crate::journal::entry::Entry;
use crate::mock::{Config, Mock};
use crate::seed::{SeedData, SeedError};
use crate::spec::{SpecError, Specs};
use crate::watch::{WATCH_INTERVAL, fingerprint, watch_from};

/// A running mock on `127.0.0.1` with a port of its own; dropping it shuts the server down.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use vendor_mock::{Effect, Fault, MockServer};
///
/// let server = MockServer::start().await;
/// let base = server.uri(); // http://127.0.0.1:PORT — point the client under test here
/// assert!(base.starts_with("http://127.0.0.1:"));
/// server.inject(Fault::new(Effect::Status { status: 503 }).vendor("smartlead").times(1));
/// assert!(server.journal().is_empty());
/// # }
/// ```
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    mock: Arc<Mock>,
    shutdown: Option<oneshot::Sender<()>>,
    watcher: Option<JoinHandle<()>>,
}

/// Why a [`MockServer`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("specs: {0}")]
    Specs(#[from] SpecError),
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[from] std::io::Error),
    #[error("seed data: {0}")]
    Seed(#[from] SeedError),
    #[error("watch needs specs_dir: embedded specs never change")]
    WatchWithoutDir,
    /// An empty admin token would leave the admin API open (issue 13).
    #[error("the admin token is empty; leave it out for an admin API without a token")]
    EmptyAdminToken,
}

impl MockServer {
    /// Every embedded vendor, default settings, on `127.0.0.1` and a free port.
    ///
    /// # Panics
    /// If no loopback port can be bound (see [`MockServerBuilder::try_start`]).
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// A server with other specs, settings or seed data.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: the base URL of every vendor.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address served.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The journalled requests, oldest first.
    pub fn journal(&self) -> Vec<Entry> {
        self.mock.journal()
    }

    /// Forgets all state, journal and faults.
    pub fn reset(&self) {
        self.mock.reset(None);
    }

    /// Adds a fault; returns its id.
    pub fn inject(&self, fault: Fault) -> u64 {
        self.mock.inject(fault)
    }

    /// The mock itself: records, seeding, faults, per-vendor resets.
    pub fn mock(&self) -> &Arc<Mock> {
        &self.mock
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(watcher) = self.watcher.take() {
            watcher.abort();
        }
    }
}

/// Settings of a [`MockServer`]; every one is optional.
#[derive(Debug, Default)]
#[must_use]
pub struct MockServerBuilder {
    specs: Option<Specs>,
    specs_dir: Option<PathBuf>,
    watch: bool,
    config: Config,
    seed_data: Option<SeedData>,
}

impl MockServerBuilder {
    /// Serve these specs instead of the embedded ones.
    pub fn specs(mut self, specs: Specs) -> Self {
        self.specs = Some(specs);
        self
    }

    /// Load the specs of this folder at start (instead of the embedded ones).
    pub fn specs_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.specs_dir = Some(dir.into());
        self
    }

    /// Reload the `specs_dir` folder's specs when they change (`--watch`).
    pub fn watch(mut self, on: bool) -> Self {
        self.watch = on;
        self
    }

    /// Make generated ids and timestamps deterministic (`--seed`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config = self.config.seed(seed);
        self
    }

    /// How header-name case is checked (`--header-case`).
    pub fn header_case(mut self, case: HeaderCase) -> Self {
        self.config = self.config.header_case(case);
        self
    }

    /// Accept only these credentials (`--credentials`).
    pub fn credentials(mut self, credentials: CredentialList) -> Self {
        self.config = self.config.credentials(credentials);
        self
    }

    /// Records to create at start (`--seed-data`).
    pub fn seed_data(mut self, data: SeedData) -> Self {
        self.seed_data = Some(data);
        self
    }

    /// How many requests the journal keeps (`--journal-size`).
    pub fn journal_size(mut self, size: usize) -> Self {
        self.config = self.config.journal_size(size);
        self
    }

    /// How many bytes the journal keeps (`--journal-bytes`).
    pub fn journal_bytes(mut self, bytes: usize) -> Self {
        self.config = self.config.journal_bytes(bytes);
        self
    }

    /// How many records one vendor's state holds (`--max-records`).
    pub fn max_records(mut self, records: usize) -> Self {
        self.config = self.config.max_records(records);
        self
    }

    /// Keep secrets readable in the journal (`--journal-secrets`).
    pub fn journal_secrets(mut self, on: bool) -> Self {
        self.config = self.config.journal_secrets(on);
        self
    }

    /// Enforce the specs' rate limits (`--rate-limits`).
    pub fn rate_limits(mut self, on: bool) -> Self {
        self.config = self.config.rate_limits(on);
        self
    }

    /// Serve this contract revision of a vendor (`--revision vendor=revision`); `start` fails
    /// if there is no such revision.
    pub fn revision(mut self, vendor: &str, revision: &str) -> Self {
        self.config = self.config.revision(vendor, revision);
        self
    }

    /// Require `Authorization: Bearer <token>` on `/__admin` (`--admin-token`).
    pub fn admin_token(mut self, token: &str) -> Self {
        self.config = self.config.admin_token(Some(token.to_owned()));
        self
    }

    /// Replace every setting at once.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Starts the server on the current tokio runtime.
    ///
    /// # Panics
    /// If it cannot start: invalid specs or seed data, or no loopback port. Use
    /// [`try_start`](Self::try_start) to handle that.
    pub async fn start(self) -> MockServer {
        match self.try_start().await {
            Ok(server) => server,
            Err(e) => panic!("vendor-mock could not start: {e}"),
        }
    }

    /// Starts the server on the current tokio runtime, or says why it cannot.
    pub async fn try_start(self) -> Result<MockServer, StartError> {
        if self.watch && self.specs_dir.is_none() {
            return Err(StartError::WatchWithoutDir);
        }
        if self.config.admin_token.as_ref().is_some_and(|t| t.trim().is_empty()) {
            return Err(StartError::EmptyAdminToken);
        }
        // Taken before loading, so that an edit made while the server starts is not missed.
        let seen = match (self.watch, &self.specs_dir) {
            (true, Some(dir)) => Some(fingerprint(dir)),
            _ => None,
        };
        let specs = match (self.specs, &self.specs_dir) {
            (Some(specs), _) => specs,
            (None, Some(dir)) => Specs::from_dir(dir)?,
            (None, None) => Specs::embedded()?,
        };
        specs.with_revisions(&self.config.revisions)?;
        let mock = Mock::new(specs, self.config);
        if let Some(data) = &self.seed_data {
            mock.seed_data(data)?;
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let served = Arc::clone(&mock);
        tokio::spawn(async move {
            let stopped = async {
                let _ = stop.await;
            };
            if let Err(e) = crate::server::run(listener, served, stopped).await {
                tracing::warn!(error = %e, "embedded mock server stopped with an error");
            }
        });
        let watcher = match (seen, self.specs_dir) {
            (Some(seen), Some(dir)) => Some(tokio::spawn(watch_from(Arc::clone(&mock), dir, WATCH_INTERVAL, seen))),
            _ => None,
        };
        Ok(MockServer { addr, mock, shutdown: Some(shutdown), watcher })
    }
}
