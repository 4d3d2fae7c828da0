//! The BPF programs' log-linear histogram: bucket bounds and quantiles, read back in userspace.
//! Must number buckets exactly as `record` in bpf/kstats.bpf.c does.

use super::model::Quantiles;

/// A bucket's range of nanoseconds [low, high), as bpf/kstats.bpf.c's `record` numbers them.
pub fn bucket_range(i: usize) -> (u64, u64) {
    if i < 16 {
        return (i as u64, i as u64 + 1);
    }
    let shift = (i - 16) / 16;
    let low = (16 + ((i - 16) % 16) as u64) << shift;
    (low, low + (1 << shift))
}

/// p50, p99 and max in microseconds from log-linear buckets (each value read as its bucket's
/// middle, within 3 %), with the exact maximum; None when empty.
pub fn quantiles(buckets: &[u64], max_ns: u64) -> Option<Quantiles> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let at = |q: f64| {
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, n) in buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (lo, hi) = bucket_range(i);
                return (lo + (hi - lo) / 2).min(max_ns.max(lo));
            }
        }
        max_ns
    };
    let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
    Some(Quantiles {
        p50: us(at(0.5)),
        p99: us(at(0.99)),
        max: us(max_ns),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kstats::ebpf::N_BUCKETS;

    /// The same bucketing as the BPF program, in Rust, to check the two agree.
    fn bucket(ns: u64) -> usize {
        if ns < 16 {
            return ns as usize;
        }
        let e = 63 - ns.leading_zeros() as usize;
        (16 + (e - 4) * 16 + ((ns >> (e - 4)) & 15) as usize).min(N_BUCKETS - 1)
    }

    #[test]
    fn buckets_cover_their_values() {
        for ns in [
            0u64,
            15,
            16,
            31,
            32,
            33,
            1_000,
            25_000,
            999_999,
            123_456_789,
            1 << 40,
        ] {
            let (lo, hi) = bucket_range(bucket(ns));
            assert!(lo <= ns && ns < hi, "{ns} not in [{lo}, {hi})");
            assert!(
                (hi - lo) as f64 <= (lo as f64 / 16.0).max(1.0),
                "{ns}: too wide"
            );
        }
    }

    #[test]
    fn quantiles_from_buckets() {
        let mut b = vec![0u64; N_BUCKETS];
        for ns in (1..=100).map(|i| i * 1_000) {
            b[bucket(ns)] += 1;
        }
        let q = quantiles(&b, 100_000).unwrap();
        assert!((q.p50 - 50.0).abs() <= 50.0 * 0.04, "{q:?}");
        assert!((q.p99 - 99.0).abs() <= 99.0 * 0.04, "{q:?}");
        assert_eq!(q.max, 100.0);
        assert!(quantiles(&[0; 4], 0).is_none());
    }
}
