//! The strategies of the scenarios' cases, each from the spec model: inputs and credentials from
//! the generators, plus what the variant sets up (a clash on one uniqueness rule, a refusal, a
//! fault).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::Value;
use vendor_mock::Effect;
use vendor_mock::spec::Normalize;

use crate::distinct::{Unique, make_distinct, norm, swap_case};
use crate::generate::Generator;
use crate::model::{Case, Refusal, Scenario};

/// How long an injected latency holds the answer back, and the time-out the client is given in
/// that case: the answer comes 150 ms after a client that honours its time-out gave up (each
/// such case costs the latency, plus the wait for its journal entry).
pub(crate) const LATENCY_MS: u64 = 200;
pub(crate) const LATENCY_TIMEOUT_MS: u64 = 50;

/// What every strategy starts from: valid inputs and credentials. Credentials come first in
/// every case's tuple, so that shrinking simplifies them (a few steps) before the input.
#[derive(Clone)]
pub(crate) struct Sources {
    pub valid: BoxedStrategy<Value>,
    pub credentials: BoxedStrategy<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sources")
    }
}

/// A valid input and fresh credentials, set up by `then`.
pub(crate) fn valid(
    sources: &Sources,
    scenario: Scenario,
    variant: &str,
    then: impl Fn(Case) -> Case + Send + Sync + 'static,
) -> BoxedStrategy<Case> {
    let variant = variant.to_owned();
    (sources.credentials.clone(), sources.valid.clone())
        .prop_map(move |(credentials, input)| then(Case::new(scenario, &variant, input, credentials)))
        .boxed()
}

/// A refusal set up on a valid case.
pub(crate) fn refused(sources: &Sources, scenario: Scenario, variant: &str, refusal: Refusal) -> BoxedStrategy<Case> {
    valid(sources, scenario, variant, move |case| Case { refusal: Some(refusal.clone()), ..case })
}

/// An injected fault, one of `effects`, on a valid case.
pub(crate) fn faulty(
    sources: &Sources,
    scenario: Scenario,
    variant: &str,
    effects: Vec<Effect>,
) -> BoxedStrategy<Case> {
    let variant = variant.to_owned();
    (sources.credentials.clone(), sources.valid.clone(), proptest::sample::select(effects))
        .prop_map(move |(credentials, input, effect)| Case {
            fault: Some(effect),
            ..Case::new(scenario, &variant, input, credentials)
        })
        .boxed()
}

/// An answer held back beyond the client's time-out.
pub(crate) fn late(sources: &Sources) -> BoxedStrategy<Case> {
    valid(sources, Scenario::Timeout, "latency", |case| Case {
        fault: Some(Effect::Latency { ms: LATENCY_MS, jitter_ms: 0 }),
        timeout_ms: Some(LATENCY_TIMEOUT_MS),
        ..case
    })
}

/// An input breaking one constraint of a kind.
pub(crate) fn invalid(sources: &Sources, generator: &Generator, kind: &'static str) -> BoxedStrategy<Case> {
    (sources.credentials.clone(), generator.invalid(Some(kind)))
        .prop_map(move |(credentials, (input, broken))| Case {
            broken: Some(broken),
            ..Case::new(Scenario::Validation, kind, input, credentials)
        })
        .boxed()
}

/// A uniqueness rule as the duplicate scenario plants clashes on it.
#[derive(Debug, Clone)]
pub(crate) struct Clash {
    /// The rule's name (`mobile`).
    pub name: String,
    /// Its index among the generator's rules.
    pub index: usize,
    /// Values differing only in case clash (`normalize: [lowercase]`).
    pub case_blind: bool,
}

impl Clash {
    pub fn of(generator: &Generator, rules: &[vendor_mock::spec::UniqueRule]) -> Vec<Self> {
        rules
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < generator.unique().len())
            .map(|(index, rule)| Self {
                name: rule.name.clone(),
                index,
                case_blind: rule.normalize.contains(&Normalize::Lowercase),
            })
            .collect()
    }

    /// Whether an input can hold two values of the rule (an array on its path).
    pub fn repeatable(&self, generator: &Generator) -> bool {
        generator.unique()[self.index].path.as_str().contains("[]")
    }
}

