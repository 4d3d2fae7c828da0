//! The epoll backend, for kernels or sandboxes without io_uring: the same commands and events as
//! the ring, made from non-blocking sockets, edge-triggered readiness, read() and send().

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::time::{Duration, Instant};

use super::errno;
use super::socket::{self, RawAddr};
use crate::io::{Backend, Command, Driver, Event, Fault, Generation, Ops, Session, Token, Wait};

const LISTENER: u64 = u64::MAX;
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SocketState {
    Idle,
    Connecting,
    Open,
}

struct EpollSocket {
    fd: RawFd,
    state: SocketState,
    /// The generation the socket was opened under.
    generation: Generation,
    sending: Vec<u8>,
    send_offset: usize,
    /// A Flush came while a partial send was waiting for the socket: flush again when it is
    /// done, even with nothing staged (a transport layer may hold bytes; see `Driver::seal`).
    flush_after_send: bool,
    /// The kernel stamps this socket's input: it is read with recvmsg.
    stamped: bool,
}

/// One worker's epoll instance and its sockets.
pub struct Epoll {
    epfd: RawFd,
    ops: Ops,
    conns: Vec<EpollSocket>,
    scratch: Vec<u8>,
    control: [u8; socket::STAMP_CONTROL_LEN],
    /// epoll_pwait2 is available (until it says ENOSYS).
    pwait2: bool,
    events: Vec<libc::epoll_event>,
    listener: RawFd,
    /// Accepting paused after running out of files: when to try again, and the next pause.
    accept_resume: Option<Instant>,
    accept_backoff: Duration,
}

fn key(token: Token, generation: Generation) -> u64 {
    (u64::from(token) << 32) | u64::from(generation)
}

