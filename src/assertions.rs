//! `--assert EXPR`: parsing and checking pass/fail conditions such as `p99<500ms`, `success>=99%`,
//! `rps>=10000`, `errors==0`, and windowed forms like `p99[30s]<1s` that must hold in every window.

use crate::error::InvalidValue;

use std::collections::VecDeque;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::units::parse_duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency percentile (0–100), corrected under -R.
    Percentile(f64),
    Mean,
    Max,
    /// Complete responses per second.
    Rps,
    /// Responses with 2xx/3xx as a percentage of requests that ended (responses + errors).
    Success,
    /// Requests that ended in an error of a named kind.
    Errors,
}

impl Metric {
    fn is_latency(self) -> bool {
        matches!(self, Self::Percentile(_) | Self::Mean | Self::Max)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
            Self::Eq => value == threshold,
            Self::Ne => value != threshold,
        }
    }
}

/// One parsed assertion. Latency thresholds are in microseconds, success in percent.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    pub text: String,
    pub metric: Metric,
    /// Seconds per window, when the condition must hold in every window of that length.
    pub window: Option<u32>,
    pub op: Op,
    pub threshold: f64,
}

/// What one window (or the whole run) measured.
pub struct View<'a> {
    pub latency: &'a Histogram<u64>,
    pub responses: u64,
    pub ok: u64,
    pub errors: u64,
    pub seconds: f64,
}

/// The checked result, as reported (JSON `assertions`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Outcome {
    pub expr: String,
    /// The measured value (the worst window for windowed forms), in the unit of the threshold:
    /// microseconds for latency, percent for success.
    pub value: f64,
    pub ok: bool,
}

/// Parses `metric[window] op value`, e.g. `p99[30s]<1s`.
pub fn parse(text: &str) -> Result<Assertion, InvalidValue> {
    let bad = |why: &str| format!("--assert '{text}': {why}");
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let op_at = compact
        .find(['<', '>', '=', '!'])
        .ok_or_else(|| bad("no comparison (use <, <=, >, >=, == or !=)"))?;
    let (lhs, rest) = compact.split_at(op_at);
    let (op, value) = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ]
    .iter()
    .find_map(|(sym, op)| rest.strip_prefix(sym).map(|v| (*op, v)))
    .ok_or_else(|| bad("unknown comparison"))?;
    let (name, window) = match lhs.split_once('[') {
        Some((name, w)) => {
            let w = w.strip_suffix(']').ok_or_else(|| bad("unclosed '['"))?;
            let d = parse_duration(w).map_err(|e| bad(&e.0))?;
            let secs = d.as_secs_f64();
            if secs < 1.0 || secs.fract() != 0.0 {
                return Err(InvalidValue::from(bad(
                    "windows are whole seconds, at least 1s",
                )));
            }
            (name, Some(secs as u32))
        }
        None => (lhs, None),
    };
    let metric = match name.to_ascii_lowercase().as_str() {
        "mean" | "avg" => Metric::Mean,
        "max" => Metric::Max,
        "rps" => Metric::Rps,
        "success" => Metric::Success,
        "errors" => Metric::Errors,
        "median" => Metric::Percentile(50.0),
        p if p.starts_with('p') => {
            let q: f64 = p[1..]
                .parse()
                .map_err(|_| bad("percentiles are written p50, p99, p99.9"))?;
            if !(0.0..=100.0).contains(&q) {
                return Err(InvalidValue::from(bad(
                    "a percentile lies between p0 and p100",
                )));
            }
            Metric::Percentile(q)
        }
        other => {
            return Err(InvalidValue::from(bad(&format!(
                "unknown metric '{other}' (use pNN, mean, max, rps, success, errors)"
            ))));
        }
    };
    if value.is_empty() {
        return Err(InvalidValue::from(bad("no value after the comparison")));
    }
    let threshold = if metric.is_latency() {
        if value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(InvalidValue::from(bad(
                "latency needs a unit, e.g. 500ms or 1s",
            )));
        }
        parse_duration(value).map_err(|e| bad(&e.0))?.as_secs_f64() * 1e6
    } else {
        let (num, pct) = match value.strip_suffix('%') {
            Some(n) => (n, true),
            None => (value, false),
        };
        if pct && metric != Metric::Success {
            return Err(InvalidValue::from(bad("only success is a percentage")));
        }
        num.parse::<f64>()
            .map_err(|_| bad(&format!("'{value}' is not a number")))?
    };
    Ok(Assertion {
        text: text.to_string(),
        metric,
        window,
        op,
        threshold,
    })
}