/// The duplicate scenario's stored clash: the suite first creates another valid record whose
/// value of this rule (only) equals one of the input's (for a bulk vendor: some entries' values),
/// in another case where the rule ignores case.
pub(crate) fn stored_clash(sources: &Sources, generator: &Generator, clash: &Clash) -> BoxedStrategy<Case> {
    let rules: Arc<Vec<Unique>> = Arc::clone(generator.unique());
    let clash = clash.clone();
    let variant = format!("rule:{}", clash.name);
    (sources.credentials.clone(), sources.valid.clone(), sources.valid.clone(), any::<u64>(), any::<bool>())
        .prop_filter_map("the input has no value of the rule", move |(credentials, input, other, bits, swap)| {
            let precreate = clashing_record(&rules, &clash, &input, other, bits, swap)?;
            Some(Case { precreate: Some(precreate), ..Case::new(Scenario::Duplicate, &variant, input, credentials) })
        })
        .boxed()
}

/// `other` with the rule's slots holding values of `input` (chosen by `bits`), every other rule's
/// values apart from the input's.
fn clashing_record(
    rules: &[Unique],
    clash: &Clash,
    input: &Value,
    mut other: Value,
    bits: u64,
    swap: bool,
) -> Option<Value> {
    let rule = &rules[clash.index];
    let values = rule.strings(input);
    let slots = rule.strings(&other);
    if values.is_empty() || slots.is_empty() {
        return None;
    }
    // Which of the input's values clash: a subset (at least the first) where the record can
    // hold several (a bulk body's entries), else one.
    let many = input.is_array() && other.is_array();
    let mut chosen: Vec<&String> = values
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || many && bits >> (i % 64) & 1 == 1)
        .map(|(_, (_, text))| text)
        .collect();
    chosen.truncate(slots.len());
    if !many {
        chosen = vec![&values[usize::try_from(bits % values.len() as u64).unwrap_or(0)].1];
    }
    let mut taken: HashSet<String> = rules
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != clash.index)
        .flat_map(|(_, r)| r.strings(input))
        .map(|(_, text)| norm(&text))
        .collect();
    let others = rules.iter().enumerate().filter(|(i, _)| *i != clash.index).map(|(_, r)| r);
    make_distinct(&mut other, others, &mut taken);
    let planted = chosen.len();
    for ((at, _), text) in slots.iter().zip(chosen) {
        let swapped = swap_case(text);
        let planted = if clash.case_blind && swap && rule.accepts(&swapped) { swapped } else { text.clone() };
        at.set(&mut other, &mut || Value::String(planted.clone()));
    }
    if many && let Some(entries) = other.as_array_mut() {
        entries.truncate(planted);
    }
    Some(other)
}

/// The duplicate scenario's clash within one request: two of the input's values of the rule are
/// the same (in another case where the rule ignores case).
pub(crate) fn within_clash(sources: &Sources, generator: &Generator, clash: &Clash) -> BoxedStrategy<Case> {
    let rule = generator.unique()[clash.index].clone();
    let clash = clash.clone();
    let variant = format!("within:{}", clash.name);
    (sources.credentials.clone(), sources.valid.clone(), any::<bool>())
        .prop_filter_map("the input has fewer than two values of the rule", move |(credentials, mut input, swap)| {
            let values = rule.strings(&input);
            let [(_, first), .., (last, _)] = values.as_slice() else { return None };
            let swapped = swap_case(first);
            let repeated = if clash.case_blind && swap && rule.accepts(&swapped) { swapped } else { first.clone() };
            last.set(&mut input, &mut || Value::String(repeated.clone()));
            Some(Case::new(Scenario::Duplicate, &variant, input, credentials))
        })
        .boxed()
}
