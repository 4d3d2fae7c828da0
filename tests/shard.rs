//! `--shard I/N` and `--start-at`: shards of one plan, run as separate processes against one
//! loopback server, send exactly their parts and together exactly the whole: counts, rates,
//! users, and seq values that are disjoint and complete.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Mode, TempDir, TestServer, scenario, wait_bounded};
use serde_json::Value;

/// How far ahead shards are told to start: enough for a debug binary to start and resolve its
/// plan while other tests load both cores (1 s was missed on a fresh 2-core machine). The
/// lead only makes the test wait longer; it checks the same thing.
const LEAD_S: f64 = 4.0;

/// Starts one `ringblast run` per argument list together (`--start-at` a moment from now) and
/// returns their JSON reports.
fn run_shards(shards: &[Vec<String>]) -> Vec<Value> {
    let dir = TempDir::new("shards");
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + LEAD_S;
    let children: Vec<_> = shards
        .iter()
        .enumerate()
        .map(|(i, args)| {
            let json = dir.join(format!("s{i}.json"));
            let at = format!("{at:.3}");
            let mut argv = vec!["run"];
            argv.extend(args.iter().map(String::as_str));
            argv.extend(["--start-at", &at, "-q"]);
            let child = common::spawn(&argv, &json);
            (child, json)
        })
        .collect();
    children
        .into_iter()
        .map(|(child, json)| {
            let out = wait_bounded(child, Duration::from_secs(30));
            let stderr = String::from_utf8_lossy(&out.stderr);
            // 3: an --assert failed (the merge test's shards have one that must).
            assert!(matches!(out.status.code(), Some(0 | 3)), "{stderr}");
            assert!(
                !stderr.contains("ago; starting now"),
                "shards started late: {stderr}"
            );
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
        })
        .collect()
}

