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
