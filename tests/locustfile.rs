//! Locustfiles read as they are: `convert` (deterministic, runs unchanged with --scenario, warns
//! with file:line, --strict), `run -f`, and the same file in real Locust and in ringblast against
//! one counting server each, compared on what the servers received.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use common::{Mode, TempDir, TestServer, ringblast, run};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/locustfiles/api.py")
}

/// `run -f FILE` with 2 users for 500 ms against a fresh API server: the server, the run and its
/// standard error (where the warnings go).
fn run_f(file: &std::path::Path) -> (TestServer, common::Run, String) {
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let r = run(&[
        "-f",
        file.to_str().unwrap(),
        "--host",
        &server.url(""),
        "-u",
        "2",
        "-d",
        "500ms",
    ]);
    assert_eq!(r.code(), 0);
    let err = String::from_utf8_lossy(&r.output.stderr).into_owned();
    (server, r, err)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Real Locust, headless, on `file` against `server` with `args` (users, time, ...); fails the
/// test unless it exits 0. Its output (standard output holds `--json`'s stats).
fn locust(file: &std::path::Path, server: &TestServer, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-m", "locust", "-f", file.to_str().unwrap(), "--headless"]);
    cmd.args([
        "--only-summary",
        "--loglevel",
        "ERROR",
        "--host",
        &server.url(""),
    ]);
    cmd.args(args);
    let o = common::run_bounded(cmd, Duration::from_secs(60));
    assert!(
        o.status.success(),
        "locust: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// What a server received, tool-independent: each request line with UUIDs masked, and the headers
/// the locustfile sets (Authorization, Content-Type, Content-Length of bodies).
struct Received {
    lines: HashMap<String, usize>,
    shapes: BTreeSet<String>,
    logins: usize,
}

fn received(server: &TestServer) -> Received {
    let heads = server.counts.heads.lock().unwrap().clone();
    let tokens = server.counts.tokens.lock().unwrap().clone();
    let mut lines = HashMap::new();
    let mut shapes = BTreeSet::new();
    let mut logins = 0;
    for h in &heads {
        let line = h.lines().next().unwrap();
        let mut parts = line.split(' ');
        let (method, target) = (parts.next().unwrap(), parts.next().unwrap());
        let masked: String = target
            .split('/')
            .map(|seg| {
                if seg.len() == 36 && seg.matches('-').count() == 4 {
                    "{uuid}"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let request = format!("{method} {masked}");
        if request == "POST /login" {
            logins += 1;
            assert!(
                header(h, "authorization").is_none(),
                "the login carries no token"
            );
        } else if !tokens.is_empty() {
            // After a login, every request carries a token the server issued.
            let auth = header(h, "authorization").unwrap_or_else(|| panic!("no token: {h}"));
            let token = auth.strip_prefix("Bearer ").unwrap();
            assert!(tokens.iter().any(|t| t == token), "{auth} was never issued");
        }
        let ct = header(h, "content-type").unwrap_or("-");
        let len = header(h, "content-length").unwrap_or("0");
        // A form body's length varies with its random value (one digit): mask it.
        let len = if request == "POST /items" { "n" } else { len };
        shapes.insert(format!("{request} | {ct} | {len}"));
        *lines.entry(request).or_insert(0) += 1;
    }
    Received {
        lines,
        shapes,
        logins,
    }
}

#[test]
fn convert_is_deterministic_and_its_output_runs_with_scenario() {
    let dir = TempDir::new("convert");
    let out = dir.join("api.toml");
    let conv = |to: &std::path::Path| {
        let o = ringblast(
            &[
                "convert",
                fixture().to_str().unwrap(),
                "-o",
                to.to_str().unwrap(),
            ],
            Duration::from_secs(20),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let summary = conv(&out);
    assert!(summary.contains("on_start POST   /login"), "{summary}");
    assert!(
        summary.contains("captures token from json:/access"),
        "{summary}"
    );
    assert!(
        summary.contains("1 user class(es), 4 request(s) converted, 0 warning(s)"),
        "{summary}"
    );
    let again = dir.join("again.toml");
    conv(&again);
    let toml = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        toml,
        std::fs::read_to_string(&again).unwrap(),
        "deterministic"
    );
    assert!(
        toml.contains(r#"body = "{\"user\": \"demo\", \"n\": 1}""#),
        "{toml}"
    );
    assert!(
        toml.contains(r#"body = "title=a+b&n={{rand_int 1 9}}""#),
        "{toml}"
    );

    let server = TestServer::start(Mode::Api { close_every: 0 });
    let r = run(&[
        "--scenario",
        out.to_str().unwrap(),
        "--host",
        &server.url("/"),
        "-u",
        "3",
        "-r",
        "100",
        "-d",
        "1s",
    ]);
    assert_eq!(r.code(), 0);
    r.assert_accounted();
    let got = received(&server);
    assert_eq!(got.logins, 3, "one login per user");
    // Weights 3:1:1 over the tasks, within statistical tolerance.
    let list = got.lines["GET /items?page=2"] as f64;
    let total: f64 = got
        .lines
        .iter()
        .filter(|(k, _)| *k != "POST /login")
        .map(|(_, v)| *v as f64)
        .sum();
    assert!(total > 100.0, "{total}");
    assert!(
        (list / total - 0.6).abs() < 0.1,
        "list share {}",
        list / total
    );
}

#[test]
fn run_f_reads_the_locustfile_and_warns_with_file_and_line() {
    let dir = TempDir::new("run-f");
    let file = dir.join("locustfile.py");
    let text = std::fs::read_to_string(fixture()).unwrap()
        + "\n    @task\n    def loop(self):\n        for i in range(self.n):\n            self.client.get(\"/x\")\n";
    std::fs::write(&file, &text).unwrap();
    let (server, _run, err) = run_f(&file);
    let line = text
        .lines()
        .position(|l| l.contains("for i in range"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("locustfile.py:{line}: ApiUser.loop: Python logic")),
        "{err}"
    );
    assert!(err.contains("task loop sends no request"), "{err}");
    let got = received(&server);
    assert_eq!(got.logins, 2);
    assert!(
        !got.lines.contains_key("GET /x"),
        "the loop is not converted, never sent"
    );
    // --strict: the first warning is the error, on one line, exit 2.
    let o = ringblast(
        &["convert", file.to_str().unwrap(), "--strict"],
        Duration::from_secs(20),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // The first warning by line: the task that sends nothing, at its `@task` line.
    assert!(
        err.contains(&format!(":{}: task loop", line - 2)) && err.contains("--strict"),
        "{err}"
    );
}

#[test]
fn the_same_locustfile_in_locust_and_in_ringblast_sends_the_same_requests() {
    if !common::python_has("locust", "the Locust equivalence test") {
        return;
    }
    let locust_server = TestServer::start(Mode::Api { close_every: 0 });
    locust(
        &fixture(),
        &locust_server,
        &["-u", "3", "-r", "100", "-t", "3s"],
    );
    let rb_server = TestServer::start(Mode::Api { close_every: 0 });
    let r = run(&[
        "-f",
        fixture().to_str().unwrap(),
        "--host",
        &rb_server.url(""),
        "-u",
        "3",
        "-r",
        "100",
        "-d",
        "2s",
    ]);
    assert_eq!(r.code(), 0);
    let (l, b) = (received(&locust_server), received(&rb_server));
    assert_eq!((l.logins, b.logins), (3, 3), "one login per user in each");
    // The same requests, headers the file sets and body lengths (the form's random digit masked).
    assert_eq!(
        l.shapes, b.shapes,
        "Locust sent {:?}\nringblast sent {:?}",
        l.shapes, b.shapes
    );
    // The same mix: the list's share in each within tolerance of the other.
    let share = |x: &Received| {
        let total: usize = x
            .lines
            .iter()
            .filter(|(k, _)| *k != "POST /login")
            .map(|(_, v)| v)
            .sum();
        x.lines["GET /items?page=2"] as f64 / total as f64
    };
    assert!(
        (share(&l) - share(&b)).abs() < 0.12,
        "{} vs {}",
        share(&l),
        share(&b)
    );
}

#[test]
fn locust_worker_f_runs_the_file_the_master_was_started_with() {
    if !common::python_has("locust, zmq, msgpack", "the locust-worker -f test") {
        return;
    }
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let dir = TempDir::new("worker-f");
    let port = common::free_port();
    let master = std::process::Command::new("python3")
        .current_dir(&*dir)
        .args([
            "-m",
            "locust",
            "-f",
            fixture().to_str().unwrap(),
            "--master",
            "--headless",
        ])
        .args(["--expect-workers", "1", "-u", "4", "-r", "100", "-t", "3s"])
        .args([
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            &port.to_string(),
        ])
        .args(["--csv", "lm"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let json = dir.join("w.json");
    let worker = common::spawn(
        &[
            "locust-worker",
            "-f",
            fixture().to_str().unwrap(),
            "--master",
            &format!("127.0.0.1:{port}"),
            "--master-timeout",
            "20s",
            "--host",
            &server.url(""),
            "-q",
        ],
        &json,
    );
    let m = common::wait_bounded(master, Duration::from_secs(60));
    let w = common::wait_bounded(worker, Duration::from_secs(30));
    assert_eq!(
        w.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&w.stderr)
    );
    assert!(
        m.status.success() || m.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
    // The master's 4 users ran the file's class in ringblast: 4 logins, and tokens on the rest.
    let got = received(&server);
    assert_eq!(got.logins, 4);
    assert!(got.lines.get("GET /items?page=2").copied().unwrap_or(0) > 20);
    let stats = std::fs::read_to_string(dir.join("lm_stats.csv")).unwrap();
    assert!(
        stats.contains("GET,list,"),
        "the master counts the file's names: {stats}"
    );
}

#[test]
fn catch_response_on_the_status_and_the_body_fails_what_locust_fails() {
    if !common::python_has("locust", "the catch_response equivalence test") {
        return;
    }
    let dir = TempDir::new("catch");
    let file = dir.join("locustfile.py");
    std::fs::write(
        &file,
        r#"
import uuid
from locust import HttpUser, task, constant

class Approver(HttpUser):
    wait_time = constant(0.005)

    @task
    def missing(self):
        with self.client.get(f"/missing/{uuid.uuid4()}", catch_response=True, name="missing") as r:
            if r.status_code == 404:
                r.success()

    @task
    def fine(self):
        with self.client.get("/t", catch_response=True, name="t") as r:
            if "error" in r.text:
                r.failure("error")

    @task
    def wrong(self):
        with self.client.get("/u", catch_response=True, name="u") as r:
            if r.text != "fine":
                r.failure("not fine")

    @task
    def token(self):
        with self.client.post("/login", catch_response=True, name="login") as r:
            if r.status_code != 200 or r.json()["access"] == "nope":
                r.failure("no")

    @task
    def slow(self):
        with self.client.get("/s", catch_response=True) as r:
            if r.elapsed.total_seconds() > 1:
                r.failure("slow")
"#,
    )
    .unwrap();
    let (server, r, err) = run_f(&file);
    assert!(
        err.contains("a condition on something other than r.status_code"),
        "{err}"
    );
    let got = lines_in_order(&server);
    assert!(
        got.iter()
            .filter(|l| l.starts_with("GET /missing/"))
            .count()
            > 20
    );
    assert!(
        !got.iter().any(|l| l == "GET /s"),
        "the unconvertible block is never sent"
    );
    // Locust, on the same file: which names fail, and which do not.
    let locust_server = TestServer::start(Mode::Api { close_every: 0 });
    // Locust exits 1 when anything failed, as here on purpose.
    let args = [
        "-u",
        "2",
        "-r",
        "100",
        "-t",
        "2s",
        "--json",
        "--exit-code-on-error",
        "0",
    ];
    let o = locust(&file, &locust_server, &args);
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let locust_fails = |name: &str| {
        let e = stats
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("Locust ran no {name}"));
        (
            e["num_failures"].as_u64().unwrap(),
            e["num_requests"].as_u64().unwrap(),
        )
    };
    // Every 404 a success (r.success()), the text without "error" a success, the body that is
    // not "fine" a failure, and the token that is not "nope" a success: in both tools.
    for (name, all_fail) in [
        ("missing", false),
        ("t", false),
        ("u", true),
        ("login", false),
    ] {
        let (lf, ln) = locust_fails(name);
        assert_eq!(lf, if all_fail { ln } else { 0 }, "Locust {name}");
        let ep = r.endpoint(name);
        let failed = ep["failed"].as_u64().unwrap();
        let requests = ep["requests"]["responses"].as_u64().unwrap();
        assert!(requests > 10, "ringblast {name}: {requests}");
        assert_eq!(
            failed,
            if all_fail { requests } else { 0 },
            "ringblast {name}"
        );
    }
}

/// The request lines a server received, in arrival order, with digits masked as `#`.
fn lines_in_order(server: &TestServer) -> Vec<String> {
    let heads = server.counts.heads.lock().unwrap().clone();
    heads
        .iter()
        .map(|h| {
            let line = h.lines().next().unwrap();
            let mut parts = line.split(' ');
            let (method, target) = (parts.next().unwrap(), parts.next().unwrap());
            let masked: String = target
                .chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect();
            format!("{method} {masked}")
        })
        .collect()
}

#[test]
fn task_sets_sequences_tags_and_pacing_match_locust() {
    if !common::python_has("locust", "the Locust task-set equivalence test") {
        return;
    }
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/locustfiles/sets.py");
    let locust_server = TestServer::start(Mode::Api { close_every: 0 });
    let args = [
        "-u",
        "3",
        "-r",
        "100",
        "-t",
        "3s",
        "--exclude-tags",
        "search",
    ];
    locust(&file, &locust_server, &args);
    let rb_server = TestServer::start(Mode::Api { close_every: 0 });
    let r = run(&[
        "-f",
        file.to_str().unwrap(),
        "--host",
        &rb_server.url(""),
        "-u",
        "3",
        "-r",
        "100",
        "-d",
        "2s",
        "--exclude-tags",
        "search",
    ]);
    assert_eq!(r.code(), 0);
    let err = String::from_utf8_lossy(&r.output.stderr);
    assert!(!err.contains("warning"), "nothing is left out: {err}");
    let (l, b) = (lines_in_order(&locust_server), lines_in_order(&rb_server));
    let kinds = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
    // The same requests (the item's zero-padded id and the chosen word masked or listed).
    let expected: BTreeSet<String> = [
        "GET /home",
        "GET /item/###",
        "GET /leave/a",
        "GET /leave/b",
        "POST /seq/#-cart",
        "POST /seq/#-pay",
        "GET /seq/#-done",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(kinds(&l), expected, "Locust");
    assert_eq!(kinds(&b), expected, "ringblast");
    // The one Buyer (fixed_count = 1) walks its sequence in order, again and again.
    for (tool, v) in [("Locust", &l), ("ringblast", &b)] {
        let seq: Vec<&String> = v.iter().filter(|x| x.contains("/seq/")).collect();
        assert!(seq.len() >= 9, "{tool}: {} sequence requests", seq.len());
        for (i, x) in seq.iter().enumerate() {
            let want = ["cart", "pay", "done"][i % 3];
            assert!(x.ends_with(want), "{tool}: request {i} is {x}, not {want}");
        }
    }
    // The Shoppers' mix, search excluded: a pick is home or a visit of the nested set, which
    // makes 3 item picks per leave on average, so home 1/5, items 3/5, leave 1/5.
    let share = |v: &[String], prefix: &str| {
        let shop: Vec<&String> = v.iter().filter(|x| !x.contains("/seq/")).collect();
        shop.iter().filter(|x| x.starts_with(prefix)).count() as f64 / shop.len() as f64
    };
    for (prefix, want) in [("GET /home", 0.2), ("GET /item", 0.6), ("GET /leave", 0.2)] {
        let (ls, bs) = (share(&l, prefix), share(&b, prefix));
        assert!((ls - want).abs() < 0.1, "Locust {prefix}: {ls} vs {want}");
        assert!(
            (bs - want).abs() < 0.1,
            "ringblast {prefix}: {bs} vs {want}"
        );
    }
    // constant_pacing(0.01): each Shopper starts a task every 10 ms at most.
    let shop = b.iter().filter(|x| !x.contains("/seq/")).count() as f64;
    // 2 users × 2 s × 100 tasks/s at most (plus the first of each), and most of that.
    let most = 2.0 * 2.0 * 100.0;
    assert!(
        (0.6 * most..=1.05 * most + 4.0).contains(&shop),
        "{shop} Shopper requests in 2 s, paced at 10 ms for 2 users"
    );
}

#[test]
fn a_stage_table_shape_and_the_pre_1_0_api_convert_with_notes() {
    let dir = TempDir::new("shape");
    let file = dir.join("locustfile.py");
    std::fs::write(
        &file,
        r#"
from locust import HttpLocust, TaskSet, task, LoadTestShape

class Pages(TaskSet):
    @task
    def index(self):
        self.client.get("/")

class Old(HttpLocust):
    task_set = Pages
    min_wait = 10
    max_wait = 20

class Ramp(LoadTestShape):
    stages = [
        {"duration": 1, "users": 4, "spawn_rate": 8},
        {"duration": 2, "users": 2, "spawn_rate": 100},
    ]

    def tick(self):
        run_time = self.get_run_time()
        for stage in self.stages:
            if run_time < stage["duration"]:
                return (stage["users"], stage["spawn_rate"])
        return None
"#,
    )
    .unwrap();
    let out = dir.join("s.toml");
    let o = ringblast(
        &[
            "convert",
            file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = String::from_utf8_lossy(&o.stderr);
    for note in [
        "HttpLocust is the pre-1.0 API",
        "task_set =",
        "min_wait/max_wait",
    ] {
        assert!(summary.contains(note), "{note}: {summary}");
    }
    let toml = std::fs::read_to_string(&out).unwrap();
    // Up to 4 users in 500 ms at 8/s, held to 1 s; down to 2 at once, held to 2 s.
    assert!(
        toml.contains(r#"stages = "500ms:4u,500ms:4u,20ms:2u,980ms:2u""#),
        "{toml}"
    );
    assert!(toml.contains(r#"think = "10ms..20ms""#), "{toml}");
    // The stages run as they are: the server sees the 4 users' connections, and requests.
    let server = TestServer::start(Mode::Api { close_every: 0 });
    let r = run(&[
        "--scenario",
        out.to_str().unwrap(),
        "--host",
        &server.url("/"),
    ]);
    assert_eq!(r.code(), 0);
    r.assert_accounted();
    assert_eq!(
        server
            .counts
            .connections
            .load(std::sync::atomic::Ordering::Relaxed),
        4
    );
    assert!(received(&server).lines["GET /"] > 50);
}

#[test]
fn tasks_of_several_requests_keep_their_order_and_their_drawn_values_as_in_locust() {
    if !common::python_has("locust", "the Locust multi-request task test") {
        return;
    }
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/locustfiles/flows.py");
    let locust_server = TestServer::start(Mode::Api { close_every: 0 });
    locust(&file, &locust_server, &["-u", "1", "-r", "10", "-t", "3s"]);
    let rb_server = TestServer::start(Mode::Api { close_every: 0 });
    let r = run(&[
        "-f",
        file.to_str().unwrap(),
        "--host",
        &rb_server.url(""),
        "-u",
        "1",
        "-d",
        "2s",
    ]);
    assert_eq!(r.code(), 0);
    let err = String::from_utf8_lossy(&r.output.stderr);
    assert!(!err.contains("warning"), "{err}");
    let raw = |s: &TestServer| -> Vec<String> {
        s.counts
            .heads
            .lock()
            .unwrap()
            .iter()
            .map(|h| {
                h.lines()
                    .next()
                    .unwrap()
                    .rsplit_once(' ')
                    .unwrap()
                    .0
                    .to_string()
            })
            .collect()
    };
    for (tool, lines) in [
        ("Locust", raw(&locust_server)),
        ("ringblast", raw(&rb_server)),
    ] {
        let (mut signups, mut browses, mut carts) = (0, 0, BTreeSet::new());
        let mut i = 0;
        // The one user's requests, task by task: each task's requests in order, and what it
        // drew once the same in all of them.
        while i < lines.len() {
            let line = &lines[i];
            if let Some(email) = line.strip_prefix("POST /register/") {
                let Some(next) = lines.get(i + 1) else { break };
                assert_eq!(next, &format!("POST /signin/{email}"), "{tool}: {lines:?}");
                assert!(
                    email.starts_with('u') && email.len() == 7,
                    "{tool}: {email}"
                );
                signups += 1;
                i += 2;
            } else if let Some(id) = line.strip_prefix("GET /cart/") {
                if i + 3 >= lines.len() {
                    break;
                }
                for page in 1..=3 {
                    assert_eq!(
                        lines[i + page],
                        format!("GET /list?page={page}&size=20"),
                        "{tool}: {lines:?}"
                    );
                }
                carts.insert(id.to_string());
                browses += 1;
                i += 4;
            } else {
                panic!("{tool}: unexpected {line} at {i}: {lines:?}");
            }
        }
        // One user: one id drawn once for all its carts.
        assert_eq!(carts.len(), 1, "{tool}: {carts:?}");
        let id: u32 = carts.first().unwrap().parse().unwrap();
        assert!((1000..=9999).contains(&id), "{tool}: {id}");
        // The two tasks are picked alike.
        assert!(signups > 10 && browses > 10, "{tool}: {signups} {browses}");
        let share = signups as f64 / (signups + browses) as f64;
        assert!((share - 0.5).abs() < 0.2, "{tool}: signups {share}");
    }
}

#[test]
fn the_locust_report_locustfiles_convert_to_the_scenarios_beside_them() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/locust-report");
    for name in ["deployments", "approvals", "connectors", "burst"] {
        let py = dir.join(format!("{name}.py"));
        let o = ringblast(&["convert", py.to_str().unwrap()], Duration::from_secs(20));
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let summary = String::from_utf8_lossy(&o.stderr);
        assert!(summary.contains(", 0 warning(s)"), "{name}: {summary}");
        let toml = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            toml,
            "{name}.toml is not what convert makes of {name}.py: run `ringblast convert \
             examples/locust-report/{name}.py -o examples/locust-report/{name}.toml`"
        );
    }
}
