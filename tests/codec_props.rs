//! Property tests of the response codec: arbitrary byte streams split at arbitrary points never
//! panic or hang, and well-formed pipelined responses are each counted once, however split.

use proptest::prelude::*;
use ringblast::http::response::{Progress, ResponseParser};

/// One well-formed response of a few kinds, as bytes, and whether it answers a HEAD request.
fn response() -> impl Strategy<Value = (Vec<u8>, bool)> {
    let body = proptest::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        body.clone().prop_map(|b| {
            let mut r =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", b.len()).into_bytes();
            r.extend_from_slice(&b);
            (r, false)
        }),
        (body.clone(), 1usize..50).prop_map(|(b, chunk)| {
            let mut r = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for c in b.chunks(chunk) {
                r.extend_from_slice(format!("{:x};x=y\r\n", c.len()).as_bytes());
                r.extend_from_slice(c);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\nTrailer: t\r\n\r\n");
            (r, false)
        }),
        Just((b"HTTP/1.1 204 No Content\r\nX: y\r\n\r\n".to_vec(), false)),
        Just((
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n".to_vec(),
            false
        )),
        Just((
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".to_vec(),
            true
        )),
    ]
}

/// Feeds `stream` in pieces cut at `cuts`; returns the statuses completed, or the error.
fn feed(stream: &[u8], cuts: &[usize], heads: &[bool]) -> Result<Vec<u16>, ()> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(0);
    points.push(stream.len());
    points.sort_unstable();
    points.dedup();
    let mut p = ResponseParser::new();
    let mut done = Vec::new();
    for w in points.windows(2) {
        let mut rest = &stream[w[0]..w[1]];
        let mut guard = 0;
        while !rest.is_empty() {
            guard += 1;
            assert!(guard < 10_000, "no progress");
            let head = heads.get(done.len()).copied().unwrap_or(false);
            match p.advance(rest, head).map_err(|_| ())? {
                Progress::Partial => break,
                Progress::Done(n, c) => {
                    assert!(n <= rest.len());
                    done.push(c.status);
                    rest = &rest[n..];
                }
            }
        }
    }
    Ok(done)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000),
                                   cuts in proptest::collection::vec(any::<usize>(), 0..20)) {
        let _ = feed(&bytes, &cuts, &[]);
    }

    #[test]
    fn mangled_responses_never_panic(rs in proptest::collection::vec(response(), 1..6),
                                     flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                                     cuts in proptest::collection::vec(any::<usize>(), 0..20)) {
        let mut stream: Vec<u8> = rs.iter().flat_map(|(r, _)| r.clone()).collect();
        for (at, b) in flips {
            let i = at % stream.len();
            stream[i] = b;
        }
        let heads: Vec<bool> = rs.iter().map(|(_, h)| *h).collect();
        let _ = feed(&stream, &cuts, &heads);
    }

    #[test]
    fn every_pipelined_response_is_counted_once(rs in proptest::collection::vec(response(), 1..8),
                                                cuts in proptest::collection::vec(any::<usize>(), 0..30)) {
        let stream: Vec<u8> = rs.iter().flat_map(|(r, _)| r.clone()).collect();
        let heads: Vec<bool> = rs.iter().map(|(_, h)| *h).collect();
        let done = feed(&stream, &cuts, &heads).expect("well-formed responses parse");
        let want: Vec<u16> = rs
            .iter()
            .map(|(r, _)| std::str::from_utf8(&r[9..12]).unwrap().parse().unwrap())
            .collect();
        prop_assert_eq!(done, want);
    }
}
