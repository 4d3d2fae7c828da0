//! The HTTP/2 client's unit tests: frames fed in pieces of every size, streams ending in any
//! order, CONTINUATION, resets, GOAWAY, windows and protocol errors. Test-only.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
struct M(u32, bool);

impl Meta for M {
    fn head(&self) -> bool {
        false
    }
    fn collect(&self) -> bool {
        self.1
    }
}

fn get<'a>(path: &'a [u8]) -> Request<'a> {
    Request {
        fields: vec![
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":authority", b"127.0.0.1:8080"),
            (b":path", path),
        ],
        body: b"",
    }
}

/// A response as a server frames it: HEADERS (literals with indexing, Huffman), DATA.
fn response(id: u32, status: &str, body: &[u8], out: &mut Vec<u8>) {
    let mut block = Vec::new();
    block.push(0x48); // :status, literal with indexing (static name 8)
    hpack::put_str(status.as_bytes(), false, &mut block);
    block.push(0x40);
    hpack::put_str(b"content-type", false, &mut block);
    hpack::put_str(b"application/json", false, &mut block);
    frame::headers(id, &block, body.is_empty(), frame::MIN_FRAME, out);
    if !body.is_empty() {
        frame::data(id, body, true, frame::MIN_FRAME, out);
    }
}

/// Every event the bytes produce, fed in pieces of `step` bytes, and fed again with no
/// bytes only while the client says it has more (as the engine does).
fn events(c: &mut Client<M>, bytes: &[u8], step: usize) -> Vec<String> {
    let mut out = Vec::new();
    for piece in bytes.chunks(step.max(1)) {
        let mut next = c.feed(piece);
        loop {
            let Some(e) = next else {
                assert!(!c.has_events(), "nothing is left waiting");
                break;
            };
            out.push(match e {
                Event::Response {
                    meta,
                    status,
                    body_len,
                    whole,
                } => {
                    format!("{} {status} {body_len} {}", meta.0, whole.is_some())
                }
                Event::Ended(meta, how) => format!("{} {how:?}", meta.0),
                Event::Broken(why) => format!("broken {why}"),
            });
            if !c.has_events() {
                break;
            }
            next = c.feed(&[]);
        }
    }
    out
}

#[test]
fn a_request_opens_with_the_preface_and_is_one_headers_frame() {
    let mut c = Client::new(false, 4096);
    let mut out = Vec::new();
    assert_eq!(c.stage(&mut out, &get(b"/a"), M(1, false)), 1);
    assert_eq!(c.stage(&mut out, &get(b"/b"), M(2, false)), 3);
    assert!(out.starts_with(frame::PREFACE));
    let mut at = frame::PREFACE.len();
    let mut kinds = Vec::new();
    let mut d = hpack::Decoder::new(4096);
    while let Some((f, n)) = Frame::read(&out[at..], frame::MIN_FRAME).unwrap() {
        kinds.push((f.kind, f.stream));
        if f.kind == kind::HEADERS {
            assert_eq!(f.flags, flag::END_STREAM | flag::END_HEADERS);
            let mut path = Vec::new();
            d.decode(f.payload, |n, v| {
                if n == b":path" {
                    path = v.to_vec();
                }
            })
            .unwrap();
            assert!(path == b"/a" || path == b"/b");
        }
        at += n;
    }
    assert_eq!(
        kinds,
        vec![
            (kind::SETTINGS, 0),
            (kind::WINDOW_UPDATE, 0),
            (kind::HEADERS, 1),
            (kind::HEADERS, 3)
        ]
    );
}

