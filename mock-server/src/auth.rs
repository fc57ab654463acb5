//! Authentication from the spec's credential parts: query parameter, header or Bearer token.

use std::collections::BTreeMap;

use http::request::Parts;
use serde::Deserialize;

use crate::rejection::Rejection;
use crate::spec::{CredentialLocation, CredentialPart, Operation, Vendor};
use crate::state::ids::tenants_of;
use crate::state::unique::Credentials;

/// How header names are compared where a spec asks for an exact case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderCase {
    /// The name must be sent exactly as the spec spells it (what the vendor docs promise).
    #[default]
    Strict,
    /// Any case is accepted (RFC 9110 behaviour).
    Lenient,
}

/// An allow-list of credentials (`--credentials FILE`): per vendor, the accepted accounts.
///
/// ```yaml
/// smartlead:
///   - api_key: sk_test_1
/// agencyhandy:
///   - api_key: ah_key
///     tenants: [64b7f0c2a1b2c3d4e5f60718]   # optional: fixed tenant ids
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct CredentialList(BTreeMap<String, Vec<BTreeMap<String, serde_json::Value>>>);

impl CredentialList {
    /// The accepted accounts, per vendor: each a map of credential part name to value (and
    /// optionally `tenants`, a list of fixed tenant ids).
    pub fn new(accounts: BTreeMap<String, Vec<BTreeMap<String, serde_json::Value>>>) -> Self {
        Self(accounts)
    }

    /// The accepted entry whose every string field equals the request's credential part.
    fn find(&self, vendor: &str, creds: &Credentials, primary: &str) -> Option<&BTreeMap<String, serde_json::Value>> {
        self.0.get(vendor)?.iter().find(|entry| {
            entry.get(primary).and_then(|v| v.as_str())
                == creds.iter().find(|(n, _)| n == primary).map(|(_, v)| v.as_str())
        })
    }

    fn fixed_tenants(entry: &BTreeMap<String, serde_json::Value>) -> Option<Vec<String>> {
        let list = entry.get("tenants")?.as_array()?;
        Some(list.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
    }
}

/// The credential values a request carries, one per credential part of the vendor, read once
/// (in any header case) for fault matching, the journal and [`authenticate`]; with, for each
/// header part, how many copies of the header the request has (in any case).
#[derive(Debug, Default)]
pub(crate) struct Carried(Vec<Option<String>>, Vec<usize>);

impl Carried {
    pub(crate) fn read(vendor: &Vendor, parts: &Parts) -> Self {
        let copies = vendor
            .auth
            .credentials
            .iter()
            .map(|part| match part.location {
                CredentialLocation::Query => 0,
                _ => parts.headers.get_all(part.key.as_str()).iter().count(),
            })
            .collect();
        Self(vendor.auth.credentials.iter().map(|part| read(part, parts)).collect(), copies)
    }

