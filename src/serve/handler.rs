//! The built-in target's driver: accepts connections, parses pipelined requests and answers each
//! with one pre-built response (optionally after a delay). Counts what it answered, bounds what a
//! hostile client can make it hold (backpressure, size limits, timeouts).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::engine::worker::{BackendReport, Role};
use crate::http::reason_phrase;
use crate::http::request_parser::{RequestError, RequestParser};
use crate::io::{Driver, Event, HIGH_WATER, Ops, Token, Wait};
use crate::plan::Limits;
use crate::routes::{RouteState, Routes};

/// How often the stop flag is checked.
const CHECK_EVERY: Duration = Duration::from_millis(10);
/// How often connections are checked against the timeouts.
const SCAN_EVERY: Duration = Duration::from_millis(250);
/// Delayed answers one connection may have queued before its input stops being read.
const MAX_QUEUED: usize = 1024;

/// The bytes the target answers with.
#[derive(Debug, Clone)]
pub struct Responses {
    pub full: Arc<[u8]>,
    /// The same head without the body, for HEAD requests.
    pub head_only: Arc<[u8]>,
    /// Both again with `Connection: close`, for the last answer on a connection.
    pub full_close: Arc<[u8]>,
    pub head_only_close: Arc<[u8]>,
    pub delay: Duration,
    /// Where a 16-hex-digit response counter sits in both, when every head must differ.
    pub counter_at: Option<usize>,
    /// The same response for HTTP/2: its HPACK block (where the counter sits in it), and body.
    pub h2: super::h2::H2Response,
}

impl Responses {
    pub fn new(status: u16, body_size: usize, delay: Duration, unique_heads: bool) -> Self {
        let no_body = status == 204 || status == 304;
        let len_header = if no_body {
            String::new()
        } else {
            format!("Content-Length: {body_size}\r\n")
        };
        let status_line = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
        let counter = if unique_heads {
            "X-Response: 0000000000000000\r\n"
        } else {
            ""
        };
        let counter_at = unique_heads.then(|| status_line.len() + "X-Response: ".len());
        let build = |connection: &str| {
            let head = format!(
                "{status_line}{counter}{connection}{len_header}Content-Type: text/plain\r\n\r\n"
            );
            let mut full = head.clone().into_bytes();
            if !no_body {
                let pattern = b"Hello, world!";
                full.extend(pattern.iter().cycle().take(body_size));
            }
            (full.into(), head.into_bytes().into())
        };
        let (full, head_only): (Arc<[u8]>, Arc<[u8]>) = build("");
        let (full_close, head_only_close) = build("Connection: close\r\n");
        let h2 = super::h2::H2Response::new(status, &full[head_only.len()..], unique_heads);
        Self {
            h2,
            full,
            head_only,
            full_close,
            head_only_close,
            delay,
            counter_at,
        }
    }
}

/// An answer waiting for its due time.
#[derive(Debug)]
pub(super) enum Outgoing {
    /// The target's one pre-built response (or its head, for HEAD).
    Fixed { head: bool },
    /// A mock route's response, or an error answer.
    Bytes(Vec<u8>),
}

#[derive(Debug)]
pub(super) struct ServerConn {
    open: bool,
    /// The connection speaks HTTP/2 (it began with the preface, `serve --http2`).
    pub(super) h2: Option<Box<crate::proto::h2::server::Conn>>,
    /// The first bytes, while they may still be the start of HTTP/2's preface.
    pub(super) sniffed: Vec<u8>,
    /// Nothing has been read yet.
    pub(super) fresh: bool,
    parser: RequestParser,
    /// Answers not sent yet, in request order: (due time, answer, close after it, its HTTP/2
    /// stream or 0).
    pub(super) due: VecDeque<(Instant, Outgoing, bool, u32)>,
    pub(super) closing: bool,
    /// Input that arrived while reading was paused, parsed once the output drains.
    pub(super) stash: Vec<u8>,
    /// Reading is paused because too much output or too many answers are pending (since when).
    pub(super) paused: Option<Instant>,
    /// When the current request head began (it must end within the head timeout).
    head_started: Option<Instant>,
    /// When the current request began (head and body must end within the idle timeout: a body
    /// dripped a byte a second once kept a connection forever).
    request_started: Option<Instant>,
    pub(super) last_activity: Instant,
}

