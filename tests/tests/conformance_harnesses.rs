//! The Python and Node reference harnesses (tests/clients/) under the suite: each passes every
//! property, and each of their mutants is caught by the property it targets.
//!
//! Needs `python3` and `node` on the PATH: without them these tests fail, saying how to install
//! them (the README's test command does).

use std::collections::BTreeSet;
use std::path::PathBuf;

use conformance::{Client, RunOptions, RunReport};
use e2e::suite::{failed_properties, suite_options};

fn harness(language: &str) -> String {
    let (interpreter, file) = match language {
        "python" => ("python3", "python/harness.py"),
        _ => ("node", "node/harness.js"),
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients").join(file);
    let available = std::process::Command::new(interpreter).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(path.exists(), "{} is missing", path.display());
    assert!(
        available,
        "`{interpreter}` is not on the PATH: the {language} reference harness needs it. Install it (Debian: \
         apt-get install -y python3 nodejs) or run the README's test command, scripts/test.sh"
    );
    format!("{interpreter} {}", path.display())
}

fn run_harness(command: &str, vendor: Option<&str>) -> RunReport {
    // A reference harness serves every vendor: one its `ready` leaves out is a failure.
    let options = RunOptions { require_vendors: true, ..suite_options(command, vendor, 4, 13) };
    conformance::run(Client::Exec(command.to_owned()), options, &mut |_| {})
}

#[test]
fn the_python_and_node_reference_harnesses_pass_every_property() {
    for language in ["python", "node"] {
        let command = harness(language);
        let report = run_harness(&command, None);
        let details: Vec<String> = report.failures.iter().map(conformance::render_failure).collect();
        assert_eq!(report.error, None, "{language}");
        assert!(failed_properties(&report).is_empty(), "{language}:\n{}", details.join("\n"));
        assert_eq!(report.exit_code, 0, "{language}");
    }
}

/// (harness, mutant, vendor, the property that must catch it).
const MUTANTS: &[(&str, &str, &str, &str)] = &[
    ("python", "ah-companyid-lowercase", "agencyhandy", "request.auth_header_case"),
    ("python", "cc-drop-is-sharing-credit", "cellcast", "request.body_carried"),
    ("python", "cc-duplicate-as-created", "cellcast", "response.duplicate"),
    ("python", "sl-key-in-header", "smartlead", "request.auth"),
    ("python", "sl-drop-logo-url", "smartlead", "request.body_carried"),
    ("python", "vw-no-id", "voiceaiwrapper", "response.id"),
    ("python", "any-retry-401", "cellcast", "request.no_retry_after_4xx"),
    ("python", "any-500-as-created", "agencyhandy", "response.server_error"),
    ("node", "sl-null-optionals", "smartlead", "request.optional_omitted"),
    ("node", "sl-wrong-path", "smartlead", "request.route"),
    ("node", "cc-no-content-type", "cellcast", "request.content_type"),
    ("node", "cc-form-encoded", "cellcast", "request.content_type"),
    ("node", "cc-drop-notes", "cellcast", "request.body_carried"),
    ("node", "vw-duplicate-as-validation", "voiceaiwrapper", "response.duplicate"),
    ("node", "ah-all-created", "agencyhandy", "response.duplicate"),
    ("node", "any-429-as-server-error", "smartlead", "response.rate_limited"),
    ("python", "any-4xx-as-validation", "smartlead", "response.unexpected_response"),
    ("python", "ah-type-as-field", "agencyhandy", "response.validation_fields"),
    ("python", "vw-403-as-unexpected", "voiceaiwrapper", "response.unauthorized"),
    ("node", "sl-any-200-as-created", "smartlead", "response.unexpected_response"),
    ("node", "any-ready-drops-agencyhandy", "agencyhandy", "response.answers"),
];

#[test]
fn every_mutant_harness_is_caught_by_the_property_it_targets() {
    // Each run has its own mock and harness process: run them side by side.
    let missed: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = MUTANTS
            .iter()
            .map(|(language, mutant, vendor, property)| {
                let command = harness(language);
                scope.spawn(move || {
                    let report = run_harness(&format!("{command} --mutant {mutant}"), Some(vendor));
                    let failed = failed_properties(&report);
                    let caught = report.exit_code == 1 && failed.contains(*property);
                    (!caught).then(|| {
                        format!("{mutant}: exit {}, failed {failed:?}, error {:?}", report.exit_code, report.error)
                    })
                })
            })
            .collect();
        runs.into_iter().filter_map(|r| r.join().unwrap_or_else(|_| Some("a run panicked".into()))).collect()
    });
    assert!(missed.is_empty(), "mutants not caught as expected:\n{}", missed.join("\n"));
}

/// `(harness, mutant, vendor, property)` rows of a Markdown table whose last cell is
/// `` `property` (vendor) ``.
fn documented_mutants(markdown: &str) -> BTreeSet<(String, String, String, String)> {
    markdown
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
            let mutant = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
            let harness = *cells.get(1)?;
            let (property, vendor) = cells.last()?.split_once(' ')?;
            let vendor = vendor.strip_prefix('(')?.strip_suffix(')')?;
            Some((harness.to_owned(), mutant.to_owned(), vendor.to_owned(), property.trim_matches('`').to_owned()))
        })
        .filter(|(harness, ..)| harness == "python" || harness == "node")
        .collect()
}

#[test]
fn the_mutant_tables_in_the_readme_and_mutants_md_name_the_properties_this_test_asserts() {
    let asserted: BTreeSet<(String, String, String, String)> =
        MUTANTS.iter().map(|(h, m, v, p)| ((*h).into(), (*m).into(), (*v).into(), (*p).into())).collect();
    let mutants_md = include_str!("../clients/MUTANTS.md");
    let readme = include_str!("../../README.md");
    let start = readme.find("<!-- mutants:start -->").expect("README has the mutant table");
    let end = readme.find("<!-- mutants:end -->").expect("README's mutant table ends");
    assert_eq!(documented_mutants(mutants_md), asserted, "tests/clients/MUTANTS.md's last column");
    assert_eq!(documented_mutants(&readme[start..end]), asserted, "README's mutant table");
    assert!(asserted.len() >= 12, "at least 12 mutants");
}
