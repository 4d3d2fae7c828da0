//! The load-generating driver of one worker: opens its share of connections, sends pre-serialized
//! requests as the load shape says (closed loop, open-loop rate, or users), parses responses, and
//! accounts for every request exactly once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

mod clock;
mod connect;
mod receive;
mod resend;
mod schedule;
mod shared;
mod slots;
mod timers;

use super::conn::{ClientConn, ConnState, Pending};
use super::user::User;
use super::worker::{BackendReport, Role};
use crate::io::{Driver, Event, Gather, Ops, Token, Wait};
use crate::load::{Kind, Shape, Share, due_count};
use crate::proto::Exchange;
use crate::proto::Proto;
use crate::scenario::generators::Generators;
use crate::scenario::program::Program;
use crate::stats::{Interval, Recorder, Totals};

/// How often the stop flag is checked, and the connection deadlines due at the latest.
const CHECK_EVERY_US: u64 = 10_000;

/// What one worker needs to generate load.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub addr: SocketAddr,
    /// Which HTTP: HTTP/2 (prior knowledge over TCP, ALPN over TLS) has `pipeline` streams at
    /// a time; with `Auto`, each connection speaks what the server chose.
    pub http: crate::proto::Version,
    /// The connections carry TLS (HTTP/2's `:scheme`).
    pub https: bool,
    /// What to send: user classes and their tasks (one task for a plain `run URL`).
    pub program: Arc<Program>,
    pub pipeline: u32,
    /// Connections this worker opens (closed loop and open loop), or the most users it runs.
    pub connections: u32,
    /// The load over time (including any warm-up at its start).
    pub shape: Arc<Shape>,
    /// Which part of the global request or user sequence this worker owns.
    pub share: Share,
    /// Measurement starts this long after the start; everything before is not recorded.
    pub warmup: Duration,
    /// This worker's share of `-n`, if any.
    pub quota: Option<u64>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Seeds this worker's randomness: think times, and (mixed) the request value generators.
    pub seed: u64,
    /// Keep each second's latency per endpoint (for the interval log).
    pub endpoint_intervals: bool,
    /// The most bytes of one response kept for its captures.
    pub capture_limit: usize,
    /// Send again idempotent requests a server closed on without answering.
    pub resend: bool,
    /// Close each connection after this many requests (`--requests-per-conn`).
    pub requests_per_conn: Option<u64>,
    /// Users set from outside (see `EngineConfig::live_users`).
    pub live_users: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// End latencies at the kernel's receive timestamps where sockets have them.
    pub rx_stamps: bool,
    /// Below saturation, timer wake-ups to send are at least this far apart (`--batch-window`).
    pub batch_window: Duration,
    /// Requests go over TLS (users send Secure cookies only then).
    pub secure: bool,
}

/// What a worker hands back when it stops.
#[derive(Debug)]
pub struct ClientOutcome {
    pub totals: Totals,
    pub backend_flags: &'static str,
    /// Times a due request found no idle connection (open loop): too few connections.
    pub starved: u64,
    /// Open loop: requests due (within the measured time) but never sent when the run ended.
    pub due_unsent: u64,
    /// CPU-seconds this worker's thread used, and the wall time it ran.
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
    /// Why the server would not speak the HTTP asked for over ALPN, if it would not.
    pub alpn_refused: Option<String>,
}

