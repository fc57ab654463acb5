//! The ways a run can go wrong before a property can even be judged.

use std::time::Duration;

/// A spec document the suite cannot use (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spec of `{vendor}`: {message}")]
pub struct SpecError {
    pub vendor: String,
    pub message: String,
}

impl SpecError {
    pub(crate) fn new(vendor: &str, message: impl Into<String>) -> Self {
        Self { vendor: vendor.to_owned(), message: message.into() }
    }
}

/// The client under test failed to speak the protocol.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The command could not be started at all.
    #[error("could not start `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The harness exited (or closed its stdout) when an answer was due.
    #[error("the harness exited ({status}) while the suite waited for its answer to {during}")]
    Exited { status: String, during: String },
    /// No answer line in time.
    #[error("no answer to {during} within {timeout:?}")]
    Timeout { timeout: Duration, during: String },
    /// An answer that is not what the protocol says.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// An in-process client panicked.
    #[error("the in-process client panicked: {0}")]
    Panicked(String),
    /// Writing to or reading from the harness failed.
    #[error("I/O with the harness failed: {0}")]
    Io(#[from] std::io::Error),
}

impl HarnessError {
    /// A crash or hang: the case fails `response.answers` and the harness is restarted (until
    /// `--max-restarts`). Anything else breaks the protocol and ends the run (exit 3).
    pub fn is_crash(&self) -> bool {
        matches!(self, Self::Exited { .. } | Self::Timeout { .. } | Self::Panicked(_) | Self::Io(_))
    }
}

/// The mock could not be driven.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("in-process mock: {0}")]
    Runtime(#[from] std::io::Error),
    #[error("in-process mock: {0}")]
    Start(#[from] vendor_mock::StartError),
    #[error("mock at {url}: {message}")]
    Admin { url: String, message: String },
    #[error("the suite's own request failed: {0}")]
    Setup(String),
}

/// Why a run stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A bad argument (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A spec the suite cannot use (exit 2).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The mock failed (exit 2).
    #[error(transparent)]
    Mock(#[from] MockError),
    /// The harness failed to start or broke the protocol (exit 3).
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// The client crashed or hung more often than `--max-restarts` allows: the run stops with
    /// what it found (exit 1).
    #[error("stopped: {0}")]
    GaveUp(String),
    /// A report or replay file could not be written or read (exit 2).
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

impl RunError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Harness(_) => 3,
            Self::GaveUp(_) => 1,
            _ => 2,
        }
    }
}
