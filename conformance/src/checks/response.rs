//! Response-side and sequence properties: what the client made of the vendor's answer, judged
//! against what the mock actually answered.

use serde_json::{Value, json};
use vendor_mock::{Effect, Entry, Outcome};

use super::expect::{self, Answer, Expect};
use super::{Exchange, accepted};
use crate::json::{pretty, same};
use crate::model::Call;
use crate::protocol::{ClientOutcome, Reply};
use crate::verdict::Verdict;

/// `response.answers`: a reply for every create, in time, not `errored`.
pub(crate) fn answers(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.calls.iter().map(|call| answered(x, call)))
}

fn answered(x: &Exchange<'_>, call: &Call) -> Verdict {
    let value = match &call.reply {
        Err(why) => return Verdict::fail(why.clone(), "an answer line", "(no answer)"),
        Ok(value) => value,
    };
    match Reply::from_json(value) {
        Ok(Reply::Outcome { .. }) => {}
        Ok(Reply::Skipped { message, .. }) if x.ctx.require_vendors => {
            return Verdict::fail(
                format!(
                    "the client skipped a case of a vendor its `ready` lists ({message}); --require-vendors makes that a failure"
                ),
                "an outcome",
                "skipped",
            );
        }
        Ok(Reply::Skipped { message, .. }) => return Verdict::skip(format!("the client skipped the case: {message}")),
        Ok(Reply::Errored { message, .. }) => {
            return Verdict::fail(format!("the client errored: {message}"), "an outcome", "errored");
        }
        Err(e) => return Verdict::fail(e, "a reply", "(unreadable reply)"),
    }
    let timeout = call.request.timeout_ms.unwrap_or(x.ctx.client_timeout_ms);
    let limit = timeout + 1000;
    if call.elapsed_ms > limit {
        return Verdict::fail(
            format!("the client answered after {} ms, beyond its time-out of {timeout} ms", call.elapsed_ms),
            format!("an answer within {limit} ms"),
            format!("{} ms", call.elapsed_ms),
        );
    }
    Verdict::Pass
}

/// `response.created`.
pub(crate) fn created(x: &Exchange<'_>) -> Option<Verdict> {
    reported(x, &[Answer::Created])
}

/// `response.duplicate`.
pub(crate) fn duplicate(x: &Exchange<'_>) -> Option<Verdict> {
    reported(x, &[Answer::Duplicate])
}

/// `response.unauthorized`.
pub(crate) fn unauthorized(x: &Exchange<'_>) -> Option<Verdict> {
    reported(x, &[Answer::Unauthorized])
}

/// `response.validation_error`.
pub(crate) fn validation_error(x: &Exchange<'_>) -> Option<Verdict> {
    reported(x, &[Answer::Invalid])
}

/// `response.rate_limited`.
pub(crate) fn rate_limited(x: &Exchange<'_>) -> Option<Verdict> {
    reported(x, &[Answer::RateLimited])
}

/// `response.server_error`.
pub(crate) fn server_error(x: &Exchange<'_>) -> Option<Verdict> {
    reported(x, &[Answer::ServerError])
}

/// `response.transport_error`.
pub(crate) fn transport_error(x: &Exchange<'_>) -> Option<Verdict> {
    reported(x, &[Answer::Transport])
}

/// `response.unexpected_response`.
pub(crate) fn unexpected_response(x: &Exchange<'_>) -> Option<Verdict> {
    reported(x, &[Answer::Unreadable, Answer::Truncated, Answer::Undocumented])
}

/// `response.validation_fields`: the `fields` of a `validation_error`, where given, name the
/// field the case broke or one the vendor's answer named; for an injected documented example
/// answer (no field broken), a field the example's text names (SmartLead's Joi/Boom 400 names
/// `forward_email_body` in `"forward_email_body" must be a string`). Absent or empty `fields`
/// pass.
pub(crate) fn validation_fields(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.calls().filter_map(|(call, creates)| {
        let reported: Vec<String> = match call.outcome()? {
            ClientOutcome::ValidationError { fields } => fields.unwrap_or_default(),
            ClientOutcome::Bulk { entries } => entries
                .into_iter()
                .flat_map(|e| match e {
                    ClientOutcome::ValidationError { fields } => fields.unwrap_or_default(),
                    _ => Vec::new(),
                })
                .collect(),
            _ => return None,
        };
        if reported.is_empty() {
            return None;
        }
        let outcome = creates.last().map(|s| &s.entry.outcome);
        let Some(broken) = &x.case.broken else {
            return example_fields(x, outcome?, &reported);
        };
        let mut named = vec![broken.path.clone()];
        if let Some(Outcome::Invalid { violations }) = outcome {
            named.extend(violations.iter().map(|v| v.field.clone()));
        }
        if reported.iter().any(|f| named.iter().any(|n| names_field(f, n))) {
            return Some(Verdict::Pass);
        }
        Some(Verdict::fail(
            format!(
                "the case broke `{}` ({}) but the client's validation_error names {reported:?}",
                broken.path, broken.description
            ),
            format!("fields naming {}", named.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" or ")),
            format!("{reported:?}"),
        ))
    }))
}

