//! One HTTP/2 client connection (RFC 9113) as a sans-IO state machine: requests staged as
//! HEADERS and DATA frames, received frames fed in, each stream's end handed out in turn.

use std::collections::VecDeque;

use super::frame::{self, Frame, flag, kind, setting};
use super::hpack;
use crate::proto::Meta;

/// What we announce, and the defaults we assume of the peer until its SETTINGS arrive.
const OUR_WINDOW: u32 = 1 << 24;
const OUR_TABLE: usize = 4096;
const DEFAULT_WINDOW: i64 = 65_535;

/// The server's settings, as last announced (RFC 9113 §6.5.2 defaults until then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerSettings {
    pub max_streams: u32,
    pub initial_window: u32,
    pub max_frame: usize,
}

impl Default for PeerSettings {
    fn default() -> Self {
        Self {
            max_streams: u32::MAX,
            initial_window: DEFAULT_WINDOW as u32,
            max_frame: frame::MIN_FRAME,
        }
    }
}

/// How a stream ended, when it did not end with a whole response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The server reset the stream (RST_STREAM) with this error code.
    Reset(u32),
    /// The server's GOAWAY said it never processed the stream: it may be sent again.
    Refused,
}

/// What feeding received bytes produced, one at a time.
#[derive(Debug)]
pub enum Event<M> {
    /// A stream's response is complete: status, body bytes, and, when asked for, the response
    /// written as HTTP/1.1 (head and body) for captures and checks.
    Response {
        meta: M,
        status: u16,
        body_len: u64,
        whole: Option<Vec<u8>>,
    },
    /// A stream ended without a response.
    Ended(M, Ended),
    /// The connection cannot go on (a protocol, compression or flow-control error, or a GOAWAY
    /// with an error): what is in flight is the caller's to drain.
    Broken(&'static str),
}

#[derive(Debug)]
struct Stream<M> {
    id: u32,
    meta: M,
    status: Option<u16>,
    body_len: u64,
    /// The response as HTTP/1.1 text, when the request asked to keep it (None past the bound).
    whole: Option<Vec<u8>>,
    /// Request body bytes still waiting for flow-control window.
    unsent: Vec<u8>,
    send_window: i64,
}

/// One connection's streams and what it knows of the peer.
#[derive(Debug)]
pub struct Client<M> {
    scheme: &'static str,
    started: bool,
    next_id: u32,
    streams: VecDeque<Stream<M>>,
    /// The end of a frame whose start arrived in an earlier read.
    partial: Vec<u8>,
    decoder: hpack::Decoder,
    peer: PeerSettings,
    send_window: i64,
    /// Bytes received on the connection since our last WINDOW_UPDATE for it.
    unacked: u32,
    /// Frames to send on our own: SETTINGS and PING acknowledgements, WINDOW_UPDATEs, DATA
    /// that window has opened for.
    control: Vec<u8>,
    /// A header block arriving in CONTINUATION frames: its stream, bytes and END_STREAM.
    block: Option<(u32, Vec<u8>, bool)>,
    /// The last stream a GOAWAY said the server would process.
    goaway: Option<u32>,
    /// GOAWAY frames received and not yet reported (`take_goaways`).
    goaways: u32,
    /// Some stream's body bytes wait for window (kept as streams change, not searched for).
    waiting: bool,
    capture_limit: usize,
    keep_all: bool,
    events: VecDeque<Event<M>>,
}

/// One field into a request's block: credentials never indexed (RFC 7541 §7.1.3).
pub fn put(name: &[u8], value: &[u8], block: &mut Vec<u8>) {
    let sensitive = matches!(name, b"authorization" | b"cookie" | b"proxy-authorization");
    hpack::put_field(name, value, false, sensitive, block);
}

/// What a request needs to be framed: fields in order (pseudo-headers first) and its body.
pub struct Request<'a> {
    pub fields: Vec<(&'a [u8], &'a [u8])>,
    pub body: &'a [u8],
}

