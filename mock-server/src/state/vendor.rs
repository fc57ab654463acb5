//! One vendor's state: its records by collection, the uniqueness keys they hold, its id
//! sources, and what it all costs against the limits.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::spec::{Operation, UpdateBy};
use crate::state::ids::{Determinism, IdSource};
use crate::state::unique::{Candidate, Clash, Credentials, Key, Taken, candidates};

/// A create refused because the vendor's state is full: which limit, in words.
#[derive(Debug, Clone)]
pub(crate) struct Full(pub(crate) String);

/// Why an update did not happen.
#[derive(Debug)]
pub(crate) enum Updated {
    NotFound,
    Clash(Clash),
}

#[derive(Debug)]
pub(super) struct VendorState {
    pub(super) records: BTreeMap<String, Vec<Stored>>,
    pub(super) taken: Taken,
    pub(super) ids: IdSource,
    /// Where `ids` started, so that a reset of the vendor starts them again (issue 11: a
    /// `--seed` run after `POST /__admin/reset` repeats exactly).
    pub(super) start: Determinism,
    /// How many records there are, and what they cost (see [`Stored::cost`]).
    pub(super) count: usize,
    pub(super) bytes: usize,
    /// Whether the warning that the state is full was logged (once until a reset).
    pub(super) warned: bool,
}

impl VendorState {
    pub(super) fn new(start: Determinism) -> Self {
        Self {
            records: BTreeMap::new(),
            taken: Taken::default(),
            ids: IdSource::new(start),
            start,
            count: 0,
            bytes: 0,
            warned: false,
        }
    }

    /// Recounts records and bytes (after records were removed).
    pub(super) fn recount(&mut self) {
        self.count = self.records.values().map(Vec::len).sum();
        self.bytes = self.records.values().flatten().map(Stored::cost).sum();
    }
}

/// A record, the credentials of the request (or seed) that created it, and the uniqueness keys
/// it holds, so that one credential's records can be forgotten with their keys.
#[derive(Debug)]
pub(super) struct Stored {
    /// The record as compact JSON: a fifth of the memory of a `Value` tree, and no copy of the
    /// tree to make while the vendor's lock is held. Parsed back when read.
    pub(super) record: Box<[u8]>,
    pub(super) owner: Arc<Credentials>,
    pub(super) keys: Vec<Key>,
    /// Its number in the store's order of creation ([`Store::numbering`]).
    pub(super) number: u64,
}

impl Stored {
    /// What the record costs the vendor's byte budget: itself, its text, and its keys twice
    /// (here and in the uniqueness index).
    pub(super) fn cost(&self) -> usize {
        std::mem::size_of::<Self>() + self.record.len() + self.keys.iter().map(|k| 2 * (16 + k.len())).sum::<usize>()
    }

    /// The record, parsed back. It was serialized from a `Value` whose depth the request parser
    /// bounded, so it parses; if it did not, the record reads as `null` rather than panicking.
    pub(super) fn value(&self) -> Value {
        parse_stored(&self.record)
    }
}

/// A stored record's text, parsed (see [`Stored::value`]).
pub(crate) fn parse_stored(text: &[u8]) -> Value {
    serde_json::from_slice(text).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a stored record does not parse back");
        Value::Null
    })
}

impl VendorState {
    /// The refusal of a create past a limit; the first one until a reset is logged.
    pub(super) fn full(&mut self, vendor: &str, limit: String) -> Full {
        if !self.warned {
            self.warned = true;
            tracing::warn!(
                vendor,
                records = self.count,
                bytes = self.bytes,
                "state full at {limit}: creates get the vendor's server error until records are reset"
            );
        }
        Full(format!("vendor-mock holds at most {limit} for {vendor}; reset its state or raise the limit"))
    }

    /// Checks uniqueness, generates ids (`keep_ids`: only those the record lacks) and inserts.
    pub(super) fn insert(
        &mut self,
        op: &Operation,
        owner: &Arc<Credentials>,
        mut record: Value,
        candidates: Vec<Candidate>,
        keep_ids: bool,
        number: u64,
    ) -> Result<Value, Clash> {
        let keys = self.taken.check(op, candidates, &[], &record)?;
        for rule in &op.ids {
            if keep_ids && !rule.path.values(&record).is_empty() {
                continue;
            }
            self.ids.assign(&mut record, rule);
        }
        keys.iter().for_each(|k| self.taken.insert(k.clone()));
        let bytes = serde_json::to_vec(&record).expect("a JSON value serializes");
        let stored = Stored { record: bytes.into_boxed_slice(), owner: Arc::clone(owner), keys, number };
        self.count += 1;
        self.bytes += stored.cost();
        match self.records.get_mut(&op.collection) {
            Some(records) => records.push(stored),
            None => {
                self.records.insert(op.collection.clone(), vec![stored]);
            }
        }
        Ok(record)
    }

    /// Merges `body` into the record that `update` names, re-checking uniqueness.
    pub(super) fn update(
        &mut self,
        op: &Operation,
        update: &UpdateBy,
        creds: &Credentials,
        body: Value,
    ) -> Result<Value, Updated> {
        let wanted = body.get(&update.field).cloned();
        let owner = update.scope.credential().map(|part| {
            let value = creds.iter().find(|(n, _)| n == part).map(|(_, v)| v.clone()).unwrap_or_default();
            (part.to_owned(), value)
        });
        let records = self.records.get(&op.collection).ok_or(Updated::NotFound)?;
        // The wanted value's JSON text must occur in a matching record's: a cheap test before
        // parsing it.
        let needle = wanted.as_ref().map(|w| w.to_string()).unwrap_or_default();
        let position = records
            .iter()
            .position(|s| {
                owner.as_ref().is_none_or(|(part, value)| s.owner.iter().any(|(n, v)| n == part && v == value))
                    && memchr::memmem::find(&s.record, needle.as_bytes()).is_some()
                    && s.value().get(&update.field) == wanted.as_ref()
            })
            .ok_or(Updated::NotFound)?;
        let mut merged = records[position].value();
        if let (Value::Object(target), Value::Object(changes)) = (&mut merged, body) {
            target.extend(changes);
        }
        let old_keys = records[position].keys.clone();
        let keys = self.taken.check(op, candidates(op, creds, &merged), &old_keys, &merged).map_err(Updated::Clash)?;
        for key in &old_keys {
            self.taken.remove(key);
        }
        keys.iter().for_each(|k| self.taken.insert(k.clone()));
        if let Some(stored) = self.records.get_mut(&op.collection).and_then(|r| r.get_mut(position)) {
            let before = stored.cost();
            stored.record = serde_json::to_vec(&merged).expect("a JSON value serializes").into_boxed_slice();
            stored.keys = keys;
            self.bytes = (self.bytes + stored.cost()).saturating_sub(before);
        }
        Ok(merged)
    }

    /// Removes the `n` newest records of a collection and their keys (undoes a partial seed).
    pub(super) fn pop_newest(&mut self, collection: &str, n: usize) {
        let Some(records) = self.records.get_mut(collection) else { return };
        let keep = records.len().saturating_sub(n);
        for stored in records.drain(keep..) {
            for key in &stored.keys {
                self.taken.remove(key);
            }
            self.count -= 1;
            self.bytes = self.bytes.saturating_sub(stored.cost());
        }
        if records.is_empty() {
            self.records.remove(collection);
        }
    }
}
