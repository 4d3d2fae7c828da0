//! Incremental HTTP/1.1 response parser: heads with httparse, bodies by length, chunked or close.
//! One parser per connection; it copies only an incomplete head, never body bytes.

use std::mem::MaybeUninit;

use super::chunked::ChunkedDecoder;
use super::{MAX_HEAD, has_token, is_chunked, parse_content_length};

/// A response that has been read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Complete {
    pub status: u16,
    /// The server will close the connection after this response.
    pub close: bool,
    /// The server's `Keep-Alive: max=N`: it answers at most N more requests on the connection.
    pub keep_alive_max: Option<u32>,
}

/// Body bytes of the response being read (its content size, for Locust's Average Content Size).
#[derive(Debug, Default, Clone, Copy)]
struct BodyCount(u64);

/// Why a response was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

#[derive(Debug, Clone)]
enum Body {
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// Heads up to this size are remembered for the fast path in `head`.
const CACHED_HEAD_MAX: usize = 512;

/// Parses a stream of responses, one at a time, from arbitrarily split input.
#[derive(Debug)]
pub struct ResponseParser {
    /// Bytes of a head that has not been completed yet.
    carry: Vec<u8>,
    /// The last head parsed whole from one input, and what it said. Parsing is a pure function
    /// of the head's bytes, so input that starts with exactly these bytes needs no parse.
    last_head: Vec<u8>,
    last: Option<Head>,
    /// Keep the bytes of the next responses (for captures); see `set_collect`.
    collect: bool,
    collected: Vec<u8>,
    /// The most bytes of one response kept for captures, and whether the current one exceeded it.
    collect_limit: usize,
    overflowed: bool,
    /// The current response's body, once its head has been read.
    body: Option<(Body, Complete)>,
    body_bytes: BodyCount,
    /// Body bytes of the last complete response.
    pub last_body_len: u64,
    /// Hand over the head of every response that sets cookies (see `keep_cookies`), and the
    /// last such head until it is taken.
    cookies: bool,
    cookie_head: Option<CookieHead>,
    /// The last head handed over whole (what `CookieHead::Repeat` repeats).
    handed_over: Vec<u8>,
}

/// The head of a response that set cookies, for its user's jar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieHead {
    /// Its bytes, as received.
    New(Vec<u8>),
    /// Byte for byte the last head this parser handed over (a server that sends the same
    /// Set-Cookie on every response): nothing to copy or parse again.
    Repeat,
}

/// The result of feeding bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// All input consumed; the response needs more bytes.
    Partial,
    /// A response ended after `.0` bytes of the input.
    Done(usize, Complete),
}

/// The default bound on a response kept whole for captures.
pub const DEFAULT_COLLECT_LIMIT: usize = 1 << 20;

impl Default for ResponseParser {
    fn default() -> Self {
        Self {
            carry: Vec::new(),
            last_head: Vec::new(),
            last: None,
            collect: false,
            collected: Vec::new(),
            collect_limit: DEFAULT_COLLECT_LIMIT,
            cookies: false,
            cookie_head: None,
            handed_over: Vec::new(),
            overflowed: false,
            body: None,
            body_bytes: BodyCount::default(),
            last_body_len: 0,
        }
    }
}