impl<M: Meta> Client<M> {
    /// A connection over `https` or not; at most `capture_limit` bytes of a response kept.
    pub fn new(https: bool, capture_limit: usize) -> Self {
        Self {
            scheme: if https { "https" } else { "http" },
            started: false,
            next_id: 1,
            streams: VecDeque::new(),
            partial: Vec::new(),
            decoder: hpack::Decoder::new(OUR_TABLE),
            peer: PeerSettings::default(),
            send_window: DEFAULT_WINDOW,
            unacked: 0,
            control: Vec::new(),
            block: None,
            goaway: None,
            goaways: 0,
            waiting: false,
            capture_limit,
            keep_all: false,
            events: VecDeque::new(),
        }
    }

    pub fn peer(&self) -> PeerSettings {
        self.peer
    }

    pub fn in_flight(&self) -> usize {
        self.streams.len()
    }

    /// The id the next staged stream gets.
    pub fn next_stream(&self) -> u32 {
        self.next_id
    }

    /// Events are waiting: call `feed` again, with no bytes.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Keep every response's head (for the cookies it sets), not only those asked for.
    pub fn keep_all(&mut self, on: bool) {
        self.keep_all = on;
    }

    /// GOAWAY frames received since the last call.
    pub fn take_goaways(&mut self) -> u32 {
        std::mem::take(&mut self.goaways)
    }

    /// Whether some request body waits for the peer's flow-control window.
    pub fn waiting(&self) -> bool {
        self.waiting
    }

    /// Looks again whether a body waits, after a stream that may have held one ended.
    fn recheck_waiting(&mut self) {
        if self.waiting {
            self.waiting = self.streams.iter().any(|s| !s.unsent.is_empty());
        }
    }

    /// Whether another stream may open now: under the peer's limit, and no GOAWAY.
    pub fn may_open(&self) -> bool {
        self.goaway.is_none() && (self.streams.len() as u64) < u64::from(self.peer.max_streams)
    }

