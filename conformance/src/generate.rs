//! A JSON Schema → proptest strategy compiler for the subset the specs use: valid inputs that
//! vary every dimension a client can mangle, and negative inputs that break exactly one
//! constraint (`negative.rs`) and record which.
//!
//! Supported: `type` (one or a list), `properties`, `required`, `additionalProperties` (false or a
//! schema), `items`, `minItems`/`maxItems`, `minLength`/`maxLength`, `pattern`, `format: email`,
//! `enum`, `const`, `minimum`/`maximum` (and their exclusive forms), `contentEncoding: base64`,
//! `default`; other annotations (`description`, `examples`, …) are ignored. Anything else is
//! refused with its path, so a spec the suite cannot generate for fails at start (exit 2) instead
//! of producing inputs the mock rejects.
//!
//! What varies: optional properties present or absent, documented defaults absent, present with
//! the default or with another value; text with spaces around it, upper and lower case, non-ASCII
//! and astral characters, or empty where allowed; e-mails in mixed case with plus-tags; numbers at
//! their bounds, integers and fractions, large and negative where allowed; both booleans; text
//! repeated across the entries of an array, exactly or in another case (`distinct.rs`). The
//! values of the spec's uniqueness rules are made distinct within an input, so a valid input
//! never clashes with itself. Shrinking goes to the simplest value of each: absent optionals,
//! `a`, `a@a.com`, the lower bound, nothing repeated.

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};

use crate::distinct::{Repeats, Unique, make_distinct, uniques};
use crate::json::{At, at_index, at_key, number, shown};
use crate::model::Broken;
use crate::negative;
use crate::schema::{count, num, types};
use crate::vendor::VendorModel;

/// A schema the compiler cannot handle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request schema at `{path}`: {message}")]
pub struct SchemaError {
    pub path: String,
    pub message: String,
}

const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "default",
    "examples",
    "example",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "contentMediaType",
    "$schema",
    "$id",
];
const CONSTRAINTS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "contentEncoding",
];

/// Characters of generated text: ASCII first (what shrinking goes to), then what tests a
/// client's JSON and UTF-8 handling (a space, quotes, a backslash, Latin, Greek, CJK, an astral
/// character and a combining accent).
const TEXT: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-&/'\"\\éüßΩ漢😀\u{301}";

/// Characters of an e-mail address's parts: lower case first (what shrinking goes to).
const EMAIL: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Strategies for one vendor's create body.
#[derive(Debug, Clone)]
pub struct Generator {
    schema: Value,
    valid: BoxedStrategy<Value>,
    unique: Arc<Vec<Unique>>,
    /// The kinds of negative inputs the schema allows (`required`, `type`, `whitespace`, …), in
    /// the order first met.
    kinds: Vec<&'static str>,
}

impl Generator {
    /// Compiles the vendor's request schema.
    ///
    /// The field that turns a create into an update (`x-mock.update_by.field`, such as SmartLead
    /// 2026-03's `id`) is left out of the generated inputs: every scenario is a create, and an
    /// input naming a random record would be answered 404 `record_not_found` instead. A spec whose
    /// schema *requires* that field cannot be driven and is refused.
    pub fn for_vendor(vendor: &VendorModel) -> Result<Self, SchemaError> {
        let schema = match vendor.update_key() {
            Some(field) => without_property(vendor.schema(), field)?,
            None => vendor.schema().clone(),
        };
        Self::new(&schema, vendor.unique_patterns())
    }

    /// Compiles `schema`; values at the `unique` path patterns (`[].email`, `client_users[].email`)
    /// are made distinct within each generated value.
    pub fn new(schema: &Value, unique: Vec<String>) -> Result<Self, SchemaError> {
        let raw = compile(schema, &None)?;
        let rules =
            Arc::new(uniques(schema, &unique).map_err(|message| SchemaError { path: "(unique)".into(), message })?);
        let repeats = Arc::new(Repeats::of(schema, &unique));
        let fixers = Arc::clone(&rules);
        let valid = (raw, any::<u64>())
            .prop_map(move |(mut v, bits)| {
                repeats.apply(&mut v, bits);
                make_distinct(&mut v, fixers.iter(), &mut HashSet::new());
                v
            })
            .boxed();
        let mut generator = Self { schema: schema.clone(), valid, unique: rules, kinds: Vec::new() };
        generator.kinds = generator.observed_kinds();
        Ok(generator)
    }

