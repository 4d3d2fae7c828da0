//! Integration tests of the load models: open-loop rates (and coordinated omission), ramps and
//! stages, warm-up, users with spawn rate and think time, assertions with exit code 3, peak search.

mod common;

use std::time::Duration;

use common::{Mode, Served, TestServer, ringblast, run};

fn within(value: f64, target: f64, tolerance: f64) -> bool {
    (value - target).abs() <= tolerance * target
}

/// These tests measure timing (1 % rate accuracy, stalls, think times): they run one at a time so
/// they do not compete with each other for the machine's cores.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn open_loop_rate_is_met_within_one_percent() {
    let _serial = serial();
    let server = TestServer::start(Mode::Plain);
    let r = run(&[&server.url("/"), "-R", "2000", "-d", "3s", "-c", "16"]);
    assert_eq!(r.code(), 0);
    r.assert_accounted();
    assert_eq!(r.json["load"]["model"], "rate");
    assert_eq!(r.json["target_rps"].as_f64(), Some(2000.0));
    let sent = r.json["sent_rps"].as_f64().unwrap();
    assert!(within(sent, 2000.0, 0.01), "sent {sent} req/s");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        within(server.received() as f64, 6000.0, 0.01),
        "server received {}",
        server.received()
    );
    r.assert_server_answered(server.answered());
    for e in r.json["timeline"].as_array().unwrap().iter().take(3) {
        assert_eq!(e["target_rps"].as_f64(), Some(2000.0));
        assert!(within(e["sent"].as_f64().unwrap(), 2000.0, 0.02), "{e}");
    }
    assert!(
        r.json["warnings"].as_array().unwrap().is_empty(),
        "{}",
        r.json["warnings"]
    );
}

#[test]
fn stalls_show_in_corrected_latency_only() {
    let _serial = serial();
    // The server freezes for 200 ms of every second. With one connection, requests due during a
    // freeze wait inside ringblast: their corrected latency counts the wait, the uncorrected does not.
    let server = TestServer::start(Mode::Freeze { freeze_ms: 200 });
    let r = run(&[
        &server.url("/"),
        "-R",
        "1000",
        "-d",
        "3s",
        "-c",
        "1",
        "--threads",
        "1",
    ]);
    assert_eq!(r.code(), 0);
    r.assert_accounted();
    let corrected = r.n("/latency_us/p99");
    let uncorrected = r.n("/latency_uncorrected_us/p99");
    assert!(
        corrected >= 100_000,
        "corrected p99 {corrected}us should reflect the 200 ms stalls"
    );
    assert!(
        uncorrected < 50_000 && uncorrected * 5 < corrected,
        "uncorrected p99 {uncorrected}us should stay small next to the corrected {corrected}us"
    );
    assert!(r.n("/schedule_lag_us/max") >= 100_000);
    std::thread::sleep(Duration::from_millis(300));
    r.assert_server_answered(server.answered());
    // Nothing missing: every request the schedule made due was sent (catching up after each
    // stall), or is reported as due but unsent when a stall overlapped the end.
    let due = r.n("/requests/sent") + r.n("/diagnostics/due_unsent");
    assert_eq!(
        due,
        3000,
        "sent {} + due_unsent {}",
        r.n("/requests/sent"),
        r.n("/diagnostics/due_unsent")
    );
}

#[test]
fn stages_and_ramps_follow_the_shape() {
    let _serial = serial();
    let server = TestServer::start(Mode::Plain);
    let r = run(&[
        &server.url("/"),
        "--stages",
        "1s:1000,1s:2000,1s:0",
        "-c",
        "16",
    ]);
    r.assert_accounted();
    let tl = r.json["timeline"].as_array().unwrap();
    let targets: Vec<f64> = tl
        .iter()
        .take(3)
        .map(|e| e["target_rps"].as_f64().unwrap())
        .collect();
    assert_eq!(targets, vec![500.0, 1500.0, 1000.0]);
    for (e, want) in tl.iter().zip([500.0, 1500.0, 1000.0]) {
        assert!(within(e["sent"].as_f64().unwrap(), want, 0.03), "{e}");
    }
    assert!(within(r.n("/requests/sent") as f64, 3000.0, 0.01));
}

#[test]
fn warmup_is_run_but_not_recorded() {
    let _serial = serial();
    let server = TestServer::start(Mode::Plain);
    let r = run(&[
        &server.url("/"),
        "-R",
        "1000",
        "-d",
        "2s",
        "--warmup",
        "1s",
        "-c",
        "8",
    ]);
    r.assert_accounted();
    assert!(
        within(r.n("/requests/sent") as f64, 2000.0, 0.01),
        "sent {}",
        r.n("/requests/sent")
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        within(server.received() as f64, 3000.0, 0.01),
        "server received {}",
        server.received()
    );
    let d = r.json["duration_s"].as_f64().unwrap();
    assert!((1.95..2.3).contains(&d), "duration_s {d}");
    assert_eq!(r.json["timeline"].as_array().unwrap().len(), 2);
}

