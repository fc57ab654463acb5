//! Replay files: a failure saved with its case, and running that case again
//! (`vendor-conformance replay`).

use serde::{Deserialize, Serialize};
use vendor_mock::DEFAULT_REVISION;

use crate::error::RunError;
use crate::harness::Client;
use crate::http1::shell_quote;
use crate::mock::{load_specs, start_mock};
use crate::model::{Case, Executed};
use crate::options::RunOptions;
use crate::plan::PreparedVendor;
use crate::properties as p;
use crate::protocol::Implementation;
use crate::report::{self, Event, Failure};
use crate::session::Session;
use crate::verdict::Verdict;

/// A saved failure that `vendor-conformance replay` runs again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayFile {
    pub format: String,
    pub version: u32,
    pub vendor: String,
    /// The contract revision the case ran on (absent in files of older versions: `default`).
    #[serde(default = "default_revision")]
    pub revision: String,
    pub property: String,
    pub seed: u64,
    pub case: Case,
    /// The failure as first reported (for people).
    pub failure: Failure,
}

/// The `format` of replay files.
pub const REPLAY_FORMAT: &str = "vendor-conformance-replay";

/// The `version` of the replay files this suite writes and reads.
pub const REPLAY_VERSION: u32 = 1;

fn default_revision() -> String {
    DEFAULT_REVISION.to_owned()
}

/// Saves a failure as a replay file in `options.replay_dir` (if set), and notes in the failure
/// where it is and how to replay it (or why it could not be saved).
pub(crate) fn save(failure: &mut Failure, case: &Case, options: &RunOptions) {
    let Some(dir) = &options.replay_dir else { return };
    let target = vendor_mock::spec::target_name(&failure.vendor, &failure.revision);
    let file = dir.join(format!("{target}-{}.json", failure.property));
    let replay = ReplayFile {
        format: REPLAY_FORMAT.into(),
        version: REPLAY_VERSION,
        vendor: failure.vendor.clone(),
        revision: failure.revision.clone(),
        property: failure.property.clone(),
        seed: options.seed,
        case: case.clone(),
        failure: failure.clone(),
    };
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&file, serde_json::to_vec_pretty(&replay).unwrap_or_default()));
    match written {
        Ok(()) => {
            let path = file.display().to_string();
            failure.replay_command = Some(format!(
                "vendor-conformance replay {} --client {}",
                shell_quote(&path),
                shell_quote(&options.client_label)
            ));
            failure.replay_file = Some(path);
        }
        Err(e) => failure.replay_file = Some(format!("(not saved: {}: {e})", file.display())),
    }
}

/// Runs one saved case again (`vendor-conformance replay`), on the revision it was found on
/// (`options.revisions` is not used).
pub fn replay(
    client: Client,
    file: &ReplayFile,
    options: RunOptions,
    events: &mut dyn FnMut(&Event),
) -> Result<(Executed, Option<Failure>, Implementation), RunError> {
    let specs = load_specs(options.specs.as_deref())?;
    let vendor = PreparedVendor::at(&specs, &file.vendor, &file.revision)?;
    let picks =
        if file.revision == DEFAULT_REVISION { Vec::new() } else { vec![(file.vendor.clone(), file.revision.clone())] };
    let mock = start_mock(&specs, &options, &picks)?;
    let mut session = Session::open(mock, client, options, events)?;
    let implementation = session.ready.as_ref().map(|r| r.implementation.clone());
    let executed = session.execute(&vendor, &file.case)?;
    let failure = match executed.verdicts.get(&file.property) {
        Some(Verdict::Fail { .. }) => {
            let id = p::by_id(&file.property).map_or("?", |p| p.id);
            Some(report::failure(vendor.model(), id, &executed, 0, &session.base_url()))
        }
        _ => None,
    };
    session.close()?;
    let unknown = || Implementation { name: "?".into(), language: "?".into(), version: String::new() };
    Ok((executed, failure, implementation.unwrap_or_else(unknown)))
}
