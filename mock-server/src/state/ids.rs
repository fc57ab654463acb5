//! Generated ids: random and counting generators, the (seeded) clock for timestamps, and the
//! tenants an account owns.

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::spec::{Alphabet, IdGenerator, IdRule, Tenants};

/// Where a clock or id stream starts: random (real time) or a seed (fully deterministic).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Determinism {
    Real,
    Seeded(u64),
}

/// Base of the virtual clock under `--seed`: 2025-01-01T00:00:00.000Z, one second a tick.
const SEEDED_EPOCH_MS: i64 = 1_735_689_600_000;

/// Random and counting id generators, and the clock for timestamps.
#[derive(Debug)]
pub(crate) struct IdSource {
    rng: fastrand::Rng,
    counters: HashMap<String, u64>,
    clock: Determinism,
    ticks: i64,
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
    let mut ids = IdSource::new(Determinism::Seeded(crate::hash::fnv1a(&format!("{vendor}\u{0}{credential}"))));
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
