//! Negative inputs: every way to break exactly one constraint of a valid value (a site), each of
//! a kind (the schema keyword broken, or `whitespace` for an e-mail with spaces around it).
//!
//! The body keeps its shape, as PROTOCOL.md promises: an object stays an object, and a bulk
//! vendor's array stays an array of objects; anything inside them may break.

use serde_json::{Value, json};

use crate::json::{At, at_index, at_key, number, shown};
use crate::model::Broken;
use crate::schema::{count, num, types};

/// One way to break a valid value.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    path: At,
    action: Action,
    /// The schema keyword broken (`required`, `type`, `format`, …).
    constraint: &'static str,
    /// What the scenario's variants are made of: the constraint, or `whitespace`.
    pub kind: &'static str,
    description: String,
}

#[derive(Debug, Clone)]
enum Action {
    Set(Value),
    Remove(String),
    Insert(String, Value),
}

impl Site {
    /// Breaks `root` at this site.
    pub fn apply(&self, root: &mut Value) {
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

    /// What the site breaks, for the case and its report.
    pub fn broken(&self) -> Broken {
        let path = match &self.action {
            Action::Remove(k) | Action::Insert(k, _) => Some(at_key(&self.path, k)),
            Action::Set(_) => self.path.clone(),
        };
        Broken { path: shown(&path), constraint: self.constraint.to_owned(), description: self.description.clone() }
    }
}

/// Every site of a valid value but those that change the body's shape.
pub(crate) fn sites(schema: &Value, value: &Value) -> Vec<Site> {
    let mut out = Vec::new();
    match (value, schema.get("items")) {
        // A bulk body: its entries stay objects (their insides may break).
        (Value::Array(entries), Some(entry)) => {
            within(&without_items(schema), value, &None, &mut out);
            for (i, item) in entries.iter().enumerate() {
                within(entry, item, &Some(at_index(&None, i)), &mut out);
            }
        }
        _ => within(schema, value, &None, &mut out),
    }
    out
}

/// An array schema without its `items` (its own constraints only).
fn without_items(schema: &Value) -> Value {
    let mut own = schema.clone();
    if let Some(map) = own.as_object_mut() {
        map.remove("items");
    }
    own
}

/// Sites of a value at `path`: its own (type, enum, const, format, bounds…), then its parts'.
fn sites_at(schema: &Value, value: &Value, path: &At, out: &mut Vec<Site>) {
    let here = shown(path);
    let mut site = |action: Action, constraint: &'static str, description: String| {
        out.push(Site { path: path.clone(), action, constraint, kind: constraint, description });
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
        let wrong = if ts.iter().any(|t| t == "string") { json!(12345) } else { json!("12") };
        site(Action::Set(wrong.clone()), "type", format!("`{here}` is {wrong}, not of type {}", ts.join("|")));
    }
    if let (true, Some(n)) = (ts == ["integer"], value.as_f64()) {
        let fraction = json!(n + 0.5);
        site(Action::Set(fraction.clone()), "type", format!("`{here}` is {fraction}, not an integer"));
    }
    match value {
        Value::String(s) => string_sites(schema, s, path, out),
        Value::Number(_) => number_sites(schema, path, out),
        _ => {}
    }
    within(schema, value, path, out);
}

