//! One representation of load: a value over time (a request rate, users, or connections) that
//! starts at `start` and moves linearly between points. Flags resolve into it; workers read it.

use crate::error::InvalidValue;

use std::time::Duration;

/// Connections (or demo users) when none are asked for.
pub const DEFAULT_CONNECTIONS: u32 = 64;

/// Wait between a user's requests (Locust's `wait_time`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Think {
    None,
    Constant(Duration),
    /// Uniformly random between the two, like Locust's `between`.
    Uniform(Duration, Duration),
    /// A task starts this long after the last one started, however long it took (Locust's
    /// `constant_pacing`; `constant_throughput(n)` is a pacing of 1/n s).
    Pacing(Duration),
}

impl Think {
    /// `1s` (constant), `500ms..1500ms` (uniform) or `pacing 2s`.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        if let Some(every) = text.strip_prefix("pacing ") {
            return Ok(Self::Pacing(crate::units::parse_duration(every.trim())?));
        }
        match text.split_once("..") {
            Some((lo, hi)) => {
                let (lo, hi) = (
                    crate::units::parse_duration(lo)?,
                    crate::units::parse_duration(hi)?,
                );
                if lo > hi {
                    return Err(InvalidValue::from(format!(
                        "{text}: the lower bound is above the upper"
                    )));
                }
                Ok(Self::Uniform(lo, hi))
            }
            None => Ok(Self::Constant(crate::units::parse_duration(text)?)),
        }
    }
}

/// What the shape's value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Open loop: requests per second across all workers.
    Rate,
    /// Closed loop, Locust-style: users, each with its own connection and think time.
    Users,
    /// Closed loop, wrk-style: connections, each sending its next request on the last response.
    Connections,
}

/// Load over time: `start` at t = 0, then straight lines through each `(time, value)` point.
/// After the last point the run ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub kind: Kind,
    pub start: f64,
    /// Absolute times (seconds since the start), strictly increasing, with the value reached.
    pub points: Vec<(f64, f64)>,
}

impl Shape {
    /// The same value for `duration`.
    pub fn constant(kind: Kind, value: f64, duration: Duration) -> Self {
        Self {
            kind,
            start: value,
            points: vec![(duration.as_secs_f64(), value)],
        }
    }

    /// From `from` to `to` in a straight line over `duration`.
    pub fn ramp(kind: Kind, from: f64, to: f64, duration: Duration) -> Self {
        Self {
            kind,
            start: from,
            points: vec![(duration.as_secs_f64(), to)],
        }
    }

    /// Stages as k6 writes them: each `(length, value)` moves linearly from the previous value
    /// (0 at the start) to its own over its length.
    pub fn stages(kind: Kind, stages: &[(Duration, f64)]) -> Self {
        let mut t = 0.0;
        let points = stages
            .iter()
            .map(|(d, v)| {
                t += d.as_secs_f64();
                (t, *v)
            })
            .collect();
        Self {
            kind,
            start: 0.0,
            points,
        }
    }

    /// Prepends `warmup` seconds at the starting value; the measured shape follows unchanged.
    pub fn with_warmup(mut self, warmup: Duration) -> Self {
        let w = warmup.as_secs_f64();
        if w > 0.0 {
            for p in &mut self.points {
                p.0 += w;
            }
            self.points.insert(0, (w, self.start));
        }
        self
    }

    /// Seconds until the shape ends.
    pub fn end(&self) -> f64 {
        self.points.last().map_or(0.0, |p| p.0)
    }

    /// The largest value the shape ever takes.
    pub fn peak(&self) -> f64 {
        self.points.iter().map(|p| p.1).fold(self.start, f64::max)
    }

    /// The segments as (t0, v0, t1, v1).
    fn segments(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        let mut prev = (0.0, self.start);
        self.points.iter().map(move |&(t, v)| {
            let seg = (prev.0, prev.1, t, v);
            prev = (t, v);
            seg
        })
    }

    /// The value at time `t` (seconds); the last value after the end.
    pub fn value_at(&self, t: f64) -> f64 {
        for (t0, v0, t1, v1) in self.segments() {
            if t <= t1 {
                if t1 <= t0 {
                    return v1;
                }
                let f = ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
                return v0 + (v1 - v0) * f;
            }
        }
        self.points.last().map_or(self.start, |p| p.1)
    }

    /// The integral of the value from 0 to `t` (for a rate: requests due by `t`), clamped at the end.
    pub fn cumulative(&self, t: f64) -> f64 {
        let mut total = 0.0;
        for (t0, v0, t1, v1) in self.segments() {
            if t <= t0 {
                break;
            }
            let len = t1 - t0;
            let tau = (t.min(t1)) - t0;
            if len > 0.0 {
                total += v0 * tau + (v1 - v0) * tau * tau / (2.0 * len);
            }
        }
        total
    }

