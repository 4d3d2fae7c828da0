//! Locust-compatible CSV (`--csv PREFIX`): _stats.csv, _stats_history.csv, _failures.csv and
//! _exceptions.csv, with Locust's headers, row order, bucketing and percentile rules (2.47).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;

/// Locust's `PERCENTILES_TO_REPORT`.
pub const PERCENTILES: [f64; 11] = [
    0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];
const PERCENTILE_HEADERS: &str = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

/// Locust's `bucket_response_time`: about two significant digits, Python's round-half-to-even.
pub fn bucket(ms: f64) -> u64 {
    let round_to = |unit: f64| ((ms / unit).round_ties_even() * unit) as u64;
    if ms < 100.0 {
        ms.round_ties_even() as u64
    } else if ms < 1000.0 {
        round_to(10.0)
    } else if ms < 10000.0 {
        round_to(100.0)
    } else {
        round_to(1000.0)
    }
}

/// A number as Python's `repr` writes it in Locust's CSV: ints plain, floats with a `.0` when whole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PyNum {
    Int(u64),
    Float(f64),
}

impl std::fmt::Display for PyNum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 => {
                write!(f, "{x:.1}")
            }
            Self::Float(x) => write!(f, "{x}"),
        }
    }
}

/// One row's worth of Locust stats: its `StatsEntry`, rebuilt from ringblast's measurements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// Bucketed response times (ms) and their counts.
    pub buckets: BTreeMap<u64, u64>,
    pub num_requests: u64,
    pub num_failures: u64,
    /// Requests with no response time (ringblast's errors: no response arrived).
    pub num_none: u64,
    pub total_ms: f64,
    pub min_ms: Option<f64>,
    pub max_ms: f64,
    pub content_bytes: u64,
}

impl Entry {
    /// Logs one request with a response time (Locust's `log`).
    pub fn log(&mut self, ms: f64, content: u64) {
        self.num_requests += 1;
        self.total_ms += ms;
        self.min_ms = Some(self.min_ms.map_or(ms, |m| m.min(ms)));
        self.max_ms = self.max_ms.max(ms);
        *self.buckets.entry(bucket(ms)).or_insert(0) += 1;
        self.content_bytes += content;
    }

    /// Adds ringblast's histogram (µs) for responses: each recorded value becomes one ms sample
    /// at the middle of its HDR bucket (within 0.1 % for 3 significant digits).
    pub fn add_histogram(&mut self, h: &Histogram<u64>) {
        for v in h.iter_recorded() {
            let ms = h.median_equivalent(v.value_iterated_to()) as f64 / 1000.0;
            *self.buckets.entry(bucket(ms)).or_insert(0) += v.count_at_value();
        }
    }

    fn timed(&self) -> u64 {
        self.num_requests - self.num_none
    }

    /// Locust's `calculate_response_time_percentile`.
    pub fn percentile(&self, p: f64) -> u64 {
        let n = self.timed();
        let target = (n as f64 * p) as u64;
        let mut processed = 0;
        for (&k, &c) in self.buckets.iter().rev() {
            processed += c;
            if n - processed <= target {
                return k;
            }
        }
        0
    }

    /// Locust's `median_response_time`: p50 clamped to [min, max].
    pub fn median(&self) -> PyNum {
        if self.buckets.is_empty() {
            return PyNum::Int(0);
        }
        let m = self.percentile(0.5) as f64;
        if m > self.max_ms {
            PyNum::Float(self.max_ms)
        } else if let Some(min) = self.min_ms.filter(|min| m < *min) {
            PyNum::Float(min)
        } else {
            PyNum::Int(m as u64)
        }
    }

    pub fn avg(&self) -> f64 {
        let n = self.timed();
        if n == 0 {
            0.0
        } else {
            self.total_ms / n as f64
        }
    }

