//! The verdicts on synthetic runs with known truth: seconds whose latency level wanders as an
//! AR(1) process (so seconds are correlated, as real ones are), seeded, in pairs.

use super::series::{self, Series};
use super::*;

fn uniform(state: &mut u64) -> f64 {
    ((crate::rng::xorshift64(state) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn normal(state: &mut u64) -> f64 {
    let (u, v) = (uniform(state), uniform(state));
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// A synthetic run: `rounds` × `seconds`, `per_second` responses a second (±10 %), latency
/// lognormal around 1 ms × (1 + `shift`) with a level that follows AR(1) with `phi`, and a
/// 1 % error rate.
pub fn synthetic(seed: u64, rounds: usize, seconds: usize, phi: f64, shift: f64) -> Series {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::new();
    for _ in 0..rounds {
        let mut level = normal(&mut state) * 0.05;
        let mut round = Vec::new();
        for _ in 0..seconds {
            level = phi * level + (1.0 - phi * phi).sqrt() * 0.05 * normal(&mut state);
            let n = (200.0 * (1.0 + 0.1 * level / 0.05)).max(10.0).round() as usize;
            let mut hist: std::collections::BTreeMap<u64, f64> = Default::default();
            let mut failures = 0.0;
            for _ in 0..n {
                let us = 1000.0 * (1.0 + shift) * (level + 0.3 * normal(&mut state)).exp();
                // Three significant digits, as HdrHistogram keeps them.
                let mag = 10f64.powf(us.log10().floor() - 2.0);
                *hist.entry(((us / mag).round() * mag) as u64).or_default() += 1.0;
                if uniform(&mut state) < 0.01 {
                    failures += 1.0;
                }
            }
            let lat = hist.into_iter().map(|(v, c)| (v as f64, c)).collect();
            round.push(series::RawSecond {
                responses: n as f64,
                failures,
                attempts: n as f64,
                seconds: 1.0,
                latency: lat,
            });
        }
        out.push(round);
    }
    series::build(out)
}

fn side(s: &Series) -> Side<'_> {
    Side {
        series: s,
        unjudgeable: None,
    }
}

/// The share of pairs in which each metric was called changed.
fn called(
    pairs: u64,
    rounds: usize,
    seconds: usize,
    phi: f64,
    shift: f64,
    pairing: Pairing,
) -> [f64; 6] {
    let mut calls = [0u64; 6];
    let settings = Settings {
        pairing,
        replicates: 200,
        ..Settings::default()
    };
    for p in 0..pairs {
        let a = synthetic(2 * p + 1, rounds, seconds, phi, 0.0);
        let b = synthetic(2 * p + 2, rounds, seconds, phi, shift);
        for (i, v) in judge(&side(&a), &side(&b), settings, None)
            .iter()
            .enumerate()
        {
            if v.word.significant() {
                calls[i] += 1;
            }
        }
    }
    calls.map(|c| c as f64 / pairs as f64)
}

#[test]
fn same_server_pairs_are_called_changed_no_more_often_than_the_level() {
    // 95 % confidence: at most 5 % of pairs of identical runs may be called changed, for every
    // metric, with seconds as correlated as a shared machine makes them.
    for (phi, seconds) in [(0.0, 30), (0.5, 30), (0.7, 60)] {
        let rates = called(200, 1, seconds, phi, 0.0, Pairing::Unpaired);
        for (m, r) in METRICS.iter().zip(rates) {
            assert!(
                r <= 0.05,
                "{}: {:.1}% false positives at phi {phi}",
                m.name(),
                r * 100.0
            );
        }
    }
}

#[test]
fn same_server_rounds_are_called_changed_no_more_often_than_the_level() {
    let rates = called(120, 3, 10, 0.5, 0.0, Pairing::Paired);
    for (m, r) in METRICS.iter().zip(rates) {
        assert!(r <= 0.05, "{}: {:.1}% false positives", m.name(), r * 100.0);
    }
}

#[test]
fn a_real_slowdown_is_called_slower() {
    // 20 % slower everywhere: the median is called slower in nearly every pair, never faster.
    let settings = Settings {
        replicates: 200,
        ..Settings::default()
    };
    let (mut slower, mut covered) = (0, 0);
    for p in 0..20 {
        let a = synthetic(100 + p, 1, 30, 0.5, 0.0);
        let b = synthetic(200 + p, 1, 30, 0.5, 0.20);
        let v = &judge(&side(&a), &side(&b), settings, None)[2];
        assert_ne!(v.word, Word::Faster);
        slower += usize::from(v.word == Word::Slower);
        covered += usize::from(v.low < 0.20 && v.high > 0.20);
    }
    assert!(slower >= 18, "called slower in {slower} of 20");
    assert!(
        covered >= 17,
        "the interval held the true change in {covered} of 20"
    );
}

#[test]
fn an_unjudgeable_run_is_never_called_either_way() {
    let a = synthetic(1, 1, 20, 0.3, 0.0);
    let b = synthetic(2, 1, 20, 0.3, 1.0);
    let bound = Side {
        series: &b,
        unjudgeable: Some("was generator-bound".into()),
    };
    let vs = judge(&side(&a), &bound, Settings::default(), None);
    assert!(vs.iter().all(|v| !v.word.significant()));
    assert_eq!(
        vs[2].word,
        Word::NotJudged("new was generator-bound".into())
    );
    // The interval is still there to read.
    assert!(vs[2].low > 0.5);
}

/// The false-positive and power figures for docs/decisions/018 (slow: run with --ignored in
/// release).
#[test]
#[ignore]
fn calibration_table() {
    for (rounds, seconds, phi, pairing) in [
        (1, 10, 0.0, Pairing::Unpaired),
        (1, 30, 0.0, Pairing::Unpaired),
        (1, 30, 0.7, Pairing::Unpaired),
        (1, 30, 0.5, Pairing::Unpaired),
        (1, 60, 0.7, Pairing::Unpaired),
        (1, 60, 0.9, Pairing::Unpaired),
        (1, 300, 0.7, Pairing::Unpaired),
        (3, 10, 0.5, Pairing::Paired),
        (5, 10, 0.5, Pairing::Paired),
    ] {
        let fp = called(1000, rounds, seconds, phi, 0.0, pairing);
        let power = called(200, rounds, seconds, phi, 0.05, pairing);
        println!(
            "rounds {rounds} seconds {seconds} phi {phi}: false positives {:?} power at +5% {:?}",
            fp.map(|r| (r * 1000.0).round() / 10.0),
            power.map(|r| (r * 1000.0).round() / 10.0)
        );
    }
}
