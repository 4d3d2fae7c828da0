//! HTTP/2 users that share connections: with `--streams S`, S users' requests ride one connection
//! as streams (user u on connection u - u % S), each user with its own captures and cookies.

use std::ops::Range;

use super::{Client, ConnState};
use crate::io::{Ops, Token};
use crate::proto::Exchange;

impl Client {
    /// Users share connections (HTTP/2 users with more than one stream a connection).
    #[inline]
    pub(super) fn shared(&self) -> bool {
        self.group > 1
    }

    /// The connection user `u` rides.
    #[inline]
    pub(super) fn home(&self, u: Token) -> Token {
        u - u % self.group
    }

    /// The users that ride connection `c`.
    fn riders(&self, c: Token) -> Range<Token> {
        c..(c + self.group).min(self.users.len() as Token)
    }

    /// Some user of connection `c` is active: the connection is wanted.
    pub(super) fn rider_active(&self, c: Token) -> bool {
        self.riders(c).any(|u| self.users[u as usize].active)
    }

    /// User `u` will send as soon as its connection has a stream free (it became active, it is
    /// done thinking, or its request failed); `intended` is when it should have sent.
    pub(super) fn ready(&mut self, u: Token, intended: Option<u64>, ops: &mut Ops) {
        let c = self.home(u);
        self.queue_ready(u, intended);
        match self.conns[c as usize].state {
            ConnState::Idle => self.connect(c, ops),
            ConnState::Open => self.send_ready(c, ops),
            // Connecting or backing off: it sends once connected.
            _ => {}
        }
    }

    /// Puts user `u` in its connection's queue of users waiting to send (once).
    pub(super) fn queue_ready(&mut self, u: Token, intended: Option<u64>) {
        let user = &mut self.users[u as usize];
        if user.queued || user.in_flight {
            return;
        }
        user.queued = true;
        let c = self.home(u);
        self.conns[c as usize].ready.push_back((u, intended));
    }

    /// Connection `c` is open: every active rider that is neither thinking nor waiting for an
    /// answer sends (a new connection's riders, or those whose requests died with the last).
    pub(super) fn riders_connected(&mut self, c: Token, ops: &mut Ops) {
        for u in self.riders(c) {
            let user = &self.users[u as usize];
            if user.active && user.wake_at.is_none() {
                self.queue_ready(u, None);
            }
        }
        self.send_ready(c, ops);
    }

    /// Sends for the users waiting on connection `c` while it has free streams; a connection
    /// none of whose riders is active any more closes once nothing is in flight.
    pub(super) fn send_ready(&mut self, c: Token, ops: &mut Ops) {
        while !self.stopping && self.quota_left() > 0 && self.free_slots(c) > 0 {
            let Some((u, intended)) = self.conns[c as usize].ready.pop_front() else {
                break;
            };
            let user = &mut self.users[u as usize];
            user.queued = false;
            if !user.active || user.wake_at.is_some() || user.in_flight {
                continue;
            }
            if self.send_for(u, c, 1, intended, ops) == 0 {
                self.wait_for_task(u);
            }
        }
        let conn = &self.conns[c as usize];
        if conn.state == ConnState::Open
            && conn.exchange.is_idle()
            && conn.retry.is_empty()
            && !self.rider_active(c)
        {
            ops.close(c);
            self.conns[c as usize].state = ConnState::Idle;
        }
    }

    /// A shared connection's user is retired: its connection closes when no rider is left.
    pub(super) fn retire_rider(&mut self, u: Token, ops: &mut Ops) {
        let c = self.home(u);
        if self.rider_active(c) {
            return;
        }
        match self.conns[c as usize].state {
            ConnState::Connecting { .. } | ConnState::Handshaking { .. } => {
                self.attempt_over(c);
                ops.close(c);
                self.conns[c as usize].state = ConnState::Idle;
            }
            ConnState::Open => self.send_ready(c, ops),
            _ => {}
        }
    }

    /// A shared connection's user got its answer (or its stream ended): it thinks.
    pub(super) fn rider_answered(&mut self, u: Token) {
        let user = &mut self.users[u as usize];
        user.in_flight = false;
        if user.active && !self.stopping {
            self.think(u, self.answered_at, 0);
        }
    }
}
