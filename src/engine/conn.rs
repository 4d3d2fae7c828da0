//! One connection of the client: its state, its exchanges in flight (a protocol on the seam,
//! `proto::Exchange`), what a closed socket left to send again, and the server's limits on it.

use std::collections::VecDeque;

use crate::proto::Proto;
use crate::proto::h2::exchange::H2;
use crate::proto::http1::Http1;
use crate::proto::{Exchange, Meta};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Not connected and not trying (quota used up, user inactive, or the run is ending).
    Idle,
    Connecting {
        since: u64,
    },
    /// TCP is up and the TLS handshake is under way.
    Handshaking {
        since: u64,
    },
    Open,
    /// Waiting to reconnect after a failure.
    Backoff {
        until: u64,
    },
}

/// A request handed to (or about to be handed to) the kernel.
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    /// When it should have been sent: the schedule's time (open loop, users), or None when
    /// there is no schedule (closed loop: it is due when it is sent).
    pub intended: Option<u64>,
    /// When it was handed to the kernel; None while it is staged in this turn.
    pub sent: Option<u64>,
    /// The program's task it runs.
    pub task: u32,
    /// The user it was sent for: its answer goes to that user, whichever connection carries it.
    pub user: u32,
    /// Its size on the wire, to take back if it is never sent.
    pub bytes: u64,
    /// False for requests sent during the warm-up: their outcomes are not recorded.
    pub counted: bool,
    /// It is one of its user's on_start tasks.
    pub on_start: bool,
    /// It was (or waits to be) sent again after a connection closed on it: it is not again.
    pub resent: bool,
    /// The task is a HEAD request, and its response feeds captures.
    pub head: bool,
    pub collect: bool,
}

impl Meta for Pending {
    #[inline]
    fn head(&self) -> bool {
        self.head
    }

    #[inline]
    fn collect(&self) -> bool {
        self.collect
    }
}

#[derive(Debug)]
pub struct ClientConn {
    pub state: ConnState,
    /// The protocol's requests in flight and its response parsing.
    pub exchange: Proto<Pending>,
    pub backoff: u64,
    /// Responses on the current socket (a request behind one may be re-sent if the socket closes).
    pub answered: u64,
    /// More requests the server said it answers on this socket (`Keep-Alive: max`).
    pub allowed: Option<u64>,
    /// Requests the last socket left unanswered, to send again first on the next one.
    pub retry: VecDeque<Pending>,
    /// The last socket failed (closed without `Connection: close`): the first request sent
    /// again goes alone, and the rest only after its answer (RFC 9112 §9.3.2).
    pub retry_alone: bool,
    /// The connection attempt in progress holds a request of the quota.
    pub reserving: bool,
    /// Open loop: it is on the list of connections that can take due requests.
    pub listed: bool,
    /// HTTP/2: since when request body bytes wait for the server's window.
    pub stalled_since: Option<u64>,
    /// Users sharing the connection that wait for a free stream, with when each should have
    /// sent (see `engine/client/shared.rs`).
    pub ready: VecDeque<(u32, Option<u64>)>,
}

impl ClientConn {
    /// Makes the connection speak HTTP/2 (`h2`) or HTTP/1.1 from now on: what the server chose
    /// over ALPN. Called when a connection opens, with nothing in flight.
    pub fn speak(&mut self, h2: bool, pipeline: usize, capture_limit: usize, cookies: bool) {
        if self.exchange.is_h2() == h2 {
            return;
        }
        debug_assert!(self.exchange.is_idle());
        self.exchange = if h2 {
            Proto::H2(Box::new(H2::new(true, capture_limit)))
        } else {
            Proto::H1(Http1::new(pipeline, capture_limit))
        };
        self.exchange.keep_cookies(cookies);
    }

    /// A connection speaking HTTP/1.1 (`pipeline` deep), or HTTP/2 (`http2`, over TLS when
    /// `https`); at most `capture_limit` bytes of a response kept.
    pub fn new(pipeline: usize, capture_limit: usize, http2: bool, https: bool) -> Self {
        Self {
            state: ConnState::Idle,
            exchange: if http2 {
                Proto::H2(Box::new(H2::new(https, capture_limit)))
            } else {
                Proto::H1(Http1::new(pipeline, capture_limit))
            },
            backoff: 0,
            answered: 0,
            allowed: None,
            retry: VecDeque::new(),
            retry_alone: false,
            reserving: false,
            listed: false,
            stalled_since: None,
            ready: VecDeque::new(),
        }
    }
}
