//! Seeding: records put into a vendor's state as if they had been created, through the same
//! uniqueness index, so that a test can start from "this e-mail already exists".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mock::Mock;
use crate::spec::Action;
use crate::state::unique::Credentials;

/// Records to seed into one vendor (`POST /__admin/state/{vendor}`, `--seed-data`).
///
/// ```json
/// {"credentials": {"api_key": "ah_key"}, "records": [{"email": "taken@example.com", "firstName": "Ada"}]}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBatch {
    /// The create operation (its `operationId`) whose uniqueness rules and ids apply; default:
    /// the one that fills `collection`, else the vendor's first create operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Pick the create operation by the collection it fills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// Credential parts by name (`api_key`, `company_id`): who owns the records (for a reset of
    /// one credential) and the scope of per-credential uniqueness rules. A tenant part left out
    /// is the first tenant of its owning credential (AgencyHandy's company of an API key).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<String, String>,
    /// The records, one per created entity (also for bulk operations). Ids they carry are kept;
    /// missing ones are generated. No schema validation: a seed may hold only the fields a
    /// test cares about.
    pub records: Vec<Value>,
}

impl SeedBatch {
    /// A batch of records for the vendor's first create operation, owned by nobody.
    pub fn new(records: impl IntoIterator<Item = Value>) -> Self {
        Self { records: records.into_iter().collect(), ..Self::default() }
    }

    /// Sets one credential part (owner and uniqueness scope).
    pub fn credential(mut self, part: &str, value: &str) -> Self {
        self.credentials.insert(part.to_owned(), value.to_owned());
        self
    }
}

/// A seed file (`--seed-data FILE`, YAML or JSON): vendor name → one batch or a list of them.
///
/// ```yaml
/// smartlead:
///   records: [{email: taken@example.com, name: Taken}]
/// agencyhandy:
///   - credentials: {api_key: ah_key}
///     records: [{email: taken@example.com, firstName: Ada, lastName: Lovelace}]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct SeedData(BTreeMap<String, Vec<SeedBatch>>);

impl SeedData {
    /// No records.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch of records for a vendor.
    pub fn insert(&mut self, vendor: impl Into<String>, batch: SeedBatch) -> &mut Self {
        self.0.entry(vendor.into()).or_default().push(batch);
        self
    }

    /// The batches, per vendor.
    pub fn vendors(&self) -> impl Iterator<Item = (&str, &[SeedBatch])> {
        self.0.iter().map(|(vendor, batches)| (vendor.as_str(), batches.as_slice()))
    }
}

impl<'de> Deserialize<'de> for SeedData {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Many(Vec<SeedBatch>),
            One(SeedBatch),
        }
        let raw = BTreeMap::<String, OneOrMany>::deserialize(deserializer)?;
        Ok(Self(
            raw.into_iter()
                .map(|(vendor, batches)| match batches {
                    OneOrMany::Many(list) => (vendor, list),
                    OneOrMany::One(one) => (vendor, vec![one]),
                })
                .collect(),
        ))
    }
}

/// Why records could not be seeded (nothing of the batch was inserted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    #[error("unknown vendor `{0}`")]
    UnknownVendor(String),
    #[error("{vendor} has no create operation {wanted}")]
    NoOperation { vendor: String, wanted: String },
    #[error("{vendor} has no credential part `{part}`")]
    UnknownCredential { vendor: String, part: String },
    #[error("{vendor}: uniqueness rule `{rule}` is scoped to credential `{part}`: give credentials.{part}")]
    MissingCredential { vendor: String, rule: String, part: String },
    #[error("record {index} is not a JSON object")]
    NotAnObject { index: usize },
    #[error("record {index}: {field} `{value}` already exists (uniqueness rule `{rule}`)")]
    Duplicate { index: usize, rule: String, field: String, value: String },
}

