//! A ZeroMQ DEALER socket over plain TCP: ZMTP 3.0 with the NULL mechanism, as Locust's master
//! (a ROUTER) expects from its workers. Blocking, one peer, single-frame messages out.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

const FLAG_MORE: u8 = 0x01;
const FLAG_LONG: u8 = 0x02;
const FLAG_COMMAND: u8 = 0x04;
/// The largest message accepted from the peer (Locust's messages are far smaller).
const MAX_MESSAGE: u64 = 64 << 20;

/// A connected DEALER with its identity.
pub struct Dealer {
    stream: TcpStream,
    /// Bytes read but not yet parsed into frames.
    buf: Vec<u8>,
    /// Frames of the message being received, and what they hold (bytes plus a frame's own
    /// cost), bounded by MAX_MESSAGE however the frames are cut.
    frames: Vec<Vec<u8>>,
    held: u64,
    /// When a PONG last went out: a peer that floods PINGs gets at most ten a second, so our
    /// replies never fill a socket it does not read.
    last_pong: Option<Instant>,
}

/// What one frame costs to hold beyond its bytes (a `Vec`): counted so that a message of empty
/// frames is bounded too (40 MB of them once grew the worker to 478 MB).
const FRAME_COST: u64 = 32;
/// The most frames one message may have: Locust's have one to three.
const MAX_FRAMES: usize = 1024;

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// The 64-byte ZMTP 3.0 greeting of a client using the NULL mechanism.
fn greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    // Signature: 0xFF, 8 bytes of padding (libzmq puts a length of 1 for ZMTP 1.0 peers), 0x7F.
    g[0] = 0xff;
    g[8] = 0x01;
    g[9] = 0x7f;
    g[10] = 3; // version 3.0
    g[11] = 0;
    g[12..16].copy_from_slice(b"NULL");
    // as-server 0, filler zeros.
    g
}

/// A command frame: its name, then properties (name length, name, 4-byte value length, value).
fn command(name: &str, props: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    for (k, v) in props {
        body.push(k.len() as u8);
        body.extend_from_slice(k.as_bytes());
        body.extend_from_slice(&(v.len() as u32).to_be_bytes());
        body.extend_from_slice(v);
    }
    frame(FLAG_COMMAND, &body)
}

fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(body.len() + 9);
    if body.len() <= 255 {
        f.extend_from_slice(&[flags, body.len() as u8]);
    } else {
        f.push(flags | FLAG_LONG);
        f.extend_from_slice(&(body.len() as u64).to_be_bytes());
    }
    f.extend_from_slice(body);
    f
}

