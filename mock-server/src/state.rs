//! In-memory state: records per vendor and collection, a uniqueness index, and the id sources.
//!
//! Each vendor's state sits behind one mutex, so a uniqueness check and the insert that follows
//! are one atomic step: of many concurrent creates with one e-mail, exactly one wins.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::spec::{Alphabet, IdGenerator, IdRule, Normalize, Operation, Tenants, UniqueRule, UpdateBy, Vendor};

/// Where a clock or id stream starts: random (real time) or a seed (fully deterministic).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Determinism {
    Real,
    Seeded(u64),
}

/// Base of the virtual clock under `--seed`: 2025-01-01T00:00:00.000Z, one second a tick.
const SEEDED_EPOCH_MS: i64 = 1_735_689_600_000;

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

/// A create refused because the vendor's state is full: which limit, in words.
#[derive(Debug, Clone)]
pub(crate) struct Full(pub(crate) String);

/// Why a create did not happen.
#[derive(Debug)]
pub(crate) enum Refused {
    Clash(Clash),
    Full(Full),
}

/// A uniqueness key: rule name, scope value and normalized value, joined by NUL characters (one
/// allocation, hashed once).
type Key = Box<str>;

/// The uniqueness index, in 64 shards: growing it rehashes one shard's keys at a time (a
/// single set of 300,000 keys stalled the vendor's lock for milliseconds when it doubled). Fast
/// hashers, randomly seeded per index.
#[derive(Debug)]
struct Taken {
    shards: Vec<HashSet<Key, foldhash::fast::RandomState>>,
    pick: foldhash::fast::RandomState,
}

impl Default for Taken {
    fn default() -> Self {
        Self { shards: (0..64).map(|_| HashSet::default()).collect(), pick: foldhash::fast::RandomState::default() }
    }
}

impl Taken {
    fn shard(&self, key: &str) -> usize {
        use std::hash::BuildHasher as _;
        // The top 6 bits of a hash that the shards' own hashers do not share.
        usize::try_from(self.pick.hash_one(key) >> 58).unwrap_or(0)
    }

    fn contains(&self, key: &str) -> bool {
        self.shards[self.shard(key)].contains(key)
    }

    fn insert(&mut self, key: Key) {
        let shard = self.shard(&key);
        self.shards[shard].insert(key);
    }

    fn remove(&mut self, key: &str) {
        let shard = self.shard(key);
        self.shards[shard].remove(key);
    }

    fn clear(&mut self) {
        self.shards.iter_mut().for_each(HashSet::clear);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(HashSet::len).sum()
    }
}

#[derive(Debug)]
struct VendorState {
    records: BTreeMap<String, Vec<Stored>>,
    taken: Taken,
    ids: IdSource,
    /// Where `ids` started, so that a reset of the vendor starts them again (issue 11: a
    /// `--seed` run after `POST /__admin/reset` repeats exactly).
    start: Determinism,
    /// How many records there are, and what they cost (see [`Stored::cost`]).
    count: usize,
    bytes: usize,
    /// Whether the warning that the state is full was logged (once until a reset).
    warned: bool,
}

impl VendorState {
    fn new(start: Determinism) -> Self {
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
    fn recount(&mut self) {
        self.count = self.records.values().map(Vec::len).sum();
        self.bytes = self.records.values().flatten().map(Stored::cost).sum();
    }
}

/// A record, the credentials of the request (or seed) that created it, and the uniqueness keys
/// it holds, so that one credential's records can be forgotten with their keys.
#[derive(Debug)]
struct Stored {
    /// The record as compact JSON: a fifth of the memory of a `Value` tree, and no copy of the
    /// tree to make while the vendor's lock is held. Parsed back when read.
    record: Box<[u8]>,
    owner: Arc<Credentials>,
    keys: Vec<Key>,
    /// Its number in the store's order of creation ([`Store::numbering`]).
    number: u64,
}

impl Stored {
    /// What the record costs the vendor's byte budget: itself, its text, and its keys twice
    /// (here and in the uniqueness index).
    fn cost(&self) -> usize {
        std::mem::size_of::<Self>() + self.record.len() + self.keys.iter().map(|k| 2 * (16 + k.len())).sum::<usize>()
    }

