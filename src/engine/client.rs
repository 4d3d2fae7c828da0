//! The load-generating driver of one worker: opens its share of connections, sends pre-serialized
//! (pipelined) requests, parses responses, and accounts for every request exactly once.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::worker::Worker;
use crate::http::response::{Progress, ResponseParser};
use crate::io::{Driver, Event, Ops, Token};
use crate::stats::{ErrorKind, Interval, Recorder, Totals};

/// Marks a request staged in this turn but not yet handed to the kernel.
const UNSTAMPED: u64 = u64::MAX;
/// How often timeouts, backoffs and the stop flag are checked.
const SCAN_EVERY_US: u64 = 10_000;
const BACKOFF_MIN_US: u64 = 1_000;
const BACKOFF_MAX_US: u64 = 200_000;

/// What one worker needs to generate load.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub addr: SocketAddr,
    /// One serialized request.
    pub request: Arc<[u8]>,
    pub head_request: bool,
    pub pipeline: u32,
    pub connections: u32,
    /// This worker's share of `-n`, if any.
    pub quota: Option<u64>,
    pub duration: Option<Duration>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not connected and not trying (quota used up, or the run is ending).
    Idle,
    Connecting {
        since: u64,
    },
    Open,
    /// Waiting to reconnect after a failure.
    Backoff {
        until: u64,
    },
}

#[derive(Debug)]
struct Conn {
    state: State,
    /// Send times (µs since start) of requests awaiting a response, oldest first.
    in_flight: VecDeque<u64>,
    parser: ResponseParser,
    backoff: u64,
}

/// What a worker hands back when it stops.
#[derive(Debug)]
pub struct ClientOutcome {
    pub totals: Totals,
    pub backend_flags: &'static str,
}

pub struct Client {
    cfg: ClientConfig,
    /// `pipeline` copies of the request, so a full batch is one copy.
    batch: Vec<u8>,
    conns: Vec<Conn>,
    rec: Recorder,
    start: Instant,
    now: u64,
    /// Requests counted as sent (including failed connection attempts).
    issued: u64,
    connecting: u64,
    unstamped: Vec<Token>,
    next_scan: u64,
    next_interval: u64,
    started: bool,
    stopping: bool,
    stop: Arc<AtomicBool>,
    intervals: Sender<Interval>,
    pub outcome: Option<ClientOutcome>,
}

impl Client {
    pub fn new(
        cfg: ClientConfig,
        start: Instant,
        stop: Arc<AtomicBool>,
        intervals: Sender<Interval>,
    ) -> Self {
        let batch = cfg.request.repeat(cfg.pipeline as usize);
        let conns = (0..cfg.connections)
            .map(|_| Conn {
                state: State::Idle,
                in_flight: VecDeque::with_capacity(cfg.pipeline as usize),
                parser: ResponseParser::new(),
                backoff: 0,
            })
            .collect();
        Self {
            cfg,
            batch,
            conns,
            rec: Recorder::new(),
            start,
            now: 0,
            issued: 0,
            connecting: 0,
            unstamped: Vec::new(),
            next_scan: 0,
            next_interval: 1_000_000,
            started: false,
            stopping: false,
            stop,
            intervals,
            outcome: None,
        }
    }

