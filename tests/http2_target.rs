//! The built-in target's HTTP/2 (`serve --http2`), on both backends: ringblast, h2load and raw
//! frames against it, over h2c and TLS, each asserting on what the target says it answered.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{Served, run};
use ringblast::proto::h2::frame::{self, kind};

per_backend! {
    fn ringblast_and_the_builtin_target_agree_over_h2c_and_tls(io) {
        // h2c with prior knowledge: every stream answered once, on the connections asked for.
        let served = Served::start(&["--http2", "--io", io]);
        let r = run(&[&served.url, "--http2", "--streams", "8", "-c", "4", "-n", "5000", "--io", io]);
        r.assert_accounted();
        assert_eq!((r.json["protocol"].as_str(), r.n("/requests/ok")), (Some("h2c"), 5000));
        assert_eq!(r.n("/connections_detail/http2/connections"), 4);
        // A POST's body arrives through the target's windows; HEAD gets no body.
        let r2 = run(&[&served.url, "--http2", "-m", "POST", "-b", &"x".repeat(100_000),
            "-c", "2", "-n", "20", "--io", io]);
        assert_eq!(r2.n("/requests/ok"), 20, "{}", r2.json["errors"]);
        let r3 = run(&[&served.url, "--http2", "-m", "HEAD", "-c", "1", "-n", "10", "--io", io]);
        assert_eq!((r3.n("/requests/ok"), r3.n("/bytes/received") < 2000), (10, true));
        // HTTP/1.1 on the same port still works.
        let r4 = run(&[&served.url, "-c", "2", "-n", "100", "--io", io]);
        assert_eq!(r4.n("/requests/ok"), 100);
        assert_eq!(served.stop(), 5000 + 20 + 10 + 100);

        // TLS: ALPN h2 for --http2 and --http auto; HTTP/1.1 where the target offers only that.
        let served = Served::start(&["--http2", "--tls", "--io", io]);
        let r = run(&[&served.url, "-k", "--http", "auto", "--streams", "4", "-c", "2", "-n", "1000", "--io", io]);
        assert_eq!(r.n("/requests/ok"), 1000, "{}", r.json["errors"]);
        assert_eq!(r.n("/connections_detail/http2/connections"), 2);
        assert_eq!(served.stop(), 1000);
        let served = Served::start(&["--tls", "--io", io]);
        let r = run(&[&served.url, "-k", "--http", "auto", "--streams", "4", "-c", "2", "-n", "100", "--io", io]);
        assert_eq!(r.n("/requests/ok"), 100, "{}", r.json["errors"]);
        assert_eq!(r.n("/connections_detail/http2/connections"), 0);
        assert_eq!(served.stop(), 100);
    }
}

per_backend! {
    fn h2load_against_the_builtin_target(io) {
        // nghttp2's load generator: an HTTP/2 client that is not ours, over h2c and TLS.
        if !common::have("h2load", "h2load against the built-in HTTP/2 target") {
            return;
        }
        for tls in [false, true] {
            let mut extra = vec!["--http2", "--io", io];
            if tls {
                extra.push("--tls");
            }
            let served = Served::start(&extra);
            let mut cmd = std::process::Command::new("h2load");
            cmd.args(["-n", "20000", "-c", "4", "-m", "16", &served.url]);
            let out = common::run_bounded(cmd, Duration::from_secs(30));
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("20000 total, 20000 started, 20000 done, 20000 succeeded"),
                "tls {tls}: {text}"
            );
            assert!(text.contains("status codes: 20000 2xx"), "{text}");
            assert_eq!(served.stop(), 20000, "tls {tls}");
        }
    }
}