    /// The scheme the `:scheme` pseudo-header carries.
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Writes the connection preface and our SETTINGS, once, before the first request.
    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        out.extend_from_slice(frame::PREFACE);
        frame::settings(
            &[
                (setting::ENABLE_PUSH, 0),
                (setting::INITIAL_WINDOW_SIZE, OUR_WINDOW),
                (setting::HEADER_TABLE_SIZE, OUR_TABLE as u32),
            ],
            out,
        );
        // The connection's window opens as far as the streams'.
        frame::window_update(0, OUR_WINDOW - DEFAULT_WINDOW as u32, out);
    }

    /// Frames a request on a new stream into `out`: HEADERS (and CONTINUATION) from an HPACK
    /// block of its fields, then as much of the body as the windows allow (the rest goes out
    /// as they open). Returns the stream id.
    pub fn stage(&mut self, out: &mut Vec<u8>, req: &Request, meta: M) -> u32 {
        let mut block = Vec::with_capacity(128);
        for (n, v) in &req.fields {
            put(n, v, &mut block);
        }
        self.stage_block(out, &block, req.body, meta)
    }

    /// As `stage`, with the header block already encoded (stateless HPACK, so it means the same
    /// on any connection).
    pub fn stage_block(&mut self, out: &mut Vec<u8>, block: &[u8], body: &[u8], meta: M) -> u32 {
        self.start(out);
        let id = self.next_id;
        self.next_id += 2;
        let max = self.peer.max_frame;
        frame::headers(id, block, body.is_empty(), max, out);
        let mut s = Stream {
            id,
            meta,
            status: None,
            body_len: 0,
            whole: None,
            unsent: Vec::new(),
            send_window: i64::from(self.peer.initial_window),
        };
        if !body.is_empty() {
            let n = (body.len() as i64)
                .min(s.send_window)
                .min(self.send_window)
                .max(0) as usize;
            frame::data(id, &body[..n], n == body.len(), max, out);
            s.send_window -= n as i64;
            self.send_window -= n as i64;
            s.unsent = body[n..].to_vec();
            self.waiting |= !s.unsent.is_empty();
        }
        self.streams.push_back(s);
        id
    }

    /// Frames to send on the client's behalf (acknowledgements, window updates, body bytes the
    /// peer's window has let through): appended to `out`; false when there are none.
    pub fn control(&mut self, out: &mut Vec<u8>) -> bool {
        if self.control.is_empty() {
            return false;
        }
        // The preface precedes every frame we send: a connection that has sent no request yet
        // (its users all thinking) still acknowledges the server's SETTINGS after it.
        self.start(out);
        out.append(&mut self.control);
        true
    }

    /// Feeds received bytes: every whole frame in them is handled now (a frame cut at the end
    /// waits for the rest), and the events they made come out one a call; call again with no
    /// bytes while `has_events`. The bytes are read where they lie: only a frame that spans two
    /// reads is copied, and only its own bytes.
    pub fn feed(&mut self, input: &[u8]) -> Option<Event<M>> {
        if !input.is_empty() {
            self.take_in(input);
        }
        self.events.pop_front()
    }

    fn take_in(&mut self, mut input: &[u8]) {
        // First the frame that began in an earlier read.
        while !self.partial.is_empty() {
            let p = &self.partial;
            let need = if p.len() < 9 {
                9
            } else {
                9 + ((usize::from(p[0]) << 16) | (usize::from(p[1]) << 8) | usize::from(p[2]))
            };
            if need > 9 + OUR_FRAME {
                self.events.push_back(Event::Broken(
                    "HTTP/2: a frame larger than SETTINGS_MAX_FRAME_SIZE",
                ));
                return;
            }
            if self.partial.len() < need {
                let take = (need - self.partial.len()).min(input.len());
                self.partial.extend_from_slice(&input[..take]);
                input = &input[take..];
                if self.partial.len() < need {
                    return;
                }
                // The header may only now be whole: look at the length again.
                continue;
            }
            let mut kept = std::mem::take(&mut self.partial);
            let done = match Frame::read(&kept, OUR_FRAME) {
                Ok(Some((f, _))) => self.on_frame(&f),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            kept.clear();
            self.partial = kept;
            if let Err(e) = done {
                self.events.push_back(Event::Broken(e));
                return;
            }
        }
        loop {
            match Frame::read(input, OUR_FRAME) {
                Err(e) => {
                    self.events.push_back(Event::Broken(e));
                    return;
                }
                Ok(None) => {
                    self.partial.extend_from_slice(input);
                    return;
                }
                Ok(Some((f, n))) => {
                    input = &input[n..];
                    if let Err(e) = self.on_frame(&f) {
                        self.events.push_back(Event::Broken(e));
                        return;
                    }
                }
            }
        }
    }

    fn on_frame(&mut self, f: &Frame) -> Result<(), &'static str> {
        if let Some((id, _, _)) = &self.block
            && (f.kind != kind::CONTINUATION || f.stream != *id)
        {
            return Err("HTTP/2: a frame inside a header block");
        }
        match f.kind {
            kind::SETTINGS => {
                if f.stream != 0 {
                    return Err("HTTP/2: SETTINGS on a stream");
                }
                if f.flags & flag::ACK == 0 {
                    self.settings(f.payload)?;
                    frame::settings_ack(&mut self.control);
                }
            }
            kind::PING => {
                if f.payload.len() != 8 {
                    return Err("HTTP/2: PING that is not 8 bytes");
                }
                if f.flags & flag::ACK == 0 {
                    frame::ping_ack(f.payload, &mut self.control);
                }
            }
            kind::WINDOW_UPDATE => {
                let inc = frame::u32_at(f.payload, 0, true).ok_or("HTTP/2: short WINDOW_UPDATE")?;
                if inc == 0 {
                    return Err("HTTP/2: WINDOW_UPDATE of 0");
                }
                if f.stream == 0 {
                    self.send_window += i64::from(inc);
                    if self.send_window > frame::MAX_WINDOW {
                        return Err("HTTP/2: connection window above 2^31-1");
                    }
                } else if let Some(s) = self.streams.iter_mut().find(|s| s.id == f.stream) {
                    s.send_window += i64::from(inc);
                    if s.send_window > frame::MAX_WINDOW {
                        return Err("HTTP/2: stream window above 2^31-1");
                    }
                }
                self.flush_bodies();
            }
            kind::HEADERS => {
                let block = f.content()?;
                let end = f.flags & flag::END_STREAM != 0;
                if f.flags & flag::END_HEADERS != 0 {
                    self.on_headers(f.stream, block, end)?;
                } else {
                    self.block = Some((f.stream, block.to_vec(), end));
                }
            }
            kind::CONTINUATION => {
                let Some((id, mut block, end)) = self.block.take() else {
                    return Err("HTTP/2: CONTINUATION without HEADERS");
                };
                block.extend_from_slice(f.payload);
                if f.flags & flag::END_HEADERS != 0 {
                    self.on_headers(id, &block, end)?;
                } else {
                    self.block = Some((id, block, end));
                }
            }
            kind::DATA => self.on_data(f.stream, f.content()?, f.payload.len(), f.flags)?,
            kind::RST_STREAM => {
                let code = frame::u32_at(f.payload, 0, false).ok_or("HTTP/2: short RST_STREAM")?;
                if let Some(i) = self.streams.iter().position(|s| s.id == f.stream) {
                    let s = self.streams.remove(i).expect("found");
                    self.events
                        .push_back(Event::Ended(s.meta, Ended::Reset(code)));
                    self.recheck_waiting();
                }
            }
            kind::GOAWAY => {
                let last = frame::u32_at(f.payload, 0, true).ok_or("HTTP/2: short GOAWAY")?;
                let code = frame::u32_at(f.payload, 4, false).ok_or("HTTP/2: short GOAWAY")?;
                self.goaway = Some(last);
                self.goaways += 1;
                // Streams above the last were never processed: sent again elsewhere.
                while let Some(i) = self.streams.iter().position(|s| s.id > last) {
                    let s = self.streams.remove(i).expect("found");
                    self.events.push_back(Event::Ended(s.meta, Ended::Refused));
                }
                self.recheck_waiting();
                if code != 0 && self.streams.is_empty() {
                    self.events
                        .push_back(Event::Broken(frame::error_name(code)));
                }
            }
            kind::PUSH_PROMISE => return Err("HTTP/2: PUSH_PROMISE, though push is disabled"),
            // PRIORITY and unknown types are ignored (§5.5).
            _ => {}
        }
        Ok(())
    }

    fn settings(&mut self, payload: &[u8]) -> Result<(), &'static str> {
        for (id, v) in frame::read_settings(payload)? {
            match id {
                setting::MAX_CONCURRENT_STREAMS => self.peer.max_streams = v,
                setting::INITIAL_WINDOW_SIZE => {
                    if i64::from(v) > frame::MAX_WINDOW {
                        return Err("HTTP/2: INITIAL_WINDOW_SIZE above 2^31-1");
                    }
                    // Every open stream's window moves by the difference (§6.9.2).
                    let delta = i64::from(v) - i64::from(self.peer.initial_window);
                    for s in self.streams.iter_mut() {
                        s.send_window += delta;
                    }
                    self.peer.initial_window = v;
                }
                setting::MAX_FRAME_SIZE => {
                    let v = v as usize;
                    if !(frame::MIN_FRAME..=frame::MAX_FRAME).contains(&v) {
                        return Err("HTTP/2: MAX_FRAME_SIZE out of range");
                    }
                    self.peer.max_frame = v;
                }
                // The peer's table size bounds our encoder's use of it; we use none.
                _ => {}
            }
        }
        self.flush_bodies();
        Ok(())
    }

    /// Sends what the windows now allow of bodies that were waiting.
    fn flush_bodies(&mut self) {
        if !self.waiting {
            return;
        }
        let max = self.peer.max_frame;
        let mut waiting = false;
        for s in self.streams.iter_mut() {
            if s.unsent.is_empty() {
                continue;
            }
            let n = (s.unsent.len() as i64)
                .min(s.send_window)
                .min(self.send_window)
                .max(0) as usize;
            if n == 0 {
                waiting = true;
                continue;
            }
            let last = n == s.unsent.len();
            frame::data(s.id, &s.unsent[..n], last, max, &mut self.control);
            s.unsent.drain(..n);
            s.send_window -= n as i64;
            self.send_window -= n as i64;
            waiting |= !s.unsent.is_empty();
        }
        self.waiting = waiting;
    }

    fn on_headers(&mut self, id: u32, block: &[u8], end: bool) -> Result<(), &'static str> {
        let limit = self.capture_limit;
        let mut status = None;
        let found = self.streams.iter().position(|s| s.id == id);
        // The head is written out only for a response that is kept (no allocation otherwise).
        let keep =
            found.is_some_and(|i| limit > 0 && (self.keep_all || self.streams[i].meta.collect()));
        let mut head = Vec::new();
        self.decoder.decode(block, |n, v| {
            if n == b":status" {
                status = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<u16>().ok());
            } else if keep && !n.starts_with(b":") {
                head.extend_from_slice(n);
                head.extend_from_slice(b": ");
                head.extend_from_slice(v);
                head.extend_from_slice(b"\r\n");
            }
        })?;
        let Some(i) = found else {
            // A stream we reset or never opened: its block still had to be decoded.
            return Ok(());
        };
        let s = &mut self.streams[i];
        match (s.status, status) {
            // 1xx: an interim response; the final one follows.
            (None, Some(code)) if (100..200).contains(&code) => {}
            (None, Some(code)) => {
                s.status = Some(code);
                if keep {
                    let s = &mut self.streams[i];
                    let mut w = format!("HTTP/1.1 {code} \r\n").into_bytes();
                    w.extend_from_slice(&head);
                    w.extend_from_slice(b"\r\n");
                    s.whole = (w.len() <= limit).then_some(w);
                }
            }
            (None, None) => return Err("HTTP/2: a response without :status"),
            // Trailers: nothing more to record.
            (Some(_), _) => {}
        }
        if end {
            self.finish(i);
        }
        Ok(())
    }

    fn on_data(
        &mut self,
        id: u32,
        data: &[u8],
        flow: usize,
        flags: u8,
    ) -> Result<(), &'static str> {
        // Flow control counts the whole payload, padding included (§6.9).
        self.unacked += flow as u32;
        if self.unacked >= OUR_WINDOW / 2 {
            frame::window_update(0, self.unacked, &mut self.control);
            self.unacked = 0;
        }
        let Some(i) = self.streams.iter().position(|s| s.id == id) else {
            return Ok(());
        };
        let limit = self.capture_limit;
        let s = &mut self.streams[i];
        if s.status.is_none() {
            return Err("HTTP/2: DATA before the response's HEADERS");
        }
        s.body_len += data.len() as u64;
        if let Some(w) = &mut s.whole {
            if w.len() + data.len() <= limit {
                w.extend_from_slice(data);
            } else {
                s.whole = None;
            }
        }
        if flags & flag::END_STREAM != 0 {
            self.finish(i);
        } else if flow > 0 {
            // Each stream gets its window back as it goes.
            frame::window_update(id, flow as u32, &mut self.control);
        }
        Ok(())
    }

    fn finish(&mut self, i: usize) {
        let s = self.streams.remove(i).expect("in range");
        self.events.push_back(Event::Response {
            meta: s.meta,
            status: s.status.unwrap_or(0),
            body_len: s.body_len,
            whole: s.whole,
        });
        // A server may answer before the whole body was sent; what was left is not sent.
        self.recheck_waiting();
    }

    /// The connection is gone: every stream in flight, oldest first; partial state forgotten.
    pub fn drain(&mut self) -> impl Iterator<Item = M> + '_ {
        self.partial.clear();
        self.block = None;
        self.events.clear();
        self.waiting = false;
        self.streams.drain(..).map(|s| s.meta)
    }
}

/// Our SETTINGS_MAX_FRAME_SIZE: the default, which we do not raise.
const OUR_FRAME: usize = frame::MIN_FRAME;

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
