//! Live Prometheus metrics (`--metrics-listen`): scraped during a real run, parsed with the
//! reference Python parser (prometheus_client), and checked against the run's own report.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Mode, TempDir, TestServer, scenario, wait_bounded};
use serde_json::Value;

/// GETs `path` from `port`; (status line, body), or None if nothing answers.
fn get(port: u16, path: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

/// One parsed sample: (name, labels, value).
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses exposition text with prometheus_client's parser; None when it is not installed
/// (which CI treats as a failure: .ci/run installs it).
fn parse(text: &str, dir: &std::path::Path) -> Option<Vec<Sample>> {
    let file = dir.join("metrics.txt");
    std::fs::write(&file, text).unwrap();
    let code = "import json,sys\n\
                from prometheus_client.parser import text_string_to_metric_families as f\n\
                out=[[s.name,s.labels,s.value] for fam in f(open(sys.argv[1]).read()) for s in fam.samples]\n\
                print(json.dumps(out))";
    let out = Command::new("python3")
        .args(["-c", code])
        .arg(&file)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(serde_json::from_slice(&o.stdout).unwrap()),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains("No module named 'prometheus_client'"),
                "the parser refused the exposition: {err}\n{text}"
            );
            common::skip(
                "parsing /metrics with Prometheus's parser",
                "pip install prometheus_client (.ci/run installs it)",
            );
            None
        }
        Err(e) => panic!("python3: {e}"),
    }
}

#[test]
fn metrics_served_during_a_run_agree_with_the_report() {
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let (_s, path) = scenario(
        r#"
[[user]]
[[user.task]]
name = "found"
path = "/items/1"
weight = 3
[[user.task]]
name = "missing"
path = "/missing/1"
"#,
    );
    let dir = TempDir::new("metrics");
    let json = dir.join("r.json");
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = common::spawn(
        &[
            "run",
            "--scenario",
            path.to_str().unwrap(),
            "--host",
            &server.url("/"),
            "-c",
            "4",
            "-R",
            "400",
            "-d",
            "4s",
            "-q",
            "--metrics-listen",
            &listen,
        ],
        &json,
    );
    // Scrape until two measured seconds are in (bounded).
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut scraped = None;
    while Instant::now() < deadline {
        if let Some((status, body)) = get(port, "/metrics") {
            assert!(status.contains("200"), "{status}");
            let t = body
                .lines()
                .find_map(|l| l.strip_prefix("ringblast_elapsed_seconds "))
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(0);
            if t >= 2 {
                scraped = Some(body);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let other = get(port, "/nothing-here");
    let out = wait_bounded(child, Duration::from_secs(30));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = scraped.expect("/metrics answered with two seconds done");
    assert!(other.is_some_and(|(s, _)| s.contains("404")));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let Some(samples) = parse(&text, &dir) else {
        return;
    };
    let value = |name: &str, want: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    };
    let t = value("ringblast_elapsed_seconds", &[]) as u64;
    // The report's timeline up to that second is what /metrics showed.
    let timeline = report["timeline"].as_array().unwrap();
    let upto: Vec<&Value> = timeline
        .iter()
        .filter(|e| e["t"].as_u64().unwrap() <= t)
        .collect();
    let responses: u64 = upto.iter().map(|e| e["responses"].as_u64().unwrap()).sum();
    let errors: u64 = upto.iter().map(|e| e["errors"].as_u64().unwrap()).sum();
    let sent: u64 = upto.iter().map(|e| e["sent"].as_u64().unwrap()).sum();
    assert!(responses > 0);
    assert_eq!(
        value("ringblast_requests_total", &[]) as u64,
        responses,
        "{text}"
    );
    assert_eq!(value("ringblast_errors_total", &[]) as u64, errors);
    assert_eq!(value("ringblast_sent_total", &[]) as u64, sent);
    let found = value(
        "ringblast_requests_total",
        &[("endpoint", "found"), ("status", "200")],
    );
    let missing = value(
        "ringblast_requests_total",
        &[("endpoint", "missing"), ("status", "404")],
    );
    assert_eq!(
        (found + missing) as u64,
        responses,
        "every response is one of the two"
    );
    assert!(
        found > missing && missing > 0.0,
        "weights 3:1: {found} {missing}"
    );
    for (endpoint, n) in [("found", found), ("missing", missing)] {
        let labels = [("endpoint", endpoint), ("method", "GET")];
        assert_eq!(
            value("ringblast_request_duration_seconds_count", &labels),
            n
        );
        let inf = [("endpoint", endpoint), ("le", "+Inf")];
        assert_eq!(value("ringblast_request_duration_seconds_bucket", &inf), n);
        assert!(value("ringblast_request_duration_seconds_sum", &labels) > 0.0);
    }
    let last = upto.last().unwrap();
    assert_eq!(
        value("ringblast_achieved_rps", &[]),
        last["rps"].as_f64().unwrap()
    );
    assert_eq!(
        value("ringblast_target_rps", &[]),
        last["target_rps"].as_f64().unwrap()
    );
    // And the whole run's report holds at least what was scraped.
    let final_404 = report["status"]["404"].as_u64().unwrap_or(0);
    assert!(final_404 >= missing as u64);
}

#[test]
fn a_busy_metrics_port_is_a_one_line_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let server = TestServer::start(Mode::Plain);
    let out = common::ringblast(
        &[
            "run",
            &server.url("/"),
            "-n",
            "1",
            "--metrics-listen",
            &listen,
        ],
        Duration::from_secs(10),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--metrics-listen") && stderr.contains(&listen),
        "{stderr}"
    );
    assert_eq!(server.received(), 0, "nothing is sent when setup fails");
}

/// A scraper that drips its request a byte every 0.9 s neither holds the run open after its end
/// (a 2 s run once exited after 16 s) nor keeps another scraper from being served.
#[test]
fn a_slow_scraper_neither_delays_the_exit_nor_starves_the_others() {
    let server = TestServer::start(Mode::Plain);
    let port = common::free_port();
    let dir = TempDir::new("metrics-slow");
    let started = Instant::now();
    let child = common::spawn(
        &[
            "run",
            &server.url("/"),
            "-c",
            "2",
            "-d",
            "3s",
            "-q",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
        ],
        &dir.join("r.json"),
    );
    let mut answered = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while answered.is_none() && Instant::now() < deadline {
        answered = get(port, "/metrics");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(answered.is_some(), "/metrics never answered");
    let dripping = std::thread::spawn(move || {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return;
        };
        for b in b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(900));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let (status, _) = get(port, "/metrics").expect("another scraper is served meanwhile");
    assert!(status.contains("200"), "{status}");
    let out = wait_bounded(child, Duration::from_secs(60));
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The run is 3 s; the slow scraper may add at most a second to the exit.
    assert!(took < Duration::from_secs(8), "the run took {took:?}");
    let _ = dripping.join();
}