    /// The record, parsed back. It was serialized from a `Value` whose depth the request parser
    /// bounded, so it parses; if it did not, the record reads as `null` rather than panicking.
    fn value(&self) -> Value {
        parse_stored(&self.record)
    }
}

/// A uniqueness key a record would hold, with where it came from (for the clash, if any).
#[derive(Debug)]
struct Candidate {
    key: Key,
    rule: usize,
    /// Which of the values at the rule's path it is: where it came from is worked out again only
    /// for a clash (most candidates never clash; not copying their path and text saves two
    /// allocations each).
    nth: usize,
}

/// Random and counting id generators, and the clock for timestamps.
#[derive(Debug)]
pub(crate) struct IdSource {
    rng: fastrand::Rng,
    counters: HashMap<String, u64>,
    clock: Determinism,
    ticks: i64,
}

/// The credential values of one request, by part name.
pub(crate) type Credentials = Vec<(String, String)>;

/// A uniqueness clash: which rule, where in the body, which value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Clash {
    pub(crate) rule: String,
    pub(crate) error: String,
    pub(crate) field: String,
    pub(crate) value: String,
    pub(crate) index: Option<usize>,
}

/// Why an update did not happen.
#[derive(Debug)]
pub(crate) enum Updated {
    NotFound,
    Clash(Clash),
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

/// A stored record's text, parsed (see [`Stored::value`]).
pub(crate) fn parse_stored(text: &[u8]) -> Value {
    serde_json::from_slice(text).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a stored record does not parse back");
        Value::Null
    })
}

