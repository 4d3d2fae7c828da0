//! Integration tests of cookies, asserted on what a session-login server received: each user keeps
//! the cookies set for it and sends them back, only its own; `{{cookie NAME}}`; `cookies = false`.

mod common;

use std::collections::{HashMap, HashSet};

use common::{Mode, TestServer, run, scenario};

/// Runs the scenario's users against the server, thinking 5 ms.
fn run_users(
    path: &std::path::Path,
    server: &TestServer,
    users: &str,
    duration: &str,
) -> common::Run {
    let host = server.url("/");
    run(&[
        "--scenario",
        path.to_str().unwrap(),
        "--host",
        &host,
        "-u",
        users,
        "-r",
        "1000",
        "-d",
        duration,
        "--think",
        "5ms",
    ])
}

fn stderr(r: &common::Run) -> String {
    String::from_utf8_lossy(&r.output.stderr).into_owned()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

const SESSION: &str = r#"
[[user]]
on_start = [{ name = "login", method = "POST", path = "/login" }]
[[user.task]]
name = "account"
path = "/account/items"
headers = { X-CSRFToken = "{{cookie csrftoken}}" }
"#;

#[test]
fn each_user_sends_back_its_own_session_cookie_across_reconnects() {
    // Every 4th response closes the connection: the jar belongs to the user, not the socket.
    let server = TestServer::start(Mode::Session { close_every: 4 });
    let (_dir, path) = scenario(SESSION);
    let r = run_users(&path, &server, "6", "1500ms");
    assert_eq!(r.code(), 0, "{}", stderr(&r));
    r.assert_accounted();
    assert!(
        r.n("/diagnostics/connects") > 12,
        "the server closed connections"
    );
    let heads = server.counts.heads.lock().unwrap().clone();
    let logins = heads
        .iter()
        .filter(|h| h.starts_with("POST /login"))
        .count();
    assert_eq!(logins, 6, "one login per user");
    let items: Vec<&String> = heads
        .iter()
        .filter(|h| h.starts_with("GET /account/items"))
        .collect();
    assert!(items.len() > 100, "{} requests", items.len());
    // Every request carries a session and the CSRF token of the same login: sess-N with csrf-N.
    let mut sessions = HashSet::new();
    for h in &items {
        let cookie = header(h, "cookie").unwrap_or_else(|| panic!("no Cookie header in {h}"));
        let pairs: HashMap<&str, &str> = cookie
            .split("; ")
            .filter_map(|p| p.split_once('='))
            .collect();
        let session = pairs["sessionid"];
        let n = session.strip_prefix("sess-").unwrap();
        assert_eq!(pairs["csrftoken"], format!("csrf-{n}"), "{cookie}");
        assert_eq!(header(h, "x-csrftoken"), Some(pairs["csrftoken"]), "{h}");
        sessions.insert(session.to_string());
    }
    assert_eq!(sessions.len(), 6, "each user its own session");
    // Nothing was refused: the server saw the session on every account request.
    assert_eq!(r.n("/requests/ok"), r.n("/requests/responses"));
    assert_eq!(r.n("/requests/errors"), 0);
}

#[test]
fn a_deleted_cookie_is_no_longer_sent_and_a_cookie_placeholder_waits_for_its_cookie() {
    let server = TestServer::start(Mode::Session { close_every: 0 });
    // Log in, log out, then the tasks: the session is gone, the CSRF cookie stays.
    let (_dir, path) = scenario(
        r#"
[[user]]
on_start = [
  { name = "login", method = "POST", path = "/login" },
  { name = "logout", method = "POST", path = "/logout" },
]
[[user.task]]
name = "public"
path = "/public"
headers = { X-CSRFToken = "{{cookie csrftoken}}" }
[[user.task]]
name = "needs-session"
path = "/public/{{cookie sessionid}}"
"#,
    );
    let r = run_users(&path, &server, "2", "1s");
    assert_eq!(r.code(), 0, "{}", stderr(&r));
    r.assert_accounted();
    let heads = server.counts.heads.lock().unwrap().clone();
    let public: Vec<&String> = heads
        .iter()
        .filter(|h| h.starts_with("GET /public"))
        .collect();
    assert!(public.len() > 20);
    for h in &public {
        let cookie = header(h, "cookie").unwrap();
        assert!(!cookie.contains("sessionid"), "deleted, yet sent: {cookie}");
        assert!(cookie.starts_with("csrftoken=csrf-"), "{cookie}");
        // The task that reads the deleted cookie is never sent with a hole.
        assert!(h.starts_with("GET /public "), "{h}");
    }
    assert_eq!(r.n("/requests/ok"), r.n("/requests/responses"));
}

#[test]
fn cookies_off_sends_none_and_refuses_cookie_placeholders() {
    let server = TestServer::start(Mode::Session { close_every: 0 });
    let (_dir, path) = scenario(
        r#"
cookies = false
[[user]]
on_start = [{ name = "login", method = "POST", path = "/login" }]
[[user.task]]
path = "/account/items"
expect = [403]
"#,
    );
    let r = run_users(&path, &server, "2", "500ms");
    assert_eq!(r.code(), 0, "{}", stderr(&r));
    let heads = server.counts.heads.lock().unwrap().clone();
    assert!(heads.iter().all(|h| header(h, "cookie").is_none()));
    assert!(heads.iter().any(|h| h.starts_with("GET /account/items")));

    let (_dir2, bad) = scenario(&format!("cookies = false\n{SESSION}"));
    let r = run(&[
        "--scenario",
        bad.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "-n",
        "1",
    ]);
    assert_eq!(r.code(), 2);
    let err = stderr(&r);
    assert!(err.contains("cookies = false"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
