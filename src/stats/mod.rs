//! Per-core measurement: latency histograms, counters by status and error kind, interval snapshots.
//! Each worker owns one Recorder (no sharing); totals are merged once, after the workers stop.

use hdrhistogram::Histogram;

mod errors;
pub mod second;
mod totals;

pub use errors::{ERROR_KINDS, ErrorKind};
pub use totals::{Counts, EndpointTotals, H2_CODES, H2Totals, Totals};

/// Status codes are counted in tables indexed 0..=999.
pub const STATUS_CODES: usize = 1000;

/// Highest latency the histograms track, in microseconds (one hour); larger values saturate.
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

fn latency_histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, sigfig)
        .expect("static histogram bounds are valid")
}

/// Adds one at `i`, growing the vector as needed.
fn bump(v: &mut Vec<u64>, i: usize) {
    if v.len() <= i {
        v.resize(i + 1, 0);
    }
    v[i] += 1;
}

/// One worker's measurements for one second of the run, sent to the collector once per second.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Which second of the run (0 = the first).
    pub index: u32,
    pub counts: Counts,
    pub latency: Histogram<u64>,
    pub latency_uncorrected: Histogram<u64>,
    /// Response body bytes in this second.
    pub body_bytes: u64,
    /// Per-endpoint latency and counts in this second (only when asked for: `--hlog`,
    /// `--csv-full-history`).
    pub endpoints: Vec<Histogram<u64>>,
    pub endpoint_counts: Vec<Counts>,
    pub endpoint_body_bytes: Vec<u64>,
    /// With the per-endpoint intervals: the responses of this second by endpoint and status
    /// (only the statuses seen), and its errors by endpoint and kind. Taken as differences of
    /// the totals when the interval closes, so recording a response does no more work.
    pub endpoint_status: Vec<Vec<(u16, u64)>>,
    /// The same for the responses whose status was not expected.
    pub endpoint_unexpected: Vec<Vec<(u16, u64)>>,
    pub endpoint_errors: Vec<[u64; ERROR_KINDS]>,
}

/// The statuses whose count moved since `last`, by how much; `last` catches up.
fn deltas(now: &[u64], last: &mut [u64]) -> Vec<(u16, u64)> {
    let mut out = Vec::new();
    for (code, (now, last)) in now.iter().zip(last).enumerate() {
        if now != last {
            out.push((code as u16, now - *last));
            *last = *now;
        }
    }
    out
}

/// A run of equal responses not yet recorded (see `Recorder::response`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Run {
    ep: usize,
    status: u16,
    ok: bool,
    latency_us: u64,
    uncorrected_us: u64,
    n: u64,
}

/// The per-worker recorder: totals plus the interval that is being filled.
#[derive(Debug)]
pub struct Recorder {
    pub totals: Totals,
    current: Interval,
    run: Run,
    /// The same for the generator's added time: (µs, count).
    added_run: (u64, u64),
    /// Whether a response's latency from the actual send has differed from its headline
    /// latency, over the run and in the current interval. Until it has, the uncorrected
    /// histograms are not recorded (a closed loop's never are): they equal the corrected ones,
    /// and are copied from them when read, or when the first difference arrives.
    uncorrected_differs: bool,
    interval_differs: bool,
    /// How many per-endpoint interval histograms to keep (0: none).
    endpoint_intervals: usize,
    /// The endpoints' status and error tables when the last interval closed.
    last_status: Vec<Vec<u64>>,
    last_unexpected: Vec<Vec<u64>>,
    last_errors: Vec<[u64; ERROR_KINDS]>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new(1)
    }
}