    /// Inputs valid against the schema.
    pub fn valid(&self) -> BoxedStrategy<Value> {
        self.valid.clone()
    }

    /// Inputs that break exactly one constraint, with which; of one kind only (`required`,
    /// `whitespace`, …) when `kind` is given.
    pub fn invalid(&self, kind: Option<&str>) -> BoxedStrategy<(Value, Broken)> {
        let schema = self.schema.clone();
        let kind = kind.map(str::to_owned);
        (self.valid.clone(), any::<proptest::sample::Index>())
            .prop_filter_map("the value has no constraint of that kind to break", move |(value, index)| {
                let sites: Vec<_> = negative::sites(&schema, &value)
                    .into_iter()
                    .filter(|s| kind.as_deref().is_none_or(|k| s.kind == k))
                    .collect();
                if sites.is_empty() {
                    return None;
                }
                let site = &sites[index.index(sites.len())];
                let mut broken = value;
                site.apply(&mut broken);
                Some((broken, site.broken()))
            })
            .boxed()
    }

    /// The kinds of negative inputs this schema allows, each seen in generated inputs.
    pub fn kinds(&self) -> &[&'static str] {
        &self.kinds
    }

    /// The uniqueness rules' values, as the generator keeps them distinct.
    pub(crate) fn unique(&self) -> &Arc<Vec<Unique>> {
        &self.unique
    }

    /// The schema compiled.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// The kinds of sites met in a sample of valid inputs (a kind that shows up nowhere in 64
    /// inputs would starve its variant).
    fn observed_kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        for value in sample(&self.valid, 64, 0x6b1d) {
            for site in negative::sites(&self.schema, &value) {
                if !kinds.contains(&site.kind) {
                    kinds.push(site.kind);
                }
            }
        }
        kinds
    }
}

/// The schema without the body's top-level property `field` (where the mock looks for an update
/// key); an error when the schema requires it.
fn without_property(schema: &Value, field: &str) -> Result<Value, SchemaError> {
    let mut schema = schema.clone();
    let required =
        schema.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|n| n.as_str() == Some(field)));
    if required {
        return Err(SchemaError {
            path: field.to_owned(),
            message: "the update key (`x-mock.update_by.field`) is required, so no input is a create".into(),
        });
    }
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.shift_remove(field);
    }
    Ok(schema)
}

/// `n` values of a strategy, reproducibly from `seed` (for self-tests and examples).
pub fn sample<S: Strategy>(strategy: &S, n: usize, seed: u64) -> Vec<S::Value> {
    let mut runner = TestRunner::new_with_rng(Config::default(), rng(seed));
    (0..n).filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current())).collect()
}

/// A proptest RNG from a 64-bit seed.
pub fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let word = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64).rotate_left(17);
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

fn err(path: &At, message: impl Into<String>) -> SchemaError {
    SchemaError { path: shown(path), message: message.into() }
}

