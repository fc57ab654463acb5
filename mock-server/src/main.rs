//! `vendor-mock`: the command line.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use vendor_mock::{Config, CredentialList, HeaderCase, Mock, SeedData, Specs};

/// A faithful mock of SmartLead, Cellcast, VoiceAIWrapper and AgencyHandy's create-client
/// endpoints, driven by OpenAPI spec files.
#[derive(Debug, Parser)]
#[command(name = "vendor-mock", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every vendor on one port, at the vendors' real paths.
    Serve(ServeArgs),
    /// Print the fidelity table (behaviour, documented or assumed, source) as Markdown.
    Fidelity(SpecsArg),
    /// Check spec files and list their vendors and routes.
    Check(SpecsArg),
    /// Show what changed between two revisions of a vendor's contract (breaking changes first);
    /// exits 1 when something breaks, 0 when nothing does.
    Diff(DiffArgs),
    /// Check the mock against the live vendor: send a plan derived from the spec to the vendor and
    /// to an in-process mock, and report each fidelity row confirmed, differs or not probed;
    /// exits 1 when anything differs. It creates records at the vendor: refused without --yes.
    Probe(ProbeArgs),
}

#[derive(Debug, clap::Args)]
struct ProbeArgs {
    /// The vendor to probe (`smartlead`).
    vendor: String,
    /// The vendor's base URL, e.g. https://server.smartlead.ai (the spec's paths are appended).
    #[arg(long, env = "VENDOR_MOCK_PROBE_BASE_URL")]
    base_url: String,
    /// Your credential at the vendor, one part each: NAME=VALUE (the spec's part names, such as
    /// api_key, token, company_id); repeat or separate with commas.
    #[arg(
        long = "credential",
        value_name = "NAME=VALUE",
        env = "VENDOR_MOCK_PROBE_CREDENTIAL",
        hide_env_values = true,
        value_delimiter = ',',
        value_parser = parse_credential
    )]
    credentials: Vec<(String, String)>,
    /// The contract revision to compare with (`default` is the captured pages).
    #[arg(long, env = "VENDOR_MOCK_PROBE_REVISION", default_value = vendor_mock::DEFAULT_REVISION)]
    revision: String,
    /// Send the plan. Without it the probe sends nothing and says how many records it would create.
    #[arg(long, env = "VENDOR_MOCK_PROBE_YES")]
    yes: bool,
    /// Also write the report as JSON: `json:FILE`.
    #[arg(long, env = "VENDOR_MOCK_PROBE_REPORT", value_parser = parse_report)]
    report: Option<PathBuf>,
    /// Seconds to wait for each answer.
    #[arg(long, env = "VENDOR_MOCK_PROBE_TIMEOUT", default_value_t = 30)]
    timeout: u64,
    #[command(flatten)]
    specs: SpecsArg,
}

/// `NAME=VALUE`, e.g. `api_key=sk_live_…`.
fn parse_credential(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() && !value.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err("a credential is NAME=VALUE (e.g. api_key=YOUR_KEY)".to_owned()),
    }
}

/// `json:FILE`.
fn parse_report(text: &str) -> Result<PathBuf, String> {
    match text.split_once(':') {
        Some(("json", file)) if !file.is_empty() => Ok(PathBuf::from(file)),
        _ => Err(format!("`{text}` is not json:FILE")),
    }
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// The vendor (`agencyhandy`).
    vendor: String,
    /// The revision a client was written for (`default` is the captured pages).
    from: String,
    /// The revision to compare with (`2026-07`).
    to: String,
    #[command(flatten)]
    specs: SpecsArg,
}

/// `vendor=revision`, e.g. `agencyhandy=2026-07`.
fn parse_revision(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((vendor, revision)) if !vendor.is_empty() && !revision.is_empty() => {
            Ok((vendor.to_owned(), revision.to_owned()))
        }
        _ => Err(format!("`{text}` is not VENDOR=REVISION (e.g. agencyhandy=2026-07)")),
    }
}

