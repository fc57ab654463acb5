//! Clients without a harness loop: `--client python:MODULE:FUNCTION` and
//! `--client node:FILE#EXPORT`.
//!
//! The suite ships a small shim per language (`conformance/shims/`, embedded in the binary so an
//! installed `vendor-conformance` has them), writes it to a temporary folder that lives as long
//! as the client, and runs it as an `exec:` harness. The shim imports the user's function,
//! speaks protocol v1 on its behalf, calls the function once per `create_client` with one
//! argument (`vendor`, `base_url`, `credentials`, `input`, `timeout_ms`) and answers with the
//! outcome it returns; an exception becomes `errored` with its traceback.

use std::path::{Path, PathBuf};

/// The Python shim (`python:MODULE:FUNCTION`).
pub const PYTHON_SHIM: &str = include_str!("../shims/python_shim.py");
/// The Node shim (`node:FILE#EXPORT`), an ES module.
pub const NODE_SHIM: &str = include_str!("../shims/node_shim.mjs");

/// Environment variable naming the Python interpreter for `python:` clients.
pub const PYTHON_ENV: &str = "VENDOR_CONFORMANCE_PYTHON";
/// Environment variable naming the Node executable for `node:` clients.
pub const NODE_ENV: &str = "VENDOR_CONFORMANCE_NODE";

/// A user's function, run through the shim of its language.
pub struct FunctionClient {
    label: String,
    command: String,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for FunctionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionClient").field("label", &self.label).field("command", &self.command).finish()
    }
}

impl FunctionClient {
    /// Parses `python:MODULE:FUNCTION` or `node:FILE#EXPORT` (`None` for any other form) and
    /// writes the shim. `vendors`: what the shim announces when the client's module does not
    /// declare its own (`VENDORS` in Python, a `vendors` export in Node).
    pub fn parse(spec: &str, vendors: &[String]) -> Option<Result<Self, String>> {
        if let Some(rest) = spec.strip_prefix("python:") {
            return Some(Self::python(spec, rest, vendors));
        }
        if let Some(rest) = spec.strip_prefix("node:") {
            return Some(Self::node(spec, rest, vendors));
        }
        None
    }

    fn python(spec: &str, rest: &str, vendors: &[String]) -> Result<Self, String> {
        let (module, function) =
            rest.rsplit_once(':').filter(|(m, f)| !m.trim().is_empty() && !f.trim().is_empty()).ok_or_else(|| {
                format!("`--client {spec}`: expected `python:MODULE:FUNCTION` (e.g. python:my_client:create)")
            })?;
        let interpreter = std::env::var(PYTHON_ENV).ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(python);
        Self::write(spec, "python_shim.py", PYTHON_SHIM, &interpreter, &[module, function], vendors)
    }

    fn node(spec: &str, rest: &str, vendors: &[String]) -> Result<Self, String> {
        let (file, export) = match rest.rsplit_once('#') {
            Some((file, export)) => (file, export),
            None => (rest, "default"),
        };
        if file.trim().is_empty() || export.trim().is_empty() {
            return Err(format!("`--client {spec}`: expected `node:FILE#EXPORT` (e.g. node:client.mjs#createClient)"));
        }
        let node = std::env::var(NODE_ENV).ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "node".into());
        Self::write(spec, "node_shim.mjs", NODE_SHIM, &node, &[file, export], vendors)
    }

    fn write(
        spec: &str,
        name: &str,
        source: &str,
        interpreter: &str,
        args: &[&str],
        vendors: &[String],
    ) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("vendor-conformance-shim-")
            .tempdir()
            .map_err(|e| format!("`--client {spec}`: cannot create a folder for the shim: {e}"))?;
        let path = dir.path().join(name);
        std::fs::write(&path, source)
            .map_err(|e| format!("`--client {spec}`: cannot write {}: {e}", path.display()))?;
        let mut command = format!("exec {} {}", quote(interpreter), quote(&path.to_string_lossy()));
        for arg in args.iter().copied().chain(std::iter::once(vendors.join(",").as_str())) {
            command.push(' ');
            command.push_str(&quote(arg));
        }
        Ok(Self { label: spec.to_owned(), command, _dir: dir })
    }

    /// The `--client` it was parsed from (`python:my_client:create`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The shell command that runs the shim.
    pub fn command(&self) -> &str {
        &self.command
    }
}

/// The Python beside this executable when there is one (a virtual environment's `bin/`, where
/// `pip install` put `vendor-conformance`), else `python3`.
fn python() -> String {
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
    beside
        .into_iter()
        .flat_map(|dir| ["python3", "python"].map(|n| dir.join(n)))
        .find(|p: &PathBuf| p.is_file())
        .map_or_else(|| "python3".into(), |p| p.to_string_lossy().into_owned())
}

/// Single-quotes a word for `sh -c`.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_client_names_its_module_and_function_and_the_vendors_go_last() {
        let vendors = vec!["smartlead".to_owned(), "cellcast".to_owned()];
        let client = FunctionClient::parse("python:pkg.client:create", &vendors).expect("python:").expect("parses");
        assert!(client.command().ends_with("python_shim.py' 'pkg.client' 'create' 'smartlead,cellcast'"), "{client:?}");
        assert_eq!(client.label(), "python:pkg.client:create");
    }

    #[test]
    fn a_python_module_may_be_a_file_path_and_the_function_is_after_the_last_colon() {
        let client =
            FunctionClient::parse("python:dir/my client.py:Api.create", &[]).expect("python:").expect("parses");
        assert!(client.command().ends_with("'dir/my client.py' 'Api.create' ''"), "{client:?}");
    }

    #[test]
    fn a_node_client_without_an_export_uses_the_default_export() {
        let client = FunctionClient::parse("node:client.mjs", &[]).expect("node:").expect("parses");
        assert!(client.command().ends_with("node_shim.mjs' 'client.mjs' 'default' ''"), "{client:?}");
    }

    #[test]
    fn incomplete_function_clients_are_refused_with_the_expected_form() {
        for spec in ["python:module_only", "python::f", "node:#create", "node:file.js#"] {
            let err = FunctionClient::parse(spec, &[]).expect("recognised").expect_err("refused");
            assert!(
                err.contains("expected `python:MODULE:FUNCTION`") || err.contains("expected `node:FILE#EXPORT`"),
                "{err}"
            );
        }
        assert!(FunctionClient::parse("exec:python3 h.py", &[]).is_none());
    }

    #[test]
    fn quotes_survive_the_shell() {
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_shim_file_lives_as_long_as_the_client() {
        let client = FunctionClient::parse("node:x.mjs#f", &[]).expect("node:").expect("parses");
        let path = client._dir.path().join("node_shim.mjs");
        assert_eq!(std::fs::read_to_string(&path).expect("written"), NODE_SHIM);
        drop(client);
        assert!(!path.exists(), "removed with the client");
    }
}
