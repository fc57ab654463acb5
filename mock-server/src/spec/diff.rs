//! What changed between two revisions of a vendor's contract, as a client author needs it:
//! breaking changes (a client written for the old revision fails against the new one) first,
//! then compatible ones.

use std::collections::BTreeSet;

use serde_json::Value;

use super::model::{CredentialPart, Operation, Scope, Vendor};

/// What changed from one revision of a vendor's contract to another (`Specs::diff`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diff {
    pub vendor: String,
    pub from: String,
    pub to: String,
    /// Breaking changes first.
    pub changes: Vec<Change>,
}

impl Diff {
    /// Whether a client written for `from` can fail against `to`.
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(|c| c.breaking)
    }
}

/// One difference between two revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// A client written for the old revision can fail against the new one.
    pub breaking: bool,
    /// Where: `POST /members/bulk-client request`, `… auth`, `… answer 200`.
    pub place: String,
    pub what: String,
}

/// Compares two revisions of a vendor: operations, auth, schemas, statuses and behaviour.
pub(crate) fn diff(old: &Vendor, new: &Vendor) -> Diff {
    let mut changes = Vec::new();
    let name = |op: &Operation| format!("{} {}", op.method, op.path);
    let find = |v: &'_ Vendor, n: &str| v.operations.iter().find(|o| name(o) == n).is_some();
    for op in old.operations.iter().filter(|o| !find(new, &name(o))) {
        changes.push(Change { breaking: true, place: name(op), what: "operation removed".into() });
    }
    for op in new.operations.iter().filter(|o| !find(old, &name(o))) {
        changes.push(Change { breaking: false, place: name(op), what: "operation added".into() });
    }
    for a in &old.operations {
        let Some(b) = new.operations.iter().find(|o| name(o) == name(a)) else { continue };
        operation_changes(&name(a), (old, a), (new, b), &mut changes);
    }
    changes.sort_by_key(|c| !c.breaking);
    Diff { vendor: old.name.clone(), from: old.revision.clone(), to: new.revision.clone(), changes }
}

fn operation_changes(
    name: &str,
    (va, a): (&Vendor, &Operation),
    (vb, b): (&Vendor, &Operation),
    changes: &mut Vec<Change>,
) {
    auth_changes(name, va.parts_of(a).collect(), vb.parts_of(b).collect(), changes);
    if let (Some(sa), Some(sb)) = (&a.request_schema, &b.request_schema) {
        schema_changes(&format!("{name} request"), "", sa, sb, Direction::Request, changes);
    }
    let (sa, sb) = (a.success.status, b.success.status);
    if sa != sb {
        changes.push(Change {
            breaking: true,
            place: format!("{name} answer"),
            what: format!("success status changed from {sa} to {sb}"),
        });
    }
    let responses = |v: &'_ Vendor, op: &Operation| {
        let path = op.path.replace('~', "~0").replace('/', "~1");
        v.doc.pointer(&format!("/paths/{path}/{}/responses", op.method.as_str().to_ascii_lowercase())).cloned()
    };
    let (responses_a, responses_b) = (responses(va, a).unwrap_or_default(), responses(vb, b).unwrap_or_default());
    let answer = |r: &Value, s: u16| r.pointer(&format!("/{s}/content/application~1json/schema")).cloned();
    if let (Some(ra), Some(rb)) = (answer(&responses_a, sa), answer(&responses_b, sb)) {
        schema_changes(&format!("{name} answer {sb}"), "", &ra, &rb, Direction::Response, changes);
    }
    let codes =
        |r: &Value| -> BTreeSet<String> { r.as_object().map(|r| r.keys().cloned().collect()).unwrap_or_default() };
    let (ca, cb) = (codes(&responses_a), codes(&responses_b));
    for gone in ca.difference(&cb) {
        changes.push(Change {
            breaking: false,
            place: format!("{name} answer"),
            what: format!("status {gone} no longer documented"),
        });
    }
    for added in cb.difference(&ca) {
        // A new success status breaks clients; a new error status is one more failure to handle.
        let success = added.starts_with('2');
        let what = if success { format!("new success status {added}") } else { format!("new error status {added}") };
        changes.push(Change { breaking: success, place: format!("{name} answer"), what });
    }
    behaviour_changes(name, a, b, changes);
}

