//! One mock: its settings ([`Config`]), its specs, state, journal and faults, and what
//! the library offers on it ([`Mock`]).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use serde_json::{Value, json};

use crate::auth::{CredentialList, HeaderCase};
use crate::fault::{Fault, Faults};
use crate::journal::Journal;
use crate::journal::entry::Entry;
use crate::rate_limit::RateLimiter;
use crate::spec::Specs;
use crate::state::Store;
use crate::state::ids::Determinism;

/// Settings of one mock server: [`Config::default`] (what `vendor-mock serve` uses without
/// flags), then a setter per setting.
///
/// ```
/// use std::time::Duration;
/// let config = vendor_mock::Config::default().seed(7).body_timeout(Duration::from_millis(300));
/// assert_eq!(config.seed, Some(7));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Makes ids and timestamps deterministic.
    pub seed: Option<u64>,
    /// Whether case-exact header names are enforced over HTTP/1.1.
    pub header_case: HeaderCase,
    /// Accept only these credentials (otherwise any non-empty credential is its own account).
    pub credentials: Option<CredentialList>,
    /// Largest accepted body, in bytes.
    pub body_limit: usize,
    /// How long a client may take to send its body once the head has arrived.
    pub body_timeout: Duration,
    /// How long a client may take to send a request head.
    pub header_timeout: Duration,
    /// How long a connection may stay silent (no byte read or written) before it is closed.
    pub idle_timeout: Duration,
    /// How many requests the journal keeps (the oldest go first).
    pub journal_size: usize,
    /// How many bytes the journal's entries may take together (the oldest go first); each
    /// entry keeps at most 64 KiB of its body and of its answer.
    pub journal_bytes: usize,
    /// Most records one vendor's state holds; past it a create gets the vendor's server error.
    pub max_records: usize,
    /// Most bytes of records one vendor's state holds; past it a create gets the vendor's
    /// server error.
    pub state_bytes: usize,
    /// Keep secrets (credentials, passwords, tokens) readable in the journal and in the admin
    /// API's state listings; masked otherwise.
    pub journal_secrets: bool,
    /// Enforce the rate limits that specs declare in `x-mock.rate_limits`.
    pub rate_limits: bool,
    /// Require `Authorization: Bearer <token>` on the admin API (`/__admin`).
    pub admin_token: Option<String>,
    /// Host names (or addresses) the admin API answers besides the loopback ones; `*` answers
    /// any. See `admin::guard`.
    pub admin_hosts: Vec<String>,
    /// Contract revisions to serve instead of the default ones: `(vendor, revision)`.
    pub revisions: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: None,
            header_case: HeaderCase::Strict,
            credentials: None,
            body_limit: 1024 * 1024,
            body_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            journal_size: 10_000,
            journal_bytes: 64 * 1024 * 1024,
            max_records: 1_000_000,
            state_bytes: 256 * 1024 * 1024,
            journal_secrets: false,
            rate_limits: false,
            admin_token: None,
            admin_hosts: Vec::new(),
            revisions: Vec::new(),
        }
    }
}

impl Config {
    /// Make generated ids and timestamps deterministic (`--seed`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How header-name case is checked (`--header-case`).
    pub fn header_case(mut self, case: HeaderCase) -> Self {
        self.header_case = case;
        self
    }

    /// Accept only these credentials (`--credentials`).
    pub fn credentials(mut self, credentials: CredentialList) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Largest accepted body, in bytes (`--body-limit`).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How long a client may take to send its body (`--client-timeout`).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// How long a client may take to send a request head (`--client-timeout`).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How long a connection may stay silent (`--idle-timeout`).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How many requests the journal keeps (`--journal-size`).
    pub fn journal_size(mut self, entries: usize) -> Self {
        self.journal_size = entries;
        self
    }

    /// How many bytes the journal keeps (`--journal-bytes`).
    pub fn journal_bytes(mut self, bytes: usize) -> Self {
        self.journal_bytes = bytes;
        self
    }

    /// How many records one vendor's state holds (`--max-records`).
    pub fn max_records(mut self, records: usize) -> Self {
        self.max_records = records;
        self
    }

    /// How many bytes of records one vendor's state holds (`--state-bytes`).
    pub fn state_bytes(mut self, bytes: usize) -> Self {
        self.state_bytes = bytes;
        self
    }

    /// Keep secrets readable in the journal and state listings (`--journal-secrets`).
    pub fn journal_secrets(mut self, on: bool) -> Self {
        self.journal_secrets = on;
        self
    }

    /// Enforce the specs' rate limits (`--rate-limits`).
    pub fn rate_limits(mut self, on: bool) -> Self {
        self.rate_limits = on;
        self
    }

    /// Require `Authorization: Bearer <token>` on `/__admin` (`--admin-token`).
    pub fn admin_token(mut self, token: Option<String>) -> Self {
        self.admin_token = token;
        self
    }

    /// Host names the admin API answers besides the loopback ones (`--admin-host`).
    pub fn admin_hosts(mut self, hosts: Vec<String>) -> Self {
        self.admin_hosts = hosts;
        self
    }

