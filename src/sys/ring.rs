//! The io_uring backend: connect, send, multishot receive into a provided-buffer ring, multishot
//! accept, cancel and close, all submitted in batches with one enter per turn of the worker loop.

use std::collections::VecDeque;
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::time::{Duration, Instant};

use io_uring::types::{Fd, RecvMsgOut, SubmitArgs, Timespec};
use io_uring::{IoUring, cqueue, opcode, squeue};

use super::bufring::BufRing;
use super::socket::{self, RawAddr};
use crate::io::{Backend, Command, Driver, Event, Fault, Generation, Ops, Session, Token, Wait};

const OP_CONNECT: u8 = 1;
const OP_SEND: u8 = 2;
const OP_RECV: u8 = 3;
const OP_ACCEPT: u8 = 4;
const OP_CANCEL: u8 = 5;
const OP_CLOSE: u8 = 6;
/// Tokens are 24 bits in `user_data`; the largest is the listener's.
const TOKEN_BITS: u32 = 24;
const LISTENER: Token = (1 << TOKEN_BITS) - 1;
/// The most connections one worker's ring can key.
pub const MAX_TOKENS: usize = LISTENER as usize;
const BUFFER_GROUP: u16 = 0;
/// The longest single send: a length that always fits the SQE's 32-bit field.
const MAX_SEND: usize = 1 << 30;
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How long teardown waits for the kernel to finish cancelled operations.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// `token:24 | generation:32 | op:8`: every operation of a socket has its own value, and a
/// generation does not repeat until 2^32 sockets later on the same token.
fn user_data(token: Token, generation: Generation, op: u8) -> u64 {
    (u64::from(token) << 40) | (u64::from(generation) << 8) | u64::from(op)
}

