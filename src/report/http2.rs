//! The report's HTTP/2 section (`connections_detail.http2`): what a run's HTTP/2 connections
//! met, from the workers' merged counts; empty of meaning for HTTP/1.1, and then absent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What HTTP/2 connections met over the run.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Http2Report {
    /// Connections that spoke HTTP/2; the rest of `opened` spoke HTTP/1.1 (`--http auto`).
    pub connections: u64,
    /// Concurrent streams asked for per connection (`--streams`; the server's limit may be lower).
    pub streams: u32,
    /// GOAWAY frames received.
    pub goaways: u64,
    /// Streams the server reset, by HTTP/2 error code name.
    pub resets: BTreeMap<String, u64>,
    /// Waits for the server's flow-control window to send request bodies, and their total time.
    pub flow_control_stalls: u64,
    pub flow_control_stall_us: u64,
}

impl Http2Report {
    pub(super) fn of(t: &crate::stats::H2Totals, streams: u32) -> Self {
        let resets = t
            .resets
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(code, n)| {
                let name = crate::proto::h2::frame::error_name(code as u32);
                (name.to_string(), *n)
            })
            .collect();
        Self {
            connections: t.connections,
            streams,
            goaways: t.goaways,
            resets,
            flow_control_stalls: t.stalls,
            flow_control_stall_us: t.stall_us,
        }
    }
}
