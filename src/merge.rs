//! `ringblast merge`: the reports of one plan's shards combined into one report, exactly where
//! histograms allow: counts add, histograms merge, timelines align on the wall clock, and the
//! assertions are evaluated again on the whole. Works on reports alone; runs nothing.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::assertions::{self, View, Windows};
use crate::hdr;
use crate::report::{Lag, Latency, Report, ShardReport, distribution};
use crate::stats::second::TimelineEntry;

fn add_maps(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

fn decode_all(what: &str, texts: &[&str]) -> Result<Histogram<u64>, String> {
    let mut merged: Option<Histogram<u64>> = None;
    for t in texts.iter().filter(|t| !t.is_empty()) {
        let h = hdr::decode(t).map_err(|e| format!("{what}: {e}"))?;
        match &mut merged {
            Some(m) => m.add(&h).map_err(|e| format!("{what}: {e:?}"))?,
            None => merged = Some(h),
        }
    }
    merged.ok_or_else(|| format!("{what}: no histogram"))
}

/// Checks that `reports` are all the shards of one plan, and merges them.
pub fn merge(reports: Vec<(String, Report)>) -> Result<Report, String> {
    let mut shards = Vec::new();
    for (name, r) in &reports {
        let s = r.shard.as_ref().ok_or_else(|| {
            format!("{name} is not a shard's report (run with --shard I/N --json FILE)")
        })?;
        if r.histograms.is_none() {
            return Err(format!(
                "{name} has no histograms (written by an older ringblast)"
            ));
        }
        shards.push((name.as_str(), s.clone()));
    }
    let (first_name, first) = shards.first().ok_or("nothing to merge")?.clone();
    for (name, s) in &shards {
        if s.plan != first.plan || s.count != first.count {
            return Err(format!(
                "{name} is shard {}/{} of plan {}, but {first_name} is of plan {} in {} shards: \
                 only shards of one plan merge",
                s.index, s.count, s.plan, first.plan, first.count
            ));
        }
    }
    // The index and count come from files: check them before they size or index anything.
    let mut seen = std::collections::BTreeMap::new();
    for (name, s) in &shards {
        if s.index >= s.count {
            return Err(format!(
                "{name} says it is shard {}/{}, which no plan has (the index is below the count)",
                s.index, s.count
            ));
        }
        if let Some(other) = seen.insert(s.index, *name) {
            return Err(format!(
                "{other} and {name} are both shard {}/{}",
                s.index, s.count
            ));
        }
    }
    let absent = first.count - seen.len() as u64;
    if absent > 0 {
        let missing: Vec<String> = (0..first.count)
            .filter(|i| !seen.contains_key(i))
            .take(5)
            .map(|i| format!("{i}/{}", first.count))
            .collect();
        let more = if absent > 5 {
            format!(" and {} more", absent - 5)
        } else {
            String::new()
        };
        return Err(format!(
            "shard {}{more} missing: merge needs every shard",
            missing.join(", ")
        ));
    }
    let rs: Vec<&Report> = reports.iter().map(|(_, r)| r).collect();
    let shards: Vec<ShardReport> = shards.into_iter().map(|(_, s)| s).collect();
    combine(&rs, Some(&shards))
}

/// The rounds of `--rounds N`, one after another, as one report: counts add, histograms merge,
/// the timelines follow one another. The rounds themselves are not attached here.
pub fn pool(rounds: &[Report]) -> Result<Report, String> {
    if rounds.iter().any(|r| r.histograms.is_none()) {
        return Err("a round has no histograms".into());
    }
    let rs: Vec<&Report> = rounds.iter().collect();
    combine(&rs, None)
}

/// Merges reports: a plan's shards side by side on one wall clock (`shards`), or rounds one
/// after another (None).
fn combine(rs: &[&Report], shards: Option<&[ShardReport]>) -> Result<Report, String> {
    let hist = |what: &str, pick: &dyn Fn(&Report) -> &str| {
        decode_all(what, &rs.iter().map(|r| pick(r)).collect::<Vec<_>>())
    };
    fn h(r: &Report) -> &crate::report::Histograms {
        r.histograms.as_ref().expect("checked above")
    }
    let latency = hist("latency_us", &|r| &h(r).latency_us)?;
    let uncorrected = hist("latency_uncorrected_us", &|r| &h(r).latency_uncorrected_us)?;
    let lag = hist("schedule_lag_us", &|r| &h(r).schedule_lag_us)?;
    let connect = hist("connect_us", &|r| &h(r).connect_us)?;
    let handshake = hist("tls_handshake_us", &|r| &h(r).tls_handshake_us)?;
    let added = hist("generator_added_us", &|r| &h(r).generator_added_us).ok();
    let mut m = (*rs[0]).clone();
    let sum = |f: &dyn Fn(&Report) -> u64| rs.iter().map(|r| f(r)).sum::<u64>();
    if shards.is_some() {
        m.threads = rs.iter().map(|r| r.threads).sum();
        m.connections = rs.iter().map(|r| r.connections).sum();
        m.duration_s = rs.iter().map(|r| r.duration_s).fold(0.0, f64::max);
    } else {
        m.duration_s = rs.iter().map(|r| r.duration_s).sum();
    }
    m.interrupted = rs.iter().any(|r| r.interrupted);
    let secs = m.duration_s.max(1e-9);
    m.requests.sent = sum(&|r| r.requests.sent);
    m.requests.responses = sum(&|r| r.requests.responses);
    m.requests.ok = sum(&|r| r.requests.ok);
    m.requests.errors = sum(&|r| r.requests.errors);
    m.requests.unfinished = sum(&|r| r.requests.unfinished);
    m.requests.resent = sum(&|r| r.requests.resent);
    m.rps = ((m.requests.responses as f64 / secs) * 10.0).round() / 10.0;
    // Side by side, rates add; one after another, they average over the time.
    let rate = |f: &dyn Fn(&Report) -> f64| match shards {
        Some(_) => rs.iter().map(|r| f(r)).sum::<f64>(),
        None => rs.iter().map(|r| f(r) * r.duration_s).sum::<f64>() / secs,
    };
    m.sent_rps = (rate(&|r| r.sent_rps) * 10.0).round() / 10.0;
    m.target_rps = rs[0]
        .target_rps
        .map(|_| (rate(&|r| r.target_rps.unwrap_or(0.0)) * 10.0).round() / 10.0);
    m.status.clear();
    m.errors.clear();
    for r in rs {
        add_maps(&mut m.status, &r.status);
        add_maps(&mut m.errors, &r.errors);
    }
    m.latency_us = Latency::of(&latency);
    m.latency_uncorrected_us = Latency::of(&uncorrected);
    m.latency_distribution = distribution(&latency);
    m.latency_uncorrected_distribution = distribution(&uncorrected);
    m.schedule_lag_us = Lag::of(&lag);
    m.latency_clock.kernel_ended = sum(&|r| r.latency_clock.kernel_ended);
    m.latency_clock.user_ended = sum(&|r| r.latency_clock.user_ended);
    let clock = &mut m.latency_clock;
    clock.clock =
        crate::report::LatencyClock::name(clock.kernel_ended, clock.user_ended).to_string();
    m.latency_clock.generator_added_us = added.as_ref().filter(|h| !h.is_empty()).map(Lag::of);
    m.bytes.sent = sum(&|r| r.bytes.sent);
    m.bytes.received = sum(&|r| r.bytes.received);
    m.connections_detail.opened = sum(&|r| r.connections_detail.opened);
    m.connections_detail.connect_us = Latency::of(&connect);
    if let Some(tls) = &mut m.connections_detail.tls {
        tls.handshakes.full = rs
            .iter()
            .filter_map(|r| r.connections_detail.tls.as_ref())
            .map(|t| t.handshakes.full)
            .sum();
        tls.handshakes.resumed = rs
            .iter()
            .filter_map(|r| r.connections_detail.tls.as_ref())
            .map(|t| t.handshakes.resumed)
            .sum();
        tls.handshake_us = Latency::of(&handshake);
    }
    if let Some(h2) = &mut m.connections_detail.http2 {
        let all: Vec<_> = rs
            .iter()
            .filter_map(|r| r.connections_detail.http2.as_ref())
            .collect();
        h2.connections = all.iter().map(|h| h.connections).sum();
        h2.goaways = all.iter().map(|h| h.goaways).sum();
        h2.flow_control_stalls = all.iter().map(|h| h.flow_control_stalls).sum();
        h2.flow_control_stall_us = all.iter().map(|h| h.flow_control_stall_us).sum();
        h2.resets.clear();
        for h in all {
            add_maps(&mut h2.resets, &h.resets);
        }
    }
    let d = &mut m.diagnostics;
    d.connects = sum(&|r| r.diagnostics.connects);
    d.recv_buffer_exhausted = sum(&|r| r.diagnostics.recv_buffer_exhausted);
    d.connection_starved = sum(&|r| r.diagnostics.connection_starved);
    d.due_unsent = sum(&|r| r.diagnostics.due_unsent);
    d.capture_too_large = sum(&|r| r.diagnostics.capture_too_large);
    d.busiest_worker_cpu = rs
        .iter()
        .map(|r| r.diagnostics.busiest_worker_cpu)
        .fold(0.0, f64::max);
    d.capture_failed.clear();
    d.unset_skipped.clear();
    for r in rs {
        add_maps(&mut d.capture_failed, &r.diagnostics.capture_failed);
        add_maps(&mut d.unset_skipped, &r.diagnostics.unset_skipped);
    }
    m.kernel = None;
    m.warnings = rs
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            let whose = match shards {
                Some(s) => format!("shard {}/{}", s[i].index, s[i].count),
                None => format!("round {}", i + 1),
            };
            r.warnings.iter().map(move |w| format!("{whose}: {w}"))
        })
        .collect();
    let mut endpoint_histograms = Vec::with_capacity(m.endpoints.len());
    for (ep, e) in m.endpoints.iter_mut().enumerate() {
        let what = format!("endpoint {}", e.name);
        let lat = hist(&what, &|r| {
            h(r).endpoints.get(ep).map_or("", String::as_str)
        })?;
        endpoint_histograms.push(hdr::encode(&lat));
        let others: Vec<_> = rs.iter().filter_map(|r| r.endpoints.get(ep)).collect();
        e.requests.sent = others.iter().map(|o| o.requests.sent).sum();
        e.requests.responses = others.iter().map(|o| o.requests.responses).sum();
        e.requests.ok = others.iter().map(|o| o.requests.ok).sum();
        e.requests.errors = others.iter().map(|o| o.requests.errors).sum();
        e.requests.unfinished = others.iter().map(|o| o.requests.unfinished).sum();
        e.requests.resent = others.iter().map(|o| o.requests.resent).sum();
        e.failed = others.iter().map(|o| o.failed).sum();
        e.rps = ((e.requests.responses as f64 / secs) * 10.0).round() / 10.0;
        e.latency_sum_us = others.iter().map(|o| o.latency_sum_us).sum();
        e.latency_min_us = others.iter().filter_map(|o| o.latency_min_us).min();
        e.latency_max_us = others.iter().map(|o| o.latency_max_us).max().unwrap_or(0);
        e.body_bytes = others.iter().map(|o| o.body_bytes).sum();
        e.status.clear();
        e.errors.clear();
        e.failures.clear();
        for o in &others {
            add_maps(&mut e.status, &o.status);
            add_maps(&mut e.errors, &o.errors);
            add_maps(&mut e.failures, &o.failures);
        }
        e.latency_us = Latency::of(&lat);
    }
    let (timeline, seconds) = match shards {
        Some(s) => merge_timelines(s, rs)?,
        None => {
            // One after another: each round's seconds continue the previous round's.
            let mut offset = 0u32;
            let mut entries = Vec::new();
            let mut hists = Vec::new();
            for r in rs {
                for e in &r.timeline {
                    let h = match &e.latency_hdr {
                        Some(t) => hdr::decode(t).map_err(|x| format!("timeline: {x}"))?,
                        None => Histogram::new(3).expect("valid precision"),
                    };
                    let mut e = e.clone();
                    e.t += offset;
                    entries.push(e);
                    hists.push(h);
                }
                offset += r.timeline.last().map_or(0, |e| e.t);
            }
            (entries, hists)
        }
    };
    // The assertions again, on the whole: windowed forms over the merged seconds.
    let whole = View {
        latency: &latency,
        responses: m.requests.responses,
        ok: m.requests.ok,
        errors: m.requests.errors,
        seconds: secs,
    };
    let views: Vec<View> = timeline
        .iter()
        .zip(&seconds)
        .map(|(e, h)| View {
            latency: h,
            responses: e.responses,
            ok: e.ok,
            errors: e.errors,
            seconds: 1.0,
        })
        .collect();
    m.assertions = rs[0]
        .assertions
        .iter()
        .map(|o| {
            let a = assertions::parse(&o.expr).map_err(|e| e.to_string())?;
            Ok(match a.window {
                Some(w) => {
                    let mut windows = Windows::new(w);
                    for v in &views {
                        windows.push(&a, v);
                    }
                    windows.finish(&a, &whole)
                }
                None => assertions::check(&a, &whole, &[]),
            })
        })
        .collect::<Result<_, String>>()?;
    m.timeline = timeline;
    m.merged_from = shards.map(<[ShardReport]>::to_vec).unwrap_or_default();
    m.shard = None;
    m.rounds = Vec::new();
    m.rounds_summary = None;
    let hs = m.histograms.as_mut().expect("checked above");
    hs.latency_us = hdr::encode(&latency);
    hs.latency_uncorrected_us = hdr::encode(&uncorrected);
    hs.schedule_lag_us = hdr::encode(&lag);
    hs.connect_us = hdr::encode(&connect);
    hs.tls_handshake_us = hdr::encode(&handshake);
    if let Some(added) = &added {
        hs.generator_added_us = hdr::encode(added);
    }
    hs.endpoints = endpoint_histograms;
    Ok(m)
}

