//! Integration tests of scenario files: what reaches the server (distinct generated values, the
//! captured token, one login per user), task weights, expected statuses, bad files, and the four
//! example scenarios of the Locust report, scaled down, against the built-in mock.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Mode, Served, TestServer, ringblast, run, scenario};

fn endpoint<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no endpoint {name}: {}", report["endpoints"]))
}

#[test]
fn generated_values_and_the_captured_token_reach_the_server() {
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let (_dir, path) = scenario(
        r#"
[[user]]
on_start = [{ name = "login", method = "POST", path = "/login", body = '{"u":"{{seq 4}}"}', capture = { token = "json:/access" } }]
[[user.task]]
name = "item"
path = "/items/{{uuid}}?n={{seq}}&r={{rand_int 1 1000}}"
headers = { Authorization = "Bearer {{token}}" }
"#,
    );
    let r = run(&[
        "--scenario",
        path.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "--users",
        "4",
        "-r",
        "100",
        "--think",
        "5ms",
        "-d",
        "1s",
    ]);
    assert_eq!(r.code(), 0, "{}", String::from_utf8_lossy(&r.output.stderr));
    r.assert_accounted();
    let heads = server.counts.heads.lock().unwrap().clone();
    let tokens = server.counts.tokens.lock().unwrap().clone();
    let logins: Vec<&String> = heads
        .iter()
        .filter(|h| h.starts_with("POST /login"))
        .collect();
    assert_eq!(logins.len(), 4, "one login per user");
    let items: Vec<&String> = heads
        .iter()
        .filter(|h| h.starts_with("GET /items/"))
        .collect();
    assert!(items.len() > 100, "{} item requests", items.len());
    let mut uuids = HashSet::new();
    let mut seqs = HashSet::new();
    for h in &items {
        let target = h.split_whitespace().nth(1).unwrap();
        let uuid = &target[7..43];
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.matches('-').count(), 4, "{uuid}");
        uuids.insert(uuid.to_string());
        let seq = target
            .split("n=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        // Unpinned: a plain number, its width varying with its value.
        assert!(
            seq.parse::<u64>().is_ok() && !seq.starts_with('0') || seq == "0",
            "{seq}"
        );
        seqs.insert(seq.to_string());
        let r: u64 = target.split("r=").nth(1).unwrap().parse().unwrap();
        assert!((1..=1000).contains(&r));
        let auth = h
            .lines()
            .find(|l| l.starts_with("Authorization: "))
            .expect("Authorization header");
        let token = auth.trim_start_matches("Authorization: Bearer ");
        assert!(
            tokens.contains(&token.to_string()),
            "{token} was never issued"
        );
    }
    assert_eq!(uuids.len(), items.len(), "every UUID distinct");
    assert_eq!(
        seqs.len(),
        items.len(),
        "every sequence number distinct across workers"
    );
    let tokens_used: HashSet<&str> = items
        .iter()
        .map(|h| h.lines().find(|l| l.starts_with("Authorization")).unwrap())
        .collect();
    assert_eq!(tokens_used.len(), 4, "each user uses its own token");
    assert_eq!(endpoint(&r.json, "login")["requests"]["responses"], 4);
}

#[test]
fn login_happens_once_per_user_across_reconnects() {
    // The server closes every 3rd response: users reconnect, but a user logs in once.
    let server = TestServer::start(Mode::Api { close_every: 3 });
    let (_dir, path) = scenario(
        r#"
[[user]]
on_start = [{ name = "login", method = "POST", path = "/login", capture = { token = "json:/access" } }]
[[user.task]]
path = "/x"
headers = { Authorization = "Bearer {{token}}" }
"#,
    );
    let r = run(&[
        "--scenario",
        path.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "-u",
        "5",
        "-r",
        "100",
        "-d",
        "1s",
        "--think",
        "5ms",
    ]);
    r.assert_accounted();
    assert!(
        r.n("/diagnostics/connects") > 20,
        "reconnected {} times",
        r.n("/diagnostics/connects")
    );
    let heads = server.counts.heads.lock().unwrap().clone();
    assert_eq!(
        heads
            .iter()
            .filter(|h| h.starts_with("POST /login"))
            .count(),
        5
    );
    let mut tokens: Vec<&str> = heads
        .iter()
        .filter_map(|h| h.lines().find(|l| l.starts_with("Authorization")))
        .collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 5);
}

