//! Answer templates: JSON with `{{…}}` placeholders, rendered against a context object.
//!
//! - A string that is exactly one placeholder (`"{{record.id}}"`) becomes the value itself, type
//!   and all (a number stays a number, a missing value becomes `null`).
//! - Placeholders inside a longer string are interpolated as text (`"{{a}} {{b}}"`).
//! - An expression is a dotted path (`record.client_users.0.email`); `a ?? b` takes the first
//!   that is not null; an alternative may also be quoted text or an integer (`status ?? 500`).
//! - `{"$map": "path", "to": T}` renders `T` once per element of the array at `path`, with `item`
//!   and `index` bound.
//! - Object keys are rendered too; a key ending in `?` is dropped when its value is null or empty.

use serde_json::{Map, Value};

/// What placeholders can see: the context object, plus `item`/`index` inside a `$map`.
#[derive(Debug, Clone, Copy)]
struct Scope<'a> {
    root: &'a Value,
    item: Option<(&'a Value, usize)>,
    /// Values already written as JSON text, by top-level name: a placeholder naming one copies
    /// the text (issue 13: the 12,000 failures of a bulk create, each rendered from its own
    /// error template, are not parsed back into a tree only to be written out again).
    raw: &'a [(&'a str, &'a [u8])],
}

/// Renders `template` against `context`.
pub(crate) fn render(template: &Value, context: &Value) -> Value {
    render_in(template, Scope { root: context, item: None, raw: &[] })
}

fn render_in(template: &Value, scope: Scope<'_>) -> Value {
    match template {
        Value::String(s) => render_string(s, scope),
        Value::Array(items) => Value::Array(items.iter().map(|t| render_in(t, scope)).collect()),
        Value::Object(map) => {
            if let (Some(Value::String(path)), Some(to)) = (map.get("$map"), map.get("to")) {
                let items = match Expr::new(path).eval(scope).into_value() {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                };
                return Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| render_in(to, Scope { item: Some((item, i)), ..scope }))
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
    interpolate(template, Scope { root: context, item: None, raw: &[] })
}

fn render_string(s: &str, scope: Scope<'_>) -> Value {
    match whole_placeholder(s) {
        Some(expr) => Expr::new(expr).eval(scope).into_value(),
        None => Value::String(interpolate(s, scope)),
    }
}

/// The expression of a string that is exactly one placeholder (`"{{record.id}}"`), if it is one.
fn whole_placeholder(s: &str) -> Option<&str> {
    s.trim().strip_prefix("{{").and_then(|r| r.strip_suffix("}}")).filter(|expr| !expr.contains("{{"))
}

fn interpolate(s: &str, scope: Scope<'_>) -> String {
    let mut out = String::with_capacity(s.len());
    write_text(&pieces(s), scope, &mut out);
    out
}

/// Appends text pieces with their placeholders filled in: nothing for a missing value, strings
/// as they are, anything else as JSON.
fn write_text(pieces: &[Piece], scope: Scope<'_>, out: &mut String) {
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Expr(expr) => match expr.eval(scope) {
                Found::Ref(Value::String(s)) => out.push_str(s),
                Found::Ref(v) => out.push_str(&v.to_string()),
                Found::Raw(text) => out.push_str(&String::from_utf8_lossy(text)),
                Found::Index(i) => out.push_str(itoa::Buffer::new().format(i)),
                Found::Null => {}
            },
        }
    }
}

/// A template compiled once (at first use) for the hot path: it writes the answer's JSON text
/// straight into a buffer, without building a `Value` tree or cloning what placeholders find.
/// Subtrees without placeholders are serialized ahead of time. It renders exactly what
/// [`render`] followed by `serde_json::to_vec` would (a test holds the two to that).
#[derive(Debug, Clone)]
pub(crate) struct Compiled(Node);

#[derive(Debug, Clone)]
enum Node {
    /// JSON text without placeholders, serialized at compile time.
    Raw(Box<str>),
    /// A string that is exactly one placeholder: the value, type and all.
    Whole(Expr),
    /// A string with placeholders inside text.
    Text(Vec<Piece>),
    Array(Vec<Node>),
    /// An object whose keys are plain text and stay distinct once `?` is stripped.
    Object(Vec<Field>),
    /// `{"$map": path, "to": T}`.
    Map {
        path: Expr,
        to: Box<Node>,
    },
    /// Anything else (keys with placeholders, keys that collide once `?` is stripped): rendered
    /// through a `Value`, as [`render`] does.
    Dynamic(Value),
}

#[derive(Debug, Clone)]
struct Field {
    /// The key as a JSON string (quotes and escapes included), followed by `:`.
    key: Box<str>,
    /// A `?` key: dropped when its value is null or empty.
    optional: bool,
    value: Node,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(Box<str>),
    Expr(Expr),
}

/// `a.b.0 ?? c ?? "text" ?? 500`: alternatives, each a dotted path, a quoted literal text or an
/// integer.
#[derive(Debug, Clone)]
struct Expr(Vec<Alternative>);

