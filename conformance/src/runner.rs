//! Running the suite: the selected vendors at their revisions, each on a mock serving that
//! revision, every scenario of each (`explore.rs`), then per target and property a status.

use std::collections::BTreeMap;
use std::time::Instant;

use vendor_mock::{DEFAULT_REVISION, Specs};

use crate::error::RunError;
use crate::explore::{self, Tallies};
use crate::harness::Client;
pub(crate) use crate::mock::load_specs;
use crate::mock::{MockAccess, start_mock};
use crate::model::Scenario;
use crate::options::{RunOptions, VendorSelection};
use crate::plan::PreparedVendor;
use crate::properties::{self as p, Property};
use crate::protocol::Ready;
use crate::report::{Event, Failure, PropertyResult, RunReport, Status, VendorResult};
use crate::revisions::{self, Target};
use crate::session::Session;

/// Runs the suite: every selected vendor, every scenario.
pub fn run(client: Client, options: RunOptions, events: &mut dyn FnMut(&Event)) -> RunReport {
    let started = Instant::now();
    let mut report =
        RunReport { seed: options.seed, cases: options.cases, strict: options.strict, ..RunReport::default() };
    match Plan::prepare(&options) {
        Ok(mut plan) => {
            report.revisions_named = plan.named;
            let mut outcome = Outcome::default();
            if let Err(e) = plan.drive(client, &options, &mut report, &mut outcome, events) {
                report.error = Some((e.exit_code(), e.to_string()));
            }
            report.vendors = plan.results(&outcome);
            for event in property_events(&report.vendors) {
                events(&event);
            }
            report.failures = outcome.failures;
            report.warnings = outcome.warnings;
        }
        Err(e) => report.error = Some((e.exit_code(), e.to_string())),
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.exit_code = report.compute_exit_code();
    events(&report.finished_event());
    report
}

/// What a run checks, ready to go: the targets, their vendors compiled, a mock per round.
struct Plan {
    targets: Vec<Target>,
    prepared: BTreeMap<String, PreparedVendor>,
    mocks: Vec<Box<dyn MockAccess>>,
    /// How the mocks are described (`http://… (in-process) serving agencyhandy@2026-07`).
    descriptions: Vec<String>,
    /// The run includes another revision than the default: targets are `vendor@revision`.
    named: bool,
}

/// What the targets' scenarios found.
#[derive(Default)]
struct Outcome {
    tallies: Tallies,
    /// Targets not run, and why.
    skipped: BTreeMap<String, String>,
    failures: Vec<Failure>,
    warnings: Vec<Failure>,
}

impl Plan {
    fn prepare(options: &RunOptions) -> Result<Self, RunError> {
        let specs = load_specs(options.specs.as_deref())?;
        let selected = selected_vendors(&specs, &options.vendors)?;
        let targets = revisions::resolve(&specs, &selected, &options.revisions).map_err(RunError::Usage)?;
        let named = targets.iter().any(|t| t.revision != DEFAULT_REVISION);
        let mut prepared = BTreeMap::new();
        for t in targets.iter().filter(|t| t.skip.is_none()) {
            prepared.insert(t.key(), PreparedVendor::at(&specs, &t.vendor, &t.revision)?);
        }
        let mut plan = Self { targets, prepared, mocks: Vec::new(), descriptions: Vec::new(), named };
        for picks in plan.round_picks() {
            let mock = start_mock(&specs, options, &picks)?;
            let serves: Vec<String> = picks.iter().map(|(v, r)| format!("{v}@{r}")).collect();
            plan.descriptions.push(match serves.as_slice() {
                [] => mock.describe(),
                serves => format!("{} serving {}", mock.describe(), serves.join(" ")),
            });
            plan.mocks.push(mock);
        }
        Ok(plan)
    }

    /// The rounds (at least one): the targets one mock can serve together.
    fn rounds(&self) -> Vec<Vec<&Target>> {
        let rounds = revisions::rounds(&self.targets);
        if rounds.is_empty() { vec![Vec::new()] } else { rounds }
    }

    /// Per round, the revisions its mock serves instead of the default ones.
    fn round_picks(&self) -> Vec<Vec<(String, String)>> {
        let pick = |t: &&Target| (t.revision != DEFAULT_REVISION).then(|| (t.vendor.clone(), t.revision.clone()));
        self.rounds().iter().map(|round| round.iter().filter_map(pick).collect()).collect()
    }

    /// How reports name a target.
    fn label(&self, t: &Target) -> String {
        if self.named { t.qualified() } else { t.key() }
    }

    /// Starts the client and runs every round's targets.
    fn drive(
        &mut self,
        client: Client,
        options: &RunOptions,
        report: &mut RunReport,
        outcome: &mut Outcome,
        events: &mut dyn FnMut(&Event),
    ) -> Result<(), RunError> {
        for t in &self.targets {
            if let Some(reason) = &t.skip {
                outcome.skipped.insert(t.key(), reason.clone());
            }
        }
        let mut mocks = std::mem::take(&mut self.mocks).into_iter();
        let first = mocks.next().ok_or_else(|| RunError::Usage("no mock to run against".into()))?;
        let mut session = Session::open(first, client, options.clone(), events)?;
        let ready = session.ready.clone().unwrap_or_else(|| Ready::new("?", "?", "", &[]));
        report.implementation = Some(ready.implementation.clone());
        report.client = session.client_description();
        report.mock = self.descriptions.join(", ");
        session.emit(&Event::RunStarted {
            seed: options.seed,
            cases: options.cases,
            client: session.client_description(),
            mock: report.mock.clone(),
            implementation: ready.implementation.clone(),
            vendors: self.targets.iter().map(|t| self.label(t)).collect(),
        });
        for t in self.targets.iter().filter(|t| t.skip.is_some()) {
            let reason = t.skip.clone().unwrap_or_default();
            session.emit(&Event::VendorSkipped { vendor: t.vendor.clone(), revision: t.revision.clone(), reason });
        }
        let result = self.run_rounds(&mut session, &mut mocks, outcome);
        report.cases_run = session.cases_run;
        result?;
        session.close()
    }

    fn run_rounds(
        &self,
        session: &mut Session<'_>,
        mocks: &mut dyn Iterator<Item = Box<dyn MockAccess>>,
        outcome: &mut Outcome,
    ) -> Result<(), RunError> {
        for (i, round) in self.rounds().iter().enumerate() {
            if i > 0
                && let Some(next) = mocks.next()
            {
                drop(session.replace_mock(next));
            }
            for target in round {
                let Some(vendor) = self.prepared.get(&target.key()) else { continue };
                run_target(session, vendor, target, outcome)?;
            }
        }
        Ok(())
    }

    /// Per target, per property: its status from the tallies.
    fn results(&self, outcome: &Outcome) -> Vec<VendorResult> {
        self.targets
            .iter()
            .map(|target| {
                let key = target.key();
                let skipped = outcome.skipped.get(&key).cloned();
                let properties = p::ALL
                    .iter()
                    .map(|prop| {
                        let t = outcome.tallies.get(&(key.clone(), prop.id)).cloned().unwrap_or_default();
                        let (status, note) = match (&skipped, t.fail, t.warn, t.pass) {
                            // A vendor --require-vendors requires, missing from `ready`.
                            (Some(reason), 1.., ..) => (Status::Fail, Some(reason.clone())),
                            (Some(reason), ..) => (Status::Skip, Some(reason.clone())),
                            (None, 1.., _, _) => (Status::Fail, None),
                            (None, 0, 1.., _) => (Status::Warn, None),
                            (None, 0, 0, 1..) => (Status::Pass, None),
                            (None, 0, 0, 0) => (Status::Skip, Some(t.skip.unwrap_or_else(|| "not exercised".into()))),
                        };
                        let (passed, warned, failed) = (t.pass, t.warn, t.fail);
                        PropertyResult { id: prop.id.to_owned(), status, passed, warned, failed, note }
                    })
                    .collect();
                VendorResult {
                    name: target.vendor.clone(),
                    revision: target.revision.clone(),
                    label: self.label(target),
                    skipped,
                    properties,
                }
            })
            .collect()
    }
}

/// Every scenario of one target (a vendor the client supports).
fn run_target(
    session: &mut Session<'_>,
    vendor: &PreparedVendor,
    target: &Target,
    outcome: &mut Outcome,
) -> Result<(), RunError> {
    let key = target.key();
    let supported = session.ready.as_ref().map(|r| r.vendors.clone()).unwrap_or_default();
    if !supported.contains(&target.vendor) {
        let mut reason = format!("the client does not support {} (its `ready` lists {supported:?})", target.vendor);
        if session.options.require_vendors {
            // Nothing of the vendor ran: the client answered none of its creates.
            reason.push_str("; --require-vendors makes that a failure");
            outcome.tallies.entry((key.clone(), p::ANSWERS.id)).or_default().fail += 1;
        }
        let (vendor, revision) = (target.vendor.clone(), target.revision.clone());
        session.emit(&Event::VendorSkipped { vendor, revision, reason: reason.clone() });
        outcome.skipped.insert(key, reason);
        return Ok(());
    }
    let mut found = explore::Found::default();
    let cases = session.options.cases;
    for scenario in Scenario::ALL {
        let variants = match vendor.variants(scenario, cases) {
            Ok(variants) => variants,
            Err(reason) => {
                for prop in properties_of(scenario) {
                    outcome.tallies.entry((key.clone(), prop.id)).or_default().skip.get_or_insert(reason.clone());
                }
                continue;
            }
        };
        for variant in &variants {
            let result = explore::run_variant(session, vendor, variant, &mut outcome.tallies, &mut found);
            if result.is_err() {
                outcome.failures.append(&mut found.failures);
                outcome.warnings.append(&mut found.warnings);
            }
            result?;
        }
    }
    outcome.failures.append(&mut found.failures);
    outcome.warnings.append(&mut found.warnings);
    Ok(())
}

/// The vendors a run selects, checked against the specs.
fn selected_vendors(specs: &Specs, selection: &VendorSelection) -> Result<Vec<String>, RunError> {
    let names = specs.vendor_names();
    match selection {
        VendorSelection::All => Ok(names),
        VendorSelection::Named(list) => match list.iter().find(|v| !names.contains(v)) {
            Some(unknown) => Err(RunError::Usage(format!(
                "no vendor `{unknown}` in the specs (known: {}, or all)",
                names.join(", ")
            ))),
            None => Ok(list.clone()),
        },
    }
}

/// The properties only one scenario exercises (skipped, with its reason, when it cannot run).
fn properties_of(scenario: Scenario) -> Vec<&'static Property> {
    match scenario {
        Scenario::Duplicate => vec![&p::DUPLICATE],
        Scenario::Sequence => vec![&p::CREATE_THEN_DUPLICATE],
        Scenario::Unauthorized => vec![&p::UNAUTHORIZED],
        _ => Vec::new(),
    }
}

fn property_events(vendors: &[VendorResult]) -> Vec<Event> {
    vendors
        .iter()
        .flat_map(|r| {
            r.properties.iter().map(|prop| Event::Property {
                vendor: r.name.clone(),
                revision: r.revision.clone(),
                property: prop.id.clone(),
                status: prop.status,
                passed: prop.passed,
                warned: prop.warned,
                failed: prop.failed,
                note: prop.note.clone(),
            })
        })
        .collect()
}
