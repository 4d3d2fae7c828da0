//! Command-line flags exactly as the user typed them (clap). No syscalls and no file reads here:
//! `plan` resolves these into a RunPlan or ServePlan.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::units::parse_duration;

#[derive(Debug, Parser)]
#[command(
    name = "ringblast",
    version,
    about = "Thread-per-core io_uring HTTP/1.1 load generator"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Put load on a URL and report what happened.
    Run(Box<RunArgs>),
    /// Find the highest open-loop rate the target sustains under an SLO (the --assert flags;
    /// default p99<1s and success>=98%).
    Peak(Box<PeakArgs>),
    /// Compare runs side by side: ringblast JSON reports, Locust CSV prefixes or Locust --json-file
    /// outputs, endpoint by endpoint, with ratios to the first, and a verdict per metric (faster,
    /// slower or no change, with its confidence interval) for each against the first.
    Compare(CompareArgs),
    /// Run the same plan against two targets in interleaved rounds (A B B A …), then say whether
    /// B is faster, slower or no different from A.
    Ab(Box<AbArgs>),
    /// Render a saved JSON report as HTML.
    Report(ReportArgs),
    /// Combine the JSON reports of one plan's shards (`run --shard I/N`) into one report.
    Merge(MergeArgs),
    /// Join a Locust master as one of its workers: the master sets users and time (its web UI,
    /// shapes and CSVs as usual); ringblast runs the users of the scenario's classes.
    LocustWorker(Box<LocustWorkerArgs>),
    /// Run the built-in HTTP/1.1 target until Ctrl-C.
    Serve(ServeArgs),
    /// Start the built-in target on a free loopback port, load it for a few seconds, report.
    Demo(DemoArgs),
    /// Convert a locustfile into a scenario file: prints what it understood per user class and
    /// every warning (file:line), and writes the scenario's TOML (to -o, or standard output).
    Convert(ConvertArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// The locustfile to read.
    pub locustfile: PathBuf,
    /// Only these user classes (all when none are named).
    pub classes: Vec<String>,
    /// Write the scenario here instead of standard output.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Any warning is an error (exit 2): fail rather than convert part of the file.
    #[arg(long)]
    pub strict: bool,
}

/// `--latency-clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LatencyClockArg {
    /// The kernel's receive timestamps where the sockets have them, else the userspace clock.
    #[default]
    Auto,
    /// The kernel's receive timestamps (SO_TIMESTAMPING), or exit 2 if sockets lack them.
    Kernel,
    /// The userspace clock, read when the response is parsed.
    User,
}

impl From<LatencyClockArg> for crate::engine::LatencyClock {
    fn from(a: LatencyClockArg) -> Self {
        match a {
            LatencyClockArg::Auto => Self::Auto,
            LatencyClockArg::Kernel => Self::Kernel,
            LatencyClockArg::User => Self::User,
        }
    }
}

/// `--kernel-stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum KernelStatsArg {
    /// eBPF when this process may load it, else host-wide /proc counters (and one line why).
    #[default]
    Auto,
    /// eBPF, or exit 2 naming the missing privilege or kernel feature.
    On,
    Off,
}

impl From<KernelStatsArg> for crate::kstats::Mode {
    fn from(a: KernelStatsArg) -> Self {
        match a {
            KernelStatsArg::Auto => Self::Auto,
            KernelStatsArg::On => Self::On,
            KernelStatsArg::Off => Self::Off,
        }
    }
}

/// `--http`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HttpArg {
    #[value(name = "1.1")]
    Http1,
    #[value(name = "2")]
    Http2,
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IoArg {
    /// io_uring if this kernel and sandbox allow it, else epoll.
    Auto,
    Uring,
    Epoll,
}

