//! Integration tests: the real binary over loopback against a counting server, on every backend
//! the machine offers. Each checks the accounting, the server's own counts, and the run's length.

mod common;

use std::time::Duration;

use common::{Mode, TestServer, run};

/// A bound on a short run's wall time that only a hang exceeds: the run's own timing is checked
/// exactly by its report (`duration_s`, the timeline), which a loaded machine does not skew;
/// the process's wall time includes starting a debug binary, which it does.
const HANG: Duration = Duration::from_secs(10);

per_backend! {
    fn exact_count_with_pipelining(io) {
        let server = TestServer::start(Mode::Plain);
        let r = run(&[
            &server.url("/"),
            "-c",
            "8",
            "-p",
            "4",
            "-n",
            "2000",
            "--io",
            io,
        ]);
        assert_eq!(
            r.code(),
            0,
            "{io}: {}",
            String::from_utf8_lossy(&r.output.stderr)
        );
        r.assert_accounted();
        assert_eq!(r.json["backend"], io);
        assert_eq!(r.n("/requests/sent"), 2000, "{io}");
        assert_eq!(r.n("/requests/responses"), 2000, "{io}");
        assert_eq!(r.n("/status/200"), 2000, "{io}");
        assert_eq!(server.received(), 2000, "{io}: server received");
        assert_eq!(server.answered(), 2000, "{io}: server answered");
        assert_eq!(r.n("/diagnostics/connects"), 8, "{io}");
    }
}

per_backend! {
    fn duration_run_ends_on_time_and_accounts(io) {
        let server = TestServer::start(Mode::Plain);
        let r = run(&[&server.url("/"), "-c", "8", "-d", "1s", "--io", io]);
        assert_eq!(r.code(), 0, "{io}");
        r.assert_accounted();
        // Let the server finish writing what was in flight at the deadline.
        std::thread::sleep(Duration::from_millis(100));
        r.assert_server_answered(server.answered());
        assert!(r.n("/requests/responses") > 100, "{io}: too few responses");
        assert!(
            r.elapsed < HANG,
            "{io}: run took {:?}",
            r.elapsed
        );
        let d = r.json["duration_s"].as_f64().unwrap();
        assert!((0.95..1.5).contains(&d), "{io}: duration_s {d}");
        // Keep-alive held: nothing to warn about connections.
        assert!(!r.json["warnings"].to_string().contains("closed almost every"), "{io}");
        let tl = r.json["timeline"].as_array().unwrap();
        assert!(!tl.is_empty());
        let sum: u64 = tl.iter().map(|e| e["responses"].as_u64().unwrap()).sum();
        assert_eq!(
            sum,
            r.n("/requests/responses"),
            "{io}: timeline does not add up"
        );
    }
}

per_backend! {
    fn chunked_and_trickled_responses(io) {
        for mode in [Mode::Chunked, Mode::Trickle] {
            let server = TestServer::start(mode);
            let r = run(&[
                &server.url("/"),
                "-c",
                "4",
                "-p",
                "2",
                "-n",
                "200",
                "--io",
                io,
            ]);
            assert_eq!(r.code(), 0);
            r.assert_accounted();
            assert_eq!(r.n("/requests/responses"), 200, "{io} {mode:?}");
            assert_eq!(r.n("/requests/errors"), 0, "{io} {mode:?}");
            assert_eq!(server.answered(), 200, "{io} {mode:?}");
        }
    }
}