/// For an injected documented example answer: a reported field passes when each of its names
/// is a word of the example (a key, or a word of one of its strings).
fn example_fields(x: &Exchange<'_>, outcome: &Outcome, reported: &[String]) -> Option<Verdict> {
    let Outcome::Fault { effect: Effect::Respond { status, body, .. } } = outcome else {
        return None;
    };
    let (_, example) = x.ctx.vendor.injected_example(*status, body)?;
    let mut said = Vec::new();
    words(&example.body, &mut said);
    if reported.iter().any(|f| field_names(f).iter().all(|n| said.contains(n))) {
        return Some(Verdict::Pass);
    }
    Some(Verdict::fail(
        format!(
            "the documented {} answer `{}` names no field the client's validation_error names ({reported:?})",
            example.status, example.name
        ),
        format!("fields the answer names: {}", pretty(&example.body)),
        format!("{reported:?}"),
    ))
}

/// The words of a JSON value: its keys, and its strings split at what is not a letter, a digit
/// or `_`.
fn words<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(s) => out.extend(s.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty())),
        Value::Array(items) => items.iter().for_each(|v| words(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k);
            words(v, out);
        }),
        _ => {}
    }
}

/// A field's names, without array indexes and separators: `client_users[0].email`,
/// `/client_users/0/email` and `client_users.0.email` are all `[client_users, email]`.
fn field_names(field: &str) -> Vec<&str> {
    field
        .split(['.', '/', '[', ']'])
        .filter(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit()) && *s != "(body)")
        .collect()
}

/// Whether a reported field names the broken one: the same field, its last names (`email` for
/// `client_users[0].email`), or a field that holds it (`client_users`). A broken body (no names)
/// is named by any field.
fn names_field(reported: &str, broken: &str) -> bool {
    let (r, b) = (field_names(reported), field_names(broken));
    b.is_empty() || (!r.is_empty() && (b.ends_with(&r) || b.starts_with(&r)))
}

/// The verdict on the calls whose answer (or, for a bulk vendor, an entry's) is one of `answers`.
fn reported(x: &Exchange<'_>, answers: &[Answer]) -> Option<Verdict> {
    Verdict::worst(x.calls().filter_map(|(call, creates)| {
        let outcome = call.outcome()?;
        let (expect, entry) = expect::of_call(x, call, creates);
        match expect {
            Expect::Single { answer, .. } if answers.contains(&answer) => Some(single(x, answer, &outcome, entry)),
            Expect::Bulk(expected) if expected.iter().any(|(a, _)| answers.contains(a)) => {
                Some(bulk(&expected, answers, &outcome))
            }
            _ => None,
        }
    }))
}

fn single(x: &Exchange<'_>, answer: Answer, outcome: &ClientOutcome, entry: Option<&Entry>) -> Verdict {
    let kinds = answer.kinds();
    let ok = match outcome {
        ClientOutcome::Bulk { entries } if x.ctx.vendor.create().bulk => {
            !entries.is_empty() && entries.iter().all(|e| kinds.contains(&e.kind()))
        }
        o => kinds.contains(&o.kind()),
    };
    if ok {
        return Verdict::Pass;
    }
    let message = match entry {
        Some(e) if answer == Answer::Transport && e.status != 0 => format!(
            "the mock answered HTTP {} later than the client's time-out, so only transport_error is right; \
             the client reported `{}`",
            e.status,
            outcome.kind()
        ),
        Some(e) => format!(
            "the mock answered HTTP {} ({}) but the client reported `{}`",
            e.status,
            kinds.join(" or "),
            outcome.kind()
        ),
        None if answer == Answer::Transport => format!(
            "the mock holds its answer back beyond the client's time-out, so only transport_error is right; \
             the client reported `{}`",
            outcome.kind()
        ),
        None => format!(
            "no request reached the mock and the input is invalid, so only {} is right; the client reported `{}`",
            kinds.join(" or "),
            outcome.kind()
        ),
    };
    let expected = kinds.iter().map(|k| format!("{{\"kind\":\"{k}\"}}")).collect::<Vec<_>>().join(" or ");
    Verdict::fail(message, expected, outcome_json(outcome))
}

