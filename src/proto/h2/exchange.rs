//! HTTP/2 on the protocol seam: each request the client renders (as HTTP/1.1 bytes) becomes a
//! stream of the connection's `Client`, and each stream's end a step, in the order they end.

use super::client::{Client, Ended, Event, put};
use crate::http::response::CookieHead;
use crate::proto::{Completed, Exchange, Failure, Meta, Step};

/// Header fields HTTP/2 forbids (RFC 9113 §8.2.2), and Host, which `:authority` replaces.
const DROPPED: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// What the connection's `Client` keeps of a stream: its id, and whether its response is kept.
/// The client's own record of the request (its meta) stays here, where the engine updates it.
#[derive(Debug, Clone, Copy)]
struct Key {
    id: u32,
    collect: bool,
}

impl Meta for Key {
    fn head(&self) -> bool {
        false
    }
    fn collect(&self) -> bool {
        self.collect
    }
}

/// One HTTP/2 connection's streams, behind the same seam as HTTP/1.1.
#[derive(Debug)]
pub struct H2<M> {
    client: Client<Key>,
    https: bool,
    capture_limit: usize,
    cookies: bool,
    /// The request as the client rendered it (HTTP/1.1), and its HPACK block.
    rendered: Vec<u8>,
    block: Vec<u8>,
    lower: Vec<u8>,
    /// Streams in flight, in staging order (the seam's oldest-first view).
    metas: Vec<(u32, M)>,
}

impl<M: Meta> H2<M> {
    pub fn new(https: bool, capture_limit: usize) -> Self {
        Self {
            client: Client::new(https, capture_limit),
            https,
            capture_limit,
            cookies: false,
            rendered: Vec::with_capacity(512),
            block: Vec::with_capacity(256),
            lower: Vec::with_capacity(64),
            metas: Vec::new(),
        }
    }

    /// Whether another stream may open: under the server's limit and before any GOAWAY.
    pub fn may_open(&self) -> bool {
        self.client.may_open()
    }

    /// The HPACK block of an HTTP/1.1 request head, and where its body starts; None when the
    /// client rendered something that is not a request (never, for its own templates).
    fn encode(&mut self) -> Option<usize> {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut slots);
        let n = match req.parse(&self.rendered) {
            Ok(httparse::Status::Complete(n)) => n,
            _ => return None,
        };
        let scheme: &[u8] = if self.https { b"https" } else { b"http" };
        self.block.clear();
        put(b":method", req.method?.as_bytes(), &mut self.block);
        put(b":scheme", scheme, &mut self.block);
        put(b":path", req.path?.as_bytes(), &mut self.block);
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("host") {
                put(b":authority", h.value, &mut self.block);
            }
        }
        for h in req.headers.iter() {
            if DROPPED.iter().any(|d| h.name.eq_ignore_ascii_case(d)) {
                continue;
            }
            // Field names are lowercase in HTTP/2 (§8.2.1).
            self.lower.clear();
            self.lower
                .extend(h.name.bytes().map(|b| b.to_ascii_lowercase()));
            put(&self.lower, h.value, &mut self.block);
        }
        Some(n)
    }

    fn step(&mut self, e: Event<Key>) -> Step<M> {
        match e {
            Event::Response {
                meta: key,
                status,
                body_len,
                whole,
            } => {
                let Some(meta) = self.retire(key.id) else {
                    return Step::Broken("HTTP/2: a response on a stream not in flight");
                };
                let set_cookie = match (&whole, self.cookies) {
                    (Some(w), true) if has_set_cookie(w) => {
                        let end = w
                            .windows(4)
                            .position(|x| x == b"\r\n\r\n")
                            .map_or(w.len(), |i| i + 4);
                        Some(CookieHead::New(w[..end].to_vec()))
                    }
                    _ => None,
                };
                Step::Done(Completed {
                    meta,
                    status,
                    body_len,
                    collected: if meta.collect() { whole } else { None },
                    close: false,
                    remaining: None,
                    set_cookie,
                })
            }
            Event::Ended(key, how) => {
                let Some(meta) = self.retire(key.id) else {
                    return Step::Broken("HTTP/2: a reset of a stream not in flight");
                };
                Step::Failed(
                    meta,
                    match how {
                        Ended::Reset(code) => Failure::Reset(code),
                        Ended::Refused => Failure::Refused,
                    },
                )
            }
            Event::Broken(why) => Step::Broken(why),
        }
    }

    /// The meta of stream `id`, which has ended.
    fn retire(&mut self, id: u32) -> Option<M> {
        let i = self.metas.iter().position(|(s, _)| *s == id)?;
        Some(self.metas.remove(i).1)
    }
}

fn has_set_cookie(whole: &[u8]) -> bool {
    whole
        .split(|&b| b == b'\n')
        .take_while(|l| l.len() > 1)
        .any(|l| l.len() > 11 && l[..11].eq_ignore_ascii_case(b"set-cookie:"))
}

impl<M: Meta> Exchange<M> for H2<M> {
    fn stage(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>) -> M) -> u32 {
        self.rendered.clear();
        let mut rendered = std::mem::take(&mut self.rendered);
        let meta = write(&mut rendered);
        self.rendered = rendered;
        let body_at = self.encode().unwrap_or(self.rendered.len());
        let key = Key {
            id: self.client.next_stream(),
            collect: meta.collect(),
        };
        let id = self
            .client
            .stage_block(out, &self.block, &self.rendered[body_at..], key);
        debug_assert_eq!(id, key.id);
        self.metas.push((id, meta));
        id
    }

    fn feed(&mut self, input: &mut &[u8]) -> Step<M> {
        let bytes = std::mem::take(input);
        match self.client.feed(bytes) {
            Some(e) => self.step(e),
            None => Step::Partial,
        }
    }

    fn pending(&self) -> bool {
        self.client.has_events()
    }

    fn eof(&mut self) -> Option<Completed<M>> {
        None
    }

    fn mid_response(&self) -> bool {
        false
    }

    fn control(&mut self, out: &mut Vec<u8>) -> bool {
        self.client.control(out)
    }

    fn keep_cookies(&mut self, on: bool) {
        self.cookies = on;
        self.client.keep_all(on);
    }

    fn in_flight(&self) -> usize {
        self.metas.len()
    }

    fn room(&self) -> Option<usize> {
        if !self.client.may_open() {
            return Some(0);
        }
        let max = self.client.peer().max_streams as usize;
        Some(max.saturating_sub(self.metas.len()))
    }

    fn oldest(&self) -> Option<&M> {
        self.metas.first().map(|(_, m)| m)
    }

    fn each_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut M> {
        self.metas.iter_mut().map(|(_, m)| m)
    }

    fn drain(&mut self) -> impl Iterator<Item = M> {
        // A new connection starts from the preface again.
        let cookies = self.cookies;
        self.client = Client::new(self.https, self.capture_limit);
        self.client.keep_all(cookies);
        self.metas.drain(..).map(|(_, m)| m)
    }
}