    pub fn merge(&mut self, o: &Entry) {
        for (k, c) in &o.buckets {
            *self.buckets.entry(*k).or_insert(0) += c;
        }
        self.num_requests += o.num_requests;
        self.num_failures += o.num_failures;
        self.num_none += o.num_none;
        self.total_ms += o.total_ms;
        self.min_ms = match (self.min_ms, o.min_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max_ms = self.max_ms.max(o.max_ms);
        self.content_bytes += o.content_bytes;
    }

    fn percentile_fields(&self) -> String {
        self.percentile_fields_unless(self.num_requests == 0)
    }

    /// The percentile columns, or N/A in each when `na` (Locust decides on the cumulative entry
    /// even when it shows current percentiles, so an idle window reads 0, not N/A).
    fn percentile_fields_unless(&self, na: bool) -> String {
        if na {
            return vec!["N/A"; PERCENTILES.len()].join(",");
        }
        PERCENTILES
            .iter()
            .map(|p| self.percentile(*p).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Median, average, min, max and average content size, as the CSVs write them.
    fn summary_fields(&self) -> String {
        let min = match self.min_ms {
            Some(m) if m != 0.0 => PyNum::Float(m),
            _ => PyNum::Int(0),
        };
        let max = if self.timed() == 0 {
            PyNum::Int(0)
        } else {
            PyNum::Float(self.max_ms)
        };
        let content = if self.num_requests == 0 {
            0.0
        } else {
            self.content_bytes as f64 / self.num_requests as f64
        };
        format!(
            "{},{},{},{},{}",
            self.median(),
            PyNum::Float(self.avg()),
            min,
            max,
            PyNum::Float(content)
        )
    }
}

/// Python csv's minimal quoting: quote fields with a comma, quote, CR or LF; double the quotes.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A named row: method, name and its entry.
pub struct Row<'a> {
    pub method: &'a str,
    pub name: &'a str,
    pub entry: Entry,
}

/// _stats.csv: endpoints sorted by (name, method), then Aggregated. `secs` is the rate window.
pub fn stats_csv(rows: &[Row], total: &Entry, secs: f64) -> String {
    let mut out = format!(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,{PERCENTILE_HEADERS}\r\n"
    );
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| (a.name, a.method).cmp(&(b.name, b.method)));
    let rate = |n: u64| {
        if secs > 0.0 {
            PyNum::Float(n as f64 / secs)
        } else {
            PyNum::Float(0.0)
        }
    };
    let mut line = |method: &str, name: &str, e: &Entry| {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{}\r\n",
            field(method),
            field(name),
            e.num_requests,
            e.num_failures,
            e.summary_fields(),
            rate(e.num_requests),
            rate(e.num_failures),
            e.percentile_fields()
        );
    };
    for r in sorted {
        line(r.method, r.name, &r.entry);
    }
    line("", "Aggregated", total);
    out
}

/// One row of the history file.
pub struct HistoryRow<'a> {
    pub timestamp: u64,
    pub user_count: u64,
    pub method: &'a str,
    pub name: &'a str,
    /// Locust's current rates (see `window_mean`).
    pub rps: f64,
    pub fail_per_sec: f64,
    /// Whose percentiles the row shows: cumulative (default) or current (full history).
    pub percentiles: &'a Entry,
    /// Cumulative stats up to this second.
    pub totals: &'a Entry,
}

/// Locust's current-rate window: the mean of seconds i−12 … i−3 (clipped at the start; 0 when empty).
pub fn window_mean(values: &[u64], i: usize) -> f64 {
    let lo = i.saturating_sub(12);
    let hi = i.saturating_sub(2).max(lo);
    let slice = &values[lo..hi.min(values.len())];
    slice.iter().sum::<u64>() as f64 / slice.len().max(1) as f64
}

/// _stats_history.csv: the header and the given rows.
pub fn history_csv(rows: &[HistoryRow]) -> String {
    let mut out = history_header();
    for r in rows {
        history_row(&mut out, r);
    }
    out
}

/// The history file's header line.
pub fn history_header() -> String {
    format!(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,{PERCENTILE_HEADERS},Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size\r\n"
    )
}

/// Appends one history line.
pub fn history_row(out: &mut String, r: &HistoryRow) {
    {
        let _ = write!(
            out,
            "{},{},{},{},{:.6},{:.6},{},{},{},{}\r\n",
            r.timestamp,
            r.user_count,
            field(r.method),
            field(r.name),
            r.rps,
            r.fail_per_sec,
            r.percentiles
                .percentile_fields_unless(r.totals.num_requests == 0),
            r.totals.num_requests,
            r.totals.num_failures,
            r.totals.summary_fields()
        );
    }
}

/// One failure row: what failed, how, how often.
pub struct Failure<'a> {
    pub method: &'a str,
    pub name: &'a str,
    pub error: String,
    pub occurrences: u64,
}

/// _failures.csv, sorted by (name, method, error). First/Last Seen are left empty (ringblast
/// does not keep per-failure timestamps), as Locust writes them when it has none.
pub fn failures_csv(failures: &[Failure]) -> String {
    let mut out = String::from("Method,Name,Error,Occurrences,First Seen,Last Seen\r\n");
    let mut sorted: Vec<&Failure> = failures.iter().collect();
    sorted.sort_by(|a, b| (a.name, a.method, &a.error).cmp(&(b.name, b.method, &b.error)));
    for f in sorted {
        let _ = write!(
            out,
            "{},{},{},{},,\r\n",
            field(f.method),
            field(f.name),
            field(&f.error),
            f.occurrences
        );
    }
    out
}

/// _exceptions.csv: ringblast raises no exceptions in user code, so only the header.
pub fn exceptions_csv() -> String {
    "Count,Message,Traceback,Nodes\r\n".to_string()
}

/// Writes the four files next to `prefix` (creating its directory), each whole.
/// The path of one of the CSV files: `PREFIX_suffix.csv`.
pub fn csv_path(prefix: &Path, suffix: &str) -> std::path::PathBuf {
    let name = prefix
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    prefix.with_file_name(format!("{name}_{suffix}.csv"))
}

