//! Which journal entries a listing shows (`GET /__admin/requests`).

use crate::journal::recorded::Recorded;

/// Which entries to list (`GET /__admin/requests`); every given criterion must hold.
#[derive(Debug, Default, Clone)]
pub(crate) struct Filter {
    pub(crate) vendor: Option<String>,
    /// Hash of a credential value, see [`credential_hash`].
    pub(crate) credential: Option<u64>,
    pub(crate) status: Option<StatusFilter>,
    pub(crate) outcome: Option<String>,
    pub(crate) since: Option<Since>,
    /// Only the newest N of the matching entries.
    pub(crate) limit: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusFilter {
    /// `429`
    Exact(u16),
    /// `4xx`: the hundreds digit.
    Class(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Since {
    /// Entries with a greater `seq` (what a poller saw last).
    Seq(u64),
    /// Entries that arrived at or after this Unix time, in milliseconds.
    Time(i64),
}

impl Filter {
    pub(super) fn matches(&self, slot: &Recorded) -> bool {
        let e = slot;
        self.vendor.as_ref().is_none_or(|v| e.vendor_name() == Some(v.as_str()))
            && self.credential.is_none_or(|c| slot.carried(c))
            && self.status.is_none_or(|s| match s {
                StatusFilter::Exact(code) => e.status == code,
                StatusFilter::Class(class) => e.status / 100 == class,
            })
            && self.outcome.as_deref().is_none_or(|o| e.outcome.label() == o)
            && self.since.is_none_or(|s| match s {
                Since::Seq(seq) => e.seq > seq,
                Since::Time(ms) => slot.at_ms >= ms,
            })
    }
}