impl ResponseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps at most `limit` bytes of a response for captures (larger ones are still parsed).
    pub fn with_collect_limit(limit: usize) -> Self {
        Self {
            collect_limit: limit,
            ..Self::default()
        }
    }

    /// True when part of a response has been read but not its end.
    pub fn mid_response(&self) -> bool {
        !self.carry.is_empty() || self.body.is_some()
    }

    /// Drops all partial state (after the connection closed).
    pub fn reset(&mut self) {
        self.carry.clear();
        self.body = None;
        self.body_bytes = BodyCount::default();
        self.collect = false;
        self.collected.clear();
        self.overflowed = false;
        self.cookie_head = None;
    }

    /// Whether to keep the whole of the response that starts next (head and body), for
    /// `take_collected`. Only responses that feed a capture pay for the copy.
    pub fn set_collect(&mut self, on: bool) {
        if !self.mid_response() {
            self.collect = on;
            self.collected.clear();
            self.overflowed = false;
        }
    }

    /// Hands over the head of every response with a Set-Cookie field, for the user's cookie
    /// jar: its bytes, or `Repeat` when they are the remembered head's (see `CookieHead`).
    pub fn keep_cookies(&mut self, on: bool) {
        self.cookies = on;
    }

    /// The head of the last complete response that set cookies, once.
    pub fn take_cookie_head(&mut self) -> Option<CookieHead> {
        self.cookie_head.take()
    }

    /// The bytes of the last collected response, or None if it was larger than the bound.
    pub fn take_collected(&mut self) -> Option<Vec<u8>> {
        let bytes = std::mem::take(&mut self.collected);
        (!std::mem::take(&mut self.overflowed)).then_some(bytes)
    }

    /// Feeds input; `head_request` says the request was HEAD (the response has no body).
    pub fn advance(&mut self, input: &[u8], head_request: bool) -> Result<Progress, Malformed> {
        let progress = self.advance_inner(input, head_request)?;
        if self.collect {
            let used = match progress {
                Progress::Partial => input.len(),
                Progress::Done(n, _) => n,
            };
            if self.collected.len() + used > self.collect_limit {
                // Too large to keep: stop copying, but parse on; the capture will fail.
                self.overflowed = true;
                self.collected = Vec::new();
            } else if !self.overflowed {
                self.collected.extend_from_slice(&input[..used]);
            }
            if matches!(progress, Progress::Done(..)) {
                self.collect = false;
            }
        }
        Ok(progress)
    }

    fn advance_inner(&mut self, input: &[u8], head_request: bool) -> Result<Progress, Malformed> {
        if let Some(done) = self.whole_repeat(input, head_request) {
            return Ok(done);
        }
        let mut used = 0;
        loop {
            if let Some((body, done)) = &mut self.body {
                let rest = &input[used..];
                match body {
                    Body::Length(left) => {
                        let take = (*left).min(rest.len() as u64);
                        *left -= take;
                        used += take as usize;
                        self.body_bytes.0 += take;
                        if *left > 0 {
                            return Ok(Progress::Partial);
                        }
                    }
                    Body::Chunked(dec) => {
                        let before = dec.data_bytes();
                        let (n, finished) = dec.advance(rest).map_err(|e| Malformed(e.0))?;
                        self.body_bytes.0 += dec.data_bytes() - before;
                        used += n;
                        if !finished {
                            return Ok(Progress::Partial);
                        }
                    }
                    Body::UntilClose => {
                        self.body_bytes.0 += rest.len() as u64;
                        return Ok(Progress::Partial);
                    }
                }
                let done = *done;
                self.body = None;
                self.last_body_len = std::mem::take(&mut self.body_bytes).0;
                return Ok(Progress::Done(used, done));
            }
            if used == input.len() {
                return Ok(Progress::Partial);
            }
            match self.head(&input[used..], head_request)? {
                None => return Ok(Progress::Partial),
                Some((n, Some(done))) => {
                    self.last_body_len = 0;
                    return Ok(Progress::Done(used + n, done));
                }
                // A body follows, or it was an interim 1xx head: keep going.
                Some((n, None)) => used += n,
            }
        }
    }

    /// The common case in one step: nothing partial, the same head as the last response, and
    /// all of its length-framed body here. Exactly what the general path would conclude.
    #[inline]
    fn whole_repeat(&mut self, input: &[u8], head_request: bool) -> Option<Progress> {
        if self.body.is_some() || !self.carry.is_empty() || head_request {
            return None;
        }
        let head = self.last?;
        let Framing::Length(len) = head.framing else {
            return None;
        };

        if (100..200).contains(&head.status) || head.status == 204 || head.status == 304 {
            return None;
        }
        let total = usize::try_from(len)
            .ok()?
            .checked_add(self.last_head.len())?;
        if input.len() < total || !input.starts_with(&self.last_head) {
            return None;
        }
        self.last_body_len = len;
        if self.cookies && head.set_cookie {
            let head_len = self.last_head.len();
            self.hand_over_cookies(head_len, input);
        }
        Some(Progress::Done(
            total,
            Complete {
                status: head.status,
                close: head.close,
                keep_alive_max: head.keep_alive_max,
            },
        ))
    }

    /// Hands over the head that starts `bytes` (`len` long) for the user's cookie jar: whole,
    /// or as a repeat of the last one handed over.
    fn hand_over_cookies(&mut self, len: usize, bytes: &[u8]) {
        let head = &bytes[..len];
        self.cookie_head = Some(if self.handed_over == head {
            CookieHead::Repeat
        } else {
            self.handed_over.clear();
            self.handed_over.extend_from_slice(head);
            CookieHead::New(head.to_vec())
        });
    }

    /// Called at end of stream: completes a close-delimited body, or says nothing was pending.
    pub fn eof(&mut self) -> Option<Complete> {
        match self.body.take() {
            Some((Body::UntilClose, done)) => {
                self.last_body_len = std::mem::take(&mut self.body_bytes).0;
                Some(done)
            }
            _ => None,
        }
    }

    /// Parses a head from `input` (plus any carried bytes). Returns the bytes of `input`
    /// used and, if the response is already complete (no body), its result.
    #[allow(clippy::type_complexity)]
    fn head(
        &mut self,
        input: &[u8],
        head_request: bool,
    ) -> Result<Option<(usize, Option<Complete>)>, Malformed> {
        let carried = self.carry.len();
        let parsed = if carried == 0 {
            match self.last {
                Some(head) if input.starts_with(&self.last_head) => {
                    Some((self.last_head.len(), head))
                }
                _ => {
                    let parsed = parse_head(input)?;
                    if let Some((n, head)) = parsed
                        && n <= CACHED_HEAD_MAX
                    {
                        self.last_head.clear();
                        self.last_head.extend_from_slice(&input[..n]);
                        self.last = Some(head);
                    }
                    parsed
                }
            }
        } else {
            // Only re-parse when the new bytes could finish the head.
            let tail_start = carried.saturating_sub(3);
            self.carry.extend_from_slice(input);
            if !self.carry[tail_start..].contains(&b'\n') {
                None
            } else {
                parse_head(&self.carry)?
            }
        };
        let Some((head_len, head)) = parsed else {
            if carried == 0 {
                self.carry.extend_from_slice(input);
            }
            if self.carry.len() > MAX_HEAD {
                return Err(Malformed("response head too large"));
            }
            return Ok(None);
        };
        let used = head_len - carried;
        if (100..200).contains(&head.status) {
            self.carry.clear();
            if head.status == 101 {
                return Err(Malformed("unexpected 101 Switching Protocols"));
            }
            return Ok(Some((used, None)));
        }
        if self.cookies && head.set_cookie {
            if carried == 0 {
                self.hand_over_cookies(head_len, input);
            } else {
                let carry = std::mem::take(&mut self.carry);
                self.hand_over_cookies(head_len, &carry);
                self.carry = carry;
            }
        }
        self.carry.clear();
        let done = Complete {
            status: head.status,
            close: head.close,
            keep_alive_max: head.keep_alive_max,
        };
        let no_body = head_request || head.status == 204 || head.status == 304;
        let body = match head.framing {
            _ if no_body => return Ok(Some((used, Some(done)))),
            Framing::Length(0) => return Ok(Some((used, Some(done)))),
            Framing::Length(len) => Body::Length(len),
            Framing::Chunked => Body::Chunked(ChunkedDecoder::new()),
            Framing::UntilClose => Body::UntilClose,
        };
        let close = done.close || matches!(body, Body::UntilClose);
        self.body = Some((body, Complete { close, ..done }));
        Ok(Some((used, None)))
    }
}

