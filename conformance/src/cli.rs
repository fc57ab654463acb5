//! The `vendor-conformance` command line, as a function of its arguments and output streams so
//! that it can be tested in-process.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};

use crate::harness::Client;
use crate::options::{RunOptions, VendorSelection};
use crate::properties;
use crate::render::render_failure;
use crate::replay::{REPLAY_FORMAT, REPLAY_VERSION, ReplayFile};
use crate::revisions::RevisionSelection;
use crate::terminal::Outputs;
use crate::vendor::target_name;

/// Checks that a client of the vendors' create-client endpoints behaves as the vendors document:
/// property-based, against the vendor mock, for a client in any language.
#[derive(Debug, Parser)]
#[command(name = "vendor-conformance", version, about, long_about = None, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every property against a client; exit 0 all passed, 1 a property failed, 2 usage or
    /// spec error, 3 the harness failed to start or broke the protocol, 4 nothing ran.
    Run(RunArgs),
    /// Run a saved failure again (exit 1 while it still fails, 0 once it holds).
    Replay(ReplayArgs),
    /// List the properties: id, title and what each checks.
    Properties(PropertiesArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// A vendor of the specs, a comma-separated list, or `all`.
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_VENDOR", default_value = "all")]
    vendor: String,
    /// The client under test: `exec:COMMAND`, run with `sh -c`, speaking PROTOCOL.md on stdin/stdout;
    /// or a function called once per create: `python:MODULE:FUNCTION`, `node:FILE#EXPORT`.
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_CLIENT")]
    client: String,
    /// Contract revisions: `default`, a revision (`2026-07`: of every selected vendor that has it),
    /// `VENDOR=REV` (repeatable), or `all`; any but the default adds a client × revision matrix
    /// [default: default].
    #[arg(
        long = "revision",
        hide_env_values = true,
        env = "VENDOR_CONFORMANCE_REVISION",
        value_delimiter = ',',
        value_name = "REV"
    )]
    revisions: Vec<String>,
    /// Cases per scenario and vendor [default: $PROPTEST_CASES, else 16].
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_CASES")]
    cases: Option<u32>,
    /// Seed of the generated inputs (and of the mock's ids) [default: random, printed].
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_SEED")]
    seed: Option<u64>,
    /// Also write a report: `junit:PATH` (JUnit XML) or `ndjson:PATH` (event log); repeatable.
    #[arg(
        long = "report",
        hide_env_values = true,
        env = "VENDOR_CONFORMANCE_REPORT",
        value_delimiter = ',',
        value_name = "KIND:PATH"
    )]
    reports: Vec<String>,
    /// Folder where failures are saved as replay files.
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_REPLAY_DIR", default_value = "conformance-failures")]
    replay_dir: PathBuf,
    /// Never draw a progress bar (it is only drawn on a terminal anyway).
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_NO_PROGRESS")]
    no_progress: bool,
    /// Most restarts of a client that crashed or hung (each such case fails `response.answers`);
    /// one more and the run stops with what it found (exit 1).
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_MAX_RESTARTS", default_value_t = 16)]
    max_restarts: u32,
    /// Warnings (what a vendor tolerates but its docs do not promise: a `null` for an optional
    /// field, a documented default sent explicitly) fail the run too.
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_STRICT")]
    strict: bool,
    /// A selected vendor the client's `ready` does not list, or a case it answers `skipped`,
    /// fails the run (`response.answers`) instead of being skipped: for a client that must
    /// support every vendor it is run with.
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_REQUIRE_VENDORS")]
    require_vendors: bool,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// Use a running vendor-mock (with its /__admin API) instead of one in-process.
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_MOCK_URL", value_name = "URL")]
    mock_url: Option<String>,
    /// Check every protocol message, both ways, against protocol.schema.json.
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_VALIDATE_PROTOCOL")]
    validate_protocol: bool,
    /// Read the spec files of this folder instead of the embedded ones.
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_SPECS", value_name = "DIR")]
    specs: Option<PathBuf>,
    /// Seconds to wait for each answer line of the client.
    #[arg(
        long,
        hide_env_values = true,
        env = "VENDOR_CONFORMANCE_TIMEOUT",
        default_value_t = 10.0,
        value_name = "SECONDS"
    )]
    timeout: f64,
    /// Seconds the client is told to give each HTTP exchange (`timeout_ms`).
    #[arg(
        long,
        hide_env_values = true,
        env = "VENDOR_CONFORMANCE_CLIENT_TIMEOUT",
        default_value_t = 5.0,
        value_name = "SECONDS"
    )]
    client_timeout: f64,
}