impl Recorder {
    /// A recorder for a program with `endpoints` endpoints that also keeps each second's
    /// latency per endpoint when `per_endpoint_intervals` (for the interval log).
    pub fn with_endpoint_intervals(endpoints: usize, per_endpoint_intervals: bool) -> Self {
        let mut r = Self::new(endpoints);
        if per_endpoint_intervals {
            r.endpoint_intervals = endpoints;
            r.current.endpoints = (0..endpoints).map(|_| latency_histogram(2)).collect();
            r.current.endpoint_counts = vec![Counts::default(); endpoints];
            r.current.endpoint_body_bytes = vec![0; endpoints];
            r.last_status = vec![vec![0; STATUS_CODES]; endpoints];
            r.last_unexpected = vec![vec![0; STATUS_CODES]; endpoints];
            r.last_errors = vec![[0; ERROR_KINDS]; endpoints];
        }
        r
    }

    /// A recorder for a program with `endpoints` endpoints.
    pub fn new(endpoints: usize) -> Self {
        let mut totals = Totals::default();
        totals
            .endpoints
            .resize_with(endpoints.max(1), EndpointTotals::default);
        Self {
            totals,
            current: Interval {
                index: 0,
                counts: Counts::default(),
                latency: latency_histogram(2),
                latency_uncorrected: latency_histogram(2),
                body_bytes: 0,
                endpoints: Vec::new(),
                endpoint_counts: Vec::new(),
                endpoint_body_bytes: Vec::new(),
                endpoint_status: Vec::new(),
                endpoint_unexpected: Vec::new(),
                endpoint_errors: Vec::new(),
            },
            endpoint_intervals: 0,
            run: Run::default(),
            added_run: (0, 0),
            uncorrected_differs: false,
            interval_differs: false,
            last_status: Vec::new(),
            last_unexpected: Vec::new(),
            last_errors: Vec::new(),
        }
    }

    /// Counts `n` requests to endpoint `ep` handed to the kernel carrying `bytes` bytes.
    #[inline]
    pub fn sent(&mut self, ep: usize, n: u64, bytes: u64) {
        self.totals.counts.sent += n;
        self.current.counts.sent += n;
        self.totals.bytes_sent += bytes;
        self.totals.endpoints[ep].counts.sent += n;
        if let Some(c) = self.current.endpoint_counts.get_mut(ep) {
            c.sent += n;
        }
    }

    /// Takes back one request of `bytes` bytes that was counted as sent but never reached the
    /// kernel: everything `sent` counted (the totals, the endpoint's, the interval's, the bytes).
    pub fn unsend(&mut self, ep: usize, bytes: u64) {
        self.totals.counts.sent -= 1;
        self.totals.bytes_sent -= bytes;
        self.totals.endpoints[ep].counts.sent -= 1;
        // The interval that counted it may have closed since: then that second keeps it.
        self.current.counts.sent = self.current.counts.sent.saturating_sub(1);
        if let Some(c) = self.current.endpoint_counts.get_mut(ep) {
            c.sent = c.sent.saturating_sub(1);
        }
    }

    #[inline]
    pub fn received(&mut self, bytes: u64) {
        self.totals.bytes_received += bytes;
    }

    /// Records one complete response to endpoint `ep` (`ok` by the task's expected statuses),
    /// with its corrected and uncorrected latency. Equal responses in a row (a pipelined batch,
    /// sent together and read in one piece) are kept as one run and recorded together.
    #[inline]
    pub fn response(
        &mut self,
        ep: usize,
        status: u16,
        ok: bool,
        latency_us: u64,
        uncorrected_us: u64,
    ) {
        let run = Run {
            ep,
            status,
            ok,
            latency_us,
            uncorrected_us,
            n: self.run.n,
        };
        if run == self.run && run.n > 0 {
            self.run.n += 1;
            return;
        }
        self.settle();
        self.run = Run { n: 1, ..run };
    }