/// How a response's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

#[derive(Debug, Clone, Copy)]
struct Head {
    status: u16,
    /// It has a Set-Cookie field.
    set_cookie: bool,
    close: bool,
    framing: Framing,
    keep_alive_max: Option<u32>,
}

fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, Malformed> {
    // Uninitialised slots: zeroing 64 headers per response cost more than parsing them.
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 64];
    let mut resp = httparse::Response::new(&mut []);
    let n = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut resp,
        buf,
        &mut headers,
    ) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Malformed("more than 64 headers")),
        Err(_) => return Err(Malformed("invalid status line or header")),
    };
    let status = resp.code.ok_or(Malformed("missing status code"))?;
    let http10 = resp.version == Some(0);
    let (mut keep_alive, mut close, mut chunked, mut length) = (false, false, false, None);
    let (mut transfer_encoding, mut max, mut set_cookie) = (false, None, false);
    for h in resp.headers.iter() {
        let name = h.name.as_bytes();
        // Compare lengths first: most headers are none of the three that matter.
        match name.len() {
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                let v = parse_content_length(h.value).ok_or(Malformed("invalid Content-Length"))?;
                if length.is_some_and(|l| l != v) {
                    return Err(Malformed("conflicting Content-Length headers"));
                }
                length = Some(v);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                // The last coding of the last field decides (codings may span fields).
                transfer_encoding = true;
                chunked = is_chunked(h.value);
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                close |= has_token(h.value, "close");
                keep_alive |= has_token(h.value, "keep-alive");
            }
            10 if name.eq_ignore_ascii_case(b"keep-alive") => max = keep_alive_max(h.value),
            10 if name.eq_ignore_ascii_case(b"set-cookie") => set_cookie = true,
            _ => {}
        }
    }
    let mut close = close || (http10 && !keep_alive);
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, and a response that had both
    // may have been smuggled past an intermediary: use it, then close the connection. Without
    // chunked last, the body runs to the close.
    let framing = if transfer_encoding {
        close |= length.is_some();
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else {
        match length {
            Some(len) => Framing::Length(len),
            None => Framing::UntilClose,
        }
    };
    Ok(Some((
        n,
        Head {
            status,
            set_cookie,
            close,
            framing,
            keep_alive_max: max,
        },
    )))
}

