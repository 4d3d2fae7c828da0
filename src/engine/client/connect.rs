//! A connection's life before it carries requests: attempts and their quota reservations,
//! failures and backoff, TCP (and TLS) establishment and how long each part took.

use super::Client;
use crate::engine::conn::ConnState;
use crate::io::{Fault, Ops, Session, TlsFault, Token};
use crate::load::Kind;
use crate::proto::{Alpn, Exchange, Version};
use crate::stats::ErrorKind;

/// Backoff between failed attempts of one connection, doubling from the first to the last.
const BACKOFF_MIN_US: u64 = 1_000;
const BACKOFF_MAX_US: u64 = 200_000;

impl Client {
    pub(super) fn connect(&mut self, token: Token, ops: &mut Ops) {
        let conn = &self.conns[token as usize];
        let wanted = match self.kind() {
            Kind::Users if self.shared() => self.rider_active(token),
            Kind::Users => self.users[token as usize].active,
            _ => true,
        };
        // A reconnect that carries requests to send again needs no quota; any other attempt
        // reserves one request of it: a failure is accounted as one.
        let retrying = !conn.retry.is_empty();
        if self.stopping || !wanted || (!retrying && self.quota_left() <= self.reserved) {
            self.conns[token as usize].state = ConnState::Idle;
            return;
        }
        self.connecting += 1;
        let conn = &mut self.conns[token as usize];
        // A new socket starts its protocol afresh: HTTP/2 sends its preface and SETTINGS again
        // (a connection closed while idle, by a user leaving or `Keep-Alive: max`, kept them).
        if conn.exchange.is_idle() {
            conn.exchange.drain().for_each(drop);
        }
        conn.reserving = !retrying;
        self.reserved += u64::from(!retrying);
        conn.state = ConnState::Connecting { since: self.now };
        ops.connect(token, self.cfg.addr);
        self.wheel.arm(
            token,
            self.now + self.cfg.connect_timeout.as_micros() as u64,
        );
    }

    /// Abandons connection attempts whose reserved request was sent elsewhere (open loop and
    /// users send due requests on any open connection), so that no connection is opened with
    /// nothing to carry: over TLS a server logs such a connection as a 400.
    pub(super) fn cancel_surplus_attempts(&mut self, ops: &mut Ops) {
        for token in 0..self.conns.len() as Token {
            if self.quota_left() >= self.reserved {
                return;
            }
            let conn = &self.conns[token as usize];
            if conn.reserving
                && matches!(
                    conn.state,
                    ConnState::Connecting { .. } | ConnState::Handshaking { .. }
                )
            {
                ops.close(token);
                self.attempt_over(token);
                self.conns[token as usize].state = ConnState::Idle;
            }
        }
    }

    /// An attempt is over (connected, failed or abandoned): its quota reservation goes.
    pub(super) fn attempt_over(&mut self, token: Token) -> bool {
        self.connecting -= 1;
        let reserving = std::mem::take(&mut self.conns[token as usize].reserving);
        self.reserved -= u64::from(reserving);
        reserving
    }

    /// A connection attempt failed: it counts as one request that ended in a connect error, or,
    /// for a reconnect carrying requests to send again, those end with that error.
    pub(super) fn connect_failed(&mut self, token: Token, kind: ErrorKind) {
        if !self.ever_connected
            && matches!(kind, ErrorKind::TlsCertificate | ErrorKind::TlsProtocol)
        {
            // Every attempt would fail the same way: stop now, not after -n reconnects (50,000
            // took over 5 minutes). The report and its one-line hint say why.
            self.given_up = true;
            self.stopping = true;
        }
        if self.attempt_over(token) {
            self.issued += 1;
            if self.measuring {
                let ep = self.users[token as usize].next_endpoint(&self.cfg.program);
                self.rec.sent(ep, 1, 0);
                self.rec.error(ep, kind, 1);
            }
        } else {
            let conn = &mut self.conns[token as usize];
            for p in conn.retry.drain(..) {
                if p.on_start {
                    self.users[p.user as usize].on_start_waiting = false;
                }
                if p.counted {
                    let ep = self.cfg.program.tasks[p.task as usize].endpoint;
                    self.rec.error(ep, kind, 1);
                }
            }
        }
        let conn = &mut self.conns[token as usize];
        conn.backoff = (conn.backoff * 2).clamp(BACKOFF_MIN_US, BACKOFF_MAX_US);
        let until = self.now + conn.backoff;
        conn.state = ConnState::Backoff { until };
        self.wheel.arm(token, until);
    }

