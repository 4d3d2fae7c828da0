//! The built-in target's HTTP/2 (`serve --http2`): a connection that opens with the preface (h2c
//! with prior knowledge, or after ALPN h2) is served by `proto::h2::server`, with the same
//! responses, routes, delays and limits as HTTP/1.1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::handler::{Outgoing, Server};
use crate::io::{Ops, Token};
use crate::proto::h2::frame::PREFACE;
use crate::proto::h2::hpack::put_field;
use crate::proto::h2::server::Conn;

/// The target's one response as HTTP/2: its HPACK block, built once, and its body.
#[derive(Debug, Clone)]
pub struct H2Response {
    block: Arc<[u8]>,
    body: Arc<[u8]>,
    /// Where the 16 raw hex digits of the response counter sit in the block (`--unique-heads`).
    counter_at: Option<usize>,
}

impl H2Response {
    pub fn new(status: u16, body: &[u8], unique_heads: bool) -> Self {
        let mut block = Vec::new();
        put_field(
            b":status",
            status.to_string().as_bytes(),
            false,
            false,
            &mut block,
        );
        if status != 204 && status != 304 {
            let len = body.len().to_string();
            put_field(b"content-length", len.as_bytes(), false, false, &mut block);
        }
        put_field(b"content-type", b"text/plain", false, false, &mut block);
        let counter_at = unique_heads.then(|| {
            // Raw (not Huffman), so it is patched in place at a fixed width.
            put_field(b"x-response", &[b'0'; 16], true, false, &mut block);
            block.len() - 16
        });
        Self {
            block: block.into(),
            body: body.into(),
            counter_at,
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
                let block: &[u8] = match r.counter_at {
                    Some(at) => {
                        h2_block.clear();
                        h2_block.extend_from_slice(&r.block);
                        for (i, b) in h2_block[at..at + 16].iter_mut().enumerate() {
                            *b = b"0123456789abcdef"[((*answered >> (60 - 4 * i)) & 0xf) as usize];
                        }
                        h2_block
                    }
                    None => &r.block,
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
