//! The report model: one plain structure built from a RunResult, rendered as text or JSON.
//! Field names are a contract (docs/report.schema.json); add fields, never rename them.

pub mod csv;
pub mod html;
mod http2;
pub mod kernel;
pub mod locust;
pub mod stream;
pub mod text;

use std::collections::BTreeMap;
use std::path::Path;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::assertions::{self, Assertion, Outcome, View};
use crate::engine::RunResult;
use crate::load::Kind;
use crate::stats::ErrorKind;
use crate::stats::second::TimelineEntry;
pub use http2::Http2Report;

fn http11() -> String {
    "http/1.1".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Requests {
    pub sent: u64,
    pub responses: u64,
    /// Responses with a 2xx or 3xx status.
    pub ok: u64,
    pub errors: u64,
    pub unfinished: u64,
    /// Unanswered idempotent requests sent again on a new connection (counted once in `sent`).
    #[serde(default)]
    pub resent: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq)]
pub struct Latency {
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p95: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            min: h.min(),
            mean: (h.mean() * 10.0).round() / 10.0,
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq)]
pub struct Lag {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl Lag {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }
}

/// One endpoint's results (Locust's per-name rows).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointReport {
    pub name: String,
    pub method: String,
    pub requests: Requests,
    /// Requests that did not succeed: unexpected statuses plus errors.
    pub failed: u64,
    pub rps: f64,
    pub status: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub latency_us: Latency,
    /// Exact sums for Locust's rows, so a merged report writes the same CSV: the latencies'
    /// sum, minimum and maximum (µs; min is absent without responses), response body bytes,
    /// and failures by Locust's error text (`HTTP 404`, `reset`, …).
    #[serde(default)]
    pub latency_sum_us: u64,
    #[serde(default)]
    pub latency_min_us: Option<u64>,
    #[serde(default)]
    pub latency_max_us: u64,
    #[serde(default)]
    pub body_bytes: u64,
    #[serde(default)]
    pub failures: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bytes {
    pub sent: u64,
    pub received: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Connections established over the run.
    pub connects: u64,
    /// Times the io_uring receive buffers ran out (each adds latency).
    pub recv_buffer_exhausted: u64,
    /// Times a due request found no idle connection (open loop).
    pub connection_starved: u64,
    /// Open loop: requests due by the end but never sent (the schedule's backlog).
    #[serde(default)]
    pub due_unsent: u64,
    /// The busiest worker's CPU use as a share of its run (0–1).
    pub busiest_worker_cpu: f64,
    /// Captures that took nothing (no match, or the response was over `--capture-max`), by
    /// variable name.
    #[serde(default)]
    pub capture_failed: BTreeMap<String, u64>,
    /// Responses to capturing tasks that were over `--capture-max` and so were not kept.
    #[serde(default)]
    pub capture_too_large: u64,
    /// Tasks not sent because a variable they use had not been captured yet, by variable name
    /// (another ready task of the user was sent instead, if it had one).
    #[serde(default)]
    pub unset_skipped: BTreeMap<String, u64>,
}

/// How connections were made and what making them cost, apart from request latency.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Connections {
    /// Connections established (over TLS: handshakes finished).
    pub opened: u64,
    /// TCP connect time: from the connect call to the connection being established.
    pub connect_us: Latency,
    /// `--requests-per-conn`, when the run closed connections itself.
    pub requests_per_conn: Option<u64>,
    /// Present for https:// targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsReport>,
    /// Present when the run offered HTTP/2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2: Option<Http2Report>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct TlsReport {
    /// The version the run was pinned to (`--tls-version`); null when either could be used.
    pub version: Option<String>,
    /// Certificate verification was off (`--insecure`).
    pub insecure: bool,
    /// Session resumption was on (off with `--no-tls-resume`).
    pub resume: bool,
    pub handshakes: Handshakes,
    /// Handshake time: from TCP established to the handshake's end.
    pub handshake_us: Latency,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq)]