fn compile(schema: &Value, path: &At) -> Result<BoxedStrategy<Value>, SchemaError> {
    let Some(map) = schema.as_object() else {
        return match schema {
            Value::Bool(true) => Ok(Just(json!("any")).boxed()),
            _ => Err(err(path, "a schema must be an object")),
        };
    };
    for key in map.keys() {
        if !key.starts_with("x-") && !ANNOTATIONS.contains(&key.as_str()) && !CONSTRAINTS.contains(&key.as_str()) {
            return Err(err(path, format!("keyword `{key}` is not supported by the generator")));
        }
    }
    if let Some(c) = map.get("const") {
        return Ok(Just(c.clone()).boxed());
    }
    if let Some(values) = map.get("enum") {
        let values = values.as_array().filter(|v| !v.is_empty()).ok_or_else(|| err(path, "empty `enum`"))?;
        return Ok(proptest::sample::select(values.clone()).boxed());
    }
    let mut ts = types(schema);
    if ts.is_empty() {
        if map.contains_key("properties") || map.contains_key("additionalProperties") {
            ts.push("object".into());
        } else if map.contains_key("items") {
            ts.push("array".into());
        } else {
            ts.push("string".into());
        }
    }
    let strategies = ts.iter().map(|t| compile_type(t, schema, path)).collect::<Result<Vec<_>, _>>()?;
    Ok(if strategies.len() == 1 {
        strategies.into_iter().next().unwrap_or_else(|| Just(Value::Null).boxed())
    } else {
        Union::new(strategies).boxed()
    })
}

fn compile_type(t: &str, schema: &Value, path: &At) -> Result<BoxedStrategy<Value>, SchemaError> {
    Ok(match t {
        "object" => compile_object(schema, path)?,
        "array" => {
            let items = match schema.get("items") {
                Some(items) => compile(items, &Some(at_index(path, 0)))?,
                None => compile(&json!({"type": "string"}), &Some(at_index(path, 0)))?,
            };
            let min = count(schema, "minItems").unwrap_or(0);
            let max = count(schema, "maxItems").unwrap_or(usize::MAX).min(min + 3).max(min);
            proptest::collection::vec(items, min..=max).prop_map(Value::Array).boxed()
        }
        "string" => compile_string(schema, path)?,
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        "integer" | "number" => compile_number(t == "integer", schema, path)?,
        "null" => Just(Value::Null).boxed(),
        other => return Err(err(path, format!("type `{other}` is not supported"))),
    })
}

/// Numbers at both bounds and between them; without bounds, negative and large ones too
/// (beyond 32 bits, within the 53 bits every JSON implementation keeps); fractions (quarters,
/// exact in binary, and tenths, which are not) for `number`.
fn compile_number(integer: bool, schema: &Value, path: &At) -> Result<BoxedStrategy<Value>, SchemaError> {
    let min = num(schema, "minimum").or_else(|| num(schema, "exclusiveMinimum").map(|m| (m + 1.0).floor()));
    let max = num(schema, "maximum").or_else(|| num(schema, "exclusiveMaximum").map(|m| (m - 1.0).ceil()));
    let lo = min.unwrap_or(-1000.0).ceil();
    let hi = max.unwrap_or(lo.max(0.0) + 10_000.0).floor();
    if hi < lo {
        return Err(err(path, "no number satisfies minimum and maximum"));
    }
    #[allow(clippy::cast_possible_truncation)]
    let (a, b) = (lo as i64, hi as i64);
    let mut choices: Vec<BoxedStrategy<Value>> = vec![(a.max(0).min(b)..=b).prop_map(|n| json!(n)).boxed()];
    choices.push(Just(number(lo)).boxed());
    choices.push(Just(number(hi)).boxed());
    if !integer {
        let scaled =
            move |k: i64| (a.saturating_mul(k)..=b.saturating_mul(k)).prop_map(move |n| number(n as f64 / k as f64));
        choices.push(scaled(4).boxed());
        choices.push(scaled(10).boxed());
    }
    if min.is_none() {
        choices.push((a..=0).prop_map(|n| json!(n)).boxed());
    }
    if max.is_none() {
        choices.push(
            proptest::sample::select(vec![2_147_483_648_i64, 4_294_967_297, 9_007_199_254_740_991])
                .prop_map(|n| json!(n))
                .boxed(),
        );
    }
    Ok(Union::new(choices).boxed())
}