    /// The earliest time at which `cumulative` reaches `n`, or None if it never does.
    pub fn time_of(&self, n: f64) -> Option<f64> {
        if n <= 0.0 {
            return Some(0.0);
        }
        let mut before = 0.0;
        for (t0, v0, t1, v1) in self.segments() {
            let len = t1 - t0;
            if len <= 0.0 {
                continue;
            }
            let area = (v0 + v1) / 2.0 * len;
            if before + area >= n {
                // Solve v0·τ + (v1−v0)·τ²/(2·len) = r in the stable form 2r / (b + √(b² + 4ar)).
                let r = n - before;
                let a = (v1 - v0) / (2.0 * len);
                let disc = (v0 * v0 + 4.0 * a * r).max(0.0);
                let denom = v0 + disc.sqrt();
                let tau = if denom > 0.0 { 2.0 * r / denom } else { len };
                return Some(t0 + tau.min(len));
            }
            before += area;
        }
        None
    }
}

/// This process's part of a plan split across `count` processes (`--shard index/count`): shard
/// `i` owns every global request and user index `g` with `g % count == i`, and an exact share of
/// whole quantities (connections, `-n`). The default is the whole plan (0/1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

impl Shard {
    /// This shard's part of `total` things: the parts of all shards add up to `total` and differ
    /// by at most one (earlier shards take the remainder).
    pub fn part(&self, total: u64) -> u64 {
        total / self.count + u64::from(self.index < total % self.count)
    }

    /// Worker `worker` of this shard's `workers`: it owns the indices of this shard that fall
    /// to it, `g = (k * workers + worker) * count + index`, an arithmetic progression again,
    /// whatever the other shards' worker counts.
    pub fn share(&self, worker: u64, workers: u64) -> Share {
        Share {
            worker: worker * self.count + self.index,
            workers: workers * self.count,
        }
    }

    /// This shard as a share of the global sequence.
    pub fn as_share(&self) -> Share {
        Share {
            worker: self.index,
            workers: self.count,
        }
    }
}

/// The part of a global sequence (requests or users numbered 0, 1, 2, …) that one worker owns:
/// worker `w` of `n` takes every index `i` with `i % n == w`, so the workers' shares interleave
/// exactly into the global schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub worker: u64,
    pub workers: u64,
}

impl Share {
    /// How many of this worker's indices are below `global` (a count of items due or active).
    pub fn count_below(&self, global: u64) -> u64 {
        if global <= self.worker {
            0
        } else {
            (global - 1 - self.worker) / self.workers + 1
        }
    }

    /// The global index of this worker's `j`-th item.
    pub fn global(&self, j: u64) -> u64 {
        j * self.workers + self.worker
    }
}

/// When this worker's `j`-th request of an open-loop rate shape is due (seconds), if ever.
/// Request `g` (global, from 0) is due when the cumulative rate reaches `g`.
pub fn due_time(shape: &Shape, share: Share, j: u64) -> Option<f64> {
    shape.time_of(share.global(j) as f64)
}