    /// TCP is up and the TLS handshake has started: the connect time is known.
    pub(super) fn on_handshaking(&mut self, token: Token) {
        let now = self.clock();
        let conn = &mut self.conns[token as usize];
        if let ConnState::Connecting { since } = conn.state {
            conn.state = ConnState::Handshaking { since: now };
            if self.measuring {
                self.rec.connected(now.saturating_sub(since));
            }
        }
    }

    /// The connection is ready for requests (over TLS: secured), or the attempt failed.
    pub(super) fn on_connected(
        &mut self,
        token: Token,
        result: Result<Session, Fault>,
        ops: &mut Ops,
    ) {
        let session = match result {
            Ok(session) => session,
            Err(fault) => {
                self.now = self.clock();
                if fault == Fault::Tls(TlsFault::NoProtocol) {
                    self.alpn_refused = Some(format!(
                        "it refused every protocol offered ({}) with alert no_application_protocol",
                        self.cfg.http.offered()
                    ));
                }
                return self.connect_failed(token, ErrorKind::from_connect_fault(fault));
            }
        };
        if let Session::Tls { alpn, .. } = session {
            let h2 = alpn == Some(Alpn::H2);
            if self.cfg.http == Version::Http2 && !h2 {
                // Asked for HTTP/2 only, and the server chose otherwise: nothing to speak.
                self.alpn_refused = Some(match alpn {
                    Some(a) => format!("it chose {} over ALPN", a.name()),
                    None => "it chose no protocol over ALPN".to_string(),
                });
                ops.close(token);
                self.now = self.clock();
                return self.connect_failed(token, ErrorKind::TlsProtocol);
            }
            // `--http auto`: this connection speaks what its server chose.
            let cookies = self.cfg.program.cookies;
            let (pipeline, limit) = (self.cfg.pipeline as usize, self.cfg.capture_limit);
            self.conns[token as usize].speak(h2, pipeline, limit, cookies);
        }
        self.attempt_over(token);
        self.ever_connected = true;
        let now = self.clock();
        if self.measuring {
            self.rec.totals.connects += 1;
            match (self.conns[token as usize].state, session) {
                (ConnState::Connecting { since }, Session::Plain) => {
                    self.rec.connected(now.saturating_sub(since));
                }
                (ConnState::Handshaking { since }, Session::Tls { resumed, .. }) => {
                    self.rec.secured(now.saturating_sub(since), resumed);
                }
                _ => {}
            }
        }
        let conn = &mut self.conns[token as usize];
        if self.measuring && matches!(conn.exchange, crate::proto::Proto::H2(_)) {
            self.rec.totals.h2.connections += 1;
        }
        conn.state = ConnState::Open;
        conn.backoff = 0;
        conn.answered = 0;
        let limit = match (self.server_max, self.cfg.requests_per_conn) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        conn.allowed = limit.map(|m| m.max(1));
        let active = self.users[token as usize].active;
        if !conn.retry.is_empty() && !self.stopping {
            // What the last socket left unanswered goes first (even for a user leaving:
            // it leaves when the answer arrives).
            self.send_retries(token, ops);
        } else if self.kind() == Kind::Users && self.shared() {
            self.riders_connected(token, ops);
        } else if self.kind() == Kind::Users {
            // A new user starts with a request, then thinks (Locust's order); a user
            // that reconnected while thinking goes on thinking.
            let thinking = self.users[token as usize].wake_at.is_some();
            if thinking && active {
            } else if active && self.quota_left() > 0 && !self.stopping {
                if self.send_batch(token, 1, None, ops) == 0 {
                    self.wait_for_task(token);
                }
            } else if !active {
                ops.close(token);
                self.conns[token as usize].state = ConnState::Idle;
            }
        } else {
            self.on_idle(token, ops);
        }
    }
}
