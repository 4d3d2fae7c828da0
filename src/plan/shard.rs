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
        if !(1..=12).contains(&mo)
            || !(1..=days_in_month(y, mo)).contains(&da)
            || !(0..=23).contains(&hh)
            || !(0..=59).contains(&mi)
            || !(0..=60).contains(&ss)
        {
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
    if secs > LATEST_START {
        return Err(format!(
            "--start-at '{s}' is after 9999-12-31T23:59:59Z; give a time this run can wait for"
        ));
    }
    Ok(UNIX_EPOCH + Duration::from_secs_f64(secs))
}

/// The latest start accepted: 9999-12-31T23:59:59Z, in Unix seconds.
const LATEST_START: f64 = 253_402_300_799.0;

/// Days in month `m` of year `y` (proleptic Gregorian).
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A Unix time as RFC 3339 UTC, to the second (Howard Hinnant's civil-from-days).
pub fn rfc3339(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
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

/// The load's fingerprint without its target: runs of one plan against two servers (`ab`, or a
/// server before and after a change) share it.
pub fn load_fingerprint(args: &RunArgs, scenario_text: Option<&str>) -> String {
    let mut a = args.clone();
    a.url = None;
    a.host = None;
    fingerprint(&a, scenario_text)
}

/// A fingerprint of everything that makes the load the same plan: the flags that shape the
/// traffic and the scenario file's contents, but not outputs, CPUs, the shard itself or when it
/// starts (those differ between a plan's shards). FNV-1a, as 16 hex digits.
pub fn fingerprint(args: &RunArgs, scenario_text: Option<&str>) -> String {
    let mut a = args.clone();
    a.rounds = 1;
    a.pause = std::time::Duration::ZERO;
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
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "1e20",
            "inf",
            "10000-01-01T00:00:00Z",
        ] {
            assert!(parse_start_at(bad).is_err(), "{bad}");
        }
        assert_eq!(at("2024-02-29T00:00:00Z").as_secs(), 1_709_164_800);
        assert!(parse_start_at("9999-12-31T23:59:59Z").is_ok());
    }

    #[test]
    fn times_print_as_rfc3339() {
        for s in [
            "2026-11-29T20:30:00Z",
            "2024-02-29T23:59:59Z",
            "1970-01-01T00:00:00Z",
        ] {
            assert_eq!(rfc3339(parse_start_at(s).unwrap()), s);
        }
    }
}