#[test]
fn task_weights_hold_within_statistical_bounds() {
    let server = TestServer::start(Mode::Plain);
    let (_dir, path) = scenario(
        r#"
[[user]]
[[user.task]]
name = "a"
path = "/a"
weight = 3
[[user.task]]
name = "b"
path = "/b"
weight = 1
"#,
    );
    let r = run(&[
        "--scenario",
        path.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "-c",
        "8",
        "-n",
        "8000",
    ]);
    r.assert_accounted();
    let a = endpoint(&r.json, "a")["requests"]["responses"]
        .as_f64()
        .unwrap();
    let b = endpoint(&r.json, "b")["requests"]["responses"]
        .as_f64()
        .unwrap();
    assert_eq!(a + b, 8000.0);
    // Binomial: sd of the share is sqrt(.75 * .25 / 8000) ≈ 0.005; allow 5 sd.
    let share = a / (a + b);
    assert!((share - 0.75).abs() < 0.025, "share of a: {share}");
    let heads = server.counts.heads.lock().unwrap().clone();
    let on_wire =
        heads.iter().filter(|h| h.starts_with("GET /a ")).count() as f64 / heads.len() as f64;
    assert!((on_wire - 0.75).abs() < 0.03, "on the wire: {on_wire}");
}

#[test]
fn expected_statuses_count_as_success_and_sequences_run_in_order() {
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let (_dir, path) = scenario(
        r#"
[[user]]
sequence = true
[[user.task]]
name = "expected 404"
path = "/missing/{{uuid}}"
expect = [200, 404]
[[user.task]]
name = "plain 404"
path = "/missing/x"
[[user.task]]
name = "ok"
path = "/fine"
"#,
    );
    let r = run(&[
        "--scenario",
        path.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "-c",
        "1",
        "-n",
        "300",
    ]);
    r.assert_accounted();
    let expected = endpoint(&r.json, "expected 404");
    assert_eq!(expected["failed"], 0);
    assert_eq!(expected["status"]["404"], 100);
    let plain = endpoint(&r.json, "plain 404");
    assert_eq!(plain["failed"], 100, "a 404 nobody expected is a failure");
    assert_eq!(r.n("/requests/ok"), 200);
    let heads = server.counts.heads.lock().unwrap().clone();
    let order: Vec<&str> = heads
        .iter()
        .take(6)
        .map(|h| h.split_whitespace().nth(1).unwrap())
        .map(|p| {
            if p.starts_with("/missing/x") {
                "plain"
            } else if p.starts_with("/missing/") {
                "expected"
            } else {
                "ok"
            }
        })
        .collect();
    assert_eq!(
        order,
        vec!["expected", "plain", "ok", "expected", "plain", "ok"]
    );
}

/// One success rule: two tasks with one name (one endpoint) and different `expect` lists are
/// judged response by response, and the report, its failures and Locust's failures CSV agree.
#[test]
fn one_endpoint_with_two_expect_lists_is_judged_per_task_everywhere() {
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let (dir, path) = scenario(
        r#"
[[user]]
sequence = true
[[user.task]]
name = "same"
path = "/missing/a"
expect = [404]
[[user.task]]
name = "same"
path = "/missing/b"
"#,
    );
    let prefix = dir.join("out");
    let r = run(&[
        "--scenario",
        path.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "-c",
        "1",
        "-n",
        "200",
        "--csv",
        prefix.to_str().unwrap(),
    ]);
    r.assert_accounted();
    let heads = server.counts.heads.lock().unwrap().clone();
    let unexpected = heads.iter().filter(|h| h.contains("/missing/b")).count();
    assert_eq!(
        unexpected, 100,
        "the server answered 404 to each task 100 times"
    );
    let e = endpoint(&r.json, "same");
    assert_eq!(e["status"]["404"], 200);
    assert_eq!(
        e["failed"], 100,
        "only the task that did not expect 404 failed"
    );
    assert_eq!(e["failures"]["HTTP 404"], 100, "{}", e["failures"]);
    assert_eq!(r.n("/requests/ok"), 100);
    let failures = std::fs::read_to_string(format!("{}_failures.csv", prefix.display())).unwrap();
    let row = failures
        .lines()
        .find(|l| l.contains("HTTP 404"))
        .unwrap_or_else(|| panic!("{failures}"));
    assert!(
        row.contains(",HTTP 404,100"),
        "the failures CSV agrees: {row}"
    );
    let stats = std::fs::read_to_string(format!("{}_stats.csv", prefix.display())).unwrap();
    let row = stats.lines().find(|l| l.contains(",same,")).unwrap();
    let cols: Vec<&str> = row.split(',').collect();
    assert_eq!(
        (cols[2], cols[3]),
        ("200", "100"),
        "requests, failures: {row}"
    );
}

