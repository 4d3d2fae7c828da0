//! Runs a load plan: picks the backend, raises limits, starts one pinned worker per CPU, collects
//! their interval snapshots for the timeline and progress line, joins them and merges the totals.

pub mod client;
pub mod collect;
pub mod conn;
pub mod user;
pub mod worker;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::assertions::{Assertion, View, Windows};
use crate::error::SetupError;
use crate::io::IoChoice;
use crate::load::{Kind, Shape};
use crate::scenario::program::Program;
use crate::stats::Totals;
use crate::sys::{UringSupport, probe_uring};
use client::{Client, ClientConfig};
use collect::{Collector, Second, SecondSink, TimelineEntry};
use worker::BackendKind;

/// The merged outcome of a run, before rendering.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub backend: BackendKind,
    pub backend_flags: String,
    /// Why io_uring was not used, when `--io auto` fell back.
    pub fallback: Option<String>,
    pub threads: usize,
    pub connections: u32,
    pub pipeline: u32,
    /// The protocol asked for: `http/1.1`, `h2c`, `h2` or `auto`.
    pub protocol: &'static str,
    pub elapsed: Duration,
    /// Measured time: the run's wall time less the warm-up.
    pub measured: Duration,
    pub totals: Totals,
    /// Times a due request found no idle connection (open loop).
    pub starved: u64,
    /// Open loop: requests due by the end that were never sent (every connection was busy).
    pub due_unsent: u64,
    /// The busiest worker's CPU use as a share of its wall time (0–1).
    pub busiest_worker: f64,
    /// The batch window the workers used (`--batch-window`, or chosen from the load).
    pub batch_window: Duration,
    pub timeline: Vec<TimelineEntry>,
    /// For each of the plan's assertions, its sliding-window check (windowed forms only), fed
    /// every second as it completed.
    pub windows: Vec<Option<Windows>>,
    pub shape: Arc<Shape>,
    pub warmup: Duration,
    /// The scenario's captured variables, indexed like `totals.capture_failed`.
    pub variables: Vec<String>,
    /// (name, method) of each endpoint, indexed like `totals.endpoints`.
    pub endpoints: Vec<(String, String)>,
    /// Unix time (seconds) when measurement started.
    pub started_unix: u64,
    pub interrupted: bool,
    /// How connections were made: TLS settings and the connection policy.
    pub transport: Transport,
    /// What the kernel saw (`--kernel-stats`), added by the command after the run.
    pub kernel: Option<crate::kstats::KernelReport>,
    /// The part of the plan this run was (`--shard`).
    pub shard: crate::load::Shard,
    /// Why the server would not speak the HTTP asked for over ALPN, if it would not.
    pub alpn_refused: Option<String>,
}

/// The run's connection settings, for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    pub tls: bool,
    /// The pinned TLS version, if any.
    pub tls_version: Option<&'static str>,
    /// Certificate verification was off (`--insecure`).
    pub insecure: bool,
    /// Session resumption was on.
    pub resume: bool,
    pub requests_per_conn: Option<u64>,
}

/// Everything the engine runs, settled by the plan: no flags, no output paths.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub addr: std::net::SocketAddr,
    pub program: Arc<Program>,
    /// The CPUs workers are pinned to, one worker each.
    pub cpus: Vec<usize>,
    pub connections: u32,
    /// HTTP/1.1's pipeline depth, or HTTP/2's streams per connection.
    pub pipeline: u32,
    /// Which HTTP the connections speak (`--http`).
    pub http: crate::proto::Version,
    pub shape: Shape,
    pub warmup: Duration,
    /// `-n`: stop after this many requests.
    pub requests: Option<u64>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Keep each second's latency per endpoint (some output needs it).
    pub per_endpoint_seconds: bool,
    pub capture_limit: usize,
    pub resend: bool,
    /// Close each connection after this many requests.
    pub requests_per_conn: Option<u64>,
    /// Speak TLS to the target (`https://`).
    pub tls: Option<crate::tls::ClientTls>,
    /// Checked per second as the run goes (windowed forms keep only their window).
    pub assertions: Vec<Assertion>,
    /// The part of the plan this process runs (`--shard`).
    pub shard: crate::load::Shard,
    /// Users, set from outside while the run goes (a Locust master's `spawn`); overrides the
    /// shape's user count.
    pub live_users: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// Where response latency ends.
    pub latency_clock: LatencyClock,
    /// Below saturation, timer wake-ups to send are at least this far apart (None: chosen
    /// from the load by `batch_window`).
    pub batch_window: Option<Duration>,
}

