//! What changed between two revisions of a vendor's contract, as a client author needs it:
//! breaking changes (a client written for the old revision fails against the new one) first,
//! then compatible ones.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

/// One difference between two revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) breaking: bool,
    /// Where: `POST /members/bulk-client request`, `… auth`, `… answer 200`.
    pub(crate) place: String,
    pub(crate) what: String,
}

/// Compares two resolved OpenAPI documents with `x-mock` extensions.
pub(crate) fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    let ops = |doc: &Value| -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                if op.get("x-mock").is_some() {
                    out.push((format!("{} {path}", method.to_uppercase()), op.clone()));
                }
            }
        }
        out
    };
    let (old_ops, new_ops) = (ops(old), ops(new));
    for (name, _) in old_ops.iter().filter(|(n, _)| !new_ops.iter().any(|(m, _)| m == n)) {
        changes.push(Change { breaking: true, place: name.clone(), what: "operation removed".into() });
    }
    for (name, _) in new_ops.iter().filter(|(n, _)| !old_ops.iter().any(|(m, _)| m == n)) {
        changes.push(Change { breaking: false, place: name.clone(), what: "operation added".into() });
    }
    for (name, a) in &old_ops {
        let Some((_, b)) = new_ops.iter().find(|(n, _)| n == name) else { continue };
        auth_changes(name, old, a, new, b, &mut changes);
        let schema = |op: &Value| op.pointer("/requestBody/content/application~1json/schema").cloned();
        if let (Some(sa), Some(sb)) = (schema(a), schema(b)) {
            schema_changes(&format!("{name} request"), "", &sa, &sb, Direction::Request, &mut changes);
        }
        let status = |op: &Value| op.pointer("/x-mock/success/status").and_then(Value::as_u64).unwrap_or(200);
        let (sa, sb) = (status(a), status(b));
        if sa != sb {
            changes.push(Change {
                breaking: true,
                place: format!("{name} answer"),
                what: format!("success status changed from {sa} to {sb}"),
            });
        }
        let answer =
            |op: &Value, s: u64| op.pointer(&format!("/responses/{s}/content/application~1json/schema")).cloned();
        if let (Some(ra), Some(rb)) = (answer(a, sa), answer(b, sb)) {
            schema_changes(&format!("{name} answer {sb}"), "", &ra, &rb, Direction::Response, &mut changes);
        }
        let codes = |op: &Value| -> BTreeSet<String> {
            op.get("responses").and_then(Value::as_object).map(|r| r.keys().cloned().collect()).unwrap_or_default()
        };
        let (ca, cb) = (codes(a), codes(b));
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
            let what =
                if success { format!("new success status {added}") } else { format!("new error status {added}") };
            changes.push(Change { breaking: success, place: format!("{name} answer"), what });
        }
        behaviour_changes(name, a, b, &mut changes);
    }
    changes.sort_by_key(|c| !c.breaking);
    changes
}

/// Renders the changes for a terminal, breaking first.
pub(crate) fn render(vendor: &str, old: &str, new: &str, changes: &[Change]) -> String {
    let mut out = format!("{vendor}: {old} → {new}\n");
    let breaking: Vec<_> = changes.iter().filter(|c| c.breaking).collect();
    let compatible: Vec<_> = changes.iter().filter(|c| !c.breaking).collect();
    for (title, list) in [("BREAKING", breaking), ("compatible", compatible)] {
        let _ = writeln!(out, "\n{title} ({})", list.len());
        for c in list {
            let _ = writeln!(out, "  - {}: {}", c.place, c.what);
        }
    }
    out
}