#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// A replay file saved by `run`.
    file: PathBuf,
    /// The client under test: `exec:COMMAND`, `python:MODULE:FUNCTION` or `node:FILE#EXPORT`.
    #[arg(long, hide_env_values = true, env = "VENDOR_CONFORMANCE_CLIENT")]
    client: String,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Args)]
struct PropertiesArgs {
    /// `text` (a table) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// `vendor-conformance --help`, as clap renders it.
pub fn help() -> String {
    Cli::command().render_help().to_string()
}

/// Help of a subcommand (`run`, `replay`, `properties`).
pub fn subcommand_help(name: &str) -> String {
    let mut cmd = Cli::command();
    cmd.build();
    cmd.find_subcommand_mut(name).map(|c| c.render_help().to_string()).unwrap_or_default()
}

/// Runs the command line; returns the exit code. `terminal`: stderr is a terminal (progress bar).
pub fn main_with<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write, terminal: bool) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let text = e.render().to_string();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = write!(out, "{text}");
                    0
                }
                _ => {
                    let _ = write!(err, "{text}");
                    2
                }
            };
        }
    };
    match cli.command {
        Command::Properties(args) => {
            match args.format {
                Format::Text => {
                    let _ = write!(out, "{}", properties::table());
                }
                Format::Json => {
                    let _ = writeln!(out, "{}", serde_json::to_string_pretty(properties::ALL).unwrap_or_default());
                }
            }
            0
        }
        Command::Run(args) => run(args, out, err, terminal),
        Command::Replay(args) => replay(args, out, err),
    }
}

/// The client; a function client supports the vendors of the specs the run reads unless it
/// declares its own (a spec error is reported by the run itself).
fn parse_client(spec: &str, common: &CommonArgs) -> Result<Client, String> {
    match crate::runner::load_specs(common.specs.as_deref()) {
        Ok(specs) => Client::parse_for(spec, &specs.vendor_names()),
        Err(_) => Client::parse(spec),
    }
}

fn usage(err: &mut dyn Write, message: &str) -> u8 {
    let _ = writeln!(err, "vendor-conformance: {message}");
    2
}

fn seconds(s: f64) -> Option<Duration> {
    (s.is_finite() && s > 0.0).then(|| Duration::from_secs_f64(s))
}

fn options(common: &CommonArgs, label: &str) -> Result<RunOptions, String> {
    Ok(RunOptions {
        timeout: seconds(common.timeout).ok_or("--timeout must be a positive number of seconds")?,
        client_timeout: seconds(common.client_timeout)
            .ok_or("--client-timeout must be a positive number of seconds")?,
        validate_protocol: common.validate_protocol,
        specs: common.specs.clone(),
        mock_url: common.mock_url.clone(),
        client_label: label.to_owned(),
        ..RunOptions::default()
    })
}

enum Target {
    Junit(PathBuf),
    Ndjson(PathBuf),
}

fn parse_report(s: &str) -> Result<Target, String> {
    match s.split_once(':') {
        Some(("junit", path)) if !path.is_empty() => Ok(Target::Junit(path.into())),
        Some(("ndjson", path)) if !path.is_empty() => Ok(Target::Ndjson(path.into())),
        _ => Err(format!("--report {s}: expected junit:PATH or ndjson:PATH")),
    }
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    #[allow(clippy::cast_possible_truncation)]
    let n = (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32);
    n % 1_000_000_000
}

