//! The protocol seam below the client: one connection's exchanges of requests for responses.
//! The client stages requests and feeds received bytes; a protocol says what completed.

pub mod h2;
pub mod http1;

/// What the client keeps with each request in flight: the protocol only needs to know how the
/// response is framed and whether its bytes are wanted whole.
pub trait Meta: Copy + 'static {
    /// The request was HEAD: its response has no body, whatever its head says.
    fn head(&self) -> bool;
    /// Its response feeds captures: keep its bytes (up to the connection's bound).
    fn collect(&self) -> bool;
}

/// An exchange that ended with a response.
#[derive(Debug)]
pub struct Completed<M> {
    /// What the client staged the request with.
    pub meta: M,
    pub status: u16,
    /// Response body bytes (Locust's content size).
    pub body_len: u64,
    /// The whole response, for captures, when its request asked for it; None when it was
    /// larger than the bound (`--capture-max`).
    pub collected: Option<Vec<u8>>,
    /// The server closes the connection after this response: what is in flight behind it was
    /// never processed.
    pub close: bool,
    /// The server answers at most this many more requests on the connection.
    pub remaining: Option<u32>,
    /// The response's head, when it set cookies and the connection keeps them.
    pub set_cookie: Option<crate::http::response::CookieHead>,
}

/// The result of feeding received bytes.
#[derive(Debug)]
pub enum Step<M> {
    /// Everything given was consumed; a response needs more bytes.
    Partial,
    /// A response completed (the input slice was advanced past it).
    Done(Completed<M>),
    /// The bytes cannot be a response to what was asked: the connection cannot be trusted.
    Broken(&'static str),
}

/// One connection's exchanges, as a protocol carries them. HTTP/1.1 answers in order on one
/// byte stream (`http1::Http1`); HTTP/2 will complete streams in any order, with frames of its
/// own to send (`control`). See docs/decisions/016-a-protocol-seam.md.
pub trait Exchange<M: Meta> {
    /// Stages one request: `write` renders its HTTP semantics (as HTTP/1.1 bytes) into the
    /// buffer the protocol gives it and returns what the client keeps with it; the protocol
    /// frames it into `out`. Returns the exchange's id (HTTP/1.1: its place in the order;
    /// HTTP/2: its stream).
    fn stage(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>) -> M) -> u32;
    /// Feeds received bytes: one completion at a time, advancing `input` past what it used.
    fn feed(&mut self, input: &mut &[u8]) -> Step<M>;
    /// The stream ended cleanly: a response delimited by the close is complete.
    fn eof(&mut self) -> Option<Completed<M>>;
    /// Part of a response has been read but not its end.
    fn mid_response(&self) -> bool;
    /// Frames the protocol must send on its own (HTTP/2: SETTINGS and PING acknowledgements,
    /// WINDOW_UPDATE); false when there are none (always, for HTTP/1.1).
    fn control(&mut self, _out: &mut Vec<u8>) -> bool {
        false
    }
    /// Hands over the heads of responses that set cookies (`Completed::set_cookie`).
    fn keep_cookies(&mut self, on: bool);
    /// Requests awaiting a response, oldest first.
    fn in_flight(&self) -> usize;
    fn is_idle(&self) -> bool {
        self.in_flight() == 0
    }
    /// The oldest request awaiting a response (the request timeout runs from it).
    fn oldest(&self) -> Option<&M>;
    /// Every request in flight, oldest first, to update what the client keeps with them.
    fn each_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut M>;
    /// The connection is gone: hands back every request in flight, oldest first, and forgets
    /// all partial state.
    fn drain(&mut self) -> impl Iterator<Item = M>;
}