/// Per-worker rates above which a wake-up per request costs more than the load itself, and
/// the window used there: a millisecond, the timer granularity of wrk2, k6 and oha.
const BATCH_ABOVE_RPS: f64 = 5_000.0;
const AUTO_WINDOW: Duration = Duration::from_millis(1);
/// Users are batched only when they think at least this long: a window is small against it.
const BATCH_MIN_THINK: Duration = Duration::from_millis(10);

/// The batch window a run uses: the one asked for, else a millisecond where each worker sends
/// more than BATCH_ABOVE_RPS (open loop) or runs users that think long enough to send that
/// many, else none (each request is sent at its own time, as the pacing results show).
pub fn batch_window(plan: &EngineConfig) -> Duration {
    if let Some(w) = plan.batch_window {
        return w;
    }
    let workers = plan.cpus.len().max(1) as f64;
    let per_worker = match plan.shape.kind {
        Kind::Rate => plan.shape.peak() / workers,
        Kind::Connections => 0.0,
        Kind::Users => {
            let think = |t: &crate::load::Think| match *t {
                crate::load::Think::None => (Duration::ZERO, Duration::ZERO),
                crate::load::Think::Constant(d) => (d, d),
                // A paced user sends at most once per period: as slow as thinking that long.
                crate::load::Think::Pacing(d) => (d, d),
                crate::load::Think::Uniform(lo, hi) => (lo, (lo + hi) / 2),
            };
            let classes = &plan.program.classes;
            // The shortest think decides whether a window is small against it; the longest
            // mean think gives the lowest rate the users could send.
            let shortest = classes.iter().map(|c| think(&c.think).0).min();
            let longest_mean = classes.iter().map(|c| think(&c.think).1).max();
            match (shortest, longest_mean) {
                (Some(lo), Some(mean)) if lo >= BATCH_MIN_THINK => {
                    plan.shape.peak() / workers / mean.as_secs_f64()
                }
                _ => 0.0,
            }
        }
    };
    if per_worker > BATCH_ABOVE_RPS {
        AUTO_WINDOW
    } else {
        Duration::ZERO
    }
}

/// Where a response's latency ends (`--latency-clock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatencyClock {
    /// The kernel's receive timestamps where sockets have them.
    #[default]
    Auto,
    Kernel,
    User,
}

impl LatencyClock {
    /// Whether workers ask for kernel timestamps (Some: yes, and the probe's socket, to hold
    /// for the run); `Kernel` where sockets lack them is an error.
    pub fn resolve(
        self,
        addr: &std::net::SocketAddr,
    ) -> Result<Option<std::os::fd::OwnedFd>, SetupError> {
        match self {
            Self::User => Ok(None),
            Self::Auto => Ok(crate::sys::probe::rx_stamps(addr).ok()),
            Self::Kernel => crate::sys::probe::rx_stamps(addr).map(Some).map_err(|why| {
                SetupError::Usage(format!(
                    "--latency-clock kernel: {why}; use --latency-clock auto or user"
                ))
            }),
        }
    }
}

