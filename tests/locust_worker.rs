//! `ringblast locust-worker` under a real Locust master (pip's locust, pinned in .ci/run): the
//! master's own counts and CSV against what the test server answered; and the worker's
//! behaviour with an unreachable master and with a malformed message.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Mode, TempDir, TestServer, scenario, wait_bounded};

/// Whether Locust (and pyzmq) can be run here; CI installs them, so there a miss fails.
fn locust_available() -> bool {
    common::python_has("locust, zmq, msgpack", "a locust-worker test")
}

const LOCUSTFILE: &str = r#"
from locust import User, task, constant
class Browse(User):
    weight = 4
    wait_time = constant(0.05)
    @task
    def t(self):
        pass
class Admin(User):
    weight = 1
    wait_time = constant(0.05)
    @task
    def t(self):
        pass
"#;

#[test]
fn two_workers_under_a_locust_master_report_what_the_server_answered() {
    if !locust_available() {
        return;
    }
    let server = TestServer::start(Mode::Plain);
    let dir = TempDir::new("locust-master");
    std::fs::write(dir.join("stub.py"), LOCUSTFILE).unwrap();
    // The scenario runs Browse; Admin is the master's but not ours: reported as an exception.
    let (_s, path) = scenario(
        r#"
[[user]]
name = "Browse"
think = "50ms"
[[user.task]]
name = "item"
path = "/items/1"
"#,
    );
    let port = common::free_port();
    let prefix = dir.join("lm");
    let master = Command::new("locust")
        .current_dir(&*dir)
        .args([
            "-f",
            "stub.py",
            "--master",
            "--headless",
            "--expect-workers",
            "2",
        ])
        .args([
            "-u",
            "10",
            "-r",
            "10",
            "-t",
            "4s",
            "--master-bind-host",
            "127.0.0.1",
        ])
        .args(["--master-bind-port", &port.to_string(), "--csv"])
        .arg(&prefix)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let master_addr = format!("127.0.0.1:{port}");
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let json = dir.join(format!("w{i}.json"));
            let child = common::spawn(
                &[
                    "locust-worker",
                    "--master",
                    &master_addr,
                    "--master-timeout",
                    "20s",
                    "--scenario",
                    path.to_str().unwrap(),
                    "--host",
                    &server.url("/"),
                    "-q",
                ],
                &json,
            );
            (child, json)
        })
        .collect();
    let master_out = wait_bounded(master, Duration::from_secs(60));
    let master_log = String::from_utf8_lossy(&master_out.stderr);
    let mut unfinished = 0;
    let mut worker_logs = String::new();
    for (child, json) in workers {
        let out = wait_bounded(child, Duration::from_secs(30));
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{log}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        unfinished += report["requests"]["unfinished"].as_u64().unwrap();
        worker_logs.push_str(&log);
    }
    assert!(
        master_out.status.success() || master_out.status.code() == Some(1),
        "{master_log}"
    );
    let stats = std::fs::read_to_string(dir.join("lm_stats.csv")).unwrap();
    let count = |row: &str| -> u64 {
        let line = stats
            .lines()
            .find(|l| l.contains(row))
            .unwrap_or_else(|| panic!("{stats}"));
        line.split(',').nth(2).unwrap().parse().unwrap()
    };
    let total = count(",Aggregated,");
    let answered = server.answered();
    assert!(total > 50, "{stats}");
    assert!(
        total <= answered && answered <= total + unfinished,
        "the master counted {total}; the server answered {answered} ({unfinished} unfinished)"
    );
    assert_eq!(count("GET,item,"), total, "the endpoint's own row");
    // Admin is not in the scenario: each worker said so, and the master recorded it.
    assert!(
        worker_logs.contains("user class Admin is not in this worker's scenario"),
        "{worker_logs}"
    );
    let exceptions = std::fs::read_to_string(dir.join("lm_exceptions.csv")).unwrap();
    assert!(exceptions.contains("Admin"), "{exceptions}");
}

#[test]
fn an_unreachable_master_is_a_one_line_error() {
    let out = common::ringblast(
        &[
            "locust-worker",
            "--master",
            &format!("127.0.0.1:{}", common::free_port()),
            "--master-timeout",
            "1s",
            "http://127.0.0.1:9/",
        ],
        Duration::from_secs(15),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot reach the Locust master"),
        "{stderr}"
    );
}

/// A master (pyzmq ROUTER) that sends garbage before its ack, then walks the worker through a
/// spawn, a stop (the worker says client_stopped and is ready again), a reconnect (it comes
/// back with the same identity) and a quit: the worker says what it ignored and leaves cleanly
/// with its stats.
const FAKE_MASTER: &str = r#"
import json, sys, time, msgpack, zmq
s = zmq.Context().socket(zmq.ROUTER)
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
s.RCVTIMEO = 10000
def send(ident, kind, data=None):
    s.send_multipart([ident, msgpack.dumps([kind, data, ident.decode()])])
