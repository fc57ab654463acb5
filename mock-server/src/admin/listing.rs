//! Listings whose size the client does not bound (issue 13): the journal is streamed in small
//! batches, so that reading it costs a batch of memory rather than a multiple of the journal;
//! state is read in pages (`limit`, `after`) copied out of the vendor's lock, which is never
//! held while records are parsed, masked or serialized.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, header};
use serde_json::{Map, Value, json};

use crate::journal::filter::Filter;
use crate::mock::Mock;
use crate::redact::Secrets;

/// Entries taken from the journal per batch, and about how many bytes of text.
const BATCH_ENTRIES: usize = 64;
const BATCH_BYTES: usize = 1024 * 1024;

/// Records per state page by default, and at most.
pub(crate) const STATE_PAGE: usize = 100;
pub(crate) const STATE_PAGE_MAX: usize = 1000;

/// `GET /__admin/requests`: `{"requests": [entries…]}`, written as the client reads it.
pub(crate) fn requests(mock: &Arc<Mock>, filter: Filter) -> Response {
    let (after, upto, most) = mock.journal.window(&filter);
    let left = most.unwrap_or(usize::MAX);
    let listing =
        Listing { mock: Arc::clone(mock), secrets: mock.secrets(), filter, after, upto, left, stage: Stage::Open };
    let stream = futures_util::stream::unfold(listing, |mut listing| async move {
        let chunk = listing.next_chunk()?;
        Some((Ok::<_, Infallible>(chunk), listing))
    });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

struct Listing {
    mock: Arc<Mock>,
    secrets: Option<Secrets>,
    filter: Filter,
    after: u64,
    upto: u64,
    /// Entries still to list (a `limit` page after `since`).
    left: usize,
    stage: Stage,
}

#[derive(PartialEq, Eq)]
enum Stage {
    Open,
    Entries { first: bool },
    Done,
}

impl Listing {
    /// The next piece of the answer's JSON text; `None` once it is all written.
    fn next_chunk(&mut self) -> Option<Bytes> {
        let first = match self.stage {
            Stage::Open => {
                self.stage = Stage::Entries { first: true };
                return Some(Bytes::from_static(b"{\"requests\":["));
            }
            Stage::Entries { first } => first,
            Stage::Done => return None,
        };
        let mut out = Vec::new();
        let mut first = first;
        // Batches without a match yield nothing to write: keep going until one has.
        while out.is_empty() {
            let most = BATCH_ENTRIES.min(self.left);
            let (entries, next) = match most {
                0 => (Vec::new(), None),
                most => self.mock.journal.batch(&self.filter, self.after, self.upto, most, BATCH_BYTES),
            };
            self.left -= entries.len();
            for mut entry in entries {
                if let Some(secrets) = &self.secrets {
                    crate::redact::mask_entry(&mut entry, secrets);
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                // An entry is strings and JSON values: it serializes.
                let _ = serde_json::to_writer(&mut out, &entry);
            }
            match next {
                Some(next) => self.after = next,
                None => {
                    out.extend_from_slice(b"]}");
                    self.stage = Stage::Done;
                    return Some(out.into());
                }
            }
        }
        self.stage = Stage::Entries { first };
        Some(out.into())
    }
}

/// `limit` and `after` of a state listing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatePage {
    limit: usize,
    after: u64,
}

impl StatePage {
    /// From a query string; unknown parameters are refused.
    pub(crate) fn parse(query: &str) -> Result<Self, String> {
        let mut page = Self { limit: STATE_PAGE, after: 0 };
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "limit" => {
                    let limit: usize = value.parse().map_err(|_| format!("limit `{value}` is not a number"))?;
                    if limit > STATE_PAGE_MAX {
                        return Err(format!("limit {limit} is over {STATE_PAGE_MAX} records a page"));
                    }
                    page.limit = limit;
                }
                "after" => page.after = value.parse().map_err(|_| format!("after `{value}` is not a number"))?,
                other => return Err(format!("unknown parameter `{other}` (known: limit, after)")),
            }
        }
        Ok(page)
    }
}

/// One page of some vendors' records: by vendor and collection, with every collection's
/// count, and the `after` of the next page (`null` when this is the last).
pub(crate) fn state(
    mock: &Mock,
    vendors: &[String],
    page: StatePage,
) -> (Map<String, Value>, Map<String, Value>, Value) {
    let mut taken = Vec::new();
    let mut counts = Map::new();
    for vendor in vendors {
        // One more than the page, to tell whether there is a next one.
        let found = mock.store.page(vendor, page.after, page.limit + 1);
        counts.insert(vendor.clone(), json!(found.counts));
        taken.extend(found.records.into_iter().map(|(collection, number, text)| (vendor, collection, number, text)));
    }
    taken.sort_by_key(|(_, _, number, _)| *number);
    let next = if taken.len() > page.limit {
        taken.truncate(page.limit);
        taken.last().map_or(Value::Null, |(_, _, number, _)| Value::from(*number))
    } else {
        Value::Null
    };
    let secrets = mock.secrets();
    let mut records: Map<String, Value> = vendors.iter().map(|v| (v.clone(), Value::Object(Map::new()))).collect();
    for (vendor, collection, _, text) in taken {
        let mut record = crate::state::vendor::parse_stored(&text);
        if let Some(secrets) = &secrets {
            crate::redact::mask_json(&mut record, secrets);
        }
        if let Some(Value::Object(by_collection)) = records.get_mut(vendor.as_str()) {
            if let Value::Array(list) = by_collection.entry(collection).or_insert_with(|| Value::Array(Vec::new())) {
                list.push(record);
            }
        }
    }
    (records, counts, next)
}
