//! The built-in target's driver: accepts connections, parses pipelined requests and answers each
//! with one pre-built response (optionally after a delay). Counts what it answered.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::engine::worker::Worker;
use crate::http::request_parser::RequestParser;
use crate::io::{Driver, Event, Ops, Token};
use crate::serve::routes::{RouteState, Routes};

/// How often the stop flag is checked.
const CHECK_EVERY: Duration = Duration::from_millis(10);

/// The bytes the target answers with.
#[derive(Debug, Clone)]
pub struct Responses {
    pub full: Arc<[u8]>,
    /// The same head without the body, for HEAD requests.
    pub head_only: Arc<[u8]>,
    pub delay: Duration,
    /// Where a 16-hex-digit response counter sits in both, when every head must differ.
    pub counter_at: Option<usize>,
}

impl Responses {
    pub fn new(status: u16, body_size: usize, delay: Duration, unique_heads: bool) -> Self {
        let reason = match status {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            301 => "Moved Permanently",
            304 => "Not Modified",
            400 => "Bad Request",
            404 => "Not Found",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Status",
        };
        let no_body = status == 204 || status == 304;
        let len_header = if no_body {
            String::new()
        } else {
            format!("Content-Length: {body_size}\r\n")
        };
        let status_line = format!("HTTP/1.1 {status} {reason}\r\n");
        let counter = if unique_heads {
            "X-Response: 0000000000000000\r\n"
        } else {
            ""
        };
        let counter_at = unique_heads.then(|| status_line.len() + "X-Response: ".len());
        let head = format!("{status_line}{counter}{len_header}Content-Type: text/plain\r\n\r\n");
        let mut full = head.clone().into_bytes();
        if !no_body {
            let pattern = b"Hello, world!";
            full.extend(pattern.iter().cycle().take(body_size));
        }
        Self {
            full: full.into(),
            head_only: head.into_bytes().into(),
            delay,
            counter_at,
        }
    }
}

/// An answer waiting for its due time.
#[derive(Debug)]
enum Outgoing {
    /// The target's one pre-built response (or its head, for HEAD).
    Fixed { head: bool },
    /// A mock route's response.
    Bytes(Vec<u8>),
}

#[derive(Debug, Default)]
struct Conn {
    open: bool,
    parser: RequestParser,
    /// Answers not sent yet, in request order: (due time, answer, close after it).
    due: VecDeque<(Instant, Outgoing, bool)>,
    closing: bool,
}

pub struct Server {
    responses: Responses,
    /// The mock API, when serving `--routes`.
    routes: Option<(Arc<Routes>, RouteState)>,
    conns: Vec<Conn>,
    free: Vec<Token>,
    /// Tokens with delayed answers pending.
    waiting: Vec<Token>,
    pub answered: u64,
    stop: Arc<AtomicBool>,
    next_check: Instant,
    done: bool,
}

impl Server {
    pub fn new(
        responses: Responses,
        routes: Option<Arc<Routes>>,
        seed: u64,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Self {
            responses,
            routes: routes.map(|r| (r, RouteState::new(seed))),
            conns: Vec::new(),
            free: Vec::new(),
            waiting: Vec::new(),
            answered: 0,
            stop,
            next_check: Instant::now(),
            done: false,
        }
    }

    fn answer(&mut self, token: Token, outgoing: Outgoing, close: bool, ops: &mut Ops) {
        let out = ops.out(token);
        let start = out.len();
        let fixed = match outgoing {
            Outgoing::Fixed { head } => {
                out.extend_from_slice(if head {
                    &self.responses.head_only
                } else {
                    &self.responses.full
                });
                true
            }
            Outgoing::Bytes(bytes) => {
                out.extend_from_slice(&bytes);
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
        ops.flush(token);
    }

    fn release(&mut self, token: Token) {
        let conn = &mut self.conns[token as usize];
        if conn.open {
            *conn = Conn::default();
            self.free.push(token);
        }
    }

    fn on_data(&mut self, token: Token, bytes: &[u8], ops: &mut Ops) {
        let mut rest = bytes;
        let now = Instant::now();
        while !rest.is_empty() && !self.conns[token as usize].closing {
            match self.conns[token as usize].parser.advance(rest) {
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
                    let conn = &mut self.conns[token as usize];
                    if delay.is_zero() && conn.due.is_empty() {
                        self.answer(token, outgoing, req.close, ops);
                    } else {
                        // Answers leave in request order: a quick one waits behind a slow one.
                        if conn.due.is_empty() {
                            self.waiting.push(token);
                        }
                        conn.due.push_back((now + delay, outgoing, req.close));
                    }
                }
                Err(_) => {
                    ops.close(token);
                    self.release(token);
                    return;
                }
            }
        }
    }

    /// Sends delayed answers that are due; returns the time until the next one.
    fn send_due(&mut self, ops: &mut Ops) -> Option<Duration> {
        let now = Instant::now();
        let mut next: Option<Duration> = None;
        let mut i = 0;
        while i < self.waiting.len() {
            let token = self.waiting[i];
            while let Some((due, _, _)) = self.conns[token as usize].due.front() {
                if *due > now {
                    let wait = *due - now;
                    next = Some(next.map_or(wait, |n| n.min(wait)));
                    break;
                }
                let (_, outgoing, close) = self.conns[token as usize]
                    .due
                    .pop_front()
                    .expect("front exists");
                self.answer(token, outgoing, close, ops);
            }
            if self.conns[token as usize].due.is_empty() {
                self.waiting.swap_remove(i);
            } else {
                i += 1;
            }
        }
        next
    }
}

impl Driver for Server {
    fn on_event(&mut self, event: Event<'_>, ops: &mut Ops) {
        match event {
            Event::Accepted { fd } => {
                let token = self.free.pop().unwrap_or_else(|| {
                    self.conns.push(Conn::default());
                    (self.conns.len() - 1) as Token
                });
                ops.ensure_slots(self.conns.len());
                self.conns[token as usize].open = true;
                self.conns[token as usize].parser.want_details = self.routes.is_some();
                ops.adopt(token, fd);
            }
            Event::Data { token, bytes } => self.on_data(token, bytes, ops),
            Event::Closed { token, .. } => {
                self.waiting.retain(|&t| t != token);
                self.release(token);
            }
            Event::Connected { .. } => {}
        }
    }
}

impl Worker for Server {
    fn tick(&mut self, ops: &mut Ops) -> Option<Duration> {
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
        let mut wait = self.next_check.saturating_duration_since(now);
        if !self.waiting.is_empty()
            && let Some(next) = self.send_due(ops)
        {
            wait = wait.min(next);
        }
        Some(wait.max(Duration::from_micros(1)))
    }

    fn finish(&mut self, _buffer_exhaustions: u64, _backend_flags: &'static str) {}
}
