//! Judging one executed case: request-side properties from the mock's journal, response-side
//! properties from the client's reply against what the mock actually answered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::{Difference, differences, pretty, same};
use crate::mock::JournalEntry;
use crate::properties::{self as p, Property};
use crate::protocol::{ClientOutcome, CreateClient, Reply};
use crate::runner::{Case, Scenario};
use crate::vendor::{Location, VendorModel, query_pairs};

/// One create_client exchange and what the mock saw during it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub request: CreateClient,
    /// The reply, or why there was none (a crash or time-out).
    pub reply: Result<Value, String>,
    /// The requests the mock journalled during the call, oldest first.
    pub entries: Vec<JournalEntry>,
    pub elapsed_ms: u64,
}

impl Call {
    fn outcome(&self) -> Option<ClientOutcome> {
        match self.reply.as_ref().ok().map(Reply::from_json) {
            Some(Ok(Reply::Outcome { outcome, .. })) => Some(outcome),
            _ => None,
        }
    }
}

/// A property's verdict on one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail { message: String, expected: String, actual: String },
    Skip { reason: String },
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail { .. } => "fail",
            Self::Skip { .. } => "skip",
        }
    }

    fn fail(message: impl Into<String>, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self::Fail { message: message.into(), expected: expected.into(), actual: actual.into() }
    }

    fn skip(reason: impl Into<String>) -> Self {
        Self::Skip { reason: reason.into() }
    }
}

/// The verdicts of one case, merged per property: a failure wins, then a pass, then a skip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdicts(pub BTreeMap<String, Verdict>);

impl Verdicts {
    pub fn record(&mut self, property: &Property, verdict: Verdict) {
        let slot = self.0.entry(property.id.to_owned()).or_insert_with(|| verdict.clone());
        let rank = |v: &Verdict| match v {
            Verdict::Fail { .. } => 2,
            Verdict::Pass => 1,
            Verdict::Skip { .. } => 0,
        };
        if rank(&verdict) > rank(slot) {
            *slot = verdict;
        }
    }

    pub fn get(&self, id: &str) -> Option<&Verdict> {
        self.0.get(id)
    }

    /// The failing property ids, in catalogue order.
    pub fn failed(&self) -> Vec<&'static str> {
        p::ALL.iter().filter(|p| matches!(self.0.get(p.id), Some(Verdict::Fail { .. }))).map(|p| p.id).collect()
    }
}

/// What the checks need besides the case.
#[derive(Debug)]
pub struct Context<'a> {
    pub vendor: &'a VendorModel,
    pub schema: &'a jsonschema::Validator,
    pub credentials: &'a BTreeMap<String, String>,
    /// The time-out the client was given; answers later than this (plus a second) fail.
    pub client_timeout_ms: u64,
    /// The journal masks secrets (an external mock without `--journal-secrets`).
    pub masked: bool,
}

/// Judges a case.
pub fn evaluate(ctx: &Context<'_>, case: &Case, calls: &[Call]) -> Verdicts {
    let mut v = Verdicts::default();
    for call in calls {
        request_checks(ctx, case, call, &mut v);
        response_checks(ctx, case, call, &mut v);
    }
    if case.scenario == Scenario::Sequence {
        sequence_check(calls, &mut v);
    }
    v
}

/// Keeps a credential recognisable without printing it.
pub fn mask(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    if secret.chars().count() <= 4 { "****".into() } else { format!("{shown}****") }
}

fn is_create(ctx: &Context<'_>, e: &JournalEntry) -> bool {
    e.vendor.as_deref() == Some(ctx.vendor.name())
        && e.operation.as_deref() == Some(ctx.vendor.create().id.as_str())
        && e.method.eq_ignore_ascii_case(ctx.vendor.create().method.as_str())
}

