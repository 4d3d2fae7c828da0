//! Every load-running command × every shared flag: each combination is honoured, with an
//! assertion on its effect (files written and parsed, /metrics answered, the start waited, what
//! the server received), or refused with one line and exit 2. Nothing is silently ignored.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Mode, TempDir, TestServer, free_port, run_bounded, wait_bounded};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ringblast");

/// What the table says each command does with each shared flag: (flag, example arguments,
/// honoured by peak, honoured by locust-worker). `run` honours them all.
const TABLE: &[(&str, &[&str], bool, bool)] = &[
    ("-R/--rate", &["-R", "100"], false, false),
    ("-u/--users", &["-u", "2"], false, false),
    ("--spawn-rate", &["--spawn-rate", "10"], false, false),
    ("--stages", &["--stages", "1s:100"], false, false),
    ("-n/--requests", &["-n", "50"], false, false),
    ("-d/--duration", &["-d", "1s"], false, false),
    ("--shard", &["--shard", "1/2"], false, false),
    (
        "--start-at",
        &["--start-at", "2100-01-01T00:00:00Z"],
        false,
        false,
    ),
    ("--html", &["--html", "x.html"], false, true),
    (
        "--csv-full-history",
        &["--csv", "x", "--csv-full-history"],
        false,
        true,
    ),
    ("--csv", &["--csv", "x"], false, true),
    ("--hlog", &["--hlog", "x.hlog"], false, true),
    (
        "--metrics-listen",
        &["--metrics-listen", "127.0.0.1:0"],
        false,
        true,
    ),
    ("--rounds", &["--rounds", "2"], false, false),
    ("--kernel-stats on", &["--kernel-stats", "on"], false, true),
];

#[test]
fn the_table_names_every_shared_flag_of_the_pipeline() {
    let ours: Vec<&str> = TABLE.iter().map(|t| t.0).collect();
    let theirs: Vec<&str> = ringblast::pipeline::flags().collect();
    assert_eq!(
        ours, theirs,
        "a flag was added to the pipeline: test it here"
    );
}

