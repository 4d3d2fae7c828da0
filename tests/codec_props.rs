//! Property tests of the codecs: arbitrary byte streams split at arbitrary points never panic or
//! hang, responses are each counted once however split, and HPACK agrees with Python's `hpack`.

mod common;

use proptest::prelude::*;
use ringblast::http::response::{Progress, ResponseParser};
use ringblast::proto::h2::{hpack, huffman};

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

/// A header list of lowercase names and printable values, some from the static table.
fn header_list() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just(":path".to_string()),
        Just("accept".to_string()),
        Just("content-type".to_string()),
        "[a-z][a-z0-9-]{0,20}",
    ];
    proptest::collection::vec((name, "[ -~]{0,40}"), 0..12)
}

fn decode_all(d: &mut hpack::Decoder, block: &[u8]) -> Result<Vec<(String, String)>, &'static str> {
    let mut out = Vec::new();
    d.decode(block, |n, v| {
        out.push((
            String::from_utf8_lossy(n).into_owned(),
            String::from_utf8_lossy(v).into_owned(),
        ))
    })?;
    Ok(out)
}

proptest! {
    #[test]
    fn hpack_and_huffman_take_any_bytes_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut d = hpack::Decoder::new(4096);
        let _ = d.decode(&bytes, |_, _| {});
        let _ = huffman::decode(&bytes, &mut Vec::new());
    }

    #[test]
    fn hpack_blocks_round_trip(list in header_list(), raw in any::<bool>()) {
        let mut block = Vec::new();
        for (n, v) in &list {
            hpack::put_field(n.as_bytes(), v.as_bytes(), raw, false, &mut block);
        }
        let mut d = hpack::Decoder::new(4096);
        prop_assert_eq!(decode_all(&mut d, &block).unwrap(), list);
    }
}

/// Python's `hpack` (the h2 package's), run on stdin: `encode` prints one hex block per JSON
/// header list (Huffman and the dynamic table on, as servers use them); `decode` prints each
/// hex block's fields as JSON, keeping one table across the blocks.
const PY: &str = r#"
import json, sys
from hpack import Encoder, Decoder
mode, lines = sys.argv[1], sys.stdin.read().split("\n")
if mode == "encode":
    e = Encoder()
    for l in filter(None, lines):
        print(e.encode([tuple(h) for h in json.loads(l)]).hex())
else:
    d = Decoder()
    for l in filter(None, lines):
        print(json.dumps([[n, v] for n, v in d.decode(bytes.fromhex(l))]))
"#;

fn python(mode: &str, input: &str) -> Vec<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", PY, mode])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python hpack failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn hpack_agrees_with_python_hpack_both_ways() {
    if !common::python_has("hpack", "the HPACK cross-check") {
        return;
    }
    // Responses as a server sends them: repeated fields become dynamic-table references, values
    // long enough are Huffman-coded, and the table evicts as it fills.
    let lists: Vec<Vec<(String, String)>> = (0..60)
        .map(|i| {
            vec![
                (
                    ":status".into(),
                    if i % 7 == 0 { "404" } else { "200" }.into(),
                ),
                ("content-type".into(), "application/json".into()),
                ("server".into(), "nginx/1.22.1".into()),
                (
                    "date".into(),
                    format!("Sat, 05 Dec 2026 02:{:02}:00 GMT", i % 60),
                ),
                ("x-request-id".into(), format!("{:032x}", i * 7919)),
                (format!("x-custom-{}", i % 9), "v".repeat(i * 3)),
            ]
        })
        .collect();
    let json: String = lists
        .iter()
        .map(|l| serde_json::to_string(l).unwrap() + "\n")
        .collect();
    let blocks = python("encode", &json);
    assert_eq!(blocks.len(), lists.len());
    let mut d = hpack::Decoder::new(4096);
    for (hex, want) in blocks.iter().zip(&lists) {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(&decode_all(&mut d, &bytes).unwrap(), want);
    }
    assert!(
        d.table().size() > 0,
        "Python's encoder used the dynamic table"
    );
    // And our blocks, as a server's decoder reads them.
    let ours: String = lists
        .iter()
        .map(|l| {
            let mut block = Vec::new();
            for (n, v) in l {
                hpack::put_field(
                    n.as_bytes(),
                    v.as_bytes(),
                    false,
                    n == "x-request-id",
                    &mut block,
                );
            }
            block.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n"
        })
        .collect();
    let decoded = python("decode", &ours);
    for (line, want) in decoded.iter().zip(&lists) {
        let got: Vec<(String, String)> = serde_json::from_str(line).unwrap();
        assert_eq!(&got, want);
    }
}
