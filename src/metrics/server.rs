//! The /metrics HTTP endpoint: one thread polling its scrapers without blocking on any, one
//! request per connection, each within a whole-request deadline; stopped when dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{State, render};

/// A running metrics endpoint.
pub struct Server {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` now (so a busy port fails before the run) and starts serving.
    pub fn start(addr: SocketAddr, state: State) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(state));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("ringblast-metrics".into())
            .spawn(move || serve(&listener, &s, &st))?;
        Ok(Self {
            addr,
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// The state this server shows.
    pub fn state(&self) -> Arc<Mutex<State>> {
        self.state.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A whole request must arrive within this long of its connection (a scraper that drips a byte
/// a second once held a run open for minutes), and it is answered within as long again.
const REQUEST_DEADLINE: Duration = Duration::from_secs(1);
/// Heads larger than this are not requests for /metrics.
const MAX_HEAD: usize = 8192;
/// Scrapers waited on at once; a new one beyond them pushes out the oldest.
const MAX_PENDING: usize = 64;

/// A scraper whose request head has not arrived whole yet.
struct Pending {
    conn: TcpStream,
    head: Vec<u8>,
    until: Instant,
}

/// Accepts and reads every scraper without blocking, so a slow one delays neither the others
/// nor the stop (at most one answer's write, bounded by REQUEST_DEADLINE).
fn serve(listener: &TcpListener, state: &Mutex<State>, stop: &AtomicBool) {
    let mut pending: Vec<Pending> = Vec::new();
    let mut buf = [0u8; 1024];
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        while let Ok((conn, _)) = listener.accept() {
            idle = false;
            if conn.set_nonblocking(true).is_err() {
                continue;
            }
            if pending.len() >= MAX_PENDING {
                pending.remove(0);
            }
            pending.push(Pending {
                conn,
                head: Vec::with_capacity(512),
                until: Instant::now() + REQUEST_DEADLINE,
            });
        }
        let now = Instant::now();
        pending.retain_mut(|p| {
            loop {
                match p.conn.read(&mut buf) {
                    Ok(0) => return false,
                    Ok(n) => {
                        idle = false;
                        p.head.extend_from_slice(&buf[..n]);
                        if p.head.windows(4).any(|w| w == b"\r\n\r\n") || p.head.len() >= MAX_HEAD {
                            answer(&mut p.conn, &p.head, state);
                            return false;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return now < p.until,
                    Err(_) => return false,
                }
            }
        });
        if idle {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Answers one request head.
fn answer(conn: &mut TcpStream, head: &[u8], state: &Mutex<State>) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_write_timeout(Some(REQUEST_DEADLINE));
    let line = String::from_utf8_lossy(head);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, kind, body) = match (method, path) {
        ("GET", "/metrics") => {
            let body = state.lock().map(|s| render(&s)).unwrap_or_default();
            ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body)
        }
        ("GET", _) => ("404 Not Found", "text/plain", "try /metrics\n".into()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET /metrics\n".into(),
        ),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}
