//! `run --rounds N` and `ab URL_A URL_B`: the same plan run N times (interleaved A B B A … for
//! `ab`), every round kept in the report, their variation measured, never best-of-N.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::{AbArgs, RunArgs};
use crate::error::{Exit, SetupError};
use crate::output::Outputs;
use crate::pipeline::{LoadCommand, Pipeline};
use crate::plan::RunPlan;
use crate::report::{NOISY_CV, Report, RoundsSummary};
use crate::verdict;

/// Runs one round of `args` with no outputs of its own, and says it in one line.
fn one_round(
    args: &RunArgs,
    label: &str,
    index: usize,
    total: usize,
    stop: &Arc<AtomicBool>,
) -> Result<Report, SetupError> {
    let mut pipeline = Pipeline::round(RunPlan::from_args(args)?)?;
    let result = pipeline.run(stop.clone())?;
    let r = pipeline.report(&result);
    let failed = r.requests.responses - r.requests.ok + r.requests.errors;
    println!(
        "round {}/{total}{label}: {:.1} req/s, p50 {:.2}ms, p99 {:.2}ms, {failed} failed{}",
        index + 1,
        r.rps,
        r.latency_us.p50 as f64 / 1000.0,
        r.latency_us.p99 as f64 / 1000.0,
        if r.interrupted { " (interrupted)" } else { "" }
    );
    Ok(r)
}

/// Waits `pause` between rounds, or less if asked to stop.
fn pause(args: &RunArgs, stop: &AtomicBool) {
    let until = std::time::Instant::now() + args.pause;
    while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The rounds pooled into one report that keeps them, with their variation.
pub fn pooled(rounds: Vec<Report>, pause_s: f64, labels: Vec<String>) -> Result<Report, String> {
    let mut r = crate::merge::pool(&rounds)?;
    let rps: Vec<f64> = rounds.iter().map(|x| x.rps).collect();
    let p99: Vec<f64> = rounds.iter().map(|x| x.latency_us.p99 as f64).collect();
    let (rps_cv, p99_cv) = (verdict::cv(&rps), verdict::cv(&p99));
    r.rounds_summary = Some(RoundsSummary {
        count: rounds.len() as u64,
        pause_s,
        rps_cv: (rps_cv * 1e4).round() / 1e4,
        p99_cv: (p99_cv * 1e4).round() / 1e4,
        noisy: rps_cv > NOISY_CV || p99_cv > NOISY_CV,
        labels,
    });
    r.interrupted = rounds.iter().any(|x| x.interrupted);
    r.rounds = rounds;
    Ok(r)
}

/// One line on how much the rounds varied.
pub fn summary_line(name: &str, r: &Report) -> String {
    let Some(s) = &r.rounds_summary else {
        return String::new();
    };
    format!(
        "{name}{} rounds: req/s varied {:.1}%, p99 {:.1}% (coefficient of variation){}",
        s.count,
        s.rps_cv * 100.0,
        s.p99_cv * 100.0,
        if s.noisy {
            "; NOISY: above 5 %, differences below that are not to be trusted"
        } else {
            ""
        }
    )
}

/// `run --rounds N`.
pub fn run(args: &RunArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    crate::pipeline::check(LoadCommand::Run, args)?;
    let n = args.rounds as usize;
    let mut rounds = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 {
            pause(args, &stop);
        }
        if stop.load(Ordering::Relaxed) && !rounds.is_empty() {
            break;
        }
        rounds.push(one_round(args, "", i, n, &stop)?);
    }
    let report = pooled(rounds, args.pause.as_secs_f64(), Vec::new()).map_err(SetupError::Usage)?;
    finish(args, &report)
}

/// Writes the pooled report's outputs and says how the process ends.
fn finish(args: &RunArgs, report: &Report) -> Result<Exit, SetupError> {
    let mut outputs = Outputs::default();
    outputs.finals(
        report.endpoints.len(),
        args.json.as_deref(),
        args.html.as_deref(),
        None,
    );
    if !outputs.finish(report) {
        return Ok(Exit::Failed);
    }
    println!("{}", summary_line("", report));
    Ok(if report.assertions_passed() {
        Exit::Completed
    } else {
        Exit::AssertionFailed
    })
}

