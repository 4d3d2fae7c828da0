//! The HTTP/2 server connection's unit tests: our own client against it, bytes cut at every
//! boundary, bodies through small windows, refused streams and connection errors. Test-only.

use super::*;
use crate::proto::Meta;
use crate::proto::h2::client::{self, Client, Event};

#[derive(Debug, Clone, Copy, PartialEq)]
struct M(u32);

impl Meta for M {
    fn head(&self) -> bool {
        false
    }
    fn collect(&self) -> bool {
        true
    }
}

fn request<'a>(method: &'a [u8], path: &'a [u8], body: &'a [u8]) -> client::Request<'a> {
    client::Request {
        fields: vec![
            (b":method", method),
            (b":scheme", b"http"),
            (b":authority", b"127.0.0.1:8080"),
            (b":path", path),
            (b"authorization", b"Bearer t"),
        ],
        body,
    }
}

/// A response block: `:status 200` and a content-length.
fn ok_block(len: usize) -> Vec<u8> {
    let mut b = Vec::new();
    client::put(b":status", b"200", &mut b);
    client::put(b"content-length", len.to_string().as_bytes(), &mut b);
    b
}

/// Feeds `bytes` to the server `step` bytes at a time; returns the requests and what it sent.
fn serve(s: &mut Conn, bytes: &[u8], step: usize) -> (Vec<Request>, Vec<u8>) {
    let (mut done, mut out) = (Vec::new(), Vec::new());
    for piece in bytes.chunks(step.max(1)) {
        s.feed(piece, &mut out, &mut done).expect("valid");
    }
    (done, out)
}

/// What the client makes of the server's bytes: "id status body_len" per response.
fn answers(c: &mut Client<M>, bytes: &[u8]) -> Vec<String> {
    let mut got = Vec::new();
    let mut next = c.feed(bytes);
    while let Some(e) = next {
        got.push(match e {
            Event::Response {
                meta,
                status,
                body_len,
                ..
            } => format!("{} {status} {body_len}", meta.0),
            Event::Ended(meta, how) => format!("{} {how:?}", meta.0),
            Event::Broken(why) => format!("broken {why}"),
        });
        next = c.feed(&[]);
    }
    got
}

#[test]
fn our_client_and_server_agree_however_the_bytes_are_cut() {
    for step in [1, 2, 7, 9, 64, 100_000] {
        let mut c = Client::<M>::new(false, 4096);
        let mut s = Conn::new(1 << 20);
        let mut wire = Vec::new();
        c.stage(&mut wire, &request(b"GET", b"/a", b""), M(1));
        c.stage(&mut wire, &request(b"POST", b"/b?x=1", b"hello"), M(3));
        c.stage(&mut wire, &request(b"HEAD", b"/c", b""), M(5));
        let (done, back) = serve(&mut s, &wire, step);
        let seen: Vec<_> = done
            .iter()
            .map(|r| (r.stream, r.method.as_str(), r.path.as_str(), r.body))
            .collect();
        assert_eq!(
            seen,
            [
                (1, "GET", "/a", 0),
                (3, "POST", "/b?x=1", 5),
                (5, "HEAD", "/c", 0)
            ],
            "step {step}"
        );
        assert!(done.iter().all(|r| r.authorization == b"Bearer t"));
        assert_eq!(s.open_streams(), 3);
        // Answered out of order; the client's SETTINGS were acknowledged on the way.
        let mut back = back;
        s.respond(3, &ok_block(2), b"ok", &mut back);
        s.respond(1, &ok_block(5), b"hello", &mut back);
        s.respond(5, &ok_block(5), b"", &mut back);
        assert_eq!(s.open_streams(), 0);
        assert_eq!(answers(&mut c, &back), ["3 200 2", "1 200 5", "5 200 0"]);
    }
}

