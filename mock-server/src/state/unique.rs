//! The uniqueness index: the keys a record holds (rule, scope value and normalized value, per
//! `x-mock.unique` rule), the sharded set of keys taken, and the clash a taken key makes.

use std::collections::HashSet;

use serde_json::Value;

use crate::spec::{Normalize, Operation, UniqueRule};

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

/// A uniqueness key: rule name, scope value and normalized value, joined by NUL characters (one
/// allocation, hashed once).
pub(super) type Key = Box<str>;

/// The uniqueness index, in 64 shards: growing it rehashes one shard's keys at a time (a
/// single set of 300,000 keys stalled the vendor's lock for milliseconds when it doubled). Fast
/// hashers, randomly seeded per index.
#[derive(Debug)]
pub(super) struct Taken {
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

    pub(super) fn contains(&self, key: &str) -> bool {
        self.shards[self.shard(key)].contains(key)
    }

    pub(super) fn insert(&mut self, key: Key) {
        let shard = self.shard(&key);
        self.shards[shard].insert(key);
    }

    pub(super) fn remove(&mut self, key: &str) {
        let shard = self.shard(key);
        self.shards[shard].remove(key);
    }

    pub(super) fn clear(&mut self) {
        self.shards.iter_mut().for_each(HashSet::clear);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(HashSet::len).sum()
    }

    /// The candidates' keys, or the first clash with keys held by others (`own`: keys the record
    /// already holds, which do not clash with it) or among themselves.
    ///
    ///
    /// Linear in the candidates (issue 13: a record of 25,000 `client_users` compared each key
    /// with every earlier one, 4 s of CPU for one 1 MB body); a few keys (every create of the
    /// bench) are compared directly, without building sets.
    pub(super) fn check(
        &self,
        op: &Operation,
        candidates: Vec<Candidate>,
        own: &[Key],
        record: &Value,
    ) -> Result<Vec<Key>, Clash> {
        const FEW: usize = 8;
        let clash = if candidates.len() <= FEW && own.len() <= FEW {
            candidates.iter().enumerate().find(|(i, c)| {
                (self.contains(&c.key) && !own.contains(&c.key)) || candidates[..*i].iter().any(|e| e.key == c.key)
            })
        } else {
            let own: HashSet<&str, foldhash::fast::RandomState> = own.iter().map(|k| &**k).collect();
            let mut seen: HashSet<&str, foldhash::fast::RandomState> = HashSet::default();
            seen.reserve(candidates.len());
            candidates
                .iter()
                .enumerate()
                .find(|(_, c)| (self.contains(&c.key) && !own.contains(&*c.key)) || !seen.insert(&c.key))
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
}

/// A uniqueness key a record would hold, with where it came from (for the clash, if any).
#[derive(Debug)]
pub(super) struct Candidate {
    key: Key,
    rule: usize,
    /// Which of the values at the rule's path it is: where it came from is worked out again only
    /// for a clash (most candidates never clash; not copying their path and text saves two
    /// allocations each).
    nth: usize,
}

/// The uniqueness keys a record would hold, in rule order (no state needed).
pub(super) fn candidates(op: &Operation, creds: &Credentials, record: &Value) -> Vec<Candidate> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