impl Epoll {
    pub fn new(read_buffer: usize) -> io::Result<Self> {
        // SAFETY: epoll_create1 takes a flag and returns a new fd or -1.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            epfd,
            ops: Ops::default(),
            conns: Vec::new(),
            scratch: vec![0; read_buffer],
            control: [0; socket::STAMP_CONTROL_LEN],
            pwait2: true,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; 1024],
            listener: -1,
            accept_resume: None,
            accept_backoff: ACCEPT_BACKOFF_MIN,
        })
    }

    fn register(&self, fd: RawFd, data: u64) -> Result<(), i32> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: data,
        };
        // SAFETY: epoll_ctl reads the event struct we pass for the duration of the call.
        if unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            return Err(errno());
        }
        Ok(())
    }

    fn conn(&mut self, token: Token) -> &mut EpollSocket {
        let i = token as usize;
        if self.conns.len() <= i {
            self.conns.resize_with(i + 1, || EpollSocket {
                fd: -1,
                state: SocketState::Idle,
                generation: 0,
                sending: Vec::new(),
                send_offset: 0,
                flush_after_send: false,
                stamped: false,
            });
        }
        &mut self.conns[i]
    }

    /// Closes the socket (closing also removes it from the epoll set).
    fn release(&mut self, token: Token) {
        let conn = &mut self.conns[token as usize];
        if conn.state != SocketState::Idle {
            socket::close(conn.fd);
        }
        conn.fd = -1;
        conn.state = SocketState::Idle;
        conn.sending.clear();
        conn.send_offset = 0;
        conn.flush_after_send = false;
    }

    fn fail<D: Driver>(&mut self, token: Token, errno: i32, driver: &mut D) {
        self.ops.retire(token);
        self.release(token);
        let fault = Fault::Os(errno);
        driver.on_event(Event::Closed { token, fault }, &mut self.ops);
    }

    /// Writes as much as the socket takes; the rest waits for the next EPOLLOUT edge.
    /// `take_staged` is true only for a Flush command: bytes the driver staged go out after it
    /// stamped them, never from a readiness edge in the middle of a dispatch. When an edge
    /// finishes a partial send and more is staged, a Flush is queued for the next turn.
    fn write_out<D: Driver>(&mut self, token: Token, take_staged: bool, driver: &mut D) {
        let i = token as usize;
        loop {
            let conn = &mut self.conns[i];
            if conn.state != SocketState::Open {
                return;
            }
            if conn.send_offset == conn.sending.len() {
                self.ops.slots[i].in_kernel = 0;
                if take_staged {
                    // The driver seals what it staged just before it is taken (Driver::seal).
                    driver.seal(token, &mut self.ops);
                } else if std::mem::take(&mut conn.flush_after_send) {
                    self.ops.flush(token);
                    return;
                }
                if self.ops.slots[i].out.is_empty() {
                    if self.ops.slots[i].close_after_send {
                        self.fail(token, 0, driver);
                    } else if self.ops.take_drained(token) {
                        driver.on_event(Event::Drained { token }, &mut self.ops);
                    }
                    return;
                }
                if !take_staged {
                    self.ops.flush(token);
                    return;
                }
                conn.sending.clear();
                conn.send_offset = 0;
                std::mem::swap(&mut conn.sending, &mut self.ops.slots[i].out);
            }
            let conn = &mut self.conns[i];
            match socket::write(conn.fd, &conn.sending[conn.send_offset..]) {
                Ok(0) => return self.fail(token, libc::EPIPE, driver),
                Ok(n) => conn.send_offset += n,
                Err(libc::EAGAIN) => {
                    self.ops.slots[i].in_kernel = conn.sending.len() - conn.send_offset;
                    conn.flush_after_send |= take_staged;
                    return;
                }
                Err(libc::EINTR) => {}
                Err(e) => return self.fail(token, e, driver),
            }
        }
    }

    /// Reads until the socket is drained. `hangup` says the peer's FIN is already queued (or the
    /// read follows a pause): then a short read is not proof of a drained socket, and reading
    /// goes on until the kernel says so.
    fn read_in<D: Driver>(&mut self, token: Token, generation: u32, hangup: bool, driver: &mut D) {
        let i = token as usize;
        loop {
            if !self.ops.is_current(token, generation)
                || self.conns[i].state != SocketState::Open
                || !self.ops.reading(token)
            {
                return;
            }
            let fd = self.conns[i].fd;
            let read = if self.conns[i].stamped {
                socket::read_stamped(fd, &mut self.scratch, &mut self.control)
            } else {
                socket::read(fd, &mut self.scratch).map(|n| (n, None))
            };
            match read {
                Ok((0, _)) => return self.fail(token, 0, driver),
                Ok((n, at)) => {
                    let bytes = &self.scratch[..n];
                    driver.on_event(Event::Data { token, bytes, at }, &mut self.ops);
                    if n < self.scratch.len() && !hangup {
                        // Drained for now; a new edge comes with new data.
                        return;
                    }
                }
                Err(libc::EAGAIN) => return,
                Err(libc::EINTR) => {}
                Err(e) => return self.fail(token, e, driver),
            }
        }
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
                    self.conn(token);
                    self.release(token);
                    let fd = match socket::tcp_socket(&addr, true) {
                        Ok(fd) => fd,
                        Err(e) => {
                            let result = Err(Fault::Os(e));
                            driver.on_event(Event::Connected { token, result }, &mut self.ops);
                            continue;
                        }
                    };
                    let result = socket::connect_nonblocking(fd, &RawAddr::new(&addr))
                        .and_then(|now| self.register(fd, key(token, generation)).map(|_| now));
                    let stamped = self.ops.rx_stamps && socket::enable_rx_stamps(fd);
                    let conn = self.conn(token);
                    conn.fd = fd;
                    conn.generation = generation;
                    conn.stamped = stamped;
                    match result {
                        Ok(_) => conn.state = SocketState::Connecting,
                        Err(e) => {
                            socket::close(fd);
                            conn.fd = -1;
                            conn.state = SocketState::Idle;
                            let result = Err(Fault::Os(e));
                            driver.on_event(Event::Connected { token, result }, &mut self.ops);
                        }
                    }
                    // An immediate success is reported by the first EPOLLOUT edge, like the rest.
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
                    self.conn(token);
                    self.release(token);
                    socket::set_nonblocking(fd);
                    socket::set_nodelay(fd);
                    let conn = self.conn(token);
                    conn.fd = fd;
                    conn.generation = generation;
                    conn.state = SocketState::Open;
                    if let Err(e) = self.register(fd, key(token, generation)) {
                        self.fail(token, e, driver);
                    }
                }
                Command::Flush { token, generation } => {
                    if self.ops.is_current(token, generation) {
                        self.ops.flush_taken(token);
                        if (token as usize) < self.conns.len() {
                            self.write_out(token, true, driver);
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
                    // Input that arrived while paused raised its edge already: read it now.
                    if self.ops.is_current(token, generation)
                        && (token as usize) < self.conns.len()
                        && self.ops.reading(token)
                    {
                        self.read_in(token, generation, true, driver);
                    }
                }
            }
        }
        commands.append(&mut self.ops.commands);
        self.ops.commands = commands;
    }

    /// Waits for readiness: epoll_pwait2 with a nanosecond timeout (Linux 5.11+), else
    /// epoll_wait, which rounds it up to a millisecond. Returns the syscall's result.
    fn wait(&mut self, timeout: Duration) -> isize {
        let events = self.events.as_mut_ptr();
        let max = self.events.len() as i32;
        if self.pwait2 {
            let ts = libc::timespec {
                tv_sec: timeout.as_secs().min(i64::MAX as u64) as _,
                tv_nsec: timeout.subsec_nanos() as _,
            };
            // SAFETY: the kernel writes at most `max` entries into our live vector and reads the
            // timespec for the duration of the call; a null sigmask means none.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_epoll_pwait2,
                    self.epfd,
                    events,
                    max,
                    &ts as *const libc::timespec,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize,
                )
            };
            if n >= 0 || errno() != libc::ENOSYS {
                return n as isize;
            }
            self.pwait2 = false;
        }
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let ms = if ms == 0 && !timeout.is_zero() { 1 } else { ms };
        // SAFETY: the kernel writes at most `max` entries into our live vector.
        unsafe { libc::epoll_wait(self.epfd, events, max, ms) as isize }
    }

    fn accept_all<D: Driver>(&mut self, driver: &mut D) {
        loop {
            match socket::accept(self.listener) {
                Ok(fd) => {
                    self.accept_backoff = ACCEPT_BACKOFF_MIN;
                    driver.on_event(Event::Accepted { fd }, &mut self.ops);
                }
                Err(libc::EINTR) | Err(libc::ECONNABORTED) => {}
                Err(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                    // Out of files: the pending connections raise no new edge, so try again
                    // after a pause instead of spinning or stalling.
                    self.accept_resume = Some(Instant::now() + self.accept_backoff);
                    self.accept_backoff = (self.accept_backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// Retries a paused accept when its time has come; returns how long until then otherwise.
    fn accept_wait<D: Driver>(&mut self, driver: &mut D) -> Option<Duration> {
        let at = self.accept_resume?;
        let now = Instant::now();
        if now < at {
            return Some(at - now);
        }
        self.accept_resume = None;
        self.accept_all(driver);
        self.accept_resume
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    fn on_ready<D: Driver>(&mut self, token: Token, generation: u32, flags: u32, driver: &mut D) {
        if (token as usize) >= self.conns.len() || !self.ops.is_current(token, generation) {
            return;
        }
        if self.conns[token as usize].generation != generation {
            return;
        }
        if self.conns[token as usize].state == SocketState::Connecting {
            if flags & (libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) as u32 == 0 {
                return;
            }
            let err = socket::take_error(self.conns[token as usize].fd);
            if err != 0 {
                self.ops.retire(token);
                self.release(token);
                let result = Err(Fault::Os(err));
                driver.on_event(Event::Connected { token, result }, &mut self.ops);
                return;
            }
            self.conns[token as usize].state = SocketState::Open;
            let result = Ok(Session::Plain);
            driver.on_event(Event::Connected { token, result }, &mut self.ops);
            if !self.ops.is_current(token, generation) {
                return;
            }
        }
        let hangup = flags & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
        if hangup || flags & libc::EPOLLIN as u32 != 0 {
            self.read_in(token, generation, hangup, driver);
        }
        if flags & libc::EPOLLOUT as u32 != 0 && self.ops.is_current(token, generation) {
            self.write_out(token, false, driver);
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        for conn in &self.conns {
            if conn.state != SocketState::Idle {
                socket::close(conn.fd);
            }
        }
        socket::close(self.epfd);
    }
}

impl Backend for Epoll {
    fn name(&self) -> &'static str {
        "epoll"
    }

    fn ops(&mut self) -> &mut Ops {
        &mut self.ops
    }

    fn listen(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        self.listener = fd;
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: LISTENER,
        };
        // SAFETY: epoll_ctl reads the event struct we pass for the duration of the call.
        if unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn turn<D: Driver>(&mut self, driver: &mut D, wait: Wait) -> io::Result<()> {
        self.apply(driver);
        let mut timeout = match self.accept_wait(driver) {
            Some(accept) => wait.timeout.min(accept),
            None => wait.timeout,
        };
        if wait.hold {
            // epoll cannot wait for a batch: sleep through the timeout, then take what is ready.
            std::thread::sleep(timeout);
            timeout = Duration::ZERO;
        }
        let n = self.wait(timeout);
        driver.woke();
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) {
                Ok(())
            } else {
                Err(e)
            };
        }
        for k in 0..n as usize {
            let ev = self.events[k];
            let (flags, data) = (ev.events, ev.u64);
            if data == LISTENER {
                if self.accept_resume.is_none() {
                    self.accept_all(driver);
                }
                continue;
            }
            self.on_ready((data >> 32) as Token, data as u32, flags, driver);
        }
        Ok(())
    }
}