/// The metric's value in one view.
pub fn measure(metric: Metric, v: &View) -> f64 {
    let h = v.latency;
    match metric {
        Metric::Percentile(_) if h.is_empty() => f64::NAN,
        Metric::Percentile(q) => h.value_at_quantile(q / 100.0) as f64,
        Metric::Mean if h.is_empty() => f64::NAN,
        Metric::Mean => h.mean(),
        Metric::Max if h.is_empty() => f64::NAN,
        Metric::Max => h.max() as f64,
        Metric::Rps => v.responses as f64 / v.seconds.max(1e-9),
        Metric::Success => {
            let ended = v.responses + v.errors;
            if ended == 0 {
                f64::NAN
            } else {
                v.ok as f64 * 100.0 / ended as f64
            }
        }
        Metric::Errors => v.errors as f64,
    }
}

fn outcome(a: &Assertion, value: f64) -> Outcome {
    Outcome {
        expr: a.text.clone(),
        value: if value.is_finite() {
            (value * 100.0).round() / 100.0
        } else {
            -1.0
        },
        ok: value.is_finite() && a.op.holds(value, a.threshold),
    }
}

/// One second as a windowed check keeps it.
#[derive(Debug, Clone)]
struct Kept {
    latency: Histogram<u64>,
    responses: u64,
    ok: u64,
    errors: u64,
    seconds: f64,
}

/// Checks one windowed assertion as the seconds arrive, one second apart, holding only the
/// last `window` seconds: memory depends on the window, not on the run's length.
#[derive(Debug, Clone)]
pub struct Windows {
    window: usize,
    recent: VecDeque<Kept>,
    seen: usize,
    /// The first failing window's value, else the worst passing one.
    failed: Option<f64>,
    worst: Option<f64>,
}

impl Windows {
    pub fn new(window: u32) -> Self {
        Self {
            window: window as usize,
            recent: VecDeque::with_capacity(window as usize + 1),
            seen: 0,
            failed: None,
            worst: None,
        }
    }

    /// Adds the next second and checks the window that ends with it.
    pub fn push(&mut self, a: &Assertion, second: &View) {
        self.seen += 1;
        self.recent.push_back(Kept {
            latency: second.latency.clone(),
            responses: second.responses,
            ok: second.ok,
            errors: second.errors,
            seconds: second.seconds,
        });
        if self.recent.len() > self.window {
            self.recent.pop_front();
        }
        if self.recent.len() < self.window || self.failed.is_some() {
            return;
        }
        let mut h = Histogram::new_from(&self.recent[0].latency);
        let (mut responses, mut ok, mut errors, mut secs) = (0, 0, 0, 0.0);
        for s in &self.recent {
            h += &s.latency;
            responses += s.responses;
            ok += s.ok;
            errors += s.errors;
            secs += s.seconds;
        }
        let view = View {
            latency: &h,
            responses,
            ok,
            errors,
            seconds: secs,
        };
        let value = measure(a.metric, &view);
        if !value.is_finite() {
            return;
        }
        if !a.op.holds(value, a.threshold) {
            self.failed = Some(value);
            return;
        }
        let better_is_lower = matches!(a.op, Op::Lt | Op::Le);
        self.worst = Some(match self.worst {
            None => value,
            Some(w) if better_is_lower => w.max(value),
            Some(w) => w.min(value),
        });
    }

    /// The outcome: the first failing (or the worst) window; a run no longer than the window
    /// is judged whole.
    pub fn finish(&self, a: &Assertion, whole: &View) -> Outcome {
        if self.seen <= self.window {
            return outcome(a, measure(a.metric, whole));
        }
        outcome(a, self.failed.or(self.worst).unwrap_or(f64::NAN))
    }
}