/// Seeds one batch into `vendor` (all or nothing); returns the records as stored.
pub(crate) fn seed(mock: &Mock, vendor: &str, batch: &SeedBatch) -> Result<Vec<Value>, SeedError> {
    let specs = mock.specs();
    let v = specs.vendor(vendor).ok_or_else(|| SeedError::UnknownVendor(vendor.to_owned()))?;
    let mut creates = v.operations.iter().filter(|op| op.action == Action::Create);
    let op = match (&batch.operation, &batch.collection) {
        (Some(id), _) => creates.find(|op| &op.id == id),
        (None, Some(collection)) => creates.find(|op| &op.collection == collection),
        (None, None) => creates.next(),
    };
    let op = op.ok_or_else(|| SeedError::NoOperation {
        vendor: v.name.clone(),
        wanted: match (&batch.operation, &batch.collection) {
            (Some(id), _) => format!("`{id}`"),
            (None, Some(c)) => format!("for collection `{c}`"),
            (None, None) => "at all".to_owned(),
        },
    })?;
    if let Some(part) = batch.credentials.keys().find(|k| !v.auth.credentials.iter().any(|p| &p.name == *k)) {
        return Err(SeedError::UnknownCredential { vendor: v.name.clone(), part: part.clone() });
    }
    let mut creds: Credentials = v
        .auth
        .credentials
        .iter()
        .filter_map(|p| batch.credentials.get(&p.name).map(|value| (p.name.clone(), value.clone())))
        .collect();
    if let Some(tenants) = &v.tenants {
        for part in v.auth.credentials.iter().filter(|p| p.tenant && !batch.credentials.contains_key(&p.name)) {
            if !creds.iter().any(|(n, _)| *n == tenants.credential) {
                continue;
            }
            let owned = crate::auth::tenants_for(v, &creds, mock.config.credentials.as_ref());
            if let Some(id) = owned.first().and_then(|t| tenants.id.path.get(t)).and_then(Value::as_str) {
                creds.push((part.name.clone(), id.to_owned()));
            }
        }
    }
    for rule in &op.unique {
        if let Some(part) = rule.scope.credential()
            && !creds.iter().any(|(n, _)| n == part)
        {
            let (vendor, rule, part) = (v.name.clone(), rule.name.clone(), part.to_owned());
            return Err(SeedError::MissingCredential { vendor, rule, part });
        }
    }
    if let Some(index) = batch.records.iter().position(|r| !r.is_object()) {
        return Err(SeedError::NotAnObject { index });
    }
    mock.store.seed(&v.name, op, &creds, batch.records.clone()).map_err(|c| SeedError::Duplicate {
        index: c.index.unwrap_or_default(),
        rule: c.rule,
        field: c.field,
        value: c.value,
    })
}

impl Mock {
    /// Inserts records into a vendor's state as if they had been created, through the same
    /// uniqueness index (so a test can start from "this e-mail already exists"). Returns the
    /// records as stored, with their generated ids.
    pub fn seed_records(&self, vendor: &str, batch: &SeedBatch) -> Result<Vec<Value>, SeedError> {
        seed(self, vendor, batch)
    }

    /// Seeds every batch of a seed file (`--seed-data`); returns how many records were inserted.
    pub fn seed_data(&self, data: &SeedData) -> Result<usize, SeedError> {
        let mut count = 0;
        for (vendor, batches) in data.vendors() {
            for batch in batches {
                count += self.seed_records(vendor, batch)?.len();
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_file_takes_one_batch_or_a_list_per_vendor() {
        let yaml = "a:\n  records: [{email: x}]\nb:\n  - records: []\n  - credentials: {k: v}\n    records: []\n";
        let data: SeedData = yaml_serde::from_str(yaml).expect("parses");
        assert_eq!(data.0["a"].len(), 1);
        assert_eq!(data.0["b"].len(), 2);
        assert_eq!(data.0["b"][1].credentials["k"], "v");
    }

    #[test]
    fn an_unknown_field_in_a_batch_is_refused() {
        let err = serde_json::from_str::<SeedBatch>(r#"{"record": []}"#).expect_err("typo refused");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