fn header_values<'a>(e: &'a JournalEntry, name: &str) -> Vec<(&'a str, &'a str)> {
    e.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

/// The value as the journal shows it equals the credential (exactly, or masked by an external mock).
fn matches_secret(shown: &str, secret: &str) -> bool {
    shown == secret || shown == mask(secret)
}

/// Puts the input's values back where a masking journal shows `****` (passwords, tokens). The
/// mock masks a secret field whatever its value's type (a number, an object), except `null` and
/// the empty string.
fn unmask(expected: &Value, actual: &mut Value) {
    match (expected, actual) {
        (e, a) if a.as_str() == Some(crate::checks::HIDDEN) && !e.is_null() && e.as_str() != Some("") => {
            *a = e.clone();
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in a.iter_mut() {
                if let Some(ev) = e.get(k) {
                    unmask(ev, v);
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for (ev, av) in e.iter().zip(a.iter_mut()) {
                unmask(ev, av);
            }
        }
        _ => {}
    }
}

/// What a masking journal shows instead of a whole secret.
pub const HIDDEN: &str = "****";

fn request_checks(ctx: &Context<'_>, case: &Case, call: &Call, v: &mut Verdicts) {
    let creates: Vec<&JournalEntry> = call.entries.iter().filter(|e| is_create(ctx, e)).collect();
    let op = ctx.vendor.create();
    let outcome = call.outcome();
    if outcome.is_none() && call.entries.is_empty() {
        // Skipped or errored without sending: nothing to judge on the request side.
        return;
    }

    // request.one_per_create
    if creates.is_empty() {
        let self_validated = case.broken.is_some()
            && call.entries.is_empty()
            && matches!(outcome, Some(ClientOutcome::ValidationError { .. }));
        if self_validated {
            v.record(&p::ONE_PER_CREATE, Verdict::Pass);
        } else if call.reply.is_ok() {
            v.record(
                &p::ONE_PER_CREATE,
                Verdict::fail(
                    "no request for this create reached the mock",
                    format!("1 × {} {}", op.method, op.path),
                    describe_entries(&call.entries),
                ),
            );
        }
    } else {
        let resent_after_success =
            creates[..creates.len() - 1].iter().any(|e| (200..300).contains(&e.status) && e.outcome_kind() != "fault");
        if resent_after_success {
            v.record(
                &p::ONE_PER_CREATE,
                Verdict::fail(
                    format!("{} requests for one create: the client sent it again after a success", creates.len()),
                    format!("1 × {} {}", op.method, op.path),
                    describe_entries(&call.entries),
                ),
            );
        } else {
            v.record(&p::ONE_PER_CREATE, Verdict::Pass);
        }
    }

    // request.no_retry_after_4xx
    match call.entries.iter().position(|e| (400..500).contains(&e.status) && e.status != 429) {
        Some(i) if i + 1 < call.entries.len() => {
            let first = &call.entries[i];
            v.record(
                &p::NO_RETRY_AFTER_4XX,
                Verdict::fail(
                    format!(
                        "after the {} answer the client sent {} more request(s)",
                        first.status,
                        call.entries.len() - i - 1
                    ),
                    describe_entries(&call.entries[..=i]),
                    describe_entries(&call.entries),
                ),
            );
        }
        Some(_) => v.record(&p::NO_RETRY_AFTER_4XX, Verdict::Pass),
        None => v.record(&p::NO_RETRY_AFTER_4XX, Verdict::skip("no 4xx answer in this case")),
    }

    if call.entries.is_empty() {
        return;
    }
    let parts: Vec<_> = ctx.vendor.create_parts().collect();

    // request.route
    let query_keys: Vec<&str> =
        parts.iter().filter(|p| p.location == Location::Query).map(|p| p.key.as_str()).collect();
    let mut route = Verdict::Pass;
    for e in &call.entries {
        let keys: Vec<String> =
            e.query.as_deref().map(query_pairs).unwrap_or_default().into_iter().map(|(k, _)| k).collect();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort();
        let mut expected_keys: Vec<String> = query_keys.iter().map(|k| (*k).to_owned()).collect();
        expected_keys.sort();
        let route_ok = e.method.eq_ignore_ascii_case(op.method.as_str()) && e.path == op.path;
        if !route_ok || sorted_keys != expected_keys {
            let expected_query = if query_keys.is_empty() {
                String::new()
            } else {
                format!("?{}", query_keys.iter().map(|k| format!("{k}=…")).collect::<Vec<_>>().join("&"))
            };
            let actual_query = if keys.is_empty() {
                String::new()
            } else {
                format!("?{}", keys.iter().map(|k| format!("{k}=…")).collect::<Vec<_>>().join("&"))
            };
            let message = if route_ok {
                format!("the query has parameters {keys:?}; the spec puts {query_keys:?} there and nothing else")
            } else {
                format!("{} {} is not the create operation", e.method, e.path)
            };
            route = Verdict::fail(
                message,
                format!("{} {}{expected_query}", op.method, op.path),
                format!("{} {}{actual_query}", e.method, e.path),
            );
            break;
        }
    }
    v.record(&p::ROUTE, route);

    for e in &creates {
        check_auth(ctx, e, v);
        check_confined(ctx, e, v);
        check_content_type(e, v);
        check_body(ctx, case, e, v);
    }
}

fn check_auth(ctx: &Context<'_>, e: &JournalEntry, v: &mut Verdicts) {
    let pairs = e.query.as_deref().map(query_pairs).unwrap_or_default();
    let mut expected_lines = Vec::new();
    let mut actual_lines = Vec::new();
    let mut problems = Vec::new();
    for part in ctx.vendor.create_parts() {
        let secret = ctx.credentials.get(&part.name).map(String::as_str).unwrap_or_default();
        match part.location {
            Location::Query => {
                let found: Vec<&str> = pairs.iter().filter(|(k, _)| *k == part.key).map(|(_, v)| v.as_str()).collect();
                expected_lines.push(format!("query {}={}", part.key, mask(secret)));
                actual_lines.extend(found.iter().map(|f| format!("query {}={}", part.key, mask(f))));
                if found.len() != 1 || !matches_secret(found[0], secret) {
                    problems.push(format!(
                        "`{}` must be sent once as the query parameter `{}` ({} found{})",
                        part.name,
                        part.key,
                        found.len(),
                        if found.len() == 1 { ", with another value" } else { "" }
                    ));
                }
            }
            Location::Header | Location::Bearer => {
                let found = header_values(e, &part.key);
                let expected_value =
                    if part.location == Location::Bearer { format!("Bearer {}", mask(secret)) } else { mask(secret) };
                expected_lines.push(format!("{}: {expected_value}", part.key));
                actual_lines.extend(found.iter().map(|(n, val)| format!("{n}: {}", mask_value(val))));
                let ok = match (part.location, found.as_slice()) {
                    (Location::Header, [(_, val)]) => matches_secret(val.trim(), secret),
                    (Location::Bearer, [(_, val)]) => match val.trim().split_once(' ') {
                        Some((scheme, token)) => {
                            scheme.eq_ignore_ascii_case("bearer")
                                && token == token.trim()
                                && matches_secret(token, secret)
                        }
                        None => false,
                    },
                    _ => false,
                };
                if !ok {
                    let how = if part.location == Location::Bearer {
                        "`Authorization: Bearer <token>`"
                    } else {
                        "the header"
                    };
                    problems.push(format!(
                        "`{}` must be sent once as {how} `{}` with the value given ({} such header(s) found)",
                        part.name,
                        part.key,
                        found.len()
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        v.record(&p::AUTH, Verdict::Pass);
    } else {
        v.record(&p::AUTH, Verdict::fail(problems.join("; "), expected_lines.join("\n"), actual_lines.join("\n")));
    }

    // request.auth_header_case
    let sensitive: Vec<_> =
        ctx.vendor.create_parts().filter(|p| p.case_sensitive && p.location != Location::Query).collect();
    if sensitive.is_empty() {
        v.record(&p::AUTH_HEADER_CASE, Verdict::skip("no header name of this vendor is case-sensitive"));
        return;
    }
    if e.header_case != "raw" {
        v.record(
            &p::AUTH_HEADER_CASE,
            Verdict::skip(format!("the header case could not be checked (header_case: {})", e.header_case)),
        );
        return;
    }
    for part in sensitive {
        let found = header_values(e, &part.key);
        match found.first() {
            None => v.record(&p::AUTH_HEADER_CASE, Verdict::skip(format!("no `{}` header was sent", part.key))),
            Some((name, value)) if *name != part.key => v.record(
                &p::AUTH_HEADER_CASE,
                Verdict::fail(
                    format!("the header `{}` is sent as `{name}`; the vendor requires the exact case", part.key),
                    format!("{}: {}", part.key, mask_value(value)),
                    format!("{name}: {}", mask_value(value)),
                ),
            ),
            Some(_) => v.record(&p::AUTH_HEADER_CASE, Verdict::Pass),
        }
    }
}

/// Masks a header value (keeps a scheme such as `Bearer`).
fn mask_value(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => format!("{scheme} {}", mask(rest)),
        _ => mask(value),
    }
}

fn check_confined(ctx: &Context<'_>, e: &JournalEntry, v: &mut Verdicts) {
    let mut leaks = Vec::new();
    for part in ctx.vendor.create_parts() {
        let Some(secret) = ctx.credentials.get(&part.name).filter(|s| s.len() >= 6) else { continue };
        let masked = mask(secret);
        if e.body.contains(secret.as_str()) {
            leaks.push(format!("`{}` is in the body", part.name));
        }
        if e.path.contains(secret.as_str()) {
            leaks.push(format!("`{}` is in the path", part.name));
        }
        if part.location != Location::Query {
            let in_query = e.query.as_deref().is_some_and(|q| {
                q.contains(secret.as_str()) || query_pairs(q).iter().any(|(_, v)| v.contains(secret.as_str()))
            });
            if in_query {
                leaks.push(format!("`{}` is in the query", part.name));
            }
        }
        for (name, value) in &e.headers {
            let own = part.location != Location::Query && name.eq_ignore_ascii_case(&part.key);
            if !own && (value.contains(secret.as_str()) || value.contains(&masked) && masked.len() > 4) {
                leaks.push(format!("`{}` is in the header `{name}`", part.name));
            }
        }
    }
    if leaks.is_empty() {
        v.record(&p::CREDENTIAL_CONFINED, Verdict::Pass);
    } else {
        let places: Vec<String> = ctx
            .vendor
            .create_parts()
            .map(|p| match p.location {
                Location::Query => format!("{}: query `{}`", p.name, p.key),
                Location::Header => format!("{}: header `{}`", p.name, p.key),
                Location::Bearer => format!("{}: `{}: Bearer …`", p.name, p.key),
            })
            .collect();
        v.record(&p::CREDENTIAL_CONFINED, Verdict::fail(leaks.join("; "), places.join("\n"), leaks.join("\n")));
    }
}

fn check_content_type(e: &JournalEntry, v: &mut Verdicts) {
    let found = header_values(e, "content-type");
    let ok = match found.as_slice() {
        [(_, value)] => value.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json"),
        _ => false,
    };
    if ok {
        v.record(&p::CONTENT_TYPE, Verdict::Pass);
    } else {
        let actual = if found.is_empty() {
            "(no Content-Type header)".to_owned()
        } else {
            found.iter().map(|(n, val)| format!("{n}: {val}")).collect::<Vec<_>>().join("\n")
        };
        v.record(
            &p::CONTENT_TYPE,
            Verdict::fail("the request is not declared as application/json", "Content-Type: application/json", actual),
        );
    }
}

fn check_body(ctx: &Context<'_>, case: &Case, e: &JournalEntry, v: &mut Verdicts) {
    let body: Value = match serde_json::from_str(&e.body) {
        Ok(mut body) => {
            if ctx.masked {
                unmask(&case.input, &mut body);
            }
            body
        }
        Err(err) => {
            let verdict = Verdict::fail(format!("the body is not JSON: {err}"), pretty(&case.input), e.body.clone());
            v.record(&p::BODY_CARRIED, verdict.clone());
            if case.broken.is_none() {
                v.record(&p::BODY_SCHEMA, verdict);
            }
            return;
        }
    };
    if case.broken.is_none() {
        let errors: Vec<String> = ctx
            .schema
            .iter_errors(&body)
            .map(|err| {
                let at = crate::generate::pointer_to_path(&err.instance_path().to_string());
                format!("{at}: {err}")
            })
            .collect();
        if errors.is_empty() {
            v.record(&p::BODY_SCHEMA, Verdict::Pass);
        } else {
            v.record(
                &p::BODY_SCHEMA,
                Verdict::fail(
                    format!("the body breaks the request schema: {}", errors.join("; ")),
                    "(a body valid against the request schema)",
                    errors.join("\n"),
                ),
            );
        }
    } else {
        v.record(&p::BODY_SCHEMA, Verdict::skip("the input is invalid on purpose"));
    }
    let diffs = differences(&case.input, &body);
    let (nulls, others): (Vec<&Difference>, Vec<&Difference>) =
        diffs.iter().partition(|d| matches!(d, Difference::NullForAbsent { .. }));
    let list = |ds: &[&Difference]| ds.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
    if others.is_empty() {
        v.record(&p::BODY_CARRIED, Verdict::Pass);
    } else {
        v.record(&p::BODY_CARRIED, Verdict::fail(list(&others), pretty(&case.input), pretty(&body)));
    }
    if nulls.is_empty() {
        v.record(&p::OPTIONAL_OMITTED, Verdict::Pass);
    } else {
        v.record(&p::OPTIONAL_OMITTED, Verdict::fail(list(&nulls), pretty(&case.input), pretty(&body)));
    }
}

/// What the client should have reported, from the mock's last answer.
#[derive(Debug)]
enum Expect {
    Single { property: &'static Property, kinds: Vec<&'static str>, id: Option<Value> },
    Bulk(Vec<(&'static Property, &'static str, Option<Value>)>),
    Unknown,
}

fn expectation(ctx: &Context<'_>, e: &JournalEntry) -> Expect {
    let single = |property: &'static Property, kinds: &[&'static str]| Expect::Single {
        property,
        kinds: kinds.to_vec(),
        id: None,
    };
    match e.outcome_kind() {
        "created" => Expect::Single {
            property: &p::CREATED,
            kinds: vec!["created"],
            id: ctx.vendor.reported_ids(&e.response).into_iter().next(),
        },
        "bulk" => {
            let failed: Vec<u64> = e
                .outcome
                .get("failed")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|f| f.get("index").and_then(Value::as_u64))
                .collect();
            let created = e.outcome.get("created").and_then(Value::as_u64).unwrap_or(0);
            let total = created + failed.len() as u64;
            let mut ids = ctx.vendor.reported_ids(&e.response).into_iter();
            Expect::Bulk(
                (0..total)
                    .map(|i| {
                        if failed.contains(&i) {
                            (&p::DUPLICATE, "duplicate", None)
                        } else {
                            (&p::CREATED, "created", ids.next())
                        }
                    })
                    .collect(),
            )
        }
        "duplicate" => single(&p::DUPLICATE, &["duplicate"]),
        "unauthorized" | "forbidden" => single(&p::UNAUTHORIZED, &["unauthorized"]),
        "invalid" => single(&p::VALIDATION_ERROR, &["validation_error"]),
        "fault" => {
            let effect = e.outcome.get("effect").cloned().unwrap_or(Value::Null);
            match effect.get("type").and_then(Value::as_str).unwrap_or_default() {
                "status" => match effect.get("status").and_then(Value::as_u64).unwrap_or(0) {
                    429 => single(&p::RATE_LIMITED, &["rate_limited"]),
                    500..=599 => single(&p::SERVER_ERROR, &["server_error"]),
                    _ => Expect::Unknown,
                },
                "rate_limited" => single(&p::RATE_LIMITED, &["rate_limited"]),
                "reset" | "empty" => single(&p::TRANSPORT_ERROR, &["transport_error"]),
                "malformed" => single(&p::UNEXPECTED_RESPONSE, &["unexpected_response"]),
                "truncated" => single(&p::UNEXPECTED_RESPONSE, &["unexpected_response", "transport_error"]),
                _ => Expect::Unknown,
            }
        }
        // malformed, too_large, unrouted, …: the request itself was wrong (request properties).
        _ => Expect::Unknown,
    }
}

/// Ids compare as JSON, or as text (`301` equals `"301"`).
fn same_id(expected: &Value, actual: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    same(expected, actual) || text(expected) == text(actual)
}

fn outcome_json(o: &ClientOutcome) -> String {
    serde_json::to_string(o).unwrap_or_default()
}

fn response_checks(ctx: &Context<'_>, case: &Case, call: &Call, v: &mut Verdicts) {
    let reply = match &call.reply {
        Err(why) => {
            v.record(&p::ANSWERS, Verdict::fail(why.clone(), "an answer line", "(no answer)"));
            return;
        }
        Ok(value) => Reply::from_json(value),
    };
    let outcome = match reply {
        Ok(Reply::Outcome { outcome, .. }) => outcome,
        Ok(Reply::Skipped { message, .. }) => {
            v.record(&p::ANSWERS, Verdict::skip(format!("the client skipped the case: {message}")));
            return;
        }
        Ok(Reply::Errored { message, .. }) => {
            v.record(&p::ANSWERS, Verdict::fail(format!("the client errored: {message}"), "an outcome", "errored"));
            return;
        }
        Err(e) => {
            v.record(&p::ANSWERS, Verdict::fail(e, "a reply", "(unreadable reply)"));
            return;
        }
    };
    let limit = ctx.client_timeout_ms + 1000;
    if call.elapsed_ms > limit {
        v.record(
            &p::ANSWERS,
            Verdict::fail(
                format!(
                    "the client answered after {} ms, beyond its time-out of {} ms",
                    call.elapsed_ms, ctx.client_timeout_ms
                ),
                format!("an answer within {limit} ms"),
                format!("{} ms", call.elapsed_ms),
            ),
        );
    } else {
        v.record(&p::ANSWERS, Verdict::Pass);
    }

    let last = call.entries.iter().rev().find(|e| is_create(ctx, e));
    let expect = match last {
        Some(e) => expectation(ctx, e),
        None if case.broken.is_some() && call.entries.is_empty() => {
            Expect::Single { property: &p::VALIDATION_ERROR, kinds: vec!["validation_error"], id: None }
        }
        None => Expect::Unknown,
    };
    match expect {
        Expect::Unknown => {}
        Expect::Single { property, kinds, id } => {
            let all_entries_ok = match &outcome {
                ClientOutcome::Bulk { entries } if ctx.vendor.create().bulk => {
                    !entries.is_empty() && entries.iter().all(|e| kinds.contains(&e.kind()))
                }
                o => kinds.contains(&o.kind()),
            };
            if all_entries_ok {
                v.record(property, Verdict::Pass);
            } else {
                let message = match last {
                    Some(e) => format!(
                        "the mock answered HTTP {} ({}) but the client reported `{}`",
                        e.status,
                        kinds.join(" or "),
                        outcome.kind()
                    ),
                    None => format!(
                        "no request reached the mock and the input is invalid, so only {} is right; the client reported `{}`",
                        kinds.join(" or "),
                        outcome.kind()
                    ),
                };
                v.record(
                    property,
                    Verdict::fail(
                        message,
                        kinds.iter().map(|k| format!("{{\"kind\":\"{k}\"}}")).collect::<Vec<_>>().join(" or "),
                        outcome_json(&outcome),
                    ),
                );
            }
            if property.id == p::CREATED.id {
                if let ClientOutcome::Created { id: got } = &outcome {
                    check_id(ctx, id.as_ref(), got.as_ref(), v);
                }
            }
        }
        Expect::Bulk(expected) => {
            let expected_json = |entries: &[(&Property, &str, Option<Value>)]| {
                let list: Vec<Value> = entries
                    .iter()
                    .map(|(_, k, id)| match id {
                        Some(id) => serde_json::json!({"kind": k, "id": id}),
                        None => serde_json::json!({"kind": k}),
                    })
                    .collect();
                pretty(&serde_json::json!({"kind": "bulk", "entries": list}))
            };
            let ClientOutcome::Bulk { entries } = &outcome else {
                for (property, ..) in &expected {
                    v.record(
                        property,
                        Verdict::fail(
                            format!("the vendor answered per entry but the client reported `{}`", outcome.kind()),
                            expected_json(&expected),
                            pretty(&serde_json::to_value(&outcome).unwrap_or_default()),
                        ),
                    );
                }
                return;
            };
            if entries.len() != expected.len() {
                for (property, ..) in &expected {
                    v.record(
                        property,
                        Verdict::fail(
                            format!("{} entries reported for {} sent", entries.len(), expected.len()),
                            expected_json(&expected),
                            pretty(&serde_json::to_value(&outcome).unwrap_or_default()),
                        ),
                    );
                }
                return;
            }
            for (i, ((property, kind, id), got)) in expected.iter().zip(entries).enumerate() {
                if got.kind() == *kind {
                    v.record(property, Verdict::Pass);
                } else {
                    v.record(
                        property,
                        Verdict::fail(
                            format!("entry {i}: the vendor answered `{kind}` but the client reported `{}`", got.kind()),
                            expected_json(&expected),
                            pretty(&serde_json::to_value(&outcome).unwrap_or_default()),
                        ),
                    );
                }
                if let (ClientOutcome::Created { id: got_id }, true) = (got, *kind == "created") {
                    check_id(ctx, id.as_ref(), got_id.as_ref(), v);
                }
            }
        }
    }
}

fn check_id(ctx: &Context<'_>, expected: Option<&Value>, got: Option<&Value>, v: &mut Verdicts) {
    let Some(path) = &ctx.vendor.create().reported_id else {
        v.record(&p::ID, Verdict::skip("the spec's success answer carries no id (no x-mock.reported_id)"));
        return;
    };
    match (expected, got) {
        (Some(e), Some(g)) if same_id(e, g) => v.record(&p::ID, Verdict::Pass),
        (Some(e), g) => v.record(
            &p::ID,
            Verdict::fail(
                format!(
                    "the answer's `{path}` is {e}; the client reported {}",
                    g.map_or("no id".into(), ToString::to_string)
                ),
                format!("{{\"kind\":\"created\",\"id\":{e}}}"),
                match g {
                    Some(g) => format!("{{\"kind\":\"created\",\"id\":{g}}}"),
                    None => "{\"kind\":\"created\"}".into(),
                },
            ),
        ),
        (None, _) => v.record(&p::ID, Verdict::skip(format!("the answer had no id at `{path}`"))),
    }
}

fn sequence_check(calls: &[Call], v: &mut Verdicts) {
    let [first, second] = calls else { return };
    let (Some(a), Some(b)) = (first.outcome(), second.outcome()) else {
        v.record(&p::CREATE_THEN_DUPLICATE, Verdict::skip("a create of the sequence got no outcome"));
        return;
    };
    let all = |o: &ClientOutcome, kind: &str| match o {
        ClientOutcome::Bulk { entries } => !entries.is_empty() && entries.iter().all(|e| e.kind() == kind),
        o => o.kind() == kind,
    };
    let mock_words = |c: &Call| c.entries.last().map_or("nothing".to_owned(), |e| e.outcome_kind().to_owned());
    let accepted = first.entries.last().is_some_and(|e| {
        e.outcome_kind() == "created"
            || (e.outcome_kind() == "bulk"
                && e.outcome.get("failed").and_then(Value::as_array).is_some_and(Vec::is_empty))
    });
    if !accepted {
        v.record(
            &p::CREATE_THEN_DUPLICATE,
            Verdict::skip(format!(
                "the mock did not accept the first create (`{}`): see the request properties",
                mock_words(first)
            )),
        );
        return;
    }
    if all(&a, "created") && all(&b, "duplicate") {
        v.record(&p::CREATE_THEN_DUPLICATE, Verdict::Pass);
    } else {
        v.record(
            &p::CREATE_THEN_DUPLICATE,
            Verdict::fail(
                format!(
                    "the same input twice gave `{}` then `{}` (the mock answered `{}` then `{}`)",
                    a.kind(),
                    b.kind(),
                    mock_words(first),
                    mock_words(second)
                ),
                "created\nduplicate",
                format!("{}\n{}", outcome_json(&a), outcome_json(&b)),
            ),
        );
    }
}

fn describe_entries(entries: &[JournalEntry]) -> String {
    if entries.is_empty() {
        return "(no request)".into();
    }
    entries.iter().map(|e| format!("{} {} → {}", e.method, e.path, e.status)).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn model(name: &str) -> VendorModel {
        let specs = vendor_mock::Specs::embedded().expect("embedded specs load");
        VendorModel::new(std::sync::Arc::clone(specs.vendor(name).expect("a vendor"))).expect("a model")
    }

    fn entry(model: &VendorModel, headers: &[(&str, &str)], query: Option<&str>, body: &Value) -> JournalEntry {
        JournalEntry {
            seq: 1,
            vendor: Some(model.name().to_owned()),
            operation: Some(model.create().id.clone()),
            method: model.create().method.to_string(),
            path: model.create().path.clone(),
            query: query.map(str::to_owned),
            version: "HTTP/1.1".into(),
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
            header_case: "raw".into(),
            body: body.to_string(),
            status: 200,
            response: json!({}),
            outcome: json!({"kind": "created"}),
        }
    }

    fn judge(model: &VendorModel, creds: &[(&str, &str)], input: &Value, e: JournalEntry, masked: bool) -> Verdicts {
        let credentials: BTreeMap<String, String> =
            creds.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let schema = crate::schema::compile(model.schema()).expect("compiles");
        let ctx =
            Context { vendor: model, schema: &schema, credentials: &credentials, client_timeout_ms: 5000, masked };
        let case =
            Case { scenario: Scenario::Create, input: input.clone(), precreate: Vec::new(), fault: None, broken: None };
        let call = Call {
            request: CreateClient {
                cmd: "create_client".into(),
                seq: 1,
                vendor: model.name().to_owned(),
                base_url: "http://127.0.0.1:1".into(),
                credentials: credentials.clone(),
                input: input.clone(),
                timeout_ms: None,
            },
            reply: Ok(json!({"seq": 1, "outcome": {"kind": "created"}})),
            entries: vec![e],
            elapsed_ms: 3,
        };
        evaluate(&ctx, &case, &[call])
    }

    fn word(v: &Verdicts, id: &str) -> &'static str {
        v.get(id).map_or("none", Verdict::word)
    }

    const AH_CREDS: [(&str, &str); 2] = [("api_key", "ck_0123456789"), ("company_id", "64b7f0c2a1b2c3d4e5f60718")];

    fn ah_input() -> Value {
        json!([{"firstName":"A","lastName":"B","email":"a@b.io","isConvertedClient":false}])
    }

    #[test]
    fn the_header_case_is_checked_only_when_the_raw_names_are_known() {
        let m = model("agencyhandy");
        let headers = [
            ("x-api-key", "ck_0123456789"),
            ("companyid", "64b7f0c2a1b2c3d4e5f60718"),
            ("Content-Type", "application/json"),
        ];
        let e = entry(&m, &headers, None, &ah_input());
        let v = judge(&m, &AH_CREDS, &ah_input(), e.clone(), false);
        assert_eq!(word(&v, p::AUTH_HEADER_CASE.id), "fail");
        assert_eq!(word(&v, p::AUTH.id), "pass", "the name matches case-insensitively");
        let lowercase = JournalEntry { header_case: "lowercase".into(), ..e };
        let v = judge(&m, &AH_CREDS, &ah_input(), lowercase, false);
        match v.get(p::AUTH_HEADER_CASE.id) {
            Some(Verdict::Skip { reason }) => assert!(reason.contains("could not be checked"), "{reason}"),
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn a_credential_in_the_body_or_another_header_is_not_confined() {
        let m = model("agencyhandy");
        let input = json!([{"firstName":"ck_0123456789","lastName":"B","email":"a@b.io","isConvertedClient":false}]);
        let headers = [
            ("x-api-key", "ck_0123456789"),
            ("companyId", "64b7f0c2a1b2c3d4e5f60718"),
            ("X-Debug", "key=ck_0123456789"),
            ("Content-Type", "application/json"),
        ];
        let v = judge(&m, &AH_CREDS, &input, entry(&m, &headers, None, &input), false);
        match v.get(p::CREDENTIAL_CONFINED.id) {
            Some(Verdict::Fail { message, .. }) => {
                assert!(message.contains("in the body") && message.contains("header `X-Debug`"), "{message}");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_query_credential_must_be_the_only_query_parameter_and_sent_once() {
        let m = model("smartlead");
        let input = json!({"email":"a@b.io","name":"x"});
        let creds = [("api_key", "ck_0123456789")];
        let ct = [("Content-Type", "application/json")];
        let ok = judge(&m, &creds, &input, entry(&m, &ct, Some("api_key=ck_0123456789"), &input), false);
        assert_eq!((word(&ok, p::ROUTE.id), word(&ok, p::AUTH.id)), ("pass", "pass"));
        let extra = judge(&m, &creds, &input, entry(&m, &ct, Some("api_key=ck_0123456789&debug=1"), &input), false);
        assert_eq!(word(&extra, p::ROUTE.id), "fail");
        let twice = judge(&m, &creds, &input, entry(&m, &ct, Some("api_key=ck_0123456789&api_key=x"), &input), false);
        assert_eq!(word(&twice, p::AUTH.id), "fail");
    }

    #[test]
    fn a_bearer_scheme_is_case_insensitive_but_the_token_is_exact() {
        let m = model("cellcast");
        let input =
            json!({"name":"n","email":"a@b.io","password":"p","companyName":"c","industry":"i","isSharingCredit":true});
        let creds = [("token", "ck_0123456789")];
        for (value, expected) in
            [("bearer ck_0123456789", "pass"), ("Bearer ck_0123456780", "fail"), ("ck_0123456789", "fail")]
        {
            let headers = [("Authorization", value), ("Content-Type", "application/json")];
            let v = judge(&m, &creds, &input, entry(&m, &headers, None, &input), false);
            assert_eq!(word(&v, p::AUTH.id), expected, "{value}");
        }
    }

    #[test]
    fn a_masking_journal_still_lets_credentials_and_passwords_match() {
        let m = model("cellcast");
        let input = json!({"name":"n","email":"a@b.io","password":"hunter2","companyName":"c","industry":"i","isSharingCredit":true});
        let mut shown = input.clone();
        shown["password"] = json!(HIDDEN);
        let creds = [("token", "ck_0123456789")];
        let headers = [("Authorization", "Bearer ck_0****"), ("Content-Type", "application/json")];
        let v = judge(&m, &creds, &input, entry(&m, &headers, None, &shown), true);
        assert_eq!((word(&v, p::AUTH.id), word(&v, p::BODY_CARRIED.id)), ("pass", "pass"));
        let v = judge(&m, &creds, &input, entry(&m, &headers, None, &shown), false);
        assert_eq!(word(&v, p::BODY_CARRIED.id), "fail", "without masking, `****` is not the password");
    }

    #[test]
    fn merged_verdicts_keep_the_failure() {
        let mut v = Verdicts::default();
        v.record(&p::AUTH, Verdict::skip("x"));
        v.record(&p::AUTH, Verdict::Pass);
        assert_eq!(word(&v, p::AUTH.id), "pass");
        v.record(&p::AUTH, Verdict::fail("m", "e", "a"));
        v.record(&p::AUTH, Verdict::Pass);
        assert_eq!(word(&v, p::AUTH.id), "fail");
        assert_eq!(v.failed(), vec![p::AUTH.id]);
    }
}
