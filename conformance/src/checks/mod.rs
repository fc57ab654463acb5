//! The check of every property, one function each, and what they share: the [`Exchange`] being
//! judged (a case, its calls, the mock's journal of them) and its [`Context`].
//!
//! The functions are registered next to their property in `properties.rs`; `judge.rs` runs
//! them. Request-side checks read the mock's journal ([`vendor_mock::Entry`]); response-side
//! checks compare the client's outcome with what the mock actually answered ([`expect`]).

pub(crate) mod expect;
pub(crate) mod request;
pub(crate) mod response;

use std::collections::BTreeMap;

use serde_json::Value;
use vendor_mock::{Entry, HeaderCaseSeen, Outcome};

use crate::model::{Call, Case};
use crate::redact::{HIDDEN, mask};
use crate::vendor::VendorModel;

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
    /// `--require-vendors`: a skipped case of a vendor the client's `ready` lists fails.
    pub require_vendors: bool,
}

/// A case being judged: its calls, and per call the create requests the mock journalled with
/// their bodies read once.
#[derive(Debug)]
pub struct Exchange<'a> {
    pub ctx: &'a Context<'a>,
    pub case: &'a Case,
    pub calls: &'a [Call],
    /// Per call, the journalled creates (requests routed to the create operation).
    sent: Vec<Vec<Sent<'a>>>,
}

/// A create request as journalled, with its body read as JSON (masked values put back).
#[derive(Debug)]
pub(crate) struct Sent<'a> {
    pub entry: &'a Entry,
    pub body: Result<Value, String>,
}

impl<'a> Exchange<'a> {
    pub fn new(ctx: &'a Context<'a>, case: &'a Case, calls: &'a [Call]) -> Self {
        let sent = calls
            .iter()
            .map(|call| {
                call.entries
                    .iter()
                    .filter(|e| is_create(ctx.vendor, e))
                    .map(|entry| Sent { entry, body: read_body(ctx, case, entry) })
                    .collect()
            })
            .collect();
        Self { ctx, case, calls, sent }
    }

    /// Each call with its journalled creates.
    pub(crate) fn calls(&self) -> impl Iterator<Item = (&'a Call, &[Sent<'a>])> {
        self.calls.iter().zip(self.sent.iter().map(Vec::as_slice))
    }

    /// Every journalled create of the case.
    pub(crate) fn creates(&self) -> impl Iterator<Item = &Sent<'a>> {
        self.sent.iter().flatten()
    }
}

/// The body as JSON; where a masking journal shows `****`, the input's value is put back.
fn read_body(ctx: &Context<'_>, case: &Case, e: &Entry) -> Result<Value, String> {
    let mut body: Value = serde_json::from_str(&e.body).map_err(|err| err.to_string())?;
    if ctx.masked {
        unmask(&case.input, &mut body);
    }
    Ok(body)
}

/// A request routed to the vendor's create operation.
fn is_create(vendor: &VendorModel, e: &Entry) -> bool {
    e.vendor.as_deref() == Some(vendor.name())
        && e.operation.as_deref() == Some(vendor.create().id.as_str())
        && e.method.eq_ignore_ascii_case(vendor.create().method.as_str())
}

/// Whether the journal shows header names as they were sent (HTTP/1.1 with the raw head read).
pub(crate) fn names_as_sent(e: &Entry) -> bool {
    e.header_case == HeaderCaseSeen::Raw
}

/// Whether the mock created everything the request asked for (one record, or every entry).
pub(crate) fn accepted(e: &Entry) -> bool {
    match &e.outcome {
        Outcome::Created { .. } => true,
        Outcome::Bulk { failed, .. } => failed.is_empty(),
        _ => false,
    }
}

/// Every value of a header, with its name as the journal shows it.
pub(crate) fn header_values<'e>(e: &'e Entry, name: &str) -> Vec<(&'e str, &'e str)> {
    e.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

/// The value as the journal shows it equals the credential: exactly, or masked by an external
/// mock (`abcd****`: a prefix of the secret, then the mask).
pub(crate) fn matches_secret(shown: &str, secret: &str) -> bool {
    if shown == secret {
        return true;
    }
    match shown.strip_suffix(HIDDEN) {
        Some(prefix) => secret.starts_with(prefix) && secret.chars().count() > prefix.chars().count(),
        None => false,
    }
}

/// Puts the input's values back where a masking journal shows `****` (passwords, tokens). The
/// mock masks a secret field whatever its value's type (a number, an object), except `null` and
/// the empty string.
fn unmask(expected: &Value, actual: &mut Value) {
    match (expected, actual) {
        (e, a) if a.as_str() == Some(HIDDEN) && !e.is_null() && e.as_str() != Some("") => {
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

/// `METHOD /path → status` per entry, for expected/actual texts.
pub(crate) fn describe_entries(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "(no request)".into();
    }
    entries.iter().map(|e| format!("{} {} → {}", e.method, e.path, e.status)).collect::<Vec<_>>().join("\n")
}

/// Masks a header value (keeps a scheme such as `Bearer`).
pub(crate) fn mask_value(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => format!("{scheme} {}", mask(rest)),
        _ => mask(value),
    }
}

#[cfg(test)]
mod tests;
