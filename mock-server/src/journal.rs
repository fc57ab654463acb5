//! The request journal: every request, what was answered and why, in a bounded ring.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use crate::state::Clash;

/// Why a request got the answer it got: one per request, so a mismatch is diagnosed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// A record was created; `ids` are its generated values.
    Created { collection: String, ids: Value },
    /// A bulk create: how many entries were created, and the clashes of the others.
    Bulk { created: usize, failed: Vec<Value> },
    /// A list was answered.
    Listed { count: usize },
    /// A uniqueness rule clashed.
    Duplicate { rule: String, field: String, value: String },
    /// Authentication failed.
    Unauthorized { reason: String },
    /// Authenticated, but not allowed (a tenant that is not the account's).
    Forbidden { reason: String },
    /// The body broke the request schema.
    Invalid { violations: Vec<Violation> },
    /// The body could not be read as JSON of the right media type.
    Malformed { reason: String },
    /// The body was larger than the limit.
    TooLarge { limit: usize },
    /// The body did not arrive in time.
    Timeout,
    /// No route has this path; `nearest` is the closest known one.
    Unrouted { nearest: String },
    /// The path is known, the method is not.
    MethodNotAllowed { allowed: Vec<String> },
    /// An injected fault answered instead of the vendor.
    Fault { effect: crate::fault::Effect },
}

/// One schema violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Dotted path of the field (`client_users[0].email`; the entry index first in a bulk body).
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

impl Outcome {
    pub(crate) fn duplicate(clash: &Clash) -> Self {
        Self::Duplicate { rule: clash.rule.clone(), field: clash.field.clone(), value: clash.value.clone() }
    }

    /// A short word for logs and filters.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Created { .. } => "created",
            Self::Bulk { .. } => "bulk",
            Self::Listed { .. } => "listed",
            Self::Duplicate { .. } => "duplicate",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::Invalid { .. } => "invalid",
            Self::Malformed { .. } => "malformed",
            Self::TooLarge { .. } => "too_large",
            Self::Timeout => "timeout",
            Self::Unrouted { .. } => "unrouted",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Fault { .. } => "fault",
        }
    }
}

/// One journalled request and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Position in the journal since start (never reused).
    pub seq: u64,
    /// When it arrived (RFC 3339, UTC).
    pub at: String,
    /// The vendor routed to (or nearest, when unrouted).
    pub vendor: Option<String>,
    /// The operation id, when routed.
    pub operation: Option<String>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// `HTTP/1.1`, `HTTP/2.0`, …
    pub version: String,
    /// Header names as sent on the wire (HTTP/1.x; lowercase under HTTP/2), with values.
    pub headers: Vec<(String, String)>,
    /// `raw`: names as sent; `lowercase`: HTTP/2 (lowercase by protocol); `unavailable`: the
    /// raw head could not be matched, names are lowercase.
    pub header_case: &'static str,
    /// The body as text (lossy UTF-8).
    pub body: String,
    pub status: u16,
    pub response: Value,
    pub outcome: Outcome,
    pub duration_us: u64,
}

/// A bounded ring of entries, newest last.
#[derive(Debug)]
pub(crate) struct Journal {
    inner: Mutex<Ring>,
}

#[derive(Debug)]
struct Ring {
    entries: VecDeque<Entry>,
    capacity: usize,
    next_seq: u64,
}

impl Journal {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { inner: Mutex::new(Ring { entries: VecDeque::new(), capacity, next_seq: 1 }) }
    }

    pub(crate) fn record(&self, mut entry: Entry) {
        let mut ring = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if ring.capacity == 0 {
            return;
        }
        entry.seq = ring.next_seq;
        ring.next_seq += 1;
        if ring.entries.len() == ring.capacity {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry);
    }

    pub(crate) fn entries(&self) -> Vec<Entry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).entries.iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).entries.clear();
    }
}
