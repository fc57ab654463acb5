//! One scenario of one vendor: proptest generates its cases, each is run and judged, and the
//! first failure of a property is shrunk to a minimal counterexample.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestError, TestRunner};

use crate::error::RunError;
use crate::generate::rng;
use crate::model::Executed;
use crate::plan::{PreparedVendor, Variant, hash};
use crate::properties as p;
use crate::replay;
use crate::report::{self, Event, Failure};
use crate::session::Session;
use crate::verdict::Verdict;

/// The longest a failure is shrunk.
const MAX_SHRINK_TIME: Duration = Duration::from_secs(30);
/// A failure whose case is slow (an injected latency) is shrunk for about this long.
const SLOW_SHRINK_TIME: Duration = Duration::from_secs(3);

/// Per (target, property): how its cases went.
pub(crate) type Tallies = BTreeMap<(String, &'static str), Tally>;

/// How one property's cases went for one target.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    pub pass: u32,
    pub warn: u32,
    pub fail: u32,
    /// Why it was skipped (the first reason).
    pub skip: Option<String>,
}

/// State of one scenario's proptest run.
#[derive(Default)]
struct Search {
    /// The property being shrunk (the first new failure).
    target: Option<&'static str>,
    first: Option<Executed>,
    last_fail: Option<Executed>,
    abort: Option<RunError>,
    shrink_steps: u32,
    shrink_started: Option<Instant>,
    /// New failures of other properties met while shrinking (reported as found).
    side: Vec<(&'static str, Executed)>,
    /// The client crashed or hung: the variant stops here, and its failure is not shrunk (each
    /// step could cost a restart or a whole time-out).
    stopped: bool,
    /// How long the first failing case took: slow cases get fewer shrink steps.
    first_took: Duration,
}

/// What a target's scenarios found so far: failures (shrunk) and warnings (as found), the first
/// of each property.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub failures: Vec<Failure>,
    pub warnings: Vec<Failure>,
    /// Properties reported as failing (not reported again by later scenarios).
    reported: Vec<&'static str>,
    warned: Vec<&'static str>,
}

/// Runs one variant of a scenario; adds the failures and warnings of properties not reported
/// yet for the vendor to `found`.
pub(crate) fn run_variant(
    session: &mut Session<'_>,
    vendor: &PreparedVendor,
    variant: &Variant,
    tallies: &mut Tallies,
    found: &mut Found,
) -> Result<(), RunError> {
    let options = session.options.clone();
    let key = vendor.model().target();
    session.emit(&Event::ScenarioStarted {
        vendor: vendor.model().name().to_owned(),
        revision: vendor.model().revision().to_owned(),
        scenario: variant.scenario,
        variant: variant.name.clone(),
        cases: variant.cases,
    });
    let seed = hash(&(options.seed, key.as_str(), variant.scenario.name(), variant.name.as_str()));
    let mut runner = TestRunner::new_with_rng(config(variant.cases, options.max_shrink_iters), rng(seed));
    let search = RefCell::new(Search::default());
    let known = found.reported.clone();
    let cells = RefCell::new((session, tallies, &mut *found));
    let result = runner.run(&variant.strategy, |case| {
        let mut search = search.borrow_mut();
        if search.abort.is_some() || search.out_of_budget(options.max_shrink_iters) {
            return Ok(());
        }
        let mut cells = cells.borrow_mut();
        let (session, tallies, found) = &mut *cells;
        let started = Instant::now();
        let executed = match session.execute(vendor, &case) {
            Ok(e) => e,
            Err(e) => {
                search.abort = Some(e);
                return Ok(());
            }
        };
        session.emit(&case_event(vendor, &executed, search.target.is_some(), started));
        if search.target.is_none() {
            count(tallies, &key, &executed);
            search.first_took = started.elapsed();
            found.warn(session, vendor, &executed);
        }
        search.judge(executed, &known, tallies, &key)
    });
    let (session, _, found) = cells.into_inner();
    let mut search = search.into_inner();
    if let Some(e) = search.abort.take() {
        return Err(e);
    }
    let minimal = match result {
        Ok(()) => return Ok(()),
        Err(TestError::Fail(_, minimal)) => minimal,
        Err(TestError::Abort(reason)) => {
            return Err(RunError::Usage(format!("{key}/{}: generation gave up: {reason}", variant.label())));
        }
    };
    let (Some(target), Some(first)) = (search.target, search.first.take()) else { return Ok(()) };
    let shrunk = match search.last_fail.take() {
        Some(e) if e.case == minimal => e,
        _ => session.execute(vendor, &minimal)?,
    };
    let mut failing = vec![(target, shrunk, search.shrink_steps)];
    failing.extend(first.verdicts.failed().into_iter().map(|id| (id, first.clone(), 0)));
    failing.extend(std::mem::take(&mut search.side).into_iter().map(|(id, e)| (id, e, 0)));
    for (id, executed, steps) in failing {
        if found.reported.contains(&id) {
            continue;
        }
        let mut failure = report::failure(vendor.model(), id, &executed, steps, &session.base_url());
        replay::save(&mut failure, &executed.case, &options);
        session.emit(&Event::Failure(Box::new(failure.clone())));
        found.failures.push(failure);
        found.reported.push(id);
    }
    Ok(())
}

