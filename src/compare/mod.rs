//! `ringblast compare A B [C…]`: lines up ringblast JSON reports and Locust results (a CSV prefix or
//! `--json-file` output) endpoint by endpoint, with each value's ratio to the first input's.

pub mod html;
pub mod seconds;
pub mod verdicts;

use std::fmt::Write as _;
use std::path::Path;

use crate::error::FileError;
use crate::report::{Latency, Report, Requests};

use crate::report::locust::{Entry, PERCENTILES};

/// One endpoint's (or the aggregate's) figures from one input. Times in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub requests: u64,
    pub failures: u64,
    pub rps: f64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// One input, read.
#[derive(Debug, Clone)]
pub struct Source {
    pub label: String,
    /// Percentiles rounded to Locust's buckets (about two digits) rather than exact.
    pub rounded: bool,
    pub duration_s: Option<f64>,
    /// (method, name, figures), plus the aggregate.
    pub endpoints: Vec<(String, String, Figures)>,
    pub aggregate: Figures,
    /// What the verdicts need: per-second series, and what keeps them from being called.
    pub judged: verdicts::Judged,
}

/// The (method, name) of each endpoint.
fn names<T>(endpoints: &[(String, String, T)]) -> Vec<(String, String)> {
    endpoints
        .iter()
        .map(|(m, n, _)| (m.clone(), n.clone()))
        .collect()
}

/// `--confidence`: `95%`, `95` or `0.95`.
pub fn parse_confidence(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => t
            .parse::<f64>()
            .map(|v| if v > 1.0 { v / 100.0 } else { v }),
    };
    v.ok()
        .filter(|c| *c >= 0.5 && *c < 1.0)
        .ok_or_else(|| format!("--confidence '{text}': a level from 50% to 99.9%, e.g. 95%"))
}

/// Writes `text` under a `.partial` name and renames it into place.
pub fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, path)
}