    /// Records the run of equal responses held back by `response`. Everything that reads the
    /// totals or the interval settles first.
    fn settle(&mut self) {
        let Run {
            ep,
            status,
            ok,
            latency_us,
            uncorrected_us,
            n,
        } = std::mem::take(&mut self.run);
        if n == 0 {
            return;
        }
        if uncorrected_us != latency_us && !(self.uncorrected_differs && self.interval_differs) {
            self.start_uncorrected();
        }
        let ok_n = if ok { n } else { 0 };
        let e = &mut self.totals.endpoints[ep];
        for c in [
            &mut self.totals.counts,
            &mut self.current.counts,
            &mut e.counts,
        ] {
            c.responses += n;
            c.ok += ok_n;
        }
        if let Some(c) = self.current.endpoint_counts.get_mut(ep) {
            c.responses += n;
            c.ok += ok_n;
        }
        let code = usize::from(status).min(999);
        e.status[code] += n;
        if !ok {
            e.unexpected[code] += n;
        }
        e.latency.saturating_record_n(latency_us, n);
        e.latency_sum_us += latency_us * n;
        e.latency_min_us = e.latency_min_us.min(latency_us);
        e.latency_max_us = e.latency_max_us.max(latency_us);
        if let Some(h) = self.current.endpoints.get_mut(ep) {
            h.saturating_record_n(latency_us, n);
        }
        // The aggregate latency and status table are the endpoints' sums: folded once, in
        // `snapshot_totals`, not recorded twice per response.
        self.current.latency.saturating_record_n(latency_us, n);
        if self.uncorrected_differs {
            self.totals
                .latency_uncorrected
                .saturating_record_n(uncorrected_us, n);
        }
        if self.interval_differs {
            self.current
                .latency_uncorrected
                .saturating_record_n(uncorrected_us, n);
        }
    }

    /// The first response whose two latencies differ (in the run, or in this interval), before
    /// it is recorded: the uncorrected histograms take on what the corrected ones hold so far,
    /// and are recorded from here on.
    #[cold]
    fn start_uncorrected(&mut self) {
        if !self.uncorrected_differs {
            self.uncorrected_differs = true;
            self.totals.latency_uncorrected = self.folded_latency();
        }
        if !self.interval_differs {
            self.interval_differs = true;
            self.current.latency_uncorrected = self.current.latency.clone();
        }
    }

    /// The endpoints' latency histograms added together.
    fn folded_latency(&self) -> Histogram<u64> {
        let mut h = latency_histogram(3);
        for e in &self.totals.endpoints {
            h += &e.latency;
        }
        h
    }

    /// Adds response body bytes for an endpoint (Locust's content size).
    #[inline]
    pub fn body(&mut self, ep: usize, bytes: u64) {
        self.totals.endpoints[ep].body_bytes += bytes;
        self.current.body_bytes += bytes;
        if let Some(b) = self.current.endpoint_body_bytes.get_mut(ep) {
            *b += bytes;
        }
    }

    /// Records which clock ended a response's latency: with the kernel's timestamp, how long
    /// the generator took to read it after it arrived (`added_us`); None for the userspace clock.
    #[inline]
    pub fn ended(&mut self, added_us: Option<u64>) {
        match added_us {
            Some(us) if self.added_run.0 == us => self.added_run.1 += 1,
            Some(us) => {
                self.settle_added();
                self.added_run = (us, 1);
            }
            None => self.totals.ended_user += 1,
        }
    }

    fn settle_added(&mut self) {
        let (us, n) = std::mem::take(&mut self.added_run);
        if n > 0 {
            self.totals.ended_kernel += n;
            self.totals.generator_added.saturating_record_n(us, n);
        }
    }

    /// Records how late a send went out against its intended time.
    #[inline]
    pub fn lag(&mut self, lag_us: u64) {
        self.totals.schedule_lag.saturating_record(lag_us);
    }

    /// Records an established TCP connection and how long its connect took.
    pub fn connected(&mut self, connect_us: u64) {
        self.totals
            .connect_time
            .saturating_record(connect_us.max(1));
    }

    /// Records a finished TLS handshake and how long it took after TCP was established.
    pub fn secured(&mut self, handshake_us: u64, resumed: bool) {
        self.totals
            .handshake_time
            .saturating_record(handshake_us.max(1));
        if resumed {
            self.totals.handshakes_resumed += 1;
        } else {
            self.totals.handshakes_full += 1;
        }
    }

