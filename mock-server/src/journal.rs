//! The request journal: every request, what was answered and why, in a bounded ring.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::spec::Vendor;
use crate::state::Clash;

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
    pub header_case: String,
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

/// How much of a body (and of an answer) one journal entry keeps (issue 13).
pub const KEPT_BODY: usize = 64 * 1024;
/// How much of the path, of the query and of each header value one entry keeps.
pub const KEPT_TEXT: usize = 8 * 1024;
/// How many bulk failures an entry's outcome keeps.
pub(crate) const KEPT_FAILURES: usize = 100;

/// Flags of what [`Texts`] cut, stored as the texts' last byte.
const CUT_BODY: u8 = 1;
const CUT_RESPONSE: u8 = 2;
const CUT_HEADERS: u8 = 4;
const CUT_TARGET: u8 = 8;
const CUT_OUTCOME: u8 = 16;

/// A bounded ring of entries, newest last.
#[derive(Debug)]
pub(crate) struct Journal {
    inner: Mutex<Ring>,
}

#[derive(Debug)]
struct Ring {
    slots: VecDeque<Recorded>,
    capacity: usize,
    /// The bytes the entries may take together (`--journal-bytes`), and what they take now.
    max_bytes: usize,
    bytes: usize,
    next_seq: u64,
    /// Text buffers of evicted entries, for the next requests: once the journal is full,
    /// recording allocates and frees no text buffers.
    spare: Vec<Vec<u8>>,
}

/// Spare buffers kept at most (one per request in flight is enough).
const SPARE_BUFFERS: usize = 256;
/// A buffer larger than this (a big body) is freed rather than kept for reuse.
const REUSED_CAPACITY: usize = 16 * 1024;

/// What the request path hands the journal: the request and its answer as they were, turned
/// into an [`Entry`] only when somebody reads the journal. The texts sit in one allocation, so
/// that recording costs a few copies and a full journal stays small.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// Assigned by [`Journal::record`].
    pub(crate) seq: u64,
    /// Arrival, in Unix milliseconds.
    pub(crate) at_ms: i64,
    /// The vendor routed to (or nearest), and the index of the operation, when routed.
    pub(crate) vendor: Option<Arc<Vendor>>,
    pub(crate) operation: Option<usize>,
    pub(crate) method: http::Method,
    pub(crate) version: http::Version,
    pub(crate) header_case: &'static str,
    pub(crate) status: u16,
    pub(crate) outcome: Outcome,
    pub(crate) duration_us: u64,
    /// The hashes of the credential values the request carried (the values themselves are not
    /// kept), path, query, headers, body and response, as [`Texts`] wrote them.
    pub(crate) texts: Vec<u8>,
    /// Why the connection was closed after the answer (see [`Entry::connection_closed`]).
    pub(crate) connection_closed: Option<Box<str>>,
}

impl Recorded {
    /// What the entry costs the journal's byte budget: its texts, its outcome, itself.
    fn cost(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.texts.capacity()
            + outcome_bytes(&self.outcome)
            + self.connection_closed.as_ref().map_or(0, |c| c.len())
    }
}

/// About what an outcome holds on the heap.
fn outcome_bytes(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Created { collection, ids } => collection.len() + value_bytes(ids),
        Outcome::Updated { collection, field, value } => collection.len() + field.len() + value_bytes(value),
        Outcome::RecordNotFound { field, value } => field.len() + value_bytes(value),
        Outcome::Bulk { failed, .. } => failed.iter().map(value_bytes).sum(),
        Outcome::Duplicate { rule, field, value } => rule.len() + field.len() + value.len(),
        Outcome::Unauthorized { reason }
        | Outcome::Forbidden { reason }
        | Outcome::Malformed { reason }
        | Outcome::StateFull { reason } => reason.len(),
        Outcome::Invalid { violations } => violations.iter().map(|v| 48 + v.field.len() + v.message.len()).sum(),
        Outcome::Unrouted { nearest } => nearest.len(),
        Outcome::MethodNotAllowed { allowed } => allowed.iter().map(|a| 24 + a.len()).sum(),
        Outcome::Forced { preference, template } => preference.len() + template.len(),
        _ => 0,
    }
}

