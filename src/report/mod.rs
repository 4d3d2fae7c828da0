//! The report model: one plain structure built from a RunResult, rendered as text or JSON.
//! Field names are a contract (docs/report.schema.json); add fields, never rename them.

pub mod text;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::engine::RunResult;
use crate::engine::collect::TimelineEntry;
use crate::stats::ErrorKind;

#[derive(Debug, Clone, Serialize)]
pub struct Requests {
    pub sent: u64,
    pub responses: u64,
    /// Responses with a 2xx or 3xx status.
    pub ok: u64,
    pub errors: u64,
    pub unfinished: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq)]
pub struct Latency {
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bytes {
    pub sent: u64,
    pub received: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    /// Connections established over the run.
    pub connects: u64,
    /// Times the io_uring receive buffers ran out (each adds latency).
    pub recv_buffer_exhausted: u64,
}

/// The whole report, as written to `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ringblast_version: &'static str,
    pub url: String,
    pub method: String,
    pub backend: &'static str,
    pub backend_flags: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_fallback: Option<String>,
    pub threads: usize,
    pub connections: u32,
    pub pipeline: u32,
    pub duration_s: f64,
    pub interrupted: bool,
    pub rps: f64,
    pub requests: Requests,
    pub status: BTreeMap<String, u64>,
    pub errors: BTreeMap<&'static str, u64>,
    pub latency_us: Latency,
    pub bytes: Bytes,
    pub diagnostics: Diagnostics,
    pub timeline: Vec<TimelineEntry>,
}

impl Report {
    pub fn new(result: &RunResult, url: &str, method: &str) -> Self {
        let t = &result.totals;
        let secs = result.elapsed.as_secs_f64().max(1e-9);
        let h = &t.latency;
        let latency_us = if h.is_empty() {
            Latency::default()
        } else {
            Latency {
                min: h.min(),
                mean: (h.mean() * 10.0).round() / 10.0,
                p50: h.value_at_quantile(0.5),
                p90: h.value_at_quantile(0.9),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
            }
        };
        let status = t
            .status
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(code, n)| (code.to_string(), *n))
            .collect();
        let errors = ErrorKind::ALL
            .iter()
            .map(|k| (k.name(), t.error_count(*k)))
            .collect();
        Self {
            ringblast_version: env!("CARGO_PKG_VERSION"),
            url: url.to_string(),
            method: method.to_string(),
            backend: result.backend.name(),
            backend_flags: result.backend_flags.clone(),
            backend_fallback: result.fallback.clone(),
            threads: result.threads,
            connections: result.connections,
            pipeline: result.pipeline,
            duration_s: (secs * 1000.0).round() / 1000.0,
            interrupted: result.interrupted,
            rps: ((t.counts.responses as f64 / secs) * 10.0).round() / 10.0,
            requests: Requests {
                sent: t.counts.sent,
                responses: t.counts.responses,
                ok: t.counts.ok,
                errors: t.counts.errors,
                unfinished: t.unfinished,
            },
            status,
            errors,
            latency_us,
            bytes: Bytes {
                sent: t.bytes_sent,
                received: t.bytes_received,
            },
            diagnostics: Diagnostics {
                connects: t.connects,
                recv_buffer_exhausted: t.recv_buffer_exhausted,
            },
            timeline: result.timeline.clone(),
        }
    }

    /// Writes the JSON report whole: to a temporary file first, then renamed into place.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.partial");
        {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            serde_json::to_writer_pretty(&mut f, self).map_err(std::io::Error::other)?;
            f.write_all(b"\n")?;
            f.flush()?;
        }
        std::fs::rename(&tmp, path)
    }
}