impl std::fmt::Display for Diff {
    /// The changes for a terminal, breaking first.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}: {} → {}", self.vendor, self.from, self.to)?;
        let breaking: Vec<_> = self.changes.iter().filter(|c| c.breaking).collect();
        let compatible: Vec<_> = self.changes.iter().filter(|c| !c.breaking).collect();
        for (title, list) in [("BREAKING", breaking), ("compatible", compatible)] {
            writeln!(f, "\n{title} ({})", list.len())?;
            for c in list {
                writeln!(f, "  - {}: {}", c.place, c.what)?;
            }
        }
        Ok(())
    }
}

fn auth_changes(name: &str, pa: Vec<&CredentialPart>, pb: Vec<&CredentialPart>, changes: &mut Vec<Change>) {
    let place = format!("{name} auth");
    let same = |p: &CredentialPart, q: &CredentialPart| p.name == q.name && p.location == q.location && p.key == q.key;
    let word = |p: &CredentialPart| {
        serde_json::to_value(p.location).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    };
    for p in pa.iter().filter(|p| !pb.iter().any(|q| same(p, q))) {
        let what = format!("{} `{}` ({}) removed", word(p), p.key, p.name);
        changes.push(Change { breaking: true, place: place.clone(), what });
    }
    for p in pb.iter().filter(|p| !pa.iter().any(|q| same(p, q))) {
        let what = format!("{} `{}` ({}) now required", word(p), p.key, p.name);
        changes.push(Change { breaking: true, place: place.clone(), what });
    }
    for p in &pa {
        if let Some(q) = pb.iter().find(|q| q.name == p.name && q.key == p.key)
            && p.case_sensitive != q.case_sensitive
        {
            let key = &p.key;
            let what = if q.case_sensitive {
                format!("`{key}` is now case-exact")
            } else {
                format!("`{key}` is no longer case-exact")
            };
            changes.push(Change { breaking: q.case_sensitive, place: place.clone(), what });
        }
    }
}

fn behaviour_changes(name: &str, a: &Operation, b: &Operation, changes: &mut Vec<Change>) {
    let place = format!("{name} behaviour");
    for rule in &a.unique {
        match b.unique.iter().find(|r| r.path == rule.path) {
            None => changes.push(Change {
                breaking: false,
                place: place.clone(),
                what: format!("`{}` is no longer unique", rule.path),
            }),
            Some(o) if o.scope != rule.scope => changes.push(Change {
                breaking: false,
                place: place.clone(),
                what: format!(
                    "`{}` unique per {} instead of per {}",
                    rule.path,
                    scope_word(&o.scope),
                    scope_word(&rule.scope)
                ),
            }),
            Some(_) => {}
        }
    }
    if let (None, Some(update)) = (&a.update_by, &b.update_by) {
        let what = format!("a body with `{}` updates the existing record instead of creating one", update.field);
        changes.push(Change { breaking: false, place: place.clone(), what });
    }
    if !a.strip_unknown && b.strip_unknown {
        changes.push(Change { breaking: false, place, what: "unknown fields are removed instead of stored".into() });
    }
}

/// `credential:company_id` → `company_id`; `platform` stays.
fn scope_word(scope: &Scope) -> &str {
    scope.credential().unwrap_or("platform")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// What the client sends: tightening breaks.
    Request,
    /// What the client reads: removing or retyping breaks.
    Response,
}

fn types(s: &Value) -> BTreeSet<String> {
    match s.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
        _ => BTreeSet::new(),
    }
}

fn allowed(s: &Value) -> Option<BTreeSet<String>> {
    if let Some(c) = s.get("const") {
        return Some([c.to_string()].into());
    }
    s.get("enum").and_then(Value::as_array).map(|e| e.iter().map(Value::to_string).collect())
}

