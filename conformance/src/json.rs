//! JSON helpers: concrete paths (`client_users[0].email`), and a structural comparison that
//! tells a missing field from a changed one from a field sent as `null`.

use std::fmt;

use serde_json::Value;

/// One step of a concrete path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A concrete path into a JSON value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Seg>);

impl Path {
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_owned()));
        p
    }

    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    /// Parses `a.b[2].c` / `[0].email`.
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(i) = rest.find('[') {
                if i > 0 {
                    segs.push(Seg::Key(rest[..i].to_owned()));
                }
                rest = &rest[i..];
                while let Some(inner) = rest.strip_prefix('[') {
                    let end = inner.find(']').unwrap_or(inner.len());
                    if let Ok(n) = inner[..end].parse() {
                        segs.push(Seg::Index(n));
                    }
                    rest = inner.get(end + 1..).unwrap_or_default();
                }
            } else {
                segs.push(Seg::Key(rest.to_owned()));
            }
        }
        Self(segs)
    }

    pub fn get<'a>(&self, v: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(v, |v, s| match s {
            Seg::Key(k) => v.get(k),
            Seg::Index(i) => v.get(i),
        })
    }

    pub fn get_mut<'a>(&self, v: &'a mut Value) -> Option<&'a mut Value> {
        self.0.iter().try_fold(v, |v, s| match s {
            Seg::Key(k) => v.get_mut(k),
            Seg::Index(i) => v.get_mut(i),
        })
    }

    /// The path without its last step.
    pub fn parent(&self) -> Self {
        let mut p = self.clone();
        p.0.pop();
        p
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(body)");
        }
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// One difference between what the client was given and what it sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// In the input, not in the body.
    Missing { path: Path, expected: Value },
    /// Absent from the input, sent as `null`.
    NullForAbsent { path: Path },
    /// Not in the input, sent with a value.
    Added { path: Path, actual: Value },
    /// Sent with another value (or type).
    Changed { path: Path, expected: Value, actual: Value },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { path, expected } => write!(f, "`{path}` is missing (the input has {expected})"),
            Self::NullForAbsent { path } => write!(f, "`{path}` is sent as null (the input omits it)"),
            Self::Added { path, actual } => write!(f, "`{path}` is not in the input but sent as {actual}"),
            Self::Changed { path, expected, actual } => {
                write!(f, "`{path}` is sent as {actual} (the input has {expected})")
            }
        }
    }
}

/// Numbers compare by value (`1` equals `1.0`), objects ignore key order.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Every difference between the input and the body sent.
pub fn differences(expected: &Value, actual: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_at(&Path::default(), expected, actual, &mut out);
    out
}

fn diff_at(path: &Path, expected: &Value, actual: &Value, out: &mut Vec<Difference>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => diff_at(&path.key(k), ev, av, out),
                    None => out.push(Difference::Missing { path: path.key(k), expected: ev.clone() }),
                }
            }
            for (k, av) in a.iter().filter(|(k, _)| !e.contains_key(*k)) {
                if av.is_null() {
                    out.push(Difference::NullForAbsent { path: path.key(k) });
                } else {
                    out.push(Difference::Added { path: path.key(k), actual: av.clone() });
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                diff_at(&path.index(i), ev, av, out);
            }
        }
        _ if same(expected, actual) => {}
        _ => out.push(Difference::Changed { path: path.clone(), expected: expected.clone(), actual: actual.clone() }),
    }
}

/// Pretty JSON for reports (never fails).
pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_parse_and_print_the_same_way() {
        for text in ["client_users[0].email", "[2].email", "a.b.c", "x[1][2]"] {
            assert_eq!(Path::parse(text).to_string(), text);
        }
        let v = json!({"client_users":[{"email":"a@b.c"}]});
        assert_eq!(Path::parse("client_users[0].email").get(&v), Some(&json!("a@b.c")));
    }

    #[test]
    fn differences_tell_missing_from_null_from_added_from_changed() {
        let input = json!({"a": 1, "b": "x", "c": [1, 2], "d": {"e": true}});
        let sent = json!({"a": 1.0, "c": [1, 3], "d": {"e": true, "f": null}, "g": 0});
        let diffs: Vec<String> = differences(&input, &sent).iter().map(ToString::to_string).collect();
        assert_eq!(
            diffs,
            [
                "`b` is missing (the input has \"x\")",
                "`c[1]` is sent as 3 (the input has 2)",
                "`d.f` is sent as null (the input omits it)",
                "`g` is not in the input but sent as 0",
            ]
        );
        assert!(differences(&input, &input).is_empty());
    }
}
