//! The HTML report (`--html`, `ringblast report`): one self-contained page, drawn from the report
//! (read through its types) alone, with server-side SVG charts and a table per endpoint.

use std::fmt::Write as _;

use super::Report;
use crate::load::Kind;
use crate::stats::second::TimelineEntry;

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `p50 … · p99 … · max …`, each in `ms` form.
fn spread(p50: u64, p99: u64, max: u64) -> String {
    format!(
        "p50 {} · p99 {} · max {}",
        ms(p50 as f64),
        ms(p99 as f64),
        ms(max as f64)
    )
}

pub(crate) fn ms(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// One line of a chart.
pub(crate) struct Series {
    pub name: String,
    pub color: &'static str,
    pub dashed: bool,
    /// On the right-hand axis (users, target rate).
    pub right: bool,
    pub points: Vec<(f64, f64)>,
}

/// A "nice" upper bound and tick step for 0..max.
pub(crate) fn nice(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 0.25);
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

const W: f64 = 860.0;
const H: f64 = 300.0;
const L: f64 = 70.0;
const R: f64 = 70.0;
const T: f64 = 20.0;
const B: f64 = 45.0;

/// An SVG line chart. `x_ticks` are (value, label); y axes are linear from 0.
pub(crate) fn chart(
    id: &str,
    series: &[Series],
    x_ticks: &[(f64, String)],
    x_label: &str,
    y_label: &str,
    fmt_y: &dyn Fn(f64) -> String,
    y2_label: &str,
) -> String {
    let (x_min, x_max) = x_ticks.iter().fold((f64::MAX, f64::MIN), |(a, b), (x, _)| {
        (a.min(*x), b.max(*x))
    });
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(x_max, f64::max);
    let x_span = (x_max - x_min).max(1e-9);
    let left_max = series
        .iter()
        .filter(|s| !s.right)
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let right_max = series
        .iter()
        .filter(|s| s.right)
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let (ly, lstep) = nice(left_max * 1.05);
    let (ry, rstep) = nice(right_max * 1.05);
    let px = |x: f64| L + (x - x_min) / x_span * (W - L - R);
    let py = |y: f64, top: f64| H - B - y / top * (H - T - B);
    let mut s = format!(
        r#"<svg class="chart" id="{id}" viewBox="0 0 {W} {H}" role="img" aria-label="{}">"#,
        esc(y_label)
    );
    let mut y = 0.0;
    while y <= ly + 1e-9 {
        let _ = write!(
            s,
            r##"<line x1="{L}" x2="{0}" y1="{1:.1}" y2="{1:.1}" stroke="#e3e3e3"/><text x="{2}" y="{3:.1}" class="tick" text-anchor="end">{4}</text>"##,
            W - R,
            py(y, ly),
            L - 6.0,
            py(y, ly) + 4.0,
            esc(&fmt_y(y))
        );
        y += lstep;
    }
    if series.iter().any(|s| s.right) {
        let mut y = 0.0;
        while y <= ry + 1e-9 {
            let _ = write!(
                s,
                r#"<text x="{}" y="{:.1}" class="tick">{}</text>"#,
                W - R + 6.0,
                py(y, ry) + 4.0,
                y.round()
            );
            y += rstep;
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="axis" transform="rotate(90 {0} {1})">{}</text>"#,
            W - 12.0,
            H / 2.0,
            esc(y2_label)
        );
    }
    for (x, label) in x_ticks {
        let _ = write!(
            s,
            r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}" stroke="#999"/><text x="{0:.1}" y="{3}" class="tick" text-anchor="middle">{4}</text>"##,
            px(*x),
            H - B,
            H - B + 5.0,
            H - B + 18.0,
            esc(label)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" class="axis" text-anchor="middle">{}</text>"#,
        (L + W - R) / 2.0,
        H - 8.0,
        esc(x_label)
    );
    let _ = write!(
        s,
        r#"<text x="14" y="{}" class="axis" transform="rotate(-90 14 {0})" text-anchor="middle">{}</text>"#,
        H / 2.0,
        esc(y_label)
    );
    for (i, se) in series.iter().enumerate() {
        if se.points.is_empty() {
            continue;
        }
        let top = if se.right { ry } else { ly };
        let pts: Vec<String> = se
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y, top)))
            .collect();
        let dash = if se.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = write!(
            s,
            r#"<polyline class="series" fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
            se.color,
            pts.join(" ")
        );
        let spacing = ((W - L - R) / series.len().max(1) as f64).min(150.0);
        let lx = L + 10.0 + (i as f64) * spacing;
        let _ = write!(
            s,
            r#"<line x1="{lx}" x2="{}" y1="8" y2="8" stroke="{}" stroke-width="3"{dash}/><text x="{}" y="12" class="legend">{}</text>"#,
            lx + 18.0,
            se.color,
            lx + 22.0,
            esc(&se.name)
        );
    }
    s.push_str("</svg>");
    s
}

