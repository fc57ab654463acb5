//! A run as the command line shows it: a progress bar on a terminal, each failure as it is
//! found, restarts on stderr, the NDJSON event log, then the matrices, the summary and the JUnit
//! report.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::harness::Client;
use crate::model::Scenario;
use crate::options::RunOptions;
use crate::render::render_failure;
use crate::report::{Event, RunReport};
use crate::vendor::target_name;

/// Where a run's output goes.
pub(crate) struct Outputs<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    progress: Option<ProgressBar>,
    ndjson: Option<BufWriter<File>>,
}

impl<'a> Outputs<'a> {
    /// Outputs to `out` and `err`, with a progress bar on stderr when `bar`.
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write, bar: bool) -> Self {
        let progress = bar.then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} cases  {msg}") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Self { out, err, progress, ndjson: None }
    }

    /// Also writes the event log (NDJSON) to a file.
    pub fn log_to(&mut self, path: &Path) -> std::io::Result<()> {
        self.ndjson = Some(BufWriter::new(File::create(path)?));
        Ok(())
    }

    /// Runs the suite, showing it as it goes; then the summary and the JUnit files. Returns the
    /// exit code.
    pub fn run(self, client: Client, options: RunOptions, junit: &[PathBuf]) -> u8 {
        let Self { out, err, progress, mut ndjson } = self;
        let live = Live { out: RefCell::new(out), err: RefCell::new(err), progress };
        let report = crate::runner::run(client, options, &mut |event| {
            if let Some(w) = ndjson.as_mut()
                && let Ok(line) = serde_json::to_string(event)
            {
                let _ = writeln!(w, "{line}");
            }
            live.show(event);
        });
        if let Some(bar) = &live.progress {
            bar.finish_and_clear();
        }
        if let Some(mut w) = ndjson {
            let _ = w.flush();
        }
        let (out, err) = (live.out.into_inner(), live.err.into_inner());
        summary(&report, out, err);
        for path in junit {
            if let Err(e) = std::fs::write(path, report.junit()) {
                let _ = writeln!(err, "vendor-conformance: {}: {e}", path.display());
                return 2;
            }
        }
        report.exit_code
    }
}

/// The run's live output (events arrive while the run borrows nothing else).
struct Live<'a> {
    out: RefCell<&'a mut dyn Write>,
    err: RefCell<&'a mut dyn Write>,
    progress: Option<ProgressBar>,
}

impl Live<'_> {
    fn print(&self, text: &str, to_err: bool) {
        let emit = || {
            let mut stream = if to_err { self.err.borrow_mut() } else { self.out.borrow_mut() };
            let _ = write!(stream, "{text}");
        };
        match &self.progress {
            Some(bar) => bar.suspend(emit),
            None => emit(),
        }
    }

    fn show(&self, event: &Event) {
        match event {
            Event::RunStarted { seed, cases, client, mock, implementation, vendors } => {
                if let Some(bar) = &self.progress {
                    bar.set_length(vendors.len() as u64 * Scenario::ALL.len() as u64 * u64::from(*cases));
                }
                let version = if implementation.version.is_empty() {
                    String::new()
                } else {
                    format!(" {}", implementation.version)
                };
                self.print(
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
                self.print(&format!("skip {}: {reason}\n", target_name(vendor, revision)), false);
            }
            Event::ScenarioStarted { vendor, revision, scenario, .. } => {
                if let Some(bar) = &self.progress {
                    bar.set_message(format!("{} / {}", target_name(vendor, revision), scenario.name()));
                }
            }
            Event::Case { shrinking, .. } => {
                if let (Some(bar), false) = (&self.progress, shrinking) {
                    bar.inc(1);
                }
            }
            Event::HarnessRestarted { reason, stderr_tail } => {
                let lines: Vec<&str> = stderr_tail.lines().collect();
                let tail = lines[lines.len().saturating_sub(5)..].join("\n  ");
                self.print(&format!("client restarted after: {reason}\n  {tail}\n"), true);
            }
            Event::Failure(f) | Event::Warning(f) => self.print(&format!("{}\n", render_failure(f)), false),
            Event::Property { .. } | Event::RunFinished { .. } => {}
        }
    }
}

/// The matrices and the closing lines (once the client started), and why the run stopped.
fn summary(report: &RunReport, out: &mut dyn Write, err: &mut dyn Write) {
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
        if report.warned() > 0 {
            let rule = if report.strict {
                "they fail the run (--strict)"
            } else {
                "they do not fail the run (--strict would)"
            };
            let _ = writeln!(out, "warnings: what the vendors tolerate but their docs do not promise; {rule}");
        }
    }
    if let Some((code, message)) = &report.error {
        let what = match code {
            1 => "the run stopped early",
            3 => "the client failed to start or broke the protocol",
            _ => "error",
        };
        let _ = writeln!(err, "vendor-conformance: {what}: {message}");
    } else if report.exit_code == 4 {
        let _ = writeln!(err, "vendor-conformance: nothing ran (no selected vendor is supported by the client)");
    }
}
