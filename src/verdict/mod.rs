//! Verdicts: did a run get faster or slower than another? Per metric, the change, its confidence
//! interval and a word, from block bootstraps over per-second histograms and t over rounds.

pub mod bootstrap;
pub mod gate;
pub mod series;
pub mod student;
#[cfg(test)]
mod tests;

use bootstrap::Resampler;
use series::{METRICS, Metric, Series};

/// How the two runs' rounds relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Round i of one ran beside round i of the other (`ab`): compare them pair by pair.
    Paired,
    /// Independent runs (`compare`).
    Unpaired,
}

/// The word a verdict ends in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Word {
    Faster,
    Slower,
    NoChange,
    MoreErrors,
    FewerErrors,
    /// No verdict: the reason.
    NotJudged(String),
}

impl Word {
    pub fn text(&self) -> String {
        match self {
            Word::Faster => "faster".into(),
            Word::Slower => "slower".into(),
            Word::NoChange => "no change".into(),
            Word::MoreErrors => "more errors".into(),
            Word::FewerErrors => "fewer errors".into(),
            Word::NotJudged(why) => format!("not judged: {why}"),
        }
    }

    /// A change called significant (in either direction).
    pub fn significant(&self) -> bool {
        !matches!(self, Word::NoChange | Word::NotJudged(_))
    }
}

/// One metric's verdict. `change`, `low` and `high` are relative (0.07 = +7 %) except for
/// errors, where they are percentage points.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verdict {
    pub metric: &'static str,
    pub base: f64,
    pub new: f64,
    pub change: f64,
    pub low: f64,
    pub high: f64,
    pub word: Word,
    /// What the interval rests on: `"seconds"` (block bootstrap) or `"rounds"` (t over rounds).
    pub method: &'static str,
}

impl Verdict {
    fn unit(&self) -> &'static str {
        if self.metric == "errors" { "pp" } else { "%" }
    }

    fn scaled(&self, v: f64) -> f64 {
        if self.metric == "errors" {
            v
        } else {
            v * 100.0
        }
    }

    /// `+7.1% [+2.0%, +12.5%]`.
    pub fn change_text(&self) -> String {
        if !self.change.is_finite() {
            return "n/a".into();
        }
        let u = self.unit();
        let ci = if self.low.is_finite() && self.high.is_finite() {
            format!(
                " [{:+.1}{u}, {:+.1}{u}]",
                self.scaled(self.low),
                self.scaled(self.high)
            )
        } else {
            String::new()
        };
        format!("{:+.1}{u}{ci}", self.scaled(self.change))
    }
}

/// One run, with what keeps its differences from being judged.
pub struct Side<'a> {
    pub series: &'a Series,
    /// Why no difference to this run may be called significant (generator-bound, interrupted).
    pub unjudgeable: Option<String>,
}

/// The settings of a comparison.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Two-sided confidence, e.g. 0.95.
    pub confidence: f64,
    pub pairing: Pairing,
    /// Bootstrap replicates per run.
    pub replicates: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            confidence: 0.95,
            pairing: Pairing::Unpaired,
            replicates: 1000,
        }
    }
}

/// Samples a run is reduced to before resampling (consecutive seconds pooled beyond it).
const MOST_SAMPLES: usize = 400;

