//! The seam between the per-connection state machines (drivers) and the kernel backends.
//! Drivers see `Event`s and queue commands in `Ops`; a backend turns those into syscalls or SQEs.

use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

/// Index of a connection inside one worker; backends key their sockets by it.
pub type Token = u32;

/// Which socket of a token a command or completion belongs to. Bumped on every close, and 32 bits
/// wide, so an operation of an old socket is never taken for one of the current socket.
pub type Generation = u32;

/// A connection's unsent bytes (staged plus in the kernel's hands) above which a driver should
/// stop producing output for it and stop reading from it (see `Ops::pause_reading`).
pub const HIGH_WATER: usize = 4 << 20;

/// Why a connection failed or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An errno from the kernel; 0 is an orderly close by the peer.
    Os(i32),
    /// The TLS layer of the transport gave up on the connection.
    Tls(TlsFault),
}

/// What went wrong in a TLS session, as reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFault {
    /// The peer's certificate was not trusted, did not match the name, or was refused; or the
    /// peer refused ours.
    Certificate,
    /// No common protocol version or cipher suite, or a message that broke the protocol.
    Protocol,
    /// The peer ended the session with a fatal alert.
    Alert,
    /// The server agreed to none of the application protocols offered (ALPN's
    /// no_application_protocol alert): one that does not speak HTTP/2, asked only for h2.
    NoProtocol,
    /// TCP closed without the peer's close_notify: what was being read may be cut short.
    Truncated,
}

/// How an established connection is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    Plain,
    /// TLS, after its handshake: `resumed` when it reused an earlier session; `alpn`, the
    /// application protocol the server chose (None: it chose none).
    Tls {
        resumed: bool,
        alpn: Option<crate::proto::Alpn>,
    },
}

/// Something the kernel finished, as the driver sees it.
#[derive(Debug)]
pub enum Event<'a> {
    /// A connection is ready for requests, or could not be opened. Over TLS this comes after
    /// the handshake (and `Handshaking` before it).
    Connected {
        token: Token,
        result: Result<Session, Fault>,
    },
    /// TCP is established and the TLS handshake has started (TLS transports only).
    Handshaking { token: Token },
    /// Bytes arrived on a connection (plaintext, after any TLS); only valid during the call.
    /// `at` is the kernel's receive time of the last segment read (ns since the Unix epoch,
    /// CLOCK_REALTIME), when the driver asked for timestamps (`Ops::rx_stamps`) and got one.
    Data {
        token: Token,
        bytes: &'a [u8],
        at: Option<u64>,
    },
    /// The connection ended: `Fault::Os(0)` is an orderly close by the peer, anything else an
    /// error. The socket is already released; the driver may reconnect the token.
    Closed { token: Token, fault: Fault },
    /// A listener accepted a socket; the driver adopts it with `Ops::adopt` or drops it (which
    /// closes it).
    Accepted { fd: OwnedFd },
    /// Everything staged on the connection has been sent (only after `Ops::notify_drained`).
    Drained { token: Token },
}

/// A command queued by a driver, carried out by the backend at its next turn. Each carries the
/// generation it was issued for: a backend drops a command whose socket has since been retired.
#[derive(Debug)]
pub enum Command {
    Connect {
        token: Token,
        generation: Generation,
        addr: SocketAddr,
    },
    Adopt {
        token: Token,
        generation: Generation,
        fd: OwnedFd,
    },
    Flush {
        token: Token,
        generation: Generation,
    },
    /// Close the socket opened under `generation` (the generation before the close bumped it).
    Close {
        token: Token,
        generation: Generation,
    },
    /// The driver paused or resumed reading the socket (`Slot::reading_paused` says which).
    Reading {
        token: Token,
        generation: Generation,
    },
}

/// The per-connection state both backends share.
#[derive(Debug, Default)]
pub struct Slot {
    /// Bumped on every close, so completions of an old socket are recognised and dropped.
    pub generation: Generation,
    /// Bytes staged for sending and not yet handed to the kernel.
    pub out: Vec<u8>,
    /// Bytes handed to the kernel and not yet confirmed sent (kept by the backend).
    pub in_kernel: usize,
    flush_queued: bool,
    /// Close the connection once everything staged has been sent.
    pub close_after_send: bool,
    /// Send `Event::Drained` once everything staged has been sent.
    pub notify_drained: bool,
    /// The driver applies backpressure: the socket is not read until it resumes.
    pub reading_paused: bool,
}

