//! The seam between the per-connection state machines (drivers) and the kernel backends.
//! Drivers see `Event`s and queue commands in `Ops`; a backend turns those into syscalls or SQEs.

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::Duration;

/// Index of a connection inside one worker; backends key their sockets by it.
pub type Token = u32;

/// Something the kernel finished, as the driver sees it.
#[derive(Debug)]
pub enum Event<'a> {
    /// A `connect` finished: `Ok` when established, else the errno.
    Connected {
        token: Token,
        result: Result<(), i32>,
    },
    /// Bytes arrived on a connection; they are only valid during the call.
    Data { token: Token, bytes: &'a [u8] },
    /// The connection ended: errno 0 is an orderly close by the peer, anything else an error.
    /// The backend has already released the socket; the driver may reconnect the token.
    Closed { token: Token, errno: i32 },
    /// A listener accepted a socket; the driver adopts it with `Ops::adopt` or closes it.
    Accepted { fd: RawFd },
}

/// A command queued by a driver, carried out by the backend at its next turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Connect { token: Token, addr: SocketAddr },
    Adopt { token: Token, fd: RawFd },
    Flush { token: Token },
    Close { token: Token },
}

/// The per-connection state both backends share.
#[derive(Debug, Default)]
pub struct Slot {
    /// Bumped on every close, so completions of an old socket are recognised and dropped.
    pub generation: u16,
    /// Bytes staged for sending and not yet handed to the kernel.
    pub out: Vec<u8>,
    flush_queued: bool,
    /// Close the connection once everything staged has been sent.
    pub close_after_send: bool,
}

/// Where drivers queue work; backends drain it.
#[derive(Debug, Default)]
pub struct Ops {
    pub slots: Vec<Slot>,
    pub commands: Vec<Command>,
}

impl Ops {
    /// Makes sure tokens `0..n` exist.
    pub fn ensure_slots(&mut self, n: usize) {
        if self.slots.len() < n {
            self.slots.resize_with(n, Slot::default);
        }
    }

    pub fn connect(&mut self, token: Token, addr: SocketAddr) {
        self.commands.push(Command::Connect { token, addr });
    }

    /// Hands an accepted socket to a token.
    pub fn adopt(&mut self, token: Token, fd: RawFd) {
        self.commands.push(Command::Adopt { token, fd });
    }

    /// The staging buffer of a connection: append request bytes, then `flush`.
    #[inline]
    pub fn out(&mut self, token: Token) -> &mut Vec<u8> {
        &mut self.slots[token as usize].out
    }

    /// Asks the backend to send what is staged.
    #[inline]
    pub fn flush(&mut self, token: Token) {
        let slot = &mut self.slots[token as usize];
        if !slot.flush_queued {
            slot.flush_queued = true;
            self.commands.push(Command::Flush { token });
        }
    }

    /// Closes the connection now; staged bytes are dropped and later completions ignored.
    pub fn close(&mut self, token: Token) {
        self.retire(token);
        self.commands.push(Command::Close { token });
    }

    /// Starts a new generation for the token without queuing a Close (for backends that have
    /// released the socket themselves): staged bytes are dropped and old completions ignored.
    pub fn retire(&mut self, token: Token) {
        let slot = &mut self.slots[token as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.out.clear();
        slot.close_after_send = false;
    }

    /// Called by a backend when it takes a Flush command off the queue.
    pub fn flush_taken(&mut self, token: Token) {
        self.slots[token as usize].flush_queued = false;
    }

    pub fn generation(&self, token: Token) -> u16 {
        self.slots[token as usize].generation
    }
}

/// What a driver implements: react to events. All its reactions are queued in `ops`.
pub trait Driver {
    fn on_event(&mut self, event: Event<'_>, ops: &mut Ops);
}

/// A kernel interface: io_uring or epoll.
pub trait Backend {
    /// `uring` or `epoll`, for reports.
    fn name(&self) -> &'static str;
    fn ops(&mut self) -> &mut Ops;
    /// Starts accepting connections on a listening socket (the built-in target).
    fn listen(&mut self, fd: RawFd) -> std::io::Result<()>;
    /// Carries out queued commands, waits up to `timeout` for at least one completion,
    /// and dispatches every completion that is ready to the driver.
    fn turn<D: Driver>(&mut self, driver: &mut D, timeout: Duration) -> std::io::Result<()>;
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
        assert_eq!(ops.commands.last(), Some(&Command::Close { token: 1 }));
    }
}