fn num(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Reads a ringblast report, a Locust CSV prefix, or a Locust `--json-file` list.
pub fn load(arg: &str) -> Result<Source, FileError> {
    let path = Path::new(arg);
    let stats_csv = format!("{arg}_stats.csv");
    let label = path
        .file_name()
        .map_or(arg.to_string(), |n| n.to_string_lossy().into_owned());
    if Path::new(&stats_csv).exists() {
        let mut s =
            locust_csv(arg, &stats_csv).map_err(|what| FileError::new(&stats_csv, None, what))?;
        s.label = label;
        return Ok(s);
    }
    let bad = |what: String| FileError::new(path, None, what);
    let text = std::fs::read_to_string(path).map_err(|e| {
        bad(format!(
            "{e} (expected a ringblast JSON report, a Locust CSV prefix or a Locust --json-file)"
        ))
    })?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not JSON ({e}) and no {stats_csv}")))?;
    if doc.get("ringblast_version").is_some() {
        ringblast_json(&label, &doc).map_err(bad)
    } else if doc.is_array() {
        locust_json(&label, &doc).map_err(bad)
    } else {
        Err(bad(
            "neither a ringblast report nor Locust --json-file output".into(),
        ))
    }
}

fn ringblast_json(label: &str, doc: &serde_json::Value) -> Result<Source, String> {
    // Read through the report's own types: a renamed field is an error, not a silent zero.
    let r: Report = serde_json::from_value(doc.clone())
        .map_err(|e| format!("not a ringblast report of this version: {e}"))?;
    let figures = |q: &Requests, failed: u64, rps: f64, lat: &Latency| {
        let ms = |v: u64| (q.responses > 0).then(|| v as f64 / 1000.0);
        Figures {
            requests: q.responses + q.errors,
            failures: failed,
            rps,
            p50: ms(lat.p50),
            p95: ms(lat.p95),
            p99: ms(lat.p99),
            max: ms(lat.max),
        }
    };
    let failed = r.requests.responses - r.requests.ok + r.requests.errors;
    let aggregate = figures(&r.requests, failed, r.rps, &r.latency_us);
    let endpoints = r
        .endpoints
        .iter()
        .map(|e| {
            let f = figures(&e.requests, e.failed, e.rps, &e.latency_us);
            (e.method.clone(), e.name.clone(), f)
        })
        .collect();
    Ok(Source {
        label: label.to_string(),
        rounded: false,
        duration_s: Some(r.duration_s),
        endpoints,
        aggregate,
        judged: verdicts::judged(&r),
    })
}

/// Splits one CSV line (Python's minimal quoting).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn locust_csv(label: &str, stats_path: &str) -> Result<Source, String> {
    let text = std::fs::read_to_string(stats_path).map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    let header = split_csv(lines.next().ok_or("the file is empty")?);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or(format!("no column '{name}' (not a Locust _stats.csv?)"))
    };
    let (ty, name, reqs, fails, rps, p50, p95, p99, max) = (
        col("Type")?,
        col("Name")?,
        col("Request Count")?,
        col("Failure Count")?,
        col("Requests/s")?,
        col("50%")?,
        col("95%")?,
        col("99%")?,
        col("Max Response Time")?,
    );
    let mut endpoints = Vec::new();
    let mut aggregate = None;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f = split_csv(line);
        let get = |i: usize| f.get(i).map(String::as_str).unwrap_or("");
        let ms = |i: usize| get(i).parse::<f64>().ok();
        let figures = Figures {
            requests: get(reqs).parse().unwrap_or(0),
            failures: get(fails).parse().unwrap_or(0),
            rps: ms(rps).unwrap_or(0.0),
            p50: ms(p50),
            p95: ms(p95),
            p99: ms(p99),
            max: ms(max).filter(|_| get(reqs) != "0"),
        };
        if get(name) == "Aggregated" && get(ty).is_empty() {
            aggregate = Some(figures);
        } else {
            endpoints.push((get(ty).to_string(), get(name).to_string(), figures));
        }
    }
    // The run's length: the history file's first to last timestamp, else requests ÷ rate.
    let history = std::fs::read_to_string(format!("{label}_stats_history.csv")).ok();
    let stamps: Vec<u64> = history
        .iter()
        .flat_map(|h| h.lines().skip(1))
        .filter_map(|l| split_csv(l).first().and_then(|t| t.parse().ok()))
        .collect();
    let aggregate = aggregate.ok_or("no Aggregated row")?;
    let duration_s = match (stamps.first(), stamps.last()) {
        (Some(a), Some(b)) if b > a => Some((b - a + 1) as f64),
        _ => (aggregate.rps > 0.0).then(|| aggregate.requests as f64 / aggregate.rps),
    };
    let text = history.unwrap_or_default();
    let judged = verdicts::Judged {
        series: seconds::RunSeries {
            whole: seconds::of_locust_history(&text, "", "Aggregated"),
            endpoints: endpoints
                .iter()
                .map(|(m, n, _)| seconds::of_locust_history(&text, m, n))
                .collect(),
        },
        endpoints: names(&endpoints),
        approximate: true,
        ..Default::default()
    };
    Ok(Source {
        label: label.to_string(),
        rounded: true,
        duration_s,
        endpoints,
        aggregate,
        judged,
    })
}

