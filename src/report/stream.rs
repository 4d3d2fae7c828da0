//! Outputs written as the run goes, one second at a time: Locust's stats history CSV and the
//! HdrHistogram interval log. Each holds a bounded window of state, never the whole run.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use super::locust::{self, Entry, HistoryRow, window_mean};
use super::partial_path;
use crate::stats::Counts;
use crate::stats::second::{Second, TimelineEntry};

/// Locust keeps "current" percentiles over about the last 10 seconds.
const CURRENT_WINDOW: usize = 10;
/// Seconds of request counts Locust's current rate looks back over (see `window_mean`).
const RATE_WINDOW: usize = 13;

/// A file written under its `.partial` name and renamed into place when complete.
struct Partial {
    out: BufWriter<File>,
    path: PathBuf,
}

impl Partial {
    fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self {
            out: BufWriter::new(File::create(partial_path(path))?),
            path: path.to_path_buf(),
        })
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()?;
        drop(self.out);
        std::fs::rename(partial_path(&self.path), &self.path)
    }
}

/// One second's Locust entry from its counts and (2-digit) latency histogram.
pub fn second_entry(c: &Counts, h: &hdrhistogram::Histogram<u64>, body_bytes: u64) -> Entry {
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

/// What one history row needs of an entry's past: its running totals, its last ten seconds,
/// and its last thirteen request and failure counts.
#[derive(Default)]
struct Track {
    totals: Entry,
    recent: VecDeque<Entry>,
    requests: VecDeque<u64>,
    failures: VecDeque<u64>,
}

impl Track {
    /// Adds second `i` (0-based); returns (requests/s, failures/s, the current entry).
    fn push(&mut self, i: usize, e: Entry) -> (f64, f64, Entry) {
        self.totals.merge(&e);
        for (q, v) in [
            (&mut self.requests, e.num_requests),
            (&mut self.failures, e.num_failures),
        ] {
            q.push_back(v);
            if q.len() > RATE_WINDOW {
                q.pop_front();
            }
        }
        self.recent.push_back(e);
        if self.recent.len() > CURRENT_WINDOW {
            self.recent.pop_front();
        }
        // The deques hold seconds i+1-len ..= i: index them relative to their first.
        let rel = self.requests.len() - 1;
        debug_assert!(rel <= i);
        let rps = window_mean(self.requests.make_contiguous(), rel);
        let fail = window_mean(self.failures.make_contiguous(), rel);
        let mut current = Entry::default();
        self.recent.iter().for_each(|x| current.merge(x));
        (rps, fail, current)
    }
}

/// `PREFIX_stats_history.csv`, a row per endpoint (with full history) and the Aggregated row
/// per second.
pub struct History {
    file: Partial,
    started_unix: u64,
    index: usize,
    /// (name, method) per endpoint, and the order Locust sorts them in.
    endpoints: Vec<(String, String)>,
    order: Vec<usize>,
    full: bool,
    connections: u64,
    aggregated: Track,
    per_endpoint: Vec<Track>,
    line: String,
}

impl History {
    pub fn create(
        prefix: &Path,
        endpoints: Vec<(String, String)>,
        full: bool,
        connections: u64,
    ) -> std::io::Result<Self> {
        let mut file = Partial::create(&locust::csv_path(prefix, "stats_history"))?;
        file.out.write_all(locust::history_header().as_bytes())?;
        let mut order: Vec<usize> = (0..endpoints.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&endpoints[a], &endpoints[b]);
            (&x.0, &x.1).cmp(&(&y.0, &y.1))
        });
        Ok(Self {
            file,
            started_unix: 0,
            index: 0,
            per_endpoint: (0..endpoints.len()).map(|_| Track::default()).collect(),
            endpoints,
            order,
            full,
            connections,
            aggregated: Track::default(),
            line: String::new(),
        })
    }

    /// Measurement started at this Unix time: rows are stamped from it.
    pub fn start(&mut self, started_unix: u64) {
        self.started_unix = started_unix;
    }

    /// Renames the complete file into place.
    pub fn finish(self) -> std::io::Result<()> {
        self.file.finish()
    }

    pub fn second(&mut self, entry: &TimelineEntry, s: &Second) -> std::io::Result<()> {
        let i = self.index;
        self.index += 1;
        let timestamp = self.started_unix + i as u64 + 1;
        let user_count = entry.users.unwrap_or(self.connections);
        self.line.clear();
        let full = self.full && s.endpoint_counts.len() == self.endpoints.len();
        if full {
            for &e in &self.order {
                let bytes = s.endpoint_body_bytes.get(e).copied().unwrap_or(0);
                let en = second_entry(&s.endpoint_counts[e], &s.endpoints[e], bytes);
                let (rps, fail, current) = self.per_endpoint[e].push(i, en);
                let (name, method) = &self.endpoints[e];
                locust::history_row(
                    &mut self.line,
                    &HistoryRow {
                        timestamp,
                        user_count,
                        method,
                        name,
                        rps,
                        fail_per_sec: fail,
                        percentiles: &current,
                        totals: &self.per_endpoint[e].totals,
                    },
                );
            }
        }
        let (rps, fail, current) = self
            .aggregated
            .push(i, second_entry(&s.counts, &s.latency, s.body_bytes));
        let totals = &self.aggregated.totals;
        locust::history_row(
            &mut self.line,
            &HistoryRow {
                timestamp,
                user_count,
                method: "",
                name: "Aggregated",
                rps,
                fail_per_sec: fail,
                percentiles: if full { &current } else { totals },
                totals,
            },
        );
        self.file.out.write_all(self.line.as_bytes())
    }
}

