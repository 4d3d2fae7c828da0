//! Integration tests for the commands around the engine: `serve` (its own count, delay, HEAD),
//! `demo`, the JSON report against its schema in docs/, and bad input on the command line.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Mode, Served, TestServer, run, run_bounded};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ringblast");

per_backend! {
    fn serve_counts_exactly_what_it_answered(io) {
        let served = Served::start(&["--io", io]);
        let r = run(&[
            &format!("{}/x", served.url),
            "-c",
            "16",
            "-p",
            "8",
            "-n",
            "5000",
            "--io",
            io,
        ]);
        r.assert_accounted();
        assert_eq!(r.n("/requests/responses"), 5000);
        assert_eq!(served.stop(), 5000, "{io}");
    }
}

#[test]
fn serve_delay_shows_in_latency_and_head_has_no_body() {
    let served = Served::start(&["--delay", "50ms", "--body-size", "4k"]);
    let r = run(&[&served.url, "-c", "4", "-n", "20"]);
    r.assert_accounted();
    assert!(
        r.n("/latency_us/p50") >= 50_000,
        "p50 {}",
        r.n("/latency_us/p50")
    );
    assert!(r.n("/latency_us/p50") < 200_000);
    let received = r.n("/bytes/received");
    let h = run(&[
        &served.url,
        "-m",
        "HEAD",
        "-c",
        "2",
        "-n",
        "20",
        "--timeout",
        "2s",
    ]);
    h.assert_accounted();
    assert_eq!(h.n("/requests/responses"), 20);
    assert!(
        h.n("/bytes/received") < received / 10,
        "HEAD responses carried bodies"
    );
    assert_eq!(served.stop(), 40);
}

#[test]
fn demo_runs_and_reports() {
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "-d", "1s", "-c", "8"]);
    let out = run_bounded(cmd, Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("requests/s"), "{text}");
    assert!(text.contains("status    200:"), "{text}");
    assert!(text.contains("built-in target answered"), "{text}");
    // The demo is a scenario: per-endpoint rows, and one login per user.
    assert!(
        text.contains("list items") && text.contains("create item"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("login") && l.split_whitespace().nth(2) == Some("8")),
        "{text}"
    );
}

#[test]
fn report_matches_its_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/report.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let served = Served::start(&[]);
    let r = run(&[&served.url, "-c", "4", "-d", "1200ms"]);
    common::validate(&schema, &r.json, "$").unwrap();
    // Every load model, with assertions and a warm-up, fits the same schema.
    let open = run(&[
        &served.url,
        "-R",
        "500",
        "-c",
        "4",
        "-d",
        "1200ms",
        "--warmup",
        "300ms",
        "--assert",
        "p99[1s]<1s",
        "--assert",
        "rps>=1000000",
    ]);
    assert_eq!(open.code(), 3, "a failed assertion exits 3");
    common::validate(&schema, &open.json, "$").unwrap();
    assert_eq!(open.json["assertions"].as_array().unwrap().len(), 2);
    assert!(open.json["timeline"][0]["target_rps"].as_f64().unwrap() > 0.0);
    let users = run(&[
        &served.url,
        "-u",
        "4",
        "-r",
        "100",
        "--think",
        "10ms",
        "-d",
        "1200ms",
    ]);
    common::validate(&schema, &users.json, "$").unwrap();
    assert_eq!(users.json["timeline"][0]["users"], 4);
    // HTTPS adds the TLS statistics, pinned and with connection churn.
    let tls = Served::start(&["--tls"]);
    let https = run(&[
        &tls.url,
        "-k",
        "-c",
        "2",
        "-n",
        "40",
        "--tls-version",
        "1.2",
        "--requests-per-conn",
        "5",
    ]);
    common::validate(&schema, &https.json, "$").unwrap();
    assert_eq!(https.json["connections_detail"]["tls"]["version"], "1.2");
    // And a run that never connects (zero latencies, only errors) is just as valid.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = run(&[&format!("http://127.0.0.1:{port}/"), "-c", "2", "-n", "4"]);
    common::validate(&schema, &dead.json, "$").unwrap();
    // The validator itself must be able to fail.
    let mut broken = r.json.clone();
    broken["requests"]["sent"] = Value::String("many".into());
    assert!(common::validate(&schema, &broken, "$").is_err());
    broken = r.json.clone();
    broken.as_object_mut().unwrap().remove("timeline");
    assert!(common::validate(&schema, &broken, "$").is_err());
    served.stop();
}

