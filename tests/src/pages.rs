//! The vendors' documentation pages (`../shared/vendor-docs/`) and the JSON examples in them.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The folder of captured vendor pages, beside the workspace.
pub fn vendor_docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vendor-docs")
}

/// The text of a captured page; fails (never skips) with a clear message if it is missing.
pub fn vendor_doc(file: &str) -> String {
    let path = vendor_docs_dir().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the vendor documentation {}: {e}. These tests compare the mock with the \
             captured pages in shared/vendor-docs/, which must sit beside the workspace folder.",
            path.display()
        )
    })
}

/// Every JSON object of a page that starts on a line of its own (`{`), with the nearest heading
/// line above it (skipping language tags such as `json`).
pub fn doc_json_blocks(file: &str) -> Vec<(String, Value)> {
    let page = vendor_doc(file);
    let lines: Vec<&str> = page.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "{" {
            i += 1;
            continue;
        }
        let mut depth = 0i32;
        let mut in_string = false;
        let mut escaped = false;
        let mut end = None;
        'scan: for (j, line) in lines.iter().enumerate().skip(i) {
            for c in line.chars() {
                match (in_string, escaped, c) {
                    (true, true, _) => escaped = false,
                    (true, false, '\\') => escaped = true,
                    (true, false, '"') => in_string = false,
                    (false, _, '"') => in_string = true,
                    (false, _, '{' | '[') => depth += 1,
                    (false, _, '}' | ']') => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(j);
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
        let Some(end) = end else { break };
        let text = lines[i..=end].join("\n");
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            let heading = lines[..i]
                .iter()
                .rev()
                .map(|l| l.trim())
                .find(|l| !l.is_empty() && !matches!(*l, "json" | "bash"))
                .unwrap_or_default()
                .to_owned();
            blocks.push((heading, value));
        }
        i = end + 1;
    }
    blocks
}

/// The structure of a JSON value: keys in order and leaf types, values dropped.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("boolean"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}