impl ServerConn {
    fn new(now: Instant) -> Self {
        Self {
            open: false,
            h2: None,
            sniffed: Vec::new(),
            fresh: true,
            parser: RequestParser::new(),
            due: VecDeque::new(),
            closing: false,
            stash: Vec::new(),
            paused: None,
            head_started: None,
            request_started: None,
            last_activity: now,
        }
    }
}

pub struct Server {
    pub(super) responses: Responses,
    /// The mock API, when serving `--routes`.
    pub(super) routes: Option<(Arc<Routes>, RouteState)>,
    pub(super) limits: Limits,
    pub(super) conns: Vec<ServerConn>,
    /// Connections that open with HTTP/2's preface speak it (`--http2`).
    pub(super) http2: bool,
    /// HTTP/2 requests completed by the last bytes read, and a response block being patched.
    pub(super) h2_done: Vec<crate::proto::h2::server::Request>,
    pub(super) h2_block: Vec<u8>,
    free: Vec<Token>,
    /// Tokens with delayed answers pending.
    waiting: Vec<Token>,
    pub(super) answered: u64,
    stop: Arc<AtomicBool>,
    next_check: Instant,
    next_scan: Instant,
    done: bool,
}

impl Server {
    pub fn new(
        responses: Responses,
        routes: Option<Arc<Routes>>,
        limits: Limits,
        seed: u64,
        stop: Arc<AtomicBool>,
        http2: bool,
    ) -> Self {
        let now = Instant::now();
        Self {
            responses,
            routes: routes.map(|r| (r, RouteState::new(seed))),
            limits,
            conns: Vec::new(),
            http2,
            h2_done: Vec::new(),
            h2_block: Vec::new(),
            free: Vec::new(),
            waiting: Vec::new(),
            answered: 0,
            stop,
            next_check: now,
            next_scan: now + SCAN_EVERY,
            done: false,
        }
    }

    /// Stages one answer; `now` is when (read once by the caller, not per answer).
    fn answer(
        &mut self,
        token: Token,
        outgoing: Outgoing,
        close: bool,
        stream: u32,
        now: Instant,
        ops: &mut Ops,
    ) {
        if self.conns[token as usize].h2.is_some() {
            return self.answer_h2(token, stream, outgoing, now, ops);
        }
        let out = ops.out(token);
        let start = out.len();
        // The last answer on a connection says so, as real servers do.
        let fixed = match outgoing {
            Outgoing::Fixed { head } => {
                let r = &self.responses;
                out.extend_from_slice(match (head, close) {
                    (false, false) => &r.full,
                    (true, false) => &r.head_only,
                    (false, true) => &r.full_close,
                    (true, true) => &r.head_only_close,
                });
                true
            }
            Outgoing::Bytes(bytes) => {
                let line_end = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
                let announced = bytes
                    .windows(17)
                    .any(|w| w.eq_ignore_ascii_case(b"connection: close"));
                if close && !announced && line_end > 0 {
                    out.extend_from_slice(&bytes[..line_end]);
                    out.extend_from_slice(b"Connection: close\r\n");
                    out.extend_from_slice(&bytes[line_end..]);
                } else {
                    out.extend_from_slice(&bytes);
                }
                false
            }
        };
        if let Some(at) = self.responses.counter_at.filter(|_| fixed) {
            // Patched in place at fixed width: the head changes, its length does not.
            let field = &mut out[start + at..start + at + 16];
            for (i, b) in field.iter_mut().enumerate() {
                *b = b"0123456789abcdef"[((self.answered >> (60 - 4 * i)) & 0xf) as usize];
            }
        }
        self.answered += 1;
        if close {
            ops.slots[token as usize].close_after_send = true;
        }
        self.conns[token as usize].last_activity = now;
        ops.flush(token);
    }