fn compile_object(schema: &Value, path: &At) -> Result<BoxedStrategy<Value>, SchemaError> {
    let empty = Map::new();
    let properties = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    if let Some(missing) = required.iter().find(|r| !properties.contains_key(**r)) {
        return Err(err(path, format!("required `{missing}` has no schema under `properties`")));
    }
    // Presence flags come first in the tuple, so that shrinking drops optional fields before it
    // simplifies any value.
    let mut names = Vec::new();
    let mut values: Vec<BoxedStrategy<Value>> = Vec::new();
    let mut presence: Vec<BoxedStrategy<bool>> = Vec::new();
    let mut optional: Vec<Option<usize>> = Vec::new();
    for (name, sub) in properties {
        let value = compile(sub, &Some(at_key(path, name)))?;
        // A documented default: absent, present with it, or present with another value.
        values.push(match sub.get("default") {
            Some(default) => Union::new(vec![Just(default.clone()).boxed(), value]).boxed(),
            None => value,
        });
        names.push(name.clone());
        if required.contains(&name.as_str()) {
            optional.push(None);
        } else {
            optional.push(Some(presence.len()));
            presence.push(any::<bool>().boxed());
        }
    }
    let extra: BoxedStrategy<Vec<(String, Value)>> = match schema.get("additionalProperties") {
        Some(ap @ Value::Object(_)) => {
            let value = compile(ap, &Some(at_key(path, "*")))?;
            proptest::collection::vec(("[a-z][a-z_]{2,9}", value), 0..=2).boxed()
        }
        _ => Just(Vec::new()).boxed(),
    };
    Ok((presence, extra, values)
        .prop_map(move |(presence, extra, values)| {
            let mut map = Map::new();
            for ((name, value), slot) in names.iter().zip(values).zip(&optional) {
                if slot.is_none_or(|i| presence[i]) {
                    map.insert(name.clone(), value);
                }
            }
            for (k, v) in extra {
                map.entry(k).or_insert(v);
            }
            Value::Object(map)
        })
        .boxed())
}

fn compile_string(schema: &Value, path: &At) -> Result<BoxedStrategy<Value>, SchemaError> {
    let min = count(schema, "minLength").unwrap_or(0);
    let max = count(schema, "maxLength").unwrap_or(min + 12).max(min);
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        return match format {
            "email" => Ok(email().prop_map(Value::String).boxed()),
            other => Err(err(path, format!("format `{other}` is not supported by the generator"))),
        };
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        let body = pattern.strip_prefix('^').unwrap_or(pattern);
        let body = body.strip_suffix('$').filter(|b| !b.ends_with('\\')).unwrap_or(body);
        let strategy = proptest::string::string_regex(body)
            .map_err(|e| err(path, format!("pattern `{pattern}` cannot be generated from: {e}")))?;
        return Ok(strategy.prop_map(Value::String).boxed());
    }
    if schema.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
        return Ok(proptest::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(b)))
            .boxed());
    }
    let chars: Vec<char> = TEXT.chars().collect();
    let text = proptest::collection::vec(proptest::sample::select(chars), min.max(1)..=max.max(1))
        .prop_map(|cs| Value::String(cs.into_iter().collect()))
        .boxed();
    Ok(match (min, max) {
        (_, 0) => Just(json!("")).boxed(),
        // An empty text now and then, where allowed (a client that drops empty fields shows).
        (0, _) => Union::new_weighted(vec![(1, Just(json!("")).boxed()), (7, text)]).boxed(),
        _ => text,
    })
}

/// E-mail addresses in mixed case, some with a plus-tag (`Ada.Lovelace+x@Example.COM` style,
/// without dots in the local part); shrinks to `a@a.com`.
fn email() -> impl Strategy<Value = String> {
    let all: Vec<char> = EMAIL.chars().collect();
    let letters: Vec<char> = all[..52].to_vec();
    let word = move |least: usize, most: usize| {
        (
            proptest::sample::select(letters.clone()),
            proptest::collection::vec(proptest::sample::select(all.clone()), least..=most),
        )
            .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect::<String>())
    };
    let tag = proptest::option::of(word(0, 3));
    let tld = proptest::sample::select(vec!["com", "org", "net", "io", "COM"]);
    (word(0, 7), tag, word(1, 7), tld).prop_map(|(local, tag, domain, tld)| match tag {
        Some(tag) => format!("{local}+{tag}@{domain}.{tld}"),
        None => format!("{local}@{domain}.{tld}"),
    })
}