fn n(v: &Value, p: &str) -> u64 {
    v.pointer(p)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no {p}"))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn three_shards_send_exactly_the_whole_with_disjoint_seq_values() {
    let server = TestServer::start(Mode::Plain);
    let (_d, path) = scenario(
        r#"
[[user]]
[[user.task]]
name = "item"
path = "/items/{{seq}}"
"#,
    );
    let (p, host) = (path.to_str().unwrap(), server.url("/"));
    // Shards with different worker counts still partition the plan exactly.
    let shard = |i: &str, threads: &str| {
        let list = ["--scenario", p, "--host", &host, "-n", "301", "-c", "7"];
        let mut v = args(&list);
        v.extend(args(&["--shard", i, "--threads", threads]));
        v
    };
    let reports = run_shards(&[shard("0/3", "1"), shard("1/3", "2"), shard("2/3", "2")]);
    let sent: Vec<u64> = reports.iter().map(|r| n(r, "/requests/sent")).collect();
    assert_eq!(sent, vec![101, 100, 100], "exact parts of -n 301");
    assert_eq!(server.received(), 301);
    // Connections: 7 split 3, 2, 2.
    let conns: Vec<u64> = reports.iter().map(|r| n(r, "/connections")).collect();
    assert_eq!(conns, vec![3, 2, 2]);
    let heads = server.counts.heads.lock().unwrap().clone();
    let seqs: BTreeSet<u64> = heads
        .iter()
        .filter_map(|h| {
            h.split_whitespace()
                .nth(1)?
                .strip_prefix("/items/")?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(seqs.len(), 301, "every seq value once");
    assert_eq!(
        seqs,
        (0..301).collect(),
        "the shards' seq values make 0..301 exactly"
    );
    // The reports name their shard of one plan, with lossless histograms to merge.
    let plans: BTreeSet<&str> = reports
        .iter()
        .map(|r| r["shard"]["plan"].as_str().unwrap())
        .collect();
    assert_eq!(plans.len(), 1, "one plan");
    for (i, r) in reports.iter().enumerate() {
        assert_eq!((n(r, "/shard/index"), n(r, "/shard/count")), (i as u64, 3));
        let h = ringblast::hdr::decode(r["histograms"]["latency_us"].as_str().unwrap()).unwrap();
        assert_eq!(h.len(), n(r, "/requests/responses"));
        assert!(r["timeline"][0]["latency_hdr"].is_string());
        common::validate(&common::report_schema(), r, "$").unwrap();
    }
    let starts: BTreeSet<u64> = reports
        .iter()
        .map(|r| n(r, "/shard/started_unix"))
        .collect();
    assert!(
        starts.len() <= 2,
        "--start-at starts them together: {starts:?}"
    );
}

#[test]
fn a_rate_and_users_are_split_between_shards() {
    let server = TestServer::start(Mode::Plain);
    let url = server.url("/");
    let rate = run_shards(&[
        args(&[&url, "-R", "300", "-d", "2s", "-c", "4", "--shard", "0/2"]),
        args(&[&url, "-R", "300", "-d", "2s", "-c", "4", "--shard", "1/2"]),
    ]);
    for r in &rate {
        assert_eq!(r["target_rps"].as_f64(), Some(150.0), "{}", r["target_rps"]);
        // A request due in the last moment may miss the end on a loaded machine: it is then
        // reported as due but unsent, never lost.
        let unsent = n(r, "/diagnostics/due_unsent");
        assert!(unsent <= 2, "{unsent} due requests unsent");
        assert_eq!(
            n(r, "/requests/sent") + unsent,
            300,
            "each shard sends half the schedule"
        );
    }
    let users = run_shards(&[
        args(&[
            &url, "-u", "5", "-r", "100", "-d", "1s", "--think", "50ms", "--shard", "0/2",
        ]),
        args(&[
            &url, "-u", "5", "-r", "100", "-d", "1s", "--think", "50ms", "--shard", "1/2",
        ]),
    ]);
    let peak: Vec<u64> = users.iter().map(|r| n(r, "/connections")).collect();
    assert_eq!(peak, vec![3, 2], "users 0, 2, 4 and 1, 3");
    assert_eq!(users[0]["timeline"][0]["users"], 3);
    // A different plan has a different fingerprint.
    assert_ne!(rate[0]["shard"]["plan"], users[0]["shard"]["plan"]);
}

/// A shard's report claiming to be shard `index` of `count`.
fn forged(report: &Value, index: u64, count: u64) -> Value {
    let mut r = report.clone();
    r["shard"]["index"] = index.into();
    r["shard"]["count"] = count.into();
    r
}

/// Writes reports to files and runs `ringblast merge` on them.
fn merge(reports: &[&Value], extra: &[&str]) -> (std::process::Output, Option<Value>) {
    let dir = TempDir::new("merge");
    let mut args = vec!["merge".to_string()];
    for (i, r) in reports.iter().enumerate() {
        let p = dir.join(format!("in{i}.json"));
        std::fs::write(&p, serde_json::to_string(r).unwrap()).unwrap();
        args.push(p.display().to_string());
    }
    let out_json = dir.join("merged.json");
    args.extend(["--json".to_string(), out_json.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::ringblast(&refs, Duration::from_secs(20));
    let merged = std::fs::read_to_string(&out_json)
        .ok()
        .map(|s| serde_json::from_str(&s).unwrap());
    (out, merged)
}

#[test]
fn merge_combines_shards_exactly_and_refuses_what_does_not_belong() {
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let (_d, path) = scenario(
        r#"
[[user]]
[[user.task]]
name = "found"
path = "/items/{{seq}}"
weight = 2
[[user.task]]
name = "missing"
path = "/missing/{{seq}}"
"#,
    );
    let (p, host) = (path.to_str().unwrap(), server.url("/"));
    let shard = |i: &str| {
        args(&[
            "--scenario",
            p,
            "--host",
            &host,
            "-R",
            "200",
            "-d",
            "2s",
            "-c",
            "4",
            "--shard",
            i,
            "--assert",
            "p99<5s",
            "--assert",
            "success>=99%",
        ])
    };
    let reports = run_shards(&[shard("0/2"), shard("1/2")]);
    let csv_dir = TempDir::new("merge-csv");
    let prefix = csv_dir.join("m");
    let (out, merged) = merge(
        &[&reports[0], &reports[1]],
        &["--csv", prefix.to_str().unwrap()],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 1 in 3 requests gets 404: success is about 67 %, so that assertion fails again, merged.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = merged.expect("merged JSON");
    let sum = |p: &str| reports.iter().map(|r| n(r, p)).sum::<u64>();
    for p in [
        "/requests/sent",
        "/requests/responses",
        "/requests/ok",
        "/connections",
    ] {
        assert_eq!(n(&m, p), sum(p), "{p}");
    }
    let unsent = sum("/diagnostics/due_unsent");
    assert!(unsent <= 2, "{unsent} due requests unsent");
    assert_eq!(n(&m, "/requests/sent") + unsent, 400, "the whole schedule");
    assert_eq!(
        server.answered(),
        n(&m, "/requests/responses") + n(&m, "/requests/unfinished")
    );
    assert_eq!(n(&m, "/status/404"), sum("/status/404"));
    let h = ringblast::hdr::decode(m["histograms"]["latency_us"].as_str().unwrap()).unwrap();
    assert_eq!(
        h.len(),
        n(&m, "/requests/responses"),
        "histograms merged, not averaged"
    );
    assert_eq!(m["latency_us"]["max"].as_u64(), Some(h.max()));
    let per_second: u64 = m["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| n(e, "/responses"))
        .sum();
    assert_eq!(
        per_second,
        n(&m, "/requests/responses"),
        "timelines aligned and added"
    );
    assert_eq!(m["target_rps"].as_f64(), Some(200.0));
    let outcomes: Vec<bool> = m["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(outcomes, vec![true, false]);
    assert_eq!(m["merged_from"].as_array().unwrap().len(), 2);
    common::validate(&common::report_schema(), &m, "$").unwrap();
    assert!(stdout.contains("ringblast"), "{stdout}");
    // Locust's CSV from the merged report: the Aggregated row counts every request, and the
    // 404s are its failures.
    let stats = std::fs::read_to_string(csv_dir.join("m_stats.csv")).unwrap();
    let aggregated = stats.lines().find(|l| l.contains(",Aggregated,")).unwrap();
    let count: u64 = aggregated.split(',').nth(2).unwrap().parse().unwrap();
    assert_eq!(
        count,
        n(&m, "/requests/responses") + n(&m, "/requests/errors"),
        "{stats}"
    );
    let failures = std::fs::read_to_string(csv_dir.join("m_failures.csv")).unwrap();
    let row = failures.lines().find(|l| l.contains("HTTP 404")).unwrap();
    assert!(
        row.ends_with(&format!(",{},,", n(&m, "/status/404"))),
        "{failures}"
    );
    // Refusals, each one line with exit 2.
    let other = run_shards(&[args(&[&host, "-n", "10", "-c", "2", "--shard", "0/2"])]);
    for (bad, why) in [
        (
            vec![&reports[0], &other[0]],
            "only shards of one plan merge",
        ),
        (vec![&reports[0]], "missing"),
        (vec![&reports[0], &reports[0]], "are both shard 0/2"),
        // Indices and counts come from files: crafted ones are refused, never trusted.
        (vec![&forged(&reports[0], 5, 2)], "no plan has"),
        (vec![&forged(&reports[0], 0, 1 << 62)], "more missing"),
        (vec![&forged(&reports[0], 1, 10_000_000)], "more missing"),
    ] {
        let (out, _) = merge(&bad, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.len() < 500, "a short line: {stderr}");
        assert!(stderr.contains(why), "{stderr}");
    }
}
