//! Generated credential values: mixed case, reserved and non-ASCII characters, within what each
//! credential's location can carry.
//!
//! - a query parameter carries any text once percent-encoded: `+ / & = % ? #`, spaces and
//!   non-ASCII letters (a client that does not encode its API key sends another one);
//! - a header carries visible ASCII (no spaces, which a server may trim);
//! - a Bearer token carries the RFC 6750 token characters (`A-Z a-z 0-9 - . _ ~ + /`, then `=`s).
//!
//! Every value starts with `ck_` and a letter or digit, so that a masked value (`ck_X****`) stays
//! recognisable and no value starts with a prefix the vendor refuses (`expired`). Shrinking goes
//! to `ck_a`.

use std::collections::BTreeMap;

use proptest::prelude::*;
use vendor_mock::spec::{CredentialLocation, CredentialPart};

const ALNUM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// What a query parameter's value may hold, encoded.
const QUERY: &str = "+/&=%?# ~.-_:;,@!$'()*éü漢";
/// Visible ASCII but letters and digits (header values).
const HEADER: &str = "!#$%&'*+-.^_`|~/=,;:@\"\\()[]{}<>?";
/// RFC 6750 `b64token` characters but letters and digits.
const TOKEN: &str = "-._~+/";

/// The characters a credential part's value is drawn from (letters and digits first).
fn alphabet(location: CredentialLocation) -> Vec<char> {
    let extra = match location {
        CredentialLocation::Query => QUERY,
        CredentialLocation::Header => HEADER,
        CredentialLocation::Bearer => TOKEN,
    };
    ALNUM.chars().chain(extra.chars()).collect()
}

/// Values for one credential part.
pub(crate) fn value(part: &CredentialPart) -> BoxedStrategy<String> {
    let first: Vec<char> = ALNUM.chars().collect();
    let rest = proptest::collection::vec(proptest::sample::select(alphabet(part.location)), 0..=16);
    let padding = match part.location {
        CredentialLocation::Bearer => proptest::sample::select(vec!["", "=", "=="]).boxed(),
        _ => Just("").boxed(),
    };
    (proptest::sample::select(first), rest, padding)
        .prop_map(|(first, rest, padding)| format!("ck_{first}{}{padding}", rest.into_iter().collect::<String>()))
        .boxed()
}

/// Values for every part that is not a tenant (tenants are looked up on the mock).
pub(crate) fn strategy(parts: &[CredentialPart]) -> BoxedStrategy<BTreeMap<String, String>> {
    let parts: Vec<&CredentialPart> = parts.iter().filter(|p| !p.tenant).collect();
    let names: Vec<String> = parts.iter().map(|p| p.name.clone()).collect();
    let values: Vec<BoxedStrategy<String>> = parts.into_iter().map(value).collect();
    values.prop_map(move |values| names.iter().cloned().zip(values).collect()).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::sample;

    fn part(location: CredentialLocation) -> CredentialPart {
        let specs = vendor_mock::Specs::embedded().expect("embedded specs");
        specs
            .vendors()
            .iter()
            .flat_map(|v| v.auth.credentials.iter())
            .find(|p| p.location == location && !p.tenant)
            .cloned()
            .expect("a part in that location")
    }

    #[test]
    fn values_stay_within_what_their_location_carries_and_vary_in_case_and_characters() {
        for location in [CredentialLocation::Query, CredentialLocation::Header, CredentialLocation::Bearer] {
            let values = sample(&value(&part(location)), 200, 5);
            let allowed = alphabet(location);
            for v in &values {
                let body = v.strip_prefix("ck_").expect("the prefix").trim_end_matches('=');
                assert!(body.chars().all(|c| allowed.contains(&c)), "{location:?}: {v:?}");
            }
            let special = values.iter().filter(|v| v[3..].chars().any(|c| !c.is_ascii_alphanumeric())).count();
            let upper = values.iter().filter(|v| v.chars().any(|c| c.is_ascii_uppercase())).count();
            assert!(special > 100 && upper > 100, "{location:?}: {special} special, {upper} upper of 200");
        }
    }
}
