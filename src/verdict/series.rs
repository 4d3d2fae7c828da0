//! A run as the verdicts see it: its seconds in order (responses, failures, a sparse latency
//! histogram each), split into rounds, and the figures of any selection of those seconds.

use std::ops::Range;

/// The figures a verdict is given for, in this order everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Rps,
    Errors,
    P50,
    P90,
    P99,
    P999,
}

pub const METRICS: [Metric; 6] = [
    Metric::Rps,
    Metric::Errors,
    Metric::P50,
    Metric::P90,
    Metric::P99,
    Metric::P999,
];

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Rps => "rps",
            Metric::Errors => "errors",
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P99 => "p99",
            Metric::P999 => "p99.9",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        METRICS.into_iter().find(|m| m.name() == s).or(match s {
            "p999" => Some(Metric::P999),
            "throughput" | "req/s" => Some(Metric::Rps),
            "error" | "error_rate" => Some(Metric::Errors),
            _ => None,
        })
    }

    /// The latency quantile, for the percentiles.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(0.5),
            Metric::P90 => Some(0.9),
            Metric::P99 => Some(0.99),
            Metric::P999 => Some(0.999),
            _ => None,
        }
    }

    /// Responses a run needs before this percentile means something: ten beyond it.
    pub fn responses_needed(self) -> u64 {
        match self.quantile() {
            Some(q) => (10.0 / (1.0 - q)).round() as u64,
            None => 1,
        }
    }
}

/// One second (or a few consecutive seconds pooled, for long runs) of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub responses: f64,
    /// Responses whose status was not expected, plus errors.
    pub failures: f64,
    /// Responses plus errors.
    pub attempts: f64,
    /// How long this sample is, in seconds.
    pub seconds: f64,
    /// (index into `Series::values`, count), ascending by index.
    pub latency: Vec<(u32, f64)>,
}

/// One run: its samples in time order, the distinct latency values they use, and where each
/// round starts and ends.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Distinct latency values (microseconds), ascending.
    pub values: Vec<f64>,
    pub samples: Vec<Sample>,
    /// Rounds as ranges of `samples`; one round for a single run.
    pub rounds: Vec<Range<usize>>,
}

/// The figures of a selection, in `METRICS` order (latency in microseconds, errors in
/// percentage points); NaN where there is nothing to measure.
pub type Figures = [f64; 6];

/// One second as read from a report, before its values are indexed.
#[derive(Debug, Clone, Default)]
pub struct RawSecond {
    pub responses: f64,
    pub failures: f64,
    pub attempts: f64,
    /// How long it is (1 for a report's seconds; a Locust history row's interval).
    pub seconds: f64,
    /// (value µs, count).
    pub latency: Vec<(f64, f64)>,
}

/// Builds a series from its seconds, one list per round.
pub fn build(rounds: Vec<Vec<RawSecond>>) -> Series {
    let mut values: Vec<f64> = rounds
        .iter()
        .flatten()
        .flat_map(|s| s.latency.iter().map(|(v, _)| *v))
        .collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let index = |v: f64| values.partition_point(|x| *x < v) as u32;
    let mut series = Series::default();
    for round in rounds {
        let start = series.samples.len();
        for raw in round {
            let mut latency: Vec<(u32, f64)> = raw
                .latency
                .iter()
                .filter(|(_, c)| *c > 0.0)
                .map(|(v, c)| (index(*v), *c))
                .collect();
            latency.sort_by_key(|p| p.0);
            series.samples.push(Sample {
                responses: raw.responses,
                failures: raw.failures,
                attempts: raw.attempts,
                seconds: raw.seconds,
                latency,
            });
        }
        series.rounds.push(start..series.samples.len());
    }
    series.values = values;
    series
}

impl Series {
    pub fn responses(&self) -> f64 {
        self.samples.iter().map(|s| s.responses).sum()
    }

    /// The same run with at most `most` samples: consecutive seconds of a round pooled, so
    /// that resampling a long run stays cheap. Blocks are longer than the pooling anyway.
    pub fn coarsened(&self, most: usize) -> Series {
        let n = self.samples.len();
        if n <= most {
            return self.clone();
        }
        let factor = n.div_ceil(most);
        let mut out = Series {
            values: self.values.clone(),
            ..Series::default()
        };
        for round in &self.rounds {
            let start = out.samples.len();
            for chunk in self.samples[round.clone()].chunks(factor) {
                let mut pooled = Sample::default();
                let mut dense: std::collections::BTreeMap<u32, f64> = Default::default();
                for s in chunk {
                    pooled.responses += s.responses;
                    pooled.failures += s.failures;
                    pooled.attempts += s.attempts;
                    pooled.seconds += s.seconds;
                    for (i, c) in &s.latency {
                        *dense.entry(*i).or_default() += c;
                    }
                }
                pooled.latency = dense.into_iter().collect();
                out.samples.push(pooled);
            }
            out.rounds.push(start..out.samples.len());
        }
        out
    }