#[test]
fn responses_complete_their_streams_in_any_order_however_the_bytes_are_cut() {
    let mut server = Vec::new();
    frame::settings(&[(setting::MAX_CONCURRENT_STREAMS, 100)], &mut server);
    response(3, "404", b"", &mut server);
    response(1, "200", br#"{"access":"tok-1"}"#, &mut server);
    for step in [1, 2, 7, server.len()] {
        let mut c = Client::new(false, 4096);
        let mut out = Vec::new();
        c.stage(&mut out, &get(b"/a"), M(1, true));
        c.stage(&mut out, &get(b"/b"), M(2, false));
        assert_eq!(
            events(&mut c, &server, step),
            vec!["2 404 0 false", "1 200 18 true"],
            "in pieces of {step}"
        );
        assert_eq!(c.peer().max_streams, 100);
        let mut ack = Vec::new();
        assert!(c.control(&mut ack));
        let (f, _) = Frame::read(&ack, frame::MIN_FRAME).unwrap().unwrap();
        assert_eq!((f.kind, f.flags), (kind::SETTINGS, flag::ACK));
        assert_eq!(c.in_flight(), 0);
    }
}

#[test]
fn a_kept_response_reads_as_http1_for_captures() {
    let mut c = Client::new(false, 4096);
    let mut out = Vec::new();
    c.stage(&mut out, &get(b"/login"), M(1, true));
    let mut server = Vec::new();
    response(1, "200", br#"{"access":"tok-7"}"#, &mut server);
    let Some(Event::Response { whole: Some(w), .. }) = c.feed(&server) else {
        panic!("no response")
    };
    let got = crate::scenario::capture::extract(
        &w,
        &crate::scenario::program::Source::Json("/access".into()),
    );
    assert_eq!(got, Some(b"tok-7".to_vec()));
}

#[test]
fn continuation_resets_and_goaway() {
    let mut c = Client::new(false, 0);
    let mut out = Vec::new();
    for i in 1..=3 {
        c.stage(&mut out, &get(b"/x"), M(i, false));
    }
    let mut server = Vec::new();
    // Stream 1's headers cut into 3-byte CONTINUATIONs.
    let mut block = Vec::new();
    hpack::put_field(b":status", b"200", false, false, &mut block);
    hpack::put_field(b"server", b"nginx/1.22.1", false, false, &mut block);
    frame::headers(1, &block, true, 3, &mut server);
    frame::rst_stream(3, 0x7, &mut server);
    frame::goaway(1, 0, &mut server);
    assert_eq!(
        events(&mut c, &server, 5),
        vec!["1 200 0 false", "2 Reset(7)", "3 Refused"]
    );
    assert!(!c.may_open());
    // A frame of another stream inside a header block breaks the connection.
    let mut c = Client::new(false, 0);
    c.stage(&mut Vec::new(), &get(b"/x"), M(1, false));
    let mut bad = Vec::new();
    frame::headers(1, &block, true, 3, &mut bad);
    let cut = 9 + 3;
    let mut spliced = bad[..cut].to_vec();
    frame::ping_ack(&[0; 8], &mut spliced);
    assert_eq!(
        events(&mut c, &spliced, spliced.len()),
        vec!["broken HTTP/2: a frame inside a header block"]
    );
}

#[test]
fn an_acknowledgement_before_any_request_follows_the_preface() {
    let mut c = Client::<M>::new(false, 0);
    let mut server = Vec::new();
    frame::settings(&[(setting::MAX_CONCURRENT_STREAMS, 10)], &mut server);
    assert!(events(&mut c, &server, server.len()).is_empty());
    let mut out = Vec::new();
    assert!(c.control(&mut out));
    assert!(out.starts_with(frame::PREFACE), "{out:?}");
    let mut ack = Vec::new();
    frame::settings_ack(&mut ack);
    assert!(out.ends_with(&ack));
    // The first request after it does not send the preface again.
    let mut more = Vec::new();
    c.stage(&mut more, &get(b"/"), M(1, false));
    assert!(
        !more
            .windows(frame::PREFACE.len())
            .any(|w| w == frame::PREFACE)
    );
}

#[test]
fn bodies_wait_for_window_and_pings_are_answered() {
    let mut c = Client::new(false, 0);
    let mut server = Vec::new();
    frame::settings(&[(setting::INITIAL_WINDOW_SIZE, 1)], &mut server);
    assert!(events(&mut c, &server, server.len()).is_empty());
    let mut out = Vec::new();
    let post = Request {
        fields: vec![(b":method", b"POST"), (b":path", b"/p")],
        body: b"0123456789",
    };
    c.stage(&mut out, &post, M(1, false));
    let data = |bytes: &[u8]| -> Vec<u8> {
        let mut got = Vec::new();
        let mut at = 0;
        while let Some((f, n)) = Frame::read(&bytes[at..], frame::MIN_FRAME).unwrap() {
            if f.kind == kind::DATA {
                got.extend_from_slice(f.payload);
            }
            at += n;
        }
        got
    };
    assert_eq!(data(&out[frame::PREFACE.len()..]), b"0");
    let mut more = Vec::new();
    frame::window_update(1, 4, &mut more);
    frame::head(8, kind::PING, 0, 0, &mut more);
    more.extend_from_slice(b"pingpong");
    assert!(events(&mut c, &more, 3).is_empty());
    let mut sent = Vec::new();
    c.control(&mut sent);
    assert_eq!(data(&sent), b"1234");
    assert!(
        sent.windows(8).any(|w| w == b"pingpong"),
        "PING acknowledged"
    );
    assert!(c.waiting(), "5 bytes still wait");
    // The connection's window alone opens: the stream's is still shut, so nothing moves.
    let mut conn_only = Vec::new();
    frame::window_update(0, 100, &mut conn_only);
    assert!(events(&mut c, &conn_only, conn_only.len()).is_empty());
    assert!(!c.control(&mut Vec::new()));
    assert!(c.waiting(), "still waiting on the stream's window");
    let mut stream = Vec::new();
    frame::window_update(1, 100, &mut stream);
    assert!(events(&mut c, &stream, stream.len()).is_empty());
    let mut rest = Vec::new();
    c.control(&mut rest);
    assert_eq!(data(&rest), b"56789");
    assert!(!c.waiting());
}

#[test]
fn protocol_errors_break_the_connection() {
    for (what, bytes) in [
        ("DATA before HEADERS", {
            let mut b = Vec::new();
            frame::data(1, b"x", true, frame::MIN_FRAME, &mut b);
            b
        }),
        ("push", {
            let mut b = Vec::new();
            frame::head(4, kind::PUSH_PROMISE, flag::END_HEADERS, 1, &mut b);
            b.extend_from_slice(&[0, 0, 0, 2]);
            b
        }),
        ("bad window", {
            let mut b = Vec::new();
            frame::window_update(0, frame::MAX_WINDOW as u32, &mut b);
            b
        }),
    ] {
        let mut c = Client::new(false, 0);
        c.stage(&mut Vec::new(), &get(b"/x"), M(1, false));
        let got = events(&mut c, &bytes, bytes.len());
        assert!(
            got.len() == 1 && got[0].starts_with("broken"),
            "{what}: {got:?}"
        );
    }
}