#[derive(Debug, Clone)]
enum Alternative {
    Path(Vec<Box<str>>),
    /// `"text"` or `'text'` (issue 13: a template's own default, e.g. the vendor's message for a
    /// `server_error` that the mock's limits fill with `error.detail`).
    Literal(Value),
}

/// What a placeholder found: a value in the context, an `index`, JSON text, or nothing.
enum Found<'a> {
    Ref(&'a Value),
    Raw(&'a [u8]),
    Index(usize),
    Null,
}

impl Compiled {
    pub(crate) fn new(template: &Value) -> Self {
        Self(compile(template))
    }

    /// Appends the rendered JSON text to `out`.
    pub(crate) fn render_into(&self, context: &Value, out: &mut Vec<u8>) {
        self.render_with_raw(context, &[], out);
    }

    /// Appends the rendered JSON text to `out`, a placeholder naming one of `raw` (a whole
    /// top-level name, e.g. `{{failed}}`) copying its JSON text as it is.
    pub(crate) fn render_with_raw(&self, context: &Value, raw: &[(&str, &[u8])], out: &mut Vec<u8>) {
        write_node(&self.0, Scope { root: context, item: None, raw }, out);
    }
}

fn has_placeholder(template: &Value) -> bool {
    match template {
        Value::String(s) => s.contains("{{"),
        Value::Array(items) => items.iter().any(has_placeholder),
        Value::Object(map) => {
            map.contains_key("$map")
                || map.iter().any(|(k, v)| k.contains("{{") || k.ends_with('?') || has_placeholder(v))
        }
        _ => false,
    }
}

fn compile(template: &Value) -> Node {
    if !has_placeholder(template) {
        return Node::Raw(serde_json::to_string(template).unwrap_or_default().into());
    }
    match template {
        Value::String(s) => match whole_placeholder(s) {
            Some(expr) => Node::Whole(Expr::new(expr)),
            None => Node::Text(pieces(s)),
        },
        Value::Array(items) => Node::Array(items.iter().map(compile).collect()),
        Value::Object(map) => {
            if let (Some(Value::String(path)), Some(to)) = (map.get("$map"), map.get("to")) {
                return Node::Map { path: Expr::new(path), to: Box::new(compile(to)) };
            }
            let mut seen = std::collections::HashSet::new();
            let plain = map.keys().all(|k| !k.contains("{{") && seen.insert(k.strip_suffix('?').unwrap_or(k)));
            if !plain {
                return Node::Dynamic(template.clone());
            }
            let fields = map
                .iter()
                .map(|(key, value)| {
                    let (name, optional) = key.strip_suffix('?').map_or((key.as_str(), false), |k| (k, true));
                    let key = format!("{}:", Value::from(name));
                    Field { key: key.into(), optional, value: compile(value) }
                })
                .collect();
            Node::Object(fields)
        }
        other => Node::Raw(other.to_string().into()),
    }
}

/// The pieces of a text: literal text and `{{…}}` placeholders (an unclosed `{{` is text).
fn pieces(s: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        if start > 0 {
            out.push(Piece::Text(rest[..start].into()));
        }
        out.push(Piece::Expr(Expr::new(&rest[start + 2..start + len])));
        rest = &rest[start + len + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.into()));
    }
    out
}

impl Expr {
    fn new(expr: &str) -> Self {
        Self(
            expr.split("??")
                .map(str::trim)
                .map(|alt| {
                    let quoted = alt.len() >= 2
                        && ((alt.starts_with('"') && alt.ends_with('"'))
                            || (alt.starts_with('\'') && alt.ends_with('\'')));
                    let number = alt.parse::<i64>().ok().map(Value::from);
                    match (quoted, number) {
                        (true, _) => Alternative::Literal(Value::from(&alt[1..alt.len() - 1])),
                        (false, Some(number)) => Alternative::Literal(number),
                        (false, None) => Alternative::Path(alt.split('.').map(Box::from).collect()),
                    }
                })
                .collect(),
        )
    }

    /// The first alternative that is not null.
    fn eval<'a>(&'a self, scope: Scope<'a>) -> Found<'a> {
        self.0
            .iter()
            .map(|alt| match alt {
                Alternative::Path(path) => find(path.iter().map(|s| &**s), scope),
                Alternative::Literal(text) => Found::Ref(text),
            })
            .find(|f| !matches!(f, Found::Null))
            .unwrap_or(Found::Null)
    }
}

impl Found<'_> {
    fn into_value(self) -> Value {
        match self {
            Found::Ref(v) => v.clone(),
            Found::Raw(text) => serde_json::from_slice(text).unwrap_or(Value::Null),
            Found::Index(i) => Value::from(i),
            Found::Null => Value::Null,
        }
    }
}

/// What a dotted path names: `item`/`index` inside a `$map`, else a path into the context.
fn find<'a, 's>(mut path: impl Iterator<Item = &'s str>, scope: Scope<'a>) -> Found<'a> {
    let first = path.next().unwrap_or_default();
    if let Some((_, text)) = scope.raw.iter().find(|(name, _)| *name == first) {
        return Found::Raw(text);
    }
    let mut current = match (first, scope.item) {
        ("item", Some((item, _))) => item,
        ("index", Some((_, index))) => return Found::Index(index),
        _ => match scope.root.get(first) {
            Some(v) => v,
            None => return Found::Null,
        },
    };
    for segment in path {
        let next = match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None => return Found::Null,
        }
    }
    if current.is_null() { Found::Null } else { Found::Ref(current) }
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(out, value);
}