fn auth_changes(name: &str, old: &Value, a: &Value, new: &Value, b: &Value, changes: &mut Vec<Change>) {
    let parts = |doc: &Value, op: &Value| -> Vec<(String, String, String, bool)> {
        let all = doc.pointer("/x-mock/auth/credentials").and_then(Value::as_array).cloned().unwrap_or_default();
        let only: Option<Vec<String>> = op
            .pointer("/x-mock/auth")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
        all.iter()
            .filter(|p| only.as_ref().is_none_or(|o| o.iter().any(|n| Some(n.as_str()) == p["name"].as_str())))
            .map(|p| {
                let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
                (s("name"), s("in"), s("key"), p["case_sensitive"].as_bool().unwrap_or(false))
            })
            .collect()
    };
    let (pa, pb) = (parts(old, a), parts(new, b));
    let place = format!("{name} auth");
    for (n, loc, key, _) in &pa {
        if !pb.iter().any(|(m, l, k, _)| m == n && l == loc && k == key) {
            let what = format!("{loc} `{key}` ({n}) removed");
            changes.push(Change { breaking: true, place: place.clone(), what });
        }
    }
    for (n, loc, key, _) in &pb {
        if !pa.iter().any(|(m, l, k, _)| m == n && l == loc && k == key) {
            changes.push(Change {
                breaking: true,
                place: place.clone(),
                what: format!("{loc} `{key}` ({n}) now required"),
            });
        }
    }
    for (n, _, key, case_a) in &pa {
        if let Some((_, _, _, case_b)) = pb.iter().find(|(m, _, k, _)| m == n && k == key)
            && case_a != case_b
        {
            let what =
                if *case_b { format!("`{key}` is now case-exact") } else { format!("`{key}` is no longer case-exact") };
            changes.push(Change { breaking: *case_b, place: place.clone(), what });
        }
    }
}

fn behaviour_changes(name: &str, a: &Value, b: &Value, changes: &mut Vec<Change>) {
    let get = |op: &Value, p: &str| op.pointer(&format!("/x-mock/{p}")).cloned().unwrap_or(Value::Null);
    let place = format!("{name} behaviour");
    let (ua, ub) = (get(a, "unique"), get(b, "unique"));
    for rule in ua.as_array().into_iter().flatten() {
        let other = ub.as_array().into_iter().flatten().find(|r| r["path"] == rule["path"]);
        match other {
            None => changes.push(Change {
                breaking: false,
                place: place.clone(),
                what: format!("`{}` is no longer unique", rule["path"].as_str().unwrap_or_default()),
            }),
            Some(o) if o["scope"] != rule["scope"] => changes.push(Change {
                breaking: false,
                place: place.clone(),
                what: format!(
                    "`{}` unique per {} instead of per {}",
                    rule["path"].as_str().unwrap_or_default(),
                    scope_word(&o["scope"]),
                    scope_word(&rule["scope"])
                ),
            }),
            Some(_) => {}
        }
    }
    if get(a, "update_by").is_null() && !get(b, "update_by").is_null() {
        let key = get(b, "update_by/field");
        let what = format!(
            "a body with `{}` updates the existing record instead of creating one",
            key.as_str().unwrap_or_default()
        );
        changes.push(Change { breaking: false, place: place.clone(), what });
    }
    if get(a, "strip_unknown") != get(b, "strip_unknown") && get(b, "strip_unknown") == Value::Bool(true) {
        changes.push(Change { breaking: false, place, what: "unknown fields are removed instead of stored".into() });
    }
}

/// `credential:company_id` → `company_id`; `platform` stays.
fn scope_word(scope: &Value) -> &str {
    let scope = scope.as_str().unwrap_or_default();
    scope.strip_prefix("credential:").unwrap_or(scope)
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

    fn doc(schema: Value, answer: Value, auth: Value) -> Value {
        json!({
            "x-mock": {"auth": {"credentials": auth}},
            "paths": {"/c": {"post": {
                "x-mock": {"action": "create", "success": {"status": 200}},
                "requestBody": {"content": {"application/json": {"schema": schema}}},
                "responses": {"200": {"content": {"application/json": {"schema": answer}}}}
            }}}
        })
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
        let changes = diff(&a, &b);
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
        let changes = diff(&doc(json!({}), answer_a, two), &doc(json!({}), answer_b, one));
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
        assert!(diff(&d, &d).is_empty());
    }

    #[test]
    fn a_tighter_limit_on_the_request_is_breaking() {
        let a = doc(json!({"type": "array", "minItems": 1}), json!({}), json!([]));
        let b = doc(json!({"type": "array", "minItems": 1, "maxItems": 200}), json!({}), json!([]));
        let changes = diff(&a, &b);
        assert_eq!(
            changes,
            vec![Change { breaking: true, place: "POST /c request".into(), what: "body maxItems none → 200".into() }]
        );
    }
}
