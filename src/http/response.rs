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
#[path = "response_tests.rs"]
mod tests;
