//! The verdicts of a comparison: for the whole run and each endpoint both inputs share, each
//! metric's change, interval and word; the gates; the kernel's counts beside them.

use std::fmt::Write as _;

use serde::Serialize;

use super::seconds::RunSeries;
use crate::error::Exit;
use crate::report::Report;
use crate::verdict::gate::{Gate, Outcome};
use crate::verdict::series::Series;
use crate::verdict::{self, Settings, Side, Verdict};

/// What a comparison needs of one input besides its figures.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    pub series: RunSeries,
    /// (method, name) of each endpoint, in the order of `series.endpoints`.
    pub endpoints: Vec<(String, String)>,
    /// Why its differences may not be called (interrupted, generator-bound).
    pub unjudgeable: Option<String>,
    /// The load's fingerprint, when the input has one.
    pub plan: Option<String>,
    /// Locust's percentiles: rounded and, per second, approximated.
    pub approximate: bool,
    pub kernel: Vec<(&'static str, u64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub name: String,
    pub verdicts: Vec<Verdict>,
    /// Why this scope has no verdicts (no per-second data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    pub gate: String,
    pub outcome: Outcome,
    pub line: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KernelRow {
    pub counter: &'static str,
    pub base: u64,
    pub new: u64,
}

/// One input, as the comparison page draws it.
#[derive(Debug, Clone, Serialize)]
pub struct Drawn {
    pub label: String,
    /// (percentile, µs) points of the latency distribution.
    pub spectrum: Vec<(f64, f64)>,
    /// (seconds since the start, req/s, p99 µs), a point per second (or pooled seconds).
    pub seconds: Vec<(f64, f64, f64)>,
}

/// A comparison of `new` against `base`.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub base: String,
    pub new: String,
    pub confidence: f64,
    pub approximate: bool,
    /// What keeps every difference from being called, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
    pub scopes: Vec<Scope>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kernel: Vec<KernelRow>,
    pub gates: Vec<GateResult>,
    pub drawn: Vec<Drawn>,
}

/// Why no difference to this report may be called, if anything: interrupted, or the generator
/// set the figures (a saturated core short of its rate, or busy throughout a closed loop).
pub fn unjudgeable(r: &Report) -> Option<String> {
    use crate::report::{BUSY_CORE, generator_bound};
    if let Some(w) = r.rounds.iter().find_map(unjudgeable) {
        return Some(w);
    }
    let busy = r.diagnostics.busiest_worker_cpu;
    if r.interrupted {
        Some("was interrupted".into())
    } else if let Some(target) = r.target_rps {
        generator_bound(r.sent_rps, target, busy).then(|| {
            format!(
                "was generator-bound (sent {:.0}% of its target rate with a saturated core)",
                100.0 * r.sent_rps / target.max(1e-9)
            )
        })
    } else {
        (busy > BUSY_CORE).then(|| {
            format!(
                "was generator-bound (a worker's CPU was busy {:.0}% of a closed-loop run)",
                busy * 100.0
            )
        })
    }
}

/// What a report brings to a comparison.
pub fn judged(r: &Report) -> Judged {
    let kernel = r
        .kernel
        .as_ref()
        .map(|k| {
            let listen = k.listen.clone().unwrap_or_default();
            vec![
                ("retransmits", k.retransmits),
                ("resets sent", k.resets.sent),
                ("resets received", k.resets.received.unwrap_or(0)),
                ("drops", k.drops.values().sum()),
                ("listen overflows", listen.overflows),
                ("listen drops", listen.drops),
            ]
        })
        .unwrap_or_default();
    Judged {
        series: super::seconds::of_report(r),
        endpoints: r
            .endpoints
            .iter()
            .map(|e| (e.method.clone(), e.name.clone()))
            .collect(),
        unjudgeable: unjudgeable(r),
        plan: r.plan.clone(),
        approximate: false,
        kernel,
    }
}

/// Two reports compared (`ab`).
pub fn of_reports(
    base: (&str, &Report),
    new: (&str, &Report),
    settings: Settings,
    gates: &[Gate],
) -> Comparison {
    compare(
        (base.0, &judged(base.1)),
        (new.0, &judged(new.1)),
        settings,
        gates,
    )
}

fn drawn(label: &str, s: Option<&Series>) -> Drawn {
    let Some(s) = s else {
        return Drawn {
            label: label.to_string(),
            spectrum: Vec::new(),
            seconds: Vec::new(),
        };
    };
    let mut t = 0.0;
    let mut scratch = Vec::new();
    let seconds = (0..s.samples.len())
        .map(|i| {
            let f = s.figures(&[i], &mut scratch);
            t += s.samples[i].seconds;
            (t, f[0], if f[4].is_finite() { f[4] } else { 0.0 })
        })
        .collect();
    Drawn {
        label: label.to_string(),
        spectrum: s.spectrum(),
        seconds,
    }
}

