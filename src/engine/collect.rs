//! Merges the workers' once-per-second interval snapshots into the run's timeline, and renders
//! the live progress line from them. Runs on the main thread, never on a worker.

use std::collections::BTreeMap;
use std::sync::Arc;

use hdrhistogram::Histogram;

use crate::load::{Kind, Shape, Shard};
pub use crate::stats::second::{Second, SecondSink, TimelineEntry};
use crate::stats::{Counts, ERROR_KINDS, Interval};

#[derive(Debug)]
struct Pending {
    counts: Counts,
    latency: Histogram<u64>,
    uncorrected: Histogram<u64>,
    body_bytes: u64,
    endpoints: Vec<Histogram<u64>>,
    endpoint_counts: Vec<Counts>,
    endpoint_body_bytes: Vec<u64>,
    endpoint_status: Vec<BTreeMap<u16, u64>>,
    endpoint_unexpected: Vec<BTreeMap<u16, u64>>,
    endpoint_errors: Vec<[u64; ERROR_KINDS]>,
    reports: usize,
}

/// Accumulates intervals by index until every worker has reported each one. Only seconds that
/// some worker has not reported yet are held (at most a few), so memory does not grow with the
/// run's length.
#[derive(Debug)]
pub struct Collector {
    workers: usize,
    shape: Arc<Shape>,
    warmup: f64,
    shard: Shard,
    pending: BTreeMap<u32, Pending>,
}

impl Collector {
    pub fn new(workers: usize, shape: Arc<Shape>, warmup: f64, shard: Shard) -> Self {
        Self {
            workers,
            shape,
            warmup,
            shard,
            pending: BTreeMap::new(),
        }
    }

    /// Adds one worker's interval; returns the merged second if that completed it. Seconds
    /// complete in order: every worker reports its seconds in order.
    pub fn add(&mut self, iv: Interval) -> Option<(TimelineEntry, Second)> {
        let p = self.pending.entry(iv.index).or_insert_with(|| Pending {
            counts: Counts::default(),
            latency: Histogram::new_from(&iv.latency),
            uncorrected: Histogram::new_from(&iv.latency_uncorrected),
            body_bytes: 0,
            endpoints: iv.endpoints.iter().map(Histogram::new_from).collect(),
            endpoint_counts: vec![Counts::default(); iv.endpoint_counts.len()],
            endpoint_body_bytes: vec![0; iv.endpoint_body_bytes.len()],
            endpoint_status: vec![BTreeMap::new(); iv.endpoint_status.len()],
            endpoint_unexpected: vec![BTreeMap::new(); iv.endpoint_unexpected.len()],
            endpoint_errors: vec![[0; ERROR_KINDS]; iv.endpoint_errors.len()],
            reports: 0,
        });
        p.counts += &iv.counts;
        p.latency += &iv.latency;
        p.uncorrected += &iv.latency_uncorrected;
        p.body_bytes += iv.body_bytes;
        for (a, b) in p.endpoints.iter_mut().zip(&iv.endpoints) {
            *a += b;
        }
        for (a, b) in p.endpoint_counts.iter_mut().zip(&iv.endpoint_counts) {
            *a += b;
        }
        for (a, b) in p
            .endpoint_body_bytes
            .iter_mut()
            .zip(&iv.endpoint_body_bytes)
        {
            *a += b;
        }
        for (mine, theirs) in [
            (&mut p.endpoint_status, &iv.endpoint_status),
            (&mut p.endpoint_unexpected, &iv.endpoint_unexpected),
        ] {
            for (a, b) in mine.iter_mut().zip(theirs) {
                for (code, n) in b {
                    *a.entry(*code).or_default() += n;
                }
            }
        }
        for (a, b) in p.endpoint_errors.iter_mut().zip(&iv.endpoint_errors) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        p.reports += 1;
        if p.reports < self.workers {
            return None;
        }
        let p = self.pending.remove(&iv.index).expect("entry exists");
        Some(self.complete(iv.index, p))
    }

