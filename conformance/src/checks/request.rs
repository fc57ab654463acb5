//! Request-side properties: what the client sent, read from the mock's journal.

use vendor_mock::spec::{CredentialLocation as Location, CredentialPart};

use serde_json::Value;

use super::{Exchange, Sent, describe_entries, header_values, mask_value, matches_secret, names_as_sent};
use crate::json::{Difference, differences, pointer_to_path, pretty};
use crate::model::{Call, Refusal};
use crate::protocol::ClientOutcome;
use crate::redact::mask;
use crate::vendor::query_pairs;
use crate::verdict::Verdict;

/// Whether a call is worth judging on the request side (the client answered, or sent something).
fn judged(call: &Call) -> bool {
    call.outcome().is_some() || !call.entries.is_empty()
}

/// `request.one_per_create`.
pub(crate) fn one_per_create(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(
        x.calls().filter(|(call, _)| judged(call)).filter_map(|(call, creates)| one_request(x, call, creates)),
    )
}

fn one_request(x: &Exchange<'_>, call: &Call, creates: &[Sent<'_>]) -> Option<Verdict> {
    let op = x.ctx.vendor.create();
    let expected = || format!("1 × {} {}", op.method, op.path);
    let Some((_, earlier)) = creates.split_last() else {
        // Refusing before sending is right for an invalid input, or for a credential the caller
        // left empty.
        let refused = match call.outcome() {
            Some(ClientOutcome::ValidationError { .. }) => x.case.broken.is_some(),
            Some(ClientOutcome::Unauthorized {}) => matches!(x.case.refusal, Some(Refusal::Empty { .. })),
            _ => false,
        };
        if super::expect::late(x, call) {
            return Some(Verdict::skip(
                "the client gave up before the late answer, and the mock journals no request it did not answer",
            ));
        }
        return match (refused && call.entries.is_empty(), call.reply.is_ok()) {
            (true, _) => Some(Verdict::Pass),
            (false, true) => Some(Verdict::fail(
                "no request for this create reached the mock",
                expected(),
                describe_entries(&call.entries),
            )),
            (false, false) => None,
        };
    };
    let resent_after_success = earlier.iter().any(|s| {
        (200..300).contains(&s.entry.status) && !matches!(s.entry.outcome, vendor_mock::Outcome::Fault { .. })
    });
    if resent_after_success {
        return Some(Verdict::fail(
            format!("{} requests for one create: the client sent it again after a success", creates.len()),
            expected(),
            describe_entries(&call.entries),
        ));
    }
    Some(Verdict::Pass)
}

/// `request.no_retry_after_4xx`.
pub(crate) fn no_retry_after_4xx(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.calls.iter().filter(|c| judged(c)).map(|call| {
        let entries = &call.entries;
        match entries.iter().position(|e| (400..500).contains(&e.status) && e.status != 429) {
            Some(i) if i + 1 < entries.len() => Verdict::fail(
                format!(
                    "after the {} answer the client sent {} more request(s)",
                    entries[i].status,
                    entries.len() - i - 1
                ),
                describe_entries(&entries[..=i]),
                describe_entries(entries),
            ),
            Some(_) => Verdict::Pass,
            None => Verdict::skip("no 4xx answer in this case"),
        }
    }))
}

