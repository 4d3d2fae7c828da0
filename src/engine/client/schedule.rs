//! When the client sends: the open-loop schedule handing due requests to idle connections, and
//! users activated and retired with the shape, each thinking between its requests.

use crate::proto::Exchange;
use std::cmp::Reverse;

use super::{Client, ConnState};
use crate::io::{Gather, Ops, Token};
use crate::load::{Think, due_count, due_time};
use std::time::Duration;

impl Client {
    /// Open loop: hands due requests to idle connections; returns when the next one is due.
    pub(super) fn schedule_rate(&mut self, ops: &mut Ops) -> Option<u64> {
        let due = due_count(&self.cfg.shape, self.cfg.share, self.now as f64 / 1e6)
            .min(self.scheduled.saturating_add(self.quota_left()));
        let mut starved = false;
        while self.scheduled < due {
            let Some(token) = self.idle.pop() else {
                starved = true;
                break;
            };
            self.conns[token as usize].listed = false;
            let free = self.free_slots(token);
            if free == 0 {
                continue;
            }
            let k = free.min(due - self.scheduled) as usize;
            // A batch's intended time is that of its first request: no response is gifted time.
            let intended = due_time(&self.cfg.shape, self.cfg.share, self.scheduled)
                .map_or(self.now, |t| (t * 1e6) as u64);
            // A connection with nothing it may send (its tasks wait for captures) drops out.
            let sent = self.send_batch(token, k, Some(intended), ops);
            self.scheduled += sent as u64;
            // HTTP/2 streams left over stay on offer for the next due requests.
            if sent > 0 && self.free_slots(token) > 0 {
                self.list_idle(token);
            }
        }
        self.starved += u64::from(starved && self.measuring);
        self.starving = starved;
        if starved {
            // Overdue requests wait for a connection to come free (a completion wakes us), not
            // for a timer: waking for them now would only spin.
            return None;
        }
        due_time(&self.cfg.shape, self.cfg.share, self.scheduled).map(|t| (t * 1e6) as u64)
    }

    /// Users: activates or retires users to match the shape, and wakes users done thinking.
    pub(super) fn schedule_users(&mut self, ops: &mut Ops) -> Option<u64> {
        let target = match &self.cfg.live_users {
            Some(live) => live.load(std::sync::atomic::Ordering::Relaxed),
            None => self.cfg.shape.value_at(self.now as f64 / 1e6).floor() as u64,
        };
        let want = self
            .cfg
            .share
            .count_below(target)
            .min(self.conns.len() as u64);
        while self.active_users < want {
            let token = self.active_users as Token;
            self.users[token as usize].active = true;
            self.users[token as usize].paced_from = self.now;
            self.active_users += 1;
            if self.shared() {
                self.ready(token, None, ops);
            } else if self.conns[token as usize].state == ConnState::Idle {
                self.connect(token, ops);
            }
        }
        while self.active_users > want {
            self.active_users -= 1;
            let token = self.active_users as Token;
            let user = &mut self.users[token as usize];
            user.active = false;
            user.wake_at = None;
            if self.shared() {
                self.retire_rider(token, ops);
                continue;
            }
            let conn = &self.conns[token as usize];
            // A user with a request in flight leaves when its response arrives.
            if conn.exchange.is_idle() && conn.state != ConnState::Idle {
                if matches!(
                    conn.state,
                    ConnState::Connecting { .. } | ConnState::Handshaking { .. }
                ) {
                    self.attempt_over(token);
                }
                ops.close(token);
                self.conns[token as usize].state = ConnState::Idle;
            }
        }
        while let Some(&Reverse((at, token))) = self.wakeups.peek() {
            if at > self.now {
                return Some(at);
            }
            self.wakeups.pop();
            let user = &mut self.users[token as usize];
            if user.wake_at != Some(at) {
                continue; // Superseded: the user was retired, or thinks anew.
            }
            // Done thinking. If it is reconnecting, it sends as soon as it is connected.
            user.wake_at = None;
            let active = user.active;
            if self.shared() {
                if active && self.quota_left() > 0 {
                    self.ready(token, Some(at), ops);
                }
                continue;
            }
            let conn = &self.conns[token as usize];
            if !active {
                if conn.state == ConnState::Open && conn.exchange.is_idle() {
                    ops.close(token);
                    self.conns[token as usize].state = ConnState::Idle;
                }
                continue;
            }
            if conn.state == ConnState::Open
                && conn.exchange.is_idle()
                && self.quota_left() > 0
                && self.send_batch(token, 1, Some(at), ops) == 0
            {
                self.wait_for_task(token);
            }
        }
        None
    }

    /// A user with no task it may send (each waits for a capture) tries again after its think
    /// time, and at most ten times a second.
    pub(super) fn wait_for_task(&mut self, token: Token) {
        self.think(token, self.now, 100_000);
    }

    /// The user thinks (at least `min_us`) from `from` before its next request, whatever
    /// happens to its connection meanwhile.
    pub(super) fn think(&mut self, token: Token, from: u64, min_us: u64) {
        let class = self.users[token as usize].class;
        if self.users[token as usize].group.is_some() {
            // Between the requests of one task there is no think time, as in Locust.
            let at = from + min_us;
            self.users[token as usize].wake_at = Some(at);
            self.wakeups.push(Reverse((at, token)));
            return;
        }
        let at = match self.cfg.program.classes[class].think {
            // Paced: one period after the task began, or at once when it took longer.
            Think::Pacing(d) => {
                let paced = self.users[token as usize].paced_from + d.as_micros() as u64;
                paced.max(from + min_us)
            }
            _ => from + self.think_us(class).max(min_us),
        };
        let user = &mut self.users[token as usize];
        user.paced_from = at;
        user.wake_at = Some(at);
        self.wakeups.push(Reverse((at, token)));
    }

    /// The next think time in microseconds (xorshift: cheap, and independent per worker).
    pub(super) fn think_us(&mut self, class: usize) -> u64 {
        match self.cfg.program.classes[class].think {
            Think::None => 0,
            Think::Constant(d) | Think::Pacing(d) => d.as_micros() as u64,
            Think::Uniform(lo, hi) => {
                let (lo, hi) = (lo.as_micros() as u64, hi.as_micros() as u64);
                lo + crate::rng::xorshift64(&mut self.rng) % (hi - lo + 1)
            }
        }
    }
}

/// The most answers a closed loop holds out for, and how long at most (decision 019).
const GATHER_MAX: usize = 8;
const GATHER_LINGER: Duration = Duration::from_micros(100);

/// A closed loop of `connections` holds out for a quarter of them, at most `GATHER_MAX`: a
/// wait then stalls at most that share of its connections, for at most `GATHER_LINGER`.
pub(super) fn closed_loop_gather(connections: usize) -> Gather {
    Gather {
        completions: (connections / 4).clamp(1, GATHER_MAX) as u32,
        linger: GATHER_LINGER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_loop_holds_out_for_a_quarter_of_its_connections_at_most_eight() {
        let n = |c| closed_loop_gather(c).completions;
        assert_eq!(
            (n(1), n(7), n(8), n(16), n(64), n(1000)),
            (1, 1, 2, 4, 8, 8)
        );
        assert_eq!(closed_loop_gather(64).linger, GATHER_LINGER);
    }
}
