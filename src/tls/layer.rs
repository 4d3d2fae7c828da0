//! The TLS layer: a driver that wraps a worker's driver. Ciphertext arrives in the backend's own
//! buffers and leaves through `Slot::out`; the inner driver only ever sees plaintext and events.

use std::io::{Read, Write};
use std::sync::Arc;

use pki_types::ServerName;
use rustls::{
    ClientConfig, ClientConnection, Connection, HandshakeKind, ServerConfig, ServerConnection,
};

use crate::io::{Driver, Event, Fault, Generation, Ops, Session, TlsFault, Token};

/// Plaintext is handed to the inner driver in pieces of at most this size (one TLS record).
const PLAIN_CHUNK: usize = 16 * 1024;

enum Side {
    Client {
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    },
    Server {
        config: Arc<ServerConfig>,
    },
}

/// One connection's TLS session, tied to the socket generation it was made for.
struct Link {
    generation: Generation,
    conn: Connection,
    secured: bool,
    /// The peer sent close_notify: its stream has ended, whatever TCP does next.
    peer_closed: bool,
}

/// A worker's driver, run over TLS.
pub struct Tls<W> {
    inner: W,
    side: Side,
    links: Vec<Option<Link>>,
    /// Client connections whose TCP is up and whose session is made at their first flush, by
    /// the generation they were opened under. Making a session costs a key share; doing it at
    /// the flush lets every connection of a completion batch be timed when TCP came up.
    hello_due: Vec<Option<Generation>>,
    plain: Vec<u8>,
}

impl<W> Tls<W> {
    /// The client side: a session per connection, made when TCP is established.
    pub fn client(inner: W, config: Arc<ClientConfig>, name: ServerName<'static>) -> Self {
        Self::new(inner, Side::Client { config, name })
    }

    /// The server side: a session per accepted connection, made when its first bytes arrive.
    pub fn server(inner: W, config: Arc<ServerConfig>) -> Self {
        Self::new(inner, Side::Server { config })
    }

    fn new(inner: W, side: Side) -> Self {
        Self {
            inner,
            side,
            links: Vec::new(),
            hello_due: Vec::new(),
            plain: vec![0; PLAIN_CHUNK],
        }
    }

    /// The wrapped driver.
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    fn is_client(&self) -> bool {
        matches!(self.side, Side::Client { .. })
    }

    /// The token's session, if it belongs to the socket the token holds now.
    fn link(&mut self, token: Token, generation: Generation) -> Option<&mut Link> {
        self.links
            .get_mut(token as usize)?
            .as_mut()
            .filter(|l| l.generation == generation)
    }

    fn open(&mut self, token: Token, generation: Generation) -> Result<(), rustls::Error> {
        let mut conn = match &self.side {
            Side::Client { config, name } => {
                Connection::Client(ClientConnection::new(config.clone(), name.clone())?)
            }
            Side::Server { config } => Connection::Server(ServerConnection::new(config.clone())?),
        };
        // Everything written is drained at once by `seal`; no limit may drop plaintext.
        conn.set_buffer_limit(None);
        let i = token as usize;
        if self.links.len() <= i {
            self.links.resize_with(i + 1, || None);
        }
        self.links[i] = Some(Link {
            generation,
            conn,
            secured: false,
            peer_closed: false,
        });
        Ok(())
    }
}

impl<W: Driver> Tls<W> {
    /// Ends a connection whose session failed: the socket closes now, and the inner driver
    /// hears of it as a failed connect (during the handshake) or a closed connection.
    fn fail(&mut self, token: Token, fault: Fault, secured: bool, ops: &mut Ops) {
        ops.close(token);
        if let Some(slot) = self.links.get_mut(token as usize) {
            *slot = None;
        }
        let event = if self.is_client() && !secured {
            Event::Connected {
                token,
                result: Err(fault),
            }
        } else {
            Event::Closed { token, fault }
        };
        self.inner.on_event(event, ops);
    }

