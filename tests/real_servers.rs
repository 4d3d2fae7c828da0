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
