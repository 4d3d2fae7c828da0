//! The Locust transport against real ZeroMQ: a pyzmq ROUTER (what Locust's master binds) and
//! ringblast's DEALER exchange msgpack messages in Locust's `[type, data, node_id]` envelope.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use ringblast::locust::msgpack::{Value, decode, encode};
use ringblast::locust::zmtp::Dealer;

/// A ROUTER that acks `client_ready` as Locust's master does, then reports the next message
/// (a large one: a long frame) with its identity, and quits.
const ROUTER: &str = r#"
import json, sys, msgpack, zmq
s = zmq.Context().socket(zmq.ROUTER)
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
s.RCVTIMEO = 10000
ident, raw = s.recv_multipart()
msg = msgpack.loads(raw, raw=False, strict_map_key=False)
s.send_multipart([ident, msgpack.dumps(["ack", {"index": 0}, ident.decode()])])
ident2, raw2 = s.recv_multipart()
stats = msgpack.loads(raw2, raw=False, strict_map_key=False)
print(json.dumps({"first": msg, "identity": ident.decode(), "same": ident == ident2,
                  "type": stats[0], "keys": sorted(str(k) for k in stats[1]["response_times"]),
                  "name": stats[1]["name"], "len": len(raw2)}), flush=True)
"#;

#[test]
fn a_dealer_talks_to_a_real_zeromq_router() {
    if !common::python_has("zmq, msgpack", "the ZeroMQ interop test") {
        return;
    }
    let mut router = Command::new("python3")
        .args(["-c", ROUTER])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(router.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().unwrap();
    let id = "testhost_0123456789abcdef0123456789abcdef";
    let mut d = Dealer::connect(
        &format!("127.0.0.1:{port}"),
        id.as_bytes(),
        Duration::from_secs(5),
    )
    .expect("handshake with the ROUTER");
    // Locust's envelope: [type, data, node_id]; -1 as the version skips the master's check.
    let mut msg = Vec::new();
    encode(
        &Value::Array(vec![
            Value::str("client_ready"),
            Value::Int(-1),
            Value::str(id),
        ]),
        &mut msg,
    );
    d.send(&msg).unwrap();
    let frames = d.recv(Duration::from_secs(5)).unwrap().expect("an ack");
    assert_eq!(frames.len(), 1, "the ROUTER strips the identity frame");
    let ack = decode(&frames[0]).unwrap();
    let Value::Array(parts) = &ack else {
        panic!("{ack:?}")
    };
    assert_eq!(parts[0].as_str(), Some("ack"));
    assert_eq!(parts[1].get("index").and_then(Value::as_i64), Some(0));
    // A stats-like message over 255 bytes (a long frame), with integer map keys.
    let buckets = (0..40)
        .map(|i| (Value::Int(i * 10), Value::Int(i)))
        .collect();
    let data = Value::Map(vec![
        (Value::str("name"), Value::str(&"/items/{id}".repeat(10))),
        (Value::str("response_times"), Value::Map(buckets)),
    ]);
    let mut stats = Vec::new();
    encode(
        &Value::Array(vec![Value::str("stats"), data, Value::str(id)]),
        &mut stats,
    );
    assert!(stats.len() > 255);
    d.send(&stats).unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    let _ = router.wait();
    let seen: serde_json::Value = serde_json::from_str(&line).expect("the router's report");
    assert_eq!(seen["first"], serde_json::json!(["client_ready", -1, id]));
    assert_eq!(seen["identity"], id);
    assert_eq!(seen["same"], true);
    assert_eq!(seen["type"], "stats");
    assert_eq!(seen["name"], "/items/{id}".repeat(10));
    assert_eq!(seen["keys"].as_array().unwrap().len(), 40);
    assert_eq!(seen["len"].as_u64(), Some(stats.len() as u64));
}

/// A hostile master on raw TCP: it speaks just enough ZMTP to pass the handshake (or not), then
/// misbehaves as `mode` says: `trickle` sends its greeting a byte every 300 ms; `frames` sends
/// 40 MB of empty frames of one message; `pings` sends ZMTP PINGs without pause.
const HOSTILE: &str = r#"
import socket, sys, time
mode = sys.argv[1]
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4)
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
greeting = bytes([0xff] + [0]*7 + [1, 0x7f, 3, 0]) + b"NULL" + bytes(48)
def command(name, body=b""):
    b = bytes([len(name)]) + name + body
    return bytes([4, len(b)]) + b