pub struct Handshakes {
    pub full: u64,
    pub resumed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Load {
    /// `connections` (closed loop), `rate` (open loop) or `users`.
    pub model: Kind,
    /// The most users (users) or connections (otherwise).
    pub peak: f64,
    pub warmup_s: f64,
}

/// The whole report, as written to `--json`, and read back (`report`, `compare`) through these
/// same types. Fields added after the first release default when an older report lacks them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub ringblast_version: String,
    pub url: String,
    pub method: String,
    /// The scenario file, when the run had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    pub backend: String,
    pub backend_flags: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_fallback: Option<String>,
    pub threads: usize,
    pub connections: u32,
    /// HTTP/1.1's pipeline depth, or HTTP/2's streams per connection.
    pub pipeline: u32,
    /// `http/1.1`, or `h2c` (HTTP/2 with prior knowledge).
    #[serde(default = "http11")]
    pub protocol: String,
    pub load: Load,
    /// Measured seconds (the warm-up excluded).
    pub duration_s: f64,
    pub interrupted: bool,
    pub rps: f64,
    /// Open loop: the mean rate the schedule asked for over the measured time.
    pub target_rps: Option<f64>,
    /// Requests handed to the kernel per second (over the scheduled span in open loop).
    pub sent_rps: f64,
    pub requests: Requests,
    pub status: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    /// The headline latency: from the intended send time under -R, else from the actual send.
    pub latency_us: Latency,
    pub latency_uncorrected_us: Latency,
    /// The percentile spectrum, [percentile, µs] pairs (HdrHistogram's percentile distribution,
    /// 5 ticks per half distance), for the latency distribution chart.
    #[serde(default)]
    pub latency_distribution: Vec<(f64, u64)>,
    #[serde(default)]
    pub latency_uncorrected_distribution: Vec<(f64, u64)>,
    pub schedule_lag_us: Lag,
    /// Which clock ended response latencies, and what the generator's own reading added.
    #[serde(default)]
    pub latency_clock: LatencyClock,
    pub bytes: Bytes,
    /// Connection and TLS handshake statistics, apart from request latency.
    #[serde(default)]
    pub connections_detail: Connections,
    pub diagnostics: Diagnostics,
    /// What the kernel saw of the run's connections (`--kernel-stats`; absent when off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<crate::kstats::KernelReport>,
    /// The generator's checks on itself (too few connections, a saturated core, …).
    pub warnings: Vec<String>,
    pub assertions: Vec<Outcome>,
    /// Per endpoint (task name and method), in the order the program declares them.
    pub endpoints: Vec<EndpointReport>,
    pub timeline: Vec<TimelineEntry>,
    /// A merged report: the shards it was made from (`ringblast merge`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<ShardReport>,
    /// Which shard of which plan this run was (`--shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardReport>,
    /// The whole run's latency histograms, lossless, for merging (`crate::hdr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histograms: Option<Histograms>,
    /// The load's fingerprint (not its URL): `compare` judges only runs of one plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// `--rounds N`: each round's report; this one pools them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<Report>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds_summary: Option<RoundsSummary>,
}

/// How much the rounds of `--rounds N` (or of `ab`) varied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundsSummary {
    pub count: u64,
    pub pause_s: f64,
    pub rps_cv: f64,
    pub p99_cv: f64,
    /// Either coefficient of variation above `NOISY_CV`.
    pub noisy: bool,
    /// `ab`: A or B for each round, in the order they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// Above this coefficient of variation across rounds, a run is marked noisy.
pub const NOISY_CV: f64 = 0.05;

/// Where response latencies ended: the kernel's receive timestamp of the segment that completed
/// each response, or the userspace clock when the response was parsed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyClock {
    /// `kernel`, `user`, `mixed` (some of each), or `none` (no responses).
    pub clock: String,
    /// Responses whose latency ended at the kernel's timestamp, and at the userspace clock.
    pub kernel_ended: u64,
    pub user_ended: u64,
    /// How long after the kernel received a response the generator read it: the latency a
    /// userspace clock would have added (null without kernel timestamps).
    pub generator_added_us: Option<Lag>,
    /// `--batch-window` in effect (µs): below saturation, the least time between wake-ups to send.
    pub batch_window_us: u64,
}

impl LatencyClock {
    pub fn of(t: &crate::stats::Totals, batch_window: std::time::Duration) -> Self {
        Self {
            clock: Self::name(t.ended_kernel, t.ended_user).to_string(),
            kernel_ended: t.ended_kernel,
            user_ended: t.ended_user,
            generator_added_us: (t.ended_kernel > 0).then(|| Lag::of(&t.generator_added)),
            batch_window_us: batch_window.as_micros() as u64,
        }
    }

