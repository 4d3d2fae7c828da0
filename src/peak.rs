//! `ringblast peak`: finds the highest open-loop rate a target sustains under an SLO. The search
//! (exponential steps up, then bisection) is a pure state machine; `run` drives it with real steps,
//! each with its connections opened and warmed before the judged part, a failure tried twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::engine;
use crate::error::SetupError;
use crate::load::{Kind, Shape};
use crate::pipeline::Pipeline;
use crate::report::Report;

/// A step passes only if responses per second reach this share of the rate tried.
pub const KEEP_UP: f64 = 0.97;

/// Where the search stands: the best rate that passed and the lowest that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    start: f64,
    ceiling: f64,
    /// Relative gap between a pass and a fail at which the search stops (0.05 = 5 %).
    precision: f64,
    passed: Option<f64>,
    failed: Option<f64>,
}

/// Why the search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// A pass and a fail lie within the precision.
    Converged,
    /// The ceiling rate passed.
    Ceiling,
    /// Even the lowest rate tried failed.
    Floor,
    /// The generator could not send the rate: its own limit, not the target's.
    GeneratorBound,
    Interrupted,
}

impl Search {
    pub fn new(start: f64, ceiling: f64, precision: f64) -> Self {
        Self {
            start,
            ceiling,
            precision,
            passed: None,
            failed: None,
        }
    }

    /// The next rate to try, or why to stop.
    pub fn next(&self) -> Result<f64, Stop> {
        match (self.passed, self.failed) {
            (None, None) => Ok(self.start.min(self.ceiling)),
            (Some(p), None) if p >= self.ceiling => Err(Stop::Ceiling),
            (Some(p), None) => Ok((p * 2.0).min(self.ceiling)),
            (None, Some(f)) if f / 2.0 < 1.0 => Err(Stop::Floor),
            (None, Some(f)) => Ok(f / 2.0),
            (Some(p), Some(f)) if (f - p) <= self.precision * p => Err(Stop::Converged),
            (Some(p), Some(f)) => Ok((p + f) / 2.0),
        }
    }

    pub fn record(&mut self, rate: f64, ok: bool) {
        if ok {
            self.passed = Some(self.passed.map_or(rate, |p| p.max(rate)));
        } else {
            self.failed = Some(self.failed.map_or(rate, |f| f.min(rate)));
        }
    }

    /// The highest rate that passed so far.
    pub fn best(&self) -> Option<f64> {
        self.passed
    }
}

/// One step of the search, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub rate: f64,
    /// 1, or 2 for the confirmation of a failed first try (only a second failure counts).
    pub attempt: u32,
    pub achieved_rps: f64,
    pub sent_rps: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub success: f64,
    pub ok: bool,
    pub failed: Vec<String>,
}

/// The search's result (JSON for `peak --json`).
#[derive(Debug, Clone, Serialize)]
pub struct PeakReport {
    pub url: String,
    pub slo: Vec<String>,
    pub peak_rps: Option<f64>,
    pub stopped: Stop,
    /// The evidence: the step that passed at the peak, and the lowest rate that failed (its
    /// confirming try).
    pub last_pass: Option<Step>,
    pub first_fail: Option<Step>,
    pub steps: Vec<Step>,
}

/// Search settings.
#[derive(Debug, Clone, Copy)]
pub struct PeakConfig {
    pub step: Duration,
    pub precision: f64,
    pub start_rate: f64,
    pub max_rate: f64,
}