/// Writes the stats, failures and exceptions files whole (the history is written as the run
/// goes, by `report::stream`).
pub fn write_all(prefix: &Path, stats: &str, failures: &str) -> std::io::Result<()> {
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    for (suffix, text) in [
        ("stats", stats),
        ("failures", failures),
        ("exceptions", &exceptions_csv()),
    ] {
        crate::report::write_whole(&csv_path(prefix, suffix), text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixtures computed by Locust's own StatsEntry (tests/fixtures/locust/make_fixtures.py).
    const FIXTURES: &str = include_str!("../../tests/fixtures/locust/stats_rules.json");

    #[test]
    fn rules_match_locusts_own_results() {
        let fixtures: serde_json::Value = serde_json::from_str(FIXTURES).unwrap();
        assert_eq!(
            fixtures["percentiles"].as_array().unwrap().len(),
            PERCENTILES.len()
        );
        for (name, case) in fixtures["cases"].as_object().unwrap() {
            let mut e = Entry::default();
            for s in case["samples_ms"].as_array().unwrap() {
                e.log(s.as_f64().unwrap(), 0);
            }
            let buckets: BTreeMap<u64, u64> = case["buckets"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.parse().unwrap(), v.as_u64().unwrap()))
                .collect();
            assert_eq!(e.buckets, buckets, "{name}: buckets");
            let want: Vec<u64> = case["percentiles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            let got: Vec<u64> = PERCENTILES.iter().map(|p| e.percentile(*p)).collect();
            assert_eq!(got, want, "{name}: percentiles");
            let median = match e.median() {
                PyNum::Int(i) => i as f64,
                PyNum::Float(f) => f,
            };
            assert_eq!(median, case["median"].as_f64().unwrap(), "{name}: median");
            assert!(
                (e.avg() - case["avg"].as_f64().unwrap()).abs() < 1e-9,
                "{name}: avg"
            );
            assert_eq!(e.min_ms, case["min"].as_f64(), "{name}: min");
            assert_eq!(e.max_ms, case["max"].as_f64().unwrap(), "{name}: max");
        }
    }

    #[test]
    fn csv_shapes_are_locusts() {
        let mut a = Entry::default();
        a.log(10.0, 100);
        a.log(30.5, 100);
        a.num_failures = 1;
        let none = Entry {
            num_requests: 2,
            num_none: 2,
            num_failures: 2,
            ..Entry::default()
        };
        let rows = [
            Row {
                method: "GET",
                name: "/b,c",
                entry: a.clone(),
            },
            Row {
                method: "POST",
                name: "/a",
                entry: none.clone(),
            },
        ];
        let mut total = a.clone();
        total.merge(&none);
        let csv = stats_csv(&rows, &total, 2.0);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert!(
            lines[0].starts_with("Type,Name,Request Count,Failure Count,Median Response Time,")
        );
        assert!(lines[0].ends_with(",99.9%,99.99%,100%"));
        // Only failed requests (no response times): zeros, not N/A (Locust checks num_requests).
        assert_eq!(
            lines[1], "POST,/a,2,2,0,0.0,0,0,0.0,1.0,1.0,0,0,0,0,0,0,0,0,0,0,0",
            "sorted by name: /a first"
        );
        // Two samples, 10 and 30.5 (bucket 30, half to even): p50 and the median are 30.
        assert_eq!(
            lines[2],
            "GET,\"/b,c\",2,1,30,20.25,10.0,30.5,100.0,1.0,0.5,30,30,30,30,30,30,30,30,30,30,30"
        );
        assert!(lines[3].starts_with(",Aggregated,4,3,"));
        assert_eq!(lines[4], "");
        let failures = failures_csv(&[Failure {
            method: "GET",
            name: "/x",
            error: "HTTP 404".into(),
            occurrences: 3,
        }]);
        assert_eq!(
            failures,
            "Method,Name,Error,Occurrences,First Seen,Last Seen\r\nGET,/x,HTTP 404,3,,\r\n"
        );
    }

    #[test]
    fn rate_window_is_locusts() {
        let per_second: Vec<u64> = (1..=20).collect();
        assert_eq!(
            window_mean(&per_second, 0),
            0.0,
            "nothing before the first seconds"
        );
        assert_eq!(window_mean(&per_second, 2), 0.0);
        assert_eq!(window_mean(&per_second, 3), 1.0, "second 0 only");
        // At i = 15: seconds 3..=12, values 4..=13.
        assert_eq!(window_mean(&per_second, 15), 8.5);
    }

    #[test]
    fn empty_entries_write_na() {
        let e = Entry::default();
        assert_eq!(
            e.percentile_fields(),
            "N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A"
        );
        assert_eq!(PyNum::Float(25.0).to_string(), "25.0");
        assert_eq!(PyNum::Float(45.123456789).to_string(), "45.123456789");
        assert_eq!(bucket(0.4), 0);
        assert_eq!(bucket(2.5), 2);
        assert_eq!(bucket(145.0), 140);
        assert_eq!(bucket(155.0), 160);
    }
}
