//! A JSON Schema → proptest strategy compiler for the subset the specs use, and a negative
//! strategy that breaks exactly one constraint of a valid value and records which.
//!
//! Supported: `type` (one or a list), `properties`, `required`, `additionalProperties` (false or a
//! schema), `items`, `minItems`/`maxItems`, `minLength`/`maxLength`, `pattern`, `format: email`,
//! `enum`, `const`, `minimum`/`maximum` (and their exclusive forms), `contentEncoding: base64`;
//! annotations (`description`, `default`, `examples`, …) are ignored. Anything else is refused
//! with its path, so a spec the suite cannot generate for fails at start (exit 2) instead of
//! producing inputs the mock rejects.
//!
//! Optional properties are present or absent (shrinking drops them). E-mails and the values of
//! the spec's uniqueness rules are made distinct within an input, so a bulk request never clashes
//! with itself.

use std::collections::HashSet;

use base64::Engine as _;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};
use vendor_mock::spec::FieldPath;

use crate::json::{At, at_index, at_key, shown};
use crate::model::Broken;
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
/// client's JSON and UTF-8 handling.
const TEXT: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-&/'\"\\éüß漢";

/// Strategies for one vendor's create body.
#[derive(Debug, Clone)]
pub struct Generator {
    schema: Value,
    valid: BoxedStrategy<Value>,
}

impl Generator {
    /// Compiles the vendor's request schema.
    ///
    /// The field that turns a create into an update (`x-mock.update_by.field`, such as SmartLead
    /// 2026-03's `id`) is left out of the generated inputs: every scenario is a create, and an
    /// input naming a random record would be answered 404 `record_not_found` instead. A spec whose
    /// schema *requires* that field cannot be driven and is refused.
    pub fn for_vendor(vendor: &VendorModel) -> Result<Self, SchemaError> {
        let mut unique: Vec<String> = Vec::new();
        let entry = if vendor.create().bulk { "[]." } else { "" };
        for rule in &vendor.create().unique {
            unique.push(format!("{entry}{}", rule.path));
        }
        let schema = match vendor.update_key() {
            Some(field) => without_property(vendor.schema(), field)?,
            None => vendor.schema().clone(),
        };
        email_paths(&schema, "", &mut unique);
        Self::new(&schema, unique)
    }

    /// Compiles `schema`; values at the `unique` path patterns (`[].email`, `client_users[].email`)
    /// are made distinct within each generated value.
    pub fn new(schema: &Value, unique: Vec<String>) -> Result<Self, SchemaError> {
        let raw = compile(schema, &None)?;
        let mut fixers = Vec::new();
        for pattern in unique {
            if fixers.iter().any(|(p, _): &(FieldPath, _)| p.as_str() == pattern) {
                continue;
            }
            let node = schema_at(schema, &pattern).cloned().unwrap_or(json!({}));
            let fail = |message: String| SchemaError { path: pattern.clone(), message };
            let validator = crate::schema::compile(&node).map_err(fail)?;
            let path = FieldPath::parse(&pattern).map_err(|e| fail(e.to_string()))?;
            fixers.push((path, validator));
        }
        let fixers = std::sync::Arc::new(fixers);
        let valid = raw
            .prop_map(move |mut v| {
                make_distinct(&mut v, &fixers);
                v
            })
            .boxed();
        Ok(Self { schema: schema.clone(), valid })
    }

    /// Inputs valid against the schema.
    pub fn valid(&self) -> BoxedStrategy<Value> {
        self.valid.clone()
    }

