//! What a vendor's run consists of, derived from its spec: the scenarios that apply, and the
//! strategy that generates each scenario's cases.

use std::hash::{BuildHasher, Hash};

use proptest::prelude::*;
use serde_json::Value;
use vendor_mock::{Effect, Specs};

use crate::error::{RunError, SpecError};
use crate::generate::Generator;
use crate::model::{Case, Scenario};
use crate::vendor::VendorModel;

/// A vendor ready to run: its spec, its input generator and its compiled request schema.
pub struct PreparedVendor {
    model: VendorModel,
    generator: Generator,
    schema: jsonschema::Validator,
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
        Ok(Self { model, generator, schema })
    }

    pub fn model(&self) -> &VendorModel {
        &self.model
    }

    /// The create operation's request schema, compiled.
    pub fn schema(&self) -> &jsonschema::Validator {
        &self.schema
    }

    /// Why a scenario cannot run for this vendor, if it cannot.
    pub(crate) fn unsupported(&self, scenario: Scenario) -> Option<String> {
        let m = &self.model;
        match scenario {
            Scenario::Duplicate | Scenario::Sequence if m.create().unique.is_empty() => {
                Some("the spec declares no uniqueness rule".into())
            }
            Scenario::Unauthorized if m.reject_prefixes().is_empty() => {
                Some("the spec declares no rejected credential prefix".into())
            }
            _ => None,
        }
    }

    /// The strategy of a scenario's cases.
    pub(crate) fn strategy(&self, scenario: Scenario) -> BoxedStrategy<Case> {
        let valid = self.generator.valid();
        let bulk = self.model.create().bulk;
        let plain = move |input: Value| Case { scenario, input, precreate: Vec::new(), fault: None, broken: None };
        match scenario {
            Scenario::Create | Scenario::Sequence | Scenario::Unauthorized => valid.prop_map(plain).boxed(),
            Scenario::Duplicate => (valid, any::<u64>())
                .prop_map(move |(input, bits)| {
                    let precreate = if bulk {
                        let n = input.as_array().map_or(0, Vec::len).min(64);
                        let chosen: Vec<usize> = (0..n).filter(|i| bits >> i & 1 == 1).collect();
                        if chosen.is_empty() { vec![0] } else { chosen }
                    } else {
                        vec![0]
                    };
                    Case { precreate, ..plain(input) }
                })
                .boxed(),
            Scenario::Validation => self
                .generator
                .invalid()
                .prop_map(move |(input, broken)| Case { broken: Some(broken), ..plain(input) })
                .boxed(),
            Scenario::RateLimited | Scenario::ServerError | Scenario::Transport | Scenario::Garbage => {
                let effects: Vec<Effect> = match scenario {
                    Scenario::RateLimited => vec![Effect::RateLimited { retry_after: 30 }],
                    Scenario::ServerError => {
                        [500, 502, 503, 504].into_iter().map(|status| Effect::Status { status }).collect()
                    }
                    Scenario::Transport => vec![Effect::Reset, Effect::Empty],
                    _ => vec![Effect::Malformed, Effect::Truncated],
                };
                (valid, proptest::sample::select(effects))
                    .prop_map(move |(input, effect)| Case { fault: Some(effect), ..plain(input) })
                    .boxed()
            }
        }
    }
}

/// A stable 64-bit hash of a value (seeds of scenarios, generated credentials), the same in
/// every run and on every machine.
pub(crate) fn hash(value: &impl Hash) -> u64 {
    foldhash::fast::FixedState::with_seed(0x5eed).hash_one(value)
}
