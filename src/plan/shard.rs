//! Settles `--shard I/N` and `--start-at TIME`, and the plan's fingerprint: what shards of one
//! plan share, so that `merge` can refuse reports of different plans.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cli::RunArgs;
use crate::load::Shard;

/// `I/N` with 0 ≤ I < N.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("--shard '{s}': expected I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count) = (
        i.trim().parse::<u64>().map_err(|_| bad())?,
        n.trim().parse::<u64>().map_err(|_| bad())?,
    );
    if count == 0 || index >= count || count > 1_000_000 {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// Unix seconds (`1798574400`, `1798574400.5`) or RFC 3339 in UTC
/// (`2026-11-29T20:30:00Z`, with optional fractional seconds).
pub fn parse_start_at(s: &str) -> Result<SystemTime, String> {
    let bad = || {
        format!(
            "--start-at '{s}': expected Unix seconds or an RFC 3339 UTC time like 2026-11-29T20:30:00Z"
        )
    };
    let t = s.trim();
    let secs = if let Ok(v) = t.parse::<f64>() {
        v
    } else {
        let t = t
            .strip_suffix('Z')
            .or_else(|| t.strip_suffix('z'))
            .ok_or_else(bad)?;
        let (date, time) = t.split_once(['T', 't', ' ']).ok_or_else(bad)?;
        let d: Vec<i64> = date
            .split('-')
            .map(|p| p.parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
        let h: Vec<i64> = hms
            .split(':')
            .map(|p| p.parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let (&[y, mo, da], &[hh, mi, ss]) = (d.as_slice(), h.as_slice()) else {
            return Err(bad());
        };
        if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || hh > 23 || mi > 59 || ss > 60 {
            return Err(bad());
        }
        let frac = if frac.is_empty() {
            0.0
        } else {
            format!("0.{frac}").parse::<f64>().map_err(|_| bad())?
        };
        (days_from_civil(y, mo, da) * 86_400 + hh * 3600 + mi * 60 + ss) as f64 + frac
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(bad());
    }
    Ok(UNIX_EPOCH + Duration::from_secs_f64(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A fingerprint of everything that makes the load the same plan: the flags that shape the
/// traffic and the scenario file's contents, but not outputs, CPUs, the shard itself or when it
/// starts (those differ between a plan's shards). FNV-1a, as 16 hex digits.
pub fn fingerprint(args: &RunArgs, scenario_text: Option<&str>) -> String {
    let mut a = args.clone();
    a.json = None;
    a.csv = None;
    a.csv_full_history = false;
    a.html = None;
    a.hlog = None;
    a.quiet = false;
    a.shard = None;
    a.start_at = None;
    a.metrics_listen = None;
    a.kernel_stats = Default::default();
    a.workers.threads = None;
    a.workers.cpus = None;
    a.workers.io = crate::cli::IoArg::Auto;
    a.scenario = None;
    let text = format!("{a:?}\n{}", scenario_text.unwrap_or(""));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_or_say_why() {
        assert_eq!(parse_shard("1/4"), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1", "a/b", "0/0", "-1/2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn start_times_in_both_forms() {
        let at = |s: &str| {
            parse_start_at(s)
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
        };
        assert_eq!(at("2026-11-29T20:30:00Z").as_secs(), 1_795_984_200);
        assert_eq!(at("1970-01-01T00:00:00Z").as_secs(), 0);
        assert_eq!(at("2000-03-01T00:00:01.5Z").as_millis(), 951_868_801_500);
        assert_eq!(at("1795984200").as_secs(), 1_795_984_200);
        for bad in [
            "tomorrow",
            "2026-13-01T00:00:00Z",
            "2026-11-29T20:30:00",
            "-5",
        ] {
            assert!(parse_start_at(bad).is_err(), "{bad}");
        }
    }
}