#[test]
fn bad_scenarios_fail_with_one_clear_line() {
    let cases: &[(&str, &str)] = &[
        (
            "hots = \"x\"\n[[user]]\n[[user.task]]\npath = \"/\"\n",
            ":1: unknown field `hots`",
        ),
        (
            "[load]\nusers = \"many\"\n[[user]]\n[[user.task]]\npath = \"/\"\n",
            ":2:",
        ),
        (
            "[[user]]\n[[user.task]]\npath = \"/\"\nbody_file = \"nope.json\"\n",
            "nope.json",
        ),
        (
            "[[user]]\n[[user.task]]\npath = \"/{{token}}\"\n",
            "unknown variable 'token'",
        ),
        (
            "[[user]]\n[[user.task]]\npath = \"/{{rand_int 1 100000 3}}\"\n",
            "wider than its 3-byte slot",
        ),
        (
            "[[user]]\n[[user.task]]\npath = \"/{{pick id from missing.csv}}\"\n",
            "missing.csv",
        ),
    ];
    for (text, want) in cases {
        let (_dir, path) = scenario(text);
        let out = ringblast(
            &[
                "run",
                "--scenario",
                path.to_str().unwrap(),
                "--host",
                "http://127.0.0.1:9/",
                "-d",
                "1s",
            ],
            Duration::from_secs(10),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(want), "{text}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    let out = ringblast(
        &["run", "--scenario", "/nonexistent/s.toml"],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_locust_report_examples_run_against_the_mock() {
    let served = Served::start(&[
        "--routes",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/locust-report/routes.toml"
        ),
    ]);
    for name in ["deployments", "approvals", "connectors", "burst"] {
        let file = format!(
            "{}/examples/locust-report/{name}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        // Scaled down: 20 users for 2 s; the file's own targets are for the full size.
        let r = run(&[
            "--scenario",
            &file,
            "--host",
            &served.url,
            "--users",
            "20",
            "-r",
            "200",
            "-d",
            "2s",
            "--think",
            "10ms..30ms",
            "--assert",
            "errors==0",
            "--assert",
            "success>=98%",
        ]);
        assert_eq!(
            r.code(),
            0,
            "{name}: {}\n{}",
            r.json["assertions"],
            String::from_utf8_lossy(&r.output.stdout)
        );
        r.assert_accounted();
        let endpoints = r.json["endpoints"].as_array().unwrap();
        assert!(endpoints.len() >= 2, "{name}: {endpoints:?}");
        assert_eq!(
            endpoint(&r.json, "login")["requests"]["responses"],
            20,
            "{name}: one login per user"
        );
        for e in endpoints {
            assert!(
                e["requests"]["sent"].as_u64().unwrap() > 0,
                "{name}: {} never ran",
                e["name"]
            );
        }
    }
    served.stop();
}

#[test]
fn failed_and_oversized_captures_are_reported_by_name() {
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let (_dir, path) = scenario(
        r#"
[[user]]
[[user.task]]
name = "login"
method = "POST"
path = "/login"
capture = { token = "json:/access", missing = "json:/nope" }
"#,
    );
    let host = server.url("");
    let path = path.to_str().unwrap();
    let r = run(&["--scenario", path, "--host", &host, "-c", "2", "-n", "20"]);
    r.assert_accounted();
    let failed = &r.json["diagnostics"]["capture_failed"];
    assert_eq!(failed["missing"], 20, "{failed}");
    assert!(failed.get("token").is_none(), "{failed}");
    assert_eq!(r.n("/diagnostics/capture_too_large"), 0);
    // A bound below the response's size: the responses still count, the captures fail.
    let r = run(&[
        "--scenario",
        path,
        "--host",
        &host,
        "-c",
        "2",
        "-n",
        "20",
        "--capture-max",
        "16",
    ]);
    r.assert_accounted();
    assert_eq!(r.n("/requests/responses"), 20);
    assert_eq!(r.n("/diagnostics/capture_too_large"), 20);
    assert_eq!(r.json["diagnostics"]["capture_failed"]["token"], 20);
    let text = String::from_utf8_lossy(&r.output.stdout);
    assert!(text.contains("missing: failed 20 times"), "{text}");
}
