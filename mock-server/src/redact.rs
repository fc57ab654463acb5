//! Secrets masked in what the admin API shows (issue 13): the journal's headers, query and body
//! in every form a client may send (JSON, malformed or cut JSON, form-encoded, multipart), and
//! the state listings.
//!
//! Which names hold secrets comes from the spec model ([`crate::spec::Specs::secret_names`]: the
//! credential parts' keys and the request-schema properties marked `writeOnly` or
//! `format: password`), plus the protocol's own credential headers. Names are compared without
//! case and without punctuation (`Password`, `pass_word`, `pass-word` are one name).

use serde_json::Value;

use crate::journal::entry::Entry;

/// What replaces a secret whole (passwords).
pub(crate) const HIDDEN: &str = "****";

/// Headers that carry credentials whatever the vendor (RFC 9110, RFC 6265).
const PROTOCOL_SECRETS: [&str; 4] = ["authorization", "proxyauthorization", "cookie", "setcookie"];

/// The secret names, normalized.
#[derive(Debug, Clone, Default)]
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names: Vec<String> = names.into_iter().map(normalize).filter(|n| !n.is_empty()).collect();
        names.sort_unstable();
        names.dedup();
        Self(names)
    }

    /// Whether a body field, query parameter or header of this name holds a secret.
    pub(crate) fn is_secret(&self, name: &str) -> bool {
        let name = normalize(name);
        self.0.contains(&name) || PROTOCOL_SECRETS.contains(&name.as_str())
    }

    /// Whether `text` mentions any secret name at all (a cheap test before parsing it).
    fn mentioned_in(&self, text: &str) -> bool {
        let folded: String = text.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
        self.0.iter().any(|name| folded.contains(name.as_str()))
    }
}

fn normalize(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
}

/// Masks an entry in place: secret headers and query parameters keep their first four
/// characters (to tell keys apart), secret body fields are replaced whole.
pub(crate) fn mask_entry(entry: &mut Entry, secrets: &Secrets) {
    for (name, value) in &mut entry.headers {
        if secrets.is_secret(name) && !value.is_empty() {
            *value = match value.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic") =>
                {
                    format!("{scheme} {}", crate::auth::mask(token.trim()))
                }
                _ => crate::auth::mask(value),
            };
        }
    }
    if let Some(query) = &mut entry.query {
        *query = mask_pairs(query, secrets, |value| crate::auth::mask(&decode(value)));
    }
    let content_type = entry
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    if let Some(masked) = mask_body(&entry.body, &content_type, secrets) {
        entry.body = masked;
    }
}

/// The body with its secrets masked, or `None` when it holds none.
pub(crate) fn mask_body(body: &str, content_type: &str, secrets: &Secrets) -> Option<String> {
    if body.is_empty() || !secrets.mentioned_in(body) {
        return None;
    }
    if let Ok(mut value) = serde_json::from_str::<Value>(body) {
        return mask_json(&mut value, secrets).then(|| value.to_string());
    }
    let mut text = mask_json_text(body, secrets);
    if content_type.starts_with("multipart/") {
        text = mask_multipart(&text, secrets);
    }
    let trimmed = text.trim_start();
    let looks_like_form = !trimmed.starts_with(['{', '[', '"']) && text.contains('=');
    if content_type.starts_with("application/x-www-form-urlencoded") || looks_like_form {
        text = mask_pairs(&text, secrets, |_| HIDDEN.to_owned());
    }
    (text != body).then_some(text)
}

/// Replaces the value under every secret key, whatever its type (string, number, object, …),
/// by [`HIDDEN`]; true if any was.
pub(crate) fn mask_json(value: &mut Value, secrets: &Secrets) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (key, child) in map.iter_mut() {
                let empty = matches!(child, Value::Null) || child.as_str().is_some_and(str::is_empty);
                if secrets.is_secret(key) && !empty {
                    if child.as_str() != Some(HIDDEN) {
                        *child = Value::from(HIDDEN);
                        changed = true;
                    }
                } else {
                    changed |= mask_json(child, secrets);
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| mask_json(item, secrets) | changed),
        _ => false,
    }
}

/// `name=value&…` pairs (a query or a form body) with the values of secret names replaced by
/// `masked(value)`; `user[password]=…` counts as `password`.
fn mask_pairs(text: &str, secrets: &Secrets, masked: impl Fn(&str) -> String) -> String {
    let pairs: Vec<String> = text
        .split('&')
        .map(|pair| {
            let Some((key, value)) = pair.split_once('=') else { return pair.to_owned() };
            let decoded = decode(key);
            let name = decoded.trim_end_matches(']').rsplit('[').next().unwrap_or_default();
            if secrets.is_secret(name) && !value.is_empty() {
                format!("{key}={}", masked(value))
            } else {
                pair.to_owned()
            }
        })
        .collect();
    pairs.join("&")
}

/// A percent-encoded, `+`-for-space text, decoded.
fn decode(text: &str) -> String {
    form_urlencoded::parse(format!("v={text}").as_bytes()).map(|(_, v)| v.into_owned()).collect()
}

