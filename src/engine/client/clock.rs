//! Where a response's latency ends: the kernel's receive timestamp (CLOCK_REALTIME) put on the
//! worker's monotonic microsecond clock; the two are paired again every turn, so slews cannot drift.

use std::time::{SystemTime, UNIX_EPOCH};

/// Maps kernel receive timestamps onto the worker's clock (µs since the run's start).
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelClock {
    base_us: i64,
    base_ns: i64,
}

impl KernelClock {
    /// Pairs the clocks again: `now_us` on the worker's clock is the wall clock's now.
    #[inline]
    pub fn sync(&mut self, now_us: u64) {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        self.base_us = now_us as i64;
        self.base_ns = wall;
    }

    /// Whether a kernel timestamp falls after `now_us` on the worker's clock.
    #[inline]
    pub fn later_than(&self, stamp_ns: u64, now_us: u64) -> bool {
        self.map(stamp_ns) > now_us as i64
    }

    /// A kernel timestamp on the worker's clock, kept at or before `now_us`: a segment is
    /// received before it is read (a wall-clock step cannot make it later).
    #[inline]
    pub fn on_worker_clock(&self, stamp_ns: u64, now_us: u64) -> u64 {
        self.map(stamp_ns).clamp(0, now_us as i64) as u64
    }

    /// The stamp in µs on the worker's clock, unclamped.
    #[inline]
    fn map(&self, stamp_ns: u64) -> i64 {
        self.base_us + (stamp_ns as i64 - self.base_ns).div_euclid(1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_wall_nanoseconds_onto_the_worker_clock() {
        let c = KernelClock {
            base_us: 5_000,
            base_ns: 1_700_000_000_000_000_000,
        };
        assert_eq!(
            c.on_worker_clock(1_700_000_000_000_000_000 - 1_500_000, 10_000),
            3_500
        );
        assert_eq!(
            c.on_worker_clock(1_700_000_000_000_000_000 + 999, 10_000),
            5_000
        );
        // Never after the moment it was read, never before the start.
        assert_eq!(c.on_worker_clock(1_700_000_000_100_000_000, 10_000), 10_000);
        assert_eq!(c.on_worker_clock(1, 10_000), 0);
        // Whether a stamp lies beyond a clock reading (then the reading is taken again).
        assert!(!c.later_than(1_700_000_000_000_000_000 + 999, 5_000));
        assert!(c.later_than(1_700_000_000_000_000_000 + 1_000, 5_000));
    }
}
