//! Connection churn, on every backend: servers that close every connection, ramps down to zero
//! users and back, tens of thousands of reconnects on one connection, and interrupted runs.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Mode, Served, TempDir, TestServer, run};

per_backend! {
    fn ramp_to_zero_and_back_against_a_closing_server(io) {
        let server = TestServer::start(Mode::CloseEvery(1));
        let r = run(&[
            &server.url("/"),
            "--stages",
            "2s:50u,2s:0u,3s:50u",
            "--think",
            "50ms",
            "--io",
            io,
        ]);
        r.assert_accounted();
        r.assert_server_answered(server.answered());
        assert_eq!(r.n("/requests/errors"), 0, "{}", r.json["errors"]);
        let timeline = r.json["timeline"].as_array().unwrap();
        assert!(timeline.len() >= 7, "{timeline:?}");
        // The last stage ramps back up: every one of its seconds has responses.
        for e in &timeline[4..7] {
            assert!(e["responses"].as_u64().unwrap() > 0, "no responses in {e}");
        }
        // Users think 50 ms between requests even though every answer closes the connection:
        // 50 users send at most about 1,000 requests a second.
        for e in timeline {
            assert!(e["responses"].as_u64().unwrap() <= 1100, "users did not think: {e}");
        }
        // Every response came on its own connection: the users reconnected each time.
        assert!(r.n("/diagnostics/connects") >= r.n("/requests/responses"));
        // And the report says what that means for the measurement.
        let warnings = r.json["warnings"].to_string();
        assert!(warnings.contains("closed almost every connection"), "{warnings}");
    }

    fn seventy_thousand_reconnects_on_one_connection(io) {
        // The built-in target closes after each answer to a `Connection: close` request: every
        // request is a new socket on the same token, so its generation passes 65,536.
        let served = Served::start(&["--io", io]);
        let n = 70_000u64;
        let r = run(&[
            &served.url,
            "-c",
            "1",
            "-n",
            &n.to_string(),
            "-H",
            "Connection: close",
            "--io",
            io,
        ]);
        r.assert_accounted();
        assert_eq!(r.n("/requests/responses"), n, "{}", r.json["errors"]);
        assert_eq!(r.n("/diagnostics/connects"), n);
        assert_eq!(served.stop(), n);
    }

    fn keep_alive_limits_and_pipelining_lose_nothing(io) {
        // The server closes every 7th connection's response; pipelined requests behind it are
        // accounted for as errors of a named kind, never lost.
        let server = TestServer::start(Mode::CloseEvery(7));
        let r = run(&[&server.url("/"), "-c", "8", "-p", "4", "-n", "3000", "--io", io]);
        r.assert_accounted();
        r.assert_server_answered(server.answered());
        assert_eq!(r.n("/requests/sent"), 3000);
    }

    fn interrupted_runs_write_every_report_whole(io) {
        let served = Served::start(&["--io", io]);
        let dir = TempDir::new("sigint");
        let (json, html, hlog) = (dir.join("r.json"), dir.join("r.html"), dir.join("r.hlog"));
        let csv = dir.join("r");
        let child = Command::new(env!("CARGO_BIN_EXE_ringblast"))
            .args(["run", &served.url, "-c", "4", "-d", "30s", "-q", "--io", io])
            .arg("--json")
            .arg(&json)
            .arg("--html")
            .arg(&html)
            .arg("--hlog")
            .arg(&hlog)
            .arg("--csv")
            .arg(&csv)
            .arg("--csv-full-history")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(2500));
        let started = Instant::now();
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let out = common::wait_bounded(child, Duration::from_secs(20));
        assert!(started.elapsed() < Duration::from_secs(10), "slow to stop");
        assert!(out.status.code().is_some(), "killed by a signal: {:?}", out.status);
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(report["interrupted"], true);
        let sent = report["requests"]["sent"].as_u64().unwrap();
        let ended = ["responses", "errors", "unfinished"]
            .iter()
            .map(|k| report["requests"][k].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(sent, ended);
        assert!(report["timeline"].as_array().unwrap().len() >= 2);
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.trim_end().ends_with("</html>"));
        let history = std::fs::read_to_string(dir.join("r_stats_history.csv")).unwrap();
        let rows = history.lines().filter(|l| l.contains(",Aggregated,")).count();
        assert!(rows >= 2, "{history}");
        assert!(std::fs::read_to_string(dir.join("r_stats.csv")).unwrap().contains("Aggregated"));
        let log = std::fs::read(&hlog).unwrap();
        let mut deserializer = hdrhistogram::serialization::Deserializer::new();
        let histograms = hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&log)
            .filter_map(|e| match e {
                Ok(hdrhistogram::serialization::interval_log::LogEntry::Interval(h)) => {
                    let bytes = common::base64_decode(h.encoded_histogram());
                    let hist: hdrhistogram::Histogram<u64> =
                        deserializer.deserialize(&mut bytes.as_slice()).unwrap();
                    Some(hist.len())
                }
                Ok(_) => None,
                Err(e) => panic!("bad interval log: {e:?}"),
            })
            .count();
        assert!(histograms >= 2);
        // No partial file is left behind.
        for entry in std::fs::read_dir(&*dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.ends_with(".partial"), "{name} left behind");
        }
        let _ = served.stop();
    }
}