/// About what a JSON value holds on the heap.
fn value_bytes(value: &Value) -> usize {
    const NODE: usize = std::mem::size_of::<Value>();
    match value {
        Value::String(s) => NODE + s.len(),
        Value::Array(items) => NODE + items.iter().map(value_bytes).sum::<usize>(),
        Value::Object(map) => NODE + map.iter().map(|(k, v)| 32 + k.len() + value_bytes(v)).sum::<usize>(),
        _ => NODE,
    }
}

/// Writes the texts of a [`Recorded`]: each one a 4-byte length and its bytes (the body and
/// the response each after their real length, 8 bytes), each cut to its cap (issue 13), and
/// last a byte of `CUT_*` flags.
#[derive(Debug)]
pub(crate) struct Texts(Vec<u8>, u8);

/// The room the texts of a request need at most: what `Texts` keeps of a text this long.
pub(crate) fn kept(len: usize, cap: usize) -> usize {
    len.min(cap + 64)
}

impl Texts {
    /// Starts, in `buffer` (see [`Journal::buffer`]), with the credential hashes, the path and
    /// the query; `headers` calls of [`Texts::header`] follow, then [`Texts::finish`] adds the body
    /// and the response.
    pub(crate) fn new<'a>(
        mut buffer: Vec<u8>,
        credentials: impl Iterator<Item = &'a str>,
        path: &str,
        query: Option<&str>,
        headers: usize,
    ) -> Self {
        buffer.clear();
        buffer.push(0);
        let mut count = 0u8;
        for credential in credentials.take(usize::from(u8::MAX)) {
            buffer.extend_from_slice(&credential_hash(credential).to_le_bytes());
            count += 1;
        }
        buffer[0] = count;
        let mut texts = Self(buffer, 0);
        texts.put_capped(path.as_bytes(), CUT_TARGET);
        match query {
            Some(q) => {
                texts.0.push(1);
                texts.put_capped(q.as_bytes(), CUT_TARGET);
            }
            None => texts.0.push(0),
        }
        texts.0.extend_from_slice(&u32::try_from(headers).unwrap_or(u32::MAX).to_le_bytes());
        texts
    }

    pub(crate) fn header(&mut self, name: &[u8], value: &[u8]) {
        self.put_capped(name, CUT_HEADERS);
        self.put_capped(value, CUT_HEADERS);
    }

    pub(crate) fn finish(mut self, body: &[u8], response: &[u8]) -> Vec<u8> {
        for (text, flag) in [(body, CUT_BODY), (response, CUT_RESPONSE)] {
            self.0.extend_from_slice(&(text.len() as u64).to_le_bytes());
            if text.len() > KEPT_BODY {
                self.1 |= flag;
            }
            self.put(text.get(..KEPT_BODY).unwrap_or(text));
        }
        self.0.push(self.1);
        self.0
    }

    /// Puts at most [`KEPT_TEXT`] bytes of `bytes`, then a marker with the real length.
    fn put_capped(&mut self, bytes: &[u8], flag: u8) {
        if bytes.len() <= KEPT_TEXT {
            return self.put(bytes);
        }
        self.1 |= flag;
        let mut kept = bytes[..KEPT_TEXT].to_vec();
        kept.extend_from_slice(marker(KEPT_TEXT, bytes.len() as u64).as_bytes());
        self.put(&kept);
    }

    fn put(&mut self, bytes: &[u8]) {
        // Every text is cut far below 4 GiB.
        self.0.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.0.extend_from_slice(bytes);
    }
}

/// What ends a cut text.
fn marker(kept: usize, real: u64) -> String {
    format!("…[cut: {kept} of {real} bytes kept]")
}

/// Reads back what [`Texts`] wrote.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }

    fn len(&mut self) -> usize {
        let n = [self.byte(), self.byte(), self.byte(), self.byte()];
        u32::from_le_bytes(n) as usize
    }

    fn u64(&mut self) -> u64 {
        let mut n = [0u8; 8];
        n.iter_mut().for_each(|b| *b = self.byte());
        u64::from_le_bytes(n)
    }

    fn text(&mut self) -> &'a [u8] {
        let len = self.len().min(self.0.len());
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        text
    }

    fn string(&mut self) -> String {
        String::from_utf8_lossy(self.text()).into_owned()
    }
}

