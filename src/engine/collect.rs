//! Merges the workers' once-per-second interval snapshots into the run's timeline, and renders
//! the live progress line from them. Runs on the main thread, never on a worker.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::stats::{Counts, Interval};

/// One second of the run, all workers merged.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimelineEntry {
    /// Seconds since the start at the end of this interval.
    pub t: u32,
    pub sent: u64,
    pub responses: u64,
    pub ok: u64,
    pub errors: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

#[derive(Debug)]
struct Pending {
    counts: Counts,
    latency: Histogram<u64>,
    reports: usize,
}

/// Accumulates intervals by index until every worker has reported each one.
#[derive(Debug)]
pub struct Collector {
    workers: usize,
    pending: BTreeMap<u32, Pending>,
    done: Vec<TimelineEntry>,
}

impl Collector {
    pub fn new(workers: usize) -> Self {
        Self {
            workers,
            pending: BTreeMap::new(),
            done: Vec::new(),
        }
    }

    /// Adds one worker's interval; returns the merged entry if that completed the second.
    pub fn add(&mut self, iv: Interval) -> Option<TimelineEntry> {
        let p = self.pending.entry(iv.index).or_insert_with(|| Pending {
            counts: Counts::default(),
            latency: Histogram::new_from(&iv.latency),
            reports: 0,
        });
        p.counts.sent += iv.counts.sent;
        p.counts.responses += iv.counts.responses;
        p.counts.ok += iv.counts.ok;
        p.counts.errors += iv.counts.errors;
        p.latency += &iv.latency;
        p.reports += 1;
        if p.reports < self.workers {
            return None;
        }
        let p = self.pending.remove(&iv.index).expect("entry exists");
        let entry = entry(iv.index, &p);
        self.done.push(entry.clone());
        Some(entry)
    }

    /// All seconds, in order, including any that not every worker reported (a worker that
    /// finished early sends nothing more).
    pub fn finish(mut self) -> Vec<TimelineEntry> {
        for (index, p) in std::mem::take(&mut self.pending) {
            self.done.push(entry(index, &p));
        }
        self.done.sort_by_key(|e| e.t);
        self.done
    }
}

fn entry(index: u32, p: &Pending) -> TimelineEntry {
    let q = |quantile| {
        if p.latency.is_empty() {
            0
        } else {
            p.latency.value_at_quantile(quantile)
        }
    };
    TimelineEntry {
        t: index + 1,
        sent: p.counts.sent,
        responses: p.counts.responses,
        ok: p.counts.ok,
        errors: p.counts.errors,
        p50_us: q(0.5),
        p90_us: q(0.9),
        p99_us: q(0.99),
        max_us: if p.latency.is_empty() {
            0
        } else {
            p.latency.max()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Recorder;

    #[test]
    fn merges_when_every_worker_reported() {
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        a.response(200, 100);
        b.response(200, 300);
        b.error(crate::stats::ErrorKind::Timeout, 2);
        let mut c = Collector::new(2);
        assert!(c.add(a.roll(1)).is_none());
        let e = c.add(b.roll(1)).unwrap();
        assert_eq!((e.t, e.responses, e.errors), (1, 2, 2));
        // Interval histograms keep two significant digits: 300 reads back within 1 %.
        assert!((300..=303).contains(&e.max_us), "{}", e.max_us);
        a.response(200, 5);
        c.add(a.roll(2));
        let all = c.finish();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].responses, 1);
    }
}