/// `request.route`: the create's method and path, and the spec's query credentials only.
pub(crate) fn route(x: &Exchange<'_>) -> Option<Verdict> {
    let op = x.ctx.vendor.create();
    let query_parts: Vec<&CredentialPart> =
        x.ctx.vendor.create_parts().filter(|p| p.location == Location::Query).collect();
    let mut expected_keys: Vec<String> = query_parts.iter().map(|p| p.key.clone()).collect();
    expected_keys.sort();
    // A part the caller left empty may be sent empty or left out.
    let optional: Vec<&str> = query_parts
        .iter()
        .filter(|p| x.ctx.credentials.get(&p.name).is_some_and(String::is_empty))
        .map(|p| p.key.as_str())
        .collect();
    let query = |keys: &[String]| match keys {
        [] => String::new(),
        keys => format!("?{}", keys.iter().map(|k| format!("{k}=…")).collect::<Vec<_>>().join("&")),
    };
    let entries: Vec<_> = x.calls.iter().filter(|c| judged(c)).flat_map(|c| &c.entries).collect();
    if entries.is_empty() {
        return None;
    }
    for e in entries {
        let keys: Vec<String> =
            e.query.as_deref().map(query_pairs).unwrap_or_default().into_iter().map(|(k, _)| k).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        let mut required = expected_keys.clone();
        required.retain(|k| !optional.contains(&k.as_str()) || sorted.contains(k));
        let route_ok = e.method.eq_ignore_ascii_case(op.method.as_str()) && e.path == op.path;
        if !route_ok || sorted != required {
            let message = if route_ok {
                format!("the query has parameters {keys:?}; the spec puts {expected_keys:?} there and nothing else")
            } else {
                format!("{} {} is not the create operation", e.method, e.path)
            };
            return Some(Verdict::fail(
                message,
                format!("{} {}{}", op.method, op.path, query(&expected_keys)),
                format!("{} {}{}", e.method, e.path, query(&keys)),
            ));
        }
    }
    Some(Verdict::Pass)
}

/// `request.auth`: each credential part once, in its place, with the exact value.
pub(crate) fn auth(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.creates().map(|s| auth_of(x, s)))
}

fn auth_of(x: &Exchange<'_>, s: &Sent<'_>) -> Verdict {
    let e = s.entry;
    let pairs = e.query.as_deref().map(query_pairs).unwrap_or_default();
    let (mut expected, mut actual, mut problems) = (Vec::new(), Vec::new(), Vec::new());
    for part in x.ctx.vendor.create_parts() {
        let secret = x.ctx.credentials.get(&part.name).map(String::as_str).unwrap_or_default();
        if part.location == Location::Query {
            let found: Vec<&str> = pairs.iter().filter(|(k, _)| *k == part.key).map(|(_, v)| v.as_str()).collect();
            expected.push(format!("query {}={}", part.key, mask(secret)));
            actual.extend(found.iter().map(|f| format!("query {}={}", part.key, mask(f))));
            let carried = match found.as_slice() {
                [one] => matches_secret(one, secret),
                [] => secret.is_empty(),
                _ => false,
            };
            if !carried {
                let other = if found.len() == 1 { ", with another value" } else { "" };
                problems.push(format!(
                    "`{}` must be sent once as the query parameter `{}` ({} found{other})",
                    part.name,
                    part.key,
                    found.len()
                ));
            }
            continue;
        }
        let found = header_values(e, &part.key);
        let bearer = part.location == Location::Bearer;
        expected.push(format!("{}: {}{}", part.key, if bearer { "Bearer " } else { "" }, mask(secret)));
        actual.extend(found.iter().map(|(n, val)| format!("{n}: {}", mask_value(val))));
        if !header_carries(part, &found, secret) {
            let how = if bearer { "`Authorization: Bearer <token>`" } else { "the header" };
            problems.push(format!(
                "`{}` must be sent once as {how} `{}` with the value given ({} such header(s) found)",
                part.name,
                part.key,
                found.len()
            ));
        }
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail(problems.join("; "), expected.join("\n"), actual.join("\n"))
    }
}

