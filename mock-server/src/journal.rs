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
    slots: VecDeque<Recorded>,
    capacity: usize,
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
#[derive(Debug)]
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
}

/// Writes the texts of a [`Recorded`]: each one a 4-byte length and its bytes.
#[derive(Debug)]
pub(crate) struct Texts(Vec<u8>);

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
        let mut texts = Self(buffer);
        texts.put(path.as_bytes());
        match query {
            Some(q) => {
                texts.0.push(1);
                texts.put(q.as_bytes());
            }
            None => texts.0.push(0),
        }
        texts.0.extend_from_slice(&u32::try_from(headers).unwrap_or(u32::MAX).to_le_bytes());
        texts
    }

    pub(crate) fn header(&mut self, name: &[u8], value: &[u8]) {
        self.put(name);
        self.put(value);
    }

    pub(crate) fn finish(mut self, body: &[u8], response: &[u8]) -> Vec<u8> {
        self.put(body);
        self.put(response);
        self.0
    }

    fn put(&mut self, bytes: &[u8]) {
        // Bodies are bounded by the body limit and heads by the head limit, far below 4 GiB.
        self.0.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.0.extend_from_slice(bytes);
    }
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
        let body = r.string();
        let response = r.text();
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
            response: serde_json::from_slice(response).unwrap_or(Value::Null),
            outcome: self.outcome.clone(),
            duration_us: self.duration_us,
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
    pub(crate) fn new(capacity: usize) -> Self {
        // Sized once (not doubled past the bound); pages are only touched as entries arrive.
        let slots = VecDeque::with_capacity(capacity.min(1 << 20));
        Self { inner: Mutex::new(Ring { slots, capacity, next_seq: 1, spare: Vec::new() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends an entry (its `seq` is assigned here), dropping the oldest when full.
    pub(crate) fn record(&self, mut recorded: Recorded) {
        let mut ring = self.lock();
        let mut evicted = if ring.capacity == 0 {
            Some(recorded)
        } else {
            recorded.seq = ring.next_seq;
            ring.next_seq += 1;
            let evicted = if ring.slots.len() == ring.capacity { ring.slots.pop_front() } else { None };
            ring.slots.push_back(recorded);
            evicted
        };
        if let Some(old) = &mut evicted
            && old.texts.capacity() <= REUSED_CAPACITY
            && ring.spare.len() < SPARE_BUFFERS
        {
            ring.spare.push(std::mem::take(&mut old.texts));
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

    /// The matching entries, oldest first.
    pub(crate) fn query(&self, filter: &Filter) -> Vec<Entry> {
        let ring = self.lock();
        let mut found: Vec<&Recorded> = ring.slots.iter().rev().filter(|s| filter.matches(s)).collect();
        if let Some(limit) = filter.limit {
            found.truncate(limit);
        }
        found.iter().rev().map(|s| s.entry()).collect()
    }

    /// Drops a vendor's entries, or (with `credential`) only those that carried that value.
    pub(crate) fn forget(&self, vendor: &str, credential: Option<&str>) {
        let hash = credential.map(credential_hash);
        self.lock().slots.retain(|s| {
            let vendor_matches = s.vendor_name() == Some(vendor);
            !(vendor_matches && hash.is_none_or(|h| s.carried(h)))
        });
    }

    pub(crate) fn clear(&self) {
        self.lock().slots.clear();
    }
}

/// What replaces a secret whole (passwords).
pub(crate) const HIDDEN: &str = "****";

/// Masks the secrets a request carried, in place: the vendor's credential values (headers,
/// Bearer tokens, query parameters; the first four characters stay, to tell keys apart), any
/// header or query parameter whose name says it holds a secret, and, in a JSON body, every
/// string under a key naming a password, secret or token (replaced whole). The body is
/// re-serialized only when something in it was masked.
pub(crate) fn mask_request(entry: &mut Entry, vendor: Option<&crate::spec::Vendor>) {
    use crate::spec::CredentialLocation as L;
    let parts = vendor.map(|v| v.auth.credentials.as_slice()).unwrap_or_default();
    let header_secret = |name: &str| {
        parts.iter().any(|p| p.location != L::Query && p.key.eq_ignore_ascii_case(name)) || secret_name(name)
    };
    for (name, value) in &mut entry.headers {
        if header_secret(name) && !value.is_empty() {
            *value = match value.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic") =>
                {
                    format!("{scheme} {}", crate::auth::mask(token.trim()))
                }
                _ => crate::auth::mask(value),
            };
        }
    }
    if let Some(query) = &mut entry.query {
        let query_secret =
            |name: &str| parts.iter().any(|p| p.location == L::Query && p.key == name) || secret_name(name);
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decoded_key: String = form_urlencoded::parse(key.as_bytes()).map(|(k, _)| k.into_owned()).collect();
                if query_secret(&decoded_key) && !value.is_empty() {
                    let decoded: String =
                        form_urlencoded::parse(format!("v={value}").as_bytes()).map(|(_, v)| v.into_owned()).collect();
                    format!("{key}={}", crate::auth::mask(&decoded))
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        *query = masked.join("&");
    }
    if might_hold_secret(&entry.body)
        && let Ok(mut body) = serde_json::from_str::<Value>(&entry.body)
        && mask_json(&mut body)
    {
        entry.body = body.to_string();
    }
}

/// Replaces every non-empty string under a secret-naming key by [`HIDDEN`]; true if any was.
pub(crate) fn mask_json(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(s) if secret_key(key) && !s.is_empty() => {
                        *s = HIDDEN.to_owned();
                        changed = true;
                    }
                    _ => changed |= mask_json(child),
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| mask_json(item) | changed),
        _ => false,
    }
}

/// Whether a body mentions a secret-naming word at all (a cheap test before parsing it).
fn might_hold_secret(body: &str) -> bool {
    let bytes = body.as_bytes();
    ["pass", "secret", "token"]
        .iter()
        .any(|needle| bytes.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes())))
}

/// A JSON key that holds a secret of the user's: passwords, secrets, tokens.
fn secret_key(key: &str) -> bool {
    let k: String = key.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    ["password", "passwd", "secret", "token"].iter().any(|s| k.contains(s))
}

/// A header or query parameter name that holds a credential, whatever the vendor.
fn secret_name(name: &str) -> bool {
    let n: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    matches!(n.as_str(), "authorization" | "proxyauthorization" | "cookie")
        || ["apikey", "token", "secret", "password", "passwd"].iter().any(|s| n.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(headers: &[(&str, &str)], query: Option<&str>, body: &str) -> Entry {
        Entry {
            seq: 0,
            at: "2025-01-01T00:00:00.000Z".into(),
            vendor: None,
            operation: None,
            method: "POST".into(),
            path: "/".into(),
            query: query.map(str::to_owned),
            version: "HTTP/1.1".into(),
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
            header_case: "raw".into(),
            body: body.into(),
            status: 200,
            response: Value::Null,
            outcome: Outcome::Timeout,
            duration_us: 0,
        }
    }

    #[test]
    fn credentials_in_headers_and_query_keep_four_characters_and_passwords_none() {
        let mut e = entry(
            &[("Authorization", "Bearer abcdefgh"), ("X-API-KEY", "key_12345"), ("Accept", "*/*")],
            Some("api_key=sk_live_1&x=1"),
            r#"{"email":"a@b.c","password":"hunter22","nested":[{"client_secret":"s3"}],"invalid_token":0}"#,
        );
        mask_request(&mut e, None);
        assert_eq!(e.headers[0].1, "Bearer abcd****");
        assert_eq!(e.headers[1].1, "key_****");
        assert_eq!(e.headers[2].1, "*/*");
        assert_eq!(e.query.as_deref(), Some("api_key=sk_l****&x=1"));
        let body: Value = serde_json::from_str(&e.body).expect("still JSON");
        assert_eq!(
            body,
            json!({"email":"a@b.c","password":"****","nested":[{"client_secret":"****"}],"invalid_token":0})
        );
    }

    #[test]
    fn a_body_without_secrets_is_kept_byte_for_byte() {
        let raw = "{ \"email\" :  \"a@b.c\" }";
        let mut e = entry(&[], None, raw);
        mask_request(&mut e, None);
        assert_eq!(e.body, raw);
    }

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
        }
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
        let journal = Journal::new(3);
        for _ in 0..10 {
            journal.record(recorded(None, &[], b"", b"{}"));
        }
        let seqs: Vec<u64> = journal.entries().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [8, 9, 10]);
        let since = Filter { since: Some(Since::Seq(8)), ..Filter::default() };
        assert_eq!(journal.query(&since).len(), 2);
    }
}
