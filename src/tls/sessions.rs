//! A worker's client session cache. Unlike rustls's own (8 TLS 1.3 tickets per server), it keeps
//! a ticket for every connection of the worker, so reconnecting all at once still resumes.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use pki_types::ServerName;
use rustls::NamedGroup;
use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};

#[derive(Default)]
struct Entry {
    kx_hint: Option<NamedGroup>,
    tls12: Option<Tls12ClientSessionValue>,
    /// Oldest first; each ticket is used once (RFC 8446 §C.4).
    tls13: VecDeque<Tls13ClientSessionValue>,
}

/// One worker's sessions, by server name. The lock is never contended: one worker uses it.
#[derive(Debug)]
pub struct Sessions {
    tickets_per_server: usize,
    servers: Mutex<HashMap<ServerName<'static>, Entry>>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("tls12", &self.tls12.is_some())
            .field("tls13", &self.tls13.len())
            .finish()
    }
}

impl Sessions {
    pub fn new(tickets_per_server: usize) -> Self {
        Self {
            tickets_per_server: tickets_per_server.max(1),
            servers: Mutex::new(HashMap::new()),
        }
    }

    fn with<R>(&self, name: &ServerName<'_>, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        let name = name.to_owned();
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        servers.get_mut(&name).map(f)
    }

    fn entry<R>(&self, name: ServerName<'static>, f: impl FnOnce(&mut Entry) -> R) -> R {
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        f(servers.entry(name).or_default())
    }
}

impl ClientSessionStore for Sessions {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.entry(server_name, |e| e.kx_hint = Some(group));
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.with(server_name, |e| e.kx_hint).flatten()
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.entry(server_name, |e| e.tls12 = Some(value));
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.with(server_name, |e| e.tls12.clone()).flatten()
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.with(server_name, |e| e.tls12 = None);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        let cap = self.tickets_per_server;
        self.entry(server_name, |e| {
            if e.tls13.len() >= cap {
                e.tls13.pop_front();
            }
            e.tls13.push_back(value);
        });
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        // The newest ticket: the likeliest to be within the server's ticket lifetime.
        self.with(server_name, |e| e.tls13.pop_back()).flatten()
    }
}