/// Sites inside an array or object: items, required and unexpected properties, and the sites of
/// every part.
fn within(schema: &Value, value: &Value, path: &At, out: &mut Vec<Site>) {
    let here = shown(path);
    let mut site = |action: Action, constraint: &'static str, description: String| {
        out.push(Site { path: path.clone(), action, constraint, kind: constraint, description });
    };
    match value {
        Value::Array(items) => {
            if let Some(min) = count(schema, "minItems").filter(|m| *m >= 1) {
                let fewer = Value::Array(items.iter().take(min - 1).cloned().collect());
                site(Action::Set(fewer), "minItems", format!("`{here}` has fewer than {min} item(s)"));
            }
            if let (Some(max), Some(last)) = (count(schema, "maxItems"), items.last()) {
                let more = Value::Array(
                    items.iter().chain(std::iter::repeat_n(last, max + 1 - items.len())).cloned().collect(),
                );
                site(Action::Set(more), "maxItems", format!("`{here}` has more than {max} item(s)"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    sites_at(item_schema, item, &Some(at_index(path, i)), out);
                }
            }
        }
        Value::Object(map) => {
            let required = schema.get("required").and_then(Value::as_array).into_iter().flatten();
            for name in required.filter_map(Value::as_str).filter(|n| map.contains_key(*n)) {
                let missing = format!("required `{}` is missing", at_key(path, name));
                site(Action::Remove(name.to_owned()), "required", missing);
            }
            if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                let name = "unexpected_field";
                let unexpected = format!("`{}` is not a property the schema allows", at_key(path, name));
                site(Action::Insert(name.to_owned(), json!("x")), "additionalProperties", unexpected);
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (k, v) in map {
                let sub = match (properties.and_then(|p| p.get(k)), schema.get("additionalProperties")) {
                    (Some(sub), _) => sub,
                    (None, Some(ap @ Value::Object(_))) => ap,
                    _ => continue,
                };
                sites_at(sub, v, &Some(at_key(path, k)), out);
            }
        }
        _ => {}
    }
}

fn string_sites(schema: &Value, s: &str, path: &At, out: &mut Vec<Site>) {
    let here = shown(path);
    let mut site = |action: Action, constraint: &'static str, kind: &'static str, description: String| {
        out.push(Site { path: path.clone(), action, constraint, kind, description });
    };
    if schema.get("format").and_then(Value::as_str) == Some("email") {
        site(Action::Set(json!("not-an-email")), "format", "format", format!("`{here}` is not an e-mail address"));
        // A client that trims e-mails makes this input valid: the body shows it.
        let padded = json!(format!(" {s} "));
        site(Action::Set(padded), "format", "whitespace", format!("`{here}` has spaces around the e-mail address"));
    }
    if let Some(min) = count(schema, "minLength").filter(|m| *m >= 1) {
        let short: String = s.chars().take(min - 1).collect();
        site(Action::Set(json!(short)), "minLength", "minLength", format!("`{here}` is shorter than {min}"));
    }
    if let Some(max) = count(schema, "maxLength") {
        let long = json!("x".repeat(max + 1));
        site(Action::Set(long), "maxLength", "maxLength", format!("`{here}` is longer than {max}"));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        let check = crate::schema::compile(&json!({"pattern": pattern})).ok();
        let bad =
            ["not matching!", "", "x"].into_iter().find(|c| check.as_ref().is_some_and(|v| !v.is_valid(&json!(c))));
        if let Some(bad) = bad {
            site(Action::Set(json!(bad)), "pattern", "pattern", format!("`{here}` does not match `{pattern}`"));
        }
    }
}

fn number_sites(schema: &Value, path: &At, out: &mut Vec<Site>) {
    let here = shown(path);
    let num = |k| num(schema, k);

    let mut site = |value: Value, constraint: &'static str, description: String| {
        out.push(Site { path: path.clone(), action: Action::Set(value), constraint, kind: constraint, description });
    };
    if let Some(min) = num("minimum") {
        site(number(min - 1.0), "minimum", format!("`{here}` is below the minimum {min}"));
    }
    if let Some(max) = num("maximum") {
        site(number(max + 1.0), "maximum", format!("`{here}` is above the maximum {max}"));
    }
    if let Some(min) = num("exclusiveMinimum") {
        site(number(min), "exclusiveMinimum", format!("`{here}` is not above {min}"));
    }
    if let Some(max) = num("exclusiveMaximum") {
        site(number(max), "exclusiveMaximum", format!("`{here}` is not below {max}"));
    }
}
