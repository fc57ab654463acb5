//! The named properties: stable ids, titles, what each checks, and the function that checks
//! it (in `checks/`), registered together so that the catalogue and its implementation cannot
//! drift apart.

use serde::Serialize;

use crate::checks::{Exchange, request, response};
use crate::verdict::Verdict;

/// A property's check: its verdict on a case, or `None` when the case says nothing about it.
pub type Check = fn(&Exchange<'_>) -> Option<Verdict>;

/// Which side of the exchange a property judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// What the client sent, read from the mock's journal.
    Request,
    /// What the client made of the answer.
    Response,
    /// Several creates in a row.
    Sequence,
}

/// One named property.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Property {
    /// Stable id (`request.auth_header_case`): in reports, replay files and JUnit names.
    pub id: &'static str,
    pub side: Side,
    pub title: &'static str,
    /// What it checks, in one or two sentences.
    pub checks: &'static str,
    /// The function that checks it.
    #[serde(skip)]
    pub check: Check,
}

impl PartialEq for Property {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Property {}

macro_rules! properties {
    ($($name:ident = $id:literal, $side:ident, $check:path, $title:literal, $checks:literal;)*) => {
        $(
            #[doc = $title]
            pub const $name: Property =
                Property { id: $id, side: Side::$side, title: $title, checks: $checks, check: $check };
        )*
        /// Every property, in report order.
        pub const ALL: &[Property] = &[$($name),*];
    };
}

properties! {
    ONE_PER_CREATE = "request.one_per_create", Request, request::one_per_create, "One request per create",
        "Each create sends exactly one request to the mock: none missing, none unexpected. After a 5xx, 429 or broken connection retries are allowed; a client that rejects an invalid input itself may send nothing.";
    NO_RETRY_AFTER_4XX = "request.no_retry_after_4xx", Request, request::no_retry_after_4xx, "No retry after a 4xx",
        "Once the vendor answered a 4xx other than 429 (duplicate, validation error, unauthorized), the client sends nothing more for that create.";
    ROUTE = "request.route", Request, request::route, "Method, path and query",
        "Every request uses the spec's method and path, and its query holds exactly the spec's query credentials (nothing else).";
    AUTH = "request.auth", Request, request::auth, "Credentials where the spec puts them",
        "Each credential part is sent once, in its place (query parameter, header, or `Authorization: Bearer`), with the exact value given.";
    AUTH_HEADER_CASE = "request.auth_header_case", Request, request::auth_header_case, "Case-exact header names",
        "Header names the spec marks case-sensitive (AgencyHandy's `companyId`) are sent in exactly that case, read from the raw request head.";
    CREDENTIAL_CONFINED = "request.credential_confined", Request, request::credential_confined, "Credentials nowhere else",
        "No credential value appears anywhere but its own place: not in the body, the path, other headers, or the query unless the spec puts it there.";
    CONTENT_TYPE = "request.content_type", Request, request::content_type, "JSON content type",
        "The request has one `Content-Type` header whose media type is `application/json`.";
    BODY_SCHEMA = "request.body_schema", Request, request::body_schema, "Body valid against the schema",
        "For a valid input, the body is JSON that validates against the spec's request schema.";
    BODY_CARRIED = "request.body_carried", Request, request::body_carried, "Input carried through unchanged",
        "The body is the input: every field present with the same value, nothing dropped, nothing added (numbers compare by value, key order is free).";
    OPTIONAL_OMITTED = "request.optional_omitted", Request, request::optional_omitted, "Absent fields omitted, not null",
        "A field the input does not have is left out of the body rather than sent as `null`.";
    CREATED = "response.created", Response, response::created, "Success is `created`",
        "When the vendor created the record (for a bulk vendor: an entry), the client reports `created`.";
    ID = "response.id", Response, response::id, "The id from the answer",
        "A `created` outcome carries the id the vendor's answer reports (at the spec's `reported_id`), as a string or number.";
    DUPLICATE = "response.duplicate", Response, response::duplicate, "Duplicate is `duplicate`",
        "When the vendor refused a duplicate (on any of the spec's uniqueness rules, with a stored record or within the request), the client reports `duplicate`, telling it apart from other 400s.";
    UNAUTHORIZED = "response.unauthorized", Response, response::unauthorized, "401 is `unauthorized`",
        "When the vendor refused the credentials (an `expired…` or empty credential: 401; another account's tenant or a credential denied the permission, where the vendor documents that 403), the client reports `unauthorized` (for an empty credential it may do so without sending).";
    VALIDATION_ERROR = "response.validation_error", Response, response::validation_error, "Schema violation is `validation_error`",
        "When the input breaks one constraint of the schema, the client reports `validation_error` (from the vendor's answer, or before sending).";
    VALIDATION_FIELDS = "response.validation_fields", Response, response::validation_fields, "`fields` name the broken field",
        "When a `validation_error` carries `fields`, one of them names the field the case broke (the field itself, its last name, or a field holding it) or a field the vendor's answer named; absent or empty `fields` pass.";
    RATE_LIMITED = "response.rate_limited", Response, response::rate_limited, "429 is `rate_limited`",
        "When the vendor answers 429, the client reports `rate_limited`.";
    SERVER_ERROR = "response.server_error", Response, response::server_error, "5xx is `server_error`",
        "When the vendor answers a 5xx, the client reports `server_error`, not success.";
    TRANSPORT_ERROR = "response.transport_error", Response, response::transport_error, "Broken connection is `transport_error`",
        "When the connection is reset or closed without an answer, or the answer comes later than the client's time-out (`timeout_ms`), the client reports `transport_error`.";
    UNEXPECTED_RESPONSE = "response.unexpected_response", Response, response::unexpected_response, "Unreadable or undocumented answer is `unexpected_response`",
        "When the answer is one the vendor never gives to a create (a 200 whose body is not JSON or lacks the documented success fields, a status it does not document for a create such as 404, 405, 413 or a 403 from a vendor without one, a 4xx that is not JSON), the client reports `unexpected_response`; a body cut short may also be a `transport_error`.";
    ANSWERS = "response.answers", Response, response::answers, "Answers within its time-out",
        "The client answers every create within its time-out (`timeout_ms` + 1 s), without crashing or hanging and without an `errored` reply; under `--require-vendors`, without skipping a vendor (left out of `ready`, or its cases answered `skipped`).";
    CREATE_THEN_DUPLICATE = "sequence.create_then_duplicate", Sequence, response::create_then_duplicate, "Same input twice: created, then duplicate",
        "Creating the same input twice with the same credentials yields `created`, then `duplicate` (a uniqueness rule of the spec applies).";
}

/// The property with this id.
pub fn by_id(id: &str) -> Option<&'static Property> {
    ALL.iter().find(|p| p.id == id)
}

/// The properties as a text table (`vendor-conformance properties`).
pub fn table() -> String {
    let width = ALL.iter().map(|p| p.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for p in ALL {
        out.push_str(&format!("{:width$}  {}\n", p.id, p.title));
        out.push_str(&wrap(p.checks, width + 2, 100));
    }
    out
}

fn wrap(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > width {
            out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_prefixed_by_their_side() {
        let mut ids: Vec<&str> = ALL.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        for p in ALL {
            let prefix = match p.side {
                Side::Request => "request.",
                Side::Response => "response.",
                Side::Sequence => "sequence.",
            };
            assert!(p.id.starts_with(prefix), "{}", p.id);
        }
    }

    #[test]
    fn the_table_lists_every_property_with_its_title() {
        let t = table();
        for p in ALL {
            assert!(t.contains(&format!("{}  ", p.id)) && t.contains(p.title), "{}", p.id);
        }
    }
}
