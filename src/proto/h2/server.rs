//! One HTTP/2 connection as the built-in target serves it, sans-IO: the client's preface and
//! frames in, whole requests out, and responses framed within the client's flow-control windows.

use super::frame::{self, Frame, flag, kind, setting};
use super::hpack;

/// Streams a client may have open at once (we advertise it, and refuse streams past it).
pub const MAX_STREAMS: u32 = 256;
/// Our receive window, per stream and for the connection (request bodies).
const WINDOW: u32 = 1 << 20;
/// The most bytes one header block may take, CONTINUATION frames included.
const MAX_BLOCK: usize = 64 * 1024;
/// The HPACK table we let the client use.
const TABLE: usize = 4096;
/// The window every stream starts with before the client's SETTINGS say otherwise.
const DEFAULT_WINDOW: u32 = 65_535;

/// HTTP/2 error codes the server sends (RFC 9113 §7).
pub mod code {
    pub const PROTOCOL_ERROR: u32 = 0x1;
    pub const FLOW_CONTROL_ERROR: u32 = 0x3;
    pub const FRAME_SIZE_ERROR: u32 = 0x6;
    pub const REFUSED_STREAM: u32 = 0x7;
    pub const COMPRESSION_ERROR: u32 = 0x9;
    pub const ENHANCE_YOUR_CALM: u32 = 0xb;
}

/// A request whose head, and body if any, has arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub stream: u32,
    pub method: String,
    pub path: String,
    pub authorization: Vec<u8>,
    /// Body bytes received.
    pub body: u64,
    /// The body grew past the limit: answer 413, and its stream takes no more.
    pub too_large: bool,
}

/// Why the connection cannot go on: the GOAWAY code, and words for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnError {
    pub code: u32,
    pub why: &'static str,
}

fn fail<T>(code: u32, why: &'static str) -> Result<T, ConnError> {
    Err(ConnError { code, why })
}

/// A stream whose request is still arriving.
#[derive(Debug)]
struct Incoming {
    req: Request,
}

/// A response body waiting for window.
#[derive(Debug)]
struct Sending {
    id: u32,
    rest: Vec<u8>,
    window: i64,
}

/// One connection's state on the server side.
#[derive(Debug)]
pub struct Conn {
    started: bool,
    /// Bytes of the client's preface seen so far.
    preface: usize,
    partial: Vec<u8>,
    decoder: hpack::Decoder,
    /// A header block arriving in CONTINUATION frames: its stream, bytes and END_STREAM.
    block: Option<(u32, Vec<u8>, bool)>,
    incoming: Vec<Incoming>,
    sending: Vec<Sending>,
    /// Streams answered or refused since the client opened them, not yet ended: counted against
    /// MAX_STREAMS with `incoming` (a response waiting for its delay, or for window).
    open: usize,
    last_id: u32,
    peer_window: u32,
    peer_frame: usize,
    send_window: i64,
    /// Request body bytes received since our last connection WINDOW_UPDATE.
    unacked: u32,
    max_body: u64,
    /// The client sent GOAWAY: it opens no more streams.
    pub goaway: bool,
    /// The HPACK table size the client's decoder allows us (SETTINGS_HEADER_TABLE_SIZE).
    peer_table: u32,
    /// The caller's fixed response fields are in the client's table (it sent them indexed).
    pub indexed: bool,
}

impl Conn {
    /// A connection whose request bodies may be up to `max_body` bytes.
    pub fn new(max_body: u64) -> Self {
        Self {
            started: false,
            preface: 0,
            partial: Vec::new(),
            decoder: hpack::Decoder::new(TABLE),
            block: None,
            incoming: Vec::new(),
            sending: Vec::new(),
            open: 0,
            last_id: 0,
            peer_window: DEFAULT_WINDOW,
            peer_frame: frame::MIN_FRAME,
            send_window: i64::from(DEFAULT_WINDOW),
            unacked: 0,
            max_body,
            goaway: false,
            peer_table: TABLE as u32,
            indexed: false,
        }
    }

