//! Micro-benchmark of the per-response hot path: parsing pipelined responses, HPACK blocks, and
//! recording. Run: `cargo bench --bench codec`. Prints ns each; compare runs on one machine.

use std::hint::black_box;
use std::time::Instant;

use ringblast::http::response::{Progress, ResponseParser};
use ringblast::proto::h2::hpack;
use ringblast::stats::Recorder;

fn stream(response: &[u8], copies: usize) -> Vec<u8> {
    response.repeat(copies)
}

/// Parses `data` (a run of whole responses) `rounds` times; returns ns per response.
fn parse(data: &[u8], per_round: usize, rounds: usize) -> f64 {
    let mut parser = ResponseParser::new();
    let start = Instant::now();
    let mut done = 0usize;
    for _ in 0..rounds {
        let mut rest = black_box(data);
        while !rest.is_empty() {
            match parser.advance(rest, false).expect("valid") {
                Progress::Done(n, c) => {
                    black_box(c);
                    done += 1;
                    rest = &rest[n..];
                }
                Progress::Partial => break,
            }
        }
    }
    assert_eq!(done, per_round * rounds);
    start.elapsed().as_nanos() as f64 / done as f64
}

fn best_of<F: FnMut() -> f64>(mut f: F) -> f64 {
    (0..5).map(|_| f()).fold(f64::MAX, f64::min)
}