    /// `clock` for these counts of responses ended by each clock.
    pub fn name(kernel_ended: u64, user_ended: u64) -> &'static str {
        match (kernel_ended, user_ended) {
            (0, 0) => "none",
            (_, 0) => "kernel",
            (0, _) => "user",
            _ => "mixed",
        }
    }
}

/// A shard's place in its plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardReport {
    pub index: u64,
    pub count: u64,
    /// The plan's fingerprint: shards of one plan have the same.
    pub plan: String,
    /// Unix time (seconds) when this shard's measurement started; timelines align on it.
    pub started_unix: u64,
}

/// Lossless HdrHistograms (microseconds) beside the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histograms {
    /// How each histogram is written: `hdrhistogram-v2-base64`.
    pub encoding: String,
    pub latency_us: String,
    pub latency_uncorrected_us: String,
    /// Per endpoint, in the order of `endpoints` (latency as in `latency_us`).
    pub endpoints: Vec<String>,
    #[serde(default)]
    pub schedule_lag_us: String,
    #[serde(default)]
    pub connect_us: String,
    #[serde(default)]
    pub tls_handshake_us: String,
    #[serde(default)]
    pub generator_added_us: String,
}

impl Report {
    pub fn new(result: &RunResult, url: &str, method: &str, checks: &[Assertion]) -> Self {
        Self::with_scenario(result, url, method, None, checks)
    }

