//! Thin, safe wrappers over the socket syscalls the backends and the built-in target need.
//! Sockets that leave `sys` are `OwnedFd`s; inside, a backend slot owns its raw fd until `close`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use super::errno;

/// A socket address in the kernel's layout, boxed so its address is stable while a connect
/// submission that points at it is queued.
pub struct RawAddr {
    storage: Box<libc::sockaddr_storage>,
    len: libc::socklen_t,
}

impl RawAddr {
    pub fn new(addr: &SocketAddr) -> Self {
        // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
        let mut storage: Box<libc::sockaddr_storage> = Box::new(unsafe { std::mem::zeroed() });
        let len = write_sockaddr(addr, &mut storage);
        Self { storage, len }
    }

    /// Rewrites the address in place (the box, and so the pointer, stays the same).
    pub fn set(&mut self, addr: &SocketAddr) {
        self.len = write_sockaddr(addr, &mut self.storage);
    }

    pub fn as_ptr(&self) -> *const libc::sockaddr {
        (&*self.storage as *const libc::sockaddr_storage).cast()
    }

    pub fn socklen(&self) -> libc::socklen_t {
        self.len
    }
}

fn write_sockaddr(addr: &SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

fn family(addr: &SocketAddr) -> i32 {
    if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    }
}

/// A new TCP socket for `addr`'s family with TCP_NODELAY set; errno on failure.
pub fn tcp_socket(addr: &SocketAddr, nonblocking: bool) -> Result<RawFd, i32> {
    let mut ty = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    if nonblocking {
        ty |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: socket() takes plain integers and returns a new fd or -1.
    let fd = unsafe { libc::socket(family(addr), ty, 0) };
    if fd < 0 {
        return Err(errno());
    }
    set_nodelay(fd);
    Ok(fd)
}

/// Sets TCP_NODELAY; failure only costs latency, so it is ignored.
pub fn set_nodelay(fd: RawFd) {
    set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
}

fn set_int_opt(fd: RawFd, level: i32, name: i32, value: i32) -> bool {
    // SAFETY: setsockopt reads `size_of::<i32>()` bytes from a live stack value.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        ) == 0
    }
}

/// Starts a non-blocking connect: Ok(true) when already connected, Ok(false) when in progress.
pub fn connect_nonblocking(fd: RawFd, addr: &RawAddr) -> Result<bool, i32> {
    // SAFETY: the address pointer and length come from a live RawAddr.
    let rc = unsafe { libc::connect(fd, addr.as_ptr(), addr.socklen()) };
    if rc == 0 {
        return Ok(true);
    }
    match errno() {
        libc::EINPROGRESS => Ok(false),
        e => Err(e),
    }
}

/// Reads and clears the pending error of a socket (SO_ERROR).
pub fn take_error(fd: RawFd) -> i32 {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into a live stack value.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut value as *mut i32).cast(),
            &mut len,
        )
    };
    if rc != 0 { errno() } else { value }
}

pub(super) fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd` and never uses it again.
    unsafe { libc::close(fd) };
}

/// Reads into `buf`: Ok(n) bytes (0 at end of stream) or the errno.
pub fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: the kernel writes at most buf.len() bytes into a live, exclusive buffer.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 { Err(errno()) } else { Ok(n as usize) }
}

/// Writes from `buf` (never raising SIGPIPE): Ok(n) bytes or the errno.
pub fn write(fd: RawFd, buf: &[u8]) -> Result<usize, i32> {
    // SAFETY: the kernel reads at most buf.len() bytes from a live buffer.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    if n < 0 { Err(errno()) } else { Ok(n as usize) }
}

/// Takes ownership of a socket the kernel just created for us.
pub(super) fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: callers pass a descriptor the kernel has just returned (accept), which nothing else
    // refers to, so it has exactly one owner from here on.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Accepts one connection as a non-blocking, close-on-exec socket.
pub fn accept(listener: RawFd) -> Result<OwnedFd, i32> {
    // SAFETY: null address pointers are allowed; the kernel then returns no peer address.
    let fd = unsafe {
        libc::accept4(
            listener,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 { Err(errno()) } else { Ok(owned(fd)) }
}

/// Makes a socket non-blocking (sockets accepted through io_uring are blocking).
pub fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl with F_GETFL/F_SETFL takes and returns plain integers.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

/// A listening socket with SO_REUSEADDR and SO_REUSEPORT, so every worker can own one.
pub fn listener(addr: &SocketAddr, nonblocking: bool) -> io::Result<OwnedFd> {
    let fd = tcp_socket(addr, nonblocking).map_err(io::Error::from_raw_os_error)?;
    set_int_opt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
    set_int_opt(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1);
    let raw = RawAddr::new(addr);
    // SAFETY: the address pointer and length come from a live RawAddr.
    let ok =
        unsafe { libc::bind(fd, raw.as_ptr(), raw.socklen()) == 0 && libc::listen(fd, 4096) == 0 };
    if !ok {
        let err = io::Error::last_os_error();
        close(fd);
        return Err(err);
    }
    Ok(owned(fd))
}

/// The local address a socket is bound to.
pub fn local_addr(fd: RawFd) -> io::Result<SocketAddr> {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into the live storage.
    if unsafe {
        libc::getsockname(
            fd,
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((&storage as *const libc::sockaddr_storage).cast()) };
            let ip = std::net::Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::from((ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((&storage as *const libc::sockaddr_storage).cast()) };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Ok(SocketAddr::from((ip, u16::from_be(sin6.sin6_port))))
        }
        _ => Err(io::Error::other("unknown address family")),
    }
}