#[derive(Debug, clap::Args)]
struct SpecsArg {
    /// Load the spec files of this folder instead of the embedded ones.
    #[arg(long, env = "VENDOR_MOCK_SPECS")]
    specs: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to bind: an IP address (`::1` or `[::1]` for IPv6) or a name such as `localhost`
    /// (loopback by default: the mock accepts any credential).
    #[arg(long, env = "VENDOR_MOCK_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to bind (0 picks a free one).
    #[arg(long, env = "VENDOR_MOCK_PORT", default_value_t = 4010)]
    port: u16,
    #[command(flatten)]
    specs: SpecsArg,
    /// Make generated ids and timestamps deterministic.
    #[arg(long, env = "VENDOR_MOCK_SEED")]
    seed: Option<u64>,
    /// Serve a vendor's contract revision instead of its default (captured) one:
    /// `agencyhandy=2026-07`; repeat or separate with commas.
    #[arg(long, env = "VENDOR_MOCK_REVISION", value_delimiter = ',', value_parser = parse_revision)]
    revision: Vec<(String, String)>,
    /// `strict`: case-exact header names where a vendor requires them (HTTP/1.1); `lenient`: any case.
    #[arg(long, env = "VENDOR_MOCK_HEADER_CASE", value_enum, default_value_t = HeaderCaseArg::Strict)]
    header_case: HeaderCaseArg,
    /// Accept only the credentials listed in this YAML file (vendor → list of credential objects).
    #[arg(long, env = "VENDOR_MOCK_CREDENTIALS")]
    credentials: Option<PathBuf>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "VENDOR_MOCK_BODY_LIMIT", default_value_t = 1024 * 1024)]
    body_limit: usize,
    /// Seconds a client may take to send a request head, and then its body.
    #[arg(long, env = "VENDOR_MOCK_CLIENT_TIMEOUT", default_value_t = 10)]
    client_timeout: u64,
    /// Seconds a connection may stay silent (keep-alive with no request) before it is closed.
    #[arg(long, env = "VENDOR_MOCK_IDLE_TIMEOUT", default_value_t = 60)]
    idle_timeout: u64,
    /// Threads that serve requests. By default half the CPU cores, at least one: the mock shares
    /// the machine with the tests and clients that call it (bench/README.md has the measurements).
    #[arg(long, env = "VENDOR_MOCK_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    /// Requests kept in the journal.
    #[arg(long, env = "VENDOR_MOCK_JOURNAL_SIZE", default_value_t = 10_000)]
    journal_size: usize,
    /// Bytes the journal may hold (at least 1 MiB); the oldest entries go first. Each entry keeps
    /// at most 64 KiB of its body and of its answer (then a marker and the real length).
    #[arg(long, env = "VENDOR_MOCK_JOURNAL_BYTES", default_value_t = 64 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1024 * 1024..))]
    journal_bytes: u64,
    /// Records one vendor's state may hold; past it a create gets the vendor's server error,
    /// naming the limit (nothing stored is lost).
    #[arg(long, env = "VENDOR_MOCK_MAX_RECORDS", default_value_t = 1_000_000)]
    max_records: usize,
    /// Bytes of records one vendor's state may hold; past it a create gets the vendor's server
    /// error, naming the limit.
    #[arg(long, env = "VENDOR_MOCK_STATE_BYTES", default_value_t = 256 * 1024 * 1024)]
    state_bytes: usize,
    /// Show credentials, passwords and tokens in the journal and state listings (masked otherwise).
    #[arg(long, env = "VENDOR_MOCK_JOURNAL_SECRETS")]
    journal_secrets: bool,
    /// Records to create at start: a YAML or JSON file, vendor → {credentials, records} (or a list).
    #[arg(long, env = "VENDOR_MOCK_SEED_DATA")]
    seed_data: Option<PathBuf>,
    /// Enforce the vendors' documented rate limits (`x-mock.rate_limits`), with their headers.
    #[arg(long, env = "VENDOR_MOCK_RATE_LIMITS")]
    rate_limits: bool,
    /// Require `Authorization: Bearer <TOKEN>` on the admin API (`/__admin`). Prefer
    /// `--admin-token-file` or the environment: arguments are visible to every local user.
    #[arg(long, env = "VENDOR_MOCK_ADMIN_TOKEN", conflicts_with = "admin_token_file")]
    admin_token: Option<String>,
    /// Read the admin token from this file (its first line).
    #[arg(long, env = "VENDOR_MOCK_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// Also answer admin requests addressed to this host name (repeat or separate with commas;
    /// `*`: any). Loopback names are always answered; bound to a non-loopback address, so are
    /// IP addresses and single-label names such as a container's service name.
    #[arg(long, env = "VENDOR_MOCK_ADMIN_HOST", value_delimiter = ',')]
    admin_host: Vec<String>,
    /// Reload the `--specs` folder when its spec files change (state is kept; invalid specs are
    /// logged and the previous ones kept).
    #[arg(long, env = "VENDOR_MOCK_WATCH", requires = "specs")]
    watch: bool,
}