/// `max=N` of a Keep-Alive header: how many more requests the server will answer on the
/// connection.
fn keep_alive_max(value: &[u8]) -> Option<u32> {
    value.split(|&b| b == b',').find_map(|part| {
        let part = part.trim_ascii();
        let (k, v) = part.split_at(part.iter().position(|&b| b == b'=')?);
        if !k.trim_ascii().eq_ignore_ascii_case(b"max") {
            return None;
        }
        std::str::from_utf8(&v[1..]).ok()?.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `stream` split at `cut` and returns every completed response.
    fn feed_split(stream: &[u8], cut: usize, head_request: bool) -> Vec<Complete> {
        let mut p = ResponseParser::new();
        let mut out = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            let mut rest = part;
            while !rest.is_empty() {
                match p.advance(rest, head_request).unwrap() {
                    Progress::Partial => break,
                    Progress::Done(n, c) => {
                        out.push(c);
                        rest = &rest[n..];
                    }
                }
            }
        }
        if let Some(c) = p.eof() {
            out.push(c);
        }
        out
    }

    fn ok(status: u16, close: bool) -> Complete {
        Complete {
            status,
            close,
            keep_alive_max: None,
        }
    }

    #[test]
    fn transfer_encoding_overrides_content_length_and_closes() {
        // RFC 9112 §6.3: chunked wins over Content-Length, and the connection is not reused.
        let s = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        for cut in 0..=s.len() {
            assert_eq!(feed_split(s, cut, false), vec![ok(200, true)], "cut {cut}");
        }
    }

    #[test]
    fn transfer_encoding_without_final_chunked_reads_to_close() {
        let s = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\nmore";
        for cut in 0..=s.len() {
            // Nothing completes until the end of stream; then the whole rest is the body.
            assert_eq!(feed_split(s, cut, false), vec![ok(200, true)], "cut {cut}");
        }
        // Codings spread over two fields: the last one decides.
        let s = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(feed_split(s, s.len(), false), vec![ok(200, false)]);
    }

    #[test]
    fn keep_alive_max_is_read() {
        let s = b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=99\r\nContent-Length: 0\r\n\r\n";
        let got = feed_split(s, s.len(), false);
        assert_eq!(got[0].keep_alive_max, Some(99));
        assert_eq!(keep_alive_max(b"max=0"), Some(0));
        assert_eq!(keep_alive_max(b"timeout=5"), None);
    }

    #[test]
    fn content_length_every_split() {
        let s = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhelloHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        for cut in 0..=s.len() {
            assert_eq!(
                feed_split(s, cut, false),
                vec![ok(200, false), ok(404, false)],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn chunked_with_extensions_and_trailers_every_split() {
        let s = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok";
        for cut in 0..=s.len() {
            assert_eq!(
                feed_split(s, cut, false),
                vec![ok(200, false), ok(201, false)],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn no_body_statuses_and_head() {
        let s = b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        for cut in 0..=s.len() {
            assert_eq!(
                feed_split(s, cut, false),
                vec![ok(204, false), ok(304, false), ok(200, false)],
                "cut {cut}"
            );
        }
        let h = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
        assert_eq!(feed_split(h, 7, true), vec![ok(200, false), ok(200, false)]);
    }

    #[test]
    fn close_delimited_and_connection_close() {
        let s = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until close";
        for cut in 0..=s.len() {
            assert_eq!(feed_split(s, cut, false), vec![ok(200, true)], "cut {cut}");
        }
        let c = b"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(feed_split(c, 3, false), vec![ok(503, true)]);
        let old = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(feed_split(old, 3, false), vec![ok(200, true)]);
        let old_ka = b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(feed_split(old_ka, 3, false), vec![ok(200, false)]);
    }

    #[test]
    fn many_pipelined_in_one_read() {
        let one = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let s: Vec<u8> = one.iter().copied().cycle().take(one.len() * 16).collect();
        assert_eq!(feed_split(&s, s.len(), false).len(), 16);
    }

    #[test]
    fn remembered_head_is_only_reused_for_identical_bytes() {
        let mut p = ResponseParser::new();
        let a = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        let b = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhey";
        let c = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
        assert_eq!(
            p.advance(a, false).unwrap(),
            Progress::Done(a.len(), ok(200, false))
        );
        assert_eq!(
            p.advance(a, false).unwrap(),
            Progress::Done(a.len(), ok(200, false))
        );
        assert_eq!(
            p.advance(b, false).unwrap(),
            Progress::Done(b.len(), ok(200, false))
        );
        assert_eq!(
            p.advance(c, false).unwrap(),
            Progress::Done(c.len(), ok(200, true))
        );
        assert_eq!(
            p.advance(a, false).unwrap(),
            Progress::Done(a.len(), ok(200, false))
        );
        // A cached 200 head, then a HEAD request: the body rule still applies.
        let h = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(
            p.advance(h, true).unwrap(),
            Progress::Done(h.len(), ok(200, false))
        );
    }

    #[test]
    fn collects_exactly_one_response_across_splits() {
        let s = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nbye";
        for cut in 1..s.len() {
            let mut p = ResponseParser::new();
            p.set_collect(true);
            let mut rest: &[u8] = &s[..cut];
            let mut done = 0;
            for part in [&s[..cut], &s[cut..]] {
                rest = part;
                while !rest.is_empty() {
                    match p.advance(rest, false).unwrap() {
                        Progress::Partial => break,
                        Progress::Done(n, _) => {
                            done += 1;
                            if done == 1 {
                                assert_eq!(
                                    p.take_collected().unwrap(),
                                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
                                    "cut {cut}"
                                );
                            }
                            rest = &rest[n..];
                        }
                    }
                }
            }
            let _ = rest;
            assert_eq!(done, 2);
            assert!(
                p.take_collected().unwrap().is_empty(),
                "only the first response was collected"
            );
        }
    }

    #[test]
    fn a_response_over_the_collect_bound_is_parsed_but_not_kept() {
        let body = "x".repeat(100);
        let s = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{body}HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny"
        );
        let mut p = ResponseParser::with_collect_limit(64);
        p.set_collect(true);
        let mut rest = s.as_bytes();
        let mut kept = Vec::new();
        while let Progress::Done(n, done) = p
            .advance(&rest[..rest.len().min(30)], false)
            .map(|pr| match pr {
                Progress::Partial => Progress::Done(
                    rest.len().min(30),
                    Complete {
                        status: 0,
                        close: false,
                        keep_alive_max: None,
                    },
                ),
                d => d,
            })
            .unwrap()
        {
            if done.status == 200 {
                kept.push(p.take_collected());
                p.set_collect(true);
            }
            rest = &rest[n..];
            if rest.is_empty() {
                break;
            }
        }
        assert_eq!(kept.len(), 2);
        assert!(kept[0].is_none(), "the 140-byte response exceeds the bound");
        assert_eq!(kept[1].as_deref().map(<[u8]>::len), Some(39));
    }

    #[test]
    fn heads_that_set_cookies_are_handed_over_every_time_at_every_split() {
        // A different head in between is handed over whole, and so is the next one after it.
        let mut p = ResponseParser::new();
        p.keep_cookies(true);
        let other: &[u8] = b"HTTP/1.1 200 OK\r\nSet-Cookie: s=2\r\nContent-Length: 0\r\n\r\n";
        let a: &[u8] = b"HTTP/1.1 200 OK\r\nSet-Cookie: s=1\r\nContent-Length: 0\r\n\r\n";
        for (input, whole) in [(a, true), (a, false), (other, true), (a, true)] {
            assert!(matches!(p.advance(input, false), Ok(Progress::Done(..))));
            let got = p.take_cookie_head().unwrap();
            assert_eq!(got == CookieHead::Repeat, !whole);
        }
        let one: &[u8] =
            b"HTTP/1.1 200 OK\r\nSet-Cookie: s=1; Path=/\r\nContent-Length: 2\r\n\r\nok";
        let stream: Vec<u8> = [one, one].concat();
        for cut in 0..stream.len() {
            let mut p = ResponseParser::new();
            p.keep_cookies(true);
            let mut heads = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                let mut rest = part;
                while let Ok(Progress::Done(n, _)) = p.advance(rest, false) {
                    heads.push(p.take_cookie_head().expect("a head that sets a cookie"));
                    rest = &rest[n..];
                }
            }
            // The first whole; the second, byte for byte the same, as a repeat.
            let head = one[..one.len() - 2].to_vec();
            assert_eq!(
                heads,
                vec![CookieHead::New(head), CookieHead::Repeat],
                "cut {cut}"
            );
        }
        // Off, or without Set-Cookie, nothing is kept.
        let mut p = ResponseParser::new();
        assert!(matches!(p.advance(one, false), Ok(Progress::Done(..))));
        assert!(p.take_cookie_head().is_none());
    }

    #[test]
    fn truncated_is_not_complete() {
        let mut p = ResponseParser::new();
        assert_eq!(
            p.advance(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", false)
                .unwrap(),
            Progress::Partial
        );
        assert!(p.mid_response());
        assert_eq!(p.eof(), None);
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"HTTX/1.1 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        ] {
            let mut p = ResponseParser::new();
            assert!(
                p.advance(bad, false).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut p = ResponseParser::new();
        let big = vec![b'a'; MAX_HEAD + 10];
        assert!(p.advance(b"HTTP/1.1 200 OK\r\nX: ", false).is_ok());
        assert!(p.advance(&big, false).is_err());
    }
}