/// One header of that name, carrying the secret (after `Bearer ` for a Bearer part); for a
/// secret the caller left empty, none or an empty one.
fn header_carries(part: &CredentialPart, found: &[(&str, &str)], secret: &str) -> bool {
    if secret.is_empty() {
        // `Bearer` alone; a masking journal shows it as `Bear****`.
        return match found {
            [] => true,
            [(_, val)] => {
                let val = val.trim();
                val.is_empty() || val.eq_ignore_ascii_case("bearer") || matches_secret(val, "Bearer")
            }
            _ => false,
        };
    }
    match (part.location, found) {
        (Location::Header, [(_, val)]) => matches_secret(val.trim(), secret),
        (Location::Bearer, [(_, val)]) => match val.trim().split_once(' ') {
            Some((scheme, token)) => {
                scheme.eq_ignore_ascii_case("bearer") && token == token.trim() && matches_secret(token, secret)
            }
            None => false,
        },
        _ => false,
    }
}

/// `request.auth_header_case`: header names the spec marks case-sensitive, in that case.
pub(crate) fn auth_header_case(x: &Exchange<'_>) -> Option<Verdict> {
    let sensitive: Vec<&CredentialPart> =
        x.ctx.vendor.create_parts().filter(|p| p.case_sensitive && p.location != Location::Query).collect();
    Verdict::worst(x.creates().flat_map(|s| {
        let e = s.entry;
        if sensitive.is_empty() {
            return vec![Verdict::skip("no header name of this vendor is case-sensitive")];
        }
        if !names_as_sent(e) {
            return vec![Verdict::skip(format!(
                "the header case could not be checked (header_case: {})",
                e.header_case
            ))];
        }
        sensitive
            .iter()
            .map(|part| match header_values(e, &part.key).first() {
                None => Verdict::skip(format!("no `{}` header was sent", part.key)),
                Some((name, value)) if *name != part.key => Verdict::fail(
                    format!("the header `{}` is sent as `{name}`; the vendor requires the exact case", part.key),
                    format!("{}: {}", part.key, mask_value(value)),
                    format!("{name}: {}", mask_value(value)),
                ),
                Some(_) => Verdict::Pass,
            })
            .collect()
    }))
}

/// `request.credential_confined`: credentials nowhere but their own place.
pub(crate) fn credential_confined(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.creates().map(|s| confined(x, s)))
}

fn confined(x: &Exchange<'_>, s: &Sent<'_>) -> Verdict {
    let e = s.entry;
    let mut leaks = Vec::new();
    for part in x.ctx.vendor.create_parts() {
        let Some(secret) = x.ctx.credentials.get(&part.name).filter(|s| s.len() >= 6) else { continue };
        let masked = mask(secret);
        if e.body.contains(secret.as_str()) {
            leaks.push(format!("`{}` is in the body", part.name));
        }
        if e.path.contains(secret.as_str()) {
            leaks.push(format!("`{}` is in the path", part.name));
        }
        let in_query = part.location != Location::Query
            && e.query.as_deref().is_some_and(|q| {
                q.contains(secret.as_str()) || query_pairs(q).iter().any(|(_, v)| v.contains(secret.as_str()))
            });
        if in_query {
            leaks.push(format!("`{}` is in the query", part.name));
        }
        for (name, value) in &e.headers {
            let own = part.location != Location::Query && name.eq_ignore_ascii_case(&part.key);
            if !own && (value.contains(secret.as_str()) || value.contains(&masked) && masked.len() > 4) {
                leaks.push(format!("`{}` is in the header `{name}`", part.name));
            }
        }
    }
    if leaks.is_empty() {
        return Verdict::Pass;
    }
    let places: Vec<String> = x
        .ctx
        .vendor
        .create_parts()
        .map(|p| match p.location {
            Location::Query => format!("{}: query `{}`", p.name, p.key),
            Location::Header => format!("{}: header `{}`", p.name, p.key),
            Location::Bearer => format!("{}: `{}: Bearer …`", p.name, p.key),
        })
        .collect();
    Verdict::fail(leaks.join("; "), places.join("\n"), leaks.join("\n"))
}