fn locust_json(label: &str, doc: &serde_json::Value) -> Result<Source, String> {
    let mut total = Entry::default();
    let mut endpoints = Vec::new();
    let (mut start, mut last) = (f64::MAX, 0.0f64);
    let entry_of = |e: &serde_json::Value| -> Entry {
        let mut entry = Entry {
            num_requests: e["num_requests"].as_u64().unwrap_or(0),
            num_failures: e["num_failures"].as_u64().unwrap_or(0),
            num_none: e["num_none_requests"].as_u64().unwrap_or(0),
            total_ms: num(&e["total_response_time"]),
            min_ms: e["min_response_time"].as_f64(),
            max_ms: num(&e["max_response_time"]),
            ..Entry::default()
        };
        for (k, v) in e["response_times"].as_object().into_iter().flatten() {
            if let Ok(k) = k.parse::<f64>() {
                *entry.buckets.entry(k as u64).or_insert(0) += v.as_u64().unwrap_or(0);
            }
        }
        entry
    };
    for e in doc.as_array().into_iter().flatten() {
        start = start.min(num(&e["start_time"]));
        last = last.max(num(&e["last_request_timestamp"]));
        let entry = entry_of(e);
        total.merge(&entry);
        endpoints.push((
            e["method"].as_str().unwrap_or("").to_string(),
            e["name"].as_str().unwrap_or("").to_string(),
            entry,
        ));
    }
    let secs = (last - start).max(0.0);
    let figures = |en: &Entry| {
        let has = en.num_requests > en.num_none;
        Figures {
            requests: en.num_requests,
            failures: en.num_failures,
            rps: if secs > 0.0 {
                en.num_requests as f64 / secs
            } else {
                0.0
            },
            p50: has.then(|| en.percentile(PERCENTILES[0]) as f64),
            p95: has.then(|| en.percentile(0.95) as f64),
            p99: has.then(|| en.percentile(0.99) as f64),
            max: has.then_some(en.max_ms),
        }
    };
    Ok(Source {
        label: label.to_string(),
        rounded: true,
        judged: verdicts::Judged {
            series: seconds::RunSeries {
                whole: None,
                endpoints: vec![None; endpoints.len()],
            },
            endpoints: names(&endpoints),
            approximate: true,
            ..Default::default()
        },
        duration_s: (secs > 0.0).then_some(secs),
        aggregate: figures(&total),
        endpoints: endpoints
            .iter()
            .map(|(m, n, e)| (m.clone(), n.clone(), figures(e)))
            .collect(),
    })
}

/// "12.3×" lower or higher than the first input, or "same" within 2 %.
fn ratio(first: f64, v: f64, lower_is_better: bool) -> String {
    if first <= 0.0 || v <= 0.0 || !first.is_finite() || !v.is_finite() {
        return String::new();
    }
    let r = v / first;
    if (0.98..=1.02).contains(&r) {
        return " (same)".into();
    }
    let (factor, word) = if r < 1.0 {
        (1.0 / r, "lower")
    } else {
        (r, "higher")
    };
    let _ = lower_is_better;
    if factor < 2.0 {
        format!(" ({factor:.2}× {word})")
    } else {
        format!(" ({factor:.1}× {word})")
    }
}

fn fmt_ms(v: Option<f64>, rounded: bool) -> String {
    match v {
        None => "n/a".into(),
        Some(ms) if ms < 1.0 => format!("{:.0}us{}", ms * 1000.0, if rounded { "~" } else { "" }),
        Some(ms) if ms < 1000.0 => format!("{ms:.2}ms{}", if rounded { "~" } else { "" }),
        Some(ms) => format!("{:.2}s{}", ms / 1000.0, if rounded { "~" } else { "" }),
    }
}