ident, raw = s.recv_multipart()
s.send_multipart([ident, b"\xc1 not msgpack"])
send(ident, "ack", {"index": 0})
send(ident, "spawn", {"timestamp": time.time(), "user_classes_count": {"X": 2}, "host": None, "stop_timeout": 0, "parsed_options": {}})
seen, requests, step, deadline = [], 0, 0, time.time() + 15
while time.time() < deadline:
    try:
        who, raw = s.recv_multipart()
    except zmq.Again:
        break
    kind, data, _ = msgpack.loads(raw, raw=False, strict_map_key=False)
    seen.append(kind)
    if who != ident:
        seen.append("other-identity")
    if kind == "stats":
        requests += data["stats_total"]["num_requests"]
    if kind == "stats" and step == 0:
        step = 1
        send(ident, "stop")
    elif kind == "client_ready" and step == 1:
        step = 2
        send(ident, "ack", {"index": 0})
        send(ident, "reconnect")
    elif kind == "client_ready" and step == 2:
        step = 3
        send(ident, "ack", {"index": 0})
        send(ident, "quit")
    elif kind == "quit":
        break
print(json.dumps({"seen": seen, "requests": requests}), flush=True)
"#;

#[test]
fn a_malformed_message_is_logged_and_the_worker_goes_on() {
    if !locust_available() {
        return;
    }
    let server = TestServer::start(Mode::Plain);
    let mut fake = Command::new("python3")
        .args(["-c", FAKE_MASTER])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(fake.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port = line.trim().to_string();
    let worker = Command::new(env!("CARGO_BIN_EXE_ringblast"))
        .args([
            "locust-worker",
            "--master",
            &format!("127.0.0.1:{port}"),
            "-q",
        ])
        .arg(server.url("/"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = wait_bounded(worker, Duration::from_secs(30));
    let log = String::from_utf8_lossy(&done.stderr);
    line.clear();
    out.read_line(&mut line).unwrap();
    let _ = fake.wait();
    assert_eq!(done.status.code(), Some(0), "{log}");
    assert!(
        log.contains("ignoring a malformed message from the master"),
        "{log}"
    );
    let seen: serde_json::Value = serde_json::from_str(&line).expect("the fake master's summary");
    let kinds: Vec<&str> = seen["seen"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k.as_str())
        .collect();
    for k in [
        "spawning",
        "spawning_complete",
        "heartbeat",
        "stats",
        "client_stopped",
        "quit",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    // Ready again after the stop, and once more after reconnecting, under the same identity.
    assert_eq!(
        kinds.iter().filter(|k| **k == "client_ready").count(),
        2,
        "{kinds:?}"
    );
    assert!(!kinds.contains(&"other-identity"), "{kinds:?}");
    // Every request the worker reported, the server answered (the last report follows quit).
    let reported = seen["requests"].as_u64().unwrap();
    assert!(
        reported > 0 && reported <= server.answered(),
        "{reported} vs {}",
        server.answered()
    );
}

/// A master that asks for 80,000 classes, three of them with i64::MAX users, and reports what
/// the worker said it spawned and how long that took.
const HUGE_SPAWN: &str = r#"
import json, time, msgpack, zmq
s = zmq.Context().socket(zmq.ROUTER)
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
s.RCVTIMEO = 30000
def send(ident, kind, data=None):
    s.send_multipart([ident, msgpack.dumps([kind, data, ident.decode()])])
ident, raw = s.recv_multipart()
send(ident, "ack", {"index": 0})
counts = {f"C{i}": 0 for i in range(80000)}
for name in ("C1", "C2", "C3"):
    counts[name] = 2**63 - 1
asked = time.time()
send(ident, "spawn", {"timestamp": asked, "user_classes_count": counts, "host": None, "stop_timeout": 0, "parsed_options": {}})
result = None
while result is None:
    who, raw = s.recv_multipart()
    kind, data, _ = msgpack.loads(raw, raw=False, strict_map_key=False)
    if kind == "spawning_complete":
        result = {"user_count": data["user_count"], "seconds": time.time() - asked,
                  "classes": len(data["user_classes_count"]),
                  "c1": data["user_classes_count"]["C1"]}
send(ident, "quit")
print(json.dumps(result), flush=True)
"#;

/// A master's spawn with 80,000 class names is handled in linear time, and user counts that
/// overflow a sum saturate instead of wrapping (2^63−1 users were once reported as 1).
#[test]
fn a_huge_spawn_is_linear_and_its_counts_saturate() {
    if !common::python_has("zmq, msgpack", "the hostile spawn test") {
        return;
    }
    let mut master = common::PythonPeer::start(HUGE_SPAWN, &[]);
    let worker = Command::new(env!("CARGO_BIN_EXE_ringblast"))
        .args([
            "locust-worker",
            "--master",
            &format!("127.0.0.1:{}", master.port),
        ])
        .args(["--max-users", "5", "-q", "http://127.0.0.1:9/"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = wait_bounded(worker, Duration::from_secs(60));
    let line = master.next_line();
    let stderr = String::from_utf8_lossy(&done.stderr);
    let seen: serde_json::Value = serde_json::from_str(&line).expect("the master's summary");
    assert_eq!(
        seen["user_count"], 5,
        "capped by --max-users: {seen}\n{stderr}"
    );
    assert_eq!(seen["classes"], 80_000, "{seen}");
    assert!(
        stderr.contains("the master asked for 18446744073709551615 users"),
        "{stderr}"
    );
    // Quadratic handling took 16 s here; linear takes milliseconds. 5 s only catches the former.
    assert!(seen["seconds"].as_f64().unwrap() < 5.0, "{seen}");
}
