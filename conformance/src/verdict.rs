//! A property's verdict on one case, and the verdicts of a case.

use serde::{Deserialize, Serialize};

/// A property's verdict on one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// The vendor tolerates what the client did, but its docs do not promise it (a `null` for
    /// an optional field, a documented default sent explicitly). Fails the run only under
    /// `--strict`.
    Warn {
        message: String,
        expected: String,
        actual: String,
    },
    /// The vendor would refuse or misread it.
    Fail {
        message: String,
        expected: String,
        actual: String,
    },
    Skip {
        reason: String,
    },
}

impl Verdict {
    /// `pass`, `warn`, `fail` or `skip`.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn { .. } => "warn",
            Self::Fail { .. } => "fail",
            Self::Skip { .. } => "skip",
        }
    }

    pub(crate) fn fail(message: impl Into<String>, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self::Fail { message: message.into(), expected: expected.into(), actual: actual.into() }
    }

    pub(crate) fn warn(message: impl Into<String>, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self::Warn { message: message.into(), expected: expected.into(), actual: actual.into() }
    }

    pub(crate) fn skip(reason: impl Into<String>) -> Self {
        Self::Skip { reason: reason.into() }
    }

    /// How much a verdict says: a failure, then a warning, then a pass, then a skip.
    fn rank(&self) -> u8 {
        match self {
            Self::Fail { .. } => 3,
            Self::Warn { .. } => 2,
            Self::Pass => 1,
            Self::Skip { .. } => 0,
        }
    }

    /// The verdict that says most (the first of equals), or `None` when there is none.
    pub(crate) fn worst(verdicts: impl IntoIterator<Item = Self>) -> Option<Self> {
        verdicts.into_iter().fold(None, |worst: Option<Self>, v| match worst {
            Some(w) if w.rank() >= v.rank() => Some(w),
            _ => Some(v),
        })
    }

    /// `(message, expected, actual)` of a failure or a warning.
    pub fn evidence(&self) -> Option<(&str, &str, &str)> {
        match self {
            Self::Fail { message, expected, actual } | Self::Warn { message, expected, actual } => {
                Some((message, expected, actual))
            }
            _ => None,
        }
    }
}

/// The verdicts of one case, one per property judged, in catalogue order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdicts(Vec<(&'static str, Verdict)>);

impl Verdicts {
    /// Records a property's verdict; a second verdict for the same property merges with the first
    /// (a failure wins, then a warning, then a pass, then a skip).
    pub fn record(&mut self, property: &'static str, verdict: Verdict) {
        match self.0.iter_mut().find(|(id, _)| *id == property) {
            Some((_, slot)) => {
                if let Some(worst) = Verdict::worst([slot.clone(), verdict]) {
                    *slot = worst;
                }
            }
            None => self.0.push((property, verdict)),
        }
    }

    /// The verdict of a property, if it was judged.
    pub fn get(&self, id: &str) -> Option<&Verdict> {
        self.0.iter().find(|(p, _)| *p == id).map(|(_, v)| v)
    }

    /// Every verdict, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Verdict)> {
        self.0.iter().map(|(id, v)| (*id, v))
    }

    /// The failing property ids, in catalogue order.
    pub fn failed(&self) -> Vec<&'static str> {
        self.ids(|v| matches!(v, Verdict::Fail { .. }))
    }

    /// The property ids with a warning, in catalogue order.
    pub fn warned(&self) -> Vec<&'static str> {
        self.ids(|v| matches!(v, Verdict::Warn { .. }))
    }

    fn ids(&self, which: impl Fn(&Verdict) -> bool) -> Vec<&'static str> {
        self.0.iter().filter(|(_, v)| which(v)).map(|(id, _)| *id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_verdicts_keep_the_failure_then_the_warning() {
        let mut v = Verdicts::default();
        v.record("p", Verdict::skip("x"));
        v.record("p", Verdict::Pass);
        assert_eq!(v.get("p").map(Verdict::word), Some("pass"));
        v.record("p", Verdict::warn("w", "e", "a"));
        v.record("p", Verdict::Pass);
        assert_eq!(v.get("p").map(Verdict::word), Some("warn"));
        assert_eq!(v.warned(), vec!["p"]);
        v.record("p", Verdict::fail("m", "e", "a"));
        v.record("p", Verdict::warn("w", "e", "a"));
        assert_eq!(v.get("p").map(Verdict::word), Some("fail"));
        assert_eq!((v.failed(), v.warned()), (vec!["p"], vec![]));
    }
}
