//! The `vendor-conformance` command line, as a function of its arguments and output streams so
//! that it can be tested in-process.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};

use crate::harness::Client;
use crate::model::Scenario;
use crate::options::{RunOptions, VendorSelection};
use crate::properties;
use crate::render::render_failure;
use crate::replay::{REPLAY_FORMAT, REPLAY_VERSION, ReplayFile};
use crate::report::Event;
use crate::revisions::RevisionSelection;
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
    /// The client under test: `exec:COMMAND`, run with `sh -c`, speaking PROTOCOL.md on stdin/stdout.
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
    /// The client under test: `exec:COMMAND`.
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
    let client = match Client::parse(&args.client) {
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

    let mut ndjson = None;
    for t in &targets {
        if let Target::Ndjson(path) = t {
            match std::fs::File::create(path) {
                Ok(f) => ndjson = Some(std::io::BufWriter::new(f)),
                Err(e) => return usage(err, &format!("{}: {e}", path.display())),
            }
        }
    }

    let progress = (terminal && !args.no_progress).then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} cases  {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    });
    let out_cell = RefCell::new(&mut *out);
    let err_cell = RefCell::new(&mut *err);
    let print = |text: &str, to_err: bool| {
        let emit = || {
            if to_err {
                let _ = write!(err_cell.borrow_mut(), "{text}");
            } else {
                let _ = write!(out_cell.borrow_mut(), "{text}");
            }
        };
        match &progress {
            Some(bar) => bar.suspend(emit),
            None => emit(),
        }
    };
    let mut on_event = |event: &Event| {
        if let Some(w) = ndjson.as_mut()
            && let Ok(line) = serde_json::to_string(event)
        {
            let _ = writeln!(w, "{line}");
        }
        match event {
            Event::RunStarted { seed, cases, client, mock, implementation, vendors } => {
                if let Some(bar) = &progress {
                    bar.set_length(vendors.len() as u64 * Scenario::ALL.len() as u64 * u64::from(*cases));
                }
                let version = if implementation.version.is_empty() {
                    String::new()
                } else {
                    format!(" {}", implementation.version)
                };
                print(
                    &format!(
                        "vendor-conformance: {} ({}{version}) via {client}\nmock {mock}; seed {seed}; {cases} cases per scenario; vendors: {}\n\n",
                        implementation.name,
                        implementation.language,
                        vendors.join(", ")
                    ),
                    false,
                );
            }
            Event::VendorSkipped { vendor, revision, reason } => {
                print(&format!("skip {}: {reason}\n", target_name(vendor, revision)), false);
            }
            Event::ScenarioStarted { vendor, revision, scenario, .. } => {
                if let Some(bar) = &progress {
                    bar.set_message(format!("{} / {}", target_name(vendor, revision), scenario.name()));
                }
            }
            Event::Case { shrinking, .. } => {
                if let (Some(bar), false) = (&progress, shrinking) {
                    bar.inc(1);
                }
            }
            Event::HarnessRestarted { reason, stderr_tail } => {
                let tail: String = stderr_tail
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n  ");
                print(&format!("client restarted after: {reason}\n  {tail}\n"), true);
            }
            Event::Failure(f) => print(&format!("{}\n", render_failure(f)), false),
            Event::Property { .. } | Event::RunFinished { .. } => {}
        }
    };
    let report = crate::runner::run(client, options, &mut on_event);
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if let Some(mut w) = ndjson {
        let _ = w.flush();
    }
    let out = out_cell.into_inner();
    let err = err_cell.into_inner();
    // The matrix means something once the client started (all skips otherwise).
    if !report.vendors.is_empty() && (report.error.is_none() || report.cases_run > 0) {
        let _ = write!(out, "{}", report.matrix());
        let _ = writeln!(out);
        if report.revisions_named {
            let _ = writeln!(out, "client × revision:");
            let _ = write!(out, "{}", report.revision_matrix());
            let _ = writeln!(out);
        }
        let _ = writeln!(
            out,
            "{} {}, {} case(s), seed {} ({:.1} s)",
            report.vendors.len(),
            if report.revisions_named { "vendor revision(s)" } else { "vendor(s)" },
            report.cases_run,
            report.seed,
            report.duration_ms as f64 / 1000.0
        );
        let _ = writeln!(out, "{}", report.summary_line());
    }
    if let Some((code, message)) = &report.error {
        let what = match code {
            3 => "the client failed to start or broke the protocol",
            _ => "error",
        };
        let _ = writeln!(err, "vendor-conformance: {what}: {message}");
    } else if report.exit_code == 4 {
        let _ = writeln!(err, "vendor-conformance: nothing ran (no selected vendor is supported by the client)");
    }
    for t in &targets {
        if let Target::Junit(path) = t
            && let Err(e) = std::fs::write(path, report.junit())
        {
            let _ = writeln!(err, "vendor-conformance: {}: {e}", path.display());
            return 2;
        }
    }
    report.exit_code
}

fn replay(args: ReplayArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let client = match Client::parse(&args.client) {
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