/// `new` against `base`, for the whole run and every endpoint of `base` that `new` has.
pub fn compare(
    base: (&str, &Judged),
    new: (&str, &Judged),
    settings: Settings,
    gates: &[Gate],
) -> Comparison {
    let (bl, b) = base;
    let (nl, n) = new;
    let not_judged = match (&b.plan, &n.plan) {
        (Some(x), Some(y)) if x != y => {
            Some("the runs had different plans (their load flags or scenario differ)".to_string())
        }
        _ => None,
    };
    let one = |name: String, x: Option<&Series>, y: Option<&Series>| match (x, y) {
        (Some(x), Some(y)) => Scope {
            name,
            verdicts: verdict::judge(
                &Side {
                    series: x,
                    unjudgeable: b.unjudgeable.clone(),
                },
                &Side {
                    series: y,
                    unjudgeable: n.unjudgeable.clone(),
                },
                settings,
                not_judged.as_deref(),
            ),
            missing: None,
        },
        _ => Scope {
            name,
            verdicts: Vec::new(),
            missing: Some(
                "no per-second data in both inputs (a report from an older ringblast, a Locust \
                 run without --csv-full-history for endpoints, or Locust's --json-file)"
                    .into(),
            ),
        },
    };
    let mut scopes = vec![one(
        "Aggregated".into(),
        b.series.whole.as_ref(),
        n.series.whole.as_ref(),
    )];
    for (i, ep) in b.endpoints.iter().enumerate() {
        if b.endpoints.len() < 2 {
            break;
        }
        let Some(j) = n.endpoints.iter().position(|e| e == ep) else {
            continue;
        };
        scopes.push(one(
            format!("{} {}", ep.0, ep.1),
            b.series.endpoints.get(i).and_then(Option::as_ref),
            n.series.endpoints.get(j).and_then(Option::as_ref),
        ));
    }
    let whole = &scopes[0].verdicts;
    let gates = gates
        .iter()
        .map(|g| {
            let v = whole
                .iter()
                .find(|v| v.metric == g.metric.name())
                .cloned()
                .unwrap_or_else(|| missing_verdict(g.metric.name()));
            GateResult {
                gate: g.text.clone(),
                outcome: g.check(&v),
                line: g.line(&v),
            }
        })
        .collect();
    let kernel = if b.kernel.is_empty() || n.kernel.is_empty() {
        Vec::new()
    } else {
        b.kernel
            .iter()
            .zip(&n.kernel)
            .map(|((name, x), (_, y))| KernelRow {
                counter: name,
                base: *x,
                new: *y,
            })
            .collect()
    };
    Comparison {
        base: bl.to_string(),
        new: nl.to_string(),
        confidence: settings.confidence,
        approximate: b.approximate || n.approximate,
        not_judged,
        scopes,
        kernel,
        gates,
        drawn: vec![
            drawn(bl, b.series.whole.as_ref()),
            drawn(nl, n.series.whole.as_ref()),
        ],
    }
}

fn missing_verdict(metric: &'static str) -> Verdict {
    Verdict {
        metric,
        base: f64::NAN,
        new: f64::NAN,
        change: f64::NAN,
        low: f64::NAN,
        high: f64::NAN,
        word: verdict::Word::NotJudged("no per-second data".into()),
        method: "seconds",
    }
}

fn value(metric: &str, v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    match metric {
        "rps" => format!("{v:.1}"),
        "errors" => format!("{v:.2}%"),
        _ if v < 1000.0 => format!("{v:.0}us"),
        _ if v < 1e6 => format!("{:.2}ms", v / 1000.0),
        _ => format!("{:.2}s", v / 1e6),
    }
}

impl Comparison {
    /// 3 when a gate was breached, else 0.
    pub fn exit(&self) -> Exit {
        if self.gates.iter().any(|g| g.outcome == Outcome::Breached) {
            Exit::AssertionFailed
        } else {
            Exit::Completed
        }
    }

    /// The verdicts as text (aligned) or Markdown, then one line per gate.
    pub fn render(&self, markdown: bool) -> String {
        let mut out = String::new();
        let conf = self.confidence * 100.0;
        let head = format!(
            "Verdict: {} against {} at {conf:.0}% confidence",
            self.new, self.base
        );
        if markdown {
            let _ = writeln!(out, "### {head}\n");
        } else {
            let _ = writeln!(out, "{head}");
        }
        for scope in &self.scopes {
            if markdown {
                let _ = writeln!(out, "**{}**\n", scope.name);
            } else {
                let _ = writeln!(out, "{}", scope.name);
            }
            if let Some(why) = &scope.missing {
                let _ = writeln!(out, "  no verdict: {why}\n");
                continue;
            }
            if markdown {
                let _ = writeln!(
                    out,
                    "| metric | {} | {} | change [interval] | verdict |\n|---|---|---|---|---|",
                    self.base, self.new
                );
            }
            for v in &scope.verdicts {
                let (b, n) = (value(v.metric, v.base), value(v.metric, v.new));
                if markdown {
                    let _ = writeln!(
                        out,
                        "| {} | {b} | {n} | {} | {} |",
                        v.metric,
                        v.change_text(),
                        v.word.text()
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "  {:<7}{b:>11} → {n:<11}{:<34}{}",
                        v.metric,
                        v.change_text(),
                        v.word.text()
                    );
                }
            }
            let _ = writeln!(out);
        }
        if !self.kernel.is_empty() {
            let _ = writeln!(out, "Kernel (base → new)");
            for k in &self.kernel {
                let _ = writeln!(out, "  {:<18}{} → {}", k.counter, k.base, k.new);
            }
            let _ = writeln!(out);
        }
        let prefix = if markdown { "> " } else { "" };
        if let Some(m) = self.scopes[0].verdicts.first() {
            let _ = writeln!(
                out,
                "{prefix}method: {}",
                if m.method == "rounds" {
                    "t intervals over the rounds (paired when interleaved), never narrower than the seconds within them show"
                } else {
                    "block bootstrap over per-second histograms (seconds are correlated; blocks keep that)"
                }
            );
        }
        if let Some(why) = &self.not_judged {
            let _ = writeln!(out, "{prefix}no difference is called: {why}");
        }
        if self.approximate {
            let _ = writeln!(
                out,
                "{prefix}approximate: Locust's percentiles are rounded to its buckets, and its \
                 per-second latency is rebuilt from its history's percentiles"
            );
        }
        for g in &self.gates {
            let _ = writeln!(out, "{}", g.line);
        }
        out
    }
}
