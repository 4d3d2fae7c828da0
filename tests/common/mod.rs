//! Test fixtures: a loopback HTTP server that counts what it receives and answers, with
//! misbehaviours on demand, and a runner for the real `ringblast` binary.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the test server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `Content-Length` responses.
    Plain,
    /// Chunked responses with an extension and a trailer.
    Chunked,
    /// Each response written a few bytes at a time.
    Trickle,
    /// `Connection: close` on every Nth response, then close.
    CloseEvery(u64),
    /// Every Nth response is cut off halfway and the connection closed.
    AbortEvery(u64),
    /// A broken status line.
    Malformed,
    /// Reads requests, never answers.
    Silent,
    /// Body delimited by closing the connection (no length, no chunking).
    CloseDelimited,
    /// Answers `n` requests per connection, then closes it without `Connection: close` (a
    /// failed connection: what was pipelined behind goes unanswered).
    DropAfter(u64),
    /// Answers `n` requests per connection, announcing `Keep-Alive: max=` the rest, then closes
    /// (with `Connection: close` on the last answer).
    KeepAliveMax(u64),
    /// Answers nothing during the first `freeze_ms` of every second (a stop-the-world pause).
    Freeze { freeze_ms: u64 },
    /// A tiny API: `POST /login` returns `{"access":"tok-N"}` (a new token each time), paths under
    /// `/missing/` answer 404, anything else 200; every `close_every`th response (0: never)
    /// carries `Connection: close`.
    Api { close_every: u64 },
    /// A session login, as Django has it: `POST /login` sets `sessionid=sess-N` and
    /// `csrftoken=csrf-N` (Path=/), `POST /logout` deletes the session cookie, paths under
    /// `/account/` answer 403 without a session cookie; every `close_every`th response (0:
    /// never) closes the connection.
    Session { close_every: u64 },
}