/// `--header-case` (the library's [`HeaderCase`], which knows nothing of the command line).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum HeaderCaseArg {
    /// The name must be sent exactly as the spec spells it (what the vendor docs promise).
    Strict,
    /// Any case is accepted (RFC 9110 behaviour).
    Lenient,
}

/// Prints a status line; a closed stdout (`vendor-mock serve | head -1`) must not stop the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Standard output behind a lock and a 64 KiB buffer, for log lines. (tracing-appender's
/// non-blocking writer was measured in its place: it flushes whenever its thread catches up,
/// one write per log line under load, and cost 25-30 µs of server CPU per create against 7 here.)
#[derive(Clone)]
struct LogBuffer(Arc<Mutex<std::io::BufWriter<std::io::Stdout>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).flush()
    }
}

impl LogBuffer {
    /// Writes out what is buffered (a closed standard output is ignored, as `say!` does).
    fn flush_now(&self) {
        let _ = self.0.lock().unwrap_or_else(PoisonError::into_inner).flush();
    }
}

/// Log timestamps as tracing-subscriber writes them (`2026-11-23T14:10:00.123456Z`), through
/// chrono's formatter, which costs a third of the default one.
struct UtcMicros;

impl tracing_subscriber::fmt::time::FormatTime for UtcMicros {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        w.write_str(&chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }
}