/// A tag the interval log format accepts: no commas, spaces or line breaks.
pub fn tag_for(method: &str, name: &str) -> String {
    format!("{method}_{name}")
        .chars()
        .map(|c| {
            if c == ',' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The `--hlog` interval log: one histogram per second, untagged for all requests and tagged
/// per endpoint, V2-deflate encoded, as HdrHistogram's log tools read it.
pub struct IntervalLog {
    file: Partial,
    serializer: V2DeflateSerializer,
    tags: Vec<String>,
    index: u64,
    started: bool,
}

impl IntervalLog {
    pub fn create(path: &Path, endpoints: &[(String, String)]) -> std::io::Result<Self> {
        Ok(Self {
            file: Partial::create(path)?,
            serializer: V2DeflateSerializer::new(),
            tags: endpoints
                .iter()
                .map(|(name, method)| tag_for(method, name))
                .collect(),
            index: 0,
            started: false,
        })
    }

    pub fn start(&mut self, started_unix: u64) -> std::io::Result<()> {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(started_unix);
        IntervalLogWriterBuilder::new()
            .add_comment(concat!(
                "ringblast ",
                env!("CARGO_PKG_VERSION"),
                ": latency in microseconds, one interval per second"
            ))
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut self.file.out, &mut self.serializer)?;
        self.started = true;
        Ok(())
    }

    pub fn second(&mut self, s: &Second) -> std::io::Result<()> {
        if !self.started {
            self.start(0)?;
        }
        let at = Duration::from_secs(self.index);
        self.index += 1;
        let fail = |e| std::io::Error::other(format!("interval log: {e:?}"));
        // A builder with no comments and no times writes no header: just the lines that follow.
        let mut writer = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.file.out, &mut self.serializer)?;
        let second = Duration::from_secs(1);
        writer
            .write_histogram(&s.latency, at, second, None)
            .map_err(fail)?;
        for (h, tag) in s.endpoints.iter().zip(&self.tags) {
            writer
                .write_histogram(h, at, second, Tag::new(tag))
                .map_err(fail)?;
        }
        Ok(())
    }

    /// Renames the complete log into place (with its header, even when no second completed).
    pub fn finish(mut self) -> std::io::Result<()> {
        if !self.started {
            self.start(0)?;
        }
        self.file.finish()
    }
}