fn sd(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    if xs.len() < 2 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / n;
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// The statistic a metric's change is taken on: the log for rates and latencies (so a change
/// is a ratio), the value itself for errors (percentage points).
fn scale(metric: Metric, v: f64) -> f64 {
    match metric {
        Metric::Errors => v,
        _ => v.max(1e-9).ln(),
    }
}

fn unscale(metric: Metric, d: f64) -> f64 {
    match metric {
        Metric::Errors => d,
        _ => d.exp() - 1.0,
    }
}

/// The verdict of `new` against `base` for every metric (in `METRICS` order). `why_not`, when
/// set, keeps every difference from being called (different plans).
pub fn judge(base: &Side, new: &Side, settings: Settings, why_not: Option<&str>) -> Vec<Verdict> {
    let (b, n) = (
        base.series.coarsened(MOST_SAMPLES),
        new.series.coarsened(MOST_SAMPLES),
    );
    let (fb, fnew) = (b.whole(), n.whole());
    let (mut rb, mut rn) = (
        Resampler::new(&b, 0x9e37_79b9),
        Resampler::new(&n, 0x7f4a_7c15),
    );
    let (mut picks, mut scratch) = (Vec::new(), Vec::new());
    let reps: Vec<(series::Figures, series::Figures)> = (0..settings.replicates)
        .map(|_| {
            (
                rb.replicate(&mut picks, &mut scratch),
                rn.replicate(&mut picks, &mut scratch),
            )
        })
        .collect();
    let df_seconds = (rb.blocks().min(rn.blocks()) - 1.0).max(1.0);
    let (rounds_b, rounds_n) = (b.per_round(), n.per_round());
    let by_rounds = rounds_b.len() >= 2 && rounds_n.len() >= 2;
    let (resp_b, resp_n) = (b.responses(), n.responses());
    let reason = why_not
        .map(str::to_string)
        .or_else(|| base.unjudgeable.as_ref().map(|w| format!("base {w}")))
        .or_else(|| new.unjudgeable.as_ref().map(|w| format!("new {w}")));
    METRICS
        .iter()
        .enumerate()
        .map(|(i, &metric)| {
            let mut v = Verdict {
                metric: metric.name(),
                base: fb[i],
                new: fnew[i],
                change: f64::NAN,
                low: f64::NAN,
                high: f64::NAN,
                word: Word::NoChange,
                method: if by_rounds { "rounds" } else { "seconds" },
            };
            let needed = metric.responses_needed() as f64;
            if !fb[i].is_finite() || !fnew[i].is_finite() {
                v.word = Word::NotJudged("no responses to measure".into());
                return v;
            }
            if metric != Metric::Errors && (fb[i] <= 0.0 || fnew[i] <= 0.0) {
                v.word = Word::NotJudged("a zero to divide by".into());
                return v;
            }
            let d_hat = scale(metric, fnew[i]) - scale(metric, fb[i]);
            v.change = unscale(metric, d_hat);
            if metric.quantile().is_some() && resp_b.min(resp_n) < needed {
                v.word = Word::NotJudged(format!(
                    "too few responses for {} (needs {needed:.0} in each run)",
                    metric.name()
                ));
                return v;
            }
            let diffs: Vec<f64> = reps
                .iter()
                .filter(|(x, y)| x[i].is_finite() && y[i].is_finite())
                .map(|(x, y)| scale(metric, y[i]) - scale(metric, x[i]))
                .collect();
            // The bootstrap's spread, with what its blocks miss of the seconds' correlation.
            let se_seconds = sd(&diffs) * rb.missed(i).max(rn.missed(i)).sqrt();
            let (mut se, mut df) = (se_seconds, df_seconds);
            if by_rounds {
                let sb: Vec<f64> = rounds_b.iter().map(|f| scale(metric, f[i])).collect();
                let sn: Vec<f64> = rounds_n.iter().map(|f| scale(metric, f[i])).collect();
                let (se_r, df_r) = between_rounds(&sb, &sn, settings.pairing);
                // The spread between rounds, but never less than the seconds within them show;
                // with the rounds' degrees of freedom either way.
                if se_r.is_finite() {
                    (se, df) = (se_r.max(se), df_r);
                }
            }
            let t = student::quantile(0.5 + settings.confidence / 2.0, df);
            let (lo, hi) = (d_hat - t * se, d_hat + t * se);
            v.low = unscale(metric, lo);
            v.high = unscale(metric, hi);
            let up = lo > 0.0;
            let down = hi < 0.0;
            v.word = match metric {
                _ if !(up || down) => Word::NoChange,
                Metric::Rps if up => Word::Faster,
                Metric::Rps => Word::Slower,
                Metric::Errors if up => Word::MoreErrors,
                Metric::Errors => Word::FewerErrors,
                _ if up => Word::Slower,
                _ => Word::Faster,
            };
            if let Some(r) = &reason
                && v.word.significant()
            {
                v.word = Word::NotJudged(r.clone());
            }
            v
        })
        .collect()
}

/// The standard error of the difference of means between rounds, and its degrees of freedom:
/// paired differences when the rounds ran in pairs, Welch otherwise. Non-finite rounds (no
/// responses) are left out.
fn between_rounds(b: &[f64], n: &[f64], pairing: Pairing) -> (f64, f64) {
    if pairing == Pairing::Paired && b.len() == n.len() {
        let d: Vec<f64> = b
            .iter()
            .zip(n)
            .map(|(x, y)| y - x)
            .filter(|d| d.is_finite())
            .collect();
        if d.len() < 2 {
            return (f64::NAN, 1.0);
        }
        return (sd(&d) / (d.len() as f64).sqrt(), d.len() as f64 - 1.0);
    }
    let b: Vec<f64> = b.iter().copied().filter(|v| v.is_finite()).collect();
    let n: Vec<f64> = n.iter().copied().filter(|v| v.is_finite()).collect();
    if b.len() < 2 || n.len() < 2 {
        return (f64::NAN, 1.0);
    }
    let (vb, vn) = (
        sd(&b).powi(2) / b.len() as f64,
        sd(&n).powi(2) / n.len() as f64,
    );
    let se = (vb + vn).sqrt();
    // Welch–Satterthwaite.
    let df = if vb + vn > 0.0 {
        (vb + vn).powi(2) / (vb * vb / (b.len() as f64 - 1.0) + vn * vn / (n.len() as f64 - 1.0))
    } else {
        (b.len() + n.len() - 2) as f64
    };
    (se, df.max(1.0))
}

/// The coefficient of variation of `xs` (its standard deviation over its mean).
pub fn cv(xs: &[f64]) -> f64 {
    let xs: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    let m = xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    if m == 0.0 { 0.0 } else { sd(&xs) / m }
}