per_backend! {
    fn connection_close_reconnects_and_counts_losses(io) {
        // Unpipelined: a close after a complete response loses nothing.
        let server = TestServer::start(Mode::CloseEvery(3));
        let r = run(&[&server.url("/"), "-c", "4", "-n", "300", "--io", io]);
        r.assert_accounted();
        assert_eq!(r.n("/requests/responses"), 300, "{io}");
        assert_eq!(r.n("/requests/errors"), 0, "{io}");
        assert!(r.n("/diagnostics/connects") >= 100, "{io}: reconnects");
        assert_eq!(server.answered(), 300, "{io}");

        // Pipelined: requests behind the closing response were never processed; they are sent
        // again on a new connection (GET is idempotent), or with --no-resend counted as closed.
        let server = TestServer::start(Mode::CloseEvery(3));
        let args = [
            &server.url("/"),
            "-c",
            "4",
            "-p",
            "4",
            "-n",
            "400",
            "--io",
            io,
        ];
        let r = run(&args);
        r.assert_accounted();
        assert_eq!(r.n("/requests/errors"), 0, "{io}");
        assert!(r.n("/requests/resent") > 0, "{io}: nothing resent");
        assert_eq!(server.answered(), 400, "{io}");
        let server = TestServer::start(Mode::CloseEvery(3));
        let url = server.url("/");
        let args = [
            &url,
            "-c",
            "4",
            "-p",
            "4",
            "-n",
            "400",
            "--io",
            io,
            "--no-resend",
        ];
        let r = run(&args);
        r.assert_accounted();
        assert!(r.n("/errors/closed") > 0, "{io}: no closed errors");
        assert_eq!(server.answered(), r.n("/requests/responses"), "{io}");
    }
}

per_backend! {
    fn abrupt_close_mid_response_is_an_error_not_a_response(io) {
        let server = TestServer::start(Mode::AbortEvery(5));
        let r = run(&[&server.url("/"), "-c", "4", "-n", "400", "--io", io]);
        assert_eq!(r.code(), 0);
        r.assert_accounted();
        let cut = r.n("/errors/closed") + r.n("/errors/reset");
        assert!(cut > 0, "{io}: the cut-off responses were not counted");
        assert_eq!(server.answered(), r.n("/requests/responses"), "{io}");
        assert_eq!(r.n("/requests/unfinished"), 0);
    }
}

per_backend! {
    fn close_delimited_bodies_complete_at_eof(io) {
        let server = TestServer::start(Mode::CloseDelimited);
        let r = run(&[&server.url("/"), "-c", "2", "-n", "50", "--io", io]);
        r.assert_accounted();
        assert_eq!(r.n("/requests/responses"), 50, "{io}");
        assert_eq!(r.n("/requests/errors"), 0, "{io}");
        // Their bodies ("hello", ended by the close) count like any other body.
        let body: u64 = r.json["endpoints"][0]["body_bytes"].as_u64().unwrap();
        assert_eq!(body, 50 * 5, "{io}: body bytes of close-delimited responses");
    }
}

per_backend! {
    fn malformed_status_line_is_counted(io) {
        let server = TestServer::start(Mode::Malformed);
        let r = run(&[&server.url("/"), "-c", "2", "-n", "40", "--io", io]);
        assert_eq!(
            r.code(),
            0,
            "the run completed, whatever the server answered"
        );
        r.assert_accounted();
        assert_eq!(r.n("/requests/responses"), 0);
        assert_eq!(r.n("/errors/malformed"), 40, "{io}");
        assert_eq!(server.received(), 40, "{io}");
    }
}

per_backend! {
    fn silent_server_times_out(io) {
        let server = TestServer::start(Mode::Silent);
        let r = run(&[
            &server.url("/"),
            "-c",
            "2",
            "-d",
            "1s",
            "--timeout",
            "200ms",
            "--io",
            io,
        ]);
        assert_eq!(r.code(), 0);
        r.assert_accounted();
        assert!(r.n("/errors/timeout") >= 4, "{io}: {}", r.json["errors"]);
        assert_eq!(r.n("/requests/responses"), 0);
        assert!(
            r.elapsed < HANG,
            "{io}: took {:?}",
            r.elapsed
        );
        let d = r.json["duration_s"].as_f64().unwrap();
        assert!(d < 1.5, "{io}: a 1 s run with 200 ms timeouts ran {d}s");
    }
}

per_backend! {
    fn refused_port_exits_1_with_connect_errors(io) {
        // Find a port nobody listens on: bind, learn the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        let r = run(&[&url, "-c", "4", "-d", "500ms", "--io", io]);
        assert_eq!(r.code(), 1, "{io}: no connection could be made");
        r.assert_accounted();
        assert!(r.n("/errors/connect_refused") > 0);
        assert_eq!(r.n("/errors/connect_refused"), r.n("/requests/sent"));
        assert!(
            r.elapsed < HANG,
            "{io}: took {:?}",
            r.elapsed
        );
        let d = r.json["duration_s"].as_f64().unwrap();
        assert!(d < 1.0, "{io}: a 500 ms run against a refused port ran {d}s");
        let stderr = String::from_utf8_lossy(&r.output.stderr);
        assert!(stderr.contains("no connection"), "{stderr}");
    }
}

