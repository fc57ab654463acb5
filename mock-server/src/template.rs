//! Answer templates: JSON with `{{…}}` placeholders, rendered against a context object.
//!
//! - A string that is exactly one placeholder (`"{{record.id}}"`) becomes the value itself, type
//!   and all (a number stays a number, a missing value becomes `null`).
//! - Placeholders inside a longer string are interpolated as text (`"{{a}} {{b}}"`).
//! - An expression is a dotted path (`record.client_users.0.email`); `a ?? b` takes the first
//!   that is not null.
//! - `{"$map": "path", "to": T}` renders `T` once per element of the array at `path`, with `item`
//!   and `index` bound.
//! - Object keys are rendered too; a key ending in `?` is dropped when its value is null or empty.

use serde_json::{Map, Value};

/// What placeholders can see: the context object, plus `item`/`index` inside a `$map`.
#[derive(Debug, Clone, Copy)]
struct Scope<'a> {
    root: &'a Value,
    item: Option<(&'a Value, usize)>,
}

/// Renders `template` against `context`.
pub(crate) fn render(template: &Value, context: &Value) -> Value {
    render_in(template, Scope { root: context, item: None })
}

fn render_in(template: &Value, scope: Scope<'_>) -> Value {
    match template {
        Value::String(s) => render_string(s, scope),
        Value::Array(items) => Value::Array(items.iter().map(|t| render_in(t, scope)).collect()),
        Value::Object(map) => {
            if let (Some(Value::String(path)), Some(to)) = (map.get("$map"), map.get("to")) {
                let items = match eval(path, scope) {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                };
                return Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| render_in(to, Scope { root: scope.root, item: Some((item, i)) }))
                        .collect(),
                );
            }
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map {
                let key = interpolate(key, scope);
                let value = render_in(value, scope);
                match key.strip_suffix('?') {
                    Some(_) if is_empty(&value) => {}
                    Some(key) => {
                        out.insert(key.to_owned(), value);
                    }
                    None => {
                        out.insert(key, value);
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Renders a template string as text (header values): numbers and other values are written out.
pub(crate) fn render_text(template: &str, context: &Value) -> String {
    interpolate(template, Scope { root: context, item: None })
}

fn render_string(s: &str, scope: Scope<'_>) -> Value {
    let trimmed = s.trim();
    if let Some(expr) = trimmed.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
        && !expr.contains("{{")
    {
        return eval(expr, scope);
    }
    Value::String(interpolate(s, scope))
}

fn interpolate(s: &str, scope: Scope<'_>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        out.push_str(&rest[..start]);
        match eval(&rest[start + 2..start + len], scope) {
            Value::Null => {}
            Value::String(v) => out.push_str(&v),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

fn eval(expr: &str, scope: Scope<'_>) -> Value {
    expr.split("??").map(|alt| lookup(alt.trim(), scope)).find(|v| !v.is_null()).unwrap_or(Value::Null)
}

fn lookup(path: &str, scope: Scope<'_>) -> Value {
    let mut segments = path.split('.');
    let first = segments.next().unwrap_or_default();
    let mut current = match (first, scope.item) {
        ("item", Some((item, _))) => item,
        ("index", Some((_, index))) => return Value::from(index),
        _ => match scope.root.get(first) {
            Some(v) => v,
            None => return Value::Null,
        },
    };
    for segment in segments {
        let next = match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None => return Value::Null,
        }
    }
    current.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_whole_placeholder_keeps_the_value_type() {
        let out = render(&json!({"id": "{{record.id}}"}), &json!({"record": {"id": 301}}));
        assert_eq!(out, json!({"id": 301}));
    }

    #[test]
    fn placeholders_inside_text_are_interpolated() {
        let out = render(&json!("{{a}} {{b}}!"), &json!({"a": "John", "b": "Doe"}));
        assert_eq!(out, json!("John Doe!"));
    }

    #[test]
    fn the_fallback_operator_takes_the_first_value_that_is_not_null() {
        let ctx = json!({"r": {"users": [{"email": "u@x.io"}]}});
        assert_eq!(render(&json!("{{r.details.name ?? r.users.0.email}}"), &ctx), json!("u@x.io"));
    }

    #[test]
    fn map_renders_once_per_item_with_item_and_index_bound() {
        let t = json!({"$map": "xs", "to": {"n": "{{item.n}}", "i": "{{index}}"}});
        let out = render(&t, &json!({"xs": [{"n": "a"}, {"n": "b"}]}));
        assert_eq!(out, json!([{"n": "a", "i": 0}, {"n": "b", "i": 1}]));
    }

    #[test]
    fn an_optional_key_is_dropped_when_empty_and_kept_otherwise() {
        let t = json!({"f?": "{{failed}}", "g": 1});
        assert_eq!(render(&t, &json!({"failed": []})), json!({"g": 1}));
        assert_eq!(render(&t, &json!({"failed": [1]})), json!({"f": [1], "g": 1}));
    }

    #[test]
    fn text_rendering_writes_numbers_out() {
        assert_eq!(render_text("{{n}}s", &json!({"n": 30})), "30s");
        assert_eq!(render_text("{{n}}", &json!({"n": 30})), "30");
    }

    #[test]
    fn keys_are_rendered_and_missing_values_become_null() {
        let out = render(&json!({"{{k}}": "{{missing}}"}), &json!({"k": "email"}));
        assert_eq!(out, json!({"email": null}));
    }
}
