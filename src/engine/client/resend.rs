//! What happens to requests a connection could not finish: taken back if never sent, kept to be
//! sent again on the next connection if the server closed on them unanswered, else failed.

use super::{Client, Pending};
use crate::io::{Ops, Token};
use crate::proto::Exchange;
use crate::stats::ErrorKind;

impl Client {
    /// Ends a connection's in-flight list: requests never handed to the kernel are taken back;
    /// with `retry` (the server closed cleanly after answering), idempotent ones wait to be sent
    /// again on the next connection, keeping their intended time; the rest ended with `kind`
    /// (recorded unless sent in the warm-up).
    pub(super) fn fail_in_flight(&mut self, token: Token, kind: ErrorKind, retry: bool) {
        let conn = &mut self.conns[token as usize];
        // HTTP/2: a wait for window ends with its connection.
        if let Some(since) = conn.stalled_since.take()
            && self.measuring
        {
            self.rec.totals.h2.stall_us += self.now.saturating_sub(since);
        }
        for p in conn.exchange.drain() {
            let task = &self.cfg.program.tasks[p.task as usize];
            let ep = task.endpoint;
            if let Some(sent) = p.sent
                && retry
                && task.idempotent
                && !p.resent
            {
                // Sent again once, at most; its latency keeps running from when it was first
                // due (or first sent).
                conn.retry.push_back(Pending {
                    intended: Some(p.intended.unwrap_or(sent)),
                    sent: None,
                    resent: true,
                    ..p
                });
                continue;
            }
            if p.on_start {
                // A failed on_start task is not retried (Locust moves on to the tasks too).
                self.users[p.user as usize].on_start_waiting = false;
            }
            // Its user may send again (a user sharing the connection, once it reconnects).
            self.users[p.user as usize].in_flight = false;
            if p.sent.is_none() {
                self.issued -= 1;
                if p.counted {
                    self.rec.unsend(ep, p.bytes);
                }
            } else if p.counted {
                self.rec.error(ep, kind, 1);
            }
        }
    }

    /// We close the connection ourselves (timeout, bad response) and reconnect.
    pub(super) fn abort(&mut self, token: Token, kind: ErrorKind, ops: &mut Ops) {
        self.fail_in_flight(token, kind, false);
        ops.close(token);
        self.connect(token, ops);
    }

    /// Sends again, first thing on a new connection, what the last one left unanswered.
    pub(super) fn send_retries(&mut self, token: Token, ops: &mut Ops) {
        let program = &*self.cfg.program;
        let conn = &mut self.conns[token as usize];
        // After a failed connection the first goes alone; the rest follow its answer (on_idle).
        let alone = std::mem::take(&mut conn.retry_alone);
        while let Some(p) = conn.retry.pop_front() {
            let user = &mut self.users[p.user as usize];
            let (batch, request_len, gens) = (&self.batch, self.request_len, &mut self.gens);
            let mut bytes = 0;
            conn.exchange.stage(ops.out(token), |out| {
                bytes = if batch.is_empty() || !user.jar.is_empty() {
                    user.render(program, gens, p.task as usize, out)
                } else {
                    out.extend_from_slice(&batch[..request_len]);
                    request_len as u64
                };
                Pending { bytes, ..p }
            });
            if p.counted {
                self.rec
                    .resent(program.tasks[p.task as usize].endpoint, bytes);
            }
            if alone {
                break;
            }
        }
        if let Some(a) = &mut conn.allowed {
            *a = a.saturating_sub(conn.exchange.in_flight() as u64);
        }
        ops.flush(token);
        self.unstamped.push(token);
    }
}