fn main() {
    let builtin =
        b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";
    let typical = b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nDate: Sun, 29 Nov 2026 06:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: keep-alive\r\nCache-Control: no-cache\r\nX-Request-Id: 5f0c6f5e-8d1b-4c57-a0a3-1f5b7a0e9c11\r\n\r\n{\"ok\":true,\"items\":[1,2,3]}";
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\nd\r\nHello, world!\r\n0\r\n\r\n";
    for (name, resp) in [
        ("builtin", &builtin[..]),
        ("typical", &typical[..]),
        ("chunked", &chunked[..]),
    ] {
        let data = stream(resp, 16);
        let ns = best_of(|| parse(&data, 16, 200_000));
        println!(
            "parse {name:<8} {ns:>7.1} ns/response ({} bytes)",
            resp.len()
        );
    }
    // Worst case for the remembered-head fast path: every head differs (a fresh request id).
    let mut varying = Vec::new();
    for i in 0..16 {
        let id = format!("{i:02}");
        varying.extend_from_slice(&typical[..typical.len() - 40]);
        varying.extend_from_slice(&typical[typical.len() - 40..]);
        let at = varying.len() - typical.len()
            + typical
                .windows(12)
                .position(|w| w == b"X-Request-Id")
                .unwrap()
            + 14;
        varying[at..at + 2].copy_from_slice(id.as_bytes());
    }
    let ns = best_of(|| parse(&varying, 16, 200_000));
    println!("parse varying  {ns:>7.1} ns/response (every head differs)");
    let ns = best_of(|| {
        let mut rec = Recorder::new(1);
        let n = 5_000_000u64;
        let start = Instant::now();
        for i in 0..n {
            let v = black_box(100 + (i & 1023));
            rec.response(0, 200, true, v, v);
        }
        black_box(&rec);
        start.elapsed().as_nanos() as f64 / n as f64
    });
    println!("record response   {ns:>7.1} ns/response");
    hpack_blocks();
}

/// HPACK as a client meets it: a request block encoded, a server's first response block
/// (Huffman literals entering the table) and the repeats (table references).
fn hpack_blocks() {
    let fields: [(&[u8], &[u8]); 6] = [
        (b":status", b"200"),
        (b"server", b"nginx/1.22.1"),
        (b"date", b"Sat, 05 Dec 2026 02:00:00 GMT"),
        (b"content-type", b"application/json"),
        (b"content-length", b"27"),
        (b"cache-control", b"no-cache"),
    ];
    // As nginx sends them: literals with incremental indexing, Huffman-coded.
    let mut first = Vec::new();
    for (n, v) in fields {
        first.push(0x40);
        hpack::put_str(n, false, &mut first);
        hpack::put_str(v, false, &mut first);
    }
    // The same fields again, as references to the six newest table entries (62..67).
    let repeat: Vec<u8> = (62..68u8).rev().map(|i| 0x80 | i).collect();
    let n = 1_000_000;
    let ns = best_of(|| {
        let start = Instant::now();
        for _ in 0..n {
            let mut d = hpack::Decoder::new(4096);
            let mut count = 0;
            d.decode(black_box(&first), |_, v| count += v.len())
                .expect("valid");
            black_box(count);
        }
        start.elapsed().as_nanos() as f64 / n as f64
    });
    println!(
        "hpack decode first   {ns:>7.1} ns/block ({} bytes of Huffman literals, a new table each)",
        first.len()
    );
    let mut d = hpack::Decoder::new(4096);
    d.decode(&first, |_, _| {}).expect("valid");
    let ns = best_of(|| {
        let start = Instant::now();
        for _ in 0..n {
            let mut count = 0;
            d.decode(black_box(&repeat), |_, v| count += v.len())
                .expect("valid");
            black_box(count);
        }
        start.elapsed().as_nanos() as f64 / n as f64
    });
    println!(
        "hpack decode repeat  {ns:>7.1} ns/block ({} bytes of table references)",
        repeat.len()
    );
    let ns = best_of(|| {
        let start = Instant::now();
        let mut out = Vec::with_capacity(256);
        for _ in 0..n {
            out.clear();
            hpack::put_field(b":method", b"GET", false, false, &mut out);
            hpack::put_field(b":scheme", b"http", false, false, &mut out);
            hpack::put_field(b":authority", b"127.0.0.1:8080", false, false, &mut out);
            hpack::put_field(
                b":path",
                b"/api/v1/deployments/00042/",
                true,
                false,
                &mut out,
            );
            hpack::put_field(b"authorization", b"Bearer tok-0001", false, true, &mut out);
            black_box(&out);
        }
        start.elapsed().as_nanos() as f64 / n as f64
    });
    println!("hpack encode request {ns:>7.1} ns/block");
    h2_stage();
}

#[derive(Debug, Clone, Copy)]
struct Meta;
impl ringblast::proto::Meta for Meta {
    fn head(&self) -> bool {
        false
    }
    fn collect(&self) -> bool {
        false
    }
}

/// Staging one request on an HTTP/2 connection, as the engine does: rendered as HTTP/1.1, then
/// framed; a head seen before reuses its HPACK block, a new one is parsed and encoded.
fn h2_stage() {
    use ringblast::proto::Exchange;
    use ringblast::proto::h2::exchange::H2;
    let req = b"GET /api/v1/deployments/00042/ HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer tok-0001\r\nAccept: */*\r\n\r\n";
    let n = 1_000_000u32;
    for (name, vary) in [("repeat", false), ("varying", true)] {
        let ns = best_of(|| {
            let mut h = H2::<Meta>::new(false, 0);
            let mut out = Vec::with_capacity(1 << 16);
            let mut r = req.to_vec();
            let start = Instant::now();
            for i in 0..n {
                if vary {
                    // A five-digit id in the path, as a `{{seq}}` template makes.
                    let mut v = i % 100_000;
                    for b in r[24..29].iter_mut().rev() {
                        *b = b'0' + (v % 10) as u8;
                        v /= 10;
                    }
                }
                out.clear();
                h.stage(&mut out, |o| {
                    o.extend_from_slice(&r);
                    Meta
                });
                // Streams are answered: forget them now and then (a new connection's preface
                // and state, less than a nanosecond a request).
                if i % 1024 == 1023 {
                    black_box(h.drain().count());
                }
            }
            start.elapsed().as_nanos() as f64 / f64::from(n)
        });
        println!("h2 stage {name:<8}    {ns:>7.1} ns/request (render, frame, HPACK block)");
    }
}