pub struct Client {
    cfg: ClientConfig,
    /// For a static program: `pipeline` copies of its one request, so a full batch is one copy.
    batch: Vec<u8>,
    request_len: usize,
    gens: Generators,
    conns: Vec<ClientConn>,
    /// The users this worker plays, one per connection (user `t` is carried by connection
    /// `t`; each request in flight names its user, so a protocol that multiplexes users on one
    /// connection changes only which connection carries them).
    users: Vec<User>,
    rec: Recorder,
    start: Instant,
    now: u64,
    end: u64,
    measure_from: u64,
    measuring: bool,
    /// Requests counted against the quota (including failed connection attempts).
    issued: u64,
    connecting: u64,
    /// Connection attempts that hold a request of the quota (all but reconnects that carry
    /// requests to send again).
    reserved: u64,
    /// Open loop: requests of this worker's share taken off the schedule so far.
    scheduled: u64,
    /// Open loop: open connections with nothing in flight.
    idle: Vec<Token>,
    /// Users: when each thinking user sends next.
    wakeups: BinaryHeap<Reverse<(u64, Token)>>,
    active_users: u64,
    starved: u64,
    /// Requests per connection the server announced (`Keep-Alive: max`), once seen.
    server_max: Option<u64>,
    rng: u64,
    unstamped: Vec<Token>,
    next_check: u64,
    /// Connection deadlines, and the tokens whose deadline came due this turn.
    wheel: timers::Wheel,
    due_timers: Vec<Token>,
    /// Puts the kernel's receive timestamps on this worker's clock.
    kclock: clock::KernelClock,
    /// Users per connection: above 1, HTTP/2 users share connections as streams (`shared.rs`).
    group: Token,
    /// The intended time of the first request the last batch sent: the next batch's window
    /// opens one window later (counted from the schedule, so wake-up delays do not add up).
    window_from: u64,
    /// The earliest intended time among the requests staged this turn (u64::MAX: none).
    batch_first: u64,
    /// Open loop: due requests wait for a connection to come free.
    starving: bool,
    /// When the response being handled arrived (the kernel's time where known).
    answered_at: u64,
    /// The clock when the backend's wait last returned (read then only with kernel stamps): the
    /// bound of every stamp in the batch it hands over, so the batch costs one clock read.
    woke_at: u64,
    next_interval: u64,
    started: bool,
    stopping: bool,
    /// A connection of this worker has been made: until one is, a certificate or TLS version
    /// the server refuses ends the run (it does not fix itself by retrying).
    ever_connected: bool,
    /// The run cannot succeed (see `ever_connected`): stop.
    given_up: bool,
    /// Why the server would not speak the HTTP asked for over ALPN, if it would not.
    alpn_refused: Option<String>,
    stop: Arc<AtomicBool>,
    intervals: Sender<Interval>,
}

impl Client {
    pub fn new(
        cfg: ClientConfig,
        start: Instant,
        stop: Arc<AtomicBool>,
        intervals: Sender<Interval>,
    ) -> Self {
        let program = &cfg.program;
        let (batch, request_len) = match &program.tasks[0].shared {
            // Pre-built pipelined bytes are HTTP/1.1's; HTTP/2 frames each request.
            Some(r) if program.is_static() && !cfg.http.may_be_h2() => {
                (r.bytes.repeat(cfg.pipeline as usize), r.bytes.len())
            }
            _ => (Vec::new(), 0),
        };
        let conns = (0..cfg.connections)
            .map(|_| {
                let mut c = ClientConn::new(
                    cfg.pipeline as usize,
                    cfg.capture_limit,
                    cfg.http.may_be_h2(),
                    cfg.https,
                );
                c.exchange.keep_cookies(program.cookies);
                c
            })
            .collect();
        let users = (0..cfg.connections)
            .map(|j| {
                let mut u = User::new(program, cfg.share, u64::from(j));
                u.secure = cfg.secure;
                u
            })
            .collect();
        let end = (cfg.shape.end() * 1e6) as u64;
        let measure_from = cfg.warmup.as_micros() as u64;
        let rng = cfg.seed | 1;
        let gens = Generators::new(
            cfg.seed ^ 0x5851_f42d_4c95_7f2d,
            cfg.share.worker,
            cfg.share.workers,
        );
        let endpoints = cfg.program.endpoints.len();
        let per_endpoint = cfg.endpoint_intervals;
        Self {
            batch,
            request_len,
            gens,
            conns,
            users,
            rec: Recorder::with_endpoint_intervals(endpoints, per_endpoint),
            start,
            now: 0,
            end,
            measure_from,
            measuring: measure_from == 0,
            issued: 0,
            connecting: 0,
            reserved: 0,
            scheduled: 0,
            idle: Vec::new(),
            wakeups: BinaryHeap::new(),
            active_users: 0,
            starved: 0,
            server_max: None,
            rng,
            unstamped: Vec::new(),
            next_check: 0,
            wheel: timers::Wheel::new(cfg.connections as usize),
            due_timers: Vec::new(),
            kclock: clock::KernelClock::default(),
            group: if cfg.shape.kind == Kind::Users && cfg.http.may_be_h2() {
                cfg.pipeline.max(1)
            } else {
                1
            },
            window_from: 0,
            batch_first: u64::MAX,
            starving: false,
            answered_at: 0,
            woke_at: 0,
            next_interval: measure_from + 1_000_000,
            started: false,
            stopping: false,
            ever_connected: false,
            given_up: false,
            alpn_refused: None,
            stop,
            intervals,
            cfg,
        }
    }