/// Chooses the backend once for the whole run.
pub fn choose_backend(choice: IoChoice) -> Result<(BackendKind, Option<String>), SetupError> {
    match choice {
        IoChoice::Epoll => Ok((BackendKind::Epoll, None)),
        IoChoice::Uring => match probe_uring() {
            UringSupport::Available => Ok((BackendKind::Uring, None)),
            UringSupport::Unavailable(why) => Err(SetupError::UringUnavailable(why)),
        },
        IoChoice::Auto => match probe_uring() {
            UringSupport::Available => Ok((BackendKind::Uring, None)),
            UringSupport::Unavailable(why) => Ok((BackendKind::Epoll, Some(why))),
        },
    }
}

/// Makes sure the process may open `need` files, or says which limit to raise.
pub fn ensure_open_files(need: u64) -> Result<(), SetupError> {
    crate::sys::raise_nofile(need).map_err(|(soft, hard)| SetupError::OpenFiles {
        need,
        soft,
        hard,
    })
}

/// Splits `total` into `parts` nearly equal shares (earlier parts get the remainder).
pub fn split(total: u64, parts: usize) -> Vec<u64> {
    let parts64 = parts as u64;
    (0..parts64)
        .map(|i| total / parts64 + u64::from(i < total % parts64))
        .collect()
}

