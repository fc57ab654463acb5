//! The vendors' rate limits (`--rate-limits`): fixed windows counted per credential value, in
//! memory and work per request that do not grow with the number of keys.

use std::sync::Mutex;
use std::time::Duration;

/// What the rate limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Under every limit; the numbers are the first window's, for the success headers.
    Pass { limit: u32, remaining: u32, reset: i64 },
    /// Over the limit of this window (the one that frees up last, if several are full).
    Limited { limit: u32, window_seconds: u64, retry_after: u64, reset: i64 },
}

/// Keys kept before windows that have all expired are first pruned.
const RATE_KEYS_KEPT: usize = 10_000;
/// Keys counted at most: past it (after pruning) every counter starts over, with a warning.
const RATE_KEYS_MAX: usize = 1_000_000;

/// Per (hash of the vendor name, hash of the credential value): each window's start and count.
#[derive(Debug)]
struct Counters {
    keys: std::collections::HashMap<(u64, u64), Slot>,
    /// Pruning happens when the map reaches this size, which then doubles from what is left
    /// (issue 13): each request costs the same however many keys there are (pruning is paid
    /// for by the keys added since the last one), where it scanned every key on every request
    /// once there were 10,000.
    prune_at: usize,
    /// Keys looked at while pruning, ever (for the test of that bound).
    examined: u64,
}

impl Default for Counters {
    fn default() -> Self {
        Self { keys: std::collections::HashMap::new(), prune_at: RATE_KEYS_KEPT, examined: 0 }
    }
}

#[derive(Debug)]
struct Slot {
    windows: Vec<(std::time::Instant, u32)>,
    /// When every window has ended: the key can be forgotten.
    expires: std::time::Instant,
}

/// Fixed-window request counters per vendor and credential value (`--rate-limits`).
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<Counters>,
}