impl Dealer {
    /// Connects to `addr` (host:port) within `timeout`, and completes the handshake as a DEALER
    /// with `identity` (what the ROUTER sees as the sender of every message).
    pub fn connect(addr: &str, identity: &[u8], timeout: Duration) -> io::Result<Self> {
        let target = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| bad(format!("{addr} does not resolve")))?;
        // The whole handshake keeps to `timeout`, however the peer trickles its bytes.
        let deadline = Instant::now() + timeout;
        let stream = TcpStream::connect_timeout(&target, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(timeout))?;
        let mut d = Self {
            stream,
            buf: Vec::new(),
            frames: Vec::new(),
            held: 0,
            last_pong: None,
        };
        d.stream.write_all(&greeting())?;
        while d.buf.len() < 64 {
            d.read_some(deadline, true)?;
        }
        let peer: Vec<u8> = d.buf.drain(..64).collect();
        if peer[0] != 0xff || peer[9] != 0x7f {
            return Err(bad("the peer is not a ZeroMQ socket (no ZMTP signature)"));
        }
        if peer[10] < 3 {
            return Err(bad(format!("the peer speaks ZMTP {}, not 3", peer[10])));
        }
        if &peer[12..16] != b"NULL" {
            return Err(bad(
                "the peer asks for a security mechanism other than NULL",
            ));
        }
        d.stream.write_all(&command(
            "READY",
            &[("Socket-Type", b"DEALER"), ("Identity", identity)],
        ))?;
        // The peer's READY (or ERROR) comes as a command frame.
        loop {
            let (flags, body) = d
                .next_frame(deadline, true)?
                .ok_or_else(|| bad("no READY from the peer"))?;
            if flags & FLAG_COMMAND == 0 {
                return Err(bad("a message before the handshake finished"));
            }
            let name_len = usize::from(*body.first().unwrap_or(&0));
            let name = body.get(1..1 + name_len).unwrap_or(&[]);
            match name {
                b"READY" => return Ok(d),
                b"ERROR" => {
                    let why = String::from_utf8_lossy(body.get(1 + name_len + 1..).unwrap_or(&[]));
                    return Err(bad(format!("the peer refused the handshake: {why}")));
                }
                _ => {}
            }
        }
    }

    /// Closes the connection now (a ROUTER refuses a second connection with an identity it
    /// still has; close before connecting again).
    pub fn close(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    /// Sends one single-frame message.
    pub fn send(&mut self, message: &[u8]) -> io::Result<()> {
        self.stream.write_all(&frame(0, message))
    }

    /// Receives one message, returned as its frames; Ok(None) if none arrived within `wait`.
    /// It returns by then however busy the socket is (a master that keeps sending must not
    /// keep the caller from its stop flag and heartbeats); a message's partial frames wait for
    /// the next call.
    pub fn recv(&mut self, wait: Duration) -> io::Result<Option<Vec<Vec<u8>>>> {
        let deadline = Instant::now() + wait;
        while let Some((flags, body)) = self.next_frame(deadline, false)? {
            if flags & FLAG_COMMAND != 0 {
                // ZMTP 3.1 heartbeats: answer a PING with a PONG carrying its context.
                let due = self
                    .last_pong
                    .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
                if body.get(1..5) == Some(b"PING") && body.len() >= 7 && due {
                    self.last_pong = Some(Instant::now());
                    let mut pong = vec![4u8];
                    pong.extend_from_slice(b"PONG");
                    pong.extend_from_slice(&body[7..]);
                    self.stream.write_all(&frame(FLAG_COMMAND, &pong))?;
                }
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                continue;
            }
            self.held += body.len() as u64 + FRAME_COST;
            if self.held > MAX_MESSAGE || self.frames.len() >= MAX_FRAMES {
                return Err(bad(format!(
                    "a message of over {} frames or {MAX_MESSAGE} bytes is too large",
                    MAX_FRAMES
                )));
            }
            self.frames.push(body);
            if flags & FLAG_MORE == 0 {
                self.held = 0;
                return Ok(Some(std::mem::take(&mut self.frames)));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// Reads what is there into the buffer, waiting at most until `deadline`: false when
    /// nothing came by then (an error instead when `must`).
    fn read_some(&mut self, deadline: Instant, must: bool) -> io::Result<bool> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return if must {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer did not finish the handshake in time",
                ))
            } else {
                Ok(false)
            };
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed",
            )),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            // A wait with a timeout returns EINTR when the process is stopped and continued
            // (or frozen and thawed), with no signal of its own: wait again for what is left.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.read_some(deadline, must),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if must {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the peer did not finish the handshake in time",
                    ))
                } else {
                    Ok(false)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The next whole frame, reading as needed until `deadline`; None when it passed (an
    /// error instead when `must`).
    fn next_frame(&mut self, deadline: Instant, must: bool) -> io::Result<Option<(u8, Vec<u8>)>> {
        loop {
            if let Some(f) = self.parse()? {
                return Ok(Some(f));
            }
            if !self.read_some(deadline, must)? {
                return Ok(None);
            }
        }
    }

    /// One frame from the front of the buffer, if it is all there.
    fn parse(&mut self) -> io::Result<Option<(u8, Vec<u8>)>> {
        let Some(&flags) = self.buf.first() else {
            return Ok(None);
        };
        let (head, len) = if flags & FLAG_LONG != 0 {
            let Some(b) = self.buf.get(1..9) else {
                return Ok(None);
            };
            (9, u64::from_be_bytes(b.try_into().expect("8 bytes")))
        } else {
            let Some(&b) = self.buf.get(1) else {
                return Ok(None);
            };
            (2, u64::from(b))
        };
        if len > MAX_MESSAGE {
            return Err(bad(format!("a {len}-byte frame is too large")));
        }
        let end = head + len as usize;
        if self.buf.len() < end {
            return Ok(None);
        }
        let body = self.buf[head..end].to_vec();
        self.buf.drain(..end);
        Ok(Some((flags, body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_short_and_long() {
        assert_eq!(frame(0, b"ab"), vec![0, 2, b'a', b'b']);
        let long = frame(0, &[7u8; 300]);
        assert_eq!(&long[..9], &[FLAG_LONG, 0, 0, 0, 0, 0, 0, 1, 44]);
        assert_eq!(long.len(), 309);
        let ready = command("READY", &[("Socket-Type", b"DEALER")]);
        assert_eq!(ready[0], FLAG_COMMAND);
        assert_eq!(&ready[2..8], b"\x05READY");
        assert_eq!(greeting().len(), 64);
    }
}
