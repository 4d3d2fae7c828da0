//! The built-in target's HTTP/2 (`serve --http2`): a connection that opens with the preface (h2c
//! with prior knowledge, or after ALPN h2) is served by `proto::h2::server`, with the same
//! responses, routes, delays and limits as HTTP/1.1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::handler::{Outgoing, Server};
use crate::io::{Ops, Token};
use crate::proto::h2::frame::PREFACE;
use crate::proto::h2::hpack::{put_field, put_index, put_indexing_field};

/// Entries in HPACK's static table: the dynamic table's newest entry is the next index.
const STATIC_ENTRIES: usize = 61;
use crate::proto::h2::server::Conn;

/// The target's one response as HTTP/2, built once: its HPACK blocks, and its body. As real
/// servers do, a connection's first response adds its fields to the client's table and later
/// ones refer to them (`first`, `again`); `block` adds nothing, for a client whose table is too
/// small. The response counter (`--unique-heads`) is a literal in each, never indexed.
#[derive(Debug, Clone)]
pub struct H2Response {
    block: Arc<[u8]>,
    first: Arc<[u8]>,
    again: Arc<[u8]>,
    body: Arc<[u8]>,
    /// How far from the end of each block the 16 raw hex digits of the counter start.
    counter_from_end: Option<usize>,
}

impl H2Response {
    pub fn new(status: u16, body: &[u8], unique_heads: bool) -> Self {
        let len = body.len().to_string();
        let mut fields: Vec<(&[u8], &[u8])> = Vec::new();
        if status != 204 && status != 304 {
            fields.push((b"content-length", len.as_bytes()));
        }
        fields.push((b"content-type", b"text/plain"));
        let status = status.to_string();
        let (mut block, mut first, mut again) = (Vec::new(), Vec::new(), Vec::new());
        for b in [&mut block, &mut first, &mut again] {
            put_field(b":status", status.as_bytes(), false, false, b);
        }
        for (i, &(name, value)) in fields.iter().enumerate() {
            put_field(name, value, false, false, &mut block);
            put_indexing_field(name, value, &mut first);
            // Each field added pushes the earlier ones down: the last added is entry 62.
            put_index(STATIC_ENTRIES + fields.len() - i, &mut again);
        }
        let counter_from_end = unique_heads.then(|| {
            for b in [&mut block, &mut first, &mut again] {
                // Raw (not Huffman), so it is patched in place at a fixed width.
                put_field(b"x-response", &[b'0'; 16], true, false, b);
            }
            16
        });
        Self {
            block: block.into(),
            first: first.into(),
            again: again.into(),
            body: body.into(),
            counter_from_end,
        }
    }
}

impl Server {
    /// Serves the bytes as HTTP/2 when the connection is (or has just shown it is) HTTP/2;
    /// false when they are HTTP/1.1's to parse. The first bytes are held while they may still
    /// be the start of the preface.
    pub(super) fn sniff_h2(
        &mut self,
        token: Token,
        input: &[u8],
        now: Instant,
        ops: &mut Ops,
    ) -> bool {
        let conn = &mut self.conns[token as usize];
        if conn.h2.is_some() {
            self.consume_h2(token, input, now, ops);
            return true;
        }
        if !conn.fresh {
            return false;
        }
        let first = if conn.sniffed.is_empty() {
            input
        } else {
            conn.sniffed.extend_from_slice(input);
            &conn.sniffed[..]
        };
        let n = first.len().min(PREFACE.len());
        if first[..n] != PREFACE[..n] {
            // HTTP/1.1 (PUT, POST and PATCH start with P too, but not with "PR").
            conn.fresh = false;
            if conn.sniffed.is_empty() {
                return false;
            }
            let held = std::mem::take(&mut conn.sniffed);
            self.consume(token, &held, now, ops);
            return true;
        }
        if n < PREFACE.len() {
            if conn.sniffed.is_empty() {
                conn.sniffed.extend_from_slice(input);
            }
            return true;
        }
        conn.fresh = false;
        conn.h2 = Some(Box::new(Conn::new(self.limits.max_body)));
        let held = std::mem::take(&mut conn.sniffed);
        let bytes = if held.is_empty() { input } else { &held[..] };
        self.consume_h2(token, bytes, now, ops);
        true
    }

