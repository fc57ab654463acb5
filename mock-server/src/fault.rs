//! Programmed misbehaviour: latency, error statuses, rate limits, and broken connections.
//!
//! A fault matches requests by vendor, credential and path, and fires for the next `times`
//! matching requests (or until cleared), each time with `probability`. Connection-level effects
//! (reset, empty reply) go through [`ConnControl`], which the server's stream wrapper obeys.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// One programmed misbehaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Assigned when added.
    #[serde(default)]
    pub id: u64,
    /// Only this vendor's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Only requests carrying this credential value (in any credential part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Only this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What happens.
    pub effect: Effect,
    /// Fire for the next N matching requests, then disappear (absent: until cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fire with this probability (0 to 1) on each matching request (absent: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// Wait `ms` (plus up to `jitter_ms` at random), then answer normally.
    Latency {
        ms: u64,
        #[serde(default)]
        jitter_ms: u64,
    },
    /// Answer this status with the vendor's body for it (its template with that status, else
    /// its `server_error` template with the status replaced).
    Status { status: u16 },
    /// Answer the vendor's `rate_limited` template (429) with `Retry-After` and `X-RateLimit-*`.
    RateLimited {
        #[serde(default = "default_retry_after")]
        retry_after: u64,
    },
    /// Reset the TCP connection (RST) without answering.
    Reset,
    /// Close the connection without answering.
    Empty,
    /// Send the head and half of a success-like body, then close.
    Truncated,
    /// Answer 200 with a body that is not JSON.
    Malformed,
}

fn default_retry_after() -> u64 {
    30
}

impl Fault {
    /// A fault with this effect on every request, until cleared.
    pub fn new(effect: Effect) -> Self {
        Self { id: 0, vendor: None, credential: None, path: None, effect, times: None, probability: None }
    }

    /// Only this vendor's requests.
    pub fn vendor(mut self, vendor: &str) -> Self {
        self.vendor = Some(vendor.to_owned());
        self
    }

    /// Only requests carrying this credential.
    pub fn credential(mut self, credential: &str) -> Self {
        self.credential = Some(credential.to_owned());
        self
    }

    /// Only the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Only with this probability.
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }
}

/// The active faults.
#[derive(Debug)]
pub(crate) struct Faults {
    inner: Mutex<(Vec<Fault>, u64, fastrand::Rng)>,
}

impl Faults {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        let rng = seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self { inner: Mutex::new((Vec::new(), 1, rng)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Fault>, u64, fastrand::Rng)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn add(&self, mut fault: Fault) -> u64 {
        let mut inner = self.lock();
        fault.id = inner.1;
        inner.1 += 1;
        let id = fault.id;
        inner.0.push(fault);
        id
    }

    pub(crate) fn list(&self) -> Vec<Fault> {
        self.lock().0.clone()
    }

    pub(crate) fn clear(&self) {
        self.lock().0.clear();
    }

    /// Removes every fault and starts fault ids and the random draws of `probability` again, as
    /// at start (`POST /__admin/reset` of everything: a seeded run then repeats exactly).
    pub(crate) fn restart(&self, seed: Option<u64>) {
        *self.lock() = (Vec::new(), 1, seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed));
    }

    /// Removes one fault; false if there was none with this id.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.0.len();
        inner.0.retain(|f| f.id != id);
        inner.0.len() != before
    }

    /// Removes the faults restricted to this vendor (and, if given, to this credential).
    pub(crate) fn forget(&self, vendor: &str, credential: Option<&str>) {
        self.lock().0.retain(|f| {
            let hit = match credential {
                None => f.vendor.as_deref() == Some(vendor),
                Some(c) => f.vendor.as_deref().is_none_or(|v| v == vendor) && f.credential.as_deref() == Some(c),
            };
            !hit
        });
    }

    /// The effects that fire for this request (latencies, then at most one other), consuming
    /// one of each fired fault's `times`.
    pub(crate) fn take(&self, vendor: &str, path: &str, credentials: &[&str]) -> Vec<Effect> {
        let mut guard = self.lock();
        let (faults, _, rng) = &mut *guard;
        let mut fired = Vec::new();
        let mut decisive = false;
        for fault in faults.iter_mut() {
            let matches = fault.vendor.as_deref().is_none_or(|v| v == vendor)
                && fault.path.as_deref().is_none_or(|p| p == path)
                && fault.credential.as_deref().is_none_or(|c| credentials.contains(&c));
            let is_latency = matches!(fault.effect, Effect::Latency { .. });
            if !matches || (decisive && !is_latency) || fault.times == Some(0) {
                continue;
            }
            if fault.probability.is_some_and(|p| rng.f64() >= p) {
                continue;
            }
            if let Some(n) = &mut fault.times {
                *n -= 1;
            }
            decisive |= !is_latency;
            fired.push(match &fault.effect {
                Effect::Latency { ms, jitter_ms } => Effect::Latency { ms: ms + rng.u64(0..=*jitter_ms), jitter_ms: 0 },
                other => other.clone(),
            });
        }
        faults.retain(|f| f.times != Some(0));
        fired
    }
}

