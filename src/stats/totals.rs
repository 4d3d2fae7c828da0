//! What a worker measured over the whole run: the totals by endpoint, status and error kind,
//! their HTTP/2 counts, and how two workers' totals add up. The recorder fills them (mod.rs).

use hdrhistogram::Histogram;

use super::{ERROR_KINDS, ErrorKind, STATUS_CODES, latency_histogram};

/// Counters that both the totals and each interval carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests handed to the kernel (and failed connection attempts; see docs/architecture.md).
    pub sent: u64,
    pub responses: u64,
    /// Responses with a 2xx or 3xx status.
    pub ok: u64,
    pub errors: u64,
}

impl std::ops::AddAssign<&Counts> for Counts {
    fn add_assign(&mut self, other: &Counts) {
        self.sent += other.sent;
        self.responses += other.responses;
        self.ok += other.ok;
        self.errors += other.errors;
    }
}

/// Adds `other` into `into` element-wise, growing `into` as needed.
fn add_by_index(into: &mut Vec<u64>, other: &[u64]) {
    if into.len() < other.len() {
        into.resize(other.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(other) {
        *a += b;
    }
}

/// What one endpoint (a task name and method) measured over the whole run.
#[derive(Debug, Clone)]
pub struct EndpointTotals {
    pub counts: Counts,
    pub unfinished: u64,
    /// Requests sent again on a new connection (counted once in `counts.sent`).
    pub resent: u64,
    pub latency: Histogram<u64>,
    /// Exact sum, minimum and maximum of the latencies (µs), and response body bytes.
    pub latency_sum_us: u64,
    pub latency_min_us: u64,
    pub latency_max_us: u64,
    pub body_bytes: u64,
    pub status: Vec<u64>,
    /// Responses by status that the task did not expect: the one success rule, judged once
    /// when the response is recorded and read by every output.
    pub unexpected: Vec<u64>,
    pub errors: [u64; ERROR_KINDS],
}

impl Default for EndpointTotals {
    fn default() -> Self {
        Self {
            counts: Counts::default(),
            unfinished: 0,
            resent: 0,
            latency: latency_histogram(3),
            latency_sum_us: 0,
            latency_min_us: u64::MAX,
            latency_max_us: 0,
            body_bytes: 0,
            status: vec![0; STATUS_CODES],
            unexpected: vec![0; STATUS_CODES],
            errors: [0; ERROR_KINDS],
        }
    }
}

impl EndpointTotals {
    fn merge(&mut self, other: &EndpointTotals) {
        self.counts += &other.counts;
        self.unfinished += other.unfinished;
        self.resent += other.resent;
        self.latency += &other.latency;
        self.latency_sum_us += other.latency_sum_us;
        self.latency_min_us = self.latency_min_us.min(other.latency_min_us);
        self.latency_max_us = self.latency_max_us.max(other.latency_max_us);
        self.body_bytes += other.body_bytes;
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        for (a, b) in self.unexpected.iter_mut().zip(&other.unexpected) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(&other.errors) {
            *a += b;
        }
    }
}

/// Everything one worker measured over the whole run.
#[derive(Debug, Clone)]
pub struct Totals {
    pub counts: Counts,
    pub unfinished: u64,
    /// Requests sent again on a new connection after the server closed without answering them
    /// (each still counts once in `sent`).
    pub resent: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The headline latency: from the intended send time under an open-loop rate (corrected for
    /// coordinated omission), else from the actual send. Folded from the endpoints by
    /// `Recorder::snapshot_totals`.
    pub latency: Histogram<u64>,
    /// Always from the moment the request was handed to the kernel.
    pub latency_uncorrected: Histogram<u64>,
    /// How late sends went out against their intended time (open loop and users only).
    pub schedule_lag: Histogram<u64>,
    /// For responses whose latency ended at the kernel's receive timestamp: how long after it
    /// the generator read and parsed them (the latency a userspace clock would have added).
    pub generator_added: Histogram<u64>,
    /// Responses whose latency ended at the kernel's timestamp, and at the userspace clock.
    pub ended_kernel: u64,
    pub ended_user: u64,
    /// Responses by status code (index = code, 0..=999); folded like `latency`.
    pub status: Vec<u64>,
    /// Errors by kind, indexed like `ErrorKind::ALL`.
    pub errors: [u64; ERROR_KINDS],
    /// Connections established (TCP, and over TLS also the handshake).
    pub connects: u64,
    /// TCP connect time (µs), from the connect call to the connection being established.
    pub connect_time: Histogram<u64>,
    /// TLS handshake time (µs), from TCP established to the handshake's end.
    pub handshake_time: Histogram<u64>,
    /// TLS handshakes that finished, full and resumed.
    pub handshakes_full: u64,
    pub handshakes_resumed: u64,
    /// Times the receive buffer ring ran dry (io_uring only).
    pub recv_buffer_exhausted: u64,
    /// Captures that found nothing to take, by the program's variable index.
    pub capture_failed: Vec<u64>,
    /// Responses to capturing tasks too large to keep whole (`--capture-max`); their captures
    /// are counted in `capture_failed` too.
    pub capture_too_large: u64,
    /// Tasks skipped because a variable they use was not captured yet, by variable index.
    pub unset_skipped: Vec<u64>,
    /// Per endpoint, indexed like the program's endpoints.
    pub endpoints: Vec<EndpointTotals>,
    /// What HTTP/2 connections met: GOAWAYs, resets by code, flow-control waits.
    pub h2: H2Totals,
}

/// HTTP/2's own counts over a run (all zero for HTTP/1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct H2Totals {
    /// Connections that spoke HTTP/2.
    pub connections: u64,
    /// GOAWAY frames received.
    pub goaways: u64,
    /// Streams the server reset, by error code (RFC 9113 §7; the last entry counts codes past
    /// the RFC's).
    pub resets: [u64; H2_CODES + 1],
    /// Time connections spent with request body bytes waiting for flow-control window (µs).
    pub stall_us: u64,
    /// Waits for window that began.
    pub stalls: u64,
}

/// HTTP/2's error codes, 0x0 to 0xd.
pub const H2_CODES: usize = 14;

impl H2Totals {
    pub fn merge(&mut self, o: &H2Totals) {
        self.connections += o.connections;
        self.goaways += o.goaways;
        for (a, b) in self.resets.iter_mut().zip(&o.resets) {
            *a += b;
        }
        self.stall_us += o.stall_us;
        self.stalls += o.stalls;
    }

    /// Counts a stream reset with `code`.
    pub fn reset(&mut self, code: u32) {
        self.resets[(code as usize).min(H2_CODES)] += 1;
    }
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            counts: Counts::default(),
            unfinished: 0,
            resent: 0,
            bytes_sent: 0,
            bytes_received: 0,
            latency: latency_histogram(3),
            latency_uncorrected: latency_histogram(3),
            schedule_lag: latency_histogram(3),
            generator_added: latency_histogram(3),
            ended_kernel: 0,
            ended_user: 0,
            status: vec![0; STATUS_CODES],
            errors: [0; ERROR_KINDS],
            connects: 0,
            connect_time: latency_histogram(3),
            handshake_time: latency_histogram(3),
            handshakes_full: 0,
            handshakes_resumed: 0,
            recv_buffer_exhausted: 0,
            capture_failed: Vec::new(),
            capture_too_large: 0,
            unset_skipped: Vec::new(),
            endpoints: Vec::new(),
            h2: H2Totals::default(),
        }
    }
}

