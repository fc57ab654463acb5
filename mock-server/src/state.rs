//! In-memory state: records per vendor and collection, a uniqueness index, and the id sources.
//!
//! Each vendor's state sits behind one mutex, so a uniqueness check and the insert that follows
//! are one atomic step: of many concurrent creates with one e-mail, exactly one wins. This file
//! holds the [`Store`] of every vendor's state and its limits; `state/vendor.rs` one vendor's
//! records, `state/unique.rs` the uniqueness index, `state/ids.rs` generated ids and tenants.

pub(crate) mod ids;
pub(crate) mod unique;
pub(crate) mod vendor;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde_json::Value;

use crate::spec::{Operation, UpdateBy, Vendor};
use crate::state::ids::{Determinism, IdSource};
use crate::state::unique::{Candidate, Clash, Credentials, candidates};
use crate::state::vendor::{Full, Updated, VendorState, parse_stored};

/// Every vendor's state, by vendor name (so it survives a reload of the specs).
#[derive(Debug)]
pub(crate) struct Store {
    vendors: RwLock<HashMap<String, Arc<Mutex<VendorState>>>>,
    determinism: Determinism,
    limits: Limits,
    /// Numbers records in the order they were stored, across vendors: the cursor of the admin
    /// API's state pages (`after`).
    numbering: AtomicU64,
}

/// How much state one vendor may hold (issue 13): past either bound a create is refused with
/// the vendor's server error; nothing stored is lost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// `--max-records`: records per vendor.
    pub(crate) records: usize,
    /// `--state-bytes`: bytes of records (and their uniqueness keys) per vendor.
    pub(crate) bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { records: usize::MAX, bytes: usize::MAX }
    }
}

/// Why a create did not happen.
#[derive(Debug)]
pub(crate) enum Refused {
    Clash(Clash),
    Full(Full),
}

/// What a create did.
#[derive(Debug)]
pub(crate) enum Created {
    One(Value),
    /// Bulk: created records in order, and the clashes (with their entry index) of the others.
    Bulk(Vec<Value>, Vec<Clash>),
}

impl Store {
    pub(crate) fn new(vendors: &[Arc<Vendor>], determinism: Determinism, limits: Limits) -> Self {
        let store = Self { vendors: RwLock::new(HashMap::new()), determinism, limits, numbering: AtomicU64::new(1) };
        store.ensure(vendors);
        store
    }

    /// Adds an empty state for every vendor that has none yet (after a reload added one).
    pub(crate) fn ensure(&self, vendors: &[Arc<Vendor>]) {
        let mut map = self.vendors.write().unwrap_or_else(PoisonError::into_inner);
        for (i, v) in vendors.iter().enumerate() {
            if !map.contains_key(&v.name) {
                let seed = match self.determinism {
                    Determinism::Seeded(s) => Determinism::Seeded(s.wrapping_add(i as u64)),
                    Determinism::Real => Determinism::Real,
                };
                map.insert(v.name.clone(), Arc::new(Mutex::new(VendorState::new(seed))));
            }
        }
    }

