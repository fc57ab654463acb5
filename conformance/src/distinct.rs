//! Values that must differ, and values that repeat, within one input.
//!
//! The values of the spec's uniqueness rules are made distinct (as the rules compare them:
//! trimmed, lowercased), so that a valid input never clashes with itself. Other text values are
//! repeated across the elements of an array of objects (two AgencyHandy entries with the same
//! name, two VoiceAIWrapper users with the same password), exactly or in another case: a client
//! that de-duplicates, or matches the vendor's answer back to its input by such a value, is
//! caught.

use std::collections::HashSet;

use serde_json::Value;
use vendor_mock::spec::{FieldPath, Segment};

use crate::json::{At, at_index, at_key};
use crate::schema;

/// A uniqueness rule's values in an input: their path (`[].email`, `client_users[].email`) and
/// the schema each must stay valid against.
#[derive(Debug, Clone)]
pub(crate) struct Unique {
    pub path: FieldPath,
    validator: jsonschema::Validator,
}

impl Unique {
    /// The rule's values in an input, each with its concrete path.
    pub fn strings(&self, value: &Value) -> Vec<(FieldPath, String)> {
        self.path
            .values(value)
            .into_iter()
            .filter_map(|(at, v)| Some((FieldPath::parse(&at).ok()?, v.as_str()?.to_owned())))
            .collect()
    }

    /// Whether a text is a valid value at the rule's path.
    pub fn accepts(&self, text: &str) -> bool {
        self.validator.is_valid(&Value::String(text.to_owned()))
    }
}

/// How uniqueness rules compare values (the strictest: trimmed and lowercased).
pub(crate) fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

/// The rules' paths in a schema, with the schema of each value; `patterns` are path patterns
/// (`[].email`).
pub(crate) fn uniques(schema: &Value, patterns: &[String]) -> Result<Vec<Unique>, String> {
    let mut out: Vec<Unique> = Vec::new();
    for pattern in patterns {
        if out.iter().any(|u| u.path.as_str() == pattern) {
            continue;
        }
        let node = schema_at(schema, pattern).cloned().unwrap_or(Value::Bool(true));
        let validator = schema::compile(&node).map_err(|e| format!("`{pattern}`: {e}"))?;
        let path = FieldPath::parse(pattern).map_err(|e| e.to_string())?;
        out.push(Unique { path, validator });
    }
    Ok(out)
}

/// Makes the rules' values distinct within a value (and from `taken`), keeping each valid.
pub(crate) fn make_distinct<'r>(
    value: &mut Value,
    rules: impl IntoIterator<Item = &'r Unique>,
    taken: &mut HashSet<String>,
) {
    for rule in rules {
        for (at, text) in rule.strings(value) {
            if taken.insert(norm(&text)) {
                continue;
            }
            let replacement =
                (1..1000).map(|n| variant(&text, n)).find(|c| !taken.contains(&norm(c)) && rule.accepts(c));
            if let Some(new) = replacement {
                taken.insert(norm(&new));
                at.set(value, &mut || Value::String(new.clone()));
            }
        }
    }
}

/// The sub-schema a path pattern (`client_users[].email`, `[].email`) points to.
pub(crate) fn schema_at<'a>(schema: &'a Value, pattern: &str) -> Option<&'a Value> {
    let path = FieldPath::parse(pattern).ok()?;
    path.segments().iter().try_fold(schema, |node, segment| match segment {
        Segment::Key(name) => node.get("properties")?.get(name),
        Segment::Each | Segment::Index(_) => node.get("items"),
    })
}

/// The `n`-th variant of a string: e-mails get `n` before the `@`, digits are replaced from the
/// end, anything else gets `n` appended.
pub(crate) fn variant(text: &str, n: usize) -> String {
    if let Some((local, domain)) = text.rsplit_once('@') {
        return match local.split_once('+') {
            Some((name, tag)) => format!("{name}{n}+{tag}@{domain}"),
            None => format!("{local}{n}@{domain}"),
        };
    }
    let digits = n.to_string();
    let trailing = text.chars().rev().take_while(char::is_ascii_digit).count();
    if trailing >= digits.len() {
        let keep: String = text.chars().take(text.chars().count() - digits.len()).collect();
        return format!("{keep}{digits}");
    }
    format!("{text}{digits}")
}

/// Upper case to lower and lower to upper (`Ada@Example.com` → `aDA@eXAMPLE.COM`).
pub(crate) fn swap_case(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let swapped: Vec<char> =
                if c.is_lowercase() { c.to_uppercase().collect() } else { c.to_lowercase().collect() };
            swapped
        })
        .collect()
}

