//! `--fail-if` gates: a limit on one metric's change (`p99>+10%`, `rps<-5%`, `errors>+0.1pp`),
//! breached only when the whole confidence interval lies beyond it.

use super::Verdict;
use super::series::Metric;

#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub text: String,
    pub metric: Metric,
    /// `>`: fails when the change is above the limit; `<`: below it.
    pub above: bool,
    /// Relative (0.10 for +10 %) or, for errors, percentage points.
    pub limit: f64,
}

/// What a gate found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Breached,
    Held,
    NotJudged,
}

impl Gate {
    pub fn parse(text: &str) -> Result<Gate, String> {
        let usage = || {
            format!(
                "--fail-if '{text}': expected METRIC>LIMIT or METRIC<LIMIT, e.g. 'p99>+10%', \
                 'rps<-5%' or 'errors>+0.1pp' (metrics: rps, errors, p50, p90, p99, p99.9)"
            )
        };
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let at = t.find(['>', '<']).ok_or_else(usage)?;
        let (name, rest) = t.split_at(at);
        let above = rest.starts_with('>');
        let metric = Metric::parse(&name.to_ascii_lowercase()).ok_or_else(usage)?;
        let value = &rest[1..];
        let limit = if metric == Metric::Errors {
            let v = value.strip_suffix("pp").ok_or_else(|| {
                format!("--fail-if '{text}': the error rate's limit is in percentage points, e.g. 'errors>+0.1pp'")
            })?;
            v.parse::<f64>().map_err(|_| usage())?
        } else {
            let v = value.strip_suffix('%').ok_or_else(|| {
                format!(
                    "--fail-if '{text}': the limit is a relative change in %, e.g. '{}>+10%'",
                    metric.name()
                )
            })?;
            v.parse::<f64>().map_err(|_| usage())? / 100.0
        };
        if !limit.is_finite() || (metric != Metric::Errors && limit <= -1.0) {
            return Err(usage());
        }
        Ok(Gate {
            text: text.to_string(),
            metric,
            above,
            limit,
        })
    }

    /// Breached when the verdict is a judged one and its interval lies wholly beyond the limit.
    pub fn check(&self, v: &Verdict) -> Outcome {
        if matches!(v.word, super::Word::NotJudged(_)) || !v.low.is_finite() {
            return Outcome::NotJudged;
        }
        let beyond = if self.above {
            v.low > self.limit
        } else {
            v.high < self.limit
        };
        if beyond {
            Outcome::Breached
        } else {
            Outcome::Held
        }
    }

    /// One line: `FAIL p99>+10%: p99 +23.1% [+15.2%, +31.0%] (slower)`.
    pub fn line(&self, v: &Verdict) -> String {
        let (head, tail) = match self.check(v) {
            Outcome::Breached => ("FAIL", "beyond the limit at this confidence".to_string()),
            Outcome::Held => (
                "pass",
                "not beyond the limit at this confidence".to_string(),
            ),
            Outcome::NotJudged => ("pass", v.word.text()),
        };
        format!(
            "{head} {}: {} {} ({tail})",
            self.text,
            v.metric,
            v.change_text()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_parse_or_say_how() {
        let g = Gate::parse("p99>+10%").unwrap();
        assert_eq!((g.metric, g.above, g.limit), (Metric::P99, true, 0.10));
        let g = Gate::parse(" rps < -5% ").unwrap();
        assert_eq!((g.metric, g.above, g.limit), (Metric::Rps, false, -0.05));
        let g = Gate::parse("errors>+0.1pp").unwrap();
        assert_eq!((g.metric, g.limit), (Metric::Errors, 0.1));
        assert_eq!(Gate::parse("p99.9>5%").unwrap().metric, Metric::P999);
        for bad in [
            "p99",
            "p98>1%",
            "p99>10",
            "errors>1%",
            "rps<-200%",
            "p99>x%",
        ] {
            assert!(Gate::parse(bad).is_err(), "{bad}");
        }
    }
}