/// The comparison as text (aligned columns) or Markdown tables.
pub fn render(sources: &[Source], markdown: bool) -> String {
    let mut out = String::new();
    let first = &sources[0];
    // Endpoints present in the first input, in its order, then the aggregate.
    let mut sections: Vec<(String, Vec<Option<&Figures>>)> = Vec::new();
    for (m, n, _) in &first.endpoints {
        let per: Vec<Option<&Figures>> = sources
            .iter()
            .map(|s| {
                s.endpoints
                    .iter()
                    .find(|(mm, nn, _)| mm == m && nn == n)
                    .map(|(_, _, f)| f)
            })
            .collect();
        sections.push((format!("{m} {n}"), per));
    }
    sections.push((
        "Aggregated".into(),
        sources.iter().map(|s| Some(&s.aggregate)).collect(),
    ));
    let durations: Vec<f64> = sources.iter().filter_map(|s| s.duration_s).collect();
    let differ = durations
        .iter()
        .any(|d| (d / durations[0] - 1.0).abs() > 0.10);
    for (title, per) in &sections {
        let Some(base) = per[0] else { continue };
        let rows: Vec<(&str, Vec<String>)> = vec![
            (
                "requests",
                per.iter()
                    .map(|f| {
                        f.map_or("—".into(), |f| {
                            format!(
                                "{}{}",
                                f.requests,
                                ratio(base.requests as f64, f.requests as f64, false)
                            )
                        })
                    })
                    .collect(),
            ),
            (
                "failures",
                per.iter()
                    .map(|f| f.map_or("—".into(), |f| f.failures.to_string()))
                    .collect(),
            ),
            (
                "req/s",
                per.iter()
                    .map(|f| {
                        f.map_or("—".into(), |f| {
                            format!("{:.1}{}", f.rps, ratio(base.rps, f.rps, false))
                        })
                    })
                    .collect(),
            ),
            ("p50", latency_cells(per, sources, base.p50, |f| f.p50)),
            ("p95", latency_cells(per, sources, base.p95, |f| f.p95)),
            ("p99", latency_cells(per, sources, base.p99, |f| f.p99)),
            // Locust's max is exact (not bucketed), so it carries no ~.
            (
                "max",
                latency_cells(per, &exact(sources), base.max, |f| f.max),
            ),
        ];
        if markdown {
            let _ = writeln!(out, "### {title}\n");
            let _ = writeln!(
                out,
                "| | {} |",
                sources
                    .iter()
                    .map(|s| s.label.as_str())
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            let _ = writeln!(out, "|---|{}", "---|".repeat(sources.len()));
            for (name, cells) in rows {
                let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
            }
            let _ = writeln!(out);
        } else {
            let _ = writeln!(out, "{title}");
            // Each column as wide as its widest cell (or label), plus two spaces.
            let widths: Vec<usize> = (0..sources.len())
                .map(|i| {
                    rows.iter()
                        .map(|(_, c)| c[i].chars().count())
                        .chain([sources[i].label.chars().count()])
                        .max()
                        .unwrap_or(0)
                        + 2
                })
                .collect();
            let header: String = sources
                .iter()
                .zip(&widths)
                .map(|(s, w)| format!("{:<w$}", s.label))
                .collect();
            let _ = writeln!(out, "  {:<10}{}", "", header.trim_end());
            for (name, cells) in rows {
                let line: String = cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                let _ = writeln!(out, "  {name:<10}{}", line.trim_end());
            }
            let _ = writeln!(out);
        }
    }
    let mut notes = Vec::new();
    if differ {
        let d: Vec<String> = sources
            .iter()
            .map(|s| s.duration_s.map_or("?".into(), |d| format!("{d:.0}s")))
            .collect();
        notes.push(format!(
            "durations differ ({}): compare rates, not request counts",
            d.join(" vs ")
        ));
    }
    if sources.iter().any(|s| s.rounded) {
        notes.push("~ marks Locust's percentiles, rounded to its buckets (about 2 significant digits); ringblast's are exact to 0.1%".into());
    }
    for n in notes {
        let _ = writeln!(out, "{}note: {n}", if markdown { "> " } else { "" });
    }
    out
}

/// The same sources with their percentiles marked exact (for Locust's exact max).
fn exact(sources: &[Source]) -> Vec<Source> {
    sources
        .iter()
        .map(|s| Source {
            rounded: false,
            ..s.clone()
        })
        .collect()
}

fn latency_cells(
    per: &[Option<&Figures>],
    sources: &[Source],
    base: Option<f64>,
    pick: impl Fn(&Figures) -> Option<f64>,
) -> Vec<String> {
    per.iter()
        .zip(sources)
        .map(|(f, s)| match f {
            None => "—".into(),
            Some(f) => {
                let v = pick(f);
                format!(
                    "{}{}",
                    fmt_ms(v, s.rounded),
                    ratio(base.unwrap_or(0.0), v.unwrap_or(0.0), true)
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_like_python() {
        assert_eq!(
            split_csv("GET,\"/a,b\",3,\"x\"\"y\""),
            vec!["GET", "/a,b", "3", "x\"y"]
        );
        assert_eq!(split_csv(",Aggregated,1"), vec!["", "Aggregated", "1"]);
    }

    #[test]
    fn ratios_read_naturally() {
        assert_eq!(ratio(40.0, 1.0, true), " (40.0× lower)");
        assert_eq!(ratio(100.0, 250.0, false), " (2.5× higher)");
        assert_eq!(ratio(100.0, 103.0, false), " (1.03× higher)");
        assert_eq!(ratio(100.0, 101.0, false), " (same)");
        assert_eq!(ratio(0.0, 5.0, false), "");
    }
}
