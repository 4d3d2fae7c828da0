//! Resolves raw flags into plain-data plans before any worker starts: URL → address, CPU list,
//! request bytes, stop rule. Nothing below this layer reads argv, the environment or files.

mod merge;
mod shape;
pub mod shard;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::assertions::{self, Assertion};
use crate::cli::{IoArg, RunArgs, ServeArgs, WorkerArgs};
use crate::error::SetupError;
use crate::http::request::{RequestSpec, validate_header};
use crate::io::IoChoice;
use crate::load::{Kind, Shape, Think};
use crate::routes::Routes;
use crate::scenario::Scenario;
use crate::scenario::program::{Program, RequestTemplate};
use crate::scenario::template::Template;
use crate::target::Target;
use crate::units::{parse_cpu_list, parse_size};
use merge::merge;
use shape::{parse_think, resolve_shape};
use std::sync::Arc;

/// How long a run limited only by `-n` may last (it ends when the requests are done).
const UNBOUNDED: Duration = Duration::from_secs(1_000_000_000);
/// The longest `--batch-window`: every send may wait this long.
const MAX_BATCH_WINDOW: Duration = Duration::from_secs(1);

/// When a run stops: whichever limit comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopRule {
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
}

/// Everything a load run needs, resolved.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub url: String,
    pub target: Target,
    pub request: RequestSpec,
    /// Connections (closed loop and open loop), or the most users at once (users).
    pub connections: u32,
    /// HTTP/1.1's pipeline depth, or HTTP/2's streams per connection.
    pub pipeline: u32,
    /// Which HTTP the connections speak (`--http`, `--http2`).
    pub http: crate::proto::Version,
    pub cpus: Vec<usize>,
    pub stop: StopRule,
    /// The load over time, warm-up included at its start.
    pub shape: Shape,
    pub warmup: Duration,
    pub think: Think,
    pub assertions: Vec<Assertion>,
    /// What each connection sends: one request, or a scenario's user classes and tasks.
    pub program: Arc<Program>,
    /// The scenario file, if the run has one.
    pub scenario: Option<PathBuf>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub io: IoChoice,
    pub json: Option<PathBuf>,
    /// Prefix for Locust-compatible CSV files.
    pub csv: Option<PathBuf>,
    /// History rows per endpoint too, with current (10 s window) percentiles.
    pub csv_full_history: bool,
    /// The HTML report's path.
    pub html: Option<PathBuf>,
    /// The HdrHistogram interval log's path.
    pub hlog: Option<PathBuf>,
    /// The most bytes of one response kept for captures.
    pub capture_limit: usize,
    /// Send again unanswered idempotent requests on a new connection.
    pub resend: bool,
    /// Close each connection after this many requests.
    pub requests_per_conn: Option<u64>,
    /// TLS settings for an https:// target.
    pub tls: Option<crate::tls::ClientTls>,
    /// `--kernel-stats`.
    pub kernel_stats: crate::kstats::Mode,
    /// `--latency-clock`.
    pub latency_clock: crate::engine::LatencyClock,
    /// `--batch-window` (None: chosen from the load, see `engine::batch_window`).
    pub batch_window: Option<Duration>,
    /// `--metrics-listen`: where to serve /metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// `--shard`: which part of the plan this process runs (0/1: all of it).
    pub shard: crate::load::Shard,
    /// `--start-at`: when to start the load.
    pub start_at: Option<std::time::SystemTime>,
    /// What shards of the same plan share (see `shard::fingerprint`).
    pub fingerprint: String,
    /// The same without the URL: what runs `compare` may judge against each other share.
    pub load_fingerprint: String,
    pub progress: bool,
}

/// What the target tolerates from a client before it answers with an error or hangs up.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Larger request bodies get 413.
    pub max_body: u64,
    /// A request head must arrive whole within this long of its first byte (slowloris).
    pub head_timeout: Duration,
    /// A connection with nothing to do (or a client that does not read) is closed after this.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: crate::http::request_parser::DEFAULT_MAX_BODY,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Everything the built-in target needs, resolved.