    /// Whether responses may add to the client's HPACK table: its table is the default size or
    /// larger, so no size update is owed and what we add stays until we add more.
    pub fn may_index(&self) -> bool {
        self.peer_table as usize >= TABLE
    }

    /// Streams open: requests arriving, and requests answered in part or not yet.
    pub fn open_streams(&self) -> usize {
        self.open
    }

    /// Feeds received bytes: requests that completed are appended to `done`, frames the
    /// connection owes (SETTINGS, acknowledgements, window updates, resets) to `out`. An error
    /// ends the connection: its GOAWAY is in `out`, and the caller closes after sending it.
    pub fn feed(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        done: &mut Vec<Request>,
    ) -> Result<(), ConnError> {
        let r = self.feed_inner(input, out, done);
        if let Err(e) = r {
            frame::goaway(self.last_id, e.code, out);
        }
        r
    }

    fn feed_inner(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        done: &mut Vec<Request>,
    ) -> Result<(), ConnError> {
        if !self.started {
            self.started = true;
            frame::settings(
                &[
                    (setting::MAX_CONCURRENT_STREAMS, MAX_STREAMS),
                    (setting::INITIAL_WINDOW_SIZE, WINDOW),
                    (setting::HEADER_TABLE_SIZE, TABLE as u32),
                ],
                out,
            );
            frame::window_update(0, WINDOW - DEFAULT_WINDOW, out);
        }
        if self.preface < frame::PREFACE.len() {
            let n = (frame::PREFACE.len() - self.preface).min(input.len());
            if input[..n] != frame::PREFACE[self.preface..self.preface + n] {
                return fail(code::PROTOCOL_ERROR, "not the HTTP/2 connection preface");
            }
            self.preface += n;
            input = &input[n..];
        }
        let kept;
        let data: &[u8] = if self.partial.is_empty() {
            input
        } else {
            self.partial.extend_from_slice(input);
            kept = std::mem::take(&mut self.partial);
            &kept
        };
        let mut at = 0;
        loop {
            match Frame::read(&data[at..], frame::MIN_FRAME) {
                Err(why) => return fail(code::FRAME_SIZE_ERROR, why),
                Ok(None) => break,
                Ok(Some((f, n))) => {
                    at += n;
                    self.on_frame(&f, out, done)?;
                }
            }
        }
        self.partial.extend_from_slice(&data[at..]);
        Ok(())
    }