/// Counts shared with the test.
#[derive(Debug, Default)]
pub struct Counts {
    /// Complete requests read.
    pub received: AtomicU64,
    /// Complete responses written (for the abort mode, the cut-off ones are not counted).
    pub answered: AtomicU64,
    pub connections: AtomicU64,
    /// The first request's bytes, as received.
    pub first_request: Mutex<Vec<u8>>,
    /// Every request head received (the first 5,000).
    pub heads: Mutex<Vec<String>>,
    /// Tokens handed out by the Api mode's login.
    pub tokens: Mutex<Vec<String>>,
    /// Per connection: its first request line, and how many requests had arrived on it when
    /// that one was answered (1: it came alone).
    pub first_on_conn: Mutex<Vec<(String, usize)>>,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl TestServer {
    pub fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (counts.clone(), stop.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        c.connections.fetch_add(1, Ordering::Relaxed);
                        let (c, s) = (c.clone(), s.clone());
                        std::thread::spawn(move || serve_conn(stream, mode, &c, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self { addr, counts, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn received(&self) -> u64 {
        self.counts.received.load(Ordering::Relaxed)
    }

    pub fn answered(&self) -> u64 {
        self.counts.answered.load(Ordering::Relaxed)
    }
}

/// Finds the end of one request in `buf`: head plus Content-Length body.
fn request_len(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let body = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
    (buf.len() >= head_end + body).then_some(head_end + body)
}

/// Writes one response and counts it; false when the connection is gone.
fn answer(stream: &mut TcpStream, resp: &str, counts: &Counts) -> bool {
    let ok = stream.write_all(resp.as_bytes()).is_ok();
    if ok {
        counts.answered.fetch_add(1, Ordering::Relaxed);
    }
    ok
}

fn serve_conn(mut stream: TcpStream, mode: Mode, counts: &Counts, stop: &AtomicBool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut served: u64 = 0;
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        while let Some(n) = request_len(&buf) {
            let req: Vec<u8> = buf.drain(..n).collect();
            if counts.received.fetch_add(1, Ordering::Relaxed) == 0 {
                *counts.first_request.lock().unwrap() = req.clone();
            }
            {
                let mut heads = counts.heads.lock().unwrap();
                if heads.len() < 5000 {
                    let end = req
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .unwrap_or(req.len());
                    heads.push(String::from_utf8_lossy(&req[..end]).into_owned());
                }
            }
            served += 1;
            if served == 1 {
                let mut behind = 0;
                let mut rest = &buf[..];
                while let Some(n) = request_len(rest) {
                    behind += 1;
                    rest = &rest[n..];
                }
                let line = String::from_utf8_lossy(
                    &req[..req.iter().position(|&b| b == b'\r').unwrap_or(0)],
                )
                .into_owned();
                counts
                    .first_on_conn
                    .lock()
                    .unwrap()
                    .push((line, 1 + behind));
            }
            let body = b"hello";
            if let Mode::Freeze { freeze_ms } = mode {
                let phase = epoch().elapsed().as_millis() as u64 % 1000;
                if phase < freeze_ms {
                    std::thread::sleep(Duration::from_millis(freeze_ms - phase));
                }
            }
            let ok = match mode {
                Mode::Plain | Mode::Freeze { .. } => {
                    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").is_ok()
                }
                Mode::Chunked => stream
                    .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: t\r\n\r\n")
                    .is_ok(),
                Mode::Trickle => {
                    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
                    resp.chunks(3).all(|c| {
                        let r = stream.write_all(c).is_ok();
                        std::thread::sleep(Duration::from_micros(200));
                        r
                    })
                }
                Mode::CloseEvery(n) if served.is_multiple_of(n) => {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello");
                    counts.answered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Mode::CloseEvery(_) => stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").is_ok(),
                Mode::AbortEvery(n) if served.is_multiple_of(n) => {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhel");
                    return;
                }
                Mode::AbortEvery(_) => stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").is_ok(),
                Mode::Malformed => stream.write_all(b"HTTX/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").is_ok(),
                                Mode::Silent => continue,
                Mode::Api { close_every } => {
                    let line = String::from_utf8_lossy(&req[..req.iter().position(|&b| b == b'\r').unwrap_or(0)]).into_owned();
                    let close = close_every > 0 && served.is_multiple_of(close_every);
                    let conn_header = if close { "Connection: close\r\n" } else { "" };
                    let (status, body) = if line.starts_with("POST /login") {
                        let mut tokens = counts.tokens.lock().unwrap();
                        let token = format!("tok-{:04}", tokens.len());
                        tokens.push(token.clone());
                        ("200 OK", format!("{{\"access\":\"{token}\"}}"))
                    } else if line.contains(" /missing/") {
                        ("404 Not Found", "{}".to_string())
                    } else {
                        ("200 OK", "ok".to_string())
                    };
                    let resp = format!("HTTP/1.1 {status}\r\n{conn_header}Content-Length: {}\r\n\r\n{body}", body.len());
                    if !answer(&mut stream, &resp, counts) || close {
                        return;
                    }
                    continue;
                }
                Mode::Session { close_every } => {
                    let line = String::from_utf8_lossy(&req[..req.iter().position(|&b| b == b'\r').unwrap_or(0)]).into_owned();
                    let head = String::from_utf8_lossy(&req).to_ascii_lowercase();
                    let close = close_every > 0 && served.is_multiple_of(close_every);
                    let conn_header = if close { "Connection: close\r\n" } else { "" };
                    let (status, cookies) = if line.starts_with("POST /login") {
                        let mut tokens = counts.tokens.lock().unwrap();
                        let n = tokens.len();
                        tokens.push(format!("sess-{n:04}"));
                        ("200 OK", format!("Set-Cookie: sessionid=sess-{n:04}; Path=/; HttpOnly\r\nSet-Cookie: csrftoken=csrf-{n:04}; Path=/\r\n"))
                    } else if line.starts_with("POST /logout") {
                        ("200 OK", "Set-Cookie: sessionid=; Max-Age=0; Path=/\r\n".to_string())
                    } else if line.contains(" /account/") && !head.contains("\r\ncookie: sessionid=") && !head.contains("; sessionid=") {
                        ("403 Forbidden", String::new())
                    } else {
                        ("200 OK", String::new())
                    };
                    let resp = format!("HTTP/1.1 {status}\r\n{cookies}{conn_header}Content-Length: 2\r\n\r\nok");
                    if !answer(&mut stream, &resp, counts) || close {
                        return;
                    }
                    continue;
                }
                Mode::KeepAliveMax(n) => {
                    let last = served >= n;
                    let conn = if last { "Connection: close\r\n" } else { "" };
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max={}\r\n{conn}Content-Length: 5\r\n\r\nhello",
                        n - served
                    );
                    let ok = stream.write_all(resp.as_bytes()).is_ok();
                    if ok {
                        counts.answered.fetch_add(1, Ordering::Relaxed);
                    }
                    if last || !ok {
                        return;
                    }
                    continue;
                }
                Mode::DropAfter(n) => {
                    let ok = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").is_ok();
                    if ok {
                        counts.answered.fetch_add(1, Ordering::Relaxed);
                    }
                    if served >= n || !ok {
                        return;
                    }
                    continue;
                }
                Mode::CloseDelimited => {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
                    let _ = stream.write_all(body);
                    counts.answered.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            if !ok {
                return;
            }
            counts.answered.fetch_add(1, Ordering::Relaxed);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

/// Whether every probe must pass: `CI=true` (set by .ci/run itself) or
/// `RINGBLAST_REQUIRE_ALL=1`. Then a missing tool or kernel feature fails the test that needs it.
pub fn require_all() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
        || std::env::var("RINGBLAST_REQUIRE_ALL").as_deref() == Ok("1")
}

/// The one way a test skips: says what it skips and why, and appends that to the skip log
/// (`target/tmp/skips.log`, counted by .ci/run); under `require_all` it fails instead.
/// Whether a program `what` needs is installed; on CI its absence is a failure.
pub fn have(program: &str, what: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip(
            what,
            &format!("{program} is not installed (.ci/run installs it)"),
        );
    }
    found
}

pub fn skip(what: &str, why: &str) {
    assert!(
        !require_all(),
        "{what} cannot run and every probe is required here (CI=true or RINGBLAST_REQUIRE_ALL=1): {why}"
    );
    eprintln!("SKIP {what}: {why}");
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("skips.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        use std::io::Write;
        let _ = writeln!(f, "{what}: {why}");
    }
}

/// Whether Python can import these modules (pip's packages that the suite runs against); if
/// not, the test skips (see `skip`).
pub fn python_has(modules: &str, what: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip(
            what,
            &format!("python3 cannot import {modules} (.ci/run installs them with pip)"),
        );
    }
    ok
}

/// Whether a test may run on `io`. io_uring may be missing (a sandbox, an old kernel): then the
/// test skips (see `skip`).
pub fn available(io: &str) -> bool {
    if io != "uring" {
        return true;
    }
    match ringblast::sys::probe_uring() {
        ringblast::sys::UringSupport::Available => true,
        ringblast::sys::UringSupport::Unavailable(why) => {
            skip("the io_uring variant", &why);
            false
        }
    }
}

/// Generates one test per backend from a body that takes the backend's name:
/// `per_backend! { fn name(io) { ... } }` makes `name::epoll` and `name::uring`.
#[macro_export]
macro_rules! per_backend {
    ($(fn $name:ident($io:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn body($io: &'static str) $body

                #[test]
                fn epoll() {
                    body("epoll")
                }

                #[test]
                fn uring() {
                    if common::available("uring") {
                        body("uring")
                    }
                }
            }
        )*
    };
}

/// A finished run of the binary.
pub struct Run {
    pub output: Output,
    pub json: serde_json::Value,
    pub elapsed: Duration,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn n(&self, pointer: &str) -> u64 {
        self.json
            .pointer(pointer)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("no {pointer} in report"))
    }

    /// The report's entry for endpoint `name`.
    pub fn endpoint(&self, name: &str) -> &serde_json::Value {
        self.json["endpoints"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["name"] == name))
            .unwrap_or_else(|| panic!("no endpoint {name} in the report"))
    }

    /// sent == responses + errors + unfinished, and the error kinds add up.
    pub fn assert_accounted(&self) {
        let (sent, resp, err, unf) = (
            self.n("/requests/sent"),
            self.n("/requests/responses"),
            self.n("/requests/errors"),
            self.n("/requests/unfinished"),
        );
        assert_eq!(
            sent,
            resp + err + unf,
            "sent {sent} != responses {resp} + errors {err} + unfinished {unf}"
        );
        let kinds: u64 = self.json["errors"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(kinds, err, "error kinds do not add up");
        let statuses: u64 = self.json["status"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(statuses, resp, "status counts do not add up");
    }

    /// What the server answered lies between the responses seen and those plus the unfinished.
    pub fn assert_server_answered(&self, answered: u64) {
        let resp = self.n("/requests/responses");
        let unf = self.n("/requests/unfinished");
        assert!(
            (resp..=resp + unf).contains(&answered),
            "server answered {answered}, ringblast saw {resp} responses and {unf} unfinished"
        );
    }
}

/// A fresh directory under the system's temporary directory, removed when dropped (also when the
/// test fails).
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "ringblast-{tag}-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate for `localhost` (CN and subjectAltName), made the usual way
/// (`openssl req -x509`, which marks it CA:TRUE), as `cert.pem` and `key.pem` in `dir`; returns
/// their paths.
pub fn self_signed(dir: &std::path::Path) -> (String, String) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        .args(["-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl made no certificate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = |f: &str| dir.join(f).display().to_string();
    (path("cert.pem"), path("key.pem"))
}

/// Writes a scenario into a fresh temporary directory; the directory lives as long as the
/// returned guard.
pub fn scenario(text: &str) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new("scenario");
    let path = dir.join("s.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Runs `ringblast run` with `args` (plus `--json`), bounded by a hard timeout.
pub fn run(args: &[&str]) -> Run {
    let dir = TempDir::new("run");
    let json_path = dir.join("report.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringblast"));
    cmd.arg("run")
        .args(args)
        .arg("--json")
        .arg(&json_path)
        .arg("-q");
    let start = Instant::now();
    let output = run_bounded(cmd, Duration::from_secs(60));
    let elapsed = start.elapsed();
    let json = std::fs::read_to_string(&json_path)
        .map(|s| serde_json::from_str(&s).expect("report is valid JSON"))
        .unwrap_or(serde_json::Value::Null);
    Run {
        output,
        json,
        elapsed,
    }
}

/// Runs a command, killing it if it outlives `limit`.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    use std::process::Stdio;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    wait_bounded(child, limit)
}

/// Waits for a child's output, killing it if it outlives `limit`.
pub fn wait_bounded(child: std::process::Child, limit: Duration) -> Output {
    let id = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if d.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill")
            .args(["-KILL", &id.to_string()])
            .status();
    });
    let out = child.wait_with_output().unwrap();
    done.store(true, Ordering::Relaxed);
    out
}

/// Waits up to `limit` for a child to exit, killing it after that.
pub fn wait_bounded_child(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait().ok()
}

fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One clock for every freezing server in the process, so all connections pause together.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// `ringblast serve` on a free loopback port; killed if a test forgets to stop it.
pub struct Served {
    child: Option<std::process::Child>,
    pub url: String,
}

impl Served {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_on("127.0.0.1:0", extra)
    }

    /// `serve` listening on `listen` (e.g. `[::1]:0`).
    pub fn start_on(listen: &str, extra: &[&str]) -> Self {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringblast"))
            .args(["serve", "--listen", listen, "--threads", "1"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stderr.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no address in: {line}"))
            .to_string();
        Self {
            child: Some(child),
            url,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// The loopback address serve listens on.
    pub fn addr(&self) -> SocketAddr {
        self.url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .parse()
            .unwrap()
    }

    /// Resident memory of the serve process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    }

    /// CPU time (user + system) the serve process has used, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// Sends SIGTERM and returns the count serve printed.
    pub fn stop(mut self) -> u64 {
        let child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "serve exited with {:?}", out.status);
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in: {text}"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
        }
    }
}

/// Runs the binary with `args` (any subcommand), bounded; returns the output.
pub fn ringblast(args: &[&str], limit: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringblast"));
    cmd.args(args);
    run_bounded(cmd, limit)
}

/// Standard base64 (the interval log's encoding), for the test only.
pub fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let v: Vec<u32> = chunk.iter().map(|&c| u32::from(value(c))).collect();
        let n = v
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, x)| acc | (x << (18 - 6 * i)));
        out.push((n >> 16) as u8);
        if v.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if v.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// docs/report.schema.json, parsed.
pub fn report_schema() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/report.schema.json"
        ))
        .unwrap(),
    )
    .unwrap()
}

