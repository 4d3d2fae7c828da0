//! Connection deadlines (connect, handshake, request timeouts, reconnect backoff) on a timing
//! wheel: each connection holds at most one entry, re-checked when it fires, so no scan of all.

use super::Client;
use crate::engine::conn::ConnState;
use crate::io::{Ops, Token};
use crate::proto::Exchange;
use crate::stats::ErrorKind;

/// One slot per millisecond, about two seconds around; later deadlines wait in the last slot
/// and are re-armed when it fires.
const SLOT_US: u64 = 1_000;
const SLOTS: u64 = 2_048;
const UNARMED: u64 = u64::MAX;

/// A hashed timing wheel of tokens. An entry is only a reminder to look at the connection: the
/// connection's own state says whether a deadline passed.
#[derive(Debug)]
pub struct Wheel {
    slots: Vec<Vec<Token>>,
    /// The slot (absolute, in SLOT_US since the start) each token's live entry sits in.
    armed: Vec<u64>,
    live: usize,
    /// The next absolute slot to fire.
    cursor: u64,
}

impl Wheel {
    pub fn new(tokens: usize) -> Self {
        Self {
            slots: vec![Vec::new(); SLOTS as usize],
            armed: vec![UNARMED; tokens],
            live: 0,
            cursor: 0,
        }
    }

    /// Makes sure the token is looked at no later than `at_us` (to within a slot).
    #[inline]
    pub fn arm(&mut self, token: Token, at_us: u64) {
        let slot = (at_us / SLOT_US).clamp(self.cursor, self.cursor + SLOTS - 1);
        let armed = &mut self.armed[token as usize];
        if *armed <= slot {
            return; // It is looked at earlier anyway, and re-armed then.
        }
        if *armed == UNARMED {
            self.live += 1;
        }
        *armed = slot;
        self.slots[(slot % SLOTS) as usize].push(token);
    }

    /// Moves the wheel to `now_us`, handing out every token whose entry came due.
    pub fn expire(&mut self, now_us: u64, due: &mut Vec<Token>) {
        let target = now_us / SLOT_US;
        while self.cursor <= target {
            if self.live == 0 {
                self.cursor = target + 1;
                return;
            }
            let at = self.cursor;
            let slot = &mut self.slots[(at % SLOTS) as usize];
            for token in slot.drain(..) {
                // Entries superseded by an earlier arm are skipped.
                let armed = &mut self.armed[token as usize];
                if *armed == at {
                    *armed = UNARMED;
                    self.live -= 1;
                    due.push(token);
                }
            }
            self.cursor += 1;
        }
    }
}

impl Client {
    /// Looks at every connection whose deadline may have passed.
    pub(super) fn expire_timers(&mut self, ops: &mut Ops) {
        let mut due = std::mem::take(&mut self.due_timers);
        self.wheel.expire(self.now, &mut due);
        for token in due.drain(..) {
            self.check_deadline(token, ops);
        }
        self.due_timers = due;
    }

    /// Acts on a connection's passed deadline, or arms the wheel for its next one.
    fn check_deadline(&mut self, token: Token, ops: &mut Ops) {
        let connect_timeout = self.cfg.connect_timeout.as_micros() as u64;
        let conn = &self.conns[token as usize];
        let next = match conn.state {
            ConnState::Connecting { since } if self.now - since >= connect_timeout => {
                ops.close(token);
                return self.connect_failed(token, ErrorKind::ConnectTimeout);
            }
            ConnState::Handshaking { since } if self.now - since >= connect_timeout => {
                ops.close(token);
                return self.connect_failed(token, ErrorKind::TlsHandshakeTimeout);
            }
            ConnState::Connecting { since } | ConnState::Handshaking { since } => {
                since + connect_timeout
            }
            ConnState::Backoff { until } if self.now >= until => return self.connect(token, ops),
            ConnState::Backoff { until } => until,
            ConnState::Open => match conn.exchange.oldest() {
                Some(p) => {
                    let timeout = self.cfg.timeout.as_micros() as u64;
                    let sent = p.sent.unwrap_or(self.now);
                    if self.now.saturating_sub(sent) >= timeout {
                        return self.abort(token, ErrorKind::Timeout, ops);
                    }
                    sent + timeout
                }
                None => return,
            },
            ConnState::Idle => return,
        };
        self.wheel.arm(token, next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(w: &mut Wheel, now: u64) -> Vec<Token> {
        let mut v = Vec::new();
        w.expire(now, &mut v);
        v.sort();
        v
    }

    #[test]
    fn fires_each_token_once_at_its_earliest_arm() {
        let mut w = Wheel::new(4);
        w.arm(0, 5_000);
        w.arm(1, 3_000);
        w.arm(0, 2_500); // Earlier: supersedes 5 ms.
        w.arm(1, 9_000); // Later: the 3 ms entry stays.
        assert!(fired(&mut w, 1_999).is_empty());
        assert_eq!(fired(&mut w, 2_999), vec![0]);
        assert_eq!(fired(&mut w, 3_000), vec![1]);
        assert!(fired(&mut w, 10_000).is_empty(), "stale entries never fire");
    }

    #[test]
    fn far_deadlines_wait_in_the_last_slot_and_late_expiry_catches_up() {
        let mut w = Wheel::new(2);
        w.arm(0, 60_000_000);
        w.arm(1, 1_000);
        assert_eq!(fired(&mut w, 100_000_000), vec![0, 1]);
        // A deadline in the past fires at the next expiry.
        w.arm(1, 5);
        assert!(fired(&mut w, 100_000_001).is_empty());
        assert_eq!(fired(&mut w, 100_001_000), vec![1]);
    }
}