#[test]
fn bad_input_gives_one_line_and_exit_2() {
    let cases: &[&[&str]] = &[
        &["run", "not-a-url"],
        &["run", "ftp://127.0.0.1/"],
        &["run", "https://127.0.0.1:1/", "--tls-version", "1.1"],
        &[
            "run",
            "https://127.0.0.1:1/",
            "--cacert",
            "/nonexistent/ca.pem",
        ],
        &["run", "http://127.0.0.1:1/", "--insecure"],
        &["run", "http://127.0.0.1:1/", "-c", "0"],
        &["run", "http://127.0.0.1:1/", "-d", "10parsecs"],
        &["run", "http://127.0.0.1:1/", "-H", "no colon"],
        &["run", "http://127.0.0.1:1/", "-H", "X-Bad\r\nInjected: 1"],
        &[
            "run",
            "http://127.0.0.1:1/",
            "--body-file",
            "/nonexistent/body",
        ],
        &["run", "http://127.0.0.1:1/", "--cpus", "5000"],
        &["run", "http://127.0.0.1:1/", "-p", "0"],
        &["run", "http://127.0.0.1:1/", "--kernel-stats", "maybe"],
        &["peak", "http://127.0.0.1:1/", "--kernel-stats", "on"],
        &["run", "http://127.0.0.1:1/", "--metrics-listen", "nowhere"],
        &["run", "http://127.0.0.1:1/", "--shard", "3/3"],
        &["run", "http://127.0.0.1:1/", "--shard", "2/3", "-c", "2"],
        &["run", "http://127.0.0.1:1/", "--start-at", "soon"],
        &["run", "http://127.0.0.1:1/", "--start-at", "1e20"],
        &[
            "run",
            "http://127.0.0.1:1/",
            "--start-at",
            "2026-02-30T00:00:00Z",
        ],
        &[
            "locust-worker",
            "--master",
            "127.0.0.1",
            "http://127.0.0.1:1/",
        ],
        &[
            "locust-worker",
            "--master",
            "127.0.0.1:port",
            "http://127.0.0.1:1/",
        ],
        &["peak", "http://127.0.0.1:1/", "--shard", "0/2"],
        &[
            "peak",
            "http://127.0.0.1:1/",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        &["serve", "--listen", "not an address"],
        &["serve", "--status", "99"],
        &["serve", "--body-size", "lots"],
        &["frobnicate"],
    ];
    for args in cases {
        let started = Instant::now();
        let mut cmd = Command::new(BIN);
        cmd.args(*args);
        let out = run_bounded(cmd, Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.trim().is_empty(), "{args:?}: no message");
        assert!(started.elapsed() < Duration::from_secs(5));
        if !args.contains(&"-d") {
            assert_eq!(
                stderr.trim().lines().count(),
                1,
                "{args:?}: not one line: {stderr}"
            );
        }
    }
}

#[test]
fn listening_on_a_busy_port_is_a_clear_error() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let mut cmd = Command::new(BIN);
    // Without SO_REUSEPORT on the holder, the bind fails with EADDRINUSE.
    cmd.args(["serve", "--listen", &addr]);
    let out = run_bounded(cmd, Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen"), "{stderr}");
}

#[test]
fn locust_csv_files_agree_with_the_report() {
    let server = common::TestServer::start(common::Mode::Api { close_every: 0 });
    let dir = common::TempDir::new("csv");
    let prefix = dir.join("out/run");
    let scenario = dir.join("s.toml");
    std::fs::write(
        &scenario,
        "[[user]]\n[[user.task]]\nname = \"ok\"\npath = \"/fine\"\nweight = 3\n[[user.task]]\nname = \"gone\"\npath = \"/missing/x\"\n",
    )
    .unwrap();
    let r = run(&[
        "--scenario",
        scenario.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "-c",
        "4",
        "-n",
        "2000",
        "--csv",
        prefix.to_str().unwrap(),
    ]);
    assert_eq!(r.code(), 0);
    let read =
        |suffix: &str| std::fs::read_to_string(dir.join(format!("out/run_{suffix}.csv"))).unwrap();
    let stats = read("stats");
    assert!(
        stats.ends_with("\r\n") && !stats.replace("\r\n", "").contains('\n'),
        "CRLF line endings"
    );
    let lines: Vec<&str> = stats.trim_end().split("\r\n").collect();
    assert_eq!(
        lines[0],
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
    );
    assert_eq!(
        lines.len(),
        4,
        "two endpoints (sorted by name) and Aggregated:\n{stats}"
    );
    assert!(
        lines[1].starts_with("GET,gone,") && lines[2].starts_with("GET,ok,"),
        "{stats}"
    );
    let agg: Vec<&str> = lines[3].split(',').collect();
    assert_eq!((agg[0], agg[1]), ("", "Aggregated"));
    assert_eq!(agg[2].parse::<u64>().unwrap(), r.n("/requests/responses"));
    assert_eq!(agg[2].parse::<u64>().unwrap(), server.answered());
    let gone: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(gone[2], gone[3], "every unexpected 404 is a failure");
    let failures = read("failures");
    assert!(
        failures.starts_with(
            "Method,Name,Error,Occurrences,First Seen,Last Seen\r\nGET,gone,HTTP 404,"
        ),
        "{failures}"
    );
    assert_eq!(read("exceptions"), "Count,Message,Traceback,Nodes\r\n");
    let history = read("stats_history");
    assert!(history.starts_with("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,"));
    assert!(history.lines().skip(1).all(|l| l.contains(",Aggregated,")));

    // --csv-full-history: each second, the endpoints (sorted) and then Aggregated.
    let full = dir.join("full/run");
    let r = run(&[
        "--scenario",
        scenario.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "-c",
        "4",
        "-d",
        "2s",
        "--csv",
        full.to_str().unwrap(),
        "--csv-full-history",
    ]);
    assert_eq!(r.code(), 0);
    let history = std::fs::read_to_string(dir.join("full/run_stats_history.csv")).unwrap();
    let rows: Vec<Vec<&str>> = history
        .trim_end()
        .split("\r\n")
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(rows.len() >= 6, "{history}");
    for tick in rows.chunks(3) {
        let names: Vec<&str> = tick.iter().map(|r| r[3]).collect();
        assert_eq!(names, vec!["gone", "ok", "Aggregated"], "{history}");
        assert_eq!(tick[0][0], tick[2][0], "one timestamp per tick");
    }
    let last: Vec<&Vec<&str>> = rows.iter().rev().take(3).collect();
    let total = |r: &Vec<&str>| r[17].parse::<u64>().unwrap();
    assert_eq!(
        total(last[1]) + total(last[2]),
        total(last[0]),
        "endpoint totals add up to Aggregated"
    );
}

#[test]
fn compare_lines_up_locust_and_ringblast_results() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/locust/run");
    let out = common::ringblast(
        &[
            "compare",
            &format!("{fixtures}/ringblast.json"),
            &format!("{fixtures}/locust"),
            &format!("{fixtures}/locust.json"),
        ],
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "GET list deployments",
        "POST approve",
        "Aggregated",
        "ringblast.json",
        "locust.json",
        "~ marks Locust's percentiles",
    ] {
        assert!(text.contains(want), "missing {want}:\n{text}");
    }
    // Figures read from Locust's own files: the CSV's Aggregated row has 265 requests and 69
    // failures; its JSON has 335 requests.
    let agg = &text[text.find("Aggregated").unwrap()..];
    assert!(agg.contains("265 (1.38× lower)"), "{agg}");
    assert!(
        agg.lines().any(|l| l.contains("failures")
            && l.contains("97")
            && l.contains("69")
            && l.contains("87")),
        "{agg}"
    );
    assert!(agg.contains("335"), "{agg}");
    let md = common::ringblast(
        &[
            "compare",
            "--markdown",
            &format!("{fixtures}/locust"),
            &format!("{fixtures}/ringblast.json"),
        ],
        Duration::from_secs(10),
    );
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("### Aggregated") && md.contains("| | locust | ringblast.json |"),
        "{md}"
    );
    let bad = common::ringblast(
        &[
            "compare",
            "/nonexistent/a.json",
            &format!("{fixtures}/ringblast.json"),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).trim().lines().count(),
        1
    );
}