    fn on_frame(
        &mut self,
        f: &Frame,
        out: &mut Vec<u8>,
        done: &mut Vec<Request>,
    ) -> Result<(), ConnError> {
        if let Some((id, _, _)) = &self.block
            && (f.kind != kind::CONTINUATION || f.stream != *id)
        {
            return fail(code::PROTOCOL_ERROR, "a frame inside a header block");
        }
        match f.kind {
            kind::SETTINGS => {
                if f.stream != 0 {
                    return fail(code::PROTOCOL_ERROR, "SETTINGS on a stream");
                }
                if f.flags & flag::ACK == 0 {
                    self.settings(f.payload)?;
                    frame::settings_ack(out);
                    self.flush(out);
                }
            }
            kind::PING => {
                if f.payload.len() != 8 {
                    return fail(code::FRAME_SIZE_ERROR, "PING that is not 8 bytes");
                }
                if f.flags & flag::ACK == 0 {
                    frame::ping_ack(f.payload, out);
                }
            }
            kind::WINDOW_UPDATE => {
                let inc = frame::u32_at(f.payload, 0, true).ok_or(ConnError {
                    code: code::FRAME_SIZE_ERROR,
                    why: "short WINDOW_UPDATE",
                })?;
                if inc == 0 {
                    return fail(code::PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
                }
                if f.stream == 0 {
                    self.send_window += i64::from(inc);
                    if self.send_window > frame::MAX_WINDOW {
                        return fail(code::FLOW_CONTROL_ERROR, "connection window above 2^31-1");
                    }
                } else if let Some(s) = self.sending.iter_mut().find(|s| s.id == f.stream) {
                    s.window += i64::from(inc);
                    if s.window > frame::MAX_WINDOW {
                        return fail(code::FLOW_CONTROL_ERROR, "stream window above 2^31-1");
                    }
                }
                self.flush(out);
            }
            kind::HEADERS => {
                let block = f.content().or(fail(code::PROTOCOL_ERROR, "bad padding"))?;
                let end = f.flags & flag::END_STREAM != 0;
                if f.flags & flag::END_HEADERS != 0 {
                    self.on_headers(f.stream, block, end, out, done)?;
                } else {
                    self.block = Some((f.stream, block.to_vec(), end));
                }
            }
            kind::CONTINUATION => {
                let Some((id, mut block, end)) = self.block.take() else {
                    return fail(code::PROTOCOL_ERROR, "CONTINUATION without HEADERS");
                };
                block.extend_from_slice(f.payload);
                if block.len() > MAX_BLOCK {
                    return fail(code::ENHANCE_YOUR_CALM, "a header block over 64 KiB");
                }
                if f.flags & flag::END_HEADERS != 0 {
                    self.on_headers(id, &block, end, out, done)?;
                } else {
                    self.block = Some((id, block, end));
                }
            }
            kind::DATA => {
                let body = f.content().or(fail(code::PROTOCOL_ERROR, "bad padding"))?;
                self.on_data(f.stream, body, f.payload.len(), f.flags, out, done)?;
            }
            kind::RST_STREAM => {
                if f.payload.len() != 4 {
                    return fail(code::FRAME_SIZE_ERROR, "RST_STREAM that is not 4 bytes");
                }
                let before = self.incoming.len() + self.sending.len();
                self.incoming.retain(|s| s.req.stream != f.stream);
                self.sending.retain(|s| s.id != f.stream);
                let gone = before - self.incoming.len() - self.sending.len();
                self.open = self.open.saturating_sub(gone);
            }
            kind::GOAWAY => self.goaway = true,
            kind::PUSH_PROMISE => return fail(code::PROTOCOL_ERROR, "PUSH_PROMISE from a client"),
            // PRIORITY and unknown types are ignored (§5.5).
            _ => {}
        }
        Ok(())
    }

    fn settings(&mut self, payload: &[u8]) -> Result<(), ConnError> {
        let params =
            frame::read_settings(payload).or(fail(code::FRAME_SIZE_ERROR, "bad SETTINGS"))?;
        for (id, v) in params {
            match id {
                setting::INITIAL_WINDOW_SIZE => {
                    if i64::from(v) > frame::MAX_WINDOW {
                        return fail(code::FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE above 2^31-1");
                    }
                    let delta = i64::from(v) - i64::from(self.peer_window);
                    for s in &mut self.sending {
                        s.window += delta;
                    }
                    self.peer_window = v;
                }
                setting::MAX_FRAME_SIZE => {
                    let v = v as usize;
                    if !(frame::MIN_FRAME..=frame::MAX_FRAME).contains(&v) {
                        return fail(code::PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range");
                    }
                    self.peer_frame = v;
                }
                setting::HEADER_TABLE_SIZE => self.peer_table = v,
                _ => {}
            }
        }
        Ok(())
    }

    fn on_headers(
        &mut self,
        id: u32,
        block: &[u8],
        end: bool,
        out: &mut Vec<u8>,
        done: &mut Vec<Request>,
    ) -> Result<(), ConnError> {
        let mut req = Request {
            stream: id,
            method: String::new(),
            path: String::new(),
            authorization: Vec::new(),
            body: 0,
            too_large: false,
        };
        let decoded = self.decoder.decode(block, |n, v| match n {
            b":method" => req.method = String::from_utf8_lossy(v).into_owned(),
            b":path" => req.path = String::from_utf8_lossy(v).into_owned(),
            b"authorization" => req.authorization = v.to_vec(),
            _ => {}
        });
        if decoded.is_err() {
            return fail(
                code::COMPRESSION_ERROR,
                "a header block that does not decode",
            );
        }
        if let Some(i) = self.incoming.iter().position(|s| s.req.stream == id) {
            // Trailers: they end the request.
            if !end {
                return fail(code::PROTOCOL_ERROR, "trailers without END_STREAM");
            }
            let s = self.incoming.swap_remove(i);
            done.push(s.req);
            return Ok(());
        }
        if id.is_multiple_of(2) || id <= self.last_id {
            return fail(code::PROTOCOL_ERROR, "HEADERS on a stream that cannot open");
        }
        self.last_id = id;
        if self.open >= MAX_STREAMS as usize {
            frame::rst_stream(id, code::REFUSED_STREAM, out);
            return Ok(());
        }
        if req.method.is_empty() || req.path.is_empty() {
            frame::rst_stream(id, code::PROTOCOL_ERROR, out);
            return Ok(());
        }
        self.open += 1;
        if end {
            done.push(req);
        } else {
            self.incoming.push(Incoming { req });
        }
        Ok(())
    }

    fn on_data(
        &mut self,
        id: u32,
        body: &[u8],
        flow: usize,
        flags: u8,
        out: &mut Vec<u8>,
        done: &mut Vec<Request>,
    ) -> Result<(), ConnError> {
        // The connection's window comes back in halves; a stream's with each frame.
        self.unacked += flow as u32;
        if self.unacked >= WINDOW / 2 {
            frame::window_update(0, self.unacked, out);
            self.unacked = 0;
        }
        let Some(i) = self.incoming.iter().position(|s| s.req.stream == id) else {
            // A stream already answered (its body was too large), reset, or never opened.
            if id > self.last_id {
                return fail(code::PROTOCOL_ERROR, "DATA on a stream not open");
            }
            return Ok(());
        };
        let s = &mut self.incoming[i];
        s.req.body += body.len() as u64;
        if s.req.body > self.max_body {
            let mut s = self.incoming.swap_remove(i);
            s.req.too_large = true;
            done.push(s.req);
            return Ok(());
        }
        if flags & flag::END_STREAM != 0 {
            let s = self.incoming.swap_remove(i);
            done.push(s.req);
        } else if flow > 0 {
            frame::window_update(id, flow as u32, out);
        }
        Ok(())
    }

    /// Answers stream `id` with an encoded header block and a body, as much of it as the
    /// client's windows allow now; the rest follows as they open.
    pub fn respond(&mut self, id: u32, block: &[u8], body: &[u8], out: &mut Vec<u8>) {
        frame::headers(id, block, body.is_empty(), self.peer_frame, out);
        if body.is_empty() {
            self.open = self.open.saturating_sub(1);
            return;
        }
        let window = i64::from(self.peer_window);
        let n = (body.len() as i64).min(window).min(self.send_window).max(0) as usize;
        frame::data(id, &body[..n], n == body.len(), self.peer_frame, out);
        self.send_window -= n as i64;
        if n == body.len() {
            self.open = self.open.saturating_sub(1);
        } else {
            self.sending.push(Sending {
                id,
                rest: body[n..].to_vec(),
                window: window - n as i64,
            });
        }
    }

    /// Sends what the windows now allow of bodies that were waiting.
    fn flush(&mut self, out: &mut Vec<u8>) {
        let mut finished = 0;
        for s in &mut self.sending {
            let n = (s.rest.len() as i64)
                .min(s.window)
                .min(self.send_window)
                .max(0) as usize;
            if n == 0 {
                continue;
            }
            let last = n == s.rest.len();
            frame::data(s.id, &s.rest[..n], last, self.peer_frame, out);
            s.rest.drain(..n);
            s.window -= n as i64;
            self.send_window -= n as i64;
            finished += usize::from(last);
        }
        if finished > 0 {
            self.sending.retain(|s| !s.rest.is_empty());
            self.open = self.open.saturating_sub(finished);
        }
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
