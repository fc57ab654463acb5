//! What a vendor's run consists of, derived from its spec: the scenarios that apply, and the
//! strategy that generates each scenario's cases.

use std::hash::{BuildHasher, Hash};

use proptest::prelude::*;
use vendor_mock::{Effect, Specs};

use crate::cases::{self, Clash, Sources};
use crate::error::{RunError, SpecError};
use crate::generate::Generator;
use crate::model::{Case, Refusal, Scenario};
use crate::vendor::VendorModel;

/// A vendor ready to run: its spec, its input generator and its compiled request schema.
pub struct PreparedVendor {
    model: VendorModel,
    generator: Generator,
    schema: jsonschema::Validator,
    sources: Sources,
}

impl std::fmt::Debug for PreparedVendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreparedVendor({})", self.model.name())
    }
}

impl PreparedVendor {
    /// Reads one revision of a vendor's spec and compiles its generator and schema.
    pub fn at(specs: &Specs, vendor: &str, revision: &str) -> Result<Self, RunError> {
        if !specs.vendor_names().iter().any(|v| v == vendor) {
            return Err(RunError::Usage(format!("no vendor `{vendor}` in the specs")));
        }
        let spec = specs.revision(vendor, revision).map_err(|e| RunError::Usage(e.message))?;
        let model = VendorModel::new(std::sync::Arc::clone(spec))?;
        let generator = Generator::for_vendor(&model).map_err(|e| SpecError::new(vendor, e.to_string()))?;
        let schema = crate::schema::compile(model.schema()).map_err(|e| SpecError::new(vendor, e))?;
        let sources =
            Sources { valid: generator.valid(), credentials: crate::credentials::strategy(model.credentials()) };
        Ok(Self { model, generator, schema, sources })
    }

    pub fn model(&self) -> &VendorModel {
        &self.model
    }

    /// The create operation's request schema, compiled.
    pub fn schema(&self) -> &jsonschema::Validator {
        &self.schema
    }

    /// The variants of a scenario for this vendor, with their share of `cases`, or why the
    /// scenario cannot run.
    pub(crate) fn variants(&self, scenario: Scenario, cases: u32) -> Result<Vec<Variant>, String> {
        let kinds = self.variant_kinds(scenario)?;
        let share = match scenario {
            // Each costs the latency: a few are enough to see a client ignore its time-out.
            Scenario::Timeout => cases.div_ceil(16),
            _ => cases.div_ceil(u32::try_from(kinds.len()).unwrap_or(u32::MAX)),
        };
        Ok(kinds
            .into_iter()
            .map(|(name, strategy)| Variant { scenario, name, cases: share.max(1), strategy })
            .collect())
    }

    /// The scenario's own variants and the documented example answers injected for it.
    fn variant_kinds(&self, scenario: Scenario) -> Result<Vec<(String, BoxedStrategy<Case>)>, String> {
        let documented = self.documented(scenario);
        match self.own_variant_kinds(scenario) {
            Ok(mut kinds) => {
                kinds.extend(documented);
                Ok(kinds)
            }
            Err(reason) if documented.is_empty() => Err(reason),
            Err(_) => Ok(documented),
        }
    }

