//! What real servers and real data do, on every backend: keep-alive limits (a close after N
//! requests, `Keep-Alive: max`), captures not made yet, and credentials that must never show.

mod common;

use common::{Mode, TestServer, run, scenario};

per_backend! {
    fn requests_behind_a_keep_alive_close_are_sent_again(io) {
        // Every 10th answer closes the connection; 7 more requests are pipelined behind it.
        let server = TestServer::start(Mode::CloseEvery(10));
        let r = run(&[&server.url("/"), "-c", "4", "-p", "8", "-n", "2000", "--io", io]);
        r.assert_accounted();
        assert_eq!(r.n("/requests/errors"), 0, "{}", r.json["errors"]);
        assert_eq!(r.n("/requests/responses"), 2000);
        assert!(r.n("/requests/resent") > 100, "{}", r.json["requests"]);
        // The server processed each request once: nothing it answered was sent again.
        assert_eq!(server.answered(), 2000);
        assert_eq!(server.received(), 2000);
        assert_eq!(r.json["endpoints"][0]["requests"]["resent"], r.json["requests"]["resent"]);
    }

    fn resending_can_be_turned_off_and_never_applies_to_post(io) {
        let server = TestServer::start(Mode::CloseEvery(10));
        let r = run(&[&server.url("/"), "-c", "4", "-p", "8", "-n", "2000", "--no-resend", "--io", io]);
        r.assert_accounted();
        r.assert_server_answered(server.answered());
        assert_eq!(r.n("/requests/resent"), 0);
        assert!(r.n("/errors/closed") > 0);
        let server = TestServer::start(Mode::CloseEvery(10));
        let r = run(&[&server.url("/"), "-c", "4", "-p", "8", "-n", "800", "-m", "POST", "-b", "x", "--io", io]);
        r.assert_accounted();
        r.assert_server_answered(server.answered());
        assert_eq!(r.n("/requests/resent"), 0, "POST is not idempotent");
        assert!(r.n("/errors/closed") > 0);
    }

    fn an_announced_keep_alive_max_is_not_pipelined_past(io) {
        // 5 answers per connection. Only a connection opened before the limit was known can
        // overshoot it; every later one pipelines exactly what the server will answer.
        let server = TestServer::start(Mode::KeepAliveMax(5));
        let r = run(&[&server.url("/"), "-c", "2", "-p", "8", "-n", "400", "--io", io]);
        r.assert_accounted();
        assert_eq!(r.n("/requests/errors"), 0, "{}", r.json["errors"]);
        assert_eq!(r.n("/requests/responses"), 400);
        assert_eq!(server.answered(), 400);
        let connects = r.n("/diagnostics/connects");
        assert!(connects >= 80, "{connects}");
        assert!(r.n("/requests/resent") <= 2 * 8, "{}", r.json["requests"]);
    }
}

#[test]
fn a_task_whose_variable_is_not_captured_yet_is_skipped_not_sent_with_a_hole() {
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let (_dir, path) = scenario(
        r#"
[[user]]
[[user.task]]
name = "approve"
path = "/cab/{{token}}/approve/"
weight = 5
[[user.task]]
name = "login"
method = "POST"
path = "/login"
capture = { token = "json:/access" }
weight = 1
"#,
    );
    let r = run(&[
        "--scenario",
        path.to_str().unwrap(),
        "--host",
        &server.url(""),
        "-c",
        "2",
        "-n",
        "300",
    ]);
    r.assert_accounted();
    assert_eq!(r.n("/requests/responses"), 300);
    assert!(
        r.json["diagnostics"]["unset_skipped"]["token"]
            .as_u64()
            .unwrap()
            > 0
    );
    let heads = server.counts.heads.lock().unwrap();
    assert!(
        heads.iter().all(|h| !h.contains("/cab//")),
        "a request with a hole was sent"
    );
    assert!(heads.iter().any(|h| h.contains("/cab/tok-")));
    let text = String::from_utf8_lossy(&r.output.stdout);
    assert!(text.contains("token: not captured yet"), "{text}");
}

