//! What the request path hands the journal ([`Recorded`]): the request and its answer packed
//! into one allocation by [`Texts`], each text cut to its cap, and read back into an [`Entry`]
//! only when somebody reads the journal.

use std::sync::Arc;

use serde_json::Value;

use crate::journal::entry::{Entry, HeaderCaseSeen, Outcome};
use crate::spec::Vendor;

/// How much of a body (and of an answer) one journal entry keeps (issue 13).
pub const KEPT_BODY: usize = 64 * 1024;
/// How much of the path, of the query and of each header value one entry keeps.
pub const KEPT_TEXT: usize = 8 * 1024;
/// How many bulk failures, or generated ids, an entry's outcome keeps.
pub(crate) const KEPT_FAILURES: usize = 100;

/// Flags of what [`Texts`] cut, stored as the texts' last byte.
const CUT_BODY: u8 = 1;
const CUT_RESPONSE: u8 = 2;
const CUT_HEADERS: u8 = 4;
const CUT_TARGET: u8 = 8;
const CUT_OUTCOME: u8 = 16;

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
    pub(crate) header_case: HeaderCaseSeen,
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
    pub(super) fn cost(&self) -> usize {
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

    pub(super) fn carried(&self, hash: u64) -> bool {
        self.credentials().any(|c| c == hash)
    }

    pub(super) fn vendor_name(&self) -> Option<&str> {
        self.vendor.as_deref().map(|v| v.name.as_str())
    }

    /// The entry as the journal shows it (before masking).
    pub(super) fn entry(&self) -> Entry {
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
            header_case: self.header_case,
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

    /// Keeps at most [`KEPT_FAILURES`] bulk failures, or generated ids, in the outcome,
    /// flagging the cut (the request path hands over one more than that when there are more).
    pub(super) fn cap_outcome(&mut self) {
        let cut = match &mut self.outcome {
            Outcome::Bulk { failed, .. } if failed.len() > KEPT_FAILURES => {
                failed.truncate(KEPT_FAILURES);
                failed.shrink_to_fit();
                true
            }
            Outcome::Created { ids: Value::Object(ids), .. } if ids.len() > KEPT_FAILURES => {
                *ids = std::mem::take(ids).into_iter().take(KEPT_FAILURES).collect();
                true
            }
            _ => false,
        };
        if let (true, Some(flags)) = (cut, self.texts.last_mut()) {
            *flags |= CUT_OUTCOME;
        }
    }
}

/// What the journal keeps of a credential value: enough to filter by it, not the value.
pub(crate) fn credential_hash(value: &str) -> u64 {
    crate::hash::fnv1a(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::recorded;
    use serde_json::json;

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
}