#[derive(Debug, Clone)]
pub struct ServePlan {
    pub listen: SocketAddr,
    pub cpus: Vec<usize>,
    pub status: u16,
    pub body_size: usize,
    pub delay: Duration,
    /// Add a per-response counter header, so no two response heads are the same.
    pub unique_heads: bool,
    /// Body size, head and idle timeouts the target enforces on its clients.
    pub limits: Limits,
    /// The mock API's routes (`--routes FILE`); without it every request gets one response.
    pub routes: Option<Arc<Routes>>,
    /// Serve HTTPS with these settings.
    pub tls: Option<crate::tls::ServerTls>,
    pub io: IoChoice,
    /// Serve HTTP/2 to connections that open with its preface (`--http2`).
    pub http2: bool,
}

fn positive(d: Duration, flag: &str) -> Result<Duration, SetupError> {
    if d.is_zero() {
        return Err(usage(format!("{flag} must be longer than 0s")));
    }
    Ok(d)
}

pub(crate) fn usage(msg: impl Into<String>) -> SetupError {
    SetupError::Usage(msg.into())
}

impl From<IoArg> for IoChoice {
    fn from(a: IoArg) -> Self {
        match a {
            IoArg::Auto => IoChoice::Auto,
            IoArg::Uring => IoChoice::Uring,
            IoArg::Epoll => IoChoice::Epoll,
        }
    }
}

/// The CPUs workers are pinned to: `--cpus`, the first `--threads`, or every online CPU.
pub fn resolve_cpus(args: &WorkerArgs, online: &[usize]) -> Result<Vec<usize>, SetupError> {
    if online.is_empty() {
        return Err(usage("cannot list the online CPUs"));
    }
    if let Some(list) = &args.cpus {
        let cpus = parse_cpu_list(list).map_err(usage)?;
        if let Some(bad) = cpus.iter().find(|c| !online.contains(c)) {
            return Err(usage(format!(
                "--cpus: CPU {bad} is not available to this process (available: {online:?})"
            )));
        }
        return Ok(cpus);
    }
    match args.threads {
        Some(0) => Err(usage("--threads must be at least 1")),
        Some(n) if n > online.len() => Err(usage(format!(
            "--threads {n} exceeds the {} online CPUs (one pinned worker per CPU)",
            online.len()
        ))),
        Some(n) => Ok(online[..n].to_vec()),
        None => Ok(online.to_vec()),
    }
}