    fn clock(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn kind(&self) -> Kind {
        self.cfg.shape.kind
    }

    /// Requests this worker may still count against `-n`.
    fn quota_left(&self) -> u64 {
        self.cfg
            .quota
            .map_or(u64::MAX, |q| q.saturating_sub(self.issued))
    }

    /// Stages up to `k` requests (at most one batch) on an open connection with room for them
    /// (`free_slots`); returns how many. `intended` is when the batch should have gone out
    /// (None: when it does). A user still running its on_start tasks sends them one at a time.
    fn send_batch(
        &mut self,
        token: Token,
        k: usize,
        intended: Option<u64>,
        ops: &mut Ops,
    ) -> usize {
        self.send_for(token, token, k, intended, ops)
    }

    /// As `send_batch`, for user `user` on connection `token` (the same but for HTTP/2 users
    /// that share connections).
    fn send_for(
        &mut self,
        user: Token,
        token: Token,
        k: usize,
        intended: Option<u64>,
        ops: &mut Ops,
    ) -> usize {
        let counted = self.measuring;
        let conn = &mut self.conns[token as usize];
        let before = conn.exchange.in_flight();
        let program = &*self.cfg.program;
        if !self.batch.is_empty() && self.users[user as usize].jar.is_empty() {
            // A static program: pre-built, pipelined bytes (until its user has cookies).
            let bytes = &self.batch[..k * self.request_len];
            ops.out(token).extend_from_slice(bytes);
            let task = &program.tasks[0];
            let pending = Pending {
                intended,
                sent: None,
                task: 0,
                user: token,
                bytes: self.request_len as u64,
                counted,
                on_start: false,
                resent: false,
                head: task.head,
                collect: false,
            };
            conn.exchange.stage_written(pending, k);
            if counted {
                self.rec.sent(task.endpoint, k as u64, bytes.len() as u64);
            }
        } else {
            let u = &mut self.users[user as usize];
            if !u.jar.is_empty() {
                u.expire_cookies(program, self.now);
            }
            let staged = stage_user(
                program,
                &mut self.users[user as usize],
                user,
                &mut conn.exchange,
                &mut self.gens,
                k,
                intended,
                counted,
                ops.out(token),
                &mut self.rec,
            );
            if staged == 0 {
                return 0;
            }
            self.users[user as usize].in_flight = true;
        }
        if let Some(t) = intended {
            self.batch_first = self.batch_first.min(t);
        }
        let k = conn.exchange.in_flight() - before;
        if conn.exchange.is_h2() {
            self.h2_signals(token);
        }
        let conn = &mut self.conns[token as usize];
        if let Some(a) = &mut conn.allowed {
            *a = a.saturating_sub(k as u64);
        }
        ops.flush(token);
        self.issued += k as u64;
        self.unstamped.push(token);
        if self.quota_left() < self.reserved {
            self.cancel_surplus_attempts(ops);
        }
        k
    }

    /// The connection has nothing in flight: what happens next depends on the load model.
    fn on_idle(&mut self, token: Token, ops: &mut Ops) {
        let conn = &self.conns[token as usize];
        if self.stopping || conn.state != ConnState::Open || !conn.exchange.is_idle() {
            return;
        }
        if conn.allowed == Some(0) {
            // The server announced it answers no more here (Keep-Alive: max): use a new socket
            // (which carries what is left to send again, if anything).
            ops.close(token);
            self.connect(token, ops);
            return;
        }
        if !conn.retry.is_empty() {
            // The first request sent again after a failed connection was answered: the rest.
            self.send_retries(token, ops);
            return;
        }
        match self.kind() {
            Kind::Connections => self.fill(token, ops),
            Kind::Rate => self.list_idle(token),
            // Riders whose requests died with a connection send again once its re-sends are
            // answered, as do those waiting for a stream.
            Kind::Users if self.shared() => self.riders_connected(token, ops),
            Kind::Users => {
                if !self.users[token as usize].active {
                    ops.close(token);
                    self.conns[token as usize].state = ConnState::Idle;
                } else {
                    self.think(token, self.answered_at, 0);
                }
            }
        }
    }

    fn all_done(&self) -> bool {
        self.quota_left() == 0
            && self.connecting == 0
            && self
                .conns
                .iter()
                .all(|c| c.exchange.is_idle() && c.retry.is_empty())
    }

    /// The warm-up ended: forget everything measured so far; requests in flight stay uncounted.
    fn start_measuring(&mut self) {
        self.measuring = true;
        self.rec = Recorder::with_endpoint_intervals(
            self.cfg.program.endpoints.len(),
            self.cfg.endpoint_intervals,
        );
        for conn in &mut self.conns {
            for p in conn.exchange.each_mut() {
                p.counted = false;
            }
        }
        self.starved = 0;
    }

    fn send_interval(&mut self, next_index: u32) {
        let iv = self.rec.roll(next_index);
        // The collector outlives the workers; a send error only means the run is being torn down.
        let _ = self.intervals.send(iv);
    }
}

impl Driver for Client {
    #[inline]
    fn woke(&mut self) {
        if self.cfg.rx_stamps {
            self.woke_at = self.clock();
        }
    }

