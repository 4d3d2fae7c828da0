//! Builds Locust's CSV rows from a run: per-endpoint entries from ringblast's per-endpoint totals,
//! the Aggregated row, one history row per second, and a failure row per endpoint and cause.

use std::path::Path;

use super::Report;
use super::locust::{self, Entry, Failure, HistorySecond, Row};
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

/// Writes PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv, PREFIX_exceptions.csv.
pub fn write(prefix: &Path, result: &RunResult, report: &Report) -> std::io::Result<()> {
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

    // History: one Aggregated row per second, cumulative stats from the per-second histograms.
    let mut cumulative = Entry::default();
    let mut history = Vec::new();
    for (i, (second, line)) in result.seconds.iter().zip(&report.timeline).enumerate() {
        let c = &second.counts;
        let ended = c.responses + c.errors;
        let failures = c.responses - c.ok + c.errors;
        let mut e = Entry {
            num_requests: ended,
            num_failures: failures,
            num_none: c.errors,
            content_bytes: second.body_bytes,
            ..Entry::default()
        };
        if !second.latency.is_empty() {
            e.total_ms = second.latency.mean() * second.latency.len() as f64 / 1000.0;
            e.min_ms = Some(second.latency.min() as f64 / 1000.0);
            e.max_ms = second.latency.max() as f64 / 1000.0;
        }
        e.add_histogram(&second.latency);
        cumulative.merge(&e);
        let users = line.users.unwrap_or(u64::from(result.connections));
        history.push(HistorySecond {
            timestamp: result.started_unix + i as u64 + 1,
            user_count: users,
            requests: ended,
            failures,
            cumulative: cumulative.clone(),
        });
    }
    let history = locust::history_csv(&history);

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
    locust::write_all(prefix, &stats, &history, &locust::failures_csv(&failures))
}
