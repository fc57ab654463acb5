//! The settings of a run.

use std::path::PathBuf;
use std::time::Duration;

use crate::revisions::RevisionSelection;

/// Which vendors to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VendorSelection {
    All,
    Named(Vec<String>),
}

impl VendorSelection {
    /// `all` or a comma-separated list.
    pub fn parse(s: &str) -> Self {
        if s.trim() == "all" {
            Self::All
        } else {
            Self::Named(s.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect())
        }
    }

    /// Whether the selection includes this vendor.
    pub fn includes(&self, vendor: &str) -> bool {
        match self {
            Self::All => true,
            Self::Named(names) => names.iter().any(|n| n == vendor),
        }
    }
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub vendors: VendorSelection,
    /// The contract revisions to check (`--revision`; default: each vendor's default revision).
    /// The in-process mock serves the chosen revisions and the suite reads the same documents
    /// (schemas, credential parts, answer shapes). An external mock (`mock_url`) can only be
    /// checked on the default revisions.
    pub revisions: RevisionSelection,
    /// Cases per scenario per vendor.
    pub cases: u32,
    pub seed: u64,
    /// How long the suite waits for each answer line.
    pub timeout: Duration,
    /// The time-out the client is told to give its own HTTP exchange (`timeout_ms`).
    pub client_timeout: Duration,
    /// Check every message against protocol.schema.json.
    pub validate_protocol: bool,
    /// Spec folder (default: the specs embedded in vendor-mock).
    pub specs: Option<PathBuf>,
    /// An external mock with the admin API (default: one in-process).
    pub mock_url: Option<String>,
    /// Where failures are saved as replay files (none: not saved).
    pub replay_dir: Option<PathBuf>,
    /// How the client is named in the printed replay command (`exec:python3 h.py`).
    pub client_label: String,
    /// Most shrink steps per failure.
    pub max_shrink_iters: u32,
    /// Most restarts of a client that crashed or hung; then the run stops (exit 1).
    pub max_restarts: u32,
    /// Warnings fail the run (`--strict`).
    pub strict: bool,
    /// A selected vendor the client's `ready` does not list fails the run
    /// (`--require-vendors`) instead of being skipped.
    pub require_vendors: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            vendors: VendorSelection::All,
            revisions: RevisionSelection::Default,
            cases: 16,
            seed: 0,
            timeout: Duration::from_secs(10),
            client_timeout: Duration::from_secs(5),
            validate_protocol: false,
            specs: None,
            mock_url: None,
            replay_dir: None,
            client_label: "exec:CMD".into(),
            max_shrink_iters: 256,
            max_restarts: 16,
            strict: false,
            require_vendors: false,
        }
    }
}

impl RunOptions {
    /// The client's time-out in milliseconds.
    pub(crate) fn client_timeout_ms(&self) -> u64 {
        u64::try_from(self.client_timeout.as_millis()).unwrap_or(u64::MAX)
    }
}
