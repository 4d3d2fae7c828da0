//! The circular block bootstrap over a run's seconds: block lengths chosen from the data
//! (Politis and White), and replicate runs drawn block by block within each round.

use super::series::{Figures, Series};

/// A series' autocovariances and the lag beyond which they are noise (Politis 2003: the first
/// lag followed by `kn` insignificant autocorrelations), or None when it does not vary.
fn correlation(x: &[f64]) -> Option<(Vec<f64>, usize)> {
    let x: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let n = x.len();
    if n < 6 {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let nf = n as f64;
    let kn = 5usize.max(nf.log10().sqrt().ceil() as usize);
    let max_lag = (n - 1).min(2 * nf.sqrt().ceil() as usize + kn);
    let acov: Vec<f64> = (0..=max_lag)
        .map(|k| {
            (k..n)
                .map(|t| (x[t] - mean) * (x[t - k] - mean))
                .sum::<f64>()
                / nf
        })
        .collect();
    if acov[0] <= 0.0 {
        return None;
    }
    let c = 2.0 * (nf.log10() / nf).sqrt();
    let m_hat = (0..max_lag)
        .find(|m| (1..=kn).all(|k| acov.get(m + k).is_none_or(|r| (r / acov[0]).abs() < c)))
        .unwrap_or(max_lag);
    Some((acov, m_hat))
}

/// The flat-top lag window (Politis & Romano): 1 to half the bandwidth, then down to 0.
fn flat_top(t: f64) -> f64 {
    let t = t.abs();
    if t <= 0.5 {
        1.0
    } else if t <= 1.0 {
        2.0 * (1.0 - t)
    } else {
        0.0
    }
}

/// The circular block bootstrap's block length for one scalar series (Politis & White 2004,
/// with Patton, Politis & White's 2009 correction): long where the seconds are correlated,
/// 1 where they are not. At least 1, at most a third of the series.
pub fn block_length(x: &[f64]) -> f64 {
    let Some((acov, m_hat)) = correlation(x) else {
        return 1.0;
    };
    let nf = x.len() as f64;
    let big_m = (2 * m_hat).min(acov.len() - 1);
    if big_m == 0 {
        return 1.0;
    }
    let (mut g, mut g0) = (0.0, acov[0]);
    for (k, r) in acov.iter().enumerate().take(big_m + 1).skip(1) {
        let w = flat_top(k as f64 / big_m as f64);
        g += 2.0 * w * k as f64 * r;
        g0 += 2.0 * w * r;
    }
    let d = 4.0 / 3.0 * g0 * g0;
    if d <= 0.0 {
        return 1.0;
    }
    let l = (2.0 * g * g / d).cbrt() * nf.cbrt();
    l.clamp(1.0, nf / 3.0)
}

/// How much of a series' long-run variance a circular block bootstrap with blocks of `block`
/// misses, as a factor (at least 1, at most 6). Two biases: the bootstrap reproduces the
/// Bartlett-weighted autocovariances, missing correlation beyond its block (the flat-top
/// estimate says how much), and autocovariances around an estimated mean are low by about
/// the long-run variance over n each (so the sum over 2M + 1 lags is low by (2M + 1)/n).
pub fn missed_variance(x: &[f64], block: usize) -> f64 {
    let Some((acov, m_hat)) = correlation(x) else {
        return 1.0;
    };
    let n = x.iter().filter(|v| v.is_finite()).count() as f64;
    // A bandwidth of at least the block: short runs hide their correlation from the test.
    let big_m = (2 * m_hat).max(block).min(acov.len() - 1).max(1);
    let (mut flat, mut bartlett) = (acov[0], acov[0]);
    for (k, r) in acov.iter().enumerate().skip(1) {
        flat += 2.0 * flat_top(k as f64 / big_m as f64) * r;
        if k < block {
            bartlett += 2.0 * (1.0 - k as f64 / block as f64) * r;
        }
    }
    if bartlett <= 0.0 || flat <= 0.0 {
        return 1.0;
    }
    let demeaned = (1.0 - (2 * big_m + 1) as f64 / n).max(0.5);
    (flat / bartlett / demeaned).clamp(1.0, 6.0)
}

/// Draws replicate runs of a series: each round rebuilt from circular blocks of its own seconds,
/// so a replicate has the same rounds and lengths as the run.
pub struct Resampler<'a> {
    series: &'a Series,
    /// Block length per round, in samples.
    lengths: Vec<usize>,
    /// Per metric, the variance the blocks miss (the largest of any round's).
    missed: [f64; 6],
    state: u64,
}

impl<'a> Resampler<'a> {
    pub fn new(series: &'a Series, seed: u64) -> Self {
        let per_sample = series.per_sample();
        let lengths = series
            .rounds
            .iter()
            .map(|r| {
                // The longest block any metric asks for, and never shorter than √n: short runs
                // cannot show their own correlation reliably, and too short a block hides it
                // (see docs/decisions/018).
                (0..6)
                    .map(|m| {
                        let x: Vec<f64> = per_sample[r.clone()].iter().map(|f| f[m]).collect();
                        block_length(&x)
                    })
                    .fold((r.len() as f64).sqrt(), f64::max)
                    .round()
                    .max(1.0) as usize
            })
            .collect::<Vec<usize>>();
        let mut missed = [1.0f64; 6];
        for (r, len) in series.rounds.iter().zip(&lengths) {
            for (m, slot) in missed.iter_mut().enumerate() {
                let x: Vec<f64> = per_sample[r.clone()].iter().map(|f| f[m]).collect();
                *slot = slot.max(missed_variance(&x, *len));
            }
        }
        Self {
            series,
            lengths,
            missed,
            state: seed | 1,
        }
    }

    /// Independent blocks in the run: the degrees of freedom its resampling has.
    pub fn blocks(&self) -> f64 {
        self.series
            .rounds
            .iter()
            .zip(&self.lengths)
            .map(|(r, l)| r.len() as f64 / *l as f64)
            .sum()
    }

    /// The variance of `metric`'s figure the blocks miss, as a factor (≥ 1).
    pub fn missed(&self, metric: usize) -> f64 {
        self.missed[metric]
    }

    fn next(&mut self, below: usize) -> usize {
        (crate::rng::xorshift64(&mut self.state) % below as u64) as usize
    }

    /// One replicate's figures.
    pub fn replicate(&mut self, picks: &mut Vec<usize>, scratch: &mut Vec<f64>) -> Figures {
        picks.clear();
        for (round, len) in self.series.rounds.clone().iter().zip(self.lengths.clone()) {
            let n = round.len();
            if n == 0 {
                continue;
            }
            while picks.len() < round.end {
                let start = self.next(n);
                for k in 0..len {
                    if picks.len() >= round.end {
                        break;
                    }
                    picks.push(round.start + (start + k) % n);
                }
            }
        }
        self.series.figures(picks, scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_lengths_follow_the_correlation() {
        let mut state = 7u64;
        let mut noise = || (crate::rng::xorshift64(&mut state) % 10_000) as f64 / 10_000.0 - 0.5;
        let iid: Vec<f64> = (0..200).map(|_| noise()).collect();
        let mut level = 0.0;
        let ar: Vec<f64> = (0..200)
            .map(|_| {
                level = 0.9 * level + noise();
                level
            })
            .collect();
        let (a, b) = (block_length(&iid), block_length(&ar));
        assert!(a < 2.5, "independent seconds: {a}");
        assert!(b > 4.0 && b > 2.0 * a, "correlated seconds: {b} vs {a}");
        assert_eq!(block_length(&[1.0; 50]), 1.0);
    }
}