/// Online CPU ids, as the affinity API sees them.
pub fn online_cpus() -> Vec<usize> {
    core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

impl RunPlan {
    /// What the engine runs: the load and the requests, with the output flags settled into what
    /// they need recorded.
    pub fn engine(&self) -> crate::engine::EngineConfig {
        crate::engine::EngineConfig {
            addr: self.target.addr,
            program: self.program.clone(),
            cpus: self.cpus.clone(),
            connections: self.connections,
            pipeline: self.pipeline,
            http: self.http,
            shape: self.shape.clone(),
            warmup: self.warmup,
            requests: self.stop.requests,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            // The run's outputs say whether they need it (see output::Output::per_endpoint).
            per_endpoint_seconds: false,
            capture_limit: self.capture_limit,
            resend: self.resend,
            requests_per_conn: self.requests_per_conn,
            tls: self.tls.clone(),
            assertions: self.assertions.clone(),
            shard: self.shard,
            live_users: None,
            latency_clock: self.latency_clock,
            batch_window: self.batch_window,
        }
    }

    pub fn from_args(cli: &RunArgs) -> Result<Self, SetupError> {
        let mut scenario = match (&cli.scenario, &cli.locustfile) {
            (Some(path), _) => Some(Scenario::load(path)?),
            (None, Some(path)) => Some(crate::locustfile::scenario(path, &cli.classes)?),
            (None, None) => None,
        };
        match &mut scenario {
            Some(s) => s.select_tags(&cli.tags, &cli.exclude_tags)?,
            None if !cli.tags.is_empty() || !cli.exclude_tags.is_empty() => {
                return Err(SetupError::Usage(
                    "--tags and --exclude-tags select a scenario's tasks: add --scenario or -f"
                        .into(),
                ));
            }
            None => {}
        }
        Self::from_parts(cli, scenario, Vec::new())
    }

    /// The plan of flags with a scenario already read (from a file, or a value such as the
    /// demo's), trusting `roots` beside the system's and `--cacert`'s for https://.
    pub fn from_parts(
        cli: &RunArgs,
        scenario: Option<Scenario>,
        roots: Vec<pki_types::CertificateDer<'static>>,
    ) -> Result<Self, SetupError> {
        let merged = merge(cli, scenario.as_ref())?;
        let args = &merged;
        let url = args
            .url
            .clone()
            .expect("clap requires a URL, --host or --scenario");
        let target = Target::resolve(&url).map_err(usage)?;
        let http = match args.version() {
            // Without TLS there is no ALPN to ask: auto is HTTP/1.1 (h2c needs --http 2).
            crate::proto::Version::Auto if !target.tls => crate::proto::Version::Http1,
            v => v,
        };
        let tls = client_tls(&target, &args.tls, roots, http)?;
        if args.requests_per_conn == Some(0) {
            return Err(usage("--requests-per-conn must be at least 1"));
        }
        if args.batch_window.is_some_and(|w| w > MAX_BATCH_WINDOW) {
            return Err(usage(
                "--batch-window must be at most 1s (it delays sends by up to its length)",
            ));
        }
        let connections_arg = args.connections.unwrap_or(crate::load::DEFAULT_CONNECTIONS);
        let pipeline = args.pipeline.or(args.streams).unwrap_or(1);
        if http.may_be_h2() && args.pipeline.is_some() {
            return Err(usage(
                "-p pipelines HTTP/1.1; with HTTP/2, give the streams per connection with --streams",
            ));
        }
        if !http.may_be_h2() && args.streams.is_some() {
            return Err(usage(
                "--streams is HTTP/2's (with --http2, or --http auto on https://); HTTP/1.1 pipelines with -p",
            ));
        }
        let timeout = args.timeout.unwrap_or(Duration::from_secs(10));
        let connect_timeout = args.connect_timeout.unwrap_or(Duration::from_secs(5));
        if connections_arg == 0 || connections_arg > 10_000_000 {
            return Err(usage("-c/--connections must be between 1 and 10,000,000"));
        }
        if pipeline == 0 || pipeline > 1024 {
            return Err(usage("-p/--pipeline must be between 1 and 1024"));
        }
        if args.requests == Some(0) {
            return Err(usage("-n/--requests must be at least 1"));
        }
        if args.duration.is_some_and(|d| d.is_zero()) {
            return Err(usage("-d/--duration must be greater than zero"));
        }
        if timeout.is_zero() || connect_timeout.is_zero() {
            return Err(usage(
                "--timeout and --connect-timeout must be greater than zero",
            ));
        }
        if scenario.is_some()
            && (args.method.is_some() || args.body.is_some() || args.body_file.is_some())
        {
            return Err(usage(
                "-m, -b and --body-file describe a single request; with --scenario the tasks do",
            ));
        }
        let method = args.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(usage(format!(
                "-m: '{}' is not an HTTP method",
                args.method.as_deref().unwrap_or_default()
            )));
        }
        let mut headers = Vec::new();
        for h in &args.headers {
            let (k, v) = h.split_once(':').ok_or_else(|| {
                let shown = crate::redact::header_line(h);
                usage(format!(
                    "-H '{}': expected 'Name: value'",
                    shown.escape_debug()
                ))
            })?;
            let (k, v) = (k.trim(), v.trim());
            validate_header(k, v).map_err(usage)?;
            headers.push((k.to_string(), v.to_string()));
        }
        // user:password@ in the URL is Basic authentication, unless a header says otherwise.
        if let Some(auth) = &target.authorization
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            headers.push(("Authorization".to_string(), auth.clone()));
        }
        let body = match (&args.body, &args.body_file) {
            (Some(b), _) => b.clone().into_bytes(),
            (None, Some(path)) => std::fs::read(path)
                .map_err(|e| usage(format!("--body-file {}: {e}", path.display())))?,
            (None, None) => Vec::new(),
        };
        let stop = StopRule {
            duration: match (args.duration, args.requests) {
                (None, None) => Some(Duration::from_secs(10)),
                (d, _) => d,
            },
            requests: args.requests,
        };
        let warmup = args.warmup.unwrap_or(Duration::ZERO);
        let shape = resolve_shape(args, stop)?.with_warmup(warmup);
        let think = match &args.think {
            None => Think::None,
            Some(_) if shape.kind != Kind::Users && scenario.is_none() => {
                return Err(usage("--think applies to --users (or user --stages)"));
            }
            Some(t) => parse_think(t)?,
        };
        // HTTP/2 users share connections, `--streams` users to each (one stream a user).
        if shape.kind == Kind::Users && pipeline > 1 && !http.may_be_h2() {
            return Err(usage(
                "users send one request at a time; drop -p with --users",
            ));
        }
        let connections = match shape.kind {
            Kind::Users => {
                let peak = shape.peak().ceil();
                if !(1.0..=1e7).contains(&peak) {
                    return Err(usage("the user count must be between 1 and 10,000,000"));
                }
                peak as u32
            }
            _ => connections_arg,
        };
        let program = match &scenario {
            Some(s) => {
                let global_think = args.think.as_deref().map(parse_think).transpose()?;
                s.program(&target.authority, &headers, global_think)?
            }
            None => Program::single(
                RequestTemplate {
                    method: method.clone(),
                    path: Template::literal(&target.path),
                    host: target.authority.clone(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.clone(), Template::literal(v)))
                        .collect(),
                    body: Template::bytes(body.clone()),
                },
                target.path.clone(),
                think,
            ),
        };
        let assertions = args
            .asserts
            .iter()
            .map(|a| assertions::parse(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(usage)?;
        let shard = match &args.shard {
            Some(s) => shard::parse_shard(s).map_err(usage)?,
            None => crate::load::Shard::default(),
        };
        // This process's connections (or users): its shard's part of the plan's.
        let own = if shape.kind == Kind::Users {
            shard.as_share().count_below(u64::from(connections))
        } else {
            shard.part(u64::from(connections))
        } as usize;
        if own == 0 {
            return Err(usage(format!(
                "-c/-u {connections} is fewer than the {} shards; every shard needs a connection",
                shard.count
            )));
        }
        let mut cpus = resolve_cpus(&args.workers, &online_cpus())?;
        if shape.kind == Kind::Users && own < cpus.len() {
            cpus.truncate(own);
        }
        if own < cpus.len() {
            if args.workers.threads.is_some() || args.workers.cpus.is_some() {
                let what = if shard.count > 1 {
                    format!("this shard's {own} of -c {connections}")
                } else {
                    format!("-c {connections}")
                };
                return Err(usage(format!(
                    "{what} is fewer than the {} workers; every worker needs a connection",
                    cpus.len()
                )));
            }
            cpus.truncate(own);
        }
        Ok(Self {
            // Reports and messages show the URL without its credentials.
            url: crate::redact::url(&url),
            request: RequestSpec {
                method,
                path: target.path.clone(),
                host: target.authority.clone(),
                headers,
                body,
            },
            target,
            connections,
            pipeline,
            http,
            cpus,
            stop,
            shape,
            warmup,
            think,
            assertions,
            program: Arc::new(program),
            scenario: scenario.as_ref().map(|s| s.path.clone()),
            timeout,
            connect_timeout,
            io: args.workers.io.into(),
            json: args.json.clone(),
            csv: args.csv.clone(),
            csv_full_history: args.csv_full_history,
            html: args.html.clone(),
            hlog: args.hlog.clone(),
            resend: !args.no_resend,
            requests_per_conn: args.requests_per_conn,
            tls,
            kernel_stats: args.kernel_stats.into(),
            latency_clock: args.latency_clock.into(),
            batch_window: args.batch_window,
            shard,
            start_at: args
                .start_at
                .as_deref()
                .map(shard::parse_start_at)
                .transpose()
                .map_err(usage)?,
            fingerprint: shard::fingerprint(cli, scenario.as_ref().map(|s| s.text.as_str())),
            load_fingerprint: shard::load_fingerprint(
                cli,
                scenario.as_ref().map(|s| s.text.as_str()),
            ),
            metrics_listen: args
                .metrics_listen
                .as_deref()
                .map(|a| {
                    a.to_socket_addrs()
                        .ok()
                        .and_then(|mut it| it.next())
                        .ok_or_else(|| {
                            usage(format!(
                                "--metrics-listen '{a}': expected host:port, e.g. 127.0.0.1:9464"
                            ))
                        })
                })
                .transpose()?,
            capture_limit: parse_size(&args.capture_max)
                .map_err(|e| usage(format!("--capture-max: {e}")))?,
            progress: !args.quiet,
        })
    }
}

