//! The request journal: every request, what was answered and why, in a bounded ring.
//!
//! `entry.rs` holds the public [`Entry`] and [`Outcome`]; `recorded.rs` what the request path
//! hands the journal (packed texts, cut to their caps); `filter.rs` which entries a listing
//! shows; this file the ring itself, bounded in entries and bytes.

pub(crate) mod entry;
pub(crate) mod filter;
pub(crate) mod recorded;

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::journal::entry::Entry;
use crate::journal::filter::{Filter, Since};
use crate::journal::recorded::{Recorded, credential_hash};

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
    use crate::journal::entry::Outcome;
    use crate::journal::filter::StatusFilter;
    use crate::journal::recorded::{KEPT_FAILURES, Texts};
    use serde_json::{Value, json};

    /// A request to SmartLead's create path with credential `k1`, as the request path records it.
    pub(super) fn recorded(query: Option<&str>, headers: &[(&str, &str)], body: &[u8], response: &[u8]) -> Recorded {
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
            header_case: crate::journal::entry::HeaderCaseSeen::Raw,
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
    fn generated_ids_past_the_cap_are_cut_and_flagged_and_a_few_are_kept_whole() {
        let journal = Journal::new(10, usize::MAX);
        for users in [3, KEPT_FAILURES + 1] {
            let mut r = recorded(None, &[], b"{}", b"{}");
            let ids = (0..users).map(|i| (format!("client_users[{i}].id"), json!(i))).collect();
            r.outcome = Outcome::Created { collection: "clients".into(), ids: Value::Object(ids) };
            journal.record(r);
        }
        let entries = journal.entries();
        let kept = |e: &Entry| match &e.outcome {
            Outcome::Created { ids, .. } => ids.as_object().map_or(0, serde_json::Map::len),
            other => panic!("{other:?}"),
        };
        assert_eq!((kept(&entries[0]), entries[0].truncated.len()), (3, 0));
        assert_eq!(kept(&entries[1]), KEPT_FAILURES);
        assert_eq!(entries[1].truncated, ["outcome"]);
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