/// A validator for the JSON Schema subset docs/report.schema.json uses.
pub fn validate(schema: &serde_json::Value, v: &serde_json::Value, at: &str) -> Result<(), String> {
    if let Some(types) = schema.get("type") {
        // "type" is one name or a list of names (e.g. ["number", "null"]).
        let names: Vec<&str> = match types {
            serde_json::Value::String(t) => vec![t.as_str()],
            serde_json::Value::Array(ts) => {
                ts.iter().filter_map(serde_json::Value::as_str).collect()
            }
            other => return Err(format!("{at}: bad type {other}")),
        };
        let mut ok = false;
        for ty in &names {
            ok |= match *ty {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "integer" => v.is_u64() || v.is_i64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "null" => v.is_null(),
                other => return Err(format!("{at}: schema uses unsupported type {other}")),
            };
        }
        if !ok {
            return Err(format!("{at}: expected {names:?}, got {v}"));
        }
    }
    if let (Some(min), Some(x)) = (
        schema.get("minimum").and_then(serde_json::Value::as_f64),
        v.as_f64(),
    ) && x < min
    {
        return Err(format!("{at}: {x} < minimum {min}"));
    }
    if let Some(options) = schema.get("enum").and_then(serde_json::Value::as_array)
        && !options.contains(v)
    {
        return Err(format!("{at}: {v} not in {options:?}"));
    }
    if let Some(obj) = v.as_object() {
        let props = schema
            .get("properties")
            .and_then(serde_json::Value::as_object);
        for req in schema
            .get("required")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = req.as_str().unwrap();
            if !obj.contains_key(key) {
                return Err(format!("{at}: missing required '{key}'"));
            }
        }
        for (k, val) in obj {
            let path = format!("{at}.{k}");
            if let Some(p) = schema
                .get("propertyNames")
                .and_then(|p| p.get("pattern"))
                .and_then(serde_json::Value::as_str)
            {
                // Only the status-code pattern is used: one to three digits.
                assert_eq!(p, "^[0-9]{1,3}$");
                if k.is_empty() || k.len() > 3 || !k.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("{path}: name does not match {p}"));
                }
            }
            match (
                props.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(sub), _) => validate(sub, val, &path)?,
                (None, Some(serde_json::Value::Bool(false))) => {
                    return Err(format!("{path}: not allowed by the schema"));
                }
                (None, Some(sub @ serde_json::Value::Object(_))) => validate(sub, val, &path)?,
                (None, _) => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            validate(items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// A Python program playing the other side of a test (a master, a router, a server): started
/// with `python3 -c code args…`, its first printed line (the port it listens on) read.
pub struct PythonPeer {
    pub child: std::process::Child,
    pub out: std::io::BufReader<std::process::ChildStdout>,
    /// The first line it printed, trimmed: the port it listens on.
    pub port: String,
}

impl PythonPeer {
    pub fn start(code: &str, args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(code)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the test's peer");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line).expect("the peer prints its port");
        Self {
            child,
            out,
            port: line.trim().to_string(),
        }
    }

    /// The next line it prints (a summary), once it is done.
    pub fn next_line(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        let _ = self.out.read_line(&mut line);
        let _ = self.child.wait();
        line
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the ringblast binary with `args` and `--json JSON`, stdout discarded and stderr kept,
/// for tests that run it alongside something else; bound it with `wait_bounded`.
pub fn spawn(args: &[&str], json: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_ringblast"))
        .args(args)
        .arg("--json")
        .arg(json)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the ringblast binary starts")
}

/// A headless Chromium on this machine, if there is one.
pub fn chromium() -> Option<&'static str> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
}

/// The DOM of `page` after a headless Chromium loaded it, and its console errors; None (having
/// said so) when there is no Chromium here.
pub fn browse(page: &std::path::Path, profile: &std::path::Path) -> Option<(String, Vec<String>)> {
    let Some(browser) = chromium() else {
        skip(
            "the browser check",
            "no chromium here (.ci/run installs Debian's chromium)",
        );
        return None;
    };
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=3000",
        &format!("--user-data-dir={}", profile.display()),
        "--dump-dom",
        &format!("file://{}", page.display()),
    ]);
    let out = run_bounded(cmd, Duration::from_secs(60));
    let log = String::from_utf8_lossy(&out.stderr);
    let errors = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("Error") || l.contains("Uncaught")))
        .map(str::to_string)
        .collect();
    Some((String::from_utf8_lossy(&out.stdout).into_owned(), errors))
}