    fn on_data(&mut self, token: Token, bytes: &[u8], at: Option<u64>, ops: &mut Ops) {
        let generation = ops.generation(token);
        if self.link(token, generation).is_none() {
            if self.is_client() {
                return; // Not ours: the client makes its session at connect.
            }
            if let Err(e) = self.open(token, generation) {
                let fault = Fault::Tls(super::classify(&e));
                return self.fail(token, fault, false, ops);
            }
        }
        let client = self.is_client();
        let mut rest = bytes;
        loop {
            let Self {
                inner,
                links,
                plain,
                ..
            } = self;
            let link = links[token as usize].as_mut().expect("made above");
            if !rest.is_empty() {
                match link.conn.read_tls(&mut rest) {
                    Ok(0) => rest = &[],
                    Ok(_) => {}
                    Err(_) => {
                        let secured = link.secured;
                        return self.fail(token, Fault::Tls(TlsFault::Protocol), secured, ops);
                    }
                }
            }
            match link.conn.process_new_packets() {
                Ok(state) => link.peer_closed |= state.peer_has_closed(),
                Err(e) => {
                    let secured = link.secured;
                    let fault = Fault::Tls(super::classify(&e));
                    return self.fail(token, fault, secured, ops);
                }
            }
            if !link.secured && !link.conn.is_handshaking() {
                link.secured = true;
                if client {
                    let resumed = link.conn.handshake_kind() == Some(HandshakeKind::Resumed);
                    let alpn = link.conn.alpn_protocol().map(crate::proto::Alpn::of);
                    let result = Ok(Session::Tls { resumed, alpn });
                    inner.on_event(Event::Connected { token, result }, ops);
                    if !ops.is_current(token, generation) {
                        return;
                    }
                }
            }
            loop {
                let link = links[token as usize].as_mut().expect("still current");
                match link.conn.reader().read(plain) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let bytes = &plain[..n];
                        inner.on_event(Event::Data { token, bytes, at }, ops);
                        if !ops.is_current(token, generation) {
                            return;
                        }
                    }
                }
            }
            if rest.is_empty() {
                break;
            }
        }
        // A client's server sent close_notify: the stream ends here, not at the TCP close (a
        // close-delimited body is complete now).
        if client
            && self
                .link(token, generation)
                .is_some_and(|l| l.secured && l.peer_closed)
        {
            ops.close(token);
            self.links[token as usize] = None;
            let fault = Fault::Os(0);
            return self.inner.on_event(Event::Closed { token, fault }, ops);
        }
        if let Some(link) = self.link(token, generation)
            && link.conn.wants_write()
        {
            ops.flush(token);
        }
    }
}

impl<W: Driver> Driver for Tls<W> {
    #[inline]
    fn woke(&mut self) {
        self.inner.woke();
    }

    fn on_event(&mut self, event: Event<'_>, ops: &mut Ops) {
        match event {
            Event::Connected {
                token,
                result: Ok(_),
            } if self.is_client() => {
                let generation = ops.generation(token);
                let i = token as usize;
                if self.hello_due.len() <= i {
                    self.hello_due.resize(i + 1, None);
                }
                self.hello_due[i] = Some(generation);
                // TCP is up now; the session is made, and its ClientHello sent, at this flush.
                ops.flush(token);
                self.inner.on_event(Event::Handshaking { token }, ops);
            }
            Event::Data { token, bytes, at } => self.on_data(token, bytes, at, ops),
            Event::Closed { token, fault } => {
                let link = self.links.get_mut(token as usize).and_then(Option::take);
                let hello = self
                    .hello_due
                    .get_mut(token as usize)
                    .and_then(Option::take);
                let handshaking = hello.is_some() || link.as_ref().is_some_and(|l| !l.secured);
                // TCP closed with no close_notify from the server: what the client was reading
                // may be cut short (RFC 9112 §9.8); the client judges whether it was.
                let truncated = self.is_client()
                    && !handshaking
                    && fault == Fault::Os(0)
                    && link.as_ref().is_some_and(|l| !l.peer_closed);
                let fault = if truncated {
                    Fault::Tls(TlsFault::Truncated)
                } else {
                    fault
                };
                if self.is_client() && handshaking {
                    // The server hung up mid-handshake: the attempt failed. An orderly close is
                    // the server refusing the session without an alert.
                    let fault = match fault {
                        Fault::Os(0) => Fault::Tls(TlsFault::Protocol),
                        f => f,
                    };
                    let result = Err(fault);
                    self.inner.on_event(Event::Connected { token, result }, ops);
                } else {
                    self.inner.on_event(Event::Closed { token, fault }, ops);
                }
            }
            other => self.inner.on_event(other, ops),
        }
    }

    /// Encrypts what the inner driver staged, and adds whatever the session has to send
    /// (handshake messages included), just before the backend takes the bytes.
    fn seal(&mut self, token: Token, ops: &mut Ops) {
        let generation = ops.generation(token);
        let due = self.hello_due.get_mut(token as usize);
        if let Some(due) = due
            && due.take_if(|g| *g == generation).is_some()
            && let Err(e) = self.open(token, generation)
        {
            let fault = Fault::Tls(super::classify(&e));
            return self.fail(token, fault, false, ops);
        }
        let Some(link) = self.link(token, generation) else {
            return;
        };
        let out = &mut ops.slots[token as usize].out;
        if !out.is_empty() {
            // With no buffer limit the writer takes everything.
            if link.conn.writer().write_all(out).is_err() {
                out.clear();
                return;
            }
            out.clear();
        }
        while link.conn.wants_write() {
            if link.conn.write_tls(out).is_err() {
                break;
            }
        }
    }
}
