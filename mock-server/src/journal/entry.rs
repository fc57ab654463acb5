//! The journal's public types: [`Entry`], one journalled request and its answer, and
//! [`Outcome`], why it got that answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::unique::Clash;

/// Why a request got the answer it got: one per request, so a mismatch is diagnosed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// A record was created; `ids` are its generated values.
    Created { collection: String, ids: Value },
    /// An existing record was updated (a body naming it by `field`).
    Updated { collection: String, field: String, value: Value },
    /// An update named a record that does not exist (or that another account owns).
    RecordNotFound { field: String, value: Value },
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
    /// A `Prefer` header (`code=…` / `example=…`) picked this template; nothing was stored.
    Forced { preference: String, template: String },
    /// The vendor's rate limit (`--rate-limits`) was exceeded: at most `limit` requests per
    /// `window_seconds` per credential.
    RateLimited { limit: u32, window_seconds: u64, retry_after: u64 },
    /// The vendor's state is full (`--max-records`, `--state-bytes`): nothing was stored and
    /// the vendor's server error answered, naming the limit.
    StateFull { reason: String },
}

/// One schema violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
            Self::Updated { .. } => "updated",
            Self::RecordNotFound { .. } => "record_not_found",
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
            Self::Forced { .. } => "forced",
            Self::RateLimited { .. } => "rate_limited",
            Self::StateFull { .. } => "state_full",
        }
    }
}

/// One journalled request and its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Whether `headers` has the names as sent (see [`HeaderCaseSeen`]).
    pub header_case: HeaderCaseSeen,
    /// The body as text (lossy UTF-8); at most its first 64 KiB, then a `…[cut: …]` marker.
    pub body: String,
    pub status: u16,
    /// The answer's JSON; an answer over 64 KiB is kept as the text of its first 64 KiB and a
    /// `…[cut: …]` marker.
    pub response: Value,
    pub outcome: Outcome,
    pub duration_us: u64,
    /// The body's real length in bytes (the journal keeps at most `KEPT_BODY`, 64 KiB, of it).
    #[serde(default)]
    pub body_bytes: u64,
    /// The answer's real length in bytes (the journal keeps at most `KEPT_BODY`, 64 KiB, of it).
    #[serde(default)]
    pub response_bytes: u64,
    /// What the journal cut to its per-entry caps (`body`, `response`, `headers`, `target`,
    /// `outcome`); every cut text ends with a `…[cut: …]` marker. Empty when nothing was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
    /// Why the mock closed the connection after this answer, when it did: the raw-head recorder
    /// gave up on it, so that no later request on it is served with its header case unchecked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_closed: Option<String>,
}

/// Whether a journal entry's header names are spelled as they were sent: the case-exact header
/// checks can only be made when they are. Serialized as `raw`, `lowercase`, `unavailable` or
/// `unrecorded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HeaderCaseSeen {
    /// The names as sent, in their case and order (HTTP/1.x).
    Raw,
    /// HTTP/2: names are lowercase by protocol.
    Lowercase,
    /// The request's raw head was not recorded (served in-process, or not matched): names are
    /// lowercase.
    Unavailable,
    /// The connection's raw-head recorder gave up on it, so a case-exact header fails closed and
    /// the connection is closed after the answer; names are lowercase.
    Unrecorded,
}

impl HeaderCaseSeen {
    /// The word it is serialized as.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Lowercase => "lowercase",
            Self::Unavailable => "unavailable",
            Self::Unrecorded => "unrecorded",
        }
    }
}

impl std::fmt::Display for HeaderCaseSeen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
