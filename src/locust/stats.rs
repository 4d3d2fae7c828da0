//! A Locust worker's `stats` report: the seconds since the last report, per endpoint and in
//! all, as Locust's StatsEntry dicts (deltas), with its response-time buckets and error keys.

use std::collections::BTreeMap;

use super::msgpack::Value;
use crate::report::locust::Entry;
use crate::report::stream::second_entry;
use crate::stats::second::{Second, TimelineEntry};
use crate::stats::{Counts, ErrorKind};

/// One StatsEntry's delta.
#[derive(Debug, Default, Clone)]
struct Acc {
    entry: Entry,
    reqs_per_sec: BTreeMap<u64, u64>,
    fail_per_sec: BTreeMap<u64, u64>,
    first: Option<f64>,
    last: Option<f64>,
}

impl Acc {
    fn add(&mut self, e: &Entry, epoch: u64) {
        self.entry.merge(e);
        *self.reqs_per_sec.entry(epoch).or_default() += e.num_requests;
        if e.num_failures > 0 {
            *self.fail_per_sec.entry(epoch).or_default() += e.num_failures;
        }
        let (start, end) = (epoch as f64, epoch as f64 + 1.0);
        self.first = Some(self.first.map_or(start, |f| f.min(start)));
        if e.num_requests > 0 {
            self.last = Some(self.last.map_or(end, |l| l.max(end)));
        }
    }

    fn is_empty(&self) -> bool {
        self.entry.num_requests == 0 && self.entry.num_failures == 0
    }

    fn to_value(&self, name: &str, method: &str) -> Value {
        let e = &self.entry;
        let ints = |m: &BTreeMap<u64, u64>| {
            Value::Map(
                m.iter()
                    .map(|(k, v)| (Value::Int(*k as i64), Value::Int(*v as i64)))
                    .collect(),
            )
        };
        let pairs = [
            ("name", Value::str(name)),
            ("method", Value::str(method)),
            (
                "last_request_timestamp",
                self.last.map_or(Value::Nil, Value::Float),
            ),
            ("start_time", Value::Float(self.first.unwrap_or(0.0))),
            ("num_requests", Value::Int(e.num_requests as i64)),
            ("num_none_requests", Value::Int(e.num_none as i64)),
            ("num_failures", Value::Int(e.num_failures as i64)),
            ("total_response_time", Value::Float(e.total_ms)),
            ("max_response_time", Value::Float(e.max_ms)),
            (
                "min_response_time",
                e.min_ms.map_or(Value::Nil, Value::Float),
            ),
            ("total_content_length", Value::Int(e.content_bytes as i64)),
            ("response_times", ints(&e.buckets)),
            ("num_reqs_per_sec", ints(&self.reqs_per_sec)),
            ("num_fail_per_sec", ints(&self.fail_per_sec)),
        ];
        Value::Map(pairs.into_iter().map(|(k, v)| (Value::str(k), v)).collect())
    }
}

/// The seconds not yet reported, summed the way a Locust worker's stats are.
#[derive(Debug)]
pub struct Pending {
    endpoints: Vec<(String, String)>,
    per: Vec<Acc>,
    total: Acc,
    /// (endpoint, error text) → occurrences, with the first and last second seen.
    errors: BTreeMap<(usize, String), (u64, u64, u64)>,
}

impl Pending {
    pub fn new(endpoints: Vec<(String, String)>) -> Self {
        let n = endpoints.len();
        Self {
            endpoints,
            per: vec![Acc::default(); n],
            total: Acc::default(),
            errors: BTreeMap::new(),
        }
    }

    /// Adds one completed second of a run that started at `started_unix`.
    pub fn add(&mut self, started_unix: u64, entry: &TimelineEntry, second: &Second) {
        let epoch = started_unix + u64::from(entry.t.saturating_sub(1));
        let mut all = Entry::default();
        for (ep, acc) in self.per.iter_mut().enumerate() {
            let (Some(c), Some(h)) = (second.endpoint_counts.get(ep), second.endpoints.get(ep))
            else {
                continue;
            };
            let bytes = second.endpoint_body_bytes.get(ep).copied().unwrap_or(0);
            let e = second_entry(c, h, bytes);
            if *c != Counts::default() {
                acc.add(&e, epoch);
                all.merge(&e);
            }
            let mut fail = |text: String, n: u64| {
                let slot = self.errors.entry((ep, text)).or_insert((0, epoch, epoch));
                slot.0 += n;
                slot.2 = epoch;
            };
            // The recorder judged each status by its task's own `expect`.
            for (code, n) in second.endpoint_unexpected.get(ep).into_iter().flatten() {
                fail(format!("HTTP {code}"), *n);
            }
            for kind in ErrorKind::ALL {
                let n = second
                    .endpoint_errors
                    .get(ep)
                    .map_or(0, |e| e[kind as usize]);
                if n > 0 {
                    fail(kind.name().to_string(), n);
                }
            }
        }
        self.total.add(&all, epoch);
    }

    /// The `stats` message's data, and a fresh start for the next report.
    pub fn take(&mut self, user_classes: Value, user_count: u64) -> Value {
        let stats = self
            .per
            .iter()
            .zip(&self.endpoints)
            .filter(|(a, _)| !a.is_empty())
            .map(|(a, (name, method))| a.to_value(name, method))
            .collect();
        let errors = self
            .errors
            .iter()
            .map(|((ep, error), (n, first, last))| {
                let (name, method) = &self.endpoints[*ep];
                // Locust keys an error by method, name and error text; any stable key merges.
                let key = format!("{method}.{name}.{error}");
                let value = Value::Map(vec![
                    (Value::str("name"), Value::str(name)),
                    (Value::str("method"), Value::str(method)),
                    (Value::str("error"), Value::str(error)),
                    (Value::str("occurrences"), Value::Int(*n as i64)),
                    (Value::str("first_seen"), Value::Float(*first as f64)),
                    (Value::str("last_seen"), Value::Float(*last as f64 + 1.0)),
                ]);
                (Value::Str(key), value)
            })
            .collect();
        let data = Value::Map(vec![
            (Value::str("stats"), Value::Array(stats)),
            (
                Value::str("stats_total"),
                self.total.to_value("Aggregated", ""),
            ),
            (Value::str("errors"), Value::Map(errors)),
            (Value::str("user_classes_count"), user_classes),
            (Value::str("user_count"), Value::Int(user_count as i64)),
        ]);
        for a in self.per.iter_mut() {
            *a = Acc::default();
        }
        self.total = Acc::default();
        self.errors.clear();
        data
    }
}
