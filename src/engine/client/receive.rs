//! What arrives on a client connection: bytes fed to its protocol, each completed response
//! recorded for its request's endpoint and delivered to its user, and the connection's close.

use super::{Client, Pending};
use crate::http::response::CookieHead;
use crate::io::{Fault, Ops, Token};
use crate::load::Kind;
use crate::proto::{Exchange, Failure, Step};
use crate::stats::ErrorKind;

/// RST_STREAM's code for a stream the server refused before processing it.
const REFUSED_STREAM: u32 = 0x7;

impl Client {
    /// Records a complete response. It ended at `end` (the kernel's receive time) when the
    /// socket has timestamps, else at `now`, when it was parsed. Its user keeps what it captured.
    #[inline]
    pub(super) fn record_response(
        &mut self,
        p: &Pending,
        status: u16,
        now: u64,
        end: Option<u64>,
        collected: Option<Vec<u8>>,
    ) {
        let task = &self.cfg.program.tasks[p.task as usize];
        if p.counted {
            // Only a request handed to the kernel can be answered.
            let sent = p.sent.unwrap_or(now);
            let intended = p.intended.unwrap_or(sent);
            // A response cannot end before its request went out (stamps have µs resolution).
            let at = end.map_or(now, |e| e.max(sent));
            let (corrected, uncorrected) = (at.saturating_sub(intended), at.saturating_sub(sent));
            let ok = task.is_ok(status)
                && task
                    .checks
                    .as_ref()
                    .is_none_or(|c| c.pass(collected.as_deref()));
            self.rec
                .response(task.endpoint, status, ok, corrected, uncorrected);
            self.rec.ended(end.map(|_| now - at));
        }
        // Most responses change nothing of their user: only on_start progress and captures do.
        if !p.on_start && !p.collect {
            return;
        }
        let user = &mut self.users[p.user as usize];
        if p.on_start {
            user.on_start_waiting = false;
        }
        let rec = &mut self.rec;
        user.captured(task, collected, |var, too_large| {
            if p.counted {
                rec.capture_failed(var, too_large);
            }
        });
    }

    /// A response set cookies: its user keeps them (RFC 6265), for its next requests.
    fn set_cookies(&mut self, p: &Pending, head: CookieHead, now: u64) {
        let program = &*self.cfg.program;
        self.users[p.user as usize].set_cookies(program, p.task as usize, head, now);
    }

    pub(super) fn on_data(&mut self, token: Token, bytes: &[u8], at: Option<u64>, ops: &mut Ops) {
        if self.measuring {
            self.rec.received(bytes.len() as u64);
        }
        let (now, end) = match at {
            Some(ns) => {
                // Stamped: the clock read when the wait returned bounds the whole batch, unless
                // this completion came later (a backend that posts completions while running).
                let mut now = self.woke_at;
                if self.kclock.later_than(ns, now) {
                    now = self.clock();
                    self.woke_at = now;
                }
                (now, Some(self.kclock.on_worker_clock(ns, now)))
            }
            None => (self.clock(), None),
        };
        self.now = now;
        // A user's think time runs from when its answer arrived, however late it is read.
        self.answered_at = end.unwrap_or(now);
        let mut rest = bytes;
        // HTTP/2 may hold completions after the bytes are used up (`pending`).
        while !rest.is_empty() || self.conns[token as usize].exchange.pending() {
            // The completion is read where the protocol left it, field by field: moving the
            // whole record out costs a stalled wide copy per response (see results/…-seam-ab).
            let mut step = self.conns[token as usize].exchange.feed(&mut rest);
            let done = match &mut step {
                Step::Partial => break,
                Step::Broken(_) => return self.abort(token, ErrorKind::Malformed, ops),
                Step::Failed(meta, how) => {
                    let (meta, how) = (*meta, *how);
                    self.stream_failed(token, meta, how);
                    continue;
                }
                Step::Done(done) => done,
            };
            if done.meta.counted {
                let ep = self.cfg.program.tasks[done.meta.task as usize].endpoint;
                self.rec.body(ep, done.body_len);
            }
            let collected = done.collected.take();
            if let Some(head) = done.set_cookie.take() {
                self.set_cookies(&done.meta, head, now);
            }
            self.record_response(&done.meta, done.status, now, end, collected);
            if self.shared() {
                self.rider_answered(done.meta.user);
            }
            let conn = &mut self.conns[token as usize];
            conn.answered += 1;
            if let Some(max) = done.remaining {
                let queued = conn.exchange.in_flight() as u64;
                conn.allowed = Some(u64::from(max).saturating_sub(queued));
                // The server's limit per connection, for the next ones from the start.
                self.server_max = Some(conn.answered + u64::from(max));
            }
            if done.close {
                // The server closes after this response: it never processed what was
                // pipelined behind it. Idempotent requests are sent again (RFC 9112 §9.3.2).
                let retry = self.cfg.resend;
                self.fail_in_flight(token, ErrorKind::Closed, retry);
                // Announced: what it left may be pipelined at once on the next connection.
                self.conns[token as usize].retry_alone = false;
                ops.close(token);
                self.connect(token, ops);
                // A user thinks before its next request even when the server closed
                // the connection with this answer.
                let conn = &self.conns[token as usize];
                if self.kind() == Kind::Users
                    && !self.shared()
                    && self.users[token as usize].active
                    && conn.retry.is_empty()
                    && !self.stopping
                {
                    self.think(token, self.answered_at, 0);
                }
                return;
            }
        }
        if self.conns[token as usize].exchange.is_h2() {
            self.h2_signals(token);
        }
        let conn = &mut self.conns[token as usize];
        // HTTP/2: the acknowledgements, window updates and window-held body bytes these bytes
        // called for, sent now.
        if conn.exchange.control(ops.out(token)) {
            ops.flush(token);
        }
        if conn.exchange.room() == Some(0) && conn.exchange.is_idle() {
            // A GOAWAY, and every stream it let finish has: a new connection, which starts the
            // protocol afresh and sends first what the GOAWAY refused.
            self.fail_in_flight(token, ErrorKind::Closed, false);
            ops.close(token);
            self.connect(token, ops);
            return;
        }
        if conn.exchange.is_idle() {
            self.on_idle(token, ops);
        } else if conn.exchange.is_h2() {
            self.refill(token, ops);
        }
    }