/// Text that is not valid JSON (malformed, or cut by the journal's per-entry cap) masked as far
/// as it goes: after every quoted secret key and its colon, the value (a string, a bracketed
/// object or array, or a bare token) is replaced by `"****"`, up to the end of the text if it
/// is unterminated.
fn mask_json_text(text: &str, secrets: &Secrets) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(start) = bytes[at..].iter().position(|&b| b == b'"').map(|i| at + i) {
        let end = string_end(bytes, start);
        at = end;
        let key = text.get(start + 1..end.saturating_sub(1).max(start + 1)).unwrap_or_default();
        if !secrets.is_secret(key) {
            continue;
        }
        let mut value = end;
        while bytes.get(value).is_some_and(u8::is_ascii_whitespace) {
            value += 1;
        }
        if bytes.get(value) != Some(&b':') {
            continue;
        }
        value += 1;
        while bytes.get(value).is_some_and(u8::is_ascii_whitespace) {
            value += 1;
        }
        let value_end = value_end(bytes, value);
        if value_end > value {
            out.push_str(&text[copied..value]);
            out.push('"');
            out.push_str(HIDDEN);
            out.push('"');
            copied = value_end;
        }
        at = value_end.max(at);
    }
    out.push_str(&text[copied..]);
    out
}

/// Just past the string that starts at `start` (a `"`), or the end of the text.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Just past the JSON value that starts at `start`: a string, a bracketed value (nesting and
/// strings inside counted), or a bare token; the end of the text if it never ends.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match bytes.get(start) {
        None => start,
        Some(b'"') => string_end(bytes, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = start;
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        Some(_) => {
            let len = bytes[start..].iter().position(|b| matches!(b, b',' | b'}' | b']' | b'\r' | b'\n'));
            len.map_or(bytes.len(), |len| start + len)
        }
    }
}

/// A multipart body with the content of every part named as a secret replaced by [`HIDDEN`].
fn mask_multipart(text: &str, secrets: &Secrets) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("name=\"") {
        let name_start = found + "name=\"".len();
        let Some(name_len) = rest[name_start..].find('"') else { break };
        let name = &rest[name_start..name_start + name_len];
        let after_name = name_start + name_len;
        let content = rest[after_name..].find("\r\n\r\n").map(|i| after_name + i + 4);
        match content {
            Some(content) if secrets.is_secret(name) => {
                let end = rest[content..].find("\r\n--").map_or(rest.len(), |i| content + i);
                out.push_str(&rest[..content]);
                out.push_str(HIDDEN);
                rest = &rest[end..];
            }
            _ => {
                out.push_str(&rest[..after_name]);
                rest = &rest[after_name..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets() -> Secrets {
        Secrets::new(["password", "api_key", "x-api-key", "Authorization"])
    }

    fn body(text: &str, content_type: &str) -> String {
        mask_body(text, content_type, &secrets()).unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn json_secrets_of_any_type_and_depth_are_hidden_and_other_fields_kept() {
        let text = r#"{"email":"a@b.c","password":12345678,"users":[{"Password":"s3"},{"pass_word":{"x":1}}],"api_key":"k","note":"password"}"#;
        let masked: Value = serde_json::from_str(&body(text, "application/json")).expect("JSON");
        assert_eq!(
            masked,
            json!({"email":"a@b.c","password":"****","users":[{"Password":"****"},{"pass_word":"****"}],"api_key":"****","note":"password"})
        );
    }

    #[test]
    fn a_body_without_secrets_is_kept_byte_for_byte() {
        let raw = "{ \"email\" :  \"a@b.c\" }";
        assert_eq!(mask_body(raw, "application/json", &secrets()), None);
    }

    #[test]
    fn malformed_and_cut_json_is_masked_as_far_as_it_goes() {
        assert_eq!(
            body(r#"{"email":"a@b.c", "password" : "hunter2", oops"#, ""),
            r#"{"email":"a@b.c", "password" : "****", oops"#
        );
        assert_eq!(body(r#"{"password": tru"#, ""), r#"{"password": "****""#);
        assert_eq!(body(r#"[{"password": {"nested": "x"}, "a": 1"#, ""), r#"[{"password": "****", "a": 1"#);
        assert_eq!(body(r#"{"password":"unterminated"#, ""), r#"{"password":"****""#);
        assert_eq!(
            body(r#"{"x":"\"password\": 5", "password": 6,"#, ""),
            r#"{"x":"\"password\": 5", "password": "****","#
        );
    }

    #[test]
    fn form_encoded_and_multipart_secrets_are_masked() {
        assert_eq!(
            body("email=a%40b.c&password=hunter2&user%5Bpassword%5D=x&api_key=", "application/x-www-form-urlencoded"),
            "email=a%40b.c&password=****&user%5Bpassword%5D=****&api_key="
        );
        let multipart = "--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter2\r\n--b\r\n\
            Content-Disposition: form-data; name=\"email\"\r\n\r\na@b.c\r\n--b--\r\n";
        let masked = body(multipart, "multipart/form-data; boundary=b");
        assert!(masked.contains("\r\n\r\n****\r\n--b") && masked.contains("a@b.c") && !masked.contains("hunter2"));
    }

    #[test]
    fn headers_and_query_keep_four_characters() {
        let mut entry: Entry = serde_json::from_value(json!({
            "seq": 1, "at": "", "vendor": null, "operation": null, "method": "POST", "path": "/",
            "query": "api_key=sk_live_1&x=1", "version": "HTTP/1.1",
            "headers": [["Authorization", "Bearer abcdefgh"], ["X-API-KEY", "key_12345"], ["Accept", "*/*"]],
            "header_case": "raw", "body": "", "status": 200, "response": null,
            "outcome": {"kind": "timeout"}, "duration_us": 0
        }))
        .expect("an entry");
        mask_entry(&mut entry, &secrets());
        assert_eq!(entry.headers[0].1, "Bearer abcd****");
        assert_eq!(entry.headers[1].1, "key_****");
        assert_eq!(entry.headers[2].1, "*/*");
        assert_eq!(entry.query.as_deref(), Some("api_key=sk_l****&x=1"));
    }
}