/// A refusal: exit 2 at once, one line that names the flag, nothing started.
fn assert_refused(command: &str, flag: &str, out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{command} {flag}: {stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "{command} {flag}: {stderr}"
    );
    let name = flag.split([' ', '/']).next().unwrap();
    assert!(stderr.contains(name), "{command} {flag}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn peak_and_locust_worker_refuse_what_they_cannot_honour() {
    // Nothing listens there: a flag that were not refused would start a run and fail otherwise.
    let url = format!("http://127.0.0.1:{}/", free_port());
    let master = format!("127.0.0.1:{}", free_port());
    for (flag, example, peak, worker) in TABLE {
        if !peak {
            let mut cmd = Command::new(BIN);
            cmd.args(["peak", &url]).args(*example);
            assert_refused("peak", flag, &run_bounded(cmd, Duration::from_secs(10)));
        }
        if !worker {
            let mut cmd = Command::new(BIN);
            cmd.args(["locust-worker", "--master", &master, &url])
                .args(*example);
            assert_refused(
                "locust-worker",
                flag,
                &run_bounded(cmd, Duration::from_secs(10)),
            );
        }
    }
    // demo takes only its own flags; the others are usage errors, in one line.
    for flag in ["--csv", "--hlog", "--metrics-listen", "-R"] {
        let mut cmd = Command::new(BIN);
        cmd.args(["demo", flag, "1"]);
        assert_refused("demo", flag, &run_bounded(cmd, Duration::from_secs(10)));
    }
}

fn json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Reads /metrics from `addr` (one GET), if it answers.
fn scrape(addr: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    body.starts_with("HTTP/1.1 200").then_some(body)
}

/// Scrapes `addr` until it shows a completed second of load, for at most `limit`.
fn scrape_until_load(addr: &str, limit: Duration) -> Option<String> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(text) = scrape(addr)
            && text.contains("ringblast_sent_total")
            && !text.contains("ringblast_sent_total 0\n")
        {
            return Some(text);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Whether `--kernel-stats on` can be honoured here (root with eBPF); else the test skips it.
fn ebpf() -> bool {
    let addr = "127.0.0.1:9".parse().unwrap();
    let attach = ringblast::kstats::ebpf::Attach::BtfFirst;
    match ringblast::kstats::ebpf::Probe::attach(addr, 1024, attach) {
        Ok(_) => true,
        Err(why) => {
            common::skip("--kernel-stats on in the pipeline table", &why.to_string());
            false
        }
    }
}

/// Every output flag at once, on a command's run: each file is written whole and parses, the
/// metrics listener answered during the run, and the kernel's counts are in the report.
struct Outputs {
    dir: TempDir,
    metrics: String,
}

impl Outputs {
    fn new() -> Self {
        Self {
            dir: TempDir::new("pipeline"),
            metrics: format!("127.0.0.1:{}", free_port()),
        }
    }

    fn args(&self, kernel: bool) -> Vec<String> {
        let p = |name: &str| self.dir.join(name).display().to_string();
        let mut a = vec![
            "--json".into(),
            p("r.json"),
            "--html".into(),
            p("r.html"),
            "--csv".into(),
            p("r"),
            "--csv-full-history".into(),
            "--hlog".into(),
            p("r.hlog"),
            "--metrics-listen".into(),
            self.metrics.clone(),
        ];
        if kernel {
            a.extend(["--kernel-stats".into(), "on".into()]);
        }
        a
    }

    fn check(&self, command: &str, scraped: Option<String>, kernel: bool) {
        let report = json(&self.dir.join("r.json"));
        assert!(
            report["requests"]["responses"].as_u64().unwrap() > 0,
            "{command}"
        );
        let html = std::fs::read_to_string(self.dir.join("r.html")).unwrap();
        assert!(html.starts_with("<!doctype html>"), "{command}: --html");
        let stats = std::fs::read_to_string(self.dir.join("r_stats.csv")).unwrap();
        assert!(
            stats.lines().any(|l| l.contains("Aggregated")),
            "{command}: --csv"
        );
        assert!(self.dir.join("r_failures.csv").exists(), "{command}: --csv");
        let history = std::fs::read_to_string(self.dir.join("r_stats_history.csv")).unwrap();
        assert!(
            history.lines().count() > 1,
            "{command}: --csv history rows: {history}"
        );
        // --csv-full-history: a row per endpoint too, not only the Aggregated one.
        assert!(
            history.lines().skip(1).any(|l| !l.contains("Aggregated")),
            "{command}: --csv-full-history: {history}"
        );
        let hlog = std::fs::read_to_string(self.dir.join("r.hlog")).unwrap();
        assert!(
            hlog.starts_with('#') && hlog.lines().any(|l| !l.starts_with('#')),
            "{command}: --hlog: {hlog}"
        );
        let metrics = scraped.unwrap_or_else(|| panic!("{command}: /metrics never answered"));
        assert!(metrics.contains("ringblast_requests_total"), "{metrics}");
        if kernel {
            assert_eq!(
                report["kernel"]["source"], "ebpf",
                "{command}: --kernel-stats on: {}",
                report["kernel"]
            );
        }
        for partial in std::fs::read_dir(&*self.dir).unwrap() {
            let name = partial.unwrap().file_name();
            assert!(
                !name.to_string_lossy().ends_with(".partial"),
                "{command}: {name:?} was left half-written"
            );
        }
    }
}

#[test]
fn run_honours_every_output_flag() {
    let server = TestServer::start(Mode::Plain);
    let kernel = ebpf();
    let out = Outputs::new();
    let child = Command::new(BIN)
        .args(["run", &server.url("/"), "-c", "4", "-d", "3s", "-q"])
        .args(out.args(kernel))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let scraped = scrape_until_load(&out.metrics, Duration::from_secs(20));
    let done = wait_bounded(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    out.check("run", scraped, kernel);
    let report = json(&out.dir.join("r.json"));
    std::thread::sleep(Duration::from_millis(100));
    let (responses, unfinished) = (
        report["requests"]["responses"].as_u64().unwrap(),
        report["requests"]["unfinished"].as_u64().unwrap(),
    );
    let answered = server.answered();
    assert!(
        (responses..=responses + unfinished).contains(&answered),
        "the server answered {answered}: {responses} responses and {unfinished} unfinished"
    );
}

/// `run` with each load flag: the server received what the flag asked for.
#[test]
fn run_honours_every_load_flag() {
    let server = TestServer::start(Mode::Plain);
    let url = server.url("/");
    let dir = TempDir::new("pipeline-load");
    let go = |name: &str, args: &[&str]| -> Value {
        let path = dir.join(format!("{name}.json"));
        let mut cmd = Command::new(BIN);
        cmd.args(["run", &url, "-q", "--json"])
            .arg(&path)
            .args(args);
        let out = run_bounded(cmd, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        json(&path)
    };
    let before = server.received();
    let r = go("n", &["-n", "50", "-c", "2"]);
    assert_eq!(r["requests"]["sent"], 50);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        server.received() - before,
        50,
        "-n: what the server received"
    );
    let r = go("rate", &["-R", "100", "-d", "2s", "-c", "2"]);
    assert_eq!(r["load"]["model"], "rate");
    let sent = r["requests"]["sent"].as_u64().unwrap();
    assert!((190..=210).contains(&sent), "-R 100 for 2s sent {sent}");
    let r = go(
        "users",
        &[
            "-u",
            "3",
            "--spawn-rate",
            "30",
            "--think",
            "100ms",
            "-d",
            "1s",
        ],
    );
    assert_eq!(r["load"]["model"], "users");
    assert_eq!(r["load"]["peak"], 3.0);
    assert!(r["requests"]["responses"].as_u64().unwrap() > 0);
    let r = go("stages", &["--stages", "1s:100,1s:200", "-c", "2"]);
    assert_eq!(r["load"]["model"], "rate");
    let sent = r["requests"]["sent"].as_u64().unwrap();
    // The ramp's integral: 50 in the first second, 150 in the second.
    assert!((190..=210).contains(&sent), "--stages sent {sent}");
    let r = go("d", &["-d", "1s", "-c", "2"]);
    let d = r["duration_s"].as_f64().unwrap();
    assert!((0.95..1.5).contains(&d), "-d 1s ran {d}s");
    let r = go("shard", &["--shard", "1/2", "-n", "40", "-c", "2"]);
    assert_eq!(r["shard"]["index"], 1);
    assert_eq!(r["shard"]["count"], 2);
    assert_eq!(r["requests"]["sent"], 20, "shard 1 of 2 runs half of -n 40");
    // --start-at: the run waited for it. A whole second 2 s ahead is at least 1 s away, and a
    // lower bound holds however loaded the machine is.
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let started = Instant::now();
    let r = go(
        "start",
        &["--start-at", &at.to_string(), "-n", "10", "-c", "1"],
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "--start-at {at} did not wait: {:?}",
        started.elapsed()
    );
    assert_eq!(r["requests"]["sent"], 10);
}

#[test]
fn peak_honours_json_with_its_search() {
    let server = TestServer::start(Mode::Plain);
    let dir = TempDir::new("pipeline-peak");
    let path = dir.join("peak.json");
    let mut cmd = Command::new(BIN);
    cmd.args(["peak", &server.url("/"), "-c", "4", "--step", "1s"])
        .args([
            "--warmup",
            "500ms",
            "--start-rate",
            "200",
            "--max-rate",
            "200",
        ])
        .arg("--json")
        .arg(&path);
    let out = run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&path);
    assert_eq!(report["peak_rps"], 200.0);
    assert_eq!(report["stopped"], "ceiling");
    assert!(server.received() > 0);
}

/// A master that spawns two users, lets a stats report through, then says quit.
const MASTER: &str = r#"
import json, sys, time, msgpack, zmq
s = zmq.Context().socket(zmq.ROUTER)
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
s.RCVTIMEO = 20000
def send(ident, kind, data=None):
    s.send_multipart([ident, msgpack.dumps([kind, data, ident.decode()])])
ident, raw = s.recv_multipart()
send(ident, "ack", {"index": 0})
send(ident, "spawn", {"timestamp": time.time(), "user_classes_count": {"X": 2}, "host": None, "stop_timeout": 0, "parsed_options": {}})
deadline, requests = time.time() + 30, 0
while time.time() < deadline:
    try:
        who, raw = s.recv_multipart()
    except zmq.Again:
        break
    kind, data, _ = msgpack.loads(raw, raw=False, strict_map_key=False)
    if kind == "stats":
        requests += data["stats_total"]["num_requests"]
        if requests > 0:
            send(ident, "quit")
    elif kind == "quit":
        break
print(json.dumps({"requests": requests}), flush=True)
"#;

#[test]
fn locust_worker_honours_every_output_flag() {
    if !common::python_has("zmq, msgpack", "the locust-worker pipeline test") {
        return;
    }
    let server = TestServer::start(Mode::Plain);
    let kernel = ebpf();
    let out = Outputs::new();
    let mut master = common::PythonPeer::start(MASTER, &[]);
    let worker = Command::new(BIN)
        .args([
            "locust-worker",
            "--master",
            &format!("127.0.0.1:{}", master.port),
        ])
        .arg(server.url("/"))
        .arg("-q")
        .args(out.args(kernel))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let scraped = scrape_until_load(&out.metrics, Duration::from_secs(30));
    let done = wait_bounded(worker, Duration::from_secs(60));
    let line = master.next_line();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    let seen: Value = serde_json::from_str(&line).expect("the master's summary");
    assert!(seen["requests"].as_u64().unwrap() > 0, "{seen}");
    out.check("locust-worker", scraped, kernel);
}

#[test]
fn demo_honours_its_outputs() {
    let dir = TempDir::new("pipeline-demo");
    let kernel = ebpf();
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "-d", "1s", "--json"])
        .arg(dir.join("d.json"))
        .arg("--html")
        .arg(dir.join("d.html"));
    if kernel {
        cmd.args(["--kernel-stats", "on"]);
    }
    let out = run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&dir.join("d.json"));
    let answered: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("built-in target answered "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .expect("the demo says what its target answered");
    assert!(report["requests"]["responses"].as_u64().unwrap() <= answered);
    assert!(
        std::fs::read_to_string(dir.join("d.html"))
            .unwrap()
            .contains("<svg")
    );
    if kernel {
        assert_eq!(report["kernel"]["source"], "ebpf", "{}", report["kernel"]);
    }
}
