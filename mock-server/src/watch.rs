//! Spec hot reload (`--watch`): polls a spec folder and swaps the specs when a file changes.
//!
//! Polling (every 500 ms by default) needs no platform notification API and notices every kind
//! of change: an edit, a file added or removed, an editor's write-and-rename. A change is a
//! difference in the folder's spec files' names or contents (hashed), not in their times, so
//! that two writes within one timestamp tick are not missed. Specs only `$ref` inside their own
//! file, so the spec files are everything a reload depends on.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::mock::Mock;
use crate::spec::Specs;

/// How often `--watch` looks at the spec files.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// Reloads `dir`'s specs into `mock` whenever its spec files change, until `mock` is dropped.
///
/// The files are looked at when this is called, so a change made after the call is noticed even
/// if the returned future is first polled later. State, journal and faults are kept. A folder
/// whose specs do not load is logged (file, line, problem) and the previous specs go on being
/// served until the files are fixed.
pub fn watch_specs(mock: Arc<Mock>, dir: PathBuf, every: Duration) -> impl Future<Output = ()> + Send + 'static {
    let seen = fingerprint(&dir);
    watch_from(mock, dir, every, seen)
}

/// [`watch_specs`] from a fingerprint taken earlier (before the specs were first loaded).
pub(crate) async fn watch_from(mock: Arc<Mock>, dir: PathBuf, every: Duration, mut seen: Fingerprint) {
    let mock: Weak<Mock> = Arc::downgrade(&mock);
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(mock) = mock.upgrade() else { return };
        let now = fingerprint(&dir);
        if now == seen {
            continue;
        }
        seen = now;
        let loaded = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || Specs::from_dir(&dir)).await
        };
        match loaded {
            Ok(Ok(specs)) => {
                let names = specs.vendor_names().join(", ");
                mock.replace_specs(specs);
                tracing::info!(dir = %dir.display(), vendors = %names, "specs reloaded");
            }
            Ok(Err(e)) => {
                tracing::warn!(dir = %dir.display(), "specs not reloaded, still serving the previous ones: {e}")
            }
            Err(e) => tracing::warn!(dir = %dir.display(), "specs not reloaded: {e}"),
        }
    }
}

/// The spec files of a folder and a hash of each one's contents.
pub(crate) type Fingerprint = Vec<(PathBuf, u64)>;

/// The spec files of a folder: (name, hash of contents), sorted. Unreadable files count as
/// empty, so that a file that becomes readable again is noticed.
pub(crate) fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files: Fingerprint = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .map(|p| {
            let text = std::fs::read(&p).unwrap_or_default();
            let hash = crate::hash::fnv1a(&String::from_utf8_lossy(&text));
            (p, hash)
        })
        .collect();
    files.sort();
    files
}