    /// The figures of the samples `picks` (indices, repeats allowed); `scratch` is reused.
    pub fn figures(&self, picks: &[usize], scratch: &mut Vec<f64>) -> Figures {
        scratch.clear();
        scratch.resize(self.values.len(), 0.0);
        let (mut responses, mut failures, mut attempts, mut seconds) = (0.0, 0.0, 0.0, 0.0);
        let mut total = 0.0;
        for &i in picks {
            let s = &self.samples[i];
            responses += s.responses;
            failures += s.failures;
            attempts += s.attempts;
            seconds += s.seconds;
            for (v, c) in &s.latency {
                scratch[*v as usize] += c;
                total += c;
            }
        }
        let mut out = [f64::NAN; 6];
        if seconds > 0.0 {
            out[0] = responses / seconds;
        }
        if attempts > 0.0 {
            out[1] = 100.0 * failures / attempts;
        }
        if total > 0.0 {
            // One pass for all four quantiles, as HdrHistogram counts them: the first value
            // whose cumulative count reaches ceil(q × total).
            let targets = [0.5, 0.9, 0.99, 0.999].map(|q: f64| (q * total).ceil().max(1.0));
            let (mut cum, mut next) = (0.0, 0);
            for (i, c) in scratch.iter().enumerate() {
                cum += c;
                while next < 4 && cum >= targets[next] - 1e-9 {
                    out[2 + next] = self.values[i];
                    next += 1;
                }
                if next == 4 {
                    break;
                }
            }
            for o in out.iter_mut().skip(2 + next) {
                *o = *self.values.last().expect("a value exists when total > 0");
            }
        }
        out
    }

    /// The latency distribution as (percentile, µs) points, out to 99.999 %.
    pub fn spectrum(&self) -> Vec<(f64, f64)> {
        let mut total = 0.0;
        let mut dense = vec![0.0; self.values.len()];
        for s in &self.samples {
            for (i, c) in &s.latency {
                dense[*i as usize] += c;
                total += c;
            }
        }
        if total <= 0.0 {
            return Vec::new();
        }
        let qs = [
            0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99999,
        ];
        let mut out = Vec::new();
        let (mut cum, mut next) = (0.0, 0);
        for (i, c) in dense.iter().enumerate() {
            cum += c;
            while next < qs.len() && cum >= (qs[next] * total).ceil().max(1.0) - 1e-9 {
                out.push((qs[next] * 100.0, self.values[i]));
                next += 1;
            }
        }
        out
    }

    /// The figures of every sample.
    pub fn whole(&self) -> Figures {
        let all: Vec<usize> = (0..self.samples.len()).collect();
        self.figures(&all, &mut Vec::new())
    }

    /// The figures of each round.
    pub fn per_round(&self) -> Vec<Figures> {
        let mut scratch = Vec::new();
        self.rounds
            .iter()
            .map(|r| self.figures(&r.clone().collect::<Vec<_>>(), &mut scratch))
            .collect()
    }

    /// One scalar per sample for each metric, for choosing block lengths: its rate, failure
    /// share, and the log of its median and 99th percentile.
    pub fn per_sample(&self) -> Vec<Figures> {
        let mut scratch = Vec::new();
        (0..self.samples.len())
            .map(|i| {
                let mut f = self.figures(&[i], &mut scratch);
                for v in f.iter_mut().skip(2) {
                    *v = v.max(1.0).ln();
                }
                f
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_pool_the_picked_seconds() {
        let second = |responses: f64, failures: f64, latency: Vec<(f64, f64)>| RawSecond {
            responses,
            failures,
            attempts: responses,
            seconds: 1.0,
            latency,
        };
        let s = build(vec![vec![
            second(10.0, 1.0, vec![(100.0, 9.0), (900.0, 1.0)]),
            second(20.0, 0.0, vec![(200.0, 20.0)]),
        ]]);
        let f = s.whole();
        assert_eq!(f[0], 15.0);
        assert!((f[1] - 100.0 / 30.0).abs() < 1e-9);
        assert_eq!(f[2], 200.0);
        assert_eq!(f[5], 900.0);
        // Picking the first second twice.
        let g = s.figures(&[0, 0], &mut Vec::new());
        assert_eq!((g[0], g[2], g[4]), (10.0, 100.0, 900.0));
        let c = s.coarsened(1);
        assert_eq!(c.samples.len(), 1);
        assert_eq!(c.whole(), f);
    }
}
