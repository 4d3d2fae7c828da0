//! A completed second of a run, as everything above the engine sees it: its timeline entry (in
//! the report) and its merged counts and histograms, handed in order to a `SecondSink`.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::{Counts, ERROR_KINDS};

/// One second of the run, all workers merged.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TimelineEntry {
    /// Seconds since measurement started, at the end of this interval.
    pub t: u32,
    /// Open loop: the requests per second the shape asked for in this second.
    pub target_rps: Option<f64>,
    /// Users: how many users the shape asked for at the end of this second.
    pub users: Option<u64>,
    /// Complete responses in this second.
    pub rps: f64,
    pub sent: u64,
    pub responses: u64,
    pub ok: u64,
    pub errors: u64,
    /// Latency percentiles (corrected under -R), microseconds.
    pub p50_us: u64,
    #[serde(default)]
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Latency from the actual send, microseconds.
    pub p50_uncorrected_us: u64,
    #[serde(default)]
    pub p90_uncorrected_us: u64,
    pub p99_uncorrected_us: u64,
    /// What the kernel counted in this second (`--kernel-stats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<crate::kstats::KernelSecond>,
    /// This second's latency, lossless (see crate::hdr): merged timelines have exact
    /// percentiles, and `compare` resamples seconds for its verdicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_hdr: Option<String>,
    /// Per endpoint, in the order of the report's `endpoints`, when the run has more than one
    /// and kept them (`--json` asks): what `compare` needs for per-endpoint verdicts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointSecond>,
}

/// One endpoint's second in the timeline.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Default)]
pub struct EndpointSecond {
    pub responses: u64,
    /// Responses whose status the task did not expect, plus errors.
    pub failed: u64,
    pub errors: u64,
    pub latency_hdr: String,
}

/// One merged second, handed to a `SecondSink` as it completes (and then dropped: nothing per
/// second is kept for the whole run but its timeline entry).
#[derive(Debug, Clone)]
pub struct Second {
    pub counts: Counts,
    pub latency: Histogram<u64>,
    pub body_bytes: u64,
    /// Per endpoint, when the run keeps them (`--hlog`, `--csv-full-history`).
    pub endpoints: Vec<Histogram<u64>>,
    pub endpoint_counts: Vec<Counts>,
    pub endpoint_body_bytes: Vec<u64>,
    /// Per endpoint, this second's responses by status and errors by kind (with the
    /// per-endpoint seconds).
    pub endpoint_status: Vec<BTreeMap<u16, u64>>,
    /// Per endpoint, this second's responses whose status the task did not expect.
    pub endpoint_unexpected: Vec<BTreeMap<u16, u64>>,
    pub endpoint_errors: Vec<[u64; ERROR_KINDS]>,
}

/// Whoever consumes the run's seconds as they complete, in order, on the main thread: the
/// progress line, and outputs written as the run goes (CSV history, interval log).
pub trait SecondSink {
    /// Measurement starts at this Unix time (whole seconds); called once, before any second.
    fn start(&mut self, _started_unix: u64) {}
    /// Adds what was measured elsewhere over the same second (the kernel's counts) to the
    /// entry, before anyone sees it.
    fn annotate(&mut self, _entry: &mut TimelineEntry) {}
    fn second(&mut self, entry: &TimelineEntry, second: &Second);
}

/// A plain progress callback is a sink that looks at the timeline entry only.
impl<F: FnMut(&TimelineEntry)> SecondSink for F {
    fn second(&mut self, entry: &TimelineEntry, _second: &Second) {
        self(entry)
    }
}
