//! The built-in target against hostile clients, on every backend: a client that pipelines and
//! never reads, huge responses, oversized heads and bodies, slowloris, idle sockets, and accept
//! under an exhausted file table. What serve answers is read off the wire.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Served;

/// Reads until `want` bytes arrived, the peer closed, or `limit` passed.
fn read_until(stream: &mut TcpStream, want: usize, limit: Duration) -> (Vec<u8>, bool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let end = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    while got.len() < want && Instant::now() < end {
        match stream.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return (got, true),
        }
    }
    (got, false)
}

fn connect(served: &Served) -> TcpStream {
    let s = TcpStream::connect(served.addr()).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

per_backend! {
    fn a_client_that_pipelines_and_never_reads_cannot_grow_the_server(io) {
        let served = Served::start(&["--io", io, "--body-size", "64k"]);
        let before = served.rss_kib();
        let mut s = connect(&served);
        s.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
        // 20,000 requests ask for 1.3 GB of answers; the client reads none of them.
        let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
        let end = Instant::now() + Duration::from_secs(4);
        let mut written = 0;
        while written < 20 && Instant::now() < end {
            match s.write_all(&request) {
                Ok(()) => written += 1,
                Err(_) => break,
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        let grown = served.rss_kib().saturating_sub(before);
        assert!(grown < 64 * 1024, "serve grew by {grown} KiB for a client that never reads");
        drop(s);
        // Still serving others.
        let mut t = connect(&served);
        t.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let (got, _) = read_until(&mut t, 20, Duration::from_secs(5));
        assert!(got.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&got));
    }

    fn huge_pipelined_responses_arrive_whole(io) {
        let served = Served::start(&["--io", io, "--body-size", "64m"]);
        let mut s = connect(&served);
        s.write_all(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3)).unwrap();
        let body = 64 << 20;
        let (got, _) = read_until(&mut s, 3 * (body + 60), Duration::from_secs(60));
        let heads = got.windows(12).filter(|w| w == b"HTTP/1.1 200").count();
        assert_eq!(heads, 3, "got {} bytes", got.len());
        assert!(got.len() >= 3 * body);
        drop(s);
        assert_eq!(served.stop(), 3);
    }

    fn oversized_heads_get_431_and_bodies_413(io) {
        let served = Served::start(&["--io", io, "--max-body", "1k"]);
        let mut s = connect(&served);
        let head = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000));
        let _ = s.write_all(head.as_bytes());
        let (got, closed) = read_until(&mut s, usize::MAX, Duration::from_secs(5));
        assert!(got.starts_with(b"HTTP/1.1 431 "), "{:?}", String::from_utf8_lossy(&got));
        assert!(closed, "the connection is closed after a 431");
        let mut s = connect(&served);
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n").unwrap();
        let (got, closed) = read_until(&mut s, usize::MAX, Duration::from_secs(5));
        assert!(got.starts_with(b"HTTP/1.1 413 "), "{:?}", String::from_utf8_lossy(&got));
        assert!(closed);
        let mut s = connect(&served);
        s.write_all(b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n").unwrap();
        let (got, _) = read_until(&mut s, usize::MAX, Duration::from_secs(5));
        assert!(got.starts_with(b"HTTP/1.1 400 "), "{:?}", String::from_utf8_lossy(&got));
    }

    fn slow_heads_and_idle_connections_are_closed(io) {
        let served =
            Served::start(&["--io", io, "--header-timeout", "1s", "--idle-timeout", "2s"]);
        // Slowloris: a head that never ends.
        let mut slow = connect(&served);
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        let idle = connect(&served);
        let start = Instant::now();
        let (_, closed) = read_until(&mut slow, usize::MAX, Duration::from_secs(6));
        assert!(closed, "a head unfinished after the header timeout is closed");
        let t = start.elapsed();
        assert!(t >= Duration::from_millis(900) && t < Duration::from_secs(4), "{t:?}");
        let mut idle = idle;
        let (_, closed) = read_until(&mut idle, usize::MAX, Duration::from_secs(6));
        assert!(closed, "an idle connection is closed after the idle timeout");
        assert!(start.elapsed() >= Duration::from_millis(1900));
        // A body dripped a byte at a time escapes neither: the whole request has the idle
        // timeout (2 s here), however steadily its bytes come.
        let mut drip = connect(&served);
        drip.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n").unwrap();
        let dripped = Instant::now();
        let mut cut = false;
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(300));
            if drip.write_all(b"x").is_err() {
                cut = true;
                break;
            }
            let (_, closed) = read_until(&mut drip, usize::MAX, Duration::from_millis(1));
            if closed {
                cut = true;
                break;
            }
        }
        assert!(cut, "a body dripped for 30 s was never cut off");
        let t = dripped.elapsed();
        assert!(t >= Duration::from_millis(1900) && t < Duration::from_secs(6), "{t:?}");
        // A client that keeps its head moving within the timeout is served.
        let mut ok = connect(&served);
        ok.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        ok.write_all(b"Host: x\r\n\r\n").unwrap();
        let (got, _) = read_until(&mut ok, 20, Duration::from_secs(5));
        assert!(got.starts_with(b"HTTP/1.1 200"));
    }

    fn accept_backs_off_when_out_of_files(io) {
        let served = Served::start(&["--io", io]);
        // Shrink serve's file table to a few dozen, then open more connections than fit.
        let limit = libc::rlimit { rlim_cur: 48, rlim_max: 4096 };
        // SAFETY: prlimit reads the struct we pass; a null old-limit pointer is allowed.
        let rc = unsafe {
            libc::prlimit(served.pid() as i32, libc::RLIMIT_NOFILE, &limit, std::ptr::null_mut())
        };
        assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
        let extra: Vec<TcpStream> = (0..80).map(|_| connect(&served)).collect();
        std::thread::sleep(Duration::from_millis(300));
        let ticks = served.cpu_ticks();
        std::thread::sleep(Duration::from_secs(1));
        let used = served.cpu_ticks() - ticks;
        // Clock ticks are 1/100 s: a spinning accept loop would burn about 100 in that second.
        assert!(used < 40, "serve used {used} ticks in 1 s while out of files");
        drop(extra);
        // Files free again: accepting resumes on its own.
        let mut s = connect(&served);
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let (got, _) = read_until(&mut s, 20, Duration::from_secs(5));
        assert!(got.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&got));
    }
}

per_backend! {
    fn empty_lines_before_a_request_are_ignored_in_their_own_packets(io) {
        let served = Served::start(&["--io", io]);
        let mut s = connect(&served);
        // RFC 9112 §2.2: a server ignores at least one empty line before the request line.
        for part in [&b"\r\n"[..], b"\r", b"\n", b"\n", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"] {
            s.write_all(part).unwrap();
            std::thread::sleep(Duration::from_millis(30));
        }
        let (got, _) = read_until(&mut s, 12, Duration::from_secs(5));
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 200"), "{io}: {text}");
    }
}
