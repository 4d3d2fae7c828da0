//! Renders a Report as the human text summary on stdout, and the live progress line on stderr.
//! Formatting only; all numbers come from the Report.

use std::fmt::Write;

use super::Report;
use crate::engine::collect::TimelineEntry;
use crate::units::{fmt_bytes, fmt_count, fmt_us};

/// The multi-line summary printed at the end of a run.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "ringblast {} {}", r.method, r.url);
    let _ = writeln!(
        s,
        "  backend {} ({}), {} threads, {} connections, pipeline {}{}",
        r.backend,
        r.backend_flags,
        r.threads,
        r.connections,
        r.pipeline,
        if r.interrupted { ", interrupted" } else { "" }
    );
    if let Some(why) = &r.backend_fallback {
        let _ = writeln!(s, "  io_uring unavailable ({why}); used epoll");
    }
    let _ = writeln!(
        s,
        "  {:.2}s, {} requests/s, {}/s received, {}/s sent",
        r.duration_s,
        fmt_count(r.rps.round() as u64),
        fmt_bytes(r.bytes.received as f64 / r.duration_s.max(1e-9)),
        fmt_bytes(r.bytes.sent as f64 / r.duration_s.max(1e-9)),
    );
    let q = &r.requests;
    let _ = writeln!(
        s,
        "\n  requests  sent {}  responses {}  ok {}  errors {}  unfinished {}",
        fmt_count(q.sent),
        fmt_count(q.responses),
        fmt_count(q.ok),
        fmt_count(q.errors),
        fmt_count(q.unfinished)
    );
    let l = &r.latency_us;
    let _ = writeln!(
        s,
        "  latency   min {}  mean {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        fmt_us(l.min as f64),
        fmt_us(l.mean),
        fmt_us(l.p50 as f64),
        fmt_us(l.p90 as f64),
        fmt_us(l.p99 as f64),
        fmt_us(l.p999 as f64),
        fmt_us(l.max as f64)
    );
    let statuses: Vec<String> = r
        .status
        .iter()
        .map(|(c, n)| format!("{c}: {}", fmt_count(*n)))
        .collect();
    let _ = writeln!(
        s,
        "  status    {}",
        if statuses.is_empty() {
            "none".to_string()
        } else {
            statuses.join("  ")
        }
    );
    let errors: Vec<String> = r
        .errors
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k}: {}", fmt_count(*n)))
        .collect();
    let _ = writeln!(
        s,
        "  errors    {}",
        if errors.is_empty() {
            "none".to_string()
        } else {
            errors.join("  ")
        }
    );
    if r.diagnostics.recv_buffer_exhausted > 0 {
        let _ = writeln!(
            s,
            "  note: receive buffers ran out {} times (latency includes the re-arm)",
            r.diagnostics.recv_buffer_exhausted
        );
    }
    s
}

/// One progress line for a completed second.
pub fn progress_line(e: &TimelineEntry) -> String {
    format!(
        "[{:>4}s] {:>10} req/s  p50 {:>8}  p99 {:>8}  errors {}",
        e.t,
        fmt_count(e.responses),
        fmt_us(e.p50_us as f64),
        fmt_us(e.p99_us as f64),
        fmt_count(e.errors)
    )
}
