//! `--shard I/N` and `--start-at`: shards of one plan, run as separate processes against one
//! loopback server, send exactly their parts and together exactly the whole: counts, rates,
//! users, and seq values that are disjoint and complete.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Mode, TempDir, TestServer, scenario, wait_bounded};
use serde_json::Value;

/// Starts one `ringblast run` per argument list together (`--start-at` a moment from now) and
/// returns their JSON reports.
fn run_shards(shards: &[Vec<String>]) -> Vec<Value> {
    let dir = TempDir::new("shards");
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 1.0;
    let children: Vec<_> = shards
        .iter()
        .enumerate()
        .map(|(i, args)| {
            let json = dir.join(format!("s{i}.json"));
            let child = Command::new(env!("CARGO_BIN_EXE_ringblast"))
                .arg("run")
                .args(args)
                .args(["--start-at", &format!("{at:.3}"), "-q", "--json"])
                .arg(&json)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (child, json)
        })
        .collect();
    children
        .into_iter()
        .map(|(child, json)| {
            let out = wait_bounded(child, Duration::from_secs(30));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
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
    let reports = run_shards(&[
        args(&[
            "--scenario",
            p,
            "--host",
            &host,
            "-n",
            "301",
            "-c",
            "7",
            "--shard",
            "0/3",
            "--threads",
            "1",
        ]),
        args(&[
            "--scenario",
            p,
            "--host",
            &host,
            "-n",
            "301",
            "-c",
            "7",
            "--shard",
            "1/3",
            "--threads",
            "2",
        ]),
        args(&[
            "--scenario",
            p,
            "--host",
            &host,
            "-n",
            "301",
            "-c",
            "7",
            "--shard",
            "2/3",
            "--threads",
            "2",
        ]),
    ]);
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
        assert_eq!(
            n(r, "/requests/sent"),
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