#[test]
fn users_and_spawn_rate_reach_their_counts() {
    let _serial = serial();
    let server = TestServer::start(Mode::Plain);
    let r = run(&[
        &server.url("/"),
        "--users",
        "40",
        "--spawn-rate",
        "80",
        "--think",
        "100ms",
        "-d",
        "2s",
    ]);
    assert_eq!(r.code(), 0);
    r.assert_accounted();
    assert_eq!(r.json["load"]["model"], "users");
    assert_eq!(r.n("/diagnostics/connects"), 40);
    assert_eq!(
        server
            .counts
            .connections
            .load(std::sync::atomic::Ordering::Relaxed),
        40
    );
    let tl = r.json["timeline"].as_array().unwrap();
    assert_eq!(tl[0]["users"], 40, "spawned within the first second");
    // Each user sends about ten requests a second (100 ms think), from when it spawned.
    let responses = r.n("/requests/responses") as f64;
    assert!(
        (500.0..=820.0).contains(&responses),
        "{responses} responses"
    );
    let second = tl[1]["responses"].as_f64().unwrap();
    assert!(
        (330.0..=410.0).contains(&second),
        "{second} in the second second"
    );
}

#[test]
fn uniform_think_time_spreads_requests() {
    let _serial = serial();
    let server = TestServer::start(Mode::Plain);
    let r = run(&[
        &server.url("/"),
        "-u",
        "20",
        "--think",
        "50ms..150ms",
        "-d",
        "2s",
    ]);
    r.assert_accounted();
    // A mean think of 100 ms: about 10 requests per user per second.
    let rps = r.json["rps"].as_f64().unwrap();
    assert!((160.0..=230.0).contains(&rps), "{rps} req/s");
}

#[test]
fn assertions_pass_fail_and_exit_3() {
    let _serial = serial();
    let server = TestServer::start(Mode::Plain);
    let url = server.url("/");
    let ok = run(&[
        &url,
        "-R",
        "500",
        "-d",
        "1s",
        "-c",
        "4",
        "--assert",
        "errors==0",
        "--assert",
        "p99<1s",
        "--assert",
        "success>=99%",
        "--assert",
        "rps>=400",
    ]);
    assert_eq!(ok.code(), 0, "{}", ok.json["assertions"]);
    assert!(
        ok.json["assertions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["ok"] == true)
    );
    let bad = run(&[
        &url,
        "-R",
        "500",
        "-d",
        "1s",
        "-c",
        "4",
        "--assert",
        "p99<1s",
        "--assert",
        "rps>=10000000",
    ]);
    assert_eq!(bad.code(), 3);
    let outcomes = bad.json["assertions"].as_array().unwrap();
    assert_eq!(
        (outcomes[0]["ok"].clone(), outcomes[1]["ok"].clone()),
        (true.into(), false.into())
    );
    assert!(String::from_utf8_lossy(&bad.output.stdout).contains("FAILED"));

    // Windowed: a stall fails p99 in its own window even when the whole-run median is fine.
    let frozen = TestServer::start(Mode::Freeze { freeze_ms: 200 });
    let w = run(&[
        &frozen.url("/"),
        "-R",
        "500",
        "-d",
        "3s",
        "-c",
        "1",
        "--threads",
        "1",
        "--assert",
        "p50<50ms",
        "--assert",
        "p99[1s]<50ms",
    ]);
    assert_eq!(w.code(), 3);
    let outcomes = w.json["assertions"].as_array().unwrap();
    assert_eq!(outcomes[0]["ok"], true, "{}", w.json["assertions"]);
    assert_eq!(outcomes[1]["ok"], false);
    assert!(outcomes[1]["value"].as_f64().unwrap() >= 50_000.0);
}

#[test]
fn peak_search_finds_a_known_capacity_from_below_at_and_above() {
    let _serial = serial();
    // 20 connections to a target that answers after 10 ms: at most 2,000 requests per second.
    let capacity = 2000.0;
    let served = Served::start(&["--delay", "10ms"]);
    for start in ["100", "2000", "40000"] {
        let dir = common::TempDir::new("peak");
        let json = dir.join("peak.json");
        let out = ringblast(
            &[
                "peak",
                &served.url,
                "-c",
                "20",
                "--threads",
                "1",
                "--step",
                "1s",
                "--warmup",
                "300ms",
                "--start-rate",
                start,
                "--precision",
                "10%",
                "--assert",
                "p99<100ms",
                "--json",
                json.to_str().unwrap(),
                "-q",
            ],
            Duration::from_secs(120),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let peak = report["peak_rps"].as_f64().unwrap();
        // Within the precision of the capacity (and never above what it can answer).
        assert!(
            (capacity * 0.85..=capacity * 1.05).contains(&peak),
            "start {start}: peak {peak}\n{text}"
        );
        assert_eq!(report["stopped"], "converged", "{text}");
        let steps = report["steps"].as_array().unwrap();
        // Every failure was confirmed by a second try at the same rate before it counted.
        for (i, s) in steps.iter().enumerate() {
            if s["ok"] == false && s["attempt"] == 1 {
                let next = &steps[i + 1];
                assert_eq!(
                    (next["rate"].as_f64(), next["attempt"].as_u64()),
                    (s["rate"].as_f64(), Some(2)),
                    "{text}"
                );
            }
        }
        assert_eq!(report["last_pass"]["rate"].as_f64(), Some(peak));
        assert_eq!(report["first_fail"]["ok"], false);
        assert!(report["first_fail"]["rate"].as_f64().unwrap() > peak);
        assert!(
            text.contains("peak sustainable rate") && text.contains("first fail"),
            "{text}"
        );
    }
    served.stop();
}
