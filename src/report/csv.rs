//! Builds Locust's CSV rows from a run: per-endpoint entries from ringblast's per-endpoint totals,
//! the Aggregated row, and a failure row per endpoint and cause (the history is `report::stream`).

use std::path::Path;

use super::locust::{self, Entry, Failure, Row};
use crate::engine::RunResult;
use crate::stats::{EndpointTotals, ErrorKind};

/// Locust counts every request that ended; failures are unexpected statuses plus errors, which
/// have no response time.
fn entry(e: &EndpointTotals) -> Entry {
    let mut entry = Entry {
        num_requests: e.counts.responses + e.counts.errors,
        num_failures: e.counts.responses - e.counts.ok + e.counts.errors,
        num_none: e.counts.errors,
        total_ms: e.latency_sum_us as f64 / 1000.0,
        min_ms: (e.latency_min_us != u64::MAX).then(|| e.latency_min_us as f64 / 1000.0),
        max_ms: e.latency_max_us as f64 / 1000.0,
        content_bytes: e.body_bytes,
        ..Entry::default()
    };
    entry.add_histogram(&e.latency);
    entry
}

/// Writes PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_exceptions.csv.
pub fn write(prefix: &Path, result: &RunResult) -> std::io::Result<()> {
    let rows: Vec<Row> = result
        .endpoints
        .iter()
        .zip(&result.totals.endpoints)
        .map(|((name, method), e)| Row {
            method,
            name,
            entry: entry(e),
        })
        .collect();
    let mut total = Entry::default();
    for r in &rows {
        total.merge(&r.entry);
    }
    let secs = result.measured.as_secs_f64();
    let stats = locust::stats_csv(&rows, &total, secs);

    let mut failures = Vec::new();
    let per_endpoint = result
        .endpoints
        .iter()
        .zip(&result.totals.endpoints)
        .zip(&result.endpoint_expect);
    for (((name, method), e), expect) in per_endpoint {
        for kind in ErrorKind::ALL {
            let n = e.errors[kind as usize];
            if n > 0 {
                failures.push(Failure {
                    method,
                    name,
                    error: kind.name().to_string(),
                    occurrences: n,
                });
            }
        }
        for (status, &n) in e.status.iter().enumerate() {
            let expected = match expect {
                Some(list) => list.contains(&(status as u16)),
                None => (200..400).contains(&status),
            };
            if n > 0 && !expected {
                failures.push(Failure {
                    method,
                    name,
                    error: format!("HTTP {status}"),
                    occurrences: n,
                });
            }
        }
    }
    locust::write_all(prefix, &stats, &locust::failures_csv(&failures))
}
