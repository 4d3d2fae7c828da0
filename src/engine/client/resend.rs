//! What happens to requests a connection could not finish: taken back if never sent, kept to be
//! sent again on the next connection if the server closed on them unanswered, else failed.

use super::{Client, Pending};
use crate::io::{Ops, Token};
use crate::stats::ErrorKind;

impl Client {
    /// Ends a connection's in-flight list: requests never handed to the kernel are taken back;
    /// with `retry` (the server closed cleanly after answering), idempotent ones wait to be sent
    /// again on the next connection, keeping their intended time; the rest ended with `kind`
    /// (recorded unless sent in the warm-up).
    pub(super) fn fail_in_flight(&mut self, token: Token, kind: ErrorKind, retry: bool) {
        let conn = &mut self.conns[token as usize];
        for p in conn.in_flight.drain(..) {
            let task = &self.cfg.program.tasks[p.task as usize];
            let ep = task.endpoint;
            if let Some(sent) = p.sent
                && retry
                && task.idempotent
            {
                // Its latency keeps running from when it was first due (or first sent).
                conn.retry.push_back(Pending {
                    intended: Some(p.intended.unwrap_or(sent)),
                    sent: None,
                    ..p
                });
                continue;
            }
            if p.on_start {
                // A failed on_start task is not retried (Locust moves on to the tasks too).
                conn.on_start_waiting = false;
            }
            if p.sent.is_none() {
                self.issued -= 1;
                if p.counted {
                    self.rec.unsend(ep, 1);
                }
            } else if p.counted {
                self.rec.error(ep, kind, 1);
            }
        }
        conn.parser.reset();
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
        while let Some(p) = conn.retry.pop_front() {
            let out = ops.out(token);
            let bytes = if self.batch.is_empty() {
                conn.render(program, &mut self.gens, p.task as usize, out)
            } else {
                out.extend_from_slice(&self.batch[..self.request_len]);
                self.request_len as u64
            };
            if p.counted {
                self.rec
                    .resent(program.tasks[p.task as usize].endpoint, bytes);
            }
            conn.in_flight.push_back(p);
        }
        if let Some(a) = &mut conn.allowed {
            *a = a.saturating_sub(conn.in_flight.len() as u64);
        }
        ops.flush(token);
        self.unstamped.push(token);
    }
}