#[cfg(test)]
mod tests {
    use vendor_mock::spec::FieldPath;

    use super::*;

    fn generators() -> Vec<(String, Generator)> {
        let specs = vendor_mock::Specs::embedded().expect("embedded specs load");
        specs
            .vendors()
            .iter()
            .map(|v| {
                let name = v.name.clone();
                let model = VendorModel::new(std::sync::Arc::clone(v)).expect("model");
                let generator = Generator::for_vendor(&model).expect("compiles");
                (name, generator)
            })
            .collect()
    }

    #[test]
    fn every_generated_valid_input_passes_the_request_schema() {
        for (name, g) in generators() {
            let validator = crate::schema::compile(g.schema()).expect("schema compiles");
            for value in sample(&g.valid(), 200, 7) {
                let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{name}: {value} is invalid: {errors:?}");
            }
        }
    }

    /// `a.b[0]` → `a.b`, `a.b` → `a`, `a` → `(body)`.
    fn parent(path: &str) -> String {
        let cut = match path.strip_suffix(']') {
            Some(rest) => rest.rfind('['),
            None => path.rfind('.'),
        };
        match cut {
            Some(i) if i > 0 => path[..i].to_owned(),
            _ => "(body)".to_owned(),
        }
    }

    #[test]
    fn every_negative_input_breaks_the_recorded_constraint_and_only_there() {
        for (name, g) in generators() {
            let validator = crate::schema::compile(g.schema()).expect("schema compiles");
            let mut constraints = HashSet::new();
            for (value, broken) in sample(&g.invalid(None), 300, 11) {
                let errors: Vec<(String, String)> = validator
                    .iter_errors(&value)
                    .map(|e| (crate::json::pointer_to_path(&e.instance_path().to_string()), e.to_string()))
                    .collect();
                assert!(!errors.is_empty(), "{name}: {value} should break {broken:?}");
                let allowed = [broken.path.clone(), parent(&broken.path)];
                for (path, message) in &errors {
                    assert!(allowed.contains(path), "{name}: {broken:?} also broke `{path}`: {message} in {value}");
                }
                constraints.insert(broken.constraint);
            }
            for expected in ["required", "type"] {
                assert!(constraints.contains(expected), "{name}: never broke {expected}: {constraints:?}");
            }
        }
    }

    #[test]
    fn unique_values_are_distinct_within_an_input() {
        let schema = json!({"type":"array","minItems":4,"maxItems":4,"items":{"type":"object","required":["email","mobile"],
            "properties":{"email":{"type":"string","format":"email"},"mobile":{"type":"string","pattern":"^[0-9]{2}$"}}}});
        let g = Generator::new(&schema, vec!["[].email".into(), "[].mobile".into()]).expect("compiles");
        for value in sample(&g.valid(), 100, 3) {
            let at = |p: &str| {
                FieldPath::parse(p)
                    .expect("a path")
                    .values(&value)
                    .into_iter()
                    .map(|(_, v)| v.clone())
                    .collect::<Vec<_>>()
            };
            let emails: HashSet<String> =
                at("[].email").iter().filter_map(Value::as_str).map(str::to_lowercase).collect();
            let mobiles: HashSet<String> =
                at("[].mobile").iter().filter_map(Value::as_str).map(str::to_owned).collect();
            assert_eq!((emails.len(), mobiles.len()), (4, 4), "{value}");
        }
    }

    #[test]
    fn unsupported_keywords_are_refused_with_their_path() {
        let e = Generator::new(&json!({"type":"object","properties":{"a":{"oneOf":[]}}}), vec![]).expect_err("refused");
        assert_eq!(e.path, "a");
        assert!(e.message.contains("oneOf"));
    }
}