/// Flags shared by every command that runs workers.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Worker threads, one pinned per CPU [default: every online CPU].
    #[arg(long, conflicts_with = "cpus")]
    pub threads: Option<usize>,
    /// Exactly which CPUs to pin workers to, e.g. 0,2-3.
    #[arg(long)]
    pub cpus: Option<String>,
    /// Kernel interface.
    #[arg(long, value_enum, default_value = "auto")]
    pub io: IoArg,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Target URL, e.g. http://127.0.0.1:8080/ (with --scenario: optional, its host is used).
    #[arg(required_unless_present_any = ["scenario", "host", "locustfile"])]
    pub url: Option<String>,
    /// Run the same plan N times and keep every round in the JSON; reports the variation of
    /// req/s and p99 across rounds (noisy above 5 %). Never best-of-N.
    #[arg(long, default_value_t = 1)]
    pub rounds: u32,
    /// The pause between rounds (connections close and the target settles).
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub pause: Duration,
    /// A scenario file (TOML): user classes, tasks, templates, load; flags override it.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// A locustfile, read directly (as `convert` reads it; its warnings are printed).
    #[arg(short = 'f', long, conflicts_with = "scenario")]
    pub locustfile: Option<PathBuf>,
    /// With -f: only this user class (repeat for several) [default: every class].
    #[arg(long = "class", requires = "locustfile")]
    pub classes: Vec<String>,
    /// Run only the scenario's tasks with one of these tags (Locust's --tags; @tag in a
    /// locustfile, `tags = [...]` in a scenario), comma-separated.
    #[arg(short = 'T', long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Leave out the tasks with any of these tags (Locust's --exclude-tags).
    #[arg(short = 'E', long, value_delimiter = ',')]
    pub exclude_tags: Vec<String>,
    /// The target's base URL, replacing the scenario file's `host`.
    #[arg(long)]
    pub host: Option<String>,
    /// Open connections, split across the workers [default: 64].
    #[arg(short = 'c', long)]
    pub connections: Option<u32>,
    /// How long to run (500ms, 10s, 2m) [default: 10s unless -n is given].
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Total requests to send, instead of a duration.
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Requests pipelined on each connection per batch [default: 1].
    #[arg(short = 'p', long)]
    pub pipeline: Option<u32>,
    /// Speak HTTP/2: with prior knowledge (h2c) on http://, over ALPN h2 on https://. The same
    /// as --http 2.
    #[arg(long, conflicts_with = "http")]
    pub http2: bool,
    /// Which HTTP: 1.1 (the default), 2, or auto (https:// only: ALPN offers h2 and http/1.1,
    /// and each connection speaks what the server chose).
    #[arg(long, value_enum)]
    pub http: Option<HttpArg>,
    /// With HTTP/2: streams in flight per connection, like h2load's -m (within the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS) [default: 1].
    #[arg(long, conflicts_with = "pipeline")]
    pub streams: Option<u32>,
    /// Open loop: requests per second on a fixed schedule (wrk2-style), or a ramp A:B over -d.
    /// Latency is then measured from each request's intended send time.
    #[arg(short = 'R', long, conflicts_with_all = ["users", "stages"])]
    pub rate: Option<String>,
    /// Load in stages, each ramping from the last value: 30s:1000,1m:20000,30s:0 (rates) or
    /// 1m:100u,4m:1000u,30s:0u (users). Replaces -d.
    #[arg(long, conflicts_with = "duration")]
    pub stages: Option<String>,
    /// Closed loop with users (Locust's -u): each owns a connection and waits --think between requests.
    #[arg(short = 'u', long)]
    pub users: Option<u64>,
    /// Users started per second (Locust's -r) [default: all at once].
    #[arg(short = 'r', long)]
    pub spawn_rate: Option<f64>,
    /// Users' wait between requests: 1s (constant), 500ms..1500ms (uniform) or "pacing 2s" (a task
    /// every 2 s, however long it took) [default: none].
    #[arg(long)]
    pub think: Option<String>,
    /// Load that runs before measurement starts; nothing from it is recorded.
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// A condition checked at the end, e.g. 'p99<500ms', 'success>=99%', 'p99[30s]<1s' (repeatable).
    /// Any failure exits with code 3.
    #[arg(long = "assert")]
    pub asserts: Vec<String>,
    #[command(flatten)]
    pub workers: WorkerArgs,
    /// HTTP method [default: GET].
    #[arg(short = 'm', long)]
    pub method: Option<String>,
    /// Extra header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(short = 'b', long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the request body from a file.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// Per-request timeout: no complete response within it counts as a timeout error [default: 10s].
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Connect timeout [default: 5s].
    #[arg(long, value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,
    /// Do not send again idempotent requests that a server closed the connection on without
    /// answering (by default they are re-sent once on a new connection, as RFC 9112 allows).
    #[arg(long)]
    pub no_resend: bool,
    /// Close each connection after this many requests and open a new one (measures connection
    /// and TLS handshake churn; works for http:// too).
    #[arg(long)]
    pub requests_per_conn: Option<u64>,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// What the kernel saw of the run's connections (handshakes, retransmits, resets, drops):
    /// from eBPF (root or CAP_BPF+CAP_PERFMON), else host-wide /proc counters.
    #[arg(long, value_enum, default_value = "auto")]
    pub kernel_stats: KernelStatsArg,
    /// Where a response's latency ends: `kernel` takes the kernel's receive timestamp of the
    /// segment that completed it, so the generator's own wake-up delay is not counted; `user`
    /// reads the clock when the response is parsed.
    #[arg(long, value_enum, default_value = "auto")]
    pub latency_clock: LatencyClockArg,
    /// Below saturation (-R, --users), wake at most once per window to send what is due, and
    /// let answers gather meanwhile (with kernel timestamps): fewer wake-ups, at up to this
    /// much schedule lag. 0 sends every request at its own time [default: 1ms where a worker
    /// sends more than 5,000 requests/s (open loop, or users thinking 10ms or more), else 0].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub batch_window: Option<Duration>,
    /// Serve live Prometheus metrics on http://ADDR/metrics during the run (e.g.
    /// 127.0.0.1:9464), updated once per second.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Run shard I of N (0-based) of this plan: exactly 1/N of its rate, users, connections
    /// and -n, with seq values disjoint from the other shards'; combine the shards' --json
    /// reports with `ringblast merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Start the load at this wall-clock time (Unix seconds, or RFC 3339 UTC such as
    /// 2026-11-29T20:30:00Z), so that shards on several machines start together.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,
    /// The most bytes of one response kept for a scenario's captures (e.g. 64k, 8m); a larger
    /// response still counts, and its captures are reported as failed.
    #[arg(long, default_value = "1m")]
    pub capture_max: String,
    /// Also write the report as JSON to this file (schema: docs/report.schema.json).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write Locust-compatible CSV files: PREFIX_stats.csv, PREFIX_stats_history.csv,
    /// PREFIX_failures.csv and PREFIX_exceptions.csv.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// With --csv: history rows for every endpoint too, with Locust's current (10 s) percentiles.
    #[arg(long, requires = "csv")]
    pub csv_full_history: bool,
    /// Also write a self-contained HTML report with charts.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Also write an HdrHistogram interval log: each second's latency (µs), untagged for all
    /// requests and tagged per endpoint.
    #[arg(long)]
    pub hlog: Option<PathBuf>,
    /// No live progress line.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// How to speak TLS to an https:// target.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// Also trust the CA certificates in this PEM file (beside the system's roots).
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// Do not verify the server's certificate or name (the report says so).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// A client certificate chain (PEM) for servers that require one (mTLS); needs --key.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM); needs --cert.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Use only this TLS version: 1.2 or 1.3 [default: either, 1.3 preferred].
    #[arg(long)]
    pub tls_version: Option<String>,
    /// No session resumption: every connection makes a full handshake.
    #[arg(long)]
    pub no_tls_resume: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PeakArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// How long each rate is held.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub step: Duration,
    /// Stop when a passing and a failing rate are this close (relative).
    #[arg(long, default_value = "5%")]
    pub precision: String,
    /// The first rate tried (requests per second).
    #[arg(long, default_value_t = 1000.0)]
    pub start_rate: f64,
    /// Never try more than this rate.
    #[arg(long, default_value_t = 10_000_000.0)]
    pub max_rate: f64,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A report written by `run --json`.
    pub json: PathBuf,
    /// Where to write the HTML page.
    #[arg(long, required = true)]
    pub html: PathBuf,
}