pub(crate) fn seconds_ticks(max_t: f64) -> Vec<(f64, String)> {
    let (top, step) = nice(max_t.max(1.0));
    let mut ticks = Vec::new();
    let mut t = 0.0;
    while t <= top + 1e-9 {
        ticks.push((t, format!("{t}s")));
        t += step;
    }
    ticks
}

/// The whole page for one report.
/// Connection setup apart from request latency: TCP connect and TLS handshake times.
fn connections(page: &mut String, r: &Report) {
    let c = &r.connections_detail;
    if c.opened == 0 && c.tls.is_none() {
        return;
    }
    let row = |page: &mut String, label: &str, l: &super::Latency| {
        let _ = write!(
            page,
            "<tr><th>{label}</th><td>{}</td></tr>",
            spread(l.p50, l.p99, l.max)
        );
    };
    let _ = write!(
        page,
        "<h2>Connections</h2><table><tr><th>opened</th><td>{}{}</td></tr>",
        c.opened,
        c.requests_per_conn
            .map(|n| format!(" (closed after {n} requests each)"))
            .unwrap_or_default()
    );
    row(page, "TCP connect", &c.connect_us);
    if let Some(t) = &c.tls {
        let _ = write!(
            page,
            "<tr><th>TLS handshakes</th><td>{} full · {} resumed{}{}</td></tr>",
            t.handshakes.full,
            t.handshakes.resumed,
            t.version
                .as_ref()
                .map(|v| format!(" · TLS {} only", esc(v)))
                .unwrap_or_default(),
            if t.resume { "" } else { " · resumption off" }
        );
        row(page, "TLS handshake", &t.handshake_us);
        if t.insecure {
            page.push_str(r#"<tr><th>verification</th><td class="bad">OFF (--insecure)</td></tr>"#);
        }
    }
    page.push_str("</table>");
}

pub fn render(r: &Report) -> String {
    let timeline = &r.timeline;
    let t = |e: &TimelineEntry| f64::from(e.t);
    let max_t = timeline.iter().map(t).fold(1.0, f64::max);
    let points = |value: &dyn Fn(&TimelineEntry) -> Option<f64>| -> Vec<(f64, f64)> {
        timeline
            .iter()
            .filter_map(|e| value(e).map(|v| (t(e), v)))
            .collect()
    };
    let mut throughput = vec![
        Series {
            name: "responses/s".into(),
            color: "#1f77b4",
            dashed: false,
            right: false,
            points: points(&|e| Some(e.rps)),
        },
        Series {
            name: "errors/s".into(),
            color: "#d62728",
            dashed: false,
            right: false,
            points: points(&|e| Some(e.errors as f64)),
        },
    ];
    let mut y2 = "";
    if timeline.iter().any(|e| e.target_rps.is_some()) {
        throughput.push(Series {
            name: "target rate".into(),
            color: "#2ca02c",
            dashed: true,
            right: false,
            points: points(&|e| e.target_rps),
        });
    }
    if timeline.iter().any(|e| e.users.is_some()) {
        throughput.push(Series {
            name: "users".into(),
            color: "#9467bd",
            dashed: true,
            right: true,
            points: points(&|e| e.users.map(|u| u as f64)),
        });
        y2 = "users";
    }
    type Pick = fn(&TimelineEntry) -> u64;
    let latency = [
        ("p50", (|e| e.p50_us) as Pick, "#1f77b4", false),
        ("p90", |e| e.p90_us, "#ff7f0e", false),
        ("p99", |e| e.p99_us, "#d62728", false),
        ("p50 (actual)", |e| e.p50_uncorrected_us, "#1f77b4", true),
        ("p90 (actual)", |e| e.p90_uncorrected_us, "#ff7f0e", true),
        ("p99 (actual)", |e| e.p99_uncorrected_us, "#d62728", true),
    ]
    .iter()
    .map(|(name, pick, color, dashed)| Series {
        name: name.to_string(),
        color,
        dashed: *dashed,
        right: false,
        points: points(&|e| Some(pick(e) as f64)),
    })
    .collect::<Vec<_>>();
    // HdrHistogram's percentile plot: x = log10(1 / (1 - q)), so 90 %, 99 %, 99.9 % … are evenly spaced.
    let spectrum = |pairs: &[(f64, u64)]| -> Vec<(f64, f64)> {
        pairs
            .iter()
            .map(|&(q, v)| ((1.0 / (1.0 - (q / 100.0).min(0.999_999))).log10(), v as f64))
            .collect()
    };
    let distribution = vec![
        Series {
            name: "latency".into(),
            color: "#1f77b4",
            dashed: false,
            right: false,
            points: spectrum(&r.latency_distribution),
        },
        Series {
            name: "from actual send".into(),
            color: "#ff7f0e",
            dashed: true,
            right: false,
            points: spectrum(&r.latency_uncorrected_distribution),
        },
    ];
    let pct_ticks: Vec<(f64, String)> =
        ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"]
            .iter()
            .enumerate()
            .map(|(i, l)| (i as f64, l.to_string()))
            .collect();
    let max_pct = distribution
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0, f64::max)
        .ceil() as usize;
    let pct_ticks: Vec<(f64, String)> = pct_ticks
        .into_iter()
        .take((max_pct + 1).clamp(2, 7))
        .collect();

    let mut page = String::with_capacity(64 * 1024);
    let title = match &r.scenario {
        Some(s) => format!("scenario {s} against {}", r.url),
        None => format!("{} {}", r.method, r.url),
    };
    let _ = write!(
        page,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>ringblast: {}</title><style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:920px;color:#222}} h1{{font-size:20px}} h2{{font-size:16px;margin-top:28px}}
table{{border-collapse:collapse;width:100%}} td,th{{padding:4px 8px;border-bottom:1px solid #eee;text-align:right}} td:first-child,th:first-child{{text-align:left}}
.ok{{color:#2a7}} .bad{{color:#c22;font-weight:bold}} .warn{{background:#fff4d6;padding:6px 10px;margin:4px 0}}
svg.chart{{width:100%;height:auto;border:1px solid #ddd;background:#fff}} .tick{{font-size:11px;fill:#555}} .axis{{font-size:12px;fill:#333}} .legend{{font-size:12px;fill:#333}}
</style></head><body><h1>ringblast: {}</h1>"#,
        esc(&title),
        esc(&title)
    );
    let req = &r.requests;
    let _ = write!(
        page,
        "<table><tr><th>backend</th><td>{} ({}), {} threads, {} connections, pipeline {}</td></tr>",
        esc(&r.backend),
        esc(&r.backend_flags),
        r.threads,
        r.connections,
        r.pipeline
    );
    let model = match r.load.model {
        Kind::Rate => "rate",
        Kind::Users => "users",
        Kind::Connections => "connections",
    };
    let _ = write!(
        page,
        "<tr><th>load</th><td>{model} (peak {}), {:.2} s measured{}</td></tr>",
        r.load.peak,
        r.duration_s,
        if r.interrupted { ", interrupted" } else { "" }
    );
    let target = r.target_rps.map_or(String::new(), |t| {
        format!(" (target {t:.0}, sent {:.0})", r.sent_rps)
    });
    let _ = write!(
        page,
        "<tr><th>throughput</th><td>{:.1} responses/s{target}</td></tr>",
        r.rps
    );
    let _ = write!(
        page,
        "<tr><th>requests</th><td>sent {} · responses {} · ok {} · errors {} · unfinished {}</td></tr>",
        req.sent, req.responses, req.ok, req.errors, req.unfinished
    );
    for (label, l) in [
        ("latency", &r.latency_us),
        ("from actual send", &r.latency_uncorrected_us),
    ] {
        let _ = write!(
            page,
            "<tr><th>{label}</th><td>p50 {} · p90 {} · p99 {} · p99.9 {} · max {}</td></tr>",
            ms(l.p50 as f64),
            ms(l.p90 as f64),
            ms(l.p99 as f64),
            ms(l.p999 as f64),
            ms(l.max as f64)
        );
    }
    let c = &r.latency_clock;
    let ends = match c.clock.as_str() {
        "kernel" => "the kernel's receive time of each response",
        "user" => "when each response was parsed (userspace clock)",
        "mixed" => "the kernel's receive time, or when parsed where the kernel gave none",
        _ => "no responses",
    };
    let added = c.generator_added_us.as_ref().map_or(String::new(), |a| {
        format!(" · reading added {}", spread(a.p50, a.p99, a.max))
    });
    let _ = write!(
        page,
        "<tr><th>latency ends at</th><td>{ends}{added}</td></tr>"
    );
    page.push_str("</table>");
    for a in &r.assertions {
        let _ = write!(
            page,
            r#"<div class="{}">assert {} → {} {}</div>"#,
            if a.ok { "ok" } else { "bad" },
            esc(&a.expr),
            a.value,
            if a.ok { "ok" } else { "FAILED" }
        );
    }
    for w in &r.warnings {
        let _ = write!(page, r#"<div class="warn">{}</div>"#, esc(w));
    }
    connections(&mut page, r);
    super::kernel::html(&mut page, r);
    page.push_str("<h2>Endpoints</h2><table><tr><th>endpoint</th><th>requests</th><th>failed</th><th>req/s</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>");
    for e in &r.endpoints {
        let l = &e.latency_us;
        let _ = write!(
            page,
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.method),
            esc(&e.name),
            e.requests.sent,
            e.failed,
            e.rps,
            ms(l.p50 as f64),
            ms(l.p95 as f64),
            ms(l.p99 as f64),
            ms(l.max as f64)
        );
    }
    page.push_str("</table>");
    page.push_str("<h2>Throughput over time</h2>");
    page.push_str(&chart(
        "throughput",
        &throughput,
        &seconds_ticks(max_t),
        "time",
        "per second",
        &|v| format!("{v:.0}"),
        y2,
    ));
    page.push_str("<h2>Latency over time</h2><p>Solid: from the intended send (the headline); dashed: from the actual send.</p>");
    page.push_str(&chart(
        "latency",
        &latency,
        &seconds_ticks(max_t),
        "time",
        "latency",
        &|v| ms(v),
        "",
    ));
    if timeline.iter().any(|e| e.kernel.is_some()) {
        type Count = fn(&crate::kstats::KernelSecond) -> Option<u64>;
        let kernel = [
            (
                "retransmits",
                (|k| Some(k.retransmits)) as Count,
                "#d62728",
                false,
                false,
            ),
            (
                "resets received",
                |k| k.resets_received,
                "#ff7f0e",
                false,
                false,
            ),
            (
                "resets sent",
                |k| Some(k.resets_sent),
                "#8c564b",
                false,
                false,
            ),
            ("drops", |k| k.drops, "#9467bd", false, false),
            (
                "connections opened",
                |k| Some(k.opened),
                "#1f77b4",
                true,
                true,
            ),
        ]
        .iter()
        .filter(|(_, pick, ..)| {
            timeline
                .iter()
                .any(|e| e.kernel.as_ref().and_then(pick).is_some())
        })
        .map(|(name, pick, color, dashed, right)| Series {
            name: name.to_string(),
            color,
            dashed: *dashed,
            right: *right,
            points: points(&|e| e.kernel.as_ref().and_then(pick).map(|v| v as f64)),
        })
        .collect::<Vec<_>>();
        let _ = write!(
            page,
            "<h2>Kernel events over time</h2><p>{}; connections opened on the right-hand axis.</p>",
            esc(&super::kernel::source(
                r.kernel.as_ref().unwrap_or(&Default::default())
            ))
        );
        page.push_str(&chart(
            "kernel",
            &kernel,
            &seconds_ticks(max_t),
            "time",
            "per second",
            &|v| format!("{v:.0}"),
            "opened/s",
        ));
    }
    page.push_str("<h2>Latency distribution</h2>");
    page.push_str(&chart(
        "distribution",
        &distribution,
        &pct_ticks,
        "percentile",
        "latency",
        &|v| ms(v),
        "",
    ));
    // A check a browser runs: how many charts drew at least one line of non-zero length.
    page.push_str(
        r#"<script>addEventListener("load",()=>{let n=0;for(const s of document.querySelectorAll("svg.chart")){if([...s.querySelectorAll("polyline.series")].some(p=>p.getTotalLength()>0))n++;}document.body.dataset.chartsDrawn=n;});</script></body></html>"#,
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_bounds() {
        assert_eq!(nice(95.0), (100.0, 25.0));
        assert_eq!(nice(0.0), (1.0, 0.25));
        assert_eq!(nice(1234.0), (1500.0, 500.0));
    }

    /// A whole report (an older one: fields added since default), to draw pages from.
    fn report() -> Report {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/locust/run/ringblast.json"
        ))
        .expect("the fixture reads as a report")
    }

    #[test]
    fn page_is_self_contained_and_escaped() {
        let mut r = report();
        r.url = "http://h/<x>".into();
        r.scenario = None;
        r.endpoints[0].name = "a&b".into();
        r.warnings = vec!["<img src=x onerror=alert(1)>".into()];
        let page = render(&r);
        assert!(page.contains("http://h/&lt;x&gt;") && page.contains("a&amp;b"));
        assert!(!page.contains("<img"), "unescaped markup in the page");
        assert!(!page.contains("src=\"http"), "no external resources");
        assert!(!page.contains("<script src"));
        assert_eq!(page.matches("<svg class=\"chart\"").count(), 3);
        assert!(page.contains(">users<"));
    }

    #[test]
    fn a_report_with_a_field_of_the_wrong_type_is_refused_not_drawn_as_zero() {
        let mut v: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/locust/run/ringblast.json"
        ))
        .unwrap();
        v["threads"] = "<img src=x>".into();
        assert!(serde_json::from_value::<Report>(v.clone()).is_err());
        v["threads"] = 2.into();
        v.as_object_mut().unwrap().remove("requests");
        assert!(
            serde_json::from_value::<Report>(v).is_err(),
            "a missing field is an error"
        );
    }
}