    fn on_event(&mut self, event: Event<'_>, ops: &mut Ops) {
        match event {
            Event::Data { token, bytes, at } => self.on_data(token, bytes, at, ops),
            Event::Handshaking { token } => self.on_handshaking(token),
            Event::Connected { token, result } => self.on_connected(token, result, ops),
            Event::Closed { token, fault } => {
                self.now = self.clock();
                self.on_closed(token, fault);
                self.connect(token, ops);
            }
            // The client accepts nothing; dropping the socket closes it.
            Event::Accepted { fd } => drop(fd),
            Event::Drained { .. } => {}
        }
    }
}

impl Role for Client {
    type Outcome = ClientOutcome;

    fn tick(&mut self, ops: &mut Ops) -> Option<Wait> {
        self.now = self.clock();
        if self.cfg.rx_stamps {
            self.kclock.sync(self.now);
        }
        if !self.started {
            self.started = true;
            ops.ensure_slots(self.conns.len());
            ops.rx_stamps = self.cfg.rx_stamps;
            if self.kind() != Kind::Users {
                for t in 0..self.conns.len() as Token {
                    self.connect(t, ops);
                }
            }
        }
        if !self.measuring && self.now >= self.measure_from {
            self.start_measuring();
        }
        while self.measuring && self.now >= self.next_interval {
            let next = ((self.next_interval - self.measure_from) / 1_000_000) as u32;
            self.send_interval(next);
            self.next_interval += 1_000_000;
        }
        // The deadline is checked every turn (one comparison), the stop flag every
        // CHECK_EVERY_US, and connection deadlines as the wheel hands them out.
        if self.now >= self.end {
            self.stopping = true;
        } else {
            if self.now >= self.next_check {
                self.next_check = self.now + CHECK_EVERY_US;
                self.stopping = self.stop.load(Ordering::Relaxed) || self.given_up;
            }
            if !self.stopping {
                self.expire_timers(ops);
            }
        }
        if self.stopping || self.all_done() {
            return None;
        }
        let next_due = match self.kind() {
            Kind::Rate => self.schedule_rate(ops),
            Kind::Users => self.schedule_users(ops),
            Kind::Connections => None,
        };
        // Everything staged since the last turn goes to the kernel now: stamp it.
        let now = self.clock();
        let timeout = self.cfg.timeout.as_micros() as u64;
        if self.batch_first != u64::MAX {
            self.window_from = std::mem::replace(&mut self.batch_first, u64::MAX);
        }
        for token in self.unstamped.drain(..) {
            self.wheel.arm(token, now + timeout);
            for p in self.conns[token as usize].exchange.each_mut().rev() {
                if p.sent.is_some() {
                    break;
                }
                p.sent = Some(now);
                if let Some(intended) = p.intended
                    && p.counted
                {
                    self.rec.lag(now.saturating_sub(intended));
                }
            }
        }
        let mut wake = self.next_check.min(self.end);
        let window = self.cfg.batch_window.as_micros() as u64;
        if let Some(due) = next_due {
            // Below saturation, sends wake the worker at most once per window; each wake-up
            // sends everything due by then, and how late shows in the schedule lag. In the last
            // window each request goes at its own time, so none is left past the end unsent.
            let send_at = if due.saturating_add(window) >= self.end {
                due
            } else {
                due.max(self.window_from + window)
            };
            wake = wake.min(send_at);
        }
        // Completions may gather until the next wake-up (at most a window away) when their
        // latency ends at the kernel's timestamp, and nothing waits on them: a closed loop sends
        // its next request on each answer, and so do overdue requests and new connections.
        let hold = window > 0
            && self.cfg.rx_stamps
            && self.kind() != Kind::Connections
            && !self.starving
            && self.connecting == 0;
        if hold {
            wake = wake.min(now + window);
        }
        // A closed loop holds out for a share of its answers, briefly: each wake-up then handles
        // (and sends behind) a batch, and a target that is the limit still has the rest queued.
        let gather =
            if self.kind() == Kind::Connections && self.cfg.rx_stamps && self.connecting == 0 {
                schedule::closed_loop_gather(self.conns.len())
            } else {
                Gather::FIRST
            };
        Some(Wait {
            timeout: Duration::from_micros(wake.saturating_sub(now).max(1)),
            hold,
            gather,
        })
    }