/// The order `ab` runs its rounds in: A B, then B A, then A B …, so that drift in the machine
/// falls on both alike.
pub fn ab_order(pairs: usize) -> Vec<bool> {
    (0..pairs)
        .flat_map(|k| {
            if k % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            }
        })
        .collect()
}

/// `ab URL_A URL_B`: rounds of A and B interleaved, then the verdict of B against A.
pub fn ab(args: &AbArgs, stop: Arc<AtomicBool>) -> Result<Exit, SetupError> {
    let usage = |m: String| SetupError::Usage(m);
    let mut a_args = args.run.clone();
    // Unless told otherwise, three rounds of each: the fewest whose spread means something.
    if a_args.rounds == 1 {
        a_args.rounds = 3;
    }
    let (json, html, markdown) = (a_args.json.take(), a_args.html.take(), args.markdown);
    crate::pipeline::check(LoadCommand::Run, &a_args)?;
    let (Some(_), Some(b_url)) = (&a_args.url, &args.b) else {
        return Err(usage(
            "ab needs two URLs: ringblast ab URL_A URL_B [run flags]".into(),
        ));
    };
    let mut b_args = a_args.clone();
    b_args.url = Some(b_url.clone());
    let gates = args
        .fail_if
        .iter()
        .map(|g| verdict::gate::Gate::parse(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let confidence = crate::compare::parse_confidence(&args.confidence).map_err(usage)?;
    let order = ab_order(a_args.rounds as usize);
    let total = order.len();
    let (mut a, mut b, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for (i, is_b) in order.iter().enumerate() {
        if i > 0 {
            pause(&a_args, &stop);
        }
        if stop.load(Ordering::Relaxed) && i > 0 {
            break;
        }
        let (which, label) = if *is_b {
            (&b_args, " (B)")
        } else {
            (&a_args, " (A)")
        };
        let r = one_round(which, label, i, total, &stop)?;
        labels.push(if *is_b { "B" } else { "A" }.to_string());
        if *is_b { &mut b } else { &mut a }.push(r);
    }
    // An interrupted ab keeps whole pairs only, so each A has its B.
    let pairs = a.len().min(b.len());
    if pairs == 0 {
        return Err(usage(
            "ab was interrupted before a pair of rounds ran".into(),
        ));
    }
    a.truncate(pairs);
    b.truncate(pairs);
    let pause_s = a_args.pause.as_secs_f64();
    let ra = pooled(a, pause_s, labels.clone()).map_err(usage)?;
    let rb = pooled(b, pause_s, labels.clone()).map_err(usage)?;
    let cmp = crate::compare::verdicts::of_reports(
        ("A", &ra),
        ("B", &rb),
        verdict::Settings {
            confidence,
            pairing: verdict::Pairing::Paired,
            ..verdict::Settings::default()
        },
        &gates,
    );
    println!("{}", summary_line("A: ", &ra));
    println!("{}", summary_line("B: ", &rb));
    print!("{}", cmp.render(markdown));
    if let Some(path) = &json {
        let doc = serde_json::json!({
            "ringblast_version": env!("CARGO_PKG_VERSION"),
            "ab": { "a": ra.url, "b": rb.url, "order": labels },
            "comparison": cmp,
            "a": ra,
            "b": rb,
        });
        crate::compare::write_whole(
            path,
            &serde_json::to_string_pretty(&doc).unwrap_or_default(),
        )
        .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
    }
    if let Some(path) = &html {
        crate::compare::write_whole(
            path,
            &crate::compare::html::render_all(std::slice::from_ref(&cmp)),
        )
        .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(cmp.exit())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ab_alternates_pairs() {
        let order: String = super::ab_order(4)
            .iter()
            .map(|b| if *b { 'B' } else { 'A' })
            .collect();
        assert_eq!(order, "ABBAABBA");
    }
}