impl Recorded {
    /// The hashes of the credential values the request carried.
    fn credentials(&self) -> impl Iterator<Item = u64> + '_ {
        self.sections().0.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
    }

    /// The credential hashes, and the texts after them.
    fn sections(&self) -> (&[u8], &[u8]) {
        let (count, rest) = self.texts.split_first().map_or((0, &[][..]), |(c, r)| (usize::from(*c), r));
        rest.split_at_checked(8 * count).unwrap_or((&[], &[]))
    }

    fn carried(&self, hash: u64) -> bool {
        self.credentials().any(|c| c == hash)
    }

    fn vendor_name(&self) -> Option<&str> {
        self.vendor.as_deref().map(|v| v.name.as_str())
    }

    /// The entry as the journal shows it (before masking).
    fn entry(&self) -> Entry {
        let mut r = Reader(self.sections().1);
        let path = r.string();
        let query = (r.byte() == 1).then(|| r.string());
        let count = r.len();
        let headers = (0..count).map(|_| (r.string(), r.string())).collect();
        let body_bytes = r.u64();
        let mut body = r.string();
        let response_bytes = r.u64();
        let response = r.text();
        let cut = r.byte();
        if cut & CUT_BODY != 0 {
            body.push_str(&marker(KEPT_BODY, body_bytes));
        }
        let response = match cut & CUT_RESPONSE {
            0 => serde_json::from_slice(response).unwrap_or(Value::Null),
            _ => Value::String(String::from_utf8_lossy(response).into_owned() + &marker(KEPT_BODY, response_bytes)),
        };
        let names = [
            (CUT_BODY, "body"),
            (CUT_RESPONSE, "response"),
            (CUT_HEADERS, "headers"),
            (CUT_TARGET, "target"),
            (CUT_OUTCOME, "outcome"),
        ];
        let truncated = names.iter().filter(|(flag, _)| cut & flag != 0).map(|(_, name)| (*name).to_owned()).collect();
        let at = chrono::DateTime::from_timestamp_millis(self.at_ms).unwrap_or_default();
        Entry {
            seq: self.seq,
            at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            vendor: self.vendor_name().map(str::to_owned),
            operation: self
                .vendor
                .as_deref()
                .zip(self.operation)
                .and_then(|(v, i)| v.operations.get(i))
                .map(|op| op.id.clone()),
            method: self.method.to_string(),
            path,
            query,
            version: format!("{:?}", self.version),
            headers,
            header_case: self.header_case.to_owned(),
            body,
            status: self.status,
            response,
            outcome: self.outcome.clone(),
            duration_us: self.duration_us,
            body_bytes,
            response_bytes,
            truncated,
            connection_closed: self.connection_closed.as_deref().map(str::to_owned),
        }
    }

    /// Keeps at most [`KEPT_FAILURES`] bulk failures in the outcome, flagging the cut.
    fn cap_outcome(&mut self) {
        if let Outcome::Bulk { failed, .. } = &mut self.outcome
            && failed.len() > KEPT_FAILURES
        {
            failed.truncate(KEPT_FAILURES);
            failed.shrink_to_fit();
            if let Some(flags) = self.texts.last_mut() {
                *flags |= CUT_OUTCOME;
            }
        }
    }
}