    /// Answers now, or queues the answer behind earlier ones (answers leave in request order).
    /// `stream` is the request's HTTP/2 stream (0 for HTTP/1.1).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn enqueue(
        &mut self,
        token: Token,
        outgoing: Outgoing,
        close: bool,
        stream: u32,
        delay: Duration,
        now: Instant,
        ops: &mut Ops,
    ) {
        let conn = &mut self.conns[token as usize];
        if delay.is_zero() && conn.due.is_empty() {
            self.answer(token, outgoing, close, stream, now, ops);
        } else {
            if conn.due.is_empty() {
                self.waiting.push(token);
            }
            conn.due.push_back((now + delay, outgoing, close, stream));
        }
    }

    fn release(&mut self, token: Token) {
        let conn = &mut self.conns[token as usize];
        if conn.open {
            *conn = ServerConn::new(Instant::now());
            self.free.push(token);
        }
    }

    /// Closes a connection the server gives up on.
    pub(super) fn hang_up(&mut self, token: Token, ops: &mut Ops) {
        ops.close(token);
        self.waiting.retain(|&t| t != token);
        self.release(token);
    }

    /// Too much is pending on the connection to take more requests from it.
    pub(super) fn congested(&self, token: Token, ops: &Ops) -> bool {
        ops.unsent(token) > HIGH_WATER || self.conns[token as usize].due.len() >= MAX_QUEUED
    }

    fn on_data(&mut self, token: Token, bytes: &[u8], ops: &mut Ops) {
        let now = Instant::now();
        let conn = &mut self.conns[token as usize];
        conn.last_activity = now;
        if conn.paused.is_some() || !conn.stash.is_empty() {
            // Already read by the kernel before the pause took effect: keep it, in order.
            conn.stash.extend_from_slice(bytes);
            return;
        }
        self.consume(token, bytes, now, ops);
    }

    /// Parses and answers requests until the input ends or the connection is congested; then
    /// the rest waits in the stash and reading pauses until the output drains.
    pub(super) fn consume(&mut self, token: Token, input: &[u8], now: Instant, ops: &mut Ops) {
        if self.http2 && self.sniff_h2(token, input, now, ops) {
            return;
        }
        let mut rest = input;
        while !rest.is_empty() && !self.conns[token as usize].closing {
            if self.congested(token, ops) {
                let conn = &mut self.conns[token as usize];
                conn.stash.extend_from_slice(rest);
                conn.paused = Some(now);
                ops.pause_reading(token);
                ops.notify_drained(token);
                return;
            }
            let conn = &mut self.conns[token as usize];
            let parsed = conn.parser.advance(rest);
            conn.head_started = match (conn.parser.in_head(), conn.head_started) {
                (true, None) => Some(now),
                (true, since) => since,
                (false, _) => None,
            };
            conn.request_started = match (conn.parser.in_request(), conn.request_started) {
                (true, None) => conn.head_started.or(Some(now)),
                (true, since) => since,
                (false, _) => None,
            };
            match parsed {
                Ok((n, req)) => {
                    rest = &rest[n..];
                    let Some(req) = req else { continue };
                    if req.close {
                        self.conns[token as usize].closing = true;
                    }
                    let (outgoing, delay) = match &mut self.routes {
                        None => (Outgoing::Fixed { head: req.head }, self.responses.delay),
                        Some((routes, state)) => {
                            let d = &self.conns[token as usize].parser.details;
                            let reply = routes.answer(
                                state,
                                &d.method,
                                &d.target,
                                &d.authorization,
                                req.head,
                            );
                            (Outgoing::Bytes(reply.bytes), reply.delay)
                        }
                    };
                    self.enqueue(token, outgoing, req.close, 0, delay, now, ops);
                }
                Err(e) => return self.refuse(token, e, now, ops),
            }
        }
    }

    /// Answers a request the target will not serve with the status a real server uses, then
    /// closes the connection.
    fn refuse(&mut self, token: Token, e: RequestError, now: Instant, ops: &mut Ops) {
        let status = e.status();
        let bytes = format!(
            "HTTP/1.1 {status} {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            reason_phrase(status)
        )
        .into_bytes();
        let conn = &mut self.conns[token as usize];
        conn.closing = true;
        conn.stash = Vec::new();
        self.enqueue(
            token,
            Outgoing::Bytes(bytes),
            true,
            0,
            Duration::ZERO,
            now,
            ops,
        );
    }

    /// Resumes a paused connection once it is no longer congested.
    pub(super) fn maybe_resume(&mut self, token: Token, ops: &mut Ops) {
        let conn = &self.conns[token as usize];
        if !conn.open || conn.paused.is_none() || self.congested(token, ops) {
            return;
        }
        let conn = &mut self.conns[token as usize];
        conn.paused = None;
        let stash = std::mem::take(&mut conn.stash);
        ops.resume_reading(token);
        self.consume(token, &stash, Instant::now(), ops);
    }

    /// Sends delayed answers that are due; returns the time until the next one.
    fn send_due(&mut self, ops: &mut Ops) -> Option<Duration> {
        let now = Instant::now();
        let mut next: Option<Duration> = None;
        let mut i = 0;
        while i < self.waiting.len() {
            let token = self.waiting[i];
            while let Some((due, ..)) = self.conns[token as usize].due.front() {
                if *due > now {
                    let wait = *due - now;
                    next = Some(next.map_or(wait, |n| n.min(wait)));
                    break;
                }
                let (_, outgoing, close, stream) = self.conns[token as usize]
                    .due
                    .pop_front()
                    .expect("front exists");
                self.answer(token, outgoing, close, stream, now, ops);
            }
            if self.conns[token as usize].due.is_empty() {
                self.waiting.swap_remove(i);
            } else {
                i += 1;
            }
            if self.conns[token as usize].paused.is_some() {
                self.maybe_resume(token, ops);
            }
        }
        next
    }

    /// Closes connections past their head or idle timeout.
    fn enforce_timeouts(&mut self, now: Instant, ops: &mut Ops) {
        let limits = self.limits;
        for i in 0..self.conns.len() {
            let conn = &self.conns[i];
            if !conn.open {
                continue;
            }
            let slow_head = conn
                .head_started
                .is_some_and(|t| now.duration_since(t) >= limits.head_timeout);
            let slow_request = conn
                .request_started
                .is_some_and(|t| now.duration_since(t) >= limits.idle_timeout);
            // A paused client that does not read its answers counts as idle from the pause.
            let quiet_since = conn.paused.unwrap_or(conn.last_activity);
            let pending = !conn.due.is_empty() && conn.paused.is_none();
            let idle = !pending && now.duration_since(quiet_since) >= limits.idle_timeout;
            if slow_head || slow_request || idle {
                self.hang_up(i as Token, ops);
            }
        }
    }
}