    /// An HTTP/2 stream ended without a response. A reset is an error of its own kind; a stream
    /// a GOAWAY refused was never processed, so it is sent again (whatever its method) on the
    /// next connection, once.
    fn stream_failed(&mut self, token: Token, p: Pending, how: Failure) {
        let ep = self.cfg.program.tasks[p.task as usize].endpoint;
        if let Failure::Reset(code) = how
            && self.measuring
        {
            self.rec.totals.h2.reset(code);
        }
        // REFUSED_STREAM, like a GOAWAY's refusal, says the request was never processed
        // (RFC 9113 §8.7).
        let refused = how == Failure::Refused || how == Failure::Reset(REFUSED_STREAM);
        if refused && !p.resent {
            let conn = &mut self.conns[token as usize];
            conn.retry.push_back(Pending {
                intended: Some(p.intended.or(p.sent).unwrap_or(self.now)),
                sent: None,
                resent: true,
                ..p
            });
            return;
        }
        if self.shared() {
            self.rider_answered(p.user);
        }
        if p.on_start {
            self.users[p.user as usize].on_start_waiting = false;
        }
        if p.counted {
            let kind = match how {
                Failure::Reset(_) => ErrorKind::StreamReset,
                Failure::Refused => ErrorKind::Closed,
            };
            self.rec.error(ep, kind, 1);
        }
    }

    /// HTTP/2: counts the GOAWAYs the connection received, and times its waits for window.
    pub(super) fn h2_signals(&mut self, token: Token) {
        let conn = &mut self.conns[token as usize];
        let s = conn.exchange.signals();
        let (now, measuring) = (self.now, self.measuring);
        let h2 = &mut self.rec.totals.h2;
        if measuring {
            h2.goaways += u64::from(s.goaways);
        }
        match (s.stalled, conn.stalled_since) {
            (true, None) => {
                conn.stalled_since = Some(now);
                h2.stalls += u64::from(measuring);
            }
            (false, Some(since)) => {
                conn.stalled_since = None;
                if measuring {
                    h2.stall_us += now.saturating_sub(since);
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_closed(&mut self, token: Token, fault: Fault) {
        let conn = &mut self.conns[token as usize];
        let mut mid_response = conn.exchange.mid_response();
        // A TLS close without close_notify between responses is as clean as TCP's; in the
        // middle of one (a close-delimited body included) it is a truncation.
        let fault = match fault {
            Fault::Tls(crate::io::TlsFault::Truncated) if !mid_response => Fault::Os(0),
            f => f,
        };
        let orderly = fault == Fault::Os(0);
        if orderly && let Some(mut done) = conn.exchange.eof() {
            // A close-delimited body ended: that response is complete, body and all.
            mid_response = false;
            let now = self.clock();
            if done.meta.counted {
                let ep = self.cfg.program.tasks[done.meta.task as usize].endpoint;
                self.rec.body(ep, done.body_len);
            }
            if let Some(head) = done.set_cookie.take() {
                self.set_cookies(&done.meta, head, now);
            }
            self.record_response(&done.meta, done.status, now, None, done.collected);
            self.conns[token as usize].answered += 1;
        }
        // A clean close between responses, after at least one: what is still in flight was never
        // processed and may be sent again. A close mid-response, or before any, is an error.
        let conn = &self.conns[token as usize];
        let retry = self.cfg.resend && orderly && !mid_response && conn.answered > 0;
        self.fail_in_flight(token, ErrorKind::from_close_fault(fault), retry);
        // No `Connection: close` said so: a failed connection, whose retries go one first.
        let conn = &mut self.conns[token as usize];
        conn.retry_alone = !conn.retry.is_empty();
    }
}
