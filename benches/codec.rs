//! Micro-benchmark of the per-response hot path: parsing pipelined responses and recording them.
//! Run: `cargo bench --bench codec`. Prints nanoseconds per response; compare runs on one machine.

use std::hint::black_box;
use std::time::Instant;

use ringblast::http::response::{Progress, ResponseParser};
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
}