/// `request.content_type`: one `Content-Type`, `application/json`.
pub(crate) fn content_type(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.creates().map(|s| {
        let found = header_values(s.entry, "content-type");
        let ok = match found.as_slice() {
            [(_, value)] => value.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json"),
            _ => false,
        };
        if ok {
            return Verdict::Pass;
        }
        let actual = if found.is_empty() {
            "(no Content-Type header)".to_owned()
        } else {
            found.iter().map(|(n, val)| format!("{n}: {val}")).collect::<Vec<_>>().join("\n")
        };
        Verdict::fail("the request is not declared as application/json", "Content-Type: application/json", actual)
    }))
}

/// The verdict on a body that is not JSON.
fn not_json(x: &Exchange<'_>, s: &Sent<'_>, err: &str) -> Verdict {
    Verdict::fail(format!("the body is not JSON: {err}"), pretty(&x.case.input), s.entry.body.clone())
}

/// `request.body_schema`: for a valid input, a body valid against the request schema.
pub(crate) fn body_schema(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.creates().map(|s| {
        if x.case.broken.is_some() {
            return Verdict::skip("the input is invalid on purpose");
        }
        let body = match &s.body {
            Ok(body) => body,
            Err(err) => return not_json(x, s, err),
        };
        let errors: Vec<String> = x
            .ctx
            .schema
            .iter_errors(body)
            .map(|err| format!("{}: {err}", pointer_to_path(&err.instance_path().to_string())))
            .collect();
        if errors.is_empty() {
            return Verdict::Pass;
        }
        Verdict::fail(
            format!("the body breaks the request schema: {}", errors.join("; ")),
            "(a body valid against the request schema)",
            errors.join("\n"),
        )
    }))
}

/// `request.body_carried`: the input, unchanged (absent fields sent as `null` are judged by
/// `request.optional_omitted`).
pub(crate) fn body_carried(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.creates().map(|s| match &s.body {
        Ok(body) => body_differences(x, body, |d| !matches!(d, Difference::NullForAbsent { .. })),
        Err(err) => not_json(x, s, err),
    }))
}

/// `request.optional_omitted`: a field the input does not have is left out, not sent as `null`.
pub(crate) fn optional_omitted(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.creates().filter_map(|s| {
        let body = s.body.as_ref().ok()?;
        Some(body_differences(x, body, |d| matches!(d, Difference::NullForAbsent { .. })))
    }))
}

/// The verdict on the differences `which` selects: a failure if the vendor would refuse or
/// misread one, a warning if it tolerates them all (see [`tolerated`]).
fn body_differences(x: &Exchange<'_>, body: &Value, which: fn(&Difference) -> bool) -> Verdict {
    let found: Vec<Difference> = differences(&x.case.input, body).into_iter().filter(which).collect();
    let (tolerated, refused): (Vec<&Difference>, Vec<&Difference>) =
        found.iter().partition(|d| tolerated(x.ctx.vendor.schema(), d));
    let list = |ds: &[&Difference]| ds.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    match (refused.is_empty(), tolerated.is_empty()) {
        (true, true) => Verdict::Pass,
        (false, _) => Verdict::fail(list(&refused), pretty(&x.case.input), pretty(body)),
        (true, false) => Verdict::warn(
            format!("{}: the vendor accepts it, its docs do not promise it", list(&tolerated)),
            pretty(&x.case.input),
            pretty(body),
        ),
    }
}

/// Whether the vendor tolerates a difference its docs do not promise: a field the input omits
/// sent as `null` where the request schema allows `null`, or sent with its documented default.
fn tolerated(schema: &Value, d: &Difference) -> bool {
    match d {
        Difference::NullForAbsent { path: Some(path) } => crate::schema::node_at(schema, path)
            .and_then(|node| crate::schema::compile(node).ok())
            .is_some_and(|v| v.is_valid(&Value::Null)),
        Difference::Added { path: Some(path), actual } => crate::schema::node_at(schema, path)
            .and_then(|node| node.get("default"))
            .is_some_and(|default| crate::json::same(default, actual)),
        _ => false,
    }
}
