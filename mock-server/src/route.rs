//! Which vendor and operation a request is for ([`route`]), and what happens when none is.
//!
//! Requests that no vendor route matches: which vendor, if any, owns the path (its path
//! prefix), the mock's own neutral 404 for paths no vendor owns, and `GET /`, which points to the
//! dashboard and lists every route.
//!
//! A vendor's path prefixes are derived from its spec alone: the folder of each of its
//! operations' paths (every segment but the last; `/api/v1/client` for
//! `/api/v1/client/save`). A path is the vendor's when it lies in one of them, segment by
//! segment; if vendors' prefixes both hold it, the longest prefix wins, and a tie is nobody's.
//! A one-segment path (`/clients`) has no folder and gives no prefix.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};

use crate::answer::Answer;
use crate::rejection::Rejection;
use crate::spec::{Operation, Specs, Vendor};

use http::StatusCode;
use serde_json::Map;

use crate::rejection::bounded;
use crate::spec::ADMIN_PREFIX;

/// The segments of a path, without empty ones (`/a//b/` → `[a, b]`).
fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// The vendor's path prefixes: the folder of each operation path, as segments.
fn prefixes(vendor: &Vendor) -> impl Iterator<Item = Vec<&str>> {
    vendor.operations.iter().filter_map(|op| {
        let mut folder = segments(&op.path);
        folder.pop();
        (!folder.is_empty()).then_some(folder)
    })
}

/// The vendor whose path prefix holds `path` (the longest one; nobody on a tie).
pub(crate) fn owner<'a>(specs: &'a Specs, path: &str) -> Option<&'a Arc<Vendor>> {
    let asked = segments(path);
    let mut best: Option<(&Arc<Vendor>, usize)> = None;
    let mut tied = false;
    for vendor in &specs.vendors {
        let longest = prefixes(vendor).filter(|p| asked.starts_with(p)).map(|p| p.len()).max();
        let Some(len) = longest else { continue };
        match best {
            Some((other, best_len)) if len == best_len && other.name != vendor.name => tied = true,
            Some((_, best_len)) if len <= best_len => {}
            _ => {
                best = Some((vendor, len));
                tied = false;
            }
        }
    }
    if tied { None } else { best.map(|(v, _)| v) }
}

/// `METHOD path` of every route of a vendor.
fn routes_of(vendor: &Vendor) -> impl Iterator<Item = String> + '_ {
    vendor.operations.iter().map(|op| format!("{} {}", op.method, op.path))
}

/// The route of `vendor` nearest to `METHOD path` (edit distance), if it has any.
pub(crate) fn nearest_of(vendor: &Vendor, method: &Method, path: &str) -> Option<String> {
    let asked = nearest_probe(method, path);
    routes_of(vendor).min_by_key(|route| strsim::levenshtein(&asked, route))
}

/// The mock's own 404 for a path no vendor owns: what was asked (cut short) and the nearest
/// route of every vendor, so that the client's author sees where the request should have gone.
pub(crate) fn neutral_not_found(specs: &Specs, method: &Method, path: &str) -> Answer {
    let nearest: Map<String, Value> = specs
        .vendors
        .iter()
        .filter_map(|v| nearest_of(v, method, path).map(|route| (v.name.clone(), Value::String(route))))
        .collect();
    let asked = bounded(&format!("{method} {path}"));
    Answer::json(
        StatusCode::NOT_FOUND,
        json!({
            "error": "no_vendor_route",
            "message": format!("vendor-mock: {asked} is no route of any vendor it serves, and its path lies under no vendor's path prefix"),
            "nearest": nearest,
            "routes": "GET / lists every route",
            "dashboard": format!("{ADMIN_PREFIX}/ui"),
        }),
    )
}

/// `GET /`: where the dashboard and the admin API are, and every route served, by vendor.
pub(crate) fn index(specs: &Specs) -> Answer {
    let vendors: Vec<Value> = specs
        .vendors
        .iter()
        .map(|v| {
            let routes: Vec<Value> = v
                .operations
                .iter()
                .map(|op| json!({ "method": op.method.as_str(), "path": op.path, "operation": op.id }))
                .collect();
            json!({ "vendor": v.name, "title": v.title, "revision": v.revision, "routes": routes })
        })
        .collect();
    Answer::json(
        StatusCode::OK,
        json!({
            "name": "vendor-mock",
            "version": env!("CARGO_PKG_VERSION"),
            "dashboard": format!("{ADMIN_PREFIX}/ui"),
            "admin_api": ADMIN_PREFIX,
            "vendors": vendors,
        }),
    )
}

