//! Incremental HTTP/1.1 request parser for the built-in target: heads with httparse, bodies by
//! Content-Length or chunked. It reports each complete request; it never builds a response.

use std::mem::MaybeUninit;

use super::chunked::ChunkedDecoder;
use super::{MAX_HEAD, has_token, is_chunked, parse_content_length};

/// A request that has been read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The client asked to close the connection after this request.
    pub close: bool,
    pub head: bool,
}

/// Method, target and Authorization of the last request head, kept only when asked for
/// (the mock API routes by them; the plain target does not pay for the copies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub method: String,
    pub target: String,
    pub authorization: Vec<u8>,
}

/// Why a request stream cannot be served; each maps to the status a real server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// The head grew past `MAX_HEAD` or has too many fields: 431.
    HeadTooLarge,
    /// The body is larger than the server accepts: 413.
    BodyTooLarge,
    /// Not HTTP/1.x, or a broken length or chunk: 400.
    Malformed(&'static str),
}

impl RequestError {
    pub fn status(self) -> u16 {
        match self {
            Self::HeadTooLarge => 431,
            Self::BodyTooLarge => 413,
            Self::Malformed(_) => 400,
        }
    }
}

#[derive(Debug)]
enum Body {
    Length(u64),
    /// A chunked body and the bytes of it read so far (framing included).
    Chunked(ChunkedDecoder, u64),
}

/// The largest request body accepted by default (nginx's is 1 MiB; this target takes more).
pub const DEFAULT_MAX_BODY: u64 = 16 << 20;

/// Parses a stream of pipelined requests from arbitrarily split input. A head split across
/// segments is scanned once for its end and parsed once, however many pieces it comes in.
#[derive(Debug)]
pub struct RequestParser {
    carry: Vec<u8>,
    /// How much of `carry` is known to hold no end of head.
    scanned: usize,
    body: Option<(Body, Request)>,
    pub max_body: u64,
    /// Keep `details` of every request head.
    pub want_details: bool,
    pub details: Details,
    /// Bytes of carried input searched for the end of a head (to test that it stays linear).
    #[cfg(test)]
    examined: usize,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self {
            carry: Vec::new(),
            scanned: 0,
            body: None,
            max_body: DEFAULT_MAX_BODY,
            want_details: false,
            details: Details::default(),
            #[cfg(test)]
            examined: 0,
        }
    }
}

/// How many leading bytes of `buf` are whole empty lines (CRLF or bare LF), which RFC 9112 §2.2
/// says a server ignores before a request line.
fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut i = 0;
    loop {
        if buf[i..].starts_with(b"\r\n") {
            i += 2;
        } else if buf.get(i) == Some(&b'\n') {
            i += 1;
        } else {
            return i;
        }
    }
}

