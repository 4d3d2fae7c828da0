//! `compare … --html` and `ab … --html`: one self-contained page with the verdict tables, the
//! runs' percentile spectra overlaid (log-scaled tail), and their per-second p99 and throughput.

use std::fmt::Write as _;

use super::verdicts::Comparison;
use crate::report::html::{Series, chart, esc, ms, seconds_ticks};

const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

/// HdrHistogram's percentile-spectrum x axis: log10(1 / (1 - p)), so 90 %, 99 %, 99.9 % are
/// evenly spaced.
fn tail_x(percentile: f64) -> f64 {
    let rest = (1.0 - percentile / 100.0).max(1e-6);
    (1.0 / rest).log10()
}

fn verdict_class(word: &crate::verdict::Word) -> &'static str {
    use crate::verdict::Word::*;
    match word {
        Slower | MoreErrors => "bad",
        Faster | FewerErrors => "ok",
        _ => "",
    }
}

pub fn render_all(comparisons: &[Comparison]) -> String {
    let title = match comparisons.first() {
        Some(c) => format!("{} against {}", c.new, c.base),
        None => "comparison".into(),
    };
    let mut page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>ringblast compare: {0}</title><style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:920px;color:#222}} h1{{font-size:20px}} h2{{font-size:16px;margin-top:28px}}
table{{border-collapse:collapse;width:100%}} td,th{{padding:4px 8px;border-bottom:1px solid #eee;text-align:right}} td:first-child,th:first-child{{text-align:left}}
.ok{{color:#2a7;font-weight:bold}} .bad{{color:#c22;font-weight:bold}} .note{{background:#fff4d6;padding:6px 10px;margin:4px 0}}
svg.chart{{width:100%;height:auto;border:1px solid #ddd;background:#fff}} .tick{{font-size:11px;fill:#555}} .axis{{font-size:12px;fill:#333}} .legend{{font-size:12px;fill:#333}}
</style></head><body><h1>ringblast compare: {0}</h1>"#,
        esc(&title)
    );
    // Every input once, in order: the base, then each compared run.
    let mut drawn = Vec::new();
    for c in comparisons {
        for d in &c.drawn {
            if !drawn
                .iter()
                .any(|x: &&super::verdicts::Drawn| x.label == d.label)
            {
                drawn.push(d);
            }
        }
    }
    for c in comparisons {
        let _ = write!(
            page,
            r#"<h2>Verdict: {} against {} ({:.0}% confidence)</h2>"#,
            esc(&c.new),
            esc(&c.base),
            c.confidence * 100.0
        );
        if let Some(why) = &c.not_judged {
            let _ = write!(
                page,
                r#"<p class="note">No difference is called: {}</p>"#,
                esc(why)
            );
        }
        if c.approximate {
            page.push_str(r#"<p class="note">Approximate: Locust's percentiles are rounded to its buckets, and its per-second latency is rebuilt from its history's percentiles.</p>"#);
        }
        for scope in &c.scopes {
            let _ = write!(page, "<h3>{}</h3>", esc(&scope.name));
            if let Some(why) = &scope.missing {
                let _ = write!(page, "<p>No verdict: {}</p>", esc(why));
                continue;
            }
            let _ = write!(
                page,
                r#"<table class="verdicts"><tr><th>metric</th><th>{}</th><th>{}</th><th>change [interval]</th><th>verdict</th></tr>"#,
                esc(&c.base),
                esc(&c.new)
            );
            for v in &scope.verdicts {
                let fmt = |x: f64| match v.metric {
                    _ if !x.is_finite() => "n/a".to_string(),
                    "rps" => format!("{x:.1}"),
                    "errors" => format!("{x:.2}%"),
                    _ => ms(x),
                };
                let _ = write!(
                    page,
                    r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td></tr>"#,
                    v.metric,
                    fmt(v.base),
                    fmt(v.new),
                    esc(&v.change_text()),
                    verdict_class(&v.word),
                    esc(&v.word.text())
                );
            }
            page.push_str("</table>");
        }
        if !c.gates.is_empty() {
            page.push_str("<h3>Gates</h3><ul>");
            for g in &c.gates {
                let _ = write!(page, "<li>{}</li>", esc(&g.line));
            }
            page.push_str("</ul>");
        }
        if !c.kernel.is_empty() {
            page.push_str(
                r#"<h3>Kernel</h3><table><tr><th>counter</th><th>base</th><th>new</th></tr>"#,
            );
            for k in &c.kernel {
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    k.counter, k.base, k.new
                );
            }
            page.push_str("</table>");
        }
    }
    let series = |pick: &dyn Fn(&super::verdicts::Drawn) -> Vec<(f64, f64)>| -> Vec<Series> {
        drawn
            .iter()
            .enumerate()
            .map(|(i, d)| Series {
                name: d.label.clone(),
                color: COLORS[i % COLORS.len()],
                dashed: false,
                right: false,
                points: pick(d),
            })
            .collect()
    };
    page.push_str("<h2>Latency by percentile</h2>");
    let ticks: Vec<(f64, String)> = [0.0, 90.0, 99.0, 99.9, 99.99, 99.999]
        .iter()
        .map(|p| (tail_x(*p), format!("{p}%")))
        .collect();
    page.push_str(&chart(
        "spectrum",
        &series(&|d| d.spectrum.iter().map(|(p, v)| (tail_x(*p), *v)).collect()),
        &ticks,
        "percentile (log-scaled tail)",
        "latency",
        &|y| ms(y),
        "",
    ));
    let max_t = drawn
        .iter()
        .flat_map(|d| d.seconds.last().map(|s| s.0))
        .fold(1.0, f64::max);
    page.push_str("<h2>p99 per second</h2>");
    page.push_str(&chart(
        "p99",
        &series(&|d| d.seconds.iter().map(|s| (s.0, s.2)).collect()),
        &seconds_ticks(max_t),
        "seconds",
        "p99",
        &|y| ms(y),
        "",
    ));
    page.push_str("<h2>Throughput per second</h2>");
    page.push_str(&chart(
        "throughput",
        &series(&|d| d.seconds.iter().map(|s| (s.0, s.1)).collect()),
        &seconds_ticks(max_t),
        "seconds",
        "req/s",
        &|y| format!("{y:.0}"),
        "",
    ));
    page.push_str(
        r#"<script>addEventListener("load",()=>{let n=0;for(const s of document.querySelectorAll("svg.chart")){if([...s.querySelectorAll("polyline.series")].some(p=>p.getTotalLength()>0))n++;}document.body.dataset.chartsDrawn=n;});</script></body></html>"#,
    );
    page
}
