//! How much a connection may carry now, and who fills it: HTTP/1.1's batch once the last is
//! answered, HTTP/2's streams as each ends; the closed loop at once, the open loop by schedule.

use super::{Client, ConnState};
use crate::io::{Ops, Token};
use crate::load::Kind;
use crate::proto::Exchange;

impl Client {
    /// How many more requests connection `token` may carry now: HTTP/1.1 sends a batch of
    /// `pipeline` only once the last is answered; HTTP/2 refills its `pipeline` streams as each
    /// ends, under the server's concurrent streams (none after a GOAWAY). Both stay within
    /// what the server allows on the connection (`Keep-Alive: max`, `--requests-per-conn`).
    pub(super) fn free_slots(&self, token: Token) -> u64 {
        let conn = &self.conns[token as usize];
        let in_flight = conn.exchange.in_flight() as u64;
        if conn.state != ConnState::Open || !conn.retry.is_empty() {
            return 0;
        }
        if !conn.exchange.is_h2() && in_flight > 0 {
            return 0;
        }
        u64::from(self.cfg.pipeline)
            .saturating_sub(in_flight)
            .min(conn.allowed.unwrap_or(u64::MAX))
            .min(conn.exchange.room().map_or(u64::MAX, |r| r as u64))
    }

    /// Closed loop: sends on connection `token` what its room and the quota allow. Requests
    /// that attempts under way have reserved are theirs: a batch that took them would leave a
    /// connection opened with nothing to carry.
    pub(super) fn fill(&mut self, token: Token, ops: &mut Ops) {
        let k = self
            .free_slots(token)
            .min(self.quota_left().saturating_sub(self.reserved)) as usize;
        if k > 0 {
            self.send_batch(token, k, None, ops);
        }
    }

    /// Open loop: the connection can take requests; the schedule hands it the next due ones.
    pub(super) fn list_idle(&mut self, token: Token) {
        let conn = &mut self.conns[token as usize];
        if !conn.listed {
            conn.listed = true;
            self.idle.push(token);
        }
    }

    /// HTTP/2, after a stream ended on a connection that still has others in flight: the
    /// closed loop sends the next request at once, as h2load does with `-m`, and the open loop
    /// may hand it due ones.
    pub(super) fn refill(&mut self, token: Token, ops: &mut Ops) {
        if self.stopping || self.free_slots(token) == 0 {
            return;
        }
        match self.kind() {
            Kind::Connections => self.fill(token, ops),
            Kind::Rate => self.list_idle(token),
            // Users sharing the connection wait for a stream; one of its own sends one request
            // at a time, after thinking.
            Kind::Users if self.shared() => self.send_ready(token, ops),
            Kind::Users => {}
        }
    }
}