impl Found {
    /// Reports the first warning of each property (as found: a warning does not stop the search).
    fn warn(&mut self, session: &mut Session<'_>, vendor: &PreparedVendor, executed: &Executed) {
        for id in executed.verdicts.warned() {
            if self.warned.contains(&id) {
                continue;
            }
            let warning = report::failure(vendor.model(), id, executed, 0, &session.base_url());
            session.emit(&Event::Warning(Box::new(warning.clone())));
            self.warnings.push(warning);
            self.warned.push(id);
        }
    }
}

/// proptest's settings for `cases` cases.
fn config(cases: u32, max_shrink_iters: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases.max(1),
        // The search enforces the real limits (steps and time) by answering "passes" without
        // running the case; proptest's own would print to stderr.
        max_shrink_iters: max_shrink_iters.saturating_mul(8).saturating_add(10_000),
        max_shrink_time: 0,
        max_global_rejects: 4096,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

impl Search {
    /// While shrinking: whether the step or time budget is spent (the case then "passes"
    /// without running).
    fn out_of_budget(&mut self, max_steps: u32) -> bool {
        if self.stopped {
            return true;
        }
        if self.target.is_none() {
            return false;
        }
        let started = *self.shrink_started.get_or_insert_with(Instant::now);
        let slow = self.first_took.as_millis() > 0 && self.first_took.saturating_mul(max_steps) > SLOW_SHRINK_TIME;
        let steps = if slow {
            u32::try_from(SLOW_SHRINK_TIME.as_millis() / self.first_took.as_millis().max(1)).unwrap_or(0).max(4)
        } else {
            max_steps
        };
        self.shrink_steps >= steps || started.elapsed() > MAX_SHRINK_TIME
    }

    /// proptest's verdict on a case: a failure of the property being searched for (or, before
    /// one is found, of a property not reported yet for the vendor).
    fn judge(
        &mut self,
        executed: Executed,
        known: &[&'static str],
        tallies: &mut Tallies,
        key: &str,
    ) -> Result<(), TestCaseError> {
        let Some(target) = self.target else {
            // A property already reported for this vendor (by an earlier scenario) is counted,
            // not reported again: the scenario goes on looking for new failures, unless the
            // client crashed or hung.
            let crashed = executed.calls.iter().any(|c| c.reply.is_err());
            let new = executed.verdicts.failed().into_iter().find(|id| !known.contains(id));
            self.stopped = crashed;
            let Some(first) = new else {
                return if crashed { Err(TestCaseError::fail("the client crashed or hung")) } else { Ok(()) };
            };
            self.target = Some(first);
            self.first = Some(executed.clone());
            self.last_fail = Some(executed);
            return Err(TestCaseError::fail(first));
        };
        self.shrink_steps += 1;
        let first_failures = self.first.as_ref().map(|f| f.verdicts.failed()).unwrap_or_default();
        for id in executed.verdicts.failed() {
            let new = id != target && !known.contains(&id) && !first_failures.contains(&id);
            if new && !self.side.iter().any(|(s, _)| *s == id) {
                tallies.entry((key.to_owned(), id)).or_default().fail += 1;
                self.side.push((id, executed.clone()));
            }
        }
        if matches!(executed.verdicts.get(target), Some(Verdict::Fail { .. })) {
            self.last_fail = Some(executed);
            Err(TestCaseError::fail(target))
        } else {
            Ok(())
        }
    }
}

/// Counts a case's verdicts (not while shrinking: the search would count the same case many
/// times).
fn count(tallies: &mut Tallies, key: &str, executed: &Executed) {
    for (id, verdict) in executed.verdicts.iter() {
        let Some(prop) = p::by_id(id) else { continue };
        let t = tallies.entry((key.to_owned(), prop.id)).or_default();
        match verdict {
            Verdict::Pass => t.pass += 1,
            Verdict::Fail { .. } => t.fail += 1,
            Verdict::Warn { .. } => t.warn += 1,
            Verdict::Skip { reason } => {
                t.skip.get_or_insert(reason.clone());
            }
        }
    }
}

fn case_event(vendor: &PreparedVendor, executed: &Executed, shrinking: bool, started: Instant) -> Event {
    Event::Case {
        vendor: vendor.model().name().to_owned(),
        revision: vendor.model().revision().to_owned(),
        scenario: executed.case.scenario,
        shrinking,
        reported: executed.calls.iter().map(crate::model::Call::reported_word).collect(),
        properties: executed.verdicts.iter().map(|(k, v)| (k.to_owned(), v.word().to_owned())).collect(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}
