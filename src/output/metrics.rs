//! `--metrics-listen ADDR`: live Prometheus metrics. The listener is bound before the run; each
//! completed second is added to the state it serves; it stops serving when the output drops.

use std::net::SocketAddr;

use super::Output;
use crate::error::SetupError;
use crate::stats::second::{Second, TimelineEntry};

pub struct Metrics {
    server: crate::metrics::Server,
}

impl Metrics {
    /// Binds the listener and says where /metrics is served (port 0 picks a free one).
    pub fn listen(addr: SocketAddr, endpoints: Vec<(String, String)>) -> Result<Self, SetupError> {
        let server = crate::metrics::serve(addr, endpoints)?;
        eprintln!("ringblast: metrics on http://{}/metrics", server.addr);
        if !server.addr.ip().is_loopback() {
            eprintln!(
                "ringblast: /metrics listens beyond this machine ({}): whoever reaches it sees the run's endpoints and counts; use 127.0.0.1 unless that is meant",
                server.addr
            );
        }
        Ok(Self { server })
    }
}

impl Output for Metrics {
    fn target(&self) -> String {
        format!("/metrics on {}", self.server.addr)
    }

    fn per_endpoint(&self) -> bool {
        true
    }

    fn second(&mut self, entry: &TimelineEntry, second: &Second) -> std::io::Result<()> {
        if let Ok(mut s) = self.server.state().lock() {
            s.add(entry, second);
        }
        Ok(())
    }
}