    fn own_variant_kinds(&self, scenario: Scenario) -> Result<Vec<(String, BoxedStrategy<Case>)>, String> {
        let m = &self.model;
        let s = &self.sources;
        let one = |strategy| Ok(vec![(String::new(), strategy)]);
        match scenario {
            Scenario::Create | Scenario::Sequence => {
                if scenario == Scenario::Sequence && m.create().unique.is_empty() {
                    return Err("the spec declares no uniqueness rule".into());
                }
                one(cases::valid(s, scenario, "", |c| c))
            }
            Scenario::Duplicate => self.duplicates(),
            Scenario::Unauthorized => Ok(self.unauthorized()),
            Scenario::Forbidden => self.forbidden(),
            Scenario::Validation => Ok(self
                .generator
                .kinds()
                .iter()
                .map(|kind| ((*kind).to_owned(), cases::invalid(s, &self.generator, kind)))
                .collect()),
            Scenario::RateLimited => {
                let mut variants = vec![(
                    "fault".to_owned(),
                    cases::faulty(s, scenario, "fault", vec![Effect::RateLimited { retry_after: 30 }]),
                )];
                if let Some(refusal) = self.rate_limit() {
                    variants.push(("limit".to_owned(), cases::refused(s, scenario, "limit", refusal)));
                }
                Ok(variants)
            }
            Scenario::ServerError => {
                let statuses = [500, 502, 503, 504].into_iter().map(|status| Effect::Status { status }).collect();
                one(cases::faulty(s, scenario, "", statuses))
            }
            Scenario::Transport => Ok(self.faults(scenario, &[("reset", Effect::Reset), ("empty", Effect::Empty)])),
            Scenario::Garbage => {
                Ok(self.faults(scenario, &[("malformed", Effect::Malformed), ("truncated", Effect::Truncated)]))
            }
            Scenario::Timeout => Ok(vec![("latency".to_owned(), cases::late(s))]),
            Scenario::Undocumented => Ok(self.undocumented()),
        }
    }

    /// Per tenant credential part another account's tenant, and per forbidden prefix and
    /// credential part a value the vendor knows but denies the permission: both a 403.
    fn forbidden(&self) -> Result<Vec<(String, BoxedStrategy<Case>)>, String> {
        let m = &self.model;
        let mut variants = Vec::new();
        for part in m.create_parts().filter(|p| p.tenant) {
            let name = format!("tenant:{}", part.name);
            let refusal = Refusal::ForeignTenant { part: part.name.clone() };
            variants.push((name.clone(), cases::refused(&self.sources, Scenario::Forbidden, &name, refusal)));
        }
        for prefix in m.forbidden_prefixes() {
            for part in m.create_parts().filter(|p| !p.tenant) {
                let name = format!("prefix:{prefix}:{}", part.name);
                let refusal = Refusal::ForbiddenPrefix { part: part.name.clone(), prefix: prefix.clone() };
                variants.push((name.clone(), cases::refused(&self.sources, Scenario::Forbidden, &name, refusal)));
            }
        }
        if variants.is_empty() {
            return Err("the spec declares no tenant credential and no forbidden prefix".into());
        }
        Ok(variants)
    }

    /// Answers the vendor never gives to a create, injected: each common client error it does
    /// not document for one (with its body for that status where it has one), the first of
    /// them as a proxy's HTML page, and its success status with a body that has none of the
    /// success answer's fields.
    fn undocumented(&self) -> Vec<(String, BoxedStrategy<Case>)> {
        let statuses = self.model.undocumented_statuses();
        let mut effects: Vec<(String, Effect)> =
            statuses.iter().map(|&status| (format!("status:{status}"), Effect::Status { status })).collect();
        if let Some(&status) = statuses.first() {
            let body = format!("<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>");
            let content_type = Some("text/html".to_owned());
            effects.push((format!("not_json:{status}"), Effect::Respond { status, body, content_type }));
        }
        let success = &self.model.create().success;
        if success.body.as_object().is_some_and(|fields| !fields.is_empty()) {
            let effect = Effect::Respond { status: success.status, body: "{}".into(), content_type: None };
            effects.push(("success_shape".to_owned(), effect));
        }
        effects
            .into_iter()
            .map(|(name, effect)| {
                let strategy = cases::faulty(&self.sources, Scenario::Undocumented, &name, vec![effect]);
                (name, strategy)
            })
            .collect()
    }