    pub fn with_scenario(
        result: &RunResult,
        url: &str,
        method: &str,
        scenario: Option<String>,
        checks: &[Assertion],
    ) -> Self {
        let t = &result.totals;
        let secs = result.measured.as_secs_f64().max(1e-9);
        let status = t
            .status
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(code, n)| (code.to_string(), *n))
            .collect();
        let errors = ErrorKind::ALL
            .iter()
            .map(|k| (k.name().to_string(), t.error_count(*k)))
            .collect();
        let shape = &result.shape;
        let warm = result.warmup.as_secs_f64();
        // Open loop compares rates over the scheduled span: the run's wall time also holds the
        // last turn's overshoot past the end of the schedule.
        let span = if shape.kind == Kind::Rate {
            ((warm + secs).min(shape.end()) - warm).max(1e-9)
        } else {
            secs
        };
        let target_rps = (shape.kind == Kind::Rate).then(|| {
            // A shard is asked for its share of the plan's rate.
            let due = (shape.cumulative(warm + span) - shape.cumulative(warm))
                / result.shard.count as f64;
            ((due / span) * 10.0).round() / 10.0
        });
        let sent_rps = ((t.counts.sent as f64 / span) * 10.0).round() / 10.0;
        let schedule_lag_us = Lag::of(&t.schedule_lag);
        let whole = View {
            latency: &t.latency,
            responses: t.counts.responses,
            ok: t.counts.ok,
            errors: t.counts.errors,
            seconds: secs,
        };
        let assertions = checks
            .iter()
            .zip(result.windows.iter().chain(std::iter::repeat(&None)))
            .map(|(a, windows)| match windows {
                Some(w) => w.finish(a, &whole),
                None => assertions::check(a, &whole, &[]),
            })
            .collect();
        Self {
            ringblast_version: env!("CARGO_PKG_VERSION").to_string(),
            url: url.to_string(),
            method: method.to_string(),
            scenario,
            backend: result.backend.name().to_string(),
            backend_flags: result.backend_flags.clone(),
            backend_fallback: result.fallback.clone(),
            threads: result.threads,
            connections: result.connections,
            pipeline: result.pipeline,
            protocol: result.protocol.to_string(),
            load: Load {
                model: shape.kind,
                peak: shape.peak(),
                warmup_s: warm,
            },
            duration_s: (secs * 1000.0).round() / 1000.0,
            interrupted: result.interrupted,
            rps: ((t.counts.responses as f64 / secs) * 10.0).round() / 10.0,
            target_rps,
            sent_rps,
            requests: Requests {
                sent: t.counts.sent,
                responses: t.counts.responses,
                ok: t.counts.ok,
                errors: t.counts.errors,
                unfinished: t.unfinished,
                resent: t.resent,
            },
            status,
            errors,
            latency_us: Latency::of(&t.latency),
            latency_uncorrected_us: Latency::of(&t.latency_uncorrected),
            latency_distribution: distribution(&t.latency),
            latency_uncorrected_distribution: distribution(&t.latency_uncorrected),
            schedule_lag_us,
            latency_clock: LatencyClock::of(t, result.batch_window),
            bytes: Bytes {
                sent: t.bytes_sent,
                received: t.bytes_received,
            },
            connections_detail: Connections {
                opened: t.connects,
                connect_us: Latency::of(&t.connect_time),
                requests_per_conn: result.transport.requests_per_conn,
                tls: result.transport.tls.then(|| TlsReport {
                    version: result.transport.tls_version.map(String::from),
                    insecure: result.transport.insecure,
                    resume: result.transport.resume,
                    handshakes: Handshakes {
                        full: t.handshakes_full,
                        resumed: t.handshakes_resumed,
                    },
                    handshake_us: Latency::of(&t.handshake_time),
                }),
                http2: (result.protocol != "http/1.1")
                    .then(|| Http2Report::of(&t.h2, result.pipeline)),
            },
            diagnostics: Diagnostics {
                connects: t.connects,
                recv_buffer_exhausted: t.recv_buffer_exhausted,
                connection_starved: result.starved,
                due_unsent: result.due_unsent,
                busiest_worker_cpu: (result.busiest_worker * 1000.0).round() / 1000.0,
                capture_failed: by_name(&t.capture_failed, &result.variables),
                unset_skipped: by_name(&t.unset_skipped, &result.variables),
                capture_too_large: t.capture_too_large,
            },
            kernel: result.kernel.clone(),
            warnings: warnings(result, target_rps, sent_rps, schedule_lag_us),
            assertions,
            endpoints: endpoint_reports(result, secs),
            timeline: result.timeline.clone(),
            merged_from: Vec::new(),
            shard: None,
            histograms: Some(Histograms {
                encoding: crate::hdr::ENCODING.to_string(),
                latency_us: crate::hdr::encode(&t.latency),
                latency_uncorrected_us: crate::hdr::encode(&t.latency_uncorrected),
                endpoints: t
                    .endpoints
                    .iter()
                    .take(result.endpoints.len())
                    .map(|e| crate::hdr::encode(&e.latency))
                    .collect(),
                schedule_lag_us: crate::hdr::encode(&t.schedule_lag),
                connect_us: crate::hdr::encode(&t.connect_time),
                tls_handshake_us: crate::hdr::encode(&t.handshake_time),
                generator_added_us: crate::hdr::encode(&t.generator_added),
            }),
            plan: None,
            rounds: Vec::new(),
            rounds_summary: None,
        }
    }

    /// True when every assertion held.
    pub fn assertions_passed(&self) -> bool {
        self.assertions.iter().all(|a| a.ok)
    }

    /// Writes the JSON report whole.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        write_whole(path, &bytes)
    }
}

/// Non-zero counts indexed by variable, keyed by the variable's name.
fn by_name(counts: &[u64], names: &[String]) -> BTreeMap<String, u64> {
    counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (names.get(i).cloned().unwrap_or_default(), *n))
        .collect()
}

/// The temporary name a file is written under before it is renamed into place.
pub fn partial_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    name.into()
}

/// Writes a file whole: to a temporary file beside it first, then renamed into place, so a
/// reader never sees half a report.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = partial_path(path);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// HdrHistogram's percentile spectrum: quantiles at 5 ticks per half distance to 100 %.
pub fn distribution(h: &Histogram<u64>) -> Vec<(f64, u64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut points: Vec<(f64, u64)> = h
        .iter_quantiles(5)
        .map(|v| {
            (
                (v.quantile_iterated_to() * 1e6).round() / 1e4,
                v.value_iterated_to(),
            )
        })
        .collect();
    points.dedup_by(|a, b| a.0 == b.0);
    points
}