end = time.time() + 20
try:
    if mode == "trickle":
        for b in greeting:
            c.send(bytes([b])); time.sleep(0.3)
    else:
        c.sendall(greeting)
        c.recv(64)
        c.sendall(command(b"READY", bytes([11]) + b"Socket-Type" + (6).to_bytes(4, "big") + b"ROUTER"))
        if mode == "frames":
            chunk = b"\x01\x00" * 65536
            for _ in range(320):
                c.sendall(chunk)
        elif mode == "pings":
            # Take client_ready, say ack (msgpack ["ack", {"index": 0}, nil]), then PING on.
            c.recv(4096)
            ack = b"\x93\xa3ack\x81\xa5index\x00\xc0"
            c.sendall(bytes([0, len(ack)]) + ack)
            ping = command(b"PING", (0).to_bytes(2, "big"))
            burst = ping * 4096
            while time.time() < end:
                c.sendall(burst)
        time.sleep(5)
except OSError:
    pass
"#;

/// Starts the hostile master in `mode` and a locust-worker against it; returns both.
fn hostile(mode: &str, extra: &[&str]) -> (common::PythonPeer, std::process::Child) {
    let master = common::PythonPeer::start(HOSTILE, &[mode]);
    let worker = Command::new(env!("CARGO_BIN_EXE_ringblast"))
        .args([
            "locust-worker",
            "--master",
            &format!("127.0.0.1:{}", master.port),
        ])
        .args(extra)
        .args(["-q", "http://127.0.0.1:9/"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (master, worker)
}

/// The worker's peak memory (VmHWM), in KiB.
fn peak_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_master_that_trickles_its_handshake_is_held_to_master_timeout() {
    let (master, worker) = hostile("trickle", &["--master-timeout", "2s"]);
    let started = std::time::Instant::now();
    let out = common::wait_bounded(worker, Duration::from_secs(30));
    drop(master);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The greeting alone would take 19 s at this pace.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("cannot reach the Locust master"),
        "{stderr}"
    );
}

#[test]
fn a_message_of_40_mb_of_empty_frames_is_refused_not_held() {
    let (master, worker) = hostile("frames", &["--master-timeout", "3s"]);
    let pid = worker.id();
    let mut peak = 0;
    let end = std::time::Instant::now() + Duration::from_secs(6);
    while std::time::Instant::now() < end {
        peak = peak.max(peak_kib(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let out = common::wait_bounded(worker, Duration::from_secs(30));
    drop(master);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 40 MB of 2-byte frames once took 478 MB; the bound is MAX_MESSAGE's 64 MB plus the process.
    assert!(peak < 150 * 1024, "peak {peak} KiB\n{stderr}");
    assert!(
        stderr.contains("too large") || stderr.contains("lost the Locust master"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_stops_a_worker_whose_master_never_pauses() {
    let (master, worker) = hostile("pings", &["--master-timeout", "3s"]);
    let pid = worker.id();
    std::thread::sleep(Duration::from_secs(2));
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let asked = std::time::Instant::now();
    let out = common::wait_bounded(worker, Duration::from_secs(30));
    let waited = asked.elapsed();
    drop(master);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // It once exited only when the master stopped sending, 10 s and more later.
    assert!(
        waited < Duration::from_secs(5),
        "{waited:?} after SIGINT\n{stderr}"
    );
    assert!(
        stderr.contains("a worker of the Locust master"),
        "it had joined: {stderr}"
    );
}
