//! Programmed misbehaviour: latency, error statuses, rate limits, and broken connections.
//!
//! A fault matches requests by vendor, credential and path, and fires for the next `times`
//! matching requests (or until cleared), each time with `probability`. Connection-level effects
//! (reset, empty reply) go through [`crate::conn::ConnControl`], which the server's stream
//! wrapper obeys.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
    /// Answer exactly this: any status, any body text (JSON or not), with this `Content-Type`
    /// (default `application/json; charset=utf-8`). For answers no vendor template gives: an
    /// undocumented status, a proxy's HTML page, a success without its documented shape.
    Respond {
        status: u16,
        #[serde(default)]
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
    },
}

/// The longest body a `respond` fault may carry (the admin API refuses longer ones).
pub const MAX_RESPOND_BODY: usize = 64 * 1024;

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
    fn a_respond_fault_reads_and_writes_as_its_admin_json() {
        let json = r#"{"type":"respond","status":404,"body":"<html>gone</html>","content_type":"text/html"}"#;
        let effect: Effect = serde_json::from_str(json).expect("reads");
        let expected =
            Effect::Respond { status: 404, body: "<html>gone</html>".into(), content_type: Some("text/html".into()) };
        assert_eq!(effect, expected);
        assert_eq!(serde_json::to_string(&effect).expect("writes"), json);
        let bare: Effect = serde_json::from_str(r#"{"type":"respond","status":200}"#).expect("reads");
        assert_eq!(bare, Effect::Respond { status: 200, body: String::new(), content_type: None });
    }

    #[test]
    fn a_probability_fires_about_that_often() {
        let faults = Faults::new(Some(42));
        faults.add(Fault::new(Effect::Empty).probability(0.25));
        let fired = (0..4000).filter(|_| !faults.take("v", "/", &[]).is_empty()).count();
        assert!((800..1200).contains(&fired), "fired {fired} of 4000");
    }
}
