//! Renders a Report as the human text summary on stdout, and the live progress line on stderr.
//! Formatting only; all numbers come from the Report.

use std::fmt::Write;

use super::{Latency, Report};
use crate::load::Kind;
use crate::stats::second::TimelineEntry;
use crate::units::{fmt_bytes, fmt_count, fmt_us};

fn latency_line(s: &mut String, label: &str, l: &Latency) {
    let _ = writeln!(
        s,
        "  {label}min {}  mean {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        fmt_us(l.min as f64),
        fmt_us(l.mean),
        fmt_us(l.p50 as f64),
        fmt_us(l.p90 as f64),
        fmt_us(l.p99 as f64),
        fmt_us(l.p999 as f64),
        fmt_us(l.max as f64)
    );
}

/// Connection setup, apart from request latency: TCP connect times, and TLS handshakes.
fn connections(s: &mut String, r: &Report) {
    let c = &r.connections_detail;
    if c.opened == 0 && c.tls.is_none() {
        return;
    }
    let per_conn = c
        .requests_per_conn
        .map(|n| format!(", closed after {n} requests each"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "  connects  {} opened{per_conn}; tcp connect p50 {}  p99 {}  max {}",
        fmt_count(c.opened),
        fmt_us(c.connect_us.p50 as f64),
        fmt_us(c.connect_us.p99 as f64),
        fmt_us(c.connect_us.max as f64)
    );
    if let Some(t) = &c.tls {
        let _ = writeln!(
            s,
            "  tls       {} full + {} resumed handshakes{}{}; handshake p50 {}  p99 {}  max {}",
            fmt_count(t.handshakes.full),
            fmt_count(t.handshakes.resumed),
            t.version
                .as_ref()
                .map(|v| format!(", TLS {v} only"))
                .unwrap_or_default(),
            if t.resume { "" } else { ", resumption off" },
            fmt_us(t.handshake_us.p50 as f64),
            fmt_us(t.handshake_us.p99 as f64),
            fmt_us(t.handshake_us.max as f64)
        );
        if t.insecure {
            let _ = writeln!(
                s,
                "  tls       certificate verification was OFF (--insecure)"
            );
        }
    }
    if let Some(h) = &c.http2 {
        let resets = h
            .resets
            .iter()
            .map(|(code, n)| format!("{} {code}", fmt_count(*n)))
            .collect::<Vec<_>>();
        let resets = if resets.is_empty() {
            "none".to_string()
        } else {
            resets.join(", ")
        };
        let _ = writeln!(
            s,
            "  http/2    {} of {} connections; {} GOAWAYs; resets: {resets}; \
             {} waits for window ({})",
            fmt_count(h.connections),
            fmt_count(c.opened),
            fmt_count(h.goaways),
            fmt_count(h.flow_control_stalls),
            fmt_us(h.flow_control_stall_us as f64),
        );
    }
}

/// The multi-line summary printed at the end of a run.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    match &r.scenario {
        Some(path) => {
            let _ = writeln!(s, "ringblast scenario {path} against {}", r.url);
        }
        None => {
            let _ = writeln!(s, "ringblast {} {}", r.method, r.url);
        }
    }
    let depth = if r.protocol == "http/1.1" {
        format!("pipeline {}", r.pipeline)
    } else {
        let s = if r.pipeline == 1 { "" } else { "s" };
        format!("{}, {} stream{s} a connection", r.protocol, r.pipeline)
    };
    let _ = writeln!(
        s,
        "  backend {} ({}), {} threads, {} connections, {depth}{}",
        r.backend,
        r.backend_flags,
        r.threads,
        r.connections,
        if r.interrupted { ", interrupted" } else { "" }
    );
    if let Some(why) = &r.backend_fallback {
        let _ = writeln!(s, "  io_uring unavailable ({why}); used epoll");
    }
    let secs = r.duration_s.max(1e-9);
    let _ = writeln!(
        s,
        "  {:.2}s, {} requests/s, {}/s received, {}/s sent",
        r.duration_s,
        fmt_count(r.rps.round() as u64),
        fmt_bytes(r.bytes.received as f64 / secs),
        fmt_bytes(r.bytes.sent as f64 / secs),
    );
    match r.load.model {
        Kind::Rate => {
            let target = r.target_rps.unwrap_or(0.0);
            let sent = r.sent_rps;
            let _ = writeln!(
                s,
                "  open loop: target {} req/s, sent {} req/s ({:.1}%), schedule lag p50 {} p99 {} max {}",
                fmt_count(target.round() as u64),
                fmt_count(sent.round() as u64),
                if target > 0.0 {
                    100.0 * sent / target
                } else {
                    0.0
                },
                fmt_us(r.schedule_lag_us.p50 as f64),
                fmt_us(r.schedule_lag_us.p99 as f64),
                fmt_us(r.schedule_lag_us.max as f64)
            );
        }
        Kind::Users => {
            let _ = writeln!(
                s,
                "  users: peak {}, schedule lag p99 {}",
                fmt_count(r.load.peak.round() as u64),
                fmt_us(r.schedule_lag_us.p99 as f64)
            );
        }
        Kind::Connections => {}
    }
    let c = &r.latency_clock;
    let window = match c.batch_window_us {
        0 => String::new(),
        w => format!("; batch window {}", fmt_us(w as f64)),
    };
    match (&c.generator_added_us, c.clock.as_str()) {
        (Some(added), clock) => {
            let _ = writeln!(
                s,
                "  latency ends at the kernel's receive time{}; reading added p50 {} p99 {} max {}{window}",
                if clock == "mixed" {
                    format!(" ({} of {})", c.kernel_ended, c.kernel_ended + c.user_ended)
                } else {
                    String::new()
                },
                fmt_us(added.p50 as f64),
                fmt_us(added.p99 as f64),
                fmt_us(added.max as f64)
            );
        }
        (None, "user") => {
            let _ = writeln!(
                s,
                "  latency ends when the response is parsed (userspace clock){window}"
            );
        }
        _ => {}
    }
    if r.diagnostics.due_unsent > 0 {
        let why = if r.diagnostics.connection_starved > 0 {
            "every connection was busy when the run ended"
        } else {
            "they fell due as the run ended"
        };
        let _ = writeln!(
            s,
            "  {} requests were due but never sent: {why}",
            fmt_count(r.diagnostics.due_unsent)
        );
    }
    if r.load.warmup_s > 0.0 {
        let _ = writeln!(s, "  measured after a {:.1}s warm-up", r.load.warmup_s);
    }
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
    if q.resent > 0 {
        // HTTP/1.1 re-sends idempotent requests a closing server left; HTTP/2 re-sends any
        // request a GOAWAY or REFUSED_STREAM said was never processed.
        let why = if r.protocol == "http/1.1" {
            "unanswered idempotent requests on a new connection (the server closed first)"
        } else {
            "requests the server never processed (a GOAWAY or REFUSED_STREAM, or a close), sent again"
        };
        let _ = writeln!(s, "  resent    {} {why}", fmt_count(q.resent));
    }
    if r.load.model == Kind::Rate {
        latency_line(&mut s, "latency   (from intended send) ", &r.latency_us);
        latency_line(
            &mut s,
            "          (from actual send)   ",
            &r.latency_uncorrected_us,
        );
    } else {
        latency_line(&mut s, "latency   ", &r.latency_us);
    }
    connections(&mut s, r);
    super::kernel::text(&mut s, r);
    let statuses: Vec<String> = r
        .status
        .iter()
        .map(|(c, n)| format!("{c}: {}", fmt_count(*n)))
        .collect();
    let none = || "none".to_string();
    let _ = writeln!(
        s,
        "  status    {}",
        if statuses.is_empty() {
            none()
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
            none()
        } else {
            errors.join("  ")
        }
    );
    if r.endpoints.len() > 1 || r.scenario.is_some() {
        let _ = writeln!(
            s,
            "\n  {:<7} {:<32} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9}",
            "method", "endpoint", "requests", "failed", "p50", "p99", "max", "req/s"
        );
        for e in &r.endpoints {
            let name: String = e.name.chars().take(32).collect();
            let _ = writeln!(
                s,
                "  {:<7} {:<32} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9}",
                e.method,
                name,
                fmt_count(e.requests.sent),
                fmt_count(e.failed),
                fmt_us(e.latency_us.p50 as f64),
                fmt_us(e.latency_us.p99 as f64),
                fmt_us(e.latency_us.max as f64),
                fmt_count(e.rps.round() as u64)
            );
        }
        let _ = writeln!(s);
    }
    for a in &r.assertions {
        let metric = a.expr.trim_start().to_ascii_lowercase();
        let is_latency =
            metric.starts_with('p') || metric.starts_with("mean") || metric.starts_with("max");
        let value = if a.value < 0.0 {
            "no data".to_string()
        } else if is_latency {
            fmt_us(a.value)
        } else if metric.starts_with("success") {
            format!("{:.2}%", a.value)
        } else {
            format!("{}", a.value)
        };
        let verdict = if a.ok { "ok" } else { "FAILED" };
        let _ = writeln!(s, "  assert    {:<24} {:>12}  {verdict}", a.expr, value);
    }
    for w in &r.warnings {
        let _ = writeln!(s, "  warning: {w}");
    }
    if r.diagnostics.recv_buffer_exhausted > 0 {
        let _ = writeln!(
            s,
            "  note: receive buffers ran out {} times (latency includes the re-arm)",
            r.diagnostics.recv_buffer_exhausted
        );
    }
    for (var, n) in &r.diagnostics.capture_failed {
        let _ = writeln!(
            s,
            "  captures  {var}: failed {n} times (no match in the response)"
        );
    }
    for (var, n) in &r.diagnostics.unset_skipped {
        let _ = writeln!(
            s,
            "  captures  {var}: not captured yet, {n} tasks using it were skipped"
        );
    }
    if r.diagnostics.capture_too_large > 0 {
        let _ = writeln!(
            s,
            "  captures  {} responses were over --capture-max and not kept for capturing",
            r.diagnostics.capture_too_large
        );
    }
    s
}

/// One progress line for a completed second.
pub fn progress_line(e: &TimelineEntry) -> String {
    let mut line = format!(
        "[{:>4}s] {:>10} req/s  p50 {:>8}  p99 {:>8}  errors {}",
        e.t,
        fmt_count(e.responses),
        fmt_us(e.p50_us as f64),
        fmt_us(e.p99_us as f64),
        fmt_count(e.errors)
    );
    if let Some(t) = e.target_rps {
        line.push_str(&format!("  target {}", fmt_count(t.round() as u64)));
    }
    if let Some(u) = e.users {
        line.push_str(&format!("  users {}", fmt_count(u)));
    }
    line
}
