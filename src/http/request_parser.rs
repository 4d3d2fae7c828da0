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

#[derive(Debug)]
enum Body {
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// Parses a stream of pipelined requests from arbitrarily split input.
#[derive(Debug, Default)]
pub struct RequestParser {
    carry: Vec<u8>,
    body: Option<(Body, Request)>,
    /// Keep `details` of every request head.
    pub want_details: bool,
    pub details: Details,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds input; returns the bytes used and, if a request ended there, the request.
    pub fn advance(&mut self, input: &[u8]) -> Result<(usize, Option<Request>), &'static str> {
        if let Some((body, req)) = &mut self.body {
            let (used, done) = match body {
                Body::Length(left) => {
                    let take = (*left).min(input.len() as u64);
                    *left -= take;
                    (take as usize, *left == 0)
                }
                Body::Chunked(dec) => dec.advance(input).map_err(|e| e.0)?,
            };
            let req = *req;
            if done {
                self.body = None;
                return Ok((used, Some(req)));
            }
            return Ok((used, None));
        }
        let carried = self.carry.len();
        let buf: &[u8] = if carried == 0 {
            input
        } else {
            self.carry.extend_from_slice(input);
            &self.carry
        };
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 64];
        let mut parsed = httparse::Request::new(&mut []);
        let n = match parsed.parse_with_uninit_headers(buf, &mut headers) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                if carried == 0 {
                    self.carry.extend_from_slice(input);
                }
                if self.carry.len() > MAX_HEAD {
                    return Err("request head too large");
                }
                return Ok((input.len(), None));
            }
            Err(_) => return Err("malformed request"),
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
                let len = parse_content_length(h.value).ok_or("invalid Content-Length")?;
                if len > 0 {
                    body = Some(Body::Length(len));
                }
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") && is_chunked(h.value) {
                body = Some(Body::Chunked(ChunkedDecoder::new()));
            } else if h.name.eq_ignore_ascii_case("connection") {
                req.close =
                    has_token(h.value, "close") || (req.close && !has_token(h.value, "keep-alive"));
            }
        }
        self.carry.clear();
        let used = n - carried;
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
    fn rejects_garbage() {
        assert!(
            RequestParser::new()
                .advance(b"\x01\x02 nonsense\r\n\r\n")
                .is_err()
        );
    }
}