fn split(ud: u64) -> (Token, u8) {
    ((ud >> 40) as Token, ud as u8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SocketState {
    Idle,
    Connecting,
    Open,
}

struct RingSocket {
    fd: RawFd,
    state: SocketState,
    /// The generation the socket was opened under.
    generation: Generation,
    /// Stable storage for the connect address (see RawAddr); lives as long as the ring.
    addr: Option<RawAddr>,
    /// Bytes handed to the kernel by the send in flight; untouched until it completes.
    sending: Vec<u8>,
    send_offset: usize,
    /// The exact `user_data` of each operation in flight on this socket.
    connect_ud: Option<u64>,
    send_ud: Option<u64>,
    recv_ud: Option<u64>,
    /// A Flush came while a send was in flight: flush again when it completes, even with
    /// nothing staged (a transport layer may hold bytes of its own; see `Driver::seal`).
    flush_after_send: bool,
    /// The kernel stamps this socket's input: it is read with multishot RECVMSG.
    stamped: bool,
}

impl RingSocket {
    fn new() -> Self {
        Self {
            fd: -1,
            state: SocketState::Idle,
            generation: 0,
            addr: None,
            sending: Vec::new(),
            send_offset: 0,
            connect_ud: None,
            send_ud: None,
            recv_ud: None,
            flush_after_send: false,
            stamped: false,
        }
    }
}

/// Setup options for one worker's ring.
#[derive(Debug, Clone, Copy)]
pub struct RingConfig {
    pub entries: u32,
    pub buffers: u16,
    pub buffer_size: usize,
}

/// The message header every multishot RECVMSG of a ring shares: no address, room for one
/// timestamp. The kernel reads it when each receive is armed; it lives as long as the ring.
struct StampHeader(Box<libc::msghdr>);

// SAFETY: the header's pointers are null; it is only read by the kernel and by `RecvMsgOut`.
unsafe impl Send for StampHeader {}

impl StampHeader {
    fn new() -> Self {
        // SAFETY: an all-zero msghdr is a valid value (null pointers, zero lengths).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_controllen = socket::STAMP_CONTROL_LEN as _;
        Self(Box::new(msg))
    }
}

/// One worker's io_uring with its buffers. The ring and the buffer mappings are dropped by hand:
/// first every operation is cancelled and drained, then the ring, then the buffers.
pub struct Uring {
    ring: ManuallyDrop<IoUring>,
    bufs: ManuallyDrop<BufRing>,
    ops: Ops,
    conns: Vec<RingSocket>,
    /// Submissions that did not fit the submission queue, in order; never dropped.
    backlog: VecDeque<squeue::Entry>,
    /// Submissions whose last completion has not been reaped yet.
    in_flight: usize,
    /// Send buffers of closed connections whose send is still in the kernel, by user_data.
    graveyard: Vec<(u64, Vec<u8>)>,
    completions: Vec<(u64, i32, u32)>,
    exhausted: u64,
    listener: RawFd,
    /// Accepting paused after running out of files: when to re-arm, and the next pause.
    accept_resume: Option<Instant>,
    accept_backoff: Duration,
    stamp_header: StampHeader,
    /// The most completions a held wait lets gather: a quarter of the receive buffers.
    hold_batch: usize,
    /// The kernel bounds a wait for a batch with `min_wait_usec` (IORING_FEAT_MIN_TIMEOUT).
    min_timeout: bool,
    /// Which setup flags the kernel accepted, for reports.
    pub flags: &'static str,
}

impl Uring {
    pub fn new(config: RingConfig) -> io::Result<Self> {
        let cq = config.entries * 4;
        type Configure = fn(&mut io_uring::Builder, u32);
        let attempts: [(&'static str, Configure); 3] = [
            ("single_issuer+defer_taskrun", |b, cq| {
                b.setup_cqsize(cq)
                    .setup_single_issuer()
                    .setup_defer_taskrun()
                    .setup_coop_taskrun();
            }),
            ("coop_taskrun", |b, cq| {
                b.setup_cqsize(cq).setup_coop_taskrun();
            }),
            ("plain", |b, cq| {
                b.setup_cqsize(cq);
            }),
        ];
        let mut last = io::Error::from_raw_os_error(libc::EINVAL);
        for (name, configure) in attempts {
            let mut builder = IoUring::builder();
            configure(&mut builder, cq);
            match builder.build(config.entries) {
                Ok(ring) => {
                    let bufs =
                        BufRing::new(&ring, config.buffers, config.buffer_size, BUFFER_GROUP)?;
                    let min_timeout = ring.params().is_feature_min_timeout();
                    return Ok(Self {
                        min_timeout,
                        ring: ManuallyDrop::new(ring),
                        bufs: ManuallyDrop::new(bufs),
                        ops: Ops::default(),
                        conns: Vec::new(),
                        backlog: VecDeque::new(),
                        in_flight: 0,
                        graveyard: Vec::new(),
                        completions: Vec::with_capacity(cq as usize),
                        exhausted: 0,
                        listener: -1,
                        accept_resume: None,
                        accept_backoff: ACCEPT_BACKOFF_MIN,
                        stamp_header: StampHeader::new(),
                        hold_batch: usize::from(config.buffers / 4).max(1),
                        flags: name,
                    });
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Queues a submission; one that does not fit waits in the backlog, in order.
    fn push(&mut self, entry: squeue::Entry) {
        self.in_flight += 1;
        if self.backlog.is_empty() {
            // SAFETY: every entry built in this module points only at memory that outlives the
            // operation: RawAddr boxes live in `conns` for the ring's life, a send buffer stays
            // in `RingSocket::sending` or the graveyard until its completion is reaped, and receive
            // buffers belong to the registered BufRing, which outlives every operation (Drop).
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return;
            }
        }
        self.backlog.push_back(entry);
    }

    /// Moves the backlog into the submission queue, submitting as the queue fills. Stops early
    /// (leaving the rest for the next turn) when the kernel asks for completions to be reaped.
    fn drain_backlog(&mut self) -> io::Result<()> {
        while !self.backlog.is_empty() {
            {
                let mut sq = self.ring.submission();
                while let Some(entry) = self.backlog.front() {
                    // SAFETY: as in `push`; the entry's memory is still owned as described there.
                    if unsafe { sq.push(entry) }.is_err() {
                        break;
                    }
                    self.backlog.pop_front();
                }
            }
            if self.backlog.is_empty() {
                break;
            }
            match self.ring.submit() {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN)) => {
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn conn(&mut self, token: Token) -> &mut RingSocket {
        let i = token as usize;
        assert!(
            i < MAX_TOKENS,
            "a worker's ring keys at most {MAX_TOKENS} connections"
        );
        if self.conns.len() <= i {
            self.conns.resize_with(i + 1, RingSocket::new);
        }
        &mut self.conns[i]
    }

    /// The driver still owns the socket (it has not retired the token since it was opened).
    fn current(&self, token: Token) -> bool {
        self.ops.generation(token) == self.conns[token as usize].generation
    }

    fn arm_recv(&mut self, token: Token) {
        let conn = &mut self.conns[token as usize];
        let ud = user_data(token, conn.generation, OP_RECV);
        conn.recv_ud = Some(ud);
        let e = if conn.stamped {
            let msg: *const libc::msghdr = &*self.stamp_header.0;
            opcode::RecvMsgMulti::new(Fd(conn.fd), msg, BUFFER_GROUP).build()
        } else {
            opcode::RecvMulti::new(Fd(conn.fd), BUFFER_GROUP).build()
        };
        self.push(e.user_data(ud));
    }

    /// Starts sending what the driver staged, if nothing is in flight. The driver seals the
    /// staged bytes first (see `Driver::seal`).
    fn start_send<D: Driver>(&mut self, token: Token, driver: &mut D) {
        let i = token as usize;
        let conn = &mut self.conns[i];
        if conn.state != SocketState::Open {
            return;
        }
        if conn.send_ud.is_some() {
            conn.flush_after_send = true;
            return;
        }
        driver.seal(token, &mut self.ops);
        if self.ops.slots[i].out.is_empty() {
            return;
        }
        let conn = &mut self.conns[i];
        conn.sending.clear();
        std::mem::swap(&mut conn.sending, &mut self.ops.slots[i].out);
        conn.send_offset = 0;
        self.push_send(token);
    }

    fn push_send(&mut self, token: Token) {
        let conn = &mut self.conns[token as usize];
        let ud = user_data(token, conn.generation, OP_SEND);
        conn.send_ud = Some(ud);
        let rest = &conn.sending[conn.send_offset..];
        self.ops.slots[token as usize].in_kernel = rest.len();
        let len = rest.len().min(MAX_SEND) as u32;
        let e = opcode::Send::new(Fd(conn.fd), rest.as_ptr(), len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(ud);
        self.push(e);
    }

    /// Cancels every operation in flight on the token's socket, each by its own user_data, and
    /// closes the socket behind them in ring order.
    fn release(&mut self, token: Token) {
        let conn = &mut self.conns[token as usize];
        if conn.state == SocketState::Idle {
            return;
        }
        let fd = conn.fd;
        let cancel = [conn.connect_ud.take(), conn.recv_ud.take(), conn.send_ud];
        if let Some(ud) = conn.send_ud.take() {
            let buf = std::mem::take(&mut conn.sending);
            self.graveyard.push((ud, buf));
        }
        conn.state = SocketState::Idle;
        conn.fd = -1;
        conn.send_offset = 0;
        for ud in cancel.into_iter().flatten() {
            let e = opcode::AsyncCancel::new(ud)
                .build()
                .user_data(user_data(token, 0, OP_CANCEL));
            self.push(e);
        }
        let e = opcode::Close::new(Fd(fd))
            .build()
            .user_data(user_data(token, 0, OP_CLOSE));
        self.push(e);
    }

    /// Closes a connection the kernel ended (or that finished a close-after-send) and tells the
    /// driver.
    fn fail<D: Driver>(&mut self, token: Token, errno: i32, driver: &mut D) {
        self.ops.retire(token);
        self.release(token);
        let fault = Fault::Os(errno);
        driver.on_event(Event::Closed { token, fault }, &mut self.ops);
    }

    fn apply<D: Driver>(&mut self, driver: &mut D) {
        let mut commands = std::mem::take(&mut self.ops.commands);
        for cmd in commands.drain(..) {
            match cmd {
                Command::Connect {
                    token,
                    generation,
                    addr,
                } => {
                    if !self.ops.is_current(token, generation) {
                        continue;
                    }
                    if self.conn(token).state != SocketState::Idle {
                        self.release(token);
                    }
                    let fd = match socket::tcp_socket(&addr, false) {
                        Ok(fd) => fd,
                        Err(errno) => {
                            let result = Err(Fault::Os(errno));
                            driver.on_event(Event::Connected { token, result }, &mut self.ops);
                            continue;
                        }
                    };
                    let ud = user_data(token, generation, OP_CONNECT);
                    let stamped = self.ops.rx_stamps && socket::enable_rx_stamps(fd);
                    let conn = self.conn(token);
                    *conn = RingSocket {
                        fd,
                        state: SocketState::Connecting,
                        generation,
                        addr: conn.addr.take(),
                        sending: std::mem::take(&mut conn.sending),
                        connect_ud: Some(ud),
                        stamped,
                        ..RingSocket::new()
                    };
                    match &mut conn.addr {
                        Some(raw) => raw.set(&addr),
                        None => conn.addr = Some(RawAddr::new(&addr)),
                    }
                    let raw = conn.addr.as_ref().expect("address was just set");
                    let e = opcode::Connect::new(Fd(fd), raw.as_ptr(), raw.socklen())
                        .build()
                        .user_data(ud);
                    self.push(e);
                }
                Command::Adopt {
                    token,
                    generation,
                    fd,
                } => {
                    if !self.ops.is_current(token, generation) {
                        continue; // Dropping the stale socket closes it.
                    }
                    let fd = fd.into_raw_fd();
                    if self.conn(token).state != SocketState::Idle {
                        self.release(token);
                    }
                    socket::set_nodelay(fd);
                    let conn = self.conn(token);
                    *conn = RingSocket {
                        fd,
                        state: SocketState::Open,
                        generation,
                        addr: conn.addr.take(),
                        sending: std::mem::take(&mut conn.sending),
                        ..RingSocket::new()
                    };
                    self.arm_recv(token);
                }
                Command::Flush { token, generation } => {
                    if self.ops.is_current(token, generation) {
                        self.ops.flush_taken(token);
                        if (token as usize) < self.conns.len() {
                            self.start_send(token, driver);
                        }
                    }
                }
                Command::Close { token, generation } => {
                    if let Some(conn) = self.conns.get(token as usize)
                        && conn.generation == generation
                    {
                        self.release(token);
                    }
                }
                Command::Reading { token, generation } => {
                    if !self.ops.is_current(token, generation) || token as usize >= self.conns.len()
                    {
                        continue;
                    }
                    let on = self.ops.reading(token);
                    let conn = &self.conns[token as usize];
                    if conn.state != SocketState::Open {
                        continue;
                    }
                    match conn.recv_ud {
                        // The receive's last completion re-arms it if reading is on again by then.
                        Some(ud) if !on => {
                            let e = opcode::AsyncCancel::new(ud)
                                .build()
                                .user_data(user_data(token, 0, OP_CANCEL));
                            self.push(e);
                        }
                        None if on => self.arm_recv(token),
                        _ => {}
                    }
                }
            }
        }
        // Keep anything the driver queued while we were applying, for the next turn.
        commands.append(&mut self.ops.commands);
        self.ops.commands = commands;
    }

    /// Moves ready completions into `self.completions`.
    fn reap(&mut self) {
        for cqe in self.ring.completion() {
            self.completions
                .push((cqe.user_data(), cqe.result(), cqe.flags()));
        }
    }

    fn dispatch<D: Driver>(&mut self, driver: &mut D) {
        let mut batch = std::mem::take(&mut self.completions);
        for &(ud, res, flags) in &batch {
            if !cqueue::more(flags) {
                self.in_flight -= 1;
            }
            let (token, op) = split(ud);
            match op {
                OP_RECV => self.on_recv(token, ud, res, flags, driver),
                OP_SEND => self.on_send(token, ud, res, driver),
                OP_CONNECT => self.on_connect(token, ud, res, driver),
                OP_ACCEPT => self.on_accept(res, flags, driver),
                _ => {}
            }
        }
        self.bufs.publish();
        batch.clear();
        // Nothing reaps during dispatch, so no completion can have arrived in the meantime.
        debug_assert!(self.completions.is_empty());
        self.completions = batch;
    }

    fn on_connect<D: Driver>(&mut self, token: Token, ud: u64, res: i32, driver: &mut D) {
        let conn = &mut self.conns[token as usize];
        if conn.connect_ud != Some(ud) {
            return;
        }
        conn.connect_ud = None;
        if !self.current(token) {
            return;
        }
        if res < 0 {
            self.ops.retire(token);
            self.release(token);
            let result = Err(Fault::Os(-res));
            driver.on_event(Event::Connected { token, result }, &mut self.ops);
            return;
        }
        self.conns[token as usize].state = SocketState::Open;
        if self.ops.reading(token) {
            self.arm_recv(token);
        }
        // What the driver stages now goes out with its Flush, at the next turn (after the stamp).
        let result = Ok(Session::Plain);
        driver.on_event(Event::Connected { token, result }, &mut self.ops);
    }

    fn on_recv<D: Driver>(&mut self, token: Token, ud: u64, res: i32, flags: u32, driver: &mut D) {
        let bid = cqueue::buffer_select(flags);
        let more = cqueue::more(flags);
        let mine = self.conns[token as usize].recv_ud == Some(ud);
        if mine && !more {
            self.conns[token as usize].recv_ud = None;
        }
        if !mine || !self.current(token) {
            // An old socket's receive, or one the driver has retired (its Close is queued).
            if let Some(bid) = bid {
                self.bufs.recycle(bid);
            }
            return;
        }
        let mut res = res;
        if res > 0 {
            let bid = bid.expect("a receive with data names its buffer");
            let filled = self.bufs.slice(bid, res as usize);
            let (bytes, at) = if self.conns[token as usize].stamped {
                // A RECVMSG buffer: its header, the control messages, then the payload.
                // The payload comes last in the buffer.
                match RecvMsgOut::parse(filled, &self.stamp_header.0) {
                    Ok(out) => {
                        let n = out.payload_data().len();
                        let at = socket::rx_stamp(out.control_data());
                        (&filled[filled.len() - n..], at)
                    }
                    Err(()) => (&filled[..0], None),
                }
            } else {
                (filled, None)
            };
            if bytes.is_empty() {
                // A stamped receive of no payload is the end of the stream.
                res = 0;
            } else {
                driver.on_event(Event::Data { token, bytes, at }, &mut self.ops);
            }
            self.bufs.recycle(bid);
            if !self.current(token) {
                return;
            }
        } else if let Some(bid) = bid {
            self.bufs.recycle(bid);
        }
        match res {
            0 => return self.fail(token, 0, driver),
            r if r == -libc::ENOBUFS => self.exhausted += 1,
            // Cancelled by a pause in reading; re-armed below if reading is on again.
            r if r == -libc::ECANCELED => {}
            r if r < 0 => return self.fail(token, -r, driver),
            _ => {}
        }
        let conn = &self.conns[token as usize];
        if conn.recv_ud.is_none() && conn.state == SocketState::Open && self.ops.reading(token) {
            self.arm_recv(token);
        }
    }

    fn on_send<D: Driver>(&mut self, token: Token, ud: u64, res: i32, driver: &mut D) {
        let conn = &mut self.conns[token as usize];
        if conn.send_ud != Some(ud) {
            // A closed socket's send: its buffer may go now.
            if let Some(i) = self.graveyard.iter().position(|(u, _)| *u == ud) {
                self.graveyard.swap_remove(i);
            }
            return;
        }
        conn.send_ud = None;
        if !self.current(token) {
            return;
        }
        if res <= 0 {
            // A zero-byte send of a non-empty buffer would only repeat: the socket is unusable.
            let errno = if res == 0 { libc::EPIPE } else { -res };
            return self.fail(token, errno, driver);
        }
        let conn = &mut self.conns[token as usize];
        conn.send_offset += res as usize;
        if conn.send_offset < conn.sending.len() {
            // A short send: the rest goes before anything staged after it.
            self.push_send(token);
            return;
        }
        self.ops.slots[token as usize].in_kernel = 0;
        let flush_again = std::mem::take(&mut self.conns[token as usize].flush_after_send);
        if flush_again || !self.ops.slots[token as usize].out.is_empty() {
            // Staged during this dispatch: it goes out at the next turn's apply, after the worker
            // has stamped it, never straight from a completion (a run ending now would otherwise
            // send, at teardown, requests it counted as never sent).
            self.ops.flush(token);
        } else if self.ops.slots[token as usize].close_after_send {
            self.fail(token, 0, driver);
        } else if self.ops.take_drained(token) {
            driver.on_event(Event::Drained { token }, &mut self.ops);
        }
    }

    fn on_accept<D: Driver>(&mut self, res: i32, flags: u32, driver: &mut D) {
        if res >= 0 {
            self.accept_backoff = ACCEPT_BACKOFF_MIN;
            let fd = socket::owned(res);
            driver.on_event(Event::Accepted { fd }, &mut self.ops);
        }
        if cqueue::more(flags) || self.listener < 0 || res == -libc::ECANCELED {
            return;
        }
        if matches!(
            -res,
            libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM
        ) {
            // Out of files or memory: accepting again at once would only spin. Back off.
            self.accept_resume = Some(Instant::now() + self.accept_backoff);
            self.accept_backoff = (self.accept_backoff * 2).min(ACCEPT_BACKOFF_MAX);
        } else {
            self.arm_accept();
        }
    }

    fn arm_accept(&mut self) {
        let e = opcode::AcceptMulti::new(Fd(self.listener))
            .build()
            .user_data(user_data(LISTENER, 0, OP_ACCEPT));
        self.push(e);
    }

    /// Submits what is queued and waits up to `timeout` for `want` completions; with a `linger`,
    /// once it has passed, for any one. A timeout, a signal, or a full completion queue (reap,
    /// then come back) is not an error.
    fn enter(
        &mut self,
        want: usize,
        timeout: Duration,
        linger: Option<Duration>,
    ) -> io::Result<()> {
        let ts = Timespec::new()
            .sec(timeout.as_secs())
            .nsec(timeout.subsec_nanos());
        let mut args = SubmitArgs::new().timespec(&ts);
        if let Some(linger) = linger {
            args = args.min_wait_usec(linger.as_micros().clamp(1, u128::from(u32::MAX)) as u32);
        }
        match self.ring.submitter().submit_with_args(want, &args) {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Re-arms a paused accept when its time has come; returns how long until then otherwise.
    fn accept_wait(&mut self) -> Option<Duration> {
        let at = self.accept_resume?;
        let now = Instant::now();
        if now >= at {
            self.accept_resume = None;
            self.arm_accept();
            None
        } else {
            Some(at - now)
        }
    }
}

impl Backend for Uring {
    fn name(&self) -> &'static str {
        "uring"
    }

    fn ops(&mut self) -> &mut Ops {
        &mut self.ops
    }

    fn listen(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        self.listener = fd;
        self.arm_accept();
        Ok(())
    }

    fn turn<D: Driver>(&mut self, driver: &mut D, wait: Wait) -> io::Result<()> {
        self.apply(driver);
        let timeout = match self.accept_wait() {
            Some(accept) => wait.timeout.min(accept),
            None => wait.timeout,
        };
        self.drain_backlog()?;
        // With submissions still waiting, only collect what is ready, then come back for them.
        // Holding, completions gather until the timeout or a batch that keeps receive buffers
        // free (with DEFER_TASKRUN the kernel does not even wake the thread before then).
        // A closed loop's batch: held out for until its linger has passed, then any one will do.
        let gather = wait.gather.completions as usize;
        let (want, linger) = match (self.backlog.is_empty(), wait.hold) {
            (false, _) => (0, None),
            (true, true) => (self.hold_batch, None),
            (true, false) if gather > 1 && self.min_timeout => (gather, Some(wait.gather.linger)),
            (true, false) => (1, None),
        };
        self.enter(want, timeout, linger)?;
        driver.woke();
        self.reap();
        self.dispatch(driver);
        Ok(())
    }

    fn take_buffer_exhaustions(&mut self) -> u64 {
        std::mem::take(&mut self.exhausted)
    }
}

impl Drop for Uring {
    fn drop(&mut self) {
        // Cancel everything and wait for the kernel to finish with our memory before it goes.
        for token in 0..self.conns.len() {
            self.release(token as Token);
        }
        if self.listener >= 0 {
            let e = opcode::AsyncCancel::new(user_data(LISTENER, 0, OP_ACCEPT))
                .build()
                .user_data(user_data(LISTENER, 0, OP_CANCEL));
            self.listener = -1;
            self.push(e);
        }
        let deadline = Instant::now() + DRAIN_LIMIT;
        while self.in_flight > 0 && Instant::now() < deadline {
            if self.drain_backlog().is_err() {
                break;
            }
            if self.enter(1, Duration::from_millis(10), None).is_err() {
                break;
            }
            for cqe in self.ring.completion() {
                if !cqueue::more(cqe.flags()) {
                    self.in_flight -= 1;
                }
                if cqe.result() >= 0
                    && let Some(fd) = (split(cqe.user_data()).1 == OP_ACCEPT).then(|| cqe.result())
                {
                    socket::close(fd);
                }
            }
        }
        let drained = self.in_flight == 0;
        // SAFETY: each field is dropped exactly once, here, and never used again: the ring first
        // (which releases the buffer registration), then the buffers, but only if the kernel has
        // finished every operation that could still write into them.
        unsafe {
            ManuallyDrop::drop(&mut self.ring);
            if drained {
                ManuallyDrop::drop(&mut self.bufs);
            } else {
                // Leaked on purpose: a late kernel write must not land in reused memory.
                std::mem::forget(std::mem::take(&mut self.graveyard));
            }
        }
    }
}
