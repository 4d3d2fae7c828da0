//! Unit tests of the response parser: framing, splits at every byte, the remembered head,
//! collected responses and heads that set cookies.

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
    let s =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\nmore";
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
    let one: &[u8] = b"HTTP/1.1 200 OK\r\nSet-Cookie: s=1; Path=/\r\nContent-Length: 2\r\n\r\nok";
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