    /// Serve this contract revision of a vendor (`--revision vendor=revision`).
    pub fn revision(mut self, vendor: &str, revision: &str) -> Self {
        self.revisions.push((vendor.to_owned(), revision.to_owned()));
        self
    }
}

/// One mock: the vendors' specs, their state and the journal.
#[derive(Debug)]
pub struct Mock {
    /// The specs served now (replaced by a reload).
    current: RwLock<Arc<Specs>>,
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) journal: Journal,
    pub(crate) faults: Faults,
    pub(crate) limiter: RateLimiter,
}

impl Mock {
    /// A mock serving `specs`, with empty state.
    pub fn new(specs: Specs, config: Config) -> Arc<Self> {
        let specs = choose_revisions(specs, &config.revisions);
        let determinism = config.seed.map_or(Determinism::Real, Determinism::Seeded);
        Arc::new(Self {
            store: Store::new(
                &specs.vendors,
                determinism,
                crate::state::Limits { records: config.max_records, bytes: config.state_bytes },
            ),
            journal: Journal::new(config.journal_size, config.journal_bytes),
            faults: Faults::new(config.seed),
            limiter: RateLimiter::default(),
            current: RwLock::new(Arc::new(specs)),
            config,
        })
    }

    /// The specs served now (the revisions chosen by the config; replaced by
    /// [`Mock::replace_specs`], as `--watch` does).
    pub fn specs(&self) -> Arc<Specs> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serves `specs` from the next request on. State is kept (it is keyed by vendor name), and
    /// so are the journal and the faults.
    pub fn replace_specs(&self, specs: Specs) {
        let specs = choose_revisions(specs, &self.config.revisions);
        self.store.ensure(&specs.vendors);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(specs);
    }

    /// The settings this mock was created with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The journalled requests, oldest first (secrets masked unless `journal_secrets`).
    pub fn journal(&self) -> Vec<Entry> {
        self.shown(self.journal.entries())
    }

    /// Masks the secrets entries carry, unless `journal_secrets`: done when the journal is read
    /// rather than on every request, which keeps the hot path short.
    pub(crate) fn shown(&self, mut entries: Vec<Entry>) -> Vec<Entry> {
        if let Some(secrets) = self.secrets() {
            entries.iter_mut().for_each(|entry| crate::redact::mask_entry(entry, &secrets));
        }
        entries
    }

    /// The secret names to mask in what the admin API shows, or `None` under `journal_secrets`.
    pub(crate) fn secrets(&self) -> Option<crate::redact::Secrets> {
        (!self.config.journal_secrets).then(|| crate::redact::Secrets::new(self.specs().secret_names()))
    }

    /// Empties the journal.
    pub fn clear_journal(&self) {
        self.journal.clear();
    }

    /// Forgets state, journal entries, faults and rate-limit counters: all of them (`None`), or
    /// those of one vendor (its records, its journal entries, the faults restricted to it).
    /// Id sequences, random ids and the seeded clock start again as at start (also fault ids and
    /// draws when everything is reset), so that a `--seed` run after a reset repeats exactly.
    pub fn reset(&self, vendor: Option<&str>) {
        match vendor {
            None => {
                for v in &self.specs().vendors {
                    self.store.reset(&v.name);
                }
                self.journal.clear();
                self.faults.restart(self.config.seed);
            }
            Some(vendor) => {
                self.store.reset(vendor);
                self.journal.forget(vendor, None);
                self.faults.forget(vendor, None);
            }
        }
        self.limiter.forget(vendor, None);
    }

    /// Forgets what one credential value (in any credential part) did at one vendor: the records
    /// it created (freeing their unique values), the journal entries that carried it, the faults
    /// restricted to it and its rate-limit counters. Returns how many records were forgotten.
    pub fn reset_credential(&self, vendor: &str, credential: &str) -> usize {
        self.journal.forget(vendor, Some(credential));
        self.faults.forget(vendor, Some(credential));
        self.limiter.forget(Some(vendor), Some(credential));
        self.store.reset_owner(vendor, credential)
    }

    /// Adds a fault; returns its id.
    pub fn inject(&self, fault: Fault) -> u64 {
        self.faults.add(fault)
    }

    /// The active faults.
    pub fn faults(&self) -> Vec<Fault> {
        self.faults.list()
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    /// Removes one fault; false if none has this id.
    pub fn remove_fault(&self, id: u64) -> bool {
        self.faults.remove(id)
    }

    /// A vendor's records as `{collection: [record, …]}`.
    pub fn records(&self, vendor: &str) -> Option<Value> {
        self.specs().vendor(vendor).map(|v| json!(self.store.records(&v.name)))
    }
}

/// The specs serving the configured revisions; an unknown revision keeps the default one (with a
/// warning): callers that can refuse it (the CLI, `MockServer`) check with
/// [`Specs::with_revisions`] first.
pub(crate) fn choose_revisions(specs: Specs, picks: &[(String, String)]) -> Specs {
    match specs.with_revisions(picks) {
        Ok(chosen) => chosen,
        Err(e) => {
            tracing::warn!(error = %e, "revision not available; serving the default");
            specs
        }
    }
}