    /// Runs `f` on a vendor's state, under its lock (an unknown vendor gets an empty state).
    fn with<R>(&self, vendor: &str, f: impl FnOnce(&mut VendorState) -> R) -> R {
        let state = self.existing(vendor).unwrap_or_else(|| {
            let mut map = self.vendors.write().unwrap_or_else(PoisonError::into_inner);
            let fresh = || Arc::new(Mutex::new(VendorState::new(self.determinism)));
            Arc::clone(map.entry(vendor.to_owned()).or_insert_with(fresh))
        });
        // A panic while holding the lock cannot leave a half-done insert (inserts are last),
        // so a poisoned lock is still consistent.
        let mut guard = state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Runs `f` on a vendor's state if it has one (reads and resets create none).
    fn with_existing<R: Default>(&self, vendor: &str, f: impl FnOnce(&mut VendorState) -> R) -> R {
        match self.existing(vendor) {
            Some(state) => f(&mut state.lock().unwrap_or_else(PoisonError::into_inner)),
            None => R::default(),
        }
    }

    fn existing(&self, vendor: &str) -> Option<Arc<Mutex<VendorState>>> {
        self.vendors.read().unwrap_or_else(PoisonError::into_inner).get(vendor).cloned()
    }

    /// Checks uniqueness and inserts, atomically. `body` is a record (or, for a bulk operation,
    /// an array of records) with schema defaults already applied. A create that would take the
    /// vendor past `--max-records` or `--state-bytes` stores nothing and is refused whole.
    pub(crate) fn create(
        &self,
        vendor: &Vendor,
        op: &Operation,
        creds: Credentials,
        body: Value,
    ) -> Result<Created, Refused> {
        // What needs no state is done before taking the lock: the candidate keys.
        let entries = match (op.bulk, body) {
            (true, Value::Array(items)) => items,
            (_, other) => vec![other],
        };
        let candidates: Vec<Vec<Candidate>> = entries.iter().map(|e| candidates(op, &creds, e)).collect();
        let owner = Arc::new(creds);
        let limits = self.limits;
        self.with(&vendor.name, |state| {
            if state.count.saturating_add(entries.len()) > limits.records {
                let full = format!("{} records (--max-records)", limits.records);
                return Err(Refused::Full(state.full(&vendor.name, full)));
            }
            let mut created = Vec::new();
            let mut clashes = Vec::new();
            for (index, (entry, keys)) in entries.into_iter().zip(candidates).enumerate() {
                let number = self.numbering.fetch_add(1, Ordering::Relaxed);
                match state.insert(op, &owner, entry, keys, false, number) {
                    Ok(record) => created.push(record),
                    Err(clash) if op.bulk => clashes.push(Clash { index: Some(index), ..clash }),
                    Err(clash) => {
                        state.pop_newest(&op.collection, created.len());
                        return Err(Refused::Clash(clash));
                    }
                }
                if state.bytes > limits.bytes {
                    state.pop_newest(&op.collection, created.len());
                    let full = format!("{} bytes of records (--state-bytes)", limits.bytes);
                    return Err(Refused::Full(state.full(&vendor.name, full)));
                }
            }
            if op.bulk { Ok(Created::Bulk(created, clashes)) } else { Ok(Created::One(created.remove(0))) }
        })
    }

    /// Updates the record whose `update.field` equals the body's (and, when scoped, that this
    /// credential created), atomically with its uniqueness check.
    pub(crate) fn update(
        &self,
        vendor: &str,
        op: &Operation,
        update: &UpdateBy,
        creds: &Credentials,
        body: Value,
    ) -> Result<Value, Updated> {
        self.with(vendor, |state| state.update(op, update, creds, body))
    }

    /// Inserts records as if `op` had created them with `creds`, through the same uniqueness
    /// index; ids the records already carry are kept, missing ones are generated. All or
    /// nothing: on a clash (with existing records or among the seeds) nothing is inserted.
    pub(crate) fn seed(
        &self,
        vendor: &str,
        op: &Operation,
        creds: &Credentials,
        records: Vec<Value>,
    ) -> Result<Vec<Value>, Clash> {
        let owner = Arc::new(creds.clone());
        self.with(vendor, |state| {
            let mut inserted = Vec::with_capacity(records.len());
            for (index, record) in records.into_iter().enumerate() {
                let keys = candidates(op, creds, &record);
                let number = self.numbering.fetch_add(1, Ordering::Relaxed);
                match state.insert(op, &owner, record, keys, true, number) {
                    Ok(record) => inserted.push(record),
                    Err(clash) => {
                        state.pop_newest(&op.collection, inserted.len());
                        return Err(Clash { index: Some(index), ..clash });
                    }
                }
            }
            Ok(inserted)
        })
    }

    /// Forgets every record and uniqueness key, and starts the id sequences, random ids and the
    /// seeded clock again from where they started: no record is left whose id could repeat.
    pub(crate) fn reset(&self, vendor: &str) {
        self.with_existing(vendor, |state| {
            state.records.clear();
            state.taken.clear();
            state.ids = IdSource::new(state.start);
            state.recount();
            state.warned = false;
        });
    }

    /// Forgets the records created with this credential value (in any credential part) and
    /// their uniqueness keys; returns how many were forgotten.
    pub(crate) fn reset_owner(&self, vendor: &str, credential: &str) -> usize {
        self.with_existing(vendor, |state| {
            let mut freed = Vec::new();
            let mut forgotten = 0;
            for records in state.records.values_mut() {
                records.retain_mut(|stored| {
                    let owned = stored.owner.iter().any(|(_, v)| v == credential);
                    if owned {
                        freed.append(&mut stored.keys);
                        forgotten += 1;
                    }
                    !owned
                });
            }
            state.records.retain(|_, records| !records.is_empty());
            for key in &freed {
                state.taken.remove(key);
            }
            state.recount();
            state.warned = false;
            forgotten
        })
    }

    /// Every record of a vendor, by collection. The records' texts are copied under the lock
    /// and parsed after it is released.
    pub(crate) fn records(&self, vendor: &str) -> BTreeMap<String, Vec<Value>> {
        let copied: Vec<(String, Vec<Box<[u8]>>)> = self.with_existing(vendor, |state| {
            state
                .records
                .iter()
                .map(|(name, records)| (name.clone(), records.iter().map(|s| s.record.clone()).collect()))
                .collect()
        });
        copied.into_iter().map(|(name, texts)| (name, texts.iter().map(|t| parse_stored(t)).collect())).collect()
    }

    /// One page of a vendor's records (issue 13): at most `limit` of those numbered after
    /// `after`, oldest first, as `(collection, number, record text)`, with the vendor's record
    /// count per collection. Bounded work under the lock: a binary search and `limit` copies per
    /// collection; parsing and serializing happen after it is released.
    pub(crate) fn page(&self, vendor: &str, after: u64, limit: usize) -> Page {
        self.with_existing(vendor, |state| {
            let mut page = Page::default();
            for (name, records) in &state.records {
                page.counts.insert(name.clone(), records.len());
                let start = records.partition_point(|s| s.number <= after);
                for stored in records[start..].iter().take(limit) {
                    page.records.push((name.clone(), stored.number, stored.record.clone()));
                }
            }
            page.records.sort_by_key(|(_, number, _)| *number);
            page.records.truncate(limit);
            page
        })
    }
}

/// See [`Store::page`].
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) records: Vec<(String, u64, Box<[u8]>)>,
    pub(crate) counts: BTreeMap<String, usize>,
}