impl ServePlan {
    pub fn from_args(args: &ServeArgs) -> Result<Self, SetupError> {
        let listen = args
            .listen
            .to_socket_addrs()
            .map_err(|e| {
                usage(format!(
                    "--listen '{}': {e} (expected host:port)",
                    args.listen
                ))
            })?
            .next()
            .ok_or_else(|| usage(format!("--listen '{}' resolved to no address", args.listen)))?;
        if !(100..=999).contains(&args.status) || (100..200).contains(&args.status) {
            return Err(usage(format!(
                "--status {} is not a final status code (200-999)",
                args.status
            )));
        }
        let body_size = parse_size(&args.body_size).map_err(usage)?;
        if body_size > 64 * 1024 * 1024 {
            return Err(usage("--body-size is limited to 64m"));
        }
        Ok(Self {
            listen,
            cpus: resolve_cpus(&args.workers, &online_cpus())?,
            status: args.status,
            body_size,
            delay: args.delay,
            unique_heads: args.unique_heads,
            limits: Limits {
                max_body: parse_size(&args.max_body).map_err(usage)? as u64,
                head_timeout: positive(args.header_timeout, "--header-timeout")?,
                idle_timeout: positive(args.idle_timeout, "--idle-timeout")?,
            },
            routes: match &args.routes {
                Some(path) => Some(Arc::new(Routes::load(path)?)),
                None => None,
            },
            tls: if args.tls {
                let version = args
                    .tls_version
                    .as_deref()
                    .map(crate::tls::TlsVersion::parse)
                    .transpose()?;
                Some(crate::tls::ServerTls::new(&crate::tls::ServerTlsOptions {
                    cert: args.cert.clone(),
                    key: args.key.clone(),
                    version,
                    http2: args.http2,
                })?)
            } else {
                None
            },
            io: args.workers.io.into(),
            http2: args.http2,
        })
    }
}

/// The client's TLS settings for an https:// target; TLS flags on an http:// one are an error.
fn client_tls(
    target: &Target,
    args: &crate::cli::TlsArgs,
    roots: Vec<pki_types::CertificateDer<'static>>,
    http: crate::proto::Version,
) -> Result<Option<crate::tls::ClientTls>, SetupError> {
    let given = args.cacert.is_some()
        || args.insecure
        || args.cert.is_some()
        || args.tls_version.is_some()
        || args.no_tls_resume;
    if !target.tls {
        if given {
            return Err(usage(
                "--cacert, --insecure, --cert/--key, --tls-version and --no-tls-resume need an https:// URL",
            ));
        }
        return Ok(None);
    }
    let version = args
        .tls_version
        .as_deref()
        .map(crate::tls::TlsVersion::parse)
        .transpose()?;
    let opts = crate::tls::ClientTlsOptions {
        cacert: args.cacert.clone(),
        roots,
        cert: args.cert.clone(),
        key: args.key.clone(),
        insecure: args.insecure,
        version,
        resume: !args.no_tls_resume,
        alpn: http.alpn(),
    };
    crate::tls::ClientTls::new(&target.host, &opts).map(Some)
}

#[cfg(test)]
mod tests;