    fn finish(&mut self, backend: BackendReport) -> ClientOutcome {
        let BackendReport {
            buffer_exhaustions,
            flags: backend_flags,
        } = backend;
        let mut never_sent = 0;
        for conn in &mut self.conns {
            // Sent once, unanswered, and not sent again before the end.
            for p in conn.retry.drain(..) {
                if p.counted {
                    let ep = self.cfg.program.tasks[p.task as usize].endpoint;
                    self.rec.unfinished(ep, 1);
                }
            }
            for p in conn.exchange.drain() {
                if !p.counted {
                    continue;
                }
                let ep = self.cfg.program.tasks[p.task as usize].endpoint;
                if p.sent.is_none() {
                    self.rec.unsend(ep, p.bytes);
                    never_sent += 1;
                } else {
                    self.rec.unfinished(ep, 1);
                }
            }
        }
        self.rec.totals.recv_buffer_exhausted += buffer_exhaustions;
        // The last, partial second is reported unless the run ended right at its start with
        // nothing in it (so timelines do not end in an empty second). The run ends at its
        // deadline, however long the worker takes to notice and stop on a busy machine.
        let started = self.measure_from + u64::from(self.rec.interval_index()) * 1_000_000;
        let has_time = self.clock().min(self.end).saturating_sub(started) >= 1_000;
        if self.measuring && (has_time || !self.rec.interval_is_empty()) {
            let index = self.rec.interval_index();
            self.send_interval(index + 1);
        }
        let wall = self.start.elapsed().as_secs_f64();
        // Open loop: what the schedule wanted by now (or by the end) but no connection could send.
        // Open loop: what the schedule made due by now (or by the end) but was never handed to the
        // kernel: not yet taken off the schedule, or staged in the last turn and taken back.
        let due_unsent = if self.kind() == Kind::Rate && self.measuring {
            let until = (self.clock().min(self.end) as f64) / 1e6;
            let due = due_count(&self.cfg.shape, self.cfg.share, until)
                .min(self.scheduled.saturating_add(self.quota_left()));
            due.saturating_sub(self.scheduled) + never_sent
        } else {
            0
        };
        ClientOutcome {
            totals: self.rec.snapshot_totals(),
            backend_flags,
            starved: self.starved,
            due_unsent,
            cpu_seconds: crate::sys::thread_cpu_seconds(),
            wall_seconds: wall,
            alpn_refused: self.alpn_refused.take(),
        }
    }
}

/// Stages up to `k` of `user`'s next requests on `exchange`, each rendered into `out` with
/// fresh generated values and counted as sent in `rec` when `counted`; a user still running
/// on_start sends those one at a time. Returns how many were staged.
#[allow(clippy::too_many_arguments)]
fn stage_user(
    program: &Program,
    user: &mut User,
    user_id: Token,
    exchange: &mut Proto<Pending>,
    gens: &mut Generators,
    k: usize,
    intended: Option<u64>,
    counted: bool,
    out: &mut Vec<u8>,
    rec: &mut Recorder,
) -> usize {
    let mut staged = 0;
    while staged < k {
        let Some(next) = user.next(program, gens, staged, rec) else {
            break;
        };
        let task = &program.tasks[next.task];
        let mut bytes = 0;
        exchange.stage(out, |o| {
            bytes = user.render(program, gens, next.task, o);
            Pending {
                intended,
                sent: None,
                task: next.task as u32,
                user: user_id,
                bytes,
                counted,
                on_start: next.on_start,
                resent: false,
                head: task.head,
                collect: task.keeps_response(),
            }
        });
        if counted {
            rec.sent(task.endpoint, 1, bytes);
        }
        staged += 1;
        if next.on_start {
            break;
        }
    }
    staged
}