    fn complete(&self, index: u32, p: Pending) -> (TimelineEntry, Second) {
        let mut entry = self.entry(index, &p);
        entry.latency_hdr = Some(crate::hdr::encode(&p.latency));
        if p.endpoints.len() > 1 {
            entry.endpoints = p
                .endpoints
                .iter()
                .zip(&p.endpoint_counts)
                .map(|(h, c)| crate::stats::second::EndpointSecond {
                    responses: c.responses,
                    failed: c.responses - c.ok.min(c.responses) + c.errors,
                    errors: c.errors,
                    latency_hdr: crate::hdr::encode(h),
                })
                .collect();
        }
        let second = Second {
            counts: p.counts,
            latency: p.latency,
            body_bytes: p.body_bytes,
            endpoints: p.endpoints,
            endpoint_counts: p.endpoint_counts,
            endpoint_body_bytes: p.endpoint_body_bytes,
            endpoint_status: p.endpoint_status,
            endpoint_unexpected: p.endpoint_unexpected,
            endpoint_errors: p.endpoint_errors,
        };
        (entry, second)
    }

    /// The seconds that not every worker reported (a worker that finished early sends nothing
    /// more), in order.
    pub fn finish(mut self) -> Vec<(TimelineEntry, Second)> {
        std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(index, p)| self.complete(index, p))
            .collect()
    }

    fn entry(&self, index: u32, p: &Pending) -> TimelineEntry {
        let q = |h: &Histogram<u64>, quantile| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(quantile)
            }
        };
        let (a, b) = (
            self.warmup + f64::from(index),
            self.warmup + f64::from(index) + 1.0,
        );
        // A shard's target is its share: 1/N of the rate, and the users it owns.
        let n = self.shard.count as f64;
        let target_rps = (self.shape.kind == Kind::Rate).then(|| {
            ((self.shape.cumulative(b) - self.shape.cumulative(a)) / n * 10.0).round() / 10.0
        });
        let users = (self.shape.kind == Kind::Users).then(|| {
            let all = self.shape.value_at(b.min(self.shape.end())).floor() as u64;
            self.shard.as_share().count_below(all)
        });
        TimelineEntry {
            t: index + 1,
            target_rps,
            users,
            rps: p.counts.responses as f64,
            sent: p.counts.sent,
            responses: p.counts.responses,
            ok: p.counts.ok,
            errors: p.counts.errors,
            p50_us: q(&p.latency, 0.5),
            p90_us: q(&p.latency, 0.9),
            p99_us: q(&p.latency, 0.99),
            max_us: if p.latency.is_empty() {
                0
            } else {
                p.latency.max()
            },
            p50_uncorrected_us: q(&p.uncorrected, 0.5),
            p90_uncorrected_us: q(&p.uncorrected, 0.9),
            p99_uncorrected_us: q(&p.uncorrected, 0.99),
            kernel: None,
            latency_hdr: None,
            endpoints: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Recorder;
    use std::time::Duration;

    #[test]
    fn merges_when_every_worker_reported() {
        let shape = Arc::new(Shape::constant(Kind::Rate, 10.0, Duration::from_secs(2)));
        let mut a = Recorder::new(1);
        let mut b = Recorder::new(1);
        a.response(0, 200, true, 100, 50);
        b.response(0, 200, true, 300, 60);
        b.error(0, crate::stats::ErrorKind::Timeout, 2);
        let mut c = Collector::new(2, shape, 0.0, Shard::default());
        assert!(c.add(a.roll(1)).is_none());
        let (e, second) = c.add(b.roll(1)).unwrap();
        assert_eq!(second.counts.errors, 2);
        assert_eq!((e.t, e.responses, e.errors), (1, 2, 2));
        assert_eq!(e.target_rps, Some(10.0));
        assert_eq!(e.users, None);
        // Interval histograms keep two significant digits: 300 reads back within 1 %.
        assert!((300..=303).contains(&e.max_us), "{}", e.max_us);
        assert!(e.p99_uncorrected_us <= 61);
        a.response(0, 200, true, 5, 5);
        assert!(c.add(a.roll(2)).is_none());
        let rest = c.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].0.t, rest[0].0.responses), (2, 1));
    }
}
