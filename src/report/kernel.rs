//! The report's kernel section, as text lines and as an HTML table with a per-second chart:
//! what the kernel saw of the run's connections (`--kernel-stats`). Renders the report only.

use std::fmt::Write as _;

use crate::kstats::{KernelReport, Quantiles};
use crate::units::{fmt_count, fmt_us};

use super::Report;

fn quantiles(q: &Option<Quantiles>) -> String {
    match q {
        Some(q) => format!(
            "p50 {}  p99 {}  max {}",
            fmt_us(q.p50),
            fmt_us(q.p99),
            fmt_us(q.max)
        ),
        None => "n/a".into(),
    }
}

/// "NAME n, NAME n" by count, or "none".
fn drops(k: &KernelReport) -> String {
    let mut by: Vec<(&String, &u64)> = k.drops.iter().collect();
    by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if by.is_empty() {
        return "none".into();
    }
    by.iter()
        .map(|(n, c)| format!("{n} {}", fmt_count(**c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The headline: where the numbers come from, and what they cover.
pub fn source(k: &KernelReport) -> String {
    match k.source.as_str() {
        "ebpf" => "eBPF, ringblast's own connections".into(),
        _ => format!(
            "host-wide /proc counters, every TCP socket of this host{}",
            k.note
                .as_ref()
                .map(|n| format!(" (no eBPF: {n})"))
                .unwrap_or_default()
        ),
    }
}

/// Text lines for the end-of-run summary.
pub fn text(s: &mut String, r: &Report) {
    let Some(k) = &r.kernel else { return };
    let warm = if r.load.warmup_s > 0.0 {
        " (the whole run, the warm-up included)"
    } else {
        ""
    };
    let _ = writeln!(s, "  kernel    {}{warm}", source(k));
    if let Some(h) = &k.handshakes {
        let c = &r.connections_detail.connect_us;
        let _ = writeln!(
            s,
            "  kernel    {} handshakes ({} failed), SYN→ESTABLISHED {}; ringblast's connect p50 {}  p99 {}",
            fmt_count(h.count),
            fmt_count(h.failed),
            quantiles(&k.handshake_us),
            fmt_us(c.p50 as f64),
            fmt_us(c.p99 as f64)
        );
    }
    let c = &k.connections;
    match c.closed {
        Some(closed) => {
            let from = c
                .closed_from
                .iter()
                .map(|(state, n)| format!("{state} {}", fmt_count(*n)))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                s,
                "  kernel    {} opened, {} closed (from {}), {} refused; lifetime {}",
                fmt_count(c.opened),
                fmt_count(closed),
                if from.is_empty() { "-".into() } else { from },
                fmt_count(c.refused.unwrap_or(0)),
                quantiles(&k.lifetime_us)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "  kernel    {} connections opened, {} failed to open",
                fmt_count(c.opened),
                fmt_count(k.host.get("AttemptFails").copied().unwrap_or(0))
            );
        }
    }
    let _ = writeln!(
        s,
        "  kernel    retransmits {} (SYN {}); resets sent {}{}; drops {}",
        fmt_count(k.retransmits),
        fmt_count(k.syn_retransmits),
        fmt_count(k.resets.sent),
        k.resets
            .received
            .map(|n| format!(", received {}", fmt_count(n)))
            .unwrap_or_default(),
        if k.source == "ebpf" {
            drops(k)
        } else {
            "n/a".into()
        }
    );
    if let Some(l) = &k.listen {
        let _ = writeln!(
            s,
            "  kernel    this host's listen queues (the target is local): {} overflows, {} drops",
            fmt_count(l.overflows),
            fmt_count(l.drops)
        );
    }
    let skipped: Vec<&str> = k
        .hooks
        .iter()
        .filter(|(_, how)| matches!(how, crate::kstats::model::Hook::Unavailable(_)))
        .map(|(h, _)| h.as_str())
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(s, "  kernel    hooks not attached: {}", skipped.join(", "));
    }
    if k.untracked > 0 {
        let _ = writeln!(
            s,
            "  kernel    {} connections were not tracked (the table was full)",
            fmt_count(k.untracked)
        );
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The HTML table rows (the chart is drawn with the page's other charts).
pub fn html(page: &mut String, r: &Report) {
    let Some(k) = &r.kernel else { return };
    let row = |page: &mut String, th: &str, td: String| {
        let _ = write!(page, "<tr><th>{th}</th><td>{}</td></tr>", esc(&td));
    };
    page.push_str(r#"<h2>Kernel</h2><table id="kernel-table">"#);
    row(page, "source", source(k));
    if let Some(h) = &k.handshakes {
        row(
            page,
            "handshakes",
            format!(
                "{} ({} failed); SYN→ESTABLISHED {}",
                h.count,
                h.failed,
                quantiles(&k.handshake_us)
            ),
        );
        let c = &r.connections_detail.connect_us;
        row(
            page,
            "ringblast's connect",
            format!("p50 {}  p99 {}", fmt_us(c.p50 as f64), fmt_us(c.p99 as f64)),
        );
    }
    let c = &k.connections;
    row(
        page,
        "connections",
        format!(
            "{} opened{}{}",
            c.opened,
            c.closed
                .map(|n| format!(", {n} closed"))
                .unwrap_or_default(),
            c.refused
                .map(|n| format!(", {n} refused"))
                .unwrap_or_default()
        ),
    );
    if !c.closed_from.is_empty() {
        row(
            page,
            "state at close",
            c.closed_from
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if k.lifetime_us.is_some() {
        row(page, "lifetime", quantiles(&k.lifetime_us));
    }
    row(
        page,
        "retransmits",
        format!("{} (SYN {})", k.retransmits, k.syn_retransmits),
    );
    row(
        page,
        "resets",
        format!(
            "{} sent{}",
            k.resets.sent,
            k.resets
                .received
                .map(|n| format!(", {n} received"))
                .unwrap_or_default()
        ),
    );
    if k.source == "ebpf" {
        row(page, "drops", drops(k));
    }
    if let Some(l) = &k.listen {
        row(
            page,
            "listen queues (this host)",
            format!("{} overflows, {} drops", l.overflows, l.drops),
        );
    }
    page.push_str("</table>");
}
