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

/// Which HTTP a run speaks (`--http`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// HTTP/1.1, the default; over TLS it offers ALPN http/1.1.
    #[default]
    Http1,
    /// HTTP/2 only: prior knowledge (h2c) on http://, ALPN h2 on https://.
    Http2,
    /// Over TLS, ALPN offers h2 and http/1.1 and each connection speaks what the server chose.
    Auto,
}

impl Version {
    /// The ALPN protocols a TLS connection offers, most wanted first.
    pub fn alpn(self) -> Vec<Vec<u8>> {
        match self {
            Self::Http1 => vec![b"http/1.1".to_vec()],
            Self::Http2 => vec![b"h2".to_vec()],
            Self::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        }
    }

    /// The ALPN protocols offered, in words.
    pub fn offered(self) -> &'static str {
        match self {
            Self::Http1 => "http/1.1",
            Self::Http2 => "h2",
            Self::Auto => "h2, http/1.1",
        }
    }

    /// Whether a connection of the run may speak HTTP/2.
    pub fn may_be_h2(self) -> bool {
        self != Self::Http1
    }

    /// The report's name for what the run asked for, over TLS or not.
    pub fn name(self, tls: bool) -> &'static str {
        match (self, tls) {
            (Self::Http1, _) => "http/1.1",
            (Self::Http2, false) => "h2c",
            (Self::Http2, true) => "h2",
            (Self::Auto, _) => "auto",
        }
    }
}

/// The application protocol a server chose over ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    H2,
    Http1,
    /// Something else (its name is not kept).
    Other,
}

impl Alpn {
    pub fn of(id: &[u8]) -> Self {
        match id {
            b"h2" => Self::H2,
            b"http/1.1" => Self::Http1,
            _ => Self::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::H2 => "h2",
            Self::Http1 => "http/1.1",
            Self::Other => "a protocol other than h2 and http/1.1",
        }
    }
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

/// How a request ended without a response while its connection went on (HTTP/2 streams).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server reset the stream, with this HTTP/2 error code.
    Reset(u32),
    /// The server's GOAWAY said it never processed the request: it may be sent again.
    Refused,
}

/// What a protocol reports of its connection after a read (HTTP/2's; HTTP/1.1 has none).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Signals {
    /// GOAWAY frames received since the last call.
    pub goaways: u32,
    /// Request body bytes wait for the server's flow-control window now.
    pub stalled: bool,
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
    /// A request ended without a response; the connection goes on (HTTP/2).
    Failed(M, Failure),
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
    /// Completions are waiting that need no more bytes: call `feed` again, with none.
    fn pending(&self) -> bool {
        false
    }
    /// How many more requests the connection takes now, when the protocol limits it (HTTP/2:
    /// the server's concurrent streams, none after a GOAWAY); None: no limit of its own.
    fn room(&self) -> Option<usize> {
        None
    }
    /// What the connection met since the last call (HTTP/2: GOAWAYs, flow-control waits).
    fn signals(&mut self) -> Signals {
        Signals::default()
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

/// A connection's protocol, chosen when the run starts: one branch per call. HTTP/1.1 stays
/// inline, as it was before this enum (its hot path gains no indirection); HTTP/2 is boxed.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Proto<M> {
    H1(http1::Http1<M>),
    H2(Box<h2::exchange::H2<M>>),
}

impl<M: Meta> Proto<M> {
    pub fn is_h2(&self) -> bool {
        matches!(self, Self::H2(_))
    }

    /// Stages `k` requests whose bytes the caller already wrote (HTTP/1.1's pre-built batches;
    /// the engine builds none for HTTP/2).
    pub fn stage_written(&mut self, meta: M, k: usize) {
        match self {
            Self::H1(x) => x.stage_written(meta, k),
            Self::H2(_) => unreachable!("pre-built batches are HTTP/1.1 bytes"),
        }
    }
}

impl<M: Meta> Exchange<M> for Proto<M> {
    #[inline]
    fn stage(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>) -> M) -> u32 {
        match self {
            Self::H1(x) => x.stage(out, write),
            Self::H2(x) => x.stage(out, write),
        }
    }

    #[inline(always)]
    fn feed(&mut self, input: &mut &[u8]) -> Step<M> {
        match self {
            Self::H1(x) => x.feed(input),
            Self::H2(x) => x.feed(input),
        }
    }

    fn eof(&mut self) -> Option<Completed<M>> {
        match self {
            Self::H1(x) => x.eof(),
            Self::H2(x) => x.eof(),
        }
    }

    fn mid_response(&self) -> bool {
        match self {
            Self::H1(x) => x.mid_response(),
            Self::H2(x) => x.mid_response(),
        }
    }

    #[inline]
    fn control(&mut self, out: &mut Vec<u8>) -> bool {
        match self {
            Self::H1(_) => false,
            Self::H2(x) => x.control(out),
        }
    }

    #[inline]
    fn pending(&self) -> bool {
        match self {
            Self::H1(_) => false,
            Self::H2(x) => x.pending(),
        }
    }

    #[inline]
    fn room(&self) -> Option<usize> {
        match self {
            Self::H1(_) => None,
            Self::H2(x) => x.room(),
        }
    }

    #[inline]
    fn signals(&mut self) -> Signals {
        match self {
            Self::H1(_) => Signals::default(),
            Self::H2(x) => x.signals(),
        }
    }

    fn keep_cookies(&mut self, on: bool) {
        match self {
            Self::H1(x) => x.keep_cookies(on),
            Self::H2(x) => x.keep_cookies(on),
        }
    }

    #[inline]
    fn in_flight(&self) -> usize {
        match self {
            Self::H1(x) => x.in_flight(),
            Self::H2(x) => x.in_flight(),
        }
    }

    fn oldest(&self) -> Option<&M> {
        match self {
            Self::H1(x) => x.oldest(),
            Self::H2(x) => x.oldest(),
        }
    }

    fn each_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut M> {
        match self {
            Self::H1(x) => Either::A(x.each_mut()),
            Self::H2(x) => Either::B(x.each_mut()),
        }
    }

    fn drain(&mut self) -> impl Iterator<Item = M> {
        match self {
            Self::H1(x) => Either::A(x.drain()),
            Self::H2(x) => Either::B(x.drain()),
        }
    }
}

/// One of two iterators: the protocol's own, one branch a step.
enum Either<A, B> {
    A(A),
    B(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Either<A, B> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        match self {
            Self::A(a) => a.next(),
            Self::B(b) => b.next(),
        }
    }
}

impl<T, A: DoubleEndedIterator<Item = T>, B: DoubleEndedIterator<Item = T>> DoubleEndedIterator
    for Either<A, B>
{
    #[inline]
    fn next_back(&mut self) -> Option<T> {
        match self {
            Self::A(a) => a.next_back(),
            Self::B(b) => b.next_back(),
        }
    }
}