    /// The values present and not empty.
    pub(crate) fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flatten().map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// What is known of a request's header names as they were sent (HTTP/1.x).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SentNames<'a> {
    /// Recorded from the wire.
    Raw(&'a [String]),
    /// Not knowable: HTTP/2 (lowercase by protocol), or a request served in-process.
    Unknown,
    /// The connection's raw-head recorder gave up (issue 13): a case-exact header cannot be
    /// checked, so it fails closed.
    GaveUp(&'a str),
}

/// The request's credentials for an operation, or why they are refused.
pub(crate) fn authenticate(
    vendor: &Vendor,
    op: &Operation,
    carried: &Carried,
    sent: SentNames<'_>,
    case: HeaderCase,
    allow: Option<&CredentialList>,
) -> Result<Credentials, Rejection> {
    let mut creds = Credentials::new();
    for &i in &op.auth {
        let part = &vendor.auth.credentials[i];
        let copies = carried.1.get(i).copied().unwrap_or(0);
        let value = checked(part, carried.0.get(i).cloned().flatten(), copies, sent, case)?;
        let rejected = !part.tenant && vendor.auth.reject_prefixes.iter().any(|p| value.starts_with(p.as_str()));
        if rejected {
            return Err(Rejection::Unauthorized(format!(
                "{} `{}` starts with a rejected prefix",
                part.name,
                mask(&value)
            )));
        }
        // A valid credential without the permission (`x-mock.auth.forbidden_prefixes`).
        if !part.tenant && vendor.auth.forbidden_prefixes.iter().any(|p| value.starts_with(p.as_str())) {
            return Err(Rejection::Forbidden(format!(
                "{} `{}` starts with a forbidden prefix",
                part.name,
                mask(&value)
            )));
        }
        creds.push((part.name.clone(), value));
    }
    let primary = &vendor.auth.credentials[op.auth[0]].name;
    let mut fixed_tenants = None;
    if let Some(allow) = allow {
        let entry = allow
            .find(&vendor.name, &creds, primary)
            .ok_or_else(|| Rejection::Unauthorized(format!("{primary} is not in the credentials file")))?;
        fixed_tenants = CredentialList::fixed_tenants(entry);
    }
    for &i in &op.auth {
        let part = &vendor.auth.credentials[i];
        let (Some(tenants), true) = (&vendor.tenants, part.tenant) else { continue };
        let owner = creds.iter().find(|(n, _)| *n == tenants.credential).map(|(_, v)| v.as_str()).unwrap_or_default();
        let value = creds.iter().find(|(n, _)| *n == part.name).map(|(_, v)| v.as_str()).unwrap_or_default();
        let owned = tenants_of(&vendor.name, tenants, owner, fixed_tenants.as_deref());
        let known = owned.iter().any(|t| tenants.id.path.get(t).and_then(|v| v.as_str()) == Some(value));
        if !known {
            return Err(Rejection::Forbidden(format!(
                "{} `{value}` is not a tenant of this {}",
                part.name, tenants.credential
            )));
        }
    }
    Ok(creds)
}

/// The tenants an operation's caller owns (for `list_tenants`).
pub(crate) fn tenants_for(
    vendor: &Vendor,
    creds: &Credentials,
    allow: Option<&CredentialList>,
) -> Vec<serde_json::Value> {
    let Some(tenants) = &vendor.tenants else { return Vec::new() };
    let owner = creds.iter().find(|(n, _)| *n == tenants.credential).map(|(_, v)| v.as_str()).unwrap_or_default();
    let fixed =
        allow.and_then(|a| a.find(&vendor.name, creds, &tenants.credential)).and_then(CredentialList::fixed_tenants);
    tenants_of(&vendor.name, tenants, owner, fixed.as_deref())
}

/// A credential part's value as the request carries it (header names in any case).
fn read(part: &CredentialPart, parts: &Parts) -> Option<String> {
    match part.location {
        CredentialLocation::Query => form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .find(|(k, _)| k == part.key.as_str())
            .map(|(_, v)| v.into_owned()),
        CredentialLocation::Header => {
            parts.headers.get(part.key.as_str()).and_then(|v| v.to_str().ok()).map(str::to_owned)
        }
        CredentialLocation::Bearer => parts
            .headers
            .get(part.key.as_str())
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned()),
    }
}

/// A value read by [`read`], checked: present, not empty, and under a header name spelled
/// exactly as the spec says where the case matters. A case-exact header fails closed (issue
/// 13): sent twice in any case (which copy would the vendor read?), or on a connection whose
/// header names could not be recorded, it is the vendor's authentication error.
fn checked(
    part: &CredentialPart,
    value: Option<String>,
    copies: usize,
    sent: SentNames<'_>,
    case: HeaderCase,
) -> Result<String, Rejection> {
    let missing =
        || Rejection::Unauthorized(format!("{} missing ({} `{}`)", part.name, location_word(part.location), part.key));
    let case_exact = part.location == CredentialLocation::Header && part.case_sensitive;
    if case_exact && copies > 1 {
        return Err(Rejection::Unauthorized(format!(
            "header `{}` sent {copies} times (in any case); it must be sent once, spelled `{}`",
            part.key, part.key
        )));
    }
    let must_check = case_exact && case == HeaderCase::Strict && value.is_some();
    match (must_check, sent) {
        (true, SentNames::Raw(raw)) if !raw.iter().any(|n| n == &part.key) => {
            let sent = raw.iter().find(|n| n.eq_ignore_ascii_case(&part.key)).cloned().unwrap_or_default();
            Err(Rejection::Unauthorized(format!("header `{sent}` must be spelled `{}` (case-exact)", part.key)))
        }
        (true, SentNames::GaveUp(reason)) => Err(Rejection::Unauthorized(format!(
            "the case of header `{}` cannot be checked on this connection ({reason}); refused, and the \
             connection is closed",
            part.key
        ))),
        _ => value.filter(|v| !v.is_empty()).ok_or_else(missing),
    }
}

fn location_word(l: CredentialLocation) -> &'static str {
    match l {
        CredentialLocation::Query => "query parameter",
        CredentialLocation::Header => "header",
        CredentialLocation::Bearer => "Bearer token in",
    }
}

/// Keeps a secret recognisable in diagnostics without printing it whole.
pub(crate) fn mask(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    if secret.chars().count() <= 4 { "****".into() } else { format!("{shown}****") }
}