impl VendorState {
    /// The refusal of a create past a limit; the first one until a reset is logged.
    fn full(&mut self, vendor: &str, limit: String) -> Full {
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
    fn insert(
        &mut self,
        op: &Operation,
        owner: &Arc<Credentials>,
        mut record: Value,
        candidates: Vec<Candidate>,
        keep_ids: bool,
        number: u64,
    ) -> Result<Value, Clash> {
        let keys = self.check(op, candidates, &[], &record)?;
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

    /// The candidates' keys, or the first clash with keys held by others (`own`: keys the record
    /// already holds, which do not clash with it) or among themselves.
    ///
    ///
    /// Linear in the candidates (issue 13: a record of 25,000 `client_users` compared each key
    /// with every earlier one, 4 s of CPU for one 1 MB body); a few keys (every create of the
    /// bench) are compared directly, without building sets.
    fn check(
        &self,
        op: &Operation,
        candidates: Vec<Candidate>,
        own: &[Key],
        record: &Value,
    ) -> Result<Vec<Key>, Clash> {
        const FEW: usize = 8;
        let clash = if candidates.len() <= FEW && own.len() <= FEW {
            candidates.iter().enumerate().find(|(i, c)| {
                (self.taken.contains(&c.key) && !own.contains(&c.key))
                    || candidates[..*i].iter().any(|e| e.key == c.key)
            })
        } else {
            let own: HashSet<&str, foldhash::fast::RandomState> = own.iter().map(|k| &**k).collect();
            let mut seen: HashSet<&str, foldhash::fast::RandomState> = HashSet::default();
            seen.reserve(candidates.len());
            candidates
                .iter()
                .enumerate()
                .find(|(_, c)| (self.taken.contains(&c.key) && !own.contains(&*c.key)) || !seen.insert(&c.key))
        };
        if let Some((_, c)) = clash {
            let rule = &op.unique[c.rule];
            let found = rule.path.values(record).into_iter().nth(c.nth);
            let (field, value) = found.map_or_else(
                || (rule.path.to_string(), String::new()),
                |(field, v)| (field, v.as_str().unwrap_or_default().to_owned()),
            );
            return Err(Clash { rule: rule.name.clone(), error: rule.error.clone(), field, value, index: None });
        }
        Ok(candidates.into_iter().map(|c| c.key).collect())
    }

    /// Merges `body` into the record that `update` names, re-checking uniqueness.
    fn update(
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
        let keys = self.check(op, candidates(op, creds, &merged), &old_keys, &merged).map_err(Updated::Clash)?;
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
    fn pop_newest(&mut self, collection: &str, n: usize) {
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

/// The uniqueness keys a record would hold, in rule order (no state needed).
fn candidates(op: &Operation, creds: &Credentials, record: &Value) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (rule_index, rule) in op.unique.iter().enumerate() {
        let scope = scope_value(rule, creds);
        // Values only (no concrete paths): a large bulk has thousands.
        for (nth, value) in rule.path.all(record).into_iter().enumerate() {
            let Some(text) = value.as_str() else { continue };
            let mut key = String::with_capacity(rule.name.len() + scope.len() + text.len() + 2);
            key.push_str(&rule.name);
            key.push('\u{0}');
            key.push_str(scope);
            key.push('\u{0}');
            normalize_into(text, &rule.normalize, &mut key);
            out.push(Candidate { key: key.into_boxed_str(), rule: rule_index, nth });
        }
    }
    out
}

fn scope_value<'a>(rule: &UniqueRule, creds: &'a Credentials) -> &'a str {
    match rule.scope.credential() {
        Some(part) => creds.iter().find(|(n, _)| n == part).map_or("", |(_, v)| v.as_str()),
        None => "",
    }
}

/// Appends `text` normalized (trimmed, lowercased, in the rule's order) to `out`.
fn normalize_into(text: &str, how: &[Normalize], out: &mut String) {
    let mut text = std::borrow::Cow::Borrowed(text);
    for n in how {
        text = match n {
            Normalize::Trim => match text {
                std::borrow::Cow::Borrowed(t) => std::borrow::Cow::Borrowed(t.trim()),
                std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(t.trim().to_owned()),
            },
            Normalize::Lowercase if text.chars().any(char::is_uppercase) => {
                std::borrow::Cow::Owned(text.to_lowercase())
            }
            Normalize::Lowercase => text,
        };
    }
    out.push_str(&text);
}

impl IdSource {
    pub(crate) fn new(determinism: Determinism) -> Self {
        let rng = match determinism {
            Determinism::Seeded(seed) => fastrand::Rng::with_seed(seed),
            Determinism::Real => fastrand::Rng::new(),
        };
        Self { rng, counters: HashMap::new(), clock: determinism, ticks: 0 }
    }

    /// Sets a rule's generated values in a record.
    pub(crate) fn assign(&mut self, record: &mut Value, rule: &IdRule) {
        rule.path.set(record, &mut || self.generate(&rule.generator, rule.path.as_str()));
    }

    pub(crate) fn generate(&mut self, generator: &IdGenerator, key: &str) -> Value {
        match generator {
            IdGenerator::Sequence { start } => Value::from(self.next(key, *start)),
            IdGenerator::Random { prefix, length, alphabet } => {
                let chars: &[u8] = match alphabet {
                    Alphabet::Alnum => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                    Alphabet::Hex => b"0123456789abcdef",
                };
                let mut s = prefix.clone();
                s.extend((0..*length).map(|_| char::from(chars[self.rng.usize(..chars.len())])));
                Value::String(s)
            }
            IdGenerator::GlobalId { type_name, start } => {
                let n = self.next(type_name, *start);
                Value::String(base64::engine::general_purpose::STANDARD.encode(format!("{type_name}:{n}")))
            }
            IdGenerator::Timestamp => {
                let ms = match self.clock {
                    Determinism::Real => chrono::Utc::now().timestamp_millis(),
                    Determinism::Seeded(_) => {
                        self.ticks += 1;
                        SEEDED_EPOCH_MS + self.ticks * 1000
                    }
                };
                let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
                Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            }
        }
    }

    fn next(&mut self, key: &str, start: u64) -> u64 {
        let n = match self.counters.get_mut(key) {
            Some(n) => n,
            None => self.counters.entry(key.to_owned()).or_insert(start),
        };
        let current = *n;
        *n += 1;
        current
    }
}

/// The tenants an account owns: generated from the owning credential alone (not the seed), so a
/// client can look them up once and rely on them across runs.
pub(crate) fn tenants_of(
    vendor: &str,
    tenants: &Tenants,
    credential: &str,
    fixed_ids: Option<&[String]>,
) -> Vec<Value> {
    let mut ids = IdSource::new(Determinism::Seeded(fnv1a(&format!("{vendor}\u{0}{credential}"))));
    let count = fixed_ids.map_or(tenants.count, <[String]>::len);
    (0..count)
        .map(|i| {
            let mut record = crate::template::render(
                &Value::Object(tenants.fields.clone()),
                &serde_json::json!({"index": i + 1, "credential": credential}),
            );
            if !record.is_object() {
                record = Value::Object(Map::new());
            }
            match fixed_ids.and_then(|f| f.get(i)) {
                Some(id) => tenants.id.path.set(&mut record, &mut || Value::String(id.clone())),
                None => ids.assign(&mut record, &tenants.id),
            }
            // Keep the id first, as vendors list it.
            let mut ordered = Map::new();
            if let Some(id) = tenants.id.path.get(&record) {
                ordered.insert(tenants.id.path.to_string(), id.clone());
            }
            if let Value::Object(rest) = record {
                ordered.extend(rest);
            }
            Value::Object(ordered)
        })
        .collect()
}

pub(crate) fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seeded_id_sources_repeat_and_real_ones_differ() {
        let generator = IdGenerator::Random { prefix: "cl_".into(), length: 16, alphabet: Alphabet::Alnum };
        let a = IdSource::new(Determinism::Seeded(7)).generate(&generator, "k");
        let b = IdSource::new(Determinism::Seeded(7)).generate(&generator, "k");
        assert_eq!(a, b);
        assert_eq!(a.as_str().map(str::len), Some(19));
        let c = IdSource::new(Determinism::Real).generate(&generator, "k");
        let d = IdSource::new(Determinism::Real).generate(&generator, "k");
        assert_ne!(c, d);
    }

    #[test]
    fn the_sharded_index_holds_and_frees_every_key() {
        let mut taken = Taken::default();
        let keys: Vec<String> = (0..2000).map(|i| format!("email\u{0}\u{0}user{i}@example.com")).collect();
        keys.iter().for_each(|k| taken.insert(k.as_str().into()));
        taken.insert(keys[0].as_str().into()); // again: still one key
        assert_eq!(taken.len(), 2000);
        assert!(keys.iter().all(|k| taken.contains(k)));
        assert!(!taken.contains("email\u{0}\u{0}nobody@example.com"));
        let used = taken.shards.iter().filter(|s| !s.is_empty()).count();
        assert!(used > 32, "keys spread over the shards ({used} of 64 used)");
        keys[..1000].iter().for_each(|k| taken.remove(k));
        assert_eq!(taken.len(), 1000);
        assert!(!taken.contains(&keys[0]) && taken.contains(&keys[1999]));
        taken.clear();
        assert_eq!(taken.len(), 0);
    }

    #[test]
    fn global_ids_are_base64_of_type_and_number() {
        let mut ids = IdSource::new(Determinism::Seeded(1));
        let g = IdGenerator::GlobalId { type_name: "Tenant".into(), start: 123 };
        assert_eq!(ids.generate(&g, "x"), json!("VGVuYW50OjEyMw=="));
    }

    #[test]
    fn seeded_timestamps_are_iso_8601_with_milliseconds() {
        let mut ids = IdSource::new(Determinism::Seeded(1));
        assert_eq!(ids.generate(&IdGenerator::Timestamp, "t"), json!("2025-01-01T00:00:01.000Z"));
    }
}