    /// Feeds an HTTP/2 connection's bytes and answers the requests they complete.
    fn consume_h2(&mut self, token: Token, input: &[u8], now: Instant, ops: &mut Ops) {
        if self.conns[token as usize].closing {
            return;
        }
        if self.congested(token, ops) {
            let conn = &mut self.conns[token as usize];
            conn.stash.extend_from_slice(input);
            conn.paused = Some(now);
            ops.pause_reading(token);
            ops.notify_drained(token);
            return;
        }
        let mut done = std::mem::take(&mut self.h2_done);
        let conn = self.conns[token as usize]
            .h2
            .as_mut()
            .expect("an HTTP/2 connection");
        if conn.feed(input, ops.out(token), &mut done).is_err() {
            // Its GOAWAY is written: send it, then close.
            self.conns[token as usize].closing = true;
            ops.slots[token as usize].close_after_send = true;
            ops.flush(token);
            done.clear();
            self.h2_done = done;
            return;
        }
        for req in done.drain(..) {
            let (outgoing, delay) = if req.too_large {
                let bytes = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n";
                (Outgoing::Bytes(bytes.to_vec()), Duration::ZERO)
            } else {
                let head = req.method == "HEAD";
                match &mut self.routes {
                    None => (Outgoing::Fixed { head }, self.responses.delay),
                    Some((routes, state)) => {
                        let reply =
                            routes.answer(state, &req.method, &req.path, &req.authorization, head);
                        (Outgoing::Bytes(reply.bytes), reply.delay)
                    }
                }
            };
            self.enqueue(token, outgoing, false, req.stream, delay, now, ops);
        }
        self.h2_done = done;
        // Acknowledgements and window updates go out even when nothing was answered.
        ops.flush(token);
    }

    /// Answers HTTP/2 stream `stream` with `outgoing`.
    pub(super) fn answer_h2(
        &mut self,
        token: Token,
        stream: u32,
        outgoing: Outgoing,
        now: Instant,
        ops: &mut Ops,
    ) {
        let Self {
            conns,
            responses,
            h2_block,
            answered,
            ..
        } = self;
        let conn = &mut conns[token as usize];
        let h2 = conn.h2.as_mut().expect("an HTTP/2 connection");
        let out = ops.out(token);
        match outgoing {
            Outgoing::Fixed { head } => {
                let r = &responses.h2;
                let fixed: &[u8] = match (h2.may_index(), h2.indexed) {
                    (false, _) => &r.block,
                    (true, false) => {
                        h2.indexed = true;
                        &r.first
                    }
                    (true, true) => &r.again,
                };
                let block: &[u8] = match r.counter_from_end {
                    Some(back) => {
                        h2_block.clear();
                        h2_block.extend_from_slice(fixed);
                        let at = h2_block.len() - back;
                        for (i, b) in h2_block[at..at + 16].iter_mut().enumerate() {
                            *b = b"0123456789abcdef"[((*answered >> (60 - 4 * i)) & 0xf) as usize];
                        }
                        h2_block
                    }
                    None => fixed,
                };
                let body: &[u8] = if head { &[] } else { &r.body };
                h2.respond(stream, block, body, out);
            }
            Outgoing::Bytes(bytes) => {
                let (block, body_at) = from_http1(&bytes);
                h2.respond(stream, &block, &bytes[body_at..], out);
            }
        }
        *answered += 1;
        conn.last_activity = now;
        ops.flush(token);
    }
}

/// Header fields HTTP/2 forbids in a response (RFC 9113 §8.2.2).
const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// An HTTP/1.1 response (a mock route's, or an error answer) as an HPACK block, and where its
/// body starts.
fn from_http1(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut slots);
    let (status, at) = match resp.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => (resp.code.unwrap_or(500), n),
        _ => (500, bytes.len()),
    };
    let mut block = Vec::new();
    put_field(
        b":status",
        status.to_string().as_bytes(),
        false,
        false,
        &mut block,
    );
    let mut name = Vec::new();
    for h in resp.headers.iter().filter(|h| !h.name.is_empty()) {
        if HOP_BY_HOP.iter().any(|d| h.name.eq_ignore_ascii_case(d)) {
            continue;
        }
        name.clear();
        name.extend(h.name.bytes().map(|b| b.to_ascii_lowercase()));
        put_field(&name, h.value, false, false, &mut block);
    }
    (block, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::h2::hpack::Decoder;

    fn fields(d: &mut Decoder, block: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        d.decode(block, |n, v| {
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            out.push((s(n), s(v)));
        })
        .expect("decodes");
        out
    }

    #[test]
    fn the_indexed_response_reads_the_same_as_the_stateless_one_in_order() {
        for (status, unique) in [(200, false), (200, true), (404, false), (204, true)] {
            let r = H2Response::new(status, b"Hello, world!", unique);
            let want = fields(&mut Decoder::new(4096), &r.block);
            let mut d = Decoder::new(4096);
            assert_eq!(fields(&mut d, &r.first), want, "{status} {unique}");
            for _ in 0..3 {
                assert_eq!(fields(&mut d, &r.again), want, "{status} {unique}");
            }
            assert!(r.again.len() < r.block.len(), "references are shorter");
            assert_eq!(want[0], (":status".into(), status.to_string()));
            assert_eq!(want.iter().any(|(n, _)| n == "x-response"), unique);
        }
    }
}