/// What changed in one schema between two revisions, breaking or not. Long because it is a list
/// of independent rules (type, enum, required, bounds, properties), each a few lines; split up,
/// each piece would need the same six arguments.
fn schema_changes(place: &str, at: &str, a: &Value, b: &Value, dir: Direction, changes: &mut Vec<Change>) {
    let field = |name: &str| if at.is_empty() { name.to_owned() } else { format!("{at}.{name}") };
    let label = if at.is_empty() { "body".to_owned() } else { format!("`{at}`") };
    let mut push = |breaking: bool, what: String| changes.push(Change { breaking, place: place.to_owned(), what });
    let (ta, tb) = (types(a), types(b));
    if !ta.is_empty() && !tb.is_empty() && ta != tb {
        push(true, format!("{label} type changed from {ta:?} to {tb:?}"));
        return;
    }
    match (allowed(a), allowed(b)) {
        (None, Some(vb)) if dir == Direction::Request => {
            push(true, format!("{label} now restricted to {}", vb.into_iter().collect::<Vec<_>>().join(", ")))
        }
        (Some(va), Some(vb)) if va != vb => {
            let removed: Vec<_> = va.difference(&vb).cloned().collect();
            let added: Vec<_> = vb.difference(&va).cloned().collect();
            if !removed.is_empty() {
                push(dir == Direction::Request, format!("{label} no longer accepts {}", removed.join(", ")));
            }
            if !added.is_empty() {
                push(dir == Direction::Response, format!("{label} may now be {}", added.join(", ")));
            }
        }
        _ => {}
    }
    for key in ["maxItems", "minItems", "minLength", "maxLength", "minimum", "maximum"] {
        let (ka, kb) = (a.get(key), b.get(key));
        if ka != kb && kb.is_some() {
            let tighter = match (key, ka.and_then(Value::as_f64), kb.and_then(Value::as_f64)) {
                (_, None, Some(_)) => true,
                ("maxItems" | "maxLength" | "maximum", Some(x), Some(y)) => y < x,
                (_, Some(x), Some(y)) => y > x,
                _ => false,
            };
            let what = format!(
                "{label} {key} {} → {}",
                ka.map_or("none".to_owned(), Value::to_string),
                kb.map_or("none".to_owned(), Value::to_string)
            );
            push(tighter && dir == Direction::Request, what);
        }
    }
    if let (Some(ia), Some(ib)) = (a.get("items"), b.get("items")) {
        schema_changes(place, &format!("{at}[]"), ia, ib, dir, changes);
    }
    let props = |s: &Value| s.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let required = |s: &Value| -> BTreeSet<String> {
        s.get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let (pa, pb, ra, rb) = (props(a), props(b), required(a), required(b));
    for name in rb.difference(&ra) {
        let what = match dir {
            Direction::Request => format!("new required field `{}`", field(name)),
            Direction::Response if !pa.contains_key(name) => format!("new field `{}` in the answer", field(name)),
            Direction::Response => format!("`{}` now always present", field(name)),
        };
        changes.push(Change { breaking: dir == Direction::Request, place: place.to_owned(), what });
    }
    // A field that is gone altogether is reported once, below.
    for name in ra.difference(&rb).filter(|n| pb.contains_key(*n)) {
        let what = match dir {
            Direction::Request => format!("`{}` no longer required", field(name)),
            Direction::Response => format!("`{}` may now be absent", field(name)),
        };
        changes.push(Change { breaking: dir == Direction::Response, place: place.to_owned(), what });
    }
    for (name, sa) in &pa {
        match pb.get(name) {
            Some(sb) => schema_changes(place, &field(name), sa, sb, dir, changes),
            None => {
                let what = match dir {
                    Direction::Request => format!("field `{}` removed from the contract", field(name)),
                    Direction::Response => format!("`{}` removed from the answer", field(name)),
                };
                let closed = b.get("additionalProperties") == Some(&Value::Bool(false));
                let breaking = dir == Direction::Response || closed;
                changes.push(Change { breaking, place: place.to_owned(), what });
            }
        }
    }
    for name in pb.keys().filter(|n| !pa.contains_key(*n) && !rb.contains(*n)) {
        let what = match dir {
            Direction::Request => format!("new optional field `{}`", field(name)),
            Direction::Response => format!("new field `{}` in the answer", field(name)),
        };
        changes.push(Change { breaking: false, place: place.to_owned(), what });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A one-operation vendor (as a loaded spec) with this request schema, answer schema and
    /// credential parts.
    fn doc(schema: Value, answer: Value, auth: Value) -> std::sync::Arc<Vendor> {
        let auth = if auth.as_array().is_some_and(Vec::is_empty) {
            json!([{"name": "k", "in": "query", "key": "k"}])
        } else {
            auth
        };
        let template = json!({"status": 400, "body": {}, "schema": "#/info"});
        let errors: serde_json::Map<String, Value> = [
            "unauthorized",
            "malformed",
            "invalid",
            "not_found",
            "method_not_allowed",
            "too_large",
            "timeout",
            "server_error",
            "rate_limited",
        ]
        .into_iter()
        .map(|n| (n.to_owned(), template.clone()))
        .collect();
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "x-mock": {"vendor": "v", "title": "V", "auth": {"credentials": auth}, "errors": errors, "fidelity": []},
            "paths": {"/c": {"post": {
                "x-mock": {"action": "create", "success": {"status": 200, "body": {}}},
                "requestBody": {"content": {"application/json": {"schema": schema}}},
                "responses": {"200": {"content": {"application/json": {"schema": answer}}}}
            }}}
        });
        let specs = crate::Specs::from_sources([("v.yaml".to_owned(), doc.to_string())]).expect("the test spec loads");
        std::sync::Arc::clone(&specs.vendors()[0])
    }

    #[test]
    fn a_new_required_field_is_breaking_and_a_new_optional_one_is_not() {
        let key = json!([{"name": "k", "in": "header", "key": "x-api-key"}]);
        let a = doc(
            json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}),
            json!({}),
            key.clone(),
        );
        let b = doc(
            json!({"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}}}),
            json!({}),
            key,
        );
        let changes = diff(&a, &b).changes;
        assert!(changes.iter().any(|c| c.breaking && c.what == "new required field `b`"), "{changes:?}");
        assert!(changes.iter().any(|c| !c.breaking && c.what == "new optional field `c`"), "{changes:?}");
        assert!(changes[0].breaking, "breaking changes come first");
    }

    #[test]
    fn a_removed_header_and_a_removed_answer_field_are_breaking() {
        let two = json!([{"name": "k", "in": "header", "key": "x-api-key"}, {"name": "c", "in": "header", "key": "companyId"}]);
        let one = json!([{"name": "k", "in": "header", "key": "x-api-key"}]);
        let answer_a = json!({"type": "object", "properties": {"createdMembers": {"type": "array"}}});
        let answer_b = json!({"type": "object", "properties": {"data": {"type": "object"}}});
        let changes = diff(&doc(json!({}), answer_a, two), &doc(json!({}), answer_b, one)).changes;
        assert!(changes.iter().any(|c| c.breaking && c.what == "header `companyId` (c) removed"), "{changes:?}");
        assert!(
            changes.iter().any(|c| c.breaking && c.what == "`createdMembers` removed from the answer"),
            "{changes:?}"
        );
        assert!(changes.iter().any(|c| !c.breaking && c.what == "new field `data` in the answer"), "{changes:?}");
    }

    #[test]
    fn identical_documents_have_no_changes() {
        let d = doc(json!({"type": "object"}), json!({"type": "object"}), json!([]));
        assert!(diff(&d, &d).changes.is_empty());
    }

    #[test]
    fn a_tighter_limit_on_the_request_is_breaking() {
        let a = doc(json!({"type": "array", "minItems": 1}), json!({}), json!([]));
        let b = doc(json!({"type": "array", "minItems": 1, "maxItems": 200}), json!({}), json!([]));
        let changes = diff(&a, &b).changes;
        assert_eq!(
            changes,
            vec![Change { breaking: true, place: "POST /c request".into(), what: "body maxItems none → 200".into() }]
        );
    }
}