fn bulk(expected: &[(Answer, Option<Value>)], answers: &[Answer], outcome: &ClientOutcome) -> Verdict {
    let expected_json = || {
        let list: Vec<Value> = expected
            .iter()
            .map(|(a, id)| match id {
                Some(id) => json!({"kind": a.kinds()[0], "id": id}),
                None => json!({"kind": a.kinds()[0]}),
            })
            .collect();
        pretty(&json!({"kind": "bulk", "entries": list}))
    };
    let actual = || pretty(&serde_json::to_value(outcome).unwrap_or_default());
    let ClientOutcome::Bulk { entries } = outcome else {
        let message = format!("the vendor answered per entry but the client reported `{}`", outcome.kind());
        return Verdict::fail(message, expected_json(), actual());
    };
    if entries.len() != expected.len() {
        let message = format!("{} entries reported for {} sent", entries.len(), expected.len());
        return Verdict::fail(message, expected_json(), actual());
    }
    let wrong = expected
        .iter()
        .zip(entries)
        .enumerate()
        .filter(|(_, ((a, _), _))| answers.contains(a))
        .find(|(_, ((a, _), got))| !a.kinds().contains(&got.kind()));
    match wrong {
        None => Verdict::Pass,
        Some((i, ((a, _), got))) => Verdict::fail(
            format!("entry {i}: the vendor answered `{}` but the client reported `{}`", a.kinds()[0], got.kind()),
            expected_json(),
            actual(),
        ),
    }
}

/// `response.id`: a `created` outcome carries the id the answer reports.
pub(crate) fn id(x: &Exchange<'_>) -> Option<Verdict> {
    Verdict::worst(x.calls().flat_map(|(call, creates)| {
        let outcome = call.outcome();
        let (expect, _) = expect::of_call(x, call, creates);
        let pairs: Vec<(Option<Value>, Option<Value>)> = match (expect, outcome) {
            (Expect::Single { answer: Answer::Created, id }, Some(ClientOutcome::Created { id: got })) => {
                vec![(id, got)]
            }
            (Expect::Bulk(expected), Some(ClientOutcome::Bulk { entries })) if entries.len() == expected.len() => {
                expected
                    .into_iter()
                    .zip(entries)
                    .filter_map(|((answer, id), got)| match (answer, got) {
                        (Answer::Created, ClientOutcome::Created { id: got }) => Some((id, got)),
                        _ => None,
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        pairs.into_iter().map(|(expected, got)| same_id_verdict(x, expected.as_ref(), got.as_ref()))
    }))
}

fn same_id_verdict(x: &Exchange<'_>, expected: Option<&Value>, got: Option<&Value>) -> Verdict {
    let Some(path) = &x.ctx.vendor.create().reported_id else {
        return Verdict::skip("the spec's success answer carries no id (no x-mock.reported_id)");
    };
    match (expected, got) {
        (Some(e), Some(g)) if same_id(e, g) => Verdict::Pass,
        (Some(e), g) => Verdict::fail(
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
        (None, _) => Verdict::skip(format!("the answer had no id at `{path}`")),
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

/// `sequence.create_then_duplicate`: the same input twice gives `created`, then `duplicate`.
pub(crate) fn create_then_duplicate(x: &Exchange<'_>) -> Option<Verdict> {
    let [first, second] = x.calls else { return None };
    let (Some(a), Some(b)) = (first.outcome(), second.outcome()) else {
        return Some(Verdict::skip("a create of the sequence got no outcome"));
    };
    let all = |o: &ClientOutcome, kind: &str| match o {
        ClientOutcome::Bulk { entries } => !entries.is_empty() && entries.iter().all(|e| e.kind() == kind),
        o => o.kind() == kind,
    };
    let mock_words = |c: &Call| c.entries.last().map_or("nothing", |e| e.outcome.label());
    if !first.entries.last().is_some_and(accepted) {
        return Some(Verdict::skip(format!(
            "the mock did not accept the first create (`{}`): see the request properties",
            mock_words(first)
        )));
    }
    if all(&a, "created") && all(&b, "duplicate") {
        return Some(Verdict::Pass);
    }
    Some(Verdict::fail(
        format!(
            "the same input twice gave `{}` then `{}` (the mock answered `{}` then `{}`)",
            a.kind(),
            b.kind(),
            mock_words(first),
            mock_words(second)
        ),
        "created\nduplicate",
        format!("{}\n{}", outcome_json(&a), outcome_json(&b)),
    ))
}

fn outcome_json(o: &ClientOutcome) -> String {
    serde_json::to_string(o).unwrap_or_default()
}