    /// Inputs that break exactly one constraint, with which.
    pub fn invalid(&self) -> BoxedStrategy<(Value, Broken)> {
        let schema = self.schema.clone();
        (self.valid.clone(), any::<proptest::sample::Index>())
            .prop_filter_map("the value has no constraint to break", move |(value, index)| {
                let sites = break_sites(&schema, &value, &None);
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

    /// The schema compiled.
    pub fn schema(&self) -> &Value {
        &self.schema
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

fn types(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn num(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn count(schema: &Value, key: &str) -> Option<usize> {
    schema.get(key).and_then(Value::as_u64).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
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
        "integer" | "number" => {
            let lo = num(schema, "minimum")
                .or_else(|| num(schema, "exclusiveMinimum").map(|m| (m + 1.0).floor()))
                .unwrap_or(0.0)
                .ceil();
            let hi = num(schema, "maximum")
                .or_else(|| num(schema, "exclusiveMaximum").map(|m| (m - 1.0).ceil()))
                .unwrap_or(lo + 10_000.0)
                .floor();
            if hi < lo {
                return Err(err(path, "no number satisfies minimum and maximum"));
            }
            // Quarters are exact in binary and in every JSON implementation.
            let quarters = t == "number";
            let scale = if quarters { 4.0 } else { 1.0 };
            #[allow(clippy::cast_possible_truncation)]
            let (a, b) = ((lo * scale) as i64, (hi * scale) as i64);
            (a..=b).prop_map(move |n| number(n as f64 / scale)).boxed()
        }
        "null" => Just(Value::Null).boxed(),
        other => return Err(err(path, format!("type `{other}` is not supported"))),
    })
}

/// An integral float as a JSON integer, anything else as a float.
fn number(x: f64) -> Value {
    #[allow(clippy::cast_possible_truncation)]
    if x.fract() == 0.0 && x.abs() < 1e15 { json!(x as i64) } else { json!(x) }
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
        values.push(compile(sub, &Some(at_key(path, name)))?);
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
            "email" => Ok(proptest::string::string_regex(
                "[a-z][a-z0-9]{0,7}(\\+[a-z0-9]{1,4})?@[a-z][a-z0-9]{1,7}\\.(com|org|net|io)",
            )
            .map_err(|e| err(path, e.to_string()))?
            .prop_map(Value::String)
            .boxed()),
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
    Ok(proptest::collection::vec(proptest::sample::select(chars), min..=max)
        .prop_map(|cs| Value::String(cs.into_iter().collect()))
        .boxed())
}

/// Path patterns (`client_users[].email`) of every `format: email` string.
fn email_paths(schema: &Value, at: &str, out: &mut Vec<String>) {
    let join = |k: &str| if at.is_empty() { k.to_owned() } else { format!("{at}.{k}") };
    if schema.get("format").and_then(Value::as_str) == Some("email") {
        out.push(at.to_owned());
    }
    for (k, sub) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        email_paths(sub, &join(k), out);
    }
    if let Some(items) = schema.get("items") {
        let at = if at.is_empty() { "[]".to_owned() } else { format!("{at}[]") };
        email_paths(items, &at, out);
    }
}

/// The sub-schema a path pattern points to.
fn schema_at<'a>(schema: &'a Value, pattern: &str) -> Option<&'a Value> {
    let mut node = schema;
    for segment in pattern.split('.') {
        let (name, each) = match segment.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (segment, false),
        };
        if !name.is_empty() {
            node = node.get("properties")?.get(name)?;
        }
        if each {
            node = node.get("items")?;
        }
    }
    Some(node)
}

/// Makes the strings at each pattern distinct (after trimming and lowercasing, as uniqueness
/// rules compare them), keeping each valid against its own schema.
fn make_distinct(value: &mut Value, fixers: &[(FieldPath, jsonschema::Validator)]) {
    let mut seen: HashSet<String> = HashSet::new();
    let norm = |s: &str| s.trim().to_lowercase();
    for (pattern, validator) in fixers {
        let found: Vec<(String, String)> =
            pattern.values(value).into_iter().filter_map(|(p, v)| v.as_str().map(|s| (p, s.to_owned()))).collect();
        for (at, text) in found {
            if seen.insert(norm(&text)) {
                continue;
            }
            let replacement = (1..1000)
                .map(|n| variant(&text, n))
                .find(|c| !seen.contains(&norm(c)) && validator.is_valid(&Value::String(c.clone())));
            if let (Some(new), Ok(at)) = (replacement, FieldPath::parse(&at)) {
                seen.insert(norm(&new));
                at.set(value, &mut || Value::String(new.clone()));
            }
        }
    }
}

/// The `n`-th variant of a string: e-mails get `n` before the `@`, digits are replaced from the
/// end, anything else gets `n` appended.
fn variant(text: &str, n: usize) -> String {
    if let Some((local, domain)) = text.split_once('@') {
        return format!("{local}{n}@{domain}");
    }
    let digits = n.to_string();
    let trailing = text.chars().rev().take_while(char::is_ascii_digit).count();
    if trailing >= digits.len() {
        let keep: String = text.chars().take(text.chars().count() - digits.len()).collect();
        return format!("{keep}{digits}");
    }
    format!("{text}{digits}")
}

/// One way to break a valid value.
#[derive(Debug, Clone)]
struct Site {
    path: At,
    action: Action,
    constraint: &'static str,
    description: String,
}

#[derive(Debug, Clone)]
enum Action {
    Set(Value),
    Remove(String),
    Insert(String, Value),
}

impl Site {
    fn apply(&self, root: &mut Value) {
        match &self.path {
            None => self.act(root),
            Some(path) => path.update(root, &mut |slot| self.act(slot)),
        }
    }

    fn act(&self, slot: &mut Value) {
        match &self.action {
            Action::Set(v) => *slot = v.clone(),
            Action::Remove(k) => {
                if let Some(map) = slot.as_object_mut() {
                    map.shift_remove(k);
                }
            }
            Action::Insert(k, v) => {
                if let Some(map) = slot.as_object_mut() {
                    map.insert(k.clone(), v.clone());
                }
            }
        }
    }