/// Runs the plan to its end (or until `stop` is set) and returns the merged result.
/// `sink` is given each completed second, in order, on the main thread.
pub fn run(
    plan: &EngineConfig,
    kind: BackendKind,
    stop: Arc<AtomicBool>,
    sink: &mut impl SecondSink,
) -> Result<RunResult, SetupError> {
    let workers = plan.cpus.len();
    let shard = plan.shard;
    let share = |w: usize| shard.share(w as u64, workers as u64);
    // Users are numbered globally and dealt round-robin to shards and then to their workers
    // (see load::Shard); so are requests. Whole quantities are split exactly.
    let conns: Vec<u64> = match plan.shape.kind {
        Kind::Users => (0..workers)
            .map(|w| share(w).count_below(u64::from(plan.connections)))
            .collect(),
        _ => split(shard.part(u64::from(plan.connections)), workers),
    };
    let shard_connections = conns.iter().sum::<u64>();
    ensure_open_files(shard_connections + 64)?;
    // Held until the run ends, so timestamping is on before the first connection.
    let stamp_guard = plan.latency_clock.resolve(&plan.addr)?;
    let rx_stamps = stamp_guard.is_some();
    let window = batch_window(plan);
    let shape = Arc::new(plan.shape.clone());
    let quotas = plan.requests.map(|n| split(shard.part(n), workers));
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let mut handles = Vec::with_capacity(workers);
    for (i, &cpu) in plan.cpus.iter().enumerate() {
        let cfg = ClientConfig {
            addr: plan.addr,
            http: plan.http,
            https: plan.tls.is_some(),
            program: plan.program.clone(),
            pipeline: plan.pipeline,
            connections: conns[i] as u32,
            shape: shape.clone(),
            share: share(i),

            warmup: plan.warmup,
            quota: quotas.as_ref().map(|q| q[i]),
            timeout: plan.timeout,
            connect_timeout: plan.connect_timeout,
            // Seeded by the worker's place in the whole plan, so no two shards' workers draw
            // the same values.
            seed: 0x9e37_79b9_7f4a_7c15 ^ (share(i).worker + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9),
            endpoint_intervals: plan.per_endpoint_seconds,
            capture_limit: plan.capture_limit,
            resend: plan.resend,
            requests_per_conn: plan.requests_per_conn,
            live_users: plan.live_users.clone(),
            rx_stamps,
            batch_window: window,
            secure: plan.tls.is_some(),
        };
        let tls = plan
            .tls
            .as_ref()
            .map(|t| (t.for_worker(conns[i] as usize), t.server_name.clone()));
        let (stop, tx) = (stop.clone(), tx.clone());
        let handle = std::thread::Builder::new()
            .name(format!("ringblast-{cpu}"))
            .spawn(move || {
                worker::pin(cpu);
                let n = cfg.connections as usize;
                let client = Client::new(cfg, start, stop, tx);
                match tls {
                    Some((config, name)) => {
                        let mut w = crate::tls::Tls::client(client, config, name);
                        worker::run(kind, n, None, &mut w)
                    }
                    None => worker::run(kind, n, None, &mut { client }),
                }
            })
            .map_err(|e| SetupError::Worker(format!("cannot start a thread: {e}")))?;
        handles.push(handle);
    }
    drop(tx);
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + plan.warmup.as_secs();
    sink.start(started_unix);
    let mut windows: Vec<Option<Windows>> = plan
        .assertions
        .iter()
        .map(|a| a.window.map(Windows::new))
        .collect();
    let mut timeline = Vec::new();
    let mut on_second = |mut entry: TimelineEntry, second: Second| {
        sink.annotate(&mut entry);
        let view = View {
            latency: &second.latency,
            responses: second.counts.responses,
            ok: second.counts.ok,
            errors: second.counts.errors,
            seconds: 1.0,
        };
        for (w, a) in windows.iter_mut().zip(&plan.assertions) {
            if let Some(w) = w {
                w.push(a, &view);
            }
        }
        sink.second(&entry, &second);
        timeline.push(entry);
    };
    let mut collector = Collector::new(workers, shape.clone(), plan.warmup.as_secs_f64(), shard);
    // The channel closes when every worker has dropped its sender, i.e. has finished.
    for iv in rx {
        if let Some((entry, second)) = collector.add(iv) {
            on_second(entry, second);
        }
    }
    for (entry, second) in collector.finish() {
        on_second(entry, second);
    }
    let elapsed = start.elapsed();
    let mut totals = Totals::default();
    let mut flags = String::new();
    let mut failure = None;
    let (mut starved, mut busiest, mut due_unsent) = (0, 0.0f64, 0);
    let mut alpn_refused = None;
    for h in handles {
        match h.join() {
            Ok(Ok(outcome)) => {
                totals.merge(&outcome.totals);
                flags = outcome.backend_flags.to_string();
                starved += outcome.starved;
                due_unsent += outcome.due_unsent;
                alpn_refused = alpn_refused.or(outcome.alpn_refused);
                busiest = busiest.max(outcome.cpu_seconds / outcome.wall_seconds.max(1e-9));
            }
            Ok(Err(e)) => failure = Some(e),
            Err(_) => failure = Some(SetupError::Worker("a worker thread panicked".into())),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let interrupted = stop.load(std::sync::atomic::Ordering::Relaxed);
    Ok(RunResult {
        backend: kind,
        backend_flags: flags,
        fallback: None,
        threads: workers,
        connections: shard_connections as u32,
        pipeline: plan.pipeline,
        protocol: plan.http.name(plan.tls.is_some()),
        elapsed,
        measured: elapsed.saturating_sub(plan.warmup),
        totals,
        starved,
        due_unsent,
        busiest_worker: busiest,
        batch_window: window,
        timeline,
        windows,
        shape,
        warmup: plan.warmup,
        variables: plan.program.variables.clone(),
        endpoints: plan.program.endpoint_names(),
        started_unix,
        interrupted,
        transport: Transport {
            tls: plan.tls.is_some(),
            tls_version: plan.tls.as_ref().and_then(|t| t.version).map(|v| v.name()),
            insecure: plan.tls.as_ref().is_some_and(|t| t.insecure),
            resume: plan.tls.as_ref().is_some_and(|t| t.resume),
            requests_per_conn: plan.requests_per_conn,
        },
        kernel: None,
        shard,
        alpn_refused,
    })
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_is_fair_and_complete() {
        assert_eq!(split(10, 3), vec![4, 3, 3]);
        assert_eq!(split(2, 4), vec![1, 1, 0, 0]);
        assert_eq!(split(7, 1), vec![7]);
    }
}
