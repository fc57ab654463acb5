//! Clients without a harness loop: `--client python:MODULE:FUNCTION` and `--client
//! node:FILE#EXPORT`. The reference clients of tests/clients/, as plain functions
//! (`function_client.py`, `function_client.js`), pass every property through the suite's shims;
//! a mutant of each is caught by its property; what the shims do with exceptions, prints and
//! bad return values.
//!
//! Needs `python3` and `node` on the PATH: without them these tests fail, saying how to install
//! them (the README's test command does).

use std::path::{Path, PathBuf};

use conformance::{Client, RunReport};
use e2e::suite::{cli, failed_properties, run_suite, tempdir};

fn clients() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Fails (never skips) when an interpreter is missing.
fn need(program: &str) {
    let found = std::process::Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{program}` is not on the PATH: these tests run the Python and Node shims. Install it \
         (Debian: apt-get install -y python3 nodejs) or run the README's test command, scripts/test.sh"
    );
}

fn python(function: &str) -> String {
    need("python3");
    format!("python:{}:{function}", clients().join("python/function_client.py").display())
}

fn node(export: &str) -> String {
    need("node");
    format!("node:{}#{export}", clients().join("node/function_client.js").display())
}

fn check(spec: &str, vendor: Option<&str>, cases: u32) -> RunReport {
    let client = Client::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
    run_suite(client, spec, vendor, cases, 21)
}

#[test]
fn the_python_and_node_reference_clients_as_functions_pass_every_property() {
    for spec in [python("create_client"), node("createClient")] {
        let report = check(&spec, None, 4);
        let details: Vec<String> = report.failures.iter().map(conformance::render_failure).collect();
        assert_eq!(report.error, None, "{spec}");
        assert!(failed_properties(&report).is_empty(), "{spec}:\n{}", details.join("\n"));
        assert_eq!(report.vendors.len(), 4, "{spec}: every vendor ran");
        assert_eq!(report.exit_code, 0, "{spec}");
        assert!(report.client.starts_with(spec.split(':').next().unwrap_or_default()), "{}", report.client);
    }
}

#[test]
fn a_mutant_function_of_each_language_is_caught_by_the_property_it_targets() {
    let cases = [
        (python("mutant_sl_key_in_header"), "smartlead", "request.auth"),
        (python("mutant_cc_duplicate_as_created"), "cellcast", "response.duplicate"),
        (node("mutant_sl_wrong_path"), "smartlead", "request.route"),
        (node("mutant_vw_duplicate_as_validation"), "voiceaiwrapper", "response.duplicate"),
    ];
    for (spec, vendor, property) in cases {
        let report = check(&spec, Some(vendor), 4);
        assert_eq!(report.exit_code, 1, "{spec}: {:?}", report.error);
        assert!(failed_properties(&report).contains(property), "{spec}: failed {:?}", failed_properties(&report));
    }
}

/// Writes a client module into a temporary folder.
fn module(dir: &Path, name: &str, source: &str) -> String {
    std::fs::write(dir.join(name), source).expect("write the client module");
    dir.join(name).display().to_string()
}

#[test]
fn an_exception_becomes_errored_with_its_traceback_and_prints_do_not_break_the_protocol() {
    need("python3");
    let dir = tempdir();
    let file = module(
        dir.path(),
        "noisy.py",
        "VENDORS = ['smartlead']\nimport os\n\ndef create(req):\n    print('a print from the client')\n    \
         os.write(1, b'and a raw write to fd 1\\n')\n    return {'kind': 'created', 'id': req['credentials']['token']}\n",
    );
    let (code, out, err) = cli(&["run", "--client", &format!("python:{file}:create"), "--cases", "1", "--seed", "3"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("the client errored: KeyError: 'token'"), "{out}");
    assert!(out.contains("noisy.py\", line 7, in create"), "the traceback names the client's line:\n{out}");
    assert!(!out.contains("python_shim.py"), "the shim's own frames are left out:\n{out}");
}

#[test]
fn a_node_function_that_throws_or_returns_no_outcome_is_errored() {
    need("node");
    let dir = tempdir();
    let file = module(
        dir.path(),
        "client.mjs",
        "export const vendors = ['smartlead'];\nexport async function throws() { console.log('noise'); throw new RangeError('no way'); }\n\
         export function nothing() { return 'created'; }\n",
    );
    let (code, out, err) = cli(&["run", "--client", &format!("node:{file}#throws"), "--cases", "1", "--seed", "3"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("the client errored: RangeError: no way"), "{out}");
    assert!(out.contains("client.mjs:2"), "the stack names the client's line:\n{out}");
    let (code, out, err) = cli(&["run", "--client", &format!("node:{file}#nothing"), "--cases", "1", "--seed", "3"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("the client function returned \"created\"; expected an outcome object"), "{out}");
}

#[test]
fn a_function_that_cannot_be_loaded_stops_the_run_with_exit_3_and_the_reason() {
    need("python3");
    need("node");
    let (code, _, err) = cli(&["run", "--client", "python:no_such_module_here:create", "--cases", "1"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("No module named 'no_such_module_here'"), "{err}");
    let (code, _, err) = cli(&["run", "--client", &node("noSuchExport"), "--cases", "1"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no function export `noSuchExport`") && err.contains("createClient"), "{err}");
}

#[test]
fn a_module_declaring_its_vendors_is_run_on_those_only() {
    need("python3");
    let dir = tempdir();
    let file =
        module(dir.path(), "lazy.py", "VENDORS = ['cellcast']\ndef create(req):\n    return {'kind': 'created'}\n");
    let (code, out, err) = cli(&["run", "--client", &format!("python:{file}:create"), "--cases", "1", "--seed", "3"]);
    assert_eq!(code, 1, "a lazy client fails: {out}{err}");
    assert!(out.contains("smartlead: skipped: the client does not support smartlead"), "{out}");
    assert!(out.contains(&format!("via python:{file}:create")), "{out}");
}

#[test]
fn a_function_client_spec_without_its_function_is_a_usage_error() {
    let (code, _, err) = cli(&["run", "--client", "python:my_client"]);
    assert_eq!(code, 2);
    assert!(err.contains("expected `python:MODULE:FUNCTION`"), "{err}");
}

#[test]
fn the_clients_the_conformance_readme_shows_are_the_ones_the_package_tests_run() {
    let readme = include_str!("../../conformance/README.md");
    for (file, source) in [
        ("python/tests/clients/smartlead_client.py", include_str!("../../python/tests/clients/smartlead_client.py")),
        (
            "node/fixtures/clients/smartlead_client.mjs",
            include_str!("../../node/fixtures/clients/smartlead_client.mjs"),
        ),
    ] {
        assert!(readme.contains(source), "conformance/README.md must show {file} as it is");
        assert!(source.lines().count() <= 20, "{file} stays a client of a dozen lines or so");
    }
}