/// Where drivers queue work; backends drain it.
#[derive(Debug, Default)]
pub struct Ops {
    pub slots: Vec<Slot>,
    pub commands: Vec<Command>,
    /// The driver wants the kernel's receive timestamps on the sockets it connects from now on.
    pub rx_stamps: bool,
}

impl Ops {
    /// Makes sure tokens `0..n` exist.
    pub fn ensure_slots(&mut self, n: usize) {
        if self.slots.len() < n {
            self.slots.resize_with(n, Slot::default);
        }
    }

    pub fn connect(&mut self, token: Token, addr: SocketAddr) {
        let generation = self.generation(token);
        self.commands.push(Command::Connect {
            token,
            generation,
            addr,
        });
    }

    /// Hands an accepted socket to a token.
    pub fn adopt(&mut self, token: Token, fd: OwnedFd) {
        let generation = self.generation(token);
        self.commands.push(Command::Adopt {
            token,
            generation,
            fd,
        });
    }

    /// The staging buffer of a connection: append request bytes, then `flush`.
    #[inline]
    pub fn out(&mut self, token: Token) -> &mut Vec<u8> {
        &mut self.slots[token as usize].out
    }

    /// Bytes of the connection not yet sent: staged, plus handed to the kernel and unconfirmed.
    pub fn unsent(&self, token: Token) -> usize {
        let slot = &self.slots[token as usize];
        slot.out.len() + slot.in_kernel
    }

    /// Asks the backend to send what is staged.
    #[inline]
    pub fn flush(&mut self, token: Token) {
        let slot = &mut self.slots[token as usize];
        if !slot.flush_queued {
            slot.flush_queued = true;
            let generation = slot.generation;
            self.commands.push(Command::Flush { token, generation });
        }
    }

    /// Closes the connection now; staged bytes are dropped and later completions ignored.
    pub fn close(&mut self, token: Token) {
        let generation = self.generation(token);
        self.retire(token);
        self.commands.push(Command::Close { token, generation });
    }

    /// Stops reading the connection (its input stays in the kernel) until `resume_reading`.
    pub fn pause_reading(&mut self, token: Token) {
        self.set_reading(token, false);
    }

    pub fn resume_reading(&mut self, token: Token) {
        self.set_reading(token, true);
    }

    fn set_reading(&mut self, token: Token, on: bool) {
        let slot = &mut self.slots[token as usize];
        if slot.reading_paused != on {
            return;
        }
        slot.reading_paused = !on;
        let generation = slot.generation;
        self.commands.push(Command::Reading { token, generation });
    }

    /// Whether the driver wants the connection read now.
    pub fn reading(&self, token: Token) -> bool {
        !self.slots[token as usize].reading_paused
    }

    /// Asks for one `Event::Drained` when everything staged so far has been sent.
    pub fn notify_drained(&mut self, token: Token) {
        self.slots[token as usize].notify_drained = true;
    }

    /// Starts a new generation for the token without queuing a Close (for backends that have
    /// released the socket themselves): staged bytes are dropped and old completions ignored.
    pub fn retire(&mut self, token: Token) {
        let slot = &mut self.slots[token as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.out.clear();
        slot.in_kernel = 0;
        slot.close_after_send = false;
        slot.notify_drained = false;
        slot.reading_paused = false;
        // A Flush still queued belongs to the old generation and will be dropped: the next
        // flush of the new one must queue its own.
        slot.flush_queued = false;
    }

    /// Called by a backend when it takes a current Flush command off the queue.
    pub fn flush_taken(&mut self, token: Token) {
        self.slots[token as usize].flush_queued = false;
    }

    /// Whether a command issued under `generation` still applies to the token.
    pub fn is_current(&self, token: Token, generation: Generation) -> bool {
        self.slots
            .get(token as usize)
            .is_some_and(|s| s.generation == generation)
    }

    pub fn generation(&self, token: Token) -> Generation {
        self.slots[token as usize].generation
    }

    /// Called by a backend when a connection has nothing left to send: takes the drained
    /// notification the driver asked for, if any.
    pub fn take_drained(&mut self, token: Token) -> bool {
        let slot = &mut self.slots[token as usize];
        std::mem::take(&mut slot.notify_drained)
    }
}

/// How long a backend may block at its next turn, and whether completions may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub timeout: Duration,
    /// Completions need not wake the worker before the timeout: the backend may let them
    /// gather (bounded by its buffers) and hand them over together. Set only by a driver whose
    /// latencies end at the kernel's receive timestamps, so holding them inflates nothing.
    pub hold: bool,
    /// When not holding: how many completions to hold out for, for at most `Gather::linger`,
    /// before handing over what arrived (see `Gather`).
    pub gather: Gather,
}