/// The arrays of objects of a schema whose elements' text values can repeat: per array (the body
/// itself, or a property path such as `client_users`, not under another array), the plain text
/// properties of its elements (no enum, const or pattern, not a uniqueness rule's), each with
/// its schema.
#[derive(Debug, Default)]
pub(crate) struct Repeats {
    arrays: Vec<(At, Vec<(String, jsonschema::Validator)>)>,
}

impl Repeats {
    pub fn of(schema: &Value, unique: &[String]) -> Self {
        let mut arrays = Vec::new();
        collect_arrays(schema, &None, unique, &mut arrays);
        Self { arrays }
    }

    /// Copies text values from each array's first element to its last, as `bits` say: per
    /// property one bit to copy and one to swap the case of the copy (kept only where still
    /// valid). `bits` = 0 repeats nothing (what shrinking goes to).
    pub fn apply(&self, value: &mut Value, bits: u64) {
        let mut bit = 0;
        let mut next = || {
            let on = bits >> (bit % 64) & 1 == 1;
            bit += 1;
            on
        };
        for (array, fields) in &self.arrays {
            let items = match array {
                None => Some(&*value),
                Some(path) => path.get(value),
            };
            let Some(items) = items.and_then(Value::as_array).filter(|a| a.len() >= 2) else {
                fields.iter().for_each(|_| {
                    next();
                    next();
                });
                continue;
            };
            let (first, last) = (items[0].clone(), at_index(array, items.len() - 1));
            for (field, validator) in fields {
                let (copy, swap) = (next(), next());
                let Some(text) = first.get(field).and_then(Value::as_str).filter(|_| copy) else { continue };
                let swapped = Value::String(swap_case(text));
                let repeated = if swap && validator.is_valid(&swapped) { swapped } else { Value::String(text.into()) };
                last.then_key(field).update(value, &mut |slot| *slot = repeated.clone());
            }
        }
    }
}

fn collect_arrays(
    schema: &Value,
    at: &At,
    unique: &[String],
    out: &mut Vec<(At, Vec<(String, jsonschema::Validator)>)>,
) {
    if let Some(items) = schema.get("items") {
        let each = at.as_ref().map_or_else(|| "[]".to_owned(), |p| format!("{p}[]"));
        let fields: Vec<(String, jsonschema::Validator)> = items
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(name, sub)| {
                let plain = ["enum", "const", "pattern"].iter().all(|k| sub.get(*k).is_none());
                let text = sub.get("type").and_then(Value::as_str) == Some("string");
                plain && text && !unique.contains(&format!("{each}.{name}"))
            })
            .filter_map(|(name, sub)| Some((name.clone(), schema::compile(sub).ok()?)))
            .collect();
        if !fields.is_empty() {
            out.push((at.clone(), fields));
        }
        return;
    }
    for (k, sub) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        collect_arrays(sub, &Some(at_key(at, k)), unique, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variants_keep_the_shape_of_the_value() {
        assert_eq!(variant("a@b.io", 2), "a2@b.io");
        assert_eq!(variant("a+tag@b.io", 2), "a2+tag@b.io");
        assert_eq!(variant("0400000000", 12), "0400000012");
        assert_eq!(variant("x", 3), "x3");
        assert_eq!(swap_case("Ada@Example.com"), "aDA@eXAMPLE.COM");
    }

    #[test]
    fn text_values_repeat_across_the_entries_of_an_array_as_the_bits_say() {
        let schema = json!({"type":"array","items":{"type":"object","properties":{
            "name":{"type":"string"},"email":{"type":"string","format":"email"},"kind":{"type":"string","enum":["a"]}}}});
        let repeats = Repeats::of(&schema, &["[].email".to_owned()]);
        let mut v = json!([{"name":"Ada","email":"a@b.io","kind":"a"},{"name":"Bob","email":"b@b.io","kind":"a"}]);
        repeats.apply(&mut v, 0);
        assert_eq!(v[1]["name"], "Bob", "no bits, no repeats");
        repeats.apply(&mut v, 0b01);
        assert_eq!(v[1]["name"], "Ada");
        repeats.apply(&mut v, 0b11);
        assert_eq!(v[1]["name"], "aDA");
        assert_eq!(v[1]["email"], "b@b.io", "a uniqueness rule's value never repeats");
    }
}