/// How many of this worker's requests are due at time `t` (seconds).
pub fn due_count(shape: &Shape, share: Share, t: f64) -> u64 {
    // Request g is due once cumulative(t) >= g, so requests 0..=floor(cumulative) are due; the
    // run holds only those due strictly before the end: g < cumulative(end).
    let c = shape.cumulative(t.min(shape.end()));
    let total = shape.cumulative(shape.end()).ceil() as u64;
    share.count_below((c.floor() as u64 + 1).min(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_exactly_and_their_workers_partition_the_sequence() {
        // 3 shards with 2, 1 and 3 workers: every index below 1000 is owned exactly once.
        let workers = [2u64, 1, 3];
        let mut owners = vec![0u32; 1000];
        for (i, &w) in workers.iter().enumerate() {
            let shard = Shard {
                index: i as u64,
                count: 3,
            };
            for worker in 0..w {
                let share = shard.share(worker, w);
                let mut j = 0;
                while share.global(j) < 1000 {
                    owners[share.global(j) as usize] += 1;
                    j += 1;
                }
                assert_eq!(j, share.count_below(1000));
            }
            assert_eq!(
                shard.as_share().count_below(1000),
                (0..1000).filter(|g| g % 3 == i as u64).count() as u64
            );
        }
        assert!(owners.iter().all(|&n| n == 1));
        let parts: Vec<u64> = (0..4)
            .map(|i| Shard { index: i, count: 4 }.part(10))
            .collect();
        assert_eq!(parts, vec![3, 3, 2, 2]);
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * (1.0 + b.abs())
    }

    #[test]
    fn constant_rate() {
        let s = Shape::constant(Kind::Rate, 1000.0, Duration::from_secs(10));
        assert!(close(s.cumulative(2.0), 2000.0));
        assert!(close(s.time_of(1500.0).unwrap(), 1.5));
        assert!(close(s.cumulative(20.0), 10_000.0), "clamped at the end");
        assert_eq!(s.time_of(10_001.0), None);
        assert_eq!(s.value_at(3.0), 1000.0);
    }

    #[test]
    fn ramps_up_and_down() {
        let up = Shape::ramp(Kind::Rate, 0.0, 100.0, Duration::from_secs(10));
        assert!(close(up.value_at(5.0), 50.0));
        assert!(close(up.cumulative(10.0), 500.0));
        assert!(
            close(up.time_of(125.0).unwrap(), 5.0),
            "area under 0..5 is 125"
        );
        let down = Shape::ramp(Kind::Rate, 100.0, 0.0, Duration::from_secs(10));
        assert!(close(down.cumulative(10.0), 500.0));
        assert!(close(down.time_of(375.0).unwrap(), 5.0));
        for n in [1.0, 10.0, 250.0, 499.0] {
            let t = down.time_of(n).unwrap();
            assert!(close(down.cumulative(t), n), "inverse at {n}");
        }
    }

    #[test]
    fn stages_like_k6() {
        let s = Shape::stages(
            Kind::Rate,
            &[
                (Duration::from_secs(30), 1000.0),
                (Duration::from_secs(60), 20000.0),
                (Duration::from_secs(30), 0.0),
            ],
        );
        assert_eq!(s.end(), 120.0);
        assert!(close(s.value_at(15.0), 500.0));
        assert!(close(s.value_at(60.0), 10500.0));
        assert!(close(s.value_at(105.0), 10000.0));
        assert_eq!(s.peak(), 20000.0);
        let total = 0.5 * 30.0 * 1000.0 + (1000.0 + 20000.0) / 2.0 * 60.0 + 0.5 * 30.0 * 20000.0;
        assert!(close(s.cumulative(120.0), total));
    }

    #[test]
    fn warmup_holds_the_start_value() {
        let s = Shape::ramp(Kind::Rate, 100.0, 200.0, Duration::from_secs(10))
            .with_warmup(Duration::from_secs(5));
        assert_eq!(s.end(), 15.0);
        assert_eq!(s.value_at(3.0), 100.0);
        assert!(close(s.value_at(10.0), 150.0));
        assert!(close(s.cumulative(5.0), 500.0));
    }

    #[test]
    fn shares_interleave_into_the_global_schedule() {
        let s = Shape::constant(Kind::Rate, 1000.0, Duration::from_secs(1));
        let shares = [
            Share {
                worker: 0,
                workers: 3,
            },
            Share {
                worker: 1,
                workers: 3,
            },
            Share {
                worker: 2,
                workers: 3,
            },
        ];
        let shape = &s;
        let mut all: Vec<f64> = shares
            .iter()
            .flat_map(|&sh| (0..).map_while(move |j| due_time(shape, sh, j)))
            .collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(
            all.len(),
            1001,
            "time_of reaches g = 1000 exactly at the end"
        );
        for (g, t) in all.iter().enumerate() {
            assert!(close(*t, g as f64 / 1000.0), "request {g} at {t}");
        }
        // Counts: at t = 0.5 s, requests 0..=500 are due, split 167/167/167.
        let counts: Vec<u64> = shares.iter().map(|&sh| due_count(&s, sh, 0.5)).collect();
        assert_eq!(counts.iter().sum::<u64>(), 501);
        assert!(counts.iter().all(|&c| (166..=168).contains(&c)));
        // By the end exactly 1000 are due: the one at t = 1.0 s is outside the run.
        let at_end: u64 = shares.iter().map(|&sh| due_count(&s, sh, 5.0)).sum();
        assert_eq!(at_end, 1000);
        assert_eq!(
            Share {
                worker: 2,
                workers: 3
            }
            .count_below(2),
            0
        );
        assert_eq!(
            Share {
                worker: 2,
                workers: 3
            }
            .count_below(3),
            1
        );
    }

    #[test]
    fn catch_up_after_a_stall_is_a_burst_of_due_requests() {
        // A worker that stalls for 200 ms at 1000/s finds 200 more requests due when it wakes.
        let s = Shape::constant(Kind::Rate, 1000.0, Duration::from_secs(2));
        let one = Share {
            worker: 0,
            workers: 1,
        };
        let before = due_count(&s, one, 0.300);
        let after = due_count(&s, one, 0.500);
        assert_eq!(after - before, 200);
        // And each of those keeps its own intended time: the latency clock started then.
        assert!(close(due_time(&s, one, before).unwrap(), 0.301));
    }
}
