//! Live Prometheus metrics (`--metrics-listen ADDR`): the run's counters and latency histograms,
//! updated once per completed second from the merged snapshots, served on `/metrics`.

mod exposition;
mod server;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::error::SetupError;
use crate::stats::ERROR_KINDS;
use crate::stats::second::{Second, TimelineEntry};

pub use exposition::{BOUNDS_S, render};
pub use server::Server;

/// Everything /metrics shows: cumulative since measurement started, as of the last completed
/// second.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// (name, method) of each endpoint.
    pub endpoints: Vec<(String, String)>,
    /// Responses by endpoint and status.
    pub responses: Vec<BTreeMap<u16, u64>>,
    /// Errors by kind, indexed like `ErrorKind::ALL`.
    pub errors: [u64; ERROR_KINDS],
    /// Latency per endpoint: counts per bucket of `BOUNDS_S` (the last is +Inf), the sum in
    /// seconds and the count.
    pub buckets: Vec<Vec<u64>>,
    pub sum_s: Vec<f64>,
    pub count: Vec<u64>,
    pub sent: u64,
    /// Measured seconds completed.
    pub seconds: u32,
    /// The last completed second's responses, users and target rate.
    pub rps: f64,
    pub users: Option<u64>,
    pub target_rps: Option<f64>,
    /// The kernel's counts so far (`--kernel-stats`).
    pub kernel: Option<crate::kstats::KernelSecond>,
}

impl State {
    pub fn new(endpoints: Vec<(String, String)>) -> Self {
        let n = endpoints.len();
        Self {
            endpoints,
            responses: vec![BTreeMap::new(); n],
            buckets: vec![vec![0; BOUNDS_S.len() + 1]; n],
            sum_s: vec![0.0; n],
            count: vec![0; n],
            ..Self::default()
        }
    }

    /// Adds one completed second.
    pub fn add(&mut self, entry: &TimelineEntry, second: &Second) {
        for (total, status) in self.responses.iter_mut().zip(&second.endpoint_status) {
            for (code, n) in status {
                *total.entry(*code).or_default() += n;
            }
        }
        for per_endpoint in &second.endpoint_errors {
            for (total, n) in self.errors.iter_mut().zip(per_endpoint) {
                *total += n;
            }
        }
        for (ep, h) in second
            .endpoints
            .iter()
            .enumerate()
            .take(self.endpoints.len())
        {
            for v in h.iter_recorded() {
                let (us, n) = (v.value_iterated_to(), v.count_at_value());
                let s = us as f64 / 1e6;
                let b = BOUNDS_S
                    .iter()
                    .position(|le| s <= *le)
                    .unwrap_or(BOUNDS_S.len());
                self.buckets[ep][b] += n;
                self.sum_s[ep] += s * n as f64;
                self.count[ep] += n;
            }
        }
        self.sent += second.counts.sent;
        self.seconds = entry.t;
        self.rps = entry.rps;
        self.users = entry.users;
        self.target_rps = entry.target_rps;
        if let Some(k) = &entry.kernel {
            let total = self.kernel.get_or_insert_with(Default::default);
            total.opened += k.opened;
            total.retransmits += k.retransmits;
            total.syn_retransmits += k.syn_retransmits;
            total.resets_sent += k.resets_sent;
            let add = |a: &mut Option<u64>, b: Option<u64>| {
                if let Some(b) = b {
                    *a = Some(a.unwrap_or(0) + b);
                }
            };
            add(&mut total.handshakes, k.handshakes);
            add(&mut total.closed, k.closed);
            add(&mut total.resets_received, k.resets_received);
            add(&mut total.drops, k.drops);
        }
    }
}

/// Starts the metrics server on `addr` for these endpoints, or says why it cannot listen.
pub fn serve(addr: SocketAddr, endpoints: Vec<(String, String)>) -> Result<Server, SetupError> {
    Server::start(addr, State::new(endpoints)).map_err(|source| SetupError::MetricsListen {
        addr: addr.to_string(),
        source,
    })
}
