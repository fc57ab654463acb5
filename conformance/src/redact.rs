//! Keeping credentials out of what the suite prints and saves: failure reports, replay files,
//! the raw requests shown in them.

use std::collections::BTreeMap;

/// What a masking journal shows instead of a whole secret (passwords), and what follows the
/// first characters of a masked credential.
pub const HIDDEN: &str = "****";

/// Keeps a credential recognisable without printing it: its first four characters, then `****`.
pub fn mask(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    if secret.chars().count() <= 4 { HIDDEN.into() } else { format!("{shown}{HIDDEN}") }
}

/// The credential values worth masking, longest first (so that a value containing another is
/// masked whole).
fn secrets(credentials: &BTreeMap<String, String>) -> Vec<&str> {
    let mut secrets: Vec<&str> = credentials.values().map(String::as_str).filter(|v| v.len() >= 4).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

/// Masks every credential value in a text.
pub fn mask_all(text: &str, credentials: &BTreeMap<String, String>) -> String {
    secrets(credentials).iter().fold(text.to_owned(), |t, s| t.replace(s, &mask(s)))
}

/// Masks the credentials of a request target (`/path?api_key=…`), whatever percent-encoding the
/// client chose: a query value that decodes to a text holding a credential is shown masked.
pub fn mask_target(target: &str, credentials: &BTreeMap<String, String>) -> String {
    let Some((path, query)) = target.split_once('?') else { return mask_all(target, credentials) };
    let secrets = secrets(credentials);
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded: String =
                form_urlencoded::parse(format!("v={raw}").as_bytes()).map(|(_, v)| v.into_owned()).collect();
            match secrets.iter().find(|s| decoded.contains(**s)) {
                Some(_) => format!("{key}={}", mask(&decoded)),
                None => mask_all(pair, credentials),
            }
        })
        .collect();
    format!("{}?{}", mask_all(path, credentials), pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_query_credential_is_masked_however_it_was_encoded() {
        let creds = BTreeMap::from([("api_key".to_owned(), "ck_a+b/c&d=é".to_owned())]);
        for target in ["/x?api_key=ck_a%2Bb%2Fc%26d%3D%C3%A9&n=1", "/x?api_key=ck_a%2bb/c%26d%3d%c3%a9&n=1"] {
            assert_eq!(mask_target(target, &creds), "/x?api_key=ck_a****&n=1", "{target}");
        }
        assert_eq!(mask_all("key ck_a+b/c&d=é here", &creds), "key ck_a**** here");
        assert_eq!(mask("abc"), "****");
    }
}
