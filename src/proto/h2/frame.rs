//! HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, reading one frame from received bytes,
//! and writing the frames a client sends. Pure; no connection state.

/// Frame types (§6).
pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags.
pub mod flag {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// SETTINGS parameters (§6.5.2).
pub mod setting {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    pub const ENABLE_PUSH: u16 = 0x2;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
}

/// The client connection preface (§3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The smallest (and default) SETTINGS_MAX_FRAME_SIZE; the largest is 2^24 - 1.
pub const MIN_FRAME: usize = 16_384;
pub const MAX_FRAME: usize = (1 << 24) - 1;
/// The largest flow-control window (§6.9.1).
pub const MAX_WINDOW: i64 = (1 << 31) - 1;

/// An error code's name (§7), as the report shows it.
pub fn error_name(code: u32) -> &'static str {
    match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => "UNKNOWN_ERROR",
    }
}

/// A frame read from the connection: its header and payload (padding still in it).
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Reads one whole frame from the front of `input`: `Ok(None)` until all of it is there.
    /// A frame longer than `max` (our SETTINGS_MAX_FRAME_SIZE) is a FRAME_SIZE_ERROR.
    pub fn read(input: &'a [u8], max: usize) -> Result<Option<(Frame<'a>, usize)>, &'static str> {
        if input.len() < 9 {
            return Ok(None);
        }
        let len =
            (usize::from(input[0]) << 16) | (usize::from(input[1]) << 8) | usize::from(input[2]);
        if len > max {
            return Err("HTTP/2: a frame larger than SETTINGS_MAX_FRAME_SIZE");
        }
        if input.len() < 9 + len {
            return Ok(None);
        }
        let stream = u32::from_be_bytes([input[5], input[6], input[7], input[8]]) & 0x7fff_ffff;
        Ok(Some((
            Frame {
                kind: input[3],
                flags: input[4],
                stream,
                payload: &input[9..9 + len],
            },
            9 + len,
        )))
    }

    /// The payload without its padding (and, for HEADERS, without its priority fields), for
    /// DATA, HEADERS and PUSH_PROMISE; padding longer than the payload is a PROTOCOL_ERROR.
    pub fn content(&self) -> Result<&'a [u8], &'static str> {
        let mut p = self.payload;
        let mut pad = 0;
        if self.flags & flag::PADDED != 0 && matches!(self.kind, kind::DATA | kind::HEADERS) {
            pad = usize::from(
                *p.first()
                    .ok_or("HTTP/2: a padded frame without its length")?,
            );
            p = &p[1..];
        }
        if self.kind == kind::HEADERS && self.flags & flag::PRIORITY != 0 {
            p = p
                .get(5..)
                .ok_or("HTTP/2: HEADERS shorter than its priority")?;
        }
        if pad > p.len() {
            return Err("HTTP/2: padding longer than the frame");
        }
        Ok(&p[..p.len() - pad])
    }
}

/// Appends a frame header for a payload of `len` bytes.
pub fn head(len: usize, kind: u8, flags: u8, stream: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
}

/// A header block as HEADERS then CONTINUATION frames of at most `max` bytes each.
pub fn headers(stream: u32, block: &[u8], end_stream: bool, max: usize, out: &mut Vec<u8>) {
    let mut chunks = block.chunks(max.max(1));
    let first = chunks.next().unwrap_or(&[]);
    let last = block.len() <= max;
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if last {
        flags |= flag::END_HEADERS;
    }
    head(first.len(), kind::HEADERS, flags, stream, out);
    out.extend_from_slice(first);
    let rest: Vec<&[u8]> = chunks.collect();
    for (i, c) in rest.iter().enumerate() {
        let f = if i + 1 == rest.len() {
            flag::END_HEADERS
        } else {
            0
        };
        head(c.len(), kind::CONTINUATION, f, stream, out);
        out.extend_from_slice(c);
    }
}

/// DATA frames of at most `max` bytes for `body`, the last with END_STREAM when asked.
pub fn data(stream: u32, body: &[u8], end_stream: bool, max: usize, out: &mut Vec<u8>) {
    let mut chunks = body.chunks(max.max(1)).peekable();
    if chunks.peek().is_none() {
        head(
            0,
            kind::DATA,
            if end_stream { flag::END_STREAM } else { 0 },
            stream,
            out,
        );
        return;
    }
    while let Some(c) = chunks.next() {
        let f = if end_stream && chunks.peek().is_none() {
            flag::END_STREAM
        } else {
            0
        };
        head(c.len(), kind::DATA, f, stream, out);
        out.extend_from_slice(c);
    }
}