fn write_node(node: &Node, scope: Scope<'_>, out: &mut Vec<u8>) {
    match node {
        Node::Raw(text) => out.extend_from_slice(text.as_bytes()),
        Node::Whole(expr) => match expr.eval(scope) {
            Found::Ref(v) => write_value(v, out),
            Found::Raw(text) => out.extend_from_slice(text),
            Found::Index(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
            Found::Null => out.extend_from_slice(b"null"),
        },
        Node::Text(pieces) => {
            let mut text = String::new();
            write_text(pieces, scope, &mut text);
            write_value(&Value::String(text), out);
        }
        Node::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_node(item, scope, out);
            }
            out.push(b']');
        }
        Node::Object(fields) => {
            out.push(b'{');
            let mut first = true;
            for field in fields {
                let before = out.len();
                if !first {
                    out.push(b',');
                }
                out.extend_from_slice(field.key.as_bytes());
                let value_at = out.len();
                write_node(&field.value, scope, out);
                if field.optional && matches!(&out[value_at..], b"null" | b"[]" | b"{}") {
                    out.truncate(before);
                } else {
                    first = false;
                }
            }
            out.push(b'}');
        }
        Node::Map { path, to } => {
            out.push(b'[');
            if let Found::Ref(Value::Array(items)) = path.eval(scope) {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_node(to, Scope { item: Some((item, i)), ..scope }, out);
                }
            }
            out.push(b']');
        }
        Node::Dynamic(template) => write_value(&render_in(template, scope), out),
    }
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

    /// The compiled renderer's text, parsed (and checked to equal `render`'s serialization).
    fn compiled(template: &Value, context: &Value) -> Value {
        let mut out = Vec::new();
        Compiled::new(template).render_into(context, &mut out);
        let expected = serde_json::to_vec(&render(template, context)).expect("serializes");
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&expected), "template {template}");
        serde_json::from_slice(&out).expect("compiled output is JSON")
    }

    #[test]
    fn the_compiled_renderer_writes_what_the_value_renderer_serializes() {
        let ctx = json!({
            "record": {"id": 7, "name": "A \"quoted\" name", "tags": ["x", "y"], "none": null, "nested": {"k": [1, {"z": true}]}},
            "failed": [], "created": [{"email": "a@b.c"}, {"email": "d@e.f"}], "n": 1.5
        });
        let cases = [
            json!({"ok": true, "id": "{{record.id}}", "msg": "Client {{record.name}} ({{record.id}}) {{record.tags}}"}),
            json!({"f?": "{{failed}}", "g?": "{{record.tags}}", "h?": "{{missing}}", "i?": {}, "j?": [], "k?": 0, "l": null}),
            json!({"list": {"$map": "created", "to": {"e": "{{item.email}}", "i": "{{index}}", "t": "#{{index}}: {{item.email}}"}}}),
            json!({"{{record.name}}": 1, "static": "{{record.nested.k.1.z}}"}),
            json!({"a?": "{{missing}}", "a": 2}),
            json!([
                "{{n}}",
                " {{ record.none ?? record.id }} ",
                "{{record.none ?? missing}}",
                "{{unclosed",
                "plain",
                3,
                [{}]
            ]),
            json!({"$map": 5, "to": "{{index}}"}),
            json!({"only?": {"inner?": "{{missing}}"}, "after": 1}),
            json!({"first?": "{{missing}}", "second": "{{record.id}}"}),
            json!("{{record.nested}}"),
        ];
        for template in &cases {
            compiled(template, &ctx);
        }
        assert_eq!(compiled(&cases[1], &ctx), json!({"g": ["x", "y"], "k": 0, "l": null}));
        assert_eq!(compiled(&cases[7], &ctx), json!({"after": 1}));
    }

    #[test]
    fn keys_are_rendered_and_missing_values_become_null() {
        let out = render(&json!({"{{k}}": "{{missing}}"}), &json!({"k": "email"}));
        assert_eq!(out, json!({"email": null}));
    }

    #[test]
    fn a_quoted_alternative_is_literal_text_used_when_the_paths_are_null() {
        assert_eq!(render(&json!("{{status ?? 500}}"), &json!({})), json!(500), "an integer alternative");
        assert_eq!(render(&json!("{{status ?? 500}}"), &json!({"status": 503})), json!(503));
        let template = json!({"m": "{{error.detail ?? \"Internal server error\"}}", "t": "x {{a ?? 'b c'}}"});
        let plain = json!({"error": {}});
        assert_eq!(compiled(&template, &plain), json!({"m": "Internal server error", "t": "x b c"}));
        let filled = json!({"error": {"detail": "state full"}, "a": 1});
        assert_eq!(compiled(&template, &filled), json!({"m": "state full", "t": "x 1"}));
    }
}