#[test]
fn response_bodies_wait_for_the_clients_window() {
    let mut s = Conn::new(1 << 20);
    let mut wire = frame::PREFACE.to_vec();
    frame::settings(&[(setting::INITIAL_WINDOW_SIZE, 3)], &mut wire);
    let mut block = Vec::new();
    client::put(b":method", b"GET", &mut block);
    client::put(b":path", b"/", &mut block);
    frame::headers(1, &block, true, frame::MIN_FRAME, &mut wire);
    let (done, _) = serve(&mut s, &wire, wire.len());
    assert_eq!(done.len(), 1);
    let data = |bytes: &[u8]| -> Vec<u8> {
        let mut got = Vec::new();
        let mut at = 0;
        while let Some((f, n)) = Frame::read(&bytes[at..], frame::MAX_FRAME).unwrap() {
            if f.kind == kind::DATA {
                got.extend_from_slice(f.payload);
            }
            at += n;
        }
        got
    };
    let mut out = Vec::new();
    s.respond(1, &ok_block(10), b"0123456789", &mut out);
    assert_eq!(data(&out), b"012");
    assert_eq!(s.open_streams(), 1, "still sending");
    let mut more = Vec::new();
    frame::window_update(1, 4, &mut more);
    let (_, out) = serve(&mut s, &more, more.len());
    assert_eq!(data(&out), b"3456");
    let mut more = Vec::new();
    frame::window_update(1, 100, &mut more);
    let (_, out) = serve(&mut s, &more, more.len());
    assert_eq!(data(&out), b"789");
    assert_eq!(s.open_streams(), 0);
}

#[test]
fn streams_past_the_limit_are_refused_and_bodies_past_the_bound_flagged() {
    let mut c = Client::<M>::new(false, 0);
    let mut s = Conn::new(4);
    let mut wire = Vec::new();
    for i in 0..=MAX_STREAMS {
        c.stage(&mut wire, &request(b"GET", b"/", b""), M(i));
    }
    let (done, out) = serve(&mut s, &wire, wire.len());
    assert_eq!(done.len(), MAX_STREAMS as usize);
    let last = 2 * MAX_STREAMS + 1;
    let mut refused = Vec::new();
    frame::rst_stream(last, code::REFUSED_STREAM, &mut refused);
    assert!(
        out.windows(refused.len()).any(|w| w == refused),
        "the stream past the limit"
    );
    // A body over the bound ends its request, flagged, at once.
    let mut s = Conn::new(4);
    let mut wire = Vec::new();
    Client::<M>::new(false, 0).stage(&mut wire, &request(b"POST", b"/", b"0123456789"), M(1));
    let (done, _) = serve(&mut s, &wire, wire.len());
    assert_eq!(done.len(), 1);
    assert!(done[0].too_large);
}

#[test]
fn a_broken_connection_says_why_in_a_goaway() {
    let cases: [(&[u8], u32); 3] = [
        (b"GET / HTTP/1.1\r\n\r\n", code::PROTOCOL_ERROR),
        // A HEADERS frame whose block is an index past every table.
        (
            &[0, 0, 1, kind::HEADERS, 0x5, 0, 0, 0, 1, 0xff],
            code::COMPRESSION_ERROR,
        ),
        // An even (server-initiated) stream id.
        (
            &[0, 0, 1, kind::HEADERS, 0x5, 0, 0, 0, 2, 0x82],
            code::PROTOCOL_ERROR,
        ),
    ];
    for (bytes, want) in cases {
        let mut s = Conn::new(1 << 20);
        let mut wire = if bytes.starts_with(b"GET") {
            Vec::new()
        } else {
            frame::PREFACE.to_vec()
        };
        wire.extend_from_slice(bytes);
        let (mut out, mut done) = (Vec::new(), Vec::new());
        let e = s.feed(&wire, &mut out, &mut done).unwrap_err();
        assert_eq!(e.code, want, "{}", e.why);
        let mut goaway = Vec::new();
        frame::goaway(0, want, &mut goaway);
        assert!(out.ends_with(&goaway), "{}", e.why);
    }
}