impl Driver for Server {
    fn on_event(&mut self, event: Event<'_>, ops: &mut Ops) {
        match event {
            Event::Accepted { fd } => {
                let now = Instant::now();
                let token = self.free.pop().unwrap_or_else(|| {
                    self.conns.push(ServerConn::new(now));
                    (self.conns.len() - 1) as Token
                });
                ops.ensure_slots(self.conns.len());
                let conn = &mut self.conns[token as usize];
                *conn = ServerConn::new(now);
                conn.open = true;
                conn.parser.want_details = self.routes.is_some();
                conn.parser.max_body = self.limits.max_body;
                ops.adopt(token, fd);
            }
            Event::Data { token, bytes, .. } => self.on_data(token, bytes, ops),
            Event::Drained { token } => self.maybe_resume(token, ops),
            Event::Closed { token, .. } => {
                self.waiting.retain(|&t| t != token);
                self.release(token);
            }
            Event::Connected { .. } | Event::Handshaking { .. } => {}
        }
    }
}

impl Role for Server {
    /// How many requests it answered.
    type Outcome = u64;

    fn tick(&mut self, ops: &mut Ops) -> Option<Wait> {
        if self.done {
            return None;
        }
        let now = Instant::now();
        if now >= self.next_check {
            self.next_check = now + CHECK_EVERY;
            if self.stop.load(Ordering::Relaxed) {
                self.done = true;
                return None;
            }
        }
        if now >= self.next_scan {
            self.next_scan = now + SCAN_EVERY;
            self.enforce_timeouts(now, ops);
        }
        let mut wait = self.next_check.saturating_duration_since(now);
        if !self.waiting.is_empty()
            && let Some(next) = self.send_due(ops)
        {
            wait = wait.min(next);
        }
        Some(Wait::until(wait.max(Duration::from_micros(1))))
    }

    fn finish(&mut self, _backend: BackendReport) -> u64 {
        self.answered
    }
}