/// The end of the first head in `buf` (an empty line, CRLF or bare LF), searching from `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(k) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + k;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// A request head has begun and not ended.
    pub fn in_head(&self) -> bool {
        !self.carry.is_empty()
    }

    /// A request (its head or its body) has begun and not ended.
    pub fn in_request(&self) -> bool {
        self.in_head() || self.body.is_some()
    }

    /// Feeds input; returns the bytes used and, if a request ended there, the request.
    pub fn advance(&mut self, input: &[u8]) -> Result<(usize, Option<Request>), RequestError> {
        if let Some((body, req)) = &mut self.body {
            let (used, done) = match body {
                Body::Length(left) => {
                    let take = (*left).min(input.len() as u64);
                    *left -= take;
                    (take as usize, *left == 0)
                }
                Body::Chunked(dec, seen) => {
                    let (used, done) = dec
                        .advance(input)
                        .map_err(|e| RequestError::Malformed(e.0))?;
                    *seen += used as u64;
                    if *seen > self.max_body.saturating_add(MAX_HEAD as u64) {
                        return Err(RequestError::BodyTooLarge);
                    }
                    (used, done)
                }
            };
            let req = *req;
            if done {
                self.body = None;
                return Ok((used, Some(req)));
            }
            return Ok((used, None));
        }
        if self.carry.is_empty() {
            // Empty lines before a request line are ignored, in whatever packets they come.
            let skip = leading_empty_lines(input);
            if skip > 0 {
                return Ok((skip, None));
            }
            if input == b"\r" {
                // Perhaps the start of one more: wait for the byte that says.
                self.carry.push(b'\r');
                return Ok((1, None));
            }
        }
        let carried = self.carry.len();
        // Empty lines dropped from the front of the carry (they came before this head).
        let mut dropped = 0;
        let buf: &[u8] = if carried == 0 {
            input
        } else {
            // Only the new bytes (and the three before them) can hold the end of the head.
            self.carry.extend_from_slice(input);
            // A carried lone CR that the new bytes make an empty line is one too.
            let lead = leading_empty_lines(&self.carry);
            if lead > 0 {
                dropped = lead;
                self.carry.drain(..lead);
                self.scanned = 0;
                if self.carry.is_empty() {
                    return Ok((input.len(), None));
                }
            }
            #[cfg(test)]
            {
                self.examined += self.carry.len() - self.scanned;
            }
            match head_end(&self.carry, self.scanned) {
                Some(end) => &self.carry[..end],
                None => {
                    self.scanned = self.carry.len().saturating_sub(3);
                    if self.carry.len() > MAX_HEAD {
                        return Err(RequestError::HeadTooLarge);
                    }
                    return Ok((input.len(), None));
                }
            }
        };
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 64];
        let mut parsed = httparse::Request::new(&mut []);
        let n = match parsed.parse_with_uninit_headers(buf, &mut headers) {
            Ok(httparse::Status::Complete(n)) if n <= MAX_HEAD => n,
            Ok(httparse::Status::Complete(_)) | Err(httparse::Error::TooManyHeaders) => {
                return Err(RequestError::HeadTooLarge);
            }
            Ok(httparse::Status::Partial) if carried == 0 => {
                if input.len() > MAX_HEAD {
                    return Err(RequestError::HeadTooLarge);
                }
                self.carry.extend_from_slice(input);
                self.scanned = input.len().saturating_sub(3);
                return Ok((input.len(), None));
            }
            Ok(httparse::Status::Partial) => {
                return Err(RequestError::Malformed("incomplete head"));
            }
            Err(_) => return Err(RequestError::Malformed("malformed request")),
        };
        let mut req = Request {
            close: parsed.version == Some(0),
            head: parsed.method == Some("HEAD"),
        };
        if self.want_details {
            self.details.method = parsed.method.unwrap_or_default().to_string();
            self.details.target = parsed.path.unwrap_or_default().to_string();
            self.details.authorization = parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("authorization"))
                .map(|h| h.value.to_vec())
                .unwrap_or_default();
        }
        let mut body = None;
        for h in parsed.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let len = parse_content_length(h.value)
                    .ok_or(RequestError::Malformed("invalid Content-Length"))?;
                if len > self.max_body {
                    return Err(RequestError::BodyTooLarge);
                }
                if len > 0 && body.is_none() {
                    body = Some(Body::Length(len));
                }
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                if !is_chunked(h.value) {
                    // RFC 9112 §6.3: a request body without a final chunked cannot be delimited.
                    return Err(RequestError::Malformed("Transfer-Encoding without chunked"));
                }
                // Transfer-Encoding overrides Content-Length.
                body = Some(Body::Chunked(ChunkedDecoder::new(), 0));
            } else if h.name.eq_ignore_ascii_case("connection") {
                req.close =
                    has_token(h.value, "close") || (req.close && !has_token(h.value, "keep-alive"));
            }
        }
        self.carry.clear();
        self.scanned = 0;
        let used = n + dropped - carried;
        match body {
            None => Ok((used, Some(req))),
            Some(b) => {
                self.body = Some((b, req));
                Ok((used, None))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(stream: &[u8], cut: usize) -> Vec<Request> {
        let mut p = RequestParser::new();
        let mut out = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            let mut rest = part;
            while !rest.is_empty() {
                let (n, r) = p.advance(rest).unwrap();
                out.extend(r);
                rest = &rest[n..];
            }
        }
        out
    }

    #[test]
    fn empty_lines_before_a_request_are_ignored_at_every_split() {
        let s = b"\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n\r\nHEAD / HTTP/1.1\r\n\r\n";
        for cut in 0..=s.len() {
            let r = count(s, cut);
            assert_eq!(r.len(), 2, "cut {cut}");
            assert!(r[1].head, "cut {cut}");
        }
    }

    #[test]
    fn pipelined_requests_every_split() {
        let s = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\nHEAD / HTTP/1.1\r\nConnection: close\r\n\r\n";
        for cut in 0..=s.len() {
            let r = count(s, cut);
            assert_eq!(r.len(), 4, "cut {cut}");
            assert!(r[3].close && r[3].head);
            assert!(!r[0].close);
        }
    }

    #[test]
    fn limits_map_to_the_statuses_servers_use() {
        let big_head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        let mut p = RequestParser::new();
        let mut err = None;
        for piece in big_head.as_bytes().chunks(1000) {
            match p.advance(piece) {
                Ok(_) => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(err.map(RequestError::status), Some(431));
        let mut p = RequestParser::new();
        p.max_body = 10;
        let e = p
            .advance(b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n")
            .unwrap_err();
        assert_eq!(e.status(), 413);
        let e = RequestParser::new()
            .advance(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
            .unwrap_err();
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn a_head_fed_byte_by_byte_is_scanned_once() {
        // Each byte is looked at a bounded number of times: the carry is searched from where the
        // last search stopped, so feeding 60 KiB one byte at a time stays linear.
        let head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "b".repeat(60_000));
        let mut p = RequestParser::new();
        let mut done = 0;
        for b in head.as_bytes() {
            let (n, r) = p.advance(std::slice::from_ref(b)).unwrap();
            assert_eq!(n, 1);
            done += usize::from(r.is_some());
        }
        assert_eq!(done, 1);
        assert!(
            p.examined <= 4 * head.len(),
            "{} for {}",
            p.examined,
            head.len()
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(
            RequestParser::new()
                .advance(b"\x01\x02 nonsense\r\n\r\n")
                .is_err()
        );
    }
}