/// Checks an assertion over the whole run, or over every `window`-second run of `seconds`.
/// An empty measurement (no responses) fails; a run shorter than the window is one window.
pub fn check(a: &Assertion, whole: &View, seconds: &[View]) -> Outcome {
    let Some(w) = a.window else {
        return outcome(a, measure(a.metric, whole));
    };
    let mut windows = Windows::new(w);
    for s in seconds {
        windows.push(a, s);
    }
    windows.finish(a, whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for v in values {
            h.record(*v).unwrap();
        }
        h
    }

    #[test]
    fn parses_the_forms_of_the_issue() {
        let a = parse("p99<500ms").unwrap();
        assert_eq!(
            (a.metric, a.op, a.threshold, a.window),
            (Metric::Percentile(99.0), Op::Lt, 500_000.0, None)
        );
        assert_eq!(parse("p50<=200ms").unwrap().op, Op::Le);
        let s = parse("success>=99%").unwrap();
        assert_eq!((s.metric, s.threshold), (Metric::Success, 99.0));
        assert_eq!(parse("rps>=10000").unwrap().threshold, 10000.0);
        assert_eq!(parse("errors==0").unwrap().metric, Metric::Errors);
        let w = parse("p99[30s] < 1s").unwrap();
        assert_eq!((w.window, w.threshold), (Some(30), 1_000_000.0));
        assert_eq!(parse("p99.9<2s").unwrap().metric, Metric::Percentile(99.9));
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in [
            "p99",
            "p99<500",
            "p101<1s",
            "latency<1s",
            "rps>=10%",
            "p99[0s]<1s",
            "p99[1.5s]<1s",
            "p99[30s<1s",
            "success>=",
            "p99<=abc",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whole_run_checks_pass_and_fail() {
        let h = hist(&[100, 200, 300, 400, 100_000]);
        let v = View {
            latency: &h,
            responses: 5,
            ok: 4,
            errors: 1,
            seconds: 1.0,
        };
        let none: [View; 0] = [];
        assert!(check(&parse("p50<1ms").unwrap(), &v, &none).ok);
        assert!(!check(&parse("max<50ms").unwrap(), &v, &none).ok);
        let s = check(&parse("success>=90%").unwrap(), &v, &none);
        assert!(!s.ok);
        assert!((s.value - 66.67).abs() < 0.01);
        assert!(check(&parse("rps>=5").unwrap(), &v, &none).ok);
        assert!(!check(&parse("errors==0").unwrap(), &v, &none).ok);
        let empty = hist(&[]);
        let e = View {
            latency: &empty,
            responses: 0,
            ok: 0,
            errors: 0,
            seconds: 1.0,
        };
        assert!(
            !check(&parse("p99<1s").unwrap(), &e, &none).ok,
            "no data is not a pass"
        );
    }

    #[test]
    fn a_bad_window_fails_a_windowed_assertion_that_the_whole_run_passes() {
        // 9 fast seconds and one slow one: the whole-run p99 hides it, every-3s-window does not.
        let fast = hist(&vec![1_000; 100]);
        let slow = hist(&vec![900_000; 100]);
        let mut secs: Vec<View> = (0..9)
            .map(|_| View {
                latency: &fast,
                responses: 100,
                ok: 100,
                errors: 0,
                seconds: 1.0,
            })
            .collect();
        secs.insert(
            5,
            View {
                latency: &slow,
                responses: 100,
                ok: 100,
                errors: 0,
                seconds: 1.0,
            },
        );
        let mut all = hist(&vec![1_000; 900]);
        for _ in 0..20 {
            all.record(900_000).unwrap();
        }
        let whole = View {
            latency: &all,
            responses: 920,
            ok: 920,
            errors: 0,
            seconds: 10.0,
        };
        assert!(check(&parse("p95<500ms").unwrap(), &whole, &secs).ok);
        let windowed = check(&parse("p95[3s]<500ms").unwrap(), &whole, &secs);
        assert!(!windowed.ok);
        assert!(windowed.value >= 899_000.0);
        assert!(check(&parse("p95[3s]<1s").unwrap(), &whole, &secs).ok);
    }
}