fn load_specs(arg: &SpecsArg) -> anyhow::Result<Specs> {
    Ok(match &arg.specs {
        Some(dir) => Specs::from_dir(dir)?,
        None => Specs::embedded()?,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Fidelity(arg) => load_specs(&arg).map(|s| print!("{}", s.fidelity_markdown())),
        Command::Check(arg) => load_specs(&arg).map(|s| {
            for vendor in s.vendor_names() {
                match s.revisions(&vendor).as_slice() {
                    [_] => println!("{vendor}: ok"),
                    many => println!("{vendor}: ok (revisions: {})", many.join(", ")),
                }
            }
        }),
        Command::Probe(args) => return probe(args),
        Command::Diff(args) => {
            match load_specs(&args.specs).and_then(|s| Ok(s.diff(&args.vendor, &args.from, &args.to)?)) {
                Ok(diff) => {
                    print!("{diff}");
                    return if diff.is_breaking() { ExitCode::from(1) } else { ExitCode::SUCCESS };
                }
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vendor-mock: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `vendor-mock probe`: exit 0 when nothing differs, 1 when something does, 2 when it could not
/// run (a usage error, or no --yes).
fn probe(args: ProbeArgs) -> ExitCode {
    let run = || -> anyhow::Result<vendor_mock::probe::ProbeReport> {
        let specs = load_specs(&args.specs)?;
        let options = vendor_mock::probe::ProbeOptions {
            vendor: args.vendor.clone(),
            base_url: args.base_url.clone(),
            credentials: args.credentials.clone(),
            revision: args.revision.clone(),
            yes: args.yes,
            timeout: Duration::from_secs(args.timeout),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(runtime.block_on(vendor_mock::probe::run(&specs, &options))?)
    };
    match run() {
        Ok(report) => {
            print!("{}", report.render());
            if let Some(path) = &args.report
                && let Err(e) = std::fs::write(path, report.to_json())
            {
                eprintln!("vendor-mock: writing {}: {e}", path.display());
                return ExitCode::from(2);
            }
            if report.differs() { ExitCode::from(1) } else { ExitCode::SUCCESS }
        }
        Err(e) => {
            eprintln!("vendor-mock probe: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    fixed_malloc_thresholds();
    let flush_log = start_logging()?;
    let specs = load_specs(&args.specs)?;
    // Refuse an unknown revision here rather than serve the default one.
    specs.with_revisions(&args.revision)?;
    let config = config(&args)?;
    let guarded = config.admin_token.is_some();
    let seed_data = args.seed_data.as_deref().map(read_yaml::<SeedData>).transpose()?;
    let workers = args.workers.map_or_else(default_workers, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()?;
    runtime.block_on(async {
        let addr = bind_address(&args.host, args.port)?;
        let listener = listen(addr).with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        let chosen = specs.with_revisions(&args.revision)?;
        let names = chosen
            .vendor_names()
            .iter()
            .map(|v| match chosen.served_revision(v) {
                Some(r) if r != vendor_mock::DEFAULT_REVISION => format!("{v}@{r}"),
                _ => v.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mock = Mock::new(specs, config);
        if let Some(data) = &seed_data {
            let count = mock.seed_data(data).context("seeding --seed-data")?;
            say!("seeded {count} record(s)");
        }
        if let (true, Some(dir)) = (args.watch, &args.specs.specs) {
            say!("watching {} for spec changes", dir.display());
            tokio::spawn(vendor_mock::watch_specs(Arc::clone(&mock), dir.clone(), vendor_mock::WATCH_INTERVAL));
        }
        flush_log(); // what was logged while starting comes before the banner
        announce(local, &names, guarded);
        vendor_mock::run(listener, mock, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    // The last log lines come before the last line.
    flush_log();
    say!("vendor-mock stopped");
    Ok(())
}

/// Log lines collect in a buffer that goes out when full and, at the latest, 100 ms after they
/// were written: one write for many requests, instead of one per request. Returns what flushes
/// it at once.
fn start_logging() -> anyhow::Result<impl Fn()> {
    let log = LogBuffer(Arc::new(Mutex::new(std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()))));
    let flusher = log.clone();
    std::thread::Builder::new().name("log-flush".into()).spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            flusher.flush_now();
        }
    })?;
    let flush_log = {
        let log = log.clone();
        move || log.flush_now()
    };
    tracing_subscriber::fmt()
        .with_writer(move || log.clone())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VENDOR_MOCK_LOG")
                .unwrap_or_else(|_| "vendor_mock=info".into()),
        )
        .with_target(false)
        .with_timer(UtcMicros)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    Ok(flush_log)
}

/// The library's settings from `serve`'s flags.
fn config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = Config::default()
        .journal_bytes(usize::try_from(args.journal_bytes).unwrap_or(usize::MAX))
        .max_records(args.max_records)
        .state_bytes(args.state_bytes)
        .admin_hosts(args.admin_host.clone())
        .header_case(match args.header_case {
            HeaderCaseArg::Strict => HeaderCase::Strict,
            HeaderCaseArg::Lenient => HeaderCase::Lenient,
        })
        .body_limit(args.body_limit)
        .body_timeout(Duration::from_secs(args.client_timeout))
        .header_timeout(Duration::from_secs(args.client_timeout))
        .idle_timeout(Duration::from_secs(args.idle_timeout))
        .journal_size(args.journal_size)
        .journal_secrets(args.journal_secrets)
        .rate_limits(args.rate_limits)
        .admin_token(admin_token(args)?);
    config.seed = args.seed;
    config.credentials = args.credentials.as_deref().map(read_yaml::<CredentialList>).transpose()?;
    for (vendor, revision) in &args.revision {
        config = config.revision(vendor, revision);
    }
    Ok(config)
}

/// A YAML file of the user's (`--credentials`, `--seed-data`), with its path in any error.
fn read_yaml<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    yaml_serde::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The banner (tests and the packages wait for its first line), and the warnings of a server
/// that is reachable from other machines.
fn announce(local: std::net::SocketAddr, names: &str, guarded: bool) {
    say!("vendor-mock listening on http://{local} ({names})");
    say!("dashboard: http://{local}/__admin/ui");
    if !local.ip().is_loopback() {
        let admin = if guarded {
            "the admin API needs the admin token"
        } else {
            "anyone who can reach it can also reset it through /__admin (see --admin-token)"
        };
        say!(
            "warning: bound to {} — the mock accepts any credential and {admin}; keep it off untrusted networks",
            local.ip()
        );
        say!(
            "the admin API answers loopback names, IP addresses and single-label host names (a service name); \
             give any other name with --admin-host"
        );
    }
}

/// glibc's malloc adapts its thresholds to the largest block freed: after one 1 MB body it keeps
/// tens of MiB of freed memory resident and fragments its arenas, so that every hostile body
/// leaves more behind (issue 13: measured +23 MiB after five 1 MB bodies, +31 MiB after
/// fifteen, with no journal growth to explain it). Fixed thresholds (blocks of 256 KiB or more
/// straight from the system, free memory over 1 MiB given back) keep the resident size where it
/// was once the answer is sent (+4 MiB after the same fifteen, their journal entries included).
/// They are set with `mallopt` before any thread starts, unless the user set them in the
/// environment. (`serve` used to run itself again with `MALLOC_MMAP_THRESHOLD_` and
/// `MALLOC_TRIM_THRESHOLD_` set instead: 2–7 ms more for every start.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn fixed_malloc_thresholds() {
    if ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"]
        .iter()
        .any(|k| std::env::var_os(k).is_some())
    {
        return;
    }
    // SAFETY: `mallopt` only changes malloc's parameters; it is called before the runtime or any
    // other thread starts, so no allocation runs concurrently with it. Its result is 1 on
    // success and 0 when a value is refused (malloc then keeps its defaults: nothing to undo).
    let set = unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024) & libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * 1024)
    };
    if set != 1 {
        eprintln!("vendor-mock: could not fix malloc's thresholds; serving with glibc's defaults");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fixed_malloc_thresholds() {}

/// The admin token from `--admin-token` or `--admin-token-file`; an empty one is an error
/// rather than an open admin API (issue 13).
fn admin_token(args: &ServeArgs) -> anyhow::Result<Option<String>> {
    let token = match (&args.admin_token, &args.admin_token_file) {
        (Some(token), _) => Some((token.clone(), "--admin-token".to_owned())),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let first = text.lines().next().unwrap_or_default().trim().to_owned();
            Some((first, format!("--admin-token-file {}", path.display())))
        }
        (None, None) => None,
    };
    match token {
        Some((token, from)) if token.trim().is_empty() => {
            anyhow::bail!("{from}: the admin token is empty; leave the option out for an admin API without a token")
        }
        Some((token, _)) => Ok(Some(token)),
        None => Ok(None),
    }
}

/// The address to bind: an IP address (`127.0.0.1`, `::1`, `[::1]`) or a name (`localhost`,
/// its first address).
fn bind_address(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    use std::net::ToSocketAddrs as _;
    (bare, port)
        .to_socket_addrs()
        .with_context(|| format!("`{host}` is neither an IP address nor a name this machine resolves"))?
        .next()
        .with_context(|| format!("`{host}` resolves to no address"))
}

/// Half the CPU cores, at least one. On a two-core CI machine, where the clients under test run
/// beside the mock, one worker served 25 % more creates than two (two workers contend for the
/// vendor state, the journal and the allocator with each other and with the clients).
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Binds with a deep accept backlog: a CI job opening a thousand connections at once must not
/// see resets (tokio's default backlog is 1,024).
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