per_backend! {
    fn post_body_and_headers_reach_the_server(io) {
        let server = TestServer::start(Mode::Plain);
        let r = run(&[
            &server.url("/submit?x=1"),
            "-m",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-H",
            "X-Run: abc",
            "-b",
            r#"{"a":1}"#,
            "-c",
            "1",
            "-n",
            "3",
            "--io",
            io,
        ]);
        r.assert_accounted();
        assert_eq!(r.n("/requests/responses"), 3);
        let first = String::from_utf8(server.counts.first_request.lock().unwrap().clone()).unwrap();
        assert!(
            first.starts_with("POST /submit?x=1 HTTP/1.1\r\n"),
            "{first}"
        );
        assert!(
            first.contains(&format!("Host: {}\r\n", server.addr)),
            "{first}"
        );
        assert!(first.contains("Content-Type: application/json\r\n"));
        assert!(first.contains("X-Run: abc\r\n"));
        assert!(
            first.ends_with("Content-Length: 7\r\n\r\n{\"a\":1}"),
            "{first}"
        );
    }
}

per_backend! {
    fn requests_are_sent_again_alone_after_a_failed_connection(io) {
        // Each connection answers one request, then closes without `Connection: close`.
        let server = TestServer::start(Mode::DropAfter(1));
        let r = run(&[&server.url("/"), "-c", "1", "-p", "4", "-n", "40", "--io", io]);
        r.assert_accounted();
        assert!(r.n("/requests/resent") > 0, "{io}: nothing was sent again");
        // A fresh connection pipelines its 4; after a failure, the first request sent again
        // goes alone, then the next only after its answer (RFC 9112 §9.3.2): so a connection
        // that began with several requests is never followed by another.
        let firsts = server.counts.first_on_conn.lock().unwrap().clone();
        let arrived: Vec<usize> = firsts.iter().map(|f| f.1).collect();
        assert!(arrived.contains(&4), "{io}: {arrived:?}");
        for w in arrived.windows(2) {
            assert!(w[0] == 1 || w[1] == 1, "{io}: re-sent requests were pipelined: {arrived:?}");
        }
    }
}

per_backend! {
    fn a_request_is_sent_again_at_most_once(io) {
        // Each answer closes its connection: what was pipelined behind it is sent again once,
        // and if the next connection closes on it too, it ends as `closed` (not a third send).
        let server = TestServer::start(Mode::CloseEvery(1));
        let r = run(&[&server.url("/"), "-c", "1", "-p", "4", "-n", "40", "--io", io]);
        r.assert_accounted();
        assert!(r.n("/requests/resent") > 0, "{io}");
        assert!(r.n("/errors/closed") > 0, "{io}: {}", r.json["errors"]);
        // Before, a request went out again on every connection until one answered it: no
        // `closed` error ever, and up to pipeline depth − 1 sends of one request.
        std::thread::sleep(Duration::from_millis(100));
        r.assert_server_answered(server.answered());
    }
}

per_backend! {
    fn no_connection_is_opened_with_nothing_to_carry(io) {
        // 8 connections and 20 requests pipelined 16 deep: the first connection up must not
        // take what the others were opened for.
        let server = TestServer::start(Mode::Plain);
        let r = run(&[&server.url("/"), "-c", "8", "-p", "16", "-n", "20", "--io", io]);
        r.assert_accounted();
        assert_eq!(r.n("/requests/responses"), 20, "{io}");
        std::thread::sleep(Duration::from_millis(100));
        let connections = server.counts.connections.load(std::sync::atomic::Ordering::Relaxed);
        let carried = server.counts.first_on_conn.lock().unwrap().len() as u64;
        assert_eq!(connections, carried, "{io}: {connections} connections, {carried} carried a request");
    }
}