    /// Records `n` requests to endpoint `ep` that ended in an error of one kind.
    #[inline]
    pub fn error(&mut self, ep: usize, kind: ErrorKind, n: u64) {
        if n == 0 {
            return;
        }
        self.totals.errors[kind as usize] += n;
        self.totals.counts.errors += n;
        self.current.counts.errors += n;
        let e = &mut self.totals.endpoints[ep];
        e.errors[kind as usize] += n;
        e.counts.errors += n;
        if let Some(c) = self.current.endpoint_counts.get_mut(ep) {
            c.errors += n;
        }
    }

    pub fn unfinished(&mut self, ep: usize, n: u64) {
        self.totals.unfinished += n;
        self.totals.endpoints[ep].unfinished += n;
    }

    /// Closes the current interval and starts the one with the given index.
    pub fn roll(&mut self, next_index: u32) -> Interval {
        self.settle();
        let fresh = Interval {
            index: next_index,
            counts: Counts::default(),
            latency: latency_histogram(2),
            latency_uncorrected: latency_histogram(2),
            body_bytes: 0,
            endpoints: (0..self.endpoint_intervals)
                .map(|_| latency_histogram(2))
                .collect(),
            endpoint_counts: vec![Counts::default(); self.endpoint_intervals],
            endpoint_body_bytes: vec![0; self.endpoint_intervals],
            endpoint_status: Vec::new(),
            endpoint_unexpected: Vec::new(),
            endpoint_errors: Vec::new(),
        };
        let mut done = std::mem::replace(&mut self.current, fresh);
        if !std::mem::take(&mut self.interval_differs) {
            done.latency_uncorrected = done.latency.clone();
        }
        for ep in 0..self.endpoint_intervals {
            let e = &self.totals.endpoints[ep];
            done.endpoint_status
                .push(deltas(&e.status, &mut self.last_status[ep]));
            done.endpoint_unexpected
                .push(deltas(&e.unexpected, &mut self.last_unexpected[ep]));
            let last = &mut self.last_errors[ep];
            done.endpoint_errors
                .push(std::array::from_fn(|k| e.errors[k] - last[k]));
            *last = e.errors;
        }
        done
    }

    /// True when nothing has been counted in the interval being filled.
    pub fn interval_is_empty(&mut self) -> bool {
        self.settle();
        self.current.counts == Counts::default()
    }

    /// A request to endpoint `ep` was sent again, carrying `bytes` bytes (it stays counted
    /// once in `sent`).
    pub fn resent(&mut self, ep: usize, bytes: u64) {
        self.totals.resent += 1;
        self.totals.bytes_sent += bytes;
        self.totals.endpoints[ep].resent += 1;
    }

    /// A capture of variable `var` found nothing (or its response was too large to keep).
    pub fn capture_failed(&mut self, var: usize, too_large: bool) {
        bump(&mut self.totals.capture_failed, var);
        self.totals.capture_too_large += u64::from(too_large);
    }

    /// A task was skipped because variable `var` was not captured yet.
    pub fn unset_skipped(&mut self, var: usize) {
        bump(&mut self.totals.unset_skipped, var);
    }

    /// The totals so far, with the aggregate latency histogram and status table folded from
    /// the endpoints (they are only kept per endpoint while recording).
    pub fn snapshot_totals(&mut self) -> Totals {
        self.settle();
        self.settle_added();
        let mut t = self.totals.clone();
        t.latency = self.folded_latency();
        t.status.iter_mut().for_each(|n| *n = 0);
        for e in &self.totals.endpoints {
            for (a, b) in t.status.iter_mut().zip(&e.status) {
                *a += b;
            }
        }
        if !self.uncorrected_differs {
            t.latency_uncorrected = t.latency.clone();
        }
        t
    }

    /// Index of the interval being filled.
    pub fn interval_index(&self) -> u32 {
        self.current.index
    }
}

#[cfg(test)]
mod tests;
