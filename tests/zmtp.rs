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