    fn clock(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Requests this worker may still count as sent.
    fn quota_left(&self) -> u64 {
        self.cfg
            .quota
            .map_or(u64::MAX, |q| q.saturating_sub(self.issued))
    }

    fn connect(&mut self, token: Token, ops: &mut Ops) {
        // Each attempt reserves one request of the quota: a failure is accounted as one.
        if self.stopping || self.quota_left() <= self.connecting {
            self.conns[token as usize].state = State::Idle;
            return;
        }
        self.connecting += 1;
        self.conns[token as usize].state = State::Connecting { since: self.now };
        ops.connect(token, self.cfg.addr);
    }

    /// A connection attempt failed: it counts as one request that ended in a connect error.
    fn connect_failed(&mut self, token: Token, kind: ErrorKind) {
        self.connecting -= 1;
        self.issued += 1;
        self.rec.sent(1, 0);
        self.rec.error(kind, 1);
        let conn = &mut self.conns[token as usize];
        conn.backoff = (conn.backoff * 2).clamp(BACKOFF_MIN_US, BACKOFF_MAX_US);
        conn.state = State::Backoff {
            until: self.now + conn.backoff,
        };
    }

    /// Stages the next batch on an open, idle connection.
    fn issue(&mut self, token: Token, ops: &mut Ops) {
        let conn = &mut self.conns[token as usize];
        if self.stopping || conn.state != State::Open || !conn.in_flight.is_empty() {
            return;
        }
        let left = self
            .cfg
            .quota
            .map_or(u64::MAX, |q| q.saturating_sub(self.issued));
        let k = u64::from(self.cfg.pipeline).min(left) as usize;
        if k == 0 {
            return;
        }
        let bytes = if k == self.cfg.pipeline as usize {
            &self.batch[..]
        } else {
            &self.batch[..k * self.cfg.request.len()]
        };
        ops.out(token).extend_from_slice(bytes);
        ops.flush(token);
        conn.in_flight.extend(std::iter::repeat_n(UNSTAMPED, k));
        self.issued += k as u64;
        self.rec.sent(k as u64, bytes.len() as u64);
        self.unstamped.push(token);
    }

    /// Ends every request in flight on a connection with `kind` and resets its parser.
    /// Requests never handed to the kernel are taken back instead.
    fn fail_in_flight(&mut self, token: Token, kind: ErrorKind) {
        let conn = &mut self.conns[token as usize];
        let mut lost = 0;
        let mut never_sent = 0;
        for &t in &conn.in_flight {
            if t == UNSTAMPED {
                never_sent += 1
            } else {
                lost += 1
            }
        }
        conn.in_flight.clear();
        conn.parser.reset();
        self.rec.error(kind, lost);
        self.rec.unsend(never_sent);
        self.issued -= never_sent;
    }

    /// We close the connection ourselves (timeout, bad response) and reconnect.
    fn abort(&mut self, token: Token, kind: ErrorKind, ops: &mut Ops) {
        self.fail_in_flight(token, kind);
        ops.close(token);
        self.connect(token, ops);
    }

    fn on_data(&mut self, token: Token, bytes: &[u8], ops: &mut Ops) {
        self.rec.received(bytes.len() as u64);
        let now = self.clock();
        self.now = now;
        let mut rest = bytes;
        while !rest.is_empty() {
            let conn = &mut self.conns[token as usize];
            match conn.parser.advance(rest, self.cfg.head_request) {
                Ok(Progress::Partial) => break,
                Ok(Progress::Done(n, done)) => {
                    rest = &rest[n..];
                    let Some(sent_at) = conn.in_flight.pop_front() else {
                        // A response nobody asked for: the stream cannot be trusted.
                        return self.abort(token, ErrorKind::Malformed, ops);
                    };
                    self.rec.response(done.status, now.saturating_sub(sent_at));
                    if done.close {
                        // The server closes after this response: whatever else was in flight is lost.
                        return self.abort(token, ErrorKind::Closed, ops);
                    }
                }
                Err(_) => return self.abort(token, ErrorKind::Malformed, ops),
            }
        }
        self.issue(token, ops);
    }

    fn on_closed(&mut self, token: Token, errno: i32) {
        let conn = &mut self.conns[token as usize];
        if errno == 0
            && let Some(done) = conn.parser.eof()
            && let Some(sent_at) = conn.in_flight.pop_front()
        {
            let now = self.clock();
            self.rec.response(done.status, now.saturating_sub(sent_at));
        }
        self.fail_in_flight(token, ErrorKind::from_io_errno(errno));
    }

    /// Checks timeouts and backoffs; once every SCAN_EVERY_US.
    fn scan(&mut self, ops: &mut Ops) {
        let timeout = self.cfg.timeout.as_micros() as u64;
        let connect_timeout = self.cfg.connect_timeout.as_micros() as u64;
        for i in 0..self.conns.len() {
            let token = i as Token;
            match self.conns[i].state {
                State::Connecting { since } if self.now - since >= connect_timeout => {
                    ops.close(token);
                    self.connect_failed(token, ErrorKind::ConnectTimeout);
                }
                State::Backoff { until } if self.now >= until => self.connect(token, ops),
                State::Open => {
                    if let Some(&first) = self.conns[i].in_flight.front()
                        && first != UNSTAMPED
                        && self.now.saturating_sub(first) >= timeout
                    {
                        self.abort(token, ErrorKind::Timeout, ops);
                    }
                }
                _ => {}
            }
        }
    }

    fn all_done(&self) -> bool {
        self.quota_left() == 0
            && self.connecting == 0
            && self.conns.iter().all(|c| c.in_flight.is_empty())
    }

    fn send_interval(&mut self, next_index: u32) {
        let iv = self.rec.roll(next_index);
        // The collector outlives the workers; a send error only means the run is being torn down.
        let _ = self.intervals.send(iv);
    }
}

impl Driver for Client {
    fn on_event(&mut self, event: Event<'_>, ops: &mut Ops) {
        match event {
            Event::Data { token, bytes } => self.on_data(token, bytes, ops),
            Event::Connected {
                token,
                result: Ok(()),
            } => {
                self.connecting -= 1;
                self.rec.totals.connects += 1;
                let conn = &mut self.conns[token as usize];
                conn.state = State::Open;
                conn.backoff = 0;
                self.issue(token, ops);
            }
            Event::Connected {
                token,
                result: Err(errno),
            } => {
                self.now = self.clock();
                self.connect_failed(token, ErrorKind::from_connect_errno(errno));
            }
            Event::Closed { token, errno } => {
                self.now = self.clock();
                self.on_closed(token, errno);
                self.connect(token, ops);
            }
            Event::Accepted { fd } => crate::sys::socket::close(fd),
        }
    }
}

impl Worker for Client {
    fn tick(&mut self, ops: &mut Ops) -> Option<Duration> {
        if self.outcome.is_some() {
            return None;
        }
        self.now = self.clock();
        if !self.started {
            self.started = true;
            ops.ensure_slots(self.conns.len());
            for t in 0..self.conns.len() as Token {
                self.connect(t, ops);
            }
        }
        while self.now >= self.next_interval {
            let next = (self.next_interval / 1_000_000) as u32;
            self.send_interval(next);
            self.next_interval += 1_000_000;
        }
        let deadline = self.cfg.duration.map(|d| d.as_micros() as u64);
        if self.now >= self.next_scan {
            self.next_scan = self.now + SCAN_EVERY_US;
            if self.stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| self.now >= d) {
                self.stopping = true;
            } else {
                self.scan(ops);
            }
        }
        if self.stopping || self.all_done() {
            return None;
        }
        // Everything staged since the last turn goes to the kernel now: stamp it.
        let now = self.clock();
        for token in self.unstamped.drain(..) {
            for t in self.conns[token as usize].in_flight.iter_mut().rev() {
                if *t != UNSTAMPED {
                    break;
                }
                *t = now;
            }
        }
        let until_scan = self.next_scan.saturating_sub(now);
        let until_end = deadline.map_or(u64::MAX, |d| d.saturating_sub(now));
        Some(Duration::from_micros(until_scan.min(until_end).max(1)))
    }

    fn finish(&mut self, buffer_exhaustions: u64, backend_flags: &'static str) {
        for i in 0..self.conns.len() {
            let conn = &mut self.conns[i];
            let (mut stamped, mut unstamped) = (0, 0);
            for &t in &conn.in_flight {
                if t == UNSTAMPED {
                    unstamped += 1
                } else {
                    stamped += 1
                }
            }
            conn.in_flight.clear();
            self.rec.unfinished(stamped);
            self.rec.unsend(unstamped);
        }
        if self.connecting > 0 {
            // Connection attempts still in progress carried no request yet.
            self.connecting = 0;
        }
        self.rec.totals.recv_buffer_exhausted += buffer_exhaustions;
        let index = self.rec.interval_index();
        self.send_interval(index + 1);
        self.outcome = Some(ClientOutcome {
            totals: self.rec.totals.clone(),
            backend_flags,
        });
    }
}