/// The route for a request, or the rejection with the vendor whose shape it should take.
pub(crate) type Routed<'a> = Result<(&'a Arc<Vendor>, &'a Operation), (Option<&'a Arc<Vendor>>, Rejection)>;

pub(crate) fn route<'a>(specs: &'a Specs, method: &Method, path: &str) -> Routed<'a> {
    let trimmed = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let ops = || specs.vendors.iter().flat_map(|v| v.operations.iter().map(move |op| (v, op)));
    if let Some(found) = ops().find(|(_, op)| op.path == trimmed && op.method == method) {
        return Ok(found);
    }
    let same_path: Vec<_> = ops().filter(|(_, op)| op.path == trimmed).collect();
    if let Some((vendor, _)) = same_path.first() {
        let allowed = same_path.iter().map(|(_, op)| op.method.to_string()).collect();
        return Err((
            Some(vendor),
            Rejection::MethodNotAllowed { method: method.to_string(), path: path.to_owned(), allowed },
        ));
    }
    // An unknown path is the vendor's (its 404, its journal entry) only when it lies under one
    // of the vendor's path prefixes; otherwise nobody's: the mock answers its own 404.
    let owner = owner(specs, trimmed);
    let nearest = match owner {
        Some(vendor) => nearest_of(vendor, method, path),
        None => {
            let asked = nearest_probe(method, path);
            let nearest =
                ops().min_by_key(|(_, op)| strsim::levenshtein(&asked, &format!("{} {}", op.method, op.path)));
            nearest.map(|(_, op)| format!("{} {}", op.method, op.path))
        }
    };
    Err((
        owner,
        Rejection::Unrouted { method: method.to_string(), path: path.to_owned(), nearest: nearest.unwrap_or_default() },
    ))
}

/// What the nearest-route search compares with the routes: the method and at most the first
/// 128 characters of the path (issue 13: the edit distance costs the product of the lengths,
/// and a 60 KB path took 8 ms; no route is that long).
pub(crate) fn nearest_probe(method: &Method, path: &str) -> String {
    const LONGEST: usize = 128;
    let cut = path.char_indices().nth(LONGEST).map_or(path, |(at, _)| &path[..at]);
    format!("{method} {cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> Specs {
        Specs::embedded().expect("the embedded specs load")
    }

    fn owner_name(specs: &Specs, path: &str) -> Option<String> {
        owner(specs, path).map(|v| v.name.clone())
    }

    #[test]
    fn a_path_belongs_to_the_vendor_whose_folder_holds_it() {
        let specs = embedded();
        assert_eq!(owner_name(&specs, "/api/v1/client/create").as_deref(), Some("smartlead"));
        assert_eq!(owner_name(&specs, "/api/v1/client/sav").as_deref(), Some("smartlead"));
        assert_eq!(owner_name(&specs, "/api/v2/clients/create/").as_deref(), Some("voiceaiwrapper"));
        assert_eq!(owner_name(&specs, "/api/v2/subClient/users").as_deref(), Some("cellcast"));
        assert_eq!(owner_name(&specs, "/members/bulk-clients").as_deref(), Some("agencyhandy"));
        assert_eq!(owner_name(&specs, "/accounts/company").as_deref(), Some("agencyhandy"));
        assert_eq!(owner_name(&specs, "/members").as_deref(), Some("agencyhandy"), "the folder itself");
    }

    #[test]
    fn a_path_outside_every_vendor_folder_belongs_to_nobody() {
        let specs = embedded();
        for path in
            ["/", "/api", "/api/v1", "/api/v2/other", "/api/v1/clients/save", "/member/bulk-client", "/nowhere/at/all"]
        {
            assert_eq!(owner_name(&specs, path), None, "{path}");
        }
    }

    #[test]
    fn the_neutral_404_names_the_nearest_route_of_every_vendor_and_stays_short() {
        let specs = embedded();
        let long = format!("/x{}", "y".repeat(10_000));
        let answer = neutral_not_found(&specs, &Method::POST, &long);
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert!(answer.body.len() < 1_000, "{} bytes", answer.body.len());
        let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
        let nearest = body["nearest"].as_object().expect("an object of vendors");
        assert_eq!(nearest.len(), specs.vendors.len());
        assert_eq!(nearest["smartlead"], "POST /api/v1/client/save");
    }
}
