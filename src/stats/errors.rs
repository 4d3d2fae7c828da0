//! How a request ended when it did not end in a response: the named error kinds reports count,
//! and how kernel errnos and transport faults map onto them.

use crate::io::{Fault, TlsFault};

/// How many kinds of error reports name.
pub const ERROR_KINDS: usize = 14;

/// How a request ended when it did not end in a complete response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The connection was refused (nobody listening).
    ConnectRefused,
    /// The connection was not established within `--connect-timeout`.
    ConnectTimeout,
    /// Any other failure to connect (unreachable, out of ports, out of files).
    ConnectError,
    /// The peer reset the connection.
    Reset,
    /// No complete response within `--timeout`.
    Timeout,
    /// The response could not be parsed as HTTP/1.1.
    Malformed,
    /// The connection closed before the response was complete.
    Closed,
    /// Any other socket error while sending or receiving.
    Io,
    /// TLS: the server's certificate was not trusted or did not match the host name, or the
    /// server refused the client's.
    TlsCertificate,
    /// TLS: no common version or cipher suite, or a message that broke the protocol.
    TlsProtocol,
    /// TLS: the server ended the session with a fatal alert.
    TlsAlert,
    /// TLS: the handshake did not finish within `--connect-timeout` of TCP being established.
    TlsHandshakeTimeout,
    /// TLS: the connection closed mid-response without the server's close_notify: the response
    /// may have been cut short (RFC 9112 §9.8), so it is not counted as complete.
    TlsTruncated,
    /// HTTP/2: the server reset the request's stream (RST_STREAM); the connection went on.
    StreamReset,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; ERROR_KINDS] = [
        Self::ConnectRefused,
        Self::ConnectTimeout,
        Self::ConnectError,
        Self::Reset,
        Self::Timeout,
        Self::Malformed,
        Self::Closed,
        Self::Io,
        Self::TlsCertificate,
        Self::TlsProtocol,
        Self::TlsAlert,
        Self::TlsHandshakeTimeout,
        Self::TlsTruncated,
        Self::StreamReset,
    ];

    /// The stable name used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::ConnectRefused => "connect_refused",
            Self::ConnectTimeout => "connect_timeout",
            Self::ConnectError => "connect_error",
            Self::Reset => "reset",
            Self::Timeout => "timeout",
            Self::Malformed => "malformed",
            Self::Closed => "closed",
            Self::Io => "io",
            Self::TlsCertificate => "tls_certificate",
            Self::TlsProtocol => "tls_protocol",
            Self::TlsAlert => "tls_alert",
            Self::TlsHandshakeTimeout => "tls_handshake_timeout",
            Self::TlsTruncated => "tls_truncated",
            Self::StreamReset => "stream_reset",
        }
    }

    /// Classifies a failed connect by errno.
    pub fn from_connect_errno(errno: i32) -> Self {
        match errno {
            libc::ECONNREFUSED => Self::ConnectRefused,
            libc::ETIMEDOUT | libc::ECANCELED => Self::ConnectTimeout,
            _ => Self::ConnectError,
        }
    }

    /// Classifies a failed send or receive by errno (0 means an orderly close).
    pub fn from_io_errno(errno: i32) -> Self {
        match errno {
            0 => Self::Closed,
            libc::ECONNRESET | libc::EPIPE | libc::ECONNABORTED => Self::Reset,
            _ => Self::Io,
        }
    }

    /// Classifies a failed connection attempt (TCP or its TLS handshake).
    pub fn from_connect_fault(fault: Fault) -> Self {
        match fault {
            Fault::Os(errno) => Self::from_connect_errno(errno),
            Fault::Tls(t) => Self::from_tls(t),
        }
    }

    /// Classifies the end of an open connection.
    pub fn from_close_fault(fault: Fault) -> Self {
        match fault {
            Fault::Os(errno) => Self::from_io_errno(errno),
            Fault::Tls(t) => Self::from_tls(t),
        }
    }

    fn from_tls(fault: TlsFault) -> Self {
        match fault {
            TlsFault::Certificate => Self::TlsCertificate,
            TlsFault::Protocol | TlsFault::NoProtocol => Self::TlsProtocol,
            TlsFault::Alert => Self::TlsAlert,
            TlsFault::Truncated => Self::TlsTruncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_classes() {
        assert_eq!(
            ErrorKind::from_connect_errno(libc::ECONNREFUSED),
            ErrorKind::ConnectRefused
        );
        assert_eq!(ErrorKind::from_io_errno(0), ErrorKind::Closed);
        assert_eq!(ErrorKind::from_io_errno(libc::ECONNRESET), ErrorKind::Reset);
        assert_eq!(
            ErrorKind::ALL
                .iter()
                .map(|k| *k as usize)
                .collect::<Vec<_>>(),
            (0..ERROR_KINDS).collect::<Vec<_>>()
        );
    }
}
