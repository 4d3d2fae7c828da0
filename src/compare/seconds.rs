//! Each input's seconds for the verdicts: a ringblast report's per-second histograms (one round
//! per `--rounds` round), or a Locust history's rows, approximated from their percentiles.

use crate::report::Report;
use crate::verdict::series::{self, RawSecond, Series};

/// The whole run's and each endpoint's series (None where the input has no per-second data).
#[derive(Debug, Clone, Default)]
pub struct RunSeries {
    pub whole: Option<Series>,
    pub endpoints: Vec<Option<Series>>,
}

fn raw_of(hdr: Option<&str>, responses: u64, failed: u64, errors: u64) -> Option<RawSecond> {
    let h = crate::hdr::decode(hdr?).ok()?;
    Some(RawSecond {
        responses: responses as f64,
        failures: failed as f64,
        attempts: (responses + errors) as f64,
        seconds: 1.0,
        latency: h
            .iter_recorded()
            .map(|v| (v.value_iterated_to() as f64, v.count_at_value() as f64))
            .collect(),
    })
}

/// The rounds of a report: its own `rounds`, or itself as the one round.
fn rounds(r: &Report) -> Vec<&Report> {
    if r.rounds.is_empty() {
        vec![r]
    } else {
        r.rounds.iter().collect()
    }
}

/// A report's series, when every second of every round has its histogram.
pub fn of_report(r: &Report) -> RunSeries {
    let rs = rounds(r);
    let whole: Option<Vec<Vec<RawSecond>>> = rs
        .iter()
        .map(|round| {
            round
                .timeline
                .iter()
                .map(|e| {
                    raw_of(
                        e.latency_hdr.as_deref(),
                        e.responses,
                        e.responses - e.ok.min(e.responses) + e.errors,
                        e.errors,
                    )
                })
                .collect::<Option<Vec<_>>>()
        })
        .collect();
    let endpoints = (0..r.endpoints.len())
        .map(|ep| {
            rs.iter()
                .map(|round| {
                    round
                        .timeline
                        .iter()
                        .map(|e| {
                            let s = e.endpoints.get(ep)?;
                            raw_of(Some(&s.latency_hdr), s.responses, s.failed, s.errors)
                        })
                        .collect::<Option<Vec<_>>>()
                })
                .collect::<Option<Vec<_>>>()
                .map(series::build)
        })
        .collect();
    RunSeries {
        whole: whole
            .filter(|w| w.iter().any(|r| !r.is_empty()))
            .map(series::build),
        endpoints,
    }
}

/// Locust's percentile columns in its history file, and the share of responses each stands for
/// (the mass between it and the previous one).
const LOCUST_POINTS: [(&str, f64); 11] = [
    ("50%", 0.50),
    ("66%", 0.16),
    ("75%", 0.09),
    ("80%", 0.05),
    ("90%", 0.10),
    ("95%", 0.05),
    ("98%", 0.03),
    ("99%", 0.01),
    ("99.9%", 0.009),
    ("99.99%", 0.0009),
    ("100%", 0.0001),
];

/// A Locust `_stats_history.csv`'s rows for one (type, name) (`""`, `"Aggregated"` for the
/// whole) as seconds: requests and failures from the totals' differences, latency spread over
/// the row's percentiles. Approximate: Locust rounds its percentiles, and without
/// `--csv-full-history` they are cumulative, not per second.
pub fn of_locust_history(text: &str, method: &str, name: &str) -> Option<Series> {
    let mut lines = text.lines();
    let header = super::split_csv(lines.next()?);
    let col = |n: &str| header.iter().position(|h| h == n);
    let (ty, nm, ts) = (col("Type")?, col("Name")?, col("Timestamp")?);
    let (total, fails) = (col("Total Request Count")?, col("Total Failure Count")?);
    let points: Vec<(usize, f64)> = LOCUST_POINTS
        .iter()
        .map(|(h, mass)| col(h).map(|i| (i, *mass)))
        .collect::<Option<_>>()?;
    let (mut last_t, mut last_total, mut last_fail) = (None::<f64>, 0.0, 0.0);
    let mut seconds = Vec::new();
    for line in lines {
        let f = super::split_csv(line);
        let get = |i: usize| f.get(i).map(String::as_str).unwrap_or("");
        if get(ty) != method || get(nm) != name {
            continue;
        }
        let (Ok(t), Ok(n), Ok(k)) = (
            get(ts).parse::<f64>(),
            get(total).parse::<f64>(),
            get(fails).parse::<f64>(),
        ) else {
            continue;
        };
        let Some(prev) = last_t.replace(t) else {
            (last_total, last_fail) = (n, k);
            continue;
        };
        let (dn, dk) = (n - last_total, k - last_fail);
        (last_total, last_fail) = (n, k);
        if t <= prev || dn < 0.0 {
            continue;
        }
        let latency: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|(i, mass)| Some((get(*i).parse::<f64>().ok()? * 1000.0, mass * dn)))
            .collect();
        seconds.push(RawSecond {
            responses: dn,
            failures: dk,
            attempts: dn,
            seconds: t - prev,
            latency,
        });
    }
    // Leading seconds before the first request (a master waiting for workers) are not the run.
    let first = seconds.iter().position(|s| s.responses > 0.0)?;
    Some(series::build(vec![seconds.split_off(first)]))
}