    fn broken(&self) -> Broken {
        let path = match &self.action {
            Action::Remove(k) | Action::Insert(k, _) => Some(at_key(&self.path, k)),
            Action::Set(_) => self.path.clone(),
        };
        Broken { path: shown(&path), constraint: self.constraint.to_owned(), description: self.description.clone() }
    }
}

/// A value of a type the schema does not allow: a string where one is not allowed, else a number.
fn wrong_type(types: &[String]) -> Value {
    if types.iter().any(|t| t == "string") { json!(12345) } else { json!("12") }
}

fn break_sites(schema: &Value, value: &Value, path: &At) -> Vec<Site> {
    let mut out = Vec::new();
    let here = shown(path);
    let mut site = |action: Action, constraint: &'static str, description: String| {
        out.push(Site { path: path.clone(), action, constraint, description });
    };
    if let Some(c) = schema.get("const") {
        let other = if c.is_string() { json!(format!("not-{c}")) } else { json!("not-the-constant") };
        site(Action::Set(other.clone()), "const", format!("`{here}` is {other}, not the constant {c}"));
    } else if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        let other = if options.iter().all(Value::is_string) {
            json!("not_one_of_the_options")
        } else {
            json!(options.iter().filter_map(Value::as_f64).fold(0.0, f64::max) + 1.0)
        };
        if !options.contains(&other) {
            site(Action::Set(other.clone()), "enum", format!("`{here}` is {other}, outside the enum"));
        }
    }
    let ts = types(schema);
    if !ts.is_empty() {
        let wrong = wrong_type(&ts);
        site(Action::Set(wrong.clone()), "type", format!("`{here}` is {wrong}, not of type {}", ts.join("|")));
    }
    match value {
        Value::String(s) => {
            if schema.get("format").and_then(Value::as_str) == Some("email") {
                site(Action::Set(json!("not-an-email")), "format", format!("`{here}` is not an e-mail address"));
            }
            if let Some(min) = count(schema, "minLength").filter(|m| *m >= 1) {
                let short: String = s.chars().take(min - 1).collect();
                site(Action::Set(json!(short)), "minLength", format!("`{here}` is shorter than {min}"));
            }
            if let Some(max) = count(schema, "maxLength") {
                site(Action::Set(json!("x".repeat(max + 1))), "maxLength", format!("`{here}` is longer than {max}"));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                let check = crate::schema::compile(&json!({"pattern": pattern})).ok();
                let bad = ["not matching!", "", "x"]
                    .into_iter()
                    .find(|c| check.as_ref().is_some_and(|v| !v.is_valid(&json!(c))));
                if let Some(bad) = bad {
                    site(Action::Set(json!(bad)), "pattern", format!("`{here}` does not match `{pattern}`"));
                }
            }
        }
        Value::Number(_) => {
            if let Some(min) = num(schema, "minimum") {
                site(Action::Set(number(min - 1.0)), "minimum", format!("`{here}` is below the minimum {min}"));
            }
            if let Some(max) = num(schema, "maximum") {
                site(Action::Set(number(max + 1.0)), "maximum", format!("`{here}` is above the maximum {max}"));
            }
            if let Some(min) = num(schema, "exclusiveMinimum") {
                site(Action::Set(number(min)), "exclusiveMinimum", format!("`{here}` is not above {min}"));
            }
        }
        Value::Array(items) => {
            if let Some(min) = count(schema, "minItems").filter(|m| *m >= 1) {
                let fewer = Value::Array(items.iter().take(min - 1).cloned().collect());
                site(Action::Set(fewer), "minItems", format!("`{here}` has fewer than {min} item(s)"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    out.extend(break_sites(item_schema, item, &Some(at_index(path, i))));
                }
            }
        }
        Value::Object(map) => {
            for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
            {
                if map.contains_key(name) {
                    site(
                        Action::Remove(name.to_owned()),
                        "required",
                        format!("required `{}` is missing", at_key(path, name)),
                    );
                }
            }
            if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                let name = "unexpected_field";
                site(
                    Action::Insert(name.to_owned(), json!("x")),
                    "additionalProperties",
                    format!("`{}` is not a property the schema allows", at_key(path, name)),
                );
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (k, v) in map {
                match properties.and_then(|p| p.get(k)) {
                    Some(sub) => out.extend(break_sites(sub, v, &Some(at_key(path, k)))),
                    None => {
                        if let Some(ap @ Value::Object(_)) = schema.get("additionalProperties") {
                            out.extend(break_sites(ap, v, &Some(at_key(path, k))));
                        }
                    }
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
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
            for (value, broken) in sample(&g.invalid(), 300, 11) {
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
    fn e_mails_and_unique_values_are_distinct_within_an_input() {
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

    #[test]
    fn variants_keep_the_shape_of_the_value() {
        assert_eq!(variant("a@b.io", 2), "a2@b.io");
        assert_eq!(variant("0400000000", 12), "0400000012");
        assert_eq!(variant("x", 3), "x3");
    }
}