const NORMAL: u8 = 0;
const EMPTY: u8 = 1;
const RESET: u8 = 2;

/// Per-connection switch that a handler flips to break its own connection.
#[derive(Debug, Default)]
pub(crate) struct ConnControl {
    mode: AtomicU8,
}

impl ConnControl {
    /// Close without answering (`reset`: with an RST).
    pub(crate) fn sabotage(&self, reset: bool) {
        self.mode.store(if reset { RESET } else { EMPTY }, Ordering::SeqCst);
    }
}

/// A TCP stream whose writes fail once its [`ConnControl`] is flipped, so that hyper drops the
/// connection without writing the answer; and whose reads fail once nothing has been read or
/// written for `idle` (hyper's header time-out only starts with a request's first byte, so an
/// idle keep-alive connection would otherwise stay open for ever).
#[derive(Debug)]
pub(crate) struct Breakable {
    inner: TcpStream,
    control: Arc<ConnControl>,
    idle: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Breakable {
    pub(crate) fn new(inner: TcpStream, idle: Duration) -> (Self, Arc<ConnControl>) {
        let control = Arc::new(ConnControl::default());
        let deadline = Box::pin(tokio::time::sleep(idle));
        (Self { inner, control: Arc::clone(&control), idle, deadline }, control)
    }

    fn active(&mut self) {
        let next = tokio::time::Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    fn broken(&self) -> Option<io::Error> {
        match self.control.mode.load(Ordering::SeqCst) {
            NORMAL => None,
            mode => {
                if mode == RESET {
                    // Zero linger: closing the socket sends RST instead of FIN.
                    let _ = self.inner.set_zero_linger();
                }
                Some(io::Error::new(io::ErrorKind::ConnectionAborted, "connection broken by a fault"))
            }
        }
    }
}

impl AsyncRead for Breakable {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                self.active();
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle for too long")))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Breakable {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(e) = self.broken() {
            return Poll::Ready(Err(e));
        }
        self.active();
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.broken() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.broken() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

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
        let key = (crate::state::fnv1a(vendor), crate::state::fnv1a(credential));
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
        let vendor = vendor.map(crate::state::fnv1a);
        let hash = credential.map(crate::state::fnv1a);
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

/// Sleeps for every latency effect, and returns the first decisive one.
pub(crate) async fn delay_then_decide(effects: Vec<Effect>) -> Option<Effect> {
    let mut decisive = None;
    for effect in effects {
        match effect {
            Effect::Latency { ms, .. } => tokio::time::sleep(Duration::from_millis(ms)).await,
            other => decisive = Some(other),
        }
    }
    decisive
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_for_the_next_two_requests_fires_twice_then_disappears() {
        let faults = Faults::new(Some(1));
        faults.add(Fault::new(Effect::Status { status: 500 }).times(2));
        assert_eq!(faults.take("v", "/p", &[]).len(), 1);
        assert_eq!(faults.take("v", "/p", &[]).len(), 1);
        assert!(faults.take("v", "/p", &[]).is_empty());
        assert!(faults.list().is_empty());
    }

    #[test]
    fn matchers_restrict_which_requests_a_fault_hits() {
        let faults = Faults::new(Some(1));
        faults.add(Fault::new(Effect::Reset).vendor("a").credential("k1"));
        assert!(faults.take("b", "/p", &["k1"]).is_empty());
        assert!(faults.take("a", "/p", &["k2"]).is_empty());
        assert_eq!(faults.take("a", "/p", &["k1"]), vec![Effect::Reset]);
    }

    #[test]
    fn latency_combines_with_one_decisive_effect_only() {
        let faults = Faults::new(Some(1));
        faults.add(Fault::new(Effect::Latency { ms: 5, jitter_ms: 0 }));
        faults.add(Fault::new(Effect::Empty));
        faults.add(Fault::new(Effect::Reset));
        assert_eq!(faults.take("v", "/", &[]), vec![Effect::Latency { ms: 5, jitter_ms: 0 }, Effect::Empty]);
    }

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

    #[test]
    fn removing_a_fault_by_id_leaves_the_others() {
        let faults = Faults::new(Some(1));
        let a = faults.add(Fault::new(Effect::Empty));
        let b = faults.add(Fault::new(Effect::Reset).vendor("x"));
        assert!(faults.remove(a));
        assert!(!faults.remove(a));
        assert_eq!(faults.list().iter().map(|f| f.id).collect::<Vec<_>>(), [b]);
        faults.forget("x", None);
        assert!(faults.list().is_empty());
    }

    #[test]
    fn a_probability_fires_about_that_often() {
        let faults = Faults::new(Some(42));
        faults.add(Fault::new(Effect::Empty).probability(0.25));
        let fired = (0..4000).filter(|_| !faults.take("v", "/", &[]).is_empty()).count();
        assert!((800..1200).contains(&fired), "fired {fired} of 4000");
    }
}