/// Reads frames from `s` until one of `kind` arrives (or 5 s pass): its payload.
fn read_until(s: &mut std::net::TcpStream, want: u8) -> Option<Vec<u8>> {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Ok(Some((f, n))) = frame::Frame::read(&buf, frame::MAX_FRAME) {
            if f.kind == want {
                return Some(f.payload.to_vec());
            }
            buf.drain(..n);
        }
        match s.read(&mut chunk) {
            // A read with a timeout can be interrupted with no signal of ours (the process
            // stopped or frozen, then resumed): read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

per_backend! {
    fn the_builtin_target_ends_a_broken_http2_connection_with_a_goaway(io) {
        let served = Served::start(&["--http2", "--io", io]);
        let addr = served.url.trim_start_matches("http://").trim_end_matches('/').to_string();
        let cases: Vec<(&str, Vec<u8>, u32)> = vec![
            // A stream id the client may not use (even: the server's).
            ("even stream", {
                let mut b = frame::PREFACE.to_vec();
                frame::headers(2, &[0x82, 0x84], true, frame::MIN_FRAME, &mut b);
                b
            }, 0x1),
            // A header block that indexes past every table.
            ("bad HPACK", {
                let mut b = frame::PREFACE.to_vec();
                frame::headers(1, &[0xff, 0x80, 0x80, 0x01], true, frame::MIN_FRAME, &mut b);
                b
            }, 0x9),
            // CONTINUATION without end: a header block past 64 KiB.
            ("continuation flood", {
                let mut b = frame::PREFACE.to_vec();
                frame::head(0, kind::HEADERS, 0, 1, &mut b);
                for _ in 0..8 {
                    frame::head(16_000, kind::CONTINUATION, 0, 1, &mut b);
                    b.extend(std::iter::repeat_n(0x82u8, 16_000));
                }
                b
            }, 0xb),
        ];
        for (what, bytes, code) in cases {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(&bytes).unwrap();
            let goaway = read_until(&mut s, kind::GOAWAY).unwrap_or_else(|| panic!("{what}: no GOAWAY"));
            assert_eq!(u32::from_be_bytes(goaway[4..8].try_into().unwrap()), code, "{what}");
            // Then the target closes the connection.
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        }
        // It still serves everyone else.
        let r = run(&[&served.url, "--http2", "-c", "2", "-n", "100", "--io", io]);
        assert_eq!(r.n("/requests/ok"), 100);
        assert_eq!(served.stop(), 100);
    }
}

#[test]
fn the_demo_runs_over_http2() {
    let dir = common::TempDir::new("demo-h2");
    let json = dir.join("demo.json");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ringblast"));
    cmd.args([
        "demo",
        "--http2",
        "-d",
        "1s",
        "-c",
        "8",
        "--json",
        json.to_str().unwrap(),
    ]);
    let out = common::run_bounded(cmd, Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["protocol"], "h2c");
    assert_eq!(r["requests"]["errors"], 0, "{}", r["errors"]);
    // The scenario's login captured its token over HTTP/2: the later requests were authorized.
    let endpoints = r["endpoints"].as_array().unwrap();
    let login = endpoints.iter().find(|e| e["name"] == "login").unwrap();
    assert_eq!(login["requests"]["ok"], 8, "{login}");
    assert!(
        endpoints
            .iter()
            .all(|e| e["requests"]["ok"] == e["requests"]["responses"]),
        "{text}"
    );
    let answered: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("built-in target answered "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    let sent = r["requests"]["sent"].as_u64().unwrap();
    assert_eq!(
        answered, sent,
        "every request sent was answered by the target"
    );
}

per_backend! {
    fn users_share_connections_as_streams_each_with_its_own_captures(io) {
        // 40 users, 10 streams a connection: 4 connections. Each user logs in with its own
        // drawn id and sends that id beside the token it captured; the server (Python's h2,
        // tests/fixtures/h2_server.py) logs both, so a token that went to another user shows.
        if !common::python_has("h2", "the HTTP/2 login server") {
            return;
        }
        let dir = common::TempDir::new("h2-users");
        let log = dir.join("users.log");
        let mut peer = common::PythonPeer::start(
            include_str!("fixtures/h2_server.py"),
            &["users", log.to_str().unwrap()],
        );
        let (_d, path) = common::scenario(&format!(
            r#"
host = "http://127.0.0.1:{}"

[load]
users = 40

[[user]]
name = "U"
think = "20ms..40ms"
set = {{ me = "{{{{rand_int 1 999999999 9}}}}" }}
on_start = [{{ name = "login", method = "POST", path = "/login", body = '{{"me":"{{{{me}}}}"}}', capture = {{ token = "json:/token" }} }}]

[[user.task]]
name = "work"
path = "/work"
headers = {{ Authorization = "Bearer {{{{token}}}}", X-Me = "{{{{me}}}}" }}
"#,
            peer.port
        ));
        let r = run(&["--scenario", path.to_str().unwrap(), "--http2", "--streams", "10",
            "-d", "1500ms", "--io", io]);
        let _ = peer.child.kill();
        let _ = peer.child.wait();
        r.assert_accounted();
        assert_eq!(r.n("/requests/errors"), 0, "{}", r.json["errors"]);
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
        let count = |what: &str| lines.iter().filter(|l| l[1] == what).count();
        assert_eq!(count("conn"), 4, "40 users on 10 streams a connection:\n{text}");
        assert_eq!(r.n("/connections_detail/opened"), 4);
        // Every user logged in once, with an id of its own.
        let logins: std::collections::BTreeSet<&str> =
            lines.iter().filter(|l| l[1] == "login").map(|l| l[2]).collect();
        assert_eq!((count("login"), logins.len()), (40, 40), "{text}");
        // Every later request carried its own user's token, never another's.
        let reqs: Vec<_> = lines.iter().filter(|l| l[1] == "req").collect();
        assert!(reqs.len() >= 40 * 10, "each user worked on: {} requests", reqs.len());
        for l in &reqs {
            assert_eq!(l.get(4).copied(), Some(format!("tok-{}", l[2])).as_deref(), "{l:?}");
            assert!(logins.contains(l[2]), "{l:?}");
        }
        // What the server answered is what ringblast counted, but for the requests still in
        // flight at the deadline (unfinished: answered after ringblast stopped reading).
        let answered = (count("login") + reqs.len()) as u64;
        let (responses, unfinished) = (r.n("/requests/responses"), r.n("/requests/unfinished"));
        assert!(responses <= answered && answered <= responses + unfinished, "{}", r.json["requests"]);

        // Through GOAWAYs (a server that ends every connection after 20 answers), shared
        // connections lose nothing: what a GOAWAY refused goes again on the next connection,
        // and a new connection's first frame is its preface even when every rider is thinking.
        let log = dir.join("goaway.log");
        let mut peer = common::PythonPeer::start(
            include_str!("fixtures/h2_server.py"),
            &["goaway", log.to_str().unwrap()],
        );
        let url = format!("http://127.0.0.1:{}/", peer.port);
        let r = run(&[&url, "--users", "30", "--http2", "--streams", "10", "--think", "5ms..10ms",
            "-d", "1500ms", "--io", io]);
        let _ = peer.child.kill();
        let _ = peer.child.wait();
        r.assert_accounted();
        assert_eq!(r.n("/requests/errors"), 0, "{}", r.json["errors"]);
        let answered = std::fs::read_to_string(&log).unwrap().lines().filter(|l| l.contains(" answer ")).count() as u64;
        let (responses, unfinished) = (r.n("/requests/responses"), r.n("/requests/unfinished"));
        assert!(responses <= answered && answered <= responses + unfinished, "{answered} {}", r.json["requests"]);
        assert!(r.n("/connections_detail/http2/goaways") >= 10, "{}", r.json["connections_detail"]);
    }
}

per_backend! {
    fn the_open_loop_runs_over_http2_at_its_rate(io) {
        // -R over HTTP/2: requests go on free streams at their intended times, and every one
        // sent was answered by the target.
        let served = Served::start(&["--http2", "--io", io]);
        // 64 streams in flight leave room for 30 ms answers on a busy machine.
        let r = run(&[&served.url, "--http2", "--streams", "16", "-c", "4", "-R", "2000", "-d", "1s",
            "--io", io]);
        r.assert_accounted();
        let sent = r.n("/requests/sent");
        assert!((1900..=2100).contains(&sent), "{}", r.json["requests"]);
        assert_eq!(r.n("/requests/ok") + r.n("/requests/unfinished"), sent);
        assert_eq!(r.json["load"]["model"], "rate");
        assert_eq!(r.n("/connections_detail/http2/connections"), 4);
        assert_eq!(served.stop(), r.n("/requests/responses") + r.n("/requests/unfinished"));
    }
}