#[test]
fn html_report_draws_its_charts_in_a_browser() {
    let served = Served::start(&[]);
    let dir = common::TempDir::new("html");
    let (json, html, again) = (
        dir.join("r.json"),
        dir.join("r.html"),
        dir.join("again.html"),
    );
    let r = run(&[
        &served.url,
        "-R",
        "2000",
        "-c",
        "8",
        "-d",
        "2s",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(r.code(), 0);
    std::fs::write(&json, serde_json::to_string(&r.json).unwrap()).unwrap();
    // `report` renders the same page from the saved JSON.
    let out = common::ringblast(
        &[
            "report",
            json.to_str().unwrap(),
            "--html",
            again.to_str().unwrap(),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page, std::fs::read_to_string(&again).unwrap());
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "the page needs no network"
    );
    // Throughput, latency, the kernel's events (--kernel-stats is auto: eBPF or /proc) and the
    // latency distribution.
    assert!(
        r.json["kernel"].is_object(),
        "kernel statistics are on by default"
    );
    assert!(
        page.contains(r#"id="kernel""#),
        "the kernel's chart and table"
    );
    assert_eq!(page.matches("<svg class=\"chart\"").count(), 4);
    let Some((dom, console_errors)) = common::browse(&html, &dir.join("profile")) else {
        return;
    };
    assert!(
        dom.contains(r#"data-charts-drawn="4""#),
        "charts did not draw:\n{}",
        &dom[..dom.len().min(500)]
    );
    assert!(console_errors.is_empty(), "{console_errors:?}");
    served.stop();
}

#[test]
fn report_rejects_what_is_not_a_report() {
    let dir = common::TempDir::new("notreport");
    let bogus = dir.join("x.json");
    std::fs::write(&bogus, "{\"a\": 1}").unwrap();
    let out = common::ringblast(
        &[
            "report",
            bogus.to_str().unwrap(),
            "--html",
            dir.join("x.html").to_str().unwrap(),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a ringblast report"));
}

#[test]
fn interval_log_round_trips_through_the_hdrhistogram_reader() {
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let server = common::TestServer::start(common::Mode::Plain);
    let dir = common::TempDir::new("hlog");
    let scenario = dir.join("s.toml");
    std::fs::write(&scenario, "[[user]]\n[[user.task]]\nname = \"a\"\npath = \"/a\"\n[[user.task]]\nname = \"b\"\nmethod = \"POST\"\npath = \"/b\"\n").unwrap();
    let log = dir.join("run.hlog");
    let r = run(&[
        "--scenario",
        scenario.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "-c",
        "4",
        "-d",
        "2s",
        "--hlog",
        log.to_str().unwrap(),
    ]);
    assert_eq!(r.code(), 0);
    let bytes = std::fs::read(&log).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("#[StartTime: ") && text.contains("#[BaseTime: "),
        "{}",
        &text[..200.min(text.len())]
    );
    let mut deserializer = Deserializer::new();
    let (mut untagged, mut tagged, mut intervals) =
        (0u64, std::collections::BTreeMap::<String, u64>::new(), 0);
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(h) = entry.expect("a valid log line") {
            let decoded = common::base64_decode(h.encoded_histogram());
            let hist: hdrhistogram::Histogram<u64> = deserializer
                .deserialize(&mut decoded.as_slice())
                .expect("a V2 histogram");
            match h.tag() {
                None => {
                    untagged += hist.len();
                    intervals += 1;
                }
                Some(tag) => *tagged.entry(tag.as_str().to_string()).or_insert(0) += hist.len(),
            }
        }
    }
    assert!(intervals >= 2, "{intervals} intervals");
    assert_eq!(
        untagged,
        r.n("/requests/responses"),
        "the untagged histograms hold every response"
    );
    let endpoint = |name: &str| {
        r.json["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()["requests"]["responses"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(tagged.get("GET_a"), Some(&endpoint("a")));
    assert_eq!(tagged.get("POST_b"), Some(&endpoint("b")));
}

/// Secrets never show: a password holding a '#' is refused redacted, and secret query values
/// are hidden in the report, its endpoint names, the CSV and /metrics — while the server still
/// gets the real query.
#[test]
fn secrets_in_urls_never_show() {
    for url in [
        "http://u:hun#ter2@127.0.0.1:1/",
        "http://u:hun/ter2@127.0.0.1:1/",
    ] {
        let mut cmd = Command::new(BIN);
        cmd.args(["run", url, "-n", "1"]);
        let out = run_bounded(cmd, Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            !stderr.contains("hun") && !stderr.contains("ter2"),
            "{stderr}"
        );
    }
    let server = TestServer::start(Mode::Plain);
    let dir = common::TempDir::new("secrets");
    let prefix = dir.join("s");
    let r = common::run(&[
        &server.url("/data?api_key=s3cr3tvalue&page=2"),
        "-n",
        "20",
        "-c",
        "1",
        "--csv",
        prefix.to_str().unwrap(),
    ]);
    assert_eq!(r.code(), 0);
    let first = String::from_utf8_lossy(&server.counts.first_request.lock().unwrap()).into_owned();
    assert!(
        first.contains("api_key=s3cr3tvalue"),
        "the server gets the real key: {first}"
    );
    let report = r.json.to_string();
    assert!(!report.contains("s3cr3tvalue"), "{report}");
    assert!(report.contains("api_key=***"), "{report}");
    let stdout = String::from_utf8_lossy(&r.output.stdout);
    assert!(!stdout.contains("s3cr3tvalue"), "{stdout}");
    let stats = std::fs::read_to_string(format!("{}_stats.csv", prefix.display())).unwrap();
    assert!(
        !stats.contains("s3cr3tvalue") && stats.contains("api_key=***"),
        "{stats}"
    );
}