/// Which entries to list (`GET /__admin/requests`); every given criterion must hold.
#[derive(Debug, Default, Clone)]
pub(crate) struct Filter {
    pub(crate) vendor: Option<String>,
    /// Hash of a credential value, see [`credential_hash`].
    pub(crate) credential: Option<u64>,
    pub(crate) status: Option<StatusFilter>,
    pub(crate) outcome: Option<String>,
    pub(crate) since: Option<Since>,
    /// Only the newest N of the matching entries.
    pub(crate) limit: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusFilter {
    /// `429`
    Exact(u16),
    /// `4xx`: the hundreds digit.
    Class(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Since {
    /// Entries with a greater `seq` (what a poller saw last).
    Seq(u64),
    /// Entries that arrived at or after this Unix time, in milliseconds.
    Time(i64),
}

impl Filter {
    fn matches(&self, slot: &Recorded) -> bool {
        let e = slot;
        self.vendor.as_ref().is_none_or(|v| e.vendor_name() == Some(v.as_str()))
            && self.credential.is_none_or(|c| slot.carried(c))
            && self.status.is_none_or(|s| match s {
                StatusFilter::Exact(code) => e.status == code,
                StatusFilter::Class(class) => e.status / 100 == class,
            })
            && self.outcome.as_deref().is_none_or(|o| e.outcome.label() == o)
            && self.since.is_none_or(|s| match s {
                Since::Seq(seq) => e.seq > seq,
                Since::Time(ms) => slot.at_ms >= ms,
            })
    }
}

/// What the journal keeps of a credential value: enough to filter by it, not the value.
pub(crate) fn credential_hash(value: &str) -> u64 {
    crate::state::fnv1a(value)
}

impl Journal {
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Self {
        // Sized once (not doubled past the bound); pages are only touched as entries arrive.
        let slots = VecDeque::with_capacity(capacity.min(1 << 20));
        let ring = Ring { slots, capacity, max_bytes, bytes: 0, next_seq: 1, spare: Vec::new() };
        Self { inner: Mutex::new(ring) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends an entry (its `seq` is assigned here), dropping the oldest while the journal
    /// holds more than `--journal-size` entries or `--journal-bytes` bytes.
    pub(crate) fn record(&self, mut recorded: Recorded) {
        recorded.cap_outcome();
        let cost = recorded.cost();
        let mut ring = self.lock();
        let mut evicted = Vec::new();
        if ring.capacity == 0 || cost > ring.max_bytes {
            // Nothing kept (an entry larger than the whole budget cannot be, with the caps).
            evicted.push(recorded);
        } else {
            recorded.seq = ring.next_seq;
            ring.next_seq += 1;
            ring.bytes += cost;
            ring.slots.push_back(recorded);
            while ring.slots.len() > ring.capacity || ring.bytes > ring.max_bytes {
                let Some(old) = ring.slots.pop_front() else { break };
                ring.bytes = ring.bytes.saturating_sub(old.cost());
                evicted.push(old);
            }
        }
        for old in &mut evicted {
            if old.texts.capacity() <= REUSED_CAPACITY && ring.spare.len() < SPARE_BUFFERS {
                ring.spare.push(std::mem::take(&mut old.texts));
            }
        }
        drop(ring);
        // The rest is freed outside the lock.
        drop(evicted);
    }

    /// An empty buffer of at least `size` bytes for the next request's [`Texts`]: an evicted
    /// entry's, or a new one.
    pub(crate) fn buffer(&self, size: usize) -> Vec<u8> {
        let mut buffer = self.lock().spare.pop().unwrap_or_default();
        buffer.clear();
        buffer.reserve_exact(size);
        buffer
    }

    pub(crate) fn entries(&self) -> Vec<Entry> {
        self.lock().slots.iter().map(Recorded::entry).collect()
    }

    /// The bytes the entries take now (see `--journal-bytes`) and how many there are.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        let ring = self.lock();
        (ring.bytes, ring.slots.len())
    }

    /// Where a listing of `filter` starts and ends: entries after the first `seq` and up to
    /// the second (the newest now: entries recorded while the listing is sent are not in it),
    /// and at most how many, when that is not told by the start. With `since`, `limit` takes
    /// the first matches after it (a page: the last `seq` listed is the next page's `since`);
    /// without, the newest (the start is found by counting matches back from the newest).
    pub(crate) fn window(&self, filter: &Filter) -> (u64, u64, Option<usize>) {
        let ring = self.lock();
        let upto = ring.slots.back().map_or(0, |s| s.seq);
        let after = match filter.since {
            Some(Since::Seq(seq)) => seq,
            _ => 0,
        };
        match filter.limit {
            None => (after, upto, None),
            Some(limit) if filter.since.is_some() => (after, upto, Some(limit)),
            Some(0) => (upto, upto, None),
            Some(limit) => {
                let nth = ring.slots.iter().rev().filter(|s| filter.matches(s)).nth(limit - 1);
                (nth.map_or(after, |s| s.seq - 1).max(after), upto, None)
            }
        }
    }

    /// The next entries matching `filter` with `after < seq <= upto`, oldest first: at most
    /// `max_entries`, about `max_bytes` of text, after looking at no more than 4,096 entries,
    /// so that the journal's lock is held briefly. Returns them and the `seq` to continue
    /// after; `None` once the window is done.
    pub(crate) fn batch(
        &self,
        filter: &Filter,
        after: u64,
        upto: u64,
        max_entries: usize,
        max_bytes: usize,
    ) -> (Vec<Entry>, Option<u64>) {
        const LOOKED_AT: usize = 4096;
        let ring = self.lock();
        let start = ring.slots.partition_point(|s| s.seq <= after);
        let mut found: Vec<Recorded> = Vec::new();
        let mut bytes = 0;
        let mut last = after;
        let mut done = false;
        for slot in ring.slots.range(start..).take(LOOKED_AT) {
            if slot.seq > upto {
                done = true;
                break;
            }
            last = slot.seq;
            if filter.matches(slot) {
                bytes += slot.texts.len();
                // A copy of the texts (one memcpy); the entry is built after the lock is released.
                found.push(slot.clone());
                if found.len() >= max_entries || bytes >= max_bytes {
                    break;
                }
            }
        }
        let more = !done && ring.slots.back().is_some_and(|s| s.seq > last) && last < upto;
        drop(ring);
        (found.iter().map(Recorded::entry).collect(), more.then_some(last))
    }

    /// Drops a vendor's entries, or (with `credential`) only those that carried that value.
    pub(crate) fn forget(&self, vendor: &str, credential: Option<&str>) {
        let hash = credential.map(credential_hash);
        let mut ring = self.lock();
        ring.slots.retain(|s| {
            let vendor_matches = s.vendor_name() == Some(vendor);
            !(vendor_matches && hash.is_none_or(|h| s.carried(h)))
        });
        ring.bytes = ring.slots.iter().map(Recorded::cost).sum();
    }

    pub(crate) fn clear(&self) {
        let mut ring = self.lock();
        ring.slots.clear();
        ring.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recorded(query: Option<&str>, headers: &[(&str, &str)], body: &[u8], response: &[u8]) -> Recorded {
        let mut texts = Texts::new(Vec::new(), ["k1"].into_iter(), "/api/v1/client/save", query, headers.len());
        for (name, value) in headers {
            texts.header(name.as_bytes(), value.as_bytes());
        }
        Recorded {
            seq: 0,
            at_ms: 1_735_689_600_123,
            vendor: None,
            operation: None,
            method: http::Method::POST,
            version: http::Version::HTTP_11,
            header_case: "raw",
            status: 200,
            outcome: Outcome::Timeout,
            duration_us: 42,
            texts: texts.finish(body, response),
            connection_closed: None,
        }
    }

    /// Every entry of a window, read in batches of `size` as the admin API does.
    fn listed(journal: &Journal, filter: &Filter, size: usize) -> Vec<u64> {
        let (mut after, upto, most) = journal.window(filter);
        let mut left = most.unwrap_or(usize::MAX);
        let mut seqs = Vec::new();
        while left > 0 {
            let (entries, next) = journal.batch(filter, after, upto, size.min(left), usize::MAX);
            left -= entries.len();
            seqs.extend(entries.iter().map(|e| e.seq));
            match next {
                Some(next) => after = next,
                None => break,
            }
        }
        seqs
    }

    #[test]
    fn a_recorded_request_reads_back_as_the_entry_it_was() {
        let r = recorded(
            Some("api_key=k&x=1"),
            &[("Content-Type", "application/json"), ("X-Two", "")],
            b"{\"a\":1}",
            b"{\"ok\":true}",
        );
        let e = r.entry();
        assert_eq!(e.at, "2025-01-01T00:00:00.123Z");
        assert_eq!(
            (e.method.as_str(), e.path.as_str(), e.version.as_str()),
            ("POST", "/api/v1/client/save", "HTTP/1.1")
        );
        assert_eq!(e.query.as_deref(), Some("api_key=k&x=1"));
        assert_eq!(
            e.headers,
            [("Content-Type".to_owned(), "application/json".to_owned()), ("X-Two".to_owned(), String::new())]
        );
        assert_eq!(e.body, "{\"a\":1}");
        assert_eq!(e.response, json!({"ok": true}));
        assert_eq!((e.status, e.duration_us), (200, 42));
        assert!(r.carried(credential_hash("k1")) && !r.carried(credential_hash("k2")));
        let bare = recorded(None, &[], b"\xff\xfe", b"").entry();
        assert_eq!(
            (bare.query, bare.headers.len(), bare.body.as_str(), bare.response),
            (None, 0, "\u{fffd}\u{fffd}", Value::Null)
        );
    }

    #[test]
    fn the_ring_keeps_the_newest_entries_with_increasing_seq() {
        let journal = Journal::new(3, usize::MAX);
        for _ in 0..10 {
            journal.record(recorded(None, &[], b"", b"{}"));
        }
        let seqs: Vec<u64> = journal.entries().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [8, 9, 10]);
        let since = Filter { since: Some(Since::Seq(8)), ..Filter::default() };
        assert_eq!(listed(&journal, &since, 1), [9, 10]);
    }

    #[test]
    fn a_large_body_and_answer_are_kept_up_to_the_cap_with_a_marker_and_their_real_length() {
        let body = vec![b'x'; 1024 * 1024];
        let response = format!("{{\"a\":\"{}\"}}", "y".repeat(200_000));
        let long_header = "h".repeat(KEPT_TEXT * 3);
        let r = recorded(None, &[("X-Long", &long_header)], &body, response.as_bytes());
        assert!(r.texts.len() < 2 * KEPT_BODY + 2 * KEPT_TEXT, "{} bytes kept", r.texts.len());
        let e = r.entry();
        assert_eq!((e.body_bytes, e.response_bytes), (1024 * 1024, response.len() as u64));
        assert_eq!(e.truncated, ["body", "response", "headers"]);
        assert!(
            e.body.starts_with("xxx") && e.body.ends_with("…[cut: 65536 of 1048576 bytes kept]"),
            "{}",
            &e.body[65000..]
        );
        let text = e.response.as_str().expect("a cut answer is kept as text");
        assert!(text.starts_with("{\"a\":\"yyy") && text.ends_with("bytes kept]"));
        assert!(e.headers[0].1.len() < KEPT_TEXT + 64 && e.headers[0].1.ends_with("bytes kept]"));
    }

    #[test]
    fn the_journal_keeps_its_byte_budget_by_dropping_the_oldest() {
        let journal = Journal::new(1000, 1024 * 1024);
        let body = vec![b'x'; 200_000];
        for _ in 0..50 {
            journal.record(recorded(None, &[], &body, b"{}"));
            let (bytes, _) = journal.usage();
            assert!(bytes <= 1024 * 1024, "{bytes} bytes kept");
        }
        let (bytes, count) = journal.usage();
        assert!((5..=16).contains(&count), "{count} entries in {bytes} bytes");
        assert_eq!(journal.entries().last().map(|e| e.seq), Some(50));
        journal.clear();
        assert_eq!(journal.usage(), (0, 0));
    }

    #[test]
    fn bulk_failures_past_the_cap_are_cut_and_flagged() {
        let journal = Journal::new(10, usize::MAX);
        let mut r = recorded(None, &[], b"[]", b"{}");
        r.outcome = Outcome::Bulk { created: 0, failed: (0..5000).map(|i| json!({"index": i})).collect() };
        journal.record(r);
        let e = journal.entries().pop().expect("an entry");
        assert!(matches!(&e.outcome, Outcome::Bulk { failed, .. } if failed.len() == KEPT_FAILURES));
        assert_eq!(e.truncated, ["outcome"]);
    }

    #[test]
    fn a_listing_with_limit_is_the_newest_matches_and_batches_resume_where_they_stopped() {
        let journal = Journal::new(100, usize::MAX);
        for i in 0..30 {
            let mut r = recorded(None, &[], b"", b"{}");
            r.status = if i % 3 == 0 { 500 } else { 200 };
            journal.record(r);
        }
        let all = Filter::default();
        assert_eq!(listed(&journal, &all, 7), (1..=30).collect::<Vec<_>>());
        let errors = Filter { status: Some(StatusFilter::Exact(500)), limit: Some(3), ..Filter::default() };
        assert_eq!(listed(&journal, &errors, 2), [22, 25, 28]);
        let none = Filter { limit: Some(0), ..Filter::default() };
        assert!(listed(&journal, &none, 2).is_empty());
        let since = Filter { since: Some(Since::Seq(27)), limit: Some(10), ..Filter::default() };
        assert_eq!(listed(&journal, &since, 2), [28, 29, 30]);
        let page = Filter { since: Some(Since::Seq(10)), limit: Some(4), ..Filter::default() };
        assert_eq!(listed(&journal, &page, 3), [11, 12, 13, 14], "with since, limit is a page after it");
    }
}