impl Totals {
    /// Adds another worker's totals into this one.
    pub fn merge(&mut self, other: &Totals) {
        self.counts += &other.counts;
        self.unfinished += other.unfinished;
        self.resent += other.resent;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.latency += &other.latency;
        self.latency_uncorrected += &other.latency_uncorrected;
        self.schedule_lag += &other.schedule_lag;
        self.generator_added += &other.generator_added;
        self.ended_kernel += other.ended_kernel;
        self.ended_user += other.ended_user;
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(&other.errors) {
            *a += b;
        }
        self.connects += other.connects;
        self.connect_time += &other.connect_time;
        self.handshake_time += &other.handshake_time;
        self.handshakes_full += other.handshakes_full;
        self.handshakes_resumed += other.handshakes_resumed;
        self.recv_buffer_exhausted += other.recv_buffer_exhausted;
        self.capture_too_large += other.capture_too_large;
        add_by_index(&mut self.capture_failed, &other.capture_failed);
        add_by_index(&mut self.unset_skipped, &other.unset_skipped);
        self.h2.merge(&other.h2);
        if self.endpoints.len() < other.endpoints.len() {
            self.endpoints
                .resize_with(other.endpoints.len(), EndpointTotals::default);
        }
        for (a, b) in self.endpoints.iter_mut().zip(&other.endpoints) {
            a.merge(b);
        }
    }

    /// Errors of one kind.
    pub fn error_count(&self, kind: ErrorKind) -> u64 {
        self.errors[kind as usize]
    }
}