/// Debian's nginx in the foreground, one worker, with its files in `dir`: the `http { }` block
/// is the caller's (servers and settings), around the skeleton every test's nginx shares. Its
/// access log is the server's count of what it answered; dropping it stops nginx.
pub struct NginxProcess {
    child: std::process::Child,
    pub dir: TempDir,
}

impl NginxProcess {
    /// Starts nginx with `http` inside `http { }` and waits until `port` accepts connections.
    pub fn start(dir: TempDir, http: &str, port: u16) -> Self {
        let d = dir.to_str().unwrap();
        let conf = format!(
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 1024; }}\nhttp {{\n  access_log {d}/access.log;\n  \
             client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};\n  \
             uwsgi_temp_path {d}; scgi_temp_path {d};\n{http}\n}}\n"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new("nginx")
            .args(["-c", path.to_str().unwrap(), "-g", "daemon off;"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < end, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, dir }
    }

    /// nginx's access log: one line per request it answered (written as each ends).
    pub fn logged(&self) -> String {
        std::thread::sleep(Duration::from_millis(200));
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }
}

impl Drop for NginxProcess {
    fn drop(&mut self) {
        // TERM lets the master stop its workers; KILL would leave them running.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = wait_bounded_child(&mut self.child, Duration::from_secs(5));
    }
}