#[test]
fn credentials_reach_the_server_and_never_show() {
    let server = TestServer::start(Mode::Plain);
    let url = server.url("/").replace("http://", "http://alice:s3cr%40t@");
    let dir = common::TempDir::new("secrets");
    let html = dir.join("r.html");
    let r = run(&[
        &url,
        "-c",
        "1",
        "-n",
        "5",
        "-H",
        "Cookie: sid=topsecret",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(r.code(), 0);
    let first = String::from_utf8_lossy(&server.counts.first_request.lock().unwrap()).into_owned();
    // alice:s3cr@t
    assert!(
        first.contains("Authorization: Basic YWxpY2U6czNjckB0\r\n"),
        "{first}"
    );
    assert!(first.contains("Cookie: sid=topsecret\r\n"));
    let shown = format!(
        "{}{}{}{}",
        String::from_utf8_lossy(&r.output.stdout),
        String::from_utf8_lossy(&r.output.stderr),
        r.json,
        std::fs::read_to_string(&html).unwrap()
    );
    for secret in ["s3cr", "topsecret", "YWxpY2U6"] {
        assert!(!shown.contains(secret), "{secret} shown");
    }
    assert!(shown.contains("http://***@127.0.0.1"));
    // A malformed credential header is named, its value is not.
    let out = common::ringblast(
        &[
            "run",
            &server.url("/"),
            "-H",
            "Authorization Bearer hunter2",
        ],
        std::time::Duration::from_secs(20),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("hunter2") && err.contains("Authorization"),
        "{err}"
    );
}

#[test]
fn a_line_break_in_an_expanded_value_is_a_setup_error_with_file_and_line() {
    let server = TestServer::start(Mode::Plain);
    let (_dir, path) = scenario(
        r#"
[[user]]
[[user.task]]
path = "/x"
headers = { X-Token = "{{env RB_TEST_INJECT}}" }
"#,
    );
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ringblast"));
    cmd.args([
        "run",
        "--scenario",
        path.to_str().unwrap(),
        "--host",
        &server.url(""),
        "-n",
        "1",
    ])
    .env("RB_TEST_INJECT", "a\r\nX-Evil: 1");
    let out = common::run_bounded(cmd, std::time::Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("s.toml:5:"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(server.received(), 0);
}

#[test]
fn data_values_of_any_width_go_everywhere_with_the_right_length() {
    let server = TestServer::start(Mode::Plain);
    let (dir, path) = scenario(
        r#"
[[user]]
[[user.task]]
name = "publish"
method = "POST"
path = "/planes/{{pick plane from planes.csv}}/{{seq}}"
headers = { X-Plane = "{{pick plane from planes.csv}}", X-Who = "{{env RB_TEST_WHO}}" }
body = '{"plane":"{{pick plane from planes.csv random}}","n":{{rand_int 1 100000}}}'
"#,
    );
    std::fs::write(
        dir.join("planes.csv"),
        "plane\nintune\njamf\nlandscape\nx\n",
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ringblast"));
    let json = dir.join("r.json");
    cmd.args([
        "run",
        "--scenario",
        path.to_str().unwrap(),
        "--host",
        &server.url(""),
        "-c",
        "4",
    ])
    .args([
        "-p",
        "4",
        "-n",
        "400",
        "-q",
        "--json",
        json.to_str().unwrap(),
    ])
    .env("RB_TEST_WHO", "a-rather-long-user-name");
    let out = common::run_bounded(cmd, std::time::Duration::from_secs(30));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["requests"]["responses"], 400);
    // The server frames each request by its Content-Length: a wrong one would merge or split
    // requests, and the counts would not match.
    assert_eq!(server.received(), 400);
    let heads = server.counts.heads.lock().unwrap();
    let mut planes = std::collections::HashSet::new();
    for h in heads.iter() {
        let target = h.split_whitespace().nth(1).unwrap();
        planes.insert(target.split('/').nth(2).unwrap().to_string());
        assert!(h.contains("X-Who: a-rather-long-user-name\r\n"), "{h}");
    }
    let want: std::collections::HashSet<String> = ["intune", "jamf", "landscape", "x"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(planes, want);
}

/// The HTTP/2 client's state machine against Debian's nginx over h2c (prior knowledge), by
/// blocking reads and writes: SETTINGS both ways, nginx's HPACK (Huffman, dynamic table), three
/// streams at a time, and the graceful GOAWAY nginx sends after `keepalive_requests` (5 here):
/// the streams above its last id are refused, and nginx logged exactly the ones it answered.
#[test]
fn the_http2_client_speaks_h2c_with_nginx_up_to_its_goaway() {
    use ringblast::proto::Meta;
    use ringblast::proto::h2::client::{Client, Ended, Event, Request};
    use std::io::{Read, Write};

    #[derive(Debug, Clone, Copy)]
    struct Id(u32);
    impl Meta for Id {
        fn head(&self) -> bool {
            false
        }
        fn collect(&self) -> bool {
            self.0 == 0
        }
    }

    let Some(nginx) = NginxH2c::start(5) else {
        return;
    };
    let port = nginx.port;
    let mut sock = nginx.connect();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut client: Client<Id> = Client::new(false, 4096);
    let authority = format!("127.0.0.1:{port}");
    let (mut next, total) = (0u32, 8u32);
    let (mut answered, mut refused, mut kept) = (Vec::new(), Vec::new(), None);
    let mut buf = vec![0u8; 16384];
    while answered.len() + refused.len() < total as usize {
        let mut out = Vec::new();
        // Three streams at a time, while nginx has not said it is going away.
        while next < total && client.in_flight() < 3 && client.may_open() {
            let path = format!("/item/{next}");
            let req = Request {
                fields: vec![
                    (b":method", b"GET"),
                    (b":scheme", b"http"),
                    (b":authority", authority.as_bytes()),
                    (b":path", path.as_bytes()),
                ],
                body: b"",
            };
            client.stage(&mut out, &req, Id(next));
            next += 1;
        }
        client.control(&mut out);
        sock.write_all(&out).unwrap();
        if !client.may_open() && client.in_flight() == 0 {
            // The rest were never sent: refused before they left.
            refused.extend(next..total);
            break;
        }
        let n = loop {
            match sock.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                r => break r.expect("nginx answers within 5 s"),
            }
        };
        assert!(n > 0, "nginx closed with streams in flight");
        let mut event = client.feed(&buf[..n]);
        while let Some(e) = event {
            match e {
                Event::Response {
                    meta,
                    status,
                    body_len,
                    whole,
                } => {
                    assert_eq!(
                        (status, body_len),
                        (200, 15),
                        "stream of request {}",
                        meta.0
                    );
                    if let Some(w) = whole {
                        kept = Some(String::from_utf8_lossy(&w).into_owned());
                    }
                    answered.push(meta.0);
                }
                Event::Ended(meta, Ended::Refused) => refused.push(meta.0),
                other => panic!("unexpected {other:?}"),
            }
            event = client.feed(&[]);
        }
    }
    drop(sock);
    assert_eq!(
        answered.len(),
        5,
        "nginx answers keepalive_requests, then GOAWAY: {answered:?}"
    );
    assert_eq!(answered.len() + refused.len(), total as usize);
    let logged = nginx.logged();
    assert_eq!(logged.lines().count(), 5, "{logged}");
    assert!(
        logged.lines().all(|l| l.contains("HTTP/2.0\" 200")),
        "{logged}"
    );
    // The kept response reads as HTTP/1.1, nginx's Huffman-coded header decoded.
    let kept = kept.expect("request 0 kept its response");
    assert!(kept.starts_with("HTTP/1.1 200 "), "{kept}");
    assert!(
        kept.contains("x-test: a value long enough for Huffman\r\n"),
        "{kept}"
    );
    assert!(kept.ends_with("hello over h2c\n"), "{kept}");
}

/// Debian's nginx serving HTTP/2, answering `keepalive_requests` streams a connection before its
/// graceful GOAWAY: h2c (`listen … http2`, prior knowledge), or with `tls` HTTPS on two ports,
/// `port` offering h2 and http/1.1 over ALPN (`listen … ssl http2`) and `port_h1` HTTP/1.1 only
/// (`listen … ssl`), with a self-signed certificate. None (a skip) when nginx or openssl is
/// not installed.
struct NginxH2c {
    process: common::NginxProcess,
    port: u16,
    port_h1: u16,
}

impl NginxH2c {
    fn start(keepalive_requests: u32) -> Option<Self> {
        Self::launch(keepalive_requests, false)
    }

    fn start_tls(keepalive_requests: u32) -> Option<Self> {
        if !common::have("openssl", "the HTTPS tests against nginx") {
            return None;
        }
        Self::launch(keepalive_requests, true)
    }

    fn launch(keepalive_requests: u32, tls: bool) -> Option<Self> {
        if !common::have("nginx", "the HTTP/2 tests against nginx") {
            return None;
        }
        let dir = common::TempDir::new("nginx-h2c");
        let (port, port_h1) = (common::free_port(), common::free_port());
        let location = r#"location / { add_header X-Test "a value long enough for Huffman"; return 200 "hello over h2c\n"; }"#;
        let servers = if tls {
            let (cert, key) = common::self_signed(&dir);
            let certs = format!("ssl_certificate {cert}; ssl_certificate_key {key};");
            format!(
                "server {{ listen 127.0.0.1:{port} ssl http2; {certs} {location} }}\n  \
                 server {{ listen 127.0.0.1:{port_h1} ssl; {certs} {location} }}"
            )
        } else {
            format!("server {{ listen 127.0.0.1:{port} http2; {location} }}")
        };
        let http = format!("  keepalive_requests {keepalive_requests};\n  {servers}");
        let process = common::NginxProcess::start(dir, &http, port);
        Some(Self {
            process,
            port,
            port_h1,
        })
    }

    fn connect(&self) -> std::net::TcpStream {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap()
    }

    /// nginx's access log: one line per request it answered (written as each ends).
    fn logged(&self) -> String {
        self.process.logged()
    }
}

per_backend! {
    fn http2_runs_against_nginx_through_its_goaways_losing_nothing(io) {
        // nginx ends each connection with a GOAWAY after 50 streams; 8 streams at a time.
        let Some(nginx) = NginxH2c::start(50) else { return };
        let url = format!("http://127.0.0.1:{}/", nginx.port);
        let r = run(&[&url, "--http2", "--streams", "8", "-c", "3", "-n", "3000", "--io", io]);
        assert_eq!(r.code(), 0);
        r.assert_accounted();
        assert_eq!((r.json["protocol"].as_str(), r.n("/pipeline")), (Some("h2c"), 8));
        assert_eq!(r.n("/requests/responses"), 3000, "{}", r.json["requests"]);
        assert_eq!(r.n("/requests/errors"), 0, "{}", r.json["errors"]);
        // What nginx answered is what ringblast counted: each request once, as HTTP/2.
        let logged = nginx.logged();
        assert_eq!(logged.lines().count(), 3000);
        assert!(logged.lines().all(|l| l.contains("HTTP/2.0\" 200")));
        assert!(r.n("/diagnostics/connects") >= 60, "a new connection per GOAWAY");
    }
}

per_backend! {
    fn http2_over_tls_with_nginx_by_alpn(io) {
        // nginx offering h2 and http/1.1 on one port and http/1.1 alone on another, over TLS.
        let Some(nginx) = NginxH2c::start_tls(50) else { return };
        let both = format!("https://127.0.0.1:{}/", nginx.port);
        let h1_only = format!("https://127.0.0.1:{}/", nginx.port_h1);
        // --http2: ALPN h2, through GOAWAYs every 50 streams.
        let r = run(&[&both, "-k", "--http2", "--streams", "8", "-c", "2", "-n", "400", "--io", io]);
        assert_eq!(r.code(), 0);
        r.assert_accounted();
        assert_eq!(r.json["protocol"], "h2");
        assert_eq!(r.n("/requests/ok"), 400, "{}", r.json["errors"]);
        let h2 = &r.json["connections_detail"]["http2"];
        assert_eq!(h2["connections"], r.json["connections_detail"]["opened"], "{h2}");
        assert!(h2["goaways"].as_u64().unwrap() >= 400 / 50 - 1, "{h2}");
        // --http auto: the server that offers h2 gets it; the other, HTTP/1.1.
        let r = run(&[&both, "-k", "--http", "auto", "--streams", "4", "-c", "2", "-n", "100", "--io", io]);
        r.assert_accounted();
        assert_eq!(r.json["protocol"], "auto");
        assert_eq!(r.n("/requests/ok"), 100);
        assert_eq!(r.n("/connections_detail/http2/connections"), r.n("/connections_detail/opened"));
        let r = run(&[&h1_only, "-k", "--http", "auto", "--streams", "4", "-c", "2", "-n", "100", "--io", io]);
        r.assert_accounted();
        assert_eq!(r.n("/requests/ok"), 100, "{}", r.json["errors"]);
        assert_eq!(r.n("/connections_detail/http2/connections"), 0, "every connection spoke HTTP/1.1");
        // What nginx answered, and how: 500 over HTTP/2 and 100 over HTTP/1.1.
        let logged = nginx.logged();
        let count = |v: &str| logged.lines().filter(|l| l.contains(v)).count();
        assert_eq!((count("HTTP/2.0\" 200"), count("HTTP/1.1\" 200")), (500, 100), "{logged}");
        // --http2 where the server will not speak it: one line that says what it did.
        let out = common::ringblast(
            &["run", &h1_only, "-k", "--http2", "-n", "10", "-q", "--io", io],
            std::time::Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("did not agree to HTTP/2"), "{err}");
        assert!(err.contains("no_application_protocol") || err.contains("chose"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

per_backend! {
    fn http2_rides_out_a_misbehaving_server(io) {
        // Python's h2 as the server (tests/fixtures/h2_server.py), one behaviour at a time; its
        // log says what it answered and reset, and with what body, as it happened.
        if !common::python_has("h2", "the misbehaving HTTP/2 server") {
            return;
        }
        let dir = common::TempDir::new("h2-peer");
        let schema: serde_json::Value = serde_json::from_str(include_str!("../docs/report.schema.json")).unwrap();
        let body = "0123456789012345678901234567890123456789";
        let cases: [(&str, &[&str], u64); 5] = [
            ("goaway", &[], 200),
            ("reset", &[], 200),
            ("window", &["-m", "POST", "-b", body], 100),
            ("continuation", &[], 12),
            ("one-stream", &[], 200),
        ];
        for (mode, extra, n) in cases {
            let log = dir.join(format!("{mode}.log"));
            let mut peer = common::PythonPeer::start(
                include_str!("fixtures/h2_server.py"),
                &[mode, log.to_str().unwrap()],
            );
            let url = format!("http://127.0.0.1:{}/", peer.port);
            let count = n.to_string();
            let mut args = vec![url.as_str(), "--http2", "--streams", "4", "-c", "2"];
            args.extend(["-n", count.as_str(), "--timeout", "5s", "--io", io]);
            args.extend(extra);
            let r = run(&args);
            let _ = peer.child.kill();
            let _ = peer.child.wait();
            r.assert_accounted();
            // The report's HTTP/2 section fits the published schema.
            common::validate(&schema, &r.json, "$").unwrap_or_else(|e| panic!("{mode}: {e}"));
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines = |what: &str| text.lines().filter(|l| l.split(' ').nth(1) == Some(what)).count() as u64;
            let (answered, reset) = (lines("answer"), lines("reset"));
            // Every response ringblast counted is one the server answered, once.
            assert_eq!(r.n("/requests/responses"), answered, "{mode}: {}", r.json["requests"]);
            match mode {
                "reset" => {
                    // Every 4th stream, and nothing else, ends as a named error, with its code.
                    assert_eq!(r.n("/errors/stream_reset"), reset, "{mode}");
                    let h2 = "/connections_detail/http2";
                    assert_eq!(r.n(&format!("{h2}/resets/INTERNAL_ERROR")), reset, "{}", r.json[h2]);
                    assert_eq!(reset, n / 4, "{mode}");
                    assert_eq!(answered + reset, n, "{mode}");
                }
                _ => {
                    assert_eq!(r.n("/requests/errors"), 0, "{mode}: {}", r.json["errors"]);
                    assert_eq!(answered, n, "{mode}");
                }
            }
            match mode {
                // A new connection per GOAWAY, and what it refused sent again.
                "goaway" => {
                    assert!(r.n("/diagnostics/connects") >= n / 20, "{}", r.json["diagnostics"]);
                    // Each connection's GOAWAY is counted, and each connection spoke HTTP/2.
                    let h2 = &r.json["connections_detail"]["http2"];
                    let goaways = h2["goaways"].as_u64().unwrap();
                    assert!(goaways >= n / 20 && goaways <= r.n("/diagnostics/connects"), "{h2}");
                    assert_eq!(h2["connections"], r.json["connections_detail"]["opened"], "{h2}");
                }
                // Each body arrived whole through a 1-byte window opened 7 bytes at a time,
                // and the report shows the waits.
                "window" => {
                    assert!(
                        text.lines().filter(|l| l.contains(" answer ")).all(|l| l.ends_with(" 40")),
                        "{text}"
                    );
                    let h2 = &r.json["connections_detail"]["http2"];
                    assert!(h2["flow_control_stalls"].as_u64().unwrap() >= 1, "{h2}");
                    assert!(h2["flow_control_stall_us"].as_u64().unwrap() > 0, "{h2}");
                }
                // Never more than the one stream it allows.
                "one-stream" => assert_eq!(text.lines().rfind(|l| l.starts_with("max")), Some("max 1")),
                _ => {}
            }
        }
    }
}

per_backend! {
    fn http2_refills_each_stream_as_it_ends(io) {
        // One connection of 4 streams; the server holds every 8th stream's answer 0.3 s. The
        // other streams go on meanwhile, each refilled as it ends (h2load's way): a batch that
        // waited for its slowest stream would see 3 answers at most while one is held.
        if !common::python_has("h2", "the misbehaving HTTP/2 server") {
            return;
        }
        let dir = common::TempDir::new("h2-refill");
        let log = dir.join("slow.log");
        let mut peer = common::PythonPeer::start(
            include_str!("fixtures/h2_server.py"),
            &["slow", log.to_str().unwrap()],
        );
        let url = format!("http://127.0.0.1:{}/", peer.port);
        let r = run(&[&url, "--http2", "--streams", "4", "-c", "1", "-n", "200", "--io", io]);
        let _ = peer.child.kill();
        let _ = peer.child.wait();
        r.assert_accounted();
        assert_eq!(r.n("/requests/responses"), 200, "{}", r.json["requests"]);
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("max")).collect();
        assert_eq!(lines.iter().filter(|l| l.contains(" answer ")).count(), 200);
        // Stream 1 is held: count what was answered between its arrival and its answer.
        let from = lines.iter().position(|l| *l == "slow held 1 0").expect("stream 1 held");
        let to = lines.iter().position(|l| *l == "slow answer 1 0").expect("stream 1 answered");
        let between = lines[from..to].iter().filter(|l| l.contains(" answer ")).count();
        assert!(between >= 8, "{between} answers while stream 1 was held:\n{text}");
    }
}

per_backend! {
    fn http2_against_nghttpd_counts_what_it_served(io) {
        // nghttpd (nghttp2's server) in h2c, verbose: it logs each HEADERS frame it receives
        // and each response it sends, the server's truth to count against.
        if !common::have("nghttpd", "the HTTP/2 test against nghttpd") {
            return;
        }
        let dir = common::TempDir::new("nghttpd");
        std::fs::write(dir.join("index.html"), "hello from nghttpd\n").unwrap();
        let port = common::free_port();
        let log = std::fs::File::create(dir.join("log")).unwrap();
        let mut server = std::process::Command::new("nghttpd")
            .args(["--no-tls", "-v", "-d", dir.to_str().unwrap(), &port.to_string()])
            .stdout(log)
            .spawn()
            .unwrap();
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < end, "nghttpd did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let url = format!("http://127.0.0.1:{port}/index.html");
        let r = run(&[&url, "--http2", "--streams", "8", "-c", "2", "-n", "500", "--io", io]);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let _ = server.kill();
        let _ = server.wait();
        assert_eq!(r.code(), 0);
        r.assert_accounted();
        assert_eq!(r.n("/requests/responses"), 500, "{}", r.json["requests"]);
        assert_eq!(r.n("/status/200"), 500);
        assert_eq!(r.n("/endpoints/0/body_bytes"), 500 * 19);
        let text = std::fs::read_to_string(dir.join("log")).unwrap();
        // nghttpd received exactly the requests ringblast counted, and answered each with 200.
        let received = text.matches("recv HEADERS frame").count();
        let answered = text.matches(":status: 200").count();
        assert_eq!((received, answered), (500, 500), "{}", &text[..text.len().min(2000)]);
    }
}