/// Runs open-loop steps on `plan` (its assertions are the SLO) until the search stops.
pub fn run(
    pipeline: &Pipeline,
    cfg: PeakConfig,
    stop: Arc<AtomicBool>,
    mut on_step: impl FnMut(&Step),
) -> Result<PeakReport, SetupError> {
    let mut search = Search::new(cfg.start_rate, cfg.max_rate, cfg.precision);
    let mut steps = Vec::new();
    let stopped = loop {
        if stop.load(Ordering::Relaxed) {
            break Stop::Interrupted;
        }
        let rate = match search.next() {
            Ok(r) => r,
            Err(why) => break why,
        };
        // A failure counts only when a second try confirms it (a noisy second on a shared
        // machine, or a hiccup of the target, must not halve the answer).
        let (mut ok, mut interrupted, mut generator_bound) = (false, false, false);
        for attempt in 1..=2 {
            let (step, result) = run_step(pipeline, cfg, &stop, rate, attempt)?;
            on_step(&step);
            generator_bound =
                crate::report::generator_bound(step.sent_rps, rate, result.busiest_worker);
            (ok, interrupted) = (step.ok, result.interrupted);
            steps.push(step);
            if ok || interrupted || generator_bound || stop.load(Ordering::Relaxed) {
                break;
            }
        }
        search.record(rate, ok);
        if interrupted || stop.load(Ordering::Relaxed) {
            break Stop::Interrupted;
        }
        if generator_bound {
            break Stop::GeneratorBound;
        }
    };
    let plan = &pipeline.plan;
    let peak = search.best();
    let last_pass = peak.and_then(|p| steps.iter().rev().find(|s| s.ok && s.rate == p).cloned());
    let first_fail = steps
        .iter()
        .filter(|s| !s.ok && peak.is_none_or(|p| s.rate > p))
        .min_by(|a, b| a.rate.total_cmp(&b.rate).then(b.attempt.cmp(&a.attempt)))
        .cloned();
    Ok(PeakReport {
        url: plan.url.clone(),
        slo: plan.assertions.iter().map(|a| a.text.clone()).collect(),
        peak_rps: peak,
        stopped,
        last_pass,
        first_fail,
        steps,
    })
}

/// One try at `rate`: connections open and traffic flows during the warm-up, then the step is
/// judged on what follows.
fn run_step(
    pipeline: &Pipeline,
    cfg: PeakConfig,
    stop: &Arc<AtomicBool>,
    rate: f64,
    attempt: u32,
) -> Result<(Step, engine::RunResult), SetupError> {
    let plan = &pipeline.plan;
    let mut step_cfg = plan.engine();
    step_cfg.shape = Shape::constant(Kind::Rate, rate, cfg.step).with_warmup(plan.warmup);
    step_cfg.requests = None;
    let result = pipeline.run_config(&step_cfg, stop.clone())?;
    let report = Report::new(&result, &plan.url, &plan.request.method, &plan.assertions);
    let mut failed: Vec<String> = report
        .assertions
        .iter()
        .filter(|a| !a.ok)
        .map(|a| a.expr.clone())
        .collect();
    // Sustaining a rate also means answering it: a short step can hide a growing queue from the
    // latency SLO, never from the throughput.
    if report.rps < KEEP_UP * rate {
        failed.push(format!("achieved<{:.0}%", KEEP_UP * 100.0));
    }
    let ended = report.requests.responses + report.requests.errors;
    let step = Step {
        rate,
        attempt,
        achieved_rps: report.rps,
        sent_rps: report.sent_rps,
        p50_us: report.latency_us.p50,
        p99_us: report.latency_us.p99,
        success: if ended == 0 {
            0.0
        } else {
            100.0 * report.requests.ok as f64 / ended as f64
        },
        ok: failed.is_empty(),
        failed,
    };
    Ok((step, result))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search against a target that passes below `capacity`.
    fn converge(
        capacity: f64,
        start: f64,
        ceiling: f64,
        precision: f64,
    ) -> (Option<f64>, Stop, usize) {
        let mut s = Search::new(start, ceiling, precision);
        let mut steps = 0;
        loop {
            match s.next() {
                Ok(rate) => {
                    s.record(rate, rate <= capacity);
                    steps += 1;
                    assert!(steps < 100, "the search must end");
                }
                Err(stop) => return (s.best(), stop, steps),
            }
        }
    }

    #[test]
    fn converges_within_precision_of_the_capacity() {
        for capacity in [1_234.0, 20_000.0, 999_999.0] {
            let (best, stop, _) = converge(capacity, 1000.0, 1e8, 0.05);
            assert_eq!(stop, Stop::Converged);
            let best = best.unwrap();
            assert!(
                best <= capacity && best >= capacity * 0.95,
                "{capacity}: {best}"
            );
        }
    }

    #[test]
    fn ceiling_and_floor() {
        assert_eq!(converge(1e9, 1000.0, 50_000.0, 0.05).1, Stop::Ceiling);
        let (best, stop, _) = converge(0.5, 1000.0, 1e6, 0.05);
        assert_eq!((best, stop), (None, Stop::Floor));
        // Starting above the capacity searches downward first.
        let (best, stop, _) = converge(300.0, 1000.0, 1e6, 0.05);
        assert_eq!(stop, Stop::Converged);
        assert!(best.unwrap() >= 285.0);
    }
}
