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

/// SO_TIMESTAMPING, and the type of its control message, where `time_t` is 64 bits (the
/// asm-generic value; other layouts go without kernel timestamps).
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "loongarch64"
))]
const SO_TIMESTAMPING: Option<i32> = Some(37);
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "loongarch64"
)))]
const SO_TIMESTAMPING: Option<i32> = None;

/// Room for one SCM_TIMESTAMPING control message: a cmsghdr and three timespecs.
pub const STAMP_CONTROL_LEN: usize = 16 + 3 * 16;

/// Asks the kernel to stamp each segment the socket receives with its software receive time
/// (CLOCK_REALTIME), handed over with every read. False where the kernel or layout lacks it.
pub fn enable_rx_stamps(fd: RawFd) -> bool {
    let Some(name) = SO_TIMESTAMPING else {
        return false;
    };
    let flags = libc::SOF_TIMESTAMPING_RX_SOFTWARE | libc::SOF_TIMESTAMPING_SOFTWARE;
    set_int_opt(fd, libc::SOL_SOCKET, name, flags as i32)
}

/// The software receive time (ns since the Unix epoch) in the control messages of one read,
/// if the kernel put one there. Parsed from bytes: cmsghdr is `{len: usize, level, type}`.
pub fn rx_stamp(control: &[u8]) -> Option<u64> {
    let name = SO_TIMESTAMPING?;
    let word = |at: usize| -> Option<[u8; 8]> { control.get(at..at + 8)?.try_into().ok() };
    let half = |at: usize| -> Option<i32> {
        Some(i32::from_ne_bytes(
            control.get(at..at + 4)?.try_into().ok()?,
        ))
    };
    let mut at = 0;
    while at + 16 <= control.len() {
        // The length is a size_t, or a 32-bit length and padding (musl): the low half either way
        // on little-endian machines, and both read as one word on big-endian glibc.
        let len = usize::from_ne_bytes(word(at)?);
        if len < 16 {
            return None;
        }
        if half(at + 8)? == libc::SOL_SOCKET && half(at + 12)? == name && len >= 16 + 16 {
            let sec = i64::from_ne_bytes(word(at + 16)?);
            let nsec = i64::from_ne_bytes(word(at + 24)?);
            return (sec > 0 && (0..1_000_000_000).contains(&nsec))
                .then(|| sec as u64 * 1_000_000_000 + nsec as u64);
        }
        at += len.div_ceil(8) * 8;
    }
    None
}

/// Reads into `buf` with the kernel's receive timestamp (see `enable_rx_stamps`): Ok((n, stamp))
/// with n = 0 at end of stream, or the errno.
pub fn read_stamped(
    fd: RawFd,
    buf: &mut [u8],
    control: &mut [u8; STAMP_CONTROL_LEN],
) -> Result<(usize, Option<u64>), i32> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid value (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = STAMP_CONTROL_LEN as _;
    // SAFETY: the kernel writes at most iov_len bytes into `buf` and msg_controllen bytes into
    // `control`, both live and exclusive for the call; `iov` outlives it too.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(errno());
    }
    let filled = (msg.msg_controllen as usize).min(STAMP_CONTROL_LEN);
    Ok((n as usize, rx_stamp(&control[..filled])))
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

#[cfg(test)]
mod stamp_tests {
    use super::*;

    fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        let mut v = ((16 + data.len()) as u64).to_ne_bytes().to_vec();
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(data);
        v.resize(v.len().div_ceil(8) * 8, 0);
        v
    }

    #[test]
    fn finds_the_software_receive_time_among_control_messages() {
        let Some(name) = SO_TIMESTAMPING else {
            return;
        };
        let mut ts = Vec::new();
        for (sec, nsec) in [(1_700_000_000i64, 123_456_789i64), (0, 0), (0, 0)] {
            ts.extend_from_slice(&sec.to_ne_bytes());
            ts.extend_from_slice(&nsec.to_ne_bytes());
        }
        let mut control = cmsg(libc::IPPROTO_IP, 8, &[1, 2, 3, 4]);
        control.extend(cmsg(libc::SOL_SOCKET, name, &ts));
        assert_eq!(rx_stamp(&control), Some(1_700_000_000_123_456_789));
        // No timestamp, a truncated header, a zero time: none.
        assert_eq!(rx_stamp(&control[..8]), None);
        assert_eq!(rx_stamp(&cmsg(libc::IPPROTO_IP, 8, &[0; 8])), None);
        assert_eq!(rx_stamp(&cmsg(libc::SOL_SOCKET, name, &[0; 48])), None);
    }

    #[test]
    fn a_tcp_socket_delivers_receive_times_on_loopback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let fd = tcp_socket(&addr, false).unwrap();
        if !enable_rx_stamps(fd) {
            close(fd);
            eprintln!("skipped: no SO_TIMESTAMPING here");
            return;
        }
        assert!(connect_nonblocking(fd, &RawAddr::new(&addr)).unwrap());
        // The kernel turns receive timestamping on for the whole stack from a work queue: the
        // first segments after the first socket asks for it can still arrive unstamped.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let (mut peer, _) = listener.accept().unwrap();
        std::io::Write::write_all(&mut peer, b"hello").unwrap();
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let mut buf = [0u8; 16];
        let mut control = [0u8; STAMP_CONTROL_LEN];
        let (n, at) = read_stamped(fd, &mut buf, &mut control).unwrap();
        close(fd);
        assert_eq!(&buf[..n], b"hello");
        let at = at.expect("a receive time");
        // Received just before it was read (within a second, allowing for a slow machine).
        assert!(
            at <= before + 1_000_000 && before - at < 1_000_000_000,
            "{at} vs {before}"
        );
    }
}