impl Wait {
    /// Wake for the first completion, or at the timeout.
    pub fn until(timeout: Duration) -> Self {
        Self {
            timeout,
            hold: false,
            gather: Gather::FIRST,
        }
    }
}

/// A closed loop's batch: its answers send its next requests, so they may wait only briefly. The
/// backend holds out for `completions`, but once `linger` has passed hands over whatever arrived
/// (io_uring's `min_wait_usec`, Linux 6.12+; elsewhere it takes the first at once). Set only by a
/// driver whose latencies end at the kernel's receive timestamps, so the wait inflates none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gather {
    pub completions: u32,
    pub linger: Duration,
}

impl Gather {
    /// Hand over the first completion at once.
    pub const FIRST: Gather = Gather {
        completions: 1,
        linger: Duration::ZERO,
    };
}

/// What a driver implements: react to events. All its reactions are queued in `ops`.
pub trait Driver {
    fn on_event(&mut self, event: Event<'_>, ops: &mut Ops);

    /// Called by the backend when its wait returned, before it hands over the completions: a
    /// driver may read its clock once here for the whole batch.
    #[inline]
    fn woke(&mut self) {}

    /// Called by the backend just before it takes the token's staged bytes (`Slot::out`) to
    /// send them: a transport layer turns them into what goes on the wire (TLS encrypts here,
    /// so pre-serialized requests are encrypted at send time). Plain drivers do nothing.
    #[inline]
    fn seal(&mut self, _token: Token, _ops: &mut Ops) {}
}

/// A kernel interface: io_uring or epoll.
pub trait Backend {
    /// `uring` or `epoll`, for reports.
    fn name(&self) -> &'static str;
    fn ops(&mut self) -> &mut Ops;
    /// Starts accepting connections on a listening socket (the built-in target).
    fn listen(&mut self, fd: BorrowedFd<'_>) -> std::io::Result<()>;
    /// Carries out queued commands, waits up to the timeout for at least one completion (or,
    /// holding, for the timeout or a full batch), and dispatches every ready one to the driver.
    fn turn<D: Driver>(&mut self, driver: &mut D, wait: Wait) -> std::io::Result<()>;
    /// Times the receive buffers ran out since the last call (io_uring only).
    fn take_buffer_exhaustions(&mut self) -> u64 {
        0
    }
}

/// Which backend a run asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IoChoice {
    Auto,
    Uring,
    Epoll,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_is_queued_once_and_close_bumps_generation() {
        let mut ops = Ops::default();
        ops.ensure_slots(2);
        ops.out(1).extend_from_slice(b"abc");
        ops.flush(1);
        ops.flush(1);
        assert_eq!(ops.commands.len(), 1);
        let g = ops.generation(1);
        ops.close(1);
        assert_eq!(ops.generation(1), g.wrapping_add(1));
        assert!(ops.out(1).is_empty());
        assert!(matches!(
            ops.commands.last(),
            Some(&Command::Close { token: 1, generation }) if generation == g
        ));
    }

    #[test]
    fn a_flush_queued_before_a_close_does_not_swallow_the_next_one() {
        let mut ops = Ops::default();
        ops.ensure_slots(1);
        ops.flush(0);
        ops.close(0);
        ops.out(0).extend_from_slice(b"x");
        ops.flush(0);
        let flushes: Vec<_> = ops
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Flush { generation, .. } => Some(*generation),
                _ => None,
            })
            .collect();
        assert_eq!(flushes, vec![0, 1]);
        assert!(!ops.is_current(0, 0) && ops.is_current(0, 1));
    }

    #[test]
    fn commands_carry_the_generation_they_were_issued_for() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut ops = Ops::default();
        ops.ensure_slots(1);
        ops.connect(0, addr);
        ops.close(0);
        ops.connect(0, addr);
        assert!(matches!(
            ops.commands[..],
            [
                Command::Connect { generation: 0, .. },
                Command::Close { generation: 0, .. },
                Command::Connect { generation: 1, .. }
            ]
        ));
    }
}