impl RunArgs {
    /// The HTTP asked for: --http, or --http2.
    pub fn version(&self) -> crate::proto::Version {
        use crate::proto::Version;
        match (self.http, self.http2) {
            (Some(HttpArg::Http1), _) => Version::Http1,
            (Some(HttpArg::Http2), _) | (None, true) => Version::Http2,
            (Some(HttpArg::Auto), _) => Version::Auto,
            (None, false) => Version::Http1,
        }
    }

    /// Whether the flags set the load's size or length (-R, -u, --stages, -n, -d), which
    /// `peak` and a Locust master decide themselves.
    pub fn sets_load(&self) -> bool {
        self.rate.is_some()
            || self.users.is_some()
            || self.stages.is_some()
            || self.requests.is_some()
            || self.duration.is_some()
    }
}

#[derive(Debug, Clone, Args)]
pub struct LocustWorkerArgs {
    /// The master's address, host:port (its --master-bind-port, 5557 by default).
    #[arg(long)]
    pub master: String,
    /// The most users this worker runs at once (the master's asks above it are capped, and
    /// said so).
    #[arg(long, default_value_t = 1000)]
    pub max_users: u64,
    /// How long to keep trying to reach the master before giving up.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub master_timeout: Duration,
    /// What to run: a URL or a scenario (its [[user]] names are the master's user classes),
    /// and the request flags of `run`.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// Every shard's report (`run --shard I/N --json FILE`).
    #[arg(required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// Also write the merged report as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write the merged HTML report.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Also write Locust-compatible CSV of the merged report: PREFIX_stats.csv,
    /// _failures.csv and _exceptions.csv.
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Two or more results: report.json, a Locust CSV prefix (PREFIX_stats.csv), or Locust's
    /// --json-file output.
    #[arg(required = true, num_args = 2..)]
    pub inputs: Vec<String>,
    /// Write Markdown tables (for a results page) instead of text.
    #[arg(long)]
    pub markdown: bool,
    #[command(flatten)]
    pub verdict: VerdictArgs,
}

