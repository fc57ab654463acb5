//! What a client should have reported, from what the mock actually answered (its journal).

use serde_json::Value;
use vendor_mock::{Effect, Entry, Outcome};

use super::{Exchange, Sent};
use crate::model::{Call, Scenario};

/// What the vendor's answer was, as far as a client's outcome goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Created,
    Duplicate,
    /// 401, or 403 for a tenant that is not the account's.
    Unauthorized,
    Invalid,
    RateLimited,
    ServerError,
    /// No answer: reset, closed, or later than the client's time-out.
    Transport,
    /// A 200 whose body is not JSON.
    Unreadable,
    /// A body cut short: unreadable, or a broken connection.
    Truncated,
    /// An answer the vendor never gives to a create: a status it does not document for one, a
    /// 4xx that is not JSON, a success without its documented shape.
    Undocumented,
}

impl Answer {
    /// The answer an injected documented example stands for, by the scenario its status
    /// documents ([`Scenario::documented_by`]).
    pub(crate) fn documented_by(scenario: Scenario) -> Self {
        match scenario {
            Scenario::Validation => Self::Invalid,
            Scenario::Unauthorized | Scenario::Forbidden => Self::Unauthorized,
            Scenario::Duplicate => Self::Duplicate,
            Scenario::RateLimited => Self::RateLimited,
            Scenario::ServerError => Self::ServerError,
            _ => Self::Undocumented,
        }
    }

    /// The outcome kinds a client may report for it.
    pub(crate) fn kinds(self) -> &'static [&'static str] {
        match self {
            Self::Created => &["created"],
            Self::Duplicate => &["duplicate"],
            Self::Unauthorized => &["unauthorized"],
            Self::Invalid => &["validation_error"],
            Self::RateLimited => &["rate_limited"],
            Self::ServerError => &["server_error"],
            Self::Transport => &["transport_error"],
            Self::Unreadable => &["unexpected_response"],
            Self::Truncated => &["unexpected_response", "transport_error"],
            Self::Undocumented => &["unexpected_response"],
        }
    }
}

/// What the client should have reported for one call.
#[derive(Debug)]
pub(crate) enum Expect {
    /// One outcome; `id` is the id the answer carries (for `created`).
    Single { answer: Answer, id: Option<Value> },
    /// A bulk vendor's per-entry answer, in input order.
    Bulk(Vec<(Answer, Option<Value>)>),
    /// Nothing to judge: the request itself was wrong (the request properties say why).
    Unknown,
}

/// The expectation of a call, and the journalled create it comes from (none: nothing was sent).
pub(crate) fn of_call<'e>(x: &Exchange<'_>, call: &Call, creates: &'e [Sent<'_>]) -> (Expect, Option<&'e Entry>) {
    let last = creates.last().map(|s| s.entry);
    let expect = match last {
        Some(e) if late(x, call) => Expect::Single { answer: Answer::Transport, id: None }.or_unknown(e),
        Some(e) => of_entry(x, e),
        // A client that gave up before the late answer: the mock journals no request it did not
        // answer, and the only right outcome is a broken connection.
        None if late(x, call) => Expect::Single { answer: Answer::Transport, id: None },
        None if x.case.broken.is_some() && call.entries.is_empty() => {
            Expect::Single { answer: Answer::Invalid, id: None }
        }
        None => Expect::Unknown,
    };
    (expect, last)
}

impl Expect {
    /// Unknown when the request itself was refused as wrong (not routed, not JSON, …).
    fn or_unknown(self, e: &Entry) -> Self {
        match e.outcome {
            Outcome::Malformed { .. } | Outcome::TooLarge { .. } | Outcome::Timeout => Self::Unknown,
            _ => self,
        }
    }
}

/// Whether the mock answered later than the client's time-out (an injected latency beyond it).
pub(crate) fn late(x: &Exchange<'_>, call: &Call) -> bool {
    let timeout = call.request.timeout_ms.unwrap_or(x.ctx.client_timeout_ms);
    matches!(x.case.fault, Some(Effect::Latency { ms, .. }) if ms > timeout)
}

fn of_entry(x: &Exchange<'_>, e: &Entry) -> Expect {
    let single = |answer| Expect::Single { answer, id: None };
    match &e.outcome {
        Outcome::Created { .. } => {
            Expect::Single { answer: Answer::Created, id: x.ctx.vendor.reported_ids(&e.response).into_iter().next() }
        }
        Outcome::Bulk { created, failed } => {
            let failed: Vec<u64> = failed.iter().filter_map(|f| f.get("index").and_then(Value::as_u64)).collect();
            let total = *created as u64 + failed.len() as u64;
            let mut ids = x.ctx.vendor.reported_ids(&e.response).into_iter();
            Expect::Bulk(
                (0..total)
                    .map(
                        |i| if failed.contains(&i) { (Answer::Duplicate, None) } else { (Answer::Created, ids.next()) },
                    )
                    .collect(),
            )
        }
        Outcome::Duplicate { .. } => single(Answer::Duplicate),
        Outcome::Unauthorized { .. } | Outcome::Forbidden { .. } => single(Answer::Unauthorized),
        Outcome::Invalid { .. } => single(Answer::Invalid),
        Outcome::RateLimited { .. } => single(Answer::RateLimited),
        Outcome::Fault { effect } => match effect {
            Effect::Status { status: 429 } | Effect::RateLimited { .. } => single(Answer::RateLimited),
            Effect::Status { status: 500..=599 } => single(Answer::ServerError),
            Effect::Reset | Effect::Empty => single(Answer::Transport),
            Effect::Malformed => single(Answer::Unreadable),
            Effect::Truncated => single(Answer::Truncated),
            Effect::Status { status } if x.ctx.vendor.undocumented_statuses().contains(status) => {
                single(Answer::Undocumented)
            }
            // A documented example answer the mock never gives itself means what its status
            // documents; any other is an answer the vendor never gives (the undocumented scenario).
            Effect::Respond { status, body, .. } => single(
                x.ctx
                    .vendor
                    .injected_example(*status, body)
                    .map_or(Answer::Undocumented, |(s, _)| Answer::documented_by(s)),
            ),
            _ => Expect::Unknown,
        },
        // malformed, too_large, unrouted, …: the request itself was wrong (request properties).
        _ => Expect::Unknown,
    }
}
