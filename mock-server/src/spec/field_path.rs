//! The spec format's path language: where a value sits in a JSON document.
//!
//! `email`, `data.id`, `client_users[].email` (every element of an array), `[].email` (a bulk
//! body's root array), `createdMembers[0]._id` (one element). A path is parsed once, when the
//! spec loads; walking it and setting through it are the only two operations.

use std::fmt;
use std::ops::ControlFlow;

use serde_json::Value;

/// A parsed path of the spec format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    /// The text as written, for messages and for keys that name the path.
    text: String,
    segments: Vec<Segment>,
}

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// An object's property.
    Key(String),
    /// Every element of an array (`[]`).
    Each,
    /// One element of an array (`[2]`).
    Index(usize),
}

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}` is not a field path: {problem}")]
pub struct FieldPathError {
    path: String,
    problem: &'static str,
}

impl FieldPath {
    /// Parses `a.b`, `a[].b`, `[].b`, `a[0].b`, `x[1][2]`.
    pub fn parse(text: &str) -> Result<Self, FieldPathError> {
        let fail = |problem| FieldPathError { path: text.to_owned(), problem };
        let mut segments = Vec::new();
        if text.is_empty() {
            return Err(fail("it is empty"));
        }
        for (n, part) in text.split('.').enumerate() {
            let (name, mut brackets) = part.split_at(part.find('[').unwrap_or(part.len()));
            if name.contains(']') {
                return Err(fail("a `]` without its `[`"));
            }
            match (name.is_empty(), n, brackets.is_empty()) {
                (false, ..) => segments.push(Segment::Key(name.to_owned())),
                (true, 0, false) => {} // `[].email`: the root itself is the array
                (true, ..) => return Err(fail("an empty property name")),
            }
            while let Some(rest) = brackets.strip_prefix('[') {
                let (inside, after) = rest.split_once(']').ok_or_else(|| fail("a `[` without its `]`"))?;
                segments.push(match inside {
                    "" => Segment::Each,
                    index => Segment::Index(index.parse().map_err(|_| fail("an index that is not a number"))?),
                });
                brackets = after;
            }
            if !brackets.is_empty() {
                return Err(fail("text after a `]`"));
            }
        }
        Ok(Self { text: text.to_owned(), segments })
    }

    /// A path of one property (`email`), built without parsing (any property name).
    pub fn key(key: &str) -> Self {
        Self { text: key.to_owned(), segments: vec![Segment::Key(key.to_owned())] }
    }

    /// A path of one element of a root array (`[2]`).
    pub fn index(index: usize) -> Self {
        Self { text: format!("[{index}]"), segments: vec![Segment::Index(index)] }
    }

    /// This path one property further (`client_users[0]` → `client_users[0].email`).
    pub fn then_key(&self, key: &str) -> Self {
        let mut segments = self.segments.clone();
        segments.push(Segment::Key(key.to_owned()));
        Self { text: format!("{}.{key}", self.text), segments }
    }

    /// This path one array element further (`client_users` → `client_users[0]`).
    pub fn then_index(&self, index: usize) -> Self {
        let mut segments = self.segments.clone();
        segments.push(Segment::Index(index));
        Self { text: format!("{}[{index}]", self.text), segments }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The steps of the path.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The property name when the path is one plain property (`email`).
    pub fn as_key(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [Segment::Key(key)] => Some(key),
            _ => None,
        }
    }

    /// The first value at the path.
    pub fn get<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        if let Some(key) = self.as_key() {
            return value.get(key);
        }
        let mut first = None;
        let _ = walk(&self.segments, value, &mut String::new(), false, &mut |_, v| {
            first = Some(v);
            ControlFlow::Break(())
        });
        first
    }

    /// Every value at the path, each with its concrete path (`client_users[1].email`).
    pub fn values<'a>(&self, value: &'a Value) -> Vec<(String, &'a Value)> {
        self.first_values(value, usize::MAX)
    }

    /// The first `limit` values at the path, in document order, each with its concrete path.
    /// A path is written only for the values returned, and the walk stops at the `limit`-th
    /// (issue 13: the journal keeps the first ids of a client of 25,000 users, not all).
    pub fn first_values<'a>(&self, value: &'a Value, limit: usize) -> Vec<(String, &'a Value)> {
        let mut found = Vec::new();
        if limit > 0 {
            let mut at = String::new();
            let _ = walk(&self.segments, value, &mut at, true, &mut |at, v| {
                found.push((at.to_owned(), v));
                if found.len() < limit { ControlFlow::Continue(()) } else { ControlFlow::Break(()) }
            });
        }
        found
    }

    /// Every value at the path, without their paths (no allocation per value).
    pub fn all<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        let mut found = Vec::new();
        let _ = walk(&self.segments, value, &mut String::new(), false, &mut |_, v| {
            found.push(v);
            ControlFlow::Continue(())
        });
        found
    }

    /// Calls `f` on every value at the path (nothing is created).
    pub fn update(&self, value: &mut Value, f: &mut dyn FnMut(&mut Value)) {
        update_in(&self.segments, value, f);
    }

    /// Sets `make()` at every place the path names, creating the last property
    /// (`client_users[].id`); places whose parents are missing are left alone.
    pub fn set(&self, value: &mut Value, make: &mut dyn FnMut() -> Value) {
        let Some((last, parent)) = self.segments.split_last() else { return };
        update_in(parent, value, &mut |at| match (last, at) {
            (Segment::Key(key), Value::Object(map)) => {
                map.insert(key.clone(), make());
            }
            (Segment::Each, Value::Array(items)) => items.iter_mut().for_each(|item| *item = make()),
            (Segment::Index(i), Value::Array(items)) => {
                if let Some(item) = items.get_mut(*i) {
                    *item = make();
                }
            }
            _ => {}
        });
    }
}

/// Visits the values at `segments` below `value` in document order, until `visit` breaks.
/// With `paths`, `at` holds each value's concrete path when it is visited (extended in place and
/// cut back after, so no path is allocated but those `visit` keeps).
fn walk<'a>(
    segments: &[Segment],
    value: &'a Value,
    at: &mut String,
    paths: bool,
    visit: &mut dyn FnMut(&str, &'a Value) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some((first, rest)) = segments.split_first() else {
        return visit(at, value);
    };
    let mark = at.len();
    let mut step = |at: &mut String, child: &'a Value, name: fmt::Arguments<'_>| {
        if paths {
            // Writing to a String cannot fail.
            let _ = fmt::Write::write_fmt(at, name);
        }
        let flow = walk(rest, child, at, paths, visit);
        at.truncate(mark);
        flow
    };
    match (first, value) {
        (Segment::Key(key), Value::Object(map)) => match map.get(key) {
            Some(child) if mark == 0 => step(at, child, format_args!("{key}")),
            Some(child) => step(at, child, format_args!(".{key}")),
            None => ControlFlow::Continue(()),
        },
        (Segment::Each, Value::Array(items)) => {
            items.iter().enumerate().try_for_each(|(i, item)| step(at, item, format_args!("[{i}]")))
        }
        (Segment::Index(i), Value::Array(items)) => match items.get(*i) {
            Some(item) => step(at, item, format_args!("[{i}]")),
            None => ControlFlow::Continue(()),
        },
        _ => ControlFlow::Continue(()),
    }
}

fn update_in(segments: &[Segment], value: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = segments.split_first() else {
        f(value);
        return;
    };
    match (first, value) {
        (Segment::Key(key), Value::Object(map)) => {
            if let Some(child) = map.get_mut(key) {
                update_in(rest, child, f);
            }
        }
        (Segment::Each, Value::Array(items)) => items.iter_mut().for_each(|item| update_in(rest, item, f)),
        (Segment::Index(i), Value::Array(items)) => {
            if let Some(item) = items.get_mut(*i) {
                update_in(rest, item, f);
            }
        }
        _ => {}
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for FieldPath {
    type Err = FieldPathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for FieldPath {
    type Error = FieldPathError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<FieldPath> for String {
    fn from(p: FieldPath) -> Self {
        p.text
    }
}

impl<'de> serde::Deserialize<'de> for FieldPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> FieldPath {
        FieldPath::parse(text).expect("a valid path")
    }

    #[test]
    fn paths_print_as_written_and_reject_what_is_not_a_path() {
        for text in ["email", "data.id", "client_users[].email", "[].email", "createdMembers[0]._id", "x[1][2]"] {
            assert_eq!(path(text).to_string(), text);
        }
        for bad in ["", "a..b", "a[", "a[x]", "a]b", "a[]b", "a.[].b"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn values_expand_arrays_with_concrete_paths() {
        let v = json!({"users":[{"email":"a"},{"email":"b"},{"name":"c"}],"email":"top"});
        let got: Vec<_> = path("users[].email").values(&v).into_iter().map(|(p, v)| (p, v.clone())).collect();
        assert_eq!(got, vec![("users[0].email".into(), json!("a")), ("users[1].email".into(), json!("b"))]);
        assert_eq!(path("email").values(&v)[0].0, "email");
        assert!(path("nothing.here").values(&v).is_empty());
        assert_eq!(path("users[1].email").get(&v), Some(&json!("b")));
        let bulk = json!([{"email":"x"},{"email":"y"}]);
        let got: Vec<_> = path("[].email").values(&bulk).into_iter().map(|(p, _)| p).collect();
        assert_eq!(got, ["[0].email", "[1].email"]);
    }

    #[test]
    fn first_values_are_the_first_in_document_order_across_nested_arrays() {
        let v = json!({"a":[{"b":[1,2]},{"c":0},{"b":[3]},{"b":[4,5]}]});
        let p = path("a[].b[]");
        let all: Vec<_> = p.values(&v).into_iter().map(|(p, v)| format!("{p}={v}")).collect();
        assert_eq!(all, ["a[0].b[0]=1", "a[0].b[1]=2", "a[2].b[0]=3", "a[3].b[0]=4", "a[3].b[1]=5"]);
        for limit in 0..=6 {
            let first: Vec<_> = p.first_values(&v, limit).into_iter().map(|(p, v)| format!("{p}={v}")).collect();
            assert_eq!(first, all[..limit.min(all.len())], "limit {limit}");
        }
        assert_eq!(p.all(&v), [&json!(1), &json!(2), &json!(3), &json!(4), &json!(5)]);
        assert_eq!(p.get(&v), Some(&json!(1)));
        assert_eq!(path("a[1].b[0]").get(&v), None);
    }

    #[test]
    fn set_writes_every_place_and_creates_only_the_last_property() {
        let mut v = json!({"users":[{"email":"a"},{"email":"b"}],"meta":{}});
        let mut n = 0;
        path("users[].id").set(&mut v, &mut || {
            n += 1;
            json!(n)
        });
        path("meta.source").set(&mut v, &mut || json!("api"));
        path("absent.child").set(&mut v, &mut || json!("never"));
        assert_eq!(v, json!({"users":[{"email":"a","id":1},{"email":"b","id":2}],"meta":{"source":"api"}}));
        path("absent").update(&mut v, &mut |_| panic!("nothing is created"));
        path("users[].email").update(&mut v, &mut |e| *e = json!(e.as_str().unwrap_or_default().to_uppercase()));
        assert_eq!(v["users"][1]["email"], "B");
        let mut bulk = json!([{}, {}]);
        path("[]._id").set(&mut bulk, &mut || json!("x"));
        assert_eq!(bulk, json!([{"_id":"x"},{"_id":"x"}]));
    }

    #[test]
    fn built_paths_print_and_walk_as_parsed_ones() {
        let built = FieldPath::key("client_users").then_index(1).then_key("email");
        assert_eq!(built, path("client_users[1].email"));
        assert_eq!(FieldPath::index(0).then_key("email"), path("[0].email"));
        let v = json!({"client_users":[{"email":"a"},{"email":"b"}]});
        assert_eq!(built.get(&v), Some(&json!("b")));
    }
}
