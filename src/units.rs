//! Human units: parsing durations and sizes from flags, formatting counts, bytes and latencies.
//! Pure functions only; nothing here touches the clock, the kernel or the terminal.

use crate::error::InvalidValue;

use std::time::Duration;

/// Parses `500ms`, `10s`, `2m`, `1h`, `1.5s`, `250us`; a bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, InvalidValue> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (try 500ms, 10s, 2m, 1h)"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(InvalidValue::from(format!(
                "'{text}': unknown unit '{other}' (use us, ms, s, m or h)"
            )));
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(InvalidValue::from(format!("'{text}' is out of range")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a byte size: `512`, `4k`, `1m` (binary multiples).
pub fn parse_size(text: &str) -> Result<usize, InvalidValue> {
    let t = text.trim().to_ascii_lowercase();
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1024),
        Some('m') => (&t[..t.len() - 1], 1024 * 1024),
        _ => (&t[..], 1),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| InvalidValue(format!("'{text}' is not a size (try 512, 4k, 1m)")))
}

/// Parses a CPU list such as `0,2-3` into sorted, de-duplicated ids.
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, InvalidValue> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("'{text}' is not a CPU list (try 0,2-3)");
        if let Some((a, b)) = part.split_once('-') {
            let (a, b): (usize, usize) =
                (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if a > b {
                return Err(InvalidValue::from(bad()));
            }
            cpus.extend(a..=b);
        } else {
            cpus.push(part.parse().map_err(|_| bad())?);
        }
    }
    if cpus.is_empty() {
        return Err(InvalidValue::from(format!("'{text}' names no CPU")));
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Formats microseconds as `812us`, `3.21ms` or `1.50s`.
pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

/// Formats a byte count with binary units.
pub fn fmt_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0}{}", UNITS[i])
    } else {
        format!("{v:.2}{}", UNITS[i])
    }
}

/// Formats a count with thousands separators: 1234567 → `1,234,567`.
pub fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The 1-based line a TOML parse error points at, if it points anywhere.
pub fn toml_error_line(text: &str, e: &toml::de::Error) -> Option<usize> {
    e.span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn sizes_and_cpus() {
        assert_eq!(parse_size("4k").unwrap(), 4096);
        assert_eq!(parse_size("12").unwrap(), 12);
        assert!(parse_size("k").is_err());
        assert_eq!(parse_cpu_list("0,2-3,2").unwrap(), vec![0, 2, 3]);
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("a").is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_count(1234567), "1,234,567");
        assert_eq!(fmt_count(12), "12");
        assert_eq!(fmt_us(812.0), "812us");
        assert_eq!(fmt_us(3210.0), "3.21ms");
        assert_eq!(fmt_bytes(2048.0), "2.00KiB");
    }
}