impl RateLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one request of `credential` against every window, unless one is full.
    pub(crate) fn check(&self, vendor: &str, limits: &crate::spec::RateLimits, credential: &str) -> Verdict {
        let now = std::time::Instant::now();
        let unix = chrono::Utc::now().timestamp();
        let mut guard = self.lock();
        let all = &mut *guard;
        if all.keys.len() >= all.prune_at {
            all.examined += all.keys.len() as u64;
            all.keys.retain(|_, slot| now < slot.expires);
            if all.keys.len() >= RATE_KEYS_MAX {
                tracing::warn!(
                    keys = all.keys.len(),
                    "more rate-limited keys than {RATE_KEYS_MAX}: every counter starts over"
                );
                all.keys.clear();
            }
            all.prune_at = RATE_KEYS_KEPT.max(2 * all.keys.len());
        }
        let key = (crate::hash::fnv1a(vendor), crate::hash::fnv1a(credential));
        let slot = all.keys.entry(key).or_insert_with(|| Slot { windows: Vec::new(), expires: now });
        let counters = &mut slot.windows;
        counters.resize(limits.windows.len(), (now, 0));
        for ((start, count), w) in counters.iter_mut().zip(&limits.windows) {
            if now >= *start + secs(w.seconds) {
                *start = now;
                *count = 0;
            }
        }
        slot.expires =
            counters.iter().zip(&limits.windows).map(|((start, _), w)| *start + secs(w.seconds)).max().unwrap_or(now);
        let left = |start: std::time::Instant, seconds: u64| {
            let ends = start + secs(seconds);
            // Round up: a client that waits `retry_after` seconds finds the window open.
            ends.saturating_duration_since(now).as_millis().div_ceil(1000).max(1) as u64
        };
        let full = counters
            .iter()
            .zip(&limits.windows)
            .filter(|((_, count), w)| *count >= w.limit)
            .map(|((start, _), w)| (left(*start, w.seconds), w))
            .max_by_key(|(wait, _)| *wait);
        if let Some((retry_after, w)) = full {
            let reset = unix + i64::try_from(retry_after).unwrap_or(i64::MAX - unix);
            return Verdict::Limited { limit: w.limit, window_seconds: w.seconds, retry_after, reset };
        }
        for (_, count) in counters.iter_mut() {
            *count += 1;
        }
        // Spec loading checks that there is a first window.
        let (Some(&(start, count)), Some(w)) = (counters.first(), limits.windows.first()) else {
            return Verdict::Pass { limit: 0, remaining: 0, reset: unix };
        };
        let reset = unix + i64::try_from(left(start, w.seconds)).unwrap_or(0);
        Verdict::Pass { limit: w.limit, remaining: w.limit.saturating_sub(count), reset }
    }

    /// Forgets the counters of every vendor (`None`), of one, or of one credential of one.
    pub(crate) fn forget(&self, vendor: Option<&str>, credential: Option<&str>) {
        let vendor = vendor.map(crate::hash::fnv1a);
        let hash = credential.map(crate::hash::fnv1a);
        self.lock().keys.retain(|(v, c), _| {
            let hit = vendor.is_none_or(|n| n == *v) && hash.is_none_or(|h| h == *c);
            !hit
        });
    }

    /// Keys looked at while pruning, since the start.
    #[cfg(test)]
    fn examined(&self) -> u64 {
        self.lock().examined
    }
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(windows: &[(u64, u32)]) -> crate::spec::RateLimits {
        crate::spec::RateLimits {
            credential: "key".into(),
            windows: windows.iter().map(|&(seconds, limit)| crate::spec::RateWindow { seconds, limit }).collect(),
            headers: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn a_rate_limit_counts_per_credential_and_reports_the_first_window() {
        let limiter = RateLimiter::default();
        let l = limits(&[(60, 3), (3600, 100)]);
        let remaining: Vec<u32> = (0..3)
            .map(|_| match limiter.check("v", &l, "k1") {
                Verdict::Pass { remaining, limit, .. } => {
                    assert_eq!(limit, 3);
                    remaining
                }
                other => panic!("limited too early: {other:?}"),
            })
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        assert!(matches!(limiter.check("v", &l, "k1"), Verdict::Limited { limit: 3, window_seconds: 60, .. }));
        assert!(matches!(limiter.check("v", &l, "k2"), Verdict::Pass { remaining: 2, .. }));
        limiter.forget(Some("v"), Some("k1"));
        assert!(matches!(limiter.check("v", &l, "k1"), Verdict::Pass { remaining: 2, .. }));
    }

    #[test]
    fn the_window_that_frees_up_last_sets_retry_after() {
        let limiter = RateLimiter::default();
        let l = limits(&[(1, 1), (3600, 1)]);
        assert!(matches!(limiter.check("v", &l, "k"), Verdict::Pass { .. }));
        match limiter.check("v", &l, "k") {
            Verdict::Limited { window_seconds, retry_after, .. } => {
                assert_eq!(window_seconds, 3600);
                assert!((3599..=3600).contains(&retry_after), "{retry_after}");
            }
            other => panic!("not limited: {other:?}"),
        }
    }

    #[test]
    fn the_work_per_check_does_not_grow_with_the_number_of_keys() {
        let limiter = RateLimiter::default();
        let l = limits(&[(3600, 1000)]);
        for key in 0..60_000 {
            limiter.check("v", &l, &format!("key-{key}"));
        }
        let before = limiter.examined();
        // 60,000 live keys (an hour's window): 1,000 more checks, half of them by new keys.
        for n in 0..1000 {
            let key = if n % 2 == 0 { format!("key-{n}") } else { format!("new-{n}") };
            assert!(matches!(limiter.check("v", &l, &key), Verdict::Pass { .. }));
        }
        let examined = limiter.examined() - before;
        assert!(examined <= 2 * 60_000, "{examined} keys looked at for 1,000 checks");
        // Amortized: every key added is looked at a bounded number of times overall.
        assert!(limiter.examined() <= 4 * 61_000, "{} keys looked at in all", limiter.examined());
    }
}