fn endpoint_reports(result: &RunResult, secs: f64) -> Vec<EndpointReport> {
    result
        .endpoints
        .iter()
        .zip(&result.totals.endpoints)
        .map(|((name, method), e)| EndpointReport {
            name: name.clone(),
            method: method.clone(),
            requests: Requests {
                sent: e.counts.sent,
                responses: e.counts.responses,
                ok: e.counts.ok,
                errors: e.counts.errors,
                unfinished: e.unfinished,
                resent: e.resent,
            },
            failed: e.counts.responses - e.counts.ok + e.counts.errors,
            rps: ((e.counts.responses as f64 / secs) * 10.0).round() / 10.0,
            status: e
                .status
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(code, n)| (code.to_string(), *n))
                .collect(),
            errors: ErrorKind::ALL
                .iter()
                .map(|k| (k.name().to_string(), e.errors[*k as usize]))
                .filter(|(_, n)| *n > 0)
                .collect(),
            latency_us: Latency::of(&e.latency),
            latency_sum_us: e.latency_sum_us,
            latency_min_us: (e.latency_min_us != u64::MAX).then_some(e.latency_min_us),
            latency_max_us: e.latency_max_us,
            body_bytes: e.body_bytes,
            failures: csv::failures_of(e),
        })
        .collect()
}

/// Below this share of the target rate, the rate counts as not sent.
pub const RATE_SHORTFALL: f64 = 0.97;
/// Above this share of its wall time on CPU, a worker counts as saturated.
pub const BUSY_CORE: f64 = 0.95;

/// The one rule for "ringblast itself, not the target, set this rate": it sent clearly less than
/// the target with a saturated core. `peak` stops on it; the report warns with it.
pub fn generator_bound(sent_rate: f64, target_rate: f64, busiest_worker: f64) -> bool {
    sent_rate < RATE_SHORTFALL * target_rate && busiest_worker > BUSY_CORE
}

/// The generator checks itself: when it, rather than the target, may have set the numbers.
fn warnings(result: &RunResult, target_rps: Option<f64>, sent_rate: f64, lag: Lag) -> Vec<String> {
    let mut out = Vec::new();
    let busy = result.busiest_worker;
    if let Some(target) = target_rps.filter(|t| *t > 0.0)
        && sent_rate < 0.99 * target
        && !result.interrupted
    {
        out.push(format!(
            "sent {:.0} req/s, {:.1}% of the target {:.0}: the target rate was not reached",
            sent_rate,
            100.0 * sent_rate / target,
            target
        ));
        if result.starved > 0 {
            out.push(format!(
                "not enough connections for the rate: {} times a due request found every connection busy; raise -c",
                result.starved
            ));
        }
    }
    if let Some(target) = target_rps
        && generator_bound(sent_rate, target, busy)
    {
        out.push(format!(
            "ringblast sent {:.0}% of the target with a saturated core: its own limit, not the target's; add --threads",
            100.0 * sent_rate / target
        ));
    } else if result.shape.kind != Kind::Connections && busy > 0.9 {
        out.push(format!(
            "a worker's CPU was busy {:.0}% of the run: the generator may be the bottleneck; add --threads or lower the load",
            busy * 100.0
        ));
    }
    if result.shape.kind != Kind::Connections && lag.p99 > 10_000 {
        out.push(format!(
            "sends went out late (schedule lag p99 {:.1}ms): corrected latency includes time waiting in ringblast",
            lag.p99 as f64 / 1000.0
        ));
    }
    // Unless the run closes them itself (--requests-per-conn).
    if result.transport.requests_per_conn.is_none()
        && let Some(w) = one_response_per_connection(&result.totals)
    {
        out.push(w);
    }
    out
}

/// Connections beyond the run's own (`-c` of them) that carried one response each on average:
/// the server closes every connection (gunicorn's sync workers answer `Connection: close`).
/// Then keep-alive and pipelining have no effect, and the run measures connection set-up.
fn one_response_per_connection(t: &crate::stats::Totals) -> Option<String> {
    let (connects, responses) = (t.connects, t.counts.responses);
    // Most connections carry one response: fewer than 1.5 per connection, over enough of them.
    (connects >= 100 && responses > 0 && responses * 2 < connects * 3).then(|| {
        format!(
            "the server closed almost every connection after one response ({connects} connections \
             for {responses} responses): keep-alive and pipelining have no effect, and the run \
             measures connection set-up as much as the server"
        )
    })
}
