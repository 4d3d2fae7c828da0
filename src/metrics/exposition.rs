//! The Prometheus text exposition format (version 0.0.4) of the live metrics: names, help,
//! types, escaped labels, cumulative histogram buckets. Pure: state in, text out.

use std::fmt::Write as _;

use super::State;
use crate::stats::ErrorKind;

/// Upper bounds (seconds) of the latency histogram's buckets; +Inf follows.
pub const BOUNDS_S: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// A label value, escaped as the format requires (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The whole /metrics page.
pub fn render(s: &State) -> String {
    let mut out = String::with_capacity(4096);
    head(
        &mut out,
        "ringblast_requests_total",
        "counter",
        "Responses received, by endpoint, method and status.",
    );
    for ((name, method), statuses) in s.endpoints.iter().zip(&s.responses) {
        for (code, n) in statuses {
            let _ = writeln!(
                out,
                "ringblast_requests_total{{endpoint=\"{}\",method=\"{}\",status=\"{code}\"}} {n}",
                label(name),
                label(method)
            );
        }
    }
    head(
        &mut out,
        "ringblast_errors_total",
        "counter",
        "Requests that ended without a response, by kind.",
    );
    for kind in ErrorKind::ALL {
        let _ = writeln!(
            out,
            "ringblast_errors_total{{kind=\"{}\"}} {}",
            kind.name(),
            s.errors[kind as usize]
        );
    }
    head(
        &mut out,
        "ringblast_request_duration_seconds",
        "histogram",
        "Response latency by endpoint (from the intended send time under a fixed rate).",
    );
    for (ep, (name, method)) in s.endpoints.iter().enumerate() {
        let labels = format!("endpoint=\"{}\",method=\"{}\"", label(name), label(method));
        let mut cumulative = 0;
        for (i, n) in s.buckets[ep].iter().enumerate() {
            cumulative += n;
            let le = BOUNDS_S
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "ringblast_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "ringblast_request_duration_seconds_sum{{{labels}}} {}\n\
             ringblast_request_duration_seconds_count{{{labels}}} {}",
            s.sum_s[ep], s.count[ep]
        );
    }
    head(
        &mut out,
        "ringblast_sent_total",
        "counter",
        "Requests handed to the kernel.",
    );
    let _ = writeln!(out, "ringblast_sent_total {}", s.sent);
    head(
        &mut out,
        "ringblast_elapsed_seconds",
        "gauge",
        "Measured seconds completed (these metrics are as of the end of that second).",
    );
    let _ = writeln!(out, "ringblast_elapsed_seconds {}", s.seconds);
    head(
        &mut out,
        "ringblast_achieved_rps",
        "gauge",
        "Responses in the last completed second.",
    );
    let _ = writeln!(out, "ringblast_achieved_rps {}", s.rps);
    if let Some(t) = s.target_rps {
        head(
            &mut out,
            "ringblast_target_rps",
            "gauge",
            "The rate the load shape asked for in the last completed second.",
        );
        let _ = writeln!(out, "ringblast_target_rps {t}");
    }
    if let Some(u) = s.users {
        head(
            &mut out,
            "ringblast_users",
            "gauge",
            "Users the load shape asked for at the end of the last completed second.",
        );
        let _ = writeln!(out, "ringblast_users {u}");
    }
    if let Some(k) = &s.kernel {
        for (name, help, v) in [
            (
                "ringblast_kernel_connections_opened_total",
                "Connections opened, as the kernel counted them.",
                Some(k.opened),
            ),
            (
                "ringblast_kernel_handshakes_total",
                "TCP handshakes completed (eBPF only).",
                k.handshakes,
            ),
            (
                "ringblast_kernel_retransmits_total",
                "TCP segments retransmitted.",
                Some(k.retransmits),
            ),
            (
                "ringblast_kernel_resets_sent_total",
                "TCP resets sent.",
                Some(k.resets_sent),
            ),
            (
                "ringblast_kernel_resets_received_total",
                "TCP resets received (eBPF only).",
                k.resets_received,
            ),
            (
                "ringblast_kernel_drops_total",
                "Packets of the run's connections the kernel dropped (eBPF only).",
                k.drops,
            ),
        ] {
            if let Some(v) = v {
                head(&mut out, name, "counter", help);
                let _ = writeln!(out, "{name} {v}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_buckets_cumulative() {
        let mut s = State::new(vec![("a \"b\"\\c\nd".into(), "GET".into())]);
        s.responses[0].insert(200, 5);
        s.buckets[0][0] = 2;
        s.buckets[0][3] = 3;
        s.count[0] = 5;
        s.sum_s[0] = 0.0031;
        let text = render(&s);
        assert!(
            text.contains(
                r#"ringblast_requests_total{endpoint="a \"b\"\\c\nd",method="GET",status="200"} 5"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"le="0.0001"} 2"#), "{text}");
        assert!(text.contains(r#"le="0.001"} 5"#), "{text}");
        assert!(text.contains(r#"le="+Inf"} 5"#), "{text}");
        assert!(text.contains("ringblast_errors_total{kind=\"reset\"} 0"));
        assert!(
            !text.contains("ringblast_users"),
            "no users gauge outside users mode"
        );
    }
}
