//! The io_uring backend: connect, send, multishot receive into a provided-buffer ring, multishot
//! accept, cancel and close, all submitted in batches with one enter per turn of the worker loop.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use io_uring::types::{Fd, SubmitArgs, Timespec};
use io_uring::{IoUring, cqueue, opcode, squeue};

use super::bufring::BufRing;
use super::socket::{self, RawAddr};
use crate::io::{Backend, Command, Driver, Event, Ops, Token};

const OP_CONNECT: u8 = 1;
const OP_SEND: u8 = 2;
const OP_RECV: u8 = 3;
const OP_ACCEPT: u8 = 4;
const OP_CANCEL: u8 = 5;
const OP_CLOSE: u8 = 6;
const LISTENER: Token = u32::MAX;
const BUFFER_GROUP: u16 = 0;

fn user_data(token: Token, generation: u16, op: u8) -> u64 {
    (u64::from(token) << 32) | (u64::from(generation) << 16) | u64::from(op)
}

fn split(ud: u64) -> (Token, u16, u8) {
    ((ud >> 32) as Token, (ud >> 16) as u16, ud as u8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Connecting,
    Open,
}

struct Conn {
    fd: RawFd,
    state: State,
    /// Stable storage for the connect address (see RawAddr).
    addr: Option<RawAddr>,
    /// Bytes handed to the kernel by the send in flight; untouched until it completes.
    sending: Vec<u8>,
    send_offset: usize,
    send_in_flight: bool,
    recv_armed: bool,
}

impl Conn {
    fn new() -> Self {
        Self {
            fd: -1,
            state: State::Idle,
            addr: None,
            sending: Vec::new(),
            send_offset: 0,
            send_in_flight: false,
            recv_armed: false,
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

/// One worker's io_uring with its buffers. Field order matters: the ring is dropped (and its
/// registrations released) before the buffer mappings.
pub struct Uring {
    ring: IoUring,
    bufs: BufRing,
    ops: Ops,
    conns: Vec<Conn>,
    /// Send buffers of closed connections whose send is still in the kernel, by user_data.
    graveyard: Vec<(u64, Vec<u8>)>,
    completions: Vec<(u64, i32, u32)>,
    exhausted: u64,
    listener: RawFd,
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
                    return Ok(Self {
                        ring,
                        bufs,
                        ops: Ops::default(),
                        conns: Vec::new(),
                        graveyard: Vec::new(),
                        completions: Vec::with_capacity(cq as usize),
                        exhausted: 0,
                        listener: -1,
                        flags: name,
                    });
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    fn push(&mut self, entry: squeue::Entry) {
        loop {
            // SAFETY: every entry built in this module points only at memory that outlives the
            // operation: RawAddr boxes live in `conns` for the ring's life, a send buffer stays
            // in `Conn::sending` or the graveyard until its completion is reaped, and receive
            // buffers belong to the registered BufRing.
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return;
            }
            // The submission queue is full: hand it to the kernel and retry.
            if let Err(e) = self.ring.submit() {
                if e.raw_os_error() != Some(libc::EBUSY) {
                    return;
                }
                self.reap();
            }
        }
    }

    fn conn(&mut self, token: Token) -> &mut Conn {
        let i = token as usize;
        if self.conns.len() <= i {
            self.conns.resize_with(i + 1, Conn::new);
        }
        &mut self.conns[i]
    }

    fn arm_recv(&mut self, token: Token) {
        let gen_ = self.ops.generation(token);
        let fd = self.conns[token as usize].fd;
        self.conns[token as usize].recv_armed = true;
        let e = opcode::RecvMulti::new(Fd(fd), BUFFER_GROUP)
            .build()
            .user_data(user_data(token, gen_, OP_RECV));
        self.push(e);
    }

    /// Starts sending what the driver staged, if nothing is in flight.
    fn start_send(&mut self, token: Token) {
        let i = token as usize;
        let conn = &mut self.conns[i];
        if conn.state != State::Open || conn.send_in_flight || self.ops.slots[i].out.is_empty() {
            return;
        }
        conn.sending.clear();
        std::mem::swap(&mut conn.sending, &mut self.ops.slots[i].out);
        conn.send_offset = 0;
        self.push_send(token);
    }

    fn push_send(&mut self, token: Token) {
        let gen_ = self.ops.generation(token);
        let conn = &mut self.conns[token as usize];
        conn.send_in_flight = true;
        let rest = &conn.sending[conn.send_offset..];
        let e = opcode::Send::new(Fd(conn.fd), rest.as_ptr(), rest.len() as u32)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(user_data(token, gen_, OP_SEND));
        self.push(e);
    }

    /// Cancels everything in flight on the connection's socket and closes it, in ring order.
    /// `generation` is the one the in-flight operations were submitted under.
    fn release(&mut self, token: Token, generation: u16) {
        let conn = &mut self.conns[token as usize];
        if conn.state == State::Idle {
            return;
        }
        let fd = conn.fd;
        let mut cancel = Vec::with_capacity(3);
        if conn.state == State::Connecting {
            cancel.push(user_data(token, generation, OP_CONNECT));
        }
        if conn.recv_armed {
            cancel.push(user_data(token, generation, OP_RECV));
        }
        if conn.send_in_flight {
            let ud = user_data(token, generation, OP_SEND);
            cancel.push(ud);
            let buf = std::mem::take(&mut conn.sending);
            self.graveyard.push((ud, buf));
        }
        conn.state = State::Idle;
        conn.fd = -1;
        conn.recv_armed = false;
        conn.send_in_flight = false;
        for ud in cancel {
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

    /// Closes a connection the kernel ended and tells the driver.
    fn fail<D: Driver>(&mut self, token: Token, errno: i32, driver: &mut D) {
        let generation = self.ops.generation(token);
        self.ops.retire(token);
        self.release(token, generation);
        driver.on_event(Event::Closed { token, errno }, &mut self.ops);
    }

    fn apply<D: Driver>(&mut self, driver: &mut D) {
        let mut commands = std::mem::take(&mut self.ops.commands);
        for cmd in commands.drain(..) {
            match cmd {
                Command::Connect { token, addr } => {
                    let gen_ = self.ops.generation(token);
                    let fd = match socket::tcp_socket(&addr, false) {
                        Ok(fd) => fd,
                        Err(errno) => {
                            driver.on_event(
                                Event::Connected {
                                    token,
                                    result: Err(errno),
                                },
                                &mut self.ops,
                            );
                            continue;
                        }
                    };
                    let conn = self.conn(token);
                    conn.fd = fd;
                    conn.state = State::Connecting;
                    match &mut conn.addr {
                        Some(raw) => raw.set(&addr),
                        None => conn.addr = Some(RawAddr::new(&addr)),
                    }
                    let raw = conn.addr.as_ref().expect("address was just set");
                    let e = opcode::Connect::new(Fd(fd), raw.as_ptr(), raw.socklen())
                        .build()
                        .user_data(user_data(token, gen_, OP_CONNECT));
                    self.push(e);
                }
                Command::Adopt { token, fd } => {
                    socket::set_nodelay(fd);
                    let conn = self.conn(token);
                    conn.fd = fd;
                    conn.state = State::Open;
                    self.arm_recv(token);
                }
                Command::Flush { token } => {
                    self.ops.flush_taken(token);
                    self.start_send(token);
                }
                Command::Close { token } => {
                    // Ops::close already bumped the generation; in-flight work is one behind.
                    let old = self.ops.generation(token).wrapping_sub(1);
                    if (token as usize) < self.conns.len() {
                        self.release(token, old);
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
            let (token, gen_, op) = split(ud);
            match op {
                OP_RECV => self.on_recv(token, gen_, res, flags, driver),
                OP_SEND => self.on_send(token, gen_, ud, res, driver),
                OP_CONNECT => {
                    if gen_ != self.ops.generation(token) {
                        continue;
                    }
                    if res < 0 {
                        let conn = &mut self.conns[token as usize];
                        conn.state = State::Idle;
                        socket::close(conn.fd);
                        conn.fd = -1;
                        self.ops.retire(token);
                        driver.on_event(
                            Event::Connected {
                                token,
                                result: Err(-res),
                            },
                            &mut self.ops,
                        );
                    } else {
                        self.conns[token as usize].state = State::Open;
                        self.arm_recv(token);
                        driver.on_event(
                            Event::Connected {
                                token,
                                result: Ok(()),
                            },
                            &mut self.ops,
                        );
                        self.start_send(token);
                    }
                }
                OP_ACCEPT => {
                    if res >= 0 {
                        driver.on_event(Event::Accepted { fd: res }, &mut self.ops);
                    }
                    if !cqueue::more(flags) {
                        // The multishot ended (e.g. out of files); re-arm it.
                        let e = opcode::AcceptMulti::new(Fd(self.listener))
                            .build()
                            .user_data(user_data(LISTENER, 0, OP_ACCEPT));
                        self.push(e);
                    }
                }
                _ => {}
            }
        }
        self.bufs.publish();
        batch.clear();
        self.completions = batch;
    }

    fn on_recv<D: Driver>(
        &mut self,
        token: Token,
        gen_: u16,
        res: i32,
        flags: u32,
        driver: &mut D,
    ) {
        let bid = cqueue::buffer_select(flags);
        if gen_ != self.ops.generation(token) {
            if let Some(bid) = bid {
                self.bufs.recycle(bid);
            }
            return;
        }
        let more = cqueue::more(flags);
        if res > 0 {
            let bid = bid.expect("a receive with data names its buffer");
            let bytes = self.bufs.slice(bid, res as usize);
            driver.on_event(Event::Data { token, bytes }, &mut self.ops);
            self.bufs.recycle(bid);
        } else if let Some(bid) = bid {
            self.bufs.recycle(bid);
        }
        let still_ours = gen_ == self.ops.generation(token);
        if !more && still_ours {
            self.conns[token as usize].recv_armed = false;
        }
        if !still_ours {
            return;
        }
        match res {
            0 => self.fail(token, 0, driver),
            r if r == -libc::ENOBUFS => {
                self.exhausted += 1;
                if !more {
                    self.arm_recv(token);
                }
            }
            r if r < 0 => self.fail(token, -r, driver),
            _ => {
                if !more {
                    self.arm_recv(token);
                }
            }
        }
    }

    fn on_send<D: Driver>(&mut self, token: Token, gen_: u16, ud: u64, res: i32, driver: &mut D) {
        if gen_ != self.ops.generation(token) {
            if let Some(i) = self.graveyard.iter().position(|(u, _)| *u == ud) {
                self.graveyard.swap_remove(i);
            }
            return;
        }
        let conn = &mut self.conns[token as usize];
        conn.send_in_flight = false;
        if res < 0 {
            self.fail(token, -res, driver);
            return;
        }
        conn.send_offset += res as usize;
        if conn.send_offset < conn.sending.len() {
            // A short send: the rest goes before anything staged after it.
            self.push_send(token);
            return;
        }
        if !self.ops.slots[token as usize].out.is_empty() {
            self.start_send(token);
        } else if self.ops.slots[token as usize].close_after_send {
            self.fail(token, 0, driver);
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

    fn listen(&mut self, fd: RawFd) -> io::Result<()> {
        self.listener = fd;
        let e = opcode::AcceptMulti::new(Fd(fd))
            .build()
            .user_data(user_data(LISTENER, 0, OP_ACCEPT));
        self.push(e);
        Ok(())
    }

    fn turn<D: Driver>(&mut self, driver: &mut D, timeout: Duration) -> io::Result<()> {
        self.apply(driver);
        let ts = Timespec::new()
            .sec(timeout.as_secs())
            .nsec(timeout.subsec_nanos());
        let args = SubmitArgs::new().timespec(&ts);
        match self.ring.submitter().submit_with_args(1, &args) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) => {}
            Err(e) => return Err(e),
        }
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
        // Closing the ring cancels whatever is still in flight; the sockets are ours to close.
        for conn in &self.conns {
            if conn.state != State::Idle {
                socket::close(conn.fd);
            }
        }
    }
}