/// How verdicts are judged and written (`compare`, `ab`).
#[derive(Debug, Clone, Args)]
pub struct VerdictArgs {
    /// Exit 3 when a change is beyond this limit with significance: METRIC>LIMIT or
    /// METRIC<LIMIT, e.g. 'p99>+10%', 'rps<-5%', 'errors>+0.1pp'. Repeatable.
    #[arg(long = "fail-if", value_name = "GATE")]
    pub fail_if: Vec<String>,
    /// Two-sided confidence of the intervals and verdicts.
    #[arg(long, default_value = "95%")]
    pub confidence: String,
    /// Write the comparison (verdicts, gates, the inputs' figures) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the comparison page: percentile spectra, per-second p99 and throughput, verdicts.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct AbArgs {
    /// A's URL is the first positional (URL_A); the run flags apply to both.
    #[command(flatten)]
    pub run: RunArgs,
    /// URL_B: the target compared against A (required).
    #[arg(value_name = "URL_B")]
    pub b: Option<String>,
    /// Write Markdown tables instead of text.
    #[arg(long)]
    pub markdown: bool,
    /// Exit 3 when a change of B against A is beyond this limit with significance (as compare).
    #[arg(long = "fail-if", value_name = "GATE")]
    pub fail_if: Vec<String>,
    /// Two-sided confidence of the intervals and verdicts.
    #[arg(long, default_value = "95%")]
    pub confidence: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub workers: WorkerArgs,
    /// Status code of every response.
    #[arg(long, default_value_t = 200)]
    pub status: u16,
    /// Response body size in bytes (e.g. 512, 4k).
    #[arg(long, default_value = "13")]
    pub body_size: String,
    /// Delay before each response is sent (e.g. 5ms).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub delay: Duration,
    /// Add an `X-Response: <counter>` header so every response head differs (for benchmarks).
    #[arg(long)]
    pub unique_heads: bool,
    /// Serve a mock API from a routes file (TOML) instead of one response for everything.
    #[arg(long)]
    pub routes: Option<PathBuf>,
    /// Largest request body accepted; larger ones get 413 and the connection is closed.
    #[arg(long, default_value = "16m")]
    pub max_body: String,
    /// A request head must arrive whole within this long (slowloris); else the connection closes.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Close a connection with nothing in progress, or whose client stops reading, after this;
    /// a whole request (head and body) must also arrive within it.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Serve HTTPS: with a self-signed certificate made at start, or --cert/--key.
    #[arg(long)]
    pub tls: bool,
    /// The certificate chain (PEM) to serve with --tls.
    #[arg(long, requires_all = ["tls", "key"])]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, requires_all = ["tls", "cert"])]
    pub key: Option<PathBuf>,
    /// Accept only this TLS version: 1.2 or 1.3 [default: either].
    #[arg(long, requires = "tls")]
    pub tls_version: Option<String>,
    /// Serve HTTP/2 too: connections that open with its preface (h2c, prior knowledge), and
    /// with --tls those that choose h2 over ALPN. HTTP/1.1 clients are served as before.
    #[arg(long)]
    pub http2: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Run the demo over HTTPS (the target makes a self-signed certificate; the client trusts it).
    #[arg(long)]
    pub tls: bool,
    /// Run the demo over HTTP/2: h2c, or with --tls ALPN h2.
    #[arg(long)]
    pub http2: bool,
    /// How long to load the built-in target.
    #[arg(short = 'd', long, default_value = "3s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Users (each with its own connection).
    #[arg(short = 'c', long, alias = "users", default_value_t = crate::load::DEFAULT_CONNECTIONS)]
    pub connections: u32,
    /// Kernel interface.
    #[arg(long, value_enum, default_value = "auto")]
    pub io: IoArg,
    /// What the kernel saw of the demo's connections (eBPF, else /proc).
    #[arg(long, value_enum, default_value = "auto")]
    pub kernel_stats: KernelStatsArg,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write the HTML report to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
}