    /// The vendor's documented example answers the mock never gives to the suite's cases
    /// ([`VendorModel::injected_examples`]) whose status documents this scenario's outcome, each
    /// injected as it is documented: `documented:400:joi`.
    fn documented(&self, scenario: Scenario) -> Vec<(String, BoxedStrategy<Case>)> {
        let examples = self.model.injected_examples().into_iter().filter(|(s, _)| *s == scenario);
        examples
            .map(|(_, example)| {
                let name = format!("documented:{}:{}", example.status, example.name);
                let body = serde_json::to_string(&example.body).unwrap_or_default();
                let effect = Effect::Respond { status: example.status, body, content_type: None };
                let strategy = cases::faulty(&self.sources, scenario, &name, vec![effect]);
                (name, strategy)
            })
            .collect()
    }

    /// One variant per injected effect.
    fn faults(&self, scenario: Scenario, effects: &[(&str, Effect)]) -> Vec<(String, BoxedStrategy<Case>)> {
        effects
            .iter()
            .map(|(name, effect)| {
                ((*name).to_owned(), cases::faulty(&self.sources, scenario, name, vec![effect.clone()]))
            })
            .collect()
    }

    /// Per uniqueness rule a clash with a stored record, and one within the request where the
    /// request can hold two of its values.
    fn duplicates(&self) -> Result<Vec<(String, BoxedStrategy<Case>)>, String> {
        let clashes = Clash::of(&self.generator, &self.model.create().unique);
        if clashes.is_empty() {
            return Err("the spec declares no uniqueness rule".into());
        }
        let mut variants = Vec::new();
        for clash in &clashes {
            variants.push((format!("rule:{}", clash.name), cases::stored_clash(&self.sources, &self.generator, clash)));
            if clash.repeatable(&self.generator) {
                variants.push((
                    format!("within:{}", clash.name),
                    cases::within_clash(&self.sources, &self.generator, clash),
                ));
            }
        }
        Ok(variants)
    }

    /// Per rejected prefix and credential part a refused value, and per part an empty one.
    fn unauthorized(&self) -> Vec<(String, BoxedStrategy<Case>)> {
        let m = &self.model;
        let mut variants = Vec::new();
        for prefix in m.reject_prefixes() {
            for part in m.create_parts().filter(|p| !p.tenant) {
                let name = format!("prefix:{prefix}:{}", part.name);
                let refusal = Refusal::RejectedPrefix { part: part.name.clone(), prefix: prefix.clone() };
                variants.push((name.clone(), cases::refused(&self.sources, Scenario::Unauthorized, &name, refusal)));
            }
        }
        for part in m.create_parts() {
            let name = format!("empty:{}", part.name);
            let refusal = Refusal::Empty { part: part.name.clone() };
            variants.push((name.clone(), cases::refused(&self.sources, Scenario::Unauthorized, &name, refusal)));
        }
        variants
    }

    /// The spec's rate limit the suite can use up before a case: the window with the fewest
    /// requests (the suite sends requests until one is refused, so a window that ends meanwhile
    /// costs nothing but the case's coverage: the journal shows what the mock answered).
    fn rate_limit(&self) -> Option<Refusal> {
        let limits = self.model.spec.rate_limits.as_ref()?;
        let window = limits.windows.iter().min_by_key(|w| w.limit)?;
        Some(Refusal::RateLimit { requests: window.limit, window_seconds: window.seconds })
    }
}

/// One variant of a scenario: its name, its share of the cases and their strategy.
pub(crate) struct Variant {
    pub scenario: Scenario,
    /// `rule:mobile`, `prefix:expired:api_key`, … (empty for a scenario of one variant).
    pub name: String,
    pub cases: u32,
    pub strategy: BoxedStrategy<Case>,
}

impl Variant {
    /// `duplicate` or `duplicate/rule:mobile`: in events, reports and seeds.
    pub fn label(&self) -> String {
        match self.name.as_str() {
            "" => self.scenario.name().to_owned(),
            name => format!("{}/{name}", self.scenario.name()),
        }
    }
}

/// A stable 64-bit hash of a value (seeds of scenarios, generated credentials), the same in
/// every run and on every machine.
pub(crate) fn hash(value: &impl Hash) -> u64 {
    foldhash::fast::FixedState::with_seed(0x5eed).hash_one(value)
}