/// Seconds of all shards on one wall clock (each shard's `started_unix` + `t`), counts added,
/// percentiles from the merged per-second histograms. Returns the entries and their histograms.
fn merge_timelines(
    shards: &[ShardReport],
    rs: &[&Report],
) -> Result<(Vec<TimelineEntry>, Vec<Histogram<u64>>), String> {
    let start = shards.iter().map(|s| s.started_unix).min().unwrap_or(0);
    type Slot = (TimelineEntry, Option<Histogram<u64>>, Vec<Histogram<u64>>);
    let mut by_second: BTreeMap<u64, Slot> = BTreeMap::new();
    for (s, r) in shards.iter().zip(rs) {
        for e in &r.timeline {
            let at = s.started_unix + u64::from(e.t);
            let h = match &e.latency_hdr {
                Some(t) => Some(hdr::decode(t).map_err(|x| format!("timeline: {x}"))?),
                None => None,
            };
            let slot = by_second.entry(at).or_insert_with(|| {
                let mut z = e.clone();
                z.rps = 0.0;
                z.sent = 0;
                z.responses = 0;
                z.ok = 0;
                z.errors = 0;
                z.target_rps = e.target_rps.map(|_| 0.0);
                z.users = e.users.map(|_| 0);
                z.kernel = None;
                z.endpoints.clear();
                (z, None, Vec::new())
            });
            let m = &mut slot.0;
            m.rps += e.rps;
            m.sent += e.sent;
            m.responses += e.responses;
            m.ok += e.ok;
            m.errors += e.errors;
            m.target_rps = m.target_rps.map(|t| t + e.target_rps.unwrap_or(0.0));
            m.users = m.users.map(|u| u + e.users.unwrap_or(0));
            // Percentiles without histograms: the highest shard's (an upper bound).
            m.p50_uncorrected_us = m.p50_uncorrected_us.max(e.p50_uncorrected_us);
            m.p90_uncorrected_us = m.p90_uncorrected_us.max(e.p90_uncorrected_us);
            m.p99_uncorrected_us = m.p99_uncorrected_us.max(e.p99_uncorrected_us);
            match (&mut slot.1, h) {
                (Some(a), Some(b)) => a.add(&b).map_err(|x| format!("timeline: {x:?}"))?,
                (none @ None, Some(b)) => *none = Some(b),
                _ => {}
            }
            // Per-endpoint seconds add up like the whole's.
            if slot.0.endpoints.is_empty() && !e.endpoints.is_empty() {
                slot.0.endpoints = vec![Default::default(); e.endpoints.len()];
                slot.2 = (0..e.endpoints.len())
                    .map(|_| Histogram::new(3).expect("valid precision"))
                    .collect();
            }
            for ((sum, hist), one) in slot
                .0
                .endpoints
                .iter_mut()
                .zip(&mut slot.2)
                .zip(&e.endpoints)
            {
                sum.responses += one.responses;
                sum.failed += one.failed;
                sum.errors += one.errors;
                let h = hdr::decode(&one.latency_hdr).map_err(|x| format!("timeline: {x}"))?;
                hist.add(&h).map_err(|x| format!("timeline: {x:?}"))?;
            }
        }
    }
    let mut entries = Vec::new();
    let mut hists = Vec::new();
    for (at, (mut e, h, endpoint_hists)) in by_second {
        for (sum, hist) in e.endpoints.iter_mut().zip(&endpoint_hists) {
            sum.latency_hdr = hdr::encode(hist);
        }
        e.t = (at - start) as u32;
        let h = h.unwrap_or_else(|| Histogram::new(2).expect("valid precision"));
        if !h.is_empty() {
            e.p50_us = h.value_at_quantile(0.5);
            e.p90_us = h.value_at_quantile(0.9);
            e.p99_us = h.value_at_quantile(0.99);
            e.max_us = h.max();
        }
        e.latency_hdr = Some(hdr::encode(&h));
        entries.push(e);
        hists.push(h);
    }
    Ok((entries, hists))
}