/// A SETTINGS frame with these parameters.
pub fn settings(params: &[(u16, u32)], out: &mut Vec<u8>) {
    head(params.len() * 6, kind::SETTINGS, 0, 0, out);
    for (id, v) in params {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// The parameters of a SETTINGS payload; a length not a multiple of 6 is a FRAME_SIZE_ERROR.
pub fn read_settings(payload: &[u8]) -> Result<Vec<(u16, u32)>, &'static str> {
    if !payload.len().is_multiple_of(6) {
        return Err("HTTP/2: SETTINGS whose length is not a multiple of 6");
    }
    Ok(payload
        .chunks(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect())
}

pub fn settings_ack(out: &mut Vec<u8>) {
    head(0, kind::SETTINGS, flag::ACK, 0, out);
}

pub fn ping_ack(opaque: &[u8], out: &mut Vec<u8>) {
    head(8, kind::PING, flag::ACK, 0, out);
    out.extend_from_slice(opaque);
}

pub fn window_update(stream: u32, increment: u32, out: &mut Vec<u8>) {
    head(4, kind::WINDOW_UPDATE, 0, stream, out);
    out.extend_from_slice(&(increment & 0x7fff_ffff).to_be_bytes());
}

pub fn rst_stream(stream: u32, code: u32, out: &mut Vec<u8>) {
    head(4, kind::RST_STREAM, 0, stream, out);
    out.extend_from_slice(&code.to_be_bytes());
}

pub fn goaway(last: u32, code: u32, out: &mut Vec<u8>) {
    head(8, kind::GOAWAY, 0, 0, out);
    out.extend_from_slice(&(last & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(&code.to_be_bytes());
}

/// A 4-byte big-endian field at `at` (the top bit cleared when `mask`).
pub fn u32_at(p: &[u8], at: usize, mask: bool) -> Option<u32> {
    let b = p.get(at..at + 4)?;
    let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some(if mask { v & 0x7fff_ffff } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_whole_and_split_at_the_frame_size() {
        let mut out = Vec::new();
        headers(1, &[7u8; 20], true, 8, &mut out);
        // HEADERS (8) + CONTINUATION (8) + CONTINUATION (4).
        let mut at = 0;
        let mut got = Vec::new();
        while let Some((f, n)) = Frame::read(&out[at..], MIN_FRAME).unwrap() {
            got.push((f.kind, f.flags, f.stream, f.payload.len()));
            at += n;
        }
        assert_eq!(
            got,
            vec![
                (kind::HEADERS, flag::END_STREAM, 1, 8),
                (kind::CONTINUATION, 0, 1, 8),
                (kind::CONTINUATION, flag::END_HEADERS, 1, 4)
            ]
        );
        // A frame arrives in pieces: nothing until it is whole.
        assert_eq!(Frame::read(&out[..12], MIN_FRAME), Ok(None));
        // Longer than our maximum: an error.
        let mut big = Vec::new();
        head(MIN_FRAME + 1, kind::DATA, 0, 1, &mut big);
        assert!(Frame::read(&big, MIN_FRAME).is_err());
    }

    #[test]
    fn padding_and_priority_are_taken_off() {
        // PADDED | PRIORITY HEADERS: pad length 2, 5 priority bytes, block "ab", 2 pad bytes.
        let payload = [2, 0, 0, 0, 0, 16, b'a', b'b', 0, 0];
        let f = Frame {
            kind: kind::HEADERS,
            flags: flag::PADDED | flag::PRIORITY | flag::END_HEADERS,
            stream: 3,
            payload: &payload,
        };
        assert_eq!(f.content(), Ok(&b"ab"[..]));
        let bad = Frame {
            kind: kind::DATA,
            flags: flag::PADDED,
            stream: 3,
            payload: &[9, 1, 2],
        };
        assert!(bad.content().is_err());
    }

    #[test]
    fn settings_and_control_frames() {
        let mut out = Vec::new();
        settings(
            &[
                (setting::ENABLE_PUSH, 0),
                (setting::MAX_CONCURRENT_STREAMS, 100),
            ],
            &mut out,
        );
        let (f, _) = Frame::read(&out, MIN_FRAME).unwrap().unwrap();
        assert_eq!(read_settings(f.payload).unwrap(), vec![(2, 0), (3, 100)]);
        assert!(read_settings(&[0; 5]).is_err());
        out.clear();
        goaway(7, 0, &mut out);
        let (f, _) = Frame::read(&out, MIN_FRAME).unwrap().unwrap();
        assert_eq!(
            (f.kind, u32_at(f.payload, 0, true)),
            (kind::GOAWAY, Some(7))
        );
        assert_eq!(error_name(0xb), "ENHANCE_YOUR_CALM");
    }
}
