//! Decides, once before any worker starts, whether io_uring can run the engine here, and if not,
//! says why in words a user can act on (sysctl, seccomp, kernel version).

use io_uring::{IoUring, Probe, opcode};

use super::ring::{RingConfig, Uring};

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UringSupport {
    Available,
    Unavailable(String),
}

/// Kernel release as (major, minor), from uname.
fn kernel_version() -> Option<(u32, u32)> {
    // SAFETY: utsname is plain old data; uname fills it.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes into the struct we own.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    let release: String = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8 as char)
        .collect();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Checks ring creation, the opcodes the engine uses, and buffer-ring registration.
pub fn probe_uring() -> UringSupport {
    use UringSupport::Unavailable;
    if let Some((major, minor)) = kernel_version()
        && (major, minor) < (6, 0)
    {
        return Unavailable(format!(
            "kernel {major}.{minor} lacks multishot receive (needs Linux 6.0 or newer)"
        ));
    }
    let ring = match IoUring::new(8) {
        Ok(r) => r,
        Err(e) => {
            let why = match e.raw_os_error() {
                Some(libc::EPERM) => "io_uring_setup was denied (EPERM): check 'sysctl kernel.io_uring_disabled' (0 enables it) or the container's seccomp profile".to_string(),
                Some(libc::ENOSYS) => "this kernel or sandbox has no io_uring (ENOSYS)".to_string(),
                _ => format!("io_uring_setup failed: {e}"),
            };
            return Unavailable(why);
        }
    };
    let mut probe = Probe::new();
    if let Err(e) = ring.submitter().register_probe(&mut probe) {
        return Unavailable(format!("io_uring opcode probe failed: {e}"));
    }
    let needed = [
        (opcode::Connect::CODE, "CONNECT"),
        (opcode::Send::CODE, "SEND"),
        (opcode::RecvMulti::CODE, "RECV"),
        (opcode::AcceptMulti::CODE, "ACCEPT"),
        (opcode::AsyncCancel::CODE, "ASYNC_CANCEL"),
        (opcode::Close::CODE, "CLOSE"),
    ];
    for (code, name) in needed {
        if !probe.is_supported(code) {
            return Unavailable(format!("io_uring lacks the {name} opcode"));
        }
    }
    drop(ring);
    let tiny = RingConfig {
        entries: 8,
        buffers: 8,
        buffer_size: 64,
    };
    match Uring::new(tiny) {
        Ok(_) => UringSupport::Available,
        Err(e) => Unavailable(format!("io_uring buffer ring registration failed: {e}")),
    }
}

/// Whether a TCP socket of the target's family takes SO_TIMESTAMPING receive timestamps. The
/// socket that says so is handed back: while it is open, the kernel keeps receive timestamping
/// on for the whole stack (it turns it on from a work queue, so the first segments after the
/// first socket asks can arrive unstamped; holding this one through a run avoids that).
pub fn rx_stamps(addr: &std::net::SocketAddr) -> Result<std::os::fd::OwnedFd, String> {
    let fd = super::socket::tcp_socket(addr, true).map_err(|e| {
        format!(
            "cannot open a socket ({})",
            std::io::Error::from_raw_os_error(e)
        )
    })?;
    let fd = super::socket::owned(fd);
    if super::socket::enable_rx_stamps(std::os::fd::AsRawFd::as_raw_fd(&fd)) {
        Ok(fd)
    } else {
        Err(
            "this kernel or platform does not give sockets receive timestamps (SO_TIMESTAMPING)"
                .into(),
        )
    }
}
