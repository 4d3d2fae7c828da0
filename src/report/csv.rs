//! Builds Locust's CSV rows from a run's report: per-endpoint entries from its exact sums and
//! lossless histograms, the Aggregated row, and a failure row per endpoint and cause (the
//! history is `report::stream`). The same path serves a run and a merge of shards.

use std::path::Path;

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::locust::{self, Entry, Failure, Row};
use super::{EndpointReport, Report};
use crate::stats::{EndpointTotals, ErrorKind};

/// An endpoint's failures by Locust's error text: its errors by kind, and its responses with
/// statuses their task did not expect (as the recorder judged them, task by task).
pub fn failures_of(e: &EndpointTotals) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for kind in ErrorKind::ALL {
        let n = e.errors[kind as usize];
        if n > 0 {
            out.insert(kind.name().to_string(), n);
        }
    }
    for (status, &n) in e.unexpected.iter().enumerate() {
        if n > 0 {
            out.insert(format!("HTTP {status}"), n);
        }
    }
    out
}

/// Locust counts every request that ended; failures are unexpected statuses plus errors, which
/// have no response time.
fn entry(e: &EndpointReport, latency: &Histogram<u64>) -> Entry {
    let r = &e.requests;
    let mut entry = Entry {
        num_requests: r.responses + r.errors,
        num_failures: e.failed,
        num_none: r.errors,
        total_ms: e.latency_sum_us as f64 / 1000.0,
        min_ms: e.latency_min_us.map(|m| m as f64 / 1000.0),
        max_ms: e.latency_max_us as f64 / 1000.0,
        content_bytes: e.body_bytes,
        ..Entry::default()
    };
    entry.add_histogram(latency);
    entry
}

/// Writes PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_exceptions.csv from a report.
pub fn write(prefix: &Path, report: &Report) -> std::io::Result<()> {
    let encoded = report
        .histograms
        .as_ref()
        .map(|h| h.endpoints.clone())
        .unwrap_or_default();
    let histograms = report
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, _)| {
            encoded
                .get(i)
                .and_then(|t| crate::hdr::decode(t).ok())
                .ok_or_else(|| std::io::Error::other("the report has no latency histograms"))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let rows: Vec<Row> = report
        .endpoints
        .iter()
        .zip(&histograms)
        .map(|(e, h)| Row {
            method: &e.method,
            name: &e.name,
            entry: entry(e, h),
        })
        .collect();
    let mut total = Entry::default();
    for r in &rows {
        total.merge(&r.entry);
    }
    let stats = locust::stats_csv(&rows, &total, report.duration_s);
    let failures: Vec<Failure> = report
        .endpoints
        .iter()
        .flat_map(|e| {
            e.failures.iter().map(|(error, n)| Failure {
                method: &e.method,
                name: &e.name,
                error: error.clone(),
                occurrences: *n,
            })
        })
        .collect();
    locust::write_all(prefix, &stats, &locust::failures_csv(&failures))
}
