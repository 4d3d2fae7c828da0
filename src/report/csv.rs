//! Builds Locust's CSV rows from a run: per-endpoint entries from ringblast's per-endpoint totals,
//! the Aggregated row, one history row per second, and a failure row per endpoint and cause.

use std::path::Path;

use super::Report;
use super::locust::{self, Entry, Failure, HistoryRow, Row, window_mean};
use crate::engine::RunResult;
use crate::engine::collect::Second;
use crate::stats::Counts;
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

    let history = history(result, report, &rows);
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

/// A history row before formatting.
struct Owned {
    timestamp: u64,
    users: u64,
    method: String,
    name: String,
    rps: f64,
    fail: f64,
    shown: Entry,
    totals: Entry,
}

/// One second's entry from its counts and (2-digit) latency histogram.
fn second_entry(c: &Counts, h: &hdrhistogram::Histogram<u64>, body_bytes: u64) -> Entry {
    let mut e = Entry {
        num_requests: c.responses + c.errors,
        num_failures: c.responses - c.ok + c.errors,
        num_none: c.errors,
        content_bytes: body_bytes,
        ..Entry::default()
    };
    if !h.is_empty() {
        e.total_ms = h.mean() * h.len() as f64 / 1000.0;
        e.min_ms = Some(h.min() as f64 / 1000.0);
        e.max_ms = h.max() as f64 / 1000.0;
    }
    e.add_histogram(h);
    e
}

/// Locust keeps "current" percentiles over about the last 10 seconds.
const CURRENT_WINDOW: usize = 10;

/// The history file: per second, the endpoints (with --csv-full-history, current percentiles)
/// sorted by (name, method), then Aggregated (cumulative percentiles unless full history).
fn history(result: &RunResult, report: &Report, rows: &[Row]) -> String {
    let full = result
        .seconds
        .first()
        .is_some_and(|s| !s.endpoint_counts.is_empty())
        && result.full_history;
    let seconds: &[Second] = &result.seconds;
    let per_second: Vec<Entry> = seconds
        .iter()
        .map(|s| second_entry(&s.counts, &s.latency, s.body_bytes))
        .collect();
    // Per-endpoint body bytes are not kept per second: each second gets the endpoint's run-wide
    // average content size times its requests.
    let average_content = |e: usize| {
        let en = &rows[e].entry;
        if en.num_requests == 0 {
            0.0
        } else {
            en.content_bytes as f64 / en.num_requests as f64
        }
    };
    let endpoint_seconds: Vec<Vec<Entry>> = if full {
        (0..rows.len())
            .map(|e| {
                seconds
                    .iter()
                    .map(|s| {
                        let c = &s.endpoint_counts[e];
                        let bytes =
                            (average_content(e) * (c.responses + c.errors) as f64).round() as u64;
                        second_entry(c, &s.endpoints[e], bytes)
                    })
                    .collect()
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut order: Vec<usize> = (0..endpoint_seconds.len()).collect();
    order.sort_by(|&a, &b| (rows[a].name, rows[a].method).cmp(&(rows[b].name, rows[b].method)));
    let requests = |entries: &[Entry]| -> (Vec<u64>, Vec<u64>) {
        (
            entries.iter().map(|e| e.num_requests).collect(),
            entries.iter().map(|e| e.num_failures).collect(),
        )
    };
    let (agg_req, agg_fail) = requests(&per_second);
    let endpoint_rates: Vec<(Vec<u64>, Vec<u64>)> =
        endpoint_seconds.iter().map(|es| requests(es)).collect();
    // Running totals, built once: row i shows prefix[i].
    let prefix = |entries: &[Entry]| -> Vec<Entry> {
        let mut acc = Entry::default();
        entries
            .iter()
            .map(|x| {
                acc.merge(x);
                acc.clone()
            })
            .collect()
    };
    let agg_prefix = prefix(&per_second);
    let endpoint_prefix: Vec<Vec<Entry>> = endpoint_seconds.iter().map(|es| prefix(es)).collect();
    let current = |entries: &[Entry], i: usize| {
        let mut e = Entry::default();
        entries[(i + 1).saturating_sub(CURRENT_WINDOW)..=i]
            .iter()
            .for_each(|x| e.merge(x));
        e
    };
    let mut out_rows: Vec<Owned> = Vec::new();
    for i in 0..seconds.len() {
        let timestamp = result.started_unix + i as u64 + 1;
        let users = report
            .timeline
            .get(i)
            .and_then(|l| l.users)
            .unwrap_or(u64::from(result.connections));
        for &e in &order {
            let es = &endpoint_seconds[e];
            let (req, fail) = &endpoint_rates[e];
            out_rows.push(Owned {
                timestamp,
                users,
                method: rows[e].method.to_string(),
                name: rows[e].name.to_string(),
                rps: window_mean(req, i),
                fail: window_mean(fail, i),
                shown: current(es, i),
                totals: endpoint_prefix[e][i].clone(),
            });
        }
        let totals = agg_prefix[i].clone();
        let shown = if full {
            current(&per_second, i)
        } else {
            totals.clone()
        };
        out_rows.push(Owned {
            timestamp,
            users,
            method: String::new(),
            name: "Aggregated".into(),
            rps: window_mean(&agg_req, i),
            fail: window_mean(&agg_fail, i),
            shown,
            totals,
        });
    }
    let lines: Vec<HistoryRow> = out_rows
        .iter()
        .map(|r| HistoryRow {
            timestamp: r.timestamp,
            user_count: r.users,
            method: &r.method,
            name: &r.name,
            rps: r.rps,
            fail_per_sec: r.fail,
            percentiles: &r.shown,
            totals: &r.totals,
        })
        .collect();
    locust::history_csv(&lines)
}