fn run(args: RunArgs, out: &mut dyn Write, err: &mut dyn Write, terminal: bool) -> u8 {
    let client = match parse_client(&args.client, &args.common) {
        Ok(c) => c,
        Err(m) => return usage(err, &m),
    };
    let mut targets = Vec::new();
    for r in &args.reports {
        match parse_report(r) {
            Ok(t) => targets.push(t),
            Err(m) => return usage(err, &m),
        }
    }
    let mut options = match options(&args.common, &args.client) {
        Ok(o) => o,
        Err(m) => return usage(err, &m),
    };
    let cases = match args.cases {
        Some(n) => n,
        None => match std::env::var("PROPTEST_CASES") {
            Ok(v) => match v.trim().parse() {
                Ok(n) => n,
                Err(_) => return usage(err, &format!("PROPTEST_CASES={v} is not a number")),
            },
            Err(_) => 16,
        },
    };
    if cases == 0 {
        return usage(err, "--cases must be at least 1");
    }
    options.cases = cases;
    options.seed = args.seed.unwrap_or_else(random_seed);
    options.vendors = VendorSelection::parse(&args.vendor);
    options.revisions = match RevisionSelection::parse(&args.revisions) {
        Ok(r) => r,
        Err(m) => return usage(err, &m),
    };
    options.replay_dir = Some(args.replay_dir.clone());
    options.max_restarts = args.max_restarts;
    options.strict = args.strict;
    options.require_vendors = args.require_vendors;

    let mut outputs = Outputs::new(out, err, terminal && !args.no_progress);
    for t in &targets {
        if let Target::Ndjson(path) = t
            && let Err(e) = outputs.log_to(path)
        {
            return usage(outputs.err, &format!("{}: {e}", path.display()));
        }
    }
    let junit: Vec<PathBuf> =
        targets.iter().filter_map(|t| if let Target::Junit(path) = t { Some(path.clone()) } else { None }).collect();
    outputs.run(client, options, &junit)
}

fn replay(args: ReplayArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let client = match parse_client(&args.client, &args.common) {
        Ok(c) => c,
        Err(m) => return usage(err, &m),
    };
    let options = match options(&args.common, &args.client) {
        Ok(o) => o,
        Err(m) => return usage(err, &m),
    };
    let file: ReplayFile = match std::fs::read(&args.file)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(f) => f,
        Err(e) => return usage(err, &format!("{}: {e}", args.file.display())),
    };
    if file.format != REPLAY_FORMAT || file.version != REPLAY_VERSION {
        let path = args.file.display();
        return usage(err, &format!("{path}: not a vendor-conformance replay file (version {REPLAY_VERSION})"));
    }
    let options = RunOptions { seed: file.seed, ..options };
    let target = target_name(&file.vendor, &file.revision);
    let _ = writeln!(out, "replaying {} [{target}] from {}", file.property, args.file.display());
    match crate::replay::replay(client, &file, options, &mut |_| {}) {
        Ok((executed, failure, implementation)) => {
            let _ = writeln!(out, "client: {} ({})", implementation.name, implementation.language);
            match failure {
                Some(f) => {
                    let _ = write!(out, "{}", render_failure(&f));
                    let others: Vec<&str> =
                        executed.verdicts.failed().into_iter().filter(|p| *p != file.property).collect();
                    if !others.is_empty() {
                        let _ = writeln!(out, "also failing in this case: {}", others.join(", "));
                    }
                    let _ = writeln!(out, "still failing");
                    1
                }
                None => {
                    let _ = writeln!(out, "{} holds now", file.property);
                    0
                }
            }
        }
        Err(e) => {
            let _ = writeln!(err, "vendor-conformance: {e}");
            e.exit_code()
        }
    }
}
