//! HTTP/1.1 on the protocol seam: requests in flight in order (pipelined to any depth),
//! responses parsed incrementally by `http::response::ResponseParser`, answered first-in first-out.

use std::collections::VecDeque;

use super::{Completed, Exchange, Meta, Step};
use crate::http::response::{Progress, ResponseParser};

/// One HTTP/1.1 connection's requests in flight and its response parser.
#[derive(Debug)]
pub struct Http1<M> {
    in_flight: VecDeque<M>,
    parser: ResponseParser,
    /// Ids in staging order (wrapping): the id of a request is its place in the order.
    next_id: u32,
}

impl<M: Meta> Http1<M> {
    /// Room for `pipeline` requests in flight; at most `capture_limit` bytes of a response kept
    /// for captures.
    pub fn new(pipeline: usize, capture_limit: usize) -> Self {
        Self {
            in_flight: VecDeque::with_capacity(pipeline),
            parser: ResponseParser::with_collect_limit(capture_limit),
            next_id: 0,
        }
    }

    /// Stages `k` requests whose bytes the caller already wrote (a pre-built pipelined batch).
    pub fn stage_written(&mut self, meta: M, k: usize) {
        self.in_flight.extend(std::iter::repeat_n(meta, k));
        self.next_id = self.next_id.wrapping_add(k as u32);
    }
}

impl<M: Meta> Exchange<M> for Http1<M> {
    fn stage(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>) -> M) -> u32 {
        // HTTP/1.1 sends the request as it is written: no framing.
        let meta = write(out);
        self.in_flight.push_back(meta);
        let id = self.next_id;
        self.next_id = id.wrapping_add(1);
        id
    }

    #[inline(always)]
    fn feed(&mut self, input: &mut &[u8]) -> Step<M> {
        let Some(&front) = self.in_flight.front() else {
            // A response nobody asked for: the stream cannot be trusted.
            return if input.is_empty() {
                Step::Partial
            } else {
                Step::Broken("a response to no request")
            };
        };
        self.parser.set_collect(front.collect());
        match self.parser.advance(input, front.head()) {
            Ok(Progress::Partial) => {
                *input = &[];
                Step::Partial
            }
            Ok(Progress::Done(n, done)) => {
                *input = &input[n..];
                self.in_flight.pop_front();
                Step::Done(Completed {
                    meta: front,
                    status: done.status,
                    body_len: self.parser.last_body_len,
                    collected: if front.collect() {
                        self.parser.take_collected()
                    } else {
                        None
                    },
                    close: done.close,
                    remaining: done.keep_alive_max,
                    set_cookie: self.parser.take_cookie_head(),
                })
            }
            Err(e) => Step::Broken(e.0),
        }
    }

    fn eof(&mut self) -> Option<Completed<M>> {
        let done = self.parser.eof()?;
        let meta = self.in_flight.pop_front()?;
        Some(Completed {
            meta,
            status: done.status,
            body_len: self.parser.last_body_len,
            collected: if meta.collect() {
                self.parser.take_collected()
            } else {
                None
            },
            close: true,
            remaining: None,
            set_cookie: self.parser.take_cookie_head(),
        })
    }

    fn mid_response(&self) -> bool {
        self.parser.mid_response()
    }

    fn keep_cookies(&mut self, on: bool) {
        self.parser.keep_cookies(on);
    }

    #[inline]
    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn oldest(&self) -> Option<&M> {
        self.in_flight.front()
    }

    fn each_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut M> {
        self.in_flight.iter_mut()
    }

    fn drain(&mut self) -> impl Iterator<Item = M> {
        self.parser.reset();
        self.in_flight.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    struct M(u32, bool);

    impl Meta for M {
        fn head(&self) -> bool {
            self.1
        }
        fn collect(&self) -> bool {
            self.0 == 7
        }
    }

    fn stage(x: &mut Http1<M>, m: M, bytes: &[u8], out: &mut Vec<u8>) -> u32 {
        x.stage(out, |o| {
            o.extend_from_slice(bytes);
            m
        })
    }

    #[test]
    fn answers_in_order_at_every_split_point() {
        let stream = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n";
        for split in 0..stream.len() {
            let mut x = Http1::new(4, 1024);
            let mut out = Vec::new();
            assert_eq!(
                stage(&mut x, M(1, false), b"GET / HTTP/1.1\r\n\r\n", &mut out),
                0
            );
            assert_eq!(
                stage(&mut x, M(2, false), b"GET / HTTP/1.1\r\n\r\n", &mut out),
                1
            );
            assert_eq!(
                stage(&mut x, M(3, true), b"HEAD / HTTP/1.1\r\n\r\n", &mut out),
                2
            );
            assert_eq!(out.len(), 55, "HTTP/1.1 sends what was written, unframed");
            let mut done = Vec::new();
            for part in [&stream[..split], &stream[split..]] {
                let mut input = part;
                loop {
                    match x.feed(&mut input) {
                        Step::Partial => break,
                        Step::Done(c) => done.push((c.meta.0, c.status, c.body_len)),
                        Step::Broken(e) => panic!("{e}"),
                        Step::Failed(..) => panic!("HTTP/1.1 fails no single request"),
                    }
                }
            }
            // The HEAD answer's Content-Length announces a body that never comes.
            assert_eq!(
                done,
                vec![(1, 200, 2), (2, 404, 0), (3, 200, 0)],
                "split {split}"
            );
            assert!(x.is_idle() && !x.mid_response());
        }
    }

    #[test]
    fn collects_only_what_captures_and_ends_close_delimited_bodies_at_eof() {
        let mut x = Http1::new(1, 1024);
        let mut out = Vec::new();
        stage(&mut x, M(7, false), b"GET / HTTP/1.1\r\n\r\n", &mut out);
        let mut input: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"a\":1}";
        assert!(matches!(x.feed(&mut input), Step::Partial));
        assert!(x.mid_response());
        let c = x.eof().expect("the close ends the body");
        assert_eq!((c.status, c.body_len, c.close), (200, 7, true));
        assert!(c.collected.unwrap().ends_with(b"{\"a\":1}"));
    }

    #[test]
    fn an_unasked_response_breaks_the_stream_and_drain_hands_back_the_rest() {
        let mut x: Http1<M> = Http1::new(2, 1024);
        let mut input: &[u8] = b"HTTP/1.1 200 OK\r\n\r\n";
        assert!(matches!(x.feed(&mut input), Step::Broken(_)));
        let mut out = Vec::new();
        stage(&mut x, M(1, false), b"x", &mut out);
        stage(&mut x, M(2, false), b"y", &mut out);
        let mut input: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Le";
        assert!(matches!(x.feed(&mut input), Step::Partial));
        let left: Vec<u32> = x.drain().map(|m| m.0).collect();
        assert_eq!(left, vec![1, 2]);
        assert!(!x.mid_response(), "draining forgets the partial response");
    }
}
