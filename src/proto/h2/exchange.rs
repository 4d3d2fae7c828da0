//! HTTP/2 on the protocol seam: each request the client renders (as HTTP/1.1 bytes) becomes a
//! stream of the connection's `Client`, and each stream's end a step, in the order they end.

use super::client::{Client, Ended, Event};
use crate::http::response::CookieHead;
use crate::proto::{Completed, Exchange, Failure, Meta, Signals, Step};

/// Header fields HTTP/2 forbids (RFC 9113 §8.2.2), and Host, which `:authority` replaces.
const DROPPED: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Request heads whose HPACK blocks are kept: a scenario's distinct templates, most often.
const CACHED_BLOCKS: usize = 8;

/// A request head (HTTP/1.1, through its blank line) and its HPACK block.
#[derive(Debug, Default)]
struct Encoded {
    head: Vec<u8>,
    block: Vec<u8>,
}

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
    /// The last heads encoded, so a request whose head repeats one (a static request, or a
    /// template whose values are the same) reuses its block: each is encoded once.
    cache: Vec<Encoded>,
    /// The entry the next new head replaces, round robin.
    evict: usize,
    /// The last head encoded, field by field: a new head encodes only the fields that changed.
    memo: super::memo::FieldMemo,
    /// Streams in flight, in staging order (the seam's oldest-first view).
    metas: std::collections::VecDeque<(u32, M)>,
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
            cache: Vec::new(),
            evict: 0,
            memo: Default::default(),
            metas: std::collections::VecDeque::new(),
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
        // Only the fields that differ from the last head's are encoded; the rest are copied.
        let (memo, block) = (&mut self.memo, &mut self.block);
        block.clear();
        memo.begin();
        memo.put(0, b":method", req.method?.as_bytes(), block);
        memo.put(1, b":scheme", scheme, block);
        memo.put(2, b":path", req.path?.as_bytes(), block);
        let mut i = 3;
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("host") {
                memo.put(i, b":authority", h.value, block);
                i += 1;
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
            memo.put(i, &self.lower, h.value, block);
            i += 1;
        }
        memo.end(block);
        Some(n)
    }

    /// Keeps the block just encoded for the head `rendered[..head_len]`.
    fn remember(&mut self, head_len: usize) {
        if !self.rendered[..head_len].ends_with(b"\r\n\r\n") {
            return;
        }
        if self.cache.len() < CACHED_BLOCKS {
            self.cache.push(Encoded::default());
        }
        let i = self.evict.min(self.cache.len() - 1);
        self.evict = (i + 1) % CACHED_BLOCKS;
        let e = &mut self.cache[i];
        e.head.clear();
        e.head.extend_from_slice(&self.rendered[..head_len]);
        e.block.clear();
        e.block.extend_from_slice(&self.block);
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
        // Streams mostly end in the order they opened: the oldest is found first, and taken
        // off the front without moving the rest.
        let i = self.metas.iter().position(|(s, _)| *s == id)?;
        self.metas.remove(i).map(|(_, m)| m)
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
        let key = Key {
            id: self.client.next_stream(),
            collect: meta.collect(),
        };
        // A head that ends in its blank line and starts the request repeats it exactly.
        let id = match self
            .cache
            .iter()
            .position(|e| self.rendered.starts_with(&e.head))
        {
            Some(i) => {
                let (e, body) = (&self.cache[i], &self.rendered[self.cache[i].head.len()..]);
                self.client.stage_block(out, &e.block, body, key)
            }
            None => {
                let body_at = self.encode().unwrap_or(self.rendered.len());
                let id = self
                    .client
                    .stage_block(out, &self.block, &self.rendered[body_at..], key);
                self.remember(body_at);
                id
            }
        };
        debug_assert_eq!(id, key.id);
        self.metas.push_back((id, meta));
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

    fn signals(&mut self) -> Signals {
        Signals {
            goaways: self.client.take_goaways(),
            stalled: self.client.waiting(),
        }
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
        self.metas.front().map(|(_, m)| m)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::h2::hpack::Decoder;

    #[derive(Debug, Clone, Copy)]
    struct M;
    impl Meta for M {
        fn head(&self) -> bool {
            false
        }
        fn collect(&self) -> bool {
            false
        }
    }

    /// The fields of the HEADERS frame at the end of `out`, and what follows it.
    fn last_request(out: &[u8], from: usize) -> (Vec<(String, String)>, Vec<u8>) {
        // The first request follows the connection preface.
        let mut at = from
            + if out[from..].starts_with(b"PRI * ") {
                24
            } else {
                0
            };
        let (mut fields, mut data) = (Vec::new(), Vec::new());
        while at + 9 <= out.len() {
            let len = u32::from_be_bytes([0, out[at], out[at + 1], out[at + 2]]) as usize;
            let payload = &out[at + 9..at + 9 + len];
            match out[at + 3] {
                0x1 => Decoder::new(4096)
                    .decode(payload, |n, v| {
                        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                        fields.push((s(n), s(v)));
                    })
                    .unwrap(),
                0x0 => data.extend_from_slice(payload),
                _ => {}
            }
            at += 9 + len;
        }
        (fields, data)
    }

    fn stage(h: &mut H2<M>, out: &mut Vec<u8>, req: &str) -> (Vec<(String, String)>, Vec<u8>) {
        let from = out.len();
        h.stage(out, |o| {
            o.extend_from_slice(req.as_bytes());
            M
        });
        last_request(out, from)
    }

    #[test]
    fn a_repeated_head_reuses_its_block_and_a_changed_one_is_encoded_afresh() {
        let mut h = H2::<M>::new(false, 1024);
        let mut out = Vec::new();
        let get = "GET /a HTTP/1.1\r\nHost: x:1\r\nX-Id: 7\r\n\r\n";
        let first = stage(&mut h, &mut out, get);
        assert_eq!(h.cache.len(), 1);
        let again = stage(&mut h, &mut out, get);
        assert_eq!(first, again);
        assert_eq!(h.cache.len(), 1, "the repeat was not encoded again");
        // A value that differs is a different head, however small the change.
        let (fields, _) = stage(
            &mut h,
            &mut out,
            "GET /a HTTP/1.1\r\nHost: x:1\r\nX-Id: 8\r\n\r\n",
        );
        assert!(fields.contains(&("x-id".into(), "8".into())), "{fields:?}");
        assert_eq!(h.cache.len(), 2);
        // The same head with another body: the block is reused, the body is this request's.
        let post =
            |b: &str| format!("POST /p HTTP/1.1\r\nHost: x:1\r\nContent-Length: 3\r\n\r\n{b}");
        let (f1, d1) = stage(&mut h, &mut out, &post("one"));
        let (f2, d2) = stage(&mut h, &mut out, &post("two"));
        assert_eq!(
            (f1, d1.as_slice(), d2.as_slice()),
            (f2, &b"one"[..], &b"two"[..])
        );
        assert_eq!(h.cache.len(), 3);
        // The cache is bounded: older heads give way.
        for i in 0..20 {
            stage(
                &mut h,
                &mut out,
                &format!("GET /{i} HTTP/1.1\r\nHost: x:1\r\n\r\n"),
            );
        }
        assert_eq!(h.cache.len(), CACHED_BLOCKS);
        let (fields, _) = stage(&mut h, &mut out, get);
        assert_eq!(fields, first.0);
        assert!(fields.contains(&(":path".into(), "/a".into())));
        assert!(fields.contains(&(":authority".into(), "x:1".into())));
    }
}
